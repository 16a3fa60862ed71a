"""Play a run back from its state log: each station's state and each store's fill at time t,
and where each worker is (issue 18 §5)."""

from __future__ import annotations

import numpy as np

from kernels import types as kt
from twin.sim.walks import WorkerWalks, worker_rows


class Playback:
    """State and content of every element of one replication, looked up by time (s).

    Built on the run's worker thread: a 2000-day log has millions of rows, so the index is
    made of whole-column NumPy operations on plain dtypes (which release the GIL), never
    fancy indexing of the record array (which holds it) or a pass per element.
    """

    def __init__(self, scenario_result, replication: int = 0, seed: int | None = None):
        low = scenario_result.lowered
        log = scenario_result.replications[replication].log
        if log is None:
            raise ValueError("this run has no state log: tick 'Record states' before Run "
                             "to play it back")
        self.horizon = low.horizon
        self.ids = low.element_ids
        self.kinds = low.element_kinds
        cap = low.arrays.el_i[:, kt.I_CAPACITY]
        self._states: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._content: dict[str, tuple[np.ndarray, np.ndarray, float]] = {}
        n = len(self.ids)
        station = np.array([k == "station" for k in self.kinds] + [False])
        store = np.array([k in ("buffer", "conveyor") for k in self.kinds] + [False])
        el = np.ascontiguousarray(log["element"])
        server = log["server"]
        # the rows drawn: a station's first server's state, a store's content
        rows = np.flatnonzero(np.where(server == 0, station[el], (server == -1) & store[el]))
        key = el[rows]
        if n < 2**15:
            key = key.astype(np.int16)  # a stable sort of 16-bit keys is a radix sort, O(n)
        # stable: each element's rows stay in time order
        rows = rows[np.argsort(key, kind="stable")]
        el = el[rows]
        times = log["time"][rows]
        codes = log["state"][rows]
        content = log["content"][rows]
        bounds = np.searchsorted(el, np.arange(n + 1))
        for e, (eid, kind) in enumerate(zip(self.ids, self.kinds, strict=True)):
            lo, hi = bounds[e], bounds[e + 1]
            if kind == "station":
                self._states[eid] = (times[lo:hi], codes[lo:hi])
            elif kind in ("buffer", "conveyor"):
                c = content[lo:hi]
                full = float(cap[e]) if cap[e] > 0 else float(max(c.max(initial=0), 1))
                self._content[eid] = (times[lo:hi], c, full)
        # worker pools (issue 18 §5): the replication runs once more with the workers' rows
        # on (twin.sim.walks); ``seed``: the run's, None: no workers drawn
        self.walks = None
        if seed is not None and low.pool_ids:
            self.walks = WorkerWalks(low, worker_rows(low, seed, replication))

    def workers_at(self, t: float) -> dict:
        """``{worker: twin.sim.walks.WorkerAt}`` at time ``t`` ({}: no workers drawn)."""
        return {} if self.walks is None else self.walks.at(t)

    def at(self, t: float) -> tuple[dict[str, str], dict[str, float]]:
        """``({station id: state name}, {buffer/conveyor id: fill 0-1})`` at time ``t``."""
        states = {}
        for eid, (times, codes) in self._states.items():
            i = np.searchsorted(times, t, side="right") - 1
            if i >= 0:
                states[eid] = kt.STATE_NAMES[int(codes[i])]
        fills = {}
        for eid, (times, content, full) in self._content.items():
            i = np.searchsorted(times, t, side="right") - 1
            fills[eid] = float(content[i]) / full if i >= 0 else 0.0
        return states, fills
