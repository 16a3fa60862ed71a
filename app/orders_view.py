"""The orders of a run (issue 18 §4): a table sorted by risk and an order Gantt chart.

The table lists every order the riskiest first (P(late) descending, as the run summary
sorts them; Simio's risk-based planning shows the same for every order): P(on time) with
its 95% interval, completion P10/P50/P90 and mean tardiness. The Gantt chart draws each
order as a bar from its release to its median completion, whiskers from P10 to P90 and a
marker at its due date, the riskiest at the top. It only draws what ``twin.sim.orders``
computed (``summary["orders"]``).

The Charts dock is wide and low (about 150 px high at the default window size), so the
table and the chart stand side by side in a splitter while the view is wide, one above the
other while it is tall. A bar keeps at least ``ROW_PX`` pixels: when the orders do not fit,
the chart shows as many as do and a scroll bar beside it (or the mouse wheel) moves through
the rest, the time axis staying in view. Hovering a bar shows the order's figures as a
tooltip; clicking it selects the order in the table, and selecting an order in the table
scrolls the chart to its bar.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QScrollBar,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

COLUMNS = ("order", "product", "qty", "due (h)", "P(on time)", "95% interval",
           "done P10 (h)", "P50 (h)", "P90 (h)", "mean tardiness (h)")
LATE = QColor(230, 120, 100)
AT_RISK = QColor(245, 200, 90)
SAFE = QColor(120, 190, 120)
ROW_PX = 22  # the least height of an order's bar and label in the Gantt chart, px
KEY = "bar: release to P50 · whiskers: P10-P90 · red |: due · hover a bar for its figures"


def _h(x: float) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x / 3600.0:.3g}"


def risk_colour(p_late: float) -> QColor:
    """Red when the order is more often late than not, amber when it is at risk (late in
    more than one replication in ten), green otherwise."""
    return LATE if p_late > 0.5 else AT_RISK if p_late > 0.1 else SAFE


def order_figures(oid: str, o: dict) -> str:
    """The figures of order ``oid`` (a row of ``summary["orders"]``), one per line: the
    Gantt chart's tooltip."""
    lo, hi = o["p_on_time_ci95"]
    return "\n".join([
        f"order {oid}: {o['quantity']} × {o['product']}",
        f"release {_h(o['release_s'])} h, due {_h(o['due_s'])} h",
        f"P(on time) {o['p_on_time']:.3f} (95%: {lo:.3f}-{hi:.3f}), "
        f"complete in {o['completed']} of {o['replications']} replications",
        f"completion P10 {_h(o['completion_p10_s'])} h, P50 {_h(o['completion_p50_s'])} h, "
        f"P90 {_h(o['completion_p90_s'])} h",
        f"mean tardiness {_h(o['mean_tardiness_s'])} h"])


class _OrderRows(pg.ViewBox):
    """The Gantt chart's view: the mouse wheel scrolls through the orders (``view.scroll``)
    rather than zooming."""

    def __init__(self, view: OrdersView):
        super().__init__()
        self.view = view

    def wheelEvent(self, ev, axis=None):  # noqa: N802 (Qt)
        v = self.view
        v.scroll.setValue(v.scroll.value() - int(np.sign(ev.delta())) * max(1, v.visible_rows // 3))
        ev.accept()


class OrdersView(QWidget):
    """The risk table beside (or above) the order Gantt chart (``show_orders``)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.itemSelectionChanged.connect(self._table_selected)
        self.gantt = pg.PlotWidget(viewBox=_OrderRows(self))
        self.gantt.setLabel("bottom", "time (h)")
        self.gantt.showGrid(x=True, y=False, alpha=0.3)
        self.gantt.invertY(True)  # the riskiest at the top, as in the table
        self.gantt.setMouseEnabled(x=True, y=False)  # the wheel scrolls the orders instead
        self.gantt.setMenuEnabled(False)
        self.gantt.hideButtons()
        vb = self.gantt.getViewBox()
        vb.sigResized.connect(self._fit_rows)
        self.gantt.scene().sigMouseMoved.connect(self._hover)
        self.gantt.scene().sigMouseClicked.connect(self._clicked)
        self.scroll = QScrollBar(Qt.Vertical)  # through the orders when not all fit
        self.scroll.valueChanged.connect(self._show_rows)
        self.key = QLabel(KEY)
        self.key.setStyleSheet("color: #707070")
        self.key.setToolTip("Each order's bar runs from its release to its median (P50) "
                            "completion over the replications; the whiskers span P10 to P90, "
                            "the red mark is its due date. Green: late in at most 1 "
                            "replication in 10, amber: more often, red: late more often than "
                            "not.")
        chart = QWidget()
        cl = QVBoxLayout(chart)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(2)
        row = QHBoxLayout()
        row.setSpacing(0)
        row.addWidget(self.gantt, 1)
        row.addWidget(self.scroll)
        cl.addLayout(row, 1)
        cl.addWidget(self.key)
        self.split = QSplitter(Qt.Horizontal)
        self.split.setChildrenCollapsible(False)
        self.split.addWidget(self.table)
        self.split.addWidget(chart)
        self.split.setSizes([1000, 1000])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.split)
        self.orders: dict = {}
        self.ids: list[str] = []
        self.visible_rows = 1
        self.clear()

    # --- layout -------------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt)
        # wide and low (a bottom dock): side by side; tall (a floating or side dock): stacked
        want = Qt.Horizontal if self.width() > 1.5 * self.height() else Qt.Vertical
        if self.split.orientation() != want:
            self.split.setOrientation(want)
            self.split.setSizes([1000, 1000])
        super().resizeEvent(event)

    def _fit_rows(self, *_args) -> None:
        """As many orders as fit at ``ROW_PX`` each; the scroll bar covers the rest."""
        height = self.gantt.getViewBox().sceneBoundingRect().height()
        self.visible_rows = max(1, int(height // ROW_PX))
        n = len(self.ids)
        hidden = max(0, n - self.visible_rows)
        self.scroll.setRange(0, hidden)
        self.scroll.setPageStep(self.visible_rows)
        self.scroll.setVisible(hidden > 0)
        self._show_rows()

    def _show_rows(self, *_args) -> None:
        if not self.ids:
            return
        top = self.scroll.value()
        rows = min(self.visible_rows, len(self.ids))
        self.gantt.setYRange(top - 0.5, top + rows - 0.5, padding=0)

    def shown_orders(self) -> list[str]:
        """The ids of the orders whose bars are in view, top to bottom."""
        top = self.scroll.value()
        return self.ids[top:top + self.visible_rows]

    # --- the orders ---------------------------------------------------------------------------
    def clear(self, text: str = "No orders: give a source an order list") -> None:
        self.orders = {}
        self.ids = []
        self.table.setRowCount(0)
        self.gantt.clear()
        self.gantt.setToolTip("")
        self.gantt.getAxis("left").setTicks(None)
        self.scroll.setRange(0, 0)
        self.scroll.setVisible(False)
        hint = pg.TextItem(text, color="#808080", anchor=(0.5, 0.5))
        hint.setPos(0.5, 0.5)
        self.gantt.addItem(hint)
        self.gantt.setYRange(0, 1, padding=0)
        self.gantt.setXRange(0, 1, padding=0)

    def show_orders(self, orders: dict) -> None:
        """Show a scenario's ``summary["orders"]`` (sorted by risk, the riskiest first)."""
        if not orders:
            self.clear()
            return
        self.orders = orders
        self.ids = list(orders)
        self.table.blockSignals(True)
        self.table.setRowCount(len(orders))
        for r, (oid, o) in enumerate(orders.items()):
            lo, hi = o["p_on_time_ci95"]
            cells = (oid, o["product"], str(o["quantity"]), _h(o["due_s"]),
                     f"{o['p_on_time']:.3f}", f"{lo:.3f}-{hi:.3f}", _h(o["completion_p10_s"]),
                     _h(o["completion_p50_s"]), _h(o["completion_p90_s"]),
                     _h(o["mean_tardiness_s"]))
            tip = order_figures(oid, o)
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(tip)
                if c == 4:
                    item.setBackground(risk_colour(o["p_late"]))
                    item.setForeground(QColor("black"))
                self.table.setItem(r, c, item)
        self.table.blockSignals(False)
        self.table.resizeColumnsToContents()
        self._draw_gantt()

    def _draw_gantt(self) -> None:
        g = self.gantt
        g.clear()
        g.setToolTip("")
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
        g.addItem(pg.ScatterPlotItem(x=due, y=y, symbol="|", size=16,
                                     pen=pg.mkPen("#c02020", width=3), brush=None))
        left = g.getAxis("left")
        left.setTicks([[(float(k), str(oid)) for k, oid in enumerate(self.ids)]])
        width = max(g.fontMetrics().horizontalAdvance(oid) for oid in self.ids)
        left.setWidth(min(width + 12, 160))  # every id readable, never more than 160 px
        x_hi = np.nanmax(np.concatenate([p90, due, end]))
        g.setXRange(0.0, float(x_hi) * 1.05 if x_hi > 0 else 1.0, padding=0)
        self.scroll.setValue(0)
        self._fit_rows()

    # --- hover and click ----------------------------------------------------------------------
    def order_at(self, scene_pos) -> str | None:
        """The order whose bar row is at ``scene_pos`` (a point of the chart's scene)."""
        vb = self.gantt.getViewBox()
        if not self.ids or not vb.sceneBoundingRect().contains(scene_pos):
            return None
        k = int(round(vb.mapSceneToView(scene_pos).y()))
        return self.ids[k] if 0 <= k < len(self.ids) else None

    def _hover(self, scene_pos) -> None:
        oid = self.order_at(scene_pos)
        self.gantt.setToolTip(order_figures(oid, self.orders[oid]) if oid else "")

    def _clicked(self, ev) -> None:
        oid = self.order_at(ev.scenePos())
        if oid is not None:
            self.select(oid)

    def select(self, oid: str) -> None:
        """Select order ``oid`` in the table and bring its bar into view."""
        k = self.ids.index(oid)
        self.table.selectRow(k)
        self.table.scrollToItem(self.table.item(k, 0))
        self._scroll_to(k)

    def _scroll_to(self, k: int) -> None:
        top = self.scroll.value()
        if k < top:
            self.scroll.setValue(k)
        elif k >= top + self.visible_rows:
            self.scroll.setValue(k - self.visible_rows + 1)

    def _table_selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self._scroll_to(rows[0].row())
