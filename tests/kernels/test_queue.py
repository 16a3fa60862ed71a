"""The future event list: earliest first, and events at the same time in the order they
were scheduled (SimPy's tie-break on a sequence number), whatever the heap's shape."""

from __future__ import annotations

import heapq

import numpy as np

from kernels import types as kt
from kernels.queue import pop, push


def empty_queue(n):
    return np.zeros(n), np.zeros((n, 4), np.int64), np.zeros(kt.N_S, np.int64)


def test_pops_in_time_then_scheduling_order():
    rng = np.random.default_rng(3)
    ht, hi, si = empty_queue(4096)
    times = rng.integers(0, 20, size=3000).astype(float)  # many ties
    popped = []
    # interleave pushes and pops, as a simulation does
    for batch in np.array_split(np.arange(times.size), 60):
        for i in batch:
            push(ht, hi, si, times[i], kt.E_WAKE, i, 7)
        for _ in range(len(batch) // 2):
            popped.append(pop(ht, hi, si))
    while si[kt.S_HEAP_N] > 0:
        popped.append(pop(ht, hi, si))
    assert len(popped) == times.size and si[kt.S_SEQ] == times.size
    assert all(kind == kt.E_WAKE and tok == 7 for _, kind, _, tok in popped)
    # the same pushes and pops on a reference priority queue keyed (time, insertion index)
    ref, out = [], []
    for batch in np.array_split(np.arange(times.size), 60):
        for i in batch:
            heapq.heappush(ref, (times[i], i))
        for _ in range(len(batch) // 2):
            out.append(heapq.heappop(ref))
    out += [heapq.heappop(ref) for _ in range(len(ref))]
    assert [(t, obj) for t, _, obj, _ in popped] == out


def test_equal_times_come_out_first_in_first_out():
    ht, hi, si = empty_queue(64)
    for i in range(50):
        push(ht, hi, si, 5.0, kt.E_PHASE_END, i, 0)
    assert [pop(ht, hi, si)[2] for _ in range(50)] == list(range(50))


def test_an_event_pushed_with_a_kept_number_takes_the_place_it_would_have_had():
    """``keep_seq`` then, later, ``push_kept``: the event fires among its ties as if it had
    been pushed when its number was taken (issue 16: a conveyor's events)."""
    from kernels.queue import keep_seq, push_kept

    rng = np.random.default_rng(5)
    ht, hi, si = empty_queue(4096)
    times = rng.integers(0, 10, size=2000).astype(float)  # many ties
    kept = []
    for i, t in enumerate(times):
        if i % 3 == 0:
            kept.append((t, keep_seq(si), i))
        else:
            push(ht, hi, si, t, kt.E_WAKE, i, 0)
        if i % 7 == 0 and kept:  # some kept events are pushed long after their number
            t, seq, j = kept.pop(int(rng.integers(len(kept))))
            push_kept(ht, hi, si, t, seq, kt.E_CONVEYOR, j, 0)
    for t, seq, j in kept:
        push_kept(ht, hi, si, t, seq, kt.E_CONVEYOR, j, 0)
    popped = [pop(ht, hi, si)[2] for _ in range(times.size)]
    assert si[kt.S_HEAP_N] == 0
    assert popped == sorted(range(times.size), key=lambda i: (times[i], i))
