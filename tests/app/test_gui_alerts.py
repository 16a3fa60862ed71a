"""The Alerts dock (issue 16 §4): the rules follow a live plant (a real mosquitto broker),
the user acknowledges an alert and double-clicks it to find the machine; on a recording
open in Replay the same rules run, a double-click moves Replay to the alert's moment, and a
drift alert's re-calibration adds a scenario."""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from app.live_panel import connect_dialog
from tests.live.conftest import broker  # noqa: F401 - the fixture: a real mosquitto
from twin.live.publish_mqtt import MqttPublisher
from twin.model import elements as m
from twin.shadow.sinks import alert_log_path, read_alert_log

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "twin"))
import shadow_feeds  # noqa: E402

pytestmark = [pytest.mark.gui, pytest.mark.timeout(240)]

STOP = m.AlertRule("state", "m1-stop", "critical", ("M1",), ("down",), 60.0)


def _row(win, state: str) -> int | None:
    t = win.alerts.table
    for r in range(t.rowCount()):
        if t.item(r, 2).text() == state:
            return r
    return None


def test_alerts_follow_the_live_plant(make_window, line_project, broker, tmp_path,  # noqa: F811
                                      qtbot):
    line_project.alerts = m.AlertSettings((STOP,))
    win = make_window(line_project)
    record = tmp_path / "live.h5"
    dlg = connect_dialog(win)
    dlg.kind.setCurrentText("MQTT")
    dlg.address.setText(f"{broker.url}/plant")
    dlg.record.setText(str(record))
    qtbot.mouseClick(dlg.buttons.button(QDialogButtonBox.Ok), Qt.LeftButton)
    qtbot.waitUntil(lambda: win.live.indicator.startswith("connected"), timeout=15000)
    pub = MqttPublisher(f"{broker.url}/plant", client_id="test-plant")
    pub.open(None, 0.0)
    try:
        t0 = time.time() - 1200.0
        pub.send([("M1", "state", t0, "busy"), ("M1", "state", t0 + 10, "down"),
                  ("M1", "power_kw", t0 + 100, 1.0)])
        qtbot.waitUntil(lambda: _row(win, "raised") is not None, timeout=15000)
        win.docks["alerts"].raise_()  # the user clicks the dock's tab
        t = win.alerts.table
        row = _row(win, "raised")
        assert t.item(row, 1).text() == "critical" and t.item(row, 3).text() == "M1"
        assert t.item(row, 4).text().startswith("M1 down for 60 s")
        assert "alerts: 1 active, 1 critical" in win.alerts_controller.status.text()
        assert "Alert (critical): M1 down for 60 s" in win.statusBar().currentMessage()
        # acknowledge it: select the row, click the button
        t.selectRow(row)
        assert win.alerts.ack_button.isEnabled()
        qtbot.mouseClick(win.alerts.ack_button, Qt.LeftButton)
        assert t.item(row, 2).text() == "acknowledged"
        # a double-click selects the machine in 3D
        rect = t.visualItemRect(t.item(row, 4))
        qtbot.mouseClick(t.viewport(), Qt.LeftButton, pos=rect.center())  # a double click
        qtbot.mouseDClick(t.viewport(), Qt.LeftButton, pos=rect.center())  # begins so
        assert win.view.selection == ["M1"]
        # the machine runs again: cleared, once
        pub.send([("M1", "state", t0 + 300, "busy")])
        qtbot.waitUntil(lambda: _row(win, "cleared") is not None, timeout=15000)
        assert t.rowCount() == 1
        assert win.alerts_controller.status.text() == ""
    finally:
        pub.close(wait=False)
    win.live.disconnect()
    qtbot.waitUntil(lambda: not win.live.connected, timeout=30000)
    rows = read_alert_log(alert_log_path(record))
    assert [r["state"] for r in rows] == ["raised", "acknowledged", "cleared"]


def _drifting_shift(tmp_path):
    """The shadow feeds' line and a recorded shift whose filler's repairs slow down."""
    from twin.live.recorder import LiveRecorder, project_assets

    p = shadow_feeds.project()
    readings = shadow_feeds.emulated(p, [("base", 2, 1), ("slow-repairs", 8, 11)])
    path = tmp_path / "shift.h5"
    with LiveRecorder(path, project_assets(p), source="test",
                      epoch_utc="2025-12-02T00:00:00+00:00") as rec:
        rec.readings(readings)
    p.alerts = m.AlertSettings((
        m.AlertRule("state", "long-stop", "warning", ("filler",), ("down",), 1200.0),
        m.AlertRule("drift", "drift", elements=("filler",))))
    return p, path


def test_rules_on_a_replayed_recording_jump_and_recalibrate(make_window, warm_kernel,
                                                            tmp_path, qtbot, model_threads):
    p, path = _drifting_shift(tmp_path)
    win = make_window(p)
    assert win.open_recording(path)
    built_before = len(model_threads)
    qtbot.mouseClick(win.alerts.replay_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: win.alerts.table.rowCount() > 0 and
                    win.alerts.replay_button.isEnabled(), timeout=120000)
    kinds = {a.kind for a in win.alerts.alerts.values()}
    assert kinds == {"state", "drift"}
    # the job only read the project: every model was built on the GUI thread
    assert set(model_threads[built_before:]) <= {"MainThread"}
    win.docks["alerts"].raise_()
    t = win.alerts.table
    drift_row = next(r for r, aid in enumerate(win.alerts.rows)
                     if win.alerts.alerts[aid].kind == "drift")
    alert = win.alerts.alerts[win.alerts.rows[drift_row]]
    rect = t.visualItemRect(t.item(drift_row, 4))
    qtbot.mouseClick(t.viewport(), Qt.LeftButton, pos=rect.center())
    qtbot.mouseDClick(t.viewport(), Qt.LeftButton, pos=rect.center())
    assert win.view.selection == ["filler"]
    epoch = win.replay.recording.epoch_utc.timestamp()
    assert win.replay.t == pytest.approx(alert.time - epoch)
    # re-calibrate the drifting filler: a scenario, undoable
    t.selectRow(drift_row)
    assert win.alerts.recalibrate_button.isEnabled()
    qtbot.mouseClick(win.alerts.recalibrate_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: any(s.name == "recalibrated filler" for s in win.project.scenarios),
                    timeout=120000)
    sc = win.project.scenario("recalibrated filler")
    assert {o.element for o in sc.overrides} == {"filler"}
    win.stack.undo()
    assert not any(s.name == "recalibrated filler" for s in win.project.scenarios)


def test_recalibrate_pressed_twice_adds_one_scenario_then_another_name(make_window, warm_kernel,
                                                                      tmp_path, qtbot):
    """A second press while the fit runs is not taken (the two fits both added "recalibrated
    filler": the second raised in the event loop); a later one gets a free name."""
    p, path = _drifting_shift(tmp_path)
    win = make_window(p)
    assert win.open_recording(path)
    qtbot.mouseClick(win.alerts.replay_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: win.alerts.table.rowCount() > 0 and
                    win.alerts.replay_button.isEnabled(), timeout=120000)
    panel = win.alerts
    panel.table.selectRow(next(r for r, aid in enumerate(panel.rows)
                               if panel.alerts[aid].kind == "drift"))
    button = panel.recalibrate_button
    qtbot.mouseClick(button, Qt.LeftButton)
    assert not button.isEnabled() and button.text() == "Re-calibrating…"
    panel.recalibrate_button.click()  # (a click on a disabled button does nothing anyway)
    win.alerts_controller.recalibrate()  # nor does the action behind it
    qtbot.waitUntil(button.isEnabled, timeout=120000)
    assert [s.name for s in win.project.scenarios
            if s.name.startswith("recalibrated")] == ["recalibrated filler"]
    qtbot.mouseClick(button, Qt.LeftButton)
    qtbot.waitUntil(button.isEnabled, timeout=120000)
    assert [s.name for s in win.project.scenarios if s.name.startswith("recalibrated")] == [
        "recalibrated filler", "recalibrated filler 2"]


def test_severity_colours(qtbot):
    """Each severity has its colour, kept when the alert clears (its text turns grey)."""
    from app.alerts_dock import CLEARED_COLOR, SEVERITY_COLORS, AlertsPanel
    from twin.shadow.alerts import Alert

    panel = AlertsPanel()
    qtbot.addWidget(panel)
    for i, sev in enumerate(("info", "warning", "critical")):
        panel.show_alert(Alert(f"r/a/{i}", "r", "state", sev, "a", "a", 1.7e9 + i, "m"))
    rows = {panel.table.item(r, 1).text(): r for r in range(3)}
    for sev, r in rows.items():
        assert panel.table.item(r, 1).background().color().name() == SEVERITY_COLORS[sev]
    a = panel.alerts["r/a/2"]
    from dataclasses import replace

    panel.show_alert(replace(a, state="cleared"))
    r = rows["critical"]
    assert panel.table.item(r, 2).text() == "cleared"
    assert panel.table.item(r, 1).background().color().name() == SEVERITY_COLORS["critical"]
    assert panel.table.item(r, 4).foreground().color().name() == CLEARED_COLOR
    assert panel.summary.text() == "2 active (0 critical), 3 in all"


def test_a_forecast_of_the_forecast_dock_is_judged_by_the_rules(make_window, qtbot):
    """The Forecast dock's forecasts reach the engine that follows the plant: a shift whose
    forecast misses the target raises the shift-target alert in the dock."""
    from twin.shadow.alerts import AlertEngine

    p = shadow_feeds.project()
    p.alerts = m.AlertSettings((m.AlertRule("shift_target", "target", above=0.5),),
                               shift_target=1000.0)
    win = make_window(p)
    engine = AlertEngine(p, epoch_s=0.0)
    engine.listeners.append(win.alerts.show_alert)
    win.alerts.engine = engine
    win.forecast.forecast_made.emit(shadow_feeds.forecast(7 * 3600.0, [1200] * 90 + [900] * 10))
    assert win.alerts.table.rowCount() == 0  # P(missed) 10%: quiet
    win.forecast.forecast_made.emit(shadow_feeds.forecast(8 * 3600.0, [1200] * 30 + [900] * 70))
    assert [a.rule for a in win.alerts.alerts.values()] == ["target"]
    assert "rose from 10% to 70%" in next(iter(win.alerts.alerts.values())).message


def test_rules_naming_a_deleted_station_go_with_it_and_come_back(make_window, warm_kernel,
                                                                 tmp_path, qtbot):
    """The filler deleted, its rules watched nothing (running them said only "0 raised") and
    the project no longer opened: they go with it, the window says so, and undo brings them
    back. A rule naming a station that is gone (a file edited by hand) is said, not silent."""
    p, path = _drifting_shift(tmp_path)
    win = make_window(p)
    assert win.open_recording(path)
    win.view.set_selection(["filler"])
    win.delete_selection()
    assert win.project.alerts.rules == ()
    log = win.log_pane.toPlainText()
    assert "deleted filler and with it 3 references to it (Undo brings them back):" in log
    assert "scenario 'slow-repairs': override of failures.time_to_repair" in log
    for rule in ("long-stop", "drift"):
        assert f"alert rule {rule!r} (it watched only filler)" in log
    win.stack.undo()
    kept = win.project.alerts
    assert [r.id for r in kept.rules] == ["long-stop", "drift"]
    win.project.alerts = m.AlertSettings(tuple(
        dataclasses.replace(r, elements=("filer",)) for r in win.project.alerts.rules))
    win.log_pane.clear()
    qtbot.mouseClick(win.alerts.replay_button, Qt.LeftButton)
    qtbot.waitUntil(win.alerts.replay_button.isEnabled, timeout=120000)
    log = win.log_pane.toPlainText()
    for rule in ("long-stop", "drift"):
        assert (f"alerts: rule {rule!r} names 'filer', which is not a station of the project "
                "(deleted?): it watches nothing there") in log
    win.project.alerts = kept
    win.log_pane.clear()
    qtbot.mouseClick(win.alerts.replay_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: win.alerts.table.rowCount() > 0 and
                    win.alerts.replay_button.isEnabled(), timeout=120000)
    assert "watches nothing" not in win.log_pane.toPlainText()
