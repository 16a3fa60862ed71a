"""``twinbench import`` and ``twinbench replay``: recordings from the command line.

:func:`add_commands` adds both to the main parser's subparsers; each sets ``func`` to a
handler that takes the parsed arguments and returns 0. A user error raises a
``twin.errors.InputError``, which ``app.cli`` turns into exit code 2 (``app.cli.common``).
No Qt here: this runs on headless machines.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

from app.cli import forecast
from app.cli.common import (
    ProgressBar,
    UsageError,
    format_table,
    number,
    output_file,
    percent,
    user_files,
)
from twin.errors import printable
from twin.recording import (
    Recording,
    daily_kpis,
    extent,
    import_recording,
    importers,
    recording_kpis,
    replay_recording,
    shift_kpis,
)
from twin.recording.errors import RecordingError
from twin.tasks import TaskState


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``import`` and ``replay`` subcommands.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        What ``ArgumentParser.add_subparsers()`` returned.
    """
    p = subparsers.add_parser(
        "import",
        help="import a CSV/Parquet data file into a recording (.h5)",
        description="Import shop-floor data through a mapping file into a twinbench "
                    "recording. Prints the import report; progress goes to stderr.",
    )
    p.add_argument("data", help="data file (.csv, .csv.gz, .parquet)")
    p.add_argument("--mapping", required=True, help="mapping file (JSON)")
    p.add_argument("--out", required=True, help="recording to create (.h5)")
    p.add_argument("--importer", choices=[s.identifier for s in importers()],
                   help="importer to use (default: guessed from the file)")
    p.add_argument("--on-bad-rows", choices=("report", "fail"),
                   help="override the mapping: count bad rows in the report, or stop at the "
                        "first one")
    p.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=run_import, if_interrupted=_not_written)

    r = subparsers.add_parser(
        "replay",
        help="replay a recording and print KPIs per asset",
        description="Replay a recording and print per-asset KPIs: parts, energy, OEE "
                    "(availability, performance, quality), MTBF, MTTR and time per state.",
    )
    r.add_argument("recording", help="recording file (.h5)")
    r.add_argument("--json", action="store_true", help="print one JSON document")
    r.add_argument("--from", dest="t_from", metavar="T",
                   help="window start: ISO 8601 (naive = plant time zone) or seconds since "
                        "the recording epoch")
    r.add_argument("--to", dest="t_to", metavar="T", help="window end, like --from")
    r.add_argument("--by", choices=("day", "shift"), help="also break KPIs down per day/shift")
    r.add_argument("--alerts", action="store_true", help="run the --project's alert rules on "
                   "the recording instead (one line per alert; --json: one JSON line each); "
                   "with --forecast, the forecasts feed the shift-target and peak rules")
    forecast.add_options(r)
    r.set_defaults(func=run_replay)


# --- import --------------------------------------------------------------------------------


def run_import(args: argparse.Namespace) -> int:
    """Handle ``twinbench import``; return the exit code."""
    started = time.perf_counter()
    output_file(args.out, args.force, reads=[args.data, args.mapping])
    with user_files(args.data, args.mapping, args.out), \
            ProgressBar("importing", enabled=not args.quiet) as bar:
        report = import_recording(
            args.data, args.mapping, args.out, task=TaskState(bar), importer=args.importer,
            overwrite=args.force, on_bad_rows=args.on_bad_rows,
        )
    print(printable(report.format(), newlines=True))  # asset ids come from the data file
    rate = report.rows_read / max(time.perf_counter() - started, 1e-9)
    print(f"wrote {args.out} ({report.rows_read:,} rows, {rate:,.0f} rows/s)")
    return 0


def _not_written(args: argparse.Namespace) -> str:
    return f"{args.out} was not written"


# --- replay --------------------------------------------------------------------------------


def _time_arg(recording: Recording, text: str | None, flag: str) -> float | None:
    """``--from``/``--to``: seconds since the epoch or ISO 8601, inside the supported range
    (``Recording.time_of`` checks both forms)."""
    if text is None:
        return None
    try:
        value: float | str = float(text)
    except ValueError:
        value = text
    try:
        return recording.time_of(value)
    except RecordingError as exc:
        raise RecordingError(f"{flag} {text!r}: {exc}") from None


_COLUMNS = (
    ("asset", 8), ("name", 14), ("parts", 9), ("scrap", 7), ("kWh", 10), ("kWh/part", 9),
    ("OEE", 7), ("avail", 7), ("perf", 7), ("qual", 7), ("fails", 6), ("MTBF h", 8),
    ("MTTR min", 9), ("busy h", 8), ("down h", 8), ("no data h", 10), ("mean WIP", 9),
)


def _row(label: str, k) -> list[str]:
    st = k.state_time_s
    # a conveyor or buffer records a level, no state: no state times or failures ("-"), and
    # its no-data time is only the time before its level was known (twin.recording.kpi)
    machine = not getattr(k, "level_only", False)
    return [
        label, k.name[:14], number(k.parts_out, digits=0), number(k.scrap, digits=0),
        number(k.energy_kwh, digits=2), number(k.energy_per_part_kwh, digits=3),
        percent(k.oee), percent(k.availability), percent(k.performance), percent(k.quality),
        str(k.failures) if machine else "-", number(k.mtbf_s, 3600.0), number(k.mttr_s, 60.0),
        number(st["busy"] if machine else None, 3600.0),
        number(st["down"] if machine else None, 3600.0), number(st["no_data"], 3600.0),
        number(k.mean_level, digits=1),
    ]


def _table(rows: list[list[str]]) -> str:
    return format_table([name for name, _ in _COLUMNS], rows, left=2,
                        widths=[w for _, w in _COLUMNS], rule=True)


def run_replay(args: argparse.Namespace) -> int:
    """Handle ``twinbench replay``; return the exit code."""
    if args.alerts:
        return _replay_alerts(args)
    files = (args.recording,) + ((args.project,) if args.project else ())
    with user_files(*files), Recording.open(args.recording) as rec:
        t0 = _time_arg(rec, args.t_from, "--from")
        t1 = _time_arg(rec, args.t_to, "--to")
        window = None
        if t0 is not None or t1 is not None:
            span = extent(replay_recording(rec))
            window = (span[0] if t0 is None else t0, span[1] if t1 is None else t1)
            if not window[1] > window[0]:
                raise UsageError(f"--to ({args.t_to or 'end'}) must be after --from "
                                 f"({args.t_from or 'start'})")
        if args.forecast:
            return forecast.run_forecast(args, rec, window)
        kpis = recording_kpis(rec, window)
        periods = {}
        if args.by:
            fn = daily_kpis if args.by == "day" else shift_kpis
            periods = {a: fn(rec, a, window) for a in kpis}
        energy = _energy(rec, args.project, window) if args.project else None
        if args.json:
            doc = _document(rec, kpis, periods)
            if energy is not None:
                doc["energy"] = energy
            text = json.dumps(doc, indent=2)
        else:
            text = _text(rec, kpis, periods) + (_energy_text(energy) if energy else "")
    print(text if args.json else printable(text, newlines=True))
    sys.stdout.flush()
    return 0


def _energy(rec: Recording, project_path: str, window) -> dict:
    """``--project P`` without ``--alerts``: cost, 15-min peak and CO2 of the recorded power
    under the project's energy context (twin.recording.energy)."""
    from twin.projectfile.reader import load_project
    from twin.recording.energy import recording_energy, recording_shifts_by_asset, recording_site

    project = load_project(project_path)
    if project.tariff is None:
        # refused rather than the KPIs without the money: --project alone asks for the
        # pricing (tests/app/test_forecast_cli.py holds the exit code 2)
        raise UsageError(f"--project {project_path}: project {project.name!r} has no energy "
                         "context to price the recorded power with; add a `tariff` section "
                         "(docs/energy.md), or leave out --project for the KPIs alone "
                         "(--alerts and --forecast use the project without one)")
    figures = recording_energy(rec, project.tariff, window)
    site = {k: (v if math.isfinite(v) else None)  # PV and battery: twin.energy_site
            for k, v in recording_site(rec, project.tariff, window).items()}
    fin = lambda v: v if math.isfinite(v) else None  # noqa: E731
    shifts, per_asset = recording_shifts_by_asset(  # per shift: twin.energy_shifts
        rec, project.tariff, project.calendar, window) if project.calendar else ({}, {})
    shifts = {k: fin(v) for k, v in shifts.items()}
    assets = {a: k.to_dict() for a, k in figures.items()}
    for a, by in per_asset.items():  # each asset's energy, energy part and CO2 per shift
        assets[a]["shifts"] = {n: {f: fin(v) for f, v in d.items()} for n, d in by.items()}
    return {"project": project.name, "currency": project.tariff.currency,
            **{("line" if a == "total" else a): k for a, k in assets.items()},
            **({"site": site} if site else {}), **({"shifts": shifts} if shifts else {})}


def _energy_text(energy: dict) -> str:
    cur = energy["currency"]
    header = ["", "kWh", f"cost {cur}", f"energy {cur}", f"demand {cur}", "peak 15min kW",
              "CO2 kg", f"{cur}/part", "kg CO2/part"]
    rows = [[printable("all assets" if a == "line" else f"asset {a}")]
            + [number(k[f], digits=d) for f, d in (
                ("energy_kwh", 1), ("energy_cost", 2), ("energy_cost_energy", 2),
                ("energy_cost_demand", 2), ("peak_kw_15min", 2), ("co2_kg", 1),
                ("energy_cost_per_part", 4), ("co2_kg_per_part", 4))]
            for a, k in energy.items() if isinstance(k, dict) and a not in ("site", "shifts")]
    text = (f"\n\nenergy under the energy context of {printable(energy['project'])} (the "
            "demand charge bills the coincident peak of all assets):\n"
            + format_table(header, rows, left=1, rule=True))
    site = energy.get("site")
    if site:
        text += ("\n\non-site PV and battery (all assets; docs/energy.md):\n" + format_table(
            ["", "value"], [[label, number(site[k], digits=d)] for k, label, d in SITE_ROWS
                            if k in site], left=1, rule=True))
    shifts = energy.get("shifts")
    if shifts:
        names = sorted({k.split(".")[1] for k in shifts if k.startswith("shifts.")})
        cols = (("energy_kwh", 1), ("energy_cost_energy", 2), ("peak_kw_15min", 2),
                ("co2_kg", 1), ("good_parts", 1), ("energy_cost_per_part", 4))
        text += ("\n\nper shift (means per occurrence of the calendar's shift; energy part "
                 "only: the demand charge is the billing period's):\n" + format_table(
                     ["shift", "kWh", f"energy {cur}", "peak 15min kW", "CO2 kg", "good parts",
                      f"{cur}/part"],
                     [[printable(n), *(number(shifts[f"shifts.{n}.{f}"], digits=d)
                                       for f, d in cols)] for n in names], left=1, rule=True))
    return text


#: The PV and battery figures ``twinbench replay --project`` prints, with their digits.
SITE_ROWS = (("pv_kwh", "PV produced kWh", 1), ("pv_self_kwh", "PV self-consumed kWh", 1),
             ("pv_self_share", "PV self-consumed share", 3),
             ("pv_export_kwh", "PV exported kWh", 1),
             ("battery_throughput_kwh", "battery throughput kWh", 1),
             ("battery_cycles", "battery full cycles", 2),
             ("grid_kwh", "grid import kWh", 1),
             ("grid_peak_kw_15min_no_battery", "grid peak 15min kW, no battery", 2),
             ("grid_peak_kw_15min", "grid peak 15min kW", 2),
             ("peak_shaved_kw", "peak shaved kW", 2),
             ("grid_cost_no_battery", "grid bill, no battery", 2),
             ("grid_cost", "grid bill", 2), ("grid_cost_demand", "  demand part", 2),
             ("pv_feed_in", "PV feed-in earned", 2), ("battery_saving", "saved by the battery", 2),
             ("grid_co2_kg", "grid CO2 kg", 1), ("grid_cost_per_part", "grid bill per part", 4))


def _replay_alerts(args: argparse.Namespace) -> int:
    """``twinbench replay FILE --alerts --project P``: the rules run on the recorded shift,
    as they ran live (``twin.shadow.playback``); the plant's time stands in for the wall
    clock of the ``no_data`` rule."""
    from twin.projectfile.reader import load_project
    from twin.shadow.alerts import AlertEngine, run_rules
    from twin.shadow.playback import playback

    if not args.project:
        raise UsageError("--alerts needs the project whose rules and model are used: "
                         "twinbench replay FILE --alerts --project PROJECT")
    with user_files(args.recording, args.project), Recording.open(args.recording) as rec:
        project = load_project(args.project)
        if not (project.alerts and project.alerts.rules):
            raise UsageError(f"--project {args.project}: project {project.name!r} has no alert "
                             "rules; add an `alerts` section (docs/project-format.md)")
        t0 = _time_arg(rec, args.t_from, "--from")
        t1 = _time_arg(rec, args.t_to, "--to")
        window = None if t0 is None and t1 is None else (
            -float("inf") if t0 is None else t0, float("inf") if t1 is None else t1)
        engine = AlertEngine(project, epoch_s=rec.epoch_utc.timestamp(),
                             time_zone=rec.time_zone)
        batches = playback(rec, window=window)
        changes: list = []
        if args.forecast:  # the shadow twin's forecasts, made as plant time passes them
            batches = forecast.feeding(args, rec, project, engine, batches)
            engine.listeners.append(changes.append)  # the forecasts' changes too, in order
            run_rules(engine, batches)
        else:
            changes = run_rules(engine, batches)
    for a in changes:
        print(json.dumps(a.to_dict()) if args.json else printable(a.line(rec.time_zone)))
    if not args.json:
        raised = [a for a in changes if a.state == "raised"]
        by_rule = ", ".join(f"{r} {n}" for r, n in sorted(
            {a.rule: sum(b.rule == a.rule for b in raised) for a in raised}.items()))
        print(f"{len(raised)} alert{'s' if len(raised) != 1 else ''} raised"
              + (f" ({by_rule})" if raised else "") + f" by {len(project.alerts.rules)} "
              f"rule{'s' if len(project.alerts.rules) != 1 else ''} of {project.name}")
    sys.stdout.flush()
    return 0


def _document(rec: Recording, kpis: dict, periods: dict) -> dict:
    any_k = next(iter(kpis.values()), None)
    doc = {
        "recording": str(rec.path),
        "source": rec.source,
        "time_zone": rec.time_zone,
        "epoch_utc": rec.epoch_utc.isoformat(),
        "window": None if any_k is None else {
            "from_s": any_k.t0, "to_s": any_k.t1,
            "from": rec.datetime_of(any_k.t0).isoformat(),
            "to": rec.datetime_of(any_k.t1).isoformat(),
        },
        "assets": {a: k.to_dict() for a, k in kpis.items()},
        "gaps": _gaps(rec),
    }
    if periods:
        doc["periods"] = {
            a: [{"label": p.label, "start": p.start, "end": p.end, **p.kpis.to_dict()}
                for p in ps]
            for a, ps in periods.items()
        }
    return doc


def _gaps(rec: Recording) -> list[dict]:
    """The recording's link gaps (schema 3; none in imported files)."""
    reasons = rec.labels("gap_reason")
    return [{"start_s": float(g["start"]), "end_s": float(g["end"]),
             "start": rec.datetime_of(g["start"]).isoformat(),
             "end": rec.datetime_of(g["end"]).isoformat(),
             "reason": reasons[g["reason"]] if g["reason"] >= 0 else ""}
            for g in rec.gaps]


def _text(rec: Recording, kpis: dict, periods: dict) -> str:
    lines = [f"{rec.path}  ({rec.shape}, time zone {rec.time_zone})", f"source: {rec.source}"]
    if kpis:
        k = next(iter(kpis.values()))
        lines.append(f"window: {rec.datetime_of(k.t0).isoformat()} .. "
                     f"{rec.datetime_of(k.t1).isoformat()}")
    gaps = _gaps(rec)
    if gaps:
        lost = sum(g["end_s"] - g["start_s"] for g in gaps)
        first = gaps[0]
        lines.append(f"link gaps: {len(gaps)}, {lost:,.0f} s without data (the live source "
                     f"was disconnected; no data in the KPIs); first {first['start']} "
                     f"({first['reason'] or 'no reason given'})")
    lines.append(_table([_row(a, k) for a, k in kpis.items()]))
    for a, k in kpis.items():
        lines.append(f"asset {a}: ideal cycle time {number(k.ideal_cycle_time_s)} s "
                     f"({k.ideal_cycle_time_source})")
    for a, ps in periods.items():
        lines.append("")
        lines.append(f"asset {a} by period:")
        lines.append(_table([_row(p.label, p.kpis) for p in ps]))
    return "\n".join(lines)
