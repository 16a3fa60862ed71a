"""``twinbench calibrate`` and ``twinbench fork``: calibrate a project from a recording, and
run a what-if from any recorded moment.

:func:`add_commands` adds both subcommands; each sets ``func`` to a handler taking the parsed
arguments and returning the exit code: 0 success, 1 bad input (the message names the file,
field, value and fix). No Qt here.
"""

from __future__ import annotations

import argparse
import json
import sys

from twin.errors import ProjectError
from twin.project import load_project, save_project
from twin.recording import Recording, RecordingError


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``calibrate`` and ``fork`` subcommands to the main parser's subparsers."""
    c = subparsers.add_parser(
        "calibrate", help="fit process times, failures and power per state from a recording",
        description="Fit each mapped station's process time, time to failure, time to repair "
                    "and power per state from a recording; print the report and optionally "
                    "save the fit as a new scenario of the project (not applied).")
    c.add_argument("project", help="project folder or project.json")
    c.add_argument("recording", help="recording (.h5)")
    c.add_argument("--scenario-name", default="calibrated", help="name of the new scenario")
    c.add_argument("--asset", action="append", default=[], metavar="ASSET=STATION",
                   help="map a recorded asset to a station (default: the recording's mapping)")
    c.add_argument("--json", action="store_true", help="print the report as JSON")
    c.add_argument("--write", action="store_true",
                   help="save the scenario into the project file (atomically)")
    c.set_defaults(func=run_calibrate)

    f = subparsers.add_parser(
        "fork", help="run a scenario from the recorded state at a moment of a recording",
        description="Start the twin in the state a recording shows at --at and run it until "
                    "--until; print P10/P50/P90 of output and energy beside what happened.")
    f.add_argument("project", help="project folder or project.json")
    f.add_argument("recording", help="recording (.h5)")
    f.add_argument("--at", required=True, help="fork time: seconds since the recording epoch "
                                               "or ISO 8601")
    f.add_argument("--until", required=True, help="end time (same forms as --at)")
    f.add_argument("--replications", type=int, default=20)
    f.add_argument("--seed", type=int, default=1)
    f.add_argument("--scenario", default=None, help="scenario to run (default: the base)")
    f.add_argument("--asset", action="append", default=[], metavar="ASSET=STATION")
    f.add_argument("--json", action="store_true", help="print the result as JSON")
    f.set_defaults(func=run_fork)


def _assets(pairs: list[str]) -> dict[str, str] | None:
    if not pairs:
        return None
    out = {}
    for p in pairs:
        if "=" not in p:
            raise ValueError(f"--asset {p!r}: expected ASSET=STATION, e.g. --asset press1=m1")
        a, s = p.split("=", 1)
        out[a] = s
    return out


def _time(value: str) -> float | str:
    try:
        return float(value)
    except ValueError:
        return value


def run_calibrate(args: argparse.Namespace, out=None) -> int:
    """Handle ``twinbench calibrate``; returns the exit code."""
    from twin.calibration import CalibrationError, add_calibrated_scenario, calibrate

    out = out or sys.stdout
    try:
        project = load_project(args.project)
        with Recording.open(args.recording) as rec:
            report = calibrate(project, rec, assets=_assets(args.asset))
        if args.write:
            add_calibrated_scenario(project, report, args.scenario_name)
            path = save_project(project, args.project)
    except (ProjectError, RecordingError, CalibrationError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        doc = report.to_dict()
        if args.write:
            doc["written"] = {"scenario": args.scenario_name, "project": str(path)}
        print(json.dumps(doc, indent=2), file=out)
    else:
        print(report, file=out)
        if args.write:
            print(f"\nscenario {args.scenario_name!r} saved to {path} (not applied: run it "
                  f"with --scenario {args.scenario_name!r})", file=out)
    return 0


def run_fork(args: argparse.Namespace, out=None) -> int:
    """Handle ``twinbench fork``; returns the exit code."""
    from twin.fork import ForkError, fork_from_recording

    out = out or sys.stdout
    try:
        project = load_project(args.project)
        with Recording.open(args.recording) as rec:
            res = fork_from_recording(project, rec, _time(args.at), _time(args.until),
                                      replications=args.replications, seed=args.seed,
                                      scenario=args.scenario, assets=_assets(args.asset))
    except (ProjectError, RecordingError, ForkError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(res.to_dict(), indent=2) if args.json else str(res), file=out)
    return 0
