"""A table editor with an Add button and grey notes under it: the base of the list editors
(worker pools, a source's orders). A subclass fills rows, adds a new one (``_add_new``),
reads them back (``value``) and judges them (``read``, or its own ``finish``)."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from app.editors.table import TableEditor


class RowsEditor(TableEditor):
    """``columns`` headed table; ``add_text`` names the Add button; ``notes`` are grey
    labels between the buttons and the error."""

    def __init__(self, columns: tuple[str, ...], add_text: str, notes: tuple[QLabel, ...] = (),
                 parent=None):
        super().__init__(list(columns), parent)
        self.add = QPushButton(add_text)
        self.add.clicked.connect(self._add_new)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add)
        buttons.addWidget(self.remove)
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

    def _cell(self, r: int, c: int) -> str:
        item = self.table.item(r, c)
        return item.text().strip() if item is not None else ""
