"""Conveyors: when a part reaches the end, when the entry frees, and the events that say so.

A part that enters a conveyor reaches its end one travel time later, or one gap (``F_GAP``,
spacing / speed) after the part ahead of it, whichever is later; a part that becomes the head
as the one ahead leaves does so no sooner than one gap later (accumulated parts leave at
minimum spacing); the entry takes the next part one gap after the last (docs/semantics.md).

Each of these times once had its own ``E_CONVEYOR`` event, about three per part and conveyor,
three quarters of which woke elements that had nothing to do (issue 16: 48,000 of the 64,000
events of 4 hours of the bottling line): a successor busy when the part reached the end, a
predecessor with no part when the entry freed. Now each event is scheduled only when
someone waits for it:

- *the head reaches the end*: when a successor with room asks for the head before it is
  there (``await_head``, from ``flow.offer``), and when a part enters an empty conveyor (its
  successor, idle, asks nothing);
- *the entry frees*: when the conveyor, with room but for the gap, is asked to pull while its
  predecessor holds a part that may be for it (``await_entry``, from ``flow.room``).

Whoever else might wait is woken anyway when it could move: a successor when it gets room
(it then asks, and the event is scheduled), a predecessor when it gets a part. Every event
takes its sequence number when it would have been scheduled (``queue.keep_seq``) and keeps
it when it is (``queue.push_kept``), so events at the same time fire in the order they
always did. A run's statistics are those of the kernel that scheduled every event, bit for
bit; within an instant the moves may come in another order where an event nobody needed
fell, to the bit, on the head's arrival and moved it first (``tests/kernels/
test_conveyor_events.py`` says when; the state once the instant is over is the same).
"""

from kernels.jit import cold, hot
from kernels.queue import keep_seq, push, push_kept
from kernels.types import (
    E_CONVEYOR,
    EF_LAST_ENTRY,
    EI_ENTRY_SEQ,
    EI_HEAD,
    EI_TAIL,
    F_GAP,
    F_TRAVEL,
    I_ARRIVAL_DIST,
    I_KIND,
    I_SCHED_N,
    I_SERVER0,
    I_SERVERS,
    P_DONE,
    PF_READY,
    PI_DEST,
    PI_READY_SEQ,
    SI_DEST,
    SI_PHASE,
    SOURCE,
    STATION,
)


@hot
def enter(m, s, x, part, now):
    """``part`` enters conveyor ``x`` at ``now``, before it joins the FIFO: returns the time
    it reaches the end."""
    ready = now + m.el_f[x, F_TRAVEL]
    tail = s.el_si[x, EI_TAIL]
    if tail >= 0:
        ready = max(ready, s.part_f[tail, PF_READY] + m.el_f[x, F_GAP])
        s.part_i[part, PI_READY_SEQ] = keep_seq(s.si) + 1
    else:  # the head: no successor will ask for it before it is there
        push(s.heap_t, s.heap_i, s.si, ready, E_CONVEYOR, x, 0)
        s.part_i[part, PI_READY_SEQ] = 0
    s.el_sf[x, EF_LAST_ENTRY] = now
    s.el_si[x, EI_ENTRY_SEQ] = keep_seq(s.si) + 1
    return ready


@hot
def head_leaves(m, s, x, head, now):
    """The head of conveyor ``x`` left at ``now``; ``head`` is the part behind it, now the
    head, which leaves no sooner than one gap later."""
    ready = now + m.el_f[x, F_GAP]
    if ready > s.part_f[head, PF_READY]:
        s.part_f[head, PF_READY] = ready
        s.part_i[head, PI_READY_SEQ] = keep_seq(s.si) + 1


@hot
def await_head(s, x, head, ready):
    """A successor with room asked for ``head``, the head of conveyor ``x``, before it
    reaches the end at ``ready``: the event that wakes the successor then, once."""
    seq = s.part_i[head, PI_READY_SEQ] - 1
    if seq >= 0:
        s.part_i[head, PI_READY_SEQ] = 0
        push_kept(s.heap_t, s.heap_i, s.si, ready, seq, E_CONVEYOR, x, 0)


@hot
def await_entry(m, s, x):
    """Conveyor ``x`` was asked to pull but its entry is not free yet (one gap after the
    last part entered): the event that wakes it then, once, if its predecessor waits."""
    seq = s.el_si[x, EI_ENTRY_SEQ] - 1
    if seq >= 0 and _pred_waits(m.pred_ptr, m.pred, m.el_i, s.el_si, s.srv_i, s.part_i, x):
        s.el_si[x, EI_ENTRY_SEQ] = 0
        push_kept(s.heap_t, s.heap_i, s.si, s.el_sf[x, EF_LAST_ENTRY] + m.el_f[x, F_GAP], seq,
                  E_CONVEYOR, x, 0)


@cold
def _pred_waits(pred_ptr, pred, el_i, el_si, srv_i, part_i, x):
    """Whether a predecessor of ``x`` holds a part that may be for it, in a function of its
    own that takes the arrays it reads (not the two named tuples: hundreds of scalars per
    call). A part whose way on is undecided (or a source that makes parts on demand) counts
    as waiting: a wake that finds nothing to do costs an event, a missing one a wrong
    result."""
    for k in range(pred_ptr[x], pred_ptr[x + 1]):
        p = pred[k]
        if el_i[p, I_KIND] == STATION:
            a = el_i[p, I_SERVER0]
            for srv in range(a, a + el_i[p, I_SERVERS]):
                d = srv_i[srv, SI_DEST]
                if srv_i[srv, SI_PHASE] == P_DONE and (d == x or d < 0):
                    return True
        elif el_i[p, I_KIND] == SOURCE and el_i[p, I_ARRIVAL_DIST] < 0 and el_i[p, I_SCHED_N] == 0:
            return True
        else:
            head = el_si[p, EI_HEAD]
            if head >= 0 and (part_i[head, PI_DEST] == x or part_i[head, PI_DEST] < 0):
                return True
    return False
