"""The Qt widget holding the VTK render window of the 3D view, and its camera handling.

Left-button gestures, drops from the palette and Esc go to the view (``app.view3d``) before
VTK's own camera handling sees them; the right button orbits, the middle button pans.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from vtkmodules.qt.QVTKRenderWindowInteractor import QVTKRenderWindowInteractor
from vtkmodules.vtkInteractionStyle import vtkInteractorStyleTrackballCamera

from app.palette import MIME_KIND


class CameraStyle(vtkInteractorStyleTrackballCamera):
    """Right button orbits (the left button belongs to the editor), middle pans."""

    def __init__(self):
        super().__init__()
        self.AddObserver("RightButtonPressEvent", lambda *_: self.OnLeftButtonDown())
        self.AddObserver("RightButtonReleaseEvent", lambda *_: self.OnLeftButtonUp())
        for ev in ("LeftButtonPressEvent", "LeftButtonReleaseEvent"):
            self.AddObserver(ev, lambda *_: None)


class VtkWidget(QVTKRenderWindowInteractor):
    """Sends left-button gestures and drops to the view before VTK's camera handling."""

    def __init__(self, view):
        super().__init__(view)
        self._view = view
        self.setAcceptDrops(True)

    def mousePressEvent(self, ev):  # noqa: N802 - Qt override
        if not self._view.press(ev):
            super().mousePressEvent(ev)

    def mouseMoveEvent(self, ev):  # noqa: N802
        if not self._view.move(ev):
            super().mouseMoveEvent(ev)

    def mouseReleaseEvent(self, ev):  # noqa: N802
        if not self._view.release(ev):
            super().mouseReleaseEvent(ev)

    def keyPressEvent(self, ev):  # noqa: N802
        if ev.key() == Qt.Key_Escape and self._view.mode != "select":
            self._view.mode = "select"  # Esc leaves the connect and measure modes
            return
        super().keyPressEvent(ev)

    def dragEnterEvent(self, ev):  # noqa: N802
        if ev.mimeData().hasFormat(MIME_KIND):
            ev.acceptProposedAction()

    def dragMoveEvent(self, ev):  # noqa: N802
        if ev.mimeData().hasFormat(MIME_KIND):
            ev.acceptProposedAction()

    def dropEvent(self, ev):  # noqa: N802
        kind = bytes(ev.mimeData().data(MIME_KIND)).decode()
        p = ev.position().toPoint()
        if self._view.create_at(kind, p.x(), p.y()) is not None:
            ev.acceptProposedAction()

    def sizeHint(self):  # noqa: N802
        return QSize(800, 600)
