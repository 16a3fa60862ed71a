"""Play a run back from its state log: each station's state and each store's fill at time t,
and where each worker is (issue 18), walking between stations at its pool's speed."""

from __future__ import annotations

import numpy as np

from kernels import types as kt


class Playback:
    """State and content of every element of one replication, looked up by time (s).

    Built on the run's worker thread: a 2000-day log has millions of rows, so the index is
    made of whole-column NumPy operations on plain dtypes (which release the GIL), never
    fancy indexing of the record array (which holds it) or a pass per element.
    """

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
        self.workers = WorkerTracks(low, log)

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


#: ``WS_*`` code -> the name the 3D view colours a worker by (``app.theme.WORKER_COLORS``).
WORKER_STATES = {kt.WS_IDLE: "idle", kt.WS_WALKING: "walking", kt.WS_BUSY: "busy",
                 kt.WS_OFF: "off"}


class WorkerTracks:
    """Where each worker of a run is, and in which state, at any time: from the worker rows
    of the state log (``kernels.workers``: element -1, server the worker, state its
    ``WS_*`` code, content the element it is at or walks to).

    A worker starts at its pool's home, idle (off when its pool follows the calendar and the
    run starts outside working time). Walking, it goes in a straight line from where it was
    to the element it walks to, at its pool's speed, as the kernel times the walk (the
    distance between element positions); otherwise it stands at its element. A worker who
    has no home stands nowhere (``None``) until its first task.
    """

    def __init__(self, low, log):
        a = low.arrays
        self.pos = a.el_f[:, kt.F_X:kt.F_Z + 1]
        self.pool_ids = low.pool_ids
        wk = a.wk
        n = int(wk[:, kt.WK_COUNT].sum()) if wk.shape[0] else 0
        self.pool = np.zeros(n, int)
        self.speed = np.ones(n)
        self.rank = np.zeros(n, int)  # its place in its pool (figures side by side)
        at0 = np.full(n, -1, np.int64)
        st0 = np.full(n, kt.WS_IDLE, np.int64)
        for k in range(wk.shape[0]):
            w0, c = int(wk[k, kt.WK_FIRST]), int(wk[k, kt.WK_COUNT])
            self.pool[w0:w0 + c] = k
            self.speed[w0:w0 + c] = wk[k, kt.WK_SPEED]
            self.rank[w0:w0 + c] = np.arange(c)
            at0[w0:w0 + c] = int(wk[k, kt.WK_HOME])
            if wk[k, kt.WK_CALENDAR] and a.params[kt.P_WORKING0] == 0:
                st0[w0:w0 + c] = kt.WS_OFF
        rows = np.flatnonzero(log["element"] == -1) if n else np.zeros(0, int)
        who = log["server"][rows]
        self.tracks = []
        for w in range(n):
            mine = rows[who == w]
            self.tracks.append((np.concatenate(([-np.inf], log["time"][mine])),
                                np.concatenate(([st0[w]], log["state"][mine])),
                                np.concatenate(([at0[w]], log["content"][mine]))))

    def __len__(self) -> int:
        return len(self.tracks)

    def at(self, t: float) -> list[tuple[int, str, tuple[float, float, float] | None]]:
        """Per worker: ``(pool index, state name, (x, y, z) or None)`` at time ``t``."""
        out = []
        for w, (times, states, ats) in enumerate(self.tracks):
            i = int(np.searchsorted(times, t, side="right")) - 1
            st, e = int(states[i]), int(ats[i])
            p = None if e < 0 else self.pos[e]
            if st == kt.WS_WALKING and p is not None and i > 0 and ats[i - 1] >= 0:
                a = self.pos[int(ats[i - 1])]
                d = float(np.linalg.norm(p - a))
                f = min((t - times[i]) * self.speed[w] / d, 1.0) if d > 0 else 1.0
                p = a + f * (p - a)
            out.append((int(self.pool[w]), WORKER_STATES[st],
                        None if p is None else tuple(float(v) for v in p)))
        return out
