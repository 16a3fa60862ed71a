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
