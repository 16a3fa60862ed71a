"""CPU time of a cold compile of the whole kernel, with and without the measures of
``kernels.jit``.

Each run is a fresh process with an empty ``NUMBA_CACHE_DIR`` that compiles ``start`` and
``run_until`` (every kernel function they call) by running ``kernels.warmup``'s tiny model,
as ``warm_up`` does but in this one process (``warm_up`` compiles part of the kernel in a
second one). The kernel is compiled once for lines without the features of issues 18-19
(``kernels.types.uses_features``: the standard line, the bottling line) and once for lines
with them; ``--features`` measures the second (on a tree older than that split, both
measure its one kernel). It reports CPU time (``time.process_time``), which a shared
machine inflates far less than wall time. The variants run interleaved, so a change of
load hits them all; the table gives the median and the range of each.

A variant is a comma-separated list of measures to leave out (``TWINBENCH_JIT_WITHOUT``);
``-`` is all of them in force. ``--root`` may be given several times to compare trees (an
older checkout against this one), interleaved the same way; the load average is printed
before and after. Not part of the test suite; about 15 s of CPU per run::

    .venv/bin/python benchmarks/compile_time.py --repeats 5 - compare_flags_cheaply
    .venv/bin/python benchmarks/compile_time.py --repeats 3 --root . --root ../old-checkout

On a machine shared with other jobs CPU time still varies by 20-50% from run to run (caches
and cores are shared). ``--instructions`` counts the instructions the compile executes instead,
under valgrind's callgrind (about 10 minutes a run; the compile is single-threaded, the CPU
model fixed as in ``count_instructions.py``, hash seeds fixed): the same on a busy machine as
on a quiet one, to within a few tenths of a percent::

    .venv/bin/python benchmarks/compile_time.py --instructions --repeats 1 --root . --root ../old
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from count_instructions import CPU  # noqa: E402

COMPILE = """
import gc, threading, time
import numba
t0 = time.process_time()
def compile_all():
    from kernels.engine import run_until, start
    from kernels.warmup import tiny_model
    try:
        m, s = tiny_model(FEATURES)
    except TypeError:  # a tree with one kernel for every line
        m, s = tiny_model()
    start(m, s)
    run_until(m, s, 10.0)
gc.disable()  # as warm_up does
worker = threading.Thread(target=compile_all)
worker.start()
worker.join()
print("CPU", time.process_time() - t0)
"""


def cold_compile(root: Path, without: str, features: bool = False,
                 instructions: bool = False) -> float:
    """CPU seconds of one cold compile of the kernel of the tree at ``root``, or with
    ``instructions`` the millions of instructions it executes (callgrind)."""
    with tempfile.TemporaryDirectory(prefix="twinbench-numba-") as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=str(root),
                   TWINBENCH_JIT_WITHOUT="" if without == "-" else without)
        cmd = [sys.executable, "-c", f"FEATURES = {features}\n" + COMPILE]
        if instructions:
            env.update(CPU, PYTHONHASHSEED="0")
            cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={cache}/out"] + cmd
        done = subprocess.run(cmd, env=env, cwd=root, capture_output=True, text=True,
                              timeout=7200 if instructions else 600)
    if done.returncode != 0:
        sys.exit(done.stderr[-2000:])
    if instructions:
        return int(re.search(r"Collected : (\d+)", done.stderr).group(1)) / 1e6
    return float(done.stdout.split("CPU")[-1])


def _load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variants", nargs="*", default=["-"],
                        help="measures to leave out, comma-separated; '-' for none")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--features", action="store_true",
                        help="the kernel for lines with the features of issues 18-19")
    parser.add_argument("--root", type=Path, action="append",
                        help="a twinbench tree to compile (default: this one); repeatable")
    parser.add_argument("--instructions", action="store_true",
                        help="count the compile's instructions under callgrind, not its CPU time")
    args = parser.parse_args()
    if args.instructions and shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    unit = "M instructions" if args.instructions else "s"
    roots = [r.resolve() for r in args.root or [ROOT]]
    runs = [(r, v) for r in roots for v in args.variants]
    times: dict[tuple[Path, str], list[float]] = {run: [] for run in runs}
    print(_load(), flush=True)
    for _ in range(args.repeats):
        for root, v in runs:
            times[root, v].append(cold_compile(root, v, args.features, args.instructions))
            print(f"  {root} without {v}: {times[root, v][-1]:.2f} {unit}", flush=True)
    print(_load())
    kernel = "with" if args.features else "without"
    what = "instructions" if args.instructions else "CPU time"
    print(f"cold compile {what} of the kernel for lines {kernel} the features, "
          f"{args.repeats} runs each (median, min-max):")
    for (root, v), t in times.items():
        name = f"{root.name} without {v}" if len(roots) > 1 else f"without {v}"
        print(f"  {name:50s} {statistics.median(t):6.2f} {unit}   ({min(t):.2f}-{max(t):.2f})")


if __name__ == "__main__":
    main()
