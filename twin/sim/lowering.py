"""Lower a plant into the arrays the kernel reads, and build the state of a fresh run.

The kernel never sees a domain object (``docs/architecture.md``): this module is the only
place that knows both sides. ``lower`` validates what only a whole plant can tell (every
product has a process time at every station, ...) and raises ``ProjectError`` naming the
element and field.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from kernels import types as kt
from twin.errors import Problems
from twin.model import elements as m
from twin.model.distributions import Distribution
from twin.projectfile.reader import products as project_products

_KIND = {"source": kt.SOURCE, "station": kt.STATION, "buffer": kt.BUFFER,
         "conveyor": kt.CONVEYOR, "sink": kt.SINK}


@dataclass(frozen=True)
class Lowered:
    """A plant as kernel arrays, with the names needed to read the results back."""

    arrays: kt.ModelArrays
    element_ids: tuple[str, ...]
    element_kinds: tuple[str, ...]
    products: tuple[str, ...]
    n_servers: int
    horizon: float
    warmup: float


class _Dists:
    def __init__(self):
        self.kind: list[int] = []
        self.par: list[tuple] = []
        self.emp: list[float] = []
        self._seen: dict = {}

    def add(self, d: Distribution | None) -> int:
        if d is None:
            return kt.NO_DIST
        key = (d.dist, repr(sorted(d.params.items())))
        if key in self._seen:
            return self._seen[key]
        code, par, values = d.lower()
        if code == kt.D_EMPIRICAL:
            par = (float(len(self.emp)), par[1], par[2], 0.0)
            self.emp.extend(values)
        self.kind.append(code)
        self.par.append(tuple(float(x) for x in par))
        self._seen[key] = len(self.kind) - 1
        return len(self.kind) - 1


def calendar_toggles(cal: m.Calendar | None, horizon: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Times at which working time starts (1) or ends (0), and whether time 0 is working."""
    if cal is None:
        return np.zeros(0), np.zeros(0, np.int64), 1
    spans = cal.working_intervals(0.0, horizon + cal.period)
    times, on = [], []
    working0 = int(bool(spans) and spans[0][0] <= 0.0)
    for a, b in spans:
        if a > 0.0:
            times.append(a)
            on.append(1)
        times.append(b)
        on.append(0)
    return np.array(times, float), np.array(on, np.int64), working0


def lower(project: m.Project, horizon: float, warmup: float = 0.0, sample_interval: float = 0.0,
          log: bool = False) -> Lowered:
    """Turn ``project`` into ``kernels.types.ModelArrays`` for a run of ``horizon`` seconds."""
    problems = Problems()
    if not horizon > 0:
        problems.add("horizon", "must be > 0 seconds", horizon)
    if not 0 <= warmup < horizon:
        problems.add("warmup", f"must be >= 0 and shorter than the horizon ({horizon:g} s)",
                     warmup)
    problems.raise_if_any("the run settings")
    els = project.elements
    index = {el.id: i for i, el in enumerate(els)}
    prods = project_products(project)
    pindex = {p: i for i, p in enumerate(prods)}
    n_el, n_prod = len(els), len(prods)
    dists = _Dists()
    el_i = np.full((n_el, kt.N_I), -1, np.int64)
    el_f = np.zeros((n_el, kt.N_F))
    el_i[:, [kt.I_SERVERS, kt.I_SERVER0, kt.I_ROUTING, kt.I_FAIL_BASIS, kt.I_SCHED0,
             kt.I_SCHED_N, kt.I_ON_BLOCK, kt.I_CALENDAR, kt.I_PM_OPS, kt.I_SLOT]] = 0
    el_i[:, kt.I_OFF_STATE] = kt.OFF
    proc = np.full((n_el, n_prod), -1, np.int64)
    setup = np.full((n_el, n_prod), -1, np.int64)
    power = np.zeros((n_el, kt.N_STATES))
    mix = np.ones((n_el, n_prod))
    sched_t, sched_p, sched_q = [], [], []
    n_srv = 0
    slot = 0
    for e, el in enumerate(els):
        path = f"$.elements[{e}]"
        el_i[e, kt.I_KIND] = _KIND[el.kind]
        el_i[e, kt.I_ROUTING] = m.ROUTINGS.index(getattr(el, "routing", "probability"))
        if isinstance(el, m.Station):
            el_i[e, kt.I_SERVERS] = el.servers
            el_i[e, kt.I_SERVER0] = n_srv
            el_i[e, kt.I_SLOT] = slot
            slot += 1
            n_srv += el.servers
            for p, name in enumerate(prods):
                d = el.process_time_for(name)
                if d is None:
                    problems.add(f"{path}.process_time", f"has no time for product {name!r}",
                                 el.id)
                proc[e, p] = dists.add(d)
                setup[e, p] = dists.add(el.setup_time_for(name))
            if el.failures is not None:
                el_i[e, kt.I_FAIL_BASIS] = 1 + m.FAILURE_BASES.index(el.failures.basis)
                el_i[e, kt.I_TTF_DIST] = dists.add(el.failures.time_to_failure)
                el_i[e, kt.I_TTR_DIST] = dists.add(el.failures.time_to_repair)
            el_f[e, kt.F_SCRAP] = el.scrap
            if el.wear is not None:
                el_f[e, [kt.F_WEAR_OP, kt.F_WEAR_BUSY_H, kt.F_WEAR_HAZARD, kt.F_WEAR_SCRAP]] = (
                    el.wear.per_operation, el.wear.per_busy_hour, el.wear.failure_gain,
                    el.wear.scrap_gain)
            if el.maintenance is not None:
                el_i[e, kt.I_PM_OPS] = el.maintenance.every_operations
                el_f[e, kt.F_PM_HOURS] = el.maintenance.every_hours
                el_i[e, kt.I_PM_DIST] = dists.add(el.maintenance.duration)
            for state, kw in el.power_kw.items():
                power[e, kt.STATE_NAMES.index(state)] = kw
            if "standby" in el.power_kw:  # tolerated alias of idle
                power[e, kt.IDLE] = el.power_kw["standby"]
            el_i[e, kt.I_CALENDAR] = int(el.follows_calendar and project.calendar is not None)
            el_i[e, kt.I_OFF_STATE] = kt.IDLE if el.off_shift == "standby" else kt.OFF
        elif isinstance(el, m.Buffer):
            el_i[e, kt.I_CAPACITY] = -1 if el.capacity is None else el.capacity
        elif isinstance(el, m.Conveyor):
            length = project.conveyor_length(el)
            el_i[e, kt.I_CAPACITY] = max(1, int(length / el.spacing + 1e-9))
            el_f[e, kt.F_TRAVEL] = length / el.speed
            el_f[e, kt.F_GAP] = el.spacing / el.speed
        elif isinstance(el, m.Source):
            el_i[e, kt.I_ARRIVAL_DIST] = dists.add(el.arrival)
            el_i[e, kt.I_ON_BLOCK] = int(el.when_blocked == "lose")
            el_i[e, kt.I_CALENDAR] = int(el.follows_calendar and project.calendar is not None)
            w = np.array([el.product_mix.get(p, 0.0) for p in prods])
            if w.sum() <= 0:  # a scheduled source: its schedule names the products
                w = np.ones(len(prods))
            mix[e] = np.cumsum(w) / w.sum()
            mix[e, -1] = 1.0
            if el.schedule:
                el_i[e, kt.I_SCHED0] = len(sched_t)
                el_i[e, kt.I_SCHED_N] = len(el.schedule)
                el_f[e, kt.F_SCHED_PERIOD] = el.schedule_period
                if el.schedule_period and el.schedule[-1][0] >= el.schedule_period:
                    problems.add(f"{path}.schedule_period", "must be longer than the last "
                                 "schedule time", el.schedule_period)
                for t, name, q in el.schedule:
                    sched_t.append(t)
                    sched_p.append(pindex[name])
                    sched_q.append(q)
    problems.raise_if_any(getattr(project, "name", None))

    succ_ptr, succ, succ_cum = _csr(n_el, [(index[c.source], index[c.target], c.weight)
                                           for c in project.connections])
    pred_ptr, pred, _ = _csr(n_el, [(index[c.target], index[c.source], 1.0)
                                    for c in project.connections])
    cal_t, cal_on, working0 = calendar_toggles(project.calendar, horizon)
    keep = cal_t <= horizon
    dt = sample_interval if sample_interval > 0 else horizon / 200.0
    n_samples = int(np.floor(horizon / dt + 1e-9)) + 1
    ts_t = np.arange(n_samples) * dt
    extra_t = [warmup, horizon]
    if project.tariff is not None and project.tariff.hourly:
        extra_t += list(np.arange(0.0, horizon, 3600.0))  # prices change on the hour
    ts_t = np.unique(np.concatenate([ts_t[ts_t <= horizon], extra_t]))
    max_q = max(sched_q, default=1)
    params = np.array([warmup, float(log), float(n_el + max_q + 4),
                       float(2 * n_srv + 3 * n_el + 16), float(working0)])
    arrays = kt.ModelArrays(
        el_i=el_i, el_f=el_f, succ_ptr=succ_ptr, succ=succ, succ_cum=succ_cum,
        pred_ptr=pred_ptr, pred=pred,
        dist_kind=np.array(dists.kind or [0], np.int64),
        dist_par=np.array(dists.par or [(0.0,) * 4], float).reshape(-1, 4),
        emp=np.array(dists.emp or [0.0], float), proc_dist=proc, setup_dist=setup, power=power,
        mix_cum=mix, sched_t=np.array(sched_t or [0.0]), sched_p=np.array(sched_p or [0], np.int64),
        sched_q=np.array(sched_q or [0], np.int64), cal_t=cal_t[keep], cal_on=cal_on[keep],
        ts_t=ts_t, params=params,
    )
    return Lowered(arrays, tuple(el.id for el in els), tuple(el.kind for el in els),
                   tuple(prods), n_srv, float(horizon), float(warmup))


def _csr(n, edges):
    edges = sorted(enumerate(edges), key=lambda ie: (ie[1][0], ie[0]))
    ptr = np.zeros(n + 1, np.int64)
    dst = np.zeros(max(len(edges), 1), np.int64)
    cum = np.zeros(max(len(edges), 1))
    for k, (_, (a, b, _w)) in enumerate(edges):
        ptr[a + 1] += 1
        dst[k] = b
    ptr = np.cumsum(ptr)
    for a in range(n):
        lo, hi = ptr[a], ptr[a + 1]
        w = np.array([edges[k][1][2] for k in range(lo, hi)], float)
        if hi > lo:
            total = w.sum()
            cum[lo:hi] = np.cumsum(w) / total if total > 0 else np.linspace(1 / len(w), 1, len(w))
            cum[hi - 1] = 1.0
    return ptr, dst, cum


def stream_seeds(element_ids: tuple[str, ...], seed: int, replication: int) -> np.ndarray:
    """xoshiro256** states, one per element and purpose (``kernels.types.RS_*``).

    Each stream is keyed by the run seed, the replication and a stable hash of the element
    id, so that scenarios sharing a seed share random numbers element by element (common
    random numbers), whatever else differs between them.
    """
    out = np.empty((len(element_ids) * kt.N_STREAMS, 4), np.uint64)
    for e, eid in enumerate(element_ids):
        key = zlib.crc32(eid.encode("utf-8"))
        for purpose in range(kt.N_STREAMS):
            ss = np.random.SeedSequence(entropy=seed, spawn_key=(replication, key, purpose))
            out[e * kt.N_STREAMS + purpose] = ss.generate_state(4, np.uint64)
    return out


def new_state(low: Lowered, seed: int, replication: int, parts: int = 1024,
              log_rows: int = 0) -> kt.KernelState:
    """The state of a fresh run at time 0: empty line, every server starved (or off)."""
    a = low.arrays
    n_el, n_srv = a.el_i.shape[0], low.n_servers
    n_s = a.ts_t.shape[0]
    working0 = int(a.params[kt.P_WORKING0])
    si = np.zeros(kt.N_S, np.int64)
    sf = np.zeros(kt.N_T)
    si[kt.S_WORKING] = working0
    si[kt.S_WARM_DONE] = int(low.warmup <= 0)
    sf[kt.T_WARMUP] = low.warmup
    srv_i = np.zeros((n_srv, kt.N_SI), np.int64)
    srv_f = np.zeros((n_srv, kt.N_SF))
    srv_i[:, [kt.SI_PART, kt.SI_LAST_PROD, kt.SI_DEST]] = -1
    srv_i[:, kt.SI_STATE] = kt.STARVED
    for e in range(n_el):
        if a.el_i[e, kt.I_KIND] != kt.STATION:
            continue
        s0, n = a.el_i[e, kt.I_SERVER0], a.el_i[e, kt.I_SERVERS]
        srv_i[s0:s0 + n, kt.SI_EL] = e
        if a.el_i[e, kt.I_CALENDAR] and not working0:
            srv_i[s0:s0 + n, kt.SI_OFF] = 1
            srv_i[s0:s0 + n, kt.SI_STATE] = a.el_i[e, kt.I_OFF_STATE]
    el_si = np.zeros((n_el, kt.N_EI), np.int64)
    el_si[:, [kt.EI_HEAD, kt.EI_TAIL]] = -1
    el_si[:, kt.EI_PEND_DEST] = -2
    el_sf = np.zeros((n_el, kt.N_EF))
    # an unlimited source that has not handed a part on yet has waited since forever, so
    # that sources feeding one element alternate from the first part on
    el_sf[:, kt.EF_LAST_TAKE] = -np.inf
    part_i, part_f = _part_pool(parts)
    si[kt.S_FREE] = 0
    si[kt.S_NFREE] = parts
    heap = 4 * (n_srv + n_el) + 64
    log_rows = log_rows if a.params[kt.P_LOG] > 0 else 1
    return kt.KernelState(
        si=si, sf=sf, srv_i=srv_i, srv_f=srv_f, el_si=el_si, el_sf=el_sf,
        part_i=part_i, part_f=part_f, heap_t=np.zeros(heap), heap_i=np.zeros((heap, 4), np.int64),
        rng=stream_seeds(low.element_ids, seed, replication),
        el_out=np.zeros((n_el, kt.N_O)), st_time=np.zeros((n_el, kt.N_STATES)),
        st_total=np.zeros((n_el, kt.N_STATES)), line_out=np.zeros(kt.N_L),
        stack=np.zeros(n_el, np.int64), dirty=np.zeros(max(n_srv, 1), np.int64),
        ts_line=np.zeros((n_s, 3)), ts_energy=np.zeros((n_s, n_el)),
        ts_wear=np.zeros((n_s, n_el)), ts_content=np.zeros((n_s, n_el)),
        log_t=np.zeros(max(log_rows, 1)), log_i=np.zeros((max(log_rows, 1), 4), np.int64),
    )


def _part_pool(n: int, start: int = 0) -> tuple[np.ndarray, np.ndarray]:
    part_i = np.full((n, kt.N_PI), -1, np.int64)
    part_i[:, kt.PI_NEXT] = np.arange(start + 1, start + n + 1)
    part_i[-1, kt.PI_NEXT] = -1
    return part_i, np.zeros((n, kt.N_PF))


def grow(state: kt.KernelState, code: int) -> kt.KernelState:
    """Double the array the kernel asked for (``K_NEED_*``) and return the new state."""
    if code == kt.K_NEED_PARTS:
        n = state.part_i.shape[0]
        new_i, new_f = _part_pool(n, start=n)
        new_i[-1, kt.PI_NEXT] = state.si[kt.S_FREE]
        state.si[kt.S_FREE] = n
        state.si[kt.S_NFREE] += n
        return state._replace(part_i=np.concatenate([state.part_i, new_i]),
                              part_f=np.concatenate([state.part_f, new_f]))
    if code == kt.K_NEED_HEAP:
        n = state.heap_t.shape[0]
        return state._replace(heap_t=np.concatenate([state.heap_t, np.zeros(n)]),
                              heap_i=np.concatenate([state.heap_i, np.zeros((n, 4), np.int64)]))
    if code == kt.K_NEED_LOG:
        return reserve_log(state, 2 * max(state.log_t.shape[0], 1024))
    raise ValueError(f"unknown kernel code {code}")


def reserve_log(state: kt.KernelState, rows: int) -> kt.KernelState:
    """The state with room for at least ``rows`` state-log rows (one copy, not many)."""
    n = state.log_t.shape[0]
    if rows <= n:
        return state
    log_t = np.empty(rows)
    log_i = np.empty((rows, 4), np.int64)
    log_t[:n] = state.log_t
    log_i[:n] = state.log_i
    return state._replace(log_t=log_t, log_i=log_i)
