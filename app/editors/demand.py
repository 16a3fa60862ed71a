"""The demand-response editor (issue 19 §2): one row per entry of the project's
``demand_response`` list, its stations, its windows, pause or slow, and the speed.

Windows are typed as ``start-end`` pairs with units as the calendar's times (``17h-19h;
41h-43h``, seconds from time 0, Monday 00:00), the repeat as a duration (``1d``); the
project reader
(``twin.projectfile.demand``) judges the whole list, so the editor refuses what a file
would (an unknown station, a window that ends before it starts, overlapping windows, a
speed above 1), with the same message and JSON path; an accepted list is ``committed``.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QTableWidgetItem

from app.editors.calendar import clock
from app.editors.fields import Choice
from app.editors.rows import RowsEditor
from twin.errors import Problems
from twin.model import elements as m
from twin.projectfile.demand import demand_response_to_json, read_demand_response
from twin.units import parse_duration

COLUMNS = ("stations", "windows", "action", "speed", "repeat")


def windows_text(windows) -> str:
    """``[[61200, 68400], ...]`` as typed in the table: ``17h-19h; ...``."""
    return "; ".join(f"{clock(a)}-{clock(b)}" for a, b in windows)


def parse_windows(text: str) -> list:
    """The ``[start, end]`` pairs of ``17h-19h; 41h-43h`` (seconds). A pair or a time that
    does not parse goes to the reader as typed, which names it with its JSON path."""
    out: list = []
    for part in (p.strip() for p in text.replace(",", ";").split(";")):
        if not part:
            continue
        cut = part.find("-", 1)  # a leading "-" is a sign: the reader refuses it
        if cut < 0:
            out.append(part)
            continue
        pair = []
        for side in (part[:cut].strip(), part[cut + 1:].strip()):
            try:
                pair.append(parse_duration(side))
            except ValueError:
                pair.append(side)
        out.append(pair)
    return out


class DemandResponseEditor(RowsEditor):
    """The project's demand-response entries; ``committed(list of DemandResponse)`` once
    the reader accepts them. :meth:`set_value` needs the project's station ids, which the
    reader checks the entries' stations against."""

    def __init__(self, parent=None):
        hint = QLabel("During each window the stations pause after their current part, or run "
                      "at the speed (a fraction of normal, e.g. 0.7). Stations: ids separated "
                      "by commas. Windows: start-end from time 0 (Monday 00:00), separated by "
                      "';', e.g. 17h-19h; 41h-43h. Repeat: every how long the windows come "
                      "back (1d: daily, 7d: weekly; empty: once).")
        super().__init__(COLUMNS, "Add window", (hint,), parent)
        self.station_ids: set[str] = set()

    def set_value(self, entries: list[m.DemandResponse], station_ids: set[str]) -> None:
        self._loading = True
        self.station_ids = set(station_ids)
        self.table.setRowCount(0)
        for dr in entries:
            self._add_row(demand_response_to_json(dr))
        self.show_problems([])
        self._loading = False

    def _add_row(self, d: dict) -> None:
        i = self.table.rowCount()
        self.table.insertRow(i)
        self.table.setItem(i, 0, QTableWidgetItem(", ".join(d["stations"])))
        self.table.setItem(i, 1, QTableWidgetItem(windows_text(d["windows"])))
        box = Choice()
        box.addItems(list(m.DEMAND_ACTIONS))
        box.setCurrentText(d.get("action", "pause"))
        box.setToolTip("pause: stop after the current part; slow: run at the speed")
        box.activated.connect(lambda _i: self.finish())
        self.table.setCellWidget(i, 2, box)
        speed = d.get("speed")
        self.table.setItem(i, 3, QTableWidgetItem("" if speed is None else f"{speed:g}"))
        repeat = d.get("repeat")
        self.table.setItem(i, 4, QTableWidgetItem(clock(repeat) if repeat else ""))

    def _add_new(self) -> None:
        """A pause of the first station (by id) in the evening peak of Monday, 17h-19h."""
        first = sorted(self.station_ids)[:1]
        self._loading = True
        self._add_row({"stations": first, "windows": [[17 * 3600, 19 * 3600]]})
        self._loading = False
        self.finish()

    def value(self) -> list[dict]:
        """The JSON form of what the table holds (as typed: the reader judges)."""
        out = []
        for r in range(self.table.rowCount()):
            d: dict = {"stations": [s.strip() for s in self._cell(r, 0).split(",")
                                    if s.strip()],
                       "windows": parse_windows(self._cell(r, 1)),
                       "action": self.table.cellWidget(r, 2).currentText()}
            speed = self._cell(r, 3)
            if speed:
                try:
                    d["speed"] = float(speed)
                except ValueError:
                    d["speed"] = speed  # the reader names it: "must be a finite number"
            if self._cell(r, 4):
                d["repeat"] = self._cell(r, 4)  # a duration as typed: "1d", "24h", 86400
            out.append(d)
        return out

    def read(self, obj: list[dict]) -> tuple[list[m.DemandResponse], list[str]]:
        problems = Problems()
        entries = read_demand_response(obj, problems, self.station_ids)
        return entries, [p.format() for p in problems.items]
