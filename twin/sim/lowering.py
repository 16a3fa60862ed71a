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
from twin.errors import Problem, Problems, ProjectError, as_seconds, seconds_text
from twin.model import elements as m
from twin.model.distributions import Distribution
from twin.projectfile.demand import (
    MAX_BOUNDARIES,
    check_overlap,
    count_boundaries,
    occurrences,
)
from twin.projectfile.reader import products as project_products
from twin.sim.energy import sample_times
from twin.sim.oee import ideal_cycle_time
from twin.sim.orders import initial_orders, lower_buffer_sequencing, lower_order_source
from twin.sim.restart_energy import restart_power
from twin.sim.seeds import seed_states, seed_states_of
from twin.sim.workers import pool_table

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
    element_names: tuple[str, ...] = ()
    pool_ids: tuple[str, ...] = ()  # worker pools, in kernel order (issue 18)
    # issue 19: per element, the power (kW) that spreads each restart's ``restart_kwh`` over
    # its warm-up in the sampled series (twin.sim.restart_energy); None: no restart energy
    restart_kw: np.ndarray | None = None
    # per element, a station's ideal cycle time (s) for its OEE (twin.sim.oee), else None:
    # read off the project here, as the results are read without it (a study's points)
    ideal_cycle_s: tuple[float | None, ...] = ()


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
        problems.add("warmup", "must be >= 0 and shorter than the horizon "
                     f"({seconds_text(horizon)})", as_seconds(warmup))
    problems.raise_if_any(what="the run settings")
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
    el_i[:, [kt.I_CREW_REPAIR, kt.I_CREW_SETUP, kt.I_CREW_PROCESS, kt.I_CREW, kt.I_CREW_PRIO]] = 0
    el_i[:, [kt.I_BOM0, kt.I_BOM_N, kt.I_BATCH_MIN, kt.I_SPLIT]] = 0
    bom: list[tuple[int, int, int, int]] = []
    proc = np.full((n_el, n_prod), -1, np.int64)
    setup = np.full((n_el, n_prod), -1, np.int64)
    power = np.zeros((n_el, kt.N_STATES))
    restart_kw = np.zeros(n_el)
    mix = np.ones((n_el, n_prod))
    sched_t, sched_p, sched_q = [], [], []
    ords: list[tuple[float, float, float]] = []  # OD_* per schedule row (orders, issue 18 §4)
    batch = 1  # most parts one arrival makes (a schedule row, or orders released at once)
    n_srv = 0
    slot = 0
    for e, el in enumerate(els):
        path = f"$.elements[{e}]"
        el_i[e, kt.I_KIND] = _KIND[el.kind]
        el_i[e, kt.I_ROUTING] = kt.ROUTING_NAMES.index(getattr(el, "routing", "probability"))
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
                el_i[e, kt.I_FAIL_BASIS] = kt.FAILURE_BASIS_NAMES.index(el.failures.basis)
                el_i[e, kt.I_TTF_DIST] = dists.add(el.failures.time_to_failure)
                el_i[e, kt.I_TTR_DIST] = dists.add(el.failures.time_to_repair)
            el_f[e, kt.F_SCRAP] = el.scrap
            if el.wear is not None:
                el_f[e, [kt.F_WEAR_OP, kt.F_WEAR_BUSY_H, kt.F_WEAR_HAZARD, kt.F_WEAR_SCRAP]] = (
                    el.wear.per_operation, el.wear.per_busy_hour, el.wear.failure_gain,
                    el.wear.scrap_gain)
            el_i[e, kt.I_WEARS] = int(bool(el_f[e, [kt.F_SCRAP, kt.F_WEAR_OP, kt.F_WEAR_BUSY_H,
                                                    kt.F_WEAR_SCRAP]].any()))
            if el.maintenance is not None:
                el_i[e, kt.I_PM_OPS] = el.maintenance.every_operations
                el_f[e, kt.F_PM_HOURS] = el.maintenance.every_hours
                el_i[e, kt.I_PM_DIST] = dists.add(el.maintenance.duration)
            for state, kw in el.power_kw.items():
                power[e, kt.STATE_NAMES.index(state)] = kw
            if "standby" in el.power_kw and "idle" not in el.power_kw:
                power[e, kt.IDLE] = el.power_kw["standby"]  # the old alias of idle
            if el.energy_saving is not None:
                _lower_energy_saving(el, el_i[e], el_f[e], power[e], dists)
                restart_kw[e] = restart_power(el.energy_saving)
            el_i[e, kt.I_CALENDAR] = int(el.follows_calendar and project.calendar is not None)
            el_i[e, kt.I_OFF_STATE] = kt.IDLE if el.off_shift == "standby" else kt.OFF
            if el.workers is not None:
                _lower_needs(project, el.workers, el_i[e], f"{path}.workers", problems)
            if el.assembly is not None:
                el_i[e, kt.I_BOM0] = len(bom)
                el_i[e, kt.I_BOM_N] = len(el.assembly.inputs)
                el_i[e, kt.I_OUT_PROD] = pindex.get(el.assembly.product, -1)
                for k, inp in enumerate(el.assembly.inputs):
                    if inp.source not in index:
                        problems.add(f"{path}.assembly.inputs[{k}].from", "names no element "
                                     "of the project", inp.source)
                        continue
                    bom.append((e, index[inp.source], inp.quantity, inp.place_capacity))
            if el.batch or el.disassembly or el.unbatch:  # an assembly of one input (issue 18)
                field = "batch" if el.batch else "disassembly" if el.disassembly else "unbatch"
                _lower_batch(project, el, e, (index, pindex, el_i, el_f, bom),
                             f"{path}.{field}", problems)
        elif isinstance(el, m.Buffer):
            el_i[e, kt.I_CAPACITY] = -1 if el.capacity is None else el.capacity
            if el.sequencing != "fifo":  # issue 18 §4: a rule at the buffer (twin.sim.orders)
                lower_buffer_sequencing(project, el, e, el_i, mix, prods, path, problems)
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
            if el.orders is not None:  # issue 18 §4: an order source (twin.sim.orders)
                batch = max(batch, lower_order_source(
                    project, el, e, el_i, pindex, (sched_t, sched_p, sched_q), ords))
            elif el.schedule:
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
                    ords.append((-1.0, 0.0, 0.0))
    problems.raise_if_any(what=getattr(project, "name", None))

    succ_ptr, succ, succ_cum = _csr(n_el, [(index[c.source], index[c.target], c.weight)
                                           for c in project.connections])
    # an assembly pulls through its bill of materials (``bom``), not ``pred``: it has none
    # there, which keeps the test for it off the path of every other element's pulling
    pred_ptr, pred, _ = _csr(n_el, [(index[c.target], index[c.source], 1.0)
                                    for c in project.connections
                                    if el_i[index[c.target], kt.I_BOM_N] == 0])
    cal = project.calendar
    if cal is not None and _toggles_estimate(cal, horizon) > MAX_TOGGLES:
        problems.add("$.calendar.period", f"makes more than {MAX_TOGGLES:,} shift changes in "
                     f"a run of {horizon:g} s; give the calendar a period of minutes or more",
                     cal.period)
        problems.raise_if_any(what=getattr(project, "name", None))
    dt = sample_interval if sample_interval > 0 else horizon / 200.0
    n_samples = int(np.floor(min(horizon / dt, 1e18) + 1e-9)) + 1
    if n_samples * max(n_el, 1) > MAX_SAMPLE_CELLS:
        problems.add("sample_interval", f"makes {n_samples:,} samples of {n_el} elements, more "
                     f"than the {MAX_SAMPLE_CELLS:,} values a run keeps; sample less often",
                     sample_interval)
        problems.raise_if_any(what="the run settings")
    cal_t, cal_on, working0 = calendar_toggles(cal, horizon)
    keep = cal_t <= horizon
    ts_t = np.arange(n_samples) * dt
    extra_t = [warmup, horizon]
    try:  # prices, CO2, demand windows change there (twin.sim.energy)
        extra_t += list(sample_times(project.tariff, horizon, cal))
    except ProjectError as e:
        problems.items += e.problems
        problems.raise_if_any(what=getattr(project, "name", None))
    ts_t = np.unique(np.concatenate([ts_t[ts_t <= horizon], extra_t]))
    if ts_t.size * max(n_el, 1) > MAX_SAMPLE_CELLS:  # the tariff's quarter hours added
        problems.add("$.tariff", f"prices this run at {ts_t.size:,} times of {n_el} elements, "
                     f"more than the {MAX_SAMPLE_CELLS:,} values a run keeps; run a shorter "
                     "horizon", horizon)
        problems.raise_if_any(what=getattr(project, "name", None))
    wk = _lower_pools(project, index)
    el_f[:, [kt.F_X, kt.F_Y, kt.F_Z]] = np.array([el.position for el in els],
                                                  float).reshape(n_el, 3)
    most = _bill_routing(project, index, succ_ptr, succ, succ_cum)  # disassemblies
    params = _params(warmup, log, working0, n_el, n_srv,
                     max([batch, *sched_q, most * (kt.MOVES_PER_CHECK + 2)]),
                     int(wk[:, kt.WK_COUNT].sum()))
    if (el_i[:, kt.I_ES_MODE] > 0).any():  # issue 19: the energy-saving hooks run
        params[kt.P_ES] = 1.0
        params[kt.P_RESERVE_HEAP] += n_srv  # a state commit may start a timer per server
    if project.demand_response:  # issue 19 §2: the window boundaries follow N_P in params
        params = _lower_demand(project, index, params, power, problems, horizon)
        problems.raise_if_any(what=getattr(project, "name", None))
    has_orders = any(getattr(el, "orders", None) is not None for el in els)
    params = _feature_tables(params, wk, np.array(ords, float).reshape(-1, kt.N_OD)
                             if has_orders else None)
    arrays = kt.ModelArrays(
        el_i=el_i, el_f=el_f, succ_ptr=succ_ptr, succ=succ, succ_cum=succ_cum,
        pred_ptr=pred_ptr, pred=pred,
        dist_kind=np.array(dists.kind or [0], np.int64),
        dist_par=np.array(dists.par or [(0.0,) * 4], float).reshape(-1, 4),
        emp=np.array(dists.emp or [0.0], float), proc_dist=proc, setup_dist=setup, power=power,
        mix_cum=mix, sched_t=np.array(sched_t or [0.0]), sched_p=np.array(sched_p or [0], np.int64),
        sched_q=np.array(sched_q or [0], np.int64), cal_t=cal_t[keep], cal_on=cal_on[keep],
        ts_t=ts_t, bom=np.array(bom or [(-1,) * kt.N_BM], np.int64).reshape(-1, kt.N_BM),
        params=params, features=kt.features_array(el_i, params),
    )
    return Lowered(arrays, tuple(el.id for el in els), tuple(el.kind for el in els),
                   tuple(prods), n_srv, float(horizon), float(warmup),
                   tuple(el.name for el in els), tuple(p.id for p in project.workers),
                   restart_kw if restart_kw.any() else None,
                   tuple(ideal_cycle_time(project, el)[0] if isinstance(el, m.Station)
                         else None for el in els))


def _lower_energy_saving(el: m.Station, row_i: np.ndarray, row_f: np.ndarray,
                         power: np.ndarray, dists: _Dists) -> None:
    """A station's energy-saving policy (``I_ES_*``, ``F_ES_*``; kernels/standby.py).
    Without their own ``power_kw``, standby draws the idle power and a warm-up the busy one."""
    es = el.energy_saving
    row_i[kt.I_ES_MODE] = kt.STANDBY if es.mode == "standby" else kt.SWITCHED_OFF
    row_i[kt.I_ES_WHEN] = {"starved": 1, "blocked": 2, "both": 3}[es.when]
    row_i[kt.I_ES_RESTART] = dists.add(es.restart or Distribution("constant", {"value": 0.0}))
    row_f[kt.F_ES_AFTER] = es.after_s
    row_f[kt.F_ES_KWH] = es.restart_kwh
    if "standby" not in el.power_kw:
        power[kt.STANDBY] = power[kt.IDLE]
    if "warming_up" not in el.power_kw:
        power[kt.WARMING_UP] = power[kt.BUSY]


def _lower_demand(project: m.Project, index: dict, params: np.ndarray,
                  power: np.ndarray, problems: Problems, horizon: float) -> np.ndarray:
    """``params`` with the demand-response boundaries appended (``DR_*`` rows sorted by
    time, a window's end before another's start at the same instant; kernels/demand.py). A
    paused station draws its standby power, the idle power unless ``power_kw`` names one.
    Repeating windows are listed up to the horizon; their occurrences must not overlap
    another entry's at a station, nor be too many."""
    entries = project.demand_response
    n = count_boundaries(entries, horizon)
    if n > MAX_BOUNDARIES:
        problems.add("$.demand_response", f"has {n:,} window boundaries over its stations "
                     f"up to the horizon, more than {MAX_BOUNDARIES:,}; repeat the windows "
                     "less often or shorten the run", len(entries))
        return params
    if any(dr.repeat for dr in entries):
        check_overlap(entries, problems, until=horizon)
    rows = []
    for i, dr in enumerate(entries):
        windows = occurrences(dr, horizon)
        speed = dr.speed if dr.action == "slow" else 0.0
        for j, sid in enumerate(dr.stations):
            e = index.get(sid, -1)
            if e < 0 or not isinstance(project.elements[e], m.Station):  # deleted since read
                problems.add(f"$.demand_response[{i}].stations[{j}]", "is not a station of "
                             "this project any more; remove it from the list", sid)
                continue
            if dr.action == "pause" and "standby" not in project.element(sid).power_kw:
                power[e, kt.STANDBY] = power[e, kt.IDLE]
            for a, b in windows:
                rows += [(a, e, 1.0, speed), (b, e, 0.0, speed)]
    rows.sort(key=lambda r: (r[0], r[2]))
    out = np.concatenate([params, np.array(rows, float).ravel()])
    out[kt.P_DR] = float(len(rows))
    out[kt.P_RESERVE_HEAP] += 1  # the next boundary
    return out


def _lower_needs(project: m.Project, needs, row: np.ndarray, path: str,
                 problems: Problems) -> None:
    """A station's worker needs as the kernel's pool masks (``I_CREW_*``); a need no pool
    can meet (a pool removed since, in the workbench) is a problem at ``path``."""
    bit = {p.id: 1 << k for k, p in enumerate(project.workers)}
    for task, col in (("repair", kt.I_CREW_REPAIR), ("setup", kt.I_CREW_SETUP),
                      ("process", kt.I_CREW_PROCESS)):
        need = needs.need(task)
        if need is None:
            continue
        pools = [p for p in need.pools(project.workers)
                 if not need.skill or need.skill in p.skills]
        if not pools:
            known = ", ".join(p.id for p in project.workers) or "none"
            problems.add(f"{path}.{task}", f"no worker pool can do this task (pools: {known}); "
                         "name a pool of the project's workers, or add one",
                         need.pool or need.skill)
        row[col] = sum(bit[p.id] for p in pools)
    row[kt.I_CREW] = int(row[kt.I_CREW_SETUP] != 0 or row[kt.I_CREW_PROCESS] != 0)
    row[kt.I_CREW_PRIO] = needs.priority


def _feature_tables(params: np.ndarray, wk: np.ndarray, ords: np.ndarray | None) -> np.ndarray:
    """``params`` with the worker pools' table (``P_WK0``, ``P_POOLS``) and the orders' table
    (``P_OD0``; none without an order source) appended: one array in the kernel's model
    bundle instead of one per feature (kernels.types)."""
    out = [params]
    params[kt.P_POOLS] = wk.shape[0]
    if wk.shape[0]:
        params[kt.P_WK0] = params.size
        out.append(wk.ravel())
    if ords is not None:
        params[kt.P_OD0] = params.size + (wk.size if wk.shape[0] else 0)
        out.append(ords.ravel())
    return np.concatenate(out) if len(out) > 1 else params


def _lower_pools(project: m.Project, index: dict[str, int]) -> np.ndarray:
    """The worker pools as ``wk`` (kernels.types, "worker pools")."""
    pools = project.workers
    wk = np.zeros((len(pools), kt.N_WK))
    first = 0
    for k, p in enumerate(pools):
        wk[k, kt.WK_COUNT] = p.count
        wk[k, kt.WK_FIRST] = first
        wk[k, kt.WK_CALENDAR] = int(p.follows_calendar and project.calendar is not None)
        wk[k, kt.WK_HOME] = index.get(p.home, -1) if p.home else -1
        wk[k, kt.WK_SPEED] = p.speed
        first += p.count
    return wk


# Backstops against runs whose arrays alone would exhaust the memory (twin.limits refuses
# such settings with its own messages first; these keep lower() from trying).
MAX_TOGGLES = 2_000_000  # shift changes in one run
MAX_SAMPLE_CELLS = 100_000_000  # time-series values per series (samples x elements)
# The part pool and the event queue grow on the kernel's demand up to these; past them the
# line holds more parts (or events) than any plant does: an input error, not more memory.
MAX_PARTS = 1 << 24
MAX_HEAP = 1 << 26


def _toggles_estimate(cal: m.Calendar, horizon: float) -> float:
    """An upper bound on the shift changes of ``cal`` up to ``horizon`` (s)."""
    per_period = 2 * (len(cal.shifts) + len(cal.breaks))
    return (horizon / cal.period + 3.0) * per_period


def _params(warmup: float, log: bool, working0: int, n_el: int, n_srv: int,
            max_q: int, n_workers: int = 0) -> np.ndarray:
    """The kernel's ``P_*`` parameters, with reserves that make overruns impossible.

    ``run_until`` checks the reserves before each event and every ``MOVES_PER_CHECK``
    moves, so each must cover the most one event can use, ``MOVES_PER_CHECK + 2`` moves
    and what follows a cascade. One event creates at most ``max_q`` parts (a schedule
    row), schedules at most ``n_srv + n_el + 1`` events (a shift change restarts every
    server and source) and logs at most ``max_q`` rows (a schedule row's arrivals); one
    move creates at most one part, schedules at most three events (a conveyor's two, one
    for the server released) and logs two rows (the contents of both elements); after a
    cascade, lost arrivals log up to ``max_q`` rows and the state commits one per server.
    A shift change also sends each of ``n_workers`` workers to a task (one event each).
    """
    batch = kt.MOVES_PER_CHECK + 2
    params = np.zeros(kt.N_P)
    params[kt.P_WARMUP] = warmup
    params[kt.P_LOG] = float(log)
    params[kt.P_WORKING0] = float(working0)
    params[kt.P_RESERVE_PARTS] = max_q + batch + 8
    params[kt.P_RESERVE_HEAP] = n_srv + n_el + n_workers + 1 + 3 * batch + 16
    # (a playback re-run also logs each worker's change: a shift change changes them all)
    params[kt.P_RESERVE_LOG] = 2 * max_q + 2 * batch + n_srv + 2 * n_workers + 16
    # no element of a plant fires a thousand times a second; a large batch at one instant
    # passing a line of zero-time stations is legal, and allowed for
    params[kt.P_STALL_LIMIT] = (kt.STALL_BASE + kt.STALL_PER_ELEMENT * (n_el + n_srv)
                                + 4 * n_el * max_q)
    return params


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
    # the states of SeedSequence(entropy=seed, spawn_key=(replication, key, purpose)),
    # made for all streams at once (twin.sim.seeds)
    return seed_states(int(seed), int(replication), _stream_keys(element_ids), kt.N_STREAMS)


def stream_seeds_of(element_ids: tuple[str, ...], seed: int, replications) -> np.ndarray:
    """:func:`stream_seeds` of many replications at once: ``(len(replications),
    n_elements * N_STREAMS, 4)``."""
    return seed_states_of(int(seed), replications, _stream_keys(element_ids), kt.N_STREAMS)


def _stream_keys(element_ids: tuple[str, ...]) -> list[int]:
    return [zlib.crc32(eid.encode("utf-8")) for eid in element_ids]


def new_state(low: Lowered, seed: int, replication: int, parts: int | None = None,
              log_rows: int = 0, heap: int | None = None) -> kt.KernelState:
    """The state of a fresh run at time 0: empty line, every server starved (or off).

    ``parts`` and ``heap`` size the part pool and the event queue (default: room for every
    server and every place in a finite buffer or conveyor, and for the first events of each);
    they and the state log (``log_rows``) grow when the kernel asks (``grow``), so these
    sizes only spare copies, and any size, however small, gives the same run.
    """
    a = low.arrays
    n_el, n_srv = a.el_i.shape[0], low.n_servers
    n_s = a.ts_t.shape[0]
    working0 = int(a.params[kt.P_WORKING0])
    places = _places(a)
    if parts is None:
        parts = max(1024, min(n_srv + places, 1 << 20) + int(a.params[kt.P_RESERVE_PARTS]))
    if heap is None:
        # start() schedules up to two events per server and one per element
        heap = (4 * (n_srv + n_el) + 64 + int(a.params[kt.P_RESERVE_HEAP])
                + min(2 * places, 1 << 20))
    si = np.zeros(kt.N_S, np.int64)
    sf = np.zeros(kt.N_T)
    si[kt.S_WORKING] = working0
    si[kt.S_WARM_DONE] = int(low.warmup <= 0)
    sf[kt.T_WARMUP] = low.warmup
    srv_i = np.zeros((n_srv, kt.N_SI), np.int64)
    srv_f = np.zeros((n_srv, kt.N_SF))
    srv_i[:, [kt.SI_PART, kt.SI_LAST_PROD, kt.SI_DEST, kt.SI_WORKER0, kt.SI_WORKER0 + 1]] = -1
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
    el_sf[:, kt.EF_DR_SPEED] = 1.0  # no demand-response slow-down (kernels.demand)
    part_i, part_f = _part_pool(parts)
    si[kt.S_FREE] = 0
    si[kt.S_NFREE] = parts
    log_rows = log_rows if a.params[kt.P_LOG] > 0 else 1
    return kt.KernelState(
        si=si, sf=sf, srv_i=srv_i, srv_f=srv_f, el_si=el_si, el_sf=el_sf,
        part_i=part_i, part_f=part_f, heap_t=np.zeros(heap), heap_i=np.zeros((heap, 4), np.int64),
        rng=stream_seeds(low.element_ids, seed, replication),
        el_out=np.zeros((n_el, kt.N_O)), st_time=np.zeros((n_el, kt.N_STATES)),
        st_warm=np.zeros((n_el, kt.N_STATES)), line_out=np.zeros(kt.N_L),
        # each element is on the work stack at most once (EI_QUEUED), but for one more entry
        # of an element whose pulling a call stopped in (kernels.engine._resume_pulling);
        # each server on the commit list at most once (SI_DIRTY): these two never grow
        stack=np.zeros(n_el + 1, np.int64), dirty=np.zeros(max(n_srv, 1), np.int64),
        ts_line=np.zeros((n_s, kt.N_TS)), ts_energy=np.zeros((n_s, n_el)),
        ts_wear=np.zeros((n_s, n_el)), ts_content=np.zeros((n_s, n_el)),
        log_t=np.zeros(max(log_rows, 1)), log_i=np.zeros((max(log_rows, 1), kt.N_LG), np.int64),
        **_workers_state(a, working0),
        bom_out=_bom_places(a.bom),
        ord_out=initial_orders(a),
    )


def _lower_batch(project, el, e, arrays, path, problems) -> None:
    """A batch station's columns (``kernels/batching.py``): its place is the one input of a
    bill of materials whose quantity is the batch size; it needs one predecessor (an oven
    just placed has none yet)."""
    index, pindex, el_i, el_f, bom = arrays
    src = [c.source for c in project.connections if c.target == el.id]
    if len(src) != 1:
        problems.add(path, "this station takes its parts from exactly one predecessor; "
                     "connect one (merge several in a buffer before it)", src)
        return
    b = el.batch or m.Batch(1)  # a disassembly takes one part at a time, an unbatch one load
    if el.unbatch:
        el_i[e, kt.I_LOAD] = kt.LOAD_UNBATCH
    elif b.release == "load":
        el_i[e, kt.I_LOAD] = kt.LOAD_RELEASE
    el_i[e, kt.I_BOM0] = len(bom)
    el_i[e, kt.I_BOM_N] = 1
    el_i[e, kt.I_BATCH_MIN] = b.min_fill
    el_f[e, kt.F_BATCH_TIMEOUT] = np.inf if b.timeout is None else b.timeout
    bom.append((e, index[src[0]], b.size, b.place_capacity))
    if el.disassembly is not None:  # its bill, run by run in the order the parts leave
        el_i[e, kt.I_ROUTING] = kt.R_BILL  # (the successors' order: _bill_routing)
        for to in [c.target for c in project.connections if c.source == el.id]:
            bom.extend((-1, -1, k, pindex.get(p, -1))
                       for t, k, p in el.disassembly.outputs if t == to)
        el_i[e, kt.I_SPLIT] = sum(row[kt.BM_K] for row in bom[el_i[e, kt.I_BOM0] + 1:])


def _bill_routing(project, index, succ_ptr, succ, succ_cum) -> int:
    """A disassembly's successors get cumulative quantities in ``succ_cum`` (routing
    ``R_BILL``); returns the most parts one part makes (0: no disassembly)."""
    most = 0
    for el in project.stations():
        if el.disassembly is None:
            continue
        e = index[el.id]
        q: dict[str, int] = {}
        for to, k, _ in el.disassembly.outputs:
            q[to] = q.get(to, 0) + k
        a, b = succ_ptr[e], succ_ptr[e + 1]
        succ_cum[a:b] = np.cumsum([q.get(project.elements[j].id, 0) for j in succ[a:b]])
        most = max(most, el.disassembly.total)
    return most


def _workers_state(a: kt.ModelArrays, working0: int) -> dict:
    """The workers at time 0: each idle (off, when its pool follows the calendar outside
    working time) at its pool's home."""
    wk = pool_table(a)
    n_pools = wk.shape[0]
    n_w = int(wk[:, kt.WK_COUNT].sum())
    wkr = np.zeros((n_w + n_pools, kt.N_WKR))  # the workers, then the pools' results rows
    wkr[:n_w, kt.WR_SRV] = -1
    for k in range(n_pools):
        w0, n = int(wk[k, kt.WK_FIRST]), int(wk[k, kt.WK_COUNT])
        wkr[w0:w0 + n, kt.WR_POOL] = k
        wkr[w0:w0 + n, kt.WR_AT] = wk[k, kt.WK_HOME]
        off = wk[k, kt.WK_CALENDAR] and not working0
        wkr[w0:w0 + n, kt.WR_STATE] = kt.WS_OFF if off else kt.WS_IDLE
    return dict(wkr=wkr)


def _bom_places(bom: np.ndarray) -> np.ndarray:
    """The inputs of the assemblies: their places empty (``kt.BS_*`` columns), nothing
    counted (``kt.BO_*``)."""
    out = np.zeros((bom.shape[0], kt.N_BO))
    out[:, [kt.BS_HEAD, kt.BS_TAIL]] = -1.0
    return out


def _places(a: kt.ModelArrays) -> int:
    """Places in finite buffers and conveyors (each holds a part; each conveyor part may
    have two events queued)."""
    kind, cap = a.el_i[:, kt.I_KIND], a.el_i[:, kt.I_CAPACITY]
    finite = ((kind == kt.BUFFER) | (kind == kt.CONVEYOR)) & (cap > 0)
    inputs = a.bom[a.bom[:, kt.BM_EL] >= 0, kt.BM_CAP]  # assembly input places (issue 18)
    return int(cap[finite].sum()) + int(inputs.sum())


def _part_pool(n: int, start: int = 0) -> tuple[np.ndarray, np.ndarray]:
    part_i = np.full((n, kt.N_PI), -1, np.int64)
    part_i[:, kt.PI_NEXT] = np.arange(start + 1, start + n + 1)
    part_i[-1, kt.PI_NEXT] = -1
    return part_i, np.zeros((n, kt.N_PF))


class RunawayError(ProjectError):
    """A model the kernel cannot take to its horizon: an element keeps firing while
    simulated time stands (nearly) still, or the line piles up more parts than any plant
    holds. ``element`` is the id of the element named (None: the calendar or the line),
    ``time`` the simulated time (s) it was noticed at."""

    def __init__(self, path: str, message: str, element: str | None, time: float):
        super().__init__([Problem(path, message)])
        self.element = element
        self.time = time


def _label(low: Lowered | None, e: int) -> str:
    if low is None or not low.element_ids:
        return f"element #{e}"
    eid = low.element_ids[e]
    name = low.element_names[e] if e < len(low.element_names) else ""
    return f"{low.element_kinds[e]} {eid!r}" + (f" ({name})" if name and name != eid else "")


# what keeps firing, by event kind: (field of the element, what it does, the fix)
_STALL_FIXES = {
    kt.E_PHASE_END: ("process_time", "keeps finishing parts",
                     "its process (or setup) time is 0 or nearly so and parts reach it as fast "
                     "as it finishes them; give it a process time > 0, or its source an arrival "
                     "time > 0"),
    kt.E_FAIL: ("failures", "keeps failing and being repaired",
                "give failures.time_to_failure and time_to_repair values > 0"),
    kt.E_CAL_FAIL: ("failures", "keeps failing and being repaired",
                    "give failures.time_to_failure and time_to_repair values > 0"),
    kt.E_REPAIR_END: ("failures", "keeps failing and being repaired",
                      "give failures.time_to_failure and time_to_repair values > 0"),
    kt.E_PM_DUE: ("maintenance", "keeps falling due for maintenance",
                  "give maintenance.every_hours (in hours) and its duration values > 0"),
    kt.E_PM_END: ("maintenance", "keeps going through maintenance",
                  "give maintenance.duration and every_operations or every_hours values > 0"),
    kt.E_ARRIVAL: ("arrival", "keeps receiving parts",
                   "give it an arrival time (or a schedule_period) > 0"),
    kt.E_CONVEYOR: ("spacing", "keeps moving parts",
                    "give it a spacing > 0 and a speed that takes time to cover it"),
    kt.E_WAKE: ("", "keeps waking", "give the elements around it times > 0"),
    kt.E_WORKER_ARRIVES: ("workers", "keeps calling workers",
                          "give its process, setup and repair times values > 0"),
}


def stalled_error(state: kt.KernelState, low: Lowered | None = None) -> RunawayError:
    """The error for a run the kernel stopped with ``K_STALLED`` (``S_STALL_*``)."""
    e = int(state.si[kt.S_STALL_EL])
    kind = int(state.si[kt.S_STALL_KIND])
    t = float(state.sf[kt.T_NOW])
    limit = int(low.arrays.params[kt.P_STALL_LIMIT]) if low is not None else kt.STALL_BASE
    when = (f"more than {limit:,} events and moves within {kt.STALL_WINDOW:g} s of simulated "
            f"time, at t = {t:.9g} s; no plant comes near that")
    eid = None if e < 0 or low is None else low.element_ids[e]
    if kind == kt.E_SHIFT or e < 0:
        return RunawayError("$.calendar", "the shift calendar keeps switching working time "
                            f"({when}); give it a period and shifts of minutes or more",
                            None, t)
    if kind < 0:
        to = int(state.si[kt.S_STALL_TO])
        return RunawayError(
            f"$.elements[{e}]", f"{_label(low, e)} keeps handing parts to {_label(low, to)} "
            f"with no time passing ({when}): an unlimited source feeding a sink or an "
            "unlimited buffer makes parts without end; put a station with a process time > 0 "
            "between them, give the source an arrival time, or give the buffer a capacity",
            eid, t)
    field, does, fix = _STALL_FIXES.get(kind, ("", "keeps firing", "give it times > 0"))
    if kind == kt.E_ARRIVAL and low is not None and low.arrays.el_i[e, kt.I_ARRIVAL_DIST] < 0:
        field = "schedule_period"
    path = f"$.elements[{e}]" + (f".{field}" if field else "")
    return RunawayError(path, f"{_label(low, e)} {does} with no time passing ({when}); {fix}",
                        eid, t)


def _overfull(state: kt.KernelState, low: Lowered | None, what: str, n: int) -> RunawayError:
    """The error for a line that holds more parts (or queued events) than ``n``."""
    count = state.el_si[:, kt.EI_COUNT]
    e = int(np.argmax(count))
    t = float(state.sf[kt.T_NOW])
    eid = None if low is None else low.element_ids[e]
    return RunawayError(
        f"$.elements[{e}]", f"the line needs more than {n:,} {what} at t = {t:.9g} s, more "
        f"than any plant; {_label(low, e)} holds {int(count[e]):,} parts: parts arrive faster "
        "than the line takes them. Give the source a longer arrival time or when_blocked: "
        '"lose", or the buffer a capacity', eid, t)


def grow(state: kt.KernelState, code: int, low: Lowered | None = None) -> kt.KernelState:
    """Act on a kernel code that is not ``K_DONE`` and return the state to call on with.

    ``K_NEED_*``: double the array the kernel asked for (up to ``MAX_PARTS`` parts and
    ``MAX_HEAP`` queued events). ``K_PAUSE``: the state as it is. ``K_STALLED``, or a pool
    or queue past its maximum, raises ``RunawayError``, naming the element by the ids and
    names of ``low`` (when given; else by index).
    """
    if code == kt.K_PAUSE:
        return state
    if code == kt.K_STALLED:
        raise stalled_error(state, low)
    if code == kt.K_NEED_PARTS:
        n = state.part_i.shape[0]
        if n >= MAX_PARTS:
            raise _overfull(state, low, "parts", MAX_PARTS)
        new_i, new_f = _part_pool(n, start=n)
        new_i[-1, kt.PI_NEXT] = state.si[kt.S_FREE]
        state.si[kt.S_FREE] = n
        state.si[kt.S_NFREE] += n
        return state._replace(part_i=np.concatenate([state.part_i, new_i]),
                              part_f=np.concatenate([state.part_f, new_f]))
    if code == kt.K_NEED_HEAP:
        n = state.heap_t.shape[0]
        if n >= MAX_HEAP:
            raise _overfull(state, low, "queued events", MAX_HEAP)
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
    log_i = np.empty((rows, kt.N_LG), np.int64)
    log_t[:n] = state.log_t
    log_i[:n] = state.log_i
    return state._replace(log_t=log_t, log_i=log_i)
