"""``twinbench import``, ``twinbench replay`` and ``fork``: recordings from the command line.

:func:`add_commands` adds ``import`` and ``replay`` to the main parser's subparsers, and
:func:`add_fork_command` a ``fork`` with a progress bar (like ``twinbench run``) and the
work-in-process warning. Each sets ``func`` to a handler that takes the parsed arguments and
returns the exit code: 0 success, 1 bad input (the message names file, field, value and
fix), 130 interrupted. No Qt here: this runs on headless machines.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from typing import TextIO

from twin.errors import printable
from twin.recording import (
    Recording,
    RecordingError,
    daily_kpis,
    extent,
    import_recording,
    importers,
    recording_kpis,
    replay_recording,
    shift_kpis,
)
from twin.tasks import Cancelled, TaskState
from twin.units import parse_duration


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
    p.set_defaults(func=run_import)

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
    r.set_defaults(func=run_replay)


# --- import --------------------------------------------------------------------------------


class _Progress:
    """Progress on stderr: one updating line on a terminal, a line per 10 % otherwise."""

    def __init__(self, label: str, stream: TextIO, quiet: bool) -> None:
        self.label = label
        self.stream = stream
        self.quiet = quiet
        self.tty = stream.isatty()
        self._last = -10.0

    def __call__(self, value: float) -> None:
        if self.quiet:
            return
        if self.tty:
            self.stream.write(f"\rimporting {self.label}: {value:5.1f} %")
            self.stream.flush()
        elif value >= self._last + 10.0 or value >= 100.0 > self._last:
            self._last = value
            self.stream.write(f"importing {self.label}: {value:.0f} %\n")

    def done(self) -> None:
        if self.tty and not self.quiet:
            self.stream.write("\n")


def run_import(args: argparse.Namespace) -> int:
    """Handle ``twinbench import``; return the exit code."""
    progress = _Progress(args.data, sys.stderr, args.quiet)
    task = TaskState(progress)
    started = time.perf_counter()
    try:
        report = import_recording(
            args.data, args.mapping, args.out, task=task, importer=args.importer,
            overwrite=args.force, on_bad_rows=args.on_bad_rows,
        )
    except (Cancelled, KeyboardInterrupt):
        progress.done()
        print(f"twinbench import: interrupted; {args.out} was not written", file=sys.stderr)
        return 130
    except (RecordingError, OSError) as exc:
        progress.done()
        print(f"twinbench import: error: {printable(exc, newlines=True)}", file=sys.stderr)
        return 1
    progress.done()
    print(printable(report.format(), newlines=True))  # asset ids come from the data file
    rate = report.rows_read / max(time.perf_counter() - started, 1e-9)
    print(f"wrote {args.out} ({report.rows_read:,} rows, {rate:,.0f} rows/s)")
    return 0


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


def _fmt(value: float | None, scale: float = 1.0, digits: int = 1) -> str:
    return "-" if value is None else f"{value / scale:,.{digits}f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


_COLUMNS = (
    ("asset", 8), ("name", 14), ("parts", 9), ("scrap", 7), ("kWh", 10), ("kWh/part", 9),
    ("OEE", 7), ("avail", 7), ("perf", 7), ("qual", 7), ("fails", 6), ("MTBF h", 8),
    ("MTTR min", 9), ("busy h", 8), ("down h", 8), ("no data h", 10),
)


def _row(label: str, k) -> list[str]:
    st = k.state_time_s
    return [
        label, k.name[:14], _fmt(k.parts_out, digits=0), _fmt(k.scrap, digits=0),
        _fmt(k.energy_kwh, digits=2), _fmt(k.energy_per_part_kwh, digits=3), _pct(k.oee),
        _pct(k.availability), _pct(k.performance), _pct(k.quality), str(k.failures),
        _fmt(k.mtbf_s, 3600.0), _fmt(k.mttr_s, 60.0), _fmt(st["busy"], 3600.0),
        _fmt(st["down"], 3600.0), _fmt(st["no_data"], 3600.0),
    ]


def _table(rows: list[list[str]]) -> str:
    head = "  ".join(name.rjust(w) if i > 1 else name.ljust(w)
                     for i, (name, w) in enumerate(_COLUMNS))
    lines = [head, "-" * len(head)]
    for row in rows:
        lines.append("  ".join(cell.rjust(w) if i > 1 else cell.ljust(w)
                               for i, (cell, (_, w)) in enumerate(zip(row, _COLUMNS, strict=True))))
    return "\n".join(lines)


def run_replay(args: argparse.Namespace) -> int:
    """Handle ``twinbench replay``; return the exit code."""
    try:
        with Recording.open(args.recording) as rec:
            t0 = _time_arg(rec, args.t_from, "--from")
            t1 = _time_arg(rec, args.t_to, "--to")
            window = None
            if t0 is not None or t1 is not None:
                span = extent(replay_recording(rec))
                window = (span[0] if t0 is None else t0, span[1] if t1 is None else t1)
                if not window[1] > window[0]:
                    raise RecordingError(
                        f"--to ({args.t_to or 'end'}) must be after --from "
                        f"({args.t_from or 'start'})"
                    )
            kpis = recording_kpis(rec, window)
            periods = {}
            if args.by:
                fn = daily_kpis if args.by == "day" else shift_kpis
                periods = {a: fn(rec, a, window) for a in kpis}
            text = (json.dumps(_document(rec, kpis, periods), indent=2) if args.json
                    else _text(rec, kpis, periods))
            print(text if args.json else printable(text, newlines=True))
            sys.stdout.flush()
    except BrokenPipeError:
        raise  # not an error of the recording: app.cli.main ends the command quietly
    except (RecordingError, OSError, ValueError) as exc:
        print(f"twinbench replay: error: {printable(exc, newlines=True)}", file=sys.stderr)
        return 1
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
    }
    if periods:
        doc["periods"] = {
            a: [{"label": p.label, "start": p.start, "end": p.end, **p.kpis.to_dict()}
                for p in ps]
            for a, ps in periods.items()
        }
    return doc


def _text(rec: Recording, kpis: dict, periods: dict) -> str:
    lines = [f"{rec.path}  ({rec.shape}, time zone {rec.time_zone})", f"source: {rec.source}"]
    if kpis:
        k = next(iter(kpis.values()))
        lines.append(f"window: {rec.datetime_of(k.t0).isoformat()} .. "
                     f"{rec.datetime_of(k.t1).isoformat()}")
    lines.append(_table([_row(a, k) for a, k in kpis.items()]))
    for a, k in kpis.items():
        lines.append(f"asset {a}: ideal cycle time {_fmt(k.ideal_cycle_time_s)} s "
                     f"({k.ideal_cycle_time_source})")
    for a, ps in periods.items():
        lines.append("")
        lines.append(f"asset {a} by period:")
        lines.append(_table([_row(p.label, p.kpis) for p in ps]))
    return "\n".join(lines)



# --- fork ----------------------------------------------------------------------------------


def add_fork_command(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``fork`` subcommand (see :func:`run_fork`).

    This is the only ``fork`` command: the main parser (``app.cli``) adds it after
    ``calibrate`` (``app/cli_calibrate.py``, which has no ``fork`` of its own).
    """
    f = subparsers.add_parser(
        "fork", help="run a scenario from the recorded state at a moment of a recording",
        description="Start the twin in the state a recording shows at --at (machine states, "
                    "remaining repairs, recorded buffer levels) and run it until --until; "
                    "print P10/P50/P90 of output and energy beside what happened. Progress "
                    "goes to stderr.")
    f.add_argument("project", help="project folder or project.json")
    f.add_argument("recording", help="recording (.h5)")
    f.add_argument("--at", required=True, metavar="T",
                   help="fork time: a duration from the recording's first record (2h, "
                        "90min, 1h30min), seconds since the recording epoch (7200) or ISO "
                        "8601 (naive = plant time zone)")
    f.add_argument("--until", required=True, metavar="T", help="end time (same forms as --at)")
    f.add_argument("--replications", type=int, default=20)
    f.add_argument("--seed", type=int, default=1)
    f.add_argument("--scenario", default=None, help="scenario to run (default: the base)")
    f.add_argument("--asset", action="append", default=[], metavar="ASSET=ELEMENT[:SERVER]",
                   help="map a recorded asset to a station (and server) or, for an asset "
                        "with a level, to a buffer or conveyor (default: the recording's)")
    f.add_argument("--json", action="store_true", help="print the result as JSON")
    f.add_argument("--quiet", action="store_true", help="no progress bar")
    f.set_defaults(func=run_fork)


class _ForkTimes:
    """``--at``/``--until`` of ``twinbench fork`` as seconds since the recording epoch."""

    FORMS = ("a duration from the recording's first record (e.g. 2h, 90min, 1h30min)",
             "seconds since the recording epoch (e.g. 7200)",
             "ISO 8601 (e.g. 2024-05-06T08:00, naive = plant time zone)")

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self._start: float | None = None

    def start(self) -> float:
        """The first record's time (replayed once, only when a duration needs it)."""
        if self._start is None:
            self._start = extent(replay_recording(self.recording))[0]
        return self._start

    def __call__(self, text: str, flag: str) -> float:
        """Seconds since the epoch of ``text``; every form is range-checked by
        ``Recording.time_of`` (a duration of ``1e300h`` is refused, not overflowed)."""
        value: float | str | None = None
        try:
            value = float(text)  # seconds since the epoch, as `twinbench replay --from`
        except ValueError:
            with contextlib.suppress(ValueError):  # not a duration: maybe ISO 8601
                value = self.start() + parse_duration(text)
        try:
            return self.recording.time_of(text if value is None else value)
        except RecordingError as exc:
            if value is None and "outside the supported range" not in str(exc):
                raise RecordingError(f"{flag} {text!r} is not a time; use "
                                     f"{'; or '.join(self.FORMS)}") from None
            raise RecordingError(f"{flag} {text!r}: {exc}") from None


def _fork_assets(pairs: list[str]) -> dict | None:
    if not pairs:
        return None
    out: dict = {}
    for p in pairs:
        asset, sep, target = p.partition("=")
        if not sep or not asset or not target:
            raise ValueError(f"--asset {p!r}: expected ASSET=ELEMENT or ASSET=STATION:SERVER, "
                             "e.g. --asset press1=m1 or --asset press2=m1:1")
        el, colon, server = target.rpartition(":")
        if colon and server.isascii() and server.isdigit() and len(server) > 9:
            raise ValueError(f"--asset {p!r}: server {server[:12]}... is not a server index; "
                             "expected 0, 1, ... (the station's parallel server)")
        out[asset] = ((el, int(server)) if colon and server.isascii() and server.isdigit()
                      else target)
    return out


def run_fork(args: argparse.Namespace, out: TextIO | None = None,
             err: TextIO | None = None) -> int:
    """Handle ``twinbench fork``; return the exit code."""
    from app.cli import ProgressBar
    from twin.errors import ProjectError
    from twin.projectfile.reader import load_project
    from twin.whatif.fork import ForkError, fork_from_recording

    out, err = out or sys.stdout, err or sys.stderr
    bar = ProgressBar("forking", stream=err, enabled=not args.quiet)
    try:
        project = load_project(args.project)
        with Recording.open(args.recording) as rec:
            time_of = _ForkTimes(rec)
            res = fork_from_recording(
                project, rec, time_of(args.at, "--at"),
                time_of(args.until, "--until"), replications=args.replications,
                seed=args.seed, scenario=args.scenario, assets=_fork_assets(args.asset),
                task=TaskState(bar), workers=None)
    except (Cancelled, KeyboardInterrupt):
        bar.close()
        print("twinbench fork: interrupted", file=err)
        return 130
    except (ProjectError, RecordingError, ForkError, ValueError, KeyError, OSError) as exc:
        bar.close()
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"twinbench fork: error: {printable(msg, newlines=True)}", file=err)
        return 1
    bar.close()
    if res.wip_unknown:
        print(f"twinbench fork: warning: {printable(res.wip_warning, newlines=True)}", file=err)
    print(json.dumps(res.to_dict(), indent=2) if args.json
          else printable(res, newlines=True), file=out)
    return 0
