"""Batching (issue 18 §2): a station that processes a load of parts together (an oven).

A batch station is an assembly (``kernels/assembly.py``) with one input: its place (a FIFO
with a capacity, filled from its one predecessor, which it blocks when full) collects the
parts, and ``BM_K`` of that input is the batch size ``n``. A free server starts a load when
the place holds ``n`` parts, or, once ``F_BATCH_TIMEOUT`` has passed since the first part
of the load entered the place, when it holds at least ``I_BATCH_MIN`` parts. The load is
one unit while it is processed: one setup, one process time (drawn for the product of its
first part), one failure clock, one operation; the server is busy for it as a whole. When
it is done the server holds the load, blocked, until its successors took every part one by
one (``kernels.flow._take_from_load``), each keeping its own identity and lead time. See
``docs/semantics.md``, "Batching".

The parts of a load are chained through ``PI_BATCH`` from the part the server holds; a
part outside a load has ``PI_BATCH`` -1. Everything here is ``cold``: a line without batch
stations calls only the one test in ``kernels.flow.take``.

A load that travels as one unit (issue 18 §2): a batch station with ``I_LOAD`` =
``LOAD_RELEASE`` lets its done load go whole (``kernels.flow._take_from_load``): the load
moves on as its first part, through conveyors, buffers and stations, each of which holds it
as one unit, until an unbatch (``I_LOAD`` = ``LOAD_UNBATCH``), a batch station of size 1
whose unit is the load: it processes it once and hands its parts out one by one as a batch
station does. No code on the path of every part knows loads: a load never reaches a sink
whole (the reader puts an unbatch before it), and only a station holding a load calls
``_take_from_load``.

Disassembly (issue 18 §1) is a batch station of size 1 with ``I_SPLIT`` = K: the part it
starts becomes a load of K parts (itself and K - 1 new parts of its line entry), processed
once and handed out part by part as any load, each to the successor the routing ``R_BILL``
gives (k_j to successor j in turn, ``kernels.routing.route``). The rows of ``bom`` after its
input row say the product of each (``BM_OUT_PROD``, in the order they leave): the new parts
are made of theirs; the separated part keeps its own while it is processed (its setup and
process time) and takes its new one as it leaves (``PD_BECOMES``).
"""

from kernels.flow import change_content, free_server, new_part, start_part
from kernels.jit import cold
from kernels.places import place_pop
from kernels.queue import push
from kernels.types import (
    BM_K,
    BM_OUT_PROD,
    BS_COUNT,
    BS_HEAD,
    E_WAKE,
    EF_BATCH_WAKE,
    F_BATCH_TIMEOUT,
    I_BATCH_MIN,
    I_BOM0,
    I_LOAD,
    I_SPLIT,
    LOAD_UNBATCH,
    PD_BECOMES,
    PF_READY,
    PF_T0,
    PI_BATCH,
    PI_DEST,
    PI_PROD,
    SI_PART,
    T_NOW,
)


@cold
def start_batches(m, s, x):
    """Start a load on each free server of batch station ``x`` while its place holds a full
    one (or a timed-out one of at least the minimum fill); returns how many started. When
    the place holds a load that is neither, schedule one wake of ``x`` for its timeout."""
    b = m.el_i[x, I_BOM0]
    n = m.bom[b, BM_K]
    now = s.sf[T_NOW]
    started = 0
    while True:
        c = int(s.bom_out[b, BS_COUNT])
        if c == 0:
            return started
        if c < n:
            due = s.part_f[int(s.bom_out[b, BS_HEAD]), PF_READY] + m.el_f[x, F_BATCH_TIMEOUT]
            if due > now:
                if due != s.el_sf[x, EF_BATCH_WAKE]:  # once per load, not per pull
                    s.el_sf[x, EF_BATCH_WAKE] = due
                    push(s.heap_t, s.heap_i, s.si, due, E_WAKE, x, 0)
                return started
            if c < m.el_i[x, I_BATCH_MIN]:
                return started
        srv = free_server(s, m, x)
        if srv < 0:
            return started
        main = place_pop(m, s, x, b)
        last = main
        for _ in range(min(c, n) - 1):
            part = place_pop(m, s, x, b)
            s.part_i[last, PI_BATCH] = part
            last = part
        if m.el_i[x, I_SPLIT] > 1:
            last = split_part(m, s, x, main)
        elif m.el_i[x, I_LOAD] == LOAD_UNBATCH:
            last = unbatch(m, s, x, main)
        s.part_i[last, PI_BATCH] = -1
        s.srv_i[srv, SI_PART] = main
        start_part(m, s, srv, False)
        started += 1



@cold
def split_part(m, s, x, main):
    """Disassembly: make ``main`` into ``I_SPLIT`` parts, the others new parts of its line
    entry chained after it as a load, each of the product of its run of the bill (``main``
    takes that of the first as it leaves); returns the last."""
    own = s.part_i[main, PI_PROD]
    r = m.el_i[x, I_BOM0] + 1  # the first run of the bill
    left = m.bom[r, BM_K]
    prod = m.bom[r, BM_OUT_PROD]
    if prod >= 0 and prod != own:
        s.part_i[main, PI_DEST] = PD_BECOMES - prod
    last = main
    for _ in range(m.el_i[x, I_SPLIT] - 1):
        left -= 1
        if left == 0:
            r += 1
            left = m.bom[r, BM_K]
        prod = m.bom[r, BM_OUT_PROD]
        part = new_part(m, s, own if prod < 0 else prod)
        s.part_f[part, PF_T0] = s.part_f[main, PF_T0]
        s.part_i[last, PI_BATCH] = part
        last = part
    change_content(m, s, x, m.el_i[x, I_SPLIT] - 1)
    return last


@cold
def unbatch(m, s, x, main):
    """An unbatch starts the unit ``main``: a load that travelled as one (or a lone part);
    its parts count in the station's content from now on, as they leave one by one.
    Returns the last part of the load."""
    last = main
    n = 0
    while s.part_i[last, PI_BATCH] >= 0:
        last = s.part_i[last, PI_BATCH]
        n += 1
    change_content(m, s, x, n)
    return last
