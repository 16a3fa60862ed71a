"""OEE of a simulated station, per replication, by the definition recordings use.

The state times, parts out and scrap of a replication go to :func:`twin.oee.oee_terms`, as a
recorded asset's do in ``twin.recording.kpi``; what a run adds is the ideal cycle time, taken
from the project: the mean of the station's process time (``docs/semantics.md``, "OEE").
A station's time is server-time (summed over its servers), so a three-server lathe cell at
its ideal cycle time on every server has a performance of 1, not 3.
"""

from __future__ import annotations

import math

from kernels import types as kt
from twin.model import elements as m
from twin.oee import oee_terms


def product_weights(project: m.Project) -> dict[str, float]:
    """How many parts of each product the sources release, relative: order quantities,
    schedule quantities, or the product mix of a source that releases without them."""
    weights: dict[str, float] = {}
    for el in project.elements:
        if not isinstance(el, m.Source):
            continue
        if el.orders:
            pairs = [(o.product, float(o.quantity)) for o in el.orders]
        elif el.schedule:
            pairs = [(p, float(q)) for _, p, q in el.schedule]
        else:
            total = sum(el.product_mix.values()) or 1.0
            pairs = [(p, w / total) for p, w in el.product_mix.items()]
        for p, w in pairs:
            weights[p] = weights.get(p, 0.0) + w
    return weights


def ideal_cycle_time(project: m.Project, station: m.Station) -> tuple[float | None, str]:
    """The ideal time of one part on one server of ``station`` (s), and where it comes from.

    The process time's mean; with per-product process times that differ, the mean weighted
    by how many parts of each product the sources release (the product mix the station
    sees when every product passes it). A batch station processes a load of ``size`` parts
    in one process time, so a part's ideal share is the mean over ``size``. None (no
    performance, no OEE) where a part's ideal time is not defined: no process time or one
    of mean 0, a disassembly or an unbatch station, whose parts out are not the parts (or
    loads) it processed.
    """
    pt = station.process_time
    if pt is None:
        return None, "none: the station has no process time"
    if station.disassembly is not None:
        return None, "none: a disassembly hands on several parts per part it processes"
    if station.unbatch:
        return None, "none: an unbatch station hands on a load's parts one by one"
    if isinstance(pt, dict):
        means = {p: d.mean for p, d in pt.items()}
        if len(set(means.values())) == 1:
            mean, source = next(iter(means.values())), "process time mean"
        else:
            weights = {p: w for p, w in product_weights(project).items()
                       if station.process_time_for(p) is not None and w > 0}
            if not weights:
                return None, "none: no source releases a product this station processes"
            total = sum(weights.values())
            mean = sum(w * station.process_time_for(p).mean for p, w in weights.items()) / total
            source = "process time mean, weighted by the sources' product mix"
    else:
        mean, source = pt.mean, "process time mean"
    if not mean > 0:
        return None, "none: the process time's mean is 0"
    if station.batch is not None:
        return mean / station.batch.size, f"{source} / load size {station.batch.size}"
    return mean, source


def station_oee(rep, e: int, ideal_cycle_time_s: float | None) -> dict[str, float]:
    """``oee``, ``availability``, ``performance``, ``quality`` (NaN where undefined) and
    ``oee_losses.<loss>`` (s) of station ``e`` in one replication, after the warm-up."""
    st = rep.st_time[e]
    state_time = {name: float(st[s]) for s, name in enumerate(kt.STATE_NAMES)}
    scrap = float(rep.el_out[e, kt.O_SCRAP])
    produced = float(rep.el_out[e, kt.O_OUT]) + scrap
    # the cycles cut by the window's edges count for the part of them inside it (kernels.edges)
    worked = produced + float(rep.el_out[e, kt.O_WORK_END] - rep.el_out[e, kt.O_WORK_START])
    terms = oee_terms(state_time, float(st.sum()), produced, scrap, ideal_cycle_time_s,
                      worked)
    out = {k: math.nan if v is None else v for k, v in (
        ("oee", terms.oee), ("availability", terms.availability),
        ("performance", terms.performance), ("quality", terms.quality))}
    out.update({f"oee_losses.{k}": v for k, v in terms.losses_s.items()})
    return out
