"""Turn a simulated replication into a recording, so that simulation and shop floor share tools.

A recording made from a simulation has the event-log shape (``docs/recording-format.md``),
one asset per station, mapped to that station's element id:

* **states** — the station's state at time 0 (every station starts starved, or in its
  off-shift state when time 0 is outside working time: the kernel writes no log row for
  that), then one record per row of the kernel's state log (``RunSpec(log=True)``).
* **power** — one sample per state record: ``power_kw[state]`` of the station, plus a last
  sample at the horizon, so that the last state holds until the end of the run and the
  recording spans exactly ``[0, horizon]``.
* **parts** — one record per part that left the station, at the instant it left (the
  successor took it; ``good=1``), and one per part scrapped there (``good=0``), at the
  instant processing ended.

Why parts need more than the state log: a station that hands on a part and starts the next
one in the same instant stays ``busy`` (states are committed once an instant is over, so no
row is written), and content changes are logged for buffers, conveyors and sources only.
The log therefore cannot tell every part. :func:`write_run_as_recording` re-runs the
replication (the kernel is deterministic for a given seed) one event instant at a time and
reads each station's ``O_OUT`` and ``O_SCRAP`` counters after each instant: every increase is
a part event. It then checks that the re-run reproduces the stored replication exactly (state
times, ``parts_out``, scrap), so a wrong seed cannot pass silently.

Stations with more than one server are not supported yet (a recording asset has one state at
a time); :class:`SimRecordingError` says so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from kernels import types as kt
from twin.lowering import Lowered, grow, new_state
from twin.recording import AssetInfo, RecordingWriter

#: Default epoch of recordings written from simulations (time 0 of the run).
DEFAULT_EPOCH = "2024-01-01T00:00:00+00:00"


class SimRecordingError(ValueError):
    """A simulated run cannot be written as a recording (message names the fix)."""


@dataclass(frozen=True)
class StationEvents:
    """What one station did in a simulated replication.

    Attributes
    ----------
    element : str
        Station id (also the recorded asset id).
    state_t : numpy.ndarray of float64
        Times of the state records, s (the first is 0).
    state : numpy.ndarray of int64
        State codes (``kernels.types``) from each time on.
    part_t : numpy.ndarray of float64
        Times parts left the station or were scrapped there, s (one row per part).
    part_good : numpy.ndarray of bool
        False for scrap.
    """

    element: str
    state_t: np.ndarray
    state: np.ndarray
    part_t: np.ndarray
    part_good: np.ndarray


def _stations(low: Lowered) -> list[int]:
    a = low.arrays
    out = []
    for e, kind in enumerate(low.element_kinds):
        if kind != "station":
            continue
        if a.el_i[e, kt.I_SERVERS] != 1:
            raise SimRecordingError(
                f"station {low.element_ids[e]!r} has {a.el_i[e, kt.I_SERVERS]} servers; "
                "recordings from simulations support single-server stations only: split it "
                "into parallel stations of one server each")
        out.append(e)
    return out


def trace_replication(low: Lowered, seed: int, replication: int,
                      check: object | None = None) -> tuple[list[StationEvents], object]:
    """Re-run one replication instant by instant and collect each station's events.

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
        The events of every station and the final kernel state.

    Raises
    ------
    SimRecordingError
        For a run without state log or with a warm-up, multi-server stations, or a re-run
        that does not reproduce ``check`` (wrong seed or replication).
    """
    from kernels.engine import run_until, start

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
    init = {e: int(state.srv_i[a.el_i[e, kt.I_SERVER0], kt.SI_STATE]) for e in stations}
    parts_t: dict[int, list[float]] = {e: [] for e in stations}
    parts_g: dict[int, list[bool]] = {e: [] for e in stations}
    horizon = low.horizon
    idx = np.array(stations, np.int64)
    last_out = np.zeros(len(idx))
    last_scrap = np.zeros(len(idx))
    t_stop = 0.0  # the first call settles the line at time 0 (start() queues no event)
    while True:
        while (code := run_until(a, state, t_stop)) != kt.K_DONE:
            state = grow(state, code)
        out = state.el_out[idx, kt.O_OUT]
        scrap = state.el_out[idx, kt.O_SCRAP]
        for k in np.flatnonzero((out != last_out) | (scrap != last_scrap)):
            e = stations[k]
            n_good, n_bad = int(out[k] - last_out[k]), int(scrap[k] - last_scrap[k])
            parts_t[e] += [t_stop] * (n_good + n_bad)
            parts_g[e] += [True] * n_good + [False] * n_bad
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
        rows = (log_i[:, 0] == e) & (log_i[:, 1] >= 0)
        events.append(StationEvents(
            element=low.element_ids[e],
            state_t=np.concatenate(([0.0], log_t[rows])),
            state=np.concatenate(([init[e]], log_i[rows, 2])).astype(np.int64),
            part_t=np.asarray(parts_t[e], float),
            part_good=np.asarray(parts_g[e], bool)))
    return events, state


def write_events(events: list[StationEvents], low: Lowered, path: str | os.PathLike, *,
                 epoch_utc: datetime | str = DEFAULT_EPOCH, source: str = "",
                 overwrite: bool = False) -> None:
    """Write station events as an event-log recording (see the module docstring)."""
    a = low.arrays
    index = {eid: e for e, eid in enumerate(low.element_ids)}
    infos = [AssetInfo(ev.element, name=ev.element, element=ev.element) for ev in events]
    with RecordingWriter.create(path, shape="event_log", source=source or "twinbench simulation",
                                epoch_utc=epoch_utc, assets=infos,
                                overwrite=overwrite) as w:
        for ev in events:
            power = a.power[index[ev.element]]
            w.append_states(ev.element, ev.state_t, ev.state)
            pt = np.append(ev.state_t, low.horizon)
            pw = np.append(power[ev.state], power[ev.state[-1]])
            w.append_power(ev.element, pt, pw)
            if len(ev.part_t):
                w.append_parts(ev.element, ev.part_t, 1.0, ev.part_good)


def write_run_as_recording(scenario_result, replication: int, path: str | os.PathLike, *,
                           seed: int, epoch_utc: datetime | str = DEFAULT_EPOCH,
                           overwrite: bool = False) -> list[StationEvents]:
    """Write one simulated replication as an event-log recording.

    Parameters
    ----------
    scenario_result : twin.runner.ScenarioResult
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

    Returns
    -------
    list of StationEvents
        What was written, per station.

    Raises
    ------
    SimRecordingError
        See :func:`trace_replication`.
    """
    reps = scenario_result.replications
    if not 0 <= replication < len(reps):
        raise SimRecordingError(
            f"replication {replication} does not exist; the scenario has {len(reps)} "
            f"(0..{len(reps) - 1})")
    low = scenario_result.lowered
    events, _ = trace_replication(low, seed, replication, check=reps[replication])
    write_events(events, low, path, epoch_utc=epoch_utc, overwrite=overwrite,
                 source=f"twinbench simulation of {scenario_result.project.name!r}, scenario "
                        f"{scenario_result.scenario!r}, seed {seed}, replication {replication}")
    return events
