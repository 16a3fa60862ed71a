"""The event loop of the twin kernel: ``start`` a run, then ``run_until`` a time, in chunks.

Both functions take the plant as ``types.ModelArrays`` (read only) and the run as
``types.KernelState`` (updated in place), so a run can stop after any chunk (progress,
cancel) and go on, and a run can start from any state ``twin`` builds (a fork of a recorded
shift). ``run_until`` returns ``types.K_DONE`` when it reached the requested time, a ``K_NEED_*``
code when an array is nearly full (the caller grows it and calls again), ``K_PAUSE`` after a
share of work (the caller may cancel, then calls again) or ``K_STALLED`` when the model keeps
firing while simulated time stands (nearly) still: zero or tiny times (docs/semantics.md).
"""

from kernels.assembly import fill_places, start_assemblies
from kernels.batching import start_batches
from kernels.demand import boundaries, start_windows, station_of
from kernels.edges import note_work_held
from kernels.flow import (
    INF,
    after_release_cold,
    begin_process_cold,
    change_content,
    commit_states,
    draw_product,
    fifo_pop,
    fifo_push,
    finish_phase,
    free_part,
    go_down,
    hazard_rate,
    is_running,
    is_unlimited_source,
    new_part,
    offer,
    put,
    resume_cold,
    room,
    start_maintenance,
    start_part,
    suspend,
    take,
    touch,
    wake,
    wake_successors,
)
from kernels.guards import count_events, recheck, room_left
from kernels.jit import cold, entry, hot
from kernels.ordersource import release_orders
from kernels.places import flush_places
from kernels.queue import pop, push
from kernels.rng import sample
from kernels.standby import start_timers, timer_runs_out, warmup_over
from kernels.types import (
    E_ARRIVAL,
    E_CAL_FAIL,
    E_CONVEYOR,
    E_DR,
    E_ES_TIMER,
    E_ES_WARM,
    E_FAIL,
    E_PHASE_END,
    E_PM_DUE,
    E_PM_END,
    E_REPAIR_END,
    E_SHIFT,
    E_WAKE,
    E_WORKER_ARRIVES,
    EF_CONTENT_SINCE,
    EI_ATOK,
    EI_COUNT,
    EI_HEAD,
    EI_QUEUED,
    EI_SCHED_CYCLE,
    EI_SCHED_K,
    F_PM_HOURS,
    F_SCHED_PERIOD,
    FB_CALENDAR,
    FB_NONE,
    FB_OPERATIONS,
    GUARD_EVERY,
    I_ARRIVAL_DIST,
    I_BATCH_MIN,
    I_BOM_N,
    I_CALENDAR,
    I_FAIL_BASIS,
    I_KIND,
    I_ON_BLOCK,
    I_SCHED0,
    I_SCHED_N,
    I_SEQ,
    I_SERVER0,
    I_SERVERS,
    I_TTF_DIST,
    K_DONE,
    K_NEED_HEAP,
    K_NEED_LOG,
    K_NEED_PARTS,
    K_STALLED,
    L_ALL_EVENTS,
    L_EVENTS,
    L_LOST,
    L_OBSERVED,
    L_WIP_INT,
    MOVES_PER_CHECK,
    N_STREAMS,
    O_CONTENT_INT,
    O_CONTENT_MAX,
    O_IN,
    O_LOST,
    O_WEAR,
    O_WORK_END,
    O_WORK_START,
    P_DR,
    P_EMPTY,
    P_ES,
    P_LOG,
    P_PROCESS,
    P_RESERVE_HEAP,
    P_RESERVE_LOG,
    P_RESERVE_PARTS,
    P_SETUP,
    P_WAIT_PROCESS,
    RS_ARRIVAL,
    RS_FAILURE,
    S_CAL_K,
    S_CALL_N,
    S_GOOD_TOTAL,
    S_HEAP_N,
    S_LOG_N,
    S_LOSE,
    S_NFREE,
    S_PULLING,
    S_SAMPLE_K,
    S_STACK_N,
    S_WARM_DONE,
    S_WIP,
    S_WORK,
    S_WORKING,
    SF_REM,
    SF_SINCE,
    SF_START,
    SF_TTF,
    SF_WEAR,
    SI_CTOK,
    SI_DOWN,
    SI_EL,
    SI_OFF,
    SI_OPS_PM,
    SI_PHASE,
    SI_PM,
    SI_PM_DUE,
    SI_STATE,
    SI_TOK,
    SI_WORKER0,
    SOURCE,
    STATION,
    T_NOW,
    T_OBS_START,
    T_WARMUP,
    T_WIP_SINCE,
    TS_GOOD,
    TS_POWER,
    TS_WIP,
    W_REPAIR,
)
from kernels.workers import (
    flush_workers,
    release_worker,
    reset_workers,
    worker_arrives,
    workers_shift,
)


@cold
def _draw_ttf(m, s, srv):
    """Start a new failure cycle of ``srv`` according to the failure basis of its station."""
    e = s.srv_i[srv, SI_EL]
    basis = m.el_i[e, I_FAIL_BASIS]
    if basis == FB_NONE:
        return
    x = sample(m.dist_kind, m.dist_par, m.emp, m.el_i[e, I_TTF_DIST], s.rng,
               e * N_STREAMS + RS_FAILURE)
    if basis == FB_CALENDAR:
        s.srv_i[srv, SI_CTOK] += 1
        t = s.sf[T_NOW] + x / hazard_rate(m, s, srv, e)
        push(s.heap_t, s.heap_i, s.si, t, E_CAL_FAIL, srv, s.srv_i[srv, SI_CTOK])
    elif basis == FB_OPERATIONS:
        s.srv_f[srv, SF_TTF] = max(1.0, float(round(x)))
    else:
        s.srv_f[srv, SF_TTF] = x


@cold
def _next_arrival(m, s, e):
    """Schedule the next arrival of source ``e`` (interarrival draw or next schedule row)."""
    tok = s.el_si[e, EI_ATOK]
    d = m.el_i[e, I_ARRIVAL_DIST]
    if d >= 0:
        gap = sample(m.dist_kind, m.dist_par, m.emp, d, s.rng, e * N_STREAMS + RS_ARRIVAL)
        push(s.heap_t, s.heap_i, s.si, s.sf[T_NOW] + gap, E_ARRIVAL, e, tok)
        return
    n = m.el_i[e, I_SCHED_N]
    k = s.el_si[e, EI_SCHED_K]
    if n == 0 or k >= n:
        return
    t = m.sched_t[m.el_i[e, I_SCHED0] + k] + s.el_si[e, EI_SCHED_CYCLE] * m.el_f[e, F_SCHED_PERIOD]
    push(s.heap_t, s.heap_i, s.si, max(t, s.sf[T_NOW]), E_ARRIVAL, e, tok)


@entry
def start(m, s):
    """Schedule the first events of a fresh run at time ``s.sf[T_NOW]``.

    Draws every server's first failure and maintenance times, each source's first arrival
    and the first shift change, and puts every element on the work stack so that the first
    ``run_until`` fills the line from the unlimited sources.
    """
    now = s.sf[T_NOW]
    n_el = m.el_i.shape[0]
    for srv in range(s.srv_i.shape[0]):
        _draw_ttf(m, s, srv)
        e = s.srv_i[srv, SI_EL]
        if m.el_f[e, F_PM_HOURS] > 0.0:
            push(s.heap_t, s.heap_i, s.si, now + m.el_f[e, F_PM_HOURS] * 3600.0, E_PM_DUE, srv, 0)
    for e in range(n_el):
        if m.el_i[e, I_KIND] == SOURCE and not is_unlimited_source(m, e):
            if not (m.el_i[e, I_CALENDAR] and s.si[S_WORKING] == 0):
                _next_arrival(m, s, e)
        wake(s, e)
    k = s.si[S_CAL_K]
    if k < m.cal_t.shape[0]:
        push(s.heap_t, s.heap_i, s.si, m.cal_t[k], E_SHIFT, k, 0)
    # hooks: standby (issue 19), servers starved from the start; demand response, the first
    # window boundary
    if m.features is not None and m.params[P_ES] > 0.0:
        start_timers(m, s)
    if m.features is not None and m.params[P_DR] > 0.0:
        start_windows(m, s)


@cold
def _shift(m, s, k):
    """Working time begins or ends (calendar toggle ``k``) for the elements that follow it."""
    on = m.cal_on[k]
    s.si[S_WORKING] = on
    s.si[S_CAL_K] = k + 1
    if k + 1 < m.cal_t.shape[0]:
        push(s.heap_t, s.heap_i, s.si, m.cal_t[k + 1], E_SHIFT, k + 1, 0)
    if m.features is not None:  # hook: workers (issue 18)
        workers_shift(m, s, on)
    for e in range(m.el_i.shape[0]):
        if m.el_i[e, I_CALENDAR] == 0:
            continue
        kind = m.el_i[e, I_KIND]
        if kind == STATION:
            a = m.el_i[e, I_SERVER0]
            for srv in range(a, a + m.el_i[e, I_SERVERS]):
                if on:
                    s.srv_i[srv, SI_OFF] = 0
                    resume_cold(m, s, srv)
                else:
                    # work that ends as the shift ends is done, not carried over: its
                    # phase end is still queued for this instant and is left to fire
                    if is_running(s, srv) and (s.srv_f[srv, SF_START] + s.srv_f[srv, SF_REM]
                                               > s.sf[T_NOW]):
                        suspend(m, s, srv)
                    s.srv_i[srv, SI_OFF] = 1
                touch(s, srv)
            wake(s, e)
        elif kind == SOURCE:
            if is_unlimited_source(m, e):
                if on:
                    wake_successors(m, s, e, -1)
            else:
                s.el_si[e, EI_ATOK] += 1  # cancels the pending arrival, or a stale one
                if on:
                    _next_arrival(m, s, e)


@cold
def _arrival(m, s, e):
    d = m.el_i[e, I_ARRIVAL_DIST]
    if d >= 0:
        p = new_part(m, s, draw_product(m, s, e))
        fifo_push(s, e, p)
        change_content(m, s, e, 1)
        s.el_out[e, O_IN] += 1.0
    elif m.features is not None and m.el_i[e, I_SEQ] >= 0:  # hook: orders (issue 18), each row once
        release_orders(m, s, e)
    else:
        row = m.el_i[e, I_SCHED0] + s.el_si[e, EI_SCHED_K]
        for _ in range(m.sched_q[row]):
            p = new_part(m, s, m.sched_p[row])
            fifo_push(s, e, p)
            change_content(m, s, e, 1)
            s.el_out[e, O_IN] += 1.0
        k = s.el_si[e, EI_SCHED_K] + 1
        if k >= m.el_i[e, I_SCHED_N] and m.el_f[e, F_SCHED_PERIOD] > 0.0:
            k = 0
            s.el_si[e, EI_SCHED_CYCLE] += 1
        s.el_si[e, EI_SCHED_K] = k
    _next_arrival(m, s, e)
    wake_successors(m, s, e, -1)


@cold
def _lose_blocked_arrivals(m, s, e):
    """Arrivals a 'lose' source could not pass on are counted as lost, never kept."""
    while s.el_si[e, EI_HEAD] >= 0:
        p = fifo_pop(s, e)
        change_content(m, s, e, -1)
        free_part(s, p)
        s.el_out[e, O_LOST] += 1.0
        s.line_out[L_LOST] += 1.0


@cold
def _rare_event(m, s, kind, obj, tok):
    """Failures, repairs, maintenance, arrivals and shift changes; False when stale."""
    if kind == E_FAIL:
        if tok != s.srv_i[obj, SI_TOK]:
            return False
        s.line_out[L_EVENTS] += 1.0
        suspend(m, s, obj)
        s.srv_f[obj, SF_TTF] = 0.0
        go_down(m, s, obj)
    elif kind == E_CAL_FAIL:
        if tok != s.srv_i[obj, SI_CTOK]:
            return False
        s.line_out[L_EVENTS] += 1.0
        if is_running(s, obj):
            suspend(m, s, obj)
        go_down(m, s, obj)
    elif kind == E_REPAIR_END:
        s.line_out[L_EVENTS] += 1.0
        s.srv_i[obj, SI_DOWN] = 0
        if m.features is not None and s.srv_i[obj, SI_WORKER0 + W_REPAIR] >= 0:  # hook: workers
            release_worker(m, s, obj, W_REPAIR)
        _draw_ttf(m, s, obj)
        touch(s, obj)
        ph = s.srv_i[obj, SI_PHASE]
        if ph == P_SETUP or ph == P_PROCESS:
            resume_cold(m, s, obj)
        elif ph == P_EMPTY and s.srv_i[obj, SI_PM] == 0:
            after_release_cold(m, s, obj)
    elif kind == E_PM_END:
        s.srv_i[obj, SI_PM] = 0
        s.srv_f[obj, SF_WEAR] = 0.0
        s.srv_i[obj, SI_OPS_PM] = 0
        touch(s, obj)
        if s.srv_i[obj, SI_DOWN] == 0 and s.srv_i[obj, SI_PHASE] == P_EMPTY:
            after_release_cold(m, s, obj)
    elif kind == E_PM_DUE:
        e = s.srv_i[obj, SI_EL]
        t = s.sf[T_NOW] + m.el_f[e, F_PM_HOURS] * 3600.0
        push(s.heap_t, s.heap_i, s.si, t, E_PM_DUE, obj, 0)
        s.srv_i[obj, SI_PM_DUE] |= 1
        if (s.srv_i[obj, SI_PHASE] == P_EMPTY and s.srv_i[obj, SI_DOWN] == 0
                and s.srv_i[obj, SI_PM] == 0):
            start_maintenance(m, s, obj)
    elif kind == E_ARRIVAL:
        if tok != s.el_si[obj, EI_ATOK]:
            return False
        _arrival(m, s, obj)
    elif kind == E_SHIFT:
        _shift(m, s, obj)
    elif m.features is None:
        pass  # the events below are the features' (kernels.types.uses_features)
    elif kind == E_WORKER_ARRIVES:  # hook: workers (issue 18)
        ph = worker_arrives(m, s, obj, tok)
        if ph == P_WAIT_PROCESS:
            begin_process_cold(m, s, obj)
        elif ph >= 0:
            resume_cold(m, s, obj)
        touch(s, obj)
    elif kind == E_ES_TIMER:  # hook: standby (issue 19)
        if not timer_runs_out(m, s, obj, tok):
            return False
        touch(s, obj)
    elif kind == E_ES_WARM:  # hook: standby (issue 19), the part starts
        warmup_over(s, obj)
        start_part(m, s, obj, False)
        touch(s, obj)
    elif kind == E_DR:  # hook: demand response (issue 19), windows start or end
        _demand(m, s, obj)
    return True


@cold
def _demand(m, s, k):
    """``E_DR``: the window boundaries of this instant (kernels.demand); then the servers
    of their stations are committed, and the empty ones not paused take work."""
    for r in range(k, boundaries(m, s, k)):
        e = station_of(m, r)
        a = m.el_i[e, I_SERVER0]
        for srv in range(a, a + m.el_i[e, I_SERVERS]):
            touch(s, srv)
            if (s.srv_i[srv, SI_PHASE] == P_EMPTY and s.srv_i[srv, SI_PM] == 0
                    and s.srv_i[srv, SI_DOWN] == 0):
                after_release_cold(m, s, srv)  # resumed (or maintenance due)


@hot
def _dispatch(m, s, kind, obj, tok):
    """Handle one event; returns False for a stale (cancelled) one."""
    if kind == E_PHASE_END:
        if tok != s.srv_i[obj, SI_TOK]:
            return False
        finish_phase(m, s, obj)
    elif kind == E_CONVEYOR:
        wake(s, obj)
        wake_successors(m, s, obj, -1)
    elif kind == E_WAKE:
        wake(s, obj)
    else:
        return _rare_event(m, s, kind, obj, tok)
    return True


@cold
def _sample(m, s, k, t):
    """Write time-series row ``k`` for time ``t`` (the state is constant since the last event)."""
    s.ts_line[k, TS_GOOD] = s.si[S_GOOD_TOTAL]
    s.ts_line[k, TS_WIP] = s.si[S_WIP]
    n_el = m.el_i.shape[0]
    power = 0.0
    for e in range(n_el):
        s.ts_content[k, e] = s.el_si[e, EI_COUNT]
        if m.el_i[e, I_KIND] != STATION:
            continue
        energy = 0.0
        for st in range(m.power.shape[1]):
            energy += m.power[e, st] * (s.st_warm[e, st] + s.st_time[e, st])
        wear = 0.0
        a = m.el_i[e, I_SERVER0]
        n = m.el_i[e, I_SERVERS]
        for srv in range(a, a + n):
            st = s.srv_i[srv, SI_STATE]
            energy += m.power[e, st] * (t - s.srv_f[srv, SF_SINCE])
            power += m.power[e, st]
            wear += s.srv_f[srv, SF_WEAR]
        s.ts_energy[k, e] = energy / 3600.0
        s.ts_wear[k, e] = wear / n
    s.ts_line[k, TS_POWER] = power


@cold
def _reset_statistics(m, s, tw):
    """Discard what happened before the end of the warm-up ``tw``."""
    n_el = m.el_i.shape[0]
    for srv in range(s.srv_i.shape[0]):
        e = s.srv_i[srv, SI_EL]
        s.st_time[e, s.srv_i[srv, SI_STATE]] += tw - s.srv_f[srv, SF_SINCE]
        s.srv_f[srv, SF_SINCE] = tw
    if m.features is not None:  # hook (issue 18): assembly inputs
        flush_places(m, s, tw, True)
    for e in range(n_el):  # the time before the warm-up counts for the time series only
        for st in range(s.st_time.shape[1]):
            s.st_warm[e, st] += s.st_time[e, st]
    s.st_time[:, :] = 0.0
    s.el_out[:, :] = 0.0
    note_work_held(m, s, tw, O_WORK_START)  # before the servers' states move on
    s.line_out[:] = 0.0
    for e in range(n_el):
        s.el_sf[e, EF_CONTENT_SINCE] = tw
        s.el_out[e, O_CONTENT_MAX] = s.el_si[e, EI_COUNT]
    s.sf[T_WIP_SINCE] = tw
    s.sf[T_OBS_START] = tw
    s.si[S_WARM_DONE] = 1
    if m.features is not None:  # hook: workers (issue 18)
        reset_workers(m, s, tw)


@hot
def _clock_due(m, s):
    """The time after which the clock has something to do before an event: the next sample
    or the end of the warm-up (inf: neither). An event at ``t > _clock_due`` calls
    ``_advance_clock`` first, which is the one test per event for both."""
    due = INF
    k = s.si[S_SAMPLE_K]
    if k < m.ts_t.shape[0]:
        due = m.ts_t[k]
    if s.si[S_WARM_DONE] == 0 and s.sf[T_WARMUP] < due:
        due = s.sf[T_WARMUP]
    return due


@cold
def _advance_clock(m, s, t):
    """Take samples and the warm-up reset that fall before time ``t``; returns the next
    ``_clock_due``."""
    if s.si[S_WARM_DONE] == 0 and t > s.sf[T_WARMUP]:
        _reset_statistics(m, s, s.sf[T_WARMUP])
    k = s.si[S_SAMPLE_K]
    n = m.ts_t.shape[0]
    while k < n and m.ts_t[k] < t:
        _sample(m, s, k, m.ts_t[k])
        k += 1
    s.si[S_SAMPLE_K] = k
    return _clock_due(m, s)


@hot
def _flush(m, s):
    """Bring every time integral up to now, so that the results read consistently (inlined
    into ``_begin`` and ``_end``, its callers)."""
    now = s.sf[T_NOW]
    for srv in range(s.srv_i.shape[0]):
        e = s.srv_i[srv, SI_EL]
        st = s.srv_i[srv, SI_STATE]
        dt = now - s.srv_f[srv, SF_SINCE]
        s.st_time[e, st] += dt
        s.srv_f[srv, SF_SINCE] = now
    for e in range(m.el_i.shape[0]):
        s.el_out[e, O_CONTENT_INT] += s.el_si[e, EI_COUNT] * (now - s.el_sf[e, EF_CONTENT_SINCE])
        s.el_sf[e, EF_CONTENT_SINCE] = now
        if m.el_i[e, I_KIND] == STATION:
            a = m.el_i[e, I_SERVER0]
            n = m.el_i[e, I_SERVERS]
            w = 0.0
            for srv in range(a, a + n):
                w += s.srv_f[srv, SF_WEAR]
            s.el_out[e, O_WEAR] = w / n
    if m.features is not None:  # hook (issue 18): assembly inputs
        flush_places(m, s, now, False)
    s.line_out[L_WIP_INT] += s.si[S_WIP] * (now - s.sf[T_WIP_SINCE])
    s.sf[T_WIP_SINCE] = now
    if m.features is not None:  # hook: workers (issue 18)
        flush_workers(m, s)
    s.line_out[L_OBSERVED] = max(now - s.sf[T_OBS_START], 0.0)
    note_work_held(m, s, now, O_WORK_END)


@hot
def _reach(m, s, t_stop):
    """The last event before ``t_stop`` is done: bring the clock to ``t_stop`` (inlined into
    ``_end``, its one caller)."""
    commit_states(m, s)  # a stop to grow an array may fall inside an instant: not this one
    _advance_clock(m, s, t_stop)
    k = s.si[S_SAMPLE_K]
    if k < m.ts_t.shape[0] and m.ts_t[k] == t_stop:
        _sample(m, s, k, t_stop)
        s.si[S_SAMPLE_K] = k + 1
    if s.si[S_WARM_DONE] == 0 and t_stop >= s.sf[T_WARMUP]:
        _reset_statistics(m, s, s.sf[T_WARMUP])
    s.sf[T_NOW] = max(s.sf[T_NOW], t_stop)


@cold
def _begin(m, s):
    """``run_until``'s first steps, one call: ``(code, due)``, the code of ``room_left``
    (``kernels.guards``; the run is flushed when it is not ``K_DONE``) and the
    ``_clock_due``. Each call of a ``cold`` function passes the two named tuples as
    hundreds of scalars, so ``run_until`` makes as few call sites as it can."""
    s.si[S_CALL_N] = 0
    code = room_left(m, s)
    if code != K_DONE:
        _flush(m, s)
    else:
        _resume_pulling(s)
    return code, _clock_due(m, s)


@cold
def _end(m, s, code, t_stop):
    """``run_until``'s last steps, one call: the clock to ``t_stop`` when the call reached
    it (``code`` is ``K_DONE``), then every time integral brought up to now. ``_reach`` and
    ``_flush`` are inlined here: as ``cold`` functions of their own, each was compiled
    again, and linked and optimised again into every caller's module (benchmarks/README.md,
    "The cold compile back")."""
    if code == K_DONE:
        _reach(m, s, t_stop)
    _flush(m, s)


@hot
def _resume_pulling(s):
    """The element whose pulling the last call stopped in (``S_PULLING``) goes on first: it
    goes on top of the work stack, its ``EI_QUEUED`` count one up. It may be on the stack
    already (woken while it pulled, before the stop): its pop here leaves that entry and its
    count as they were, so it pulls again at that entry, as it would have without the stop.
    So the run's one loop pulls it (one call site of ``_pull``: benchmarks/README.md), and
    the stack holds one entry more than there are elements (``twin.sim.lowering``)."""
    x = s.si[S_PULLING] - 1
    if x >= 0:
        s.si[S_PULLING] = 0
        n = s.si[S_STACK_N]
        s.stack[n] = x
        s.si[S_STACK_N] = n + 1
        s.el_si[x, EI_QUEUED] += 1


@hot
def _pull(m, s, x, moved):
    """``x`` pulls parts, from the predecessor whose part has waited longest, while it has
    room; ``moved`` counts the moves since the room was last checked.

    Returns ``(code, moved)``: ``K_DONE``, or the code of a stop (for room, a pause or a
    stall) before the next move, after which ``x`` must go on pulling (``S_PULLING``).
    The count stays a local (a store into the state on every move measured 49 instructions
    per event more: benchmarks/README.md).
    """
    a = m.pred_ptr[x]
    b = m.pred_ptr[x + 1]
    # hook (issue 18): an assembly has no predecessors in ``pred`` (it pulls through its
    # bill of materials), so only elements without any (sources) pay for this test
    if m.features is not None and a == b and m.el_i[x, I_BOM_N] > 0:
        return _pull_assembly(m, s, x, moved)
    while a < b:
        srv_in = room(m, s, x)
        if srv_in < 0:
            break
        best = INF
        best_p = -1
        best_srv = -1
        for k in range(a, b):
            p = m.pred[k]
            r, srv = offer(m, s, p, x)
            if r < best:
                best = r
                best_p = p
                best_srv = srv
        if best_p < 0:
            break
        moved += 1
        if moved > MOVES_PER_CHECK:
            code = recheck(m, s, moved, best_p, x)
            if code != K_DONE:
                return code, moved
            moved = 0
        put(m, s, x, take(m, s, best_p, best_srv, x), srv_in)
        if b - a == 1 and best_srv >= 0 and m.el_i[best_p, I_SERVERS] == 1:
            break  # the only server of the only predecessor was just emptied
        if m.el_i[x, I_SERVERS] == 1 and m.el_i[x, I_KIND] == STATION:
            break  # a single-server station is full once it took a part
    return K_DONE, moved


@cold
def _pull_assembly(m, s, x, moved):
    """``_pull`` for an assembly (kernels/assembly.py): fill its input places, checking the
    room every ``MOVES_PER_CHECK`` moves as ``_pull`` does, then start what can start; a
    start empties places, so the assembly pulls again."""
    while True:
        p, moved = fill_places(m, s, x, moved)
        if p < 0:
            break
        code = recheck(m, s, moved, p, x)
        if code != K_DONE:
            return code, moved
        moved = 0
    # hook: batching (issue 18), a batch or disassembly station is an assembly of one input
    batching = m.el_i[x, I_BATCH_MIN] > 0
    started = start_batches(m, s, x) if batching else start_assemblies(m, s, x)
    if started > 0:
        wake(s, x)
    return K_DONE, moved


@entry
def run_until(m, s, t_stop):
    """Process events up to and including time ``t_stop`` (s).

    Returns
    -------
    int
        ``K_DONE``; ``K_NEED_PARTS``/``K_NEED_HEAP``/``K_NEED_LOG`` when the part pool,
        the event queue or the state log must grow before the run can go on;
        ``K_PAUSE`` after ``PAUSE_EVERY`` units of work (call again); ``K_STALLED`` when
        the model keeps firing without simulated time passing (``S_STALL_*`` say where).
        Each growable array is checked for its reserve (``P_RESERVE_*``) before every
        event and every ``MOVES_PER_CHECK`` moves of a cascade, so no array is ever
        written past its end; a call that stops (any code but ``K_DONE``) may stop inside
        an instant, and the next call goes on from exactly there.
    """
    reserve_parts = int(m.params[P_RESERVE_PARTS])
    heap_full = s.heap_t.shape[0] - int(m.params[P_RESERVE_HEAP])  # arrays grow between calls
    log_full = s.log_t.shape[0] - int(m.params[P_RESERVE_LOG])
    log_on = m.params[P_LOG] > 0.0
    code, due = _begin(m, s)
    if code != K_DONE:
        return code
    # a previous call may have stopped inside an instant: after an arrival at a 'lose'
    # source, and in the middle of an element's pulling
    kind = -1
    obj = s.si[S_LOSE] - 1
    if obj >= 0:
        kind = E_ARRIVAL
        s.si[S_LOSE] = 0
    # events since the last look at the stall counter; those beyond ``counted`` are still to
    # be added to L_ALL_EVENTS (added in bulk, off the path of every event)
    work = s.si[S_WORK]
    counted = work
    moved = 0
    x = -1
    while True:
        # settle the line after the last event (and, on the first call, after start): each
        # element on the work stack pulls while it has room (first the one whose pulling the
        # last call stopped in: ``_begin`` put it on top)
        while s.si[S_STACK_N] > 0:
            n = s.si[S_STACK_N] - 1
            s.si[S_STACK_N] = n
            x = s.stack[n]
            s.el_si[x, EI_QUEUED] -= 1  # 0, or 1 for a resumed element woken before its stop
            code, moved = _pull(m, s, x, moved)
            if code != K_DONE:
                break
        if code != K_DONE:
            break
        if kind == E_ARRIVAL and m.el_i[obj, I_ON_BLOCK] == 1:
            _lose_blocked_arrivals(m, s, obj)
        kind = -1
        if s.si[S_HEAP_N] == 0 or s.heap_t[0] > s.sf[T_NOW]:
            # the instant is over: only now do states count (no zero-length states)
            commit_states(m, s)
        if s.si[S_NFREE] < reserve_parts:
            code = K_NEED_PARTS
            break
        if s.si[S_HEAP_N] > heap_full:
            code = K_NEED_HEAP
            break
        if log_on and s.si[S_LOG_N] > log_full:
            code = K_NEED_LOG
            break
        moved = 0
        if s.si[S_HEAP_N] == 0 or s.heap_t[0] > t_stop:
            break
        if s.heap_t[0] > due:
            s.line_out[L_ALL_EVENTS] += work - counted  # before a warm-up reset zeroes it
            counted = work
            due = _advance_clock(m, s, s.heap_t[0])
        t, kind, obj, tok = pop(s.heap_t, s.heap_i, s.si)
        s.sf[T_NOW] = t
        if not _dispatch(m, s, kind, obj, tok):
            kind = -1
            continue
        work += 1
        if work >= GUARD_EVERY:
            s.line_out[L_ALL_EVENTS] += work - counted
            code = count_events(m, s, work, kind, obj)
            work = 0
            counted = 0
            if code != K_DONE:
                break
    s.line_out[L_ALL_EVENTS] += work - counted
    s.si[S_WORK] = work
    if code != K_DONE and code != K_STALLED:
        if moved > MOVES_PER_CHECK:  # stopped before a move: x goes on pulling first
            s.si[S_PULLING] = x + 1
        if kind == E_ARRIVAL:
            s.si[S_LOSE] = obj + 1
    _end(m, s, code, t_stop)
    return code
