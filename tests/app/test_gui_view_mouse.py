"""The right and middle buttons and the wheel on the 3D view (issue 14 §1): one right click
killed the process (a segfault in the camera style); now a right drag orbits and a right click
opens a context menu whose entries edit through the undo stack."""

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

pytestmark = pytest.mark.gui


def mouse(widget, kind, button, pos: QPoint, buttons=None):
    """Send one mouse event with the buttons held stated (QTest's moves hold none)."""
    held = {QEvent.MouseButtonPress: button, QEvent.MouseMove: button,
            QEvent.MouseButtonRelease: Qt.NoButton}[kind] if buttons is None else buttons
    local = QPointF(pos)
    ev = QMouseEvent(kind, local, QPointF(widget.mapToGlobal(pos)),
                     Qt.NoButton if kind == QEvent.MouseMove else button, held, Qt.NoModifier)
    QApplication.sendEvent(widget, ev)


def click(widget, button, pos):
    mouse(widget, QEvent.MouseButtonPress, button, pos)
    mouse(widget, QEvent.MouseButtonRelease, button, pos)


def drag(widget, button, start: QPoint, end: QPoint, steps=8):
    mouse(widget, QEvent.MouseButtonPress, button, start)
    for i in range(1, steps + 1):
        mouse(widget, QEvent.MouseMove, button, start + (end - start) * i / steps)
    mouse(widget, QEvent.MouseButtonRelease, button, end)


def entries(menu):
    return [a.text() for a in menu.actions() if not a.isSeparator()]


def _window(make_window, line_project):
    w = make_window(line_project)
    w.view.camera_preset("top")
    w.view.render_now()
    return w, w.view, w.view.vtk


def test_right_click_on_an_element_opens_its_menu(make_window, line_project, qtbot):
    w, v, vtk = _window(make_window, line_project)
    p = v.widget_point(3.0, 0.0, 0.5)  # M1
    assert v.element_at(p.x(), p.y()) == "M1"
    click(vtk, Qt.RightButton, p)
    qtbot.waitUntil(lambda: w.context_menu is not None and w.context_menu.isVisible())
    menu = w.context_menu
    assert entries(menu) == ["M1 (station)", "&Inspect", "Cu&t", "&Copy", "D&uplicate",
                             "Rotate 90°", "&Connect from here", "&Delete"]
    assert v.selection == ["M1"]
    # Duplicate: one undo step
    n = len(w.project.elements)
    next(a for a in menu.actions() if a.text() == "D&uplicate").trigger()
    menu.close()
    assert len(w.project.elements) == n + 1 and w.stack.can_undo()
    w.stack.undo()
    assert len(w.project.elements) == n
    # Inspect shows the element in the inspector
    click(vtk, Qt.RightButton, p)
    qtbot.waitUntil(lambda: w.context_menu is not None)
    next(a for a in w.context_menu.actions() if a.text() == "&Inspect").trigger()
    w.context_menu.close()
    assert v.selection == ["M1"] and w.docks["inspector"].isVisible()
    # Delete removes it, undoably
    click(vtk, Qt.RightButton, p)
    qtbot.waitUntil(lambda: w.context_menu is not None)
    next(a for a in w.context_menu.actions() if a.text() == "&Delete").trigger()
    w.context_menu.close()
    assert "M1" not in w.project
    w.stack.undo()
    assert "M1" in w.project


def test_connect_from_here(make_window, line_project, qtbot):
    w, v, vtk = _window(make_window, line_project)
    m2, src = v.widget_point(9.0, 0.0, 0.5), v.widget_point(0.0, 0.0, 0.3)
    click(vtk, Qt.RightButton, m2)
    qtbot.waitUntil(lambda: w.context_menu is not None)
    next(a for a in w.context_menu.actions() if a.text() == "&Connect from here").trigger()
    w.context_menu.close()
    assert v.mode == "connect"
    mouse(vtk, QEvent.MouseMove, Qt.NoButton, src, Qt.NoButton)  # the link follows the mouse
    assert v.link_actor.GetVisibility()
    before = len(w.project.connections)
    click(vtk, Qt.LeftButton, src)
    assert len(w.project.connections) == before + 1
    assert any(c.source == "M2" and c.target == "src" for c in w.project.connections)
    assert not v.link_actor.GetVisibility()
    w.stack.undo()
    assert len(w.project.connections) == before


def test_connect_mode_click_then_click_connects(make_window, line_project, qtbot):
    # Plant Simulation's and FlexSim's habit: in Connect mode, click the source, then the
    # target. Only a drag connected; the two clicks did nothing and said nothing
    w, v, vtk = _window(make_window, line_project)
    m2, src = v.widget_point(9.0, 0.0, 0.5), v.widget_point(0.0, 0.0, 0.3)
    w.act_connect.trigger()
    assert v.mode == "connect"
    before = len(w.project.connections)
    click(vtk, Qt.LeftButton, m2)
    assert len(w.project.connections) == before  # not yet: the link waits for its target
    assert "click the element the parts go to next" in w.statusBar().currentMessage()
    mouse(vtk, QEvent.MouseMove, Qt.NoButton, src, Qt.NoButton)  # the link follows the mouse
    assert v.link_actor.GetVisibility()
    click(vtk, Qt.LeftButton, src)
    assert len(w.project.connections) == before + 1
    assert any(c.source == "M2" and c.target == "src" for c in w.project.connections)
    assert not v.link_actor.GetVisibility() and v.mode == "connect"
    # a click on empty floor drops a waiting link, and a drag still connects at once
    click(vtk, Qt.LeftButton, m2)
    click(vtk, Qt.LeftButton, v.widget_point(6.0, 5.0, 0.0))
    assert len(w.project.connections) == before + 1 and not v.link_actor.GetVisibility()
    drag(vtk, Qt.LeftButton, src, m2)
    assert any(c.source == "src" and c.target == "M2" for c in w.project.connections)


def test_connect_mode_says_why_an_element_cannot_feed_itself(make_window, line_project, qtbot):
    # the second click on the same element was ignored without a word
    w, v, vtk = _window(make_window, line_project)
    m2, src = v.widget_point(9.0, 0.0, 0.5), v.widget_point(0.0, 0.0, 0.3)
    w.act_connect.trigger()
    before = len(w.project.connections)
    click(vtk, Qt.LeftButton, m2)
    click(vtk, Qt.LeftButton, m2)
    assert len(w.project.connections) == before
    assert w.statusBar().currentMessage() == ("M2 cannot feed itself: pick another element "
                                              "for the parts to go to (Esc leaves)")
    click(vtk, Qt.LeftButton, src)  # the link still waited for its target
    assert any(c.source == "M2" and c.target == "src" for c in w.project.connections)


def test_right_click_on_the_floor_adds_an_element(make_window, line_project, qtbot):
    w, v, vtk = _window(make_window, line_project)
    p = v.widget_point(6.0, 3.0, 0.0)
    assert v.element_at(p.x(), p.y()) is None
    click(vtk, Qt.RightButton, p)
    qtbot.waitUntil(lambda: w.context_menu is not None and w.context_menu.isVisible())
    menu = w.context_menu
    assert entries(menu) == ["&Add element here", "&Paste here", "&Fit to view"]
    add = next(a for a in menu.actions() if a.text() == "&Add element here").menu()
    assert entries(add) == ["Source", "Station", "Buffer", "Conveyor", "Sink"]
    n = len(w.project.elements)
    next(a for a in add.actions() if a.text() == "Buffer").trigger()
    menu.close()
    assert len(w.project.elements) == n + 1
    new = w.project.elements[-1]
    assert new.kind == "buffer" and new.position[:2] == (6.0, 3.0)
    assert v.selection == [new.id]
    w.stack.undo()
    assert len(w.project.elements) == n


def test_right_drag_orbits_and_opens_no_menu(make_window, line_project, qtbot):
    w, v, vtk = _window(make_window, line_project)
    cam = v.renderer.GetActiveCamera()
    before = cam.GetPosition()
    focal = cam.GetFocalPoint()
    drag(vtk, Qt.RightButton, QPoint(300, 300), QPoint(380, 260))
    qtbot.wait(50)
    after = cam.GetPosition()
    assert max(abs(a - b) for a, b in zip(before, after, strict=True)) > 1.0
    assert cam.GetFocalPoint() == pytest.approx(focal)  # an orbit, about the focal point
    dist = sum((a - f) ** 2 for a, f in zip(after, focal, strict=True)) ** 0.5
    assert dist == pytest.approx(cam.GetDistance())
    assert w.context_menu is None
    assert w.stack.can_undo() is False  # the camera is no edit


def test_middle_button_and_wheel_keep_the_process_alive(make_window, line_project, qtbot):
    w, v, vtk = _window(make_window, line_project)
    cam = v.renderer.GetActiveCamera()
    focal = cam.GetFocalPoint()
    drag(vtk, Qt.MiddleButton, QPoint(300, 300), QPoint(360, 330))
    click(vtk, Qt.MiddleButton, QPoint(200, 200))
    d0 = cam.GetDistance()
    for delta in (120, 120, -120):
        pos = QPointF(300, 300)
        QApplication.sendEvent(vtk, QWheelEvent(pos, QPointF(vtk.mapToGlobal(pos.toPoint())),
                                                QPoint(), QPoint(0, delta), Qt.NoButton,
                                                Qt.NoModifier, Qt.NoScrollPhase, False))
    qtbot.wait(50)
    assert cam.GetFocalPoint() != pytest.approx(focal)  # panned
    assert cam.GetDistance() < 0.95 * d0  # zoomed in
    v.render_now()
    assert w.isVisible()
