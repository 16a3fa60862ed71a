"""The state log of a replication: moved out of the kernel chunk by chunk into records.

The oracle is the kernel run in one go with its whole log kept in its own columns (what the
runner did before it drained the log after each chunk): the records must be the same.
"""

import numpy as np
import pytest
from oracles.lines import exp, serial_line, station

from kernels import types as kt
from twin import runner
from twin.lowering import grow, lower, new_state
from twin.project import project_from_json


def _records(log_t, log_i, n):
    out = np.zeros(n, kt.LOG_DTYPE)
    out["time"] = log_t[:n]
    for c, name in enumerate(("element", "server", "state", "content")):
        out[name] = log_i[:n, c]
    return out


def test_the_log_layout_is_packed():
    """The fast path writes through float64/int32 views: it must match ``LOG_DTYPE``."""
    assert runner._packed(kt.LOG_DTYPE) == (kt.LOG_DTYPE.itemsize == 24)
    assert not runner._packed(np.dtype([("time", "f8"), ("element", "i8")]))


@pytest.mark.parametrize("packed", [True, False])
@pytest.mark.parametrize("n", [0, 1, 7, 29])
def test_log_records(monkeypatch, packed, n):
    monkeypatch.setattr(runner, "_PACKED", packed and runner._PACKED)
    rng = np.random.default_rng(n)
    log_t = np.sort(rng.uniform(0, 100, 30))
    log_i = rng.integers(-1, 9, (30, 4))
    out = np.zeros(40, kt.LOG_DTYPE)
    runner._log_records(log_t, log_i, out[3:3 + n])  # a slice, as the sink writes them
    np.testing.assert_array_equal(out[3:3 + n], _records(log_t, log_i, n))
    assert not out[:3].view(np.uint8).any() and not out[3 + n:].view(np.uint8).any()


def _line():
    doc = serial_line([station("m1", exp(40.0)), station("m2", exp(45.0))], [3])
    doc["elements"][0]["arrival"] = exp(50.0)  # a random source: changes at any time
    return project_from_json(doc)


def _whole_log(low, seed, replication):
    """Oracle: one ``run_until`` to the horizon, the log kept whole in the kernel state."""
    from kernels.engine import run_until, start

    state = new_state(low, seed, replication, log_rows=4096)
    start(low.arrays, state)
    while (code := run_until(low.arrays, state, low.horizon)) != kt.K_DONE:
        state = grow(state, code)
    return _records(state.log_t, state.log_i, int(state.si[kt.S_LOG_N]))


@pytest.mark.parametrize("chunks", [1, 3, 64])
def test_drained_log_is_the_whole_log(kernel, monkeypatch, chunks):
    monkeypatch.setattr(runner, "CHUNKS", chunks)
    low = lower(_line(), 3 * 86400.0, 0.0, 0.0, log=True)
    rep = runner.run_replication(low, 7, 2)
    want = _whole_log(low, 7, 2)
    assert rep.log.dtype == kt.LOG_DTYPE and rep.log.flags.owndata
    assert len(want) > 4096 * 4  # the kernel's log columns had to grow, several times
    np.testing.assert_array_equal(rep.log, want)


def test_reserve_grows_when_the_rate_rises():
    """A run whose later chunks log more than the first: the records grow and stay whole."""
    sink = runner._LogSink()
    rng = np.random.default_rng(0)
    rows = []
    for k, n in enumerate([5, 40, 300, 0, 2000], start=1):
        log_t = rng.uniform(0, 1, n + 3)
        log_i = rng.integers(-1, 9, (n + 3, 4))
        si = np.zeros(kt.N_S, np.int64)
        si[kt.S_LOG_N] = n
        state = type("S", (), {"si": si, "log_t": log_t, "log_i": log_i})()
        sink.take(state, k / 5)
        assert si[kt.S_LOG_N] == 0
        rows.append(_records(log_t, log_i, n))
    np.testing.assert_array_equal(sink.records(), np.concatenate(rows))
