"""The right column as a newcomer meets it at 1600x1000: an Inspector tall enough to edit in
(F5), a Run panel whose notes take their own lines instead of squeezing its fields (F19)."""

import pytest
from PySide6.QtCore import Qt

pytestmark = pytest.mark.gui


def _rows(rp):
    return (rp.horizon, rp.warmup, rp.replications, rp.seed, rp.record, rp.run_button)


def test_the_inspector_gets_the_room_of_the_right_column(make_window, line_project, qtbot):
    w = make_window(line_project, size=(1600, 1000))
    qtbot.wait(50)
    ins, run, charts = w.docks["inspector"], w.docks["run"], w.docks["charts"]
    # the right column runs the window's height beside the charts, not above them
    assert run.geometry().bottom() > charts.geometry().top() + charts.height() // 2
    assert ins.x() > charts.geometry().right()
    # and the Inspector, the main editing surface, takes what the Run panel does not need
    assert ins.height() >= 0.45 * w.height(), (ins.height(), run.height())
    assert ins.height() > run.height()
    for field in _rows(w.run_panel):  # the Run panel still shows each of its rows whole
        assert field.height() >= field.sizeHint().height(), field
    # the split between them moves (a drag of the separator resizes the docks like this)
    before = ins.height()
    w.resizeDocks([ins, run], [before - 100, run.height() + 100], Qt.Vertical)
    qtbot.waitUntil(lambda: ins.height() <= before - 80, timeout=2000)
    # View > Panels > Reset layout brings the default split back, for the window's size now:
    # the Run panel at the height it needs, the Inspector the rest
    w.reset_layout()
    qtbot.wait(100)
    assert ins.height() >= before - 2, (ins.height(), before, run.height())
    assert run.widget().height() <= run.widget().minimumSizeHint().height() + 30


def test_the_no_playback_note_takes_its_own_lines_and_squeezes_no_field(
        make_window, line_project, qtbot, warm_kernel, monkeypatch):
    import app.run_panel as run_panel

    w = make_window(line_project, size=(1600, 1000))
    rp = w.run_panel
    # a narrow right column: the note wraps to three lines or more
    w.resizeDocks([w.docks["inspector"]], [260], Qt.Horizontal)
    rp.horizon.setText("2d")
    rp.replications.setValue(1)
    monkeypatch.setattr(run_panel, "PLAYBACK_LOG_CAP", 10_000.0)  # bytes: the note shows
    with qtbot.waitSignal(rp.run_finished, timeout=60_000):
        assert rp.start_run()
    qtbot.wait(50)
    note = rp.log_note
    assert note.text().startswith("No playback for this run")
    lines = note.heightForWidth(note.width()) // note.fontMetrics().lineSpacing()
    assert lines >= 3, lines
    assert note.height() >= note.heightForWidth(note.width())  # every line of it shows
    for field in _rows(rp):
        assert field.height() >= field.sizeHint().height(), field
    # the fields, the note and the Run button are all on screen in the dock
    assert rp.run_button.mapTo(rp, rp.run_button.rect().bottomLeft()).y() <= rp.height()
    # the note gone (a run that keeps its log), its room goes back to the scenario list
    monkeypatch.setattr(run_panel, "PLAYBACK_LOG_CAP", 1e9)
    with qtbot.waitSignal(rp.run_finished, timeout=60_000):
        assert rp.start_run()
    assert note.text() == "" and note.minimumHeight() == 0


FLOAT_AND_CLOSE = """
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ["VTK_DEFAULT_OPENGL_WINDOW"] = "vtkOSOpenGLRenderWindow"
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication
app = QApplication([])
from app.main_window import MainWindow
w = MainWindow(None, None, warm_up=False)
w.show()
native = sorted(n for n, d in w.docks.items() if d.internalWinId())
for dock in w.docks.values():
    dock.setFloating(True)
    app.processEvents()
w.docks["replay"].setFloating(False)  # one docked again, the others left floating
app.processEvents()
w.close()
w.deleteLater()
app.sendPostedEvents(None, QEvent.DeferredDelete)
print("native docks:", native, flush=True)
"""


def test_docks_floated_and_docked_again_do_not_crash_the_window_as_it_goes(tmp_path):
    """A dock floated once crashed the process when the window was deleted (the monkey
    test, seed 14: a double click on the Replay dock's title). The VTK view's native window
    had made every dock a native window too, and Qt's offscreen platform kept a floated
    one's window id in the main window's backing store. In a process of its own: the crash
    would end the test run."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root), XDG_CONFIG_HOME=str(tmp_path),
               XDG_DATA_HOME=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", FLOAT_AND_CLOSE], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "native docks: []" in out.stdout  # only the view and its overlays are native
