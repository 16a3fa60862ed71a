"""KPIs of a simulated scenario, per replication and as means with 95% intervals.

Definitions (``docs/semantics.md``): throughput counts good parts reaching a sink per hour
of observed time (after warm-up); WIP is the time-average number of parts in the line; lead
time is the mean time from entering the line to reaching a sink; a station's state fractions
split its server-time into the mutually exclusive states; its utilisation is the fraction of
scheduled time (all but off and standby) spent busy or in setup; energy is the sum over
states of power times time. A station's OEE, its three factors and its losses are those of
a recording (``twin.oee``), with the process time's mean as the ideal cycle time.
"""

from __future__ import annotations

import math

import numpy as np

from kernels import types as kt
from twin.oee import ACTIVE_STATES
from twin.sim.energy import energy_kpis
from twin.sim.oee import ideal_cycle_time, station_oee
from twin.sim.orders import scenario_orders
from twin.sim.restart_energy import station_energy_kwh
from twin.sim.stats import mean_ci
from twin.sim.workers import pool_table


def replication_kpis(sr, rep) -> dict[str, float]:
    """Flat KPI name -> value for one replication (the rows of the HDF5 KPI table)."""
    low = sr.lowered
    a = low.arrays
    obs = rep.line_out[kt.L_OBSERVED]
    good = rep.line_out[kt.L_GOOD]
    out: dict[str, float] = {
        "line.throughput_per_hour": good / obs * 3600.0 if obs > 0 else math.nan,
        "line.wip": rep.line_out[kt.L_WIP_INT] / obs if obs > 0 else math.nan,
        "line.lead_time_s": rep.line_out[kt.L_LEAD_SUM] / good if good > 0 else math.nan,
        "line.good_parts": good,
        "line.scrap": rep.line_out[kt.L_SCRAPPED],
        "line.lost": rep.line_out[kt.L_LOST],
    }
    energy_total = 0.0
    ideal = low.ideal_cycle_s or (None,) * len(low.element_ids)
    for e, (eid, kind) in enumerate(zip(low.element_ids, low.element_kinds, strict=True)):
        p = f"elements.{eid}."
        out[p + "parts_in"] = rep.el_out[e, kt.O_IN]
        out[p + "parts_out"] = rep.el_out[e, kt.O_OUT]
        mean_content = rep.el_out[e, kt.O_CONTENT_INT] / obs if obs > 0 else math.nan
        if kind == "station":
            servers = a.el_i[e, kt.I_SERVERS]
            total = rep.st_time[e].sum()
            for s, name in enumerate(kt.STATE_NAMES):
                out[p + f"state_fraction.{name}"] = rep.state_fraction(e, s)
            scheduled = total - rep.st_time[e, kt.OFF] - rep.st_time[e, kt.IDLE]
            active = rep.st_time[e, kt.BUSY] + rep.st_time[e, kt.SETUP]
            out[p + "utilization"] = active / scheduled if scheduled > 0 else math.nan
            energy = station_energy_kwh(a, rep, e)  # with each restart's own energy
            if a.el_i[e, kt.I_ES_MODE] > 0:  # issue 19
                restarts = rep.el_out[e, kt.O_RESTARTS]
                out[p + "restarts"] = restarts
                out[p + "restart_kwh"] = restarts * a.el_f[e, kt.F_ES_KWH]
            energy_total += energy
            out[p + "energy_kwh"] = energy
            out[p + "failures"] = rep.el_out[e, kt.O_FAILURES]
            out[p + "wear"] = rep.el_out[e, kt.O_WEAR]
            out[p + "scrap"] = rep.el_out[e, kt.O_SCRAP]
            out[p + "setups"] = rep.el_out[e, kt.O_SETUPS]
            out[p + "maintenances"] = rep.el_out[e, kt.O_PM]
            out[p + "servers"] = float(servers)
            out.update({p + k: v for k, v in station_oee(rep, e, ideal[e]).items()})
            if a.el_i[e, kt.I_BOM_N] > 0 and rep.bom_out is not None:
                out.update(input_kpis(low, rep, e, obs))
        elif kind in ("buffer", "conveyor"):
            cap = a.el_i[e, kt.I_CAPACITY]
            out[p + "mean_content"] = mean_content
            out[p + "max_content"] = rep.el_out[e, kt.O_CONTENT_MAX]
            out[p + "utilization"] = mean_content / cap if cap > 0 else math.nan
        elif kind == "source":
            out[p + "lost"] = rep.el_out[e, kt.O_LOST]
            out[p + "mean_queue"] = mean_content
    if rep.wk_out is not None:  # worker pools (issue 18): "workers.<pool>.<kpi>"
        for k, pid in enumerate(low.pool_ids):
            kpis = rep.worker_kpis(k, int(pool_table(a)[k, kt.WK_COUNT]))
            out.update({f"workers.{pid}.{name}": v for name, v in kpis.items()})
    out["line.energy_kwh"] = energy_total
    out["line.energy_kwh_per_part"] = energy_total / good if good > 0 else math.nan
    tariff = sr.project.tariff
    if tariff is not None:  # cost, demand, 15-min peak, CO2 (twin.sim.energy)
        out.update(energy_kpis(sr, rep, tariff, good))
    return out


def input_kpis(low, rep, e: int, obs: float) -> dict[str, float]:
    """KPIs of each input of assembly ``e`` (issue 18), under ``elements.<id>.inputs.<from>``:
    ``starved_fraction``, the share of the assembly's server time it was starved while
    this input was short of a set (an interval short of several inputs counts for each);
    ``parts_in``, ``mean_content`` and ``max_content`` of the input's place."""
    a = low.arrays
    total = rep.st_time[e].sum()
    out: dict[str, float] = {}
    b0 = a.el_i[e, kt.I_BOM0]
    for b in range(b0, b0 + a.el_i[e, kt.I_BOM_N]):
        row = rep.bom_out[b]
        p = f"elements.{low.element_ids[e]}.inputs.{low.element_ids[a.bom[b, kt.BM_PRED]]}."
        out[p + "starved_fraction"] = row[kt.BO_STARVED] / total if total > 0 else math.nan
        out[p + "parts_in"] = row[kt.BO_IN]
        out[p + "mean_content"] = row[kt.BO_CONTENT_INT] / obs if obs > 0 else math.nan
        out[p + "max_content"] = row[kt.BO_CONTENT_MAX]
    return out


def summarize(sr) -> dict:
    """Means and 95% half-widths over replications, nested as ``twinbench run --json``."""
    rows = [replication_kpis(sr, rep) for rep in sr.replications]
    keys = list(rows[0])
    doc: dict = {"replications": len(rows), "line": {}, "elements": {}}
    if sr.lowered.pool_ids:
        doc["workers"] = {}
    for k in keys:
        stat = mean_ci([r[k] for r in rows])
        parts = k.split(".")
        node = doc[parts[0]]
        for p in parts[1:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = stat
    names = {el.id: el.name for el in sr.project.elements}
    for eid, kind in zip(sr.lowered.element_ids, sr.lowered.element_kinds, strict=True):
        doc["elements"].setdefault(eid, {})["kind"] = kind
        if names.get(eid) and names[eid] != eid:  # what the user called it (a "Lathe")
            doc["elements"][eid]["name"] = names[eid]
    for el in sr.project.elements:  # where each station's OEE performance comes from
        if el.kind == "station" and el.id in doc["elements"]:
            ict, source = ideal_cycle_time(sr.project, el)
            doc["elements"][el.id]["ideal_cycle_time"] = {"value_s": ict, "source": source}
    doc["bottleneck"] = bottleneck(sr)
    orders = scenario_orders(sr)  # issue 18 §4: per order, the riskiest first
    if orders:
        doc["orders"] = orders
    return doc


def bottleneck(sr) -> str | None:
    """The station most often active (busy, setup or down) while others are not.

    Without a state log this uses each station's share of active time (the utilisation
    method); the workbench refines it with the active-period method when a log exists.
    """
    best, best_v = None, -1.0
    for e, (eid, kind) in enumerate(zip(sr.lowered.element_ids, sr.lowered.element_kinds,
                                        strict=True)):
        if kind != "station":
            continue
        v = np.mean([sum(r.st_time[e, s] for s in ACTIVE_STATES)
                     / max(r.st_time[e].sum(), 1e-300) for r in sr.replications])
        if v > best_v:
            best, best_v = eid, v
    return best if best_v > 0 else None  # nothing active: no bottleneck to name
