"""Worker pools in the workbench (issue 18 §3): a pool added in the plant dialog, a station
made manual in the inspector, a run whose exported figures show the operator's work."""

import csv
import dataclasses

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

pytestmark = pytest.mark.gui


def test_add_a_pool_make_a_station_manual_and_read_the_operators_figures(
        make_window, line_project, qtbot, retype, tmp_path, warm_kernel):
    w = make_window(line_project)
    w.act_plant.trigger()
    we = w.plant_dialog.workers
    w.plant_dialog.tabs.setCurrentWidget(we)
    qtbot.waitUntil(we.add.isVisible)
    n = len(w.stack)
    QTest.mouseClick(we.add, Qt.LeftButton)
    assert [p.id for p in w.project.workers] == ["pool1"]
    we.table.item(0, 0).setText("operators")
    we.table.item(0, 2).setText("fast")  # a speed that is no number: the reader's words
    assert "$.workers[0].speed: must be a finite number" in we.error.text()
    assert w.project.workers[0].speed == 1.0
    we.table.item(0, 2).setText("0.5")
    assert (w.project.workers[0].id, w.project.workers[0].speed) == ("operators", 0.5)
    assert len(w.stack) == n + 3  # added, renamed, sped: one undo step each
    w.plant_dialog.accept()  # OK keeps them (Cancel, Esc and the cross discard, newfix3 §3)
    # M2 (45 s per part) needs the operator; M1 is automatic: M2 waits only for the first
    # walk (the operator has no home: the first task takes no walk), so nothing waits
    w.view.set_selection(["M2"])
    qtbot.waitUntil(lambda: all(e.isVisible() for e in w.inspector.editors.values()))
    field = w.inspector.editors["workers"]
    retype(field, '{"process": "nobody"}', commit=True)  # no such pool: refused, and why
    assert "M2.workers.process.pool" in w.inspector.error.text()
    assert "pools: operators" in w.inspector.error.text()
    assert w.project.element("M2").workers is None
    retype(field, '{"process": "operators"}', commit=True)
    assert w.project.element("M2").workers.process.pool == "operators"
    with qtbot.waitSignal(w.run_panel.run_finished, timeout=120_000) as blocker:
        assert w.run_panel.start_run()
    s = blocker.args[0].summary()["base"]
    ops = s["workers"]["operators"]
    # one operator who never walks (M2 is its only station): busy exactly while M2 is
    assert ops["walking_fraction"]["mean"] == 0.0
    assert ops["busy_fraction"]["mean"] == pytest.approx(
        s["elements"]["M2"]["state_fraction"]["busy"]["mean"])
    assert s["elements"]["M2"]["state_fraction"]["waiting_for_worker"]["mean"] == 0.0
    w.dashboards.export_csv(str(tmp_path / "kpi.csv"))
    with open(tmp_path / "kpi.csv", newline="") as f:
        rows = {(r["scenario"], r["element"], r["kpi"]): r for r in csv.DictReader(f)}
    row = rows[("base", "workers.operators", "utilization")]
    assert float(row["mean"]) == pytest.approx(ops["utilization"]["mean"])
    # undo takes the station's need back first, then the pool's edits
    w.act_undo.trigger()
    assert w.project.element("M2").workers is None
    w.act_undo.trigger()
    assert w.project.workers[0].speed == 1.0


def test_the_workers_tab_shows_each_pools_busy_walking_and_idle_with_intervals(
        make_window, qtbot, warm_kernel):
    """machining-cell (one technician): the Workers tab stacks the pool's busy, walking and
    idle fractions, each to its mean over the replications, and the table beside says the
    same with the tasks waited for and their mean wait."""
    from pathlib import Path

    import numpy as np

    from twin.projectfile.reader import load_project
    from twin.sim.workers import CHART_FRACTIONS

    project = load_project(Path(__file__).resolve().parents[2] / "projects" / "machining-cell")
    project.run = dataclasses.replace(project.run, horizon=2 * 86400.0, warmup=0.0,
                                      replications=4)
    w = make_window(project)
    with qtbot.waitSignal(w.run_panel.run_finished, timeout=180_000) as blocker:
        assert w.run_panel.start_run()
    d = w.dashboards
    d.finish_drawing()
    d.tabs.setCurrentWidget(d.workers)
    assert d.tabs.tabText(d.tabs.currentIndex()) == "Workers"
    pool = blocker.args[0].summary()["base"]["workers"]["maintenance"]
    chart = d.workers
    assert list(chart.bars) == list(CHART_FRACTIONS)
    top = 0.0
    for part, bar in chart.bars.items():
        want = pool[f"{part}_fraction"]["mean"]
        assert bar.opts["height"][0] == pytest.approx(want)
        assert bar.opts["y0"][0] == pytest.approx(top)
        top += want
    assert top == pytest.approx(1.0)  # the three parts are the whole working time
    assert 0.0 < pool["busy_fraction"]["mean"] < 1.0 and pool["tasks"]["mean"] > 0
    ticks = chart.plot.getAxis("bottom")._tickLevels
    assert ticks == [[(0, "maintenance")]]
    header = [chart.table.horizontalHeaderItem(c).text()
              for c in range(chart.table.columnCount())]
    assert header == ["pool", "busy %", "walking %", "idle %", "tasks", "tasks waited",
                      "mean wait (s)"]
    row = [chart.table.item(0, c).text() for c in range(chart.table.columnCount())]
    busy = pool["busy_fraction"]
    assert row[0] == "maintenance"
    assert row[1] == f"{100 * busy['mean']:.1f} ± {100 * busy['ci95_halfwidth']:.1f}"
    assert row[5].startswith(f"{pool['tasks_waited']['mean']:.1f} ± ")
    assert row[6].startswith(f"{pool['mean_wait_s']['mean']:.1f} ± ")
    assert np.isfinite(pool["mean_wait_s"]["ci95_halfwidth"])
