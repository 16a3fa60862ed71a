"""The kernel against the naive oracle: one comparison of a run's trace and totals."""

from __future__ import annotations

import pytest

from kernels import types as kt
from oracles import naive
from oracles.lines import end_of_instant, kernel_trace


def assert_agrees(sr, doc, horizon, seed, replication=0, min_rows=50, abs_s=1e-6):
    """Trace (end of each instant) and totals of the kernel's replication ``replication``
    equal the oracle's; the oracle's trace has more than ``min_rows`` rows, and state
    times agree to ``abs_s`` seconds."""
    rep = sr.replications[replication]
    ref = naive.simulate(doc, horizon, seed=seed, replication=replication)
    got = end_of_instant(kernel_trace(rep.log, sr.lowered.element_ids))
    want = end_of_instant(ref.trace)
    assert len(want) > min_rows
    assert [(e, v) for _, e, v in got] == [(e, v) for _, e, v in want]
    assert [t for t, _, _ in got] == pytest.approx([t for t, _, _ in want], rel=1e-12)
    assert rep.line_out[kt.L_GOOD] == ref.good
    assert rep.line_out[kt.L_LEAD_SUM] == pytest.approx(ref.lead_sum, rel=1e-12)
    for sid, times in ref.state_time.items():
        e = sr.lowered.element_ids.index(sid)
        assert dict(zip(kt.STATE_NAMES, rep.st_time[e], strict=True)) == pytest.approx(
            times, rel=1e-9, abs=abs_s)
        assert rep.el_out[e, kt.O_IN] == ref.parts_in[sid]
        assert rep.el_out[e, kt.O_OUT] == ref.parts_out[sid]
        assert rep.el_out[e, kt.O_FAILURES] == ref.failures[sid]
        assert rep.el_out[e, kt.O_SCRAP] == ref.scrapped[sid]
