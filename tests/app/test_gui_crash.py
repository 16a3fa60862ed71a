"""An exception that escapes a slot or a thread shows a dialog, goes to the log pane and the
crash log, and the window stays; a fatal signal leaves the stacks in the crash log."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QPushButton

from app.crash import CrashHandler, crash_log_path

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def handler(make_window, line_project, tmp_path):
    w = make_window(line_project)
    h = CrashHandler(tmp_path / "crash.log", w)
    h.install()
    yield w, h
    h.uninstall()
    if h.dialog is not None:
        h.dialog.close()


@pytest.mark.qt_no_exception_capture  # the handler under test catches it, not pytest-qt
def test_an_exception_in_a_slot_shows_a_dialog_and_the_window_stays(handler, qtbot):
    w, h = handler
    button = QPushButton("boom", w)

    def slot():
        {}["no such key"]

    button.clicked.connect(slot)
    qtbot.mouseClick(button, Qt.LeftButton)
    qtbot.waitUntil(lambda: h.dialog is not None and h.dialog.isVisible())
    box = h.dialog
    assert "KeyError: 'no such key'" in box.text()
    assert str(h.log_path) in box.informativeText()
    assert "in slot" in box.detailedText()
    text = w.log_pane.toPlainText()
    assert "unexpected error (a bug in twinbench): KeyError: 'no such key'" in text
    assert "Traceback (most recent call last)" in text
    log = h.log_path.read_text(encoding="utf-8")
    assert "uncaught exception" in log and "KeyError: 'no such key'" in log
    # a second error while the dialog is open is counted in it, not a second dialog
    qtbot.mouseClick(button, Qt.LeftButton)
    assert h.dialog is box and "2 errors so far" in box.informativeText()
    box.close()
    qtbot.waitUntil(lambda: h.dialog is None)
    # the window is alive and works on
    assert w.isVisible()
    n = len(w.project.elements)
    w.view.set_selection(["M1"])
    w.act_duplicate.trigger()
    assert len(w.project.elements) == n + 1


@pytest.mark.qt_no_exception_capture
def test_an_exception_in_a_timer_and_in_a_thread(handler, qtbot):
    w, h = handler
    QTimer.singleShot(0, lambda: 1 / 0)
    qtbot.waitUntil(lambda: h.dialog is not None)
    assert "ZeroDivisionError" in h.dialog.text()
    h.dialog.close()
    qtbot.waitUntil(lambda: h.dialog is None)
    t = threading.Thread(target=lambda: [][1], name="loader")
    t.start()
    t.join()
    qtbot.waitUntil(lambda: h.dialog is not None)  # shown on the GUI thread
    assert "IndexError: list index out of range (thread loader)" in h.dialog.text()
    assert "thread loader" in w.log_pane.toPlainText()


def test_a_segfault_leaves_the_stacks_in_the_crash_log(tmp_path):
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path), QT_QPA_PLATFORM="offscreen")
    code = ("from PySide6.QtCore import QCoreApplication\n"
            "QCoreApplication.setOrganizationName('twinbench')\n"
            "QCoreApplication.setApplicationName('twinbench')\n"
            "from app.crash import enable_faulthandler\n"
            "print(enable_faulthandler(), flush=True)\n"
            "import faulthandler\n"
            "def in_the_view():\n"
            "    faulthandler._sigsegv()\n"
            "in_the_view()\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode != 0
    path = Path(out.stdout.strip())
    assert path == tmp_path / "twinbench" / "twinbench" / "crash.log"
    log = path.read_text(encoding="utf-8")
    assert "Fatal Python error: Segmentation fault" in log and "in_the_view" in log


def test_the_crash_log_is_in_the_users_data_folder(qapp, tmp_path):
    # conftest points XDG_DATA_HOME at the test's own folder
    assert crash_log_path() == tmp_path / "data" / "twinbench" / "twinbench" / "crash.log"
