"""The orders of a run (issue 18 §4): a table sorted by risk and an order Gantt chart.

The table lists every order the riskiest first (P(late) descending, as the run summary
sorts them; Simio's risk-based planning shows the same for every order): P(on time) with
its 95% interval, completion P10/P50/P90 and mean tardiness. The Gantt chart draws each
order as a bar from its release to its median completion, whiskers from P10 to P90 and a
marker at its due date, the riskiest at the top. It only draws what ``twin.sim.orders``
computed (``summary["orders"]``).
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

COLUMNS = ("order", "product", "qty", "due (h)", "P(on time)", "95% interval",
           "done P10 (h)", "P50 (h)", "P90 (h)", "mean tardiness (h)")
LATE = QColor(230, 120, 100)
AT_RISK = QColor(245, 200, 90)
SAFE = QColor(120, 190, 120)


def _h(x: float) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x / 3600.0:.3g}"


def risk_colour(p_late: float) -> QColor:
    """Red when the order is more often late than not, amber when it is at risk (late in
    more than one replication in ten), green otherwise."""
    return LATE if p_late > 0.5 else AT_RISK if p_late > 0.1 else SAFE


class OrdersView(QWidget):
    """The risk table above the order Gantt chart (``show_orders``)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.gantt = pg.PlotWidget(title="Orders: release to P50 completion, P10-P90 whiskers, "
                                         "due date |")
        self.gantt.setLabel("bottom", "time (h)")
        self.gantt.showGrid(x=True, y=False, alpha=0.3)
        self.gantt.invertY(True)  # the riskiest at the top, as in the table
        split = QSplitter(Qt.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.gantt)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(split)
        self.orders: dict = {}
        self.clear()

    def clear(self, text: str = "No orders: give a source an order list") -> None:
        self.orders = {}
        self.table.setRowCount(0)
        self.gantt.clear()
        self.gantt.getAxis("left").setTicks(None)
        hint = pg.TextItem(text, color="#808080", anchor=(0.5, 0.5))
        hint.setPos(0.5, 0.5)
        self.gantt.addItem(hint)

    def show_orders(self, orders: dict) -> None:
        """Show a scenario's ``summary["orders"]`` (sorted by risk, the riskiest first)."""
        if not orders:
            self.clear()
            return
        self.orders = orders
        self.table.setRowCount(len(orders))
        for r, (oid, o) in enumerate(orders.items()):
            lo, hi = o["p_on_time_ci95"]
            cells = (oid, o["product"], str(o["quantity"]), _h(o["due_s"]),
                     f"{o['p_on_time']:.3f}", f"{lo:.3f}-{hi:.3f}", _h(o["completion_p10_s"]),
                     _h(o["completion_p50_s"]), _h(o["completion_p90_s"]),
                     _h(o["mean_tardiness_s"]))
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 4:
                    item.setBackground(risk_colour(o["p_late"]))
                    item.setForeground(QColor("black"))
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        self._draw_gantt()

    def _draw_gantt(self) -> None:
        g = self.gantt
        g.clear()
        ids = list(self.orders)
        rows = list(self.orders.values())
        y = np.arange(len(rows), dtype=float)
        hours = np.array([[o["release_s"], o["completion_p50_s"], o["completion_p10_s"],
                           o["completion_p90_s"], o["due_s"]] for o in rows], float) / 3600.0
        rel, p50, p10, p90, due = hours.T
        end = np.where(np.isnan(p50), rel, p50)
        brushes = [pg.mkBrush(risk_colour(o["p_late"])) for o in rows]
        g.addItem(pg.BarGraphItem(x0=rel, x1=end, y=y, height=0.6, brushes=brushes,
                                  pen=pg.mkPen("#404040")))
        done = ~np.isnan(p50)
        if done.any():
            g.addItem(pg.ErrorBarItem(x=p50[done], y=y[done], left=(p50 - p10)[done],
                                      right=(p90 - p50)[done], beam=0.25,
                                      pen=pg.mkPen("#202020", width=1.5)))
        g.addItem(pg.ScatterPlotItem(x=due, y=y, symbol="|", size=22,
                                     pen=pg.mkPen("#c02020", width=3), brush=None))
        g.getAxis("left").setTicks([[(float(k), str(oid)) for k, oid in enumerate(ids)]])
        g.setYRange(-0.7, len(rows) - 0.3, padding=0)
        x_hi = np.nanmax(np.concatenate([p90, due, end]))
        g.setXRange(0.0, float(x_hi) * 1.05 if x_hi > 0 else 1.0, padding=0)
