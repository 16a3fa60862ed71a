"""KPIs of a recording: output, energy, time per state, OEE, MTBF, MTTR, losses.

Time model after ISO 22400-2 (definitions also in ``docs/recording-format.md``), for a window
``[t0, t1)``:

* ``no_data`` — time without any record (gaps), and ``unknown`` — time in raw states the
  mapping does not name: both are left out of the observed time.
* observed time OT = window - no_data - unknown.
* planned downtime PDOT = time ``off`` + ``maintenance`` (the plant did not plan to produce).
* planned busy time PBT = OT - PDOT.
* actual production time APT = time ``busy``.
* availability A = APT / PBT.
* performance P = ideal cycle time x produced quantity / APT. The ideal cycle time comes from
  the mapping; otherwise it is estimated as the 5th percentile of the observed cycle times
  (see :class:`~twin.recording.replay.AssetReplay`), which is robust to a few implausibly
  fast buckets and still below typical cycles.
* quality Q = good quantity / produced quantity; OEE = A x P x Q.
  A, P, Q, OEE and the losses below are :func:`twin.oee.oee_terms`, the definition a
  simulated run's stations use too (``twin.sim.oee``).
* failures: maximal runs of ``down`` overlapping the window; MTBF = APT / failures (mean
  operating time between failures); MTTR = down time / failures.
* losses (s): the time of every state but ``busy`` and the planned downtime's ``off`` and
  ``maintenance``, in ``kernels.types.STATE_NAMES`` order (``down``, ``setup``, ``idle``,
  ``starved``, ``blocked``, ``waiting_for_worker``, and the energy-saving states
  ``standby``, ``switched_off`` and ``warming_up`` of issue 19),
  ``slow_cycles`` = max(APT - ideal cycle time x work done, 0), ``scrap`` = ideal cycle time
  x scrap; work done is produced plus the cycles the window's edges cut (:func:`work_held`).

An asset that records a level and no state (a conveyor, a buffer: ``Kpis.level_only``) has no
machine states, so no state times, OEE, failures or losses (None or 0): its ``no_data`` is
only the time before its first level sample, and ``mean_level`` is its time-weighted mean
level. Counting its whole window as ``no_data`` read as "the conveyor sent nothing".

Undefined ratios (a zero denominator) are None. Everything is computed per bin from the
cumulative curves of :mod:`twin.recording.replay`, so day and shift breakdowns cost one
``searchsorted`` per state.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta

import numpy as np

from kernels.types import BUSY, DOWN, STATE_NAMES
from twin.oee import ACTIVE_STATES, oee_terms
from twin.recording.errors import RecordingError
from twin.recording.format import UNKNOWN, Recording, state_name, zone
from twin.recording.mapping import DEFAULT_SHIFTS_JSON, Shift, parse_shifts
from twin.recording.replay import AssetReplay, down_runs, extent, replay_recording

#: Percentile of observed cycle times used as the ideal cycle time when none is given.
ICT_PERCENTILE = 5.0

_STATE_KEYS = (*STATE_NAMES, "unknown", "no_data")


@dataclass
class Kpis:
    """KPIs of one asset over one window. Times in s, energy in kWh, ratios 0-1 or None.

    Attributes
    ----------
    asset_id, name, element : str
    t0, t1 : float
        The window, s since the recording epoch.
    observed_s, planned_downtime_s, planned_busy_s, actual_production_s : float
        The ISO 22400 times (see the module docstring).
    state_time_s : dict of str to float
        Time in each state, plus ``unknown`` and ``no_data``; sums to the window length
        (a level-only asset: all 0 but ``no_data``, the time before its first level sample).
    produced, parts_out, scrap : float
        Parts produced (good + scrap), good parts out, scrap.
    energy_kwh : float or None
        None when the asset recorded no power.
    energy_per_part_kwh : float or None
        Energy per good part.
    ideal_cycle_time_s : float or None
    ideal_cycle_time_source : str
        ``"mapping"``, ``"estimated: ..."`` or ``"none"``.
    availability, performance, quality, oee : float or None
    failures : int
    mtbf_s, mttr_s : float or None
    losses_s : dict of str to float
    invalid_values : int
        Stored NaN or negative quantities of the asset (whole recording), counted as 0.
    level_only : bool
        The asset records a level and no state (a conveyor, a buffer): it has no machine
        states, so the state times and OEE figures do not apply to it.
    mean_level : float or None
        Time-weighted mean recorded level over the window's time with a level (None: none).
    """

    asset_id: str
    name: str
    element: str
    t0: float
    t1: float
    observed_s: float
    planned_downtime_s: float
    planned_busy_s: float
    actual_production_s: float
    state_time_s: dict[str, float]
    produced: float
    parts_out: float
    scrap: float
    energy_kwh: float | None
    energy_per_part_kwh: float | None
    ideal_cycle_time_s: float | None
    ideal_cycle_time_source: str
    availability: float | None
    performance: float | None
    quality: float | None
    oee: float | None
    failures: int
    mtbf_s: float | None
    mttr_s: float | None
    losses_s: dict[str, float] = field(default_factory=dict)
    invalid_values: int = 0
    level_only: bool = False
    mean_level: float | None = None

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return asdict(self)


@dataclass
class Period:
    """KPIs of one day or shift.

    Attributes
    ----------
    label : str
        ``"2022-09-01"`` or ``"2022-09-01 early"``.
    start, end : str
        Local ISO 8601 bounds (clipped to the window).
    kpis : Kpis
    """

    label: str
    start: str
    end: str
    kpis: Kpis


def ideal_cycle_time(replay: AssetReplay, given: float | None = None) -> tuple[float | None, str]:
    """Return the ideal cycle time of an asset and where it comes from.

    Parameters
    ----------
    replay : AssetReplay
    given : float, optional
        Overrides the mapping's value.

    Returns
    -------
    (float or None, str)
        The ideal cycle time in s, and ``"given"``, ``"mapping"``, ``"estimated: ..."`` or
        ``"none"``.
    """
    if given is not None:
        return float(given), "given"
    if replay.ideal_cycle_time_s is not None:
        return replay.ideal_cycle_time_s, "mapping"
    cycles = replay.cycle_times[np.isfinite(replay.cycle_times) & (replay.cycle_times > 0)]
    if not len(cycles):
        return None, "none"
    value = float(np.percentile(cycles, ICT_PERCENTILE))
    return value, f"estimated: {ICT_PERCENTILE:g}th percentile of {len(cycles)} observed cycles"


def _level_means(level, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per bin: the time with a known level (from the first sample on) and its mean level
    (NaN where none), integrating the step function exactly."""
    if not len(level):
        return np.zeros(len(edges) - 1), np.full(len(edges) - 1, np.nan)
    t, v = level.time, level.value
    area = np.concatenate([[0.0], np.cumsum(v[:-1] * np.diff(t))])  # integral up to t[i]

    def integral(x: np.ndarray) -> np.ndarray:
        i = np.searchsorted(t, x, side="right") - 1
        j = np.maximum(i, 0)
        return np.where(i >= 0, area[j] + v[j] * (x - t[j]), 0.0)

    lo = np.maximum(edges[:-1], t[0])
    known = np.maximum(edges[1:] - lo, 0.0)
    total = integral(np.maximum(edges[1:], t[0])) - integral(lo)
    with np.errstate(invalid="ignore", divide="ignore"):
        return known, np.where(known > 0, total / known, np.nan)


def _ratio(num: float, den: float) -> float | None:  # MTBF, MTTR, energy per part
    return None if den <= 0 else num / den


def kpis_for_bins(
    replay: AssetReplay,
    edges: np.ndarray,
    ideal_cycle_time_s: float | None = None,
    *,
    inclusive_end: bool = False,
) -> list[Kpis]:
    """KPIs of one asset for each bin ``[edges[i], edges[i + 1])``.

    Parameters
    ----------
    replay : AssetReplay
    edges : numpy.ndarray of float64
        Sorted bin edges, s since the epoch.
    ideal_cycle_time_s : float, optional
        Overrides the mapping's or the estimated ideal cycle time.
    inclusive_end : bool
        Count events at exactly the last edge in the last bin (the end of a recording).
    """
    edges = np.asarray(edges, np.float64)
    width = np.diff(edges)

    def diff(c) -> np.ndarray:
        values = np.append(c.at(edges[:-1]), c.at(edges[-1:], inclusive=inclusive_end))
        return np.diff(values)

    tl = replay.timeline
    times = {}
    for code, key in [(c, state_name(c)) for c in range(len(STATE_NAMES))] + [(UNKNOWN, "unknown")]:
        times[key] = diff(tl.time_in(code))
    level_only = replay.has_level and not len(tl.start)
    level_known, level_mean = _level_means(replay.level, edges)
    # a level-only asset has data where its level is known, though no state
    known = level_known if level_only else sum(times.values())
    times["no_data"] = np.maximum(width - known, 0.0)  # gaps and time outside all intervals
    produced = diff(replay.produced)
    scrap = diff(replay.scrap)
    energy = diff(replay.energy) / 3600.0
    run_s, run_e = down_runs(replay)
    failures = (np.searchsorted(run_s, edges[1:], side="left")
                - np.searchsorted(run_e, edges[:-1], side="right"))
    ict, source = ideal_cycle_time(replay, ideal_cycle_time_s)
    held = work_held(replay, edges, ict, inclusive_end)
    out = []
    for b in range(len(width)):
        st = {k: float(v[b]) for k, v in times.items()}
        observed = 0.0 if level_only else float(width[b]) - st["no_data"] - st["unknown"]
        made, bad = float(produced[b]), float(scrap[b])
        terms = oee_terms(st, observed, made, bad, None if level_only else ict,
                          made + held[b + 1] - held[b])
        apt = terms.actual_production_s
        n_fail = int(failures[b])
        e_kwh = float(energy[b]) if replay.has_power else None
        out.append(Kpis(
            asset_id=replay.asset_id, name=replay.name, element=replay.element,
            t0=float(edges[b]), t1=float(edges[b + 1]), observed_s=observed,
            planned_downtime_s=terms.planned_downtime_s, planned_busy_s=terms.planned_busy_s,
            actual_production_s=apt, state_time_s=st, produced=made, parts_out=made - bad,
            scrap=bad, energy_kwh=e_kwh,
            energy_per_part_kwh=None if e_kwh is None else _ratio(e_kwh, made - bad),
            ideal_cycle_time_s=ict, ideal_cycle_time_source=source,
            availability=terms.availability, performance=terms.performance,
            quality=terms.quality, oee=terms.oee, failures=n_fail,
            mtbf_s=_ratio(apt, n_fail), mttr_s=_ratio(st[STATE_NAMES[DOWN]], n_fail),
            losses_s=terms.losses_s, invalid_values=replay.invalid_values,
            level_only=level_only,
            mean_level=None if np.isnan(level_mean[b]) else float(level_mean[b]),
        ))
    return out


def work_held(replay: AssetReplay, edges: np.ndarray, ict: float | None,
              inclusive_end: bool = False) -> np.ndarray:
    """Parts' worth of processing the asset holds at each edge: busy time since its last
    part, over the ideal cycle time, at most 1 (a finished part not yet out).

    A window's busy time counts a cycle cut by its edge in part, its parts only whole parts
    that left: a constant 45 s station replayed from the start to the cursor showed up to
    45 s of slow cycles (gui18 §3, ``twin.oee.oee_terms``'s ``worked``). Only where parts
    are events (one per part, as a live plant or a simulated run records them); parts
    counted per bucket are spread over the bucket already, and give 0 here.
    """
    edges = np.asarray(edges, np.float64)
    parts = replay.produced
    if ict is None or not ict > 0 or not len(parts.qty) or np.any(parts.end > parts.start):
        return np.zeros(len(edges))
    # the last part before each edge (at the recording's end: at it too, as its parts count)
    i = np.searchsorted(parts.start, edges, side="left") - 1
    if inclusive_end:
        i[-1] = np.searchsorted(parts.start, edges[-1], side="right") - 1
    last = np.where(i >= 0, parts.start[np.maximum(i, 0)], -np.inf)
    busy = replay.timeline.time_in(BUSY)
    since = busy.at(edges) - np.where(i >= 0, busy.at(np.where(i >= 0, last, edges)), 0.0)
    return np.clip(since / ict, 0.0, 1.0)


def _window(
    recording: Recording, replays: dict[str, AssetReplay], window
) -> tuple[float, float, bool]:
    """(t0, t1, inclusive_end): the default window includes events at the recording's end."""
    if window is None:
        return (*extent(replays), True)
    t0, t1 = (recording.time_of(w) for w in window)
    if not t1 > t0:
        raise ValueError(f"the window end {window[1]!r} must be after its start {window[0]!r}")
    return (t0, t1, False)


def recording_kpis(
    recording: Recording, window: tuple | None = None
) -> dict[str, Kpis]:
    """KPIs of every asset over ``window`` (default: the whole recording).

    Parameters
    ----------
    recording : Recording
    window : (t0, t1), optional
        Seconds since the epoch, ISO 8601 strings or datetimes (naive: recording time zone).

    Returns
    -------
    dict of str to Kpis
        Keyed by recorded asset id.
    """
    replays = replay_recording(recording)
    t0, t1, inc = _window(recording, replays, window)
    return {
        a: kpis_for_bins(r, np.array([t0, t1]), inclusive_end=inc)[0]
        for a, r in replays.items()
    }


def asset_kpis(
    recording: Recording,
    asset_id: str,
    window: tuple | None = None,
    *,
    ideal_cycle_time_s: float | None = None,
) -> Kpis:
    """KPIs of one asset over ``window`` (default: the whole recording).

    The default window is the span of the whole recording, not of this asset, so that
    assets are compared over the same time.
    """
    replays = replay_recording(recording)
    if asset_id not in replays:
        raise KeyError(f"{recording.path}: no asset {asset_id!r}; have {list(replays)}")
    t0, t1, inc = _window(recording, replays, window)
    edges = np.array([t0, t1])
    return kpis_for_bins(replays[asset_id], edges, ideal_cycle_time_s, inclusive_end=inc)[0]


def _day_edges(recording: Recording, t0: float, t1: float) -> list[tuple[float, str]]:
    tz = zone(recording.time_zone)
    first = recording.datetime_of(t0).date()
    last = recording.datetime_of(t1).date()
    out = []
    d = first
    while d <= last + timedelta(days=1):
        out.append((recording.time_of(datetime.combine(d, time(0), tz)), d.isoformat()))
        d += timedelta(days=1)
    return out


def _shift_edges(
    recording: Recording, t0: float, t1: float, shifts: tuple[Shift, ...]
) -> list[tuple[float, str]]:
    tz = zone(recording.time_zone)
    first: date = recording.datetime_of(t0).date() - timedelta(days=1)
    last: date = recording.datetime_of(t1).date()
    out = []
    d = first
    while d <= last:
        for s in shifts:
            local = datetime.combine(d, time(s.start_min // 60, s.start_min % 60), tz)
            out.append((recording.time_of(local), f"{d.isoformat()} {s.name}"))
        d += timedelta(days=1)
    return out


#: Periods (days, shifts) one breakdown may have: a year of three shifts a day is ~1,100;
#: a damaged or mis-stamped sample decades away would otherwise ask for tens of thousands,
#: each a replay window of its own.
MAX_PERIODS = 10_000


def _check_span(recording, t0: float, t1: float, per_day: int) -> None:
    """Refuse a breakdown of more than ``MAX_PERIODS`` periods before making their edges."""
    days = (t1 - t0) / 86400.0
    if days * per_day > MAX_PERIODS:
        raise RecordingError(
            f"{recording.path}: the window spans {days:,.0f} days, about "
            f"{days * per_day:,.0f} periods; a breakdown has at most {MAX_PERIODS:,}: narrow "
            "the window (--from/--to), or check the recording for time stamps far from the "
            "others")


def _periods(recording, replay, t0, t1, inc, starts) -> list[Period]:
    starts = sorted(starts)
    # The period containing t0 begins the list; later starts inside the window cut it.
    inside = [(t, label) for t, label in starts if t0 < t < t1]
    before = [label for t, label in starts if t <= t0]
    labels = [before[-1] if before else inside[0][1] if inside else "", *(x[1] for x in inside)]
    edges = np.array([t0, *(x[0] for x in inside), t1])
    kpis = kpis_for_bins(replay, edges, inclusive_end=inc)
    return [
        Period(label, recording.datetime_of(k.t0).isoformat(),
               recording.datetime_of(k.t1).isoformat(), k)
        for label, k in zip(labels, kpis, strict=True)
    ]


def daily_kpis(
    recording: Recording, asset_id: str, window: tuple | None = None
) -> list[Period]:
    """KPIs of one asset per local calendar day (recording time zone), clipped to ``window``."""
    replays = replay_recording(recording)
    t0, t1, inc = _window(recording, replays, window)
    _check_span(recording, t0, t1, 1)
    return _periods(recording, replays[asset_id], t0, t1, inc, _day_edges(recording, t0, t1))


def shift_kpis(
    recording: Recording,
    asset_id: str,
    window: tuple | None = None,
    shifts: list[dict] | None = None,
) -> list[Period]:
    """KPIs of one asset per shift, clipped to ``window``.

    Parameters
    ----------
    shifts : list of dict, optional
        ``[{"name": ..., "start": "HH:MM"}, ...]``; defaults to the shifts stored with the
        recording, else three 8 h shifts from 06:00.
    """
    replays = replay_recording(recording)
    t0, t1, inc = _window(recording, replays, window)
    spec = shifts or recording.shifts or list(DEFAULT_SHIFTS_JSON)
    parsed = parse_shifts(spec, file=str(recording.path), path="shifts")
    _check_span(recording, t0, t1, max(len(parsed), 1))
    starts = _shift_edges(recording, t0, t1, parsed)
    return _periods(recording, replays[asset_id], t0, t1, inc, starts)




def top_losses(k: Kpis, n: int = 3) -> list[tuple[str, float]]:
    """The ``n`` largest losses of ``k`` (name, s), largest first; none of 0 s."""
    return sorted(((name, s) for name, s in k.losses_s.items() if s > 0),
                  key=lambda x: -x[1])[:n]


def bottleneck(kpis: list[Kpis]) -> tuple[Kpis, float] | None:
    """The asset most active (busy, setup or down) over its observed time, and that share:
    the utilisation method a run's bottleneck uses without a state log
    (``twin.sim.summary.bottleneck``). None where no machine was active."""
    best, share = None, 0.0
    for k in kpis:
        if k.level_only or k.observed_s <= 0:
            continue
        v = sum(k.state_time_s.get(STATE_NAMES[s], 0.0) for s in ACTIVE_STATES) / k.observed_s
        if v > share:
            best, share = k, v
    return None if best is None else (best, share)
