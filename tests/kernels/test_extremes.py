"""Extreme plants against the naive oracle: no project, however large, makes the kernel
write outside its arrays (issue 12).

A station of 1,025 servers used to overrun the part pool at time 0 (the pool started at
1,024 parts and its reserve was checked once per event, while one cascade filled every
server): ``free(): invalid pointer``. Each growable array is now checked before every event
and every ``MOVES_PER_CHECK`` moves of a cascade, and a call that stops for room inside an
instant goes on from exactly there. The lines below (one server up to thousands, several
many-server stations, buffers of capacity 1 and 100,000 and unlimited, hundreds of
elements) must give the oracle's trace and totals; started with one part, one queue slot
and one log row they must give the same run to the bit; and ``NUMBA_BOUNDSCHECK=1`` (an
index past an end raises instead of corrupting memory) runs them all in a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from oracles.agree import assert_agrees
from oracles.lines import (
    exp,
    operating_failures,
    serial_line,
    station,
)

from kernels import types as kt

ROOT = Path(__file__).resolve().parents[2]


def many_servers(n: int) -> dict:
    """source -> a station of ``n`` servers (about a part a second) -> a buffer of 2 -> a
    slightly faster single server -> sink: servers get blocked, the last one starved."""
    return serial_line([station("m", exp(float(n)), servers=n), station("out", exp(0.9))],
                       [2], name=f"{n} servers")


# (document, horizon): each small enough for the oracle, large enough to matter
EXTREMES = {
    "1 server": (many_servers(1), 400.0),
    "1,024 servers": (many_servers(1024), 300.0),
    "1,025 servers": (many_servers(1025), 300.0),
    "3,000 servers": (many_servers(3000), 200.0),
    "several many-server stations": (serial_line([
        station("a", exp(1100.0), servers=1100),
        station("b", exp(1500.0 * 0.9), servers=1500,
                failures=operating_failures(exp(900.0), exp(60.0))),
        station("c", exp(2.0), servers=2),
        station("d", exp(2000.0 * 0.8), servers=2000)], [1, None, 0]), 200.0),
    "buffers of 100,000, 1 and unlimited": (serial_line([
        station("m1", exp(0.5)), station("m2", exp(1.0)), station("m3", exp(0.9)),
        station("m4", exp(1.1), failures=operating_failures(exp(50.0), exp(5.0)))],
        [100_000, 1, None]), 3000.0),
    "an unlimited buffer filling up": (serial_line(
        [station("m1", exp(0.5)), station("m2", exp(1.0))], [None]), 4000.0),
    "301 elements": (serial_line(
        [station(f"m{j}", exp(1.0 + 0.01 * (j % 7))) for j in range(150)],
        [1 + j % 3 for j in range(149)]), 60.0),
}


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", list(EXTREMES))
def test_extreme_lines_agree_with_the_naive_oracle(run_doc, name):
    doc, horizon = EXTREMES[name]
    sr = run_doc(doc, horizon, replications=1, seed=5, log=True, workers=1)
    assert_agrees(sr, doc, horizon, seed=5)


def run_with(low, seed, parts=None, heap=None, log_rows=4096):
    """Run ``low`` to its horizon in one go, growing arrays as the kernel asks; returns the
    final state and how often a call stopped inside a cascade."""
    from kernels.warmup import compiled_kernels
    from twin.sim.lowering import grow, new_state

    start, run_until = compiled_kernels()
    state = new_state(low, seed, 0, parts=parts, heap=heap, log_rows=log_rows)
    start(low.arrays, state)
    inside = 0
    while (code := run_until(low.arrays, state, low.horizon)) != kt.K_DONE:
        inside += int(state.si[kt.S_PULLING] > 0)
        # each element's work-stack count is its entries on the stack (the element a call
        # stopped pulling in is off it; the next call puts it back on top, one count more)
        n = int(state.si[kt.S_STACK_N])
        entries = np.bincount(state.stack[:n], minlength=state.el_si.shape[0])
        assert (state.el_si[:, kt.EI_QUEUED] == entries).all()
        state = grow(state, code, low)
    return state, inside


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", ["1,025 servers", "several many-server stations",
                                  "an unlimited buffer filling up"])
def test_any_initial_size_gives_the_same_run(kernel, name):
    """One part, one queue slot and one log row to start with: the kernel stops for room
    many times, inside cascades too, and the run is the same to the bit (the time
    integrals up to the order of their sums)."""
    from twin.projectfile.reader import project_from_json
    from twin.sim.lowering import lower

    doc, horizon = EXTREMES[name]
    low = lower(project_from_json(doc), horizon, log=True)
    big, _ = run_with(low, seed=3)
    tiny, inside = run_with(low, seed=3, parts=1, heap=1, log_rows=1)
    assert inside > 0 or name == "an unlimited buffer filling up"
    assert tiny.part_i.shape[0] > 1 and tiny.heap_t.shape[0] > 1
    n = int(big.si[kt.S_LOG_N])
    assert n > 1000 and int(tiny.si[kt.S_LOG_N]) == n
    np.testing.assert_array_equal(tiny.log_t[:n], big.log_t[:n])
    np.testing.assert_array_equal(tiny.log_i[:n], big.log_i[:n])
    for col in (kt.L_GOOD, kt.L_EVENTS, kt.L_CREATED, kt.L_ALL_EVENTS):
        assert tiny.line_out[col] == big.line_out[col]
    np.testing.assert_array_equal(tiny.el_out[:, [kt.O_IN, kt.O_OUT, kt.O_FAILURES]],
                                  big.el_out[:, [kt.O_IN, kt.O_OUT, kt.O_FAILURES]])
    np.testing.assert_allclose(tiny.st_time, big.st_time, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(tiny.line_out, big.line_out, rtol=1e-12)


BOUNDSCHECKED = """
import sys
from kernels import types as kt
from twin.errors import InputError
from twin.projectfile.reader import project_from_json
from twin.sim.runner import RunSpec, run_project
from test_extremes import EXTREMES, run_with
from twin.sim.lowering import lower

for name, (doc, horizon) in EXTREMES.items():
    spec = RunSpec(horizon=horizon, replications=1, seed=5, log=True)
    r = run_project(project_from_json(doc), spec=spec, workers=1)
    print(name, r.scenarios["base"].replications[0].line_out[kt.L_GOOD], flush=True)
doc, horizon = EXTREMES["several many-server stations"]
run_with(lower(project_from_json(doc), horizon, log=True), 3, parts=1, heap=1, log_rows=1)
for doc in [{"schema_version": 1, "name": "runaway", "elements": [
        {"id": "src", "kind": "source"},
        {"id": "m", "kind": "station", "process_time": 0, "servers": 1500},
        {"id": "sink", "kind": "sink"}], "connections": [["src", "m"], ["m", "sink"]]},
        {"schema_version": 1, "name": "runaway", "elements": [
        {"id": "src", "kind": "source"}, {"id": "q", "kind": "buffer", "capacity": None},
        {"id": "m", "kind": "station", "process_time": 1},
        {"id": "sink", "kind": "sink"}],
        "connections": [["src", "q"], ["q", "m"], ["m", "sink"]]}]:
    try:
        run_project(project_from_json(doc), spec=RunSpec(horizon=10.0, replications=1),
                    workers=1)
        sys.exit("a runaway model ran")
    except InputError as e:
        print(str(e).splitlines()[-1][:80], flush=True)
print("all within bounds")
"""


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_extremes_run_with_bounds_checked(tmp_path):
    """The extremes (and runaway models, up to their error) with Numba's bounds checks on,
    compiled into an empty cache of their own (a bounds-checked build must not reach the
    normal cache); an index past an end would raise IndexError and fail the run."""
    env = dict(os.environ, NUMBA_BOUNDSCHECK="1", NUMBA_CACHE_DIR=str(tmp_path / "cache"),
               PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests"),
                                           str(ROOT / "tests" / "kernels")]))
    done = subprocess.run([sys.executable, "-c", BOUNDSCHECKED], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1700)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "all within bounds" in done.stdout
    assert "IndexError" not in done.stderr
