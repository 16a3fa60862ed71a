"""Orders (issue 18 §4): the parts of an order, their sequence at the source, completion.

An order source (``I_SEQ >= 0``) is a scheduled source whose schedule rows are its orders:
row ``r`` releases ``sched_q[r]`` parts of product ``sched_p[r]`` at ``sched_t[r]``, once,
each part carrying ``PI_ORDER = r``. The parts wait at the source (its FIFO) in the order of
its sequencing rule (``SQ_*``): the static rules keep the FIFO sorted by each order's key
(``OD_KEY``; ties by release), so the head is always the part that goes first; ``SQ_SETUP``
keeps release order but moves a part of the product the first station is set up for to the
head. An order is complete when its last part has left the line (reached a sink, was
scrapped, or was consumed by an assembly): ``ord_out`` (``OS_*``). See ``docs/orders.md``.

These are the hooks ``kernels.flow`` calls; ``kernels.ordersource`` releases the parts. All
are ``cold``: a part without an order costs a sink one test (``PI_ORDER >= 0``), and a
source without orders costs a take from it one test (``I_SEQ``).
"""

from kernels.jit import cold
from kernels.types import (
    EI_HEAD,
    EI_TAIL,
    N_OD,
    OD_KEY,
    OS_DONE_T,
    OS_GOOD,
    OS_LEFT,
    P_OD0,
    PI_NEXT,
    PI_ORDER,
    PI_PROD,
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
def insert_by_key(m, s, e, p):
    """Put part ``p`` into the FIFO of source ``e`` after every part whose order's key is
    not larger (stable: ties keep their release order). Scans the waiting parts: cost
    linear in the parts waiting at the source, at each release only."""
    od0 = int(m.params[P_OD0])  # the orders' table rides in ``params`` (kernels.types)
    key = m.params[od0 + s.part_i[p, PI_ORDER] * N_OD + OD_KEY]
    prev = -1
    q = s.el_si[e, EI_HEAD]
    while q >= 0 and m.params[od0 + s.part_i[q, PI_ORDER] * N_OD + OD_KEY] <= key:
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
    """``SQ_SETUP``: move the first waiting part of product ``prod`` at source ``e`` to the
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
    nxt = s.part_i[q, PI_NEXT]
    s.part_i[prev, PI_NEXT] = nxt
    if nxt < 0:
        s.el_si[e, EI_TAIL] = prev
    s.part_i[q, PI_NEXT] = s.el_si[e, EI_HEAD]
    s.el_si[e, EI_HEAD] = q
