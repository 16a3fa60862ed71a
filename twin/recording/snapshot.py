"""What a recording says about one asset at a moment ``t``: the situation a fork starts from.

:func:`snapshot_at` reads an asset's replay (:mod:`twin.recording.replay`) at ``t``:

* **state** — the recorded state at ``t`` (``NO_DATA`` where nothing is known).
* **holds** — ``"process"`` for busy or setup (a part in process), ``"done"`` for blocked (a
  finished part), ``"none"`` otherwise. Down keeps what the asset held when it failed: a part
  in process if it was busy (preempt-resume), a finished part if it was blocked.
* **elapsed work** on the part in process — the busy time since the part started: the later
  of the asset's last part event and the end of its last starved, idle or blocked interval.
  A recording with one asset per server (``AssetData.server``) makes this exact for every
  server of a multi-server station; one asset for several servers mixes them.
* **down** — its start, the time under repair so far, and the recorded end of the repair
  when the down run ends inside the recording.
* **exposure** of the failure clock since the last repair end, on the station's failure
  basis: busy time (``"operating"``), elapsed time (``"calendar"``) or parts
  (``"operations"``).
* **level** — the recorded level (parts inside a buffer, conveyor or queue) at ``t`` and the
  time of the sample that set it; NaN when the asset records none before ``t``.

:func:`assign_servers` gives each state channel its server of a multi-server station, and
:func:`level_parts` turns a recorded level into whole parts, checked against a capacity.
No project or kernel knowledge here: :mod:`twin.whatif.fork` turns snapshots into a kernel state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kernels.types import (
    BLOCKED,
    BUSY,
    DOWN,
    FAILURE_BASIS_NAMES,
    FB_OPERATING,
    IDLE,
    SETUP,
    STARVED,
)
from twin.recording.errors import RecordingError
from twin.recording.format import NO_DATA, Recording
from twin.recording.replay import AssetReplay

#: Failure bases a snapshot can measure exposure on (``twin.model.elements.FAILURE_BASES``).
BASES = FAILURE_BASIS_NAMES[FB_OPERATING:]


@dataclass(frozen=True)
class AssetSnapshot:
    """The recorded situation of one asset at time ``t`` (s since the recording epoch).

    Attributes
    ----------
    asset_id : str
    state : int
        Recorded state code at ``t`` (``kernels.types``, ``UNKNOWN`` or ``NO_DATA``).
    holds : str
        ``"none"``, ``"process"`` (a part in process) or ``"done"`` (a finished part).
    elapsed_work : float
        Work done on the part in process, s.
    since : float
        Start of the recorded state (blocked: when the part became ready; down: when the
        asset failed).
    down_elapsed : float
        Time under repair so far, s (down only).
    repair_end : float or None
        Recorded end of the repair, when the recording shows it.
    exposure : float
        Failure-clock exposure since the last repair end (s, or parts for ``"operations"``).
    level : float
        Recorded level at ``t`` (NaN: unknown).
    level_time : float
        Time of the level sample in force at ``t`` (NaN: none).
    """

    asset_id: str
    state: int
    holds: str
    elapsed_work: float
    since: float
    down_elapsed: float
    repair_end: float | None
    exposure: float
    level: float = math.nan
    level_time: float = math.nan


def _last_before(times: np.ndarray, t: float) -> float:
    i = np.searchsorted(times, t, side="right") - 1
    return float(times[i]) if i >= 0 else -math.inf


def snapshot_at(recording: Recording, replay: AssetReplay, t: float,
                basis: str = "operating") -> AssetSnapshot:
    """The situation of one asset at ``t`` (see the module docstring).

    Parameters
    ----------
    recording : Recording
        The recording ``replay`` comes from (its part events are read again, sorted).
    replay : AssetReplay
    t : float
        Seconds since the recording epoch.
    basis : {"operating", "calendar", "operations"}
        Failure basis of the station the asset maps to, for ``exposure``.
    """
    if basis not in BASES:
        raise ValueError(f"basis {basis!r} is not one of {BASES}")
    tl = replay.timeline
    st = int(tl.state_at(t))
    busy = tl.time_in(BUSY)
    rs, re_ = tl.runs(DOWN)
    ended = re_[re_ <= t]
    last_repair = float(ended[-1]) if len(ended) else replay.t_first
    if basis == "calendar":
        exposure = t - last_repair
    elif basis == "operations":
        exposure = float(replay.produced.at(t) - replay.produced.at(last_repair))
    else:
        exposure = float(busy.at(t) - busy.at(last_repair))
    i = np.searchsorted(tl.start, t, side="right") - 1
    since = float(tl.start[i]) if i >= 0 else t
    holds, elapsed, down_el, rep_end = "none", 0.0, 0.0, None
    ref = t
    data = recording.asset(replay.asset_id)
    if st == DOWN:
        k = np.flatnonzero((rs <= t) & (re_ > t))[0]
        since = float(rs[k])
        down_el = t - since
        # the repair ended inside the data if the down run stops before the asset's last
        # record, or if a later state record says so (an event log's last record may be
        # the state the asset was repaired into: zero length, not in the timeline)
        after = data.states["state"][data.states["time"] >= re_[k]]
        if re_[k] < replay.t_last or np.any(after != DOWN):
            rep_end = float(re_[k])
        before = tl.state_at(since - 1e-9) if since > tl.start[0] else NO_DATA
        holds = {BUSY: "process", BLOCKED: "done"}.get(int(before), "none")
        ref = since
    elif st in (BUSY, SETUP):
        holds = "process"
    elif st == BLOCKED:
        holds = "done"
    if holds == "process":
        parts = data.parts
        last_part = _last_before(np.sort(parts["time"]), ref)
        idle = np.isin(tl.state, (STARVED, IDLE, BLOCKED)) & (tl.end <= ref)
        last_idle = float(tl.end[idle][-1]) if idle.any() else -math.inf
        begin = max(last_part, last_idle, replay.t_first)
        elapsed = float(busy.at(ref) - busy.at(begin))
    level, level_time = replay.level.sample_at(t)
    return AssetSnapshot(replay.asset_id, st, holds, elapsed, since, down_el, rep_end,
                         exposure, level, level_time)


class ChannelError(RecordingError):
    """Recorded channels that contradict the plant: a server index beyond the station's
    servers, two assets for one server, a level that is negative or above the capacity."""


def asset_targets(recording: Recording, replays: dict, assets: dict | None
                  ) -> dict[str, tuple[str, int | None]]:
    """Where each recorded asset goes: ``{asset: (element id, server or None)}``.

    Without ``assets``, the mapping stored in the recording (each asset's ``element`` and
    ``server``); else ``assets`` maps an asset to an element id or ``(element id, server)``.
    A recorded server index holds only on the element the asset was recorded for. Raises
    ``ChannelError`` for an asset the recording does not have.
    """
    if assets is None:
        return {a: (r.element, r.server) for a, r in replays.items() if r.element}
    pairs = {}
    for a, target in assets.items():
        if a not in replays:
            raise ChannelError(f"{recording.path}: no asset {a!r} to map to {target!r}; "
                               f"recorded assets: {list(recording.asset_ids)}")
        el, k = target if isinstance(target, tuple) else (target, None)
        pairs[a] = (el, replays[a].server if k is None and replays[a].element == el else k)
    return pairs


def no_station_mapped(recording: Recording, stations: list[str], project_name: str) -> str:
    """The message for a recording none of whose assets maps to a station of the project:
    what was recorded, what the project has, and the two ways to map one onto the other."""
    return (f"{recording.path}: no recorded asset maps to a station of project "
            f"{project_name!r} (recorded assets: {list(recording.asset_ids)}; stations: "
            f"{stations}); map them with --asset ASSET=STATION on the command line, the "
            "Replay panel's asset -> element table in the workbench, or 'element' in the "
            "mapping file's assets")


def assign_servers(channels: dict[str, tuple[str, int | None]],
                   servers_of: dict[str, int]) -> tuple[dict[str, tuple[str, int]], list[str]]:
    """Give every state channel its server: ``{asset: (station, server)}``.

    Parameters
    ----------
    channels : dict
        Asset -> ``(station, server index or None)``, in mapping order.
    servers_of : dict
        Station -> number of parallel servers.

    Returns
    -------
    (dict, list of str)
        Asset -> ``(station, server)`` in mapping order, and a note for each station with
        fewer channels than servers. An asset keeps its index; the others take the lowest
        free server, in mapping order (so one channel on an N-server station is server 0).

    Raises
    ------
    ChannelError
        For an index outside ``0..N-1``, two assets on one server, more assets than servers.
    """
    by_station: dict[str, list] = {}
    for a, (el, k) in channels.items():
        by_station.setdefault(el, []).append((a, k))
    out, notes = {}, []
    for el, items in by_station.items():
        n = servers_of[el]
        taken: dict[int, str] = {}
        for a, k in items:
            if k is None:
                continue
            if not 0 <= k < n:
                raise ChannelError(
                    f"asset {a!r} is server {k} of station {el!r}, which has {n} server(s) "
                    f"(0..{n - 1}); fix the asset's server index or map it to another station")
            if k in taken:
                raise ChannelError(f"assets {taken[k]!r} and {a!r} are both server {k} of "
                                   f"station {el!r}; map each server once")
            taken[k] = a
        rest = [a for a, k in items if k is None]
        free = [k for k in range(n) if k not in taken]
        if len(rest) > len(free):
            raise ChannelError(f"station {el!r} has {n} server(s) but {len(items)} assets map "
                               f"to it ({[a for a, _ in items]}); map at most one asset per "
                               "server")
        taken.update(zip(free, rest, strict=False))
        out.update({a: (el, k) for k, a in taken.items()})
        if len(taken) < n:
            which = ", ".join(f"{a!r} as server {k}" for k, a in sorted(taken.items()))
            empty = [k for k in range(n) if k not in taken]
            notes.append(f"station {el!r} has {n} servers but only {len(taken)} recorded "
                         f"state channel(s) ({which}): servers {empty} start empty, their "
                         "state unknown")
    return {a: out[a] for a in channels}, notes


def level_parts(recording: Recording, replay: AssetReplay, element: str, t: float,
                capacity: int = -1) -> tuple[int | None, str]:
    """Whole parts inside ``element`` at ``t`` by the asset's recorded level.

    Returns
    -------
    (int or None, str)
        The parts (None: no sample at or before ``t``) and a note ("" if none): a level that
        is not whole is rounded, and said so.

    Raises
    ------
    ChannelError
        For a level in force at ``t`` that is not a number, negative or above ``capacity``
        (``-1``: unlimited); the message names the asset, the element and the sample's time.
    """
    a = replay.asset_id
    lv, when = replay.level.sample_at(t)
    if not np.isfinite(when):
        return None, f"asset {a!r} records no level of {element!r} before the fork time"
    stamp = f"t={when:g} s ({recording.datetime_of(when):%Y-%m-%d %H:%M:%S %Z})"
    said = (f"asset {a!r}: the level of {element!r} recorded at {stamp}, in force at t={t:g} s,"
            f" is {lv:g} parts")
    if not (np.isfinite(lv) and lv >= 0):
        raise ChannelError(f"{said}; a level is a number of parts >= 0: correct the level in "
                           "the data and import it again")
    n = int(round(lv))
    if 0 <= capacity < n:
        raise ChannelError(f"{said}, above its capacity of {capacity}; correct the level in "
                           f"the data or the capacity of {element!r}")
    return n, ("" if n == lv else f"{element}: recorded level {lv:g} at {stamp} rounded to "
               f"{n} parts")
