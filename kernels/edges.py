"""The parts' worth of processing a station's servers hold at the edges of the window the
statistics cover (the end of the warm-up, and now).

A station's busy time in the window includes the part of a cycle begun before the warm-up
ended and the part of one still in work at the end, while its parts out count whole parts
that left inside the window. Compared as they were, a constant 45 s process time showed up
to 45 s of "slow cycles" and a performance above 100 % (gui18 §3). ``O_WORK_START`` and
``O_WORK_END`` let ``twin.sim.oee`` compare busy time with the work done inside the window:
parts out + scrap + what was in work at the end - what was in work at the start.

Per server: a part in processing counts the fraction of its process time done; a finished
part still in the server (blocked) counts 1, since its busy time is counted but it has not
left. A batch or unbatch station's load is several parts in one process time, which the
server does not say: it counts nothing here (its edges are left as they were).
"""

from kernels.jit import cold
from kernels.types import (
    I_BATCH_MIN,
    I_KIND,
    I_LOAD,
    P_DONE,
    P_PROCESS,
    SF_REM,
    SF_START,
    SF_WORK,
    SI_DOWN,
    SI_EL,
    SI_OFF,
    SI_PHASE,
    SI_PM,
    STATION,
)


@cold
def work_held(m, s, srv, t):
    """Parts' worth of processing done on what server ``srv`` holds at time ``t``."""
    e = s.srv_i[srv, SI_EL]
    if m.el_i[e, I_KIND] != STATION or m.el_i[e, I_BATCH_MIN] > 0 or m.el_i[e, I_LOAD] > 0:
        return 0.0
    ph = s.srv_i[srv, SI_PHASE]
    if ph == P_DONE:
        return 1.0
    if ph != P_PROCESS:
        return 0.0
    work = s.srv_f[srv, SF_WORK]
    if not work > 0.0:
        return 0.0
    rem = s.srv_f[srv, SF_REM]
    if s.srv_i[srv, SI_DOWN] == 0 and s.srv_i[srv, SI_OFF] == 0 and s.srv_i[srv, SI_PM] == 0:
        rem -= t - s.srv_f[srv, SF_START]  # running: SF_REM is what was left at SF_START
    return min(max(1.0 - rem / work, 0.0), 1.0)


@cold
def note_work_held(m, s, t, column):
    """Set ``el_out[:, column]`` to each station's :func:`work_held` at ``t``."""
    s.el_out[:, column] = 0.0
    for srv in range(s.srv_i.shape[0]):
        e = s.srv_i[srv, SI_EL]
        s.el_out[e, column] += work_held(m, s, srv, t)
