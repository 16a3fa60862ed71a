"""A study of the standard line: one core vs the local process pool vs a Dask LocalCluster.

The experiment ``buffers-around-s5`` of ``projects/standard-line`` (200 Latin hypercube
points x 10 replications, 8-hour horizon) runs three times through
``twin.experiments.study.run_study``, in one process, one after the other:

* *one core*: ``SerialExecutor``, every point in this process (the peer);
* *process pool*: ``ProcessExecutor``, ``spawn``-ed worker processes, one per core;
* *Dask*: ``DaskExecutor("local", 2)``, a ``LocalCluster`` of 2 single-threaded workers.

Times include starting the pool or cluster (a study pays it); the Dask cluster's start is
also shown on its own. All three must give the same numbers bit for bit (common random
numbers, same seeds), which is checked and printed. Before the clock, the time a freshly
spawned process needs to load the compiled kernel from the disk cache is measured
(``probe_worker`` in a new process, against the same call in this process).

Not a test: nothing asserts a time. Usage::

    .venv/bin/python benchmarks/bench_study.py            # the issue's settings
    .venv/bin/python benchmarks/bench_study.py --quick    # 40 points, 1-hour horizon
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from twin.experiments.spec import experiment  # noqa: E402
from twin.experiments.study import run_study  # noqa: E402
from twin.projectfile.reader import load_project  # noqa: E402
from twin.sim.executors import (  # noqa: E402
    DaskExecutor,
    ProcessExecutor,
    SerialExecutor,
    probe_worker,
)


def _timed_probe() -> tuple[bool, float]:
    from kernels.warmup import cache_is_warm

    warm = cache_is_warm()
    t0 = time.perf_counter()
    probe_worker()
    return warm, time.perf_counter() - t0


def kernel_load_in_a_spawned_process() -> tuple[bool, float]:
    """(was the disk cache warm, seconds to load the kernel) in a fresh ``spawn`` process."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_timed_probe).result()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="40 points, 1-hour horizon")
    ap.add_argument("--points", type=int, help="design points (default 200, --quick 40)")
    ap.add_argument("--replications", type=int, default=10)
    ap.add_argument("--horizon", type=float, help="seconds (default 8 h, --quick 1 h)")
    ap.add_argument("--workers", type=int, default=os.cpu_count(),
                    help="processes of the pool (default: one per core)")
    args = ap.parse_args()
    project = load_project(ROOT / "projects" / "standard-line")
    exp = experiment(project, "buffers-around-s5")
    points = args.points or (40 if args.quick else exp.points)
    horizon = args.horizon or (3600.0 if args.quick else exp.horizon)
    exp = dataclasses.replace(exp, points=points, replications=args.replications,
                              horizon=horizon)
    print(f"standard line, {exp.name}: {points} points x {exp.replications} replications, "
          f"horizon {horizon:g} s, warm-up {exp.warmup:g} s; {os.cpu_count()} cores")

    _timed_probe()  # this process: compiled or loaded once
    warm, here = _timed_probe()
    cached, spawned = kernel_load_in_a_spawned_process()
    print(f"kernel in a fresh spawned process: {spawned:.2f} s (disk cache "
          f"{'warm' if cached else 'COLD: it compiled'}); in this process once loaded: "
          f"{here * 1e3:.2f} ms")

    results, times = {}, {}
    for name, make in (("one core", SerialExecutor),
                       ("process pool", lambda: ProcessExecutor(args.workers)),
                       ("Dask LocalCluster x2", None)):
        t0 = time.perf_counter()
        if make is None:
            ex = DaskExecutor("local", 2)
            ex.check_workers()
            started = time.perf_counter() - t0
            try:
                results[name] = run_study(project, exp, executor=ex)
            finally:
                ex.close()
            times[name] = time.perf_counter() - t0
            print(f"  (the LocalCluster started and its workers loaded the kernel in "
                  f"{started:.1f} s)")
        else:
            results[name] = run_study(project, exp, executor=make())
            times[name] = time.perf_counter() - t0
    peer = times["one core"]
    reps = points * exp.replications
    print(f"\n{'side':<24}{'seconds':>10}{'replications/s':>16}{'speed-up':>10}")
    for name, t in times.items():
        print(f"{name:<24}{t:>10.2f}{reps / t:>16.1f}{peer / t:>9.2f}x")
    base = results["one core"]
    same = all(np.array_equal(base.values[k], r.values[k], equal_nan=True)
               for r in results.values() for k in base.names)
    print(f"\nall sides give identical results (common random numbers): {same}")


if __name__ == "__main__":
    main()
