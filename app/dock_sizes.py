"""Dock sizes that come back after the window was squeezed (newfix4 §4).

Qt takes the room a shrinking window loses from its docks, and gives the room it gains back
to the 3D view: after a window shrunk to 400 x 300 and maximised (or sized back), the
Project, Palette, Inspector and Run docks stayed a finger wide. This keeps the docks' sizes
of the last time the window had room for them and puts them back once it has room again.

A user who resizes a dock on purpose is not fought: a dock resized while the window's size
stays the same (a splitter dragged) is what is remembered, at any window size; only a dock
made smaller by the window shrinking is "squeezed", and only squeezed docks are restored.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer
from PySide6.QtWidgets import QDockWidget


class DockSizes(QObject):
    """Remembers ``win``'s docked, visible docks' sizes and restores them after a squeeze."""

    def __init__(self, win):
        super().__init__(win)
        self.win = win
        self.good: dict[QDockWidget, QSize] = {}  # each dock's size when it last had room
        self.squeezed = False
        self._window_size = QSize()  # the window's size when the docks were last looked at
        self._good_window = QSize()  # the window's size when ``good`` was taken
        #: the smallest the window was within this burst of resizes, when smaller than at
        #: the last look: a squeeze and back faster than the timer (xdotool windowsize 200
        #: 150 then 1600 1000) was never seen as one, and left the docks narrow (gui17 §4)
        self._dip: QSize | None = None
        self._check = QTimer(self)  # after the layout has settled: one look per burst
        self._check.setSingleShot(True)
        self._check.setInterval(50)
        self._check.timeout.connect(self._settled)
        win.installEventFilter(self)
        for d in win.findChildren(QDockWidget):
            d.installEventFilter(self)

    def shown(self) -> list[QDockWidget]:
        return [d for d in self.win.findChildren(QDockWidget)
                if d.isVisible() and not d.isFloating()
                and self.win.dockWidgetArea(d) != Qt.NoDockWidgetArea]

    def remember(self) -> None:
        """The docks' sizes now are the good ones (start-up, Reset layout, a dock dragged)."""
        self.good = {d: d.size() for d in self.shown()}
        self.squeezed = False
        self._window_size = self._good_window = self.win.size()

    def eventFilter(self, obj, event):  # noqa: N802 - Qt override
        if event.type() == QEvent.Resize and self.win.isVisible():
            now = event.size()
            if obj is self.win and self._window_size.isValid() and (
                    now.width() < self._window_size.width()
                    or now.height() < self._window_size.height()):
                self._dip = now if self._dip is None else self._dip.boundedTo(now)
            if isinstance(obj, QDockWidget) and obj not in self.good:
                obj.installEventFilter(self)  # a dock added later (Live, Alerts, Forecast)
            self._check.start()
        return False

    def _settled(self) -> None:
        size = self.win.size()
        dip, self._dip = self._dip, None
        if not self.good:
            self.remember()
            return
        squeezed_in_burst = dip is not None and self._lost()
        # grown again (to any size) from a squeeze within the same burst
        regrown = squeezed_in_burst and (size.width() > dip.width()
                                         or size.height() > dip.height())
        if squeezed_in_burst:
            self.squeezed = True
        if size == self._window_size and not squeezed_in_burst:
            # the window kept its size: a dock was resized (or shown) by the user, or the
            # sizes put back have settled; not while squeezed, where a tab brought to the
            # front would make the narrow sizes "good"
            # the window back at the size the good sizes were taken at (or larger) has room
            # for them: what the docks are now is the user's
            roomy = size.width() >= self._good_window.width() and \
                size.height() >= self._good_window.height()
            if self.squeezed and (roomy or not self._lost()):
                self.squeezed = False
            if not self.squeezed:
                self.remember()
            return
        grew = size.width() >= self._window_size.width() and \
            size.height() >= self._window_size.height()
        self._window_size = size
        lost = self._lost()
        if lost and not grew and not regrown:
            self.squeezed = True
        elif self.squeezed and (grew or regrown):
            self.restore()

    def restore(self) -> None:
        """Put the remembered sizes back (as far as the window now has room)."""
        docks = [d for d in self.shown() if d in self.good]
        if docks:
            self.win.resizeDocks(docks, [self.good[d].width() for d in docks], Qt.Horizontal)
            self.win.resizeDocks(docks, [self.good[d].height() for d in docks], Qt.Vertical)
        # still squeezed until the docks have settled at the sizes (_settled looks again)

    def _lost(self) -> bool:
        """Some dock shown is smaller than its good size."""
        shown = self.shown()
        return any(d.width() < s.width() - 2 or d.height() < s.height() - 2
                   for d, s in self.good.items() if d in shown)
