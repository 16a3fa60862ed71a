"""``twinbench replay FILE --forecast``: the shadow twin's rolling forecast over a recording.

Forecasts the rest of the shift every ``--every`` of plant time between ``--from`` and
``--to`` (default the whole recording), as the workbench does while the recording plays, and
prints for each: when it was made, the shift, P10/P50/P90 of the shift's good parts, the
probability of missing ``--target`` and what the shift actually made. ``--save-forecasts``
keeps them beside the recording (``twin.shadow.forecast.ForecastLog``) for scoring.
"""

from __future__ import annotations

import argparse
import json
import math

from app.cli.common import (
    ProgressBar,
    UsageError,
    duration_arg,
    format_table,
    replications_arg,
    seed_arg,
)
from twin.tasks import TaskState


def add_options(r: argparse.ArgumentParser) -> None:
    """The ``--forecast`` options of ``twinbench replay``."""
    g = r.add_argument_group("forecast (the shadow twin, docs/shadow.md)")
    g.add_argument("--forecast", action="store_true",
                   help="forecast the rest of each shift every --every of plant time")
    g.add_argument("--project", metavar="P", help="a project folder or project.json: with "
                   "--forecast the twin, with --alerts its rules and model; alone, its energy "
                   "context (`tariff`) prices the recorded power (cost, 15-min peak, CO2)")
    g.add_argument("--every", type=lambda s: duration_arg(s, lo_open=True), default=None,
                   metavar="DURATION", help="plant time between forecasts (default 60 s)")
    g.add_argument("--replications", type=replications_arg, default=200,
                   help="replications per forecast (default 200)")
    g.add_argument("--seed", type=seed_arg, default=1)
    g.add_argument("--scenario", help="scenario of the project to forecast with")
    g.add_argument("--target", type=float, help="the shift's target of good parts")
    g.add_argument("--save-forecasts", action="store_true",
                   help="keep the forecasts in RECORDING.forecasts.jsonl")
    g.add_argument("--quiet", action="store_true", help="no progress on stderr")


def add_live_options(p: argparse.ArgumentParser) -> None:
    """The ``--forecast`` options of ``twinbench live``."""
    g = p.add_argument_group("forecast (the shadow twin, docs/shadow.md)")
    g.add_argument("--forecast", action="store_true",
                   help="forecast the rest of the shift with the project's twin every "
                        "--every of plant time, from the newest recorded state: P10/P50/P90 "
                        "of the shift's good parts printed, each forecast kept in "
                        "RECORDING.forecasts.jsonl and given to the alert rules")
    g.add_argument("--every", type=lambda s: duration_arg(s, lo_open=True), default=None,
                   metavar="DURATION", help="plant time between forecasts (default 60 s)")
    g.add_argument("--replications", type=replications_arg, default=None,
                   help="replications per forecast (default 200)")
    g.add_argument("--seed", type=seed_arg, default=None, help="default 1")
    g.add_argument("--scenario", help="scenario of the project to forecast with")
    g.add_argument("--target", type=_target_arg, default=None, metavar="N",
                   help="the shift's target of good parts (default: the project's "
                        "alerts.shift_target)")


def _target_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of good parts >= 0")
    return value


def live_forecasts(args: argparse.Namespace, project, recorder):
    """``twinbench live --forecast``: the rolling forecast beside ``recorder``
    (``twin.shadow.forecast.LiveForecasts``), or None without ``--forecast``."""
    from twin.shadow.forecast import REPLICATIONS, LiveForecasts

    given = [flag for flag, v in (("--every", args.every), ("--replications", args.replications),
                                  ("--seed", args.seed), ("--scenario", args.scenario),
                                  ("--target", args.target)) if v is not None]
    if not args.forecast:
        if given:
            raise UsageError(f"{given[0]} sets the rolling forecast: give it with --forecast")
        return None
    reps = REPLICATIONS if args.replications is None else args.replications
    return LiveForecasts(project, args.record, every=args.every, replications=reps,
                         seed=1 if args.seed is None else args.seed, target=args.target,
                         scenario=args.scenario, overwrite=args.force,
                         newest=lambda: recorder.report.last)


def forecast_line(f, epoch_s: float, time_zone: str = "UTC") -> str:
    """One line of ``twinbench live --forecast``: when, the shift, the parts so far, P10/P50/P90
    at the shift's end and, with a target, the chance of missing it."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    def clock(t: float, fmt: str = "%H:%M") -> str:
        return datetime.fromtimestamp(epoch_s + t, ZoneInfo(time_zone)).strftime(fmt)

    q = {p: float(v[-1]) for p, v in f.quantiles().items()}
    line = (f"{clock(f.made_at, '%Y-%m-%d %H:%M:%S')} FORECAST shift {clock(f.shift_start)}-"
            f"{clock(f.shift_end)}: {_cell(f.good_so_far)} good parts so far{_gaps(f)}; by "
            f"{clock(f.shift_end)} P10 {_cell(q[0.1])}, P50 {_cell(q[0.5])}, P90 "
            f"{_cell(q[0.9])} ({f.replications} replications)")
    if f.target is not None:
        line += f"; P(below target {f.target:,.0f}) {100 * f.p_below(f.target):.0f}%"
    return line


def _gaps(f) -> str:
    """What the fan counts for the link gaps of the shift (none: nothing)."""
    out = ""
    unseen_s = getattr(f, "unseen_s", 0.0)
    if unseen_s > 0:
        out += (f" (+ about {_cell(f.good_before_first)} counted at the twin's run rate for "
                f"{_minutes(unseen_s)} of the shift before the first reading)")
    gap_s = getattr(f, "gap_s", 0.0)
    if gap_s > 0:
        out += (f" (+ about {_cell(f.good_in_gaps)} counted for {gap_s / 60:.0f} min without "
                "data)")
    return out


def _minutes(s: float) -> str:
    m = round(s / 60)
    return f"{m // 60} h {m % 60:02d} min" if m >= 60 else f"{m} min"


def _cell(v: float | None, digits: int = 0) -> str:
    return "-" if v is None or not math.isfinite(v) else f"{v:.{digits}f}"


def run_forecast(args: argparse.Namespace, rec, window: tuple[float, float] | None) -> int:
    """Handle ``twinbench replay --forecast``; return the exit code."""
    from twin.projectfile.reader import load_project
    from twin.recording import extent, replay_recording
    from twin.shadow.forecast import ForecastLog, RollingForecaster, log_path, project_every
    from twin.shadow.scoring import actual_good

    if not args.project:
        raise UsageError("--forecast needs the twin's project: add --project PROJECT")
    project = load_project(args.project)
    replays = replay_recording(rec)
    t0, t1 = window or extent(replays)
    every = project_every(project) if args.every is None else args.every
    log = ForecastLog(log_path(rec.path), {"project": str(args.project)}) \
        if args.save_forecasts else None
    roll = RollingForecaster(project, every=every, replications=args.replications,
                             seed=args.seed, target=args.target, scenario=args.scenario,
                             log=log)
    rows, docs = [], []
    last = extent(replays)[1]
    times = [t0 + k * every for k in range(int((t1 - t0) // every) + 1)]
    times = [t for t in times if t < last]
    try:
        with ProgressBar("forecasting", enabled=not args.quiet) as bar:
            for k, t in enumerate(times):
                bar(100.0 * k / max(len(times), 1))
                f = roll.forecast(rec, t, TaskState(), replays)
                q = {p: float(v[-1]) for p, v in f.quantiles().items()}
                actual = (actual_good(project, rec, f.shift_start, f.shift_end,
                                      replays=replays) if f.shift_end <= last else math.nan)
                p_miss = f.p_below(f.target) if f.target is not None else None
                docs.append({"made_at": f.made_at, "shift_start": f.shift_start,
                             "shift_end": f.shift_end, "good_so_far": _num(f.good_so_far),
                             "p10": q[0.1], "p50": q[0.5], "p90": q[0.9],
                             "energy_kwh_p50": float(sorted(f.energy_kwh)[len(f.energy_kwh) // 2]),
                             "target": f.target, "p_below_target": p_miss,
                             "actual": _num(actual), "notes": list(f.notes)})
                rows.append([_cell(f.made_at), f"{_cell(f.shift_start)}-{_cell(f.shift_end)}",
                             _cell(f.good_so_far), _cell(q[0.1]), _cell(q[0.5]), _cell(q[0.9]),
                             "-" if p_miss is None else f"{100 * p_miss:.0f}%", _cell(actual)])
            bar(100.0)
    finally:
        if log is not None:
            log.close()
    if args.json:
        print(json.dumps({"recording": str(rec.path), "every_s": every,
                          "replications": args.replications, "forecasts": docs}, indent=2))
        return 0
    print(f"Forecasts of the shift's good parts, {args.replications} replications each "
          f"(times in s since the recording epoch)")
    print(format_table(["made at", "shift", "so far", "P10", "P50", "P90", "P(miss)",
                        "actual"], rows, left=2, rule=True))
    if log is not None:
        print(f"forecasts kept in {log.path}")
    return 0


def feeding(args: argparse.Namespace, rec, project, engine, batches):
    """``replay --alerts --forecast``: pass the playback's batches through, and as plant time
    reaches each forecast time (every ``--every``), forecast the shift from there and hand the
    forecast to the alert ``engine`` (its shift-target and forecast peak rules)."""
    from twin.recording import extent, replay_recording
    from twin.shadow.forecast import RollingForecaster, project_every

    replays = replay_recording(rec)
    last = extent(replays)[1]
    every = project_every(project) if args.every is None else args.every
    roll = RollingForecaster(project, every=every, replications=args.replications,
                             seed=args.seed, target=args.target, scenario=args.scenario)
    for t_end, batch in batches:
        yield t_end, batch
        if batch is None:  # a link gap
            continue
        t = t_end - engine.epoch_s  # the recording's clock
        if roll.next_t is None:  # the first forecast once a step of the shift is recorded
            roll.next_t = t + every
        for at in (a for a in roll.due(t) if a < last):
            engine.forecast(roll.forecast(rec, at, TaskState(), replays))


def _num(v: float) -> float | None:
    return None if not math.isfinite(v) else float(v)
