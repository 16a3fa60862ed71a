"""Legends and placeholder notes that fit their chart at any size the window gives it.

At the default window size a chart under the 3D view is about 100 px high and the Compare
tab's plot a third of the width: a fifth scenario's name stood under the throughput chart's
bottom edge and "No results yet…" ran past both sides of the Compare plot (polish2 §2).
There too, two long scenario names under their bars ran into one another and the
"* significant" marks above the bars stood half above the plot (polish3 §2): a bar chart's
names are elided to their bar's share of the width (whole in the axis' tooltip) and its
range keeps a mark's line of pixels above the highest bar, whatever the chart's height.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics, QTextOption

#: the legend's distance from the top of its chart (below the title), in pixels
LEGEND_TOP = 28


class ChartNote(pg.TextItem):
    """A chart's placeholder text, centred in its 0-1 ranged plot area and wrapped to the
    area's width; marks such as "▼ bottleneck" are plain ``TextItem`` and keep their line."""

    def __init__(self, text: str, color: str = "#808080"):
        super().__init__(text, color=color, anchor=(0.5, 0.5))
        self.textItem.document().setDefaultTextOption(QTextOption(Qt.AlignHCenter))
        self.setPos(0.5, 0.5)


def chart_note(plot: pg.PlotWidget, text: str) -> ChartNote:
    """Put ``text`` in the middle of ``plot`` (whose range the caller set to 0-1)."""
    note = ChartNote(text)
    plot.addItem(note)
    fit_chart(plot)
    return note


def fit_chart(plot: pg.PlotWidget) -> None:
    """Lay ``plot``'s legend out in as many columns as it needs to stand within the chart's
    height, keep room right of the plot area for it (none without entries), keep the chart
    as wide as its title, and wrap each note to the plot area's width."""
    pi = plot.getPlotItem()
    lg = pi.legend
    right = 0.0
    if lg is not None and lg.items:
        row = max(max(s.boundingRect().height(), label.boundingRect().height())
                  for s, label in lg.items) or 20.0
        rows = max(1, int((plot.viewport().height() - LEGEND_TOP - 6) // row))
        lg.setColumnCount(-(-len(lg.items) // rows))
        right = lg.boundingRect().width() + 8
    if pi.layout.getContentsMargins() != (0.0, 0.0, right, 0.0):
        pi.layout.setContentsMargins(0, 0, right, 0)
    # a graphics view does not pass its scene's minimum size on to the layout it stands in:
    # a splitter squeezed the Compare tab's chart below its title's width, cutting the title
    # and the middle of everything else off at the chart's right edge
    need = int(pi.effectiveSizeHint(Qt.MinimumSize).width()) + 2
    if plot.minimumWidth() != need:
        plot.setMinimumWidth(need)
    if getattr(plot, "categories", None):
        _fit_categories(plot, *plot.categories)
    width = max(40.0, pi.vb.width() - 12)
    for item in pi.items:
        if isinstance(item, ChartNote) and item.textItem.textWidth() != width:
            item.setTextWidth(width)


def keep_fitted(plot: pg.PlotWidget) -> None:
    """``fit_chart`` whenever ``plot``'s plot area is resized: after the chart's layout has
    placed its axes (the widget's own resize comes before, with the old plot area's width)."""
    plot.getPlotItem().vb.sigResized.connect(lambda *_: fit_chart(plot))


def set_categories(plot: pg.PlotWidget, names: list[str], top: float) -> None:
    """Name the bars at x = 0, 1, ... of ``plot`` under them, each name within its bar's
    share of the width, and keep room above ``top`` (the highest bar or interval, in data
    units) for one line of marks. ``names=[]`` forgets them (the chart shows a note)."""
    plot.categories = (list(names), float(top)) if names else None
    plot.getAxis("bottom").setToolTip(
        "Left to right:\n" + "\n".join(names) if names else "")
    fit_chart(plot)


def _fit_categories(plot: pg.PlotWidget, names: list[str], top: float) -> None:
    vb = plot.getPlotItem().vb
    axis = plot.getAxis("bottom")
    metrics = QFontMetrics(axis.style.get("tickFont") or plot.font())
    x0, x1 = vb.viewRange()[0]
    slot = int(vb.width() / max(x1 - x0, 1e-9)) - 8  # a gap between neighbours' names
    ticks = [(i, metrics.elidedText(n, Qt.ElideRight, max(slot, 12)))
             for i, n in enumerate(names)]
    if axis._tickLevels != [ticks]:
        axis.setTicks([ticks])
    # a mark is a line of the chart's font standing on its bar: as a share of the plot's
    # height that is more in a short chart (a fixed 20% cut the marks in two)
    marks = [i for i in plot.getPlotItem().items
             if isinstance(i, pg.TextItem) and not isinstance(i, ChartNote)]
    line = max((i.textItem.boundingRect().height() for i in marks),
               default=QFontMetrics(plot.font()).height() + 8)  # with its margins
    share = (line + 2) / vb.height() if vb.height() > 0 else 0.2
    y_max = max(top, 1e-9) / (1.0 - min(share, 0.6))
    if abs(vb.viewRange()[1][1] - y_max) > 1e-9 * y_max:
        plot.setYRange(0.0, y_max, padding=0)
    # a mark wider than its bar's share, over the first or last bar, slides inwards
    area = vb.sceneBoundingRect()
    for mark in marks:
        centre = vb.mapViewToScene(mark.pos()).x()
        width = mark.textItem.boundingRect().width()
        ax = 0.5
        if centre + width / 2 > area.right():
            ax = 1.0 - (area.right() - centre) / width
        elif centre - width / 2 < area.left():
            ax = (centre - area.left()) / width
        ax = min(max(ax, 0.0), 1.0)
        if abs(mark.anchor.x() - ax) > 1e-6:
            mark.setAnchor((ax, 1))
