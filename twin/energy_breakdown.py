"""The cost breakdown per station and state, and its flows from grid, PV and battery to the
stations to their states (issue 19 §4): what the workbench's stacked bar and Sankey draw,
for a simulated scenario and for a recording, computed here without Qt.

- **kWh per station and state**: a run's per-state times times the state's power (means
  over replications); a recording's power channel integrated over each span of its state
  channel, exactly (time a recording has power but no state counts as ``unknown``).
- **Cost per station and state**: each station's energy part (kWh times the price at the
  time, ``elements.<id>.energy_cost``) split over its states in proportion to their kWh;
  exact under a flat price; under a time-of-use price or a series each state is priced at
  its station's mean price per kWh (which state drew power in a dear hour is not known
  without a state log). The demand part bills the line's coincident peak: it is not split.
- **Supplies**: the load's kWh drawn from the grid, from PV directly and from the battery
  (``twin.energy_site``'s dispatch: ``pv_load``, ``discharge`` and the rest), shared out
  over the stations in proportion to their kWh. Charging the battery and exporting PV do
  not feed the load: the site figures report them.

:func:`sankey_flows` turns a :class:`Breakdown` into flows that balance at every station
(kWh in from the supplies = kWh out to its states), with the supplies as sources and the
states as sinks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kernels import types as kt

#: The supplies of the load, in the order the Sankey stacks them.
SUPPLIES = ("grid", "PV", "battery")
#: A recording's time with power but no state.
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Breakdown:
    """kWh and energy-part cost per station (rows) and state (columns)."""

    stations: tuple[str, ...]
    states: tuple[str, ...]
    kwh: np.ndarray  # (stations, states)
    cost: np.ndarray  # (stations, states), currency
    supplies: dict[str, float]  # supply -> kWh it gives the load (sum = kwh.sum())
    currency: str
    replications: int  # 0: a recording

    def station_kwh(self) -> np.ndarray:
        return self.kwh.sum(axis=1)

    def station_cost(self) -> np.ndarray:
        return self.cost.sum(axis=1)


@dataclass(frozen=True)
class Flow:
    """``kwh`` (and ``cost`` of the energy part) from node ``source`` to node ``target``;
    nodes are ``supply:<name>``, ``station:<id>`` and ``state:<name>``."""

    source: str
    target: str
    kwh: float
    cost: float


def breakdown(stations, kwh: np.ndarray, station_cost: np.ndarray,
              supplies: dict[str, float] | None, currency: str, replications: int,
              states=kt.STATE_NAMES) -> Breakdown:
    """A :class:`Breakdown` from kWh per station and state and each station's energy part:
    the cost split over the states by kWh; ``supplies`` (supply -> kWh to the load; ``None``:
    all from the grid) scaled to the stations' kWh, so the flows balance."""
    kwh = np.asarray(kwh, float).reshape(len(stations), len(states))
    station_cost = np.asarray(station_cost, float)
    total = kwh.sum(axis=1, keepdims=True)
    share = np.divide(kwh, total, out=np.zeros_like(kwh), where=total > 0)
    cost = share * station_cost[:, None]
    load = float(kwh.sum())
    given = {k: max(float(v), 0.0) for k, v in (supplies or {"grid": load}).items()}
    scale = load / sum(given.values()) if sum(given.values()) > 0 else 0.0
    sup = {k: given.get(k, 0.0) * scale for k in SUPPLIES if k in given}
    return Breakdown(tuple(stations), tuple(states), kwh, cost, sup, currency, replications)


def sankey_flows(b: Breakdown, min_kwh: float = 0.0) -> list[Flow]:
    """The flows supply -> station -> state of ``b`` (those above ``min_kwh``). Each supply
    feeds each station in proportion to the station's kWh; a station's cost goes with its
    kWh, so the cost of a supply's flows is its share of the stations' energy part."""
    load = float(b.kwh.sum())
    flows = []
    st_kwh, st_cost = b.station_kwh(), b.station_cost()
    for sup, kwh in b.supplies.items():
        share = kwh / load if load > 0 else 0.0
        for i, s in enumerate(b.stations):
            if st_kwh[i] * share > min_kwh:
                flows.append(Flow(f"supply:{sup}", f"station:{s}", float(st_kwh[i] * share),
                                  float(st_cost[i] * share)))
    for i, s in enumerate(b.stations):
        for j, state in enumerate(b.states):
            if b.kwh[i, j] > min_kwh:
                flows.append(Flow(f"station:{s}", f"state:{state}", float(b.kwh[i, j]),
                                  float(b.cost[i, j])))
    return flows


def node_balance(flows: list[Flow]) -> dict[str, tuple[float, float]]:
    """``node -> (kWh in, kWh out)`` of every node of ``flows``."""
    out: dict[str, list[float]] = {}
    for f in flows:
        out.setdefault(f.source, [0.0, 0.0])[1] += f.kwh
        out.setdefault(f.target, [0.0, 0.0])[0] += f.kwh
    return {k: (v[0], v[1]) for k, v in out.items()}


def supplies_of(dispatches) -> dict[str, float] | None:
    """Mean kWh the load drew from the grid, PV and the battery over dispatches
    (``twin.energy_site.Dispatch``, one per replication or a recording's one)."""
    if not dispatches:
        return None
    pv = float(np.mean([d.kwh(d.pv_load) for d in dispatches]))
    bat = float(np.mean([d.kwh(d.discharge) for d in dispatches]))
    load = float(np.mean([d.kwh(d.load) for d in dispatches]))
    return {"grid": max(load - pv - bat, 0.0), "PV": pv, "battery": bat}


def recording_state_kwh(replay, t0: float, t1: float, states=kt.STATE_NAMES) -> np.ndarray:
    """kWh of a recorded asset (``twin.recording.replay.AssetReplay``) in each of
    ``states`` and, last, in time without a state, over ``[t0, t1]``: its power integrated
    over each span of its state channel (exact: the cumulative energy is linear between
    the replay's knots, and the state spans' edges are evaluated on it)."""
    out = np.zeros(len(states) + 1)
    tl = replay.timeline
    a = np.clip(np.asarray(tl.start, float), t0, t1)
    b = np.clip(np.asarray(tl.end, float), t0, t1)
    e = (np.asarray(replay.energy.at(b), float) - np.asarray(replay.energy.at(a), float))
    e = e / 3600.0
    codes = np.asarray(tl.state, int)
    ok = (codes >= 0) & (codes < len(states))
    np.add.at(out, codes[ok], e[ok])
    whole = (float(replay.energy.at(t1)) - float(replay.energy.at(t0))) / 3600.0
    rest = whole - out[:-1].sum()  # no state, a gap, or time outside the state channel
    out[-1] = rest if rest > 1e-9 * max(abs(whole), 1.0) else 0.0
    return out
