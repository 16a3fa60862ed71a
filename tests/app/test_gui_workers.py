"""Worker pools in the workbench (issue 18 §3): a pool added in the plant dialog, a station
made manual in the inspector, a run whose exported figures show the operator's work."""

import csv

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
    w.plant_dialog.close()
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
