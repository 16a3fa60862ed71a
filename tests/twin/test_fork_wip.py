"""Forks start with the recorded work in process: buffer and conveyor levels, checked.

The hand-written recordings follow a line src -> M1 -> B (or a conveyor) -> M2 -> sink in
which M1 is down over the fork time with a recorded repair end, so that nothing enters the
buffer for a while and the effect of the recorded level can be derived exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from kernels import types as kt
from twin.projectfile.reader import project_from_json
from twin.recording import AssetInfo, Recording, RecordingWriter, replay_asset
from twin.sim.runner import RunSpec, run_project
from twin.whatif.fork import ForkError, fork_from_recording
from twin.whatif.simulated import write_run_as_recording

T = 7200.0  # fork time
REPAIR_END = T + 1200.0
C2 = 47.0  # M2's constant process time (no multiple of the 36 s grid below 1692 s)


def doc(middle: dict | None = None) -> dict:
    middle = middle or {"id": "B", "kind": "buffer", "capacity": 10}
    return {"schema_version": 1, "name": "wip line", "elements": [
        {"id": "src", "kind": "source"},
        {"id": "M1", "kind": "station", "process_time": {"dist": "exponential", "mean": 50.0},
         "failures": {"basis": "operating",
                      "time_to_failure": {"dist": "exponential", "mean": 1e7},
                      "time_to_repair": {"dist": "exponential", "mean": 300.0}},
         "power_kw": {"busy": 3.0}},
        middle,
        {"id": "M2", "kind": "station", "process_time": {"dist": "constant", "value": C2},
         "power_kw": {"busy": 2.0}},
        {"id": "sink", "kind": "sink"}],
        "connections": [["src", "M1"], ["M1", middle["id"]], [middle["id"], "M2"],
                        ["M2", "sink"]]}


def write(path, level_t=(), level=(), middle="B"):
    """M1 busy, then down from T - 100 s to REPAIR_END; M2 starved; the middle element's
    level as given."""
    infos = [AssetInfo("M1", element="M1"), AssetInfo("M2", element="M2"),
             AssetInfo(middle, element=middle, level=True)]
    with RecordingWriter.create(path, source="hand-written", time_zone="Europe/Berlin",
                                epoch_utc="2024-05-06T04:00:00+00:00", assets=infos) as w:
        w.append_states("M1", [0.0, T - 100.0, REPAIR_END], ["busy", "down", "busy"])
        w.append_parts("M1", np.arange(50.0, T - 100.0, 50.0), 1)
        w.append_power("M1", [0.0, T + 7200.0], [3.0, 3.0])
        w.append_states("M2", [0.0, T - 200.0], ["busy", "starved"])
        w.append_power("M2", [0.0, T + 7200.0], [2.0, 2.0])
        w.append_level(middle, level_t, level)
    return path


@pytest.mark.parametrize("k", [1, 5])
def test_buffer_wip_adds_exactly_its_parts_to_the_output(tmp_path, kernel, k):
    """With common random numbers, a fork with k parts in B differs from one with B empty by
    exactly the parts M2 makes of them: M1 is under repair for 1200 s, M2 takes the k parts
    one after the other (47 s each, done long before the repair ends) and is idle again
    when M1's first part arrives, so from then on both forks run the same. At a grid time
    ``t + x`` the difference is ``#{j <= k: 47 j < x}``, k from 235 s on."""
    project = project_from_json(doc())
    path = write(tmp_path / "r.h5", [0.0, T - 30.0], [2.0, float(k)])
    with Recording.open(path) as r:
        full = fork_from_recording(project, r, T, T + 3600.0, replications=8, seed=5)
        empty = fork_from_recording(project, r, T, T + 3600.0, replications=8, seed=5,
                                    assets={"M1": "M1", "M2": "M2"})
    assert full.wip == {"B": k} and full.wip_unknown == []
    assert empty.wip == {} and empty.wip_unknown == ["B"]
    assert "work in process unknown at the fork time, started empty: B" in str(empty)
    x = full.times - T
    want = np.array([np.sum(C2 * np.arange(1, k + 1) < xi) for xi in x], float)
    for a, b in zip(full.replications, empty.replications, strict=True):
        np.testing.assert_array_equal(a.ts_line[-len(x):, 0] - b.ts_line[-len(x):, 0], want)
    np.testing.assert_array_equal(full.outputs - empty.outputs, k)
    assert len(set(empty.outputs)) > 1  # the replications do differ from one another
    for q in ("p10", "p50", "p90"):  # interpolated quantiles: equal up to rounding
        np.testing.assert_allclose(full.output_q[q] - empty.output_q[q], want, atol=1e-9)


def test_conveyor_wip_is_spread_along_the_belt(tmp_path, kernel):
    """5 parts on a 21 m belt at 0.5 m/s (42 s travel): they reach its end 42/5 = 8.4 s
    apart, the first at t, and M2 (1 s per part) takes each as it arrives."""
    belt = {"id": "C", "kind": "conveyor", "length": 21.0, "speed": 0.5, "spacing": 0.5}
    d = doc(belt)
    d["elements"][3]["process_time"] = {"dist": "constant", "value": 1.0}
    project = project_from_json(d)
    path = write(tmp_path / "c.h5", [T - 5.0], [5.0], middle="C")
    with Recording.open(path) as r:
        fr = fork_from_recording(project, r, T, T + 100.0, replications=2, seed=1)
    assert fr.wip == {"C": 5}
    e = 3  # src, M1, C, ...
    x = fr.times - T
    want = 5 - np.array([np.sum(8.4 * np.arange(5) <= xi) for xi in x])
    for rep in fr.replications:
        np.testing.assert_array_equal(rep.ts_content[-len(x):, 2], want)
        assert rep.ts_line[-1, 0] == 5 and rep.el_out[e, kt.O_OUT] == 5


def test_bad_levels_name_the_asset_and_the_time(tmp_path, kernel):
    project = project_from_json(doc())
    path = write(tmp_path / "bad.h5", [0.0, 600.0, 1200.0, 1800.0, 2400.0],
                 [3.0, -1.0, 12.0, 2.6, np.nan])
    with Recording.open(path) as r:
        with pytest.raises(ForkError) as e:
            fork_from_recording(project, r, 700.0, 800.0, replications=1)
        assert str(e.value) == (
            "asset 'B': the level of 'B' recorded at t=600 s (2024-05-06 06:10:00 CEST), in "
            "force at t=700 s, is -1 parts; a level is a number of parts >= 0: correct the "
            "level in the data and import it again")
        with pytest.raises(ForkError, match=r"asset 'B': the level of 'B' recorded at t=1200 s"
                                            r" \(2024-05-06 06:20:00 CEST\), in force at "
                                            r"t=1300 s, is 12 parts, above its capacity of 10"):
            fork_from_recording(project, r, 1300.0, 1400.0, replications=1)
        with pytest.raises(ForkError, match="recorded at t=2400 s .* is nan parts"):
            fork_from_recording(project, r, 2500.0, 2600.0, replications=1)
        fr = fork_from_recording(project, r, 1900.0, 2000.0, replications=1)
        assert fr.wip == {"B": 3}
        assert "B: recorded level 2.6 at t=1800 s (2024-05-06 06:30:00 CEST) rounded to 3 " \
               "parts" in fr.notes
        # replay keeps the bad values and counts them
        assert replay_asset(r, "B").invalid_values == 2


def test_levels_before_the_first_sample_and_wrong_targets(tmp_path, kernel):
    project = project_from_json(doc())
    with Recording.open(write(tmp_path / "late.h5", [T], [4.0])) as r:
        fr = fork_from_recording(project, r, T - 10.0, T + 100.0, replications=1)
        assert fr.wip == {} and fr.wip_unknown == ["B"]
        assert "asset 'B' records no level of 'B' before the fork time" in fr.notes
        assert fork_from_recording(project, r, T, T + 100.0, replications=1).wip == {"B": 4}
        # a station asset has no level to give a buffer; a level asset is no station
        with pytest.raises(ForkError, match="asset 'M2' maps to 'B', which is not a station "
                                            "of project 'wip line' and the asset records no "
                                            "level to give its content"):
            fork_from_recording(project, r, T, T + 100.0, assets={"M2": "B"})
        with pytest.raises(ForkError, match="asset 'B' maps to 'sink', which is not a station"):
            fork_from_recording(project, r, T, T + 100.0, assets={"B": "sink"})


def line() -> dict:
    """Two parallel gamma servers, a buffer of 8, an exponential last station."""
    return {"schema_version": 1, "name": "parallel line", "elements": [
        {"id": "src", "kind": "source"},
        {"id": "m1", "kind": "station", "servers": 2,
         "process_time": {"dist": "gamma", "shape": 3.0, "scale": 35.0},
         "failures": {"basis": "operating",
                      "time_to_failure": {"dist": "exponential", "mean": 1500.0},
                      "time_to_repair": {"dist": "exponential", "mean": 300.0}},
         "power_kw": {"busy": 4.0, "blocked": 1.0, "starved": 0.5, "down": 0.2}},
        {"id": "b", "kind": "buffer", "capacity": 8},
        {"id": "m2", "kind": "station", "process_time": {"dist": "exponential", "mean": 55.0},
         "power_kw": {"busy": 2.0, "starved": 0.5}},
        {"id": "sink", "kind": "sink"}],
        "connections": [["src", "m1"], ["m1", "b"], ["b", "m2"], ["m2", "sink"]]}


def test_fork_with_servers_and_wip_is_consistent_with_continuing_the_run(tmp_path_factory,
                                                                         kernel):
    """With every server's state and the buffer level recorded, the line's state at t is
    known: the output realised in the 15 min after t is a draw from the fork's
    distribution, so its randomised probability integral transform over 60 recordings is
    uniform. The same test rejects forks that leave the buffer empty."""
    n, h, t, span = 60, 3 * 3600.0, 2 * 3600.0, 900.0
    project = project_from_json(line())
    res = run_project(project, spec=RunSpec(horizon=h, replications=n, seed=41, log=True))
    folder = tmp_path_factory.mktemp("wipfork")
    rng = np.random.default_rng(5)
    u: dict[bool, list] = {True: [], False: []}
    levels = []
    for k in range(n):
        path = folder / f"rec{k}.h5"
        write_run_as_recording(res.scenarios["base"], k, path, seed=41, levels=True)
        with Recording.open(path) as r:
            levels.append(replay_asset(r, "b").level_at(t))
            for known in (True, False):
                assets = None if known else {"m1#0": "m1", "m1#1": "m1", "m2": "m2"}
                fr = fork_from_recording(project, r, t, t + span, replications=39,
                                         seed=200 + k, recorded_repair_end=False,
                                         assets=assets)
                assert fr.wip == ({"b": levels[-1]} if known else {})
                assert fr.wip_unknown == ([] if known else ["b"])
                assert [s.server for s in fr.starts] == [0, 1, 0]
                actual = fr.recorded_output[-1]
                less, equal = np.sum(fr.outputs < actual), np.sum(fr.outputs == actual)
                u[known].append((less + rng.random() * (equal + 1)) / (len(fr.outputs) + 1))
    assert len(set(levels)) > 3  # the buffer level at t varies between recordings
    assert stats.kstest(u[True], "uniform").pvalue > 0.01, u[True]
    assert stats.kstest(u[False], "uniform").pvalue < 0.01  # empty buffers: biased low
    assert np.mean(u[False]) > 0.6


def test_a_buffer_asset_that_sent_no_level_yet_starts_empty(tmp_path, kernel):
    """A live recording declares every buffer of the project as an asset; until the plant
    sends a level, such a buffer's content is unknown: with the recording's own mapping the
    fork starts it empty and says so (it refused the whole fork before, so every live
    forecast of a line whose buffers report no level failed). Mapped explicitly, an asset
    with no level still cannot give a buffer its content."""
    project = project_from_json(doc())
    with Recording.open(write(tmp_path / "r.h5")) as r:
        fr = fork_from_recording(project, r, T, T + 600.0, replications=2, seed=1)
        assert fr.wip == {} and fr.wip_unknown == ["B"]
        assert "asset 'B' of 'B' records no level (yet): B starts empty" in fr.notes
        assert [s.element for s in fr.starts] == ["M1", "M2"]
        with pytest.raises(ForkError, match="asset 'B' maps to 'B', which is not a station"):
            fork_from_recording(project, r, T, T + 600.0, assets={"M1": "M1", "B": "B"})
