"""Start-up in two steps: paint the window first, load the heavy parts after it (issue 14 §1).

The window is built from light parts and shown; what is slow to load (the twin kernel, which
Numba loads from its disk cache or compiles; scipy and the fork machinery are imported only
when first used) starts once the window has painted. Until each part is ready, a label in the
status bar says what is still loading ("compiling the twin kernel…"); it clears when nothing
is left.

``StartupStatus`` is that label; ``after_first_paint`` calls a function once a widget has
painted for the first time (an event filter on its ``Paint`` event, then a zero timer, so the
painted frame reaches the screen before the work starts).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget


class StartupStatus(QObject):
    """What is still loading, shown in a status-bar label; empty once all is loaded.

    Parameters
    ----------
    status_bar : QStatusBar
        Gets a permanent label (left of the other permanent widgets).
    """

    changed = Signal(str)  # the text shown ("" when nothing is loading)
    finished = Signal()  # the last pending part is ready

    def __init__(self, status_bar: QStatusBar, parent: QObject | None = None):
        super().__init__(parent)
        self.label = QLabel("")
        self.label.setObjectName("startup_status")
        self.label.setToolTip("What the workbench is still loading; it works meanwhile")
        self.label.hide()
        status_bar.insertPermanentWidget(0, self.label)
        self._pending: dict[str, str] = {}  # key -> what the user reads

    def begin(self, key: str, text: str) -> None:
        """``key`` is loading; ``text`` says so (e.g. ``"compiling the twin kernel…"``)."""
        self._pending[key] = text
        self._show()

    def done(self, key: str) -> None:
        """``key`` is ready (or failed: the failure is reported elsewhere)."""
        if self._pending.pop(key, None) is not None:
            self._show()
            if not self._pending:
                self.finished.emit()

    def pending(self) -> list[str]:
        """The keys still loading."""
        return list(self._pending)

    def text(self) -> str:
        return self.label.text()

    def _show(self) -> None:
        text = ("Loading: " + ", ".join(self._pending.values())) if self._pending else ""
        self.label.setText(text)
        self.label.setVisible(bool(text))
        self.changed.emit(text)


class _FirstPaint(QObject):
    def __init__(self, widget: QWidget, fn: Callable[[], None]):
        super().__init__(widget)
        self.fn = fn
        self.fired = False
        widget.installEventFilter(self)

    def eventFilter(self, obj, ev):  # noqa: N802 - Qt override
        if ev.type() == QEvent.Paint and not self.fired:
            self.fired = True
            obj.removeEventFilter(self)
            # after this paint has been flushed to the screen, not inside it
            QTimer.singleShot(0, self.fn)
        return False


def after_first_paint(widget: QWidget, fn: Callable[[], None]) -> None:
    """Call ``fn`` on the GUI thread once ``widget`` has painted for the first time.

    A widget that has painted already (shown and exposed) gets ``fn`` at the next turn of
    the event loop instead.
    """
    if widget.isVisible() and not widget.visibleRegion().isEmpty():
        QTimer.singleShot(0, fn)
    else:
        _FirstPaint(widget, fn)


def warm_up_kernel(_task, plain_ready=None) -> None:
    """Load (or compile) the kernel; on the warm-up job's thread, numba's import too.

    ``plain_ready()`` is called (on that thread) once the kernel of lines without the
    features of issues 18-19 is ready: most runs need only it, and the status bar said
    "compiling the twin kernel…" through a first run and after it while the other compiled."""
    from kernels.warmup import warm_up

    warm_up((False, True), lambda features: None if features or plain_ready is None
            else plain_ready())
