"""The kernel against the naive oracle on random serial lines, event by event.

Both draw from the same per-element streams, so for a given seed they must make the same
parts, fail and scrap at the same moments, and report the same trace and totals. Random
times make simultaneous events (and any question of their order) improbable, so the traces
are compared in full, over thousands of events.
"""

from __future__ import annotations

import pytest
from oracles import naive
from oracles.lines import (
    canonical,
    end_of_instant,
    exp,
    kernel_trace,
    operating_failures,
    serial_line,
    station,
)

from kernels import types as kt

LINES = {
    "reliable, buffer then straight": serial_line(
        [station("m1", exp(1.0)), station("m2", exp(1.2)), station("m3", exp(0.9))], [2, 0]),
    "failures everywhere": serial_line([
        station("m1", exp(1.0), failures=operating_failures(exp(30.0), exp(4.0))),
        station("m2", exp(1.0), failures=operating_failures(exp(20.0), exp(3.0))),
        station("m3", exp(1.1), failures=operating_failures(exp(40.0), exp(5.0)))], [3, 1]),
    "scrap, failures, constant and random times": serial_line([
        station("m1", exp(0.8), scrap=0.1,
                failures=operating_failures(exp(15.0), 2.5)),
        station("m2", 1.05, failures=operating_failures(exp(25.0), exp(3.0))),
        station("m3", exp(1.0), scrap=0.05)], [0, 4]),
    # issue 18 §2: a two-server oven with failures between a buffer and a straight link,
    # and an oven fed straight by the first station
    "batch stations": serial_line([
        station("m1", exp(0.3)),
        station("oven", exp(2.0), servers=2, batch={"size": 3, "capacity": 5},
                failures=operating_failures(exp(30.0), exp(2.0))),
        station("m3", exp(0.45)),
        station("tray", 1.5, batch={"size": 4})], [2, 0, 0]),
}


@pytest.mark.parametrize("seed", [1, 77])
@pytest.mark.parametrize("name", list(LINES))
def test_kernel_and_naive_oracle_agree_event_by_event(run_doc, name, seed):
    doc, horizon = LINES[name], 3000.0
    sr = run_doc(doc, horizon, replications=2, seed=seed, log=True)
    for r, rep in enumerate(sr.replications):
        ref = naive.simulate(doc, horizon, seed=seed, replication=r)
        raw = kernel_trace(rep.log, sr.lowered.element_ids)
        got = end_of_instant(raw)
        want = end_of_instant(ref.trace)
        # station rows are committed once per instant: the raw log holds no 0 s states
        assert canonical([r for r in raw if isinstance(r[2], str)]) == [
            r for r in got if isinstance(r[2], str)]
        assert len(want) > 2000
        assert [(e, v) for _, e, v in got] == [(e, v) for _, e, v in want]
        assert [t for t, _, _ in got] == pytest.approx([t for t, _, _ in want], rel=1e-12)
        assert rep.line_out[kt.L_GOOD] == ref.good
        assert rep.line_out[kt.L_LEAD_SUM] == pytest.approx(ref.lead_sum, rel=1e-12)
        for sid, times in ref.state_time.items():
            e = sr.lowered.element_ids.index(sid)
            assert dict(zip(kt.STATE_NAMES, rep.st_time[e], strict=True)) == pytest.approx(
                times, rel=1e-9, abs=1e-9)
            assert rep.el_out[e, kt.O_FAILURES] == ref.failures[sid]
            assert rep.el_out[e, kt.O_SCRAP] == ref.scrapped[sid]
            assert rep.el_out[e, kt.O_OUT] == ref.parts_out[sid]
