"""Compile (or load from the disk cache) every kernel ahead of the first real run.

The workbench calls ``warm_up`` on a worker thread at start-up (napari's
``warmup_numba_cache``), so the first click on Run never waits for the compiler.
"""

import gc
import glob
import os
import subprocess
import sys
import threading

import numpy as np

from kernels import types as kt


def cache_is_warm() -> bool:
    """True when the disk cache already holds a compiled ``run_until``."""
    folder = os.environ.get("NUMBA_CACHE_DIR", "")
    return bool(glob.glob(os.path.join(folder, "**", "engine.run_until*.nbi"), recursive=True))


def tiny_model(features: bool = False) -> tuple[kt.ModelArrays, kt.KernelState]:
    """A one-station line as raw arrays, built without ``twin`` (kernels never import it);
    with ``features``, typed as a line that uses the features of issues 18-19 (the kernel
    with their hooks: ``kernels.types.uses_features``), though it uses none."""
    n_el, n_srv = 3, 1
    el_i = np.full((n_el, kt.N_I), 0, np.int64)
    el_i[:, kt.I_KIND] = (kt.SOURCE, kt.STATION, kt.SINK)
    el_i[:, kt.I_ARRIVAL_DIST] = -1
    el_i[:, [kt.I_TTF_DIST, kt.I_TTR_DIST, kt.I_PM_DIST, kt.I_CAPACITY, kt.I_OUT_PROD,
              kt.I_SEQ]] = -1
    el_i[1, kt.I_SERVERS] = 1
    el_i[:, kt.I_OFF_STATE] = kt.OFF
    params = np.zeros(kt.N_P)
    params[[kt.P_WARMUP, kt.P_LOG, kt.P_RESERVE_PARTS, kt.P_RESERVE_HEAP, kt.P_WORKING0,
            kt.P_RESERVE_LOG, kt.P_STALL_LIMIT]] = 1.0, 1.0, 8.0, 16.0, 1.0, 16.0, kt.STALL_BASE
    m = kt.ModelArrays(
        el_i=el_i, el_f=np.zeros((n_el, kt.N_F)),
        succ_ptr=np.array([0, 1, 2, 2]), succ=np.array([1, 2]), succ_cum=np.ones(2),
        pred_ptr=np.array([0, 0, 1, 2]), pred=np.array([0, 1]),
        dist_kind=np.array([kt.D_EXPONENTIAL]), dist_par=np.array([[1.0, 0, 0, 0]]),
        emp=np.zeros(1), proc_dist=np.zeros((n_el, 1), np.int64),
        setup_dist=np.full((n_el, 1), -1, np.int64), power=np.ones((n_el, kt.N_STATES)),
        mix_cum=np.ones((n_el, 1)), sched_t=np.zeros(1), sched_p=np.zeros(1, np.int64),
        sched_q=np.zeros(1, np.int64), cal_t=np.zeros(0), cal_on=np.zeros(0, np.int64),
        ts_t=np.arange(3) * 5.0, bom=np.full((1, kt.N_BM), -1, np.int64), params=params,
        features=np.ones(1, np.int64) if features else None,
    )
    n_p, n_h, n_s = 64, 64, 3
    part_i = np.full((n_p, kt.N_PI), -1, np.int64)
    part_i[:, kt.PI_NEXT] = np.arange(1, n_p + 1)
    part_i[-1, kt.PI_NEXT] = -1
    si = np.zeros(kt.N_S, np.int64)
    si[kt.S_NFREE] = n_p
    si[kt.S_WORKING] = 1
    sf = np.zeros(kt.N_T)
    sf[kt.T_WARMUP] = 1.0
    srv_i = np.zeros((n_srv, kt.N_SI), np.int64)
    srv_i[0, kt.SI_EL] = 1
    srv_i[0, [kt.SI_PART, kt.SI_LAST_PROD, kt.SI_DEST, kt.SI_WORKER0, kt.SI_WORKER0 + 1]] = -1
    srv_i[0, kt.SI_STATE] = kt.STARVED
    el_si = np.zeros((n_el, kt.N_EI), np.int64)
    el_si[:, [kt.EI_HEAD, kt.EI_TAIL]] = -1
    el_si[:, kt.EI_PEND_DEST] = -2
    bom_out = np.zeros((1, kt.N_BO))
    bom_out[:, [kt.BS_HEAD, kt.BS_TAIL]] = -1.0
    el_sf = np.zeros((n_el, kt.N_EF))
    el_sf[:, kt.EF_DR_SPEED] = 1.0
    rng = np.arange(1, n_el * kt.N_STREAMS * 4 + 1, dtype=np.uint64).reshape(-1, 4)
    s = kt.KernelState(
        si=si, sf=sf, srv_i=srv_i, srv_f=np.zeros((n_srv, kt.N_SF)), el_si=el_si,
        el_sf=el_sf, part_i=part_i, part_f=np.zeros((n_p, kt.N_PF)),
        heap_t=np.zeros(n_h), heap_i=np.zeros((n_h, 4), np.int64), rng=rng,
        el_out=np.zeros((n_el, kt.N_O)), st_time=np.zeros((n_el, kt.N_STATES)),
        st_warm=np.zeros((n_el, kt.N_STATES)), line_out=np.zeros(kt.N_L),
        stack=np.zeros(n_el + 1, np.int64), dirty=np.zeros(n_srv, np.int64),
        ts_line=np.zeros((n_s, kt.N_TS)), ts_energy=np.zeros((n_s, n_el)),
        ts_wear=np.zeros((n_s, n_el)), ts_content=np.zeros((n_s, n_el)),
        log_t=np.zeros(256), log_i=np.zeros((256, kt.N_LG), np.int64),
        wkr=np.zeros((0, kt.N_WKR)),
        bom_out=bom_out,
        ord_out=np.zeros((1, kt.N_OS)),
    )
    return m, s


# Whether ``start`` and ``run_until`` are compiled (or loaded) in this process, for lines
# without and with the features of issues 18-19 (``kernels.types.uses_features``)
_ready = {False: threading.Event(), True: threading.Event()}
# how many ``warm_up`` calls are compiling (or loading) a kernel in this process now
_compiling = [0]
_compiling_lock = threading.Lock()


def is_compiling() -> bool:
    """Whether a kernel is being compiled (or loaded from the disk cache) in this process now.

    A run started meanwhile waits for it: the first start with an empty cache spends tens of
    seconds here, and the workbench says so instead of "estimating the run time…".
    """
    return _compiling[0] > 0


def _compile_elsewhere(variants: tuple[bool, ...]) -> subprocess.Popen | None:
    """Compile part of the kernel in a second process while this one compiles ``run_until``.

    With a cold cache and two cores, the other process compiles ``start`` and the rare
    events (failures, repairs, arrivals, shift changes: ``compile_rest``), which
    ``run_until`` calls from deep inside its event loop: by the time this process's compile
    reaches them, most are in the disk cache and are loaded, not compiled. Measured with
    ``twinbench run projects/bottling-line`` on an empty cache, three interleaved runs each:
    14.2-14.6 s alone, 12.0-13.3 s with ``start`` compiled elsewhere, 10.0-11.1 s with the
    rare events too. The other process only ever adds to the cache: if it fails or is slow,
    this one compiles whatever it finds missing, as it would alone.
    """
    if cache_is_warm() or (os.cpu_count() or 1) < 2 or _jit_disabled():
        return None
    code = ("from kernels.warmup import compile_rest\n"
            f"for f in {variants!r}: compile_rest(f)")
    try:
        return subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        return None


def _jit_disabled() -> bool:
    """``NUMBA_DISABLE_JIT`` as Numba reads it (an integer; unreadable is 0), without
    importing Numba: then the kernels are the Python functions, with nothing to compile."""
    try:
        return bool(int(os.environ.get("NUMBA_DISABLE_JIT", "0")))
    except ValueError:
        return False


def _argument_types(features: bool = False):
    """Numba types of the plant and the run, as every real run passes them (for a line
    with or without the features of issues 18-19)."""
    from numba import typeof

    return tuple(typeof(a) for a in tiny_model(features))


def compile_rest(features: bool = False) -> None:
    """Compile (or load) the rare events of ``run_until`` (with the argument types its
    event loop passes), then ``start``, then the functions that set up a fork's state
    (``kernels.fork``, with the types ``twin.whatif.fork.build_state`` passes: else the
    first fork from a recording compiled them for about 8 s); nothing runs."""
    from numba import types

    from kernels import fork
    from kernels.engine import _rare_event, start

    plant_and_run = _argument_types(features)
    i, f = types.int64, types.float64
    _rare_event.compile((*plant_and_run, i, i, i))
    start.compile(plant_and_run)
    fork.fork_clock.compile((*plant_and_run, f))
    fork.fork_fill.compile((*plant_and_run, i, i, i))
    fork.fork_server.compile((*plant_and_run, i, i, i, f, f, f, i))
    if features:  # a load in a batch station: only lines with the features have them
        fork.fork_load.compile((*plant_and_run, i, i))
    fork.fork_repair.compile((*plant_and_run, i, f))
    fork.fork_resume.compile((*plant_and_run, i, f))


def _reap(helper: subprocess.Popen | None) -> None:
    if helper is None:
        return
    try:
        helper.wait(timeout=60.0)
    except subprocess.TimeoutExpired:  # it only adds to the cache: nothing is lost
        helper.kill()
        helper.wait()


def warm_up(variants: tuple[bool, ...] = (False, True), on_ready=None) -> None:
    """Run the tiny model once: compiles every kernel, or loads it from the disk cache.

    ``variants`` says which kernels: for lines without the features of issues 18-19
    (``False``: the one most lines need, first) and with them (``True``); each is compiled
    once (``kernels.jit.DropAbsentFeatures``). With a cold cache, part of each kernel
    compiles in a second process meanwhile (``_compile_elsewhere``). ``on_ready(features)``,
    when given, is called on the compiling thread as soon as each variant is ready: the
    workbench's plain kernel is ready (and says so) about as long before the one with the
    features as it takes to compile that one.

    Python's cyclic garbage collector is off meanwhile: Numba's compiler makes millions of
    short-lived objects, and the collector ran 2,800 times for 4 s of a 26 s compile.
    It also runs on a thread of its own. Numba's compiler recurses deeply, and CPython 3.11 maps
    and frees a 16 KB frame-stack chunk every time a recursion crosses a chunk boundary. How
    often that happens depends on how deep the caller already is: compiling from inside
    ``twinbench run`` cost 5 s of page faults on top of 27 s (``/usr/bin/time``: 1.04 M minor
    faults against 0.34 M on a new thread). A new thread starts with an empty stack.
    """

    failed = []
    variants = tuple(f for f in variants if not _ready[f].is_set())

    def run_tiny_models():
        helper = _compile_elsewhere(variants)  # before numba loads: the other one starts sooner
        try:
            from numba import types

            from kernels.engine import run_until, start

            for features in variants:
                if helper is not None:  # run_until first: start is being compiled elsewhere
                    run_until.compile((*_argument_types(features), types.float64))
                m, s = tiny_model(features)
                start(m, s)
                run_until(m, s, 10.0)
                _ready[features].set()
                if on_ready is not None:
                    on_ready(features)
        except BaseException as e:  # handed to the caller's thread below
            failed.append(e)
        finally:
            _reap(helper)

    if not variants:
        return
    collecting = gc.isenabled()
    gc.disable()
    with _compiling_lock:
        _compiling[0] += 1
    try:
        worker = threading.Thread(target=run_tiny_models, name="twinbench-kernel-compile")
        worker.start()
        worker.join()
    finally:
        with _compiling_lock:
            _compiling[0] -= 1
        if collecting:
            gc.enable()
    if failed:
        raise failed[0]


def compiled_kernels(arrays: kt.ModelArrays | None = None):
    """``(start, run_until)`` of ``kernels.engine``, after ``warm_up`` in this process of
    the kernel for lines like ``arrays`` (None: a line without the features)."""
    features = arrays is not None and arrays.features is not None
    if not _ready[features].is_set():
        warm_up((features,))
    from kernels.engine import run_until, start

    return start, run_until
