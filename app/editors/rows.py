"""A table of rows with Add and Remove buttons and the reader's refusal below it: the base
of the list editors (worker pools, a source's orders). A subclass fills rows (``_add_row``),
reads them back (``value``) and judges them (``finish``)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from app.editors.fields import remove_chosen_rows


class RowsEditor(QWidget):
    """``columns`` headed table; ``add_text`` names the Add button; ``notes`` are grey
    labels between the buttons and the error. ``committed`` carries an accepted value."""

    committed = Signal(object)

    def __init__(self, columns: tuple[str, ...], add_text: str, notes: tuple[QLabel, ...] = (),
                 parent=None):
        super().__init__(parent)
        self._loading = False
        self.table = QTableWidget(0, len(columns))
        self.table.setHorizontalHeaderLabels(list(columns))
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemChanged.connect(lambda _it: self.finish())
        self.add = QPushButton(add_text)
        self.remove = QPushButton("Remove")
        self.add.clicked.connect(self._add_new)
        self.remove.clicked.connect(self._remove)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add)
        buttons.addWidget(self.remove)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d03030")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.table, 1)
        lay.addLayout(buttons)
        for note in notes:
            note.setWordWrap(True)
            note.setStyleSheet("color: gray")
            lay.addWidget(note)
        lay.addWidget(self.error)

    def _add_new(self) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        raise NotImplementedError

    def _remove(self) -> None:
        remove_chosen_rows(self.table)
        self.finish()

    def _cell(self, r: int, c: int) -> str:
        item = self.table.item(r, c)
        return item.text().strip() if item is not None else ""

    def show_problems(self, msgs: list[str]) -> None:
        self.error.setText("\n".join(msgs))
        self.error.setVisible(bool(msgs))
