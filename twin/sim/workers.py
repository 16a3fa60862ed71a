"""KPIs of a worker pool (issue 18 §3), read from the kernel's per-pool arrays.

Definitions (docs/semantics.md, "Workers"): a pool's worker-time splits into idle, walking,
busy and off (outside its working time); the fractions are of its working time (all but
off); utilisation is walking plus busy. A task's wait for a worker runs from its request
until a worker is assigned to it (the walk that follows is counted apart).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kernels import types as kt

#: The KPI names ``pool_kpis`` returns, in order.
POOL_KPIS = ("utilization", "busy_fraction", "walking_fraction", "idle_fraction",
             "off_fraction", "tasks", "tasks_waited", "mean_wait_s", "mean_wait_if_waited_s",
             "max_wait_s", "mean_walk_s", "mean_working")


def pool_table(a: kt.ModelArrays) -> np.ndarray:
    """The worker pools (``WK_*`` columns, a row per pool), a view of their rows in
    ``params`` (kernels.types)."""
    k0, n = int(a.params[kt.P_WK0]), int(a.params[kt.P_POOLS])
    return a.params[k0:k0 + n * kt.N_WK].reshape(n, kt.N_WK)


def pool_results(a: kt.ModelArrays, s: kt.KernelState) -> np.ndarray:
    """A copy of each pool's results row (WO_* columns), kept in ``wkr`` after the workers."""
    return s.wkr[s.wkr.shape[0] - int(a.params[kt.P_POOLS]):, :kt.N_WO].copy()


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else math.nan


def pool_kpis(wk_out: np.ndarray, count: int) -> dict[str, float]:
    """The KPIs of a pool of ``count`` people from its ``wk_out`` row (worker-seconds per
    ``WS_*`` state, then the ``WO_*`` columns); ``mean_working`` is the mean number of its
    people walking or busy."""
    wk_time = wk_out[:kt.N_WS]
    total = float(wk_time.sum())
    on = total - float(wk_time[kt.WS_OFF])
    busy, walk = float(wk_time[kt.WS_BUSY]), float(wk_time[kt.WS_WALKING])
    tasks, waited = float(wk_out[kt.WO_TASKS]), float(wk_out[kt.WO_WAITED])
    wait = float(wk_out[kt.WO_WAIT_SUM])
    return {
        "utilization": _ratio(busy + walk, on),
        "busy_fraction": _ratio(busy, on),
        "walking_fraction": _ratio(walk, on),
        "idle_fraction": _ratio(float(wk_time[kt.WS_IDLE]), on),
        "off_fraction": _ratio(float(wk_time[kt.WS_OFF]), total),
        "tasks": tasks,
        "tasks_waited": waited,
        "mean_wait_s": _ratio(wait, tasks),
        "mean_wait_if_waited_s": _ratio(wait, waited),
        "max_wait_s": float(wk_out[kt.WO_WAIT_MAX]),
        "mean_walk_s": _ratio(float(wk_out[kt.WO_WALK_SUM]), tasks),
        "mean_working": _ratio((busy + walk) * count, total),
    }


#: The parts of a pool's working time the utilisation chart stacks, bottom to top.
CHART_FRACTIONS = ("busy", "walking", "idle")


@dataclass(frozen=True)
class PoolChart:
    """What the workbench's Workers chart shows of one scenario (:func:`pool_chart`).

    Attributes
    ----------
    pools : list of str
        Pool ids, in the project's order.
    fractions : dict of str to tuple of numpy.ndarray
        ``CHART_FRACTIONS`` entry -> (mean, 95% half-width) per pool, of its working time.
    tasks, tasks_waited, mean_wait_s : tuple of numpy.ndarray
        Per pool: tasks that got a worker, those that waited for one, and the mean wait of
        a task (walking not included); each (mean, 95% half-width) over replications.
    """

    pools: list[str]
    fractions: dict[str, tuple[np.ndarray, np.ndarray]]
    tasks: tuple[np.ndarray, np.ndarray]
    tasks_waited: tuple[np.ndarray, np.ndarray]
    mean_wait_s: tuple[np.ndarray, np.ndarray]

    def rows(self) -> list[list[str]]:
        """A table of the chart's figures: a header, then one row per pool."""
        def ci(pair, k, digits):
            m, h = float(pair[0][k]), float(pair[1][k])
            if not math.isfinite(m):
                return "-"
            return f"{m:.{digits}f}" + (f" ± {h:.{digits}f}" if math.isfinite(h) else "")
        rows = [["pool", *(f"{f} %" for f in CHART_FRACTIONS), "tasks", "tasks waited",
                 "mean wait (s)"]]
        for k, pid in enumerate(self.pools):
            pct = [ci((100 * m, 100 * h), k, 1) for m, h in self.fractions.values()]
            rows.append([pid, *pct, ci(self.tasks, k, 1), ci(self.tasks_waited, k, 1),
                         ci(self.mean_wait_s, k, 1)])
        return rows


def pool_chart(doc: dict) -> PoolChart | None:
    """The Workers chart of a scenario from its summary (``twin.sim.summary.summarize``:
    ``doc["workers"][pool][kpi]`` holds each KPI's mean and 95% half-width over the
    replications); None when the project has no worker pools."""
    pools = doc.get("workers") or {}
    if not pools:
        return None
    ids = list(pools)

    def pair(kpi):
        return (np.array([pools[p][kpi]["mean"] for p in ids], float),
                np.array([pools[p][kpi]["ci95_halfwidth"] for p in ids], float))
    return PoolChart(ids, {f: pair(f"{f}_fraction") for f in CHART_FRACTIONS},
                     pair("tasks"), pair("tasks_waited"), pair("mean_wait_s"))
