"""The Alerts dock: the project's alert rules on the live plant and on a replayed recording
(issue 16 §4).

:func:`install_alerts` adds the dock to a ``MainWindow``. While live mode runs, the rules
follow the plant: the dock puts a :class:`twin.shadow.tee.LiveAlerts` between the session's
live state and its recorder (``LivePanel.started``, before the source starts), and a timer
on the GUI thread evaluates what came in (:meth:`AlertTee.drain`); the alerts are logged
beside the recording (``<recording>.alerts.jsonl``). *Run rules on the recording* runs the
same rules on the recording open in Replay, off the GUI thread (``app.worker.Job``).

The list shows each alert's time, severity (coloured), state, asset and message, newest
first; *Acknowledge* marks the selected ones; a double-click selects the alert's machine in
the 3D view and moves Replay to the alert's moment; *Re-calibrate…* on a drift alert fits the
machine from the recording since the drift began and adds the result as a scenario (undoable).
The status bar says how many alerts are active, and shows each new one for a while.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.menus import list_in_panels
from twin.errors import printable

#: Milliseconds between two evaluations of the live readings.
DRAIN_MS = 500
COLUMNS = ("time", "severity", "state", "asset", "message")
SEVERITY_COLORS = {"critical": "#c0392b", "warning": "#d08a00", "info": "#2a6fdb"}
CLEARED_COLOR = "#8a8a8a"
#: Milliseconds the status bar shows a new alert.
STATUS_MS = 15_000


class AlertsPanel(QWidget):
    """The list of alerts, newest first, one row per alert (updated as it changes)."""

    #: an alert was raised (for the status bar)
    raised = Signal(object)
    #: the active count changed: (active, critical active)
    counts_changed = Signal(int, int)
    #: double-click: (element id or "", plant time s since 1970)
    jump = Signal(str, float)
    #: a line for the log pane
    message = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.alerts: dict[str, object] = {}  # id -> Alert as it stands
        self.rows: list[str] = []  # alert ids, in row order
        self.time_zone = "UTC"
        self.engine = None  # the engine that can acknowledge (live, or the replay's run)
        self.recalibrating = False
        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        self.summary = QLabel("no alerts")
        top.addWidget(self.summary)
        top.addStretch(1)
        self.ack_button = QPushButton("Acknowledge")
        self.ack_button.setToolTip("Mark the selected alerts as seen")
        self.ack_button.clicked.connect(self.acknowledge_selected)
        self.recalibrate_button = QPushButton("Re-calibrate…")
        self.recalibrate_button.setToolTip("Fit the drifting machine from the recording since "
                                           "the drift began and add it as a scenario")
        self.recalibrate_button.setEnabled(False)
        self.replay_button = QPushButton("Run rules on the recording")
        self.replay_button.setToolTip("Run the project's alert rules on the recording open in "
                                      "Replay, as they would have run live")
        for b in (self.ack_button, self.recalibrate_button, self.replay_button):
            top.addWidget(b)
        lay.addLayout(top)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectRows)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.cellDoubleClicked.connect(self._double_clicked)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        lay.addWidget(self.table)

    # --- contents -----------------------------------------------------------------------------
    def clear(self) -> None:
        self.alerts.clear()
        self.rows.clear()
        self.table.setRowCount(0)
        self._counts()

    def show_alert(self, alert) -> None:
        """Show a change of an alert (a listener of the engine; GUI thread)."""
        new = alert.id not in self.alerts
        self.alerts[alert.id] = alert
        if new:
            self.rows.insert(0, alert.id)
            self.table.insertRow(0)
            row = 0
        else:
            row = self.rows.index(alert.id)
        when = datetime.fromtimestamp(alert.time, ZoneInfo(self.time_zone))
        values = (when.strftime("%Y-%m-%d %H:%M:%S"), alert.severity, alert.state,
                  alert.asset or "line", printable(alert.message))
        # the severity keeps its colour; a cleared alert's other cells turn grey
        color = QColor(SEVERITY_COLORS.get(alert.severity, "#000000"))
        for col, v in enumerate(values):
            item = self.table.item(row, col)
            if item is None:
                item = QTableWidgetItem()
                self.table.setItem(row, col, item)
            item.setText(v)
            item.setToolTip(printable(alert.message) if col == 4 else v)
            if col == 1:
                item.setBackground(QBrush(color))
                item.setForeground(QBrush(QColor("#ffffff")))
            else:
                item.setForeground(QBrush(QColor(CLEARED_COLOR) if alert.state == "cleared"
                                          else self.palette().text()))
        if new and alert.state == "raised":
            self.raised.emit(alert)
        self._counts()
        self._selection_changed()

    def _counts(self) -> None:
        active = [a for a in self.alerts.values() if a.state != "cleared"]
        critical = sum(a.severity == "critical" for a in active)
        self.summary.setText(f"{len(active)} active ({critical} critical), "
                             f"{len(self.alerts)} in all" if self.alerts else "no alerts")
        self.counts_changed.emit(len(active), critical)

    def selected(self) -> list:
        rows = sorted({i.row() for i in self.table.selectedItems()})
        return [self.alerts[self.rows[r]] for r in rows]

    def acknowledge_selected(self) -> None:
        if self.engine is None:
            return
        for a in self.selected():
            if not a.acknowledged and a.id in self.engine.alerts:
                self.engine.acknowledge(a.id)  # the engine's listeners show it

    def _selection_changed(self) -> None:
        sel = self.selected()
        self.ack_button.setEnabled(self.engine is not None and any(
            not a.acknowledged for a in sel))
        self.recalibrate_button.setEnabled(len(sel) == 1 and sel[0].kind == "drift"
                                           and not self.recalibrating)

    def set_recalibrating(self, on: bool) -> None:
        """A re-calibration runs: its button says so and takes no second press."""
        self.recalibrating = on
        self.recalibrate_button.setText("Re-calibrating…" if on else "Re-calibrate…")
        self._selection_changed()

    def _double_clicked(self, row: int, _col: int) -> None:
        a = self.alerts[self.rows[row]]
        self.jump.emit(a.element or "", float(a.time))


class AlertsController:
    """Connects the panel to the window: live sessions, the replay, the status bar."""

    def __init__(self, win, panel: AlertsPanel) -> None:
        self.win, self.panel = win, panel
        self.live = None  # twin.shadow.tee.LiveAlerts while live
        self.job = None
        self.status = QLabel("")
        win.statusBar().addPermanentWidget(self.status)
        self.timer = QTimer(panel)
        self.timer.setInterval(DRAIN_MS)
        self.timer.timeout.connect(self.drain)
        panel.counts_changed.connect(self._counts)
        panel.raised.connect(lambda a: win.statusBar().showMessage(
            f"Alert ({a.severity}): {printable(a.message)}", STATUS_MS))
        panel.jump.connect(self.jump)
        panel.message.connect(win.log)
        panel.replay_button.clicked.connect(self.run_on_recording)
        panel.recalibrate_button.clicked.connect(self.recalibrate)
        win.live.started.connect(self.follow)
        win.live.ended.connect(self.stop)

    def _counts(self, active: int, critical: int) -> None:
        self.status.setText(f"alerts: {active} active" + (f", {critical} critical"
                                                          if critical else "")
                            if active else "")

    # --- live ------------------------------------------------------------------------------
    def follow(self, session) -> None:
        """A live session starts: put the rules between its state and its recorder."""
        from twin.errors import InputError
        from twin.shadow.tee import LiveAlerts

        p = self.win.project
        if not (p.alerts and p.alerts.rules):
            self.panel.message.emit("alerts: the project has no alert rules (add an `alerts` "
                                    "section to project.json: docs/project-format.md)")
            return
        try:
            self.live = LiveAlerts(p, session.recorder.path, overwrite=True,
                                   listeners=[self.panel.show_alert])
        except InputError as e:
            self.panel.message.emit(f"alerts: {e}")
            return
        self._say_stale(p)
        self.panel.clear()
        self.panel.engine = self.live.engine
        state = session.state
        state.recorder = self.live.tee(state.recorder)
        self.timer.start()
        self.panel.message.emit(f"alerts: {len(p.alerts.rules)} rules follow the plant")

    def _say_stale(self, project) -> None:
        """Rules naming an element deleted since: said in the log and the status bar."""
        from twin.shadow.alerts import stale_rules

        for line in stale_rules(project):
            self.panel.message.emit(f"alerts: {line}")

    def drain(self) -> None:
        if self.live is not None:
            self.live.drain()

    def forecast(self, f) -> None:
        """A forecast of the shift was made (the Forecast dock): the shift-target and
        forecast-peak rules of the engine that follows the plant judge it."""
        if self.panel.engine is not None:
            self.panel.engine.forecast(f)

    def stop(self, _path: str = "") -> None:
        self.timer.stop()
        if self.live is not None:
            self.live.close()
            self.live = None

    def shutdown(self) -> None:
        """The window closes: stop following, and let a run of the rules on a recording end
        first (its thread belongs to the panel; a QThread destroyed while running took the
        process down when the monkey test closed the window mid-run)."""
        self.stop()
        if self.job is not None and self.job.is_running():
            self.job.cancel()
            self.job.wait()

    # --- replay ----------------------------------------------------------------------------
    def run_on_recording(self) -> None:
        """Run the rules on the recording open in Replay (a job; the engine is built here,
        on the GUI thread, and only read by the job)."""
        from app.worker import Job
        from twin.recording import Recording
        from twin.shadow.alerts import AlertEngine, run_rules
        from twin.shadow.playback import playback

        rec = self.win.replay.recording
        p = self.win.project
        if rec is None:
            self.panel.message.emit("alerts: open a recording in Replay first (File > Open "
                                    "recording…)")
            return
        if not (p.alerts and p.alerts.rules):
            self.panel.message.emit("alerts: the project has no alert rules")
            return
        if self.job is not None and self.job.is_running():
            return
        self._say_stale(p)
        path, epoch, tz = rec.path, rec.epoch_utc.timestamp(), rec.time_zone
        engine = AlertEngine(p, epoch_s=epoch, time_zone=tz)

        def work(task):
            with Recording.open(path) as r:
                return run_rules(engine, playback(r))

        self.panel.replay_button.setEnabled(False)
        self.job = Job(work, parent=self.panel)

        def done(changes) -> None:
            self.panel.replay_button.setEnabled(True)
            self.panel.clear()
            self.panel.time_zone = tz
            self.panel.engine = engine
            for a in changes:
                self.panel.show_alert(a)
            engine.listeners.append(self.panel.show_alert)
            raised = sum(a.state == "raised" for a in changes)
            self.panel.message.emit(f"alerts: {raised} raised on {path.name}")

        def failed(msg, tb=None) -> None:
            self.panel.replay_button.setEnabled(True)
            self.win.log_failure("alert rules", msg, tb)

        self.job.finished.connect(done)
        self.job.failed.connect(failed)
        self.job.start()

    def jump(self, element: str, t: float) -> None:
        """Select the alert's machine in 3D and move Replay (and its charts) to its time."""
        if element and element in self.win.project:
            self.win.view.set_selection([element])
        rec = self.win.replay.recording
        if rec is not None:
            self.win.replay.seek(t - rec.epoch_utc.timestamp())
            self.win.docks["replay"].show()
            self.win.docks["replay"].raise_()

    # --- drift: re-calibrate ------------------------------------------------------------------
    def recalibrate(self) -> None:
        """Fit the drifting machine from the recording since the drift began (a job) and add
        it as a scenario (an undoable command)."""
        from app.worker import Job
        from twin.model.commands import AddScenario, unique_scenario_name
        from twin.recording import Recording
        from twin.shadow.drift import Drift, recalibration_scenario

        sel = self.panel.selected()
        if len(sel) != 1 or sel[0].kind != "drift":
            return
        if self.job is not None and self.job.is_running():  # a second press: one at a time
            return
        d = sel[0].details
        drift = Drift(**{k: d[k] for k in Drift.__dataclass_fields__})
        live = self.live_path()
        path = live or (self.win.replay.recording.path
                        if self.win.replay.recording is not None else None)
        if path is None:
            self.panel.message.emit("alerts: re-calibrating needs the plant's recording: "
                                    "open it in Replay")
            return
        name = f"recalibrated {drift.element}"
        project = self.win.project

        def work(task):
            with Recording.open(path, swmr=live is not None) as r:  # still growing
                return recalibration_scenario(project, r, drift, name)

        def done(sc) -> None:
            self.panel.set_recalibrating(False)
            # named now, on the GUI thread: the user may have added a scenario meanwhile
            free = unique_scenario_name(self.win.project, sc.name)
            self.win.stack.push(AddScenario(free, sc.overrides, sc.description))
            self.panel.message.emit(f"alerts: scenario {free!r} added ({sc.description})")

        def failed(msg, tb=None) -> None:
            self.panel.set_recalibrating(False)
            self.win.log_failure("re-calibrate", msg, tb)

        self.job = Job(work, parent=self.panel)
        self.job.finished.connect(done)
        self.job.failed.connect(failed)
        self.panel.set_recalibrating(True)
        self.job.start()

    def live_path(self):
        s = self.win.live.session
        return None if s is None else s.recorder.path


def install_alerts(win) -> AlertsPanel:
    """Add the *Alerts* dock to the ``MainWindow`` ``win`` (after :func:`app.live_panel.
    install_live`)."""
    panel = AlertsPanel()
    win.alerts = panel
    dock = win.docks["alerts"] = win._dock("Alerts", panel, Qt.BottomDockWidgetArea)
    win.tabifyDockWidget(win.docks["charts"], dock)
    list_in_panels(win, dock)  # View > Panels shows it again once closed
    win.docks["charts"].raise_()
    win.alerts_controller = AlertsController(win, panel)
    return panel
