"""Where a part goes from an element with several successors, by the element's ``routing``:
by probability (one draw of its routing stream), round robin, or the bill of a disassembly
(k_j parts to successor j, in turn); -1 leaves it to whichever successor can take it first
(``kernels.flow.choose_destination``; the shortest queue wakes them all)."""

from kernels.jit import cold
from kernels.rng import uniform01
from kernels.types import EI_RR, N_STREAMS, R_BILL, R_PROBABILITY, R_ROUND_ROBIN, RS_ROUTING


@cold
def route(routing, succ, succ_cum, el_si, rng, e, a, b):
    if routing == R_PROBABILITY:
        u = uniform01(rng, e * N_STREAMS + RS_ROUTING)
        for k in range(a, b):
            if u <= succ_cum[k]:
                return succ[k]
        return succ[b - 1]
    if routing == R_ROUND_ROBIN:
        k = el_si[e, EI_RR] % (b - a)
        el_si[e, EI_RR] += 1
        return succ[a + k]
    if routing == R_BILL:  # disassembly (issue 18): quantity k_j to successor j, in turn
        u = float(el_si[e, EI_RR] % int(succ_cum[b - 1]))
        el_si[e, EI_RR] += 1
        for k in range(a, b):
            if u < succ_cum[k]:
                return succ[k]
    return -1
