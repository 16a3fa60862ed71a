"""The alert engine's speed: readings per second through a project's rules, against the
recorder it runs beside.

An emulated shift of the bottling line (``twin.live.emulator.plan_run``: every state change,
part and power change the emulator would publish) is fed in batches of 2,000 readings to

* ``AlertEngine`` with the project's ``alerts`` rules (the bottling line's example: two state
  rules, the shift target, a peak, drift on every station, no data), then again with the
  drift rule alone and with the other rules alone, so that the cost of each is seen;
* the peer, in the same run: ``LiveRecorder`` (checks, de-duplication, buffering, HDF5
  appends and flushes) on the same readings.

The ratio says what following the rules costs beside recording. Short settings by default
(2 plant hours); ``--hours 8`` for a whole shift.

    .venv/bin/python benchmarks/bench_alerts.py
    .venv/bin/python benchmarks/bench_alerts.py --hours 8
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from twin.live.emulator import plan_run  # noqa: E402
from twin.live.feed import Reading  # noqa: E402
from twin.live.recorder import LiveRecorder, project_assets  # noqa: E402
from twin.projectfile.reader import load_project  # noqa: E402
from twin.shadow.alerts import AlertEngine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
T0 = 1_764_662_400.0
BATCH = 2000


def through_engine(project, settings, readings) -> tuple[float, int]:
    e = AlertEngine(project, settings)
    start = time.perf_counter()
    for i in range(0, len(readings), BATCH):
        b = readings[i:i + BATCH]
        e.readings(b)
        e.advance(b[-1].t)
    return time.perf_counter() - start, len(e.history)


def through_recorder(project, readings) -> float:
    with tempfile.TemporaryDirectory() as d:
        start = time.perf_counter()
        with LiveRecorder(Path(d) / "r.h5", project_assets(project), source="bench") as rec:
            for i in range(0, len(readings), BATCH):
                rec.readings(readings[i:i + BATCH])
                rec.tick()
        return time.perf_counter() - start


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=2.0, help="plant hours (default 2)")
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args(argv)
    project = load_project(ROOT / "projects" / "bottling-line")
    settings = project.alerts
    plan = plan_run(project, duration=args.hours * 3600.0, seed=args.seed, levels=False)
    readings = [Reading(a, c, t, v) for a, c, t, v in plan.messages(0, len(plan), T0)]
    n = len(readings)
    print(f"bottling line, {args.hours:g} plant hours: {n:,} readings, "
          f"{len(settings.rules)} rules")
    rec_s = through_recorder(project, readings)
    rows = [("recorder (peer)", rec_s, None)]
    for label, rules in (
            ("all rules", settings.rules),
            ("drift rule only", tuple(r for r in settings.rules if r.kind == "drift")),
            ("rules without drift", tuple(r for r in settings.rules if r.kind != "drift"))):
        s, alerts = through_engine(project, replace(settings, rules=rules), readings)
        rows.append((label, s, alerts))
    print(f"{'':24} {'s':>7} {'readings/s':>12} {'x recorder time':>16} {'alert changes':>14}")
    for label, s, alerts in rows:
        print(f"{label:24} {s:7.2f} {n / s:12,.0f} {s / rec_s:16.2f} "
              f"{'' if alerts is None else alerts:>14}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
