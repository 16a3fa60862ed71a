"""Start the workbench: ``twinbench [project]`` (``app.cli.cmd_open`` calls ``main``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

FIRST_PROJECT = "bottling-line"


def example_projects() -> Path | None:
    """The examples folder: beside the package (a source checkout) or in the current folder."""
    for base in (Path(__file__).resolve().parent.parent, Path.cwd()):
        if (base / "projects").is_dir():
            return base / "projects"
    return None


def startup_project(recent: list[str]) -> str | None:
    """The project to open when none is given: the most recent, else the first example."""
    for p in recent:
        if Path(p).exists():
            return p
    examples = example_projects()
    if examples is not None and (examples / FIRST_PROJECT).is_dir():
        return str(examples / FIRST_PROJECT)
    return None


def no_display() -> str | None:
    """Why no window can open here (Linux without a display), or None.

    Qt would otherwise abort the process with a core dump and a list of platform plugins.
    """
    env = os.environ
    if (sys.platform.startswith("linux") and not env.get("QT_QPA_PLATFORM")
            and not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY")):
        return ("no display to open the workbench on (DISPLAY and WAYLAND_DISPLAY are unset). "
                "Run it on a desktop, over 'ssh -X', or under 'xvfb-run'; "
                "'twinbench run PROJECT' simulates without a window")
    return None


def main(project: str | None = None) -> int:
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtWidgets import QApplication

    from app.crash import CrashHandler, enable_faulthandler
    from twin.errors import ProjectError
    from twin.projectfile.reader import load_project

    given = None
    if project:  # read before any window exists: a problem goes to the terminal that asked
        try:
            given = load_project(project, strict=False)  # a half-built line opens, marked
        except ProjectError as e:
            print(f"twinbench open: error: {e}", file=sys.stderr)  # as every command says
            return 2
    app = QApplication.instance()
    if app is None and (reason := no_display()):
        print(f"twinbench open: error: {reason}", file=sys.stderr)
        return 2
    # the names give the data folder of the crash log: set before any window (or crash)
    QCoreApplication.setOrganizationName("twinbench")
    QCoreApplication.setApplicationName("twinbench")
    crash_log = enable_faulthandler()
    app = app or QApplication(sys.argv[:1])
    crashes = CrashHandler(crash_log, parent=app)
    crashes.install()
    from app.main_window import MainWindow

    win = MainWindow()
    crashes.window = win
    if given is not None:
        win.show_project(given)
    elif (path := startup_project(win.recent())) is not None:
        win.open_project(path)  # what it cannot open, it says in its log
    if win.path is None:  # an opened project was offered its own copies as it opened
        win.offer_recovery()  # an untitled project's; kept unless the user discards them
    win.show()
    return app.exec()
