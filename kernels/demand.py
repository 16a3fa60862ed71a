"""Demand response (issue 19 §2): during given windows chosen stations pause or run slower.

The windows are lowered (``twin.sim.lowering``) into rows of ``params`` after ``N_P``, one
row per boundary (start or end of a window) and station, sorted by time (``DR_*`` columns);
``P_DR`` is their number. Each row is an ``E_DR`` event; handling one queues the next.

*Pause*: at the window's start, each empty server of the station (not down, not in
maintenance) is paused at once (``SI_PM`` is ``PM_PAUSED``); any other server gets the bit
``PM_DUE_PAUSE`` in ``SI_PM_DUE`` and pauses when its part has left (``after_release`` sees
something due and calls ``start_maintenance``, which pauses instead when only the pause is
due; a maintenance also due goes first). A paused server takes no part (``free_server``)
and shows ``STANDBY`` (outside working time: its off state). At the window's end the bit is
cleared and paused servers take work again.

*Slow*: while a window is in force, ``EF_DR_SPEED`` of the station holds its speed, and a
processing that begins then takes its drawn time divided by the speed (``begin_process``).
Outside a window it is 1.0, and ``begin_process`` divides by it all the same (``w / 1.0`` is
``w`` exactly): one division is cheaper for the standard line than testing ``P_DR``.

Every hook is behind ``P_DR`` except that division and the two in cold or rarely taken
branches that cost the standard line nothing: ``derived_state`` (only when ``SI_PM`` is set)
and ``start_maintenance``.
"""

from kernels.jit import cold
from kernels.queue import push
from kernels.types import (
    DR_EL,
    DR_ON,
    DR_SPEED,
    DR_T,
    E_DR,
    EF_DR_SPEED,
    I_PM_OPS,
    I_SERVER0,
    I_SERVERS,
    N_DR,
    N_P,
    P_DR,
    P_EMPTY,
    PM_DUE_PAUSE,
    PM_PAUSED,
    SI_DOWN,
    SI_EL,
    SI_OPS_PM,
    SI_PHASE,
    SI_PM,
    SI_PM_DUE,
    T_NOW,
)


@cold
def _queue(m, s, k):
    """Queue boundary ``k`` (at once if its time is past: a run that starts inside a window)."""
    if k < int(m.params[P_DR]):
        t = max(m.params[N_P + k * N_DR + DR_T], s.sf[T_NOW])
        push(s.heap_t, s.heap_i, s.si, t, E_DR, k, 0)


@cold
def start_windows(m, s):
    """At the start of a run: queue the first boundary."""
    _queue(m, s, 0)


@cold
def boundaries(m, s, k):
    """``E_DR``: apply boundary ``k`` and the others of the same instant (all of them before
    any part moves: a window that ends as another begins hands over at once), queue the
    next; returns the row after the last applied (the caller touches their stations'
    servers and lets the empty, unpaused ones take work)."""
    n = int(m.params[P_DR])
    t = m.params[N_P + k * N_DR + DR_T]
    j = k
    while j < n and (j == k or m.params[N_P + j * N_DR + DR_T] == t):
        _apply(m, s, j)
        j += 1
    _queue(m, s, j)
    return j


@cold
def _apply(m, s, k):
    row = N_P + k * N_DR
    e = station_of(m, k)
    on = m.params[row + DR_ON] > 0.0
    speed = m.params[row + DR_SPEED]
    if speed > 0.0:
        s.el_sf[e, EF_DR_SPEED] = speed if on else 1.0
        return
    a = m.el_i[e, I_SERVER0]
    for srv in range(a, a + m.el_i[e, I_SERVERS]):
        if not on:
            s.srv_i[srv, SI_PM_DUE] &= ~PM_DUE_PAUSE
            if s.srv_i[srv, SI_PM] == PM_PAUSED:
                s.srv_i[srv, SI_PM] = 0
        elif (s.srv_i[srv, SI_PHASE] == P_EMPTY and s.srv_i[srv, SI_DOWN] == 0
              and s.srv_i[srv, SI_PM] == 0):
            s.srv_i[srv, SI_PM] = PM_PAUSED
        else:
            s.srv_i[srv, SI_PM_DUE] |= PM_DUE_PAUSE


@cold
def station_of(m, k):
    """The station of boundary ``k``."""
    return int(m.params[N_P + k * N_DR + DR_EL])


@cold
def pause_instead(m, s, srv):
    """In ``start_maintenance``: True (and the server paused) when only a pause is due."""
    due = s.srv_i[srv, SI_PM_DUE]
    if due & PM_DUE_PAUSE == 0 or due & 1:
        return False
    e = s.srv_i[srv, SI_EL]
    pm_ops = m.el_i[e, I_PM_OPS]
    if pm_ops > 0 and s.srv_i[srv, SI_OPS_PM] >= pm_ops:
        return False
    s.srv_i[srv, SI_PM_DUE] = 0
    s.srv_i[srv, SI_PM] = PM_PAUSED
    return True
