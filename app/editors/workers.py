"""The worker pools editor (issue 18 §3): one row per pool, people, walking speed, skills,
whether it follows the shift calendar, and where its people start.

The project reader (``twin.projectfile.workers``) judges the whole list, so the editor
refuses what a file would, with the same message; an accepted list is ``committed``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QTableWidgetItem

from app.editors.rows import RowsEditor
from twin.errors import Problems
from twin.model.workers import WorkerPool
from twin.projectfile.workers import pools_to_json, read_worker_pools

COLUMNS = ("id", "people", "speed m/s", "skills", "on calendar", "home")


class WorkersEditor(RowsEditor):
    """The project's worker pools; ``committed(list of WorkerPool)`` once the reader accepts.
    A station takes a worker through its ``workers`` field in the inspector."""

    def __init__(self, parent=None):
        hint = QLabel('A station needs a worker through its "workers" field in the inspector, '
                      'e.g. {"repair": "technicians", "process": "operators"}.')
        super().__init__(COLUMNS, "Add pool", (hint,), parent)

    def set_value(self, pools: list[WorkerPool]) -> None:
        self._loading = True
        self.table.setRowCount(0)
        for p in pools_to_json(pools):
            self._add_row(p)
        self.show_problems([])
        self._loading = False

    def _add_row(self, p: dict) -> None:
        i = self.table.rowCount()
        self.table.insertRow(i)
        cells = (p["id"], str(p.get("count", 1)), f"{p.get('speed', 1.0):g}",
                 ", ".join(p.get("skills", ())), None, p.get("home", ""))
        for col, text in enumerate(cells):
            item = QTableWidgetItem("" if text is None else text)
            if col == 4:
                item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsUserCheckable)
                item.setCheckState(Qt.Checked if p.get("follows_calendar") else Qt.Unchecked)
            self.table.setItem(i, col, item)

    def _add_new(self) -> None:
        taken = {self._cell(r, 0) for r in range(self.table.rowCount())}
        k = 1
        while f"pool{k}" in taken:
            k += 1
        self._loading = True
        self._add_row({"id": f"pool{k}", "count": 1, "speed": 1.0})
        self._loading = False
        self.finish()

    def value(self) -> list[dict]:
        """The JSON form of what the table holds (numbers as typed: the reader judges)."""
        out = []
        for r in range(self.table.rowCount()):
            d: dict = {"id": self._cell(r, 0)}
            for key, col in (("count", 1), ("speed", 2)):
                text = self._cell(r, col)
                try:
                    d[key] = int(text) if key == "count" and text.isdigit() else float(text)
                except ValueError:
                    d[key] = text  # the reader names it: "must be a finite number"
            skills = [s.strip() for s in self._cell(r, 3).split(",") if s.strip()]
            if skills:
                d["skills"] = skills
            check = self.table.item(r, 4)
            if check is not None and check.checkState() == Qt.Checked:
                d["follows_calendar"] = True
            if self._cell(r, 5):
                d["home"] = self._cell(r, 5)
            out.append(d)
        return out

    def read(self, obj: list[dict]) -> tuple[list[WorkerPool], list[str]]:
        problems = Problems()
        pools = read_worker_pools(obj, problems)
        return pools, [p.format() for p in problems.items]
