"""Small fields shared by the editors: a time field that takes units and says what it read."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QWidget

from twin.units import format_duration, parse_duration


def remove_chosen_rows(table) -> None:
    """Remove a table's selected rows, or its last row when none is selected (the editors'
    "Remove" button)."""
    rows = sorted({i.row() for i in table.selectedIndexes()}, reverse=True)
    if not rows and table.rowCount():
        rows = [table.rowCount() - 1]
    for r in rows:
        table.removeRow(r)


def understood(seconds: float) -> str:
    """What a time field read, as a user checks it: ``= 90 s (1.5min)``."""
    short = format_duration(seconds)
    plain = f"{seconds:g} s"
    return f"= {plain}" if short.rstrip("s") == f"{seconds:g}" else f"= {plain} ({short})"


class Choice(QComboBox):
    """A combo box that takes the mouse wheel only when it has the keyboard focus: the wheel
    over an inspector row scrolls the inspector, it never changes a distribution's family."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setFocusPolicy(Qt.StrongFocus)

    def wheelEvent(self, event):
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()  # to the scroll area


def narrow(combo: QComboBox, chars: int = 3) -> QComboBox:
    """Let a combo box shrink to a few characters: the inspector's dock may be narrow."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(chars)
    return combo


def number_text(v) -> str:
    """A number as a field shows it: no trailing ``.0``, full precision kept."""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(v) if isinstance(v, float) else str(v)


class NumberField(QWidget):
    """A line edit for one number; a time field (``time=True``) takes ``45s``, ``1.5min``,
    ``2h`` as the horizon does and shows what it understood (``= 90 s``).

    ``edited`` fires as the user types, ``finished`` when the field loses focus or Return is
    pressed. :meth:`value` returns the number or raises ``ValueError`` with the reason.
    """

    edited = Signal()
    finished = Signal()

    def __init__(self, unit: str = "", time: bool = False, parent=None):
        super().__init__(parent)
        self.time = time
        self.edit = QLineEdit()
        self.edit.setMinimumWidth(56)  # "28800" stays readable in a narrow dock
        self.unit = QLabel(unit)
        self.unit.setStyleSheet("color: gray")
        self.unit.setWordWrap(True)  # "= 5400 s (1h30min)" wraps in a narrow dock
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.edit, 1)
        lay.addWidget(self.unit)
        if time:
            self.edit.setPlaceholderText("60, 45s, 1.5min, 2h")
            self.edit.setToolTip("a time: seconds, or a number with a unit (45s, 1.5min, 2h)")
        self.edit.textEdited.connect(self._typed)
        self.edit.editingFinished.connect(self.finished)

    def _typed(self, _text=None) -> None:
        self._show_understood()
        self.edited.emit()

    def _show_understood(self) -> None:
        if not self.time:
            return
        try:
            v = self.value()
        except ValueError:
            self.unit.setText("s: ?")
            return
        self.unit.setText("s" if v is None else understood(v))

    def text(self) -> str:
        return self.edit.text().strip()

    def set_value(self, v) -> None:
        self.edit.setText("" if v is None else number_text(v))
        self._show_understood()

    def value(self) -> float | None:
        """The number typed (seconds for a time field), ``None`` when empty."""
        t = self.text()
        if t == "":
            return None
        if self.time:
            try:  # a bare number goes to the reader as written, so that it judges a
                v = float(t)  # negative time with the message a file would get
            except ValueError:
                return parse_duration(t)
            if not math.isfinite(v):
                raise ValueError(f"expected a finite time, got {t!r}")
            return int(v) if v.is_integer() and "." not in t and "e" not in t.lower() else v
        try:
            v = float(t)
        except ValueError:
            raise ValueError(f"expected a number, got {t!r}") from None
        if not math.isfinite(v):
            raise ValueError(f"expected a finite number, got {t!r}")
        return int(v) if v.is_integer() and "." not in t and "e" not in t.lower() else v
