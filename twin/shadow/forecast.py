"""Rolling forecast of the shift: fork the twin from the plant's state and run it to shift end.

A forecast made at plant time ``made_at`` forks the twin from the recording at that moment
(:func:`twin.whatif.fork.fork_from_recording`: machine states, repairs under way, work in
process where a level is recorded) and runs ``replications`` (200 by default) to the end of
the shift. Each replication's good parts since ``made_at`` are added to the good parts the
recording shows from the start of the shift to ``made_at`` (``good_so_far``), so the fan is of
the shift's total: P10/P50/P90 are order statistics of those replications. **Link gaps** of
the recording in the shift (the plant ran, nothing was recorded) are not zero output: each
replication adds the recorded rate of the rest of the shift over the gaps' length
(``good_in_gaps``), so that a broker outage does not read as lost production. **The part of
the shift before the recording's first reading** (live mode started after the shift began)
is not zero output either: it was not observed. Each replication adds its own run rate (its
good parts from ``made_at`` to the shift's end over that time) over that part's length
(``good_before_first``): the recorded rate of a first minute is no rate at all (a line
starting empty makes nothing for minutes; counted as zero, the first forecast of the live
demo, two hours into the 22:00 shift, said P(below target) 100%).

**The shift** comes from the project's shift calendar (``$.calendar.shifts``, each period as
written, its breaks inside it): the shift that contains ``made_at``, or, outside working
time, the next one; as for forks, the calendar's time 0 is the recording's epoch. Without a
calendar, the recording's shifts, the ones Replay cuts its per-shift KPIs at (the mapping's
``shifts``, by default 06:00, 14:00 and 22:00 in the plant's time zone).

**Rolling**: :class:`RollingForecaster` forecasts every ``every`` seconds of plant time
(60 s by default) as the recording grows (live, while the recorder writes it) or as a replay
advances, and appends each forecast to a :class:`ForecastLog` beside the recording
(``<recording>.forecasts.jsonl``, ``docs/shadow.md``), so that it can be scored afterwards
(``twin.shadow.scoring``). What is reused between forecasts: the scenario applied once, the
compiled kernels, the frozen SciPy distributions; the recording is re-read each time (it grows).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from twin.errors import InputError
from twin.model import elements as m
from twin.projectfile.reader import with_scenario
from twin.recording import Recording, extent, replay_recording
from twin.recording.kpi import _shift_edges
from twin.recording.mapping import DEFAULT_SHIFTS_JSON, parse_shifts
from twin.recording.replay import merged_gaps
from twin.tasks import TaskState
from twin.whatif.fork import fork_from_recording, recorded_since, station_channels

#: Defaults of the rolling forecast (``docs/shadow.md``).
REPLICATIONS = 200
EVERY = 60.0
#: Width of the power window the peak rules look at (s): a quarter-hour, as tariffs bill it.
PEAK_WINDOW = 900.0
#: Grid step of the fan (s) and the most grid points since time 0 a fork's lowering may hold
#: (the kernel samples from time 0, so a late fork of a long recording steps coarser).
GRID_STEP = 60.0
MAX_SAMPLES = 20_000
#: Kernel calls per replication: a forecast's replications are many and short, and each
#: call and progress report cost Python time the kernel's own work of a small line is below.
FORECAST_CHUNKS = 1
#: Format tag of the first line of a forecast log.
LOG_FORMAT = "twinbench-forecasts"
LOG_VERSION = 1


class ForecastError(InputError):
    """A forecast that cannot be made (the message names the value and the fix)."""


@dataclass(frozen=True, eq=False)  # compared by identity: its fields are arrays
class Forecast:
    """One forecast of the rest of a shift.

    Attributes
    ----------
    made_at : float
        Plant time the twin forked from (s since the recording's epoch).
    shift_start, shift_end : float
        The shift being forecast (same clock).
    target : float or None
        The shift's target of good parts, if given.
    times : numpy.ndarray
        Grid from (about) ``made_at`` to ``shift_end``, s.
    good : numpy.ndarray
        ``(replications, len(times))``: cumulative good parts since ``shift_start``.
    power_kw : numpy.ndarray
        ``(replications, len(times))``: line power (recorded stations), mean over the grid
        step ending at each time (the first step begins at ``made_at``).
    energy_kwh : numpy.ndarray
        ``(replications,)``: energy from ``shift_start`` to ``shift_end``.
    good_so_far : float
        Recorded good parts from ``shift_start`` to ``made_at`` (NaN when no recorded
        station feeds a sink).
    energy_so_far : float
        Recorded energy from ``shift_start`` to ``made_at``, kWh.
    recent_t, recent_kwh : numpy.ndarray
        Recorded cumulative energy since ``shift_start`` over the quarter-hour before
        ``made_at`` (for the 15-minute windows that begin before it).
    notes : tuple of str
        What the fork noted (unknown work in process, partly recorded stations).
    gap_s, good_in_gaps : float
        Link gaps of the recording from ``shift_start`` to ``made_at`` (s: the plant ran, the
        recording saw nothing), and the good parts the fan counts for them (median over the
        replications; module docstring): not in ``good_so_far``, which is what was recorded.
    unseen_s, good_before_first : float
        The part of the shift before the recording's first reading (s: not observed), and
        the good parts the fan counts for it (median over the replications; module
        docstring): not in ``good_so_far`` either.
    """

    made_at: float
    shift_start: float
    shift_end: float
    target: float | None
    times: np.ndarray
    good: np.ndarray
    power_kw: np.ndarray
    energy_kwh: np.ndarray
    good_so_far: float
    energy_so_far: float = 0.0
    recent_t: np.ndarray = field(default_factory=lambda: np.zeros(0))
    recent_kwh: np.ndarray = field(default_factory=lambda: np.zeros(0))
    notes: tuple[str, ...] = ()
    gap_s: float = 0.0
    good_in_gaps: float = 0.0
    unseen_s: float = 0.0
    good_before_first: float = 0.0

    @property
    def replications(self) -> int:
        return int(self.good.shape[0])

    @property
    def final(self) -> np.ndarray:
        """Good parts of the whole shift, per replication."""
        return self.good[:, -1]

    def quantiles(self, q=(0.1, 0.5, 0.9)) -> dict[float, np.ndarray]:
        """Quantiles of the cumulative good parts over ``times``, keyed by ``q``."""
        return {float(p): np.quantile(self.good, p, axis=0) for p in q}

    def p_below(self, target: float) -> float:
        """P(good parts at ``shift_end`` < ``target``): the share of replications below."""
        return float(np.mean(self.final < target))

    def peak_15min_within(self, minutes: float) -> np.ndarray:
        """Per replication, the highest 15-minute mean line power (kW) of the windows ending
        in ``(made_at, made_at + minutes]`` (within the shift); a window that begins before
        ``made_at`` takes its start from the recording (``recent_t``, ``recent_kwh``)."""
        end = min(self.made_at + 60.0 * float(minutes), self.shift_end)
        dt = np.diff(np.concatenate(([self.made_at], self.times)))
        cum = self.energy_so_far + np.cumsum(self.power_kw * dt / 3600.0, axis=1)
        t = np.concatenate(([self.made_at], self.times))
        cum = np.concatenate((np.full((cum.shape[0], 1), self.energy_so_far), cum), axis=1)
        ends = t[(t > self.made_at) & (t <= end + 1e-9)]
        if not len(ends):
            ends = t[1:2]
        starts = ends - PEAK_WINDOW
        past_t = np.concatenate((self.recent_t, [self.made_at]))
        past_e = np.concatenate((self.recent_kwh, [self.energy_so_far]))
        if len(self.recent_t):
            starts = np.maximum(starts, past_t[0])
        else:
            starts = np.maximum(starts, self.made_at)
        width = (ends - starts) / 3600.0
        e_end = np.array([np.interp(ends, t, row) for row in cum])
        before = starts < self.made_at
        e_start = np.array([np.interp(starts, t, row) for row in cum])
        e_start[:, before] = np.interp(starts[before], past_t, past_e)
        return ((e_end - e_start) / np.where(width > 0, width, np.inf)).max(axis=1)

    def summary(self) -> dict:
        """A JSON-ready record (what the forecast log keeps): the fan's quantiles on the grid
        and every replication's end-of-shift good parts and energy."""
        def arr(x):
            return [None if not np.isfinite(v) else round(float(v), 6) for v in np.ravel(x)]
        qs = self.quantiles()
        return {"made_at": self.made_at, "shift_start": self.shift_start,
                "shift_end": self.shift_end, "target": self.target,
                "good_so_far": None if not math.isfinite(self.good_so_far) else self.good_so_far,
                "energy_so_far": self.energy_so_far,
                "times": arr(self.times), "p10": arr(qs[0.1]), "p50": arr(qs[0.5]),
                "p90": arr(qs[0.9]), "final_good": arr(self.final),
                "energy_kwh": arr(self.energy_kwh), "notes": list(self.notes),
                "gap_s": self.gap_s, "good_in_gaps": self.good_in_gaps,
                "unseen_s": self.unseen_s, "good_before_first": self.good_before_first}


@dataclass(frozen=True, eq=False)
class StoredForecast:
    """A forecast as the log keeps it: its fan (P10/P50/P90 on the grid) and the ensemble of
    end-of-shift values (enough to score it, ``twin.shadow.scoring``)."""

    made_at: float
    shift_start: float
    shift_end: float
    target: float | None
    good_so_far: float
    times: np.ndarray
    p10: np.ndarray
    p50: np.ndarray
    p90: np.ndarray
    final_good: np.ndarray
    energy_kwh: np.ndarray

    @classmethod
    def of(cls, f: Forecast | StoredForecast) -> StoredForecast:
        if isinstance(f, StoredForecast):
            return f
        return cls.from_record(f.summary())

    @classmethod
    def from_record(cls, r: dict) -> StoredForecast:
        def a(k):
            return np.array([np.nan if v is None else v for v in r[k]], float)
        g = r.get("good_so_far")
        return cls(float(r["made_at"]), float(r["shift_start"]), float(r["shift_end"]),
                   r.get("target"), np.nan if g is None else float(g), a("times"), a("p10"),
                   a("p50"), a("p90"), a("final_good"), a("energy_kwh"))


def shift_at(project: m.Project, recording: Recording, t: float) -> tuple[float, float]:
    """The shift ``(start, end)`` (s since the recording epoch) that contains ``t``, or the
    next one: from the project's calendar, else the recording's shifts (module docstring)."""
    cal = project.calendar
    if cal is None or not cal.shifts:
        spec = recording.shifts or list(DEFAULT_SHIFTS_JSON)
        parsed = parse_shifts(spec, file=str(recording.path), path="shifts")
        # the edges Replay cuts its per-shift KPIs at (twin.recording.kpi)
        edges = [e for e, _ in _shift_edges(recording, t, t + 86400.0, parsed)]
        k = max(i for i, e in enumerate(edges) if e <= t)
        return edges[k], edges[k + 1]
    k = math.floor(t / cal.period)
    spans = sorted((c * cal.period + p.start, c * cal.period + p.end)
                   for c in (k - 1, k, k + 1) for p in cal.shifts)
    for a, b in spans:
        if a <= t < b:
            return a, b
    return next((a, b) for a, b in spans if a > t)


def _alerts_setting(project: m.Project, name: str) -> float | None:
    """A number of the project's ``alerts`` section (parsed and checked by
    ``twin.projectfile``, issue 16 §4), or None where the project has none."""
    value = getattr(getattr(project, "alerts", None), name, None)
    return None if value is None else float(value)


def project_target(project: m.Project) -> float | None:
    """The shift target the project gives (``$.alerts.shift_target``), if any."""
    return _alerts_setting(project, "shift_target")


def project_every(project: m.Project) -> float:
    """Seconds of plant time between rolling forecasts: ``$.alerts.forecast_every``, else
    :data:`EVERY`."""
    every = _alerts_setting(project, "forecast_every")
    return EVERY if every is None else every


class _Fork:
    """What a series of forecasts of one project reuses: the scenario applied once."""

    def __init__(self, project: m.Project, scenario: str | None = None,
                 variant: m.Project | None = None) -> None:
        self.project = project
        self.scenario = scenario
        self.variant = variant if variant is not None else with_scenario(project, scenario)


def forecast_at(project: m.Project, recording: Recording, t: float, *,
                replications: int = REPLICATIONS, seed: int = 1, target: float | None = None,
                shift: tuple[float, float] | None = None,
                scenario: str | None = None, variant: m.Project | None = None,
                assets: dict | None = None, workers: int | None = None,
                task: TaskState | None = None, replays: dict | None = None) -> Forecast:
    """Forecast the rest of the shift from the recorded state at ``t`` (module docstring).

    Parameters
    ----------
    project : twin.model.elements.Project
    recording : twin.recording.Recording
        Read up to what it holds now (a live SWMR recording is refreshed by the reader).
    t : float
        Plant time to fork from, inside the recording.
    replications, seed : int
    target : float, optional
        The shift's target of good parts (default: the project's, if it has one).
    shift : (float, float), optional
        Start and end of the shift (default :func:`shift_at`).
    scenario, variant, assets, workers, task
        As :func:`twin.whatif.fork.fork_from_recording` (``workers`` None: one per core).
    replays : dict, optional
        ``replay_recording(recording)`` when read already.

    Raises
    ------
    ForecastError, twin.whatif.fork.ForkError
        For a bad shift, or what a fork refuses.
    """
    t = float(recording.time_of(t))
    start, end = shift if shift is not None else shift_at(project, recording, t)
    if not end > t:
        raise ForecastError(f"the shift [{start:g}, {end:g}) s has ended at t={t:g} s; "
                            "forecast from a time inside it")
    if variant is None:
        variant = with_scenario(project, scenario)
    target = project_target(project) if target is None else float(target)
    replays = replay_recording(recording) if replays is None else replays
    step = max(GRID_STEP, end / MAX_SAMPLES)
    grid = max(1, math.ceil((end - t) / step))
    # one kernel call per replication (progress moves replication by replication, a cancel
    # waits for the kernel's next pause, ~0.2 s at most), only the paths kept
    fr = fork_from_recording(project, recording, t, end, replications, seed, scenario,
                             assets=assets, grid=grid, task=task, workers=workers,
                             variant=variant, replays=replays, chunks=FORECAST_CHUNKS,
                             keep_replications=False)
    servers = station_channels(variant, recording, replays, assets)
    t0 = min(start, t)
    first = max(t0, extent(replays)[0])
    recent_t = np.linspace(max(first, t - PEAK_WINDOW), t, 16)
    rec_good, rec_kwh = recorded_since(variant, replays, servers, first,
                                       np.concatenate((recent_t, [t])))
    so_far, e_so_far = float(rec_good[-1]), float(rec_kwh[-1])
    gap_s, in_gaps = _gap_parts(recording, first, t, so_far, fr.output_paths[:, -1])
    unseen_s = max(0.0, first - t0)
    future_s = end - t
    before_first = (fr.output_paths[:, -1] / future_s * unseen_s
                    if unseen_s > 0 and future_s > 0 else np.zeros(len(in_gaps)))
    times = fr.times
    dt = np.diff(np.concatenate(([t], times)))
    steps = np.diff(np.concatenate((np.zeros((fr.energy_paths.shape[0], 1)), fr.energy_paths),
                                   axis=1), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        power = np.where(dt > 0, steps * 3600.0 / np.where(dt > 0, dt, 1.0), np.nan)
    if power.shape[1] > 1 and not dt[0] > 0:
        power[:, 0] = power[:, 1]
    return Forecast(made_at=t, shift_start=start, shift_end=end, target=target, times=times,
                    good=so_far + (in_gaps + before_first)[:, None] + fr.output_paths,
                    power_kw=np.nan_to_num(power),
                    energy_kwh=e_so_far + fr.energy_paths[:, -1], good_so_far=so_far,
                    energy_so_far=e_so_far, recent_t=recent_t[:-1], recent_kwh=rec_kwh[:-2],
                    notes=tuple(fr.notes), gap_s=gap_s,
                    good_in_gaps=float(np.median(in_gaps)) if len(in_gaps) else 0.0,
                    unseen_s=unseen_s,
                    good_before_first=float(np.median(before_first)) if len(before_first)
                    else 0.0)


def _gap_parts(recording: Recording, t0: float, t: float, so_far: float,
               future: np.ndarray) -> tuple[float, np.ndarray]:
    """Seconds of link gaps between ``t0`` and ``t``, and per replication the good parts
    counted for them: the plant ran while the recording saw nothing (a broker restart lost 31
    minutes; counted as no output they made a forecast 700 parts short and raised "shift
    target at risk"). The recorded rate of the rest of the shift, times the gap's length,
    scaled per replication by its future output over the mean (the twin's spread of a rate).
    """
    gs, ge = merged_gaps(recording.gaps)
    gap_s = float(np.sum(np.clip(np.minimum(ge, t) - np.maximum(gs, t0), 0.0, None)))
    seen = t - t0 - gap_s
    if not (gap_s > 0 and seen > 0 and math.isfinite(so_far)):
        return gap_s, np.zeros(len(future))
    mean = float(np.mean(future)) if len(future) else 0.0
    spread = future / mean if mean > 0 else np.ones(len(future))
    return gap_s, so_far / seen * gap_s * spread


def log_path(recording_path: str | os.PathLike) -> Path:
    """Where the forecasts of a recording are kept: ``<recording>.forecasts.jsonl``."""
    p = Path(recording_path)
    return p.with_name(p.name + ".forecasts.jsonl")


class ForecastLog:
    """Forecasts appended to a JSON-lines file beside the recording (``docs/shadow.md``).

    The first line names the format; each further line is one :meth:`Forecast.summary`.
    A line is written whole and flushed, so a killed session loses at most the forecast it
    was writing; :meth:`read` skips a torn last line.
    """

    def __init__(self, path: str | os.PathLike, meta: dict | None = None) -> None:
        self.path = Path(path)
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        self._f = self.path.open("a", encoding="utf-8")
        if fresh:
            self._write({"format": LOG_FORMAT, "version": LOG_VERSION, **(meta or {})})

    def _write(self, obj: dict) -> None:
        self._f.write(json.dumps(obj, allow_nan=False) + "\n")
        self._f.flush()

    def append(self, f: Forecast) -> None:
        self._write(f.summary())

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> ForecastLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @staticmethod
    def read(path: str | os.PathLike) -> list[StoredForecast]:
        """The forecasts kept in ``path``. Raises ``ForecastError`` for a file that is not a
        forecast log or holds a bad line (other than a torn last one)."""
        path = Path(path)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as e:
            raise ForecastError(f"{path}: cannot read the forecast log ({e.strerror})") from None
        try:
            head = json.loads(lines[0]) if lines else {}
        except json.JSONDecodeError:
            head = {}
        if head.get("format") != LOG_FORMAT:
            raise ForecastError(f"{path}: not a twinbench forecast log (its first line must "
                                f"name the format {LOG_FORMAT!r})")
        out = []
        for k, line in enumerate(lines[1:], start=2):
            try:
                out.append(StoredForecast.from_record(json.loads(line)))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
                if k == len(lines):
                    break  # torn by a killed writer
                raise ForecastError(f"{path}, line {k}: not a forecast ({e})") from None
        return out


class RollingForecaster:
    """Forecast again every ``every`` seconds of plant time (module docstring; default the
    project's ``alerts.forecast_every``, else 60 s).

    Call :meth:`due` with the newest plant time the recording holds; it lists the times a
    forecast is owed for (the grid ``t0, t0 + every, ...``; while live, only the newest one
    owed, so that a slow machine skips rather than falls behind). :meth:`forecast` makes and
    logs one.
    """

    def __init__(self, project: m.Project, *, every: float | None = None,
                 replications: int = REPLICATIONS, seed: int = 1, target: float | None = None,
                 scenario: str | None = None,
                 variant: m.Project | None = None, assets: dict | None = None,
                 workers: int | None = None, log: ForecastLog | None = None,
                 start: float | None = None, keep: bool = True) -> None:
        every = project_every(project) if every is None else every
        if not (isinstance(every, int | float) and math.isfinite(every) and every > 0):
            raise ForecastError(f"forecast_every={every!r} must be a duration > 0 s")
        self.fork = _Fork(project, scenario, variant)
        self.every = float(every)
        self.replications, self.seed, self.target = replications, seed, target
        self.assets, self.workers = assets, workers
        self.log = log
        self.next_t = start
        self.keep = keep  # False: a live session's hundreds of forecasts are not held
        self.forecasts: list[Forecast] = []

    def due(self, t_now: float, catch_up: bool = True) -> list[float]:
        """Plant times up to ``t_now`` a forecast is owed for (and moves past them)."""
        if self.next_t is None:
            self.next_t = math.ceil(t_now / self.every) * self.every
        out = []
        while self.next_t <= t_now:
            out.append(self.next_t)
            self.next_t += self.every
        return out if catch_up else out[-1:]

    def forecast(self, recording: Recording, t: float, task: TaskState | None = None,
                 replays: dict | None = None) -> Forecast:
        """Forecast from ``t``, keep it and log it (``replays``: the recording read already,
        when it does not grow)."""
        f = forecast_at(self.fork.project, recording, t, replications=self.replications,
                        seed=self.seed, target=self.target,
                        variant=self.fork.variant, assets=self.assets, workers=self.workers,
                        task=task, replays=replays)
        if self.keep:
            self.forecasts.append(f)
        if self.log is not None:
            self.log.append(f)
        return f

    def run(self, recording: Recording, t0: float, t1: float,
            task: TaskState | None = None):
        """Forecast at ``t0, t0 + every, ...`` up to ``t1`` (a replay: the recording is read
        once for all of them); yields each."""
        self.next_t = float(t0)
        replays = replay_recording(recording)
        for t in self.due(float(t1)):
            yield self.forecast(recording, t, task, replays)


def newest_step(replays: dict, every: float, after: float = -math.inf) -> float | None:
    """The newest multiple of ``every`` (s of plant time) inside a growing recording
    (``replays``), if later than ``after``: where a live forecast is owed (a slow machine
    skips steps rather than falls behind). None when nothing is recorded yet or that step
    was forecast already."""
    first, last = extent(replays) if replays else (math.nan, math.nan)
    if not (math.isfinite(first) and math.isfinite(last)):
        return None
    t = math.floor((last - 1e-6) / every) * every
    return None if t < first or t <= after else t


def new_step_recorded(newest: float | None, epoch_s: float | None, every: float,
                      after: float) -> bool:
    """Whether the plant's newest reading (``newest``, s since the Unix epoch, as a live
    recorder's ``report.last``) lies past a step of ``every`` later than ``after`` (s since
    the recording's epoch ``epoch_s``): only then is a growing recording worth reading for a
    live forecast (reading a shift's recording takes 0.1-0.2 s). True when either is not
    known yet."""
    if newest is None or epoch_s is None:
        return True
    return math.floor((newest - epoch_s - 1e-6) / every) * every > after


class LiveForecasts:
    """The rolling forecast beside a live recorder (``twinbench live --forecast``), on a
    thread of its own so that the recorder and the command's loop never wait for it.

    Every ``poll_s`` wall seconds the thread looks at the recording at ``record`` and, when
    a new step of ``every`` s of plant time is recorded, forecasts the shift from the newest
    (:func:`newest_step`) and appends it to the log beside the
    recording (``<recording>.forecasts.jsonl``, as ``twinbench replay --save-forecasts``
    and the workbench keep them). :meth:`take`, on the caller's thread, returns what came
    since: ``(forecast, epoch_s)`` pairs (``epoch_s``: the recording's epoch, s since the
    Unix epoch) and the messages of forecasts that could not be made (``ForecastError``,
    ``ForkError``: the session goes on). An internal error ends the thread and is raised by
    :meth:`take`.

    ``newest``, when given, returns the plant time of the newest reading (s since the Unix
    epoch, None before the first; the recorder's ``report.last``): the recording is then read
    only when a new step is due (:func:`new_step_recorded`), not every ``poll_s`` (a
    forecast a minute read it sixty times for nothing).
    """

    def __init__(self, project: m.Project, record: str | os.PathLike, *,
                 every: float | None = None, replications: int = REPLICATIONS, seed: int = 1,
                 target: float | None = None, scenario: str | None = None,
                 workers: int | None = None, overwrite: bool = False,
                 poll_s: float = 1.0, newest=None) -> None:
        import queue
        import threading

        self.path = Path(record)
        self.roll = RollingForecaster(project, every=every, replications=replications,
                                      seed=seed, target=target, scenario=scenario,
                                      workers=workers, keep=False)
        log = log_path(self.path)
        if log.exists() and not overwrite:
            raise ForecastError(f"{log}: exists (forecasts of an earlier session); choose "
                                "another recording, or overwrite both with --force")
        log.unlink(missing_ok=True)
        self.roll.log = ForecastLog(log, {"project": project.name})
        self.poll_s = float(poll_s)
        self.newest = newest
        self.made = 0
        self._out: queue.SimpleQueue = queue.SimpleQueue()
        self._task = TaskState()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="live-forecast",
                                        daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        from twin.tasks import Cancelled

        last, epoch = -math.inf, None
        while not self._stop.wait(self.poll_s):
            if not self.path.exists():  # the recorder makes it at the first reading
                continue
            if self.newest is not None and not new_step_recorded(
                    self.newest(), epoch, self.roll.every, last):
                continue  # no new step yet: the recording is not read
            t = None
            try:
                with Recording.open(self.path) as rec:  # SWMR, beside the recorder
                    epoch = rec.epoch_utc.timestamp()
                    replays = replay_recording(rec)
                    t = newest_step(replays, self.roll.every, last)
                    if t is None:
                        continue
                    f = self.roll.forecast(rec, t, self._task, replays)
                self.made += 1
                self._out.put((f, epoch))
            except Cancelled:
                return
            except InputError as e:  # this step cannot be forecast: say so, go on
                self._out.put(f"t={t:g} s: {e}" if t is not None else str(e))
            except BaseException as e:  # a bug: handed to the caller's thread
                self._out.put(e)
                return
            if t is not None:
                last = t

    def take(self) -> list:
        """What the thread made since the last call, in order (module docstring)."""
        out = []
        while not self._out.empty():
            item = self._out.get()
            if isinstance(item, BaseException):
                raise item
            out.append(item)
        return out

    def close(self, timeout: float = 30.0) -> None:
        """Stop (a forecast under way is cancelled within a kernel pause) and close the log."""
        self._stop.set()
        self._task.request_interruption()
        self._thread.join(timeout)
        if self.roll.log is not None:
            self.roll.log.close()

