"""``twinbench optimize`` and ``twinbench sensitivity`` as a user runs them: in a
subprocess, on a project whose best buffer split is known from the exact Markov chain."""

from __future__ import annotations

import json

import pytest
from oracles.cli import strict_json, twinbench
from oracles.lines import exp, serial_line, station
from oracles.markov import Machine, solve_line

from twin.projectfile.reader import load_project, with_scenario

MEANS = (1.0, 1.0, 0.7)
SPLIT = {"name": "split", "design": "full_factorial", "replications": 5, "seed": 3,
         "horizon": 3000, "warmup": 200, "trials": 24,
         "factors": [{"element": b, "path": "capacity", "low": 1, "high": 4,
                      "integer": True, "cost_per_unit": 1} for b in ("b1", "b2")],
         "responses": ["line.throughput_per_hour", "line.wip"],
         "objectives": [{"response": "line.throughput_per_hour", "sense": "max"}],
         "constraints": [{"response": "budget", "max": 5}]}
TWO = {**SPLIT, "name": "two", "trials": 12,
       "objectives": [{"response": "line.throughput_per_hour", "sense": "max"},
                      {"response": "budget", "sense": "min"}]}


@pytest.fixture()
def project(tmp_path, kernel):
    doc = serial_line([station(f"m{i + 1}", exp(m)) for i, m in enumerate(MEANS)], [1, 1],
                      name="split line", experiments=[SPLIT, TWO])
    folder = tmp_path / "split"
    folder.mkdir()
    (folder / "project.json").write_text(json.dumps(doc))
    return folder


def best_split() -> dict:
    tp = {(a, b): solve_line([Machine(m) for m in MEANS], [a, b]).throughput
          for a in range(1, 5) for b in range(1, 5) if a + b <= 5}
    a, b = max(tp, key=tp.get)
    return {"b1.capacity": a, "b2.capacity": b}


def test_optimize_selects_the_exact_best_split_and_saves_it(project):
    proc = twinbench("optimize", project, "split", "--json", "--quiet", "--delta", "15",
                     "--save-scenario", "best split", "--workers", "2")
    assert proc.returncode == 0, proc.stderr
    doc = strict_json(proc.stdout)
    assert doc["best"] == best_split()
    sel = doc["selection"]
    assert sel["indifference_zone"] == 15 and sel["confidence"] == 0.95
    assert "the best, with 95% confidence" in sel["statement"]
    # the space has 16 points, 10 within the budget: all 10 simulated, none over it
    simulated = {tuple(t["point"].values()) for t in doc["trials"] if t["simulated"]}
    assert len(simulated) == 10 and all(a + b <= 5 for a, b in simulated)
    assert doc["sampler"] == "TPE"
    assert doc["written"]["scenario"] == "best split"
    variant = with_scenario(load_project(project), "best split")
    assert (variant.element("b1").capacity, variant.element("b2").capacity) == (
        best_split()["b1.capacity"], best_split()["b2.capacity"])
    # the same name again is refused, with the reason, and the file is left alone
    before = (project / "project.json").read_text()
    again = twinbench("optimize", project, "split", "--quiet", "--trials", "2",
                      "--save-scenario", "best split")
    assert again.returncode == 2 and "exists already" in again.stderr
    assert "search: TPE" not in again.stdout  # refused before the search ran
    assert (project / "project.json").read_text() == before


def test_optimize_prints_a_table_and_the_front_of_two_objectives(project):
    proc = twinbench("optimize", project, "two", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "NSGA-II" in proc.stdout and "the Pareto front" in proc.stdout
    assert "b1.capacity" in proc.stdout and "line.throughput_per_hour" in proc.stdout
    nopick = twinbench("optimize", project, "two", "--quiet", "--save-scenario", "x")
    assert nopick.returncode == 2 and "--pick" in nopick.stderr


def test_sensitivity_morris_and_sobol(project):
    proc = twinbench("sensitivity", project, "split", "--method", "morris", "--samples", "4",
                     "--json", "--quiet")
    assert proc.returncode == 0, proc.stderr
    doc = strict_json(proc.stdout)
    assert doc["method"] == "morris" and doc["runs"] == 4 * 3
    assert {b["factor"] for b in doc["tornado"]} == {"b1.capacity", "b2.capacity"}
    assert all(b["value"] > 0 for b in doc["tornado"])  # both buffers raise throughput
    text = twinbench("sensitivity", project, "split", "--samples", "4", "--quiet",
                     "--response", "line.wip")
    assert text.returncode == 0, text.stderr
    assert "Sobol' indices of line.wip" in text.stdout and "ST" in text.stdout


@pytest.mark.parametrize("args, words", [
    (["optimize", "nope"], "no experiment 'nope'"),
    (["optimize", "split", "--pick", "1"], "--pick chooses a point of the Pareto front"),
    (["sensitivity", "split", "--samples", "6"], "power of two"),
    (["optimize", "split", "--confidence", "1.5"], "probability"),
])
def test_user_errors_exit_2_with_the_reason(project, args, words):
    cmd, *rest = args
    proc = twinbench(cmd, project, *rest, "--quiet")
    assert proc.returncode == 2, proc.stderr
    assert words in proc.stderr and "Traceback" not in proc.stderr


def test_optimize_on_a_local_dask_cluster_gives_the_local_result(project):
    args = ("optimize", project, "split", "--json", "--quiet", "--delta", "15", "--trials", "3")
    local = twinbench(*args, "--workers", "1")
    dask = twinbench(*args, "--dask", "local", "--workers", "1")
    assert local.returncode == 0 and dask.returncode == 0, (local.stderr, dask.stderr)
    assert strict_json(dask.stdout) == strict_json(local.stdout)  # same seeds, same numbers
