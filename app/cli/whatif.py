"""``twinbench fork`` and ``twinbench calibrate``: what-ifs that join a project with a
recording.

``fork`` starts the twin from the state a recording shows at a moment and runs it on, with
a progress bar; ``calibrate`` fits the project's stations to the recording. Each handler
takes the parsed arguments and returns 0; a user error raises a ``twin.errors.InputError``,
which ``app.cli`` turns into exit code 2 (``app.cli.common``). No Qt here.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys

from app.cli import common
from app.cli.common import UsageError, user_files
from twin.errors import printable
from twin.recording import Recording, extent, replay_recording
from twin.recording.errors import RecordingError
from twin.tasks import TaskState
from twin.units import parse_duration


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``calibrate`` and ``fork`` to the main parser's subparsers."""
    c = subparsers.add_parser(
        "calibrate", help="fit process times, failures and power per state from a recording",
        description="Fit each mapped station's process time, time to failure, time to repair "
                    "and power per state from a recording, pooling the assets of a station's "
                    "servers; print the report and optionally save the fit as a new scenario "
                    "of the project (not applied).")
    c.add_argument("project", help="project folder or project.json")
    c.add_argument("recording", help="recording (.h5)")
    c.add_argument("--scenario-name", default="calibrated", help="name of the new scenario")
    c.add_argument("--asset", action="append", default=[], metavar="ASSET=STATION[:SERVER]",
                   help="map a recorded asset to a station (and server); default: the "
                        "recording's mapping")
    c.add_argument("--json", action="store_true", help="print the report as JSON")
    c.add_argument("--write", action="store_true",
                   help="save the scenario into the project file (atomically)")
    c.set_defaults(func=run_calibrate)

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
    """``--asset ASSET=ELEMENT[:SERVER]`` options as ``fork_from_recording``'s and
    ``calibrate``'s ``assets`` (None: the recording's own mapping)."""
    if not pairs:
        return None
    out: dict = {}
    for p in pairs:
        asset, sep, target = p.partition("=")
        if not sep or not asset or not target:
            raise UsageError(f"--asset {p!r}: expected ASSET=ELEMENT or ASSET=STATION:SERVER, "
                             "e.g. --asset press1=m1 or --asset press2=m1:1")
        el, colon, server = target.rpartition(":")
        if colon and server.isascii() and server.isdigit() and len(server) > 9:
            raise UsageError(f"--asset {p!r}: server {server[:12]}... is not a server index; "
                             "expected 0, 1, ... (the station's parallel server)")
        out[asset] = ((el, int(server)) if colon and server.isascii() and server.isdigit()
                      else target)
    return out


def run_fork(args: argparse.Namespace) -> int:
    """Handle ``twinbench fork``; return the exit code."""
    from twin.projectfile.reader import load_project
    from twin.whatif import fork

    project = load_project(args.project)
    with user_files(args.recording), Recording.open(args.recording) as rec, \
            common.ProgressBar("forking", enabled=not args.quiet) as bar:
        time_of = _ForkTimes(rec)
        res = fork.fork_from_recording(
            project, rec, time_of(args.at, "--at"), time_of(args.until, "--until"),
            replications=args.replications, seed=args.seed, scenario=args.scenario,
            assets=_fork_assets(args.asset), task=TaskState(bar), workers=None)
    if res.wip_unknown:
        print(f"twinbench fork: warning: {printable(res.wip_warning, newlines=True)}",
              file=sys.stderr)
    print(json.dumps(res.to_dict(), indent=2) if args.json else printable(res, newlines=True))
    return 0


def run_calibrate(args: argparse.Namespace) -> int:
    """Handle ``twinbench calibrate``; return the exit code."""
    from twin.projectfile.reader import load_project, save_project
    from twin.whatif.calibration import add_calibrated_scenario, calibrate

    project = load_project(args.project)
    with user_files(args.recording), Recording.open(args.recording) as rec:
        report = calibrate(project, rec, assets=_fork_assets(args.asset))
    if args.write:
        add_calibrated_scenario(project, report, args.scenario_name)
        with user_files(args.project):
            path = save_project(project, args.project)
    if args.json:
        doc = report.to_dict()
        if args.write:
            doc["written"] = {"scenario": args.scenario_name, "project": str(path)}
        print(json.dumps(doc, indent=2))
    else:
        print(printable(report, newlines=True))
        if args.write:
            print(f"\nscenario {args.scenario_name!r} saved to {path} (not applied: run it "
                  f"with --scenario {args.scenario_name!r})")
    return 0
