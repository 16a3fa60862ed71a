"""``twinbench run`` and ``twinbench check`` as a user runs them: in a subprocess."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import h5py
import numpy as np
import pytest
from oracles.cli import TIMEOUT, strict_json, twinbench
from oracles.lines import MANY_FAULTS, exp, operating_failures, serial_line, station

from app.cli import build_parser
from kernels import types as kt

LINE = serial_line(
    [station("m1", exp(50.0), failures=operating_failures(exp(3600.0), exp(300.0)),
             power_kw={"busy": 7.5, "blocked": 2.0, "down": 0.5},
             wear={"per_operation": 0.001}),
     station("m2", exp(55.0), power_kw={"busy": 4.0, "starved": 1.0})],
    [4], name="cli line", run={"horizon": "4h", "replications": 3, "seed": 7})
STATION_KEYS = ("parts_out", "utilization", "energy_kwh", "failures", "wear")


def is_stat(node):
    return (isinstance(node, dict) and set(node) == {"mean", "ci95_halfwidth"}
            and isinstance(node["mean"], float | int))


@pytest.fixture(scope="module")
def json_run(tmp_path_factory, kernel):
    folder = tmp_path_factory.mktemp("cli") / "line"
    folder.mkdir()
    (folder / "project.json").write_text(json.dumps(LINE))
    out = folder.parent / "results.h5"
    proc = twinbench("run", folder, "--json", "--warmup", "30min", "--quiet", "--out", out,
                     "--state-log", cwd=folder.parent)
    return folder, out, proc


def test_run_json_document(json_run):
    _, _, proc = json_run
    assert proc.returncode == 0, proc.stderr
    doc = strict_json(proc.stdout)["base"]
    assert doc["replications"] == 3
    for key in ("throughput_per_hour", "wip", "lead_time_s", "energy_kwh"):
        assert is_stat(doc["line"][key]), key
        assert doc["line"][key]["ci95_halfwidth"] > 0, key
    assert doc["line"]["throughput_per_hour"]["mean"] > 0
    assert set(doc["elements"]) == {"src", "m1", "b1", "m2", "sink"}
    for sid in ("m1", "m2"):
        el = doc["elements"][sid]
        assert el["kind"] == "station"
        for key in STATION_KEYS:
            assert is_stat(el[key]), (sid, key)
        assert set(el["state_fraction"]) == set(kt.STATE_NAMES)
        assert all(is_stat(v) for v in el["state_fraction"].values())
        total = sum(v["mean"] for v in el["state_fraction"].values())
        assert total == pytest.approx(1.0, abs=1e-12)
    assert doc["elements"]["m1"]["failures"]["mean"] > 0
    assert doc["elements"]["m1"]["wear"]["mean"] > 0
    assert doc["elements"]["b1"]["kind"] == "buffer"
    assert is_stat(doc["elements"]["b1"]["parts_out"])
    assert doc["bottleneck"] in ("m1", "m2")
    # energy adds up
    parts = sum(doc["elements"][s]["energy_kwh"]["mean"] for s in ("m1", "m2"))
    assert doc["line"]["energy_kwh"]["mean"] == pytest.approx(parts, rel=1e-12)


def test_run_json_is_what_the_library_computes(json_run):
    # the same run in-process gives the very numbers the command printed
    from twin.projectfile.reader import load_project
    from twin.sim.runner import RunSpec, run_project

    folder, _, proc = json_run
    project = load_project(folder)
    spec = RunSpec.from_project(project, warmup=1800.0)
    summary = run_project(project, None, spec).summary()["base"]
    printed = strict_json(proc.stdout)["base"]
    for key in ("throughput_per_hour", "wip", "lead_time_s", "energy_kwh"):
        assert printed["line"][key] == summary["line"][key]
    assert printed["elements"]["m2"]["parts_out"] == summary["elements"]["m2"]["parts_out"]


def test_run_out_writes_hdf5_readable_with_plain_h5py(json_run):
    _, out, proc = json_run
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out, "r") as f:
        assert f.attrs["format"] == "twinbench-results"
        assert int(f.attrs["schema_version"]) >= 1
        assert f.attrs["horizon_s"] == 4 * 3600.0 and f.attrs["warmup_s"] == 1800.0
        assert f.attrs["replications"] == 3 and f.attrs["seed"] == 7
        assert [s.decode() if isinstance(s, bytes) else s
                for s in f.attrs["state_names"]] == list(kt.STATE_NAMES)
        g = f["scenarios/base"]
        ids = [s.decode() if isinstance(s, bytes) else s for s in g.attrs["element_ids"]]
        assert ids == ["src", "m1", "b1", "m2", "sink"]
        kpi = g["kpi"][()]
        assert kpi.shape == (3,)
        assert "line.throughput_per_hour" in kpi.dtype.names
        assert json.loads(g["kpi"].attrs["units"])["line.throughput_per_hour"] == "1/h"
        printed = strict_json(proc.stdout)["base"]
        assert kpi["line.throughput_per_hour"].mean() == pytest.approx(
            printed["line"]["throughput_per_hour"]["mean"], rel=1e-12)
        t = g["time"][()]
        assert t[0] == 0.0 and t[-1] == 4 * 3600.0
        assert g["series/good_parts"].shape == (3, t.size)
        assert g["series/energy_kwh"].shape == (3, t.size, 5)
        assert g["series/power_kw"].attrs["units"] == "kW"
        log = g["state_log/0"][()]
        assert set(log.dtype.names) == {"time", "element", "server", "state", "content"}
        assert np.all(np.diff(log["time"]) >= 0) and log.size > 100
        assert strict_json(g.attrs["summary_json"])["line"]["wip"] == printed["line"]["wip"]
    assert not out.with_name(out.name + ".tmp").exists()


def test_check_reports_every_problem_and_fails(make_project):
    folder = make_project(MANY_FAULTS)
    proc = twinbench("check", folder)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.startswith("  - ")]
    assert len(lines) == 6, proc.stderr
    assert all(str(folder / "project.json") in line for line in lines)
    for words in ("must be > 0", "duplicate id", "unknown element kind",
                  "unknown distribution", "'ghost'", "parts cannot leave"):
        assert any(words in line for line in lines), words
    assert proc.stdout == ""


def test_check_accepts_a_good_project(make_project):
    proc = twinbench("check", make_project(LINE))
    assert proc.returncode == 0, proc.stderr
    assert "OK (5 elements, 2 stations, 4 connections, 0 scenarios)" in proc.stdout


def test_a_missing_mesh_is_a_warning_for_check_and_run(make_project, kernel):
    doc = json.loads(json.dumps(LINE))
    doc["elements"][1]["mesh"] = {"file": "meshes/press.stl", "scale": 0.001}
    folder = make_project(doc)
    proc = twinbench("check", folder)
    assert proc.returncode == 0, proc.stderr
    assert "OK (5 elements, 2 stations, 4 connections, 0 scenarios; 1 warning)" in proc.stdout
    [line] = [x for x in proc.stdout.splitlines() if x.startswith("warning: ")]
    assert "$.elements[1].mesh.file" in line and "station 'm1'" in line
    assert str(folder / "meshes" / "press.stl") in line and "copy the file there" in line
    proc = twinbench("run", folder, "--json", "--quiet", "--horizon", "1h")
    assert proc.returncode == 0, proc.stderr
    assert "warning: " in proc.stderr and "station 'm1'" in proc.stderr
    assert strict_json(proc.stdout)["base"]["line"]["throughput_per_hour"]["mean"] > 0


def test_run_on_a_bad_project_fails_with_the_problems(make_project):
    proc = twinbench("run", make_project('{"elements": [}'), "--json")
    assert proc.returncode == 2
    assert "invalid JSON" in proc.stderr and proc.stdout == ""


@pytest.mark.parametrize("text, seconds", [("8h", 28800.0), ("30min", 1800.0),
                                           ("3600", 3600.0), ("1h30min", 5400.0),
                                           ("90s", 90.0)])
def test_durations_are_accepted(text, seconds):
    args = build_parser().parse_args(["run", "p", "--horizon", text, "--warmup", text])
    assert args.horizon == seconds and args.warmup == seconds


@pytest.mark.parametrize("text", ["8 parsecs", "-5", "abc", "1h-", "", "h"])
def test_bad_durations_are_rejected(text, tmp_path):
    proc = twinbench("run", tmp_path, "--horizon", text)
    assert proc.returncode == 2
    assert "--horizon" in proc.stderr and "duration" in proc.stderr


def test_bad_replications_are_rejected(tmp_path):
    proc = twinbench("run", tmp_path, "--replications", "0")
    assert proc.returncode == 2 and "whole number >= 1" in proc.stderr


def test_run_with_one_replication_prints_null_intervals(make_project):
    proc = twinbench("run", make_project(LINE), "--json", "--quiet", "--horizon", "30min",
                     "--replications", "1")
    assert proc.returncode == 0, proc.stderr
    doc = strict_json(proc.stdout)["base"]
    assert doc["line"]["throughput_per_hour"]["ci95_halfwidth"] is None
    assert not math.isnan(doc["line"]["throughput_per_hour"]["mean"])


def test_every_command_prints_its_help():
    """argparse formats help text with %, so a stray % in a help string breaks --help."""
    from app.cli import build_parser

    parser = build_parser()
    assert "run" in parser.format_help()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, command in sub.choices.items():
        assert name in command.format_help()


def test_version():
    done = twinbench("--version")
    assert done.returncode == 0 and done.stdout.startswith("twinbench 0.")


def test_opening_the_workbench_without_a_display_says_why_instead_of_aborting():
    import os

    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    done = subprocess.run([sys.executable, "-m", "app.cli", "open"], env=env,
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 2, done.stderr  # Qt itself would abort: -6
    assert "no display" in done.stderr and "xvfb-run" in done.stderr
    assert "twinbench run PROJECT" in done.stderr


def test_fork_is_the_one_with_a_progress_bar():
    """One ``fork`` subcommand, ``app.cli.whatif``'s (progress bar, --quiet, servers), and
    ``calibrate`` beside it; no other command module has a fork of its own."""
    import app.cli.open
    import app.cli.recording
    import app.cli.run
    import app.cli.whatif

    parser = build_parser()
    args = parser.parse_args(["fork", "p", "r.h5", "--at", "0", "--until", "60", "--quiet",
                              "--asset", "m1#1=m1:1"])
    assert args.func is app.cli.whatif.run_fork and args.quiet
    args = parser.parse_args(["calibrate", "p", "r.h5", "--asset", "m1#1=m1:1"])
    assert args.func is app.cli.whatif.run_calibrate
    for other in (app.cli.open, app.cli.recording, app.cli.run):
        assert not hasattr(other, "run_fork")


def test_calibrate_and_fork_from_the_command_line(kernel, make_project, tmp_path):
    from twin.projectfile.reader import load_project
    from twin.sim.runner import RunSpec, run_project
    from twin.whatif.simulated import write_run_as_recording

    folder = make_project(LINE)
    res = run_project(load_project(folder), spec=RunSpec(horizon=8 * 3600.0, replications=1,
                                                         seed=3, log=True))
    rec = tmp_path / "line.h5"
    write_run_as_recording(res.scenarios["base"], 0, rec, seed=3)
    proc = twinbench("calibrate", folder, rec, "--write")
    assert proc.returncode == 0, proc.stderr
    assert "station m1 (asset m1; 1 server(s))" in proc.stdout
    assert "level channels skipped: 'b1' (buffer 'b1')" in proc.stdout
    proc = twinbench("fork", folder, rec, "--at", 3600, "--until", 7200, "--replications", 3,
                     "--scenario", "calibrated", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = strict_json(proc.stdout)
    assert doc["wip_unknown"] == [] and set(doc["wip"]) == {"b1"}
    proc = twinbench("fork", folder, rec, "--at", "1e9", "--until", "2e9", "--quiet")
    assert proc.returncode == 2 and proc.stdout == ""  # a user error (issue 13: was 1)
    assert proc.stderr.startswith("twinbench fork: error:") and "outside" in proc.stderr


def test_a_reader_that_goes_away_ends_the_run_quietly(json_run):
    # `twinbench run ... --json | head -c 100`: the reader closes the pipe before the
    # document is written, and the run ends without a traceback or an error about it
    folder, _, _ = json_run
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "run", str(folder), "--json",
                             "--quiet", "--horizon", "1h"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=TIMEOUT) == 1
    assert err == ""



def test_results_that_cannot_be_written_are_refused_before_the_run(json_run, tmp_path):
    folder, _, _ = json_run
    missing = tmp_path / "no-such-folder" / "results.h5"
    proc = twinbench("run", folder, "--quiet", "--out", missing)
    assert proc.returncode == 2
    assert proc.stdout == ""  # refused up front: no run, so no table
    assert f"the folder {missing.parent} does not exist" in proc.stderr
    proc = twinbench("run", folder, "--quiet", "--out", tmp_path)
    assert proc.returncode == 2 and "is a folder" in proc.stderr


def test_results_never_replace_a_file_unasked_nor_the_project(json_run):
    folder, out, _ = json_run
    before = out.read_bytes()
    proc = twinbench("run", folder, "--quiet", "--out", out)
    assert proc.returncode == 2 and proc.stdout == ""
    assert f"{out}: exists; choose another --out, or add --force to overwrite it" in proc.stderr
    assert out.read_bytes() == before
    # the project the run reads is refused even with --force (a newcomer lost one so)
    project = folder / "project.json"
    text = project.read_text()
    for target in (project, folder / "." / "project.json"):
        proc = twinbench("run", folder, "--quiet", "--force", "--out", target)
        assert proc.returncode == 2
        assert "is the file this command reads; choose another --out" in proc.stderr
    assert project.read_text() == text


def test_an_unknown_scenario_is_named_with_those_there_are(json_run):
    folder, _, _ = json_run
    proc = twinbench("run", folder, "--quiet", "--scenario", "nope")
    assert proc.returncode == 2
    assert "no scenario 'nope'" in proc.stderr
    assert "known: base (the project as it is)" in proc.stderr


def test_opening_a_project_that_cannot_be_read_says_why_in_the_terminal(tmp_path):
    # said before any window or thread exists: it used to go to the hidden window's log,
    # and the process then crashed destroying the kernel warm-up thread (exit -11)
    done = twinbench("open", tmp_path / "nowhere")
    assert done.returncode == 2, done.stderr
    assert "no such project" in done.stderr and "nowhere" in done.stderr
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "project.json").write_text(json.dumps(MANY_FAULTS))
    done = twinbench("open", bad)
    assert done.returncode == 2 and "6 problems in" in done.stderr



def test_every_command_names_itself_in_its_errors(json_run, tmp_path):
    folder, _, _ = json_run
    fake = tmp_path / "fake.h5"
    fake.write_text("time,state\n")
    for command in ("calibrate", "replay"):
        args = (folder, fake) if command == "calibrate" else (fake,)
        done = twinbench(command, *args)
        assert done.returncode == 2  # a user error (issue 13: was 1)
        assert done.stderr.startswith(f"twinbench {command}: error: {fake}: not an HDF5 file")


def test_the_run_table_keeps_its_columns_whatever_the_numbers(json_run):
    # failures in the thousands once ran into the energy column ("231.4 ± 0.731.59e+03 ± 52")
    import re

    folder, _, _ = json_run
    done = twinbench("run", folder, "--quiet", "--horizon", "30d", "--replications", "2")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    top = next(i for i, line in enumerate(lines) if line.lstrip().startswith("station"))
    table = lines[top:top + 3]  # the header and the rows of m1 and m2
    assert len({len(line) for line in table}) == 1
    for line in table:
        assert len(re.split(r"\s{2,}", line.strip())) == 10
    assert "e+" not in "".join(table)
    done = twinbench("check", folder)
    assert "2 stations" in done.stdout and "0 scenarios" in done.stdout
