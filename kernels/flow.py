"""How parts move and how servers change state: the semantics of the twin kernel.

Movement is pull-driven. When an element may have room (a server freed, a buffer slot
emptied, a conveyor entry cleared) it is put on a work stack; the cascade then lets it pull,
from the predecessor whose part has waited longest, for as long as it has room. An element
that has a new part to offer wakes the successor that part is meant for. Station servers
keep a finished part until the successor takes it (blocking after service), and a station
connected straight to another has no buffer between them. Server states are committed once
an instant is over, so zero-length states never enter the statistics or the log.
States are committed when the clock is about to move on, after every event of an instant.
See ``docs/semantics.md``.
"""

import numpy as np

from kernels.conveyor import await_entry, await_head, enter, head_leaves
from kernels.demand import pause_instead
from kernels.jit import cold, hot
from kernels.orders import order_part_leaves, take_sequenced
from kernels.queue import push, schedule
from kernels.rng import draw, draw_uniform, sample, uniform01
from kernels.routing import route
from kernels.standby import start_warmup, state_changed
from kernels.statelog import write_log
from kernels.types import (
    BLOCKED,
    BUFFER,
    BUSY,
    CONVEYOR,
    DOWN,
    E_FAIL,
    E_PHASE_END,
    E_PM_END,
    EF_CONTENT_SINCE,
    EF_DR_SPEED,
    EF_LAST_ENTRY,
    EF_LAST_TAKE,
    EI_COUNT,
    EI_HEAD,
    EI_PEND_DEST,
    EI_QUEUED,
    EI_TAIL,
    F_GAP,
    F_SCRAP,
    F_WEAR_BUSY_H,
    F_WEAR_HAZARD,
    F_WEAR_OP,
    F_WEAR_SCRAP,
    FB_OPERATING,
    FB_OPERATIONS,
    I_ARRIVAL_DIST,
    I_BATCH_MIN,
    I_CALENDAR,
    I_CAPACITY,
    I_CREW,
    I_CREW_REPAIR,
    I_FAIL_BASIS,
    I_KIND,
    I_LOAD,
    I_OFF_STATE,
    I_PM_DIST,
    I_PM_OPS,
    I_ROUTING,
    I_SCHED_N,
    I_SEQ,
    I_SERVER0,
    I_SERVERS,
    I_WEARS,
    L_CREATED,
    L_EVENTS,
    L_GOOD,
    L_LEAD_SUM,
    L_SCRAPPED,
    L_WIP_INT,
    LOAD_RELEASE,
    MAINTENANCE,
    N_STREAMS,
    O_CONTENT_INT,
    O_CONTENT_MAX,
    O_FAILURES,
    O_IN,
    O_OUT,
    O_PM,
    O_SCRAP,
    O_SETUPS,
    P_DONE,
    P_EMPTY,
    P_ES,
    P_LOG,
    P_PROCESS,
    P_SETUP,
    P_WARM,
    PD_BECOMES,
    PF_READY,
    PF_T0,
    PI_BATCH,
    PI_DEST,
    PI_NEXT,
    PI_ORDER,
    PI_PROD,
    PM_DUE_PAUSE,
    RS_MAINTENANCE,
    RS_PROCESS,
    RS_PRODUCT,
    RS_SCRAP,
    RS_SETUP,
    S_DIRTY_N,
    S_FREE,
    S_GOOD_TOTAL,
    S_NFREE,
    S_STACK_N,
    S_WIP,
    S_WORKING,
    SETUP,
    SF_DONE_T,
    SF_REM,
    SF_SINCE,
    SF_START,
    SF_TTF,
    SF_WEAR,
    SF_WORK,
    SI_DEST,
    SI_DIRTY,
    SI_DOWN,
    SI_EL,
    SI_ES,
    SI_LAST_PROD,
    SI_OFF,
    SI_OPS_PM,
    SI_PART,
    SI_PHASE,
    SI_PM,
    SI_PM_DUE,
    SI_STATE,
    SI_TOK,
    SI_WORKER0,
    SINK,
    SOURCE,
    SQ_FIFO,
    STANDBY,
    STARVED,
    STATION,
    T_NOW,
    T_WIP_SINCE,
    W_OP,
    WAITING_FOR_WORKER,
    WARMING_UP,
)
from kernels.workers import release_worker, request_repair, start_repair, wait_for_operator

INF = np.inf


# --- bookkeeping -----------------------------------------------------------------------------
@hot
def log_row(m, s, e, srv, state, content):
    if m.params[P_LOG] > 0.0:
        write_log(s.log_t, s.log_i, s.si, s.sf[T_NOW], e, srv, state, content)


@hot
def change_content(m, s, e, delta):
    now = s.sf[T_NOW]
    c = s.el_si[e, EI_COUNT]
    s.el_out[e, O_CONTENT_INT] += c * (now - s.el_sf[e, EF_CONTENT_SINCE])
    s.el_sf[e, EF_CONTENT_SINCE] = now
    c += delta
    s.el_si[e, EI_COUNT] = c
    if c > s.el_out[e, O_CONTENT_MAX]:
        s.el_out[e, O_CONTENT_MAX] = c
    if m.el_i[e, I_KIND] != STATION:
        log_row(m, s, e, -1, -1, c)


@hot
def change_wip(s, delta):
    now = s.sf[T_NOW]
    s.line_out[L_WIP_INT] += s.si[S_WIP] * (now - s.sf[T_WIP_SINCE])
    s.sf[T_WIP_SINCE] = now
    s.si[S_WIP] += delta


@hot
def new_part(m, s, prod):
    p = s.si[S_FREE]
    s.si[S_FREE] = s.part_i[p, PI_NEXT]
    s.si[S_NFREE] -= 1
    s.part_i[p, PI_NEXT] = -1
    s.part_i[p, PI_PROD] = prod
    s.part_i[p, PI_DEST] = -2
    if m.features is not None:  # hook: orders (issue 18), read only by their hooks
        s.part_i[p, PI_ORDER] = -1
    s.part_f[p, PF_T0] = s.sf[T_NOW]
    s.part_f[p, PF_READY] = s.sf[T_NOW]
    s.line_out[L_CREATED] += 1.0
    change_wip(s, 1)
    return p


@hot
def free_part(s, p):
    s.part_i[p, PI_NEXT] = s.si[S_FREE]
    s.si[S_FREE] = p
    s.si[S_NFREE] += 1
    change_wip(s, -1)


@hot
def fifo_push(s, e, p):
    s.part_i[p, PI_NEXT] = -1
    tail = s.el_si[e, EI_TAIL]
    if tail >= 0:
        s.part_i[tail, PI_NEXT] = p
    else:
        s.el_si[e, EI_HEAD] = p
    s.el_si[e, EI_TAIL] = p


@hot
def fifo_pop(s, e):
    p = s.el_si[e, EI_HEAD]
    nxt = s.part_i[p, PI_NEXT]
    s.el_si[e, EI_HEAD] = nxt
    if nxt < 0:
        s.el_si[e, EI_TAIL] = -1
    s.part_i[p, PI_NEXT] = -1
    return p


@cold
def _draw_from_mix(mix_cum, rng, e):
    n = mix_cum.shape[1]
    u = uniform01(rng, e * N_STREAMS + RS_PRODUCT)
    for k in range(n):
        if u <= mix_cum[e, k]:
            return k
    return n - 1


@hot
def draw_product(m, s, e):
    if m.mix_cum.shape[1] == 1:
        return 0
    return _draw_from_mix(m.mix_cum, s.rng, e)


# --- the work stack and state commits ------------------------------------------------------
@hot
def push_work(el_si, stack, si, e):
    if el_si[e, EI_QUEUED] == 0:
        el_si[e, EI_QUEUED] = 1
        n = si[S_STACK_N]
        stack[n] = e
        si[S_STACK_N] = n + 1


@hot
def wake(s, e):
    push_work(s.el_si, s.stack, s.si, e)


@cold
def _wake_all_successors(succ_ptr, succ, el_si, stack, si, e):
    a = succ_ptr[e]
    b = succ_ptr[e + 1]
    # push in order of decreasing content: the emptiest successor is popped first
    done = 0
    while done < b - a:
        best = -1
        best_c = -1
        for k in range(a, b):
            x = succ[k]
            if el_si[x, EI_QUEUED] == 0 and el_si[x, EI_COUNT] > best_c:
                best = x
                best_c = el_si[x, EI_COUNT]
        if best < 0:
            break
        push_work(el_si, stack, si, best)
        done += 1


@hot
def wake_successors(m, s, e, dest):
    """Wake ``dest``, or, when any successor may take the part, all of them, the one with
    the fewest parts on top of the stack (shortest-queue routing)."""
    if dest >= 0:
        wake(s, dest)
    else:
        _wake_all_successors(m.succ_ptr, m.succ, s.el_si, s.stack, s.si, e)


@hot
def touch(s, srv):
    if s.srv_i[srv, SI_DIRTY] == 0:
        s.srv_i[srv, SI_DIRTY] = 1
        n = s.si[S_DIRTY_N]
        s.dirty[n] = srv
        s.si[S_DIRTY_N] = n + 1


@hot
def derived_state(m, s, srv):
    if s.srv_i[srv, SI_DOWN]:
        if m.features is None or s.srv_i[srv, SI_DOWN] == 1:
            return DOWN
        return WAITING_FOR_WORKER
    if s.srv_i[srv, SI_PM]:  # else PM_PAUSED: demand response (kernels.demand)
        if m.features is None or s.srv_i[srv, SI_PM] == 1:
            return MAINTENANCE
        if s.srv_i[srv, SI_OFF] == 0:
            return STANDBY
    if s.srv_i[srv, SI_OFF]:
        return m.el_i[s.srv_i[srv, SI_EL], I_OFF_STATE]
    ph = s.srv_i[srv, SI_PHASE]
    # SI_ES (kernels.standby) is 0 or a saving state, whose code is above both
    if ph == P_DONE:
        if m.features is None:
            return BLOCKED
        return max(BLOCKED, s.srv_i[srv, SI_ES])
    if ph == P_SETUP:
        return SETUP
    if ph == P_PROCESS:
        return BUSY
    if m.features is None:
        return STARVED  # P_EMPTY: the other phases are the features'
    if ph == P_EMPTY:
        return max(STARVED, s.srv_i[srv, SI_ES])
    return WARMING_UP if ph == P_WARM else WAITING_FOR_WORKER  # P_WAIT_*: kernels.workers


@hot
def set_state(m, s, srv, new):
    old = s.srv_i[srv, SI_STATE]
    if new == old:
        return
    e = s.srv_i[srv, SI_EL]
    now = s.sf[T_NOW]
    dt = now - s.srv_f[srv, SF_SINCE]
    s.st_time[e, old] += dt
    s.srv_f[srv, SF_SINCE] = now
    s.srv_i[srv, SI_STATE] = new
    log_row(m, s, e, srv - m.el_i[e, I_SERVER0], new, s.el_si[e, EI_COUNT])
    if m.features is not None and m.params[P_ES] > 0.0:  # hook: standby (issue 19), its timer
        state_changed(m, s, srv, new)


@hot
def commit_states(m, s):
    for k in range(s.si[S_DIRTY_N]):
        srv = s.dirty[k]
        s.srv_i[srv, SI_DIRTY] = 0
        set_state(m, s, srv, derived_state(m, s, srv))
    s.si[S_DIRTY_N] = 0


# --- servers --------------------------------------------------------------------------------
@hot
def hazard_rate(m, s, srv, e):
    return 1.0 + m.el_f[e, F_WEAR_HAZARD] * s.srv_f[srv, SF_WEAR]


@hot
def is_running(s, srv):
    ph = s.srv_i[srv, SI_PHASE]
    return ((ph == P_SETUP or ph == P_PROCESS) and s.srv_i[srv, SI_DOWN] == 0
            and s.srv_i[srv, SI_OFF] == 0 and s.srv_i[srv, SI_PM] == 0)


@hot
def resume(m, s, srv):
    """Schedule the end of the current phase, or the failure that will interrupt it."""
    if is_running(s, srv):
        run_phase(m, s, srv)


@hot
def run_phase(m, s, srv):
    """``resume`` for a server known to be running (``is_running``)."""
    now = s.sf[T_NOW]
    e = s.srv_i[srv, SI_EL]
    s.srv_f[srv, SF_START] = now
    s.srv_i[srv, SI_TOK] += 1
    tok = s.srv_i[srv, SI_TOK]
    w = s.srv_f[srv, SF_REM]
    kind = E_PHASE_END
    if s.srv_i[srv, SI_PHASE] == P_PROCESS and m.el_i[e, I_FAIL_BASIS] == FB_OPERATING:
        tf = s.srv_f[srv, SF_TTF]
        if m.el_i[e, I_WEARS]:  # else no wear: the hazard rate is 1.0 exactly
            tf /= hazard_rate(m, s, srv, e)
        if tf < w:
            w = tf
            kind = E_FAIL
    schedule(s.heap_t, s.heap_i, s.si, now + w, kind, srv, tok)


@cold
def suspend(m, s, srv):
    """Stop a running phase, keeping the work left (preempt-resume)."""
    e = s.srv_i[srv, SI_EL]
    elapsed = s.sf[T_NOW] - s.srv_f[srv, SF_START]
    s.srv_f[srv, SF_REM] = max(s.srv_f[srv, SF_REM] - elapsed, 0.0)
    if s.srv_i[srv, SI_PHASE] == P_PROCESS and m.el_i[e, I_FAIL_BASIS] == FB_OPERATING:
        s.srv_f[srv, SF_TTF] -= elapsed * hazard_rate(m, s, srv, e)
    s.srv_i[srv, SI_TOK] += 1


@cold
def go_down(m, s, srv):
    e = s.srv_i[srv, SI_EL]
    s.el_out[e, O_FAILURES] += 1.0
    touch(s, srv)
    if m.features is not None and m.el_i[e, I_CREW_REPAIR] != 0:  # hook: workers, a technician
        request_repair(m, s, srv)
    else:
        start_repair(m, s, srv)


@cold
def start_maintenance(m, s, srv):
    if m.features is not None and pause_instead(m, s, srv):  # hook: demand response, a pause
        touch(s, srv)
        return
    e = s.srv_i[srv, SI_EL]
    s.srv_i[srv, SI_PM] = 1
    s.srv_i[srv, SI_PM_DUE] &= PM_DUE_PAUSE  # a pause due waits for the maintenance's end
    s.el_out[e, O_PM] += 1.0
    d = sample(m.dist_kind, m.dist_par, m.emp, m.el_i[e, I_PM_DIST], s.rng,
               e * N_STREAMS + RS_MAINTENANCE)
    push(s.heap_t, s.heap_i, s.si, s.sf[T_NOW] + d, E_PM_END, srv, 0)
    touch(s, srv)


@hot
def after_release(m, s, srv):
    """A server has just become empty: fail (operations basis), maintain, or take work."""
    e = s.srv_i[srv, SI_EL]
    touch(s, srv)
    if s.srv_i[srv, SI_DOWN] or s.srv_i[srv, SI_PM]:
        return
    if m.el_i[e, I_FAIL_BASIS] == FB_OPERATIONS and s.srv_f[srv, SF_TTF] <= 0.0:
        go_down(m, s, srv)
        return
    pm_ops = m.el_i[e, I_PM_OPS]
    if (pm_ops > 0 and s.srv_i[srv, SI_OPS_PM] >= pm_ops) or s.srv_i[srv, SI_PM_DUE]:
        start_maintenance(m, s, srv)
        return
    wake(s, e)


@hot
def begin_process(m, s, srv, up):
    """Draw the processing time and start it; ``up``: the server is known to be up, as one
    ``put`` just filled (``free_server``), so ``is_running`` is not asked again."""
    e = s.srv_i[srv, SI_EL]
    prod = s.part_i[s.srv_i[srv, SI_PART], PI_PROD]
    w = draw(m.dist_kind, m.dist_par, m.emp, m.proc_dist[e, prod], s.rng,
             e * N_STREAMS + RS_PROCESS)
    # hook: demand response (issue 19), the speed of a slow-down in force (kernels.demand),
    # else 1.0 (w exactly)
    if m.features is not None:
        w /= s.el_sf[e, EF_DR_SPEED]
    s.srv_f[srv, SF_WORK] = w
    s.srv_f[srv, SF_REM] = w
    s.srv_i[srv, SI_PHASE] = P_PROCESS
    if up:
        run_phase(m, s, srv)
    else:
        resume(m, s, srv)
    touch(s, srv)


@hot
def start_part(m, s, srv, up):
    if m.features is not None and s.srv_i[srv, SI_ES] != 0:  # hook: standby, warm up first
        start_warmup(m, s, srv)
        touch(s, srv)
        return
    e = s.srv_i[srv, SI_EL]
    prod = s.part_i[s.srv_i[srv, SI_PART], PI_PROD]
    d = m.setup_dist[e, prod]
    last = s.srv_i[srv, SI_LAST_PROD]
    s.srv_i[srv, SI_LAST_PROD] = prod
    setup = d >= 0 and last >= 0 and last != prod
    if setup or (m.features is not None and m.el_i[e, I_CREW] != 0):  # hook: workers
        # setups and manual stations are rarer than parts: one cold call site for both (each
        # passes the two bundles as hundreds of scalars, which the hot loop keeps live)
        _rare_phase(m, s, srv, d, RARE_SETUP if setup else RARE_MANUAL)
    else:
        begin_process(m, s, srv, up)


@hot
def finish_phase(m, s, srv):
    """The running phase of ``srv`` reached its end."""
    e = s.srv_i[srv, SI_EL]
    now = s.sf[T_NOW]
    ph = s.srv_i[srv, SI_PHASE]
    basis = m.el_i[e, I_FAIL_BASIS]
    if ph == P_PROCESS and basis == FB_OPERATING:
        used = now - s.srv_f[srv, SF_START]
        if m.el_i[e, I_WEARS]:  # else no wear: the hazard rate is 1.0 exactly
            used *= hazard_rate(m, s, srv, e)
        s.srv_f[srv, SF_TTF] -= used
    s.srv_f[srv, SF_REM] = 0.0
    if ph == P_SETUP or (m.features is not None  # hook: workers (issue 18)
                         and s.srv_i[srv, SI_WORKER0 + W_OP] >= 0):
        # one cold call site: a setup's end, a manual processing's
        _rare_phase(m, s, srv, -1, RARE_SETUP_END if ph == P_SETUP else RARE_MANUAL_END)
        if ph == P_SETUP:
            return
    s.line_out[L_EVENTS] += 1.0
    s.srv_i[srv, SI_OPS_PM] += 1
    if basis == FB_OPERATIONS:
        s.srv_f[srv, SF_TTF] -= hazard_rate(m, s, srv, e)
    p_scrap = 0.0  # I_WEARS 0: the wear would not change and p_scrap would be 0 exactly
    if m.el_i[e, I_WEARS]:
        s.srv_f[srv, SF_WEAR] += m.el_f[e, F_WEAR_OP] + m.el_f[e, F_WEAR_BUSY_H] * (
            s.srv_f[srv, SF_WORK] / 3600.0)
        p_scrap = m.el_f[e, F_SCRAP] + m.el_f[e, F_WEAR_SCRAP] * s.srv_f[srv, SF_WEAR]
    if p_scrap > 0.0 and draw_uniform(s.rng, e * N_STREAMS + RS_SCRAP) < p_scrap:
        p = s.srv_i[srv, SI_PART]
        s.el_out[e, O_SCRAP] += 1.0
        s.line_out[L_SCRAPPED] += 1.0
        if m.features is not None and s.part_i[p, PI_ORDER] >= 0:  # hook: orders (issue 18)
            order_part_leaves(m, s, p, False)
        free_part(s, p)
        s.srv_i[srv, SI_PART] = -1
        s.srv_i[srv, SI_PHASE] = P_EMPTY
        change_content(m, s, e, -1)
        after_release(m, s, srv)
        return
    s.srv_i[srv, SI_PHASE] = P_DONE
    s.srv_f[srv, SF_DONE_T] = now
    dest = choose_destination(m, s, e)
    s.srv_i[srv, SI_DEST] = dest
    wake_successors(m, s, e, dest)
    touch(s, srv)


# --- movement -------------------------------------------------------------------------------
@hot
def sole_successor(m, e):
    """The one successor of ``e``, or -2 when it has several (a routing decides)."""
    a = m.succ_ptr[e]
    return m.succ[a] if m.succ_ptr[e + 1] - a == 1 else -2


@hot
def choose_destination(m, s, e):
    """The successor the next part of ``e`` goes to, or -1 for whichever can take it."""
    d = sole_successor(m, e)
    if d != -2:
        return d
    return route(m.el_i[e, I_ROUTING], m.succ, m.succ_cum, s.el_si, s.rng, e,
                  m.succ_ptr[e], m.succ_ptr[e + 1])


@hot
def is_unlimited_source(m, e):
    return m.el_i[e, I_ARRIVAL_DIST] < 0 and m.el_i[e, I_SCHED_N] == 0


@hot
def free_server(s, m, x):
    a = m.el_i[x, I_SERVER0]
    for srv in range(a, a + m.el_i[x, I_SERVERS]):
        if (s.srv_i[srv, SI_PHASE] == P_EMPTY and s.srv_i[srv, SI_DOWN] == 0
                and s.srv_i[srv, SI_PM] == 0 and s.srv_i[srv, SI_OFF] == 0):
            return srv
    return -1


@hot
def room(m, s, x):
    """Whether ``x`` can take a part now: -1 if not; else, for a station, its free server."""
    kind = m.el_i[x, I_KIND]
    if kind == STATION:
        return free_server(s, m, x)
    if kind == BUFFER:
        cap = m.el_i[x, I_CAPACITY]
        return 0 if cap < 0 or s.el_si[x, EI_COUNT] < cap else -1
    if kind == CONVEYOR:
        if s.el_si[x, EI_COUNT] >= m.el_i[x, I_CAPACITY]:
            return -1
        if s.el_si[x, EI_TAIL] < 0 or s.sf[T_NOW] >= s.el_sf[x, EF_LAST_ENTRY] + m.el_f[x, F_GAP]:
            return 0
        await_entry(m, s, x)
        return -1
    return 0 if kind == SINK else -1


@hot
def decided(m, s, p, d, x):
    """Record destination ``d`` of the part ``p`` offers to ``x``, waking that successor
    (not ``x``: it is pulling, and goes on pulling while it has room)."""
    if d >= 0:
        if d != x:
            wake(s, d)
    else:
        wake_successors(m, s, p, -1)
    return d


@hot
def offer(m, s, p, x):
    """Since when ``p`` has had a part for ``x`` (inf: none), and the server holding it."""
    kind = m.el_i[p, I_KIND]
    if kind == STATION:
        best = INF
        best_srv = -1
        a = m.el_i[p, I_SERVER0]
        for srv in range(a, a + m.el_i[p, I_SERVERS]):
            if s.srv_i[srv, SI_PHASE] == P_DONE:
                d = s.srv_i[srv, SI_DEST]
                if (d == x or d == -1) and s.srv_f[srv, SF_DONE_T] < best:
                    best = s.srv_f[srv, SF_DONE_T]
                    best_srv = srv
        return best, best_srv
    if kind == SOURCE and is_unlimited_source(m, p):
        if m.el_i[p, I_CALENDAR] and s.si[S_WORKING] == 0:
            return INF, -1
        d = s.el_si[p, EI_PEND_DEST]
        if d == -2:
            d = decided(m, s, p, choose_destination(m, s, p), x)
            s.el_si[p, EI_PEND_DEST] = d
        if d != x and d != -1:
            return INF, -1
        return s.el_sf[p, EF_LAST_TAKE], -1
    head = s.el_si[p, EI_HEAD]
    if head < 0:
        return INF, -1
    d = s.part_i[head, PI_DEST]
    if d == -2:
        d = decided(m, s, p, choose_destination(m, s, p), x)
        s.part_i[head, PI_DEST] = d
    if d != x and d != -1:
        return INF, -1
    r = s.part_f[head, PF_READY]
    if kind == CONVEYOR and r > s.sf[T_NOW]:
        await_head(s, p, head, r)
        return INF, -1
    return r, -1


@cold
def _take_from_load(m, s, srv, part):
    """Batching (issue 18, ``kernels/batching.py``): a successor takes ``part``, the first
    of the load server ``srv`` holds, and not its last. A batch station releasing by parts
    (or an unbatch) keeps the rest (done, so blocked) and offers the next part, to a
    successor chosen afresh, as its own; any other station (a batch station releasing its
    load whole, or one a load passes through) lets the whole load go as one unit."""
    e = s.srv_i[srv, SI_EL]
    if m.el_i[e, I_BATCH_MIN] == 0 or m.el_i[e, I_LOAD] == LOAD_RELEASE:
        if m.el_i[e, I_BATCH_MIN] > 0:  # the batch station counted the load's parts
            n, p = 0, part
            while s.part_i[p, PI_BATCH] >= 0:
                p = s.part_i[p, PI_BATCH]
                n += 1
            s.el_out[e, O_OUT] += n
            change_content(m, s, e, -n)
        s.srv_i[srv, SI_PART] = -1
        s.srv_i[srv, SI_PHASE] = P_EMPTY
        after_release_cold(m, s, srv)
        return part
    s.srv_i[srv, SI_PART] = s.part_i[part, PI_BATCH]
    s.part_i[part, PI_BATCH] = -1
    if s.part_i[part, PI_DEST] <= PD_BECOMES:  # a disassembly's part takes its output's product
        s.part_i[part, PI_PROD] = PD_BECOMES - s.part_i[part, PI_DEST]
        s.part_i[part, PI_DEST] = -2
    dest = choose_destination(m, s, e)
    s.srv_i[srv, SI_DEST] = dest
    wake_successors(m, s, e, dest)
    return part


@hot
def take(m, s, p, srv, x):
    """Remove the offered part from ``p`` for ``x``; ``srv`` is the station server holding
    it."""
    now = s.sf[T_NOW]
    s.el_out[p, O_OUT] += 1.0
    kind = m.el_i[p, I_KIND]
    unlimited = kind == SOURCE and is_unlimited_source(m, p)
    if not unlimited:
        change_content(m, s, p, -1)
    if kind == STATION:
        part = s.srv_i[srv, SI_PART]
        # hook: batching (issue 18), a load leaves by parts
        if m.features is not None and s.part_i[part, PI_BATCH] >= 0:
            return _take_from_load(m, s, srv, part)
        s.srv_i[srv, SI_PART] = -1
        s.srv_i[srv, SI_PHASE] = P_EMPTY
        after_release(m, s, srv)
        return part
    if unlimited:
        s.el_si[p, EI_PEND_DEST] = -2
        s.el_sf[p, EF_LAST_TAKE] = now
        return new_part(m, s, draw_product(m, s, p))
    # hook: a sequencing rule at a source or buffer (orders, issue 18)
    if m.features is not None and m.el_i[p, I_SEQ] > SQ_FIFO:
        part = take_sequenced(m, s, p, x)
    else:
        part = fifo_pop(s, p)
    head = s.el_si[p, EI_HEAD]
    if kind == CONVEYOR and head >= 0:
        head_leaves(m, s, p, head, now)
    wake(s, p)
    if head >= 0 and m.succ_ptr[p + 1] - m.succ_ptr[p] > 1:
        wake_successors(m, s, p, -1)
    return part


@hot
def put(m, s, x, part, srv):
    """Place ``part`` into ``x``, which has room (in server ``srv`` of a station)."""
    now = s.sf[T_NOW]
    s.el_out[x, O_IN] += 1.0
    kind = m.el_i[x, I_KIND]
    if kind != SINK:
        change_content(m, s, x, 1)
    if kind == STATION:
        s.srv_i[srv, SI_PART] = part
        start_part(m, s, srv, True)  # srv is free (``room``): up
    elif kind == SINK:
        s.line_out[L_GOOD] += 1.0
        s.si[S_GOOD_TOTAL] += 1
        s.line_out[L_LEAD_SUM] += now - s.part_f[part, PF_T0]
        if m.features is not None and s.part_i[part, PI_ORDER] >= 0:  # hook: orders (issue 18)
            order_part_leaves(m, s, part, True)
        free_part(s, part)
    else:
        ready = now
        if kind == CONVEYOR:
            ready = enter(m, s, x, part, now)
        fifo_push(s, x, part)
        s.part_f[part, PF_READY] = ready
        # a part with one way on is decided now (no draw); others when first offered
        dest = sole_successor(m, x)
        s.part_i[part, PI_DEST] = dest
        if s.el_si[x, EI_HEAD] == part and kind == BUFFER:
            wake_successors(m, s, x, -1 if dest == -2 else dest)


# Separately compiled copies for rare paths (shift changes, repairs, setups): those paths call
# them instead of inlining their call trees once more (``kernels.jit``), each cached on its own.
@cold
def resume_cold(m, s, srv):
    """``resume``, compiled once."""
    resume(m, s, srv)


# What ``_rare_phase`` does: ``start_part`` for a part that needs a setup, or a worker (a
# manual station); ``finish_phase`` at the end of a setup, or of a processing that held an
# operator.
RARE_SETUP = 0
RARE_MANUAL = 1
RARE_SETUP_END = 2
RARE_MANUAL_END = 3


@cold
def _rare_phase(m, s, srv, d, step):
    """The rare steps of ``start_part`` and ``finish_phase`` (``RARE_*``; ``d`` is the setup's
    distribution), in one function: ``begin_process`` (the processing draw and its
    ``schedule``) is compiled into one ``cold`` function instead of two, and each call
    site costs what any passes (benchmarks/README.md, "The cold compile back")."""
    e = s.srv_i[srv, SI_EL]
    if step == RARE_SETUP:
        s.el_out[e, O_SETUPS] += 1.0
        s.srv_i[srv, SI_PHASE] = P_SETUP
        s.srv_f[srv, SF_REM] = sample(m.dist_kind, m.dist_par, m.emp, d, s.rng,
                                      e * N_STREAMS + RS_SETUP)
        # a manual setup may wait for its operator (kernels.workers)
        if (m.features is None or m.el_i[e, I_CREW] == 0
                or not wait_for_operator(m, s, srv, P_SETUP)):
            resume_cold(m, s, srv)  # compiled anyway: not a second inlined copy
        touch(s, srv)
    elif step == RARE_MANUAL_END:
        if m.features is not None:
            release_worker(m, s, srv, W_OP)
    else:  # RARE_MANUAL, RARE_SETUP_END: the processing, which may wait for its operator
        manual = step == RARE_MANUAL or (m.features is not None and m.el_i[e, I_CREW] != 0)
        if manual and m.features is not None and wait_for_operator(m, s, srv, P_PROCESS):
            touch(s, srv)
        else:
            begin_process(m, s, srv, False)
            if step == RARE_MANUAL:
                touch(s, srv)


@cold
def begin_process_cold(m, s, srv):
    """``begin_process``, compiled once."""
    begin_process(m, s, srv, False)


@cold
def after_release_cold(m, s, srv):
    """``after_release``, compiled once."""
    after_release(m, s, srv)
