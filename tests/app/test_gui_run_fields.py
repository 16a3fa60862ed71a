"""A refused run setting is marked where it was typed (a newcomer typed "banana" as the
horizon, clicked Run and found the reason only in the status bar and the Log tab, under
"results are stale: run again")."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

pytestmark = [pytest.mark.gui, pytest.mark.timeout(120)]


def test_a_bad_horizon_is_marked_red_with_its_reason_until_fixed(
        make_window, line_project, qtbot, retype, warm_kernel):
    w = make_window(line_project)
    rp = w.run_panel
    retype(rp.horizon, "1h")
    with qtbot.waitSignal(rp.run_finished, timeout=60_000):
        qtbot.mouseClick(rp.run_button, Qt.LeftButton)
    w.view.set_selection(["M2"])
    w.act_rotate.trigger()
    assert rp.stale_label.isVisible()
    retype(rp.horizon, "banana")
    qtbot.mouseClick(rp.run_button, Qt.LeftButton)
    assert not rp.is_running()
    assert rp.horizon.property("invalid") is True
    reason = ("horizon: expected a duration such as 3600, '8h', '30min' or '1h30min', "
              "got 'banana'")
    assert rp.field_error.isVisible() and rp.field_error.text() == reason
    assert rp.horizon.toolTip() == reason
    assert rp.warmup.property("invalid") is False or rp.warmup.property("invalid") is None
    assert not rp.stale_label.isVisible()  # "run again" is no advice now
    retype(rp.horizon, "2h")  # typing it right clears the mark, before any click
    assert not rp.horizon.property("invalid")
    assert not rp.field_error.isVisible() and rp.field_error.text() == ""
    assert rp.horizon.toolTip().startswith("Simulated time")
    assert rp.stale_label.isVisible()  # still stale: the edit was not run
    # a warm-up longer than the horizon: the check's reason, on the warm-up field
    retype(rp.warmup, "3h")
    qtbot.mouseClick(rp.run_button, Qt.LeftButton)
    assert rp.warmup.property("invalid") is True and not rp.horizon.property("invalid")
    assert "warmup: must be >= 0 and shorter than the horizon" in rp.field_error.text()
    retype(rp.warmup, "10min")
    assert not rp.warmup.property("invalid") and not rp.field_error.isVisible()


def test_an_export_to_a_missing_folder_says_so_without_the_temporary_name(
        make_window, line_project, qtbot, retype, tmp_path, monkeypatch, warm_kernel):
    from PySide6.QtWidgets import QFileDialog

    w = make_window(line_project)
    retype(w.run_panel.horizon, "1h")
    with qtbot.waitSignal(w.run_panel.run_finished, timeout=60_000):
        qtbot.mouseClick(w.run_panel.run_button, Qt.LeftButton)
    missing = tmp_path / "nonexistent" / "dir"
    for name, act in (("kpis.csv", w.export_csv_dialog), ("layout.png", w.export_view_dialog)):
        monkeypatch.setattr(QFileDialog, "getSaveFileName",
                            lambda *a, n=name, **k: (str(missing / n), ""))
        act()
        last = w.log_pane.toPlainText().splitlines()[-1]
        assert last.endswith(f"{missing / name}: the folder {missing} does not exist; "
                             "create it or choose another path"), last
        assert "twinbench-tmp" not in last and "Errno" not in last
    assert not missing.exists()


def test_a_two_line_reason_is_whole_at_the_default_window_size(
        make_window, qtbot, retype):
    """A refused warm-up's reason wraps to two lines in the Run dock at its default size;
    the form gave it the height of one, so both lines were cut, top and bottom."""
    from twin.projectfile.reader import load_project

    w = make_window(load_project("projects/bottling-line"), size=(1400, 900))
    rp = w.run_panel
    retype(rp.warmup, "2d")
    qtbot.mouseClick(rp.run_button, Qt.LeftButton)
    label = rp.field_error
    qtbot.waitUntil(label.isVisible)
    assert "warmup: must be >= 0 and shorter than the horizon" in label.text()
    qtbot.wait(50)  # the dock's layout settles
    need = label.heightForWidth(label.width())
    assert need >= 2 * label.fontMetrics().lineSpacing()  # it does wrap at this width
    assert label.height() >= need  # every line of it shows
    # and the fields above it keep their height (the list of scenarios gives way)
    assert rp.seed.height() >= rp.seed.sizeHint().height()
    assert not rp.is_running()
