"""Benchmark: the shadow twin's forecast (issue 16 §1-§2): its speed and its calibration.

**Speed.** For each example project, one 8-hour shift is simulated and written as a
recording; then a forecast of ``--replications`` (200) to the end of the shift is timed
(``twin.shadow.forecast.forecast_at``: read the recording, build the forked state of every
replication, run them), from ``--at`` (60 s: the whole shift ahead, the worst case) and from
mid-shift (the rolling forecast's average case), on one thread and on two (the runner's
thread pool: the kernel releases the GIL). The peer, in the same run: the same replications
of the same span through ``twin.sim.runner.run_project`` from an empty line (no recording,
no fork), one thread. The kernel's floor: the peer's events per replication
(``L_ALL_EVENTS``) x 200 / the kernel's events per second, measured on one replication of
``LONG`` shifts (where fixed costs vanish), on one thread and shared by two. Each time is the
best of ``--repeat`` (2) runs, interleaved (the machine is shared); the load average is
printed with each row. A forecast of one replication gives the fixed cost of a forecast,
and the same forecast with the recording read already (``replays=``: a replay, or the
workbench's job) the part of it that reading the recording takes. Besides wall-clock times
the table gives CPU seconds (``time.process_time``: every thread of the process): on a
shared machine a forecast waits for a core most of the time, and its CPU time is what a free
core would take; the kernel's rate and floor are counted in CPU seconds too.

**Calibration.** ``--shifts`` (200) shifts of a known line (``tests/twin/
test_forecast_calibration.py``'s), each simulated with known parameters and written as a
recording (``twin.shadow.scoring.simulated_shifts``; the emulator plays this same twin in real
time, so simulated recordings give the same data hundreds of times faster), are forecast at
1/8, 1/4, 1/2 and 3/4 of the shift; the table gives the share of actual end-of-shift outputs
below P10, inside P10-P90 and above P90 (95% Clopper-Pearson intervals; target 10/80/10 +- 5
points) and the CRPS of the twin and of the naive run rate. ``--sme`` adds the real SME
retrofit recording (``../shared/data``), forecast every ``--sme-every`` in the recording's
shifts (06:00, 14:00, 22:00) with a twin calibrated from the same recording (in-sample
parameters: an optimistic setting).

    .venv/bin/python benchmarks/bench_forecast.py                 # everything, ~15 min
    .venv/bin/python benchmarks/bench_forecast.py --quick         # 2 projects, 60 shifts
    .venv/bin/python benchmarks/bench_forecast.py --skip-speed --sme
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kernels import types as kt  # noqa: E402
from kernels.warmup import compiled_kernels  # noqa: E402
from twin.projectfile.reader import load_project, project_from_json  # noqa: E402
from twin.recording import Recording, extent, replay_recording  # noqa: E402
from twin.shadow.forecast import forecast_at, shift_at  # noqa: E402
from twin.shadow.scoring import (  # noqa: E402
    Coverage,
    actual_good,
    coverage,
    score,
    simulated_shifts,
)
from twin.sim.runner import RunSpec, run_project  # noqa: E402
from twin.whatif.simulated import write_run_as_recording  # noqa: E402

SHIFT = 8 * 3600.0
LONG = 20  # shifts of the run that measures the kernel's events per second
EXAMPLES = ("assembly-line", "bottling-line", "heat-treatment", "machining-cell", "standard-line")
SME_CSV = ROOT.parent / "shared/data/sme-retrofit/company_A_labelled_subset.csv"
SME_MAPPING = ROOT / "resources/mappings/sme_retrofit_mapping.json"


def clock(fn):
    """Wall-clock and CPU seconds (all threads of the process) of ``fn()``, and its result."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def best(fn, repeat: int):
    """The run of ``repeat`` with the shortest wall time: ``(wall, cpu, result)``."""
    return min((clock(fn) for _ in range(repeat)), key=lambda x: x[0])


def speed_row(name: str, replications: int, at: float, folder: Path, repeat: int) -> list[str]:
    project = load_project(ROOT / "projects" / name)
    res = run_project(project, spec=RunSpec(horizon=SHIFT, warmup=0.0, replications=1, seed=3,
                                            log=True))
    path = folder / f"{name}.h5"
    write_run_as_recording(res.scenarios["base"], 0, path, seed=3, overwrite=True)
    rows = []
    # the kernel's own speed: one replication long enough that fixed costs vanish
    _, ck, long = best(lambda: run_project(project, spec=RunSpec(
        horizon=LONG * SHIFT, warmup=0.0, replications=1, seed=2, sample_interval=60.0),
        workers=1), repeat)
    rate = long.scenarios["base"].replications[0].line_out[kt.L_ALL_EVENTS] / ck
    with Recording.open(path) as r:
        replays = replay_recording(r)

        def fc(t, reps, workers, read=True):
            return forecast_at(project, r, t, replications=reps, workers=workers,
                               shift=(0.0, SHIFT), replays=None if read else replays)

        def peer(t):
            return run_project(project, spec=RunSpec(
                horizon=SHIFT - t, warmup=0.0, replications=replications, seed=1,
                sample_interval=60.0), workers=1)

        for t in (at, SHIFT / 2):
            fc(t, 2, 1)  # what a first call pays once
            t1, c1, f = best(lambda t=t: fc(t, replications, 1), repeat)
            t2, c2, _ = best(lambda t=t: fc(t, replications, 2), repeat)
            tp, cp, res = best(lambda t=t: peer(t), repeat)
            events = np.mean([rep.line_out[kt.L_ALL_EVENTS]
                              for rep in res.scenarios["base"].replications])
            floor = replications * events / rate
            one, c_one, _ = best(lambda t=t: fc(t, 1, 1), repeat)
            one_read, c_read, _ = best(lambda t=t: fc(t, 1, 1, read=False), repeat)
            load = os.getloadavg()[0]
            rows.append(f"{name:15s} {t / 3600:5.2f}h {t1:7.2f}s {t2:7.2f}s {t2 / t1:5.2f} "
                        f"{c1:7.2f}s {c2:7.2f}s {tp:7.2f}s {cp:7.2f}s {c1 / cp:5.2f} "
                        f"{events:9,.0f} {rate / 1e6:6.2f} {floor:7.2f}s {c_one:6.3f}s "
                        f"{c_one - c_read:6.3f}s {load:5.1f}  "
                        f"(P50 {f.quantiles()[0.5][-1]:.0f} parts)")
            print(rows[-1], flush=True)
    return rows


def speed(names, replications: int, at: float, folder: Path, repeat: int) -> None:
    print(f"\nSpeed: a forecast of {replications} replications to the end of an 8-hour shift, "
          f"from t (best of {repeat})")
    print("wall: elapsed; cpu: CPU seconds of all the process's threads (on a shared machine, "
          "what a free core would take);\nM ev/cpu-s: the kernel's events per CPU second; "
          "floor: CPU seconds of the kernel's own work (events x 200 / that rate)")
    print(f"{'project':15s} {'t':>6s} {'wall 1':>8s} {'wall 2':>8s} {'2/1':>5s} "
          f"{'cpu 1':>8s} {'cpu 2':>8s} {'peer wall':>8s} {'peer cpu':>8s} {'c/p':>5s} "
          f"{'events':>9s} {'M ev/s':>6s} {'floor':>8s} {'1 rep':>7s} {'reading':>7s} "
          f"{'load':>5s}")
    for name in names:
        speed_row(name, replications, at, folder, repeat)


def table(title: str, rows: list[tuple[str, Coverage]]) -> None:
    print(f"\n{title}")
    print(f"{'forecast at':14s}{Coverage.HEADER}")
    for label, cov in rows:
        print(f"{label:14s}{cov.row()}")


def simulated(shifts: int, replications: int, folder: Path) -> None:
    sys.path.insert(0, str(ROOT / "tests" / "twin"))
    from test_forecast_calibration import SHIFT as LEN
    from test_forecast_calibration import line_doc

    project = project_from_json(line_doc())
    t0 = time.perf_counter()
    paths = simulated_shifts(project, shifts, LEN, folder / "sim", seed=17)
    fractions = (0.125, 0.25, 0.5, 0.75)
    scores = {fr: [] for fr in fractions}
    rng = np.random.default_rng(4)
    for k, path in enumerate(paths):
        with Recording.open(path) as r:
            replays = replay_recording(r)
            actual = actual_good(project, r, 0.0, LEN, replays=replays)
            for fr in fractions:
                f = forecast_at(project, r, fr * LEN, replications=replications,
                                seed=10_000 + k, shift=(0.0, LEN), replays=replays)
                scores[fr].append(score(f, actual, rng))
    table(f"Calibration on {shifts} simulated {LEN / 3600:g}-hour shifts of the known line "
          f"({replications} replications each, {time.perf_counter() - t0:.0f} s)",
          [(f"{100 * fr:g}% of shift", coverage(scores[fr])) for fr in fractions]
          + [("all", coverage([s for v in scores.values() for s in v]))])


def sme(replications: int, every: float, folder: Path) -> None:
    from twin.recording import import_recording
    from twin.whatif.calibration import add_calibrated_scenario, calibrate

    if not SME_CSV.exists():
        print(f"\nSME: {SME_CSV} not found, skipped")
        return
    out = folder / "sme.h5"
    import_recording(SME_CSV, SME_MAPPING, out)
    doc = {"schema_version": 1, "name": "sme", "elements": [
        {"id": "src", "kind": "source"},
        *({"id": f"m{k}", "kind": "station", "process_time": 60.0} for k in range(3)),
        {"id": "sink", "kind": "sink"}],
        "connections": [*(["src", f"m{k}"] for k in range(3)),
                        *([f"m{k}", "sink"] for k in range(3))]}
    project = project_from_json(doc)
    assets = {str(k): f"m{k}" for k in range(3)}
    with Recording.open(out) as r:
        report = calibrate(project, r, assets=assets)
        add_calibrated_scenario(project, report, "calibrated")
        replays = replay_recording(r)
        first, last = extent(replays)
        scores = []
        t = first + every
        while t < last:
            start, end = shift_at(project, r, t)
            if end <= last and t > start:
                f = forecast_at(project, r, t, replications=replications, scenario="calibrated",
                                assets=assets, replays=replays, shift=(start, end))
                actual = actual_good(project, r, start, end, assets=assets, replays=replays)
                if np.isfinite(actual):
                    scores.append(score(f, actual))
            t += every
    by = {}
    for s in scores:
        by.setdefault(min(int(s.elapsed * 4), 3), []).append(s)
    table(f"Calibration on the SME retrofit recording ({len(scores)} forecasts every "
          f"{every / 3600:g} h in the recording's 8-hour shifts; forecasts within a shift are "
          "not independent)",
          [(f"{25 * k}-{25 * k + 25}% of shift", coverage(v)) for k, v in sorted(by.items())]
          + [("all", coverage(scores))])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--replications", type=int, default=200)
    ap.add_argument("--at", type=float, default=60.0)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--projects", nargs="*", default=list(EXAMPLES))
    ap.add_argument("--shifts", type=int, default=200)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-simulated", action="store_true")
    ap.add_argument("--sme", action="store_true")
    ap.add_argument("--sme-every", type=float, default=3600.0)
    args = ap.parse_args()
    if args.quick:
        args.projects, args.shifts = ["assembly-line", "machining-cell"], 60
    compiled_kernels()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "sim").mkdir()
        if not args.skip_speed:
            speed(args.projects, args.replications, args.at, folder, args.repeat)
        if not args.skip_simulated:
            simulated(args.shifts, args.replications, folder)
        if args.sme:
            sme(args.replications, args.sme_every, folder)


if __name__ == "__main__":
    main()
