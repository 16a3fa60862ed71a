"""Replay a recording: a time slider, a Gantt chart of states, output and energy, KPIs.

Everything drawn comes from ``twin.recording`` (``replay_recording``, ``state_at``,
``parts_at``, ``energy_kwh_at``, ``kpis_for_bins``). Scrubbing only moves cursors and asks
each asset for its state at one time (a ``searchsorted``); the Gantt chart is an image of
``state_at`` over a fixed number of columns of the visible range, recomputed (vectorised)
when the range changes, so a week of one-minute events costs the same as an hour.

"Fork from here" runs ``twin.whatif.fork.fork_from_recording`` at the cursor on a worker thread
(``app.worker.Job``) with a snapshot of the project; the GUI thread only draws the
fan chart (``app.fork_view.ForkView``). As for runs, the worker reports into a
``twin.tasks.TaskState`` that a 30 Hz timer reads for the progress bar; Cancel asks it to
stop, which the fork does within one chunk of one replication. Where the work in process at
the fork time was unknown (no recorded level), a warning under the buttons says so.
"""

from __future__ import annotations

import os

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.fork_view import ForkView
from app.theme import NO_DATA_RGB, STATE_COLORS, chart, plain_numbers
from app.worker import Job
from kernels.types import STATE_NAMES
from twin.errors import InputError
from twin.model import elements as m
from twin.oee import FIGURE_HELP
from twin.projectfile.reader import copy_project, with_scenario
from twin.recording import Recording, kpis_for_bins, replay_recording
from twin.recording.kpi import bottleneck, top_losses
from twin.recording.replay import extent, merged_gaps
from twin.tasks import TaskState

CHART_MIN_HEIGHT = 130  # px: a title, an axis and a plot one can read
GANTT_ROW_HEIGHT = 22  # px per asset in the machine-state chart
SLIDER_STEPS = 10_000
GANTT_COLUMNS = 1500  # image columns of the visible range (about one per screen pixel)
CURVE_POINTS = 1500
SPEEDS = (("1×", 1.0), ("60× (1 min/s)", 60.0), ("600×", 600.0), ("1 h/s", 3600.0),
          ("1 d/s", 86400.0))
NO_STATE_RGB = NO_DATA_RGB  # no data / unknown: not near-white, which read as "idle"
KPI_COLUMNS = (("OEE", "oee", "%"), ("availability", "availability", "%"),
               ("performance", "performance", "%"), ("quality", "quality", "%"),
               ("MTBF (h)", "mtbf_s", "h"), ("MTTR (min)", "mttr_s", "min"),
               ("kWh / part", "energy_per_part_kwh", ""), ("largest losses (h)", "losses", ""))
#: The KPI table's window: the visible range of the charts, or the recording's start to the
#: cursor (what the plant had lost, and where its bottleneck was, up to that moment).
KPI_SPANS = (("visible range", "visible"), ("start → cursor", "cursor"))
FORK_SPAN = 8 * 3600.0  # default fork horizon after the cursor (s)


def _fork_job(project: m.Project, recording: Recording, t: float, end: float, reps: int,
              seed: int, scenario: str | None, variant: m.Project, assets: dict[str, str],
              task: TaskState):
    """Worker side of a fork (``app.worker.Job`` reports whatever it raises). ``variant``:
    the scenario applied, on the GUI thread (``twin.projectfile.reader.scenario_variants``)."""
    from twin.whatif.fork import fork_from_recording  # scipy and numba: not at start-up

    # leave one core to the GUI thread, as runs do
    workers = max(1, (os.cpu_count() or 1) - 1)
    return fork_from_recording(project, recording, t, end, reps, seed, scenario,
                               assets=assets, task=task, workers=workers, variant=variant)


#: The Gantt's code of a level-only asset (a conveyor, a buffer) where its level is known:
#: drawn clear (it has data, no state), not as "no data".
LEVEL_ONLY = len(STATE_NAMES)


def state_lut() -> np.ndarray:
    """RGBA uint8 per state code + 2 (``UNKNOWN`` = -2 and ``NO_DATA`` = -1 come first,
    :data:`LEVEL_ONLY` last, transparent)."""
    rgb = [NO_STATE_RGB, NO_STATE_RGB] + [STATE_COLORS[s] for s in STATE_NAMES]
    lut = np.full((len(rgb) + 1, 4), 255, np.uint8)
    lut[:-1, :3] = np.round(np.array(rgb) * 255).astype(np.uint8)
    lut[-1] = 0
    return lut


def state_rgb(code: int) -> tuple[float, float, float] | None:
    """The colour of state ``code``; a gap (no data, unknown) has its own, as in the Gantt
    chart, so a mapped asset without data is not shown as if it were the element's own."""
    if 0 <= code < len(STATE_NAMES):
        return STATE_COLORS[STATE_NAMES[code]]
    return NO_STATE_RGB if code in (-1, -2) else None


def _fmt(value, unit: str) -> str:
    if value is None or value != value:
        return "-"
    if unit == "%":
        return f"{100 * value:.1f} %"
    if unit == "h":
        return f"{value / 3600:.2f}"
    if unit == "min":
        return f"{value / 60:.1f}"
    return f"{value:.3g}"


def _losses_text(k) -> str:
    """The largest losses of one asset's KPIs, in hours ("starved 1.20 · down 0.40")."""
    return " · ".join(f"{name.replace('_', ' ')} {sec / 3600:.2f}"
                      for name, sec in top_losses(k)) or "-"


def _side_by_side(*widgets: QWidget, packed: bool = False) -> QWidget:
    """``widgets`` in a row; ``packed``: at their own widths, from the left."""
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    for w in widgets:
        row.addWidget(w)
    if packed:
        row.addStretch(1)
    return box


def _scrolling_page(items) -> QScrollArea:
    """A tab of the dock: ``items`` (widgets, layouts, or ``(widget, stretch)``) one under
    the other, scrolling when the dock is lower than their readable heights."""
    inner = QWidget()
    col = QVBoxLayout(inner)
    col.setContentsMargins(4, 4, 4, 4)
    for item in items:
        w, stretch = item if isinstance(item, tuple) else (item, 0)
        if isinstance(w, QWidget):
            col.addWidget(w, stretch)
        else:
            col.addLayout(w, stretch)
    page = QScrollArea()
    page.setWidgetResizable(True)
    page.setFrameShape(QScrollArea.Shape.NoFrame)
    page.setWidget(inner)
    return page


class ReplayPanel(QWidget):
    """Replays one recording; ``states_changed({element id: rgb})`` colours the 3D view."""

    states_changed = Signal(dict)
    asset_mapped = Signal(str, str)  # the user chose an element for an asset ("": none)
    time_changed = Signal(float)
    fork_started = Signal()
    fork_finished = Signal(object)  # twin.whatif.fork.ForkResult
    fork_failed = Signal(str, object)  # message, traceback (a bug) or None

    def __init__(self, parent=None):
        super().__init__(parent)
        self.recording: Recording | None = None
        self.replays: dict = {}
        self._gaps = (np.empty(0), np.empty(0))  # the recording's link gaps, merged
        self.asset_ids: list[str] = []
        self.elements: dict[str, str] = {}  # asset id -> element id ("" unmapped)
        self.t0 = self.t1 = 0.0
        self.t = 0.0
        self._lut = state_lut()
        # the window that docks this panel owns the project; tests may set another provider
        # the window owning this dock says which project forks run on (main_window sets it)
        self.project_provider = lambda: None
        self.fork_job: Job | None = None
        self.fork_task: TaskState | None = None
        # running threads, cancelled ones included, with the TaskState each reports into
        self._jobs: dict[Job, TaskState] = {}
        self._end_edited = False
        # --- controls
        self.play_button = QPushButton("Play")
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("Play the recording at the chosen speed")
        self.speed = QComboBox()
        for label, _ in SPEEDS:
            self.speed.addItem(label)
        self.speed.setCurrentIndex(3)
        self.speed.setToolTip("Recorded time per second of replay")
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        # a click on the groove (and Page Up/Down) moves a fiftieth of the recording: Qt's
        # default 10 steps was 3 s of an hour
        self.slider.setPageStep(SLIDER_STEPS // 50)
        self.slider.setToolTip("Scrub through the recording")
        self.time_label = QLabel("-")
        # the window connects it to File > Calibrate from the recording (app.calibrate_dialog)
        self.calibrate_button = QPushButton("Calibrate…")
        self.calibrate_button.setToolTip("Fit the mapped stations' process times, failures "
                                         "and power to this recording")
        self.time_label.setMinimumWidth(170)
        top = QHBoxLayout()
        top.addWidget(self.play_button)
        top.addWidget(self.speed)
        top.addWidget(self.slider, 1)
        top.addWidget(self.time_label)
        # --- charts
        self.gantt = pg.PlotWidget()  # its tab says what it is: the rows get the height
        self.gantt.setMouseEnabled(x=True, y=False)
        self.gantt.setLabel("bottom", "time (h)")
        self.gantt_image = pg.ImageItem(axisOrder="col-major")
        self.gantt.addItem(self.gantt_image)
        plain_numbers(self.gantt)
        self.output = chart("Cumulative good parts")
        self.energy = chart("Cumulative energy (kWh)")
        # the same hours on all three, by value: pyqtgraph's setXLink lines linked views up
        # on screen, and the two charts side by side under the full-width Gantt showed its
        # left and right halves (parts to ~270 h, energy to ~500 h of one recording)
        self._linking = False
        for w in (self.gantt, self.output, self.energy):
            w.sigXRangeChanged.connect(self._same_hours)
        self.cursors = [pg.InfiniteLine(angle=90, pen=pg.mkPen("#d62728", width=2))
                        for _ in range(3)]
        for w, c in zip((self.gantt, self.output, self.energy), self.cursors, strict=True):
            w.addItem(c, ignoreBounds=True)
        self.legend = QLabel("  ".join(
            f'<span style="color:rgb{tuple(int(255 * v) for v in rgb)}">■</span> {s}'
            for s, rgb in [*((s, STATE_COLORS[s]) for s in STATE_NAMES),
                           ("no data", NO_STATE_RGB)]))
        self.legend.setWordWrap(True)  # twelve states (issue 19) wrap in a narrow dock
        # --- tables
        self.mapping_table = QTableWidget(0, 2)
        self.mapping_table.setHorizontalHeaderLabels(["asset", "3D element"])
        self.mapping_table.horizontalHeader().setStretchLastSection(True)
        self.mapping_table.setToolTip("Which layout element shows each recorded asset")
        self.kpi_table = QTableWidget(0, len(KPI_COLUMNS))
        self.kpi_table.setHorizontalHeaderLabels([c[0] for c in KPI_COLUMNS])
        for j, (_, key, _) in enumerate(KPI_COLUMNS):  # what each figure counts (twin.oee)
            if key in FIGURE_HELP:
                self.kpi_table.horizontalHeaderItem(j).setToolTip(FIGURE_HELP[key])
        self.kpi_title = QLabel("KPIs of the visible window")
        self.kpi_title.setWordWrap(True)
        self.kpi_span = QComboBox()
        for text, key in KPI_SPANS:
            self.kpi_span.addItem(text, key)
        self.kpi_span.setToolTip("The time the KPIs cover: the range the charts show, or from "
                                 "the recording's start to the cursor (follows scrubbing and "
                                 "playback)")
        # --- fork from here
        self.fork_scenario = QComboBox()
        self.fork_scenario.setToolTip("Scenario to run from the recorded state at the cursor")
        self.fork_replications = QSpinBox()
        self.fork_replications.setRange(1, 1000)
        self.fork_replications.setValue(20)
        self.fork_replications.setToolTip("Replications of the fork")
        self.fork_end = QDoubleSpinBox()
        self.fork_end.setDecimals(3)
        self.fork_end.setSuffix(" h")
        self.fork_end.setToolTip("End of the fork, hours since the start of the recording")
        self.fork_button = QPushButton("Fork from here")
        self.fork_button.setToolTip("Run the twin from the recorded state at the cursor")
        self.fork_cancel = QPushButton("Cancel")
        self.fork_cancel.setEnabled(False)
        self.fork_busy = QProgressBar()
        self.fork_busy.setRange(0, 1000)
        self.fork_busy.setValue(0)
        self.fork_busy.setMaximumWidth(120)
        self.fork_status = QLabel("")
        self.fork_status.setWordWrap(True)
        self.fork_warning = QLabel("")
        self.fork_warning.setWordWrap(True)
        self.fork_warning.setStyleSheet("color: #b35900;")
        self.fork_warning.setVisible(False)
        self.fork_view = ForkView()
        self.fork_busy.setTextVisible(False)
        # --- the dock: the time controls above, one tab per question below (it was charts,
        # a row of ten fork controls and two tables side by side in about 250 px: every
        # table showed one row, labels were cut and the fork controls ran off the dock)
        fork_controls = QGridLayout()
        fork_controls.addWidget(self.fork_button, 0, 0)
        fork_controls.addWidget(self.fork_cancel, 0, 1)
        fork_controls.addWidget(self.fork_busy, 0, 2)
        fork_controls.addWidget(self.fork_status, 0, 3, 1, 4)
        for col, (text, w) in enumerate((("Scenario", self.fork_scenario),
                                         ("Replications", self.fork_replications),
                                         ("Until", self.fork_end))):
            fork_controls.addWidget(QLabel(text), 1, 2 * col)
            fork_controls.addWidget(w, 1, 2 * col + 1)
        fork_controls.setColumnStretch(6, 1)
        calibrate_row = QHBoxLayout()
        calibrate_row.addWidget(self.calibrate_button)
        calibrate_row.addWidget(QLabel("fits the mapped stations to this recording"), 1)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tab_pages: dict[str, QWidget] = {}
        for key, title, items in (
                ("states", "Machine states", [(self.gantt, 1), self.legend]),
                ("output", "Output && energy", [(_side_by_side(self.output, self.energy), 1)]),
                ("kpis", "KPIs", [_side_by_side(QLabel("KPIs over"), self.kpi_span,
                                                packed=True),
                                  self.kpi_title, (self.kpi_table, 1)]),
                ("fork", "Fork from here", [fork_controls, self.fork_warning,
                                             (self.fork_view, 1)]),
                ("mapping", "Asset mapping", [QLabel("Which 3D element shows each recorded "
                                                     "asset"), (self.mapping_table, 1),
                                              calibrate_row])):
            self.tab_pages[key] = page = _scrolling_page(items)
            self.tabs.addTab(page, title)
        # every chart keeps a readable height; in a low dock its tab scrolls instead
        for w in (self.gantt, self.output, self.energy, self.fork_view):
            w.setMinimumHeight(CHART_MIN_HEIGHT)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.tabs, 1)
        # --- behaviour
        self.slider.valueChanged.connect(lambda v: self.seek(self.t0 + (self.t1 - self.t0)
                                                             * v / SLIDER_STEPS))
        self._play = QTimer(self)
        self._play.setInterval(33)
        self._play.timeout.connect(self._advance)
        self.play_button.toggled.connect(self._toggle_play)
        # the Gantt image and the KPI table follow the visible range, at most 10 times a second
        self._range_timer = QTimer(self)
        self._range_timer.setSingleShot(True)
        self._range_timer.setInterval(100)
        self._range_timer.timeout.connect(self._range_changed)
        self.gantt.sigXRangeChanged.connect(lambda *_: self._range_timer.start())
        self._image_window = (0.0, 1.0)
        # start → cursor: the table follows the cursor, at most 10 times a second too
        self._kpi_timer = QTimer(self)
        self._kpi_timer.setSingleShot(True)
        self._kpi_timer.setInterval(100)
        self._kpi_timer.timeout.connect(self.refresh_kpis)
        self.kpi_span.currentIndexChanged.connect(lambda _i: self.refresh_kpis())
        self.fork_button.clicked.connect(self.start_fork)
        self.fork_cancel.clicked.connect(self.cancel_fork)
        self.fork_end.valueChanged.connect(self._end_typed)
        self._fork_poll = QTimer(self)
        self._fork_poll.setInterval(33)
        self._fork_poll.timeout.connect(self._show_fork_progress)

    def show_tab(self, key: str) -> None:
        """Bring a tab of the dock forward: ``states``, ``output``, ``kpis``, ``fork`` or
        ``mapping``."""
        self.tabs.setCurrentWidget(self.tab_pages[key])

    # --- loading ------------------------------------------------------------------------
    def set_recording(self, recording: Recording, element_ids: list[str]) -> None:
        """Replay ``recording``; ``element_ids`` are the project's elements to map onto."""
        self.stop()
        self.recording = recording
        self.replays = replay_recording(recording)
        self._gaps = merged_gaps(recording.gaps)
        self.asset_ids = list(self.replays)
        self.t0, self.t1 = extent(self.replays)
        known = set(element_ids)
        self.elements = {a: (r.element if r.element in known else "")
                         for a, r in self.replays.items()}
        self._fill_mapping(element_ids)
        n = len(self.asset_ids)
        names = [self.replays[a].name or a for a in self.asset_ids]
        self.gantt.getAxis("left").setTicks([list(enumerate(names))])
        self.gantt.setYRange(-0.5, n - 0.5, padding=0.02)
        # a row per asset, tall enough for its name on the axis
        self.gantt.setMinimumHeight(max(CHART_MIN_HEIGHT, 70 + GANTT_ROW_HEIGHT * n))
        self._draw_curves()
        self.gantt.setXRange(0.0, (self.t1 - self.t0) / 3600.0, padding=0)
        self._range_changed()
        self.fork_view.clear()
        self.fork_status.setText("")
        self._set_fork_warning("")
        self._end_edited = False
        self.fork_end.blockSignals(True)
        self.fork_end.setRange(0.0, 10 * max(self.t1 - self.t0, FORK_SPAN) / 3600.0)
        self.fork_end.blockSignals(False)
        self._fill_scenarios()
        self.slider.setValue(0)
        self.seek(self.t0)

    def _fill_mapping(self, element_ids: list[str]) -> None:
        t = self.mapping_table
        t.setRowCount(len(self.asset_ids))
        for i, a in enumerate(self.asset_ids):
            r = self.replays[a]
            t.setItem(i, 0, QTableWidgetItem(f"{r.name or a} ({a})"))
            box = QComboBox()
            box.addItem("(not shown)", "")
            for eid in self._targets(r, element_ids):
                box.addItem(eid, eid)
            box.setToolTip("A station" + (", a buffer or a conveyor (the asset records a level)"
                                          if r.has_level else " (a machine asset: it records "
                                          "states, no level)"))
            box.setCurrentIndex(max(box.findData(self.elements[a]), 0))
            box.currentIndexChanged.connect(
                lambda _i, a=a, box=box: self._user_mapped(a, box.currentData()))
            t.setCellWidget(i, 1, box)
        t.resizeColumnToContents(0)

    def _targets(self, replay, element_ids: list[str]) -> list[str]:
        """The elements ``replay``'s asset may map to: a machine asset only to stations (a
        buffer or sink was offered, and refused only at Fork from here, gui17 §5); the
        asset's present mapping stays listed, so that the table shows what it is."""
        from twin.whatif.fork import can_map_asset

        project = self.project_provider()
        if project is None:
            return list(element_ids)
        now = self.elements.get(replay.asset_id)
        return [eid for eid in element_ids if eid == now or (
            eid in project and can_map_asset(project.element(eid), replay.has_level))]

    def _user_mapped(self, asset_id: str, element_id: str) -> None:
        self.map_asset(asset_id, element_id)
        self.asset_mapped.emit(asset_id, element_id or "")  # the window keeps it (issue 14)

    def map_asset(self, asset_id: str, element_id: str) -> None:
        """Show ``asset_id`` on ``element_id`` ("" shows it nowhere)."""
        self.elements[asset_id] = element_id or ""
        self.seek(self.t)

    def _same_hours(self, source, x_range) -> None:
        """Give the other time charts the x range (hours) ``source`` now shows."""
        if self._linking:
            return
        self._linking = True
        try:
            for w in (self.gantt, self.output, self.energy):
                if w.getPlotItem().getViewBox() is not source:
                    w.setXRange(*x_range, padding=0)
        finally:
            self._linking = False

    def _draw_curves(self) -> None:
        for w in (self.output, self.energy):
            w.clear()
            w.addItem(self.cursors[1 if w is self.output else 2], ignoreBounds=True)
        grid = np.linspace(self.t0, self.t1, CURVE_POINTS)
        x = (grid - self.t0) / 3600.0
        colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#17becf"]
        for i, a in enumerate(self.asset_ids):
            r = self.replays[a]
            pen = pg.mkPen(colors[i % len(colors)], width=2)
            name = r.name or a
            if r.has_parts:
                self.output.plot(x, r.parts_at(grid), pen=pen, name=name)
            if r.has_power:
                self.energy.plot(x, r.energy_kwh_at(grid), pen=pen, name=name)

    # --- time -----------------------------------------------------------------------------
    def states_at(self, t: float) -> dict[str, int]:
        """State code of every asset at ``t`` (s since the recording epoch)."""
        return {a: int(r.state_at(t)) for a, r in self.replays.items()}

    def level_known(self, asset: str, t):
        """Whether ``asset`` records a level and no state (a conveyor, a buffer), and its
        level is known at ``t`` (a time or an array of them): it has data then, though no
        state to colour it by (it showed as "no data" with 119,455 level readings
        recorded)."""
        r = self.replays[asset]
        tt = np.asarray(t, float)
        if not r.has_level or len(r.timeline.start):
            return np.zeros(tt.shape, bool) if tt.ndim else False
        gs, ge = self._gaps
        gap = ((gs[:, None] <= tt.ravel()) & (tt.ravel() < ge[:, None])).any(axis=0)
        known = ~gap.reshape(tt.shape) & np.isfinite(r.level_at(tt))
        return known if tt.ndim else bool(known)

    def seek(self, t: float) -> None:
        """Show time ``t``: cursors, label, 3D colours."""
        if self.recording is None:
            return
        self.t = min(max(float(t), self.t0), self.t1)
        x = (self.t - self.t0) / 3600.0
        for c in self.cursors:
            c.setValue(x)
        when = self.recording.datetime_of(self.t)
        self.time_label.setText(when.strftime("%a %Y-%m-%d %H:%M:%S"))
        colors = {}
        for a, code in self.states_at(self.t).items():
            eid = self.elements.get(a)
            if code == -1 and self.level_known(a, self.t):
                continue  # its own colour: a conveyor has a level, not a state
            rgb = state_rgb(code)
            if eid and rgb is not None:
                colors[eid] = rgb
        self.states_changed.emit(colors)
        self.time_changed.emit(self.t)
        if self.kpi_span.currentData() == "cursor":
            self._kpi_timer.start()
        if not self._end_edited:
            self.fork_end.blockSignals(True)
            self.fork_end.setValue((self.default_fork_end() - self.t0) / 3600.0)
            self.fork_end.blockSignals(False)

    def _toggle_play(self, on: bool) -> None:
        self.play_button.setText("Pause" if on else "Play")
        if on:
            self._play.start()
        else:
            self._play.stop()

    def _advance(self) -> None:
        step = SPEEDS[self.speed.currentIndex()][1] * self._play.interval() / 1000.0
        t = self.t + step
        if t >= self.t1:
            t = self.t1
            self.play_button.setChecked(False)
        self.slider.blockSignals(True)
        span = self.t1 - self.t0
        self.slider.setValue(round((t - self.t0) / span * SLIDER_STEPS) if span > 0 else 0)
        self.slider.blockSignals(False)
        self.seek(t)

    def stop(self) -> None:
        self.play_button.setChecked(False)
        self._play.stop()
        self._range_timer.stop()

    # --- the visible window ---------------------------------------------------------------
    def visible_window(self) -> tuple[float, float]:
        x0, x1 = self.gantt.getViewBox().viewRange()[0]
        lo = min(max(self.t0 + x0 * 3600.0, self.t0), self.t1)
        hi = min(max(self.t0 + x1 * 3600.0, self.t0), self.t1)
        return (lo, hi) if hi > lo else (self.t0, self.t1)

    def _range_changed(self) -> None:
        if self.recording is None:
            return
        lo, hi = self.visible_window()
        # one column per sample at its centre, every asset in one vectorised look-up
        edges = np.linspace(lo, hi, GANTT_COLUMNS + 1)
        mid = (edges[:-1] + edges[1:]) / 2
        codes = np.stack([np.where(self.level_known(a, mid), LEVEL_ONLY,
                                   self.replays[a].state_at(mid)) for a in self.asset_ids],
                         axis=1)
        self.gantt_image.setImage(self._lut[codes.astype(np.int64) + 2], autoLevels=False)
        self._image_window = (lo, hi)
        self.gantt_image.setRect(QRectF((lo - self.t0) / 3600.0, -0.5, (hi - lo) / 3600.0,
                                        len(self.asset_ids)))
        if self.kpi_span.currentData() == "visible":
            self._fill_kpis(lo, hi)

    def refresh_kpis(self) -> None:
        """Fill the KPI table over the span chosen (``kpi_span``)."""
        if self.recording is None:
            return
        if self.kpi_span.currentData() == "cursor":
            self._fill_kpis(self.t0, self.t)
        else:
            self._fill_kpis(*self.visible_window())

    def _fill_kpis(self, lo: float, hi: float) -> None:
        t = self.kpi_table
        t.setRowCount(len(self.asset_ids))
        edges = np.array([lo, hi])
        names, kpis = [], []
        for i, a in enumerate(self.asset_ids):
            r = self.replays[a]
            k = kpis_for_bins(r, edges, inclusive_end=hi >= self.t1)[0]
            names.append(r.name or a)
            kpis.append(k)
            for j, (_, key, unit) in enumerate(KPI_COLUMNS):
                text = _losses_text(k) if key == "losses" else _fmt(getattr(k, key), unit)
                t.setItem(i, j, QTableWidgetItem(text))
        t.setVerticalHeaderLabels(names)
        t.resizeColumnsToContents()
        d0, d1 = (self.recording.datetime_of(v) for v in (lo, hi))
        neck = bottleneck(kpis) if hi > lo else None
        self.kpi_title.setText(
            f"KPIs {d0:%Y-%m-%d %H:%M} – {d1:%Y-%m-%d %H:%M}; bottleneck: "
            + ("none (no machine active)" if neck is None else
               f"{neck[0].name or neck[0].asset_id} (busy, setup or down "
               f"{100 * neck[1]:.0f} % of its observed time)"))

    def kpi_text(self, asset_id: str, column: str) -> str:
        i = self.asset_ids.index(asset_id)
        j = [c[0] for c in KPI_COLUMNS].index(column)
        return self.kpi_table.item(i, j).text()

    def gantt_color_at(self, asset_id: str, t: float) -> tuple[int, int, int]:
        """The Gantt image's colour for ``asset_id`` at ``t`` (tests)."""
        img = self.gantt_image.image
        lo, hi = self._image_window
        col = int(np.clip((t - lo) / (hi - lo) * img.shape[0], 0, img.shape[0] - 1))
        return tuple(int(v) for v in img[col, self.asset_ids.index(asset_id), :3])

    # --- fork from here ---------------------------------------------------------------------
    def _fill_scenarios(self) -> None:
        project = self.project_provider()
        current = self.fork_scenario.currentData()
        self.fork_scenario.clear()
        self.fork_scenario.addItem("base", None)
        for sc in (project.scenarios if project is not None else ()):
            self.fork_scenario.addItem(sc.name, sc.name)
        self.fork_scenario.setCurrentIndex(max(self.fork_scenario.findData(current), 0))

    def _end_typed(self, _value: float) -> None:
        self._end_edited = True

    def default_fork_end(self) -> float:
        """End of the recording or cursor + 8 h, whichever is earlier (s)."""
        return min(self.t1, self.t + FORK_SPAN)

    def fork_end_time(self) -> float:
        """The chosen fork end, s since the recording epoch."""
        return self.t0 + self.fork_end.value() * 3600.0

    def is_forking(self) -> bool:
        return self.fork_job is not None

    def _fork_error(self, msg: str, tb: str | None = None) -> None:
        self.fork_status.setText(f"Fork failed: {msg}")
        self.fork_failed.emit(msg, tb)

    def start_fork(self) -> bool:
        """Fork at the cursor on a worker thread; False (with the reason shown) if it cannot."""
        if self.recording is None or self.fork_job is not None:
            return False
        self.show_tab("fork")  # its progress, reasons and fan chart are there
        project = self.project_provider()
        if project is None:
            self._fork_error("no project is open; open the plant project to fork into")
            return False
        # the list may be stale if scenarios were edited since the recording was opened
        chosen = self.fork_scenario.currentData()
        self._fill_scenarios()
        if chosen is not None and self.fork_scenario.findData(chosen) < 0:
            self._fork_error(f"scenario {chosen!r} no longer exists; choose another one")
            return False
        assets = {a: el for a, el in self.elements.items() if el}
        if not assets:
            self._fork_error("no recorded asset is mapped onto a station; choose a station "
                             "for at least one asset in the Replay dock's 'Asset mapping' tab")
            return False
        try:  # the fork gets its own copy: editing goes on meanwhile
            snapshot = copy_project(project)
            variant = with_scenario(snapshot, chosen)  # built here: a worker only reads it
        except InputError as e:  # a layout being edited: an element without successor, ...
            self._fork_error(f"the project cannot be simulated as it is: {e}")
            return False
        from twin.whatif.fork import ForkError  # scipy and numba: loaded at the first fork

        rec, t, end = self.recording, self.t, self.fork_end_time()
        reps, seed = self.fork_replications.value(), project.run.seed
        task = TaskState()
        # twin.whatif.fork.ForkError is the user's to fix, but no InputError (yet)
        job = Job(lambda task: _fork_job(snapshot, rec, t, end, reps, seed, chosen, variant,
                                         assets, task), task, user_errors=(ForkError,),
                  parent=self)
        job.finished.connect(lambda res, job=job: self._fork_done(job, res))
        job.failed.connect(lambda msg, tb, job=job: self._fork_failed(job, msg, tb))
        job.cancelled.connect(lambda job=job: self._fork_cancelled(job))
        self.fork_job, self.fork_task = job, task
        self._jobs[job] = task
        self.fork_button.setEnabled(False)
        self.fork_cancel.setEnabled(True)
        self.fork_busy.setValue(0)
        self._set_fork_warning("")
        self._fork_poll.start()
        when = self.recording.datetime_of(t)
        self.fork_status.setText(f"forking at {when:%Y-%m-%d %H:%M} ({reps} replications)…")
        job.start()
        self.fork_started.emit()
        return True

    def cancel_fork(self) -> None:
        """Stop the running fork: it ends within one chunk and its result is dropped."""
        if self.fork_job is None:
            return
        self.fork_task.request_interruption()
        self.fork_job = self.fork_task = None
        self._fork_idle()
        self.fork_busy.setValue(0)
        self.fork_status.setText("fork cancelled")

    def _show_fork_progress(self) -> None:
        if self.fork_task is not None:
            self.fork_busy.setValue(int(self.fork_task.progress * 10))

    def _set_fork_warning(self, text: str) -> None:
        self.fork_warning.setText(f"⚠ {text}" if text else "")
        self.fork_warning.setVisible(bool(text))

    def _fork_idle(self) -> None:
        self._fork_poll.stop()
        self.fork_button.setEnabled(True)
        self.fork_cancel.setEnabled(False)

    def _fork_done(self, job: Job, result) -> None:
        self._jobs.pop(job, None)
        job.deleteLater()
        if job is not self.fork_job or self.recording is None:
            return  # cancelled, or the recording was closed meanwhile
        self.fork_job = self.fork_task = None
        self._fork_idle()
        self.fork_busy.setValue(1000)
        self.fork_view.show_result(result, self.t0, self.recording.datetime_of)
        self.show_tab("fork")  # the answer, in view
        self.tab_pages["fork"].ensureWidgetVisible(self.fork_view, 0, 0)
        text = f"fork of {result.scenario!r}: {len(result.outputs)} replications"
        if result.wip:
            text += "; work in process at t: " + ", ".join(
                f"{el} {n}" for el, n in result.wip.items())
        if result.notes:
            text += "; " + "; ".join(result.notes)
        self.fork_status.setText(text)
        self._set_fork_warning(result.wip_warning)
        self.fork_finished.emit(result)

    def _fork_failed(self, job: Job, msg: str, tb: str | None) -> None:
        self._jobs.pop(job, None)
        job.deleteLater()
        if job is not self.fork_job:
            return  # cancelled before it failed: the cancel was shown already
        self.fork_job = self.fork_task = None
        self._fork_idle()
        self.fork_busy.setValue(0)
        self._fork_error(msg, tb)

    def _fork_cancelled(self, job: Job) -> None:
        self._jobs.pop(job, None)
        job.deleteLater()
        if job is self.fork_job:  # cancel_fork has reset the panel already otherwise
            self.fork_job = self.fork_task = None
            self._fork_idle()
            self.fork_busy.setValue(0)
            self.fork_status.setText("fork cancelled")

    def close_recording(self) -> None:
        self.stop()
        # a fork reads the recording on its thread: stop it and let it end before the file
        # closes
        self.fork_job = self.fork_task = None
        for job, task in list(self._jobs.items()):
            task.request_interruption()
            job.wait()
        self._jobs.clear()
        self._fork_idle()
        if self.recording is not None:
            self.recording.close()
            self.recording = None
