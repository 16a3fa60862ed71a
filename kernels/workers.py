"""Worker pools and repair crews (issue 18 §3): who does a task, when, after how long a walk.

A station may need a worker for its repairs (a technician), its setups and its processing
(an operator): each task names the pools it may take a worker from (``I_CREW_*``, a bit mask
over the pools). A task that finds no free worker waits, and its server is in the state
``WAITING_FOR_WORKER`` until the worker it gets has walked up to it.

The rules (docs/semantics.md, "Workers"):

- A task asks for a worker when it is due: a repair when the server fails, a setup or a
  processing when the part is ready for it. It gets the free worker (of an eligible pool, in
  working time) that is nearest to the station, ties to the lowest index.
- A worker who becomes free takes the waiting task with the highest station priority
  (``I_CREW_PRIO``), among equals the one that asked first (first come, first served),
  among those the lowest server index.
- A worker walks from where its last task was (or its pool's home; nowhere: no walk to its
  first task) straight to the station, at its pool's speed: the distance between element
  positions. Walking is part of the task's delay (the server waits) and of the worker's
  time (``WS_WALKING``).
- An operator stays with the part from the start of its setup to the end of its processing
  when the processing may take a worker of the operator's pool; else the setup's worker is
  released and the processing asks again. An operator also stays while its station is
  down or off shift. When an operator's pool may repair the station, the operator repairs
  it, at once and without walking.
- A pool that follows the calendar starts no task outside working time; a worker busy when
  the shift ends finishes that task first.

This module only books workers and schedules ``E_WORKER_ARRIVES``; what the arrival starts
(a repair, a setup, a processing) is ``kernels.engine``'s part, with ``kernels.flow``.
"""

import numpy as np

from kernels.jit import cold, entry, hot
from kernels.queue import push
from kernels.rng import sample
from kernels.statelog import write_log
from kernels.types import (
    E_REPAIR_END,
    E_WORKER_ARRIVES,
    F_X,
    F_Z,
    I_CREW_PRIO,
    I_CREW_PROCESS,
    I_CREW_REPAIR,
    I_CREW_SETUP,
    I_TTR_DIST,
    LOG_WORKERS,
    N_STREAMS,
    N_WK,
    P_LOG,
    P_POOLS,
    P_SETUP,
    P_WAIT_PROCESS,
    P_WAIT_SETUP,
    P_WK0,
    RS_REPAIR,
    S_WORKING,
    SF_ASKED0,
    SI_CTOK,
    SI_DOWN,
    SI_EL,
    SI_PHASE,
    SI_STATE,
    SI_WORKER0,
    T_NOW,
    W_OP,
    W_REPAIR,
    WAITING_FOR_WORKER,
    WK_CALENDAR,
    WK_COUNT,
    WK_FIRST,
    WK_HOME,
    WK_SPEED,
    WO_TASKS,
    WO_WAIT_MAX,
    WO_WAIT_SUM,
    WO_WAITED,
    WO_WALK_SUM,
    WR_AT,
    WR_POOL,
    WR_SINCE,
    WR_SRV,
    WR_STATE,
    WS_BUSY,
    WS_IDLE,
    WS_OFF,
    WS_WALKING,
)


@hot
def _get(s, w, column):
    """An integer column of worker ``w`` (``wkr`` holds whole numbers as floats)."""
    return int(s.wkr[w, column])


@hot
def _n_pools(m):
    return int(m.params[P_POOLS])


@hot
def _pool(m, k, column):
    """Column ``WK_*`` of pool ``k``: the pools' table rides in ``params`` (kernels.types)."""
    return m.params[int(m.params[P_WK0]) + k * N_WK + column]


@hot
def _n_workers(m, s):
    """Workers in ``wkr``: its rows after them are the pools' results (kernels.types)."""
    return s.wkr.shape[0] - _n_pools(m)


@hot
def _set_worker(m, s, w, state):
    """Book worker ``w``'s time in its state so far and put it in ``state``."""
    now = s.sf[T_NOW]
    k = _n_workers(m, s) + _get(s, w, WR_POOL)  # the pool's results row
    s.wkr[k, _get(s, w, WR_STATE)] += now - s.wkr[w, WR_SINCE]
    s.wkr[w, WR_SINCE] = now
    s.wkr[w, WR_STATE] = state


@cold
def _log_worker(m, s, w):
    """Playback (``P_LOG`` = ``LOG_WORKERS``, a re-run of the replication played): a
    state-log row for worker ``w``'s new state (``kernels.types``, LG_* with workers)."""
    if m.params[P_LOG] >= LOG_WORKERS:
        write_log(s.log_t, s.log_i, s.si, s.sf[T_NOW], _get(s, w, WR_AT), -2 - w,
                  _get(s, w, WR_STATE), _get(s, w, WR_SRV))


@hot
def _pool_on(m, s, k):
    return _pool(m, k, WK_CALENDAR) == 0.0 or s.si[S_WORKING] == 1


@hot
def _walk_time(m, s, w, e):
    """Seconds worker ``w`` walks from where it is to element ``e``."""
    a = _get(s, w, WR_AT)
    if a < 0 or a == e:
        return 0.0
    d = 0.0
    for c in range(F_X, F_Z + 1):
        x = m.el_f[e, c] - m.el_f[a, c]
        d += x * x
    return np.sqrt(d) / _pool(m, _get(s, w, WR_POOL), WK_SPEED)


@hot
def _mask(m, e, slot, phase):
    """The pools the task in ``slot`` of a server of ``e`` may take a worker from."""
    if slot == W_REPAIR:
        return m.el_i[e, I_CREW_REPAIR]
    if phase == P_WAIT_SETUP or phase == P_SETUP:
        return m.el_i[e, I_CREW_SETUP]
    return m.el_i[e, I_CREW_PROCESS]


@hot
def _eligible(mask, k):
    return (mask >> k) & 1 == 1


@cold
def _assign(m, s, w, srv, slot):
    """Worker ``w`` takes the task in ``slot`` of ``srv`` and walks there."""
    now = s.sf[T_NOW]
    e = s.srv_i[srv, SI_EL]
    k = _n_workers(m, s) + _get(s, w, WR_POOL)  # the pool's results row
    walk = _walk_time(m, s, w, e)
    waited = now - s.srv_f[srv, SF_ASKED0 + slot]
    s.wkr[k, WO_TASKS] += 1.0
    s.wkr[k, WO_WALK_SUM] += walk
    if waited > 0.0:
        s.wkr[k, WO_WAITED] += 1.0
        s.wkr[k, WO_WAIT_SUM] += waited
        s.wkr[k, WO_WAIT_MAX] = max(s.wkr[k, WO_WAIT_MAX], waited)
    _set_worker(m, s, w, WS_WALKING)
    s.wkr[w, WR_AT] = e
    s.wkr[w, WR_SRV] = srv
    s.srv_i[srv, SI_WORKER0 + slot] = w
    push(s.heap_t, s.heap_i, s.si, now + walk, E_WORKER_ARRIVES, srv, slot)
    _log_worker(m, s, w)


@cold
def request_worker(m, s, srv, slot):
    """The task in ``slot`` of ``srv`` asks for a worker: the nearest free one of its pools
    takes it, or it waits (``SI_WORKER0 + slot`` stays -1) until one is released."""
    s.srv_f[srv, SF_ASKED0 + slot] = s.sf[T_NOW]
    s.srv_i[srv, SI_WORKER0 + slot] = -1
    best = _nearest_free(m, s, srv, slot)
    if best >= 0:
        _assign(m, s, best, srv, slot)


@cold
def _nearest_free(m, s, srv, slot):
    """The free worker (of the pools the task in ``slot`` of ``srv`` may take one from, in
    working time) with the shortest walk to it, ties to the lowest index; -1: none."""
    e = s.srv_i[srv, SI_EL]
    mask = _mask(m, e, slot, s.srv_i[srv, SI_PHASE])
    best = -1
    best_t = np.inf
    for k in range(_n_pools(m)):
        if not _eligible(mask, k) or not _pool_on(m, s, k):
            continue
        a = int(_pool(m, k, WK_FIRST))
        for w in range(a, a + int(_pool(m, k, WK_COUNT))):
            if _get(s, w, WR_STATE) == WS_IDLE:
                t = _walk_time(m, s, w, e)
                if t < best_t:
                    best_t = t
                    best = w
    return best


@cold
def _waiting_task(m, s, k):
    """The waiting task a free worker of pool ``k`` takes: ``(server, slot)``, or (-1, -1)."""
    best_srv = -1
    best_slot = -1
    best_prio = 0
    best_t = np.inf
    for srv in range(s.srv_i.shape[0]):
        e = s.srv_i[srv, SI_EL]
        for slot in range(2):
            if s.srv_i[srv, SI_WORKER0 + slot] >= 0:
                continue
            ph = s.srv_i[srv, SI_PHASE]
            if slot == W_REPAIR:
                waiting = s.srv_i[srv, SI_DOWN] == 2
            else:
                waiting = ph == P_WAIT_SETUP or ph == P_WAIT_PROCESS
            if not waiting or not _eligible(_mask(m, e, slot, ph), k):
                continue
            prio = m.el_i[e, I_CREW_PRIO]
            t = s.srv_f[srv, SF_ASKED0 + slot]
            if best_srv < 0 or prio > best_prio or (prio == best_prio and t < best_t):
                best_srv = srv
                best_slot = slot
                best_prio = prio
                best_t = t
    return best_srv, best_slot


@cold
def _dispatch(m, s, w):
    """Worker ``w`` is free: it takes the next waiting task, or idles (or goes off shift)."""
    k = _get(s, w, WR_POOL)
    if not _pool_on(m, s, k):
        _set_worker(m, s, w, WS_OFF)
        _log_worker(m, s, w)
        return
    srv, slot = _waiting_task(m, s, k)
    if srv >= 0:
        _assign(m, s, w, srv, slot)
    else:
        _set_worker(m, s, w, WS_IDLE)
        _log_worker(m, s, w)


@cold
def release_worker(m, s, srv, slot):
    """The task in ``slot`` of ``srv`` is done: its worker is free for the next one (an
    operator who also repaired its station stays with its part)."""
    w = s.srv_i[srv, SI_WORKER0 + slot]
    s.srv_i[srv, SI_WORKER0 + slot] = -1
    if w < 0 or s.srv_i[srv, SI_WORKER0 + (1 - slot)] == w:
        return
    s.wkr[w, WR_SRV] = -1
    _dispatch(m, s, w)


@hot
def start_repair(m, s, srv):
    """The repair of the failed ``srv`` begins (its technician, if it needs one, is there):
    draw its time and schedule its end. ``hot``: inlined into its three ``cold`` callers
    (``flow.go_down``, ``request_repair``, ``worker_arrives``), so a failure makes no extra call."""
    e = s.srv_i[srv, SI_EL]
    s.srv_i[srv, SI_DOWN] = 1
    ttr = sample(m.dist_kind, m.dist_par, m.emp, m.el_i[e, I_TTR_DIST], s.rng,
                 e * N_STREAMS + RS_REPAIR)
    push(s.heap_t, s.heap_i, s.si, s.sf[T_NOW] + ttr, E_REPAIR_END, srv, 0)


@cold
def request_repair(m, s, srv):
    """``srv`` has failed and its repair needs a technician: its own operator, when that
    one's pool may repair it, else one of the repair pools (it waits, ``SI_DOWN`` = 2)."""
    e = s.srv_i[srv, SI_EL]
    op = s.srv_i[srv, SI_WORKER0 + W_OP]
    s.srv_i[srv, SI_DOWN] = 2
    if (op >= 0 and _get(s, op, WR_STATE) == WS_BUSY
            and _eligible(m.el_i[e, I_CREW_REPAIR], _get(s, op, WR_POOL))):
        s.srv_f[srv, SF_ASKED0 + W_REPAIR] = s.sf[T_NOW]
        s.srv_i[srv, SI_WORKER0 + W_REPAIR] = op
        k = _get(s, op, WR_POOL)
        s.wkr[k, WO_TASKS] += 1.0
        start_repair(m, s, srv)
    else:
        request_worker(m, s, srv, W_REPAIR)


@cold
def wait_for_operator(m, s, srv, phase):
    """A phase (``P_SETUP`` or ``P_PROCESS``) is about to start on ``srv``: True when it must
    wait for an operator (the server is then in ``P_WAIT_*`` and the request is made);
    False when it may start now (no worker needed, or the operator held is eligible)."""
    e = s.srv_i[srv, SI_EL]
    held = s.srv_i[srv, SI_WORKER0 + W_OP]
    mask = m.el_i[e, I_CREW_SETUP] if phase == P_SETUP else m.el_i[e, I_CREW_PROCESS]
    if held >= 0 and _eligible(mask, _get(s, held, WR_POOL)):
        return False
    if held >= 0:
        release_worker(m, s, srv, W_OP)
    if mask == 0:
        return False
    s.srv_i[srv, SI_PHASE] = P_WAIT_SETUP if phase == P_SETUP else P_WAIT_PROCESS
    request_worker(m, s, srv, W_OP)
    return True


@cold
def worker_arrives(m, s, srv, slot):
    """The worker of ``slot`` reached ``srv`` and starts its task. Returns the phase the
    caller must now start (``P_WAIT_SETUP``: resume the setup; ``P_WAIT_PROCESS``: begin the
    processing), or -1 when the task began here (a repair)."""
    w = s.srv_i[srv, SI_WORKER0 + slot]
    _set_worker(m, s, w, WS_BUSY)
    _log_worker(m, s, w)
    if slot == W_REPAIR:
        start_repair(m, s, srv)
        return -1
    ph = s.srv_i[srv, SI_PHASE]
    if ph == P_WAIT_SETUP:
        s.srv_i[srv, SI_PHASE] = P_SETUP
    return ph


@cold
def workers_shift(m, s, on):
    """Working time begins (``on``) or ends for the pools that follow the calendar."""
    for k in range(_n_pools(m)):
        if _pool(m, k, WK_CALENDAR) == 0.0:
            continue
        a = int(_pool(m, k, WK_FIRST))
        for w in range(a, a + int(_pool(m, k, WK_COUNT))):
            st = _get(s, w, WR_STATE)
            if on and st == WS_OFF:
                _dispatch(m, s, w)
            elif not on and st == WS_IDLE:
                _set_worker(m, s, w, WS_OFF)
                _log_worker(m, s, w)


@cold
def flush_workers(m, s):
    """Book every worker's time up to now (results read consistently)."""
    for w in range(_n_workers(m, s)):
        _set_worker(m, s, w, _get(s, w, WR_STATE))


@cold
def reset_workers(m, s, tw):
    """Discard the workers' statistics before the end of the warm-up ``tw``."""
    n = _n_workers(m, s)
    for w in range(n):
        s.wkr[w, WR_SINCE] = tw
    s.wkr[n:, :] = 0.0


@cold
def fork_workers(m, s, working):
    """A fork at ``s.sf[T_NOW]`` (``kernels.fork.fork_clock``): every worker is free at its
    pool's home (off when its pool follows the calendar and ``working`` is 0), its time
    counted from now. At time 0 this is the state ``twin.sim.lowering.new_state`` makes."""
    for k in range(_n_pools(m)):
        off = _pool(m, k, WK_CALENDAR) != 0.0 and working == 0
        a = int(_pool(m, k, WK_FIRST))
        for w in range(a, a + int(_pool(m, k, WK_COUNT))):
            s.wkr[w, WR_STATE] = WS_OFF if off else WS_IDLE
            s.wkr[w, WR_AT] = _pool(m, k, WK_HOME)
            s.wkr[w, WR_SRV] = -1.0
            s.wkr[w, WR_SINCE] = s.sf[T_NOW]


@entry
def fork_task(m, s, srv, slot):
    """A fork, before ``start``: the task in ``slot`` of ``srv`` (its repair, or the
    processing of the part it holds) was under way at the fork. The free worker a request
    would get (``request_worker``'s choice) holds it, already at the station and busy, as
    if it had arrived there; its walk and wait are before the observation and not counted.
    Returns False when no worker is free: a repair then waits for one (``SI_DOWN`` = 2,
    asked now; ``fork_repair_waits`` after ``start``), a processing goes on without one."""
    w = _nearest_free(m, s, srv, slot)
    s.srv_f[srv, SF_ASKED0 + slot] = s.sf[T_NOW]
    if w < 0:
        if slot == W_REPAIR:
            s.srv_i[srv, SI_DOWN] = 2
            s.srv_i[srv, SI_STATE] = WAITING_FOR_WORKER  # kernels.flow.derived_state's
        return False
    s.wkr[w, WR_STATE] = WS_BUSY
    s.wkr[w, WR_AT] = s.srv_i[srv, SI_EL]
    s.wkr[w, WR_SRV] = srv
    s.srv_i[srv, SI_WORKER0 + slot] = w
    return True


@entry
def fork_repair_waits(m, s, srv):
    """A fork, after ``start``: the failed ``srv`` waits for a technician (``fork_task``
    found none free); the calendar failure clock ``start`` drew is cancelled (it restarts
    when the repair ends). A technician released later takes the repair, walks there and
    repairs it in a time drawn then."""
    s.srv_i[srv, SI_CTOK] += 1
