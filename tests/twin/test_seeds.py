"""The vectorised stream seeds equal NumPy's SeedSequence, stream by stream."""

import zlib

import numpy as np
import pytest

from twin.sim.seeds import seed_states


@pytest.mark.parametrize("seed,replication", [(0, 0), (1, 0), (21, 7), (2**32 + 5, 3),
                                               (2**63 - 1, 2**40 + 1), (123456789, 199)])
def test_equal_to_seed_sequence(seed, replication):
    keys = [zlib.crc32(s.encode()) for s in ("src", "m1", "b1", "a very long element id")]
    keys += [0, 2**32 - 1]
    got = seed_states(seed, replication, keys, 9)
    for k, key in enumerate(keys):
        for p in range(9):
            ss = np.random.SeedSequence(entropy=seed, spawn_key=(replication, key, p))
            assert np.array_equal(got[k * 9 + p], ss.generate_state(4, np.uint64)), (key, p)


def test_random_seeds_agree():
    rng = np.random.default_rng(5)
    for _ in range(50):
        seed, rep = int(rng.integers(0, 2**63)), int(rng.integers(0, 10_000))
        key = int(rng.integers(0, 2**32))
        want = np.random.SeedSequence(entropy=seed, spawn_key=(rep, key, 4)).generate_state(
            4, np.uint64)
        assert np.array_equal(seed_states(seed, rep, [key], 9)[4], want)


def test_many_replications_at_once_equal_one_at_a_time():
    """A fork makes the streams of all its replications in one pass: the same states as one
    replication at a time, also where replications need more 32-bit words than others."""
    from twin.sim.seeds import seed_states_of

    keys = [zlib.crc32(s.encode()) for s in ("src", "m1", "sink")]
    reps = [0, 1, 2, 199, 2**32 - 1, 2**32, 2**40 + 3, 5]
    for seed in (0, 7, 2**63 - 1):
        many = seed_states_of(seed, reps, keys, 9)
        assert many.shape == (len(reps), 27, 4)
        for i, r in enumerate(reps):
            assert np.array_equal(many[i], seed_states(seed, r, keys, 9)), (seed, r)
