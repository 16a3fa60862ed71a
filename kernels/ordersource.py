"""The release of an order at an order source (issue 18 §4; ``kernels.orders``).

Apart from ``kernels/orders.py`` because it makes parts (``kernels.flow``), which itself
calls the hooks there. ``kernels.engine._arrival`` calls ``release_orders`` for the next
schedule rows of an order source: its one hook, on the rare path of an arrival.
"""

from kernels.flow import change_content, new_part
from kernels.jit import cold
from kernels.orders import insert_by_key, prefer_product, setup_product
from kernels.types import (
    EI_SCHED_K,
    I_SCHED0,
    I_SCHED_N,
    I_SEQ,
    O_IN,
    PI_ORDER,
    SQ_SETUP,
)


@cold
def release_orders(m, s, e):
    """Release the next order of order source ``e`` and every later one due at the same
    time, so that its sequencing rule decides among all of them (an order released a
    moment earlier may already have a part in the line)."""
    r0 = m.el_i[e, I_SCHED0]
    n = m.el_i[e, I_SCHED_N]
    k = s.el_si[e, EI_SCHED_K]
    t = m.sched_t[r0 + k]
    while k < n and m.sched_t[r0 + k] == t:
        release_order(m, s, e, r0 + k)
        k += 1
    s.el_si[e, EI_SCHED_K] = k


@cold
def release_order(m, s, e, row):
    """Order ``row`` (a schedule row of source ``e``) releases its parts into the source's
    waiting parts, in the place its sequencing rule gives them."""
    for _ in range(m.sched_q[row]):
        p = new_part(m, s, m.sched_p[row])
        s.part_i[p, PI_ORDER] = row
        insert_by_key(m, s, e, p)
        change_content(m, s, e, 1)
        s.el_out[e, O_IN] += 1.0
    if m.el_i[e, I_SEQ] == SQ_SETUP:
        prefer_product(m, s, e, setup_product(m, s, e))

