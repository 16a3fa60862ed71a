"""``twinbench optimize`` and ``twinbench sensitivity``: the best design of an experiment,
with a statistical guarantee, and which of its factors matter.

    twinbench optimize PROJECT EXPERIMENT [--trials N] [--delta D] [--save-scenario NAME]
                       [--dask ADDRESS | --workers N] [--json]
    twinbench sensitivity PROJECT EXPERIMENT [--method morris|sobol] [--samples N] [--json]

``optimize`` searches with Optuna (``twin.experiments.optimize``), re-simulates the best few
points and selects the winner by the Nelson-Matejcik procedure; ``--save-scenario`` adds it
to the project as a scenario (not applied), as ``calibrate --write`` does. ``sensitivity``
prints Morris or Sobol' indices with their intervals, widest first (a tornado in text).
The simulations run on threads of this process (the kernel releases the GIL) or, with
``--dask``, on a Dask cluster. No Qt here.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from app.cli.common import UsageError, format_table, user_files, whole_arg
from app.cli.study_common import add_experiment_args, on_executor, print_json
from twin.errors import printable


def _fraction(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = None
    if v is None or not 0.5 <= v < 1.0:
        raise argparse.ArgumentTypeError(f"expected a probability in [0.5, 1), e.g. 0.95, "
                                         f"got {text!r}")
    return v


def _positive(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = None
    if v is None or not (v > 0 and v < float("inf")):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return v


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``optimize`` and ``sensitivity`` to the main parser's subparsers."""
    o = sub.add_parser(
        "optimize", help="find the best design of an experiment (Optuna), selected with 95%% "
        "confidence",
        description="Search the experiment's factors for the best value of its objectives "
                    "within its constraints (Optuna: TPE for one objective, NSGA-II for "
                    "several), simulate the best points again with fresh random numbers and "
                    "select the best with a stated confidence (Nelson-Matejcik). Progress "
                    "goes to stderr.")
    add_experiment_args(o, "threads")
    o.add_argument("--trials", type=lambda t: whole_arg(t, 1, 100_000),
                   help="distinct points the search simulates (default: the experiment's "
                   "\"trials\", else 60); a point asked again or over the budget is free")
    o.add_argument("--batch", type=lambda t: whole_arg(t, 1, 1024), default=4,
                   help="trials asked and simulated together (default 4; the result depends "
                   "on it, as on the seed)")
    o.add_argument("--candidates", type=lambda t: whole_arg(t, 1, 100), default=5,
                   help="best points of the search the selection compares (default 5)")
    o.add_argument("--delta", type=_positive,
                   help="indifference zone: the smallest difference of the first objective "
                   "worth telling apart, in its units (default: 1%% of the best mean)")
    o.add_argument("--confidence", type=_fraction, default=0.95,
                   help="probability of correct selection (default 0.95)")
    o.add_argument("--max-replications", type=lambda t: whole_arg(t, 2, 10_000), default=200,
                   help="cap on the selection's replications per point (default 200)")
    o.add_argument("--save-scenario", metavar="NAME",
                   help="save the selected point into the project file as scenario NAME "
                   "(not applied)")
    o.add_argument("--pick", type=lambda t: whole_arg(t, 1, 100_000),
                   help="with several objectives: the point of the Pareto front (its number "
                   "in the table) that --save-scenario saves")
    o.set_defaults(func=cmd_optimize)

    s = sub.add_parser(
        "sensitivity", help="which factors of an experiment matter: Morris or Sobol' indices",
        description="Morris screening (mu*, sigma) or Sobol' indices (S1, ST) of a response "
                    "over the experiment's factors' ranges, with 95%% intervals (SALib), "
                    "widest first.")
    add_experiment_args(s, "threads")
    s.add_argument("--method", choices=("morris", "sobol"), default="sobol",
                   help="sobol (default): variance shares; morris: a cheaper screening")
    s.add_argument("--response", help="the response (default: the experiment's first)")
    s.add_argument("--samples", type=lambda t: whole_arg(t, 2, 1_000_000),
                   help="Sobol': base sample N, a power of two (default 256; N (d + 2) "
                   "points); Morris: trajectories (default 20; r (d + 1) points)")
    s.set_defaults(func=cmd_sensitivity)


def _setup(args):
    """The project and the experiment (with ``--horizon``) of the command."""
    from twin.experiments.spec import experiment
    from twin.projectfile.reader import load_project

    project = load_project(args.project)
    exp = experiment(project, args.experiment)
    if args.horizon is not None:
        exp = dataclasses.replace(exp, horizon=args.horizon)
    return project, exp


def _cell(stat: dict | None) -> str:
    from twin.sim.stats import format_ci

    return "-" if stat is None else format_ci(stat)


def cmd_optimize(args: argparse.Namespace) -> int:
    """Handle ``twinbench optimize``; return the exit code."""
    from twin.experiments.optimize import (
        Settings,
        check_scenario_name,
        optimize,
        optimum_command,
    )
    from twin.projectfile.reader import save_project
    from twin.tasks import TaskState

    project, exp = _setup(args)
    if args.pick is not None and len(exp.objectives) < 2:
        raise UsageError("--pick chooses a point of the Pareto front, which only an "
                         "experiment with several objectives has; leave it out")
    if args.save_scenario is not None:  # before the search, not after it
        check_scenario_name(project, args.save_scenario)
        if len(exp.objectives) > 1 and args.pick is None:
            raise UsageError("the experiment has several objectives, so there is no single "
                             "best to save: run without --save-scenario, read the Pareto "
                             "front, then run again with --pick N --save-scenario NAME")
    settings = Settings(batch=args.batch, candidates=args.candidates,
                        confidence=args.confidence, delta=args.delta,
                        max_replications=args.max_replications)
    with on_executor(args, f"optimize {exp.name[:30]}", "threads") as (executor, bar):
        res = optimize(project, exp, trials=args.trials, settings=settings,
                       executor=executor, task=TaskState(bar))
    saved = None
    if args.save_scenario is not None:
        point = _chosen(res, args.pick)
        cmd = optimum_command(project, exp.factors, point, args.save_scenario,
                              f"optimised by experiment {exp.name!r}")
        cmd.do(project)
        with user_files(args.project):
            saved = save_project(project, args.project)
    if args.json:
        doc = res.to_dict()
        if saved is not None:
            doc["written"] = {"scenario": args.save_scenario, "project": str(saved)}
        print_json(doc)
    else:
        print_optimization(res)
        if saved is not None:
            print(f"\nscenario {printable(args.save_scenario)!r} saved to {saved} (not "
                  f"applied: run it with --scenario {printable(args.save_scenario)!r})")
    return 0


def _chosen(res, pick: int | None) -> dict:
    """The point ``--save-scenario`` saves: the selected one, or the front's ``--pick``."""
    if res.selection is not None:
        return res.best
    if not res.candidates:
        raise UsageError("no feasible point was found, so there is nothing to save as a "
                         "scenario; loosen the constraints or run more trials")
    if pick is None:
        raise UsageError(f"the experiment has several objectives, so there is no single best: "
                         f"choose a point of the Pareto front with --pick 1..."
                         f"{len(res.candidates)}")
    if pick > len(res.candidates):
        raise UsageError(f"--pick {pick}: the Pareto front has {len(res.candidates)} points")
    return res.candidates[pick - 1].point


def print_optimization(res, out=None) -> None:
    """The readable report of ``twinbench optimize``."""
    out = out or sys.stdout
    goals = ", ".join(f"{o.sense} {o.response}" for o in res.objectives)
    cons = "; ".join(f"{c.response}" + (f" >= {c.min:g}" if c.min is not None else "")
                     + (f" <= {c.max:g}" if c.max is not None else "")
                     for c in res.constraints)
    print(printable(f"experiment {res.experiment!r}: {goals}"
                    + (f" subject to {cons}" if cons else "")), file=out)
    print(f"search: {res.sampler}, {len(res.trials)} trials, {res.simulated_points} points "
          f"simulated (seed {res.seed})", file=out)
    if res.candidates:
        responses = list(res.candidates[0].stats)
        sel = res.selection
        title = ("candidates, simulated again with fresh random numbers"
                 + (f" ({sel.replications} replications each)" if sel else
                    " (the Pareto front)"))
        print(f"\n{title}:", file=out)
        header = ["#", *res.factors, *responses, *(["vs best"] if sel else []), "feasible"]
        rows = []
        for i, c in enumerate(res.candidates):
            mark = "*" if sel is not None and i == sel.best else " "
            versus = ([] if sel is None else ["-" if i == sel.best else _cell(
                {"mean": sel.differences[i], "ci95_halfwidth": sel.difference_halfwidths[i]})])
            rows.append([f"{mark}{i + 1}", *(f"{c.point[f]:g}" for f in res.factors),
                         *(_cell(c.stats.get(r)) for r in responses), *versus,
                         "yes" if c.feasible else "no"])
        print(format_table([printable(h) for h in header], rows, left=1, indent="  "),
              file=out)
    if res.selection is not None:
        print(f"\nselected: {printable(res.selection.statement())}", file=out)
        print(f"('vs best': {res.objectives[0].response} minus the selected point's, paired "
              "replication by replication, with its 95% interval)", file=out)
    for note in res.notes:
        print(f"note: {printable(note)}", file=out)


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """Handle ``twinbench sensitivity``; return the exit code."""
    from twin.experiments.sensitivity import sensitivity
    from twin.tasks import TaskState

    project, exp = _setup(args)
    with on_executor(args, f"{args.method} {exp.name[:30]}", "threads") as (executor, bar):
        res = sensitivity(project, exp, method=args.method, response=args.response,
                          samples=args.samples, executor=executor, task=TaskState(bar))
    if args.json:
        print_json(res.to_dict())
    else:
        print_sensitivity(res)
    return 0


def print_sensitivity(res, out=None) -> None:
    """Indices widest first, with a bar of the tornado's measure."""
    out = out or sys.stdout
    name = "Sobol' indices" if res.method == "sobol" else "Morris elementary effects"
    print(printable(f"{name} of {res.response} over {len(res.factors)} factors "
                    f"({res.runs} points, {res.confidence:.0%} intervals)"), file=out)
    rows_by = dict(zip(res.factors, res.rows, strict=True))
    bars = res.tornado()
    top = max((b["value"] for b in bars), default=0.0) or 1.0
    if res.method == "sobol":
        header = ["factor", "S1", "ST", ""]
        cells = [[b["factor"], _pm(rows_by[b["factor"]], "S1"), _pm(rows_by[b["factor"]], "ST"),
                  _bar(b["value"], top)] for b in bars]
    else:
        header = ["factor", "mu*", "sigma", "mu", ""]
        cells = [[b["factor"], _pm(rows_by[b["factor"]], "mu_star"),
                  f"{rows_by[b['factor']]['sigma']:.4g}", f"{rows_by[b['factor']]['mu']:.4g}",
                  _bar(b["value"], top)] for b in bars]
    print(format_table(header, [[printable(c) for c in r] for r in cells], left=1,
                       indent="  "), file=out)


def _pm(row: dict, key: str) -> str:
    return f"{row[key]:.3f} ± {row[key + '_conf']:.3f}"


def _bar(value: float, top: float, width: int = 30) -> str:
    return ("#" * max(0, round(width * value / top))).ljust(width)  # bars start together
