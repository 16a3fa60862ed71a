"""The kernel's guards (issue 12): no array is written past its end, and no model can keep
the kernel busy without end. ``run_until`` checks every growable array for its reserve
before each event and every ``MOVES_PER_CHECK`` moves of a cascade (``room_left``), and
counts its work, to return ``K_PAUSE`` after a share of it (the caller may cancel) or
``K_STALLED`` when the work keeps coming while simulated time stands (nearly) still
(``docs/semantics.md``, zero and tiny times).
"""

from kernels.jit import cold, hot
from kernels.types import (
    E_ARRIVAL,
    E_CONVEYOR,
    E_SHIFT,
    E_WAKE,
    K_DONE,
    K_NEED_HEAP,
    K_NEED_LOG,
    K_NEED_PARTS,
    K_PAUSE,
    K_STALLED,
    P_LOG,
    P_RESERVE_HEAP,
    P_RESERVE_LOG,
    P_RESERVE_PARTS,
    P_STALL_LIMIT,
    PAUSE_EVERY,
    S_CALL_N,
    S_HEAP_N,
    S_LOG_N,
    S_NFREE,
    S_STALL_EL,
    S_STALL_KIND,
    S_STALL_N,
    S_STALL_TO,
    SI_EL,
    STALL_WINDOW,
    T_NOW,
    T_STALL,
)


@hot
def room_left(m, s):
    """``K_DONE`` when every growable array has its reserve free, else the ``K_NEED_*`` code
    of one that has not (the same test as at the top of ``run_until``'s loop)."""
    if s.si[S_NFREE] < int(m.params[P_RESERVE_PARTS]):
        return K_NEED_PARTS
    if s.heap_t.shape[0] - s.si[S_HEAP_N] < int(m.params[P_RESERVE_HEAP]):
        return K_NEED_HEAP
    if m.params[P_LOG] > 0.0 and s.log_t.shape[0] - s.si[S_LOG_N] < int(m.params[P_RESERVE_LOG]):
        return K_NEED_LOG
    return K_DONE


@cold
def count_work(m, s, units, kind, obj, to):
    """Add ``units`` of work: events, the last of them ``kind`` on ``obj`` (``to`` is -1), or
    moves of a long cascade, ``obj`` handing parts to ``to`` (``kind`` is -1).

    Returns ``K_STALLED`` when more than ``P_STALL_LIMIT`` units fell within
    ``STALL_WINDOW`` seconds of simulated time (a NaN clock counts as not moving),
    ``K_PAUSE`` when this call has done ``PAUSE_EVERY`` units, else, for moves, the code of
    ``room_left`` (room for as many again), and for events ``K_DONE``. One ``cold`` function
    for both: each is compiled, linked and optimised on its own (benchmarks/README.md, "The
    cold compile back").
    """
    if to >= 0:
        el = obj
    elif kind == E_SHIFT:
        el = -1
    elif kind == E_ARRIVAL or kind == E_CONVEYOR or kind == E_WAKE:
        el = obj
    else:
        el = s.srv_i[obj, SI_EL]
    now = s.sf[T_NOW]
    if now - s.sf[T_STALL] >= STALL_WINDOW:
        s.sf[T_STALL] = now
        s.si[S_STALL_N] = 0
    else:
        s.si[S_STALL_N] += units
        if s.si[S_STALL_N] > m.params[P_STALL_LIMIT]:
            s.si[S_STALL_EL] = el
            s.si[S_STALL_KIND] = kind
            s.si[S_STALL_TO] = to
            return K_STALLED
    s.si[S_CALL_N] += units
    if s.si[S_CALL_N] >= PAUSE_EVERY:
        return K_PAUSE
    if to < 0:
        return K_DONE
    return room_left(m, s)


@hot
def count_events(m, s, units, kind, obj):
    """``count_work`` for ``units`` events, the last of them ``kind`` on ``obj``."""
    return count_work(m, s, units, kind, obj, -1)


@hot
def recheck(m, s, units, p, x):
    """A long cascade (``p`` handing parts to ``x``) did ``units`` more moves: count them,
    and check there is room for as many again (``room_left``)."""
    return count_work(m, s, units, -1, p, x)
