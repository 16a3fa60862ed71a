"""``fork`` on the command line (``app.cli.whatif``): a progress bar on stderr as
``twinbench run`` has, the work in process at the fork time, and the warning where it was
unknown."""

from __future__ import annotations

import json

import pytest

from app.cli import common, main
from twin.projectfile.reader import load_project
from twin.recording import AssetInfo, RecordingWriter
from twin.sim.runner import RunSpec, run_project
from twin.whatif.simulated import write_run_as_recording

H = 4 * 3600.0


def doc() -> dict:
    return {"schema_version": 1, "name": "cli line", "elements": [
        {"id": "src", "kind": "source"},
        {"id": "m1", "kind": "station", "servers": 2,
         "process_time": {"dist": "gamma", "shape": 3.0, "scale": 20.0},
         "power_kw": {"busy": 4.0}},
        {"id": "b", "kind": "buffer", "capacity": 5},
        {"id": "m2", "kind": "station", "process_time": {"dist": "exponential", "mean": 35.0},
         "power_kw": {"busy": 2.0}},
        {"id": "sink", "kind": "sink"}],
        "connections": [["src", "m1"], ["m1", "b"], ["b", "m2"], ["m2", "sink"]]}


@pytest.fixture
def setup(tmp_path, make_project, kernel, monkeypatch, capsys):
    # ``twinbench run``'s bar, without its half-second grace period (forks here are fast)
    monkeypatch.setattr(common.ProgressBar, "GRACE_S", 0.0)
    folder = make_project(doc())
    res = run_project(load_project(folder), spec=RunSpec(horizon=H, replications=1, seed=3,
                                                         log=True))
    with_levels, without = tmp_path / "wip.h5", tmp_path / "nowip.h5"
    write_run_as_recording(res.scenarios["base"], 0, with_levels, seed=3, levels=True)
    write_run_as_recording(res.scenarios["base"], 0, without, seed=3, levels=False)

    def run(*argv):
        code = main(["fork", str(folder), *map(str, argv)])
        out, err = capsys.readouterr()
        return code, out, err

    return run, with_levels, without


def test_fork_shows_progress_and_the_recorded_wip(setup):
    run, with_levels, _ = setup
    code, out, err = run(with_levels, "--at", 3600, "--until", 7200, "--replications", 4)
    assert code == 0, err
    bars = [line for line in err.splitlines() if line.startswith("forking [")]
    assert len(bars) >= 5 and bars[-1].endswith("100.0%")  # one line per 10 % off a terminal
    assert "warning" not in err and "warning" not in out
    assert "P50" in out and "m1 server 1:" in out
    assert "  work in process at t: b " in out
    code, out, err = run(with_levels, "--at", 3600, "--until", 7200, "--replications", 4,
                         "--json", "--quiet")
    doc = json.loads(out)
    assert code == 0 and err == "" and doc["wip_unknown"] == [] and set(doc["wip"]) == {"b"}
    assert [s["server"] for s in doc["starts"]] == [0, 1, 0]


def test_unknown_wip_is_a_warning(setup):
    run, _, without = setup
    code, out, err = run(without, "--at", 3600, "--until", 7200, "--replications", 2,
                         "--quiet")
    assert code == 0
    assert ("twinbench fork: warning: work in process unknown at the fork time, started "
            "empty: b") in err
    assert "warning: work in process unknown" in out
    # explicit servers: swap the two machines of m1
    code, out, _ = run(without, "--at", 3600, "--until", 7200, "--replications", 2, "--json",
                       "--quiet", "--asset", "m1#0=m1:1", "--asset", "m1#1=m1:0",
                       "--asset", "m2=m2")
    assert code == 0
    starts = json.loads(out)["starts"]
    assert [(s["asset"], s["server"]) for s in starts] == [("m1#0", 1), ("m1#1", 0), ("m2", 0)]


def test_errors_exit_2_with_the_message(setup, tmp_path):
    # user errors exit 2, as in every command (issue 13: fork exited 1)
    run, with_levels, _ = setup
    bad = tmp_path / "bad.h5"
    with RecordingWriter.create(bad, source="t", epoch_utc="2024-01-01T00:00:00+00:00",
                                assets=[AssetInfo("m2", element="m2"),
                                        AssetInfo("b", element="b", level=True)]) as w:
        w.append_states("m2", [0.0], ["busy"])
        w.append_power("m2", [0.0, 7200.0], [2.0, 2.0])
        w.append_level("b", [0.0, 100.0], [1.0, 9.0])
    code, out, err = run(bad, "--at", 600, "--until", 900, "--quiet")
    assert code == 2 and out == ""
    assert ("twinbench fork: error: asset 'b': the level of 'b' recorded at t=100 s "
            "(2024-01-01 00:01:40 UTC), in force at t=600 s, is 9 parts, above its capacity "
            "of 5") in err
    code, _, err = run(with_levels, "--at", 1e9, "--until", 2e9, "--quiet")
    assert code == 2 and "outside the recording" in err
    # times in the error as the user gives them (the plant's clock), not bare seconds
    code, _, err = run(with_levels, "--at", "2h", "--until", "1h", "--quiet")
    assert code == 2 and err == ("twinbench fork: error: the end 2024-01-01 01:00:00 "
                                 "(t=3600 s) must be after the fork time 2024-01-01 02:00:00 "
                                 "(t=7200 s); choose a later end\n")
    code, _, err = run(with_levels, "--at", 10, "--until", 20, "--asset", "nonsense")
    assert code == 2 and "expected ASSET=ELEMENT" in err


def test_interrupt_exits_130(setup, monkeypatch):
    import twin.whatif.fork
    from twin.tasks import Cancelled

    def cancelled(*args, **kwargs):
        task = kwargs["task"]
        task.set_progress_value(40.0)
        raise Cancelled("cancelled by the user")

    run, with_levels, _ = setup
    monkeypatch.setattr(twin.whatif.fork, "fork_from_recording", cancelled)
    code, out, err = run(with_levels, "--at", 3600, "--until", 7200)
    assert code == 130 and out == ""
    assert "forking [############" in err and err.rstrip().endswith("interrupted")


def test_at_and_until_take_durations_seconds_and_iso_8601(setup, tmp_path):
    run, with_levels, _ = setup

    def fork(path, at, until):
        code, out, err = run(path, "--at", at, "--until", until, "--replications", 2,
                             "--json", "--quiet")
        assert code == 0, err
        return json.loads(out)

    # A simulated recording starts at its epoch (2024-01-01 00:00 UTC): three spellings of
    # one fork, with the same seed, give the same result.
    by_seconds = fork(with_levels, 3600, 7200)
    assert (by_seconds["t"], by_seconds["horizon_end"]) == (3600.0, 7200.0)
    assert fork(with_levels, "1h", "2h") == by_seconds
    assert fork(with_levels, "2024-01-01T01:00:00+00:00", "2024-01-01T02:00") == by_seconds

    # A duration counts from the first record, not the epoch (an import's epoch is the
    # midnight before its first stamp); plain seconds still count from the epoch.
    late = tmp_path / "late.h5"
    with RecordingWriter.create(late, source="t", epoch_utc="2024-01-01T00:00:00+00:00",
                                assets=[AssetInfo("m2", element="m2")]) as w:
        w.append_states("m2", [6 * 3600.0, 7 * 3600.0], ["busy", "starved"])
        w.append_power("m2", [6 * 3600.0, 9 * 3600.0], [2.0, 2.0])
    doc = fork(late, "30min", "2h")
    assert (doc["t"], doc["horizon_end"]) == (6.5 * 3600, 8 * 3600)
    doc = fork(late, 6.5 * 3600, "2024-01-01T08:00Z")
    assert (doc["t"], doc["horizon_end"]) == (6.5 * 3600, 8 * 3600)

    code, out, err = run(with_levels, "--at", "two hours", "--until", "8h", "--quiet")
    assert code == 2 and out == ""
    assert ("twinbench fork: error: --at 'two hours' is not a time; use a duration from the "
            "recording's first record (e.g. 2h, 90min, 1h30min); or seconds since the "
            "recording epoch (e.g. 7200); or ISO 8601") in err
