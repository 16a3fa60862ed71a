"""The editor of a station's bill of materials (issue 18): whether the station assembles,
a row per predecessor with the quantity each assembled part consumes and the capacity of
its place at the station, and the assembled product.

It shows the field's JSON form (``twin.projectfile.writer.assembly_to_json``) and emits
``committed(value)`` with the new JSON form (None: not an assembly); the inspector checks it
with the project reader and shows the reader's messages with ``show_problems``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QLabel,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

FROM, QUANTITY, CAPACITY = range(3)


def _cell_value(text: str):
    """A cell as the reader takes it: a whole number, or the text for the reader to refuse."""
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        return text


class AssemblyEditor(QWidget):
    """Bill of materials: on or off, and per predecessor a quantity (0 or empty: not in the
    bill) and a capacity (empty: one set); rows keep the bill's order, the predecessors not
    in it follow in the order of their connections."""

    committed = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._loading = False
        self.enabled = QCheckBox("assembles parts from its inputs")
        self.enabled.setToolTip("A server starts when every input holds its quantity, "
                                "consumes them and works on one part (docs/semantics.md)")
        self.enabled.toggled.connect(self._toggled)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["from", "quantity", "capacity"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setMinimumWidth(60)
        self.table.verticalHeader().setVisible(False)
        self.table.setToolTip("quantity: parts of this input per assembled part (0: not an "
                              "input); capacity: parts that can wait for it (empty: one set)")
        self.table.itemChanged.connect(self._cell_changed)
        self.product = QLineEdit()
        self.product.setPlaceholderText("assembled product (empty: the first input's)")
        self.product.editingFinished.connect(self._emit)
        self.hint = QLabel("")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: gray")
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d03030")
        self.error.setVisible(False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        for w in (self.enabled, self.table, self.product, self.hint, self.error):
            lay.addWidget(w)

    def set_value(self, value: dict | None, predecessors: list[str] = ()) -> None:
        """Show ``value`` (the JSON form, None: off) for a station with these predecessors."""
        self._loading = True
        on = isinstance(value, dict)
        self.enabled.setChecked(on)
        inputs = list(value.get("inputs", [])) if on else []
        named = [i.get("from") for i in inputs]
        rows = inputs + [{"from": p} for p in predecessors if p not in named]
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            src = QTableWidgetItem(str(row.get("from", "")))
            src.setFlags(src.flags() & ~Qt.ItemIsEditable)
            self.table.setItem(r, FROM, src)
            q = row.get("quantity", 1) if row in inputs else 0
            self.table.setItem(r, QUANTITY, QTableWidgetItem(str(q)))
            cap = row.get("capacity")
            self.table.setItem(r, CAPACITY, QTableWidgetItem("" if cap is None else str(cap)))
        height = self.table.verticalHeader().defaultSectionSize()
        self.table.setFixedHeight(height * (len(rows) + 1) + 6)
        self.product.setText(value.get("product", "") if on else "")
        for w in (self.table, self.product):
            w.setVisible(on)
        self.hint.setText("" if rows or not on else "connect the elements that feed it: each "
                          "predecessor becomes a row here")
        self.hint.setVisible(on and not rows)
        self.show_problems([])
        self._loading = False

    def show_problems(self, msgs: list[str]) -> None:
        self.error.setText("\n".join(msgs))
        self.error.setVisible(bool(msgs))

    def value(self) -> dict | None:
        """The JSON form of what the editor shows (None: not an assembly)."""
        if not self.enabled.isChecked():
            return None
        inputs = []
        for r in range(self.table.rowCount()):
            q = _cell_value(self.table.item(r, QUANTITY).text())
            if q in (0, ""):
                continue
            row = {"from": self.table.item(r, FROM).text(), "quantity": q}
            cap = _cell_value(self.table.item(r, CAPACITY).text())
            if cap != "":
                row["capacity"] = cap
            inputs.append(row)
        out: dict = {"inputs": inputs}
        if self.product.text().strip():
            out["product"] = self.product.text().strip()
        return out

    def set_cell(self, row: int, column: int, text: str) -> None:
        """Type ``text`` into a cell as a user's edit does (tests)."""
        self.table.item(row, column).setText(text)

    def _toggled(self, on: bool) -> None:
        if self._loading:
            return
        if on:  # every predecessor an input of one part, as a start: one edit, one command
            self._loading = True
            for r in range(self.table.rowCount()):
                if self.table.item(r, QUANTITY).text().strip() in ("", "0"):
                    self.table.item(r, QUANTITY).setText("1")
            self._loading = False
        self._emit()

    def _cell_changed(self, item: QTableWidgetItem) -> None:
        if not self._loading and item.column() != FROM:
            self._emit()

    def _emit(self) -> None:
        if not self._loading:
            self.committed.emit(self.value())
