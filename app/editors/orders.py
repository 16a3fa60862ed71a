"""The orders editor of an order source (issue 18 §4): one row per order, its id, product,
quantity, release and due times and priority.

The project reader (``twin.projectfile.orders``) judges the whole list, so the editor
refuses what a file would, with the same message and JSON path; an accepted list is
``committed``. Orders read from a CSV beside the project show here and, once edited, are
kept in the project file itself (the inspector clears ``orders_file``).
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QTableWidgetItem

from app.editors.rows import RowsEditor
from twin.units import format_duration

COLUMNS = ("id", "product", "quantity", "release", "due", "priority")


def _time_text(v) -> str:
    return format_duration(float(v)) if isinstance(v, int | float) else str(v)


def _number(text: str):
    """A typed number as a number, anything else as typed (the reader names the fault)."""
    try:
        x = float(text)
    except ValueError:
        return text
    return int(x) if x == int(x) else x


class OrdersEditor(RowsEditor):
    """The orders of a source; ``committed(list of order objects)`` on each edit (the
    inspector has the project reader judge it)."""

    def __init__(self, parent=None):
        self.file_note = QLabel("")
        super().__init__(COLUMNS, "Add order", (self.file_note,), parent)
        self.table.verticalHeader().setVisible(False)
        self.table.setMinimumHeight(140)
        self.show_problems([])

    def set_value(self, orders: list[dict] | None, file: str = "") -> None:
        """Show ``orders`` (their JSON form); ``file``: the CSV they were read from."""
        self._loading = True
        self.table.setRowCount(0)
        for o in orders or []:
            self._add_row(o)
        self.file_note.setText(f"Read from {file}; an edit keeps them in the project file"
                               if file else "")
        self.file_note.setVisible(bool(file))
        self.show_problems([])
        self._loading = False

    def _add_row(self, o: dict) -> None:
        i = self.table.rowCount()
        self.table.insertRow(i)
        cells = (str(o.get("id", "")), str(o.get("product", "")), str(o.get("quantity", "")),
                 _time_text(o.get("release", "")), _time_text(o.get("due", "")),
                 f"{o['priority']:g}" if o.get("priority") else "")
        for col, text in enumerate(cells):
            self.table.setItem(i, col, QTableWidgetItem(text))

    def _add_new(self) -> None:
        rows = self.value()
        taken = {o["id"] for o in rows}
        k = len(rows) + 1
        while f"order{k}" in taken:
            k += 1
        last = rows[-1] if rows else {"product": "part", "release": 0, "due": "8h"}
        self._loading = True
        self._add_row({"id": f"order{k}", "product": last.get("product", "part"),
                       "quantity": 1, "release": last.get("release", 0),
                       "due": last.get("due", "8h")})
        self._loading = False
        self.finish()

    def value(self) -> list[dict]:
        """The JSON form of what the table holds (as typed: the reader judges it)."""
        out = []
        for r in range(self.table.rowCount()):
            o: dict = {"id": self._cell(r, 0), "product": self._cell(r, 1)}
            for key, col in (("quantity", 2), ("release", 3), ("due", 4), ("priority", 5)):
                text = self._cell(r, col)
                if text or key != "priority":
                    o[key] = _number(text)
            out.append(o)
        return out

    def finish(self) -> None:
        """Commit the table: no rows at all make the source an order source no more."""
        if not self._loading:
            self.committed.emit(self.value() or None)
