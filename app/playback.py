"""Play a run back from its state log: each station's state and each store's fill at time t."""

from __future__ import annotations

import numpy as np

from kernels import types as kt


class Playback:
    """State and content of every element of one replication, looked up by time (s)."""

    def __init__(self, scenario_result, replication: int = 0):
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
        # one stable sort by element instead of a boolean mask per element (O(n) each)
        order = np.argsort(log["element"], kind="stable")
        bounds = np.searchsorted(log["element"][order], np.arange(len(self.ids) + 1))
        for e, (eid, kind) in enumerate(zip(self.ids, self.kinds, strict=True)):
            rows = log[order[bounds[e]:bounds[e + 1]]]
            if kind == "station":
                s = rows[rows["server"] == 0]
                self._states[eid] = (s["time"], s["state"])
            if kind in ("buffer", "conveyor"):
                c = rows[rows["server"] == -1]
                full = float(cap[e]) if cap[e] > 0 else float(max(c["content"].max(initial=0), 1))
                self._content[eid] = (c["time"], c["content"], full)

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
