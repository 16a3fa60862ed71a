"""The Qt widget holding the VTK render window of the 3D view, and its camera handling.

Left- and right-button gestures, drops from the palette and Esc go to the view
(``app.view3d``) before VTK's own camera handling sees them: the view orbits on a right drag
and opens its context menu on a right click. VTK keeps the middle button (pan) and the wheel
(zoom).
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication, QWidget
from vtkmodules.qt.QVTKRenderWindowInteractor import QVTKRenderWindowInteractor
from vtkmodules.vtkInteractionStyle import vtkInteractorStyleTrackballCamera

from app.palette import MIME_KIND


class CameraStyle(vtkInteractorStyleTrackballCamera):
    """VTK's trackball camera without the left and right buttons: the middle button pans,
    the wheel zooms. The left button belongs to the editor and the right one to the view,
    which orbits itself (``View3D.orbit``): an observer that called ``OnLeftButtonDown``
    for the right button crashed the process on the first right click.

    Nor does it take VTK's one-letter commands ('w' wireframe, '3' red-blue stereo that
    paints the view magenta, 'p' pick box, 'f' fly to, 'r' reset, 'e'/'q' exit): a user
    typing over the view was left with a broken-looking view; the workbench's own keys
    are Qt shortcuts."""

    def __init__(self):
        super().__init__()
        for ev in ("LeftButtonPressEvent", "LeftButtonReleaseEvent",
                   "RightButtonPressEvent", "RightButtonReleaseEvent", "CharEvent"):
            self.AddObserver(ev, _ignore)


def _ignore(*_):
    """An observer that takes the event away from the style (it does nothing with it)."""


def native_overlay(widget: QWidget) -> None:
    """Make ``widget``, drawn over the 3D view, a native window: a plain child is painted
    into its parent, under the render window's own native window, and is not seen."""
    widget.setAttribute(Qt.WA_NativeWindow)
    widget.raise_()


class VtkWidget(QVTKRenderWindowInteractor):
    """Sends left-button gestures and drops to the view before VTK's camera handling."""

    def __init__(self, view):
        # VTK renders into a native window of its own. Without this attribute Qt makes
        # every sibling up the tree native too: each dock, the menu bar, the toolbar. A
        # native dock floated once crashed the process when the window was deleted on Qt's
        # offscreen platform (its backing store still held the dock's window id: the monkey
        # test, seed 14); on X11 each was a window of its own to move and repaint. The
        # overlays of the view stay native on purpose (``native_overlay``)
        QApplication.setAttribute(Qt.AA_DontCreateNativeWidgetSiblings)
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

    def contextMenuEvent(self, ev):  # noqa: N802
        # a right click opens the menu on release, unless it became a drag (View3D.release);
        # the menu key opens it here, under the mouse when it is over the view
        ev.accept()
        if ev.reason() != QContextMenuEvent.Mouse:
            pos = self.mapFromGlobal(self.cursor().pos())
            if not self.rect().contains(pos):
                pos = self.rect().center()
            self._view.context_menu_requested.emit(self._view.element_at(pos.x(), pos.y()),
                                                   pos)

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
