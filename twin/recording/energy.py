"""Energy cost, 15-minute peak and CO2 of a recording under a project's energy context
(issue 19 §3), exactly from its power channels.

A recording's power is constant over each bucket (the bucket's mean power) or between two
power readings (event recordings), and zero where there is no record or a link gap
(``twin.recording.replay``). :mod:`twin.energy` splits that curve at every price change,
quarter hour and billing-period start: with buckets that divide 15 minutes (the SME
recording's 5-minute buckets) each demand window holds whole buckets, so the peak is the
mean of the recorded powers of its buckets, as a utility's meter would find it. Prices and
time-of-use periods are read on the wall clock of the tariff's ``timezone`` (default: the
recording's time zone); price series are matched by their time stamps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from twin.energy import Clock, figures
from twin.energy_site import DayChart, chart_of, site_curve, site_kpis
from twin.model import elements as m
from twin.recording.format import Recording
from twin.recording.kpi import _window
from twin.recording.replay import replay_recording


@dataclass(frozen=True)
class EnergyKpis:
    """Energy KPIs of one asset, or of all assets together (``demand_cost`` and ``cost``
    include the demand charge only for the total: it bills the coincident peak)."""

    energy_kwh: float
    energy_cost: float
    demand_cost: float
    peak_kw_15min: float
    co2_kg: float
    good_parts: float

    @property
    def cost(self) -> float:
        return self.energy_cost + self.demand_cost

    def to_dict(self) -> dict:
        per = (lambda x: x / self.good_parts) if self.good_parts > 0 else (lambda x: None)
        return {"energy_kwh": self.energy_kwh, "energy_cost": self.cost,
                "energy_cost_energy": self.energy_cost, "energy_cost_demand": self.demand_cost,
                "energy_cost_per_part": per(self.cost), "peak_kw_15min": self.peak_kw_15min,
                "co2_kg": self.co2_kg, "co2_kg_per_part": per(self.co2_kg)}


def _curves(recording: Recording, tariff: m.Tariff, window):
    replays = replay_recording(recording)
    t0, t1, _ = _window(recording, replays, window)
    powered = {a: r for a, r in replays.items() if r.has_power}
    knots = np.unique(np.concatenate([[t0, t1]] + [
        np.concatenate([r.energy.start, r.energy.end]) for r in powered.values()]))
    cols = [r.energy.at(knots) / 3600.0 for r in powered.values()]
    e = np.column_stack([np.sum(cols, axis=0) if cols else np.zeros(len(knots)), *cols])
    clock = Clock.recording(recording.epoch_utc, tariff.timezone or recording.time_zone)
    good = {a: _good(r, t0, t1) for a, r in powered.items()}
    return powered, knots, e, clock, t0, t1, good


def recording_energy(recording: Recording, tariff: m.Tariff, window: tuple | None = None
                     ) -> dict[str, EnergyKpis]:
    """Energy KPIs of each asset with power and of their ``"total"`` over ``window``
    (default: the whole recording; see ``twin.recording.kpi.recording_kpis``). Raises
    ``twin.energy.EnergyError`` if a price or CO2 series does not cover the window."""
    powered, knots, e, clock, t0, t1, good = _curves(recording, tariff, window)
    f = figures(tariff, clock, knots, e, t0, t1)
    out = {"total": EnergyKpis(float(f.energy_kwh[0]), float(f.energy_cost[0]), f.demand_cost,
                               float(f.peak_kw_15min[0]), float(f.co2_kg[0]),
                               sum(good.values()))}
    for j, a in enumerate(powered, 1):
        out[a] = EnergyKpis(float(f.energy_kwh[j]), float(f.energy_cost[j]), 0.0,
                            float(f.peak_kw_15min[j]), float(f.co2_kg[j]), good[a])
    return out


def recording_site(recording: Recording, tariff: m.Tariff, window: tuple | None = None
                   ) -> dict[str, float]:
    """PV and battery KPIs of all assets together over ``window``, exactly from the power
    channels (``twin.energy_site.site_kpis``: the grid with and without the battery);
    empty without PV and battery."""
    if tariff.pv is None and tariff.battery is None:
        return {}
    _, knots, e, clock, t0, t1, good = _curves(recording, tariff, window)
    return site_kpis(tariff, clock, knots, e[:, 0], t0, t1, sum(good.values()))


def recording_dispatch(recording: Recording, tariff: m.Tariff, window: tuple | None = None):
    """The dispatch (``twin.energy_site.Dispatch``) of the recorded line."""
    _, knots, e, clock, t0, t1, _ = _curves(recording, tariff, window)
    return site_curve(tariff, clock, knots, e[:, 0], t0, t1, tariff.battery)


def recording_day_chart(recording: Recording, tariff: m.Tariff, window: tuple | None = None
                        ) -> DayChart:
    """The Grid and battery chart (``twin.energy_site.DayChart``) of the recorded line;
    its times are seconds since the recording's epoch, as the replay's."""
    _, knots, e, clock, t0, t1, _ = _curves(recording, tariff, window)
    d = site_curve(tariff, clock, knots, e[:, 0], t0, t1, tariff.battery)
    return chart_of([d], tariff, clock, t0, t1, recorded=True)


def recording_shifts(recording: Recording, tariff: m.Tariff, calendar: m.Calendar,
                     window: tuple | None = None) -> dict[str, float]:
    """The figures per shift of all assets together (``twin.energy_shifts.per_shift``:
    ``shifts.<name>.<figure>``, ``energy_cost_per_shift``, ``co2_kg_per_shift``), exactly
    from the power channels, the calendar's cycles on the tariff's wall clock."""
    return recording_shifts_by_asset(recording, tariff, calendar, window)[0]


def recording_shifts_by_asset(recording: Recording, tariff: m.Tariff, calendar: m.Calendar,
                              window: tuple | None = None
                              ) -> tuple[dict[str, float], dict[str, dict]]:
    """:func:`recording_shifts` and, per asset with power, ``{shift: {energy_kwh,
    energy_cost_energy, co2_kg}}`` per occurrence (``twin.energy_shifts.element_shifts``),
    exactly from its power channel."""
    from twin.energy_shifts import element_shifts, per_shift, shift_spans

    powered, knots, e, clock, t0, t1, _ = _curves(recording, tariff, window)
    edges = [x for _, a, b in shift_spans(calendar, clock, t0, t1) for x in (a, b)]
    t = np.union1d(knots, np.clip(edges, t0, t1))  # the power is linear between knots
    e = np.column_stack([np.interp(t, knots, e[:, j]) for j in range(e.shape[1])])
    good = np.zeros(len(t))
    for r in powered.values():
        made = np.asarray(r.produced.at(t), float) - np.asarray(r.scrap.at(t), float)
        good += np.where(np.isfinite(made), made, 0.0)
    f = figures(tariff, clock, t, e[:, 0], t0, t1)
    return element_shifts(per_shift(tariff, calendar, clock, t, e, good, t0, t1, f.cost,
                                    float(f.co2_kg[0])), list(powered))


def recording_breakdown(recording: Recording, tariff: m.Tariff, window: tuple | None = None):
    """The cost breakdown (``twin.energy_breakdown.Breakdown``) of the recorded assets with
    power: kWh per asset and state exactly from the power and state channels (time without
    a state: ``unknown``), each asset's energy part split by them, the supplies from the
    PV and battery dispatch of all assets together."""
    from kernels.types import STATE_NAMES
    from twin.energy_breakdown import UNKNOWN, breakdown, recording_state_kwh, supplies_of

    powered, knots, e, clock, t0, t1, _ = _curves(recording, tariff, window)
    f = figures(tariff, clock, knots, e, t0, t1)
    kwh = np.array([recording_state_kwh(r, t0, t1) for r in powered.values()]
                   ).reshape(len(powered), len(STATE_NAMES) + 1)
    site = tariff.pv is not None or tariff.battery is not None
    sup = supplies_of([site_curve(tariff, clock, knots, e[:, 0], t0, t1, tariff.battery)]
                      ) if site else None
    return breakdown(list(powered), kwh, f.energy_cost[1:], sup, tariff.currency, 0,
                     (*STATE_NAMES, UNKNOWN))


def _good(r, t0: float, t1: float) -> float:
    made = r.produced.between(t0, t1) - r.scrap.between(t0, t1)
    return made if math.isfinite(made) else 0.0
