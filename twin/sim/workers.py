"""KPIs of a worker pool (issue 18 §3), read from the kernel's per-pool arrays.

Definitions (docs/semantics.md, "Workers"): a pool's worker-time splits into idle, walking,
busy and off (outside its working time); the fractions are of its working time (all but
off); utilisation is walking plus busy. A task's wait for a worker runs from its request
until a worker is assigned to it (the walk that follows is counted apart).
"""

from __future__ import annotations

import math

import numpy as np

from kernels import types as kt

#: The KPI names ``pool_kpis`` returns, in order.
POOL_KPIS = ("utilization", "busy_fraction", "walking_fraction", "idle_fraction",
             "off_fraction", "tasks", "tasks_waited", "mean_wait_s", "mean_wait_if_waited_s",
             "max_wait_s", "mean_walk_s", "mean_working")


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
