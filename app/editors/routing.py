"""The routing editor: the split rule from a list and the weight of each outgoing connection.

``committed(rule)`` carries a new rule (a ``SetField`` of ``routing``); ``weight_committed(
target, weight)`` a new weight (a ``SetWeight``), once the project reader accepts it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.editors.fields import Choice, narrow, number_text
from twin.model.elements import ROUTINGS, Connection
from twin.projectfile.reader import read_connection  # the file's own check of a connection


def check_weight(source: str, target: str, text: str) -> tuple[float | None, list[str]]:
    """The weight typed for ``source -> target``, or the reader's reason to refuse it."""
    try:
        w = float(text)
    except ValueError:
        return None, [f"weight {source} -> {target}: expected a number, got {text!r}"]
    conn, problems = read_connection(source, target, w)
    return (conn.weight if conn else None), problems


class RoutingEditor(QWidget):
    """Split rule and per-connection weights of one element's outgoing connections."""

    committed = Signal(object)
    weight_committed = Signal(str, float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.source = ""
        self._loading = False
        self.rule = narrow(Choice(), 6)
        self.rule.addItems(list(ROUTINGS))
        self.rule.setToolTip("probability: split by the weights; round_robin: in turn; "
                             "shortest_queue: to the emptiest next element")
        self.rule.activated.connect(lambda _i: self.committed.emit(self.rule.currentText()))
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["to", "weight"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setMinimumWidth(60)  # a narrow dock scrolls the table, not the inspector
        self.table.verticalHeader().setVisible(False)
        self.table.itemChanged.connect(self._cell_changed)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d03030")
        self.error.setVisible(False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.rule)
        lay.addWidget(self.table)
        lay.addWidget(self.error)

    def set_value(self, rule: str, source: str = "", outgoing: list[Connection] = ()) -> None:
        self._loading = True
        self.source = source
        self.rule.setCurrentText(rule)
        self.table.setRowCount(len(outgoing))
        for i, c in enumerate(outgoing):
            to = QTableWidgetItem(c.target)
            to.setFlags(to.flags() & ~Qt.ItemIsEditable)
            self.table.setItem(i, 0, to)
            self.table.setItem(i, 1, QTableWidgetItem(number_text(c.weight)))
        rows = self.table.verticalHeader().defaultSectionSize()
        self.table.setFixedHeight(rows * (len(outgoing) + 1) + 6)
        self.table.setVisible(bool(outgoing))
        self.show_problems([])
        self._loading = False

    def show_problems(self, msgs: list[str]) -> None:
        self.error.setText("\n".join(msgs))
        self.error.setVisible(bool(msgs))

    def _cell_changed(self, item: QTableWidgetItem) -> None:
        if self._loading or item.column() != 1:
            return
        target = self.table.item(item.row(), 0).text()
        weight, msgs = check_weight(self.source, target, item.text().strip())
        self.show_problems(msgs)
        if not msgs:
            self.weight_committed.emit(target, weight)
