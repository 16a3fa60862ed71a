"""Energy as money and carbon: a power curve priced under the project's energy context.

Shared by simulated runs (:mod:`twin.sim.energy`) and recordings (:mod:`twin.recording.energy`).
A power curve is given as cumulative energy (kWh) at sorted times, linear in between: the
power is constant between two times. :func:`figures` splits it at every price and CO2 change,
every quarter hour and every billing-period start, so that each piece has one price, one
intensity and lies in one 15-minute demand window, and sums:

- energy part: kWh of each piece times its price;
- demand part: per billing period, the highest 15-minute mean power (kW) times
  ``demand_charge_per_kw``; demand windows are quarter hours of the clock, a window cut by
  the start or end of the span is averaged over the part inside it;
- CO2: kWh times g/kWh.

Clocks: a simulation's time 0 is Monday 00:00 (the weekly time-of-use profile and the hourly
prices count from it, as the calendar does) and a price or CO2 series starts at time 0; its
billing periods count from time 0. A recording's times are seconds since its UTC epoch; the
profile is read on the wall clock of ``tariff.timezone``, series by their own time stamps,
and billing periods count from local midnight of the first day analysed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import numpy as np

from twin.errors import Problem, ProjectError
from twin.model import elements as m

#: Length of a demand window, s.
QUARTER = 900.0
#: The Monday midnight (UTC) that is time 0 of a simulation.
SIM_ORIGIN = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Clock:
    """How times of a power curve map to the wall clock and to the series' time stamps."""

    origin: float  # POSIX seconds of time 0
    tz: tzinfo
    series_from_origin: bool  # a simulation: a series' first row is time 0

    @classmethod
    def simulation(cls) -> Clock:
        return cls(SIM_ORIGIN.timestamp(), UTC, True)

    @classmethod
    def recording(cls, epoch: datetime, timezone: str) -> Clock:
        return cls(epoch.timestamp(), ZoneInfo(timezone), False)

    def wall(self, day, seconds: float) -> float:
        """Time (s from time 0) of ``seconds`` after local midnight of ``day`` (a date)."""
        mid = datetime(day.year, day.month, day.day, tzinfo=self.tz)
        return (mid + timedelta(seconds=seconds)).timestamp() - self.origin

    def day_grid(self, t0: float, t1: float, seconds) -> tuple[np.ndarray, int]:
        """Times (s from time 0) of each of ``seconds`` after local midnight on each day of
        :meth:`days`, day by day, and the number of days. A day of 86,400 s (no clock
        change) is one addition; a day with a change goes through :meth:`wall`."""
        sec = np.asarray(seconds, float)
        days = list(self.days(t0, t1))
        mids = [self.wall(d, 0.0) for d in days] + [self.wall(days[-1] + timedelta(days=1),
                                                              0.0)]
        rows = [mids[i] + sec if mids[i + 1] - mids[i] == 86400.0
                else np.asarray([self.wall(d, x) for x in sec.tolist()])
                for i, d in enumerate(days)]
        return np.concatenate(rows), len(days)

    def days(self, t0: float, t1: float):
        """The local dates from the day before ``t0`` to the day after ``t1``."""
        d = datetime.fromtimestamp(self.origin + t0, self.tz).date() - timedelta(days=1)
        end = datetime.fromtimestamp(self.origin + t1, self.tz).date() + timedelta(days=1)
        while d <= end:
            yield d
            d += timedelta(days=1)


@dataclass(frozen=True)
class Figures:
    """Energy KPIs of one span; per column of the power curve where a field is an array."""

    energy_kwh: np.ndarray
    energy_cost: np.ndarray  # the energy part (prices times kWh)
    peak_kw_15min: np.ndarray  # highest 15-minute mean power of the span
    co2_kg: np.ndarray
    demand_cost: float  # the demand part, of column 0 (the line or the recording's total)

    @property
    def cost(self) -> float:
        """Energy part plus demand part of column 0."""
        return float(self.energy_cost[0]) + self.demand_cost


class EnergyError(ProjectError):
    """The energy context does not cover the span asked for (a series too short)."""


def _series_steps(s: m.EnergySeries, clock: Clock, t0: float, t1: float, path: str):
    times = np.asarray(s.times) - clock.origin
    if clock.series_from_origin:
        times = times - times[0]
    end = times[-1] + s.step
    if times[0] > t0 + 1e-6 or end < t1 - 1e-6:
        covers = f"{times[0]:g} s to {end:g} s" if clock.series_from_origin else \
            f"{_iso(clock, times[0])} to {_iso(clock, end)}"
        wants = f"{t0:g} s to {t1:g} s" if clock.series_from_origin else \
            f"{_iso(clock, t0)} to {_iso(clock, t1)}"
        raise EnergyError([Problem(path, f"{s.file} covers {covers}; the span is {wants}: "
                                   "extend the series", s.file)])
    return times, np.asarray(s.values)


def _iso(clock: Clock, t: float) -> str:
    return datetime.fromtimestamp(clock.origin + t, UTC).isoformat(timespec="minutes")


def price_steps(tariff: m.Tariff, clock: Clock, t0: float, t1: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """The price as a step function on ``[t0, t1]``: it is ``values[i]`` from ``times[i]``
    on (``times[0] <= t0``)."""
    if tariff.price_series is not None:
        return _series_steps(tariff.price_series, clock, t0, t1, "$.tariff.price_series")
    if tariff.hourly:
        times, n = clock.day_grid(t0, t1, 3600.0 * np.arange(24))
        return times, np.tile(np.asarray(tariff.hourly, float), n)
    if tariff.periods:
        spans = []  # (from, to, price) of each period on each day
        for d in clock.days(t0, t1):
            for p in tariff.periods:
                if d.weekday() in p.days:
                    end = clock.wall(d, p.end) if p.end > p.start else \
                        clock.wall(d + timedelta(days=1), p.end)
                    spans.append((clock.wall(d, p.start), end, p.price_per_kwh))
        edges = np.unique([t0 - 1.0, *(a for a, _, _ in spans), *(b for _, b, _ in spans)])
        values = np.full(len(edges), tariff.price_per_kwh)
        for a, b, p in spans:  # periods do not overlap (the reader refuses it)
            values[np.searchsorted(edges, a):np.searchsorted(edges, b)] = p
        return edges, values
    return np.asarray([t0 - 1.0]), np.asarray([tariff.price_per_kwh])


def co2_steps(tariff: m.Tariff, clock: Clock, t0: float, t1: float
              ) -> tuple[np.ndarray, np.ndarray]:
    """The CO2 intensity (g/kWh) as a step function on ``[t0, t1]``."""
    if tariff.co2_series is not None:
        return _series_steps(tariff.co2_series, clock, t0, t1, "$.tariff.co2_g_per_kwh")
    return np.asarray([t0 - 1.0]), np.asarray([tariff.co2_g_per_kwh])


def pv_steps(pv: m.Pv, clock: Clock, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
    """The PV power (kW) as a step function on ``[t0, t1]``: a daily profile of 24 or 96
    values read on the clock's wall time, or a series (``$.tariff.pv.series``), times
    ``pv.scale``."""
    if pv.series is not None:
        times, values = _series_steps(pv.series, clock, t0, t1, "$.tariff.pv.series")
        return times, values * pv.scale
    if not pv.profile_kw:
        return np.asarray([t0 - 1.0]), np.asarray([0.0])
    step = 86400.0 / len(pv.profile_kw)
    times, n = clock.day_grid(t0, t1, step * np.arange(len(pv.profile_kw)))
    return times, np.tile(np.asarray(pv.profile_kw, float) * pv.scale, n)


def _billing_origin(clock: Clock, t0: float) -> float:
    if clock.series_from_origin:
        return 0.0
    return clock.wall(datetime.fromtimestamp(clock.origin + t0, clock.tz).date(), 0.0)


def change_times(tariff: m.Tariff, clock: Clock, t0: float, t1: float) -> np.ndarray:
    """Every time in ``[t0, t1]`` at which a price, the CO2 intensity, the PV power, a
    demand window or a billing period changes: a power curve known at these times is
    priced exactly."""
    q0 = math.ceil((clock.origin + t0) / QUARTER) * QUARTER - clock.origin
    b0 = _billing_origin(clock, t0)
    parts = [np.arange(q0, t1, QUARTER),
             b0 + tariff.billing_period * np.arange(
                 math.ceil((t0 - b0) / tariff.billing_period),
                 math.floor((t1 - b0) / tariff.billing_period) + 1),
             price_steps(tariff, clock, t0, t1)[0], co2_steps(tariff, clock, t0, t1)[0],
             pv_steps(tariff.pv, clock, t0, t1)[0] if tariff.pv is not None else [],
             [t0, t1]]
    t = np.unique(np.concatenate([np.asarray(p, float) for p in parts]))
    return t[(t >= t0) & (t <= t1)]


def figures(tariff: m.Tariff, clock: Clock, t: np.ndarray, e_kwh: np.ndarray,
            t0: float, t1: float) -> Figures:
    """Energy KPIs of ``[t0, t1]`` of a power curve: cumulative kWh ``e_kwh`` (one column
    per curve, or 1-D) at sorted times ``t``, linear in between; the demand part is of
    column 0. Raises :class:`EnergyError` if a series does not cover the span."""
    e = np.asarray(e_kwh, float)
    e = e[:, None] if e.ndim == 1 else e
    t = np.asarray(t, float)
    knots = np.union1d(change_times(tariff, clock, t0, t1), t[(t > t0) & (t < t1)])
    ek = np.column_stack([np.interp(knots, t, e[:, j]) for j in range(e.shape[1])])
    de = np.diff(ek, axis=0)
    left, dt = knots[:-1], np.diff(knots)
    pt, pv = price_steps(tariff, clock, t0, t1)
    ct, cv = co2_steps(tariff, clock, t0, t1)
    price = pv[np.searchsorted(pt, left, side="right") - 1]
    co2 = cv[np.searchsorted(ct, left, side="right") - 1]
    # demand windows: (quarter hour, billing period) of each piece
    q = np.floor((clock.origin + left) / QUARTER + 1e-9)
    b = np.floor((left - _billing_origin(clock, t0)) / tariff.billing_period + 1e-9)
    keys, win = np.unique(np.column_stack([b, q]), axis=0, return_inverse=True)
    win = win.ravel()
    covered = np.bincount(win, dt, len(keys))
    peak = np.zeros(e.shape[1])
    demand = 0.0
    if len(keys):
        for j in range(e.shape[1]):
            kw = np.bincount(win, de[:, j], len(keys)) / (covered / 3600.0)
            peak[j] = kw.max()
            if j == 0 and tariff.demand_charge_per_kw:
                per_bill = np.full(int(keys[:, 0].max() - keys[:, 0].min()) + 1, -np.inf)
                np.maximum.at(per_bill, (keys[:, 0] - keys[:, 0].min()).astype(int), kw)
                demand = float(per_bill[np.isfinite(per_bill)].sum()
                               * tariff.demand_charge_per_kw)
    return Figures(de.sum(axis=0), price @ de, peak, co2 @ de / 1000.0, demand)
