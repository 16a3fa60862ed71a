"""Where each worker is during a replication (issue 18 §5: workers drawn walking in playback).

The run keeps no worker positions: the replication being played runs once more with the
state log's worker rows on (``P_LOG = LOG_WORKERS``, written only on the rare path of a
worker's state change, so a run without workers, or without playback, pays nothing), from
the same seed and replication number, so it is the same trajectory. Each worker row gives
the time, the worker's new state (``WS_*``) and the element it is at or walks to
(``kernels.types``, the ``LG_*`` columns with workers).

A worker is at its pool's home until its first task (a pool without a home appears at its
first task); while walking it moves on the straight line from where its last task was to the
station of its new one at its pool's speed, as the kernel times the walk
(``kernels.workers._walk_time``): at ``t`` it is the fraction ``(t - start) / walk`` of the
way there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kernels import types as kt
from twin.sim.lowering import Lowered
from twin.sim.workers import pool_table

#: Names of the ``WS_*`` states, by code.
WORKER_STATES = ("idle", "walking", "busy", "off")


@dataclass(frozen=True)
class WorkerAt:
    """A worker at one moment: its pool, position (m) and state (``WORKER_STATES``)."""

    pool: str
    x: float
    y: float
    z: float
    state: str


def worker_rows(low: Lowered, seed: int, replication: int = 0) -> np.ndarray:
    """The worker rows (``kt.LOG_DTYPE`` records, ``server`` = -2 - worker) of one
    replication, from a re-run of it with them logged."""
    from twin.sim.runner import run_replication

    params = low.arrays.params.copy()
    params[kt.P_LOG] = float(kt.LOG_WORKERS)
    again = Lowered(**{**vars(low), "arrays": low.arrays._replace(params=params)})
    log = run_replication(again, seed, replication).log
    return log[log["server"] <= -2]


class WorkerWalks:
    """Every worker's position and state by time (:meth:`at`), from ``worker_rows``."""

    def __init__(self, low: Lowered, rows: np.ndarray):
        a = low.arrays
        wk = pool_table(a)
        self.pos = a.el_f[:, [kt.F_X, kt.F_Y, kt.F_Z]].astype(float)
        self.labels: list[str] = []
        self.pools: list[int] = []
        for k, pid in enumerate(low.pool_ids):
            n = int(wk[k, kt.WK_COUNT])
            self.labels += [f"{pid} {i + 1}" for i in range(n)]
            self.pools += [k] * n
        self.pool_ids = low.pool_ids
        self.speed = wk[:, kt.WK_SPEED]
        self.home = wk[:, kt.WK_HOME].astype(int)
        off0 = (wk[:, kt.WK_CALENDAR] != 0) & (a.params[kt.P_WORKING0] == 0)
        self.state0 = [kt.WS_OFF if off0[k] else kt.WS_IDLE for k in self.pools]
        w = -2 - rows["server"].astype(int)
        self._rows = []
        for i in range(len(self.labels)):
            mine = rows[w == i]
            self._rows.append((mine["time"].astype(float), mine["state"].astype(int),
                               mine["element"].astype(int)))

    def at(self, t: float) -> dict[str, WorkerAt]:
        """``{worker: WorkerAt}`` at time ``t`` (a worker not placed yet is left out)."""
        out = {}
        for i, label in enumerate(self.labels):
            k = self.pools[i]
            times, states, at = self._rows[i]
            j = int(np.searchsorted(times, t, side="right")) - 1
            state = self.state0[i] if j < 0 else int(states[j])
            here = self.home[k] if j < 0 else int(at[j])
            if here < 0:
                continue
            xyz = self.pos[here]
            if state == kt.WS_WALKING:
                came = int(at[j - 1]) if j > 0 else self.home[k]
                xyz = self._walking(came, here, k, t - times[j])
            out[label] = WorkerAt(self.pool_ids[k], float(xyz[0]), float(xyz[1]),
                                  float(xyz[2]), WORKER_STATES[state])
        return out

    def _walking(self, came: int, to: int, k: int, elapsed: float) -> np.ndarray:
        """Where a worker of pool ``k`` is ``elapsed`` s into its walk from ``came``."""
        if came < 0 or came == to:
            return self.pos[to]
        step = self.pos[to] - self.pos[came]
        walk = float(np.sqrt(step @ step)) / self.speed[k]
        f = min(max(elapsed / walk, 0.0), 1.0) if walk > 0 else 1.0
        return self.pos[came] + f * step
