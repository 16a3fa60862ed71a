"""Energy KPIs of a simulated replication under the project's energy context (issue 19 §3).

The sample grid of a run holds every time at which a price, the CO2 intensity, a 15-minute
demand window or a billing period changes (:func:`sample_times`, added by
``twin.sim.lowering``), so the cumulative energy the kernel records at those times prices
the run exactly, whatever the sample interval: each piece of the curve has one price and
lies in one demand window (:mod:`twin.energy`).
"""

from __future__ import annotations

import math

import numpy as np

from kernels import types as kt
from twin.energy import Clock, figures
from twin.energy import change_times as _change_times
from twin.energy_shifts import element_shifts, per_shift, shift_edges
from twin.energy_site import DayChart, chart_of, site_curve, site_kpis
from twin.model import elements as m
from twin.sim.restart_energy import kernel_arrays


def sample_times(tariff: m.Tariff | None, horizon: float,
                 calendar: m.Calendar | None = None) -> np.ndarray:
    """Times in ``[0, horizon]`` the sample grid must hold to price a run exactly, and
    with a calendar the shifts' starts and ends (the figures per shift); raises
    ``ProjectError`` (``$.tariff.price_series``) if a series is shorter than the run."""
    if tariff is None:
        return np.empty(0)
    return np.union1d(_change_times(tariff, Clock.simulation(), 0.0, horizon),
                      shift_edges(calendar, horizon))


def energy_kpis(sr, rep, tariff: m.Tariff, good: float) -> dict[str, float]:
    """The energy KPIs of one replication after warm-up: the line's cost (energy and demand
    parts), 15-minute peak and CO2, per good part too, and each station's energy part,
    peak and CO2 (the demand charge is the line's: it bills the coincident peak); with PV
    or a battery, the grid's figures with and without the battery (``line.grid_*``,
    ``line.pv_*``, ``line.battery_*``: twin.energy_site.site_kpis); with a calendar, the
    line's and each station's figures per shift (twin.energy_shifts)."""
    low = sr.lowered
    t = sr.ts_t
    stations = [e for e, k in enumerate(low.element_kinds) if k == "station"]
    e = rep.ts_energy[:, stations]
    f = figures(tariff, Clock.simulation(), t, np.column_stack([e.sum(axis=1), e]),
                low.warmup, low.horizon)
    per = (lambda x: x / good) if good > 0 else (lambda x: math.nan)
    out = {
        "line.energy_cost": f.cost,
        "line.energy_cost_energy": float(f.energy_cost[0]),
        "line.energy_cost_demand": f.demand_cost,
        "line.energy_cost_per_part": per(f.cost),
        "line.peak_kw_15min": float(f.peak_kw_15min[0]),
        "line.co2_kg": float(f.co2_kg[0]),
        "line.co2_kg_per_part": per(float(f.co2_kg[0])),
    }
    if tariff.pv is not None or tariff.battery is not None:  # PV and battery: twin.energy_site
        site = site_kpis(tariff, Clock.simulation(), t, e.sum(axis=1), low.warmup,
                         low.horizon, good)
        out.update({f"line.{k}": v for k, v in site.items()})
    calendar = sr.project.calendar
    if calendar is not None:  # per shift (twin.energy_shifts); the grid holds their edges
        ids = [low.element_ids[el] for el in stations]
        line, per = element_shifts(per_shift(
            tariff, calendar, Clock.simulation(), t, np.column_stack([e.sum(axis=1), e]),
            rep.ts_line[:, kt.TS_GOOD], low.warmup, low.horizon, f.cost,
            float(f.co2_kg[0])), ids)
        out.update({f"line.{k}": v for k, v in line.items()})
        out.update({f"elements.{i}.shifts.{name}.{k}": v for i, d in per.items()
                    for name, fig in d.items() for k, v in fig.items()})
    for j, el in enumerate(stations, 1):
        p = f"elements.{low.element_ids[el]}."
        out[p + "energy_cost"] = float(f.energy_cost[j])
        out[p + "peak_kw_15min"] = float(f.peak_kw_15min[j])
        out[p + "co2_kg"] = float(f.co2_kg[j])
    return out


def replication_dispatch(sr, rep, tariff: m.Tariff):
    """The PV and battery dispatch (``twin.energy_site.Dispatch``) of one replication after
    warm-up: the day chart's grid power, PV and battery state."""
    low = sr.lowered
    stations = [e for e, k in enumerate(low.element_kinds) if k == "station"]
    return site_curve(tariff, Clock.simulation(), sr.ts_t,
                      rep.ts_energy[:, stations].sum(axis=1), low.warmup, low.horizon,
                      tariff.battery)


#: The energy figures scenarios are compared by (``line.<key>``, label), in this order; a
#: row is shown where every scenario has it (a tariff; PV or a battery for the grid's rows).
COMPARE_KPIS: tuple[tuple[str, str], ...] = (
    ("energy_cost", "Energy cost"),
    ("energy_cost_energy", "  energy part"),
    ("energy_cost_demand", "  demand part"),
    ("energy_cost_per_part", "Energy cost per good part"),
    ("peak_kw_15min", "Peak 15-min power (kW)"),
    ("co2_kg", "CO2 (kg)"),
    ("co2_kg_per_part", "CO2 per good part (kg)"),
    ("grid_cost", "Grid bill with PV and battery"),
    ("grid_cost_energy", "  energy part"),
    ("grid_cost_demand", "  demand part"),
    ("grid_cost_per_part", "Grid bill per good part"),
    ("grid_peak_kw_15min", "Grid peak 15-min (kW)"),
    ("peak_shaved_kw", "Peak shaved by the battery (kW)"),
    ("battery_saving", "Saved by the battery"),
    ("grid_co2_kg", "Grid CO2 (kg)"),
    ("pv_self_share", "PV self-consumed (share)"),
    ("battery_cycles", "Battery full cycles"),
    ("energy_cost_per_shift", "Energy cost per shift"),
    ("co2_kg_per_shift", "CO2 per shift (kg)"),
    ("throughput_per_hour", "Output (good parts/h)"),
    ("good_parts", "Good parts"),
)


def compare_rows(summary: dict) -> list[tuple[str, str]]:
    """The rows of :data:`COMPARE_KPIS` every scenario of ``summary`` (name -> the doc of
    ``twin.sim.summary.summarize``) has; none without an energy context (the output rows
    are there to weigh the energy saved against the output lost, in one table)."""
    rows = [(k, label) for k, label in COMPARE_KPIS
            if all(k in doc["line"] for doc in summary.values())]
    return rows if any(k == "energy_cost" for k, _ in rows) else []  # no tariff: no rows


def energy_comparison(result, summary: dict | None = None) -> list[dict]:
    """The scenarios of ``result`` in money and CO2: per row of :func:`compare_rows`, each
    scenario's ``{mean, ci95_halfwidth}`` and, for each scenario after the first (the base),
    the paired difference to the base over replications (common random numbers: replication
    i of every scenario shares its seeds) and that difference in % of the base's mean."""
    from twin.sim.stats import mean_ci
    from twin.sim.summary import replication_kpis

    summary = summary or result.summary()
    names = list(result.scenarios)
    base = names[0]
    reps = {n: [replication_kpis(sr, r) for r in sr.replications]
            for n, sr in result.scenarios.items()}
    out = []
    for key, label in compare_rows(summary):
        k = f"line.{key}"
        row = {"key": key, "label": label,
               "scenarios": {n: summary[n]["line"][key] for n in names}, "vs_base": {}}
        b = summary[base]["line"][key]["mean"]
        for n in names[1:]:
            # a difference below 1e-12 of the values is rounding of the same sums: 0
            d = mean_ci([0.0 if abs(x[k] - y[k]) <= 1e-12 * max(abs(x[k]), abs(y[k]))
                         else x[k] - y[k] for x, y in zip(reps[n], reps[base], strict=False)])
            pct = {"mean": math.nan, "ci95_halfwidth": math.nan}
            if b and math.isfinite(b):
                pct = {"mean": 100.0 * d["mean"] / abs(b),
                       "ci95_halfwidth": 100.0 * d["ci95_halfwidth"] / abs(b)}
            row["vs_base"][n] = {"difference": d, "percent": pct}
        out.append(row)
    return out


def comparison_block(result, summary: dict) -> dict[str, dict]:
    """The scenario comparison of ``twinbench run --json`` (two or more scenarios): for each
    scenario after the first, ``{"base": name, "pairing": ..., "<kpi>": {"difference":
    {mean, ci95_halfwidth}, "percent": {mean, ci95_halfwidth}}}`` over the rows of
    :func:`energy_comparison` (energy cost, its parts, peak, CO2, per part and per shift,
    the grid's figures, output), paired over replications by common random numbers."""
    names = list(summary)
    rows = energy_comparison(result, summary) if len(names) > 1 else []
    return {n: {"base": names[0], "pairing": "common random numbers: replication i of "
                "every scenario shares its seeds; intervals of the paired differences",
                **{r["key"]: r["vs_base"][n] for r in rows}} for n in names[1:]}


def verdict(rows: list[dict], name: str, base: str, currency: str = "") -> str:
    """One sentence of the trade-off of scenario ``name`` against ``base`` from the rows of
    :func:`energy_comparison`: "<name> saves 0.31 ± 0.13 % of the energy cost (8.1 ± 3.4
    EUR) and 1.2 ± 0.4 % of the CO2 (3.1 ± 1.0 kg), and costs 0.20 ± 0.10 % of output" (the
    paired differences in % of the base); a figure whose interval holds 0 "does not change
    significantly". ``""`` without an energy cost row."""
    from twin.sim.stats import format_ci

    by = {r["key"]: r["vs_base"][name] for r in rows}
    if "energy_cost" not in by:
        return ""

    def part(key: str, less: str, more: str, what: str, unit: str) -> str | None:
        pct, diff = by[key]["percent"], by[key]["difference"]
        m, h = pct["mean"], pct["ci95_halfwidth"]
        if not math.isfinite(m):
            return None  # a base of 0 (no CO2 intensity): no share of it
        if m == 0.0 and h == 0.0:
            return f"does not change {what} (0 %)"
        if not abs(m) > h:
            return f"does not change {what} significantly ({format_ci(pct, 3)} %)"
        size = format_ci({"mean": abs(m), "ci95_halfwidth": h}, 3)
        amount = format_ci({"mean": abs(diff["mean"]), "ci95_halfwidth":
                            diff["ci95_halfwidth"]}, 4)
        return f"{less if m < 0 else more} {size} % of {what} ({amount}{unit})"

    cost = part("energy_cost", "saves", "adds", "the energy cost",
                f" {currency}" if currency else "")
    co2 = part("co2_kg", "saves", "adds", "the CO2", " kg") if "co2_kg" in by else None
    out = (part("throughput_per_hour", "costs", "gains", "output", " good parts/h")
           if "throughput_per_hour" in by else None)
    said = " and ".join(x for x in (cost, co2) if x)
    return f"{name} vs {base}: {said}" + (f", and {out}" if out else "")


def scenario_breakdown(sr):
    """The cost breakdown (``twin.energy_breakdown.Breakdown``) of a simulated scenario:
    per station and state, kWh from the per-state times and the states' powers (a warm-up's
    with its restart energy) and the station's energy part split by them, means over
    replications; the supplies from the PV and battery dispatch (all from the grid without
    them). ``None``: no energy context."""
    from twin.energy_breakdown import breakdown, supplies_of

    tariff = sr.project.tariff
    if tariff is None:
        return None
    low = sr.lowered
    stations = [e for e, k in enumerate(low.element_kinds) if k == "station"]
    # a warm-up's power with its restart's energy spread over it, as in the priced series
    # (twin.sim.restart_energy) and a recording of the run: the kWh and the cost agree
    power = kernel_arrays(low).power[stations]
    kwh = np.mean([rep.st_time[stations] * power / 3600.0 for rep in sr.replications], axis=0)
    cost = np.mean([figures(tariff, Clock.simulation(), sr.ts_t, rep.ts_energy[:, stations],
                            low.warmup, low.horizon).energy_cost
                    for rep in sr.replications], axis=0)
    site = tariff.pv is not None or tariff.battery is not None
    sup = supplies_of([replication_dispatch(sr, rep, tariff) for rep in sr.replications]
                      ) if site else None
    return breakdown([low.element_ids[e] for e in stations], kwh, cost, sup,
                     tariff.currency, len(sr.replications))


def day_chart(sr) -> DayChart | None:
    """The :class:`twin.energy_site.DayChart` of a simulated scenario (``None``: no energy
    context). Every replication of a scenario shares its sample grid, so the pieces line
    up."""
    tariff = sr.project.tariff
    if tariff is None:
        return None
    low = sr.lowered
    return chart_of([replication_dispatch(sr, rep, tariff) for rep in sr.replications],
                    tariff, Clock.simulation(), low.warmup, low.horizon)
