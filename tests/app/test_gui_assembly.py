"""An assembly built with the mouse (issue 18): dropped from the palette, connected, its bill
of materials typed in the inspector, run, and the per-input KPIs read back."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from screen import mouse_drag
from test_gui_editing import drop

from app.editors.assembly import CAPACITY, QUANTITY
from twin.model import elements as m
from twin.model.distributions import constant

pytestmark = pytest.mark.gui


def feeders() -> m.Project:
    """Two feeders (housings every 20 s, screws every 5 s) and a sink, not yet joined."""
    p = m.Project("feeders", elements=[
        m.Source("src_h", position=(-6.0, -3.0, 0.0)),
        m.Source("src_s", position=(-6.0, 3.0, 0.0)),
        m.Station("housing", position=(-2.0, -3.0, 0.0), process_time=constant(20.0)),
        m.Station("screws", position=(-2.0, 3.0, 0.0), process_time=constant(5.0)),
        m.Sink("out", position=(6.0, 0.0, 0.0)),
    ], run=m.RunSettings(horizon=3600.0, replications=2, seed=1))
    p.connect("src_h", "housing")
    p.connect("src_s", "screws")
    return p


def test_build_an_assembly_with_the_mouse_and_run_it(make_window, qtbot, warm_kernel):
    w = make_window(feeders())
    v = w.view
    v.camera_preset("top")
    v.fit_view()
    v.render_now()
    assert drop(v, "assembly", 2.0, 0.0) == "A1"
    assert w.project.element("A1").assembly == m.Assembly(())
    w.act_connect.trigger()
    for s, t in (("housing", "A1"), ("screws", "A1"), ("A1", "out")):
        ps, pt = (w.project.element(i).position for i in (s, t))
        mouse_drag(v.vtk, v.widget_point(ps[0], ps[1]), v.widget_point(pt[0], pt[1]))
    w.act_connect.trigger()
    QTest.mouseClick(v.vtk, Qt.LeftButton, Qt.NoModifier, v.widget_point(2.0, 0.0))
    assert v.selection == ["A1"]
    # the empty bill is a fault of the flow, shown above the fields
    assert "at least one input" in w.inspector.problems.text()
    ed = w.inspector.editors["assembly"]
    assert ed.enabled.isChecked()
    assert [ed.table.item(r, 0).text() for r in range(ed.table.rowCount())] == [
        "housing", "screws"]
    # one housing and four screws per assembled part; a place too small is refused with
    # the reader's reason and leaves the model as it was
    ed.set_cell(0, QUANTITY, "1")
    ed.set_cell(1, QUANTITY, "4")
    assert w.project.element("A1").assembly == m.Assembly(
        (m.AssemblyInput("housing", 1), m.AssemblyInput("screws", 4)))
    ed.set_cell(1, CAPACITY, "2")
    assert "at least one set (4 parts)" in ed.error.text()
    assert w.project.element("A1").assembly.inputs[1].capacity is None
    ed.set_cell(1, CAPACITY, "8")
    ed.product.setText("pump")
    ed.product.editingFinished.emit()
    assert w.project.element("A1").assembly == m.Assembly(
        (m.AssemblyInput("housing", 1), m.AssemblyInput("screws", 4, 8)), "pump")
    assert w.inspector.problems.text() == ""
    # undo the product, redo it
    w.act_undo.trigger()
    assert w.project.element("A1").assembly.product is None
    w.act_redo.trigger()
    assert w.project.element("A1").assembly.product == "pump"
    # run: a housing every 20 s, four screws every 20 s: the assembly (60 s) is the
    # bottleneck, waiting only at the start; one pump a minute
    with qtbot.waitSignal(w.run_panel.run_finished, timeout=120_000) as blocker:
        assert w.run_panel.start_run()
    doc = blocker.args[0].summary()["base"]
    asm = doc["elements"]["A1"]
    assert doc["line"]["good_parts"]["mean"] == 59  # done at 80, 140, ..., 3560
    assert asm["inputs"]["screws"]["starved_fraction"]["mean"] == pytest.approx(20 / 3600)
    assert asm["inputs"]["housing"]["starved_fraction"]["mean"] == pytest.approx(20 / 3600)
    assert doc["bottleneck"] == "A1"
