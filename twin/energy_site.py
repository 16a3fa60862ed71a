"""On-site generation and storage: photovoltaic power and a battery between the line and the
grid (issue 19 §1, §3), for simulated runs and recordings alike.

The line's power curve (cumulative kWh at sorted times, constant power in between, as in
:mod:`twin.energy`) is cut at every price, CO2, PV and demand-window change, so each piece
has one load ``L``, one PV power ``P`` and one price. On each piece, in this order (the
dispatch rule, docs/energy.md "On-site generation"):

1. PV feeds the load first: ``pv_load = min(P, L)``.
2. Surplus PV charges the battery, up to its power and its free capacity; the rest is
   exported to the grid (and earns ``pv.feed_in_per_kwh``).
3. The battery discharges to shave the grid draw above ``battery.threshold_kw``, up to its
   power and its stored energy.
4. With ``battery.charge_in_cheapest``, on pieces whose price is the lowest of the span (and
   below its highest), the battery charges from the grid with the power step 2 left, up to
   its free capacity and without lifting the grid draw above the threshold (when one is set).
   There it does not discharge to cover the load (threshold 0: it would sell back the cheap
   energy it is storing); peaks above a threshold set are still shaved.

Powers are held constant over a piece (the battery's power is its energy over the piece):
since every piece lies in one 15-minute demand window and has one price, this gives the same
energy, cost and 15-minute means as running at full power until empty or full. The
round-trip ``efficiency`` is split evenly between charging and discharging
(``sqrt(efficiency)`` each): a charge ``c`` kWh at the terminals stores ``c * sqrt(eff)``,
a discharge ``d`` takes ``d / sqrt(eff)`` from the store. The balance closes on every
piece: ``grid import + PV + discharge = load + charge + export``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from twin.energy import (
    QUARTER,
    Clock,
    change_times,
    co2_steps,
    figures,
    price_steps,
    pv_steps,
)
from twin.model import elements as m


@dataclass(frozen=True)
class Dispatch:
    """Per piece ``[t[i], t[i+1])`` of the span, kW (``soc`` in kWh at each ``t``)."""

    t: np.ndarray
    load: np.ndarray
    pv: np.ndarray
    pv_load: np.ndarray  # PV used by the load
    charge: np.ndarray  # battery charge at its terminals, from PV and the grid
    charge_pv: np.ndarray  # of which from PV
    discharge: np.ndarray  # battery discharge at its terminals, to the load
    export: np.ndarray
    grid: np.ndarray  # import from the grid (load and grid charging)
    soc: np.ndarray  # stored energy at each of ``t`` (len(t)), kWh

    @property
    def hours(self) -> np.ndarray:
        return np.diff(self.t) / 3600.0

    def kwh(self, kw: np.ndarray) -> float:
        return float(kw @ self.hours)

    def cumulative(self, kw: np.ndarray) -> np.ndarray:
        """Cumulative kWh at each of ``t`` of a per-piece power."""
        return np.concatenate([[0.0], np.cumsum(kw * self.hours)])


def dispatch(t: np.ndarray, load: np.ndarray, pv: np.ndarray, battery: m.Battery | None,
             cheap: np.ndarray | None = None) -> Dispatch:
    """The dispatch rule of this module on pieces ``[t[i], t[i+1])`` with load and PV power
    ``load[i]``, ``pv[i]`` (kW, >= 0); ``cheap[i]`` marks the pieces where the battery may
    charge from the grid (``charge_in_cheapest``)."""
    t = np.asarray(t, float)
    load, pv = np.asarray(load, float), np.asarray(pv, float)
    n = len(load)
    h = np.diff(t) / 3600.0
    pv_load = np.minimum(pv, load)
    net, surplus = load - pv_load, pv - pv_load
    charge, charge_pv, discharge = np.zeros(n), np.zeros(n), np.zeros(n)
    soc = np.zeros(n + 1)
    if battery is not None and battery.capacity_kwh > 0:
        # a sequential rule (each piece starts where the last left the store): a loop over
        # Python floats, ~1 us a piece
        eta = math.sqrt(battery.efficiency)
        cap, pmax, thr = battery.capacity_kwh, battery.power_kw, battery.threshold_kw
        s = battery.initial_soc * cap
        soc[0] = s
        ch, cpv, dis, st = [0.0] * n, [0.0] * n, [0.0] * n, [s] * n
        cheap_l = [False] * n if cheap is None else np.asarray(cheap, bool).tolist()
        for i, (hi, ni, si, ci) in enumerate(zip(h.tolist(), net.tolist(), surplus.tolist(),
                                                 cheap_l, strict=True)):
            if hi <= 0:
                st[i] = s
                continue
            room = max(cap - s, 0.0) / (eta * hi)  # kW at the terminals that fills it
            c = min(si, pmax, room)
            d = extra = 0.0
            if ni > thr and not (ci and thr == 0):
                d = min(ni - thr, pmax, s * eta / hi)
            elif ci:
                extra = min(pmax - c, room - c)
                if thr > 0:
                    extra = min(extra, thr - ni)
                extra = max(extra, 0.0)
            cpv[i], ch[i], dis[i] = c, c + extra, d
            s = min(max(s + ((c + extra) * eta - d / eta) * hi, 0.0), cap)
            st[i] = s
        charge, charge_pv, discharge = np.asarray(ch), np.asarray(cpv), np.asarray(dis)
        soc[1:] = st
    export = surplus - charge_pv
    grid = net - discharge + (charge - charge_pv)
    return Dispatch(t, load, pv, pv_load, charge, charge_pv, discharge, export, grid, soc)


def site_curve(tariff: m.Tariff, clock: Clock, t: np.ndarray, e_kwh: np.ndarray,
               t0: float, t1: float, battery: m.Battery | None) -> Dispatch:
    """The dispatch on ``[t0, t1]`` of the line's cumulative kWh ``e_kwh`` at times ``t``
    (linear in between) under the tariff's PV and ``battery``."""
    t = np.asarray(t, float)
    knots = np.union1d(change_times(tariff, clock, t0, t1), t[(t > t0) & (t < t1)])
    load = np.maximum(np.diff(np.interp(knots, t, np.asarray(e_kwh, float)))
                      / (np.diff(knots) / 3600.0), 0.0)
    left = knots[:-1]
    pv = np.zeros(len(left))
    if tariff.pv is not None:
        vt, vv = pv_steps(tariff.pv, clock, t0, t1)
        pv = vv[np.searchsorted(vt, left, side="right") - 1]
    cheap = None
    if battery is not None and battery.charge_in_cheapest:
        pt, pvals = price_steps(tariff, clock, t0, t1)
        price = pvals[np.searchsorted(pt, left, side="right") - 1]
        cheap = (price == price.min()) & (price < price.max())
    return dispatch(knots, load, pv, battery, cheap)


def site_kpis(tariff: m.Tariff, clock: Clock, t: np.ndarray, e_kwh: np.ndarray,
              t0: float, t1: float, good: float) -> dict[str, float]:
    """The on-site KPIs of ``[t0, t1]`` (keys without the ``line.`` prefix): with PV, PV
    produced, self-consumed (and its share) and exported; with a battery, its throughput
    (kWh discharged) and equivalent full cycles (throughput / capacity); the grid's import,
    15-minute peak, cost (energy and demand parts, less the feed-in earnings) and CO2 with
    the battery and without it (PV alone), and the differences (peak shaved, battery
    saving)."""
    with_b = site_curve(tariff, clock, t, e_kwh, t0, t1, tariff.battery)
    without = site_curve(tariff, clock, t, e_kwh, t0, t1, None) \
        if tariff.battery is not None else with_b
    feed = tariff.pv.feed_in_per_kwh if tariff.pv is not None else 0.0
    out: dict[str, float] = {}
    for d, suffix in ((with_b, ""), (without, "_no_battery")):
        f = figures(tariff, clock, d.t, d.cumulative(d.grid), t0, t1)
        export = d.kwh(d.export)
        cost = f.cost - feed * export
        out |= {"grid_kwh" + suffix: d.kwh(d.grid),
                "grid_peak_kw_15min" + suffix: float(f.peak_kw_15min[0]),
                "grid_cost" + suffix: cost,
                "grid_cost_energy" + suffix: float(f.energy_cost[0]),
                "grid_cost_demand" + suffix: f.demand_cost,
                "grid_co2_kg" + suffix: float(f.co2_kg[0])}
    out["grid_cost_per_part"] = out["grid_cost"] / good if good > 0 else math.nan
    if tariff.pv is not None:
        pv = with_b.kwh(with_b.pv)
        self_kwh = with_b.kwh(with_b.pv_load + with_b.charge_pv)
        out |= {"pv_kwh": pv, "pv_self_kwh": self_kwh,
                "pv_self_share": self_kwh / pv if pv > 0 else math.nan,
                "pv_export_kwh": with_b.kwh(with_b.export),
                "pv_feed_in": feed * with_b.kwh(with_b.export)}
    if tariff.battery is not None:
        b = tariff.battery
        thr = with_b.kwh(with_b.discharge)
        out |= {"battery_throughput_kwh": thr,
                "battery_cycles": thr / b.capacity_kwh,
                "battery_charge_kwh": with_b.kwh(with_b.charge),
                "battery_soc_end_kwh": float(with_b.soc[-1]),
                "peak_shaved_kw": _rounded(out["grid_peak_kw_15min_no_battery"]
                                           - out["grid_peak_kw_15min"],
                                           out["grid_peak_kw_15min_no_battery"]),
                "battery_saving": out["grid_cost_no_battery"] - out["grid_cost"]}
    return out


@dataclass(frozen=True)
class DayChart:
    """The Grid and battery chart, as ``app.energy_chart`` draws it: per piece
    ``[t[i], t[i+1])`` (s) the line's load, the PV power and the grid's import (kW; means
    over replications for a run), the battery's stored energy at each ``t`` (kWh), and the
    price as steps (``price_v[i]`` from ``price_t[i]`` on)."""

    t: np.ndarray
    load: np.ndarray
    pv: np.ndarray
    grid: np.ndarray
    soc: np.ndarray | None  # None: no battery
    price_t: np.ndarray
    price_v: np.ndarray
    currency: str
    replications: int  # 0: a recording
    #: ``(from, to, kW)``: the demand window (a clock quarter hour, cut by the span) with
    #: the highest mean grid import of the curve drawn (for a run: of the mean curve)
    peak: tuple[float, float, float] | None = None
    #: the CO2 intensity (g/kWh) as steps: ``co2_v[i]`` from ``co2_t[i]`` on
    co2_t: np.ndarray | None = None
    co2_v: np.ndarray | None = None


def chart_of(dispatches: list[Dispatch], tariff: m.Tariff, clock: Clock, t0: float,
             t1: float, recorded: bool = False) -> DayChart:
    """The :class:`DayChart` of dispatches on the same pieces (the replications of a run,
    or a recording: ``recorded``) over ``[t0, t1]``."""
    pt, pv = _steps_in(*price_steps(tariff, clock, t0, t1), t0, t1)
    ct, cv = _steps_in(*co2_steps(tariff, clock, t0, t1), t0, t1)
    ds = dispatches
    grid = np.mean([d.grid for d in ds], axis=0)
    return DayChart(ds[0].t, np.mean([d.load for d in ds], axis=0),
                    np.mean([d.pv for d in ds], axis=0), grid,
                    np.mean([d.soc for d in ds], axis=0) if tariff.battery else None,
                    pt, pv, tariff.currency, 0 if recorded else len(ds),
                    peak_window(ds[0].t, grid, clock), ct, cv)


def _steps_in(t: np.ndarray, v: np.ndarray, t0: float, t1: float
              ) -> tuple[np.ndarray, np.ndarray]:
    """The steps ``(t, v)`` that are in force in ``[t0, t1)``, the first from ``t0``."""
    first = max(int(np.searchsorted(t, t0, side="right")) - 1, 0)
    last = int(np.searchsorted(t, t1, side="left"))
    t, v = t[first:last].copy(), v[first:last]
    t[0] = t0  # the value in force at the start
    return t, v


def peak_window(t: np.ndarray, kw: np.ndarray, clock: Clock
                ) -> tuple[float, float, float] | None:
    """``(from, to, kW)`` of the clock quarter hour with the highest mean of the per-piece
    power ``kw`` on pieces ``[t[i], t[i+1])`` (each inside one quarter hour, as the
    dispatch cuts them), the window cut by the span; ``None`` for an empty span."""
    dt = np.diff(t)
    if not len(dt) or not dt.sum() > 0:
        return None
    q = np.floor((clock.origin + t[:-1]) / QUARTER + 1e-9)
    keys, win = np.unique(q, return_inverse=True)
    covered = np.bincount(win.ravel(), dt, len(keys))
    mean = np.bincount(win.ravel(), kw * dt, len(keys)) / np.where(covered > 0, covered, 1)
    k = int(np.argmax(np.where(covered > 0, mean, -np.inf)))
    a = max(keys[k] * QUARTER - clock.origin, float(t[0]))
    return a, min(keys[k] * QUARTER + QUARTER - clock.origin, float(t[-1])), float(mean[k])


def _rounded(diff: float, scale: float) -> float:
    """A difference of two sums of the same pieces: rounding below 1e-9 of them is 0."""
    return 0.0 if abs(diff) <= 1e-9 * max(abs(scale), 1.0) else diff
