"""The cost breakdown per station and state (issue 19 §4): a stacked bar (the energy part of
each station's cost, stacked by state) and a Sankey-style flow (grid / PV / battery ->
stations -> states, band widths in kWh), drawn from a ``twin.energy_breakdown.Breakdown``
that the run's worker (``twin.sim.energy.scenario_breakdown``) or the recording's job
(``twin.recording.energy.recording_breakdown``) computes. The Sankey is QPainterPath bands
in a QGraphicsScene: no dependency beyond Qt."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsScene, QGraphicsView, QSplitter

from app.energy_chart import NotedChart
from app.theme import STATE_COLORS, chart
from twin.energy_breakdown import node_balance, sankey_flows

NO_CONTEXT = ("No energy context: give the project prices under Edit > Calendar and "
              "energy…, then run")
SUPPLY_COLORS = {"grid": (0.84, 0.15, 0.16), "PV": (0.90, 0.65, 0.0),
                 "battery": (0.17, 0.63, 0.17)}
OTHER = (0.6, 0.6, 0.6)  # a state the theme has no colour for (a new kernel state)


def _qcolor(rgb, alpha: int = 255) -> QColor:
    return QColor(int(rgb[0] * 255), int(rgb[1] * 255), int(rgb[2] * 255), alpha)


def _node_color(node: str) -> QColor:
    kind, name = node.split(":", 1)
    if kind == "supply":
        return _qcolor(SUPPLY_COLORS.get(name, OTHER))
    if kind == "state":
        return _qcolor(STATE_COLORS.get(name, OTHER))
    return QColor(110, 130, 160)


class SankeyView(QGraphicsView):
    """Three columns of nodes (supplies, stations, states), each a bar as tall as its kWh,
    joined by bands as wide as the flows."""

    WIDTH, HEIGHT, BAR, GAP = 720.0, 400.0, 14.0, 10.0

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.Antialiasing)
        self.nodes: dict[str, QRectF] = {}  # node -> its bar (tests, tooltips)
        self.bands: list = []  # (flow, path item)

    def draw(self, flows, unit: str = "kWh") -> None:
        scene = self.scene()
        scene.clear()
        self.nodes, self.bands = {}, []
        if not flows:
            return
        balance = node_balance(flows)
        size = {n: max(i, o) for n, (i, o) in balance.items()}
        columns = [[n for n in balance if n.startswith(k)]
                   for k in ("supply:", "station:", "state:")]
        total = max(sum(size[n] for n in col) for col in columns if col)
        gaps = max(len(c) for c in columns) * self.GAP
        scale = (self.HEIGHT - gaps) / total if total > 0 else 0.0
        for c, col in enumerate(columns):
            x = c * (self.WIDTH - self.BAR) / 2.0
            y = 0.0
            for n in col:
                h = max(size[n] * scale, 1.0)
                rect = QRectF(x, y, self.BAR, h)
                self.nodes[n] = rect
                item = scene.addRect(rect, QPen(Qt.NoPen), QBrush(_node_color(n)))
                item.setToolTip(f"{n.split(':', 1)[1]}: {size[n]:,.1f} {unit}")
                label = scene.addSimpleText(n.split(":", 1)[1])
                label.setBrush(QBrush(self.palette().text().color()))
                lx = x + self.BAR + 4 if c < 2 else x - label.boundingRect().width() - 4
                label.setPos(lx, y + h / 2 - label.boundingRect().height() / 2)
                y += h + self.GAP
        out_y = {n: r.top() for n, r in self.nodes.items()}
        in_y = dict(out_y)
        for f in flows:
            a, b = self.nodes[f.source], self.nodes[f.target]
            w = f.kwh * scale
            y0, y1 = out_y[f.source], in_y[f.target]
            out_y[f.source] += w
            in_y[f.target] += w
            x0, x1 = a.right(), b.left()
            mid = (x0 + x1) / 2.0
            path = QPainterPath()
            path.moveTo(x0, y0)
            path.cubicTo(mid, y0, mid, y1, x1, y1)
            path.lineTo(x1, y1 + w)
            path.cubicTo(mid, y1 + w, mid, y0 + w, x0, y0 + w)
            path.closeSubpath()
            color = _node_color(f.source if f.source.startswith("supply:") else f.target)
            color.setAlpha(110)
            item = scene.addPath(path, QPen(Qt.NoPen), QBrush(color))
            item.setToolTip(f"{f.source.split(':', 1)[1]} -> {f.target.split(':', 1)[1]}: "
                            f"{f.kwh:,.1f} {unit}, {f.cost:,.2f}")
            item.setZValue(-1)
            self.bands.append((f, item))
        self.fitInView(scene.itemsBoundingRect().adjusted(-10, -10, 10, 10),
                       Qt.KeepAspectRatio)

    def resizeEvent(self, event):
        super().resizeEvent(event)
        if self.scene() is not None and self.nodes:
            self.fitInView(self.scene().itemsBoundingRect().adjusted(-10, -10, 10, 10),
                           Qt.KeepAspectRatio)


class EnergyBreakdownChart(NotedChart):
    """The stacked bar beside the Sankey; :meth:`draw` shows a ``Breakdown``."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.bar = chart("Energy cost per station, stacked by state", "cost", "station",
                         legend_offset=(-10, 10))
        self.sankey = SankeyView()
        split = QSplitter(Qt.Horizontal)
        split.addWidget(self.bar)
        split.addWidget(self.sankey)
        self._lay_out(split)
        self.stacks: dict[str, np.ndarray] = {}  # state -> cost per station (drawn)
        self.data = None
        self.clear()

    def clear(self, hint: str = NO_CONTEXT) -> None:
        self.bar.clear()
        self.bar.getPlotItem().legend.clear()
        self.sankey.draw([])
        self.stacks, self.data = {}, None
        self.note.setText(hint)

    def _draw(self, data) -> None:
        """Show ``data``, a ``twin.energy_breakdown.Breakdown``."""
        self.data = data
        x = np.arange(len(data.stations))
        bottom = np.zeros(len(x))
        self.bar.setLabel("left", f"energy cost ({data.currency})")
        for j, state in enumerate(data.states):
            h = data.cost[:, j]
            if not h.any():
                continue
            item = pg.BarGraphItem(x=x, height=h, y0=bottom, width=0.6,
                                   brush=pg.mkBrush(_qcolor(STATE_COLORS.get(state, OTHER))),
                                   name=state)
            self.bar.addItem(item)
            self.bar.getPlotItem().legend.addItem(item, state)
            self.stacks[state] = h.copy()
            bottom = bottom + h
        self.bar.getAxis("bottom").setTicks([list(enumerate(data.stations))])
        self.sankey.draw(sankey_flows(data))
        sup = ", ".join(f"{k} {v:,.1f} kWh" for k, v in data.supplies.items())
        what = (f"Means of {data.replications} replications after the warm-up"
                if data.replications else "The recording, exactly from its power and "
                "state channels")
        self.note.setText(
            f"{what}. Energy part per station ({data.currency}) split over its states by "
            f"their kWh (at the station's mean price per kWh); the demand charge is the "
            f"line's and is not split. Supplies of the load: {sup}.")

    def total_cost(self) -> float:
        """The height of all the bars (tests, scripts)."""
        return float(sum(h.sum() for h in self.stacks.values()))
