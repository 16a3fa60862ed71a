"""Fork a what-if from any moment of a recording: start the twin in the recorded state at ``t``.

:func:`fork_from_recording` reads, for every recorded asset mapped to a station, the state at
time ``t`` and builds the kernel state of a run that begins there:

* **busy** — the server holds a part in process. Its elapsed work is the busy time since the
  part started (the later of the asset's last part event and the end of its last starved,
  idle or blocked interval); the work left is drawn from the process-time distribution
  conditioned on the elapsed work, ``X - a | X > a`` (memoryless for the exponential).
* **blocked** — the server holds a finished part, ready since the blocked run began.
* **down** — the server is under repair. The repair ends when the recording says it did if
  the down run ends inside the recording (``recorded_repair_end=True``), else after a time
  drawn from the repair distribution conditioned on the elapsed down time. If the asset was
  busy when it failed, it also holds the interrupted part (preempt-resume).
* **starved**, **idle**, **off**, unknown or no data — the server is empty. ``off``/``idle``
  follow the project's shift calendar, not the recording.
* **setup** and **maintenance** are treated as busy and empty respectively (noted).
* The failure clock of each working server is drawn conditioned on its exposure since the
  last repair (busy time, elapsed time or parts, after the failure basis).

Buffers, conveyors and source queues start **empty**: a recording has no work-in-process
record (``docs/recording-format.md``); stations the recording does not cover start empty
too. Both are listed in the result's notes. Wear starts at 0 and parts are of the first
product.

Each replication then runs to ``horizon_end`` through :func:`twin.runner.run_replication`;
the result holds P10/P50/P90 over replications of the cumulative good output (parts reaching
a sink) and of the energy of the mapped stations, on a time grid from ``t``, beside what the
recording shows after ``t``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np

from kernels import types as kt
from kernels.queue import push
from twin import model as m
from twin.calibration import scipy_of
from twin.lowering import Lowered, lower, new_state
from twin.project import with_scenario
from twin.recording import NO_DATA, Recording, extent, replay_recording
from twin.runner import Replication, run_replication

#: Number of grid intervals of the fan chart.
GRID = 100


class ForkError(ValueError):
    """A fork that cannot be built (message names the field, the value and the fix)."""


@dataclass(frozen=True)
class ServerStart:
    """The recorded situation of one station at the fork time (seconds).

    Attributes
    ----------
    element : str
    state : int
        Recorded state code at ``t``.
    holds : str
        ``"none"``, ``"process"`` (a part in process) or ``"done"`` (a finished part).
    elapsed_work : float
        Work done on the part in process.
    since : float
        Start of the recorded state (blocked: when the part became ready).
    down_elapsed : float
        Time under repair so far (down only).
    repair_end : float or None
        Recorded end of the repair, when the recording shows it.
    exposure : float
        Failure-clock exposure since the last repair (basis units).
    """

    element: str
    state: int
    holds: str
    elapsed_work: float
    since: float
    down_elapsed: float
    repair_end: float | None
    exposure: float


@dataclass
class ForkResult:
    """Fan chart of a fork and what the recording shows.

    Attributes
    ----------
    t, horizon_end : float
    times : numpy.ndarray
        Grid from ``t`` to ``horizon_end``, s since the recording epoch.
    output_q, energy_q : dict of str to numpy.ndarray
        ``"p10"``, ``"p50"``, ``"p90"`` of cumulative good output (parts at sinks since ``t``)
        and energy of the mapped stations since ``t`` (kWh) at each grid time.
    recorded_output, recorded_energy : numpy.ndarray
        The same from the recording (NaN beyond its end).
    outputs, energies : numpy.ndarray
        Per replication at ``horizon_end``.
    starts : list of ServerStart
    replications : list of Replication
        Raw kernel output (with state logs when ``log=True``).
    notes : list of str
    """

    scenario: str
    t: float
    horizon_end: float
    times: np.ndarray
    output_q: dict
    energy_q: dict
    recorded_output: np.ndarray
    recorded_energy: np.ndarray
    outputs: np.ndarray
    energies: np.ndarray
    starts: list[ServerStart]
    replications: list[Replication] = field(repr=False, default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """A JSON-ready summary (grid, quantiles, recorded curves, notes)."""
        def arr(x):
            return [None if not np.isfinite(v) else float(v) for v in np.asarray(x)]
        return json.loads(json.dumps({
            "scenario": self.scenario, "t": self.t, "horizon_end": self.horizon_end,
            "times": arr(self.times),
            "output": {k: arr(v) for k, v in self.output_q.items()},
            "energy_kwh": {k: arr(v) for k, v in self.energy_q.items()},
            "recorded_output": arr(self.recorded_output),
            "recorded_energy_kwh": arr(self.recorded_energy),
            "starts": [vars(s) for s in self.starts], "notes": self.notes}))

    def __str__(self) -> str:
        def last(x):
            v = float(np.asarray(x)[-1])
            return "-" if not np.isfinite(v) else f"{v:.4g}"
        return "\n".join([
            f"Fork of scenario {self.scenario!r} at t={self.t:g} s until {self.horizon_end:g} s "
            f"({len(self.outputs)} replications)",
            f"  output since t    P10 {last(self.output_q['p10'])}  P50 "
            f"{last(self.output_q['p50'])}  P90 {last(self.output_q['p90'])}  recorded "
            f"{last(self.recorded_output)}",
            f"  energy since t    P10 {last(self.energy_q['p10'])}  P50 "
            f"{last(self.energy_q['p50'])}  P90 {last(self.energy_q['p90'])}  recorded "
            f"{last(self.recorded_energy)} kWh",
            *(f"  {s.element}: {kt.STATE_NAMES[s.state] if s.state >= 0 else 'no data'}"
              f" at t" + (f", repair ends at {s.repair_end:g}" if s.repair_end else "")
              for s in self.starts),
            *(f"note: {n}" for n in self.notes)])


def _last_before(times: np.ndarray, t: float) -> float:
    i = np.searchsorted(times, t, side="right") - 1
    return float(times[i]) if i >= 0 else -math.inf


def recorded_starts(recording: Recording, mapping: dict[str, str], t: float,
                    project: m.Project) -> list[ServerStart]:
    """The situation of each mapped station at ``t`` (see the module docstring)."""
    out = []
    replays = replay_recording(recording)
    for a, el in mapping.items():
        r = replays[a]
        tl = r.timeline
        st = tl.state_at(t)
        station = project.element(el)
        basis = station.failures.basis if station.failures is not None else "operating"
        busy = tl.time_in(kt.BUSY)
        rs, re_ = tl.runs(kt.DOWN)
        ended = re_[re_ <= t]
        last_repair = float(ended[-1]) if len(ended) else r.t_first
        if basis == "calendar":
            exposure = t - last_repair
        elif basis == "operations":
            exposure = float(r.produced.at(t) - r.produced.at(last_repair))
        else:
            exposure = float(busy.at(t) - busy.at(last_repair))
        i = np.searchsorted(tl.start, t, side="right") - 1
        since = float(tl.start[i]) if i >= 0 else t
        holds, elapsed, down_el, rep_end = "none", 0.0, 0.0, None
        ref = t
        if st == kt.DOWN:
            k = np.flatnonzero((rs <= t) & (re_ > t))[0]
            since = float(rs[k])
            down_el = t - since
            rep_end = float(re_[k]) if re_[k] < r.t_last else None
            before = tl.state_at(since - 1e-9) if since > tl.start[0] else NO_DATA
            holds = {kt.BUSY: "process", kt.BLOCKED: "done"}.get(int(before), "none")
            ref = since
        elif st in (kt.BUSY, kt.SETUP):
            holds = "process"
        elif st == kt.BLOCKED:
            holds = "done"
        if holds == "process":
            parts = recording.asset(a).parts
            last_part = _last_before(np.sort(parts["time"]), ref)
            idle = np.isin(tl.state, (kt.STARVED, kt.IDLE, kt.BLOCKED)) & (tl.end <= ref)
            last_idle = float(tl.end[idle][-1]) if idle.any() else -math.inf
            begin = max(last_part, last_idle, r.t_first)
            elapsed = float(busy.at(ref) - busy.at(begin))
        out.append(ServerStart(el, int(st), holds, elapsed, since, down_el, rep_end, exposure))
    return out


def _conditional(d, a: float, rng: np.random.Generator) -> float:
    """Draw ``X - a`` given ``X > a`` for a project distribution ``d``."""
    if d.dist == "exponential":
        return float(rng.exponential(d.mean))
    if d.dist == "constant":
        return max(d.params["value"] - a, 0.0)
    f = scipy_of(d)
    s = float(f.sf(a)) if a > 0 else 1.0
    if not s > 1e-12:
        return 0.0  # already beyond any plausible value: it ends now
    x = float(f.isf(s * (1.0 - rng.random())))
    return max(x - a, 0.0)


def _set_calendar(low: Lowered, state, t: float) -> int:
    a = low.arrays
    k = int(np.searchsorted(a.cal_t, t, side="left"))
    working = int(a.cal_on[k - 1]) if k > 0 else int(a.params[kt.P_WORKING0])
    state.si[kt.S_CAL_K] = k
    state.si[kt.S_WORKING] = working
    for srv in range(low.n_servers):
        e = state.srv_i[srv, kt.SI_EL]
        off = int(a.el_i[e, kt.I_CALENDAR] == 1 and not working)
        state.srv_i[srv, kt.SI_OFF] = off
        state.srv_i[srv, kt.SI_STATE] = a.el_i[e, kt.I_OFF_STATE] if off else kt.STARVED
    for e in range(a.el_i.shape[0]):
        n = a.el_i[e, kt.I_SCHED_N]
        if a.el_i[e, kt.I_KIND] != kt.SOURCE or n == 0:
            continue
        rows = a.sched_t[a.el_i[e, kt.I_SCHED0]:a.el_i[e, kt.I_SCHED0] + n]
        period = a.el_f[e, kt.F_SCHED_PERIOD]
        cycle = int(t // period) if period > 0 else 0
        j = int(np.searchsorted(rows, t - cycle * period, side="left"))
        if period > 0 and j >= n:
            j, cycle = 0, cycle + 1
        state.el_si[e, kt.EI_SCHED_K] = j
        state.el_si[e, kt.EI_SCHED_CYCLE] = cycle
    return working


def _new_part(state, t: float) -> int:
    p = int(state.si[kt.S_FREE])
    state.si[kt.S_FREE] = state.part_i[p, kt.PI_NEXT]
    state.si[kt.S_NFREE] -= 1
    state.part_i[p] = (-1, 0, -2)
    state.part_f[p] = (t, t)
    state.si[kt.S_WIP] += 1
    return p


def build_state(low: Lowered, project: m.Project, starts: list[ServerStart], t: float,
                seed: int, replication: int, rng: np.random.Generator,
                recorded_repair_end: bool = True, log_rows: int = 0):
    """A kernel state at time ``t`` holding the recorded situation (module docstring)."""
    from kernels.engine import start

    a = low.arrays
    s = new_state(low, seed, replication, log_rows=log_rows)
    s.sf[kt.T_NOW] = t
    s.sf[kt.T_WIP_SINCE] = t
    s.sf[kt.T_OBS_START] = t
    s.si[kt.S_WARM_DONE] = 1
    s.si[kt.S_SAMPLE_K] = int(np.searchsorted(a.ts_t, t, side="left"))
    s.srv_f[:, kt.SF_SINCE] = t
    s.el_sf[:, kt.EF_CONTENT_SINCE] = t
    _set_calendar(low, s, t)
    plan = {}
    for ss in starts:
        e = low.element_ids.index(ss.element)
        srv = int(a.el_i[e, kt.I_SERVER0])
        st = project.element(ss.element)
        rem = 0.0
        if ss.holds != "none":
            p = _new_part(s, t)
            s.srv_i[srv, kt.SI_PART] = p
            s.srv_i[srv, kt.SI_LAST_PROD] = 0
            s.el_si[e, kt.EI_COUNT] += 1
            if ss.holds == "process":
                rem = _conditional(st.process_time_for(low.products[0]), ss.elapsed_work, rng)
                s.srv_i[srv, kt.SI_PHASE] = kt.P_PROCESS
                s.srv_f[srv, kt.SF_REM] = rem
                s.srv_f[srv, kt.SF_WORK] = rem + ss.elapsed_work
            else:
                s.srv_i[srv, kt.SI_PHASE] = kt.P_DONE
                s.srv_f[srv, kt.SF_DONE_T] = ss.since
                lo, hi = a.succ_ptr[e], a.succ_ptr[e + 1]
                s.srv_i[srv, kt.SI_DEST] = a.succ[lo] if hi - lo == 1 else -1
        if ss.state == kt.DOWN:
            s.srv_i[srv, kt.SI_DOWN] = 1
        s.srv_i[srv, kt.SI_STATE] = _derived(a, s, srv)
        plan[srv] = (ss, st, rem)
    s.el_out[:, kt.O_CONTENT_MAX] = s.el_si[:, kt.EI_COUNT]
    start(a, s)
    for srv, (ss, st, rem) in plan.items():
        e = s.srv_i[srv, kt.SI_EL]
        basis = a.el_i[e, kt.I_FAIL_BASIS]
        if s.srv_i[srv, kt.SI_DOWN]:
            s.srv_i[srv, kt.SI_CTOK] += 1  # a calendar failure clock restarts after repair
            if ss.repair_end is not None and recorded_repair_end:
                left = ss.repair_end - t
            else:
                left = _conditional(st.failures.time_to_repair, ss.down_elapsed, rng)
            push(s.heap_t, s.heap_i, s.si, t + left, kt.E_REPAIR_END, srv, 0)
            continue
        if basis != kt.FB_NONE:
            ttf = _conditional(st.failures.time_to_failure, ss.exposure, rng)
            if basis == kt.FB_CALENDAR:
                s.srv_i[srv, kt.SI_CTOK] += 1
                push(s.heap_t, s.heap_i, s.si, t + ttf, kt.E_CAL_FAIL, srv,
                     s.srv_i[srv, kt.SI_CTOK])
            elif basis == kt.FB_OPERATIONS:
                s.srv_f[srv, kt.SF_TTF] = max(1.0, float(round(ttf)))
            else:
                s.srv_f[srv, kt.SF_TTF] = ttf
        if s.srv_i[srv, kt.SI_PHASE] == kt.P_PROCESS and not s.srv_i[srv, kt.SI_OFF]:
            # kernels.flow.resume, with wear 0 (hazard 1)
            s.srv_f[srv, kt.SF_START] = t
            s.srv_i[srv, kt.SI_TOK] += 1
            tok = s.srv_i[srv, kt.SI_TOK]
            if basis == kt.FB_OPERATING and s.srv_f[srv, kt.SF_TTF] < rem:
                push(s.heap_t, s.heap_i, s.si, t + s.srv_f[srv, kt.SF_TTF], kt.E_FAIL, srv, tok)
            else:
                push(s.heap_t, s.heap_i, s.si, t + rem, kt.E_PHASE_END, srv, tok)
    return s


def _derived(a, s, srv) -> int:
    if s.srv_i[srv, kt.SI_DOWN]:
        return kt.DOWN
    if s.srv_i[srv, kt.SI_OFF]:
        return int(a.el_i[s.srv_i[srv, kt.SI_EL], kt.I_OFF_STATE])
    return {kt.P_DONE: kt.BLOCKED, kt.P_PROCESS: kt.BUSY}.get(
        int(s.srv_i[srv, kt.SI_PHASE]), kt.STARVED)


def _mapping(project, recording, assets):
    replays = replay_recording(recording)
    mapping = dict(assets) if assets is not None else {
        a: r.element for a, r in replays.items() if r.element}
    stations = {s.id: s for s in project.stations()}
    if not mapping:
        raise ForkError(f"{recording.path}: no recorded asset maps to a station of project "
                        f"{project.name!r}; pass assets={{asset: station id}}")
    for a, el in mapping.items():
        if a not in replays:
            raise ForkError(f"{recording.path}: no asset {a!r}; recorded assets: "
                            f"{list(recording.asset_ids)}")
        if el not in stations:
            raise ForkError(f"asset {a!r} maps to {el!r}, which is not a station of project "
                            f"{project.name!r}; stations: {sorted(stations)}")
        if stations[el].servers != 1:
            raise ForkError(f"station {el!r} has {stations[el].servers} servers; forks support "
                            "single-server stations only")
    return mapping, replays


def fork_from_recording(project: m.Project, recording: Recording, t: float, horizon_end: float,
                        replications: int = 20, seed: int = 1, scenario: str | None = None, *,
                        assets: dict[str, str] | None = None, recorded_repair_end: bool = True,
                        log: bool = False, grid: int = GRID) -> ForkResult:
    """Run ``replications`` of a scenario from the recorded state at ``t`` to ``horizon_end``.

    Parameters
    ----------
    project : twin.model.Project
    recording : twin.recording.Recording
    t, horizon_end : float or str
        Fork time and end, s since the recording epoch (or ISO 8601, see
        ``Recording.time_of``); ``t`` must lie inside the recording.
    replications, seed : int
    scenario : str, optional
        Scenario to run from ``t`` (None: the project as it is).
    assets : dict of str to str, optional
        Recorded asset id -> station id; default each asset's ``element`` attribute.
    recorded_repair_end : bool
        Use the recorded end of a repair under way at ``t`` when the recording shows it.
    log : bool
        Keep the kernel's state log of each replication (``result.replications[i].log``).
    grid : int
        Intervals of the fan-chart time grid.

    Returns
    -------
    ForkResult

    Raises
    ------
    ForkError
        For ``t`` outside the recording, ``horizon_end <= t``, no or bad asset mappings.
    """
    t, horizon_end = recording.time_of(t), recording.time_of(horizon_end)
    mapping, replays = _mapping(project, recording, assets)
    t_first, t_last = extent(replays)
    if not t_first <= t < t_last:
        raise ForkError(f"fork time t={t:g} s lies outside the recording [{t_first:g}, "
                        f"{t_last:g}) s; choose a time inside it")
    if not horizon_end > t:
        raise ForkError(f"horizon_end={horizon_end:g} s must be after the fork time t={t:g} s")
    if replications < 1:
        raise ForkError(f"replications={replications} must be >= 1")
    name = scenario or "base"
    variant = with_scenario(project, scenario)
    low = lower(variant, horizon_end, 0.0, (horizon_end - t) / grid, log)
    starts = recorded_starts(recording, mapping, t, variant)
    notes = ["buffers, conveyors and source queues start empty: recordings hold no "
             "work in process"]
    missing = sorted({s.id for s in variant.stations()} - set(mapping.values()))
    if missing:
        notes.append(f"stations without a recorded asset start empty: {missing}")
    for s in starts:
        if s.state in (kt.SETUP, kt.MAINTENANCE, NO_DATA, -2):
            notes.append(f"{s.element}: recorded state {s.state} at t is started as "
                         f"{'busy' if s.holds == 'process' else 'empty'}")
    reps = []
    for r in range(replications):
        rng = np.random.default_rng([seed, r, 0x5EED])
        state = build_state(low, variant, starts, t, seed, r, rng, recorded_repair_end,
                            4096 if log else 0)
        reps.append(run_replication(low, seed, r, state=state))
    ts = low.arrays.ts_t
    keep = ts >= t
    times = ts[keep]
    idx = [low.element_ids.index(el) for el in mapping.values()]
    out = np.array([rep.ts_line[keep, 0] for rep in reps])
    energy = np.array([rep.ts_energy[keep][:, idx].sum(axis=1) for rep in reps])
    sinks = {c.source for c in variant.connections
             if isinstance(variant.element(c.target), m.Sink)}
    rec_out = np.zeros(len(times))
    rec_energy = np.zeros(len(times))
    for a, el in mapping.items():
        rp = replays[a]
        if el in sinks:
            rec_out += rp.parts_at(times) - rp.parts_at(t)
        rec_energy += rp.energy_kwh_at(times) - rp.energy_kwh_at(t)
    beyond = times > t_last
    rec_out[beyond] = np.nan
    rec_energy[beyond] = np.nan
    if not sinks & set(mapping.values()):
        rec_out[:] = np.nan
        notes.append("no recorded station feeds a sink: the recorded output is unknown")

    def q(x):
        return {f"p{p}": np.percentile(x, p, axis=0) for p in (10, 50, 90)}

    return ForkResult(name, t, horizon_end, times, q(out), q(energy), rec_out, rec_energy,
                      out[:, -1], energy[:, -1], starts, reps, notes)
