"""What a newcomer found (F, E): a new project's chart title, the "mended" note at open, the
undo text of the replay's asset mapping, and that mapping leaving results current."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

pytestmark = [pytest.mark.gui, pytest.mark.timeout(180)]


def _run(w, qtbot, retype):
    retype(w.run_panel.horizon, "1h")
    with qtbot.waitSignal(w.run_panel.run_finished, timeout=60_000):
        qtbot.mouseClick(w.run_panel.run_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: "bin" in w.dashboards.throughput.getPlotItem().titleLabel.text,
                    timeout=10_000)


def test_file_new_clears_the_last_runs_chart_title(make_window, line_project, qtbot, retype,
                                                   warm_kernel):
    w = make_window(line_project)
    _run(w, qtbot, retype)
    w.act_new.trigger()
    title = w.dashboards.throughput.getPlotItem().titleLabel.text
    assert title == "Throughput with 95% band", title


def test_opening_a_fault_free_project_says_nothing_was_mended(make_window, line_project,
                                                             tmp_path):
    from twin.model import commands as cmd
    from twin.projectfile.reader import save_project

    save_project(line_project, tmp_path / "line")
    w = make_window()  # the empty "Untitled": it has faults (no source, no sink)
    assert w.marks.line
    assert w.open_project(tmp_path / "line")
    assert "mended" not in w.log_pane.toPlainText()
    # mending a fault of the open project still says so
    w.stack.push(cmd.RemoveElement("out"))
    w.stack.undo()
    assert w.log_pane.toPlainText().splitlines()[-1] == \
        "the layout can run: every fault of the flow is mended"


def test_mapping_a_recorded_asset_is_named_so_and_leaves_results_current(
        make_window, line_project, sme_recording, qtbot, retype, warm_kernel):
    w = make_window(line_project)
    _run(w, qtbot, retype)
    assert w.open_recording(sme_recording)
    rp = w.replay
    box = rp.mapping_table.cellWidget(rp.asset_ids.index("2"), 1)
    box.setCurrentIndex(box.findData("M2"))
    assert w.act_undo.text() == "&Undo map recorded asset '2' to 'M2'"
    assert not w.run_panel.stale_label.isVisible()  # a run does not read the mapping
    w.act_undo.trigger()
    assert w.act_redo.text() == "&Redo map recorded asset '2' to 'M2'"
    assert not w.run_panel.stale_label.isVisible()
    w.view.set_selection(["M2"])
    w.act_rotate.trigger()  # an edit a run reads
    assert w.run_panel.stale_label.isVisible()


def test_no_data_has_a_colour_of_its_own_and_a_legend_entry(make_window, line_project):
    from app.replay_panel import state_lut
    from app.theme import STATE_COLORS

    w = make_window(line_project)
    w.set_colour_mode("replay")
    assert w.colour_legend.isVisible() and w.colour_legend.entries()[-1] == "no data"
    assert "no data" in w.replay.legend.text()
    no_data = state_lut()[1, :3] / 255.0  # NO_DATA = -1, the LUT's second row
    # far from every state's colour: near-white gaps read as light-grey "idle"
    for state, rgb in STATE_COLORS.items():
        assert max(abs(a - b) for a, b in zip(no_data, rgb, strict=True)) > 0.2, state
    w.colour_legend.show_mode("state")  # a simulation's playback has no gaps
    assert w.colour_legend.isVisible() and "no data" not in w.colour_legend.entries()


def test_an_element_with_a_name_is_shown_by_it(make_window, line_project, qtbot, retype,
                                               warm_kernel):
    from twin.sim.report import ReportParts, report_html

    for eid in ("M1", "M2"):
        line_project.element(eid).name = f"Lathe {eid[-1]}"
    w = make_window(line_project)
    _run(w, qtbot, retype)
    doc = w.last_summary["base"]
    bn = doc["bottleneck"]
    assert bn in ("M1", "M2")
    qtbot.waitUntil(lambda: w.dashboards.bottleneck.text() != "", timeout=10_000)
    assert w.dashboards.bottleneck.text() == f"Bottleneck: Lathe {bn[-1]} ({bn})"
    t = w.stats.table
    shown = {t.item(i, 0).text() for i in range(t.rowCount())}
    assert {"Lathe 1 (M1)", "Lathe 2 (M2)", "B1", "src", "out"} <= shown
    html = report_html(w.last_summary, ReportParts(None, [], [], {}, {}), "r")
    assert "<td>Lathe 1 (M1)</td>" in html and f"<td>Lathe {bn[-1]} ({bn})</td>" in html


def test_a_long_bottleneck_name_does_not_widen_the_charts_over_the_run_dock(
        make_window, line_project, qtbot, retype, warm_kernel):
    for eid in ("M1", "M2"):
        line_project.element(eid).name = f"Rotary filler {eid}, forty valves, bay 3 east " * 2
    w = make_window(line_project)
    w.resize(1400, 900)
    charts, run = w.docks["charts"], w.docks["run"]
    _run(w, qtbot, retype)
    qtbot.waitUntil(lambda: w.dashboards.bottleneck.text() != "", timeout=10_000)
    assert "forty valves" in w.dashboards.bottleneck.toolTip()  # whole in the tooltip
    qtbot.wait(50)  # the layout settles
    # the dock's content fits the dock, and the dock stays left of the Run dock
    assert charts.widget().minimumSizeHint().width() <= charts.width()
    right = charts.mapTo(w, charts.rect().topRight()).x()
    assert right < run.mapTo(w, run.rect().topLeft()).x()


def test_report_pictures_have_a_readable_size_and_no_selection_box(
        make_window, line_project, qtbot, retype, warm_kernel):
    import numpy as np
    from PySide6.QtGui import QImage

    from app.report import CHART_HEIGHT, CHART_WIDTH, report_parts

    w = make_window(line_project, size=(1200, 500))  # the charts' dock a strip
    _run(w, qtbot, retype)
    d = w.dashboards
    on_screen = d.throughput.getPlotItem().size()
    assert on_screen.height() < 300
    w.view.set_selection(["M1"])
    selected = w.view.grab_image()
    parts = report_parts(w)
    for title, png in parts.charts:
        img = QImage.fromData(png, "PNG")
        assert (img.width(), img.height()) == (CHART_WIDTH, CHART_HEIGHT), title
    assert d.throughput.getPlotItem().size() == on_screen  # the dock's chart as it was
    layout = QImage.fromData(parts.layout_png, "PNG").convertToFormat(QImage.Format_RGB888)
    h, wd = layout.height(), layout.width()
    arr = np.frombuffer(layout.constBits(), np.uint8, layout.bytesPerLine() * h)
    arr = arr.reshape(h, layout.bytesPerLine())[:, :3 * wd].reshape(h, wd, 3)
    assert w.view.selection == ["M1"]  # still selected in the window
    w.view.set_selection([])
    unselected = w.view.grab_image()
    assert not np.array_equal(selected, unselected)  # the box shows on screen
    def differ(a, b):
        return int((np.abs(a.astype(int) - b.astype(int)).sum(axis=2) > 30).sum())

    assert differ(arr, unselected) == 0 and differ(arr, selected) > 0  # not in the picture


def test_elements_keep_their_recording_colours_through_undo_and_redo(
        make_window, line_project, sme_recording, qtbot):
    w = make_window(line_project)
    assert w.open_recording(sme_recording)
    rp = w.replay
    box = rp.mapping_table.cellWidget(rp.asset_ids.index("2"), 1)
    box.setCurrentIndex(box.findData("M2"))
    rp.seek(rp.t0 + 0.5 * (rp.t1 - rp.t0))
    tint = w.view.adapters["M2"].tint
    assert tint is not None
    w.view.set_selection(["M1"])
    w.act_rotate.trigger()
    assert w.view.adapters["M2"].tint == tint
    for act in (w.act_undo, w.act_redo):
        act.trigger()
        assert w.view.adapters["M2"].tint == tint, act.text()
    w.act_undo.trigger()  # the rotation (the test's first edit)
    from twin.model import commands as cmd

    w.stack.push(cmd.RemoveElement("M2"))
    w.act_undo.trigger()  # M2 back: a new actor, in the recording's colour again
    assert w.view.adapters["M2"].tint == tint
    w.act_undo.trigger()  # the mapping itself: M2 shows no asset any more
    assert w.view.adapters["M2"].tint is None and rp.elements["2"] == ""
    w.act_redo.trigger()
    assert w.view.adapters["M2"].tint == tint and rp.elements["2"] == "M2"


def test_output_and_energy_show_the_same_hours_as_the_gantt(make_window, line_project,
                                                            sme_recording, qtbot):
    w = make_window(line_project, size=(1600, 1000))
    assert w.open_recording(sme_recording)
    rp = w.replay
    rp.tabs.setCurrentIndex([rp.tabs.tabText(i) for i in range(rp.tabs.count())]
                            .index("Output && energy"))
    qtbot.wait(100)
    hours = (rp.t1 - rp.t0) / 3600.0

    def ranges():
        return [w_.getPlotItem().getViewBox().viewRange()[0] for w_ in
                (rp.gantt, rp.output, rp.energy)]

    for lo, hi in ranges():
        assert lo == pytest.approx(0.0, abs=1e-6) and hi == pytest.approx(hours, rel=1e-6)
    rp.output.setXRange(10.0, 50.0, padding=0)  # zoomed on one: the others follow
    for lo, hi in ranges():
        assert (lo, hi) == (pytest.approx(10.0), pytest.approx(50.0))


def test_a_buffer_with_recorded_levels_is_not_shown_as_no_data(make_window, line_project,
                                                               tmp_path):
    """A live recording of the bottling line held 119,455 level readings of its conveyors,
    yet Replay painted them "no data" (pink): they record a level, no state. Where the level
    is known they keep their own colour; in a link gap they are "no data" as everything."""
    import numpy as np

    from kernels.types import BUSY
    from twin.recording import AssetInfo, RecordingWriter

    path = tmp_path / "levels.h5"
    with RecordingWriter.create(path, source="t", epoch_utc="2026-12-02T00:00:00+00:00") as w:
        w.add_asset(AssetInfo("M1", element="M1"))
        w.add_asset(AssetInfo("B1", element="B1", level=True))
        w.append_states("M1", [0.0, 3600.0], [BUSY, BUSY])
        w.append_level("B1", [0.0, 600.0, 1800.0, 3600.0], [0.0, 2.0, 3.0, 1.0])
        w.append_gaps([1000.0], [1200.0], "reconnecting: connection lost")
    win = make_window(line_project)
    assert win.open_recording(path)
    win.set_colour_mode("replay")
    tint = win.view.adapters["B1"]
    no_data = win.view.adapters["M1"]
    win.replay.seek(700.0)
    assert tint.tint is None  # its own colour: a level is known
    assert no_data.tint is not None  # M1 is busy: coloured by its state
    win.replay.seek(1100.0)  # in the gap: nothing is known of anything
    assert tint.tint == no_data.tint and tint.tint is not None
    # the Gantt row likewise: clear where the level is known, "no data" in the gap
    win.replay._range_changed()
    image = win.replay.gantt_image.image  # columns x assets x RGBA
    row = win.replay.asset_ids.index("B1")
    lo, hi = win.replay._image_window
    cols = (np.array([700.0, 1100.0]) - lo) / (hi - lo) * image.shape[0]
    clear, gap = (image[int(c), row] for c in cols)
    assert clear[3] == 0 and gap[3] == 255
