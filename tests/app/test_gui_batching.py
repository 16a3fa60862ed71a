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


def basket_line() -> m.Project:
    """A part every second, gathered in baskets of 3 (in no time) before a 2 m belt to a
    5 s oven, then a 1 s station and the sink (tests/twin/test_loads.py traces it)."""
    p = m.Project("baskets", elements=[
        m.Source("src", position=(-8.0, 0.0, 0.0), arrival=constant(1.0)),
        m.Station("basket", position=(-5.0, 0.0, 0.0), process_time=constant(0.0),
                  batch=m.Batch(3)),
        m.Conveyor("belt", position=(-3.0, 0.0, 0.0), length=2.0, speed=1.0, spacing=1.0),
        m.Station("oven", position=(0.0, 0.0, 0.0), process_time=constant(5.0)),
        m.Station("unload", position=(3.0, 0.0, 0.0), process_time=constant(1.0)),
        m.Sink("out", position=(6.0, 0.0, 0.0)),
    ], run=m.RunSettings(horizon=22.0, replications=1, seed=1))
    for a, b in (("src", "basket"), ("basket", "belt"), ("belt", "oven"), ("oven", "unload"),
                 ("unload", "out")):
        p.connect(a, b)
    return p


def run_good_parts(w, qtbot) -> float:
    with qtbot.waitSignal(w.run_panel.run_finished, timeout=120_000) as blocker:
        assert w.run_panel.start_run()
    return blocker.args[0].summary()["base"]["line"]["good_parts"]["mean"]


def test_a_basket_released_as_one_load_and_unbatched_in_the_inspector(make_window, qtbot,
                                                                        warm_kernel):
    w = make_window(basket_line())
    insp = w.inspector
    w.view.set_selection(["basket"])
    release = insp.release
    assert release.currentText() == "parts" and release.isEnabled()
    # choose "load": the batch keeps its size and gains the release, one undo step
    release.setCurrentText("load")
    release.activated.emit(release.currentIndex())
    assert w.project.element("basket").batch == m.Batch(3, release="load")
    assert '"release": "load"' in insp.edit_text("batch").text()
    w.act_undo.trigger()
    assert w.project.element("basket").batch == m.Batch(3)
    assert release.currentText() == "parts"
    w.act_redo.trigger()
    assert release.currentText() == "load"
    # the station after the oven empties the basket: its unbatch box, undoable too
    w.view.set_selection(["unload"])
    box = insp.editor("unbatch")
    assert not box.isChecked()
    box.click()
    assert w.project.element("unload").unbatch
    w.act_undo.trigger()
    assert not w.project.element("unload").unbatch and not box.isChecked()
    w.act_redo.trigger()
    assert w.project.element("unload").unbatch and box.isChecked()
    # baskets of three through the oven in 5 s each: p1-p9 are out by 22 s
    assert run_good_parts(w, qtbot) == 9
    # a scrapping oven would take a basket for one part: the reader's reason, on the oven
    w.view.set_selection(["oven"])
    insp.edit_text("scrap").setText("0.1")
    insp.edit_text("scrap").editingFinished.emit()
    assert w.project.element("oven").scrap == 0.1
    w.view.set_selection(["oven"])
    assert "the loads of batch station 'basket' (release 'load') reach this station" in (
        insp.problems.text())


def test_the_palette_makes_an_unbatch_station():
    from app.palette import KINDS, new_element

    assert "unbatch" in KINDS
    st = new_element("unbatch", "U1", (0.0, 0.0, 0.0))
    assert st.unbatch and st.batch is None and st.process_time == constant(60.0)
