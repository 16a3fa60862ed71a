"""Dashboards of a run: time series with 95% bands, station states, energy, wear, comparison.

Everything drawn comes from the run result and ``twin.sim.summary``/``twin.sim.stats``; the
charts only arrange it. ``prepare_charts`` turns a run into ready-to-plot arrays and table
text on the worker thread (Qt-free), and ``Dashboards.show_result`` hands them to pyqtgraph
one chart per turn of the event loop, the tab on screen first, so that drawing a run never
freezes the window (issue 3: the GUI event loop never stalls for more than 50 ms)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app import export
from app.chart_fit import LEGEND_TOP, chart_note, fit_chart, keep_fitted, set_categories
from app.energy_breakdown import EnergyBreakdownChart
from app.energy_chart import EnergyDayChart
from app.orders_view import OrdersView
from app.theme import STATE_COLORS, chart
from app.workers_chart import WorkersChart
from kernels import types as kt
from twin.sim.energy import (
    compare_rows,
    day_chart,
    energy_comparison,
    scenario_breakdown,
    verdict,
)
from twin.sim.report import element_label
from twin.sim.stats import band, format_ci, mean_ci
from twin.sim.summary import replication_kpis
from twin.sim.workers import pool_chart

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b"]
LINE_KPIS = (
    ("throughput_per_hour", "Throughput (good parts/h)"),
    ("wip", "WIP (parts)"),
    ("lead_time_s", "Lead time (s)"),
    ("energy_kwh", "Energy (kWh)"),
    ("energy_kwh_per_part", "Energy per part (kWh)"),
    ("good_parts", "Good parts"),
)


NO_RESULTS = "No results yet: tick scenarios in the Run panel and press Run"


def _fresh(plot: pg.PlotWidget) -> None:
    """Empty ``plot`` for new curves, its range following them again."""
    plot.clear()
    plot.categories = None  # a bar chart's names (chart_fit.set_categories) go with its bars
    plot.enableAutoRange()
    plot.getPlotItem().layout.setContentsMargins(0, 0, 0, 0)


def _note(plot: pg.PlotWidget, text: str) -> None:
    """A note in the middle of an empty chart instead of a flat line."""
    plot.setRange(xRange=(0.0, 1.0), yRange=(0.0, 1.0), padding=0)
    chart_note(plot, text)


def _plot(title: str, left: str, bottom: str = "time (h)", legend: bool = True) -> pg.PlotWidget:
    w = chart(title, left, bottom, legend_offset=(-10, 10), legend=legend)
    pi = w.getPlotItem()
    if pi.legend is not None:
        # outside the plot area, right of it: it hides no curve, and an exported picture
        # holds it (it is the PlotItem's child, not the view box's, which clips)
        pi.legend.setParentItem(pi)
        pi.legend.anchor(itemPos=(1, 0), parentPos=(1, 0), offset=(-4, LEGEND_TOP))
    pi.setDownsampling(mode="peak")
    pi.setClipToView(True)
    keep_fitted(w)
    return w


AUTO_BIN = "auto"  # the Throughput chart's default: auto_bin_width, its width shown beside
BIN_WIDTHS = (("each sample", 0.0), ("15 min", 900.0), ("30 min", 1800.0), ("1 h", 3600.0),
              ("4 h", 14400.0), ("8 h", 28800.0), ("1 d", 86400.0))
# the automatic bin holds this many good parts on average: a bin's count is off by at most the
# parts that leave together (a cycle's batch), so a deterministic line's rate is within a few
# percent in every bin instead of a saw-tooth between neighbouring counts per sample
PARTS_PER_BIN = 100
MIN_BINS = 8  # ...unless the run would then have fewer bins than this
NICE_BIN_WIDTHS = (60.0, 120.0, 300.0, 600.0, 900.0, 1200.0, 1800.0, 3600.0, 7200.0, 10800.0,
                   14400.0, 21600.0, 28800.0, 43200.0, 86400.0, 172800.0, 604800.0)
NO_WEAR = "No station has a wear model: nothing wears in this scenario"


def binned_throughput(t: np.ndarray, good: np.ndarray, width: float
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Good parts per hour in bins of ``width`` s: bin ends (h), mean and 95% half-width
    over replications.

    ``t`` (s) are the sample times and ``good`` (replications x samples) the cumulative
    good parts at them; a bin runs from the first sample at or after its start to the first
    at or after its end, and its rate is divided by that span, so bins that do not meet a
    sample exactly are still exact rates. ``width`` 0 gives one bin per sample interval.
    """
    if width <= 0:
        k = np.arange(len(t))
    else:
        k = np.unique(np.searchsorted(t, np.arange(0.0, t[-1] + width * 0.5, width)))
        k = k[k < len(t)]
        if k[-1] != len(t) - 1 and t[-1] - t[k[-1]] >= 0.5 * width:
            k = np.append(k, len(t) - 1)  # a last bin at least half full
    span = t[k[1:]] - t[k[:-1]]
    rate = (good[:, k[1:]] - good[:, k[:-1]]) / span[None, :] * 3600.0
    mean, hw = band(rate)
    return t[k[1:]] / 3600.0, mean, hw


def auto_bin_width(t: np.ndarray, good: np.ndarray) -> float:
    """The Throughput chart's default bin width (s), 0 for one bin per sample interval.

    The shortest readable width (``NICE_BIN_WIDTHS``) that holds ``PARTS_PER_BIN`` good
    parts at the run's mean rate, but no wider than gives ``MIN_BINS`` bins over the run;
    one bin per sample when a sample interval already holds that many (or there is no rate).
    ``t`` and ``good`` as for ``binned_throughput``.
    """
    if len(t) < 2 or good.size == 0:
        return 0.0
    span = float(t[-1] - t[0])
    parts = float(np.mean(good[:, -1] - good[:, 0]))
    if span <= 0 or parts <= 0:
        return 0.0
    widest = [w for w in NICE_BIN_WIDTHS if w <= span / MIN_BINS]
    wide_enough = [w for w in widest if w * parts / span >= PARTS_PER_BIN]
    width = wide_enough[0] if wide_enough else widest[-1] if widest else 0.0
    return width if width > float(np.median(np.diff(t))) else 0.0


def bin_label(width: float) -> str:
    """``3600`` -> "1 h", as the bin menu writes widths."""
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if width >= size:
            return f"{width / size:g} {unit}"
    return f"{width:g} s"


def throughput_series(sr) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Time (h), mean and 95% half-width of good parts per hour between samples."""
    t = sr.ts_t
    good = np.array([r.ts_line[:, kt.TS_GOOD] for r in sr.replications])
    rate = np.diff(good, axis=1) / np.diff(t)[None, :] * 3600.0
    mean, hw = band(rate)
    return t[1:] / 3600.0, mean, hw


@dataclass(frozen=True)
class ScenarioCharts:
    """What the charts show of one scenario: arrays over time (h) and per station."""

    throughput: tuple[np.ndarray, np.ndarray, np.ndarray]  # t (h), mean, 95% half-width
    wip: tuple[np.ndarray, np.ndarray, np.ndarray]
    power: tuple[np.ndarray, np.ndarray]  # t (h), mean kW of the line
    stations: list[str]
    state_fractions: dict[str, np.ndarray]  # state -> mean fraction per station (non-zero)
    energy: tuple[np.ndarray, np.ndarray]  # kWh per station: mean, 95% half-width
    wear: dict[str, tuple[np.ndarray, np.ndarray]]  # station -> t (h), mean wear
    bottleneck: str | None
    good_t: np.ndarray  # sample times (s) of ``good``
    good: np.ndarray  # replications x samples: cumulative good parts (the binned throughput)
    warmup: float  # s
    energy_day: object = None  # twin.energy_site.DayChart: grid, PV, battery (None: no tariff)
    breakdown: object = None  # twin.energy_breakdown.Breakdown: cost by station and state
    workers: object = None  # twin.sim.workers.PoolChart (None: no worker pools)


@dataclass(frozen=True)
class ChartData:
    """A run made ready to plot: per-scenario series and the comparison table."""

    scenarios: dict[str, ScenarioCharts]
    comparison: list[list[str]]  # header row, then one row per line KPI
    compare_throughput: tuple[list[str], np.ndarray, np.ndarray]  # names, mean, half-width
    # per comparison row, per other scenario: the paired difference to base excludes 0
    significant: list[list[bool]]
    # per other scenario, the trade-off in a sentence (twin.sim.energy.verdict; issue 19 §4)
    verdicts: tuple[str, ...] = ()


def _scenario_charts(sr, doc: dict) -> ScenarioCharts:
    t_h = sr.ts_t / 3600.0
    stations = [eid for eid, kind in zip(sr.lowered.element_ids, sr.lowered.element_kinds,
                                         strict=True) if kind == "station"]
    fractions = {}
    for state in kt.STATE_NAMES:
        h = np.nan_to_num(np.array([doc["elements"][s]["state_fraction"][state]["mean"]
                                    for s in stations], float))
        if h.any():
            fractions[state] = h
    energy = (np.array([doc["elements"][s]["energy_kwh"]["mean"] for s in stations], float),
              np.array([doc["elements"][s]["energy_kwh"]["ci95_halfwidth"] for s in stations],
                       float))
    index = {eid: e for e, eid in enumerate(sr.lowered.element_ids)}
    worn = [s for s in stations if getattr(sr.project.element(s), "wear", None) is not None]
    wear = {s: (t_h, np.mean([r.ts_wear[:, index[s]] for r in sr.replications], axis=0))
            for s in worn}
    return ScenarioCharts(
        throughput=throughput_series(sr),
        wip=(t_h, *band(np.array([r.ts_line[:, kt.TS_WIP] for r in sr.replications]))),
        power=(t_h, np.mean([r.ts_line[:, kt.TS_POWER] for r in sr.replications], axis=0)),
        stations=stations, state_fractions=fractions, energy=energy, wear=wear,
        bottleneck=doc.get("bottleneck"), good_t=sr.ts_t,
        good=np.array([r.ts_line[:, 0] for r in sr.replications], float),
        warmup=float(sr.lowered.warmup), energy_day=day_chart(sr),
        breakdown=scenario_breakdown(sr), workers=pool_chart(doc))


def comparison_table(result, summary: dict, significant: list | None = None
                     ) -> list[list[str]]:
    """KPI table: per scenario mean ± 95% half-width, the paired difference to base, and
    that difference in % of the base's mean.

    ``significant``, a list, receives per row and other scenario whether the paired
    difference's 95% interval excludes 0 (common random numbers make the difference its own
    sample: two overlapping intervals of the means may still differ significantly)."""
    names = list(result.scenarios)
    base = names[0]
    per_rep = {n: [replication_kpis(sr, r) for r in sr.replications]
               for n, sr in result.scenarios.items()}
    header = ["KPI", *names, *(f"{n} − {base}" for n in names[1:]),
              *(f"{n} vs {base} %" for n in names[1:])]
    rows = [header]
    # and the scenarios in money and CO2 where they have an energy context (issue 19 §4)
    line_keys = {k for k, _ in LINE_KPIS}  # the output rows are in LINE_KPIS already
    for key, label in LINE_KPIS + tuple(r for r in compare_rows(summary)
                                        if r[0] not in line_keys):
        k = f"line.{key}"
        row = [label] + [format_ci(summary[n]["line"][key], 4) for n in names]
        marks, pcts = [], []
        b0 = summary[base]["line"][key]["mean"]
        for n in names[1:]:
            # common random numbers: replication i of every scenario shares its seeds
            diffs = [a[k] - b[k] for a, b in zip(per_rep[n], per_rep[base], strict=False)]
            d = mean_ci(diffs)
            row.append(format_ci(d, 4))
            m, h = d["mean"], d["ci95_halfwidth"]
            marks.append(bool(np.isfinite(m) and np.isfinite(h) and abs(m) > h))
            # and in % of the base's mean ("saves 4.1 ± 0.3 % of the energy cost")
            pcts.append(format_ci({"mean": 100.0 * m / abs(b0), "ci95_halfwidth":
                                   100.0 * h / abs(b0)}, 3) if b0 and np.isfinite(b0)
                        else "-")
        rows.append(row + pcts)
        if significant is not None:
            significant.append(marks)
    return rows


def prepare_charts(result, summary: dict | None = None) -> ChartData:
    """Everything the dashboards draw for ``result``, computed without Qt.

    The run panel calls this on the worker thread, so that the GUI thread receives arrays
    ready for ``setData`` instead of replications to reduce.
    """
    summary = summary or result.summary()
    names = list(result.scenarios)
    tp = [summary[n]["line"]["throughput_per_hour"] for n in names]
    significant: list[list[bool]] = []
    verdicts: tuple[str, ...] = ()
    if len(names) > 1 and compare_rows(summary):  # an energy context: money against output
        rows = energy_comparison(result, summary)
        currency = result.scenarios[names[0]].project.tariff.currency
        verdicts = tuple(v for v in (verdict(rows, n, names[0], currency) for n in names[1:])
                         if v)
    return ChartData(
        scenarios={n: _scenario_charts(sr, summary[n]) for n, sr in result.scenarios.items()},
        comparison=comparison_table(result, summary, significant), significant=significant,
        compare_throughput=(names, np.array([s["mean"] for s in tp], float),
                            np.array([s["ci95_halfwidth"] for s in tp], float)),
        verdicts=verdicts)


class Dashboards(QWidget):
    """Tabs of charts for the last run and a time slider to play it back."""

    playback_time_changed = Signal(float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.result = None
        self.summary: dict = {}
        self.charts: ChartData | None = None
        self._pending: list = []  # charts of the last run still to draw, one per turn
        self._step = QTimer(self)
        self._step.setSingleShot(True)
        self._step.setInterval(0)
        self._step.timeout.connect(self._draw_next)
        self.tabs = QTabWidget()
        self.throughput = _plot("Throughput with 95% band", "good parts / h")
        self.wip = _plot("Work in process with 95% band", "parts")
        self.states = _plot("State fractions per station", "fraction of server time", "")
        self.energy = _plot("Energy per station", "kWh", "", legend=False)
        self.power = _plot("Power of the line", "kW")
        self.wear = _plot("Wear per station", "wear")
        self.compare_plot = _plot("Throughput by scenario (95% intervals)", "good parts / h", "",
                                  legend=False)
        self.table = QTableWidget()
        # side by side: the dock is wide and low; the user moves the divide
        compare = QSplitter(Qt.Horizontal)
        self.table.verticalHeader().setVisible(False)  # the KPI names number the rows
        self.verdicts = QLabel("")  # the trade-off of each scenario in one sentence
        self.verdicts.setWordWrap(True)
        self.verdicts.setTextInteractionFlags(Qt.TextSelectableByMouse)
        table_box = QWidget()
        tl = QVBoxLayout(table_box)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.table, 1)
        tl.addWidget(self.verdicts)
        compare.addWidget(table_box)
        compare.addWidget(self.compare_plot)
        compare.setSizes([2000, 1000])  # in proportion: the differences need the room
        energy = QWidget()
        el = QHBoxLayout(energy)
        el.addWidget(self.energy)
        el.addWidget(self.power)
        self.energy_day = EnergyDayChart()  # grid, PV and battery with the prices (issue 19)
        self.breakdown = EnergyBreakdownChart()  # cost by station and state, and the Sankey
        self.orders = OrdersView()  # risk table and order Gantt chart (issue 18 §4)
        self.workers = WorkersChart()  # worker pools' busy/walking/idle (issue 18)
        for w, name in ((self.throughput, "Throughput"), (self.wip, "WIP"),
                        (self.states, "States"), (energy, "Energy"),
                        (self.energy_day, "Grid and battery"),
                        (self.breakdown, "Cost breakdown"), (self.wear, "Wear"),
                        (self.workers, "Workers"), (self.orders, "Orders"),
                        (compare, "Compare")):
            self.tabs.addTab(w, name)
        self.scenario = QComboBox()
        self.scenario.setToolTip("Scenario shown in the States, Energy, Grid and battery, "
                                 "Cost breakdown, Wear and Workers tabs")
        self.scenario.currentTextChanged.connect(self._draw_scenario)
        self.bottleneck = QLabel("")
        # a long name ("Filler (rotary, 40 valves) (filler)") must not widen the dock past
        # its area: it drew over the Run dock beside it. Clipped; the tooltip says it whole
        self.bottleneck.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.compared: dict[str, bool] = {}  # scenario -> drawn in the time charts
        self.compare_button = QToolButton()
        self.compare_button.setText("Scenarios shown")
        self.compare_button.setToolTip("Scenarios drawn in the Throughput, WIP and power "
                                       "charts: one, a chosen few or all")
        self.compare_button.setPopupMode(QToolButton.InstantPopup)
        self.compare_button.setMenu(QMenu(self.compare_button))
        self.bin_width = QComboBox()
        self.bin_width.addItems([AUTO_BIN] + [label for label, _ in BIN_WIDTHS])
        self.bin_width.setCurrentIndex(0)  # auto: its text says the width once a run is shown
        self.bin_width.setToolTip(
            "Width of the time bins of the Throughput chart; auto: bins that hold about "
            f"{PARTS_PER_BIN} parts each, so that a steady line shows its steady rate")
        self.bin_width.currentTextChanged.connect(lambda _: self.result and
                                                  self._draw_throughput())
        self.export_button = QPushButton("Export chart…")
        self.export_button.setToolTip("Save the chart on screen as PNG or SVG")
        self.png_width = QSpinBox()
        self.png_width.setRange(export.MIN_WIDTH, export.MAX_WIDTH)
        self.png_width.setSingleStep(100)
        self.png_width.setValue(1600)
        self.png_width.setSuffix(" px")
        self.png_width.setToolTip("Width of an exported PNG; its height keeps the chart's "
                                  "proportions")
        self.csv_button = QPushButton("Export KPIs…")
        self.csv_button.setToolTip("Save every figure of the run as CSV: scenario, element, "
                                   "kpi, mean, ci95_halfwidth, unit")
        self.report_button = QPushButton("Report…")
        self.report_button.setToolTip("Save one HTML page of the run: layout, tables, charts, "
                                      "comparison, settings and software versions")
        top = QHBoxLayout()
        top.addWidget(QLabel("Scenario"))
        top.addWidget(self.scenario)
        top.addWidget(self.compare_button)
        top.addWidget(QLabel("Bins"))
        top.addWidget(self.bin_width)
        top.addWidget(self.bottleneck, 1)
        top.addWidget(self.png_width)
        top.addWidget(self.export_button)
        top.addWidget(self.csv_button)
        top.addWidget(self.report_button)
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, 1000)
        self.slider.setToolTip("Play the run back: the 3D view shows states and buffer fill")
        self.slider.setEnabled(False)
        self.play_button = QPushButton("Play")
        self.play_button.setCheckable(True)
        self.play_button.setEnabled(False)
        self.time_label = QLabel("t = -")
        bottom = QHBoxLayout()
        bottom.addWidget(self.play_button)
        bottom.addWidget(self.slider, 1)
        bottom.addWidget(self.time_label)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.tabs, 1)
        lay.addLayout(bottom)
        self.slider.valueChanged.connect(self._slid)
        self._play = QTimer(self)
        self._play.setInterval(40)
        self._play.timeout.connect(lambda: self.slider.setValue((self.slider.value() + 2) % 1001))
        self.play_button.toggled.connect(lambda on: self._play.start() if on else self._play.stop())
        self.curves: dict[str, dict[str, pg.PlotDataItem]] = {}
        self.clear_results()

    def plots(self) -> list[pg.PlotWidget]:
        return [self.throughput, self.wip, self.states, self.energy, self.power, self.wear,
                self.compare_plot]

    def clear_results(self) -> None:
        """No results, yet or any more (another project was opened): every chart empty,
        with a word on how to get some, and nothing to play back or export."""
        self.stop()
        self.result, self.summary, self.charts, self.curves = None, {}, None, {}
        self.scenario.blockSignals(True)
        self.scenario.clear()
        self.scenario.blockSignals(False)
        self.bottleneck.setText("")
        self.compare_button.menu().clear()
        self.compared = {}
        self.table.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
        self.verdicts.setText("")
        self.verdicts.setVisible(False)
        self.slider.setEnabled(False)
        self.play_button.setChecked(False)
        self.play_button.setEnabled(False)
        self.time_label.setText("t = -")
        self.energy_day.clear(NO_RESULTS)
        self.breakdown.clear(NO_RESULTS)
        self.orders.clear(NO_RESULTS)
        self.workers.clear(NO_RESULTS)
        self.throughput.setTitle("Throughput with 95% band")  # not the last run's bin
        self.bin_width.blockSignals(True)  # nor in the menu: "auto (1 h)" of another project
        self.bin_width.setItemText(0, AUTO_BIN)
        self.bin_width.blockSignals(False)
        for plot in self.plots():
            plot.clear()
            plot.getAxis("bottom").setTicks(None)
            plot.setRange(xRange=(0.0, 1.0), yRange=(0.0, 1.0), padding=0)
            chart_note(plot, NO_RESULTS)

    # --- a run arrived ------------------------------------------------------------------
    def show_result(self, result, summary: dict | None = None,
                    charts: ChartData | None = None) -> None:
        """Show ``result``: the chart on screen at once, the others on the next turns of the
        event loop (``finish_drawing`` completes them now). ``charts`` comes from
        ``prepare_charts`` on the worker; without it it is computed here."""
        self.result = result
        self.summary = summary or result.summary()
        self.charts = charts or prepare_charts(result, self.summary)
        self.curves = {name: {} for name in result.scenarios}
        self.scenario.blockSignals(True)
        self.scenario.clear()
        self.scenario.addItems(list(result.scenarios))
        self.scenario.blockSignals(False)
        self._fill_compare_menu(list(result.scenarios))
        self._fill_table()
        shown = self.scenario.currentText  # read when the step runs: the user may pick another
        steps = {
            "Throughput": [self._draw_throughput],
            "WIP": [self._draw_wip],
            "States": [lambda: self._draw_states(shown())],
            "Energy": [lambda: self._draw_energy(shown()), self._draw_power],
            "Grid and battery": [lambda: self._draw_energy_day(shown())],
            "Cost breakdown": [lambda: self._draw_breakdown(shown())],
            "Wear": [lambda: self._draw_wear(shown())],
            "Orders": [lambda: self._draw_orders(shown())],
            "Workers": [lambda: self._draw_workers(shown())],
            "Compare": [self._draw_compare_plot],
        }
        on_screen = self.tabs.tabText(self.tabs.currentIndex())
        self._pending = steps.pop(on_screen, []) + [f for fs in steps.values() for f in fs]
        self._draw_next()
        # the slider plays back the first scenario's first replication (the one run with
        # its state log kept, ``RunSpec.log_only``)
        has_log = next(iter(result.scenarios.values())).replications[0].log is not None
        self.slider.setEnabled(has_log)
        self.play_button.setEnabled(has_log)

    def is_drawing(self) -> bool:
        """True while charts of the last run are still to be drawn."""
        return bool(self._pending)

    def finish_drawing(self) -> None:
        """Draw every chart still waiting (before an export, or in a test)."""
        self._step.stop()
        while self._pending:
            self._pending.pop(0)()

    def _draw_next(self) -> None:
        # one chart per turn of the event loop: timers and paints go on in between
        if self._pending:
            self._pending.pop(0)()
        if self._pending:
            self._step.start()

    def _band(self, plot, t, mean, hw, color, name):
        curve = plot.plot(t, mean, pen=pg.mkPen(color, width=2), name=name)
        if np.all(np.isfinite(hw)):
            # curves, not PlotDataItems: a PlotDataItem without a pen keeps no path, and the
            # band between two of them was empty (drawn nowhere, on screen or exported)
            lo = pg.PlotCurveItem(t, mean - hw, pen=pg.mkPen(None))
            hi = pg.PlotCurveItem(t, mean + hw, pen=pg.mkPen(None))
            fill = pg.FillBetweenItem(lo, hi, brush=pg.mkBrush(pg.mkColor(color).red(),
                                                               pg.mkColor(color).green(),
                                                               pg.mkColor(color).blue(), 50))
            plot.addItem(fill)
        return curve

    def _warmup_mark(self, plot) -> None:
        warm = next(iter(self.charts.scenarios.values())).warmup
        if warm > 0:
            line = pg.InfiniteLine(warm / 3600.0, angle=90, label="warm-up",
                                   pen=pg.mkPen("#808080", style=Qt.DashLine),
                                   labelOpts={"position": 0.95, "color": "#808080"})
            plot.addItem(line)

    def _compared(self):
        """``(colour index, (name, charts))`` of the scenarios ticked under "Compare"; a
        scenario keeps its colour whichever others are shown."""
        return [(i, item) for i, item in enumerate(self.charts.scenarios.items())
                if self.compared.get(item[0], True)]

    def _compare_changed(self, name: str, on: bool) -> None:
        self.compared[name] = on
        if self.result is not None:
            for draw in (self._draw_throughput, self._draw_wip, self._draw_power):
                draw()

    def _fill_compare_menu(self, names: list[str]) -> None:
        menu = self.compare_button.menu()
        menu.clear()
        self.compared = {n: True for n in names}
        for n in names:
            a = menu.addAction(n)
            a.setCheckable(True)
            a.setChecked(True)
            a.toggled.connect(lambda on, n=n: self._compare_changed(n, on))

    def throughput_bin(self) -> float:
        """The Throughput chart's bin width (s), 0 for one per sample: the one chosen, or for
        "auto" the widest any shown scenario needs (one width for all: they compare)."""
        if self.bin_width.currentIndex() > 0:
            return dict(BIN_WIDTHS)[self.bin_width.currentText()]
        return max((auto_bin_width(sc.good_t, sc.good) for _, (_, sc) in self._compared()),
                   default=0.0)

    def _draw_throughput(self) -> None:
        _fresh(self.throughput)
        width = self.throughput_bin()
        if width:
            per = f"{bin_label(width)} bins"
        else:
            sample = next((np.median(np.diff(sc.good_t)) for _, (_, sc) in self._compared()), 0.0)
            per = f"one bin per sample ({bin_label(sample)})" if sample else "each sample"
        self.throughput.setTitle(f"Throughput with 95% band, {per}")
        auto = self.bin_width.currentIndex() == 0
        self.bin_width.blockSignals(True)  # the current text changes: no second drawing
        self.bin_width.setItemText(0, f"{AUTO_BIN} ({bin_label(width) if width else 'each sample'})"
                                   if auto else AUTO_BIN)
        self.bin_width.blockSignals(False)
        for i, (name, sc) in self._compared():
            series = binned_throughput(sc.good_t, sc.good, width) if width else sc.throughput
            self.curves[name]["throughput"] = self._band(
                self.throughput, *series, PALETTE[i % len(PALETTE)], name)
        self._warmup_mark(self.throughput)
        fit_chart(self.throughput)

    def _draw_wip(self) -> None:
        _fresh(self.wip)
        for i, (name, sc) in self._compared():
            self.curves[name]["wip"] = self._band(self.wip, *sc.wip,
                                                  PALETTE[i % len(PALETTE)], name)
        self._warmup_mark(self.wip)
        fit_chart(self.wip)

    def _draw_power(self) -> None:
        _fresh(self.power)
        for i, (name, sc) in self._compared():
            self.curves[name]["power"] = self.power.plot(*sc.power, name=name,
                                                         pen=PALETTE[i % len(PALETTE)])
        fit_chart(self.power)

    def _draw_orders(self, name: str) -> None:
        self.orders.show_orders(self.summary.get(name, {}).get("orders", {}))

    def _draw_energy_day(self, name: str) -> None:
        if name in self.charts.scenarios:
            self.energy_day.draw(self.charts.scenarios[name].energy_day)

    def _draw_breakdown(self, name: str) -> None:
        if name in self.charts.scenarios:
            self.breakdown.draw(self.charts.scenarios[name].breakdown)

    def _draw_scenario(self, name: str) -> None:
        """The States, Energy and Wear tabs for scenario ``name`` (the combo box)."""
        if not self.result or name not in self.charts.scenarios:
            return
        self._draw_states(name)
        self._draw_energy(name)
        self._draw_energy_day(name)
        self._draw_breakdown(name)
        self._draw_wear(name)
        self._draw_orders(name)
        self._draw_workers(name)

    def _draw_states(self, name: str) -> None:
        sc = self.charts.scenarios[name]
        x = np.arange(len(sc.stations))
        _fresh(self.states)
        bottom = np.zeros(len(sc.stations))
        for state, h in sc.state_fractions.items():
            c = [int(255 * v) for v in STATE_COLORS[state]]
            # named, the bars are their own legend entry (a square of their colour)
            self.states.addItem(pg.BarGraphItem(x=x, y0=bottom, height=h, width=0.6,
                                                brush=pg.mkBrush(*c), name=state))
            bottom = bottom + h
        bn = sc.bottleneck
        label = element_label(self.summary.get(name, {}), bn)  # "Lathe (M1)"
        self.bottleneck.setText(f"Bottleneck: {label}" if bn else "")
        self.bottleneck.setToolTip(self.bottleneck.text())
        if bn in sc.stations:
            mark = pg.TextItem("▼ bottleneck", color="#d62728", anchor=(0.5, 1))
            mark.setPos(sc.stations.index(bn), 1.02)
            self.states.addItem(mark)
        self.states.getAxis("bottom").setTicks([list(enumerate(sc.stations))])
        self.states.setYRange(0, 1.1)
        self.states.setXRange(-0.5, len(x) - 0.5, padding=0.02)
        fit_chart(self.states)

    def _draw_energy(self, name: str) -> None:
        sc = self.charts.scenarios[name]
        x = np.arange(len(sc.stations))
        kwh, hw = sc.energy
        _fresh(self.energy)
        self.energy.addItem(pg.BarGraphItem(x=x, height=np.nan_to_num(kwh), width=0.6,
                                            brush="#ff7f0e"))
        if np.all(np.isfinite(hw)):
            self.energy.addItem(pg.ErrorBarItem(x=x, y=kwh, height=2 * hw, beam=0.2))
        self.energy.getAxis("bottom").setTicks([list(enumerate(sc.stations))])

    def _draw_workers(self, name: str) -> None:
        if name in self.charts.scenarios:
            self.workers.draw(self.charts.scenarios[name].workers)

    def _draw_wear(self, name: str) -> None:
        _fresh(self.wear)
        wear = self.charts.scenarios[name].wear
        if not wear:
            _note(self.wear, NO_WEAR)
        for i, (s, (t, w)) in enumerate(wear.items()):
            self.wear.plot(t, w, pen=PALETTE[i % len(PALETTE)], name=s)
        fit_chart(self.wear)

    def comparison_rows(self) -> list[list[str]]:
        """KPI table: per scenario mean ± 95% half-width, and the paired difference to base."""
        return self.charts.comparison

    def _fill_table(self) -> None:
        rows = self.comparison_rows()
        self.table.setColumnCount(len(rows[0]))
        self.table.setRowCount(len(rows) - 1)
        self.table.setHorizontalHeaderLabels(rows[0])
        k = len(self.charts.compare_throughput[0])  # the scenarios
        n = k + 1  # KPI and the scenarios, then the differences and the same in %
        for i, row in enumerate(rows[1:]):
            for j, text in enumerate(row):
                item = QTableWidgetItem(text)
                if j >= n:
                    sig = self.charts.significant[i][(j - n) % (k - 1)]
                    font = item.font()
                    font.setBold(sig)
                    item.setFont(font)
                    item.setToolTip(
                        "significant at 95%: the interval of the paired difference excludes 0"
                        if sig else "not significant at 95%: the interval of the paired "
                        "difference includes 0")
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()
        self.table.resizeRowsToContents()  # one line of text each: all KPIs in view
        self.verdicts.setText("\n".join(self.charts.verdicts))
        self.verdicts.setVisible(bool(self.charts.verdicts))

    def _draw_compare_plot(self) -> None:
        names, y, hw = self.charts.compare_throughput
        x = np.arange(len(names))
        _fresh(self.compare_plot)
        self.compare_plot.addItem(pg.BarGraphItem(x=x, height=np.nan_to_num(y), width=0.6,
                                                  brush="#1f77b4"))
        if np.all(np.isfinite(hw)):
            self.compare_plot.addItem(pg.ErrorBarItem(x=x, y=y, height=2 * hw, beam=0.2))
        top = np.nanmax(np.concatenate([y, y + np.nan_to_num(hw)]), initial=1.0)
        row = next(i for i, (k, _) in enumerate(LINE_KPIS) if k == "throughput_per_hour")
        for j, sig in enumerate(self.charts.significant[row]):
            if sig:  # differs from the base significantly (paired, common random numbers)
                star = pg.TextItem("* significant", color="#d62728", anchor=(0.5, 1))
                star.setPos(j + 1, float(np.nan_to_num(y[j + 1] + hw[j + 1])))
                self.compare_plot.addItem(star)
        set_categories(self.compare_plot, list(names), top)  # legible names, room for marks

    # --- export ------------------------------------------------------------------
    def current_plot(self) -> pg.PlotWidget:
        w = self.tabs.currentWidget()
        return w if isinstance(w, pg.PlotWidget) else w.findChildren(pg.PlotWidget)[0]

    def export_chart(self, path: str, width: int | None = None) -> None:
        """The chart on screen as SVG (``path`` ends in ``.svg``) or PNG ``width`` px wide."""
        self.finish_drawing()
        export.export_chart(self.current_plot(), path, width)

    def export_csv(self, path: str) -> int:
        """Every figure of the last run as CSV (``app.export.export_kpis``)."""
        return export.export_kpis(self.summary, path)

    # --- playback ------------------------------------------------------------------
    def _slid(self, v: int):
        if self.result is None:
            return
        horizon = self.result.spec.horizon
        t = horizon * v / 1000.0
        self.time_label.setText(f"t = {t / 3600.0:.2f} h")
        self.playback_time_changed.emit(t)

    def stop(self) -> None:
        self._play.stop()
        self._step.stop()
        self._pending = []
        # a chart's Export dialog (pyqtgraph's, from its context menu) is a window of its own,
        # with no parent: it outlived the workbench window. Every chart of the window: these,
        # the inspector's density plots, the replay panel's
        for view in self.window().findChildren(pg.GraphicsView):
            dialog = getattr(view.scene(), "exportDialog", None)
            if dialog is not None:
                dialog.close()
                dialog.deleteLater()
                view.scene().exportDialog = None
