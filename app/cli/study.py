"""``twinbench study``: every design point of a project's experiment, on all cores or Dask.

    twinbench study PROJECT EXPERIMENT [--dask tcp://HOST:8786 | --dask local]
                    [--workers N] [--out study.h5] [--resume] [--overwrite] [--json]

Each finished point goes to ``--out`` at once; ``--resume`` continues an interrupted study
and runs only the points missing. Prints one row per point (the factors, replications, each
response's mean and 95% half-width) or, with ``--json``, one document
(``twin.experiments.study.StudyResult.to_json``).
"""

from __future__ import annotations

import argparse
import sys

from app.cli.common import format_table, user_files
from app.cli.study_common import add_experiment_args, on_executor, print_json


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``study`` to the main parser's subparsers."""
    s = sub.add_parser("study", help="simulate every design point of an experiment of the "
                       "project (docs/experiments.md)")
    add_experiment_args(s, "processes")
    s.add_argument("--out", metavar="FILE.h5",
                   help="the study file: each finished point is written to it as it completes")
    s.add_argument("--resume", action="store_true",
                   help="continue the study in --out: run only the points not done yet")
    s.add_argument("--overwrite", action="store_true",
                   help="replace an existing --out instead of refusing it")
    s.set_defaults(func=cmd_study, if_interrupted=_interrupted)


def _interrupted(args) -> str:
    if args.out:
        return (f"the finished design points are in {args.out}: continue with "
                "`twinbench study ... --resume`")
    return "nothing was kept (give --out to keep finished points)"


def cmd_study(args: argparse.Namespace) -> int:
    """Handle ``twinbench study``; return the exit code."""
    from twin.errors import InputError
    from twin.experiments.spec import experiment
    from twin.experiments.study import run_study
    from twin.projectfile.reader import load_project

    if args.resume and not args.out:
        raise InputError("--resume continues the study in --out: give the study file")
    if args.resume and args.overwrite:
        raise InputError("--resume and --overwrite contradict each other: choose one")
    project = load_project(args.project)
    exp = experiment(project, args.experiment)
    with on_executor(args, f"study {exp.name[:30]}") as (executor, bar), user_files(args.out):
        result = run_study(project, exp, out=args.out, resume=args.resume,
                           overwrite=args.overwrite, executor=executor, workers=args.workers,
                           horizon=args.horizon, points_done=lambda k, n: bar(100.0 * k / n))
    if args.json:
        print_json(result.to_json())
    else:
        print_study(result)
    return 0


def print_study(result, out=None) -> None:
    """The study as a table: one row per point. Ids and names from the file go through
    ``twin.errors.printable``."""
    from twin.errors import printable
    from twin.sim.stats import format_ci

    out = out or sys.stdout
    exp = result.experiment
    reps = (f"replications to ±{100 * exp.precision:g}% of {exp.responses[0]} "
            f"(at most {exp.replications})" if exp.precision else
            f"{exp.replications} replications")
    out.write(f"\nStudy {printable(exp.name)}: {len(result.points)} design points "
              f"({exp.design.replace('_', ' ')}), {reps} each, 95% intervals\n")
    if result.resumed:
        out.write(f"  {result.resumed} points were in {printable(result.path)} already\n")
    factors = [f.name for f in exp.factors]
    header = ["point", *(printable(n) for n in factors), "reps",
              *(printable(r) for r in exp.responses)]
    rows = []
    for i, p in enumerate(result.points):
        cells = [str(i), *(f"{p[n]:g}" for n in factors), str(int(result.replications[i]))]
        cells += [format_ci(result.stat(r, i), 4) for r in exp.responses]
        rows.append(cells)
    out.write(format_table(header, rows, left=1, indent="  ", rule=True) + "\n")
    if result.path:
        out.write(f"\nstudy written to {printable(result.path)}\n")

