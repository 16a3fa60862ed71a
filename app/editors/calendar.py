"""The shift calendar editor: a list of working periods and breaks with start and end fields,
and a drawn week bar of what they make (shifts less breaks, over seven days).

Times take units as the horizon does (``6h``, ``13h30min``); the reader
(``twin.projectfile.reader``) judges the whole calendar, so the editor refuses what a file
would, with the same message.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.editors.fields import Choice, NumberField
from app.editors.table import TableEditor
from twin.model import elements as m
from twin.projectfile.reader import read_calendar  # the file's own check of a calendar

WEEK = 7 * 86400.0
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
KINDS = ("shift", "break")


def clock(seconds: float) -> str:
    """A time of day or a period as a user writes it: ``6h``, ``10h15min``, ``24h``."""
    h, rest = divmod(float(seconds), 3600.0)
    mins, secs = divmod(rest, 60.0)
    out = (f"{int(h)}h" if h else "") + (f"{int(mins)}min" if mins else "")
    if secs or not out:
        out += f"{secs:g}s"
    return out


def calendar_json(cal: m.Calendar | None) -> dict | None:
    """The JSON form of a calendar, times written with units (``6h``)."""
    if cal is None:
        return None

    def per(p: m.Period) -> dict:
        d = {"start": clock(p.start), "end": clock(p.end)}
        if p.name:
            d["name"] = p.name
        return d

    return {"period": clock(cal.period), "shifts": [per(p) for p in cal.shifts],
            "breaks": [per(p) for p in cal.breaks]}


class WeekBar(QWidget):
    """Seven day rows: working time green, breaks inside shifts amber, the rest grey."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.calendar: m.Calendar | None = None
        self.setMinimumHeight(7 * 12 + 4)
        self.setMaximumHeight(7 * 18 + 4)
        self.setToolTip("the week this calendar makes: green works, amber is a break")

    def set_calendar(self, cal: m.Calendar | None) -> None:
        self.calendar = cal
        self.update()

    def paintEvent(self, _event):
        p = QPainter(self)
        label_w = 32
        w = max(self.width() - label_w - 2, 10)
        h = (self.height() - 4) / 7
        p.setPen(Qt.NoPen)
        for day in range(7):
            y = 2 + day * h
            p.setPen(self.palette().text().color())
            p.drawText(QRectF(0, y, label_w, h), Qt.AlignVCenter | Qt.AlignLeft, DAYS[day])
            p.setPen(Qt.NoPen)
            p.fillRect(QRectF(label_w, y + 1, w, h - 2), QColor("#c8c8c8"))
            t0 = day * 86400.0
            if self.calendar is None:
                p.fillRect(QRectF(label_w, y + 1, w, h - 2), QColor("#5cb85c"))
                continue
            cal = self.calendar
            shifts = m.Calendar(cal.shifts, (), cal.period).working_intervals(t0, t0 + 86400)
            for a, b in shifts:  # the breaks show through where the working time stops
                p.fillRect(QRectF(label_w + (a - t0) / 86400 * w, y + 1,
                                  (b - a) / 86400 * w, h - 2), QColor("#f0ad4e"))
            for a, b in cal.working_intervals(t0, t0 + 86400):
                p.fillRect(QRectF(label_w + (a - t0) / 86400 * w, y + 1,
                                  (b - a) / 86400 * w, h - 2), QColor("#5cb85c"))
        p.end()


class CalendarEditor(TableEditor):
    """Working periods and breaks; ``committed(calendar or None)`` once the reader accepts."""

    def __init__(self, parent=None):
        super().__init__(["kind", "start", "end", "name"], parent)
        self.enabled = QCheckBox("shift calendar (without one the plant works around the clock)")
        self.enabled.toggled.connect(self._toggled)
        self.period = NumberField("", time=True)
        self.period.finished.connect(self.finish)
        self.add_shift = QPushButton("Add shift")
        self.add_break = QPushButton("Add break")
        self.add_shift.clicked.connect(lambda: self._add("shift", "6h", "14h"))
        self.add_break.clicked.connect(lambda: self._add("break", "10h", "10h15min"))
        buttons = QHBoxLayout()
        for b in (self.add_shift, self.add_break, self.remove):
            buttons.addWidget(b)
        self.week = WeekBar()
        self.body = QWidget()
        bl = QVBoxLayout(self.body)
        bl.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("repeats every"))
        row.addWidget(self.period, 1)
        bl.addLayout(row)
        bl.addWidget(self.table, 1)
        bl.addLayout(buttons)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.enabled)
        lay.addWidget(self.body, 1)
        lay.addWidget(self.week)
        lay.addWidget(self.error)

    def set_value(self, cal: m.Calendar | None) -> None:
        self._loading = True
        self.enabled.setChecked(cal is not None)
        self.body.setVisible(cal is not None)
        self.table.setRowCount(0)
        if cal is not None:
            self.period.edit.setText(clock(cal.period))
            self.period._show_understood()  # "= 86400 s (1d)"
            doc = calendar_json(cal)
            for kind, key in (("shift", "shifts"), ("break", "breaks")):
                for p in doc[key]:
                    self._add(kind, p["start"], p["end"], p.get("name", ""), emit=False)
        self.week.set_calendar(cal)
        self.show_problems([])
        self._loading = False

    def _add(self, kind: str, start: str, end: str, name: str = "", emit: bool = True) -> None:
        was = self._loading
        self._loading = True
        i = self.table.rowCount()
        self.table.insertRow(i)
        box = Choice()
        box.addItems(list(KINDS))
        box.setCurrentText(kind)
        box.activated.connect(lambda _i: self.finish())
        self.table.setCellWidget(i, 0, box)
        for col, text in ((1, start), (2, end), (3, name)):
            self.table.setItem(i, col, QTableWidgetItem(text))
        self._loading = was
        if emit:
            self.finish()

    def _toggled(self, on: bool) -> None:
        self.body.setVisible(on)
        if self._loading:
            return
        if on and self.table.rowCount() == 0:
            self.period.edit.setText("24h")
            self._loading = True
            self._add("shift", "6h", "14h", "early", emit=False)
            self._add("shift", "14h", "22h", "late", emit=False)
            self._loading = False
        self.finish()

    def value(self) -> dict | None:
        """The JSON form of what the table holds (times as typed)."""
        if not self.enabled.isChecked():
            return None
        out: dict = {"period": self.period.text() or "24h", "shifts": [], "breaks": []}
        for r in range(self.table.rowCount()):
            cells = [self.table.item(r, c).text().strip() if self.table.item(r, c) else ""
                     for c in (1, 2, 3)]
            p = {"start": cells[0], "end": cells[1]}
            if cells[2]:
                p["name"] = cells[2]
            kind = self.table.cellWidget(r, 0).currentText()
            out["shifts" if kind == "shift" else "breaks"].append(p)
        return out

    def read(self, obj: dict | None) -> tuple[m.Calendar | None, list[str]]:
        return (None, []) if obj is None else read_calendar(obj)

    def accepted(self, value: m.Calendar | None) -> None:
        self.week.set_calendar(value)
