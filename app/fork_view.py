"""Fan chart of a fork (``twin.whatif.fork.ForkResult``): P10-P90 band and P50 line of cumulative
output and energy after the fork time, beside what the recording shows.

Every plot item is made once and updated in place with ``setData`` (no ``clear()`` per
result); x is hours since the start of the recording, as in the other Replay charts.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QPainterPath
from PySide6.QtWidgets import QHBoxLayout, QWidget

from app.theme import chart

BAND_BRUSH = (31, 119, 180, 60)
MEDIAN_PEN = "#1f77b4"
RECORDED_PEN = "#d62728"


class FanChart:
    """Band, median and recorded curve on one ``PlotWidget``."""

    def __init__(self, plot: pg.PlotWidget):
        self.plot = plot
        self.lo = pg.PlotDataItem(pen=pg.mkPen((31, 119, 180, 110), width=1))
        self.hi = pg.PlotDataItem(pen=pg.mkPen((31, 119, 180, 110), width=1))
        self.band = pg.FillBetweenItem(self.lo, self.hi, brush=pg.mkBrush(*BAND_BRUSH))
        self.median = pg.PlotDataItem(pen=pg.mkPen(MEDIAN_PEN, width=2), name="fork P50")
        self.recorded = pg.PlotDataItem(pen=pg.mkPen(RECORDED_PEN, width=2), name="recorded",
                                        connect="finite")
        plot.addItem(self.band)
        plot.addItem(self.lo)
        plot.addItem(self.hi)
        plot.addItem(self.median)
        plot.addItem(self.recorded)
        # the legend draws a sample from a plot item's options, which a FillBetweenItem has
        # not (every repaint raised); a filled stand-in, never plotted, shows the band
        self.band_sample = pg.PlotDataItem(pen=pg.mkPen((31, 119, 180, 110), width=1),
                                           fillLevel=0.0, fillBrush=pg.mkBrush(*BAND_BRUSH))
        plot.getPlotItem().legend.addItem(self.band_sample, "fork P10-P90")

    def show(self, x: np.ndarray, q: dict, recorded: np.ndarray) -> None:
        self.lo.setData(x, q["p10"])
        self.hi.setData(x, q["p90"])
        self.median.setData(x, q["p50"])
        self.recorded.setData(x, recorded)

    def clear(self) -> None:
        for item in (self.lo, self.hi, self.median, self.recorded):
            item.setData([], [])
        # a PlotDataItem emptied so keeps its hidden curve's path, from which the band
        # rebuilds itself: it stayed painted; the next show() fills it again
        self.band.setPath(QPainterPath())


class ClockAxis(pg.AxisItem):
    """A time axis in hours after ``t0`` (s) that reads as the plant's clock ("Tue 14:00"):
    the fork's charts showed "hours since the recording's epoch" (246…253 h)."""

    def __init__(self):
        super().__init__("bottom")
        self.clock = None  # seconds since the recording's epoch -> its local datetime
        self.t0 = 0.0

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph override
        if self.clock is None:
            return super().tickStrings(values, scale, spacing)
        out = []
        for v in values:
            try:
                when = self.clock(self.t0 + 3600.0 * v)
            except (ValueError, OverflowError, OSError):  # out of the recording's range
                out.append("")
                continue
            out.append(when.strftime("%a %H:%M" if spacing >= 1.0 else "%H:%M"))
        return out


class ForkView(QWidget):
    """Two fan charts: cumulative good output and energy since the fork time."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.output_plot = chart("Fork: good parts since the fork")
        self.energy_plot = chart("Fork: energy since the fork (kWh)")
        self.axes = [ClockAxis(), ClockAxis()]
        for plot, axis in zip((self.output_plot, self.energy_plot), self.axes, strict=True):
            plot.setAxisItems({"bottom": axis})
        self.output = FanChart(self.output_plot)
        self.energy = FanChart(self.energy_plot)
        self.result = None
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.output_plot)
        lay.addWidget(self.energy_plot)

    def show_result(self, result, t0: float, clock=None) -> None:
        """Draw ``result`` (a ``ForkResult``); ``t0`` is the recording start (s), ``clock``
        the recording's ``datetime_of`` (the time axis then reads as clock times)."""
        self.result = result
        for axis in self.axes:
            axis.clock, axis.t0 = clock, t0
            axis.picture = None  # its tick texts are made again
            axis.update()
        x = (np.asarray(result.times, float) - t0) / 3600.0
        self.output.show(x, result.output_q, result.recorded_output)
        self.energy.show(x, result.energy_q, result.recorded_energy)
        for w in (self.output_plot, self.energy_plot):
            w.enableAutoRange()

    def clear(self) -> None:
        self.result = None
        self.output.clear()
        self.energy.clear()
