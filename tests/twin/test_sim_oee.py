"""The ideal cycle time a simulated station's OEE is measured against (twin.sim.oee), and
the one OEE definition shared with recordings (twin.oee)."""

import pytest

from twin.model import elements as m
from twin.model.distributions import constant, exponential
from twin.oee import oee_terms
from twin.sim.oee import ideal_cycle_time


def _project(station, **source):
    return m.Project("p", elements=[m.Source("src", **source), station, m.Sink("out")])


def test_the_mean_of_the_process_time():
    st = m.Station("M", process_time=exponential(40.0))
    assert ideal_cycle_time(_project(st), st) == (40.0, "process time mean")


def test_per_product_times_weighted_by_the_product_mix():
    st = m.Station("M", process_time={"a": constant(10.0), "b": constant(30.0)})
    p = _project(st, product_mix={"a": 3.0, "b": 1.0})
    ict, source = ideal_cycle_time(p, st)
    assert ict == pytest.approx((3 * 10 + 1 * 30) / 4)
    assert "product mix" in source


def test_a_batch_shares_its_time_over_the_load_and_a_disassembly_has_none():
    oven = m.Station("oven", process_time=constant(800.0), batch=m.Batch(size=8))
    assert ideal_cycle_time(_project(oven), oven)[0] == pytest.approx(100.0)
    split = m.Station("split", process_time=constant(5.0),
                      disassembly=m.Disassembly((("out", 2, None),)))
    assert ideal_cycle_time(_project(split), split)[0] is None
    unbatch = m.Station("unload", process_time=constant(5.0), unbatch=True)
    assert ideal_cycle_time(_project(unbatch), unbatch)[0] is None


def test_oee_terms_by_hand():
    states = {"busy": 90.0, "down": 10.0, "idle": 0.0, "setup": 0.0, "starved": 0.0,
              "blocked": 0.0, "waiting_for_worker": 0.0, "standby": 0.0,
              "switched_off": 0.0, "warming_up": 0.0, "off": 20.0, "maintenance": 0.0}
    t = oee_terms(states, 120.0, produced=8.0, scrap=1.0, ideal_cycle_time_s=10.0)
    assert t.planned_busy_s == 100.0
    assert t.availability == pytest.approx(0.9)
    assert t.performance == pytest.approx(80.0 / 90.0)
    assert t.quality == pytest.approx(7 / 8)
    assert t.oee == pytest.approx(0.9 * 80 / 90 * 7 / 8)
    assert t.losses_s["down"] == 10.0 and t.losses_s["slow_cycles"] == pytest.approx(10.0)
    assert t.losses_s["scrap"] == pytest.approx(10.0)
    assert "off" not in t.losses_s


@pytest.mark.parametrize("warmup,horizon", [(0.0, 3600.0), (333.0, 3777.0), (600.0, 14_400.0)])
def test_a_constant_process_time_has_no_slow_cycles(warmup, horizon):
    """Busy time counts a cycle cut by the warm-up's end or the horizon in part, parts out
    only whole parts that left: a constant 45 s station showed up to 45 s of slow cycles and
    a performance of 99.7 % or 100.2 % (gui18 §3). Cut cycles, parts blocked at an edge, two
    servers and failures that interrupt a part: busy time is ideal time x the work done."""
    from kernels import types as kt
    from twin.sim.runner import RunSpec, run_project
    from twin.sim.summary import replication_kpis

    p = m.Project("edges", elements=[
        m.Source("src", arrival=exponential(12.0)),
        m.Station("M1", process_time=constant(17.0), servers=2,
                  failures=m.Failures("operating", exponential(400.0), constant(60.0))),
        m.Buffer("B1", capacity=1),
        m.Station("M2", process_time=constant(9.3)),
        m.Station("M3", process_time=constant(11.0)),  # M2 is blocked behind it at times
        m.Sink("out"),
    ])
    for a, b in (("src", "M1"), ("M1", "B1"), ("B1", "M2"), ("M2", "M3"), ("M3", "out")):
        p.connect(a, b)
    res = run_project(p, spec=RunSpec(horizon=horizon, warmup=warmup, replications=3, seed=5))
    sr = res.scenarios["base"]
    cut = 0
    for rep in sr.replications:
        k = replication_kpis(sr, rep)
        for st in ("M1", "M2", "M3"):
            assert k[f"elements.{st}.oee_losses.slow_cycles"] == 0.0, st
            assert k[f"elements.{st}.performance"] == pytest.approx(1.0, rel=1e-9), st
        cut += int((rep.el_out[:, kt.O_WORK_END] % 1.0 != 0.0).sum())
    assert cut > 0  # the edges did cut cycles: the case the old comparison got wrong


def test_a_recorded_constant_process_time_has_no_slow_cycles(tmp_path):
    """The same run written as a recording and replayed (Replay, ``twinbench replay``): any
    window, such as the recording's start to a cursor, cuts cycles; none is a slow one."""
    import numpy as np

    from twin.recording import Recording, recording_kpis
    from twin.recording.replay import extent, replay_recording
    from twin.sim.runner import RunSpec, run_project
    from twin.whatif.simulated import write_run_as_recording

    p = m.Project("edges", elements=[
        m.Source("src", arrival=exponential(50.0)),
        m.Station("M1", process_time=constant(45.0),
                  failures=m.Failures("operating", exponential(900.0), constant(60.0))),
        m.Buffer("B1", capacity=1),
        m.Station("M2", process_time=constant(31.0)),
        m.Sink("out"),
    ])
    for a, b in (("src", "M1"), ("M1", "B1"), ("B1", "M2"), ("M2", "out")):
        p.connect(a, b)
    res = run_project(p, spec=RunSpec(horizon=4 * 3600.0, replications=1, seed=2, log=True))
    path = tmp_path / "run.h5"
    write_run_as_recording(res.scenarios["base"], 0, path, seed=2)
    with Recording.open(path) as rec:
        t0, t1 = extent(replay_recording(rec))
        for end in [*np.linspace(t0 + 600.0, t1 - 1.0, 7), None]:
            ks = recording_kpis(rec, None if end is None else (t0, end))
            for a in ("M1", "M2"):
                k = ks[a]
                assert k.ideal_cycle_time_s == pytest.approx(45.0 if a == "M1" else 31.0)
                assert k.losses_s["slow_cycles"] == 0.0, (a, end)
                assert k.performance == pytest.approx(1.0, rel=1e-9), (a, end)
