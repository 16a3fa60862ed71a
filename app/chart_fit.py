"""Legends and placeholder notes that fit their chart at any size the window gives it.

At the default window size a chart under the 3D view is about 100 px high and the Compare
tab's plot a third of the width: a fifth scenario's name stood under the throughput chart's
bottom edge and "No results yet…" ran past both sides of the Compare plot (polish2 §2).
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextOption

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
    width = max(40.0, pi.vb.width() - 12)
    for item in pi.items:
        if isinstance(item, ChartNote) and item.textItem.textWidth() != width:
            item.setTextWidth(width)


def keep_fitted(plot: pg.PlotWidget) -> None:
    """``fit_chart`` whenever ``plot``'s plot area is resized: after the chart's layout has
    placed its axes (the widget's own resize comes before, with the old plot area's width)."""
    plot.getPlotItem().vb.sigResized.connect(lambda *_: fit_chart(plot))
