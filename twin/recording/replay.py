"""Replay a recording: per-asset state timelines, cumulative output and energy.

The rules (also in ``docs/recording-format.md``):

* **Event logs.** A state record holds from its time until the asset's next state record;
  the last one holds until the asset's last record of any kind. A power sample holds until
  the next sample (zero-order hold), the last one until the asset's last record. Parts are
  counted at their event time.
* **Buckets.** A bucket is a state interval from its start for its length, cut short where
  the asset's next bucket starts (overlapping rows). Its parts, scrap and energy
  (average power x recorded length) are spread evenly over that interval, so cumulative curves
  are continuous and a window that contains whole buckets gets exact totals.
* **Levels** (schema 2, optional): a level sample (parts inside a buffer, conveyor or queue)
  holds until the asset's next sample; before the first sample the level is unknown (NaN).
  Levels are returned as recorded (a negative one is counted in ``invalid_values``, not
  clipped), so that a fork can refuse it naming the asset and time.
* **Gaps.** Time covered by no interval has no state (:data:`NO_DATA`), no energy and no parts;
  KPIs count it as ``no_data`` and leave it out of the observed time.
* **Link gaps** (schema 3, ``/gaps``: a live source was disconnected). Every asset's state
  intervals and (event logs) power intervals are cut out over a gap: a state or power
  sample from before the gap does not hold across it (it resumes after the gap until the
  next record: a plant that sends only changes sent none while nothing changed). Parts and
  level samples recorded inside a gap (redelivered or back-filled) are kept as recorded.
* Records out of order are sorted by time (stable). Stored values that are NaN or negative
  count as 0 and are counted in ``invalid_values``.

Times are seconds since the recording's epoch. All look-ups at a time ``t`` are
``np.searchsorted`` over sorted arrays, fast enough for a GUI scrubbing a week-long recording.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kernels.types import BUSY, DOWN
from twin.recording.format import NO_DATA, AssetData, Recording, state_name

Window = tuple[float, float]


class Cumulative:
    """A quantity spread evenly over sorted, non-overlapping intervals.

    Zero-length intervals are point masses. :meth:`at` gives the amount strictly before
    ``t``, so that a half-open window ``[t0, t1)`` holds ``at(t1) - at(t0)``.

    Parameters
    ----------
    start, end : numpy.ndarray of float64
        Interval bounds, s; sorted, ``end[i] <= start[i + 1]``.
    qty : numpy.ndarray of float64
        Amount in each interval.
    """

    def __init__(self, start: np.ndarray, end: np.ndarray, qty: np.ndarray) -> None:
        self.start = np.asarray(start, np.float64)
        self.end = np.asarray(end, np.float64)
        self.qty = np.asarray(qty, np.float64)
        self._length = self.end - self.start
        self._before = np.concatenate(([0.0], np.cumsum(self.qty)))

    @property
    def total(self) -> float:
        """The whole amount."""
        return float(self._before[-1])

    def at(self, t: float | np.ndarray, *, inclusive: bool = False) -> float | np.ndarray:
        """Amount accumulated strictly before ``t`` (scalar or array).

        With ``inclusive=True``, point masses at exactly ``t`` are included too (used for
        the end of a recording, so that its last events count).
        """
        tt = np.asarray(t, np.float64)
        i = np.searchsorted(self.start, tt, side="right" if inclusive else "left") - 1
        j = np.maximum(i, 0)
        length = self._length[j] if len(self.qty) else np.zeros_like(tt)
        if len(self.qty):
            with np.errstate(divide="ignore", invalid="ignore"):
                frac = np.where(length > 0, np.clip((tt - self.start[j]) / length, 0.0, 1.0), 1.0)
            # Whole intervals are added without a fraction, so totals of integers stay exact.
            part = np.where(frac >= 1.0, self.qty[j], self.qty[j] * frac)
            out = np.where(i >= 0, self._before[j] + part, 0.0)
        else:
            out = np.zeros_like(tt)
        return float(out) if np.ndim(out) == 0 else out

    def between(self, t0: float, t1: float) -> float:
        """Amount in ``[t0, t1)``."""
        return float(self.at(t1) - self.at(t0))


class Level:
    """A step function of recorded levels: ``value[i]`` holds from ``time[i]`` on.

    Parameters
    ----------
    time : numpy.ndarray of float64
        Sample times, s, sorted.
    value : numpy.ndarray of float64
        Parts inside the asset, as recorded.
    """

    def __init__(self, time: np.ndarray, value: np.ndarray) -> None:
        self.time = np.asarray(time, np.float64)
        self.value = np.asarray(value, np.float64)

    @classmethod
    def empty(cls) -> Level:
        return cls(np.empty(0), np.empty(0))

    def __len__(self) -> int:
        return len(self.time)

    def sample_at(self, t: float) -> tuple[float, float]:
        """``(level, time of the sample that set it)`` at ``t``; ``(nan, nan)`` before any."""
        i = int(np.searchsorted(self.time, float(t), side="right")) - 1
        if i < 0:
            return np.nan, np.nan
        return float(self.value[i]), float(self.time[i])

    def at(self, t: float | np.ndarray) -> float | np.ndarray:
        """Level at ``t`` (scalar or array); NaN before the first sample."""
        tt = np.asarray(t, np.float64)
        i = np.searchsorted(self.time, tt, side="right") - 1
        if len(self.time):
            out = np.where(i >= 0, self.value[np.maximum(i, 0)], np.nan)
        else:
            out = np.full(tt.shape, np.nan)
        return float(out) if np.ndim(out) == 0 else out


@dataclass(frozen=True)
class StateTimeline:
    """An asset's states as sorted, non-overlapping intervals.

    Attributes
    ----------
    start, end : numpy.ndarray of float64
        Interval bounds, s since the recording epoch.
    state : numpy.ndarray of int8
        :mod:`kernels.types` state codes, ``UNKNOWN`` (-2) or ``NO_DATA`` (-1, gaps between
        buckets). Time outside all intervals has no data too.
    """

    start: np.ndarray
    end: np.ndarray
    state: np.ndarray

    def state_at(self, t: float | np.ndarray) -> int | np.ndarray:
        """State code at time ``t`` (scalar or array): ``NO_DATA`` where nothing is known."""
        tt = np.asarray(t, np.float64)
        i = np.searchsorted(self.start, tt, side="right") - 1
        j = np.clip(i, 0, max(len(self.start) - 1, 0))
        if len(self.start):
            ok = (i >= 0) & (tt < self.end[j])
            out = np.where(ok, self.state[j], NO_DATA).astype(np.int8)
        else:
            out = np.full(tt.shape, NO_DATA, np.int8)
        return int(out) if out.ndim == 0 else out

    def state_name_at(self, t: float) -> str:
        """Name of the state at ``t`` (``"no_data"``, ``"unknown"`` or a machine state)."""
        return state_name(self.state_at(float(t)))

    def clip(self, t0: float, t1: float) -> StateTimeline:
        """The part of the timeline inside ``[t0, t1)``."""
        keep = (self.end > t0) & (self.start < t1)
        return StateTimeline(
            np.maximum(self.start[keep], t0), np.minimum(self.end[keep], t1), self.state[keep]
        )

    def time_in(self, code: int) -> Cumulative:
        """Cumulative time spent in state ``code``, as a :class:`Cumulative` (s)."""
        sel = self.state == code
        return Cumulative(self.start[sel], self.end[sel], self.end[sel] - self.start[sel])

    def runs(self, code: int) -> tuple[np.ndarray, np.ndarray]:
        """Maximal runs of ``code``: touching intervals of the same state are merged.

        Returns
        -------
        start, end : numpy.ndarray of float64
        """
        sel = np.flatnonzero(self.state == code)
        if not len(sel):
            return np.empty(0), np.empty(0)
        s, e = self.start[sel], self.end[sel]
        new = np.ones(len(sel), bool)
        new[1:] = s[1:] != e[:-1]  # intervals have positive length: touching means adjacent
        first = np.flatnonzero(new)
        last = np.append(first[1:] - 1, len(sel) - 1)
        return s[first], e[last]


@dataclass
class AssetReplay:
    """Everything replay knows about one asset.

    Attributes
    ----------
    asset_id, name, element : str
    timeline : StateTimeline
    produced, scrap : Cumulative
        Parts that left the asset (scrap included) and scrap among them.
    energy : Cumulative
        Electrical energy, kW s (divide by 3600 for kWh).
    has_parts, has_power : bool
        Whether the asset recorded any parts / power at all.
    cycle_times : numpy.ndarray of float64
        Observed cycle times, s per part: busy time of a whole busy bucket over its parts, or
        the time between consecutive part events inside one busy interval.
    ideal_cycle_time_s : float or None
        From the mapping; None when not given.
    invalid_values : int
        Stored NaN or negative quantities (counted as 0).
    t_first, t_last : float
        First record time and end of the last record's interval, s.
    level : Level
        Recorded level (parts inside the asset); empty when the asset records none.
    server : int or None
        The parallel server of its station the asset records (None: the whole element).
    duplicate_buckets : int
        Stored buckets that repeat an earlier bucket's start; only the first counts.
    """

    asset_id: str
    name: str
    element: str
    timeline: StateTimeline
    produced: Cumulative
    scrap: Cumulative
    energy: Cumulative
    has_parts: bool
    has_power: bool
    cycle_times: np.ndarray
    ideal_cycle_time_s: float | None
    invalid_values: int
    t_first: float
    t_last: float
    level: Level = field(default_factory=Level.empty)
    server: int | None = None
    duplicate_buckets: int = 0

    @property
    def has_level(self) -> bool:
        """Whether the asset recorded any level sample."""
        return len(self.level) > 0

    def level_at(self, t: float | np.ndarray) -> float | np.ndarray:
        """Recorded level at ``t``; see :meth:`Level.at`."""
        return self.level.at(t)

    def state_at(self, t: float | np.ndarray) -> int | np.ndarray:
        """State code at ``t``; see :meth:`StateTimeline.state_at`."""
        return self.timeline.state_at(t)

    def parts_at(self, t: float | np.ndarray) -> float | np.ndarray:
        """Good parts out before ``t``."""
        return self.produced.at(t) - self.scrap.at(t)

    def energy_kwh_at(self, t: float | np.ndarray) -> float | np.ndarray:
        """Energy used before ``t``, kWh."""
        return self.energy.at(t) / 3600.0


def _clean(values: np.ndarray) -> tuple[np.ndarray, int]:
    ok = np.isfinite(values) & (values >= 0)
    return np.where(ok, values, 0.0), int((~ok).sum())


def _sorted(rec: np.ndarray, key: str) -> np.ndarray:
    t = rec[key]
    if len(t) > 1 and not (t[1:] >= t[:-1]).all():
        return rec[np.argsort(t, kind="stable")]
    return rec


def _bucket_replay(data: AssetData) -> dict:
    b = _sorted(data.buckets, "start")
    # Buckets repeating a start (written by hand or by an older import): the first stored
    # one counts. Kept, each would be cut to zero length yet add all its parts and energy,
    # and OEE would pass 100 %.
    repeated = np.insert(b["start"][1:] == b["start"][:-1], 0, False) if len(b) else []
    b = b[~np.asarray(repeated, bool)] if len(b) else b
    s = b["start"]
    length, bad_len = _clean(b["length"])
    e_nom = s + length
    e = e_nom.copy()
    if len(s) > 1:
        e[:-1] = np.minimum(e_nom[:-1], s[1:])
    produced, bad_p = _clean(b["parts"])
    scrap, bad_s = _clean(b["scrap"])
    power, bad_w = _clean(b["power_kw"])
    # Gaps: time between one bucket's (possibly shortened) end and the next start.
    gap = np.flatnonzero(s[1:] > e[:-1]) if len(s) > 1 else np.empty(0, int)
    start = np.concatenate((s, e[gap]))
    end = np.concatenate((e, s[gap + 1]))
    state = np.concatenate((b["state"], np.full(len(gap), NO_DATA, np.int8)))
    order = np.argsort(start, kind="stable")
    start, end, state = start[order], end[order], state[order]
    real = end > start
    full_busy = (b["state"] == BUSY) & (e == e_nom) & (produced > 0) & (length > 0)
    return {
        "timeline": StateTimeline(start[real], end[real], state[real]),
        "produced": Cumulative(s, e, produced),
        "scrap": Cumulative(s, e, scrap),
        "energy": Cumulative(s, e, power * length),
        "has_parts": bool(len(b)) and not np.isnan(b["parts"]).all(),
        "has_power": bool(len(b)) and not np.isnan(b["power_kw"]).all(),
        "cycle_times": length[full_busy] / produced[full_busy],
        "invalid": bad_len + bad_p + bad_s + bad_w,
        "duplicates": int(np.sum(repeated)),
        "t_first": float(s[0]) if len(s) else np.nan,
        "t_last": float(e_nom.max()) if len(s) else np.nan,
    }


def merged_gaps(gaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The union of the recording's gaps (:attr:`Recording.gaps`) as sorted, disjoint
    ``(start, end)`` arrays, zero-length gaps left out."""
    keep = gaps["end"] > gaps["start"]
    s, e = gaps["start"][keep], gaps["end"][keep]
    if not len(s):
        return np.empty(0), np.empty(0)
    order = np.argsort(s, kind="stable")
    s, e = s[order], np.maximum.accumulate(e[order])
    new = np.ones(len(s), bool)
    new[1:] = s[1:] > e[:-1]
    first = np.flatnonzero(new)
    last = np.append(first[1:] - 1, len(s) - 1)
    return s[first], e[last]


def cut_gaps(start: np.ndarray, end: np.ndarray, value: np.ndarray,
             gaps: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Remove the gaps from sorted, non-overlapping intervals ``[start, end)``: an interval
    that a gap crosses is split around it, one inside a gap goes. Returns the pieces (each
    keeps its interval's ``value``), sorted, zero-length pieces left out."""
    for g0, g1 in zip(*gaps, strict=True):
        hit = (start < g1) & (end > g0)
        if not hit.any():
            continue
        before = hit & (start < g0)
        after = hit & (end > g1)
        keep = ~hit
        start = np.concatenate((start[keep], start[before], np.full(after.sum(), g1)))
        end = np.concatenate((end[keep], np.full(before.sum(), g0), end[after]))
        value = np.concatenate((value[keep], value[before], value[after]))
        order = np.argsort(start, kind="stable")
        start, end, value = start[order], end[order], value[order]
    real = end > start
    return start[real], end[real], value[real]


def _event_replay(data: AssetData, gaps: tuple[np.ndarray, np.ndarray]) -> dict:
    st = _sorted(data.states, "time")
    parts = _sorted(data.parts, "time")
    power = _sorted(data.power, "time")
    times = [a for a in (st["time"], parts["time"], power["time"]) if len(a)]
    t_first = float(min(a[0] for a in times)) if times else np.nan
    t_last = float(max(a[-1] for a in times)) if times else np.nan
    ts = st["time"]
    te = np.append(ts[1:], t_last) if len(ts) else ts
    real = te > ts
    timeline = StateTimeline(*cut_gaps(ts[real], te[real], st["state"][real], gaps))
    count, bad_c = _clean(parts["count"])
    pt = parts["time"]
    scrap = np.where(parts["good"] == 0, count, 0.0)
    pw, bad_w = _clean(power["power_kw"])
    wt = power["time"]
    we = np.append(wt[1:], t_last) if len(wt) else wt
    ew, ee, epw = cut_gaps(wt, we, pw, gaps)
    return {
        "timeline": timeline,
        "produced": Cumulative(pt, pt, count),
        "scrap": Cumulative(pt, pt, scrap),
        "energy": Cumulative(ew, ee, epw * (ee - ew)),
        "has_parts": bool(len(pt)),
        "has_power": bool(len(wt)),
        "cycle_times": event_cycle_times(timeline, pt, count),
        "invalid": bad_c + bad_w,
        "t_first": t_first,
        "t_last": t_last,
    }


def event_cycle_times(timeline: StateTimeline, pt: np.ndarray,
                      count: np.ndarray) -> np.ndarray:
    """Observed cycle times, s per part: the busy time between two successive part events
    over the parts of the later one (the drift test measures them so too,
    ``twin.shadow.drift``).

    A part leaves as its cycle ends (the state turns from busy at that instant: a machine
    faster than its neighbours goes starved after every part) or later, when the next one
    takes it (a blocked machine's part leaves as it starts the next cycle). So a part event
    counts while the machine is busy or the instant a busy stretch ends; time between the two
    events must be all known (no gap, no unknown state). Counting only events inside one
    busy stretch, as before, left a machine that stops after every part without a single
    cycle (no ideal cycle time, no OEE) and a mostly blocked one with a few.
    """
    if len(pt) < 2 or not len(timeline.start):
        return np.empty(0)
    pt, inverse = np.unique(pt, return_inverse=True)  # the parts and scrap of one instant
    n = np.bincount(inverse, weights=count, minlength=len(pt))
    start, end, state = timeline.start, timeline.end, timeline.state
    length = end - start
    busy_len = np.where(state == BUSY, length, 0.0)
    known_len = np.where(state >= 0, length, 0.0)  # NO_DATA and UNKNOWN are negative

    def at(weights: np.ndarray, cum: np.ndarray, t: np.ndarray) -> np.ndarray:
        i = np.searchsorted(start, t, side="right") - 1
        j = np.maximum(i, 0)
        inside = np.clip(t - start[j], 0.0, length[j]) * (weights[j] > 0)
        return np.where(i >= 0, cum[j] + inside, 0.0)

    cum_busy = np.concatenate(([0.0], np.cumsum(busy_len)[:-1]))
    cum_known = np.concatenate(([0.0], np.cumsum(known_len)[:-1]))
    busy = at(busy_len, cum_busy, pt)
    known = at(known_len, cum_known, pt)
    now = timeline.state_at(pt) == BUSY
    j = np.clip(np.searchsorted(end, pt, side="left"), 0, len(end) - 1)
    ended = (end[j] == pt) & (state[j] == BUSY)
    ok = now | ended
    span = np.diff(pt)
    worked = np.diff(busy)
    pair = ok[1:] & ok[:-1] & (n[1:] > 0) & (worked > 0) & (
        np.diff(known) >= span * (1.0 - 1e-9))
    return worked[pair] / n[1:][pair]


def replay_asset(
    recording: Recording, asset_id: str, window: Window | None = None
) -> AssetReplay:
    """Reconstruct one asset's timeline, output and energy.

    Parameters
    ----------
    recording : Recording
    asset_id : str
        A recorded asset id (see ``recording.asset_ids``).
    window : (t0, t1), optional
        Clip the timeline to ``[t0, t1)``, s since the epoch (cumulative curves keep the
        whole recording so that their values at ``t`` do not depend on the window).

    Returns
    -------
    AssetReplay
    """
    data = recording.asset(asset_id)
    gaps = merged_gaps(recording.gaps)
    if recording.shape == "buckets":
        built = _bucket_replay(data)
        tl = built["timeline"]
        built["timeline"] = StateTimeline(*cut_gaps(tl.start, tl.end, tl.state, gaps))
    else:
        built = _event_replay(data, gaps)
    timeline = built["timeline"]
    if window is not None:
        timeline = timeline.clip(*window)
    lv = _sorted(data.level, "time")
    level = Level(lv["time"], lv["level"])
    t_first, t_last = built["t_first"], built["t_last"]
    if len(level):
        # a level-only asset (a buffer) spans its samples
        t_first = float(np.fmin(t_first, level.time[0]))
        t_last = float(np.fmax(t_last, level.time[-1]))
    bad_level = int((~(np.isfinite(level.value) & (level.value >= 0))).sum())
    return AssetReplay(
        asset_id=data.asset_id, name=data.name, element=data.element, timeline=timeline,
        produced=built["produced"], scrap=built["scrap"], energy=built["energy"],
        has_parts=built["has_parts"], has_power=built["has_power"],
        cycle_times=built["cycle_times"], ideal_cycle_time_s=data.ideal_cycle_time_s,
        invalid_values=built["invalid"] + bad_level, t_first=t_first, t_last=t_last,
        level=level, server=data.server, duplicate_buckets=built.get("duplicates", 0),
    )


def replay_recording(
    recording: Recording, window: Window | None = None
) -> dict[str, AssetReplay]:
    """Replay every asset; keys are the recorded asset ids."""
    return {a: replay_asset(recording, a, window) for a in recording.asset_ids}


def extent(replays: dict[str, AssetReplay]) -> Window:
    """The span covering every record: ``(first record time, last interval end)``.

    KPIs over this default window include events at its very end (``inclusive_end``).
    """
    firsts = [r.t_first for r in replays.values() if np.isfinite(r.t_first)]
    lasts = [r.t_last for r in replays.values() if np.isfinite(r.t_last)]
    if not firsts:
        return (0.0, 0.0)
    return (min(firsts), max(lasts))


def down_runs(replay: AssetReplay) -> tuple[np.ndarray, np.ndarray]:
    """Failures: maximal runs of the ``down`` state (touching down intervals merge)."""
    return replay.timeline.runs(DOWN)
