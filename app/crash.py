"""The workbench never vanishes without a word (issue 14 §1).

Two nets, installed by ``app.main.main`` before the window opens:

- ``enable_faulthandler`` writes the Python stack of every thread to ``crash.log`` in the
  user's data folder when the process dies of a fatal signal (a segfault in VTK or Qt), where
  a desktop user, who has no terminal, can find it and send it.
- ``CrashHandler`` replaces ``sys.excepthook`` and ``threading.excepthook``: an exception
  that escapes a slot, an event handler or a thread is written to that log and to the log
  pane, and a dialog says what happened and where the log is; the window stays open. Qt
  calls a slot from C++, so such an exception would otherwise only be printed to a terminal
  the user does not see, leaving the action half done.
"""

from __future__ import annotations

import faulthandler
import sys
import threading
import time
import traceback
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, Qt, Signal
from PySide6.QtWidgets import QMessageBox

MAX_LOG_BYTES = 1_000_000  # a longer log is moved to crash.log.1 at start-up
_fault_file = None  # kept open for faulthandler, which writes with the file's descriptor


def crash_log_path() -> Path:
    """``crash.log`` in the user's data folder (``~/.local/share/twinbench/twinbench`` on
    Linux); the application and organisation names must be set first."""
    return Path(QStandardPaths.writableLocation(QStandardPaths.AppDataLocation)) / "crash.log"


def enable_faulthandler(path: Path | None = None) -> Path:
    """Dump every thread's stack into ``path`` (the crash log) on a fatal signal.

    Returns the log's path.
    """
    global _fault_file
    path = Path(path) if path is not None else crash_log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.stat().st_size > MAX_LOG_BYTES:
        path.replace(path.with_name(path.name + ".1"))
    if _fault_file is not None:
        _fault_file.close()
    _fault_file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - open for the process
    faulthandler.enable(_fault_file, all_threads=True)
    return path


class CrashHandler(QObject):
    """Turns an uncaught exception into a log entry and a dialog, on the GUI thread.

    ``window`` (a ``MainWindow``, set once it exists) gets the traceback in its log pane and
    parents the dialog. While a dialog is open, further errors are counted in it instead of
    opening one dialog each (an error in a paint event repeats on every repaint).
    """

    caught = Signal(str, str)  # summary, traceback text; queued from other threads

    def __init__(self, log_path: Path, window=None, parent=None):
        super().__init__(parent)
        self.log_path = Path(log_path)
        self.window = window
        self.dialog: QMessageBox | None = None
        self.count = 0  # errors reported while the present dialog is open
        self._previous = None
        self.caught.connect(self._show)

    def install(self) -> None:
        self._previous = (sys.excepthook, threading.excepthook)
        sys.excepthook = self.excepthook
        threading.excepthook = self.thread_excepthook

    def uninstall(self) -> None:
        if self._previous is not None:
            sys.excepthook, threading.excepthook = self._previous
            self._previous = None

    def excepthook(self, etype, value, tb) -> None:
        if issubclass(etype, KeyboardInterrupt):  # Ctrl+C in the terminal still stops it
            sys.__excepthook__(etype, value, tb)
            return
        self.report(etype, value, tb)

    def thread_excepthook(self, args) -> None:
        if issubclass(args.exc_type, SystemExit):
            return
        name = args.thread.name if args.thread is not None else "?"
        self.report(args.exc_type, args.exc_value, args.exc_traceback, f" (thread {name})")

    def report(self, etype, value, tb, where: str = "") -> None:
        """Log the exception and show it; callable from any thread."""
        text = "".join(traceback.format_exception(etype, value, tb))
        summary = f"{etype.__name__}: {value}" if str(value) else etype.__name__
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        try:
            with open(self.log_path, "a", encoding="utf-8") as f:
                f.write(f"--- {stamp} uncaught exception{where}\n{text}\n")
        except OSError as e:  # the dialog still shows it; the terminal too
            text += f"\n(could not write {self.log_path}: {e})"
        print(text, file=sys.stderr, end="")  # for whoever started it from a terminal
        self.caught.emit(summary + where, text)

    def _show(self, summary: str, text: str) -> None:
        win = self.window
        if win is not None:
            win.log(f"unexpected error (a bug in twinbench): {summary}\n{text.rstrip()}")
        if self.dialog is not None:
            self.count += 1
            self.dialog.setInformativeText(self._advice(f"{self.count} errors so far; "))
            return
        self.count = 1
        box = QMessageBox(QMessageBox.Critical, "twinbench: unexpected error",
                          f"Something went wrong inside twinbench:\n\n{summary}",
                          QMessageBox.Ok, win)
        box.setInformativeText(self._advice(""))
        box.setDetailedText(text)
        box.setWindowModality(Qt.NonModal)  # never a nested event loop inside the hook
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.finished.connect(self._closed)
        self.dialog = box
        box.show()

    def _advice(self, prefix: str) -> str:
        return (f"{prefix}the workbench goes on, but what you just did may be half done: "
                f"check it, and save your work under a new name. The details are in the log "
                f"pane and in {self.log_path}; please send them with a bug report.")

    def _closed(self, *_):
        self.dialog = None
        self.count = 0
