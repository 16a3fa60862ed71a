"""What the plant dialog's table editors share (the shift calendar's periods, the worker
pools): a table whose every edit is judged whole by the project reader, its message shown in
red under the table, and the value ``committed`` once the reader accepts it."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QPushButton, QTableWidget, QWidget

from app.editors.fields import remove_chosen_rows


class TableEditor(QWidget):
    """A table of rows, a Remove button and an error line; ``committed(value)`` once
    :meth:`read` accepts what :meth:`value` holds. Subclasses lay the widgets out and give
    ``value`` (the JSON form, as typed), ``read`` and, optionally, ``accepted``."""

    committed = Signal(object)

    def __init__(self, columns: list[str], parent=None):
        super().__init__(parent)
        self._loading = False  # set while filling the table: no edit to judge
        self.table = QTableWidget(0, len(columns))
        self.table.setHorizontalHeaderLabels(list(columns))
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemChanged.connect(lambda _it: self.finish())
        self.remove = QPushButton("Remove")
        self.remove.clicked.connect(self._remove)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d03030")

    def value(self):
        raise NotImplementedError

    def read(self, obj) -> tuple[object, list[str]]:
        """``(value, messages)``: the reader's verdict on ``obj`` (no messages: accepted)."""
        raise NotImplementedError

    def accepted(self, value) -> None:
        """Called with an accepted value before it is committed."""

    def show_problems(self, msgs: list[str]) -> None:
        self.error.setText("\n".join(msgs))
        self.error.setVisible(bool(msgs))

    def _remove(self) -> None:
        remove_chosen_rows(self.table)
        self.finish()

    def finish(self) -> None:
        if self._loading:
            return
        value, msgs = self.read(self.value())
        self.show_problems(msgs)
        if not msgs:
            self.accepted(value)
            self.committed.emit(value)
