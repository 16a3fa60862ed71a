"""The three ways a kernel function is compiled, chosen for run time *and* compile time.

Every kernel function takes the plant and the run as two named tuples of ~25 arrays each.
Numba passes a named tuple by value, as several hundred scalars, and builds a Python
wrapper for every function that unboxes them all. So:

- ``hot``: on the path of every event (a part moves, a phase ends). Inlined into its
  caller in Numba IR, so the event loop runs as one function with no calls.
- ``cold``: on rare paths (a failure, a repair, a shift change, maintenance). Compiled
  once as its own function with no Python wrapper; calling it costs a few hundred
  register moves, which rare events can afford, and keeps it out of every caller's IR
  (inlining copies a function into each call site, and nested inlining multiplies).
- ``entry``: called from Python (``start``, ``run_until``); has a wrapper.

All are cached on disk, release the GIL and run without Numba's reference counting
(which would cost several times the run time on array-heavy code). They use NumPy's error
model: a division does not check its divisor for zero to raise ``ZeroDivisionError``.
Every divisor in the kernel is positive by construction (a hazard rate is at least 1, a
station has at least one server) or by the checks ``twin`` makes on load (distribution
parameters); the checks and the error paths they need cost 20-30% of the time per event
(``benchmarks/bench_kernel.py``, A/B in one session: 4.1-4.7 against 5.8-5.9 M events/s).

Compile time (a cold cache compiles everything once: ``kernels/warmup.py``) was measured
by Numba pass, by LLVM pass and with cProfile over the whole compile; what is here cut it
from 41 s to about 13 s of CPU on an idle machine, when it was written:

- ``ForwardArgumentAliases``, one extra pass for ``cold`` and ``entry`` functions. Inlining
  binds each callee's parameters with a copy (``m.12 = m``); for the two named tuples
  every copy became a stack slot of ~200 scalars that LLVM's SROA pass spent most of the
  compile taking apart.
- ``_copy_callees_cheaply``: Numba's inliner copied the callee's whole scope once per block.
- ``_translate_callees_once``: it also translated the callee afresh for every call site.
- ``_compiled_once``: a constant argument no longer compiles a callee once per value.
- ``_compare_flags_cheaply``: looking up a typed overload hashed and compared the compile
  flags by listing all their options, 60,000 times.
- Rare branches of hot functions (shortest-queue waking, routing, product mixes, logging)
  are small ``cold`` functions of their own instead of inlined at every call site.

- ``DropAbsentFeatures``: a line without the features of issues 18-19 gets a kernel
  compiled without their hooks (``m.features is None``): 16 s against 36 s of CPU for the
  kernel with them, on a quiet machine (``benchmarks/compile_time.py [--features]``).
One measure is for run time: ``_index_without_wraparound`` drops Python's negative-index
handling from kernel code; and ``_nrt=False`` (Numba's private option) compiles without
reference counting.

None of them changes what the compiled code computes: the exact-trace and oracle tests
pass bit for bit, and ``tests/kernels/test_jit.py`` checks the cases around them.

Each measure is recorded in ``PATCHES`` by name with whether it applied, and Numba is
pinned to the one range they are tested on (``pyproject.toml``): ``test_jit.py`` fails
naming any measure that did not apply, or whose Numba hook a compile no longer calls.
``TWINBENCH_JIT_WITHOUT=name,...`` leaves measures out, for measuring only (into a cache
folder of its own). Measured again with Numba 0.68.1 on 2 vCPUs shared with other jobs
(load 6-12): cold compile CPU time of the whole kernel in one process
(``benchmarks/compile_time.py``, fresh process, empty cache; runs interleaved, median and
range) and instructions per event (``benchmarks/count_instructions.py``, callgrind):

- all in force: 40.3 s (39.3-42.8, 4 runs); the tree before this registry: 40.6 s (1 run);
  1,102.5 instructions per event.
- without ``forward_argument_aliases``: 63.4 s (1 run): +57%.
- without ``compiled_once``: 49.5 s (1 run): +23%.
- without ``copy_callees_cheaply``: 43.6 s (42.0-45.3, 2 runs): +8%.
- without ``translate_callees_once``: 41.9 s (40.5-43.3, 2 runs): +4%.
- without ``compare_flags_cheaply``: 43.9 s (43.1-44.7, 2 runs): +9%.

The last three are each within the spread of a loaded machine, but their medians add up
to +21%: they stay until a quiet machine tells them apart. Not measured again yet (a
callgrind run took over 40 minutes under that load): ``index_without_wraparound`` (1,709
-> 1,379 instructions per event when it was written) and ``no_reference_counting``.
"""

import copy
import os
import threading
from collections import Counter

import numpy as np
from numba import njit, types
from numba.core import config, ir
from numba.core.compiler import CompilerBase, DefaultPassBuilder
from numba.core.compiler_machinery import FunctionPass, register_pass
from numba.core.dispatcher import Dispatcher
from numba.core.inline_closurecall import InlineWorker
from numba.core.ir_utils import build_definitions, get_definition, guard, replace_vars
from numba.core.targetconfig import TargetConfig
from numba.core.untyped_passes import InlineClosureLikes, InlineInlinables

# Every measure below, by name: whether it is in force in this process. Each one depends on
# Numba's internals staying as they are; one that no longer applies leaves the kernel
# correct but slower, so ``tests/kernels/test_jit.py`` fails naming it instead.
PATCHES: dict[str, bool] = {}

# For measuring only: ``TWINBENCH_JIT_WITHOUT=name,...`` leaves those measures out
# (``benchmarks/compile_time.py``, ``benchmarks/count_instructions.py``).
_WITHOUT = frozenset(n.strip() for n in os.environ.get("TWINBENCH_JIT_WITHOUT", "").split(",")
                     if n.strip())
if _WITHOUT and config.CACHE_DIR:  # code compiled without them must not fill the real cache
    config.CACHE_DIR = os.path.join(config.CACHE_DIR, "without-" + "-".join(sorted(_WITHOUT)))


def _measure(name: str, apply) -> bool:
    """Apply the measure ``name`` (``apply()`` says whether it could) and record it."""
    PATCHES[name] = name not in _WITHOUT and bool(apply())
    return PATCHES[name]


@register_pass(mutates_CFG=False, analysis_only=False)
class ForwardArgumentAliases(FunctionPass):
    """Read the arguments and their attributes directly, once, instead of through copies.

    An argument that is never reassigned has one value for the whole call, and so has any
    attribute of it (the arguments are named tuples of arrays, numbers and arrays, all
    immutable as values). So every single-assigned copy of an argument is replaced by the
    argument, and every ``arg.field`` by one variable read at the top of the function.
    """

    _name = "forward_argument_aliases"

    def __init__(self):
        FunctionPass.__init__(self)

    def run_pass(self, state):
        func_ir = state.func_ir
        blocks = func_ir.blocks
        n_defs = Counter(
            st.target.name for b in blocks.values() for st in b.body if isinstance(st, ir.Assign)
        )
        entry = blocks[min(blocks)]
        n_args = 0
        while (n_args < len(entry.body) and isinstance(entry.body[n_args], ir.Assign)
               and isinstance(entry.body[n_args].value, ir.Arg)):
            n_args += 1
        args = {st.target.name: st.target for st in entry.body[:n_args]
                if n_defs[st.target.name] == 1}
        if not args:
            return False
        root = dict(args)
        fields = {}  # (argument, attribute) -> the variable read once at the top
        changed = True
        while changed:  # copies of copies and fields of copies, in any block order
            changed = False
            for b in blocks.values():
                for st in b.body:
                    if not isinstance(st, ir.Assign) or n_defs[st.target.name] != 1:
                        continue
                    v = st.value
                    if isinstance(v, ir.Var) and v.name in root and st.target.name not in root:
                        root[st.target.name] = root[v.name]
                        changed = True
                    elif (isinstance(v, ir.Expr) and v.op == "getattr"
                          and v.value.name in root and root[v.value.name].name in args):
                        key = (root[v.value.name].name, v.attr)
                        if key not in fields:
                            var = entry.scope.redefine("$arg_field", v.loc)
                            read = ir.Expr.getattr(root[v.value.name], v.attr, v.loc)
                            fields[key] = (var, ir.Assign(read, var, v.loc))
                        root[st.target.name] = fields[key][0]
                        st.value = fields[key][0]
                        changed = True
        copies = {name: var for name, var in root.items() if name not in args}
        for b in blocks.values():
            b.body = [st for st in b.body
                      if not (isinstance(st, ir.Assign) and st.target.name in copies)]
        entry.body[n_args:n_args] = [assign for _, assign in fields.values()]
        replace_vars(blocks, copies)
        func_ir._definitions = build_definitions(blocks)
        return True


# What copies of Numba IR may share with their original while a kernel callee is inlined:
# ``level`` 1 shares source locations, 2 also the scope (see the two functions below).
_sharing = threading.local()


def _copy_callees_cheaply():
    """Let Numba's inliner copy a kernel callee without copying its scope for every block.

    Before inlining, Numba deep-copies the callee's IR twice, one block at a time, and each
    block's copy copies the callee's whole scope (every variable of the callee, nested
    inlining included): blocks times variables, about ten seconds of the kernel's compile.
    The inliner then renames every callee variable into the caller's scope, so the copies
    never need a scope of their own. While a ``kernels`` function is inlined, copies share
    the callee's scope instead. They share its source locations too (values nobody
    changes): a location that once formatted an error message caches its file's lines,
    which every copy copied again. Numba functions outside ``kernels`` are left alone.
    """
    inline_ir = getattr(InlineWorker, "inline_ir", None)
    if getattr(inline_ir, "_twinbench", False):
        return True
    if (inline_ir is None or "__deepcopy__" in vars(ir.Loc) or "__deepcopy__" in vars(ir.Scope)
            or "__deepcopy__" not in vars(ir.Var)):
        return False  # a Numba that reorganised its inliner
    copy_var = ir.Var.__deepcopy__

    def inline_ir_sharing_scopes(self, caller_ir, block, i, callee_ir, *args, **kwargs):
        module = getattr(getattr(callee_ir, "func_id", None), "modname", "") or ""
        _sharing.level = 2 if module.startswith("kernels.") else 0
        try:
            return inline_ir(self, caller_ir, block, i, callee_ir, *args, **kwargs)
        finally:
            _sharing.level = 0

    def deepcopy_var(self, memo):
        if getattr(_sharing, "level", 0) < 2:
            return copy_var(self, memo)
        out = ir.Var(self.scope, self.name, self.loc)
        memo[id(self)] = out
        return out

    def deepcopy_shared_from(level):
        def deepcopy(self, memo):
            if getattr(_sharing, "level", 0) >= level:
                return self
            out = object.__new__(type(self))  # what copy.deepcopy does for a plain object
            memo[id(self)] = out
            out.__dict__.update(copy.deepcopy(self.__dict__, memo))
            return out
        return deepcopy

    inline_ir_sharing_scopes._twinbench = True
    InlineWorker.inline_ir = inline_ir_sharing_scopes
    ir.Var.__deepcopy__ = deepcopy_var
    ir.Scope.__deepcopy__ = deepcopy_shared_from(2)
    ir.Loc.__deepcopy__ = deepcopy_shared_from(1)
    return True


_measure("copy_callees_cheaply", _copy_callees_cheaply)


def _translate_callees_once():
    """Translate each inlined kernel function to Numba IR once, not once per call site.

    Before inlining a callee, Numba runs its whole untyped pipeline (bytecode to IR, then
    the untyped passes, nested inlining included) again for every call site: 190 runs for
    about 30 ``hot`` functions, some two seconds of the kernel's compile. The result only
    depends on the function (and on whether SSA is wanted), so the first run is kept and
    every call site gets a deep copy of it, with a scope of its own (the inliner adds
    names to it), which the inliner is then free to rewrite.
    """
    run_untyped = getattr(InlineWorker, "run_untyped_passes", None)
    if getattr(run_untyped, "_twinbench", False):
        return True
    if run_untyped is None:
        return False  # a Numba that reorganised its inliner
    translated = {}  # only touched while compiling, under Numba's global compiler lock

    def run_untyped_passes_once(self, func, enable_ssa=False):
        if not (getattr(func, "__module__", "") or "").startswith("kernels."):
            return run_untyped(self, func, enable_ssa)
        key = (func, enable_ssa)
        original = translated.get(key)
        if original is None:
            original = translated[key] = run_untyped(self, func, enable_ssa)
        else:
            self.flags.enable_ssa = enable_ssa  # as the pipeline run would have set it
        fresh = original.copy()
        memo = {}  # one memo for all blocks: they share one copy of the scope
        level = getattr(_sharing, "level", 0)
        _sharing.level = 1
        try:
            fresh.blocks = {label: copy.deepcopy(block, memo)
                            for label, block in original.blocks.items()}
        finally:
            _sharing.level = level
        fresh.block_entry_vars = {fresh.blocks[label]: original.block_entry_vars[block]
                                  for label, block in original.blocks.items()
                                  if block in original.block_entry_vars}
        fresh._definitions = build_definitions(fresh.blocks)
        return fresh

    run_untyped_passes_once._twinbench = True
    InlineWorker.run_untyped_passes = run_untyped_passes_once
    return True


_measure("translate_callees_once", _translate_callees_once)


def _compare_flags_cheaply():
    """Hash and compare Numba's compile flags without listing all their options each time.

    Numba caches every typed overload under its compile flags (a ``TargetConfig``); the
    kernel's call sites look that cache up about 60,000 times per compile, and each lookup
    hashed and compared the flags by building a dict of all ~50 options through their
    properties (about a second of the compile). The hash only ever depended on the option
    names (``sorted`` of that dict sorts its keys), so it is one number per class; and two
    flags of the same class with the same explicitly set values are equal without listing
    the defaults. Anything else is compared as before.
    """
    compare = vars(TargetConfig).get("__eq__")
    if getattr(compare, "_twinbench", False):
        return True
    if compare is None or not hasattr(TargetConfig, "options"):
        return False  # a Numba that reorganised its flags
    hashes = {}
    defaults_of = {}

    def _defaults(cls):
        d = defaults_of.get(cls)
        if d is None:
            d = defaults_of[cls] = {k: option.default for k, option in cls.options.items()}
        return d

    def flags_hash(self):
        cls = type(self)
        h = hashes.get(cls)
        if h is None:
            h = hashes[cls] = hash(tuple(sorted(cls.options)))
        return h

    def flags_eq(self, other):
        cls = type(self)
        if type(other) is not cls:
            return compare(self, other)
        if other._values == self._values:
            return True
        defaults = _defaults(cls)
        return {**defaults, **self._values} == {**defaults, **other._values}

    flags_eq._twinbench = True
    TargetConfig.__eq__ = flags_eq
    TargetConfig.__hash__ = flags_hash
    return True


_measure("compare_flags_cheaply", _compare_flags_cheaply)


@register_pass(mutates_CFG=False, analysis_only=False)
class DropAbsentFeatures(FunctionPass):
    """Compile a line without the features it does not use: a field of an argument that is
    ``None`` (``ModelArrays.features`` of a line without the features of issues 18-19,
    ``kernels.types.uses_features``) is read as the constant ``None``.

    Every feature hook is written ``if m.features is not None and ...``. Numba's next dead
    branch pruning (it follows inlining) then drops each such branch before typing, so
    none of the features' code is typed, lowered or optimised for that line (nor are the
    ``cold`` functions only they call compiled), and the hot loop does not test them. A
    line that uses a feature passes an array there and gets the kernel with every hook,
    compiled once for that type: Numba keeps (and caches) one compiled kernel per argument
    type. Where the pass does not apply, the tests stay in the code and are false: the
    results are the same, only the compile and the loop are slower.
    """

    _name = "drop_absent_features"

    def __init__(self):
        FunctionPass.__init__(self)

    def run_pass(self, state):
        func_ir = state.func_ir
        changed = False
        for block in func_ir.blocks.values():
            for st in block.body:
                v = st.value if isinstance(st, ir.Assign) else None
                if not (isinstance(v, ir.Expr) and v.op == "getattr"):
                    continue
                arg = guard(get_definition, func_ir, v.value)
                if isinstance(arg, ir.Arg) and _is_none_field(state.args[arg.index], v.attr):
                    st.value = ir.Const(None, v.loc)
                    changed = True
        if changed:
            func_ir._definitions = build_definitions(func_ir.blocks)
        return changed


def _is_none_field(ty, attr: str) -> bool:
    """Whether ``attr`` of a value of Numba type ``ty`` is a named tuple's ``None`` field."""
    fields = getattr(ty, "fields", None)
    if not isinstance(ty, types.BaseNamedTuple) or attr not in fields:
        return False
    return isinstance(ty.types[fields.index(attr)], types.NoneType)


class _KernelCompiler(CompilerBase):
    """Numba's nopython pipeline with ``ForwardArgumentAliases`` and ``DropAbsentFeatures``
    after inlining, before the dead branch pruning that follows it (each if in force).

    ``DropAbsentFeatures`` also runs before inlining, before the first dead branch pruning:
    a function's own hooks are dropped before the ``hot`` functions they call are inlined
    (``_rare_event`` calls ``start_part`` for standby's warm-up), so that the kernel without
    the features does not inline, then throw away, their code (the hooks of the inlined
    functions are dropped by the second run, after inlining, as before)."""

    def define_pipelines(self):
        pm = DefaultPassBuilder.define_nopython_pipeline(self.state)
        if PATCHES["drop_absent_features"] and not self.state.flags.no_rewrites:
            pm.add_pass_after(DropAbsentFeatures, InlineClosureLikes)
        after = InlineInlinables
        for name, kernel_pass in (("forward_argument_aliases", ForwardArgumentAliases),
                                  ("drop_absent_features", DropAbsentFeatures)):
            if PATCHES[name]:
                pm.add_pass_after(kernel_pass, after)
                after = kernel_pass
        pm.finalize()
        return [pm]


def _compiled_once(jit):
    """``jit`` for a function that compiles once per argument type, not once per constant.

    Numba types a constant argument at a call site as a literal (``push(..., E_WAKE, -1, 0)``)
    and compiles the callee again for every distinct constant; ``push`` alone was compiled
    twelve times. Calls from kernel code here pass the plain types instead.
    """

    def decorate(func):
        dispatcher = jit(func)
        if config.DISABLE_JIT or not PATCHES["compiled_once"]:
            return dispatcher  # under NUMBA_DISABLE_JIT, the Python function itself
        resolve = dispatcher.get_call_template

        def get_call_template(args, kws):
            return resolve(tuple(types.unliteral(a) for a in args),
                           {k: types.unliteral(v) for k, v in kws.items()})

        dispatcher.get_call_template = get_call_template
        return dispatcher

    return decorate


# Numba's mangled symbol of a function ``kernels.<module>.<name>``.
_KERNEL_SYMBOLS = ("_ZN7kernels",)


def _index_without_wraparound():
    """Compile kernel code without Python's negative-index wraparound.

    For every array index of a signed type, Numba emits ``if i < 0: i += n`` before the
    access. Kernel code never indexes with a negative number (-1 marks "none" in the state
    arrays and is always tested before it is used as an index), so in functions of the
    ``kernels`` package the index is used as it is, as Cython's ``wraparound=False`` does.
    That was a fifth of the instructions per event (``benchmarks/count_instructions.py``:
    1,709 -> 1,379). Bounds are not checked either way (Numba's default). Numba code
    outside ``kernels`` keeps the wraparound.
    """
    from numba.np import arrayobj

    fix = getattr(arrayobj, "fix_integer_index", None)
    if getattr(fix, "_twinbench", False):
        return True
    if fix is None:
        return False  # a Numba that reorganised its indexing

    def fix_integer_index(context, builder, idxty, idx, size):
        if idxty.signed and builder.function.name.startswith(_KERNEL_SYMBOLS):
            return context.cast(builder, idx, idxty, types.intp)
        return fix(context, builder, idxty, idx, size)

    fix_integer_index._twinbench = True
    arrayobj.fix_integer_index = fix_integer_index
    return True


_measure("index_without_wraparound", _index_without_wraparound)


# Numba types a call of a dispatcher through this method (``types.Dispatcher``).
_measure("compiled_once", lambda: callable(getattr(Dispatcher, "get_call_template", None)))
_measure("forward_argument_aliases", lambda: True)
_BASE = dict(cache=True, nogil=True, error_model="numpy")
if _measure("no_reference_counting", lambda: True):
    _BASE["_nrt"] = False
_measure("drop_absent_features", lambda: True)
_PIPELINE = ({"pipeline_class": _KernelCompiler}
             if PATCHES["forward_argument_aliases"] or PATCHES["drop_absent_features"] else {})

hot = njit(inline="always", **_BASE)
cold = _compiled_once(njit(no_cpython_wrapper=True, no_cfunc_wrapper=True, **_PIPELINE, **_BASE))
entry = _compiled_once(njit(**_PIPELINE, **_BASE))


def _as_compiled(func):
    """Under ``NUMBA_DISABLE_JIT``, ``func`` itself, run with NumPy's warnings off.

    Compiled, integer arithmetic wraps around (the random number generator relies on it) and
    a division by zero gives inf or nan without a word (``error_model="numpy"``); NumPy's
    scalars do the same but warn. Only ``entry`` functions are wrapped: every kernel
    path starts at one, and the others stay the plain functions to step through.
    """
    return np.errstate(all="ignore")(func)  # one per function: NumPy 1.x's does not nest


if config.DISABLE_JIT:
    entry = _as_compiled

if _WITHOUT - PATCHES.keys():
    raise ValueError(f"TWINBENCH_JIT_WITHOUT={','.join(sorted(_WITHOUT))}: no measure called "
                     f"{', '.join(sorted(_WITHOUT - PATCHES.keys()))}; the measures are "
                     f"{', '.join(PATCHES)}")
