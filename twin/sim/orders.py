"""Orders in a run (issue 18 §4): their lowering, and their results over replications.

``lower_order_source`` turns an order source's orders into schedule rows (one per order,
released once, in release order) and the sort keys of its sequencing rule (``kernels.orders``);
``order_results`` reads each replication's ``ord_out``; ``order_summary`` gives, per order,
the completion time distribution, P(on time) with a 95% Wilson interval and the mean
tardiness over the replications (docs/orders.md).
"""

from __future__ import annotations

import math

import numpy as np

from kernels import types as kt
from twin.model import elements as m


def lower_order_source(project: m.Project, el: m.Source, e: int, el_i: np.ndarray,
                       pindex: dict[str, int], sched: tuple[list, list, list],
                       ords: list[tuple[float, float, float]]) -> int:
    """Append the orders of source ``e`` to the schedule rows ``sched`` (times, products,
    quantities) and ``ords`` (``OD_*`` per row); returns the most parts it releases at one
    time (orders due at the same time are released together, ``kernels.ordersource``)."""
    sched_t, sched_p, sched_q = sched
    rule = kt.SEQUENCING_NAMES.index(el.sequencing)
    el_i[e, kt.I_SEQ] = rule
    el_i[e, kt.I_SCHED0] = len(sched_t)
    el_i[e, kt.I_SCHED_N] = len(el.orders)
    el_i[e, kt.I_ON_BLOCK] = 0  # an order's parts wait at the source, never lost
    stations = [s for s in project.elements if isinstance(s, m.Station)]
    at: dict[float, int] = {}
    for o in sorted(el.orders, key=lambda o: o.release):
        sched_t.append(o.release)
        sched_p.append(pindex[o.product])
        sched_q.append(o.quantity)
        ords.append((o.due, _key(rule, o, stations), o.priority))
        at[o.release] = at.get(o.release, 0) + o.quantity
    return max(at.values())


def lower_buffer_sequencing(project: m.Project, el: m.Buffer, e: int, el_i: np.ndarray,
                            mix: np.ndarray, prods: list[str], path: str, problems) -> None:
    """A buffer's ``sequencing`` rule (``kernels.orders.take_sequenced``), for a buffer
    whose successors are all stations (the rule chooses the part the taking station takes
    next): one, or several routed by ``shortest_queue`` (probability and round robin give
    each part its station as it reaches the head of the buffer, before any station asks,
    so no rule could choose among the waiting parts for the station taking one). ``spt``
    keys each product by its mean process time at the taking station, in that station's
    ``mix`` row (a station draws no products: its row is free)."""
    rule = kt.SEQUENCING_NAMES.index(el.sequencing)
    el_i[e, kt.I_SEQ] = rule
    index = {x.id: k for k, x in enumerate(project.elements)}
    after = [c.target for c in project.connections if c.source == el.id]
    stations = [x for x in after if isinstance(project.elements[index[x]], m.Station)]
    if not after or len(stations) != len(after):
        others = sorted(set(after) - set(stations))
        problems.add(f"{path}.sequencing", f"{el.sequencing!r} chooses the part the station "
                     "taking from the buffer takes next: connect the buffer only to stations "
                     + (f"(not {', '.join(map(repr, others))}), " if others else
                        "(it has no successor), ")
                     + "or leave the buffer 'fifo'", el.sequencing)
        return
    if len(after) > 1 and el.routing != "shortest_queue":
        problems.add(f"{path}.routing", f"{el.routing!r} routing gives each part its station "
                     "as it reaches the head of the buffer, so the buffer's sequencing "
                     f"{el.sequencing!r} could not choose among the waiting parts for the "
                     f"{len(after)} stations after it: set \"routing\": \"shortest_queue\" "
                     "(whichever station has room takes the best part for it), or leave the "
                     "buffer 'fifo'", el.routing)
        return
    for x in dict.fromkeys(after):
        st = project.elements[index[x]]
        for k, prod in enumerate(prods):
            d = st.process_time_for(prod)
            mix[index[x], k] = d.mean if d is not None else 0.0


def _key(rule: int, o, stations: list[m.Station]) -> float:
    """The sort key of order ``o``'s parts at its source (smaller first)."""
    if rule == kt.SQ_EDD:
        return o.due
    if rule == kt.SQ_SPT:  # the order's total mean processing time over the stations
        total = 0.0
        for s in stations:
            d = s.process_time_for(o.product)
            total += d.mean if d is not None else 0.0
        return o.quantity * total
    if rule == kt.SQ_PRIORITY:
        return -o.priority
    return o.release  # fifo, and setup (release order, the set-up product first)


def initial_orders(a: kt.ModelArrays) -> np.ndarray:
    """``ord_out`` at time 0: every order's parts still to leave the line, none done."""
    out = np.zeros((a.sched_t.shape[0], kt.N_OS))  # a row per schedule row
    out[:, kt.OS_DONE_T] = -1.0
    order_rows = np.zeros(a.sched_t.shape[0], bool)
    for e in np.flatnonzero((a.el_i[:, kt.I_SEQ] >= 0) & (a.el_i[:, kt.I_KIND] == kt.SOURCE)):
        r0, n = a.el_i[e, kt.I_SCHED0], a.el_i[e, kt.I_SCHED_N]
        order_rows[r0:r0 + n] = True
    if a.sched_q.shape[0] == out.shape[0]:
        out[order_rows, kt.OS_LEFT] = a.sched_q[order_rows]
    return out


def completion_times(ord_out: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Completion time (s) of the orders at schedule ``rows`` (NaN: not complete)."""
    t = ord_out[rows, kt.OS_DONE_T].astype(float)
    t[t < 0] = np.nan
    return t


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion ``k`` of ``n``."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, mid - half), min(1.0, mid + half))


def order_summary(orders: list[tuple[str, m.Order]], done: np.ndarray,
                  horizon: float) -> dict[str, dict]:
    """Per order, over the replications: ``done`` is (replications, orders) completion
    times (NaN: not complete by the horizon, counted late, its tardiness at least
    ``horizon - due``). Sorted by risk: P(late) descending, then mean tardiness."""
    out = {}
    n = done.shape[0]
    for j, (source, o) in enumerate(orders):
        c = done[:, j]
        ok = ~np.isnan(c)
        on_time = int(np.sum(ok & (c <= o.due + 1e-9)))
        lo, hi = wilson(on_time, n)
        tard = np.where(ok, np.maximum(c - o.due, 0.0), max(horizon - o.due, 0.0))
        cc = c[ok]
        q = (np.percentile(cc, [10, 50, 90]).tolist() if cc.size else [math.nan] * 3)
        out[o.id] = {
            "source": source, "product": o.product, "quantity": o.quantity,
            "release_s": o.release, "due_s": o.due, "priority": o.priority,
            "replications": n, "completed": int(ok.sum()),
            "completion_mean_s": float(cc.mean()) if cc.size else math.nan,
            "completion_p10_s": q[0], "completion_p50_s": q[1], "completion_p90_s": q[2],
            "p_on_time": on_time / n if n else math.nan,
            "p_on_time_ci95": [lo, hi],
            "p_late": 1.0 - on_time / n if n else math.nan,
            "mean_tardiness_s": float(tard.mean()) if n else math.nan,
        }
    return dict(sorted(out.items(), key=lambda kv: (-kv[1]["p_late"],
                                                    -kv[1]["mean_tardiness_s"])))


def project_orders(project: m.Project) -> list[tuple[str, m.Order]]:
    """Every order of the project's order sources, with its source id, in the order their
    schedule rows take (``lower_order_source``)."""
    out = []
    for el in project.elements:
        if isinstance(el, m.Source) and el.orders is not None:
            out.extend((el.id, o) for o in sorted(el.orders, key=lambda o: o.release))
    return out


def scenario_orders(sr) -> dict[str, dict]:
    """``order_summary`` of a scenario's replications (``{}``: the project has no orders);
    the ``orders`` section of ``twinbench run --json``."""
    orders = project_orders(sr.project)
    if not orders or not sr.replications or sr.replications[0].ord_out is None:
        return {}
    rows = order_rows(sr.lowered.arrays)
    done = np.array([completion_times(rep.ord_out, rows) for rep in sr.replications])
    return order_summary(orders, done, sr.lowered.horizon)


def order_rows(a: kt.ModelArrays) -> np.ndarray:
    """The schedule rows of the order sources, in element order (``project_orders``)."""
    rows = [np.arange(a.el_i[e, kt.I_SCHED0], a.el_i[e, kt.I_SCHED0] + a.el_i[e, kt.I_SCHED_N])
            for e in np.flatnonzero((a.el_i[:, kt.I_SEQ] >= 0)
                                    & (a.el_i[:, kt.I_KIND] == kt.SOURCE))]
    return np.concatenate(rows) if rows else np.zeros(0, np.int64)
