"""What the GUI tests do with the screen: read a rendered pixel, compare colours, drag."""

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest


def pixel(view, x, y, z=0.0):
    """The colour the 3D view shows at floor point (x, y, z), as (r, g, b)."""
    p = view.widget_point(x, y, z)
    return view.grab_image()[p.y(), p.x()]


def near(rgb, ref, tol=25):
    return all(abs(int(a) - b) <= tol for a, b in zip(rgb, ref, strict=True))


def mouse_drag(widget, a, b, steps=6, modifier=Qt.NoModifier):
    """Press at ``a``, move to ``b`` in ``steps`` steps, release (QPointF or QPoint)."""
    QTest.mousePress(widget, Qt.LeftButton, modifier, a)
    for i in range(1, steps + 1):
        QTest.mouseMove(widget, a + (b - a) * i / steps)
    QTest.mouseRelease(widget, Qt.LeftButton, modifier, b)
