"""The measures of ``kernels.jit`` keep what the compiled code computes.

``ForwardArgumentAliases`` rewrites Numba IR after inlining; these functions give it the
cases where forwarding would be wrong (a parameter reassigned in a callee, a loop that
rebinds a name) next to the ones it is for (named-tuple arguments copied into nested
inlined callees), and compare with plain Python. The inlined callees here are translated
once and copied per call site (``_translate_callees_once``). Compile flags must compare and
hash as Numba's own code does, Numba code outside ``kernels`` keeps its negative-index
wraparound, and no two kernel dispatchers share one Python function (and so a cache entry).

Every measure replaces part of Numba's internals: on the pinned Numba each one must apply
(``kernels.jit.PATCHES``), and Numba must still call what it replaced when it compiles a
function of the ``kernels`` package; otherwise the kernel silently compiles or runs slower.
"""

from __future__ import annotations

import sys
import tomllib
from collections import Counter, namedtuple
from pathlib import Path
from types import ModuleType

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
    import kernels.guards
    import kernels.queue
    import kernels.rng
    import kernels.routing

    seen = {}
    for module in (kernels.engine, kernels.flow, kernels.guards, kernels.queue, kernels.rng,
                   kernels.routing):
        for name, d in vars(module).items():
            if isinstance(d, Dispatcher) and d.__module__ == module.__name__:
                seen.setdefault(d.py_func, set()).add(f"{module.__name__}.{name}")
    shared = {f.__qualname__: names for f, names in seen.items() if len(names) > 1}
    assert not shared, shared
    assert len(seen) > 30


def test_every_measure_applies_on_the_pinned_numba():
    import numba
    from packaging.specifiers import SpecifierSet

    from kernels.jit import PATCHES

    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    deps = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    pin = next(d for d in deps if d.startswith("numba"))
    assert numba.__version__ in SpecifierSet(pin.removeprefix("numba")), (numba.__version__, pin)
    not_applied = sorted(name for name, applied in PATCHES.items() if not applied)
    assert not not_applied, f"numba {numba.__version__}: kernels/jit.py did not apply {not_applied}"


_PROBE = """
def leaf(a, i):
    return a[i] * 2.0


def scaled(a, k):
    return a[0] * k


def caller(p, i):
    q = p
    return leaf(q.w, i) + leaf(p.w, i + 1) + scaled(q.w, 1) + scaled(p.w, 2)


def hook(p):
    if p.k is not None and p.w[0] > 0.0:
        return p.k.no_such_attribute  # typed only if kept: a None ``k`` drops it
    return p.w[0]


def gated(p):
    return hook(p)
"""


def test_numba_still_calls_what_the_measures_replace(monkeypatch):
    """Compile functions of a ``kernels`` module (fresh, not from the disk cache) and count
    the calls Numba makes into each piece of it that ``kernels.jit`` replaced."""
    from numba import njit
    from numba.core.inline_closurecall import InlineWorker
    from numba.core.targetconfig import TargetConfig
    from numba.np import arrayobj

    import kernels.jit as kj

    calls = Counter()

    def spy(owner, name, key, counts=lambda out: True):
        real = getattr(owner, name)

        def counted(*args, **kwargs):
            out = real(*args, **kwargs)
            calls[key] += bool(counts(out))
            return out

        monkeypatch.setattr(owner, name, counted)

    spy(InlineWorker, "inline_ir", "copy_callees_cheaply")
    spy(InlineWorker, "run_untyped_passes", "translate_callees_once")
    spy(TargetConfig, "__eq__", "compare_flags_cheaply")
    spy(arrayobj, "fix_integer_index", "index_without_wraparound")
    # a pass that forwarded something (``q = p``) returns True
    spy(kj.ForwardArgumentAliases, "run_pass", "forward_argument_aliases", lambda changed: changed)
    spy(kj.DropAbsentFeatures, "run_pass", "drop_absent_features", lambda changed: changed)

    probe = ModuleType("kernels.probe_of_test_jit")
    monkeypatch.setitem(sys.modules, probe.__name__, probe)
    exec(compile(_PROBE, __file__, "exec"), probe.__dict__)
    options = {k: v for k, v in kj._BASE.items() if k != "cache"}  # compile it here, now
    probe.leaf = njit(inline="always", **options)(probe.leaf)
    probe.scaled = kj._compiled_once(njit(no_cpython_wrapper=True, **kj._PIPELINE, **options))(
        probe.scaled)
    probe.caller = kj._compiled_once(njit(**kj._PIPELINE, **options))(probe.caller)
    probe.hook = njit(inline="always", **options)(probe.hook)
    probe.gated = kj._compiled_once(njit(**kj._PIPELINE, **options))(probe.gated)

    w = np.arange(1.0, 6.0)
    assert probe.caller(Plant(w, w), 2) == 2 * 3.0 + 2 * 4.0 + 1.0 + 2.0
    assert len(probe.scaled.overloads) == 1, "compiled_once: one copy for the constants 1 and 2"
    calls["compiled_once"] = len(probe.scaled.overloads)
    (signature,) = probe.caller.signatures
    calls["no_reference_counting"] = "NRT_" not in probe.caller.inspect_llvm(signature)
    # drop_absent_features: the hook of a None field is gone before typing (else the
    # attribute that does not exist would fail the compile)
    assert probe.gated(Plant(w, None)) == 1.0
    unused = sorted(name for name in kj.PATCHES if not calls[name])
    assert not unused, f"Numba no longer calls what these measures replace: {unused}"


_PLAIN_PYTHON_RUN = """
import sys, types
import numpy as np
from kernels.warmup import compiled_kernels, tiny_model
start, run_until = compiled_kernels()
assert all(isinstance(f, types.FunctionType) for f in (start, run_until)), (start, run_until)
m, s = tiny_model()
start(m, s)
run_until(m, s, 10.0)
np.savez(sys.argv[1], **s._asdict())
"""


def test_kernels_run_as_plain_python_without_jit(tmp_path, kernel):
    """Under ``NUMBA_DISABLE_JIT=1`` the kernels import, warm up without compiling anything,
    and run as Python functions to the very state the compiled kernel reaches."""
    import os
    import subprocess

    from kernels.warmup import compiled_kernels, tiny_model

    out = tmp_path / "plain.npz"
    env = dict(os.environ, NUMBA_DISABLE_JIT="1", PYTHONPATH=str(Path(__file__).parents[2]))
    done = subprocess.run([sys.executable, "-c", _PLAIN_PYTHON_RUN, str(out)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    start, run_until = compiled_kernels()
    m, s = tiny_model()
    start(m, s)
    run_until(m, s, 10.0)
    fresh = tiny_model()[1]
    assert [n for n, a in s._asdict().items() if not np.array_equal(a, getattr(fresh, n))]
    with np.load(out) as plain:
        for name, compiled in s._asdict().items():
            np.testing.assert_array_equal(plain[name], compiled, err_msg=name)
