"""The state log of a replication: moved out of the kernel chunk by chunk into records.

The oracle is the kernel run in one go with its whole log kept in its own columns (what the
runner did before it drained the log after each chunk): the records must be the same.
"""

import numpy as np
import pytest
from oracles.lines import exp, serial_line, station

from kernels import types as kt
from twin.projectfile.reader import project_from_json
from twin.sim import runner as runner
from twin.sim.lowering import grow, lower, new_state


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


def _two_scenarios():
    doc = serial_line([station("m1", exp(40.0)), station("m2", exp(45.0))], [3])
    doc["elements"][0]["arrival"] = exp(50.0)
    doc["scenarios"] = [{"name": "fast", "overrides": [
        {"element": "m2", "path": "process_time", "value": exp(30.0)}]}]
    return project_from_json(doc)


OUTPUTS = ("el_out", "st_time", "line_out", "ts_line", "ts_energy", "ts_wear", "ts_content")


def test_logs_kept_only_where_asked_and_made_again_row_for_row(kernel, tmp_path):
    """``log_only`` keeps one replication's log; any other is made again, identical."""
    import h5py

    from twin.sim.resultsfile import write_results

    project, names = _two_scenarios(), ["base", "fast"]
    spec = runner.RunSpec(horizon=2 * 86400.0, warmup=3600.0, replications=3, seed=5,
                          log=True)
    full = runner.run_project(project, names, spec, workers=2)
    some = runner.run_project(project, names, runner.RunSpec(
        **{**vars(spec), "log_only": (("base", 0),)}), workers=2)
    none = runner.run_project(project, names, runner.RunSpec(
        **{**vars(spec), "log": False}), workers=1)
    for name in names:
        for r in range(3):
            want = full.scenarios[name].replications[r]
            assert want.log is not None and len(want.log) > 1000
            # the log is the same trajectory's record: switching it off changes no output
            for run in (some, none):
                got = run.scenarios[name].replications[r]
                for key in OUTPUTS:
                    np.testing.assert_array_equal(getattr(got, key), getattr(want, key))
            kept = some.scenarios[name].replications[r].log
            assert (kept is not None) == ((name, r) == ("base", 0))
            if kept is not None:
                np.testing.assert_array_equal(kept, want.log)
    # made again on demand, from a run that kept it or not, with a log or without
    for run in (some, none):
        log = run.state_log("fast", 2, keep=False)
        np.testing.assert_array_equal(log, full.scenarios["fast"].replications[2].log)
        assert run.scenarios["fast"].replications[2].log is None
    log = some.state_log("base", 1)
    assert some.scenarios["base"].replications[1].log is log
    assert some.state_log("base", 1) is log
    # a results file of the run has every replication's log, as the full run's file
    write_results(some, tmp_path / "some.h5")
    write_results(none, tmp_path / "none.h5")
    with h5py.File(tmp_path / "some.h5") as f:
        for name in names:
            for r in range(3):
                np.testing.assert_array_equal(f[f"scenarios/{name}/state_log/{r}"][()],
                                              full.scenarios[name].replications[r].log)
    with h5py.File(tmp_path / "none.h5") as f:
        assert "state_log" not in f["scenarios/base"]
    assert some.scenarios["fast"].replications[1].log is None  # written, not kept
