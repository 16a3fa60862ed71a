"""``twinbench run`` and ``check`` refuse what is beyond the limits (``twin.limits``) up front,
with the range or the size in the message, before compiling or running anything."""

from __future__ import annotations

import copy

from oracles.cli import twinbench
from oracles.lines import exp, serial_line, station

LINE = serial_line([station("m1", exp(60.0), name="Press"), station("m2", exp(50.0))], [5],
                   run={"horizon": "8h", "replications": 3})


def test_a_billion_replications_are_refused_with_the_range(make_project):
    proc = twinbench("run", make_project(LINE), "--replications", "1e9")
    assert proc.returncode == 2
    assert "--replications" in proc.stderr and ">= 1 and <= 10,000" in proc.stderr
    assert "'1e9'" in proc.stderr


def test_a_horizon_of_1e15_seconds_is_refused_with_the_range(make_project):
    proc = twinbench("run", make_project(LINE), "--horizon", "1e15")
    assert proc.returncode == 2
    assert "--horizon" in proc.stderr and "at most 3650d (3.1536e+08 s)" in proc.stderr


def test_seed_and_warmup_are_range_checked(make_project):
    proc = twinbench("run", make_project(LINE), "--seed", "-1")
    assert proc.returncode == 2 and "--seed" in proc.stderr and ">= 0 and <=" in proc.stderr
    proc = twinbench("run", make_project(LINE), "--warmup", "20y")
    assert proc.returncode == 2 and "--warmup" in proc.stderr


def test_a_tiny_sample_interval_is_refused_with_how_many_samples(make_project):
    proc = twinbench("run", make_project(LINE), "--sample-interval", "1ms")
    assert proc.returncode == 2
    assert "sample_interval" in proc.stderr and "29 million samples" in proc.stderr
    assert "at most 100,000" in proc.stderr


def test_a_state_log_too_large_is_refused_before_the_run(make_project, tmp_path):
    proc = twinbench("run", make_project(LINE), "--horizon", "3650d", "--replications", "100",
                     "--out", tmp_path / "r.h5", "--state-log", "--quiet")
    assert proc.returncode == 2
    assert "this run would log about" in proc.stderr and "billion state changes" in proc.stderr
    assert "GB" in proc.stderr and "switch off the state log" in proc.stderr
    assert "compiling" not in proc.stderr and not (tmp_path / "r.h5").exists()


def test_check_prints_the_estimate_of_the_projects_run(make_project):
    proc = twinbench("check", make_project(LINE))
    assert proc.returncode == 0, proc.stderr
    [line] = [x for x in proc.stdout.splitlines() if x.startswith("run settings")]
    assert "(8h, 3 replications)" in line and "events per replication" in line
    assert "201 time-series samples" not in line and "state log off" in line


def test_check_refuses_a_project_whose_run_would_never_end(make_project):
    doc = copy.deepcopy(LINE)
    doc["elements"][1]["process_time"] = 1e-6
    doc["elements"][3]["process_time"] = 1e-6
    proc = twinbench("check", make_project(doc))
    assert proc.returncode == 2 and proc.stdout == ""
    assert "$.elements[1].process_time" in proc.stderr and "station 'm1' (Press)" in proc.stderr
    assert "at most 1 billion" in proc.stderr


def test_check_names_the_element_of_a_clock_that_never_stops(make_project):
    doc = copy.deepcopy(LINE)
    doc["elements"][1]["maintenance"] = {"duration": 60, "every_hours": 1e-12}
    proc = twinbench("check", make_project(doc))
    assert proc.returncode == 2
    assert "$.elements[1].maintenance.every_hours" in proc.stderr
    assert "station 'm1' (Press)" in proc.stderr and "the least is 1 s" in proc.stderr
    assert "(found 1e-12)" in proc.stderr
