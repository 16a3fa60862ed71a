"""The input places of an assembly: a FIFO of waiting parts per input of its bill of
materials, and what each counts (issue 18; ``docs/semantics.md``, "Assembly").

Apart from ``kernels/assembly.py`` (which moves parts) so that ``kernels/engine.py`` can
bring the per-input counts up to date when a run is read or its warm-up ends, without a
cycle of imports. Rows of ``bom`` and ``bom_out`` are the inputs (``kernels.types``,
``BM_*``, ``BS_*``, ``BO_*``); a plant without assemblies has one unused row.
"""

from kernels.jit import cold, hot
from kernels.types import (
    BM_K,
    BO_CONTENT_INT,
    BO_CONTENT_MAX,
    BO_IN,
    BO_MARK,
    BO_SINCE,
    BO_STARVED,
    BS_COUNT,
    BS_HEAD,
    BS_TAIL,
    I_BOM0,
    I_BOM_N,
    I_SERVER0,
    I_SERVERS,
    PF_READY,
    PI_NEXT,
    SF_SINCE,
    SI_STATE,
    STARVED,
    T_NOW,
)


@hot
def starved_seconds(m, s, x, t):
    """Server-seconds assembly ``x`` spent starved from time 0 to ``t``, from its committed
    states (``st_warm`` + ``st_time`` and the running state of each server): no hook in the state
    changes is needed to split its starved time by input."""
    total = s.st_warm[x, STARVED] + s.st_time[x, STARVED]
    s0 = m.el_i[x, I_SERVER0]
    for srv in range(s0, s0 + m.el_i[x, I_SERVERS]):
        if s.srv_i[srv, SI_STATE] == STARVED:
            total += t - s.srv_f[srv, SF_SINCE]
    return total


@cold
def account(m, s, x, t):
    """Bring the integrals of the inputs of assembly ``x`` up to time ``t``: the parts
    waiting in each place, and the server-seconds the assembly was starved while each
    input had fewer parts than one assembly needs (an interval short of two inputs counts
    for both). Called before a place's count changes (whether an input is short changes
    only then) and when the statistics are read or reset."""
    starved = starved_seconds(m, s, x, t)
    a = m.el_i[x, I_BOM0]
    for b in range(a, a + m.el_i[x, I_BOM_N]):
        c = s.bom_out[b, BS_COUNT]
        s.bom_out[b, BO_CONTENT_INT] += c * (t - s.bom_out[b, BO_SINCE])
        if c < m.bom[b, BM_K]:
            s.bom_out[b, BO_STARVED] += starved - s.bom_out[b, BO_MARK]
        s.bom_out[b, BO_MARK] = starved
        s.bom_out[b, BO_SINCE] = t


@hot
def place_push(m, s, x, b, part):
    """Put ``part`` at the tail of input ``b`` of assembly ``x``."""
    account(m, s, x, s.sf[T_NOW])
    s.part_i[part, PI_NEXT] = -1
    s.part_f[part, PF_READY] = s.sf[T_NOW]  # a batch's timeout runs from its first part
    tail = int(s.bom_out[b, BS_TAIL])
    if tail >= 0:
        s.part_i[tail, PI_NEXT] = part
    else:
        s.bom_out[b, BS_HEAD] = part
    s.bom_out[b, BS_TAIL] = part
    c = s.bom_out[b, BS_COUNT] + 1.0
    s.bom_out[b, BS_COUNT] = c
    s.bom_out[b, BO_IN] += 1.0
    if c > s.bom_out[b, BO_CONTENT_MAX]:
        s.bom_out[b, BO_CONTENT_MAX] = c


@hot
def place_pop(m, s, x, b):
    """Take the part at the head of input ``b`` of assembly ``x`` (it has one)."""
    account(m, s, x, s.sf[T_NOW])
    part = int(s.bom_out[b, BS_HEAD])
    nxt = s.part_i[part, PI_NEXT]
    s.bom_out[b, BS_HEAD] = nxt
    if nxt < 0:
        s.bom_out[b, BS_TAIL] = -1.0
    s.part_i[part, PI_NEXT] = -1
    s.bom_out[b, BS_COUNT] -= 1.0
    return part


@cold
def flush_places(m, s, t, reset):
    """Bring every assembly's input integrals up to time ``t``; with ``reset`` (the end of
    the warm-up), then discard what they counted before it."""
    for x in range(m.el_i.shape[0]):
        if m.el_i[x, I_BOM_N] == 0:
            continue
        account(m, s, x, t)
        if reset:
            a = m.el_i[x, I_BOM0]
            for b in range(a, a + m.el_i[x, I_BOM_N]):
                s.bom_out[b, BO_IN] = 0.0
                s.bom_out[b, BO_STARVED] = 0.0
                s.bom_out[b, BO_CONTENT_INT] = 0.0
                s.bom_out[b, BO_CONTENT_MAX] = s.bom_out[b, BS_COUNT]
