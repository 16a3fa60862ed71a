"""A scale bar in the 3D view's bottom-left corner: a round length in metres (1, 2 or 5 times
a power of ten) drawn as long as it looks on the floor there, re-measured after each render
so that it follows zoom, orbit and resize (issue 14, §8).

In a perspective view the floor's scale changes across the picture; the bar is measured on
the floor right where it stands, which is what a user holds it against.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QWidget

from app.vtk_widget import native_overlay

TARGET_PX = 120  # the bar is at most this long, and at least 2/5 of it
MARGIN = 10  # px from the view's left and bottom edges
HEIGHT = 34


def nice_length(most: float) -> float:
    """The largest 1, 2 or 5 times a power of ten that is <= ``most`` (m), ``most`` > 0."""
    exp = math.floor(math.log10(most))
    for step in (5.0, 2.0, 1.0):
        value = step * 10.0 ** exp
        if value <= most * (1 + 1e-9):
            return value
    return 10.0 ** exp  # pragma: no cover - 1 x 10^exp <= most always


def format_length(metres: float) -> str:
    if metres >= 1000:
        return f"{metres / 1000:g} km"
    if metres < 0.01:
        return f"{metres * 1000:g} mm"
    if metres < 1:
        return f"{metres * 100:g} cm"
    return f"{metres:g} m"


class ScaleBar(QWidget):
    """The bar over ``view`` (a ``View3D``); ``text`` is what it reads (``""``: hidden, when
    its corner shows no floor: the camera looks above the horizon)."""

    def __init__(self, view):
        super().__init__(view)
        self.setObjectName("scale_bar")
        self.setAttribute(Qt.WA_TransparentForMouseEvents)
        native_overlay(self)
        self.view = view
        self.text = ""
        self.metres = 0.0
        self.bar_px = 0.0
        self.resize(TARGET_PX + 16, HEIGHT)
        view.installEventFilter(self)
        self._observer = view.renderer.AddObserver("EndEvent", lambda *_: self.measure())
        self._place()
        self.hide()

    def _place(self) -> None:
        self.move(MARGIN, self.view.height() - self.height() - MARGIN)

    def eventFilter(self, obj, ev):  # noqa: N802 - Qt override
        if obj is self.view and ev.type() == QEvent.Resize:
            self._place()
        return False

    def measure(self) -> None:
        """Measure the floor under the bar's place and redraw it (after each render)."""
        v = self.view
        y = v.vtk.height() - MARGIN - 8
        x0 = MARGIN + 8
        a, b = v.floor_point(x0, y), v.floor_point(x0 + TARGET_PX, y)
        if a is None or b is None or a == b:
            self._set(0.0, 0.0)
            return
        per_px = math.hypot(b[0] - a[0], b[1] - a[1]) / TARGET_PX  # m per widget pixel
        metres = nice_length(TARGET_PX * per_px)
        self._set(metres, metres / per_px)

    def _set(self, metres: float, bar_px: float) -> None:
        text = format_length(metres) if metres > 0 else ""
        if (text, round(bar_px)) == (self.text, round(self.bar_px)):
            return
        self.text, self.metres, self.bar_px = text, metres, bar_px
        # exactly as wide as drawn: over the GL view an unpainted part would show black
        self.resize(round(max(bar_px, 60)) + 16, HEIGHT)
        self.setVisible(bool(text))
        self.setToolTip(f"{text} on the floor at this corner of the view" if text else "")
        self.update()

    def paintEvent(self, _ev):  # noqa: N802 - Qt override
        if not self.text:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        w = self.bar_px
        # its own colours, readable on the light floor in both themes (as the colour legend)
        p.fillRect(QRectF(self.rect()), QColor(255, 255, 255, 190))
        pen = QPen(QColor(20, 20, 20))
        pen.setWidth(2)
        p.setPen(pen)
        base = self.height() - 8
        p.drawLine(QPointF(8, base), QPointF(8 + w, base))
        for x in (8, 8 + w):
            p.drawLine(QPointF(x, base - 6), QPointF(x, base + 1))
        font = QFont(self.font())
        font.setPointSizeF(max(font.pointSizeF(), 8.0))
        p.setFont(font)
        p.drawText(QRectF(8, 0, max(w, 60), base - 6), Qt.AlignLeft | Qt.AlignBottom, self.text)
        p.end()

    def close_bar(self) -> None:
        self.view.renderer.RemoveObserver(self._observer)
