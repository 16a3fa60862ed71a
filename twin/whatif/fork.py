"""Fork a what-if from any moment of a recording: start the twin in the recorded state at ``t``.

:func:`fork_from_recording` maps recorded assets onto the project (each asset's ``element``
and ``server`` attributes, or ``assets=``), reads each one's situation at ``t``
(:func:`twin.recording.snapshot.snapshot_at`) and builds the kernel state of a run that
begins there.

**Stations**, one recorded asset per server:

* **busy** — the server holds a part in process; the work left is drawn from the
  process-time distribution conditioned on the elapsed work, ``X - a | X > a`` (memoryless
  for the exponential).
* **blocked** — the server holds a finished part, ready since the blocked run began.
* **down** — the server is under repair. The repair ends when the recording says it did if
  the down run ends inside the recording (``recorded_repair_end=True``), else after a time
  drawn from the repair distribution conditioned on the elapsed down time (a station without
  failures in the project has none: :class:`ForkError`). If the asset was busy when it
  failed, it also holds the interrupted part (preempt-resume).
* **starved**, **idle**, **off** — the server is empty; ``off``/``idle`` follow the project's
  shift calendar, not the recording. **setup** and **maintenance** are started as busy and
  empty respectively, **unknown** and *no data* as empty (each noted).
* The failure clock of each working server is drawn conditioned on its exposure since the
  last repair (busy time, elapsed time or parts, after the failure basis).

**Multi-server stations.** Plant data comes from each machine's own controller, so parallel
machines are separate assets: each asset is one server of its station. An asset keeps the
``server`` index it was recorded with when it is mapped to the station it was recorded for;
otherwise it takes the lowest free server, in mapping order. A station with fewer assets
than servers starts its other servers empty and lists itself in ``wip_unknown``; in
particular **a single state channel on an N-server station is server 0 only**: one state
cannot say how many of N servers are busy, so it is not copied onto the others.

**Work in process.** An asset with a ``level`` channel mapped to a buffer, conveyor or a
source's queue puts that many parts (of the first product) there: in a buffer or queue all
ready at ``t``; on a conveyor spread evenly along it, the first at its end (positions are not
recorded). The level in force at ``t`` must be a whole number of parts (rounded, noted),
``>= 0`` and within the capacity, else :class:`ForkError` names the asset and the sample's
time. Buffers, conveyors and queues without a recorded level, stations without a recorded
asset and servers whose state is unknown start **empty and are listed in
``ForkResult.wip_unknown``** (shown by the workbench and ``twinbench fork``). Wear starts at
0 and parts are of the first product, those in an assembly of the product it assembles.
**Order sources** (issue 18 §4): the recorded level fills the source's queue with parts of
no order (they go first, as released before ``t``), and the orders released after ``t`` are
released at their times; orders released before ``t`` do not complete in a fork (a fork
reports output and energy, not orders). **Assemblies** (issue 18): their input places start
empty (no recording holds their levels), and each assembly is listed in ``wip_unknown``
with a note. **Workers** (issue 18; a recording holds none): the technician of a repair
under way at ``t`` stays with it, and so does the operator of a manual processing under way
(repairs first, in mapping order, each the free worker a request would get); every other
worker is free at its pool's home (off, outside the working time of a pool that follows the
calendar). A repair that finds no free technician waits for one and starts afresh when one
comes; a processing without a free operator finishes without one; both are noted. A fork at
``t = 0`` with nothing under way starts as a fresh run does.

Each replication then runs to ``horizon_end`` through :func:`twin.sim.runner.run_replication`,
in chunks: a :class:`twin.tasks.TaskState` gets the progress and stops the fork within a
chunk when cancelled. The result holds P10/P50/P90 over replications of the cumulative good
output (parts reaching a sink) and of the energy of the mapped stations, on a time grid from
``t``, beside what the recording shows after ``t``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from kernels import types as kt
from twin.model import elements as m
from twin.model.loads import stations_seeing_loads
from twin.projectfile.reader import with_scenario
from twin.recording import NO_DATA, UNKNOWN, Recording, extent, replay_recording
from twin.recording.errors import RecordingError
from twin.recording.snapshot import (
    ChannelError,
    asset_targets,
    assign_servers,
    level_parts,
    no_station_mapped,
    snapshot_at,
)
from twin.sim.executors import JobContext, ThreadExecutor
from twin.sim.lowering import Lowered, lower, stream_seeds_of
from twin.sim.runner import CHUNKS, Replication, run_replication
from twin.tasks import TaskState
from twin.whatif.forkstate import ForkError, StartPlan, build_state  # noqa: F401 (this module's API)

#: Number of grid intervals of the fan chart.
GRID = 100
#: Most replications and grid intervals a fork accepts: a fork is an interactive what-if
#: (20 replications by default); more is a typing slip that would run for hours.
MAX_REPLICATIONS = 10_000
MAX_GRID = 100_000
#: Seeds are int64 inside the kernel.
MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class ServerStart:
    """The recorded situation of one station server at the fork time (seconds).

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
    server : int
        Which server of the station (0-based).
    asset : str
        The recorded asset it comes from.
    """

    element: str
    state: int
    holds: str
    elapsed_work: float
    since: float
    down_elapsed: float
    repair_end: float | None
    exposure: float
    server: int = 0
    asset: str = ""


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
    wip : dict of str to int
        Parts placed at ``t`` in buffers, conveyors and source queues from recorded levels.
    wip_unknown : list of str
        Elements whose content at ``t`` is unknown and that started empty (or, for a
        multi-server station, with its unrecorded servers empty).
    output_paths, energy_paths : numpy.ndarray
        ``(replications, len(times))``: each replication's cumulative good output and energy
        of the mapped stations (kWh) since ``t`` at each grid time (what the quantiles
        summarise; the rolling forecast of ``twin.shadow.forecast`` reads them).
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
    wip: dict[str, int] = field(default_factory=dict)
    wip_unknown: list[str] = field(default_factory=list)
    output_paths: np.ndarray | None = field(repr=False, default=None)
    energy_paths: np.ndarray | None = field(repr=False, default=None)

    @property
    def wip_warning(self) -> str:
        """One line saying where the work in process was unknown ("" if nowhere)."""
        if not self.wip_unknown:
            return ""
        return ("work in process unknown at the fork time, started empty: "
                + ", ".join(self.wip_unknown))

    def to_dict(self) -> dict:
        """A JSON-ready summary (grid, quantiles, recorded curves, WIP, notes)."""
        def arr(x):
            return [None if not np.isfinite(v) else float(v) for v in np.asarray(x)]
        return json.loads(json.dumps({
            "scenario": self.scenario, "t": self.t, "horizon_end": self.horizon_end,
            "times": arr(self.times),
            "output": {k: arr(v) for k, v in self.output_q.items()},
            "energy_kwh": {k: arr(v) for k, v in self.energy_q.items()},
            "recorded_output": arr(self.recorded_output),
            "recorded_energy_kwh": arr(self.recorded_energy),
            "starts": [vars(s) for s in self.starts], "wip": self.wip,
            "wip_unknown": self.wip_unknown, "notes": self.notes}))

    def __str__(self) -> str:
        def last(x):
            v = float(np.asarray(x)[-1])
            return "-" if not np.isfinite(v) else f"{v:.4g}"

        multi = {s.element for s in self.starts if s.server > 0}
        return "\n".join([
            f"Fork of scenario {self.scenario!r} at t={self.t:g} s until {self.horizon_end:g} s "
            f"({len(self.outputs)} replications)",
            f"  output since t    P10 {last(self.output_q['p10'])}  P50 "
            f"{last(self.output_q['p50'])}  P90 {last(self.output_q['p90'])}  recorded "
            f"{last(self.recorded_output)}",
            f"  energy since t    P10 {last(self.energy_q['p10'])}  P50 "
            f"{last(self.energy_q['p50'])}  P90 {last(self.energy_q['p90'])}  recorded "
            f"{last(self.recorded_energy)} kWh",
            *(f"  {s.element}" + (f" server {s.server}" if s.element in multi else "")
              + f": {kt.STATE_NAMES[s.state] if s.state >= 0 else 'no data'} at t"
              + (f", repair ends at {s.repair_end:g}" if s.repair_end else "")
              for s in self.starts),
            *(["  work in process at t: "
               + ", ".join(f"{el} {n}" for el, n in self.wip.items())] if self.wip else []),
            *([f"warning: {self.wip_warning}"] if self.wip_unknown else []),
            *(f"note: {n}" for n in self.notes)])


def recorded_starts(recording: Recording, mapping: dict, t: float, project: m.Project,
                    replays: dict | None = None) -> list[ServerStart]:
    """The situation of each mapped station server at ``t`` (see the module docstring).

    ``mapping`` maps a recorded asset to a station id or to ``(station id, server)``.
    """
    replays = replay_recording(recording) if replays is None else replays
    out = []
    for a, target in mapping.items():
        el, k = target if isinstance(target, tuple) else (target, 0)
        station = project.element(el)
        basis = station.failures.basis if station.failures is not None else "operating"
        snap = snapshot_at(recording, replays[a], t, basis)
        out.append(ServerStart(el, snap.state, snap.holds, snap.elapsed_work, snap.since,
                               snap.down_elapsed, snap.repair_end, snap.exposure, k, a))
    return out


def _refuse_loads(project: m.Project) -> None:
    """A recording says how many parts a buffer or conveyor holds, not which of them travel
    together as one load (issue 18 §2), so a fork cannot place loads."""
    seen = stations_seeing_loads(project)
    if seen:
        raise ForkError(f"project {project.name!r} carries loads as one unit (stations "
                        f"{seen}): a recording does not say which of its parts travel "
                        "together, so a fork cannot place them; fork a copy of the project "
                        "whose batch stations release their loads by parts, without "
                        "'unbatch' stations")


def _holds_fifo(el: m.Element) -> bool:
    """Whether an element keeps parts in a queue that a recorded level can fill."""
    if isinstance(el, m.Buffer | m.Conveyor):
        return True
    return (isinstance(el, m.Source) and el.when_blocked == "queue"
            and (el.arrival is not None or bool(el.schedule) or el.orders is not None))


def can_map_asset(el: m.Element, has_level: bool) -> bool:
    """Whether a recorded asset may map to ``el``: a machine asset (states, no level) only
    to a station; an asset recording a level also to an element whose queue the level fills.
    The rule ``_channels`` applies at a fork, for the mapping's choices to offer up front.

    Parameters
    ----------
    el : twin.model.elements.Element
        The project's element.
    has_level : bool
        Whether the asset records a level (``AssetReplay.has_level``).
    """
    return isinstance(el, m.Station) or (has_level and _holds_fifo(el))


def _channels(project: m.Project, recording: Recording, replays: dict, assets):
    """Split the mapping into server channels ``{asset: (station, server)}`` and level
    channels ``{asset: element}``, with notes on partly recorded stations."""
    try:
        pairs = asset_targets(recording, replays, assets)
    except ChannelError as e:
        raise ForkError(str(e)) from None
    if not pairs:
        raise ForkError(no_station_mapped(recording, sorted(s.id for s in project.stations()),
                                          project.name))
    stations = {s.id: s for s in project.stations()}
    servers: dict[str, tuple[str, int | None]] = {}
    levels: dict[str, str] = {}
    silent: list[str] = []
    for a, (el, k) in pairs.items():
        if el in stations:
            servers[a] = (el, k)
            continue
        fifo = el in project and _holds_fifo(project.element(el))
        if fifo and replays[a].has_level:
            if el in levels.values():
                other = next(x for x, y in levels.items() if y == el)
                raise ForkError(f"assets {other!r} and {a!r} both give the level of {el!r}; "
                                "map one of them elsewhere")
            levels[a] = el
            continue
        if fifo and assets is None:
            # the recording's own mapping (a live recording declares every buffer of the
            # project): a buffer that sent no level yet is one whose content is unknown
            silent.append(f"asset {a!r} of {el!r} records no level (yet): {el} starts empty")
            continue
        extra = " and the asset records no level to give its content" if fifo else ""
        raise ForkError(f"asset {a!r} maps to {el!r}, which is not a station of project "
                        f"{project.name!r}{extra}; stations: {sorted(stations)}")
    try:
        assigned, notes = assign_servers(servers, {el: st.servers for el, st in stations.items()})
    except ChannelError as e:
        raise ForkError(str(e)) from None
    return assigned, levels, notes + silent


def _wip(project: m.Project, low: Lowered, recording: Recording, replays: dict,
         levels: dict[str, str], t: float) -> tuple[dict[str, int], list[str], list[str]]:
    """Parts per FIFO element from the recorded levels at ``t``; the FIFO elements left
    without one (their content is unknown)."""
    wip, notes = {}, []
    for a, el in levels.items():
        cap = int(low.arrays.el_i[low.element_ids.index(el), kt.I_CAPACITY])
        try:
            n, note = level_parts(recording, replays[a], el, t, cap)
        except ChannelError as e:
            raise ForkError(str(e)) from None
        notes += [note] if note else []
        if n is not None:
            wip[el] = n
    unknown = [el.id for el in project.elements if _holds_fifo(el) and el.id not in wip]
    return wip, notes, unknown


@dataclass(frozen=True)
class _ForkRun:
    """What every replication of a fork reads: the start plan, each replication's streams
    and draws (made for all at once), and what to keep of a replication."""

    plan: StartPlan
    seed: int
    streams: np.ndarray
    drawn: np.ndarray
    chunks: int
    keep_t: np.ndarray  # the grid times at or after t
    idx: list  # the recorded stations, whose energy counts
    raw: bool  # keep the kernel's output of each replication


@dataclass(frozen=True)
class _ForkJob:
    run: _ForkRun
    replication: int


def _fork_replication(job: _ForkJob, ctx: JobContext):
    """One replication: its cumulative good output and energy of the recorded stations on
    the grid, and its raw output when kept."""
    ctx.check()
    run, r = job.run, job.replication
    state = run.plan.state_of(run.streams[r], run.drawn[r])
    rep = run_replication(run.plan.low, run.seed, r, ctx, ctx.progress, state=state,
                          chunks=run.chunks)
    return (rep.good_parts()[run.keep_t], rep.ts_energy[run.keep_t][:, run.idx].sum(axis=1),
            rep if run.raw else None)


def _run(low, variant, starts, wip, t, seed, replications, recorded_repair_end, log, task,
         workers, chunks, keep_t, idx, raw) -> list[tuple]:
    plan = StartPlan(low, variant, starts, t, recorded_repair_end, 4096 if log else 0, wip)
    reps = range(replications)
    run = _ForkRun(plan, seed, stream_seeds_of(low.element_ids, seed, reps),
                   plan.draws(seed, reps), chunks, keep_t, idx, raw)
    done = ThreadExecutor(workers).map(_fork_replication, [_ForkJob(run, r) for r in reps],
                                       task)
    return done, [_no_worker_note(low, srv, what) for srv, what in plan.idle_tasks]


def _no_worker_note(low: Lowered, srv: int, task: str) -> str:
    """What the fork did with a task under way at ``t`` that no free worker could hold."""
    el_i = low.arrays.el_i
    e = next(e for e in range(el_i.shape[0])
             if el_i[e, kt.I_SERVER0] <= srv < el_i[e, kt.I_SERVER0] + el_i[e, kt.I_SERVERS])
    where = f"{low.element_ids[e]} server {srv - int(el_i[e, kt.I_SERVER0])}"
    if task == "repair":
        return (f"{where}: down at t with no technician free (more repairs under way than "
                "free workers of its pools): it waits for one, and its repair starts afresh")
    return (f"{where}: processing at t with no operator free: it finishes without one")


def _check_counts(replications: object, seed: object, grid: object) -> None:
    """Refuse counts a fork cannot run: not integers, or outside their ranges."""
    for name, value, lo, hi in (("replications", replications, 1, MAX_REPLICATIONS),
                                ("seed", seed, 0, MAX_SEED), ("grid", grid, 1, MAX_GRID)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or not (
                lo <= value <= hi):
            shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
            raise ForkError(f"{name}={shown} must be an integer from {lo} to {hi}")


def _clock(recording: Recording, t: float) -> str:
    """``t`` (s since the recording's epoch) as the plant's clock reads it, the form a user
    types (``--at 2024-01-06T06:00``), with the seconds beside it."""
    try:
        when = recording.datetime_of(t).replace(tzinfo=None).isoformat(sep=" ")
    except RecordingError:
        return f"t={t:g} s"
    return f"{when} (t={t:g} s)"


def fork_from_recording(project: m.Project, recording: Recording, t: float, horizon_end: float,
                        replications: int = 20, seed: int = 1, scenario: str | None = None, *,
                        assets: dict | None = None, recorded_repair_end: bool = True,
                        log: bool = False, grid: int = GRID, task: TaskState | None = None,
                        workers: int | None = 1,
                        variant: m.Project | None = None,
                        replays: dict | None = None, chunks: int = CHUNKS,
                        keep_replications: bool = True) -> ForkResult:
    """Run ``replications`` of a scenario from the recorded state at ``t`` to ``horizon_end``.

    Parameters
    ----------
    project : twin.model.elements.Project
    recording : twin.recording.Recording
    t, horizon_end : float or str
        Fork time and end, s since the recording epoch (or ISO 8601, see
        ``Recording.time_of``); ``t`` must lie inside the recording.
    replications, seed : int
    scenario : str, optional
        Scenario to run from ``t`` (None: the project as it is).
    assets : dict, optional
        Recorded asset id -> station id, ``(station id, server)`` or the id of a buffer,
        conveyor or queuing source whose level the asset records; default each asset's
        ``element`` (and ``server``) attribute.
    recorded_repair_end : bool
        Use the recorded end of a repair under way at ``t`` when the recording shows it.
    log : bool
        Keep the kernel's state log of each replication (``result.replications[i].log``).
    grid : int
        Intervals of the fan-chart time grid.
    task : twin.tasks.TaskState, optional
        Receives the progress (0-100); a cancel request stops the fork within one chunk
        of one replication (``twin.sim.runner.CHUNKS`` per replication) with ``Cancelled``.
    workers : int or None
        Threads running replications (None: one per core). The result does not depend on it.
    variant : twin.model.elements.Project, optional
        ``scenario`` applied already (``twin.projectfile.reader.scenario_variants``), as the
        workbench builds it on its GUI thread; by default it is built here.
    replays : dict, optional
        ``twin.recording.replay_recording(recording)``, when the caller has read it already.
    chunks : int
        Kernel calls per replication (progress after each, ``run_replication``).
    keep_replications : bool
        Keep each replication's kernel output in ``result.replications`` (False: only the
        paths on the grid, what a forecast reads).

    Returns
    -------
    ForkResult

    Raises
    ------
    ForkError
        For ``t`` outside the recording, ``horizon_end <= t``, no or bad asset mappings, a
        recorded level that is negative or above the capacity, ``replications``, ``seed``
        or ``grid`` out of range (:data:`MAX_REPLICATIONS`, :data:`MAX_SEED`,
        :data:`MAX_GRID`).
    twin.recording.RecordingError
        For ``t`` or ``horizon_end`` not a time or outside the supported range.
    twin.tasks.Cancelled
        When ``task`` asked to stop.
    """
    _check_counts(replications, seed, grid)
    t, horizon_end = recording.time_of(t), recording.time_of(horizon_end)
    replays = replay_recording(recording) if replays is None else replays
    servers, levels, notes = _channels(project, recording, replays, assets)
    t_first, t_last = extent(replays)
    if not t_first <= t < t_last:
        raise ForkError(f"the fork time {_clock(recording, t)} lies outside the recording "
                        f"({_clock(recording, t_first)} to {_clock(recording, t_last)}); "
                        "choose a time inside it")
    if not horizon_end > t:
        raise ForkError(f"the end {_clock(recording, horizon_end)} must be after the fork time "
                        f"{_clock(recording, t)}; choose a later end")
    name = scenario or "base"
    if variant is None:
        variant = with_scenario(project, scenario)
    _refuse_loads(variant)
    low = lower(variant, horizon_end, 0.0, (horizon_end - t) / grid, log)
    starts = recorded_starts(recording, servers, t, variant, replays)
    wip, wip_notes, unknown = _wip(variant, low, recording, replays, levels, t)
    notes += wip_notes
    mapped = {el for el, _ in servers.values()}
    missing = [s.id for s in variant.stations() if s.id not in mapped]
    if missing:
        notes.append(f"stations without a recorded asset start empty: {missing}")
    counts = [el for el, _ in servers.values()]
    partial = sorted({el for el in counts if counts.count(el) < variant.element(el).servers})
    if partial:
        notes.append(f"stations {partial}: the recorded energy and output cover only their "
                     "recorded servers, the fork's the whole station")
    blind = set(partial) | set(missing)
    for s in starts:
        # waiting for a worker: for a repair or an operator? A recording does not say
        if s.state in (kt.SETUP, kt.MAINTENANCE, kt.WAITING_FOR_WORKER, NO_DATA, UNKNOWN):
            what = {NO_DATA: "no data", UNKNOWN: "unknown"}.get(s.state) or kt.STATE_NAMES[s.state]
            notes.append(f"{s.element} (asset {s.asset}): recorded state {what} at t is "
                         f"started as {'busy' if s.holds == 'process' else 'empty'}")
        if s.state in (NO_DATA, UNKNOWN):
            blind.add(s.element)
    unknown += [s.id for s in variant.stations() if s.id in blind]
    assemblies = [s.id for s in variant.stations() if s.assembly is not None]
    if assemblies:  # a recording has no level for an assembly's input places (issue 18)
        notes.append(f"assemblies {assemblies}: their input places start empty (a recording "
                     "holds no level for them)")
        unknown += [a for a in assemblies if a not in unknown]
    ts = low.arrays.ts_t
    keep = ts >= t
    times = ts[keep]
    idx = [low.element_ids.index(el) for el in sorted(mapped)]
    done, worker_notes = _run(low, variant, starts, wip, t, seed, replications,
                              recorded_repair_end, log, task, workers, chunks, keep, idx,
                              keep_replications)
    notes += worker_notes
    out = np.array([d[0] for d in done])
    energy = np.array([d[1] for d in done])
    reps = [d[2] for d in done] if keep_replications else []
    rec_out, rec_energy = recorded_since(variant, replays, servers, t, times)
    if not sink_feeders(variant)[0] & mapped:
        notes.append("no recorded station feeds a sink: the recorded output is unknown")

    def q(x):
        return {f"p{p}": np.percentile(x, p, axis=0) for p in (10, 50, 90)}

    return ForkResult(name, t, horizon_end, times, q(out), q(energy), rec_out, rec_energy,
                      out[:, -1], energy[:, -1], starts, reps, notes, wip, unknown, out, energy)


def recorded_since(project: m.Project, replays: dict, servers: dict, t0: float,
                   times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What the recording shows between ``t0`` and each of ``times``: good parts that reached
    a sink, and energy of the recorded stations (kWh); NaN beyond the end of the recording.

    Parts reaching a sink are the parts out of the stations that feed it (directly or through
    buffers and conveyors only) less what those buffers and conveyors gained meanwhile, where
    a level asset records it (else the parts on them count when they leave the station). NaN
    everywhere when no recorded station feeds a sink. ``servers`` is the asset ->
    ``(station, server)`` mapping of the fork (:func:`station_channels`).
    """
    times = np.asarray(times, float)
    feeders, between = sink_feeders(project)
    out = np.zeros(len(times))
    energy = np.zeros(len(times))
    for a, (el, _) in servers.items():
        rp = replays[a]
        if el in feeders:
            out += rp.parts_at(times) - rp.parts_at(t0)
        energy += rp.energy_kwh_at(times) - rp.energy_kwh_at(t0)
    for rp in replays.values():
        if rp.has_level and rp.element in between:
            out -= np.nan_to_num(rp.level_at(times) - rp.level_at(t0))
    beyond = times > extent(replays)[1]
    out[beyond] = np.nan
    energy[beyond] = np.nan
    if not feeders & {el for el, _ in servers.values()}:
        out[:] = np.nan
    return out, energy


def sink_feeders(project: m.Project) -> tuple[set[str], set[str]]:
    """The stations whose parts go to a sink through buffers and conveyors only, and those
    buffers and conveyors."""
    preds: dict[str, list[str]] = {}
    for c in project.connections:
        preds.setdefault(c.target, []).append(c.source)
    stations, between = set(), set()
    todo = [el.id for el in project.elements if isinstance(el, m.Sink)]
    seen = set(todo)
    while todo:
        for p in preds.get(todo.pop(), []):
            el = project.element(p)
            if isinstance(el, m.Station):
                stations.add(p)
            elif isinstance(el, m.Buffer | m.Conveyor) and p not in seen:
                between.add(p)
                seen.add(p)
                todo.append(p)
    return stations, between


def station_channels(project: m.Project, recording: Recording, replays: dict,
                     assets: dict | None = None) -> dict:
    """The recorded assets that are station servers: ``{asset: (station, server)}``
    (``assets`` as :func:`fork_from_recording` takes it). Raises ``ForkError``."""
    return _channels(project, recording, replays, assets)[0]
