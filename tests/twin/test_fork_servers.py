"""Forks of multi-server stations: one recorded asset per server, each in its own state.

The recording is written by hand (as a plant export would give it): station M has two
parallel machines, M-A (server 0) busy all along and M-B (server 1) down from 1000 s to
2000 s, between two busy runs.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from kernels import types as kt
from twin.projectfile.reader import project_from_json
from twin.recording import AssetInfo, Recording, RecordingWriter
from twin.whatif.fork import ForkError, fork_from_recording

DOWN_FROM, DOWN_TO = 1000.0, 2000.0
END = 4000.0


def doc(servers: int = 2) -> dict:
    return {"schema_version": 1, "name": "two machines", "elements": [
        {"id": "src", "kind": "source"},
        {"id": "M", "kind": "station", "servers": servers,
         "process_time": {"dist": "exponential", "mean": 60.0},
         "failures": {"basis": "operating",
                      "time_to_failure": {"dist": "exponential", "mean": 1e6},
                      "time_to_repair": {"dist": "uniform", "low": 600.0, "high": 1200.0}},
         "power_kw": {"busy": 4.0, "starved": 1.0, "down": 0.5}},
        {"id": "sink", "kind": "sink"}],
        "connections": [["src", "M"], ["M", "sink"]]}


def write(path, assets=(("M-A", 0), ("M-B", 1))):
    infos = [AssetInfo(a, element="M", server=k) for a, k in assets]
    with RecordingWriter.create(path, source="hand-written export",
                                epoch_utc="2024-05-06T04:00:00+00:00", assets=infos) as w:
        for a, _ in assets:
            if a == "M-B":
                w.append_states(a, [0.0, DOWN_FROM, DOWN_TO], ["busy", "down", "busy"])
                parts = np.r_[np.arange(60.0, DOWN_FROM, 60.0), np.arange(DOWN_TO + 60, END, 60)]
            else:
                w.append_states(a, [0.0], ["busy"])
                parts = np.arange(55.0, END, 55.0)
            w.append_parts(a, parts, 1)
            w.append_power(a, [0.0, END], [4.0, 4.0])
    return path


def first_change(rep, server: int) -> tuple[float, int]:
    log = rep.log[(rep.log["element"] == 1) & (rep.log["server"] == server)]
    return float(log["time"][0]), int(log["state"][0])


def test_each_server_starts_in_its_recorded_state(tmp_path, kernel):
    project = project_from_json(doc())
    with Recording.open(write(tmp_path / "r.h5")) as r:
        fr = fork_from_recording(project, r, 1500.0, 2600.0, replications=5, seed=3, log=True)
    a, b = fr.starts
    assert (a.asset, a.server, a.state, a.holds) == ("M-A", 0, kt.BUSY, "process")
    assert (b.asset, b.server, b.state, b.holds) == ("M-B", 1, kt.DOWN, "process")
    assert b.repair_end == DOWN_TO and b.down_elapsed == 500.0
    # M-B was busy on a part for 1000 - 960 = 40 s when it failed: that part is held
    assert b.elapsed_work == pytest.approx(40.0)
    assert fr.wip_unknown == [] and not fr.notes
    for rep in fr.replications:
        # the down server comes back exactly at its recorded repair end, and resumes the
        # part it held (busy); the busy one never stops (the source is unlimited)
        assert first_change(rep, 1) == (pytest.approx(DOWN_TO, abs=1e-9), kt.BUSY)
        assert not np.any((rep.log["element"] == 1) & (rep.log["server"] == 0))
        assert rep.st_time[1, kt.DOWN] == pytest.approx(DOWN_TO - 1500.0)
    assert "M server 1: down at t, repair ends at 2000" in str(fr)


def test_remaining_repair_follows_the_conditional_repair_time(tmp_path, kernel):
    """Without the recorded end, the repair left at t is X - a | X > a for the repair time
    X ~ U(600, 1200) and the elapsed a = 500 s: uniform on (100, 700) s."""
    project = project_from_json(doc())
    with Recording.open(write(tmp_path / "r.h5")) as r:
        fr = fork_from_recording(project, r, 1500.0, 2300.0, replications=200, seed=11,
                                 log=True, recorded_repair_end=False)
    left = np.array([first_change(rep, 1)[0] - 1500.0 for rep in fr.replications])
    assert stats.kstest(left, stats.uniform(100.0, 600.0).cdf).pvalue > 0.01
    assert left.min() >= 100.0 and left.max() <= 700.0


def test_recorded_server_index_and_explicit_servers(tmp_path, kernel):
    project = project_from_json(doc())
    path = write(tmp_path / "r.h5", assets=(("M-B", 1), ("M-A", 0)))
    with Recording.open(path) as r:
        fr = fork_from_recording(project, r, 1500.0, 1600.0, replications=1)
        assert [(s.asset, s.server) for s in fr.starts] == [("M-B", 1), ("M-A", 0)]
        # explicit servers win over the recorded ones
        fr = fork_from_recording(project, r, 1500.0, 1600.0, replications=1,
                                 assets={"M-B": ("M", 0), "M-A": ("M", 1)})
        assert [(s.asset, s.server, s.state) for s in fr.starts] == [
            ("M-B", 0, kt.DOWN), ("M-A", 1, kt.BUSY)]
        with pytest.raises(ForkError, match="assets 'M-B' and 'M-A' are both server 1 of "
                                            "station 'M'; map each server once"):
            fork_from_recording(project, r, 1500.0, 1600.0,
                                assets={"M-B": ("M", 1), "M-A": ("M", 1)})
        with pytest.raises(ForkError, match="asset 'M-A' is server 2 of station 'M', which "
                                            r"has 2 server\(s\) \(0..1\)"):
            fork_from_recording(project, r, 1500.0, 1600.0, assets={"M-A": ("M", 2)})
        three = project_from_json(doc(servers=1))
        with pytest.raises(ForkError, match="'M-B' is server 1 of station 'M', which has 1"):
            fork_from_recording(three, r, 1500.0, 1600.0)


def test_a_single_channel_is_server_zero_and_the_rest_unknown(tmp_path, kernel):
    """One state channel on a two-server station (the asset has no server index): it is
    server 0; server 1 starts empty and the result says its content is unknown."""
    path = tmp_path / "one.h5"
    with RecordingWriter.create(path, source="one signal for the cell",
                                epoch_utc="2024-05-06T04:00:00+00:00",
                                assets=[AssetInfo("cell", element="M")]) as w:
        w.append_states("cell", [0.0, DOWN_FROM, DOWN_TO], ["busy", "down", "busy"])
        w.append_power("cell", [0.0, END], [4.0, 4.0])
    project = project_from_json(doc())
    with Recording.open(path) as r:
        fr = fork_from_recording(project, r, 1500.0, 2600.0, replications=3, seed=1, log=True)
    assert [(s.asset, s.server, s.state) for s in fr.starts] == [("cell", 0, kt.DOWN)]
    assert fr.wip_unknown == ["M"]
    assert any("has 2 servers but only 1 recorded state channel(s) ('cell' as server 0): "
               "servers [1] start empty" in n for n in fr.notes)
    assert "warning: work in process unknown at the fork time, started empty: M" in str(fr)
    for rep in fr.replications:
        assert first_change(rep, 0)[0] == pytest.approx(DOWN_TO, abs=1e-9)
        # the unrecorded server was empty, so it takes a part from the source at once
        assert first_change(rep, 1) == (1500.0, kt.BUSY)


def test_down_without_repair_end_or_repair_time_is_refused(tmp_path, kernel):
    """The data ends with M-B down, and the project has no failures to draw the rest of the
    repair from: the fork says so instead of guessing."""
    path = tmp_path / "end.h5"
    with RecordingWriter.create(path, source="t", epoch_utc="2024-05-06T04:00:00+00:00",
                                assets=[AssetInfo("M-B", element="M", server=1)]) as w:
        w.append_states("M-B", [0.0, DOWN_FROM], ["busy", "down"])
        w.append_power("M-B", [0.0, END], [4.0, 4.0])
    d = doc()
    del d["elements"][1]["failures"]
    with Recording.open(path) as r:
        with pytest.raises(ForkError, match="asset 'M-B' shows station 'M' down at t=1500 s and "
                                            "the recording does not say when the repair "
                                            "ended, but the station has no failures"):
            fork_from_recording(project_from_json(d), r, 1500.0, 1600.0, replications=1)
        fr = fork_from_recording(project_from_json(doc()), r, 1500.0, 1600.0, replications=1)
        assert fr.starts[0].repair_end is None and fr.starts[0].server == 1
