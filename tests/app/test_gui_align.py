"""Duplicate a selection with the connections among it, and align it, through the real window."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from screen import mouse_drag, near, pixel

from twin.model import elements as m
from twin.model.distributions import constant
from twin.projectfile.reader import project_to_json

pytestmark = pytest.mark.gui

STATION_BLUE = (115, 140, 184)  # StationActor.color lit from above, in the top view
ARROW_BLUE = (38, 76, 191)  # the connection lines' colour, unlit


def activate(w, qtbot):
    """Make ``w`` the active window, so that its shortcuts take keys (offscreen too)."""
    w.windowHandle().requestActivate()
    qtbot.waitUntil(w.isActiveWindow, timeout=2000)


def test_duplicate_copies_the_connections_inside_the_selection(make_window, line_project,
                                                               qtbot):
    w = make_window(line_project)
    v = w.view
    v.camera_preset("top")
    v.render_now()
    roof, link = (3.65, 0.65, 1.6), (5.5, 1.0, 0.3)  # copy of M1 (clear of its label); arrow
    assert not near(pixel(v, *roof), STATION_BLUE) and not near(pixel(v, *link), ARROW_BLUE)
    # rubber band around M1, B1 and M2 (not src at x = 0, not out at x = 12)
    mouse_drag(v.vtk, v.widget_point(2.0, -1.5), v.widget_point(10.0, 1.5))
    assert sorted(v.selection) == ["B1", "M1", "M2"]
    before, n = project_to_json(w.project), len(w.stack)
    activate(w, qtbot)
    QTest.keyClick(v.vtk, Qt.Key_D, Qt.ControlModifier)
    assert len(w.stack) == n + 1, "Ctrl+D is one undo step"
    assert v.selection == ["M3", "B2", "M4"]
    assert [(c.source, c.target) for c in w.project.connections][4:] == [
        ("M3", "B2"), ("B2", "M4")]
    assert w.project.predecessors("M3") == [] and w.project.successors("M4") == []
    assert w.project.element("M3").position == (4.0, 1.0, 0.0)
    assert w.project.element("M4").process_time == constant(45.0)
    assert near(pixel(v, *roof), STATION_BLUE)
    assert near(pixel(v, *link), ARROW_BLUE)
    w.act_undo.trigger()
    assert project_to_json(w.project) == before
    assert not near(pixel(v, *roof), STATION_BLUE) and not near(pixel(v, *link), ARROW_BLUE)
    w.act_redo.trigger()
    assert [(c.source, c.target) for c in w.project.connections][4:] == [
        ("M3", "B2"), ("B2", "M4")]


def scattered() -> m.Project:
    return m.Project("scattered", elements=[
        m.Station(f"S{i}", position=(x, y, 0.0), process_time=constant(10.0),
                  footprint=(1.5, 1.5))
        for i, (x, y) in enumerate(((0.0, 0.0), (3.0, 2.5), (9.0, -2.0)))])


def test_align_and_distribute_from_the_edit_menu(make_window):
    w = make_window(scattered())
    v = w.view
    v.camera_preset("top")
    v.render_now()
    edit = next(a.menu() for a in w.menuBar().actions() if a.text() == "&Edit")
    align = next(a.menu() for a in edit.actions() if a.menu() and a.text() == "&Align")
    labels = [a.text() for a in align.actions() if not a.isSeparator()]
    assert labels == ["&Left edges", "&Centres in x", "&Right edges", "&Top edges",
                      "Centres in &y", "&Bottom edges", "Distribute in &x", "Distribute in y"]
    # select the three with clicks, the second and third with Ctrl
    for i, mod in ((0, Qt.NoModifier), (1, Qt.ControlModifier), (2, Qt.ControlModifier)):
        x, y, _ = w.project.element(f"S{i}").position
        QTest.mouseClick(v.vtk, Qt.LeftButton, mod, v.widget_point(x - 0.5, y - 0.5, 1.6))
    assert v.selection == ["S0", "S1", "S2"]
    n = len(w.stack)
    old_roof = (2.5, 2.0, 1.6)  # S1, clear of its label
    assert near(pixel(v, *old_roof), STATION_BLUE)
    # "Top edges": everything up to S1's top edge, y = 3.25; one undo step
    next(a for a in align.actions() if a.text() == "&Top edges").trigger()
    assert [el.position[1] for el in w.project.elements] == [2.5, 2.5, 2.5]
    assert [el.position[0] for el in w.project.elements] == [0.0, 3.0, 9.0]
    assert len(w.stack) == n + 1 and w.stack.undo_text() == "align 3 elements (top)"
    assert near(pixel(v, 8.5, 2.0, 1.6), STATION_BLUE)  # S2 is drawn where it went
    assert not near(pixel(v, 8.5, -2.5, 1.6), STATION_BLUE)
    # distribute along x: the outer two stay, S1 moves to equal gaps (x = 4.5)
    w.align_actions["distribute_x"].trigger()
    assert [el.position[0] for el in w.project.elements] == [0.0, 4.5, 9.0]
    assert not near(pixel(v, *old_roof), STATION_BLUE)
    assert near(pixel(v, 4.0, 2.0, 1.6), STATION_BLUE)
    w.act_undo.trigger()
    w.act_undo.trigger()
    assert [el.position for el in w.project.elements] == [
        (0.0, 0.0, 0.0), (3.0, 2.5, 0.0), (9.0, -2.0, 0.0)]
    # too few elements: nothing happens, the status bar says why
    v.set_selection(["S0"])
    w.align_actions["left"].trigger()
    assert w.stack.index == n and "at least 2" in w.statusBar().currentMessage()
