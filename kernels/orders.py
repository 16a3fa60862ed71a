"""Orders (issue 18 §4): the parts of an order, their sequence at the source, completion.

An order source (``I_SEQ >= 0``) is a scheduled source whose schedule rows are its orders:
row ``r`` releases ``sched_q[r]`` parts of product ``sched_p[r]`` at ``sched_t[r]``, once,
each part carrying ``PI_ORDER = r``. The parts wait at the source (its FIFO) in the order of
its sequencing rule (``SQ_*``): the static rules keep the FIFO sorted by each order's key
(``OD_KEY``; ties by release), so the head is always the part that goes first; ``SQ_SETUP``
keeps release order but moves a part of the product the first station is set up for to the
head. An order is complete when its last part has left the line (reached a sink, was
scrapped, or was consumed by an assembly): ``ord_out`` (``OS_*``). See ``docs/orders.md``.

A buffer with a sequencing rule (``I_SEQ > SQ_FIFO`` on a buffer) keeps its parts in arrival
order and applies the rule when a station after it takes one (``take_sequenced``, told the
taking station ``x``): the waiting part with the smallest key (``part_key``: the due date or
priority of its order, or its product's process time at ``x``, ``mix_cum[x, product]``) or,
for ``SQ_SETUP``, the first of the product ``x`` is set up for. With several stations after
it the buffer routes by ``shortest_queue`` (the lowering refuses the others): no part is
assigned a station, so whichever has room takes its best part.

These are the hooks ``kernels.flow`` calls; ``kernels.ordersource`` releases the parts. All
are ``cold``: a part without an order costs a sink one test (``PI_ORDER >= 0``), and a take
from a source, buffer or conveyor one test (``I_SEQ``).
"""

import numpy as np

from kernels.jit import cold
from kernels.types import (
    EI_HEAD,
    EI_TAIL,
    I_KIND,
    I_SEQ,
    I_SERVER0,
    N_OD,
    OD_DUE,
    OD_KEY,
    OD_PRIO,
    OS_DONE_T,
    OS_GOOD,
    OS_LEFT,
    P_OD0,
    PI_NEXT,
    PI_ORDER,
    PI_PROD,
    SI_LAST_PROD,
    SOURCE,
    SQ_EDD,
    SQ_PRIORITY,
    SQ_SETUP,
    SQ_SPT,
    STATION,
    T_NOW,
)


@cold
def order_part_leaves(m, s, part, good):
    """``part`` of an order leaves the line (``good``: at a sink); the order is complete
    when it was its last part."""
    o = s.part_i[part, PI_ORDER]
    s.ord_out[o, OS_LEFT] -= 1.0
    if good:
        s.ord_out[o, OS_GOOD] += 1.0
    if s.ord_out[o, OS_LEFT] <= 0.0:
        s.ord_out[o, OS_DONE_T] = s.sf[T_NOW]


@cold
def _order(m, o, col):
    """Column ``col`` (``OD_*``) of order ``o``: the orders' table rides in ``params``
    after ``N_P`` (from ``P_OD0``, ``kernels.types``)."""
    return m.params[int(m.params[P_OD0]) + o * N_OD + col]


@cold
def part_key(m, s, e, p, x):
    """The sort key of part ``p`` waiting at ``e`` (smaller first): at an order source its
    order's ``OD_KEY`` (a part of no order, there since a fork: -inf); at a buffer by the
    buffer's rule, for station ``x`` taking it: ``edd`` the due date of its order (none:
    last), ``priority`` minus its order's priority (none: priority 0), ``spt`` its
    product's mean process time at ``x`` (``mix_cum[x, product]``: a station's row holds
    its process times, ``twin.sim.orders``), else 0 (arrival order)."""
    o = s.part_i[p, PI_ORDER]
    if m.el_i[e, I_KIND] == SOURCE:  # a part of no order there: placed by a fork, first
        return _order(m, o, OD_KEY) if o >= 0 else -np.inf
    rule = m.el_i[e, I_SEQ]
    if rule == SQ_SPT:
        return m.mix_cum[x, s.part_i[p, PI_PROD]]
    if rule == SQ_EDD:
        return _order(m, o, OD_DUE) if o >= 0 else np.inf
    if rule == SQ_PRIORITY:
        return -_order(m, o, OD_PRIO) if o >= 0 else 0.0
    return 0.0


@cold
def take_sequenced(m, s, e, x):
    """The part ``x``, a successor of ``e``, takes, removed from ``e``'s waiting parts: at
    an order source the head (its rule keeps them in order; ``SQ_SETUP`` then moves a part
    of the product just taken to the head); at a buffer the part its rule chooses for
    ``x``."""
    if m.el_i[e, I_KIND] == SOURCE:
        part = s.el_si[e, EI_HEAD]
        unlink(s, e, -1, part)
        if m.el_i[e, I_SEQ] == SQ_SETUP:
            prefer_product(m, s, e, s.part_i[part, PI_PROD])
        return part
    prev = -1
    part = s.el_si[e, EI_HEAD]
    if m.el_i[e, I_SEQ] == SQ_SETUP:  # the first of the product ``x`` is set up for
        prod = set_up_for(m, s, x)
        q_prev = -1
        q = part
        while q >= 0 and s.part_i[q, PI_PROD] != prod:
            q_prev = q
            q = s.part_i[q, PI_NEXT]
        if q >= 0:
            prev, part = q_prev, q
    else:  # the smallest key, the first arrived of equal keys
        best = part_key(m, s, e, part, x)
        q_prev = part
        q = s.part_i[part, PI_NEXT]
        while q >= 0:
            k = part_key(m, s, e, q, x)
            if k < best:
                best, prev, part = k, q_prev, q
            q_prev = q
            q = s.part_i[q, PI_NEXT]
    unlink(s, e, prev, part)
    return part


@cold
def unlink(s, e, prev, q):
    """Remove part ``q`` from the waiting parts of ``e`` (``prev``: the part before it, -1:
    it is the head)."""
    nxt = s.part_i[q, PI_NEXT]
    if prev < 0:
        s.el_si[e, EI_HEAD] = nxt
    else:
        s.part_i[prev, PI_NEXT] = nxt
    if nxt < 0:
        s.el_si[e, EI_TAIL] = prev
    s.part_i[q, PI_NEXT] = -1


@cold
def setup_product(m, s, e):
    """The product the first station after ``e`` is set up for (that of the last part its
    first server started; -1: none yet, or no station follows)."""
    a = m.succ_ptr[e]
    if m.succ_ptr[e + 1] == a:
        return -1
    return set_up_for(m, s, m.succ[a])


@cold
def set_up_for(m, s, x):
    """The product station ``x`` is set up for: that of the last part its first server
    started (-1: none yet, or ``x`` is no station)."""
    if m.el_i[x, I_KIND] != STATION:
        return -1
    return s.srv_i[m.el_i[x, I_SERVER0], SI_LAST_PROD]


@cold
def insert_by_key(m, s, e, p):
    """Put part ``p`` into the FIFO of order source ``e`` after every part whose key
    (``part_key``) is not larger (stable: ties keep their release order). Scans the
    waiting parts: cost linear in the parts waiting at the source, at each release only."""
    key = part_key(m, s, e, p, -1)
    prev = -1
    q = s.el_si[e, EI_HEAD]
    while q >= 0 and part_key(m, s, e, q, -1) <= key:
        prev = q
        q = s.part_i[q, PI_NEXT]
    s.part_i[p, PI_NEXT] = q
    if prev < 0:
        s.el_si[e, EI_HEAD] = p
    else:
        s.part_i[prev, PI_NEXT] = p
    if q < 0:
        s.el_si[e, EI_TAIL] = p


@cold
def prefer_product(m, s, e, prod):
    """``SQ_SETUP``: move the first waiting part of product ``prod`` at ``e`` to the
    head of its FIFO (the others keep their order). Scans the waiting parts up to it."""
    if prod < 0:
        return
    prev = -1
    q = s.el_si[e, EI_HEAD]
    while q >= 0 and s.part_i[q, PI_PROD] != prod:
        prev = q
        q = s.part_i[q, PI_NEXT]
    if q < 0 or prev < 0:
        return  # none of that product, or it is at the head already
    unlink(s, e, prev, q)
    s.part_i[q, PI_NEXT] = s.el_si[e, EI_HEAD]
    s.el_si[e, EI_HEAD] = q
