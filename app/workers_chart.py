"""The Workers tab of the dashboards (issue 18): per worker pool, the busy, walking and idle
fractions of its working time as stacked bars with the 95% interval of each part over the
replications, and a table of its tasks, the tasks that waited for a worker and their mean
wait. What it shows is ``twin.sim.workers.pool_chart``'s; this widget only draws it."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from app.theme import WORKER_COLORS, chart

NO_WORKERS = "No worker pools in this project: add them under Model > Workers"


class WorkersChart(QWidget):
    """Stacked bars per pool and the table beside them; :meth:`draw` shows a scenario."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.plot = chart("Worker pools: share of working time (95% intervals)",
                          "fraction of working time", "")
        self.table = QTableWidget()
        self.table.verticalHeader().setVisible(False)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(self.plot)
        split.addWidget(self.table)
        split.setSizes([1500, 1000])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(split)
        self.bars: dict[str, pg.BarGraphItem] = {}
        self.clear()

    def clear(self, hint: str = NO_WORKERS) -> None:
        self.plot.clear()
        self.bars = {}
        self.table.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
        self.plot.getAxis("bottom").setTicks(None)
        text = pg.TextItem(hint, color="#808080", anchor=(0.5, 0.5))
        text.setPos(0.5, 0.5)
        self.plot.addItem(text)
        self.plot.setRange(xRange=(0.0, 1.0), yRange=(0.0, 1.0), padding=0)

    def draw(self, data) -> None:
        """Show ``data`` (a ``twin.sim.workers.PoolChart``; None: the project has no pools)."""
        if data is None:
            self.clear()
            return
        self.plot.clear()
        self.bars = {}
        x = np.arange(len(data.pools))
        bottom = np.zeros(len(x))
        for part, (mean, hw) in data.fractions.items():
            h = np.nan_to_num(mean)
            c = [int(255 * v) for v in WORKER_COLORS[part]]
            bar = pg.BarGraphItem(x=x, y0=bottom, height=h, width=0.6, brush=pg.mkBrush(*c),
                                  name=part)
            self.plot.addItem(bar)
            self.bars[part] = bar
            ok = np.isfinite(hw)
            if ok.any():  # each part's interval at its top edge
                self.plot.addItem(pg.ErrorBarItem(x=x[ok], y=(bottom + h)[ok],
                                                  height=2 * hw[ok], beam=0.15))
            bottom = bottom + h
        self.plot.getAxis("bottom").setTicks([list(enumerate(data.pools))])
        self.plot.setYRange(0, 1.1)
        self.plot.setXRange(-0.5, len(x) - 0.5, padding=0.02)
        rows = data.rows()
        self.table.setColumnCount(len(rows[0]))
        self.table.setRowCount(len(rows) - 1)
        self.table.setHorizontalHeaderLabels(rows[0])
        for r, row in enumerate(rows[1:]):
            for c, text in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
