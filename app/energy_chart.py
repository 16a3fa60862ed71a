"""The energy day chart (issue 19 §4): the grid's import, the line's load and the PV power
over the run (kW, left axis), the battery's stored energy (kWh, right axis), the price or
the CO2 intensity as steps on an outer right axis, the price periods shaded (the darker,
the dearer), and the highest 15-minute mean grid import marked.
Drawn from a ``twin.energy_site.DayChart``, which the run's worker prepares
(``twin.sim.energy.day_chart``), or a recording's
(``twin.recording.energy.recording_day_chart``)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.editors.fields import Choice, narrow
from app.theme import chart

#: More price steps than this are a fine price series: drawn as a line, not shaded.
MAX_SHADED = 400
NO_CONTEXT = ("No energy context: give the project prices, PV or a battery under "
              "Edit > Calendar and energy…, then run")

GRID, LOAD, PV, SOC = "#d62728", "#7f7f7f", "#e6a700", "#2ca02c"
PRICE, CO2 = "#3b5fc0", "#6b8e23"
#: What the outer right axis can show.
SECOND_AXIS = ("price", "CO2 intensity")


def price_periods(price_t: np.ndarray, price_v: np.ndarray, end: float
                  ) -> list[tuple[float, float, float]]:
    """``(from, to, price)`` of each run of equal prices up to ``end`` (s)."""
    out: list[tuple[float, float, float]] = []
    for i, (a, v) in enumerate(zip(price_t, price_v, strict=True)):
        b = price_t[i + 1] if i + 1 < len(price_t) else end
        if out and out[-1][2] == v:
            out[-1] = (out[-1][0], b, v)
        elif b > a:
            out.append((float(a), float(b), float(v)))
    return out


class NotedChart(QWidget):
    """A chart over a grey note; :meth:`draw` of ``None`` clears it and says why.
    Subclasses give ``clear(hint)`` and ``_draw(data)``."""

    def _lay_out(self, body: QWidget) -> None:
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: gray")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(body, 1)
        lay.addWidget(self.note)

    def clear(self, hint: str = "") -> None:
        raise NotImplementedError

    def _draw(self, data) -> None:
        raise NotImplementedError

    def draw(self, data) -> None:
        """Show ``data`` (``None``: no energy context: the hint)."""
        if data is None:
            self.clear()
            return
        self.clear("")
        self._draw(data)


class EnergyDayChart(NotedChart):
    """One plot with a second y axis for the battery; :meth:`draw` shows a scenario."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.plot = chart("Grid, PV and battery over the run; price periods shaded",
                          "power (kW)", legend_offset=(-10, 10))
        item = self.plot.getPlotItem()
        # the price or the CO2 intensity as steps on a third axis, outside the battery's
        self.rate_view = pg.ViewBox()
        self.rate_axis = pg.AxisItem("right")
        self.rate_axis.enableAutoSIPrefix(False)
        item.layout.addItem(self.rate_axis, 2, 3)
        item.scene().addItem(self.rate_view)
        self.rate_axis.linkToView(self.rate_view)
        self.rate_view.setXLink(item)
        self.second = narrow(Choice(), 12)
        self.second.addItems(list(SECOND_AXIS))
        self.second.setToolTip("what the outer right axis shows, as steps over the time")
        self.second.activated.connect(lambda _i: self._draw_rate())
        self.data = None
        self.legend = item.legend
        # the battery's kWh on a right axis: a second view box sharing x
        self.soc_view = pg.ViewBox()
        item.showAxis("right")
        item.scene().addItem(self.soc_view)
        item.getAxis("right").linkToView(self.soc_view)
        item.getAxis("right").setLabel("battery (kWh)")
        item.getAxis("right").enableAutoSIPrefix(False)
        self.soc_view.setXLink(item)
        item.vb.sigResized.connect(self._sync)
        body = QWidget()
        bl = QVBoxLayout(body)
        bl.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("outer right axis:"))
        row.addWidget(self.second)
        row.addStretch(1)
        bl.addLayout(row)
        bl.addWidget(self.plot, 1)
        self._lay_out(body)
        self.shaded: list[pg.LinearRegionItem] = []
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.clear()

    def _sync(self) -> None:
        rect = self.plot.getPlotItem().vb.sceneBoundingRect()
        self.soc_view.setGeometry(rect)
        self.rate_view.setGeometry(rect)

    def _draw_rate(self) -> None:
        """The price or the CO2 intensity (as :attr:`second` says) as steps on the outer
        right axis; no CO2 intensity draws nothing there."""
        self.rate_view.clear()
        self.curves.pop("rate", None)
        data = self.data
        if data is None:
            self.rate_axis.setLabel("")
            return
        price = self.second.currentText() == SECOND_AXIS[0]
        t, v = (data.price_t, data.price_v) if price else (data.co2_t, data.co2_v)
        if t is None or (not price and not np.any(v)):
            self.rate_axis.setLabel("no CO2 intensity" if not price else "")
            return
        origin = float(data.t[0]) if data.replications == 0 else 0.0
        steps = price_periods(t, v, float(data.t[-1]))
        x = np.array([a for a, _, _ in steps] + [steps[-1][1]])
        curve = pg.PlotDataItem((x - origin) / 3600.0, [p for *_, p in steps],
                                stepMode="center", pen=pg.mkPen(
                                    PRICE if price else CO2, width=1, style=Qt.DotLine))
        self.rate_view.addItem(curve)
        self.curves["rate"] = curve
        self.rate_axis.setLabel(f"price ({data.currency}/kWh)" if price else
                                "CO2 intensity (g/kWh)")
        self.rate_view.enableAutoRange()

    def clear(self, hint: str = NO_CONTEXT) -> None:
        self.plot.clear()
        self.soc_view.clear()
        self.rate_view.clear()
        self.data = None
        self.rate_axis.setLabel("")
        self.legend.clear()
        self.shaded, self.curves = [], {}
        self.note.setText(hint)

    def _draw(self, data) -> None:
        """Show ``data``, a ``twin.energy_site.DayChart``."""
        origin = float(data.t[0]) if data.replications == 0 else 0.0  # a recording: its start
        self.plot.setLabel("bottom", "time since the start of the recording (h)"
                           if data.replications == 0 else "time (h)")
        self.plot.setTitle("Grid, PV and battery over the "
                           f"{'recording' if data.replications == 0 else 'run'}; price periods "
                           "shaded")
        hours = (data.t - origin) / 3600.0
        periods = [(a - origin, b - origin, p) for a, b, p in
                   price_periods(data.price_t, data.price_v, float(data.t[-1]))]
        lo, hi = min(p for *_, p in periods), max(p for *_, p in periods)
        if len(periods) <= MAX_SHADED and hi > lo:
            for a, b, p in periods:
                if p == lo:
                    continue  # the cheapest periods stay unshaded
                alpha = int(25 + 70 * (p - lo) / (hi - lo))
                region = pg.LinearRegionItem((a / 3600.0, b / 3600.0), movable=False,
                                             brush=pg.mkBrush(70, 110, 200, alpha),
                                             pen=pg.mkPen(None))
                region.setZValue(-10)
                region.setToolTip(f"{p:g} {data.currency}/kWh")
                self.plot.addItem(region)
                self.shaded.append(region)
        for key, y, color, name in (("load", data.load, LOAD, "line load"),
                                    ("pv", data.pv, PV, "PV"),
                                    ("grid", data.grid, GRID, "grid import")):
            if key == "pv" and not y.any():
                continue
            self.curves[key] = self.plot.plot(hours, y, stepMode="center", name=name,
                                              pen=pg.mkPen(color, width=2 if key == "grid"
                                                           else 1))
        if data.soc is not None:
            soc = pg.PlotDataItem(hours, data.soc, pen=pg.mkPen(SOC, width=2))
            self.soc_view.addItem(soc)
            self.legend.addItem(soc, "battery kWh (right)")
            self.curves["soc"] = soc
            self.soc_view.enableAutoRange()
        self.data = data
        self._draw_rate()
        if data.peak is not None:  # the highest 15-minute mean of the grid import drawn
            a, b, kw = data.peak
            self.curves["peak"] = self.plot.plot(
                [(a - origin) / 3600.0, (b - origin) / 3600.0], [kw, kw],
                name=f"peak 15-min mean {kw:.4g} kW",
                pen=pg.mkPen(GRID, width=3, style=Qt.DashLine))
        self._sync()
        prices = (f"prices from {lo:g} (unshaded) to {hi:g} {data.currency}/kWh (darkest)"
                  if hi > lo and len(periods) <= MAX_SHADED else
                  f"price {lo:g} {data.currency}/kWh" if hi == lo else
                  f"{len(periods)} price steps: too many to shade")
        what = (f"Means of {data.replications} replications after the warm-up"
                if data.replications else "The recorded line, exactly from its power channels")
        peak = ""
        if data.peak is not None:
            a, b, kw = data.peak
            peak = (f" The dashed bar marks the highest 15-minute mean grid import, {kw:.4g} "
                    f"kW, {(a - origin) / 3600.0:.2f}-{(b - origin) / 3600.0:.2f} h"
                    + (" (of the mean curve)." if data.replications else "."))
        self.note.setText(f"{what}; {prices}.{peak}")
