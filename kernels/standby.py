"""Energy-saving policies of stations (issue 19 §2): standby or switch-off, and the warm-up.

A station with a policy (``I_ES_MODE`` is ``STANDBY`` or ``SWITCHED_OFF``) starts a timer of
``F_ES_AFTER`` seconds each time one of its servers is committed to the state that the
policy watches (``I_ES_WHEN``: bit 0 ``STARVED``, bit 1 ``BLOCKED``). Any other state change
cancels it (``SI_ES_TOK`` is bumped), so the timer only runs out after that long in the one
state without a break; leaving working time (``OFF``/``IDLE``) is a change too, so only
working time counts, and the timer starts afresh when the next shift begins.

When the timer runs out the server saves energy (``SI_ES`` holds the state: ``STANDBY`` or
``SWITCHED_OFF``, which ``kernels.flow.derived_state`` reports in place of starved or
blocked). A blocked server keeps its finished part, which the next element may still take;
the server stays in its saving state while it has nothing to start. When it takes a part, it
first warms up (phase ``P_WARM``, state ``WARMING_UP``) for a time drawn from ``I_ES_RESTART``
(stream ``RS_RESTART``), counted in ``O_RESTARTS`` (the twin adds each restart's energy);
only then does the part start (setup, worker, processing as usual). A warm-up is not
interrupted: a failure or the end of the shift during it leaves the warm-up to finish and
stops what follows, as it does any processing. A server still saving energy when the shift
ends is switched on again by the next shift (outside working time it is ``OFF``/``IDLE``).

Every hook is behind ``P_ES`` (the model has a policy somewhere), except two that cost the
standard line nothing but a ``max``: ``derived_state`` and the test in ``start_part``.
"""

from kernels.jit import cold
from kernels.queue import push
from kernels.rng import sample
from kernels.types import (
    BLOCKED,
    E_ES_TIMER,
    E_ES_WARM,
    F_ES_AFTER,
    I_ES_MODE,
    I_ES_RESTART,
    I_ES_WHEN,
    I_KIND,
    N_STREAMS,
    O_RESTARTS,
    P_DONE,
    P_EMPTY,
    P_WARM,
    RS_RESTART,
    SI_DOWN,
    SI_EL,
    SI_ES,
    SI_ES_TOK,
    SI_OFF,
    SI_PHASE,
    SI_PM,
    SI_STATE,
    STARVED,
    STATION,
    T_NOW,
)


@cold
def state_changed(m, s, srv, new):
    """``srv`` was committed to state ``new``: cancel its timer, start it again when the
    policy watches ``new``, forget a saving state when working time ended."""
    s.srv_i[srv, SI_ES_TOK] += 1
    e = s.srv_i[srv, SI_EL]
    mode = m.el_i[e, I_ES_MODE]
    if mode <= 0:
        return
    if s.srv_i[srv, SI_OFF] != 0:
        s.srv_i[srv, SI_ES] = 0  # outside working time: the next shift switches it on
        return
    when = m.el_i[e, I_ES_WHEN]
    if (new == STARVED and when & 1) or (new == BLOCKED and when & 2):
        push(s.heap_t, s.heap_i, s.si, s.sf[T_NOW] + m.el_f[e, F_ES_AFTER], E_ES_TIMER, srv,
             s.srv_i[srv, SI_ES_TOK])


@cold
def start_timers(m, s):
    """At the start of a run: the timers of the servers already in a watched state."""
    for srv in range(s.srv_i.shape[0]):
        if m.el_i[s.srv_i[srv, SI_EL], I_KIND] == STATION:
            state_changed(m, s, srv, s.srv_i[srv, SI_STATE])


@cold
def timer_runs_out(m, s, srv, tok):
    """``E_ES_TIMER``: True when ``srv`` now saves energy (the caller commits its state)."""
    if tok != s.srv_i[srv, SI_ES_TOK] or s.srv_i[srv, SI_ES] != 0:
        return False
    # the committed state is unchanged, but an event of this instant (not committed yet)
    # may have given the server a part, or taken it: then it has work, or the other state
    e = s.srv_i[srv, SI_EL]
    ph = s.srv_i[srv, SI_PHASE]
    when = m.el_i[e, I_ES_WHEN]
    if not ((ph == P_EMPTY and when & 1) or (ph == P_DONE and when & 2)):
        return False
    if s.srv_i[srv, SI_DOWN] != 0 or s.srv_i[srv, SI_PM] != 0 or s.srv_i[srv, SI_OFF] != 0:
        return False
    s.srv_i[srv, SI_ES] = m.el_i[e, I_ES_MODE]
    return True


@cold
def start_warmup(m, s, srv):
    """A part entered ``srv`` while it saves energy: it warms up before the part starts."""
    e = s.srv_i[srv, SI_EL]
    s.srv_i[srv, SI_ES] = 0
    s.srv_i[srv, SI_PHASE] = P_WARM
    s.el_out[e, O_RESTARTS] += 1.0
    d = sample(m.dist_kind, m.dist_par, m.emp, m.el_i[e, I_ES_RESTART], s.rng,
               e * N_STREAMS + RS_RESTART)
    push(s.heap_t, s.heap_i, s.si, s.sf[T_NOW] + d, E_ES_WARM, srv, 0)


@cold
def warmup_over(s, srv):
    """``E_ES_WARM``: the server is ready; the caller starts the part it holds."""
    s.srv_i[srv, SI_PHASE] = P_EMPTY
