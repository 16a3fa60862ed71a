"""Laws every run must obey, checked on busy random models: parts are conserved, states
partition time, WIP is the sum of contents, and a run does not depend on how it is cut
into chunks or how often the kernel had to grow its arrays."""

from __future__ import annotations

import numpy as np
import pytest
from oracles.lines import RICH, exp, operating_failures, serial_line, station

import twin.sim.runner
from kernels import types as kt


def el(sr, eid):
    return sr.lowered.element_ids.index(eid)


def run_rich(doc):
    from twin.projectfile.reader import project_from_json
    from twin.sim.runner import RunSpec, run_project

    spec = RunSpec(horizon=4 * 3600.0, replications=3, seed=42, sample_interval=60.0, log=True)
    return run_project(project_from_json(doc), None, spec).scenarios["base"]


@pytest.fixture(scope="module")
def rich(kernel):
    return run_rich(RICH)


def test_the_rich_model_exercises_every_state(rich):
    total = sum(rep.st_time for rep in rich.replications)
    names = dict(zip(kt.STATE_NAMES, total[el(rich, "m1")], strict=True))
    for state in ("off", "busy", "setup", "blocked", "starved", "down", "maintenance"):
        assert names[state] > 0, state
    assert total[el(rich, "m2a"), kt.IDLE] > 0  # standby during breaks
    rep = rich.replications[0]
    assert rep.el_out[el(rich, "m1"), kt.O_SCRAP] > 0 and rep.line_out[kt.L_GOOD] > 1000


def test_parts_are_conserved(rich):
    assert_conserved(rich)


def assert_conserved(sr):
    for rep in sr.replications:
        out, line = rep.el_out, rep.line_out
        content_end = rep.ts_content[-1]  # the last sample is taken at the horizon
        for e, kind in enumerate(sr.lowered.element_kinds):
            if kind == "sink":
                assert out[e, kt.O_IN] == line[kt.L_GOOD]
                continue
            gone = out[e, kt.O_OUT] + out[e, kt.O_SCRAP] + out[e, kt.O_LOST]
            assert out[e, kt.O_IN] - gone == content_end[e], sr.lowered.element_ids[e]
        assert line[kt.L_CREATED] == (line[kt.L_GOOD] + line[kt.L_SCRAPPED] + line[kt.L_LOST]
                                      + rep.ts_line[-1, 1])
        # every part made by the source went somewhere downstream
        assert out[el(sr, "src"), kt.O_IN] == line[kt.L_CREATED]


def test_states_partition_server_time(rich):
    assert_partition(rich)


def assert_partition(sr):
    a = sr.lowered.arrays
    for rep in sr.replications:
        obs = rep.line_out[kt.L_OBSERVED]
        assert obs == sr.lowered.horizon
        for e, kind in enumerate(sr.lowered.element_kinds):
            if kind == "station":
                servers = a.el_i[e, kt.I_SERVERS]
                assert rep.st_time[e].sum() == pytest.approx(servers * obs, rel=1e-12)
                assert np.all(rep.st_time[e] >= 0)
            else:
                assert np.all(rep.st_time[e] == 0)


def test_wip_is_the_sum_of_contents(rich):
    assert_wip_is_contents(rich)


def assert_wip_is_contents(sr):
    sinks = [e for e, k in enumerate(sr.lowered.element_kinds) if k == "sink"]
    for rep in sr.replications:
        content = rep.ts_content.copy()
        content[:, sinks] = 0
        assert np.array_equal(rep.ts_line[:, 1], content.sum(axis=1))
        assert rep.line_out[kt.L_WIP_INT] == pytest.approx(rep.el_out[:, kt.O_CONTENT_INT].sum(),
                                                           rel=1e-9)
        # good parts since 0: non-decreasing, ending at the sink count (no warm-up here)
        assert np.all(np.diff(rep.ts_line[:, 0]) >= 0)
        assert rep.ts_line[-1, 0] == rep.line_out[kt.L_GOOD]


# batch stations (issue 18 §2): a two-server oven with failures, a timeout and a minimum
# fill, fed through a buffer, split to two grinders; loads leave part by part
BATCHED = {"schema_version": 1, "name": "batched", "elements": [
    {"id": "src", "kind": "source", "arrival": exp(1.0), "product_mix": {"A": 0.5, "B": 0.5}},
    {"id": "m", "kind": "station", "process_time": exp(0.8)},
    {"id": "q", "kind": "buffer", "capacity": 5},
    {"id": "oven", "kind": "station", "servers": 2, "process_time": {"A": 5.0, "B": exp(6.0)},
     "setup_time": 1.0, "failures": operating_failures(exp(60.0), exp(4.0)),
     "batch": {"size": 6, "timeout": 4.0, "min_fill": 2, "capacity": 9}},
    {"id": "g1", "kind": "station", "process_time": exp(1.8)},
    {"id": "g2", "kind": "station", "process_time": exp(1.8)},
    {"id": "sink", "kind": "sink"}],
    "connections": [["src", "m"], ["m", "q"], ["q", "oven"], ["oven", "g1"], ["oven", "g2"],
                    ["g1", "sink"], ["g2", "sink"]]}


def test_batch_stations_conserve_parts_and_partition_time(kernel):
    from twin.projectfile.reader import project_from_json
    from twin.sim.runner import RunSpec, run_project

    spec = RunSpec(horizon=4 * 3600.0, replications=3, seed=5, sample_interval=60.0)
    sr = run_project(project_from_json(BATCHED), None, spec).scenarios["base"]
    total = sum(rep.st_time for rep in sr.replications)
    names = dict(zip(kt.STATE_NAMES, total[el(sr, "oven")], strict=True))
    for state in ("busy", "setup", "blocked", "starved", "down"):
        assert names[state] > 0, state
    assert_conserved(sr)
    assert_partition(sr)
    assert_wip_is_contents(sr)


def test_the_log_replays_to_the_state_times(rich):
    # integrating the state log from the initial states must give st_time exactly
    a = rich.lowered.arrays
    horizon = rich.lowered.horizon
    for rep in rich.replications:
        acc = np.zeros_like(rep.st_time)
        last = {}
        for e, kind in enumerate(rich.lowered.element_kinds):
            if kind == "station":
                for s in range(a.el_i[e, kt.I_SERVERS]):
                    last[(e, s)] = (0.0, kt.STARVED)  # the calendar starts in a shift
        for row in rep.log[rep.log["state"] >= 0]:
            key = (int(row["element"]), int(row["server"]))
            t0, st = last[key]
            acc[key[0], st] += row["time"] - t0
            last[key] = (float(row["time"]), int(row["state"]))
        for (e, _), (t0, st) in last.items():
            acc[e, st] += horizon - t0
        np.testing.assert_allclose(acc, rep.st_time, rtol=1e-9, atol=1e-6)


def test_log_rows_are_in_time_order_with_valid_codes(rich):
    for rep in rich.replications:
        log = rep.log
        assert log.dtype == kt.LOG_DTYPE
        assert np.all(np.diff(log["time"]) >= 0)
        assert log["time"].min() >= 0 and log["time"].max() <= rich.lowered.horizon
        states = log[log["state"] >= 0]
        assert np.all(states["state"] < kt.N_STATES)
        contents = log[log["state"] < 0]
        assert np.all(contents["server"] == -1) and np.all(contents["content"] >= 0)


def run_with_chunks(monkeypatch, chunks, doc=RICH):
    from twin.projectfile.reader import project_from_json
    from twin.sim.runner import RunSpec, run_project

    monkeypatch.setattr(twin.sim.runner, "CHUNKS", chunks)
    spec = RunSpec(horizon=2 * 3600.0, warmup=600.0, replications=2, seed=9,
                   sample_interval=60.0, log=True)
    return run_project(project_from_json(doc), None, spec, workers=1).scenarios["base"]


INTEGRALS = {"el_out": [kt.O_CONTENT_INT, kt.O_WEAR], "line_out": [kt.L_WIP_INT]}


def assert_same_trajectory(a, b):
    """The same events at the same times; time integrals equal up to summation order
    (a chunk boundary splits a sum in two, which may move the last bit)."""
    for ra, rb in zip(a.replications, b.replications, strict=True):
        assert np.array_equal(ra.log, rb.log)
        for name in ("el_out", "line_out", "ts_line", "ts_content", "ts_wear"):
            x, y = getattr(ra, name).copy(), getattr(rb, name).copy()
            np.testing.assert_allclose(x, y, rtol=1e-12, err_msg=name)
            for col in INTEGRALS.get(name, []):
                x[..., col] = y[..., col] = 0
            assert np.array_equal(x, y), f"{name}: counts differ"
        for name in ("st_time", "ts_energy"):
            np.testing.assert_allclose(getattr(ra, name), getattr(rb, name), rtol=1e-12,
                                       atol=1e-9, err_msg=name)


def test_a_run_does_not_depend_on_how_it_is_chunked(monkeypatch, kernel):
    one = run_with_chunks(monkeypatch, 1)
    assert_same_trajectory(one, run_with_chunks(monkeypatch, 64))
    assert_same_trajectory(one, run_with_chunks(monkeypatch, 97))


def test_growing_the_part_pool_queue_and_log_changes_nothing(run_doc):
    # an overloaded queue: WIP climbs to thousands of parts (the pool starts at 1024)
    doc = {"schema_version": 1, "name": "overload", "elements": [
        {"id": "src", "kind": "source", "arrival": exp(1.0)},
        {"id": "q", "kind": "buffer", "capacity": None},
        {"id": "s", "kind": "station", "process_time": exp(2.0)},
        {"id": "sink", "kind": "sink"}],
        "connections": [["src", "q"], ["q", "s"], ["s", "sink"]]}
    sr = run_doc(doc, 8000.0, replications=1, seed=4, log=True)
    rep = sr.replications[0]
    assert rep.ts_line[-1, 1] > 2000
    line = rep.line_out
    assert line[kt.L_CREATED] == line[kt.L_GOOD] + rep.ts_line[-1, 1]
    assert line[kt.L_CREATED] == rep.el_out[el(sr, "src"), kt.O_IN]
    # the buffer's content rows replay to its final content
    q_rows = rep.log[rep.log["element"] == el(sr, "q")]
    assert q_rows["content"][-1] == rep.ts_content[-1, el(sr, "q")]


def test_warmup_discards_what_happened_before_it(run_doc):
    doc = serial_line([station("m1", exp(1.0), failures=operating_failures(exp(50), exp(5))),
                       station("m2", exp(1.1))], [3])
    full = run_doc(doc, 5000.0, replications=2, seed=8, sample_interval=100.0)
    warm = run_doc(doc, 5000.0, warmup=1000.0, replications=2, seed=8, sample_interval=100.0)
    for rf, rw in zip(full.replications, warm.replications, strict=True):
        assert rw.line_out[kt.L_OBSERVED] == 4000.0
        assert rw.st_time.sum(axis=1)[[1, 3]] == pytest.approx([4000.0, 4000.0], rel=1e-12)
        # the same trajectory: the time series since 0 agree, and the good parts counted
        # after the warm-up are the rise of the cumulative series from 1000 s to the end
        assert np.array_equal(rf.ts_line, rw.ts_line)
        k = int(1000.0 / 100.0)
        assert rw.line_out[kt.L_GOOD] == rf.ts_line[-1, 0] - rf.ts_line[k, 0]
        assert rw.line_out[kt.L_GOOD] < rf.line_out[kt.L_GOOD]


# issue 19: energy-saving policies on the rich model (breaks, failures, maintenance, a
# calendar): the new states still partition time, the log replays to them, and chunks do
# not change the trajectory
SAVERS = {
    "m3": {"after_s": 2.0, "mode": "off", "restart_s": exp(1.5), "restart_kwh": 0.01},
    "m2b": {"after_s": 1.0, "when": "both", "restart_s": 0.5},
    "m2a": {"after_s": 0.5, "when": "blocked", "restart_s": 2.0},
}
RICH_SAVING = {**RICH, "elements": [{**x, "energy_saving": SAVERS[x["id"]]} if x["id"] in SAVERS
                                    else x for x in RICH["elements"]]}


@pytest.fixture(scope="module")
def rich_saving(kernel):
    return run_rich(RICH_SAVING)


def test_energy_saving_states_partition_time_and_replay_from_the_log(rich_saving):
    total = sum(rep.st_time for rep in rich_saving.replications)
    for eid, states in (("m3", ("switched_off", "warming_up")),
                        ("m2b", ("standby", "warming_up")), ("m2a", ("standby",))):
        for state in states:
            assert total[el(rich_saving, eid), kt.STATE_NAMES.index(state)] > 0, (eid, state)
    test_states_partition_server_time(rich_saving)
    test_the_log_replays_to_the_state_times(rich_saving)
    test_log_rows_are_in_time_order_with_valid_codes(rich_saving)
    test_parts_are_conserved(rich_saving)


def test_energy_saving_runs_do_not_depend_on_chunks(monkeypatch):
    assert_same_trajectory(run_with_chunks(monkeypatch, 1, RICH_SAVING),
                           run_with_chunks(monkeypatch, 7, RICH_SAVING))
