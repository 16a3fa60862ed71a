"""Interactive what-if latency: a slider's release to the KPIs shown (issue 17 §5).

For each example project, the What-if panel (``app.whatif_panel.WhatIfPanel``, the widget of
the workbench's What-if dock) gets one factor (the first buffer's capacity, else the first
station's mean process time) at the 8-hour horizon; after a first run (its pilot chooses the
replications), the slider is moved back and forth by key presses, each a release. A sample
is the wall time from the key press to the panel's ``kpis_shown`` (variant built on the GUI
thread, the run on its Job, the summary and the table drawn). The peer, in the same run: a
plain ``run_project`` call of the same variant, horizon and replications, timed alike.
Target: under 1 s. Not a test: nothing asserts a time.

Usage::

    .venv/bin/python benchmarks/bench_whatif.py [--releases 5] [--project standard-line]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROJECTS = ("standard-line", "bottling-line", "machining-cell", "assembly-line")


def first_factor(project):
    from twin.experiments.spec import Factor
    from twin.model import elements as m

    for el in project.elements:
        if isinstance(el, m.Buffer) and el.capacity:
            return Factor(el.id, "capacity", 1, 2 * el.capacity, integer=True)
    for el in project.elements:
        if isinstance(el, m.Station) and hasattr(el.process_time, "mean"):
            mean = el.process_time.mean
            return Factor(el.id, "process_time.mean", 0.5 * mean, 1.5 * mean)
    raise SystemExit(f"{project.name}: no buffer capacity or station mean to vary")


def bench(app, name: str, releases: int) -> dict:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from app.whatif_panel import WhatIfPanel, varied
    from twin.projectfile.reader import load_project
    from twin.sim.runner import run_project

    project = load_project(ROOT / "projects" / name)
    factor = first_factor(project)
    panel = WhatIfPanel()
    panel.set_project(project)
    panel.show()
    shown = []
    panel.kpis_shown.connect(shown.append)

    def wait(n):
        while len(shown) < n:
            app.processEvents()
            time.sleep(0.001)

    panel.add_factor(factor)
    wait(1)
    slider = panel.slider(factor.name)
    latency, reps, values = [], [], []
    for k in range(releases):
        key = Qt.Key_Left if k % 2 == 0 else Qt.Key_Right
        t0 = time.perf_counter()
        QTest.keyClick(slider, key)
        wait(k + 2)
        latency.append(time.perf_counter() - t0)
        reps.append(shown[-1].replications)
        values.append(panel.values_now[factor.name])
    # the peer: the same runs, called directly
    peer = []
    for k in range(releases):
        variant = varied(project, {factor: values[k]})
        spec = replace(panel.spec(), replications=reps[k])
        t0 = time.perf_counter()
        run_project(variant, ["base"], spec, variants={"base": variant}).summary()
        peer.append(time.perf_counter() - t0)
    panel.shutdown()
    panel.deleteLater()
    return {"project": name, "factor": factor.name, "replications": reps,
            "latency": statistics.median(latency), "peer": statistics.median(peer)}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--releases", type=int, default=5)
    ap.add_argument("--project", action="append", choices=PROJECTS)
    args = ap.parse_args(argv)
    from PySide6.QtWidgets import QApplication

    from kernels.warmup import warm_up

    app = QApplication.instance() or QApplication([])
    warm_up()
    print(f"{'project':16} {'factor':28} {'reps':>5} {'release->KPIs':>14} "
          f"{'run_project':>12} {'ratio':>6}")
    for name in args.project or PROJECTS:
        r = bench(app, name, args.releases)
        print(f"{r['project']:16} {r['factor']:28} {statistics.median(r['replications']):>5g} "
              f"{r['latency']:>12.3f} s {r['peer']:>10.3f} s {r['latency'] / r['peer']:>6.2f}",
              flush=True)
    print("release->KPIs: median over releases, from the key press to the KPIs drawn "
          "(target < 1 s); ratio: against run_project of the same runs in this process")


if __name__ == "__main__":
    main()
