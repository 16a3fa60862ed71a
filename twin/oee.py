"""OEE and its loss breakdown from a machine's time per state, output and scrap.

The one definition of OEE in twinbench, after ISO 22400-2: a recorded shift
(``twin.recording.kpi``) and a simulated replication (``twin.sim.oee``) both give their state
times and counts to :func:`oee_terms`, so that a run's OEE and a recording's can be compared
figure for figure (a calibrated twin should show the OEE the plant recorded).

* planned downtime PDOT = time ``off`` + ``maintenance`` (the plant did not plan to produce).
* planned busy time PBT = observed time - PDOT.
* actual production time APT = time ``busy``.
* availability A = APT / PBT.
* performance P = ideal cycle time x produced quantity / APT (a simulated station: the
  parts' worth it processed inside the window, ``worked``).
* quality Q = good quantity / produced quantity; OEE = A x P x Q.
* losses (s): the time of every state but ``busy`` and the planned downtime's ``off`` and
  ``maintenance``, in ``kernels.types.STATE_NAMES`` order with ``down`` first,
  ``slow_cycles`` = APT - ideal cycle time x produced (``worked``) if positive beyond
  rounding, ``scrap`` = ideal cycle time x
  scrap.

Undefined ratios (a zero denominator) are None; so are performance and OEE without an ideal
cycle time, except that a machine available but producing nothing has an OEE of 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kernels.types import BUSY, DOWN, MAINTENANCE, OFF, SETUP, STATE_NAMES

#: What each OEE figure counts, as the windows say it (Replay's KPI table, the Statistics
#: table; ``docs/recording-format.md`` §6 says the same). Said in one place because
#: availability here is ISO 22400's APT / PBT: starved and blocked time, which the standard
#: equipment view would not charge to the machine, lower it, and a user reading "availability
#: 62 %" of a machine that never failed had no way to know why.
FIGURE_HELP = {
    "oee": "OEE = availability × performance × quality",
    "availability": (
        "availability = busy / (observed time − off − maintenance). Every other state lowers "
        "it: down, setup, idle, waiting for a worker, energy saving, and also starved and "
        "blocked, which are line effects (no part came, no room downstream), not the "
        "machine's own faults. The OEE losses list each state's time."),
    "performance": ("performance = ideal cycle time × parts made (good + scrap) / busy "
                    "time; over 100 % when parts take less than the ideal time"),
    "quality": "quality = good parts / parts made",
}

#: The states a machine is active in, for the bottleneck by the utilisation method: the
#: machine most active over its observed time (a run's, ``twin.sim.summary.bottleneck``; a
#: recording's, ``twin.recording.kpi.bottleneck``).
ACTIVE_STATES = (BUSY, SETUP, DOWN)

#: Busy time over the ideal by less than this fraction of it is rounding, not slow cycles.
SLOW_CYCLES_RTOL = 1e-9

#: The states whose time is a loss: all but busy and planned downtime, ``down`` first.
LOSS_STATES = tuple(sorted((n for c, n in enumerate(STATE_NAMES)
                            if c not in (BUSY, OFF, MAINTENANCE)),
                           key=lambda n: n != STATE_NAMES[DOWN]))
#: Every key of ``OeeTerms.losses_s`` with an ideal cycle time, in the order tables show them.
LOSS_KEYS = (*LOSS_STATES, "slow_cycles", "scrap")


@dataclass(frozen=True)
class OeeTerms:
    """The ISO 22400 times (s), the three ratios and OEE (0-1 or None), and the losses (s)."""

    planned_downtime_s: float
    planned_busy_s: float
    actual_production_s: float
    availability: float | None
    performance: float | None
    quality: float | None
    oee: float | None
    losses_s: dict[str, float] = field(default_factory=dict)


def _ratio(num: float, den: float) -> float | None:
    return None if den <= 0 else num / den


def oee_terms(
    state_time_s: Mapping[str, float],
    observed_s: float,
    produced: float,
    scrap: float,
    ideal_cycle_time_s: float | None,
    worked: float | None = None,
) -> OeeTerms:
    """OEE of one machine over one window.

    Parameters
    ----------
    state_time_s : mapping of str to float
        Time in each state of ``kernels.types.STATE_NAMES`` (s); for a machine of several
        servers, the sum over its servers (server-time), as ``produced`` counts all of them.
    observed_s : float
        The time the states were observed (s): the window less any time without data.
    produced, scrap : float
        Parts produced (good + scrap) and scrapped in the window.
    ideal_cycle_time_s : float or None
        The time one part ideally takes on one server (s); None: no performance, no OEE.
    worked : float or None
        Parts' worth of processing done inside the window, where it is known (a simulated
        station: ``produced`` plus the work in its servers at the window's end less that at
        its start, ``kernels.edges``); None: ``produced``. Performance and slow cycles
        compare busy time with it: busy time counts a cycle cut by the window's edge in
        part, ``produced`` only whole parts that left, so a constant process time showed
        slow cycles of up to one cycle per server (gui18 §3).
    """
    pdot = state_time_s[STATE_NAMES[OFF]] + state_time_s[STATE_NAMES[MAINTENANCE]]
    pbt = observed_s - pdot
    apt = state_time_s[STATE_NAMES[BUSY]]
    good = produced - scrap
    ict = ideal_cycle_time_s
    availability = _ratio(apt, pbt)
    worked = produced if worked is None else worked
    performance = None if ict is None else _ratio(ict * worked, apt)
    quality = _ratio(good, produced)
    if None not in (availability, performance, quality):
        oee = availability * performance * quality
    elif availability is not None and performance == 0.0:
        oee = 0.0
    else:
        oee = None
    losses = {name: float(state_time_s[name]) for name in LOSS_STATES}
    if ict is not None:
        # a sum of busy intervals and a product differ in their last bits: no slow cycles
        slow = apt - ict * worked
        losses["slow_cycles"] = slow if slow > SLOW_CYCLES_RTOL * apt else 0.0
        losses["scrap"] = ict * scrap
    return OeeTerms(planned_downtime_s=pdot, planned_busy_s=pbt, actual_production_s=apt,
                    availability=availability, performance=performance, quality=quality,
                    oee=oee, losses_s=losses)
