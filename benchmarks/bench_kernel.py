"""Benchmark: the twin kernel against idiomatic SimPy on the standard line, and CLI start-up.

Both sides simulate ``projects/standard-line`` (ten stations in series, buffers of 5,
exponential process times, operating-time failures with preempt-resume): twinbench through
``twin.sim.runner.run_project`` on the project file, SimPy through ``benchmarks/simpy_line.py``
in both its styles (a station that keeps its own failure clock, the faster and so the peer
the headline ratio is taken against; and SimPy's machine-shop idiom, a failure process that
interrupts the station). For each it prints the throughput (parts per time unit, mean and
95% interval over the replications), the wall time, the model events per second (end of
processing, failure, end of repair, counted after the warm-up on all sides) and the ratios
of the rates; a Welch test then checks that twinbench's and SimPy's throughputs agree (both
should be about 0.657; the two SimPy styles simulate the same trajectories).

As a ceiling rather than a peer, it also runs ``benchmarks/bare_line.py``: a Numba kernel of
this one line with none of twinbench's features, with a heap and with a scan as its event
queue, and prints twinbench's rate as a share of theirs.

twinbench is timed twice: on one worker thread (the like-for-like comparison with SimPy,
which runs on one core) and with the runner's default thread pool. Compilation is kept out
of these timings: the kernel is loaded (or compiled) before the clock starts.

Last, it times ``twinbench run projects/<example>`` as a user meets it, from process start to
the printed result, with a cold numba cache (``NUMBA_CACHE_DIR`` pointed at an empty temporary
folder) and then warm (the same folder, now filled).

Not part of the test suite; run it by hand::

    .venv/bin/python benchmarks/bench_kernel.py            # issue defaults, about 10 min
    .venv/bin/python benchmarks/bench_kernel.py --quick    # SimPy on a tenth of the horizon
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bare_line import run_bare, run_heap, run_scan  # noqa: E402
from simpy_line import run_line  # noqa: E402

from kernels import types as kt  # noqa: E402
from twin.projectfile.reader import load_project  # noqa: E402
from twin.sim.runner import RunSpec, run_project  # noqa: E402
from twin.sim.stats import mean_ci, t975  # noqa: E402

EXPECTED_THROUGHPUT = 0.657


def welch(a: list[float], b: list[float]) -> tuple[float, float, float]:
    """Welch's t statistic, its Welch-Satterthwaite degrees of freedom and two-sided p."""
    na, nb = len(a), len(b)
    va, vb = statistics.variance(a) / na, statistics.variance(b) / nb
    t = (statistics.fmean(a) - statistics.fmean(b)) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
    try:
        from scipy.stats import t as student_t

        p = float(2.0 * student_t.sf(abs(t), df))
    except ImportError:  # scipy is a dev dependency; without it, say only whether p < 0.05
        p = 0.0 if abs(t) > t975(max(1, int(df))) else 1.0
    return t, df, p


def run_twinbench(horizon: float, warmup: float, replications: int, seed: int,
                  workers: int | None) -> dict:
    project = load_project(ROOT / "projects" / "standard-line")
    spec = RunSpec(horizon=horizon, warmup=warmup, replications=replications, seed=seed)
    t0 = time.perf_counter()
    result = run_project(project, ["base"], spec, workers=workers)
    wall = time.perf_counter() - t0
    reps = result.scenarios["base"].replications
    thr = [float(r.line_out[kt.L_GOOD] / r.line_out[kt.L_OBSERVED]) for r in reps]
    events = sum(float(r.line_out[kt.L_EVENTS]) for r in reps)
    return {"throughput": thr, "wall": wall, "events": events}


def timed_replications(one, horizon: float, warmup: float, replications: int) -> dict:
    """Run ``one(r) -> (good parts, model events)`` for each replication, on the clock."""
    t0 = time.perf_counter()
    stats = [one(r) for r in range(replications)]
    wall = time.perf_counter() - t0
    return {"throughput": [good / (horizon - warmup) for good, _ in stats], "wall": wall,
            "events": float(sum(events for _, events in stats))}


def run_simpy(horizon: float, warmup: float, replications: int, seed: int, style: str) -> dict:
    def one(r):
        s = run_line(horizon, warmup, seed, r, style)
        return s.good, s.events

    return timed_replications(one, horizon, warmup, replications)


def run_bare_line(kernel, horizon: float, warmup: float, replications: int, seed: int) -> dict:
    return timed_replications(lambda r: run_bare(kernel, horizon, warmup, seed, r)[:2],
                              horizon, warmup, replications)


def warm_kernel() -> None:
    """Load (or compile) every kernel the runner uses, and the bare ones, outside the timed
    runs."""
    from kernels.warmup import warm_up

    warm_up()
    run_twinbench(200.0, 10.0, 1, 1, workers=1)
    for kernel in (run_heap, run_scan):
        run_bare(kernel, 200.0, 10.0, 1, 0)


def twinbench_command() -> list[str]:
    script = Path(sys.executable).with_name("twinbench")
    return [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]


def time_cli(project: Path, cache_dir: str, extra: list[str]) -> tuple[float, str]:
    """Seconds from process start to exit of ``twinbench run``; returns (seconds, stdout)."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    cmd = [*twinbench_command(), "run", str(project), "--quiet", *extra]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
    return wall, done.stdout


def fmt_ci(values: list[float]) -> str:
    s = mean_ci(values)
    return f"{s['mean']:.4f} ± {s['ci95_halfwidth']:.4f}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--horizon", type=float, default=1_000_000.0,
                   help="simulated time units per replication (default 1,000,000)")
    p.add_argument("--warmup", type=float, default=1_000.0, help="default 1,000")
    p.add_argument("--replications", type=int, default=5, help="default 5")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--quick", action="store_true",
                   help="run SimPy on a tenth of the horizon (its events/s stay comparable)")
    p.add_argument("--cli-example", default="bottling-line",
                   help="project timed through 'twinbench run' (default bottling-line)")
    p.add_argument("--cli-args", default="",
                   help="extra arguments for that run, e.g. \"--horizon 8h\"")
    p.add_argument("--warm-repeats", type=int, default=3,
                   help="warm-cache CLI runs; the median is printed (default 3)")
    p.add_argument("--skip-cli", action="store_true", help="skip the CLI start-up timings")
    args = p.parse_args(argv)
    if args.replications < 2:
        p.error("--replications must be >= 2 for intervals and the Welch test")
    simpy_horizon = args.horizon / 10.0 if args.quick else args.horizon
    if not args.warmup < simpy_horizon:
        p.error("the warm-up must be shorter than the (SimPy) horizon")

    print(f"standard line: horizon {args.horizon:,.0f}, warm-up {args.warmup:,.0f}, "
          f"{args.replications} replications, seed {args.seed}; {os.cpu_count()} CPUs")
    t0 = time.perf_counter()
    warm_kernel()
    print(f"kernel loaded (or compiled) in {time.perf_counter() - t0:.1f} s, not counted")

    tb1 = run_twinbench(args.horizon, args.warmup, args.replications, args.seed, workers=1)
    tbn = run_twinbench(args.horizon, args.warmup, args.replications, args.seed, workers=None)
    bare_heap = run_bare_line(run_heap, args.horizon, args.warmup, args.replications, args.seed)
    bare_scan = run_bare_line(run_scan, args.horizon, args.warmup, args.replications, args.seed)
    print(f"SimPy: horizon {simpy_horizon:,.0f}{' (--quick)' if args.quick else ''} ...",
          flush=True)
    sp = run_simpy(simpy_horizon, args.warmup, args.replications, args.seed, "own_clock")
    sp_fp = run_simpy(simpy_horizon, args.warmup, args.replications, args.seed,
                      "failure_process")

    rows = [("twinbench, 1 thread", tb1, args.horizon),
            ("twinbench, thread pool", tbn, args.horizon),
            ("bare line kernel, heap", bare_heap, args.horizon),
            ("bare line kernel, scan", bare_scan, args.horizon),
            ("SimPy, own clock", sp, simpy_horizon),
            ("SimPy, failure process", sp_fp, simpy_horizon)]
    print()
    print(f"{'':24}{'throughput (1/time unit)':>27}{'wall s':>10}{'model events':>15}"
          f"{'events/s':>13}{'events/time unit':>18}")
    for label, r, h in rows:
        rate = r["events"] / r["wall"]
        per_t = r["events"] / (args.replications * (h - args.warmup))
        print(f"{label:24}{fmt_ci(r['throughput']):>27}{r['wall']:>10.2f}{r['events']:>15,.0f}"
              f"{rate:>13,.0f}{per_t:>18.3f}")
    print()
    for peer, r in (("SimPy, own clock", sp), ("SimPy, failure process", sp_fp)):
        rate = r["events"] / r["wall"]
        print(f"events/s ratio against {peer + ':':24} twinbench 1 thread "
              f"{tb1['events'] / tb1['wall'] / rate:6,.1f}x, thread pool "
              f"{tbn['events'] / tbn['wall'] / rate:6,.1f}x")
    for label, r in (("bare line kernel, heap", bare_heap), ("bare line kernel, scan", bare_scan)):
        rate = r["events"] / r["wall"]
        print(f"events/s ratio of the {label} against SimPy, own clock: "
              f"{rate / (sp['events'] / sp['wall']):6,.1f}x; twinbench 1 thread runs at "
              f"{tb1['events'] / tb1['wall'] / rate:.0%} of its rate")
    for label, a, b in (("SimPy models", sp, sp_fp), ("bare line kernels", bare_heap, bare_scan)):
        same = a["throughput"] == b["throughput"] and a["events"] == b["events"]
        print(f"the two {label} simulate the same trajectories (equal throughputs and event "
              f"counts): {'yes' if same else 'NO'}")
    t, df, pval = welch(tb1["throughput"], sp["throughput"])
    verdict = "equal at the 5% level" if pval >= 0.05 else "DIFFERENT at the 5% level"
    print(f"Welch test of equal throughput: t = {t:.3f}, df = {df:.1f}, p = {pval:.3f}: "
          f"{verdict} (expected about {EXPECTED_THROUGHPUT})")

    if not args.skip_cli:
        project = ROOT / "projects" / args.cli_example
        extra = args.cli_args.split()
        shown = " ".join(["twinbench run", f"projects/{args.cli_example}", "--quiet", *extra])
        print(f"\n'{shown}', process start to printed result:")
        with tempfile.TemporaryDirectory(prefix="twinbench-numba-") as cache:
            cold, _ = time_cli(project, cache, extra)
            print(f"  cold numba cache (empty NUMBA_CACHE_DIR): {cold:7.2f} s")
            warm = sorted(time_cli(project, cache, extra)[0] for _ in range(args.warm_repeats))
            print(f"  warm numba cache (median of {args.warm_repeats}):        "
                  f"{statistics.median(warm):7.2f} s  (runs: "
                  f"{', '.join(f'{w:.2f}' for w in warm)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
