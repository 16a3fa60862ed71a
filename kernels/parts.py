"""The part pool, and a load that travels as one unit (issue 18 §2).

A part is a row of ``part_i``/``part_f``; free rows are chained through ``PI_NEXT`` from
``S_FREE``, and the line's work in process (``S_WIP``, its integral ``L_WIP_INT``) counts
the parts taken from the pool. A load is a part whose ``PI_BATCH`` chains the other parts
of a batch station's load (``kernels/batching.py``); one released whole (``LOAD_RELEASE``)
moves through conveyors, buffers and stations as its first part until an unbatch station
releases its parts (a load never reaches a sink whole: ``twin.projectfile.structure``).
Apart from ``kernels/flow.py``, which imports these.
"""

from kernels.jit import cold, hot
from kernels.types import (
    L_CREATED,
    L_WIP_INT,
    PF_READY,
    PF_T0,
    PI_BATCH,
    PI_DEST,
    PI_NEXT,
    PI_ORDER,
    PI_PROD,
    S_FREE,
    S_NFREE,
    S_WIP,
    T_NOW,
    T_WIP_SINCE,
)


@hot
def change_wip(s, delta):
    now = s.sf[T_NOW]
    s.line_out[L_WIP_INT] += s.si[S_WIP] * (now - s.sf[T_WIP_SINCE])
    s.sf[T_WIP_SINCE] = now
    s.si[S_WIP] += delta


@hot
def new_part(s, prod):
    p = s.si[S_FREE]
    s.si[S_FREE] = s.part_i[p, PI_NEXT]
    s.si[S_NFREE] -= 1
    s.part_i[p, PI_NEXT] = -1
    s.part_i[p, PI_PROD] = prod
    s.part_i[p, PI_DEST] = -2
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


@cold
def load_size(s, part):
    """The parts of the load ``part`` leads (1: a part outside a load)."""
    n = 1
    while s.part_i[part, PI_BATCH] >= 0:
        part = s.part_i[part, PI_BATCH]
        n += 1
    return n
