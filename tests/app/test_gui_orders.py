"""Orders in the workbench (issue 18 §4): the orders editor of a source refuses bad rows with
the reader's JSON path, and a run's Orders tab lists the riskiest order first above its
Gantt chart."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from twin.model import elements as m
from twin.model.distributions import constant
from twin.model.orders import SEQUENCING_RULES, Order

pytestmark = pytest.mark.gui


def order_line() -> m.Project:
    """An order source (EDD) -> M (60 s a part) -> sink, with three orders released at 0."""
    p = m.Project("orders", elements=[
        m.Source("src", position=(0.0, 0.0, 0.0), sequencing="edd", orders=[
            Order("easy", "part", 5, 0.0, 7200.0),  # 5 parts, due 2 h: on time
            Order("tight", "part", 20, 0.0, 1500.0),  # done at 1500 s at best (EDD: first)
            Order("late", "part", 40, 0.0, 3000.0)]),  # after tight: done at 3600 s, late
        m.Station("M", position=(3.0, 0.0, 0.0), process_time=constant(60.0)),
        m.Sink("out", position=(6.0, 0.0, 0.0)),
    ], run=m.RunSettings(horizon=4 * 3600.0, warmup=0.0, replications=2, seed=3))
    p.connect("src", "M")
    p.connect("M", "out")
    return p


def test_orders_editor_and_the_risk_table(make_window, qtbot, warm_kernel):
    w = make_window(order_line())
    w.view.set_selection(["src"])
    qtbot.waitUntil(lambda: all(e.isVisible() for e in w.inspector.editors.values()))
    ed = w.inspector.editors["orders"]
    assert ed.table.rowCount() == 3 and ed.table.item(1, 0).text() == "tight"
    n = len(w.stack)
    ed.table.item(2, 2).setText("0")  # a quantity of 0: refused, with the reader's path
    assert "orders[2].quantity" in w.inspector.error.text()
    assert ">= 1" in ed.error.text()
    assert w.project.element("src").orders[2].quantity == 40 and len(w.stack) == n
    ed.table.item(2, 2).setText("35")  # the late order now has 35 parts: done at 3300 s
    assert w.project.element("src").orders[2].quantity == 35 and len(w.stack) == n + 1
    QTest.mouseClick(ed.add, Qt.LeftButton)  # a fourth order, its product and times copied
    assert [o.id for o in w.project.element("src").orders] == [
        "easy", "tight", "late", "order4"]
    w.act_undo.trigger()
    assert len(w.project.element("src").orders) == 3
    with qtbot.waitSignal(w.run_panel.run_finished, timeout=120_000):
        assert w.run_panel.start_run()
    d = w.dashboards
    d.tabs.setCurrentWidget(d.orders)
    d.finish_drawing()
    table = d.orders.table
    # EDD: tight (due 1500) runs 0-1200 s and is on time; late (due 3000) runs to 1200 +
    # 35 * 60 = 3300 s; easy (due 7200) to 3600 s. Only "late" is late: it heads the table
    assert table.rowCount() == 3
    assert [table.item(r, 0).text() for r in range(3)][0] == "late"
    assert table.item(0, 4).text() == "0.000"  # P(on time)
    assert table.item(0, 7).text() == f"{3300 / 3600:.3g}"  # P50 completion (h)
    assert table.item(0, 9).text() == f"{300 / 3600:.3g}"  # mean tardiness (h)
    ticks = d.orders.gantt.getAxis("left")._tickLevels[0]
    assert ticks[0][1] == "late"


def test_assembly_line_example_shows_its_orders_by_risk(make_window, qtbot, warm_kernel):
    # issue 18 §5: the example is driven by an order list; its run fills the Orders tab
    import dataclasses
    from pathlib import Path

    from twin.projectfile.reader import load_project

    project = load_project(Path(__file__).resolve().parents[2] / "projects" / "assembly-line")
    project.run = dataclasses.replace(project.run, replications=2)
    w = make_window(project)
    with qtbot.waitSignal(w.run_panel.run_finished, timeout=240_000):
        assert w.run_panel.start_run()
    d = w.dashboards
    d.tabs.setCurrentWidget(d.orders)
    d.finish_drawing()
    table = d.orders.table
    ids = [table.item(r, 0).text() for r in range(table.rowCount())]
    assert sorted(ids) == [f"SO-{1001 + k}" for k in range(12)]
    p_on_time = [float(table.item(r, 4).text()) for r in range(len(ids))]
    assert p_on_time == sorted(p_on_time)  # the riskiest first
    first = ids.index("SO-1001")  # 130 P100 pumps due at 3 h: on time, done before 3 h
    assert table.item(first, 3).text() == "3" and p_on_time[first] == 1.0
    assert float(table.item(first, 8).text()) < 3.0  # its P90 completion (h)
    ticks = d.orders.gantt.getAxis("left")._tickLevels[0]
    assert [t[1] for t in ticks] == ids  # one Gantt bar per order, in the table's order


def test_a_buffers_sequencing_is_a_choice_in_the_inspector(make_window, qtbot):
    # issue 18 §4: a buffer's rule, chosen like a source's; undo restores fifo
    p = m.Project("queue", elements=[
        m.Source("src", position=(0.0, 0.0, 0.0), orders=[Order("A", "part", 5, 0.0, 600.0)]),
        m.Buffer("Q", position=(2.0, 0.0, 0.0)),
        m.Station("M", position=(4.0, 0.0, 0.0), process_time=constant(60.0)),
        m.Sink("out", position=(6.0, 0.0, 0.0))])
    for a, b in (("src", "Q"), ("Q", "M"), ("M", "out")):
        p.connect(a, b)
    w = make_window(p)
    w.view.set_selection(["Q"])
    qtbot.waitUntil(lambda: "sequencing" in w.inspector.editors
                    and w.inspector.editors["sequencing"].isVisible())
    box = w.inspector.editors["sequencing"]
    assert [box.itemText(i) for i in range(box.count())] == list(SEQUENCING_RULES)
    assert box.currentText() == "fifo"
    box.setCurrentText("edd")
    box.activated.emit(box.currentIndex())
    assert w.project.element("Q").sequencing == "edd"
    w.act_undo.trigger()
    assert w.project.element("Q").sequencing == "fifo"


def test_save_as_takes_the_orders_csv_along(make_window, qtbot, warm_kernel, tmp_path,
                                           monkeypatch):
    # a project whose orders are a CSV beside project.json: File > Save As into a new
    # folder copies the CSV, so the saved project opens, runs and shows its orders
    import json

    from app import main_window as mw
    from twin.projectfile.reader import load_project, save_project

    p = order_line()
    save_project(p, tmp_path / "a")
    doc = json.loads((tmp_path / "a" / "project.json").read_text(encoding="utf-8"))
    (tmp_path / "a" / "orders.csv").write_text(
        "id,product,quantity,release,due\n" + "".join(
            f"{o['id']},{o['product']},{o['quantity']},{o['release']},{o['due']}\n"
            for o in doc["elements"][0]["orders"]), encoding="utf-8")
    doc["elements"][0]["orders"] = "orders.csv"
    (tmp_path / "a" / "project.json").write_text(json.dumps(doc), encoding="utf-8")
    w = make_window(load_project(tmp_path / "a"))
    monkeypatch.setattr(mw.QFileDialog, "getSaveFileName",
                        lambda *a: (str(tmp_path / "b"), ""))
    w.act_save_as.trigger()
    assert w.path == tmp_path / "b"
    assert w.log_pane.toPlainText().splitlines()[-1].startswith("saved ")
    assert (tmp_path / "b" / "orders.csv").read_bytes() == (
        tmp_path / "a" / "orders.csv").read_bytes()
    w2 = make_window(load_project(tmp_path / "b"))
    with qtbot.waitSignal(w2.run_panel.run_finished, timeout=120_000):
        assert w2.run_panel.start_run()
    d = w2.dashboards
    d.tabs.setCurrentWidget(d.orders)
    d.finish_drawing()
    # EDD as in the first test, with 40 parts late: done at 1200 + 2400 = 3600 s
    ids = [d.orders.table.item(r, 0).text() for r in range(d.orders.table.rowCount())]
    assert ids[0] == "late" and sorted(ids) == ["easy", "late", "tight"]


def many_orders(n: int = 30) -> m.Project:
    """``order_line`` with ``n`` orders of one part each, due 10 min apart, released at 0:
    EDD makes order k (due (k + 1) * 600 s) the k-th part, done at (k + 1) * 60 s."""
    p = order_line()
    p.element("src").orders = [Order(f"O-{k:02d}", "part", 1, 0.0, 600.0 * (k + 1))
                               for k in range(n)]
    return p


def _shown_labels(view):
    """The order ids the Gantt chart's left axis labels in its visible range."""
    y0, y1 = view.gantt.getViewBox().viewRange()[1]
    return [text for v, text in view.gantt.getAxis("left")._tickLevels[0] if y0 < v < y1]


def test_the_gantt_chart_in_a_small_dock_scrolls_and_tells_an_orders_figures(
        make_window, qtbot, warm_kernel):
    # 30 orders in the Charts dock of a 1200 x 800 window (about 150 px high): each bar keeps
    # ROW_PX pixels, a scroll bar reaches the rest, hovering a bar tells its figures and a
    # click selects the order in the table
    from app.orders_view import ROW_PX

    w = make_window(many_orders())
    with qtbot.waitSignal(w.run_panel.run_finished, timeout=120_000):
        assert w.run_panel.start_run()
    d = w.dashboards
    d.tabs.setCurrentWidget(d.orders)
    d.finish_drawing()
    view = d.orders
    qtbot.waitUntil(lambda: view.gantt.isVisible() and view.scroll.isVisible())
    assert view.split.orientation() == Qt.Horizontal  # the dock is wide and low
    assert view.table.rowCount() == 30 and view.gantt.height() < 30 * ROW_PX
    vb = view.gantt.getViewBox()
    row_px = abs(vb.mapViewToScene(pg_point(0, 1)).y() - vb.mapViewToScene(pg_point(0, 0)).y())
    assert row_px >= ROW_PX
    shown = view.shown_orders()
    assert 1 <= len(shown) < 30 and shown == [f"O-{k:02d}" for k in range(len(shown))]
    assert _shown_labels(view) == shown  # all 30 are on time: table order is id order
    view.scroll.setValue(view.scroll.maximum())  # the user drags the bar to the bottom
    assert view.shown_orders()[-1] == "O-29" and _shown_labels(view)[-1] == "O-29"
    # hover the bar of the order at the top of the view: its figures, as the table has them
    top = view.shown_orders()[0]
    k = view.ids.index(top)
    o = view.orders[top]
    at = view.gantt.mapFromScene(vb.mapViewToScene(pg_point(o["release_s"] / 3600.0
                                                             + 0.01, k)))
    hover(view.gantt.viewport(), at)
    qtbot.waitUntil(lambda: view.gantt.toolTip().startswith(f"order {top}: 1 × part"))
    tip = view.gantt.toolTip()
    assert f"due {(k + 1) * 600 / 3600:.3g} h" in tip and "P(on time) 1.000" in tip
    assert f"P50 {(k + 1) * 60 / 3600:.3g} h" in tip
    QTest.mouseClick(view.gantt.viewport(), Qt.LeftButton, Qt.NoModifier, at)
    qtbot.waitUntil(lambda: bool(view.table.selectionModel().selectedRows()))
    row = view.table.selectionModel().selectedRows()[0].row()
    assert view.table.item(row, 0).text() == top
    # choosing the first order in the table brings its bar back into view
    view.table.selectRow(0)
    assert view.shown_orders()[0] == "O-00" and _shown_labels(view)[0] == "O-00"


def hover(widget, pos):
    """Move the mouse to ``pos`` over ``widget`` (no button), as the window system would:
    QTest.mouseMove sends no move event to the offscreen platform's widgets."""
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    p = QPointF(pos)
    QApplication.sendEvent(widget, QMouseEvent(QEvent.MouseMove, p, widget.mapToGlobal(p),
                                               Qt.NoButton, Qt.NoButton, Qt.NoModifier))


def pg_point(x, y):
    from PySide6.QtCore import QPointF

    return QPointF(x, y)
