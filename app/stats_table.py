"""The per-element statistics table, the 3D view's tooltips with the same figures, and the
colour legend of the 3D view.

The rows are ``twin.sim.report.element_rows`` of the run's summary: every figure
``twinbench run`` prints per element, as ``mean ± 95% half-width`` to the precision of its
interval (``twin.sim.stats.format_ci``). A click on a header sorts by the means, not by
the text ("10 ± 1" after "9 ± 1").
"""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from app.theme import NO_DATA_RGB, STATE_COLORS, utilisation_color
from app.vtk_widget import native_overlay
from twin.oee import FIGURE_HELP
from twin.sim.report import element_columns, element_label, element_rows, element_tooltip
from twin.sim.stats import format_ci

NO_RESULTS = "No results yet: run the project (F5) to see every element's figures here"


class NumericItem(QTableWidgetItem):
    """A cell that sorts by its number (``Qt.UserRole``); no number sorts last."""

    def __init__(self, text: str, value: float | None):
        super().__init__(text)
        self.setData(Qt.UserRole, value)
        self.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)

    def __lt__(self, other):  # Qt's sort calls it
        a, b = self.data(Qt.UserRole), other.data(Qt.UserRole)
        if a is None or b is None:
            # blanks (a figure the element has not) last in either order
            table = self.tableWidget()
            descending = (table is not None and table.horizontalHeader().sortIndicatorOrder()
                          == Qt.DescendingOrder)
            return (a is None and b is not None) if descending else \
                (a is not None and b is None)
        return a < b


def _value(stat: dict | None) -> float | None:
    if stat is None:
        return None
    m = stat["mean"]
    return None if m is None or (isinstance(m, float) and math.isnan(m)) else float(m)


class StatsTable(QWidget):
    """Every element's figures of one scenario of the last run, sortable."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.summary: dict = {}
        self.scenario = QComboBox()
        self.scenario.setToolTip("Scenario whose figures the table shows")
        self.scenario.currentTextChanged.connect(self._fill)
        self.note = QLabel(NO_RESULTS)
        self.table = QTableWidget()
        self.table.setSortingEnabled(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        top = QHBoxLayout()
        top.addWidget(QLabel("Scenario"))
        top.addWidget(self.scenario)
        top.addWidget(self.note, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.table, 1)

    def show_summary(self, summary: dict | None) -> None:
        """Show ``summary`` (``RunResult.summary()``); None empties the table."""
        self.summary = summary or {}
        current = self.scenario.currentText()
        self.scenario.blockSignals(True)
        self.scenario.clear()
        self.scenario.addItems(list(self.summary))
        if current in self.summary:
            self.scenario.setCurrentText(current)
        self.scenario.blockSignals(False)
        self._fill(self.scenario.currentText())

    def _fill(self, name: str) -> None:
        t = self.table
        t.setSortingEnabled(False)  # filling a sorted table moves rows under the loop
        t.clear()
        doc = self.summary.get(name)
        if doc is None:
            t.setRowCount(0)
            t.setColumnCount(0)
            self.note.setText(NO_RESULTS)
            return
        self.note.setText(f"{doc['replications']} replications; mean ± 95% interval; "
                          "click a header to sort")
        cols = element_columns(doc)
        rows = element_rows(doc)
        t.setColumnCount(2 + len(cols))
        t.setRowCount(len(rows))
        t.setHorizontalHeaderLabels(["element", "kind",
                                     *(f"{label}\n({unit})" for _, label, unit in cols)])
        for j, (key, _, _) in enumerate(cols):  # what an OEE figure counts (twin.oee)
            if key in FIGURE_HELP:
                t.horizontalHeaderItem(2 + j).setToolTip(FIGURE_HELP[key])
        for i, (eid, kind, stats) in enumerate(rows):
            t.setItem(i, 0, QTableWidgetItem(element_label(doc, eid)))
            t.setItem(i, 1, QTableWidgetItem(kind))
            for j, stat in enumerate(stats):
                t.setItem(i, 2 + j, NumericItem("" if stat is None else format_ci(stat),
                                                _value(stat)))
        t.resizeColumnsToContents()
        t.setSortingEnabled(True)

    def column(self, label: str) -> int:
        """The column whose header starts with ``label`` (tests, sorting by name)."""
        for j in range(self.table.columnCount()):
            if self.table.horizontalHeaderItem(j).text().split("\n")[0] == label:
                return j
        raise KeyError(label)

    def tooltip(self, eid: str) -> str:
        """The figures of element ``eid`` in the scenario shown ("" without a run)."""
        name = self.scenario.currentText()
        doc = self.summary.get(name)
        return element_tooltip(doc, eid, name) if doc else ""


class HoverTips(QObject):
    """Tooltips over the 3D view: what each source says of the hovered element (its faults
    from ``app.problem_marks``, its figures from the statistics table), one after the other.
    One event filter on the view's VTK widget, so the view itself stays as it is; a second
    filter would take every tooltip event from the first."""

    def __init__(self, view, *sources):
        super().__init__(view)
        self.view, self.sources = view, sources
        view.vtk.installEventFilter(self)

    def text_at(self, x: int, y: int) -> str:
        eid = self.view.element_at(x, y)
        if eid is None:
            return ""
        return "\n\n".join(t for t in (s.tooltip(eid) for s in self.sources) if t)

    def eventFilter(self, obj, ev):  # noqa: N802 - Qt override
        if ev.type() == QEvent.ToolTip:
            text = self.text_at(ev.pos().x(), ev.pos().y())
            if text:
                QToolTip.showText(ev.globalPos(), text, obj)
            else:
                QToolTip.hideText()
                ev.ignore()
            return True
        return False


def _swatch(rgb) -> str:
    c = QColor.fromRgbF(*rgb)
    return f'<span style="background-color:{c.name()}">&nbsp;&nbsp;&nbsp;&nbsp;</span>'


LEGEND_TITLES = {"utilisation": "Utilisation (last run, first scenario)",
                 "state": "State (playback)", "replay": "State (recording)",
                 "live": "State (live)"}


class ColourLegend(QLabel):
    """What the colours of the 3D view mean, in its top-left corner; hidden when the
    elements wear their own colours."""

    def __init__(self, view):
        super().__init__(view)
        self.setObjectName("colour_legend")
        self.setTextFormat(Qt.RichText)
        # readable over the light floor in both themes: its own colours, not the theme's.
        # Opaque: the view under it is a native GL window, so a translucent label blends
        # each paint with its own last one, not with the floor, and a legend switched from
        # "State (recording)" to "State (live)" kept the old title showing behind the new
        self.setStyleSheet("QLabel#colour_legend { background: rgb(255,255,255); "
                           "color: #111; border: 1px solid #999; padding: 4px; }")
        self.setAttribute(Qt.WA_TransparentForMouseEvents)
        native_overlay(self)
        self.mode = "plain"
        self.move(8, 8)
        self.hide()

    def show_mode(self, mode: str) -> None:
        """The legend of colouring ``mode`` (``plain``, ``utilisation``, ``state``,
        ``replay``)."""
        self.mode = mode
        if mode not in LEGEND_TITLES:
            self.hide()
            return
        if mode == "utilisation":
            entries = [(utilisation_color(u), f"{u:.0%}") for u in (0.0, 0.25, 0.5, 0.75, 1.0)]
        else:
            entries = [(rgb, state) for state, rgb in STATE_COLORS.items()]
            if mode in ("replay", "live"):  # a recording's gaps: no state to show
                entries.append((NO_DATA_RGB, "no data"))
        rows = "".join(f"<tr><td>{_swatch(rgb)}</td><td>{label}</td></tr>"
                       for rgb, label in entries)
        self.setText(f"<b>{LEGEND_TITLES[mode]}</b><table>{rows}</table>")
        self.adjustSize()
        self.show()
        self.raise_()

    def entries(self) -> list[str]:
        """The legend's labels, top to bottom (tests)."""
        import re

        return re.findall(r"<td>([^<]+)</td>", self.text())
