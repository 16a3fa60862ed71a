"""A/B: the kernel of this checkout against the kernel of an older commit, in one run.

    .venv/bin/python benchmarks/ab_kernel.py REV [--rounds 7] [--horizon 1e6]

Checks REV out into a temporary git worktree, then, round after round, runs the same timed
simulation in a fresh process of each tree (each with its own Numba cache, compiled before
the clock starts): the standard line, one worker thread, five replications of ``--horizon``
time units after a warm-up of 1,000, seed 1. Alternating the two within each round shares
the machine's load between them. Prints each round's seconds and the median ratio
(this checkout / REV; above 1 is slower), with the range over the rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, sys, time
try:
    from twin.sim.runner import RunSpec, run_project
    from twin.projectfile.reader import load_project
except ImportError:  # the layout before twin/ was split into packages
    from twin.runner import RunSpec, run_project
    from twin.project import load_project
from kernels.warmup import warm_up
warm_up()
project = load_project("projects/standard-line")
spec = RunSpec(horizon=float(sys.argv[1]), warmup=1000.0, replications=5, seed=1)
run_project(project, None, RunSpec(horizon=1000.0, warmup=0.0, replications=1, seed=1),
            workers=1)
t0 = time.perf_counter()
result = run_project(project, None, spec, workers=1)
took = time.perf_counter() - t0
print(json.dumps({"seconds": took}))
"""


def timed(tree: Path, cache: Path, horizon: float) -> float:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), PYTHONPATH=str(tree))
    out = subprocess.run([sys.executable, "-c", CHILD, str(horizon)], cwd=tree, env=env,
                         capture_output=True, text=True, timeout=3600)
    if out.returncode:
        raise SystemExit(f"{tree}: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])["seconds"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rev", help="the older commit to compare with")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--horizon", type=float, default=1e6)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="ab-kernel-") as tmp:
        old = Path(tmp) / "old"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old),
                        args.rev], check=True, capture_output=True)
        try:
            trees = {"this checkout": ROOT, args.rev: old}
            caches = {name: Path(tmp) / f"cache-{i}" for i, name in enumerate(trees)}
            times: dict[str, list[float]] = {name: [] for name in trees}
            for r in range(args.rounds):
                order = list(trees) if r % 2 == 0 else list(trees)[::-1]
                for name in order:
                    times[name].append(timed(trees[name], caches[name], args.horizon))
                print(f"round {r + 1}: " + ", ".join(f"{n} {times[n][-1]:.3f} s"
                                                     for n in trees), flush=True)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                            str(old)], capture_output=True)
    new, ref = times["this checkout"], times[args.rev]
    ratios = [a / b for a, b in zip(new, ref, strict=True)]
    print(f"median seconds: this checkout {statistics.median(new):.3f}, {args.rev} "
          f"{statistics.median(ref):.3f}")
    print(f"ratio this/{args.rev}: median {statistics.median(ratios):.3f} "
          f"(range {min(ratios):.3f}-{max(ratios):.3f} over {len(ratios)} rounds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
