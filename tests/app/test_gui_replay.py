"""Replay the real SME recording in the workbench: scrub, Gantt cursor, 3D colours, KPIs."""


import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.theme import STATE_COLORS
from kernels.types import STATE_NAMES

pytestmark = pytest.mark.gui

def _looks_like(rgb, state: str) -> bool:
    want = np.array(STATE_COLORS[state])
    if np.ptp(want) < 0.1:  # greys (idle, off): no channel stands out
        return np.ptp(rgb) < 40
    return np.argmax(rgb) == np.argmax(want) and np.ptp(rgb) > 40


def test_open_scrub_colours_and_kpis(make_window, line_project, sme_recording):
    from twin.recording import Recording, recording_kpis

    w = make_window(line_project)
    assert w.open_recording(sme_recording)
    rp = w.replay
    assert rp.asset_ids == ["0", "1", "2"]
    assert all(e == "" for e in rp.elements.values())  # the shipped mapping maps no element
    # the user maps machine 2 (busy and down) onto M1 in the mapping table
    box = rp.mapping_table.cellWidget(2, 1)
    box.setCurrentIndex(box.findData("M1"))
    assert rp.elements["2"] == "M1"
    # whole-recording KPIs in the table are the package's
    with Recording.open(sme_recording) as rec:
        k = recording_kpis(rec)["2"]
    assert rp.kpi_text("2", "OEE") == (f"{100 * k.oee:.1f} %" if k.oee is not None else "-")
    v = w.view
    v.camera_preset("top")
    p = v.widget_point(3.45, 0.45, 1.6)  # M1's roof, clear of its label
    r0 = rp.replays["2"]
    tl = r0.timeline
    seen = set()
    for code in np.unique(tl.state[tl.state >= 0]):
        # scrub to the middle of the longest interval of this state: wider than a Gantt column
        i = np.flatnonzero(tl.state == code)
        i = i[np.argmax(tl.end[i] - tl.start[i])]
        value = round(((tl.start[i] + tl.end[i]) / 2 - rp.t0) / (rp.t1 - rp.t0)
                      * rp.slider.maximum())
        rp.slider.setValue(value)
        name = STATE_NAMES[code]
        assert r0.state_at(rp.t) == code
        seen.add(name)
        assert rp.t == pytest.approx(rp.t0 + (rp.t1 - rp.t0) * value / rp.slider.maximum())
        assert rp.cursors[0].value() == pytest.approx((rp.t - rp.t0) / 3600.0)
        x = (rp.t - rp.t0) / 3600.0
        rp.gantt.setXRange(x - 1.0, x + 1.0, padding=0)  # zoom to two hours: 5 s columns
        rp._range_changed()
        assert rp.gantt_color_at("2", rp.t) == tuple(
            int(round(255 * c)) for c in STATE_COLORS[name])
        rgb = v.grab_image()[p.y(), p.x()].astype(float)
        assert _looks_like(rgb, name), (name, rgb)
    assert seen == {"busy", "down"}
    assert rp.kpi_title.text().startswith("KPIs ")  # the table follows the zoomed window
    # unmapping takes the colour away
    box.setCurrentIndex(0)
    assert rp.elements["2"] == ""


def test_bad_recording_is_named_with_the_fix(make_window, tmp_path):
    w = make_window()
    bad = tmp_path / "data.csv"
    bad.write_text("ts,asset,status\n")
    assert not w.open_recording(bad)
    text = w.log_pane.toPlainText()
    assert str(bad) in text and "import it first" in text
    assert not w.open_recording(tmp_path / "missing.h5")
    assert "no such recording file" in w.log_pane.toPlainText()


def test_replay_charts_keep_a_readable_height_in_a_low_dock(make_window, line_project,
                                                             sme_recording):
    # in the bottom dock the five charts shared about 250 px: the machine-state rows and
    # their names ran into each other; now each chart keeps its height and the charts scroll
    from PySide6.QtWidgets import QApplication

    from app.replay_panel import CHART_MIN_HEIGHT, GANTT_ROW_HEIGHT

    w = make_window(line_project)
    assert w.open_recording(sme_recording)
    rp = w.replay
    w.docks["replay"].raise_()
    w.docks["replay"].resize(w.width(), 250)
    n = len(rp.asset_ids)
    assert rp.gantt.height() >= 70 + GANTT_ROW_HEIGHT * n
    for tab, chart in (("output", rp.output), ("output", rp.energy), ("fork", rp.fork_view)):
        rp.show_tab(tab)
        QApplication.processEvents()
        assert chart.isVisible() and chart.height() >= CHART_MIN_HEIGHT
    rp.show_tab("states")
    QApplication.processEvents()
    # the asset names on the state chart's axis are a row apart, not on top of each other
    ticks = rp.gantt.getAxis("left")
    top, bottom = (ticks.mapToScene(0, 0).y(), ticks.mapToScene(0, ticks.height()).y())
    assert (bottom - top) / n >= 12  # px per row


def test_opening_a_recording_colours_the_3d_view_by_it_at_once(make_window, line_project,
                                                               sme_recording, qtbot, tmp_path,
                                                               warm_kernel):
    # after a run, the stations kept their utilisation colours under the "State (recording)"
    # legend (a red, fully used M1 read as down), and mapped ones took the recording's state
    # only once the slider was moved
    from twin.sim.runner import RunSpec, run_project
    from twin.whatif.simulated import write_run_as_recording

    w = make_window(line_project)
    w.run_panel.horizon.setText("1h")
    with qtbot.waitSignal(w.run_panel.run_finished, timeout=60_000):
        assert w.run_panel.start_run()
    assert w.colour_mode == "utilisation" and w.view.adapters["M1"].tint is not None
    # the SME machines map onto no element: every station shows its own colour
    assert w.open_recording(sme_recording)
    assert w.colour_mode == "replay"
    assert all(a.tint is None for a in w.view.adapters.values())
    # a recording of this line (every station mapped): coloured by its state at the cursor
    res = run_project(line_project, spec=RunSpec(horizon=3600.0, replications=1, seed=2,
                                                 log=True))
    path = tmp_path / "line.h5"
    write_run_as_recording(res.scenarios["base"], 0, path, seed=2, levels=False)
    assert w.open_recording(path)
    rp = w.replay
    for eid in ("M1", "M2"):
        asset = next(a for a, el in rp.elements.items() if el == eid)
        code = rp.replays[asset].state_at(rp.t)
        assert code >= 0  # recorded from the first instant
        state = STATE_NAMES[code]
        assert w.view.adapters[eid].tint == STATE_COLORS[state], eid


def test_a_click_on_the_slider_groove_moves_a_fiftieth_of_the_recording(make_window,
                                                                        line_project,
                                                                        sme_recording):
    # it stepped 0.1%: 3 s of a one-hour recording, 30 min of three weeks, per click
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    w = make_window(line_project)
    assert w.open_recording(sme_recording)
    rp = w.replay
    w.docks["replay"].raise_()
    s = rp.slider
    assert s.value() == 0
    QTest.mouseClick(s, Qt.LeftButton, Qt.NoModifier, QPoint(s.width() * 3 // 4, s.height() // 2))
    assert s.value() == s.maximum() // 50
    assert rp.t - rp.t0 == pytest.approx((rp.t1 - rp.t0) / 50)


def test_the_replay_dock_reads_in_a_low_dock(make_window, line_project, sme_recording):
    """Charts, ten fork controls and two tables shared about 250 px side by side: each table
    showed one row and labels were cut. Now one tab per question, none of its labels cut."""
    from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel

    w = make_window(line_project, size=(1280, 800))
    assert w.open_recording(sme_recording)
    rp = w.replay
    w.docks["replay"].raise_()
    w.resizeDocks([w.docks["replay"]], [250], Qt.Vertical)
    titles = [rp.tabs.tabText(i) for i in range(rp.tabs.count())]
    assert titles == ["Machine states", "Output && energy", "KPIs", "Fork from here",
                      "Asset mapping"]
    for key in rp.tab_pages:
        rp.show_tab(key)
        QApplication.processEvents()
        page = rp.tab_pages[key]
        shown = [x for x in page.widget().findChildren(QLabel)
                 + page.widget().findChildren(QAbstractButton)
                 if x.isVisible() and x.text()]
        for x in shown:
            assert x.width() >= x.sizeHint().width() or (
                isinstance(x, QLabel) and x.wordWrap()), (key, x.text(), x.width())
        # what the tab is for is in view without scrolling across
        assert page.widget().width() <= page.viewport().width()
    rp.show_tab("kpis")
    QApplication.processEvents()
    # every KPI row of the SME recording's three machines in view at once
    rows = rp.kpi_table.rowCount()
    assert rows == 3
    assert rp.kpi_table.rowViewportPosition(rows - 1) + rp.kpi_table.rowHeight(rows - 1) \
        <= rp.kpi_table.viewport().height()
    assert rp.fork_button.isVisibleTo(rp.tab_pages["fork"])
    assert rp.calibrate_button.isVisibleTo(rp.tab_pages["mapping"])


def test_a_machine_asset_is_offered_only_stations(make_window, line_project, sme_recording,
                                                  qtbot):
    """The mapping box offered buffers, sources and sinks for a machine asset; Fork from
    here only then refused them (gui17 §5)."""
    w = make_window(line_project)
    assert w.open_recording(sme_recording)
    rp = w.replay
    assert not rp.replays["2"].has_level  # a machine: states, no level
    box = rp.mapping_table.cellWidget(2, 1)
    qtbot.mouseClick(box, Qt.LeftButton)  # the list the user picks from
    qtbot.waitUntil(box.view().isVisible)
    shown = [box.itemText(i) for i in range(box.count())]
    box.hidePopup()
    assert shown == ["(not shown)", "M1", "M2"]
    assert "machine asset" in box.toolTip()


def test_data_to_import_points_at_the_import_dialog(make_window, tmp_path):
    """The workbench told the user to run `twinbench import DATA --mapping ...` in a
    terminal; it has File > Import data… for that (gui17 §6). The CLI keeps its command."""
    from twin.recording import Recording, RecordingError

    w = make_window()
    bad = tmp_path / "shift.csv"
    bad.write_text("ts,asset,status\n2024-01-01T00:00:00,1,run\n")
    assert not w.open_recording(bad)
    said = w.statusBar().currentMessage()
    assert said.endswith("import it first with File > Import data… (Ctrl+I)"), said
    assert "twinbench import" not in w.log_pane.toPlainText()
    assert any(a.text() == "&Import data…" for a in w.menuBar().actions()[0].menu().actions())
    with pytest.raises(RecordingError, match="twinbench import DATA --mapping"):
        Recording.open(bad)
