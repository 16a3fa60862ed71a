"""Dashboards of a run: time series with 95% bands, station states, energy, wear, comparison.

Everything drawn comes from the run result and ``twin.kpi``/``twin.stats``; the charts only
arrange it. Curves are set once per run with ``setData`` on preallocated items.
"""

from __future__ import annotations

import csv
import math

import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters as pge
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.theme import STATE_COLORS
from kernels import types as kt
from twin.kpi import replication_kpis
from twin.stats import band, mean_ci

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b"]
LINE_KPIS = (
    ("throughput_per_hour", "Throughput (good parts/h)"),
    ("wip", "WIP (parts)"),
    ("lead_time_s", "Lead time (s)"),
    ("energy_kwh", "Energy (kWh)"),
    ("energy_kwh_per_part", "Energy per part (kWh)"),
    ("good_parts", "Good parts"),
)


def _fmt(stat: dict) -> str:
    mean, hw = stat["mean"], stat["ci95_halfwidth"]
    if mean is None or math.isnan(mean):
        return "-"
    return f"{mean:.4g}" if hw is None or math.isnan(hw) else f"{mean:.4g} ± {hw:.2g}"


def _plot(title: str, left: str, bottom: str = "time (h)") -> pg.PlotWidget:
    w = pg.PlotWidget(title=title)
    w.setLabel("left", left)
    w.setLabel("bottom", bottom)
    w.showGrid(x=True, y=True, alpha=0.3)
    w.addLegend(offset=(-10, 10))
    pi = w.getPlotItem()
    pi.setDownsampling(mode="peak")
    pi.setClipToView(True)
    return w


def throughput_series(sr) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Time (h), mean and 95% half-width of good parts per hour between samples."""
    t = sr.ts_t
    good = np.array([r.ts_line[:, 0] for r in sr.replications])
    rate = np.diff(good, axis=1) / np.diff(t)[None, :] * 3600.0
    mean, hw = band(rate)
    return t[1:] / 3600.0, mean, hw


class Dashboards(QWidget):
    """Tabs of charts for the last run and a time slider to play it back."""

    playback_time_changed = Signal(float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.result = None
        self.summary: dict = {}
        self.tabs = QTabWidget()
        self.throughput = _plot("Throughput with 95% band", "good parts / h")
        self.wip = _plot("Work in process with 95% band", "parts")
        self.states = _plot("State fractions per station", "fraction of server time", "")
        self.energy = _plot("Energy per station", "kWh", "")
        self.power = _plot("Power of the line", "kW")
        self.wear = _plot("Wear per station", "wear")
        self.compare_plot = _plot("Throughput by scenario (95% intervals)", "good parts / h", "")
        self.table = QTableWidget()
        compare = QWidget()
        cl = QVBoxLayout(compare)
        cl.addWidget(self.table, 1)
        cl.addWidget(self.compare_plot, 1)
        energy = QWidget()
        el = QHBoxLayout(energy)
        el.addWidget(self.energy)
        el.addWidget(self.power)
        for w, name in ((self.throughput, "Throughput"), (self.wip, "WIP"),
                        (self.states, "States"), (energy, "Energy"), (self.wear, "Wear"),
                        (compare, "Compare")):
            self.tabs.addTab(w, name)
        self.scenario = QComboBox()
        self.scenario.setToolTip("Scenario shown in the States, Energy and Wear tabs")
        self.scenario.currentTextChanged.connect(self._draw_scenario)
        self.bottleneck = QLabel("")
        self.export_button = QPushButton("Export chart…")
        self.export_button.setToolTip("Save the chart on screen as PNG or SVG")
        self.csv_button = QPushButton("Export KPIs…")
        self.csv_button.setToolTip("Save the KPI comparison table as CSV")
        top = QHBoxLayout()
        top.addWidget(QLabel("Scenario"))
        top.addWidget(self.scenario)
        top.addWidget(self.bottleneck, 1)
        top.addWidget(self.export_button)
        top.addWidget(self.csv_button)
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

    # --- a run arrived ------------------------------------------------------------------
    def show_result(self, result, summary: dict | None = None) -> None:
        self.result = result
        self.summary = summary or result.summary()
        for w in (self.throughput, self.wip, self.power, self.compare_plot):
            w.clear()
        self.curves = {}
        for i, (name, sr) in enumerate(result.scenarios.items()):
            color = PALETTE[i % len(PALETTE)]
            t, mean, hw = throughput_series(sr)
            self.curves[name] = {
                "throughput": self._band(self.throughput, t, mean, hw, color, name),
                "wip": self._band(self.wip, sr.ts_t / 3600.0, *band(
                    np.array([r.ts_line[:, 1] for r in sr.replications])), color, name),
                "power": self.power.plot(sr.ts_t / 3600.0, np.mean(
                    [r.ts_line[:, 2] for r in sr.replications], axis=0), pen=color, name=name),
            }
        self._draw_compare()
        self.scenario.blockSignals(True)
        self.scenario.clear()
        self.scenario.addItems(list(result.scenarios))
        self.scenario.blockSignals(False)
        self._draw_scenario(self.scenario.currentText())
        has_log = all(r.log is not None for sr in result.scenarios.values()
                      for r in sr.replications[:1])
        self.slider.setEnabled(has_log)
        self.play_button.setEnabled(has_log)

    def _band(self, plot, t, mean, hw, color, name):
        curve = plot.plot(t, mean, pen=pg.mkPen(color, width=2), name=name)
        if np.all(np.isfinite(hw)):
            lo = pg.PlotDataItem(t, mean - hw, pen=None)
            hi = pg.PlotDataItem(t, mean + hw, pen=None)
            fill = pg.FillBetweenItem(lo, hi, brush=pg.mkBrush(pg.mkColor(color).red(),
                                                               pg.mkColor(color).green(),
                                                               pg.mkColor(color).blue(), 50))
            plot.addItem(fill)
        return curve

    def _draw_scenario(self, name: str) -> None:
        if not self.result or name not in self.result.scenarios:
            return
        sr, doc = self.result.scenarios[name], self.summary[name]
        stations = [eid for eid, kind in zip(sr.lowered.element_ids, sr.lowered.element_kinds,
                                             strict=True) if kind == "station"]
        x = np.arange(len(stations))
        ticks = [list(enumerate(stations))]
        self.states.clear()
        bottom = np.zeros(len(stations))
        for state in kt.STATE_NAMES:
            h = np.array([doc["elements"][s]["state_fraction"][state]["mean"] for s in stations])
            h = np.nan_to_num(h)
            if not h.any():
                continue
            c = [int(255 * v) for v in STATE_COLORS[state]]
            self.states.addItem(pg.BarGraphItem(x=x, y0=bottom, height=h, width=0.6,
                                                brush=pg.mkBrush(*c), name=state))
            self.states.plot([], [], pen=None, symbol="s", symbolBrush=pg.mkBrush(*c),
                             name=state)
            bottom = bottom + h
        bn = doc.get("bottleneck")
        self.bottleneck.setText(f"Bottleneck: {bn}" if bn else "")
        if bn in stations:
            mark = pg.TextItem("▼ bottleneck", color="#d62728", anchor=(0.5, 1))
            mark.setPos(stations.index(bn), 1.02)
            self.states.addItem(mark)
        self.states.getAxis("bottom").setTicks(ticks)
        self.states.setYRange(0, 1.1)
        self.energy.clear()
        kwh = np.array([doc["elements"][s]["energy_kwh"]["mean"] for s in stations])
        hw = np.array([doc["elements"][s]["energy_kwh"]["ci95_halfwidth"] for s in stations],
                      float)
        self.energy.addItem(pg.BarGraphItem(x=x, height=np.nan_to_num(kwh), width=0.6,
                                            brush="#ff7f0e"))
        if np.all(np.isfinite(hw)):
            self.energy.addItem(pg.ErrorBarItem(x=x, y=kwh, height=2 * hw, beam=0.2))
        self.energy.getAxis("bottom").setTicks(ticks)
        self.wear.clear()
        index = {eid: e for e, eid in enumerate(sr.lowered.element_ids)}
        for i, s in enumerate(stations):
            w = np.mean([r.ts_wear[:, index[s]] for r in sr.replications], axis=0)
            self.wear.plot(sr.ts_t / 3600.0, w, pen=PALETTE[i % len(PALETTE)], name=s)

    def comparison_rows(self) -> list[list[str]]:
        """KPI table: per scenario mean ± 95% half-width, and the paired difference to base."""
        names = list(self.result.scenarios)
        base = names[0]
        per_rep = {n: [replication_kpis(sr, r) for r in sr.replications]
                   for n, sr in self.result.scenarios.items()}
        header = ["KPI", *names, *(f"{n} − {base}" for n in names[1:])]
        rows = [header]
        for key, label in LINE_KPIS:
            k = f"line.{key}"
            row = [label] + [_fmt(self.summary[n]["line"][key]) for n in names]
            for n in names[1:]:
                # common random numbers: replication i of every scenario shares its seeds
                diffs = [a[k] - b[k] for a, b in zip(per_rep[n], per_rep[base], strict=False)]
                row.append(_fmt(mean_ci(diffs)))
            rows.append(row)
        return rows

    def _draw_compare(self):
        rows = self.comparison_rows()
        self.table.setColumnCount(len(rows[0]))
        self.table.setRowCount(len(rows) - 1)
        self.table.setHorizontalHeaderLabels(rows[0])
        for i, row in enumerate(rows[1:]):
            for j, text in enumerate(row):
                self.table.setItem(i, j, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        names = list(self.result.scenarios)
        tp = [self.summary[n]["line"]["throughput_per_hour"] for n in names]
        x = np.arange(len(names))
        y = np.array([s["mean"] for s in tp], float)
        hw = np.array([s["ci95_halfwidth"] for s in tp], float)
        self.compare_plot.addItem(pg.BarGraphItem(x=x, height=np.nan_to_num(y), width=0.6,
                                                  brush="#1f77b4"))
        if np.all(np.isfinite(hw)):
            self.compare_plot.addItem(pg.ErrorBarItem(x=x, y=y, height=2 * hw, beam=0.2))
        self.compare_plot.getAxis("bottom").setTicks([list(enumerate(names))])

    # --- export ------------------------------------------------------------------
    def current_plot(self) -> pg.PlotWidget:
        w = self.tabs.currentWidget()
        return w if isinstance(w, pg.PlotWidget) else w.findChildren(pg.PlotWidget)[0]

    def export_chart(self, path: str) -> None:
        plot = self.current_plot()
        item = plot.getPlotItem()
        if path.lower().endswith(".svg"):
            # pyqtgraph's SVGExporter fails on FillBetweenItem paths (0.14); Qt's SVG painter
            # draws the scene as it is on screen
            from PySide6.QtCore import QRectF
            from PySide6.QtGui import QPainter
            from PySide6.QtSvg import QSvgGenerator

            rect = item.sceneBoundingRect()
            gen = QSvgGenerator()
            gen.setFileName(path)
            gen.setSize(rect.size().toSize())
            gen.setViewBox(QRectF(0, 0, rect.width(), rect.height()))
            painter = QPainter(gen)
            plot.scene().render(painter, QRectF(0, 0, rect.width(), rect.height()), rect)
            painter.end()
        else:
            exp = pge.ImageExporter(item)
            exp.parameters()["width"] = 1200
            exp.export(path)

    def export_csv(self, path: str) -> None:
        if self.result is None:
            raise ValueError("nothing to export yet: run the project first")
        with open(path, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(self.comparison_rows())

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
