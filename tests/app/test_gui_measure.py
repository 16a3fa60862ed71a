"""The measure tool: click two elements or two floor points, read the distance; Esc leaves."""

import re

import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from screen import near, pixel

from app.measure import COLOR

pytestmark = pytest.mark.gui

MAGENTA = tuple(round(c * 255) for c in COLOR)


def hover(widget, p):
    """Move the mouse over ``widget`` with no button down (QTest.mouseMove then only moves
    the cursor, which the offscreen platform does not turn into events)."""
    pos = QPointF(p)
    ev = QMouseEvent(QEvent.MouseMove, pos, widget.mapToGlobal(pos), Qt.NoButton, Qt.NoButton,
                     Qt.NoModifier)
    QApplication.sendEvent(widget, ev)


def test_measure_between_elements_and_floor_points(make_window, line_project, qtbot):
    w = make_window(line_project)
    v = w.view
    v.camera_preset("top")
    v.render_now()
    on_m1 = (3.2, -0.3, 0.05)  # on M1's body, under the line to be drawn from src to M2
    assert not near(pixel(v, *on_m1), MAGENTA)
    w.windowHandle().requestActivate()
    qtbot.waitUntil(w.isActiveWindow, timeout=2000)
    QTest.keyClick(v.vtk, Qt.Key_M)  # the toolbar/menu action's shortcut
    assert v.mode == "measure" and w.act_measure.isChecked()
    n = len(w.stack)
    # two elements: centre to centre, and the line is drawn over the bodies between them
    QTest.mouseClick(v.vtk, Qt.LeftButton, Qt.NoModifier, v.widget_point(0.0, -0.3, 1.2))
    QTest.mouseClick(v.vtk, Qt.LeftButton, Qt.NoModifier, v.widget_point(9.3, -0.3, 1.6))
    assert v.measure.distance == pytest.approx(9.0)
    assert w.statusBar().currentMessage() == (
        "Distance src → M2: 9.00 m (Δx 9.00 m, Δy 0.00 m)")
    assert v.measure.text.GetInput() == "9.00 m" and v.measure.text.GetVisibility()
    p = v.widget_point(3.2, 0.0, 0.05)
    assert near(v.grab_image()[p.y(), p.x()], MAGENTA)  # over M1's body: always on top
    assert w.project.element("M1").position == (3.0, 0.0, 0.0)
    assert len(w.stack) == n and v.selection == []  # measuring edits nothing
    # a third click starts anew; moving the mouse shows the distance to the floor under it
    QTest.mouseClick(v.vtk, Qt.LeftButton, Qt.NoModifier, v.widget_point(0.0, 3.0))
    assert v.measure.distance is None
    hover(v.vtk, v.widget_point(0.0, 5.0))
    # 2 m to within a pixel of the floor (the 3D view is smaller since the window gained
    # docks: a pixel is now about 2 cm here), as the click below is checked
    shown = re.fullmatch(r"(\d\.\d\d) m", v.measure.text.GetInput())
    assert shown and float(shown.group(1)) == pytest.approx(2.0, abs=0.05)
    QTest.mouseClick(v.vtk, Qt.LeftButton, Qt.NoModifier, v.widget_point(4.0, 6.0))
    assert v.measure.distance == pytest.approx(5.0, abs=0.05)  # floor points: to a pixel
    assert re.search(r": [45]\.\d\d m \(Δx [34]\.\d\d m, Δy [23]\.\d\d m\)$",
                     w.statusBar().currentMessage())
    assert near(pixel(v, 1.0, 3.75, 0.05), MAGENTA)
    # Esc leaves the mode and takes the measurement away
    QTest.keyClick(v.vtk, Qt.Key_Escape)
    assert v.mode == "select" and not w.act_measure.isChecked()
    assert not near(pixel(v, 1.0, 3.75, 0.05), MAGENTA)
    # Esc also works with the keyboard focus elsewhere in the window (the inspector)
    w.act_measure.trigger()
    assert v.mode == "measure"
    w.act_connect.trigger()  # the modes exclude each other
    assert v.mode == "connect" and not w.act_measure.isChecked()
    w.act_measure.trigger()
    w.inspector.setFocus()
    QTest.keyClick(w.inspector, Qt.Key_Escape)
    assert v.mode == "select" and not w.act_measure.isChecked()
    assert not w.act_connect.isChecked()
    # back in select mode a click selects again
    QTest.mouseClick(v.vtk, Qt.LeftButton, Qt.NoModifier, v.widget_point(2.7, -0.3, 1.6))
    assert v.selection == ["M1"]
