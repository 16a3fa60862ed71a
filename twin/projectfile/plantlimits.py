"""Limits only the whole plant tells: servers in total, parts on a conveyor, and clocks
that would fire without end or too often for the horizon (``docs/limits.md``; the numbers
are in ``twin.limits``)."""

from __future__ import annotations

import math

from twin.errors import Problems
from twin.limits import (
    MAX_CALENDAR_CYCLES,
    MAX_CONVEYOR_PARTS,
    MAX_EVENTS,
    MAX_PRODUCTS,
    MAX_SERVERS_TOTAL,
    MIN_CALENDAR_PERIOD_S,
    MIN_INTERVAL_S,
    MIN_PERIOD_S,
    big,
    who,
)
from twin.model import elements as m
from twin.units import seconds_text


# --- the whole plant --------------------------------------------------------------------------
def check_project(project, problems: Problems, index: dict[str, int] | None = None) -> None:
    """What only the whole plant tells: servers in total, parts on a conveyor, and clocks
    that would fire without end or more than ``MAX_EVENTS`` times within the project's
    horizon. ``index`` maps element ids to their position in the file."""
    index = index or {el.id: i for i, el in enumerate(project.elements)}
    horizon = project.run.horizon
    succ, pred = project.adjacency()
    pos = {el.id: el.position for el in project.elements}

    def clock(path, el, what, mean, minimum, field_value):
        """A clock firing every ``mean`` seconds on average."""
        if mean < minimum:
            problems.add(path, f"{who(el)}: {what} of {mean:g} s on average; the least is "
                         f"{minimum:g} s (docs/limits.md)", field_value)
        elif horizon / mean > MAX_EVENTS:
            problems.add(path, f"{who(el)}: {what} of {mean:g} s on average fires about "
                         f"{big(horizon / mean)} times in the horizon of {seconds_text(horizon)}; "
                         f"at most {big(MAX_EVENTS)} events are allowed per replication: "
                         f"lengthen it to at least {horizon / MAX_EVENTS:.3g} s or shorten "
                         "the horizon", field_value)

    servers = 0
    for el in project.elements:
        ep = f"$.elements[{index[el.id]}]"
        if isinstance(el, m.Source):
            if el.arrival is not None:
                mean = el.arrival.mean
                if mean <= 0:
                    problems.add(f"{ep}.arrival", f"{who(el)}: arrivals every 0 s would bring "
                                 "parts without end at one instant; remove 'arrival' for an "
                                 "unlimited source (a part whenever the line takes one)",
                                 el.arrival.to_json())
                else:
                    clock(f"{ep}.arrival", el, "a time between arrivals", mean,
                          MIN_INTERVAL_S, el.arrival.to_json())
            if el.schedule and el.schedule_period:
                clock(f"{ep}.schedule_period", el, "a schedule period",
                      el.schedule_period / len(el.schedule), MIN_PERIOD_S / len(el.schedule),
                      el.schedule_period)
        elif isinstance(el, m.Station):
            servers += el.servers
            f = el.failures
            if f is not None and f.basis != "operations":
                clock(f"{ep}.failures.time_to_failure", el, "a time to failure",
                      f.time_to_failure.mean, MIN_INTERVAL_S, f.time_to_failure.to_json())
            pm = el.maintenance
            if pm is not None and pm.every_hours:
                clock(f"{ep}.maintenance.every_hours", el, "a maintenance interval",
                      pm.every_hours * 3600.0, MIN_PERIOD_S, pm.every_hours)
        elif isinstance(el, m.Conveyor):
            length = el.length
            if length is None:  # the floor distance, as Project.conveyor_length computes it
                ends = [pos.get(c.source) for c in pred.get(el.id, [])[:1]]
                ends += [pos.get(c.target) for c in succ.get(el.id, [])[:1]]
                length = (max(math.hypot(ends[1][0] - ends[0][0], ends[1][1] - ends[0][1]), 0.1)
                          if len(ends) == 2 and None not in ends else 1.0)
            parts = length / el.spacing
            if parts > MAX_CONVEYOR_PARTS:
                problems.add(ep, f"{who(el)}: {length:g} m at a spacing of {el.spacing:g} m "
                             f"holds {big(parts)} parts; at most {MAX_CONVEYOR_PARTS:,}: "
                             "shorten it or widen the spacing", length)
    products = {name for el in project.elements if isinstance(el, m.Source)
                for name in ([row[1] for row in el.schedule] if el.schedule else el.product_mix)}
    if len(products) > MAX_PRODUCTS:
        problems.add("$.elements", f"the sources make {len(products):,} products; at most "
                     f"{MAX_PRODUCTS:,}", len(products))
    if servers > MAX_SERVERS_TOTAL:
        problems.add("$.elements", f"{servers:,} servers in all stations together; at most "
                     f"{MAX_SERVERS_TOTAL:,}", servers)
    cal = project.calendar
    if cal is not None:
        if cal.period < MIN_CALENDAR_PERIOD_S:
            problems.add("$.calendar.period", f"a calendar period of {cal.period:g} s; the "
                         f"least is {MIN_CALENDAR_PERIOD_S:g} s", cal.period)
        elif horizon / cal.period > MAX_CALENDAR_CYCLES:
            problems.add("$.calendar.period", f"{big(horizon / cal.period)} calendar cycles in "
                         f"the horizon of {seconds_text(horizon)}; at most "
                         f"{MAX_CALENDAR_CYCLES:,}: lengthen the period to at least "
                         f"{horizon / MAX_CALENDAR_CYCLES:.3g} s", cal.period)
