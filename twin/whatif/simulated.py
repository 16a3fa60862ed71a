"""Turn a simulated replication into a recording, so that simulation and shop floor share tools.

A recording made from a simulation has the event-log shape (``docs/recording-format.md``):
one asset per station server, and (``levels=True``, the default) one per buffer, conveyor
and source queue, each mapped to its element:

* **assets** — a single-server station is the asset of its element id. A station with N
  servers gives N assets ``"<station>#0"`` ... ``"<station>#<N-1>"``, each with the
  ``server`` attribute it stands for, as a plant's export gives each machine of a group its
  own controller and state signal.
* **states** — the server's state at time 0 (every station starts starved, or in its
  off-shift state when time 0 is outside working time: the kernel writes no log row for
  that), then one record per row of the kernel's state log for that server.
* **power** — one sample per state record: ``power_kw[state]`` (per server), plus a last
  sample at the horizon, so that the last state holds until the end of the run and the
  recording spans exactly ``[0, horizon]``. A warm-up of a station with restart energy
  draws, on top, its restart's ``restart_kwh`` spread over the mean warm-up, as the run's
  priced series does (``twin.sim.restart_energy``), so replaying the recording gives the
  run's energy, cost, peak and CO2.
* **parts** — one record per part that left the server, at the instant it left (the
  successor took it; ``good=1``), and one per part scrapped there (``good=0``), at the
  instant processing ended.
* **level** (``levels=True``) — the content of each buffer, conveyor and queuing source:
  0 at time 0, then the kernel's content log (the last value of each instant), and a last
  sample at the horizon. Forks start from it (work in process); calibration and validation
  skip these assets (``twin.whatif.calibration.station_assets``).

Why parts need more than the state log: a station that hands on a part and starts the next
one in the same instant stays ``busy`` (states are committed once an instant is over, so no
row is written), and content changes are logged for buffers, conveyors and sources only.
The log therefore cannot tell every part. :func:`write_run_as_recording` re-runs the
replication (the kernel is deterministic for a given seed) one event instant at a time and
reads each station's ``O_OUT`` and ``O_SCRAP`` counters after each instant: every increase is
a part event. A multi-server station's counters are shared by its servers; the part goes to
the server that gave it up in that instant: one whose finished part is gone (it was ``done``
before and no longer holds that part), or one whose operation count rose while it holds no
finished part of that instant. Scrap among simultaneous finishes of one station goes to the
lower server index first (with continuous process times, finishes never coincide). It then
checks that the re-run reproduces the stored replication exactly (state times,
``parts_out``, scrap), so a wrong seed cannot pass silently.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from kernels import types as kt
from kernels.warmup import compiled_kernels
from twin import safeio
from twin.recording import AssetInfo, RecordingError, RecordingWriter
from twin.sim.lowering import Lowered, grow, new_state
from twin.sim.restart_energy import kernel_arrays

#: Default epoch of recordings written from simulations (time 0 of the run).
DEFAULT_EPOCH = "2024-01-01T00:00:00+00:00"


class SimRecordingError(ValueError):
    """A simulated run cannot be written as a recording (message names the fix)."""


@dataclass(frozen=True)
class StationEvents:
    """What one station server did in a simulated replication.

    Attributes
    ----------
    element : str
        Station id.
    state_t : numpy.ndarray of float64
        Times of the state records, s (the first is 0).
    state : numpy.ndarray of int64
        State codes (``kernels.types``) from each time on.
    part_t : numpy.ndarray of float64
        Times parts left the server or were scrapped there, s (one row per part).
    part_good : numpy.ndarray of bool
        False for scrap.
    server : int or None
        The server of a multi-server station (0-based); None for a single-server station.
    """

    element: str
    state_t: np.ndarray
    state: np.ndarray
    part_t: np.ndarray
    part_good: np.ndarray
    server: int | None = None

    @property
    def asset_id(self) -> str:
        """The recorded asset id: the station id, or ``"<station>#<server>"``."""
        return self.element if self.server is None else f"{self.element}#{self.server}"


@dataclass(frozen=True)
class LevelEvents:
    """The content of one buffer, conveyor or source queue over a simulated replication.

    Attributes
    ----------
    element : str
    time : numpy.ndarray of float64
        Sample times, s (the first is 0, the last the horizon).
    level : numpy.ndarray of float64
        Parts inside from each time on.
    """

    element: str
    time: np.ndarray
    level: np.ndarray


def _stations(low: Lowered) -> list[int]:
    return [e for e, kind in enumerate(low.element_kinds) if kind == "station"]


def _queues(low: Lowered) -> list[int]:
    """Elements whose content a level channel records: buffers, conveyors, queuing sources."""
    a = low.arrays
    out = []
    for e in range(a.el_i.shape[0]):
        kind = a.el_i[e, kt.I_KIND]
        queuing_source = (kind == kt.SOURCE and a.el_i[e, kt.I_ON_BLOCK] == 0
                          and (a.el_i[e, kt.I_ARRIVAL_DIST] >= 0 or a.el_i[e, kt.I_SCHED_N] > 0))
        if kind in (kt.BUFFER, kt.CONVEYOR) or queuing_source:
            out.append(e)
    return out


def recorded_assets(low: Lowered, levels: bool = True) -> list[AssetInfo]:
    """The assets a recording of this plant has, named as :func:`write_run_as_recording`
    names them: one per station server (the station id, or ``"<station>#<k>"`` for server k
    of a multi-server station) and, with ``levels``, one level asset per buffer, conveyor and
    queuing source. A live recording declares these up front (``twin.live.recorder``)."""
    a = low.arrays
    out = []
    for e in _stations(low):
        eid, n = low.element_ids[e], int(a.el_i[e, kt.I_SERVERS])
        for k in range(n):
            aid = eid if n == 1 else f"{eid}#{k}"
            out.append(AssetInfo(aid, name=aid, element=eid, server=k if n > 1 else None))
    if levels:
        out += [AssetInfo(low.element_ids[e], name=low.element_ids[e],
                          element=low.element_ids[e], level=True) for e in _queues(low)]
    return out


class _ServerParts:
    """Splits the part counters of multi-server stations among their servers, per instant.

    Compares each server's phase, finished part and operation count (``SI_OPS_PM``, reset
    by maintenance) with the previous instant: see the module docstring.
    """

    def __init__(self, low: Lowered, state, stations: list[int]) -> None:
        a = low.arrays
        self.ranges = {e: range(a.el_i[e, kt.I_SERVER0], a.el_i[e, kt.I_SERVER0]
                                + a.el_i[e, kt.I_SERVERS])
                       for e in stations if a.el_i[e, kt.I_SERVERS] > 1}
        self.t = {srv: [] for r in self.ranges.values() for srv in r}
        self.good = {srv: [] for srv in self.t}
        self.srv = np.array(sorted(self.t), np.int64)
        self._keep(state)

    def _keep(self, state) -> None:
        self.phase = state.srv_i[:, kt.SI_PHASE].copy()
        self.part = state.srv_i[:, kt.SI_PART].copy()
        self.ops = state.srv_i[:, kt.SI_OPS_PM].copy()
        self.done_t = state.srv_f[:, kt.SF_DONE_T].copy()

    def instant(self, state, t: float, e: int, n_good: int, n_bad: int, name: str) -> None:
        """Give the ``n_good`` parts out and ``n_bad`` scrapped of station ``e`` at ``t``."""
        srv = np.array(self.ranges[e])
        phase, ops = state.srv_i[srv, kt.SI_PHASE], state.srv_i[srv, kt.SI_OPS_PM]
        done_t, part = state.srv_f[srv, kt.SF_DONE_T], state.srv_i[srv, kt.SI_PART]
        held = self.phase[srv] == kt.P_DONE
        still = held & (phase == kt.P_DONE) & (done_t == self.done_t[srv]) & (
            part == self.part[srv])
        fresh = (phase == kt.P_DONE) & (done_t == t) & ~still
        finished = np.where(ops >= self.ops[srv], ops - self.ops[srv], ops)
        gone = np.maximum(finished - fresh, 0)  # finished this instant, not held: out or scrap
        bad = np.zeros(len(srv), np.int64)
        left = n_bad
        for k in range(len(srv)):
            bad[k] = min(gone[k], left)
            left -= bad[k]
        good = (held & ~still) + gone - bad
        if left or good.sum() != n_good:
            raise SimRecordingError(
                f"station {name!r} at t={t:g} s: {n_good} good and {n_bad} scrapped parts "
                "cannot be told apart among its servers (zero process times?); write the run "
                "with its parallel servers as separate stations")
        for k, s in enumerate(srv):
            self.t[s] += [t] * int(good[k] + bad[k])
            self.good[s] += [True] * int(good[k]) + [False] * int(bad[k])

    def after(self, state) -> None:
        self._keep(state)


def trace_replication(low: Lowered, seed: int, replication: int,
                      check: object | None = None) -> tuple[list[StationEvents], object]:
    """Re-run one replication instant by instant and collect each station server's events.

    Parameters
    ----------
    low : Lowered
        The lowered scenario; it must be lowered with ``log=True`` and ``warmup=0``.
    seed, replication : int
        The run seed and replication index of the run to reproduce.
    check : Replication, optional
        The stored replication; the re-run must reproduce its state times and counters.

    Returns
    -------
    (list of StationEvents, kernels.types.KernelState)
        The events of every station server (one per server of a multi-server station) and
        the final kernel state (its state log holds the content changes, see
        :func:`trace_levels`).

    Raises
    ------
    SimRecordingError
        For a run without state log or with a warm-up, or a re-run that does not reproduce
        ``check`` (wrong seed or replication).
    """
    start, run_until = compiled_kernels(low.arrays)

    a = low.arrays
    if a.params[kt.P_LOG] <= 0:
        raise SimRecordingError("the run has no state log; run it with RunSpec(log=True)")
    if low.warmup > 0:
        raise SimRecordingError(
            f"the run has a warm-up of {low.warmup:g} s; a recording starts at time 0: run "
            "with warmup=0")
    stations = _stations(low)
    state = new_state(low, seed, replication, log_rows=4096)
    start(a, state)
    init = state.srv_i[:, kt.SI_STATE].copy()
    parts_t: dict[int, list[float]] = {e: [] for e in stations}
    parts_g: dict[int, list[bool]] = {e: [] for e in stations}
    split = _ServerParts(low, state, stations)
    horizon = low.horizon
    idx = np.array(stations, np.int64)
    last_out = np.zeros(len(idx))
    last_scrap = np.zeros(len(idx))
    t_stop = 0.0  # the first call settles the line at time 0 (start() queues no event)
    while True:
        while (code := run_until(a, state, t_stop)) != kt.K_DONE:
            state = grow(state, code, low)
        out = state.el_out[idx, kt.O_OUT]
        scrap = state.el_out[idx, kt.O_SCRAP]
        for k in np.flatnonzero((out != last_out) | (scrap != last_scrap)):
            e = stations[k]
            n_good, n_bad = int(out[k] - last_out[k]), int(scrap[k] - last_scrap[k])
            if e in split.ranges:
                split.instant(state, t_stop, e, n_good, n_bad, low.element_ids[e])
                continue
            parts_t[e] += [t_stop] * (n_good + n_bad)
            parts_g[e] += [True] * n_good + [False] * n_bad
        split.after(state)
        last_out, last_scrap = out.copy(), scrap.copy()
        if t_stop >= horizon:
            break
        t_next = state.heap_t[0] if state.si[kt.S_HEAP_N] > 0 else np.inf
        t_stop = min(t_next, horizon)
    n = state.si[kt.S_LOG_N]
    log_t, log_i = state.log_t[:n], state.log_i[:n]
    if check is not None:
        counts = [kt.O_IN, kt.O_OUT, kt.O_SCRAP, kt.O_FAILURES]
        same = (np.array_equal(check.el_out[:, counts], state.el_out[:, counts])
                and np.allclose(check.el_out, state.el_out, rtol=1e-9, atol=1e-6)
                and np.allclose(check.st_time, state.st_time, rtol=1e-12, atol=1e-6))
        if not same:
            raise SimRecordingError(
                f"re-running replication {replication} with seed {seed} does not reproduce the "
                "stored result; pass the seed of the run (RunSpec.seed)")
    events = []
    for e in stations:
        s0, n_srv = a.el_i[e, kt.I_SERVER0], a.el_i[e, kt.I_SERVERS]
        for k in range(n_srv):
            rows = (log_i[:, kt.LG_EL] == e) & (log_i[:, kt.LG_SERVER] == k)
            pt, pg = ((split.t[s0 + k], split.good[s0 + k]) if n_srv > 1
                      else (parts_t[e], parts_g[e]))
            events.append(StationEvents(
                element=low.element_ids[e],
                state_t=np.concatenate(([0.0], log_t[rows])),
                state=np.concatenate(([init[s0 + k]], log_i[rows, kt.LG_STATE])).astype(np.int64),
                part_t=np.asarray(pt, float), part_good=np.asarray(pg, bool),
                server=k if n_srv > 1 else None))
    return events, state


def trace_levels(low: Lowered, state) -> list[LevelEvents]:
    """The content of every buffer, conveyor and queuing source, from a traced run's log.

    ``state`` is the final state :func:`trace_replication` returned. Content changes within
    one instant keep the instant's last value.
    """
    n = state.si[kt.S_LOG_N]
    log_t, log_i = state.log_t[:n], state.log_i[:n]
    out = []
    for e in _queues(low):
        rows = (log_i[:, kt.LG_EL] == e) & (log_i[:, kt.LG_SERVER] < 0)
        t = np.concatenate(([0.0], log_t[rows], [low.horizon]))
        v = np.concatenate(([0.0], log_i[rows, kt.LG_CONTENT],
                            [state.el_si[e, kt.EI_COUNT]])).astype(float)
        last = np.append(t[1:] != t[:-1], True)  # the last value of each instant
        out.append(LevelEvents(low.element_ids[e], t[last], v[last]))
    return out


def write_events(events: list[StationEvents], low: Lowered, path: str | os.PathLike, *,
                 epoch_utc: datetime | str = DEFAULT_EPOCH, source: str = "",
                 overwrite: bool = False, levels: list[LevelEvents] = ()) -> None:
    """Write station events (and levels) as an event-log recording (module docstring)."""
    infos = [AssetInfo(ev.asset_id, name=ev.asset_id, element=ev.element, server=ev.server)
             for ev in events]
    infos += [AssetInfo(lv.element, name=lv.element, element=lv.element, level=True)
              for lv in levels]
    if os.path.lexists(path) and not overwrite:
        raise RecordingError(f"{path}: exists; choose another file or overwrite it")
    # written whole beside ``path`` and renamed over it (twin.safeio)
    with safeio.replacing_path(path) as tmp, RecordingWriter.create(
            tmp, shape="event_log", source=source or "twinbench simulation",
            epoch_utc=epoch_utc, assets=infos, overwrite=True) as w:
        for ev in events:
            w.append_states(ev.asset_id, ev.state_t, ev.state)
            pt = np.append(ev.state_t, low.horizon)
            power = power_of(low, ev)
            pw = np.append(power, power[-1])
            w.append_power(ev.asset_id, pt, pw)
            if len(ev.part_t):
                w.append_parts(ev.asset_id, ev.part_t, 1.0, ev.part_good)
        for lv in levels:
            w.append_level(lv.element, lv.time, lv.level)


def write_run_as_recording(scenario_result, replication: int, path: str | os.PathLike, *,
                           seed: int, epoch_utc: datetime | str = DEFAULT_EPOCH,
                           overwrite: bool = False, levels: bool = True) -> list[StationEvents]:
    """Write one simulated replication as an event-log recording.

    Parameters
    ----------
    scenario_result : twin.sim.runner.ScenarioResult
        A scenario run with ``RunSpec(log=True, warmup=0)``.
    replication : int
        Which replication to write.
    path : path-like
        The ``.h5`` file to create.
    seed : int
        The run's seed (``RunSpec.seed``): part events are read by re-running the replication
        instant by instant, and the re-run is checked against the stored one.
    epoch_utc : datetime or str
        Wall-clock time of simulation time 0.
    overwrite : bool
        Replace an existing file.
    levels : bool
        Also write the content of every buffer, conveyor and queuing source as a level
        channel (an asset per element), so that a fork from the recording knows the work in
        process. ``twin.whatif.calibration`` and ``twin.whatif.validation`` skip these assets. False
        writes the station servers only (a plant export without WIP data).

    Returns
    -------
    list of StationEvents
        What was written, per station server.

    Raises
    ------
    SimRecordingError
        See :func:`trace_replication`.
    """
    low = scenario_result.lowered
    events, level_events = replication_events(scenario_result, replication, seed=seed,
                                              levels=levels)
    write_events(events, low, path, epoch_utc=epoch_utc, overwrite=overwrite,
                 levels=level_events,
                 source=f"twinbench simulation of {scenario_result.project.name!r}, scenario "
                        f"{scenario_result.scenario!r}, seed {seed}, replication {replication}")
    return events


def replication_events(scenario_result, replication: int, *, seed: int,
                       levels: bool = True) -> tuple[list[StationEvents], list[LevelEvents]]:
    """The events of one simulated replication, as :func:`write_run_as_recording` writes
    them: per station server (states, parts, scrap) and, with ``levels``, per buffer,
    conveyor and queuing source (content). The emulator (``twin.live.emulator``) plays the
    same events in real time.

    ``scenario_result`` must be run with ``RunSpec(log=True, warmup=0)``; the re-run is
    checked against the stored replication (:func:`trace_replication`). Raises
    ``SimRecordingError``.
    """
    reps = scenario_result.replications
    if not 0 <= replication < len(reps):
        raise SimRecordingError(
            f"replication {replication} does not exist; the scenario has {len(reps)} "
            f"(0..{len(reps) - 1})")
    low = scenario_result.lowered
    events, state = trace_replication(low, seed, replication, check=reps[replication])
    return events, (trace_levels(low, state) if levels else [])


def power_of(low: Lowered, ev: StationEvents) -> np.ndarray:
    """The power (kW) a station server draws from each of its state records on; a warm-up
    also draws its restart's energy (``twin.sim.restart_energy``), as in the run's series."""
    return kernel_arrays(low).power[low.element_ids.index(ev.element)][ev.state]
