"""The kernel's random streams: xoshiro256** as published, uniforms on (0, 1), and streams
keyed by element and purpose (what common random numbers rest on)."""

from __future__ import annotations

import numpy as np
from oracles.calls import sample
from oracles.naive import Xoshiro256

from kernels import types as kt
from kernels.rng import next_u64, uniform01
from twin.sim.lowering import stream_seeds


def test_next_u64_is_xoshiro256starstar():
    st = np.array([[1, 2, 3, 4]], np.uint64)
    assert [int(next_u64(st, 0)) for _ in range(2)] == [11520, 0]
    seeds = stream_seeds(("a", "b"), 12345, 3)
    ref = [Xoshiro256(row) for row in seeds]
    st = seeds.copy()
    for _ in range(500):
        for i, g in enumerate(ref):
            assert int(next_u64(st, i)) == g.next_u64()


def test_uniform01_is_open_and_uses_the_top_53_bits():
    st = stream_seeds(("x",), 7, 0)
    ref = Xoshiro256(st[0])
    u = np.array([uniform01(st, 0) for _ in range(20_000)])
    assert np.all((u > 0.0) & (u < 1.0))
    ref_u = np.array([ref.uniform() for _ in range(20_000)])
    assert np.array_equal(u, ref_u)
    # extremes of the formula: (0 + 0.5) / 2**53 and (2**53 - 1 + 0.5) / 2**53
    lo = np.array([[0, 0, 0, 0]], np.uint64)  # an all-zero state stays zero: output 0
    assert uniform01(lo, 0) == 0.5 / 2**53


def test_streams_are_keyed_by_seed_replication_element_and_purpose():
    a = stream_seeds(("src", "m1", "m2"), 1, 0)
    b = stream_seeds(("m2", "new", "m1"), 1, 0)  # other elements, other order
    n = kt.N_STREAMS
    assert np.array_equal(a[1 * n:2 * n], b[2 * n:3 * n])  # m1's streams do not move
    assert np.array_equal(a[2 * n:3 * n], b[0:n])
    # every (element, purpose) stream differs from every other, and across seeds and reps
    rows = np.concatenate([a, stream_seeds(("src", "m1", "m2"), 2, 0),
                           stream_seeds(("src", "m1", "m2"), 1, 1)])
    assert len({tuple(r) for r in rows}) == rows.shape[0]


def test_sample_of_no_distribution_is_zero():
    st = stream_seeds(("x",), 1, 0)
    before = st.copy()
    assert sample(np.zeros(1, np.int64), np.zeros((1, 4)), np.zeros(1), -1, st, 0) == 0.0
    assert np.array_equal(st, before)  # and draws nothing
