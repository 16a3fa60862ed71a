"""Assembly (issue 18): a station with a bill of materials joins parts into one.

Each input of the bill (a predecessor element and a quantity ``k``) has a place of its own
at the assembly: a FIFO of waiting parts with a capacity, filled from that predecessor
alone, which blocks the predecessor when full (``kernels/places.py``). A server starts when
it is free and every place holds its ``k`` parts: it consumes them all and works on one
part, the *main part* (the first part of the first input) carrying the assembled product and
the earliest line entry of its components (lead time runs from there). Everything after the
start (setup, processing, failures, scrap, blocking) is a station's. See
``docs/semantics.md``, "Assembly".

``kernels.engine._pull`` hands an assembly to ``fill_places`` and ``start_assemblies`` (its
one hook); these are ``cold``: a line without assemblies never calls them.
"""

from kernels.flow import INF, change_content, free_part, free_server, offer, start_part, take
from kernels.jit import cold
from kernels.orders import order_part_leaves
from kernels.places import place_pop, place_push
from kernels.types import (
    BM_CAP,
    BM_K,
    BM_PRED,
    BS_COUNT,
    I_BOM0,
    I_BOM_N,
    I_OUT_PROD,
    MOVES_PER_CHECK,
    O_IN,
    PF_T0,
    PI_ORDER,
    PI_PROD,
    SI_PART,
)


@cold
def fill_places(m, s, x, moved):
    """Let each input of assembly ``x`` take parts from its predecessor while its place has
    room; ``moved`` counts moves since the room was last checked.

    Returns ``(p, moved)``: ``p`` is -1 when no input can take more, or the predecessor
    whose part would have been the move past ``MOVES_PER_CHECK`` (the caller checks the room
    and calls again: the part is still there).
    """
    a = m.el_i[x, I_BOM0]
    for b in range(a, a + m.el_i[x, I_BOM_N]):
        p = m.bom[b, BM_PRED]
        while s.bom_out[b, BS_COUNT] < m.bom[b, BM_CAP]:
            r, srv = offer(m, s, p, x)
            if r == INF:
                break
            moved += 1
            if moved > MOVES_PER_CHECK:
                return p, moved
            part = take(m, s, p, srv, x)
            s.el_out[x, O_IN] += 1.0
            change_content(m, s, x, 1)
            place_push(m, s, x, b, part)
    return -1, moved


@cold
def start_assemblies(m, s, x):
    """Start an assembly on each free server of ``x`` while every input holds its parts;
    returns how many started (their places then have room again)."""
    a = m.el_i[x, I_BOM0]
    n = m.el_i[x, I_BOM_N]
    started = 0
    while True:
        srv = free_server(s, m, x)
        if srv < 0:
            return started
        for b in range(a, a + n):
            if s.bom_out[b, BS_COUNT] < m.bom[b, BM_K]:
                return started
        main = -1
        t0 = INF
        used = 0
        for b in range(a, a + n):
            for _ in range(m.bom[b, BM_K]):
                part = place_pop(m, s, x, b)
                used += 1
                t0 = min(t0, s.part_f[part, PF_T0])
                if main < 0:
                    main = part
                else:
                    if s.part_i[part, PI_ORDER] >= 0:  # hook: orders, a component used up
                        order_part_leaves(m, s, part, True)
                    free_part(s, part)
        prod = m.el_i[x, I_OUT_PROD]
        if prod >= 0:
            s.part_i[main, PI_PROD] = prod
        s.part_f[main, PF_T0] = t0
        change_content(m, s, x, 1 - used)
        s.srv_i[srv, SI_PART] = main
        start_part(m, s, srv, False)
        started += 1
