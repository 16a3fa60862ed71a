"""The measures of ``kernels.jit`` keep what the compiled code computes.

``ForwardArgumentAliases`` rewrites Numba IR after inlining; these functions give it the
cases where forwarding would be wrong (a parameter reassigned in a callee, a loop that
rebinds a name) next to the ones it is for (named-tuple arguments copied into nested
inlined callees), and compare with plain Python. The inlined callees here are translated
once and copied per call site (``_translate_callees_once``). Compile flags must compare and
hash as Numba's own code does, Numba code outside ``kernels`` keeps its negative-index
wraparound, and no two kernel dispatchers share one Python function (and so a cache entry).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest
from numba import types

from kernels.jit import cold, entry, hot

Plant = namedtuple("Plant", ["w", "k"])


@hot
def _weight(p, i):
    return p.w[i % p.w.shape[0]]


@hot
def _shifted(p, i):
    i = i + p.k[0]  # a parameter reassigned inside an inlined callee
    return _weight(p, i)


@cold
def _rare(p, i, acc):
    acc[0] += _shifted(p, i) * 2.0
    return acc[0]


@entry
def _walk(p, acc, n):
    total = 0.0
    q = p  # a copy of an argument
    for i in range(n):
        j = i
        if i % 3 == 0:
            j = n - i  # a name rebound in the loop
        total += _weight(q, j) + _shifted(p, j)
        if i % 7 == 0:
            total -= _rare(q, j, acc)
    return total


def test_forwarded_code_computes_what_python_computes():
    rng = np.random.default_rng(3)
    for n in (0, 1, 10, 257):
        p = Plant(rng.random(13), np.array([5], np.int64))
        acc_jit = np.zeros(1)
        acc_py = np.zeros(1)
        got = _walk(p, acc_jit, n)
        want = _python_walk(p, acc_py, n)
        assert got == pytest.approx(want, rel=1e-12)
        assert acc_jit[0] == pytest.approx(acc_py[0], rel=1e-12)


def _python_walk(p, acc, n):
    """``_walk`` with every jitted callee replaced by its Python function."""
    def weight(p, i):
        return p.w[i % p.w.shape[0]]

    def shifted(p, i):
        return weight(p, i + p.k[0])

    total = 0.0
    for i in range(n):
        j = n - i if i % 3 == 0 else i
        total += weight(p, j) + shifted(p, j)
        if i % 7 == 0:
            acc[0] += shifted(p, j) * 2.0
            total -= acc[0]
    return total


@cold
def _scaled(w, k):
    return w[0] * k


def test_constants_at_call_sites_compile_one_copy():
    """Numba would compile ``_scaled`` once per constant ``k`` it is called with
    (``push(..., E_WAKE, -1, 0)`` was compiled twelve times); ``cold`` compiles it once."""
    w = types.Array(types.float64, 1, "C")
    for k in (1, 2, -1):
        _scaled.get_call_template((w, types.IntegerLiteral(k)), {})
    assert [sig[1] for sig in _scaled.overloads] == [types.int64]


def test_flags_compare_and_hash_as_their_full_option_lists_do():
    from numba.core.compiler import Flags

    def variant(**set_values):
        f = Flags()
        for k, v in set_values.items():
            setattr(f, k, v)
        return f

    flags = [variant(), variant(nrt=True), variant(nrt=False), variant(nrt=False, inline="always"),
             variant(no_cpython_wrapper=True), variant(no_cpython_wrapper=True, nrt=True)]
    # nrt=False is the default: set explicitly it still equals the unset flags
    assert flags[0] == flags[2] and flags[0] != flags[1]
    for a in flags:
        for b in flags:
            assert (a == b) == (a.values() == b.values()), (a, b)
            if a == b:
                assert hash(a) == hash(b)
        assert hash(a) == hash(tuple(sorted(a.values())))


def test_code_outside_kernels_keeps_negative_index_wraparound():
    from numba import njit
    from numba.np import arrayobj

    assert getattr(arrayobj.fix_integer_index, "_twinbench", False)  # kernels index as is
    a = np.arange(5.0)
    b = np.arange(6.0).reshape(2, 3)
    assert njit(lambda a, i: a[i])(a, -1) == 4.0
    assert njit(lambda b, i, j: b[i, j])(b, -1, -2) == 4.0


def test_every_kernel_function_has_a_disk_cache_entry_of_its_own():
    """Numba names a cache entry after the Python function; two dispatchers of one function
    (``cold(f.py_func)`` beside ``hot f``) would load each other's machine code."""
    from numba.core.dispatcher import Dispatcher

    import kernels.engine
    import kernels.flow
    import kernels.queue
    import kernels.rng

    seen = {}
    for module in (kernels.engine, kernels.flow, kernels.queue, kernels.rng):
        for name, d in vars(module).items():
            if isinstance(d, Dispatcher) and d.__module__ == module.__name__:
                seen.setdefault(d.py_func, set()).add(f"{module.__name__}.{name}")
    shared = {f.__qualname__: names for f, names in seen.items() if len(names) > 1}
    assert not shared, shared
    assert len(seen) > 30
