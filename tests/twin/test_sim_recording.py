"""A simulated replication written as a recording replays to the simulation's own KPIs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kernels import types as kt
from twin.projectfile.reader import load_project, project_from_json
from twin.recording import Recording, recording_kpis, replay_recording
from twin.sim.runner import RunSpec, run_project
from twin.whatif.simulated import write_run_as_recording


def doc() -> dict:
    exp = {"dist": "exponential", "mean": 40.0}
    return {"schema_version": 1, "name": "shifts and scrap", "elements": [
        {"id": "src", "kind": "source"},
        {"id": "a", "kind": "station", "process_time": exp, "scrap": 0.1,
         "failures": {"basis": "calendar",
                      "time_to_failure": {"dist": "exponential", "mean": 3000.0},
                      "time_to_repair": {"dist": "exponential", "mean": 200.0}},
         "power_kw": {"busy": 2.0, "blocked": 1.0, "starved": 0.7, "down": 0.1, "off": 0.05}},
        {"id": "b", "kind": "station", "process_time": exp,
         "power_kw": {"busy": 3.0, "blocked": 1.0, "starved": 0.2, "off": 0.0}},
        {"id": "sink", "kind": "sink"}],
        "connections": [["src", "a"], ["a", "b"], ["b", "sink"]],
        "calendar": {"period": 86400.0, "shifts": [{"start": 21600.0, "end": 79200.0}]}}


@pytest.mark.parametrize("replication", [0, 1, 2])
def test_replayed_kpis_equal_the_simulation(kernel, tmp_path, replication):
    project = project_from_json(doc())
    res = run_project(project, spec=RunSpec(horizon=2 * 86400.0, replications=3, seed=4,
                                            log=True))
    sr = res.scenarios["base"]
    rep = sr.replications[replication]
    path = tmp_path / "r.h5"
    events = write_run_as_recording(sr, replication, path, seed=4)
    with Recording.open(path) as r:
        rk = recording_kpis(r)
    for ev in events:
        e = sr.lowered.element_ids.index(ev.element)
        k = rk[ev.element]
        # time 0 is off shift: the station starts in its off state without a log row
        assert ev.state[0] == kt.OFF and ev.state_t[0] == 0.0
        assert k.parts_out == rep.el_out[e, kt.O_OUT]
        assert k.scrap == rep.el_out[e, kt.O_SCRAP]
        assert k.produced == len(ev.part_t)
        for code, name in enumerate(kt.STATE_NAMES):
            assert k.state_time_s[name] == pytest.approx(rep.st_time[e, code], rel=1e-12,
                                                         abs=1e-6)
        assert k.energy_kwh == pytest.approx(
            float(rep.st_time[e] @ sr.lowered.arrays.power[e]) / 3600.0, rel=1e-12)
    assert rk["a"].scrap > 0 and rk["a"].state_time_s["off"] > 0


def ms_doc() -> dict:
    """Three parallel servers with scrap and operating-time failures, then a buffer."""
    return {"schema_version": 1, "name": "parallel", "elements": [
        {"id": "src", "kind": "source"},
        {"id": "a", "kind": "station", "servers": 3, "scrap": 0.1,
         "process_time": {"dist": "gamma", "shape": 2.0, "scale": 40.0},
         "failures": {"basis": "operating",
                      "time_to_failure": {"dist": "exponential", "mean": 3000.0},
                      "time_to_repair": {"dist": "exponential", "mean": 200.0}},
         "power_kw": {"busy": 2.0, "blocked": 1.0, "starved": 0.7, "down": 0.1}},
        {"id": "b", "kind": "buffer", "capacity": 4},
        {"id": "c", "kind": "station", "process_time": {"dist": "exponential", "mean": 25.0},
         "power_kw": {"busy": 3.0, "starved": 0.5}},
        {"id": "sink", "kind": "sink"}],
        "connections": [["src", "a"], ["a", "b"], ["b", "c"], ["c", "sink"]]}


@pytest.mark.parametrize("replication", [0, 1])
def test_multi_server_station_is_one_asset_per_server(kernel, tmp_path, replication):
    res = run_project(project_from_json(ms_doc()), spec=RunSpec(
        horizon=86400.0, replications=2, seed=4, log=True))
    sr = res.scenarios["base"]
    rep = sr.replications[replication]
    path = tmp_path / "ms.h5"
    events = write_run_as_recording(sr, replication, path, seed=4)
    e = sr.lowered.element_ids.index("a")
    with Recording.open(path) as r:
        # levels are written by default: the buffer is an asset of its own, after the servers
        assert r.asset_ids == ("a#0", "a#1", "a#2", "c", "b")
        assert [(r.asset(x).element, r.asset(x).server) for x in r.asset_ids] == [
            ("a", 0), ("a", 1), ("a", 2), ("c", None), ("b", None)]
        assert len(r.asset("b").level) > 0 and len(r.asset("b").states) == 0
        rk = recording_kpis(r)
        replays = replay_recording(r)
    servers = [f"a#{k}" for k in range(3)]
    # the station's counters and state times are the sums over its servers, exactly
    assert sum(rk[x].parts_out for x in servers) == rep.el_out[e, kt.O_OUT]
    assert sum(rk[x].scrap for x in servers) == rep.el_out[e, kt.O_SCRAP] > 0
    assert sum(rk[x].failures for x in servers) == rep.el_out[e, kt.O_FAILURES] > 0
    for code, name in enumerate(kt.STATE_NAMES):
        assert sum(rk[x].state_time_s[name] for x in servers) == pytest.approx(
            rep.st_time[e, code], rel=1e-12, abs=1e-6)
    assert sum(rk[x].energy_kwh for x in servers) == pytest.approx(
        float(rep.st_time[e] @ sr.lowered.arrays.power[e]) / 3600.0, rel=1e-12)
    # each part is given to a server that held it: busy (scrap, or handed on at once) or
    # blocked just before the part event, never starved or down
    for ev in events[:3]:
        assert ev.asset_id == f"a#{ev.server}" and len(ev.part_t) > 100
        before = replays[ev.asset_id].state_at(ev.part_t - 1e-7)
        assert set(np.unique(before)) <= {kt.BUSY, kt.BLOCKED}
        # ... and each server works alone: no two part events of one server closer than
        # zero, i.e. one part per server per instant
        assert np.all(np.diff(ev.part_t) > 0)


def test_levels_record_the_buffer_content(kernel, tmp_path):
    res = run_project(project_from_json(ms_doc()), spec=RunSpec(
        horizon=6 * 3600.0, replications=1, seed=8, log=True, sample_interval=60.0))
    sr = res.scenarios["base"]
    rep = sr.replications[0]
    path = tmp_path / "lv.h5"
    write_run_as_recording(sr, 0, path, seed=8)  # levels=True is the default
    with Recording.open(path) as r:
        assert r.asset_ids[-1] == "b" and r.asset("b").element == "b"
        b = replay_recording(r)["b"]
    write_run_as_recording(sr, 0, tmp_path / "nolv.h5", seed=8, levels=False)
    with Recording.open(tmp_path / "nolv.h5") as r:
        assert r.asset_ids == ("a#0", "a#1", "a#2", "c")
        assert all(len(r.asset(x).level) == 0 for x in r.asset_ids)
    eb = sr.lowered.element_ids.index("b")
    ts = sr.ts_t
    # the kernel samples the content just before the events of a sample time
    np.testing.assert_array_equal(b.level_at(ts - 1e-9)[1:], rep.ts_content[1:, eb])
    assert b.level.time[0] == 0.0 and b.level.time[-1] == 6 * 3600.0
    assert b.level.value.max() == 4 and b.level.value.min() == 0
    assert np.all(np.diff(b.level.time) > 0)  # one value per instant


def test_cli_calibrate_and_fork(kernel, tmp_path, make_project, capsys):
    """``twinbench calibrate`` then ``twinbench fork`` through the main parser (the fork is
    ``app.cli.whatif``'s, with its progress bar)."""
    from app.cli import main

    folder = make_project(doc())
    project = load_project(folder)
    res = run_project(project, spec=RunSpec(horizon=3 * 86400.0, replications=1, seed=9,
                                            log=True))
    rec = tmp_path / "r.h5"
    write_run_as_recording(res.scenarios["base"], 0, rec, seed=9)
    assert main(["calibrate", str(folder), str(rec), "--json", "--write"]) == 0
    assert json.loads(capsys.readouterr().out)["written"]["scenario"] == "calibrated"
    assert load_project(folder).scenario("calibrated").overrides
    # the scenario exists already: a user error, exit 2 (issue 13: was 1)
    assert main(["calibrate", str(folder), str(rec), "--write"]) == 2
    capsys.readouterr()
    code = main(["fork", str(folder), str(rec), "--at", "100000", "--until", "150000",
                 "--replications", "5", "--scenario", "calibrated"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "P50" in out
    assert main(["fork", str(folder), str(rec), "--at", "1e9", "--until", "2e9",
                 "--quiet"]) == 2
    assert capsys.readouterr().err.startswith("twinbench fork: error:")
