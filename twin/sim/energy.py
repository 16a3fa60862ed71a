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

from twin.energy import Clock, figures
from twin.energy import change_times as _change_times
from twin.energy_site import site_curve, site_kpis
from twin.model import elements as m


def sample_times(tariff: m.Tariff | None, horizon: float) -> np.ndarray:
    """Times in ``[0, horizon]`` the sample grid must hold to price a run exactly; raises
    ``ProjectError`` (``$.tariff.price_series``) if a series is shorter than the run."""
    if tariff is None:
        return np.empty(0)
    return _change_times(tariff, Clock.simulation(), 0.0, horizon)


def energy_kpis(sr, rep, tariff: m.Tariff, good: float) -> dict[str, float]:
    """The energy KPIs of one replication after warm-up: the line's cost (energy and demand
    parts), 15-minute peak and CO2, per good part too, and each station's energy part,
    peak and CO2 (the demand charge is the line's: it bills the coincident peak); with PV
    or a battery, the grid's figures with and without the battery (``line.grid_*``,
    ``line.pv_*``, ``line.battery_*``: twin.energy_site.site_kpis)."""
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
