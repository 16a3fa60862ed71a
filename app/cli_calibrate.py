"""``twinbench calibrate``: calibrate a project's stations from a recording.

:func:`add_commands` adds the subcommand; it sets ``func`` to a handler taking the parsed
arguments and returning the exit code: 0 success, 1 bad input (the message names the file,
field, value and fix). ``twinbench fork`` lives in :mod:`app.cli_recording`
(``add_fork_command``), with its progress bar. No Qt here.
"""

from __future__ import annotations

import argparse
import json
import sys

from app.cli_recording import _fork_assets as _assets
from twin.errors import ProjectError, printable
from twin.projectfile.reader import load_project, save_project
from twin.recording import Recording, RecordingError


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``calibrate`` subcommand to the main parser's subparsers."""
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


def run_calibrate(args: argparse.Namespace, out=None) -> int:
    """Handle ``twinbench calibrate``; returns the exit code."""
    from twin.whatif.calibration import CalibrationError, add_calibrated_scenario, calibrate

    out = out or sys.stdout
    try:
        project = load_project(args.project)
        with Recording.open(args.recording) as rec:
            report = calibrate(project, rec, assets=_assets(args.asset))
        if args.write:
            add_calibrated_scenario(project, report, args.scenario_name)
            path = save_project(project, args.project)
    except (ProjectError, RecordingError, CalibrationError, ValueError, KeyError) as exc:
        print(f"twinbench calibrate: error: {printable(exc, newlines=True)}", file=sys.stderr)
        return 1
    if args.json:
        doc = report.to_dict()
        if args.write:
            doc["written"] = {"scenario": args.scenario_name, "project": str(path)}
        print(json.dumps(doc, indent=2), file=out)
    else:
        print(printable(report, newlines=True), file=out)
        if args.write:
            print(f"\nscenario {args.scenario_name!r} saved to {path} (not applied: run it "
                  f"with --scenario {args.scenario_name!r})", file=out)
    return 0

