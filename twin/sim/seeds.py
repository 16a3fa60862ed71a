"""Stream seeds of many random streams at once, equal to NumPy's ``SeedSequence``.

``twin.sim.lowering.stream_seeds`` keys every random stream of a replication by the run
seed, the replication, the element and the purpose:
``SeedSequence(entropy=seed, spawn_key=(replication, key, purpose)).generate_state(4, uint64)``.
Made one at a time, that costs about 15-90 us a stream: 9 streams per element, so for a
16-element line some 2 ms per replication, which made up 40% of a 200-replication forecast
(``benchmarks/bench_forecast.py``). Here the same algorithm (NumPy's
``numpy/random/bit_generator.pyx``: the entropy assembled into 32-bit words, ``mix_entropy``
into a pool of 4 words, ``generate_state``) runs on every stream of a replication at once: the
hash constants do not depend on the data, so each step is one vector operation over the
streams. ``tests/twin/test_seeds.py`` checks the states equal ``SeedSequence``'s.
"""

from __future__ import annotations

import numpy as np

_INIT_A = np.uint32(0x43B0D7E5)
_MULT_A = np.uint32(0x931E8875)
_INIT_B = np.uint32(0x8B51F9DD)
_MULT_B = np.uint32(0x58F38DED)
_MIX_L = np.uint32(0xCA01F9DD)
_MIX_R = np.uint32(0x4973F715)
_SHIFT = np.uint32(16)
_POOL = 4


def _words(n: int) -> list[int]:
    """A non-negative int as NumPy coerces it: 32-bit words, least significant first."""
    if n < 0:
        raise ValueError(f"seed parts must be >= 0, got {n}")
    out = [0] if n == 0 else []
    while n > 0:
        out.append(n & 0xFFFFFFFF)
        n >>= 32
    return out


def seed_states(seed: int, replication: int, keys, purposes: int) -> np.ndarray:
    """``(len(keys) * purposes, 4)`` uint64: row ``k * purposes + p`` is
    ``SeedSequence(entropy=seed, spawn_key=(replication, keys[k], p)).generate_state(4,
    np.uint64)``; ``keys`` are ints below 2**32 (element hashes)."""
    return _states(int(seed), [int(replication)], keys, purposes)[0]


def seed_states_of(seed: int, replications, keys, purposes: int) -> np.ndarray:
    """:func:`seed_states` of many replications in one pass: ``(len(replications),
    len(keys) * purposes, 4)``. A fork's 200 replications made them one at a time in 12% of
    a forecast of a small line (``benchmarks/bench_forecast.py``); at once, in 1 ms."""
    return _states(int(seed), [int(r) for r in replications], keys, purposes)


def _states(seed: int, replications: list[int], keys, purposes: int) -> np.ndarray:
    keys = np.asarray(keys, np.uint64)
    if len(keys) and int(keys.max()) >= 2**32:
        raise ValueError("keys must be below 2**32")
    run = _words(seed)
    run += [0] * max(0, _POOL - len(run))  # NumPy pads the run entropy when spawned
    # replications of the same number of 32-bit words share the layout of their entropy
    groups: dict[int, list[int]] = {}
    for i, r in enumerate(replications):
        groups.setdefault(len(_words(r)), []).append(i)
    out = np.empty((len(replications), len(keys) * purposes, 4), np.uint64)
    for idx in groups.values():
        heads = np.array([run + _words(replications[i]) for i in idx], np.uint32)
        out[idx] = _mixed(heads, keys, purposes)
    return out


def _mixed(heads: np.ndarray, keys: np.ndarray, purposes: int) -> np.ndarray:
    """The states of ``heads`` (one row of entropy words per replication) x keys x
    purposes, ``(len(heads), len(keys) * purposes, 4)``."""
    n_rep, width = heads.shape
    per = len(keys) * purposes
    n = n_rep * per
    # purposes < 2**32, so each stream's entropy is head + [key, purpose], or + [key, 0]
    entropy = np.empty((width + 2, n), np.uint32)
    entropy[:width] = np.repeat(heads.T, per, axis=1)
    entropy[width] = np.tile(np.repeat(keys.astype(np.uint32), purposes), n_rep)
    entropy[width + 1] = np.tile(np.arange(purposes, dtype=np.uint32), len(keys) * n_rep)
    with np.errstate(over="ignore"):
        h = _INIT_A

        def hashmix(v):
            nonlocal h
            v = v ^ h
            h = np.uint32(h * _MULT_A)
            v = v * h
            return v ^ (v >> _SHIFT)

        def mix(x, y):
            r = _MIX_L * x - _MIX_R * y
            return r ^ (r >> _SHIFT)

        pool = [hashmix(entropy[i]) if i < len(entropy) else hashmix(np.zeros(n, np.uint32))
                for i in range(_POOL)]
        for src in range(_POOL):
            for dst in range(_POOL):
                if src != dst:
                    pool[dst] = mix(pool[dst], hashmix(pool[src]))
        for src in range(_POOL, len(entropy)):
            for dst in range(_POOL):
                pool[dst] = mix(pool[dst], hashmix(entropy[src]))
        state = np.empty((n, 8), np.uint32)
        hb = _INIT_B
        for k in range(8):
            v = pool[k % _POOL] ^ hb
            hb = np.uint32(hb * _MULT_B)
            v = v * hb
            state[:, k] = v ^ (v >> _SHIFT)
    return state.astype("<u4").view("<u8").astype(np.uint64).reshape(n_rep, per, 4)
