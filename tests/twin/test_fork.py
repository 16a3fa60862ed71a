"""Forks from a recorded state: consistent with continuing the simulation, honest errors.

The line has stations connected straight to each other (no buffer), so the recorded states
say everything about the line at the fork time and a fork is exact in distribution.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from kernels import types as kt
from twin.projectfile.reader import project_from_json
from twin.recording import Recording, replay_asset
from twin.sim.runner import RunSpec, run_project
from twin.whatif.fork import ForkError, fork_from_recording
from twin.whatif.simulated import write_run_as_recording

H = 4 * 3600.0
T_FORK = 2 * 3600.0


def doc() -> dict:
    return {"schema_version": 1, "name": "direct line", "elements": [
        {"id": "src", "kind": "source"},
        {"id": "m1", "kind": "station",
         "process_time": {"dist": "gamma", "shape": 3.0, "scale": 20.0},
         "failures": {"basis": "operating",
                      "time_to_failure": {"dist": "exponential", "mean": 1200.0},
                      "time_to_repair": {"dist": "exponential", "mean": 300.0}},
         "power_kw": {"busy": 4.0, "blocked": 1.0, "starved": 0.5, "down": 0.2}},
        {"id": "m2", "kind": "station", "process_time": {"dist": "exponential", "mean": 55.0},
         "power_kw": {"busy": 2.0, "blocked": 1.0, "starved": 0.5}},
        {"id": "sink", "kind": "sink"}],
        "connections": [["src", "m1"], ["m1", "m2"], ["m2", "sink"]]}


@pytest.fixture(scope="module")
def recordings(tmp_path_factory, kernel):
    """40 independent recordings of the line (one per replication)."""
    folder = tmp_path_factory.mktemp("fork")
    project = project_from_json(doc())
    res = run_project(project, spec=RunSpec(horizon=H, replications=40, seed=21, log=True))
    sr = res.scenarios["base"]
    paths = []
    for r in range(40):
        path = folder / f"rec{r}.h5"
        write_run_as_recording(sr, r, path, seed=21)
        paths.append(path)
    return project, paths


def test_fork_is_consistent_with_continuing_the_run(recordings):
    """The realised output after t is a draw from the fork distribution: its randomised
    probability integral transform over 40 recordings is uniform."""
    project, paths = recordings
    rng = np.random.default_rng(3)
    u = []
    for k, path in enumerate(paths):
        with Recording.open(path) as r:
            fr = fork_from_recording(project, r, T_FORK, H, replications=39, seed=100 + k,
                                     recorded_repair_end=False)
        actual = fr.recorded_output[-1]
        less = np.sum(fr.outputs < actual)
        equal = np.sum(fr.outputs == actual)
        u.append((less + rng.random() * (equal + 1)) / (len(fr.outputs) + 1))
    p = stats.kstest(u, "uniform").pvalue
    assert p > 0.01, u


def test_down_machine_stays_down_until_its_recorded_repair_end(recordings):
    project, paths = recordings
    for path in paths:
        with Recording.open(path) as r:
            rp = replay_asset(r, "m1")
            rs, re_ = rp.timeline.runs(kt.DOWN)
            inside = np.flatnonzero((re_ < H) & (re_ - rs > 60.0))
            if not len(inside):
                continue
            k = inside[0]
            t = float(rs[k] + 0.5 * (re_[k] - rs[k]))
            fr = fork_from_recording(project, r, t, min(t + 3600.0, H), replications=3,
                                     seed=1, log=True)
        assert fr.starts[0].state == kt.DOWN and fr.starts[0].repair_end == re_[k]
        assert fr.starts[0].holds == "process"  # operating failures strike during processing
        for rep in fr.replications:
            log = rep.log[(rep.log["element"] == 1) & (rep.log["server"] == 0)]
            assert log["time"][0] == pytest.approx(re_[k], abs=1e-9)
            assert log["state"][0] != kt.DOWN
        return
    pytest.fail("no recording has a repair inside it")


def test_fork_at_zero_matches_a_fresh_run(recordings):
    project, paths = recordings
    with Recording.open(paths[0]) as r:
        fr = fork_from_recording(project, r, 0.0, H, replications=30, seed=7)
    fresh = run_project(project, spec=RunSpec(horizon=H, replications=30, seed=8))
    good = np.array([rep.line_out[kt.L_GOOD] for rep in fresh.scenarios["base"].replications])
    assert stats.ttest_ind(fr.outputs, good, equal_var=False).pvalue > 0.01
    assert fr.times[0] == 0.0 and fr.times[-1] == H
    assert np.all(np.diff(fr.output_q["p50"]) >= 0)
    assert np.all(fr.output_q["p10"] <= fr.output_q["p90"])


def test_what_if_scenario_and_printing(recordings):
    project, paths = recordings
    from twin.model.elements import Override, Scenario

    project = project_from_json(doc())
    project.scenarios.append(Scenario("faster m2", (
        Override("process_time", {"dist": "exponential", "mean": 30.0}, "m2"),)))
    with Recording.open(paths[1]) as r:
        base = fork_from_recording(project, r, T_FORK, H, replications=20, seed=2)
        fast = fork_from_recording(project, r, T_FORK, H, replications=20, seed=2,
                                   scenario="faster m2")
    assert fast.outputs.mean() > base.outputs.mean()
    # a line without buffers: the recorded states say where every part is
    assert "P50" in str(fast) and "warning" not in str(fast)
    assert fast.wip == {} and fast.wip_unknown == [] and fast.wip_warning == ""
    assert fast.to_dict()["scenario"] == "faster m2" and fast.to_dict()["wip_unknown"] == []


def test_bad_inputs(recordings):
    project, paths = recordings
    with Recording.open(paths[0]) as r:
        with pytest.raises(ForkError, match="outside the recording"):
            fork_from_recording(project, r, H + 10.0, H + 100.0)
        with pytest.raises(ForkError, match="after the fork time"):
            fork_from_recording(project, r, 100.0, 50.0)
        with pytest.raises(ForkError, match="not a station"):
            fork_from_recording(project, r, 100.0, 200.0, assets={"m1": "src"})
        with pytest.raises(ForkError, match="no asset"):
            fork_from_recording(project, r, 100.0, 200.0, assets={"x": "m1"})
        with pytest.raises(ForkError, match="no recorded asset"):
            fork_from_recording(project, r, 100.0, 200.0, assets={})
        # two assets on one single-server station
        with pytest.raises(ForkError, match=r"station 'm2' has 1 server\(s\) but 2 assets"):
            fork_from_recording(project, r, 100.0, 200.0, assets={"m1": "m2", "m2": "m2"})
        with pytest.raises(ForkError, match="asset 'm1' is server 1 of station 'm1', which has "
                                            "1 server"):
            fork_from_recording(project, r, 100.0, 200.0, assets={"m1": ("m1", 1)})
