"""Set up a kernel state at a moment of a recorded shift (what ``twin.whatif.fork`` starts).

A fork starts from a fresh state (``twin.sim.lowering.new_state``) and, in this order:

1. ``fork_clock(m, s, t)``: the clock, the calendar and the schedule rows at time ``t``;
2. ``fork_fill(m, s, e, n, prod)``: ``n`` parts in the FIFO of element ``e``, and
   ``fork_server(m, s, srv, ...)``: each recorded server's part, phase and failure, and
   ``kernels.workers.fork_task(m, s, srv, slot)``: the worker of a repair (or a manual
   processing) under way, and ``fork_load(m, s, srv, n)``: a batch or disassembly server's
   part made a load of ``n``;
3. ``kernels.engine.start(m, s)``, as for any run;
4. ``fork_repair(m, s, srv, left)`` for a server that is down, or
   ``fork_resume(m, s, srv, ttf)`` for one that is up: its failure clock and its work go on.

Each does what the kernel itself does when a part enters a FIFO, a server takes a part, a
repair or a phase is scheduled (``kernels.flow``): the state a fork builds is one the kernel
could have reached. Called at ``t = 0`` with nothing placed, steps 1-3 give the state
``start`` gives (``tests/kernels/test_fork_kernel.py``). Which state to place comes from the
recording; reading it is ``twin.whatif.fork``'s part, and so are the draws of the residual
times (``rem``, ``left``, ``ttf``), conditional on the time already elapsed.
"""

import numpy as np

from kernels.batching import split_part
from kernels.flow import derived_state, fifo_push, new_part, resume
from kernels.jit import entry, hot
from kernels.queue import push
from kernels.types import (
    BO_SINCE,
    CONVEYOR,
    E_CAL_FAIL,
    E_CONVEYOR,
    E_REPAIR_END,
    EF_CONTENT_SINCE,
    EF_LAST_ENTRY,
    EI_COUNT,
    EI_SCHED_CYCLE,
    EI_SCHED_K,
    F_GAP,
    F_SCHED_PERIOD,
    F_TRAVEL,
    FB_CALENDAR,
    FB_NONE,
    FB_OPERATIONS,
    I_CALENDAR,
    I_FAIL_BASIS,
    I_KIND,
    I_SCHED0,
    I_SCHED_N,
    I_SPLIT,
    L_CREATED,
    O_CONTENT_MAX,
    P_EMPTY,
    P_PROCESS,
    P_WORKING0,
    PF_READY,
    PI_BATCH,
    PI_PROD,
    PI_READY_SEQ,
    S_CAL_K,
    S_SAMPLE_K,
    S_WARM_DONE,
    S_WORKING,
    SF_DONE_T,
    SF_REM,
    SF_SINCE,
    SF_TTF,
    SF_WORK,
    SI_CTOK,
    SI_DEST,
    SI_DOWN,
    SI_EL,
    SI_LAST_PROD,
    SI_OFF,
    SI_PART,
    SI_PHASE,
    SI_STATE,
    SOURCE,
    T_NOW,
    T_OBS_START,
    T_WIP_SINCE,
)
from kernels.workers import fork_workers


@entry
def fork_clock(m, s, t):
    """Move a fresh state ``s`` to time ``t`` (s): the clock, the observation (it starts at
    ``t``, no warm-up), the next sample, the calendar, each server's working time and state,
    each scheduled source's next row, and the workers (``kernels.workers.fork_workers``)."""
    s.sf[T_NOW] = t
    s.sf[T_WIP_SINCE] = t
    s.sf[T_OBS_START] = t
    s.si[S_WARM_DONE] = 1
    s.si[S_SAMPLE_K] = np.searchsorted(m.ts_t, t, side="left")
    s.srv_f[:, SF_SINCE] = t
    s.el_sf[:, EF_CONTENT_SINCE] = t
    s.bom_out[:, BO_SINCE] = t  # assembly inputs (issue 18): their places start empty
    k = np.searchsorted(m.cal_t, t, side="left")
    working = np.int64(m.cal_on[k - 1]) if k > 0 else np.int64(m.params[P_WORKING0])
    s.si[S_CAL_K] = k
    s.si[S_WORKING] = working
    for srv in range(s.srv_i.shape[0]):
        e = s.srv_i[srv, SI_EL]
        s.srv_i[srv, SI_OFF] = 1 if m.el_i[e, I_CALENDAR] == 1 and working == 0 else 0
        s.srv_i[srv, SI_STATE] = derived_state(m, s, srv)
    fork_workers(m, s, working)  # issue 18: all free at home; fork_task puts some to work
    for e in range(m.el_i.shape[0]):
        n = m.el_i[e, I_SCHED_N]
        if m.el_i[e, I_KIND] != SOURCE or n == 0:
            continue
        r0 = m.el_i[e, I_SCHED0]
        period = m.el_f[e, F_SCHED_PERIOD]
        cycle = np.int64(t // period) if period > 0 else 0
        j = np.searchsorted(m.sched_t[r0:r0 + n], t - cycle * period, side="left")
        if period > 0 and j >= n:
            j, cycle = 0, cycle + 1
        s.el_si[e, EI_SCHED_K] = j
        s.el_si[e, EI_SCHED_CYCLE] = cycle


@hot
def _placed_part(m, s, prod):
    """A part of product ``prod`` that was in the line before the fork: made as the kernel
    makes one, but not counted as created after it."""
    p = new_part(m, s, prod)
    s.line_out[L_CREATED] -= 1.0
    return p


@entry
def fork_fill(m, s, e, n, prod):
    """Put ``n`` parts of product ``prod`` into the FIFO of element ``e`` (buffer, conveyor,
    source queue) at ``s.sf[T_NOW]``. On a conveyor they are spread evenly along the belt,
    the first at its end, at least one gap (``F_GAP``) apart, each with its arrival event."""
    t = s.sf[T_NOW]
    conveyor = m.el_i[e, I_KIND] == CONVEYOR
    travel, gap = m.el_f[e, F_TRAVEL], m.el_f[e, F_GAP]
    ready = t
    for i in range(n):
        p = _placed_part(m, s, prod)
        if conveyor:
            ready = max(t + travel * i / n, ready + gap) if i else t
            push(s.heap_t, s.heap_i, s.si, ready, E_CONVEYOR, e, 0)
            s.part_i[p, PI_READY_SEQ] = 0  # its event is in the queue (kernels/conveyor.py)
        s.part_f[p, PF_READY] = ready
        fifo_push(s, e, p)
    s.el_si[e, EI_COUNT] += n
    s.el_out[e, O_CONTENT_MAX] = s.el_si[e, EI_COUNT]
    if conveyor and n > 0:
        s.el_sf[e, EF_LAST_ENTRY] = ready - travel  # when the last part entered


@entry
def fork_server(m, s, srv, phase, prod, rem, work, done_t, down):
    """Put server ``srv`` in a recorded situation at ``s.sf[T_NOW]``, before ``start``.

    ``phase`` is ``P_EMPTY`` (no part), ``P_PROCESS`` (a part of product ``prod`` with
    ``rem`` s of its ``work`` s of processing left) or ``P_DONE`` (a finished part waiting
    since ``done_t`` for the next element). ``down`` 1: failed (``fork_repair`` schedules the
    end of the repair after ``start``). The state code follows (``kernels.flow.derived_state``).
    """
    e = s.srv_i[srv, SI_EL]
    if phase != P_EMPTY:
        p = _placed_part(m, s, prod)
        s.srv_i[srv, SI_PART] = p
        s.srv_i[srv, SI_LAST_PROD] = prod
        s.el_si[e, EI_COUNT] += 1
        s.srv_i[srv, SI_PHASE] = phase
        if phase == P_PROCESS:
            s.srv_f[srv, SF_REM] = rem
            s.srv_f[srv, SF_WORK] = work
        else:
            s.srv_f[srv, SF_DONE_T] = done_t
            lo, hi = m.succ_ptr[e], m.succ_ptr[e + 1]
            s.srv_i[srv, SI_DEST] = m.succ[lo] if hi - lo == 1 else -1
    if down:
        s.srv_i[srv, SI_DOWN] = 1
    s.srv_i[srv, SI_STATE] = derived_state(m, s, srv)
    s.el_out[e, O_CONTENT_MAX] = s.el_si[e, EI_COUNT]


@entry
def fork_load(m, s, srv, n):
    """After ``fork_server`` placed a part on server ``srv`` of a batch or disassembly
    station: make it a load, as ``kernels.batching`` makes one: ``n`` parts of its product
    for a batch station, the parts a disassembly separates it into (``I_SPLIT``, each of its
    output's product) for a disassembly; all in the station's content, none counted as
    created after the fork."""
    e = s.srv_i[srv, SI_EL]
    main = s.srv_i[srv, SI_PART]
    if m.el_i[e, I_SPLIT] > 1:
        last = split_part(m, s, e, main)
        s.line_out[L_CREATED] -= m.el_i[e, I_SPLIT] - 1
    else:
        last = main
        for _ in range(n - 1):
            p = _placed_part(m, s, s.part_i[main, PI_PROD])
            s.part_i[last, PI_BATCH] = p
            last = p
        s.el_si[e, EI_COUNT] += n - 1
    s.part_i[last, PI_BATCH] = -1
    s.el_out[e, O_CONTENT_MAX] = s.el_si[e, EI_COUNT]


@entry
def fork_repair(m, s, srv, left):
    """After ``start``: the repair of server ``srv`` (down) ends in ``left`` s. The calendar
    failure clock ``start`` drew is cancelled: it restarts when the repair ends."""
    s.srv_i[srv, SI_CTOK] += 1
    push(s.heap_t, s.heap_i, s.si, s.sf[T_NOW] + left, E_REPAIR_END, srv, 0)


@entry
def fork_resume(m, s, srv, ttf):
    """After ``start``: server ``srv`` (up) has ``ttf`` left to its next failure, in what
    its failure basis counts (s of operating or calendar time, or operations; ignored
    without failures), and its phase goes on (``kernels.flow.resume``)."""
    t = s.sf[T_NOW]
    basis = m.el_i[s.srv_i[srv, SI_EL], I_FAIL_BASIS]
    if basis == FB_CALENDAR:
        s.srv_i[srv, SI_CTOK] += 1
        push(s.heap_t, s.heap_i, s.si, t + ttf, E_CAL_FAIL, srv, s.srv_i[srv, SI_CTOK])
    elif basis == FB_OPERATIONS:
        s.srv_f[srv, SF_TTF] = max(1.0, float(round(ttf)))
    elif basis != FB_NONE:
        s.srv_f[srv, SF_TTF] = ttf
    if s.srv_i[srv, SI_PHASE] == P_PROCESS:
        resume(m, s, srv)

