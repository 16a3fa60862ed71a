"""The Forecast dock: the shadow twin's fan chart of the shift (issue 16 §1).

A chart of the shift's cumulative good parts: what the recording shows so far (red), the
newest forecast's P10-P90 band and P50 (blue), and the fan of every earlier forecast of the
same shift kept, fainter the older it is, so the user sees the forecast converge. A target,
when given, is a dashed line; the line under the chart says P10/P50/P90 at shift end and the
chance of missing the target.

Where forecasts come from (:func:`install_forecast` connects both):

* **Replay**: *Forecast now* forks at the replay cursor; with *Rolling*, a forecast is made
  each time playback (or the slider) passes the next multiple of *every* of plant time.
* **Live**: with *Rolling*, while the Live dock follows a plant, a timer asks for a forecast
  at the newest multiple of *every* the growing recording holds (the job opens the recording
  beside the recorder); each is appended to ``<recording>.forecasts.jsonl``
  (``twin.shadow.forecast.ForecastLog``) so that it can be scored afterwards.

Each forecast runs as an ``app.worker.Job`` (``twin.shadow.forecast.forecast_at``); the
project is copied and its scenario applied on the GUI thread, the job only reads them. While
one runs, requests that fall due are skipped, not queued: a slow machine forecasts less
often rather than falling behind.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.menus import list_in_panels
from app.theme import chart
from app.worker import Job
from twin.errors import InputError
from twin.projectfile.reader import project_from_json, with_scenario
from twin.projectfile.writer import project_to_json
from twin.tasks import TaskState

BLUE = (31, 119, 180)
ACTUAL_PEN = "#d62728"
#: Earlier fans drawn (the oldest are dropped from the chart, not from the list).
MAX_FANS = 40
#: Milliseconds between two looks at a live recording.
LIVE_POLL_MS = 2000


def _forecast_job(snapshot, variant, path, t, reps, seed, target, assets, task,
                  replays=None, every=None, after=-math.inf):
    """Worker side: one forecast at ``t`` from the recording at ``path`` (or, ``t`` None, at
    the newest multiple of ``every`` a live recording holds, if later than ``after``). The
    job opens the file itself,
    so that Replay may close its own handle meanwhile; ``replays``: the recording as Replay
    read it (it does not grow)."""
    from twin.recording import Recording, extent, replay_recording
    from twin.shadow.forecast import ForecastLog, forecast_at, log_path, newest_step
    from twin.whatif.fork import recorded_since, station_channels

    with Recording.open(path) as rec:
        replays = replay_recording(rec) if replays is None else replays
        first, last = extent(replays)
        if t is None:  # live: the newest grid time inside what was recorded
            t = newest_step(replays, every, after)
            if t is None:  # nothing recorded yet, or forecast already
                return None
        f = forecast_at(snapshot, rec, t, replications=reps, seed=seed, target=target,
                        variant=variant, assets=assets, task=task, replays=replays)
        times = np.linspace(max(f.shift_start, first), min(f.made_at, last), 200)
        servers = station_channels(variant, rec, replays, assets)
        good, _ = recorded_since(variant, replays, servers, max(f.shift_start, first), times)
    if every is not None:  # live: kept beside the recording, to be scored afterwards
        with ForecastLog(log_path(path), {"project": snapshot.name}) as log:
            log.append(f)
    return f, f.quantiles(), times, good


class Fan:
    """One forecast's band and median on the chart."""

    def __init__(self, plot: pg.PlotWidget):
        self.lo = pg.PlotDataItem()
        self.hi = pg.PlotDataItem()
        self.band = pg.FillBetweenItem(self.lo, self.hi)
        self.median = pg.PlotDataItem()
        for item in (self.band, self.lo, self.hi, self.median):
            plot.addItem(item)
        self.plot = plot

    def show(self, x, q, alpha: float) -> None:
        self.lo.setData(x, q[0.1])
        self.hi.setData(x, q[0.9])
        self.median.setData(x, q[0.5])
        self.restyle(alpha)

    def restyle(self, alpha: float) -> None:
        edge = pg.mkPen((*BLUE, int(40 + 100 * alpha)), width=1)
        self.lo.setPen(edge)
        self.hi.setPen(edge)
        self.band.setBrush(pg.mkBrush(*BLUE, int(10 + 60 * alpha)))
        self.median.setPen(pg.mkPen((*BLUE, int(60 + 195 * alpha)), width=2 if alpha >= 1
                                    else 1))

    def remove(self) -> None:
        for item in (self.band, self.lo, self.hi, self.median):
            self.plot.removeItem(item)


class ForecastDock(QWidget):
    """Fan chart of the shift and the controls of the rolling forecast (module docstring)."""

    forecast_made = Signal(object)  # twin.shadow.forecast.Forecast
    forecast_failed = Signal(str, object)  # message, traceback (a bug) or None

    def __init__(self, parent=None):
        super().__init__(parent)
        self.project_provider = lambda: None
        self.replay = None  # app.replay_panel.ReplayPanel, when attached
        self.live = None  # app.live_panel.LivePanel, when attached
        self.job: Job | None = None
        self.task: TaskState | None = None
        self.job_for: tuple = (None, None)  # (project, replay recording path) of self.job
        self.forecasts: list = []  # of the shift shown, oldest first
        self.next_t: float | None = None
        self.shift: tuple[float, float] | None = None
        self.epoch_t0 = 0.0

        self.now_button = QPushButton("Forecast now")
        self.now_button.setToolTip("Fork the twin at the replay cursor and run the rest of "
                                   "the shift")
        self.now_button.clicked.connect(self.forecast_now)
        self.rolling = QCheckBox("Rolling, every")
        self.rolling.setToolTip("Forecast again each time this much plant time has passed "
                                "(replay playback, or a live plant)")
        self.rolling.toggled.connect(self._rolling_toggled)
        self.every = QDoubleSpinBox()
        self.every.setRange(0.1, 480.0)
        self.every.setValue(1.0)
        self.every.setSuffix(" min")
        self.replications = QSpinBox()
        self.replications.setRange(1, 10_000)
        self.replications.setValue(200)
        self.replications.setSuffix(" replications")
        self.target = QSpinBox()
        self.target.setRange(0, 10_000_000)
        self.target.setSpecialValueText("no target")
        self.target.setPrefix("target ")
        self.target.setToolTip("The shift's target of good parts (0: the project's "
                               "$.alerts.shift_target, when it gives one)")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextSelectableByMouse)

        self.plot = chart("Shift forecast: good parts since the shift began", "parts",
                          "plant time (h since the shift began)")
        self.actual = self.plot.plot([], [], pen=pg.mkPen(ACTUAL_PEN, width=2), name="actual")
        self.target_line = pg.InfiniteLine(angle=0, pen=pg.mkPen("#555555", style=Qt.DashLine))
        self.target_line.setVisible(False)
        self.plot.addItem(self.target_line)
        self.fans: list[Fan] = []
        legend = self.plot.getPlotItem().legend
        legend.addItem(pg.PlotDataItem(pen=pg.mkPen(BLUE, width=2)), "forecast P50")
        legend.addItem(pg.PlotDataItem(pen=pg.mkPen((*BLUE, 110)), fillLevel=0.0,
                                       fillBrush=pg.mkBrush(*BLUE, 70)), "P10-P90 (earlier: faint)")

        row = QHBoxLayout()
        for w in (self.now_button, self.rolling, self.every, self.replications, self.target):
            row.addWidget(w)
        row.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.status)

        self._live_timer = QTimer(self)
        self._live_timer.setInterval(LIVE_POLL_MS)
        self._live_timer.timeout.connect(self._live_tick)

    # --- sources --------------------------------------------------------------------------
    def attach_replay(self, replay) -> None:
        self.replay = replay
        replay.time_changed.connect(self._replay_moved)

    def attach_live(self, live) -> None:
        self.live = live

    def _every_s(self) -> float:
        return self.every.value() * 60.0

    def _rolling_toggled(self, on: bool) -> None:
        # the next forecast falls due one step after the last one shown
        self.next_t = self.forecasts[-1].made_at + self._every_s() if self.forecasts else None
        if on:
            self._live_timer.start()
            if self.replay is not None and self.replay.recording is not None \
                    and not self._live_on():
                self._replay_moved(self.replay.t)
        else:
            self._live_timer.stop()

    def _live_on(self) -> bool:
        return self.live is not None and getattr(self.live, "session", None) is not None

    def _replay_moved(self, t: float) -> None:
        if not self.rolling.isChecked() or self._live_on() or self.is_busy():
            return
        every = self._every_s()
        due = math.floor(t / every) * every
        if self.next_t is not None and due < self.next_t:
            return
        rec = self.replay.recording
        if rec is None or not self.replay.t0 <= due < self.replay.t1:
            return
        assets = self._mapped_assets()
        if assets is not None and self._start(rec.path, due, assets, self.replay.replays):
            self.next_t = due + every

    def _live_tick(self) -> None:
        if not self._live_on() or self.is_busy():
            return
        from twin.recording.format import parse_epoch
        from twin.shadow.forecast import new_step_recorded

        last = self.forecasts[-1].made_at if self.forecasts else -math.inf
        report = self.live.session.recorder.report
        epoch = parse_epoch(report.epoch_utc).timestamp() if report.epoch_utc else None
        if not new_step_recorded(report.last, epoch, self._every_s(), last):
            return  # no new step yet: the job would read the whole recording for nothing
        self._start(self.live.recording, None, None, every=self._every_s(), after=last)

    # --- forecasting ------------------------------------------------------------------------
    def is_busy(self) -> bool:
        return self.job is not None

    def sync_target(self) -> None:
        """The box says the target the forecast uses: with 0 the project's (the chart drew
        "P(miss target 9000)" beside a box saying "no target", newfix3 §5)."""
        from twin.shadow.forecast import project_target

        project = self.project_provider()
        own = project_target(project) if project is not None else None
        self.target.setSpecialValueText("no target" if own is None else
                                        f"project's ({own:.0f})")

    def showEvent(self, event):  # noqa: N802 - Qt override
        super().showEvent(event)
        self.sync_target()

    def forecast_now(self) -> bool:
        """Forecast at the replay cursor, or from the newest live state while following a
        live plant (Forecast now); False with the reason shown if not."""
        if self._live_on():
            return self._start(self.live.recording, None, None, every=self._every_s())
        if self.replay is None or self.replay.recording is None:
            self._fail("open a recording in Replay first (File > Open recording), or "
                       "connect to a live plant")
            return False
        assets = self._mapped_assets()
        return assets is not None and self._start(self.replay.recording.path, self.replay.t,
                                                  assets, self.replay.replays)

    def _mapped_assets(self) -> dict | None:
        """The replay's assets mapped onto stations, or None with the GUI's way to map them
        shown (the fork's message named the command line's --asset to a GUI user)."""
        project = self.project_provider()
        stations = {el.id for el in project.stations()} if project is not None else set()
        mapped = {a: el for a, el in self.replay.elements.items() if el in stations}
        if not mapped:
            self.rolling.setChecked(False)  # else it fails again at each step
            self._fail("no recorded asset is mapped onto a station of the project; choose a "
                       "station for at least one asset in the Replay dock's 'Asset mapping' "
                       "tab")
            return None
        return {a: el for a, el in self.replay.elements.items() if el}

    def _fail(self, msg: str, tb: str | None = None) -> None:
        self.status.setText(f"Forecast failed: {msg}")
        self.forecast_failed.emit(msg, tb)

    def _start(self, path, t, assets, replays=None, every=None, after=-math.inf) -> bool:
        if self.job is not None:
            return False
        project = self.project_provider()
        if project is None:
            self._fail("no project is open; open the plant's project to forecast with")
            return False
        try:  # the job gets its own copy, built here (models only on the GUI thread)
            snapshot = project_from_json(project_to_json(project))
            variant = with_scenario(snapshot, None)
        except InputError as e:
            self._fail(f"the project cannot be simulated as it is: {e}")
            return False
        self.sync_target()
        reps, seed = self.replications.value(), project.run.seed
        target = float(self.target.value()) or None
        task = TaskState()
        job = Job(lambda task: _forecast_job(snapshot, variant, path, t, reps, seed, target,
                                             assets, task, replays, every, after), task,
                  parent=self)
        job.finished.connect(lambda res, job=job: self._done(job, res))
        job.failed.connect(lambda msg, tb, job=job: self._failed(job, msg, tb))
        job.cancelled.connect(lambda job=job: self._ended(job))
        self.job, self.task = job, task
        # what the result is about: it lands only while the window still shows these (a
        # fan of the last project was drawn on the chart of the one opened meanwhile)
        self.job_for = (project, None if every is not None else str(path))
        self.now_button.setEnabled(False)
        self.status.setText(f"forecasting ({reps} replications)…")
        job.start()
        return True

    def _ended(self, job: Job) -> None:
        if job is self.job:
            self.job = self.task = None
            self.now_button.setEnabled(True)

    def _failed(self, job: Job, msg: str, tb) -> None:
        if job is not self.job:  # the last project's, dropped (forget): not this one's failure
            if tb is not None:  # a bug still reaches the log
                self.forecast_failed.emit(f"a dropped forecast of the last project: {msg}", tb)
            return
        self._ended(job)
        self.rolling.setChecked(False)  # a rolling forecast that fails would fail each minute
        self._fail(msg, tb)

    def _stale(self, job: Job) -> str | None:
        """Why the result of ``job`` is not about what the window shows now, or None."""
        project, path = self.job_for
        if job is not self.job or project is not self.project_provider():
            return "another project was opened"
        rec = self.replay.recording if self.replay is not None else None
        if path is not None and rec is not None and str(rec.path) != path:
            return "another recording was opened in Replay"
        return None

    def forget(self) -> None:
        """Another project is shown: its fans go, and a forecast still running for the last
        one is stopped; whatever it returns is dropped (``_stale``)."""
        self.clear()
        if self.job is not None:
            self.task.request_interruption()
            self._ended(self.job)
            self.status.setText("the forecast running for the last project was stopped; "
                                "its result is not shown")

    def _done(self, job: Job, result) -> None:
        stale = self._stale(job)
        self._ended(job)
        if stale is not None:
            if result is not None:
                self.status.setText(f"a forecast was dropped: {stale} while it ran; "
                                    "press Forecast now for one of what is open now")
        elif result is not None:
            f, q, times, good = result
            self.show_forecast(f, times, good, q)
            self.forecast_made.emit(f)
        elif self.status.text().startswith("forecasting"):  # live: no step recorded yet
            self.status.setText("no plant time recorded yet to forecast from; try again in "
                                "a moment, or tick Rolling")
        if self.replay is not None and self.replay.recording is not None:
            self._replay_moved(self.replay.t)  # one fell due while this one ran

    def show_forecast(self, f, actual_t=None, actual_good=None, q=None) -> None:
        """Draw forecast ``f`` over the earlier ones of its shift, beside the actual curve
        (``q``: its quantiles, when computed already)."""
        shift = (f.shift_start, f.shift_end)
        if shift != self.shift or (self.forecasts and f.made_at < self.forecasts[-1].made_at):
            self.clear()  # another shift, or the user went back in time
            self.shift = shift
        self.forecasts.append(f)
        if len(self.fans) >= MAX_FANS:
            self.fans.pop(0).remove()
        fan = Fan(self.plot)
        fan.show((np.asarray(f.times) - f.shift_start) / 3600.0,
                 q if q is not None else f.quantiles(), 1.0)
        self.fans.append(fan)
        for k, old in enumerate(self.fans[:-1]):
            old.restyle(0.3 * (k + 1) / len(self.fans))
        if actual_t is not None:
            self.actual.setData((np.asarray(actual_t) - f.shift_start) / 3600.0,
                                np.asarray(actual_good, float), connect="finite")
        self.target_line.setVisible(f.target is not None)
        if f.target is not None:
            self.target_line.setValue(f.target)
        self.status.setText(self.describe(f, q))

    @staticmethod
    def describe(f, q=None) -> str:
        q = {p: float(v[-1]) for p, v in (q if q is not None else f.quantiles()).items()}
        made = (f.made_at - f.shift_start) / 3600.0
        text = (f"made {made:.2f} h into the shift ({(f.shift_end - f.shift_start) / 3600:g} h, "
                f"{f.replications} replications): good parts at shift end P10 {q[0.1]:.0f} · "
                f"P50 {q[0.5]:.0f} · P90 {q[0.9]:.0f}")
        if math.isfinite(f.good_so_far):
            text += f"; {f.good_so_far:.0f} so far"
        if f.target is not None:
            text += f"; P(miss target {f.target:.0f}) {100 * f.p_below(f.target):.0f}%"
        if f.notes:
            text += "\nnote: " + "; ".join(f.notes)
        return text

    def clear(self) -> None:
        for fan in self.fans:
            fan.remove()
        self.fans = []
        self.forecasts = []
        self.shift = None
        self.actual.setData([], [])

    def stop(self) -> None:
        """Stop the timer and ask a running forecast to stop (the window closes)."""
        self._live_timer.stop()
        if self.task is not None:
            self.task.request_interruption()
            self.job.wait(10_000)  # it stops within a chunk of one replication


def install_forecast(win) -> ForecastDock:
    """Add the Forecast dock to the ``MainWindow`` ``win``, fed by its Replay and Live docks."""
    dock = ForecastDock()
    win.forecast = dock
    dock.project_provider = lambda: win.project
    dock.attach_replay(win.replay)
    if getattr(win, "live", None) is not None:
        dock.attach_live(win.live)
    dock.forecast_failed.connect(lambda msg, tb=None: win.log_failure("forecast", msg, tb))
    if getattr(win, "alerts_controller", None) is not None:  # the alert rules judge forecasts
        dock.forecast_made.connect(win.alerts_controller.forecast)
    d = win.docks["forecast"] = win._dock("Forecast", dock, Qt.BottomDockWidgetArea)
    win.tabifyDockWidget(win.docks["charts"], d)
    list_in_panels(win, d)  # View > Panels shows it again once closed
    win.docks["charts"].raise_()
    return dock
