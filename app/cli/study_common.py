"""What ``twinbench study``, ``optimize`` and ``sensitivity`` share: the project and
experiment arguments with where the simulations run, the executor they run on (closed
whatever happens), the progress bar, and the JSON document printed with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from app.cli.common import ProgressBar, horizon_arg, json_safe, whole_arg


def add_experiment_args(p: argparse.ArgumentParser, workers: str) -> None:
    """PROJECT EXPERIMENT, ``--dask``, ``--workers`` (``workers`` says what they are),
    ``--horizon``, ``--json`` and ``--quiet``."""
    p.add_argument("project", help="project folder (holding project.json) or a .json file")
    p.add_argument("experiment", help="the name of an experiment in the project's "
                   "\"experiments\" section (docs/experiments.md)")
    p.add_argument("--dask", metavar="ADDRESS",
                   help="run on a Dask cluster: tcp://HOST:8786 (an existing scheduler whose "
                   "workers have twinbench installed), or 'local' (start a LocalCluster)")
    p.add_argument("--workers", type=lambda t: whole_arg(t, 1, 1024), metavar="N",
                   help=f"{workers} (or local Dask workers); default one per core")
    p.add_argument("--horizon", type=horizon_arg,
                   help="simulated time per replication (default: the experiment's, else the "
                   "project's)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


@contextmanager
def on_executor(args: argparse.Namespace, label: str, default: str | None = None
                ) -> Iterator[tuple[object, ProgressBar]]:
    """``(executor, progress bar)`` for the command's simulations: a Dask executor with
    ``--dask``, else ``default`` (``None``: the command makes its own) with ``--workers``.
    Says when the kernel compiles first; the executor is closed however the block ends."""
    from kernels.warmup import cache_is_warm
    from twin.sim.executors import DaskExecutor, make_executor

    executor = (DaskExecutor(args.dask, args.workers) if args.dask
                else None if default is None else make_executor(default, args.workers))
    if not cache_is_warm():
        print("twinbench: compiling the twin kernel (first run only, 10-15 s)...",
              file=sys.stderr)
    try:
        with ProgressBar(label, enabled=not args.quiet) as bar:
            yield executor, bar
    finally:
        if hasattr(executor, "close"):
            executor.close()


def print_json(doc) -> None:
    """``doc`` as one indented JSON document on stdout (NaN and infinities as null)."""
    json.dump(json_safe(doc), sys.stdout, indent=2)
    sys.stdout.write("\n")
