"""Instructions and mispredicted branches per model event of the kernel, under callgrind.

On a shared machine a timed A/B of a few percent drowns in noise; instruction counts do
not. This runs the standard line under valgrind's callgrind twice, to two horizons, counts
only inside Numba's dispatcher (the compiled kernel and what it calls) and divides the
difference by the difference in model events, so start-up and cache loading cancel out.

The kernel is compiled for a fixed CPU model into its own cache folder first (valgrind's
emulated CPU would otherwise miss the normal cache and compile under valgrind, slowly).
Not part of the test suite; needs ``valgrind``. About two minutes::

    .venv/bin/python benchmarks/count_instructions.py
    .venv/bin/python benchmarks/count_instructions.py --root ../old-checkout   # another tree
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CPU = {"NUMBA_CPU_NAME": "haswell",
       "NUMBA_CPU_FEATURES": "+sse,+sse2,+sse3,+ssse3,+sse4.1,+sse4.2,+popcnt,+avx,+avx2,+fma,"
                             "+bmi,+bmi2,+lzcnt,+cx16,+f16c"}
RUN = """
import sys
from kernels import types as kt
from kernels.warmup import warm_up
warm_up()
try:
    from twin.projectfile.reader import load_project
    from twin.sim.runner import RunSpec, run_project
except ImportError:  # the layout before twin/ was split into packages
    from twin.project import load_project
    from twin.runner import RunSpec, run_project
p = load_project(sys.argv[1])
r = run_project(p, spec=RunSpec(horizon=float(sys.argv[2]), replications=1, seed=1), workers=1)
print("EVENTS", r.scenarios["base"].replications[0].line_out[kt.L_ALL_EVENTS])
"""


def counted(root: Path, env: dict, horizon: float, valgrind: bool,
            keep: Path | None = None) -> tuple[float, list[int]]:
    cmd = [sys.executable, "-c", RUN, str(root / "projects" / "standard-line"), str(horizon)]
    counts: list[int] = []
    with tempfile.TemporaryDirectory() as tmp:
        if valgrind:
            cmd = ["valgrind", "--tool=callgrind", "--collect-atstart=no",
                   "--toggle-collect=Dispatcher_call*", "--branch-sim=yes",
                   f"--callgrind-out-file={tmp}/out"] + cmd
        done = subprocess.run(cmd, env=env, cwd=root, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(done.stderr[-2000:])
        if valgrind:
            m = re.search(r"Collected : ([\d ]+)", done.stderr)
            counts = [int(x) for x in m.group(1).split()]
            if keep is not None:  # for callgrind_annotate: where the instructions go
                shutil.copy(f"{tmp}/out", keep / f"callgrind.{horizon:.0f}.out")
    events = float(re.search(r"EVENTS ([\d.e+]+)", done.stdout).group(1))
    return events, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="the twinbench tree whose kernel is counted (default: this one)")
    parser.add_argument("--keep", type=Path, default=None,
                        help="a folder to keep callgrind's output files in "
                             "(read them with callgrind_annotate)")
    args = parser.parse_args()
    root, keep = args.root.resolve(), args.keep
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=str(root), **CPU)
        counted(root, env, 2000, valgrind=False)  # compile natively into the cache
        e1, c1 = counted(root, env, 2000, valgrind=True, keep=keep)
        e2, c2 = counted(root, env, 50000, valgrind=True, keep=keep)
    de = e2 - e1
    names = ["instructions", "conditional branches", "mispredicted", "indirect branches",
             "mispredicted"]
    print(f"{root}: standard line, {de:,.0f} events between horizons 2,000 and 50,000:")
    for name, a, b in zip(names, c1, c2, strict=True):
        print(f"  {name:22s} {(b - a) / de:8.1f} per event   ({b - a:,} in all)")


if __name__ == "__main__":
    main()
