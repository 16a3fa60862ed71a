"""The standard line in a Numba kernel that can do nothing else: a ceiling for the twin kernel.

This is not a twinbench kernel and nothing in the product uses it. It answers one question:
how fast can the standard line (``projects/standard-line``: ten stations in series, buffers of
5, exponential process times with mean 1.0 and 1.1 at station 5, failures on operating time
with exponential time to failure, mean 100, and repair, mean 5, preempt-resume) be simulated
on this machine at all, with the same random number generator as twinbench
(``kernels.rng``, xoshiro256**)?

Everything twinbench does beyond the events themselves is left out: parts have no identity
(a buffer is a count), there is no lead time, work-in-process or content integral, no energy,
wear, state log, time series, stale-event token, general topology, routing or other element
kind. What is left: each station's state and its time in each state, the remaining work and
failure clock of each station, the count in each buffer, the good parts and the events after
the warm-up.

Two event sets, the same line:

- ``heap``: twinbench's own event queue (``kernels.queue``), a binary heap on time that
  breaks ties on the scheduling order;
- ``scan``: each station has at most one pending event (end of processing, failure or end of
  repair), so the next event is the earliest of ten times, found by a linear scan.

Both draw the same numbers in the same order, so they simulate the same trajectories (ties in
time have probability zero), and give the same parts and events.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from numba import njit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kernels.queue import pop, schedule  # noqa: E402
from kernels.rng import exponential  # noqa: E402
from kernels.types import N_S  # noqa: E402

IDLE, BUSY, BLOCKED, DOWN = 0, 1, 2, 3
END, FAIL, REPAIR = 0, 1, 2
N_STATIONS = 10
BUFFER = 5
MTTF = 100.0
MTTR = 5.0
# compiled as twinbench's kernel is (``kernels.jit``): no reference counting, NumPy's error model
FAST = dict(_nrt=False, error_model="numpy")


# --- two event sets over the same arrays: times t, entries i, scalars n -------------------
# (``*_set`` schedules station ``st`` at ``when``; ``*_next`` returns the time and station of
# the earliest event and takes it out)
@njit(inline="always", **FAST)
def heap_set(t, i, n, st, when):
    schedule(t, i, n, when, 0, st, 0)


@njit(inline="always", **FAST)
def heap_next(t, i, n):
    when, _, st, _ = pop(t, i, n)
    return when, st


@njit(inline="always", **FAST)
def scan_set(t, i, n, st, when):
    t[st] = when


@njit(inline="always", **FAST)
def scan_next(t, i, n):
    st = 0
    when = t[0]
    for k in range(1, t.shape[0]):
        if t[k] < when:
            when = t[k]
            st = k
    t[st] = np.inf
    return when, st


def make_line(set_event, next_event, size):
    """A kernel of the standard line over an event set of ``size`` places per station.

    Small functions are inlined into the loop, as twinbench inlines its own (``kernels.jit``);
    ``run`` allocates the arrays (which needs reference counting), ``loop`` runs without.
    """

    @njit(inline="always", **FAST)
    def resume(st, now, rem, ttf, start, pending, t, i, n):
        """Station ``st`` works from ``now``: schedule the end of its part, or the failure
        that comes first."""
        start[st] = now
        when = rem[st]
        kind = END
        if ttf[st] < when:
            when = ttf[st]
            kind = FAIL
        pending[st] = kind
        set_event(t, i, n, st, now + when)

    @njit(inline="always", **FAST)
    def settle(st, now, state, since, time_in):
        """Station ``st`` changes state at ``now``: count the time it spent in the last."""
        time_in[st, state[st]] += now - since[st]
        since[st] = now

    @njit(**FAST)
    def loop(means, horizon, warmup, rng, t, i, n, state, rem, ttf, start, pending, buf, since,
             time_in):
        """The event loop; returns (good parts, events) after ``warmup``."""
        n_st = means.shape[0]
        good = 0
        events = 0
        warm = False
        while True:
            now, st = next_event(t, i, n)
            if now > horizon:
                break
            if not warm and now > warmup:
                warm = True
                good = 0
                events = 0
                since[:] = warmup  # the time before the warm-up's end is not counted
                time_in[:, :] = 0.0
            events += 1
            settle(st, now, state, since, time_in)
            kind = pending[st]
            if kind == END:
                ttf[st] -= now - start[st]
                state[st] = BLOCKED
            elif kind == FAIL:  # preempt: keep the work left, repair
                rem[st] -= now - start[st]
                state[st] = DOWN
                pending[st] = REPAIR
                set_event(t, i, n, st, now + exponential(MTTR, rng, 0))
                continue
            else:  # end of repair: resume the interrupted part with a new failure clock
                ttf[st] = exponential(MTTF, rng, 0)
                state[st] = BUSY
                resume(st, now, rem, ttf, start, pending, t, i, n)
                continue
            k = st
            while k >= 0:
                moved = False
                if state[k] == BLOCKED:
                    if k == n_st - 1:
                        good += 1
                        settle(k, now, state, since, time_in)
                        state[k] = IDLE
                        moved = True
                    elif buf[k + 1] < BUFFER:
                        settle(k, now, state, since, time_in)
                        state[k] = IDLE
                        moved = True
                        d = k + 1
                        if state[d] == IDLE:
                            settle(d, now, state, since, time_in)
                            state[d] = BUSY
                            rem[d] = exponential(means[d], rng, 0)
                            resume(d, now, rem, ttf, start, pending, t, i, n)
                        else:
                            buf[d] += 1
                if state[k] == IDLE and (k == 0 or buf[k] > 0):
                    if k > 0:
                        buf[k] -= 1
                    settle(k, now, state, since, time_in)
                    state[k] = BUSY
                    rem[k] = exponential(means[k], rng, 0)
                    resume(k, now, rem, ttf, start, pending, t, i, n)
                    moved = True
                if not moved:
                    break
                k -= 1
        for k in range(n_st):
            time_in[k, state[k]] += horizon - since[k]
        return good, events

    @njit
    def run(means, horizon, warmup, rng):
        """Simulate to ``horizon``; returns (good parts, events) after ``warmup``, and the
        fraction of observed time each station spent idle, busy, blocked and down."""
        n_st = means.shape[0]
        t = np.full(size * n_st, np.inf)
        # a heap's entries (sequence, kind, station, token) and scalars (count, sequence)
        i = np.zeros((size * n_st, 4), np.int64)
        n = np.zeros(N_S, np.int64)
        state = np.zeros(n_st, np.int64)
        rem = np.zeros(n_st)
        ttf = np.zeros(n_st)
        start = np.zeros(n_st)
        pending = np.zeros(n_st, np.int64)
        buf = np.zeros(n_st, np.int64)  # buf[k]: parts waiting in front of station k
        since = np.zeros(n_st)
        time_in = np.zeros((n_st, 4))
        for st in range(n_st):
            ttf[st] = exponential(MTTF, rng, 0)
        state[0] = BUSY
        rem[0] = exponential(means[0], rng, 0)
        resume(0, 0.0, rem, ttf, start, pending, t, i, n)
        good, events = loop(means, horizon, warmup, rng, t, i, n, state, rem, ttf, start,
                            pending, buf, since, time_in)
        return good, events, time_in / (horizon - warmup)

    return run


run_heap = make_line(heap_set, heap_next, 2)
run_scan = make_line(scan_set, scan_next, 1)


def stream(seed: int, replication: int) -> np.ndarray:
    """One xoshiro256** stream for every draw, seeded by SplitMix64 from the seed and the
    replication (twinbench keeps a stream per element and purpose, for common random
    numbers: one more feature left out here)."""
    x = (seed * 1_000_003 + replication * 7_919 + 1) & 0xFFFFFFFFFFFFFFFF
    out = np.empty((1, 4), dtype=np.uint64)
    for c in range(4):
        x = (x + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        out[0, c] = z ^ (z >> 31)
    return out


def process_means() -> np.ndarray:
    means = np.ones(N_STATIONS)
    means[4] = 1.1
    return means


def run_bare(kernel, horizon: float, warmup: float, seed: int, replication: int):
    """One replication; returns (good parts, events, state fractions)."""
    return kernel(process_means(), horizon, warmup, stream(seed, replication))
