"""An oven built with the mouse (issue 18 §2): dropped from the palette between a feeder and
a sink, its batch typed in the inspector (a bad one refused with the reader's reason), run,
and the parts read back."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from screen import mouse_drag
from test_gui_editing import drop

from twin.model import elements as m
from twin.model.distributions import constant

pytestmark = pytest.mark.gui


def feeder() -> m.Project:
    """A part every 10 s from a station, and a sink, not yet joined."""
    p = m.Project("feeder", elements=[
        m.Source("src", position=(-6.0, 0.0, 0.0)),
        m.Station("saw", position=(-3.0, 0.0, 0.0), process_time=constant(10.0)),
        m.Sink("out", position=(6.0, 0.0, 0.0)),
    ], run=m.RunSettings(horizon=3600.0, replications=2, seed=1))
    p.connect("src", "saw")
    return p


def test_build_an_oven_with_the_mouse_and_run_it(make_window, qtbot, warm_kernel, retype):
    w = make_window(feeder())
    v = w.view
    v.camera_preset("top")
    v.fit_view()
    v.render_now()
    assert drop(v, "oven", 1.5, 0.0) == "O1"
    oven = w.project.element("O1")
    assert oven.batch == m.Batch(8, timeout=3600.0) and oven.process_time == constant(2700.0)
    w.act_connect.trigger()
    for s, t in (("saw", "O1"), ("O1", "out")):
        ps, pt = (w.project.element(i).position for i in (s, t))
        mouse_drag(v.vtk, v.widget_point(ps[0], ps[1]), v.widget_point(pt[0], pt[1]))
    w.act_connect.trigger()
    QTest.mouseClick(v.vtk, Qt.LeftButton, Qt.NoModifier, v.widget_point(1.5, 0.0))
    assert v.selection == ["O1"]
    ed = w.inspector.edit_text("batch")
    assert '"size": 8' in ed.text()
    # a minimum fill above the size is refused with the reader's reason, the model unchanged
    retype(ed, '{"size": 4, "min_fill": 5}', commit=True)
    assert ed.property("invalid") is True
    assert "at most the size (4)" in w.inspector.error.text()
    assert w.project.element("O1").batch.size == 8
    retype(ed, '{"size": 6}', commit=True)
    assert w.project.element("O1").batch == m.Batch(6)
    w.act_undo.trigger()
    assert w.project.element("O1").batch == m.Batch(8, timeout=3600.0)
    w.act_redo.trigger()
    assert w.project.element("O1").batch == m.Batch(6)
    # run: a part every 10 s; the first load of 6 (the parts of 10..60) starts at 60 and
    # takes its one process time, 2700 s, for all six; the next load, full since 120, starts
    # at 2760 and is not done by 3600
    with qtbot.waitSignal(w.run_panel.run_finished, timeout=120_000) as blocker:
        assert w.run_panel.start_run()
    doc = blocker.args[0].summary()["base"]
    assert doc["line"]["good_parts"]["mean"] == 6
    assert doc["elements"]["O1"]["state_fraction"]["busy"]["mean"] == pytest.approx(
        (3600 - 60) / 3600)


def test_the_heat_treatment_example_opens_with_its_furnace(make_window):
    from pathlib import Path

    w = make_window()
    assert w.open_project(Path(__file__).resolve().parents[2] / "projects" / "heat-treatment")
    assert w.project.element("furnace").batch == m.Batch(8, 3600.0, 4, 8)
    w.view.set_selection(["furnace"])
    assert '"timeout": 3600.0' in w.inspector.edit_text("batch").text()
