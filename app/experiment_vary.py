""""Vary this…": a right click on a number in the Inspector makes it a factor of an experiment
(issue 17 §5).

``VaryMenus`` watches the inspector's line edits for a context-menu request; on a field whose
value is a number in the element's file form (``capacity``, ``servers``, a distribution's
``mean``...) it shows the edit's usual menu with *Vary this…* added. The range dialog
proposes ±50% of the value (at least 1 for an integer field, which gets integer bounds) and
the factor goes to whoever listens to ``factor_chosen`` (the Experiments dock and the
what-if sliders). The factor is addressed as a scenario's override addresses the field
(``element`` + dotted ``path``), so a design point is a scenario.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QVBoxLayout,
    QWidget,
)

from app.editors.distribution import DistributionEditor
from app.editors.fields import NumberField, number_text
from app.editors.station import ProductDistEditor
from twin.experiments.spec import Factor
from twin.projectfile.experiments import valid_range
from twin.projectfile.reader import element_to_json
from twin.projectfile.scenarios import MISSING, value_at

#: The distribution editors inside a structured editor, by attribute: the key in the file.
SUB_DISTRIBUTIONS = {"ttf": "time_to_failure", "ttr": "time_to_repair", "duration": "duration"}


def numeric(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def default_factor(element: str, path: str, value: float) -> Factor:
    """The range a user most likely wants: ±50% of ``value``; an integer field (servers,
    capacity) moves by at least one either way and keeps 1 as its least value when it is
    positive."""
    integer = isinstance(value, int)
    lo, hi = value * 0.5, value * 1.5
    if value < 0:
        lo, hi = hi, lo
    if value == 0:
        lo, hi = 0.0, 1.0
    if integer:
        lo, hi = math.floor(lo), math.ceil(hi)
        if hi - lo < 2:
            lo, hi = value - 1, value + 1
        if value > 0:
            lo = max(lo, 1)
    return Factor(element, path, float(lo), float(hi), integer=integer)


class VaryDialog(QDialog):
    """The range of a new factor: low, high, integer, cost per unit."""

    def __init__(self, factor: Factor, value: float, parent=None, note: str | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Vary {factor.name}")
        self.element, self.path = factor.element, factor.path
        self.low = self._spin(factor.low)
        self.high = self._spin(factor.high)
        self.integer = QCheckBox("whole numbers only")
        self.integer.setChecked(factor.integer)
        self.integer.toggled.connect(self._integer_toggled)
        self.cost = self._spin(factor.cost_per_unit)
        self.cost.setDecimals(2)
        self.cost.setToolTip("what one unit of the value costs (a buffer place, a machine): it "
                             "adds to the 'cost' response")
        self.error = QLabel("")
        self.error.setStyleSheet("color: #d03030")
        self.error.setWordWrap(True)
        form = QFormLayout()
        form.addRow("now", QLabel(number_text(value)))
        form.addRow("low", self.low)
        form.addRow("high", self.high)
        form.addRow("", self.integer)
        form.addRow("cost per unit", self.cost)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(f"<b>{factor.name}</b>: the range the experiment and the what-if "
                             "slider vary it over"))
        lay.addLayout(form)
        # why the proposed range is narrower than ±50%: the reader's own words
        self.note = QLabel(f"range narrowed to the values that give a valid project ({note})"
                           if note else "")
        self.note.setWordWrap(True)
        self.note.setVisible(bool(note))
        lay.addWidget(self.note)
        lay.addWidget(self.error)
        lay.addWidget(self.buttons)
        self._integer_toggled(factor.integer)

    @staticmethod
    def _spin(v) -> QDoubleSpinBox:
        s = QDoubleSpinBox()
        s.setRange(-1e12, 1e12)
        s.setDecimals(6)
        s.setValue(float(v or 0.0))
        return s

    def _integer_toggled(self, on: bool) -> None:
        for s in (self.low, self.high):
            s.setDecimals(0 if on else 6)

    def factor(self) -> Factor:
        """The factor as set; ``ValueError`` says what is wrong with the range."""
        lo, hi = self.low.value(), self.high.value()
        if self.integer.isChecked():
            lo, hi = float(math.ceil(lo)), float(math.floor(hi))
        if not hi > lo:
            raise ValueError(f"low ({lo:g}) must be below high ({hi:g}): give a range to vary "
                             "over")
        return Factor(self.element, self.path, lo, hi, integer=self.integer.isChecked(),
                      cost_per_unit=self.cost.value())

    def accept(self) -> None:
        try:
            self.factor()
        except ValueError as e:
            self.error.setText(str(e))
            return
        super().accept()


def field_path(inspector, edit: QLineEdit) -> str | None:
    """The dotted path (as a scenario's override names it) of the inspector's field that
    ``edit`` edits, or None when it is none of them."""
    for key, w in inspector.editors.items():
        if w is edit:
            return key
        if not isinstance(w, QWidget) or not w.isAncestorOf(edit):
            continue
        # a number of a distribution inside a structured editor
        dist = _ancestor(edit, DistributionEditor)
        number = _ancestor(edit, NumberField)
        if dist is None or number is None:
            return None
        param = next((k for k, f in dist.fields.items() if f is number), None)
        if param is None:
            return None
        if isinstance(w, ProductDistEditor):
            if w.per_product.isChecked():
                return f"{key}.{w.product.currentText()}.{param}"
            return f"{key}.{param}"
        if w is dist:
            return f"{key}.{param}"
        sub = next((SUB_DISTRIBUTIONS[a] for a in SUB_DISTRIBUTIONS
                    if getattr(w, a, None) is dist), None)
        return f"{key}.{sub}.{param}" if sub else None
    return None


def _ancestor(w: QWidget, kind: type) -> QWidget | None:
    while w is not None and not isinstance(w, kind):
        w = w.parentWidget()
    return w


class VaryMenus(QObject):
    """Adds *Vary this…* to the context menu of the inspector's numeric fields.

    ``factor_chosen(factor)`` follows the range dialog's OK (``dialog``: the last one).
    """

    factor_chosen = Signal(object)

    def __init__(self, inspector, parent=None):
        super().__init__(parent)
        self.inspector = inspector
        self.menu: QMenu | None = None  # the last menu shown (tests click it)
        self.dialog: VaryDialog | None = None
        inspector.refreshed.connect(self.watch)
        self.watch()

    def watch(self) -> None:
        """Watch every line edit the inspector holds now (its rows and a distribution's
        fields are built as elements are shown; installing twice is harmless)."""
        for edit in self.inspector.form_host.findChildren(QLineEdit):
            edit.installEventFilter(self)

    def eventFilter(self, obj, event):  # noqa: N802 - Qt override
        if event.type() == QEvent.ContextMenu and isinstance(obj, QLineEdit):
            menu = self.menu_for(obj)
            if menu is not None:
                menu.popup(event.globalPos())
                return True
        return False

    def target(self, edit: QLineEdit) -> tuple[str, str, float] | None:
        """``(element, path, value)`` of a numeric field, or None."""
        el = self.inspector.element
        if el is None:
            return None
        path = field_path(self.inspector, edit)
        if path is None:
            return None
        doc = {"elements": [element_to_json(el)]}
        value = value_at(doc, el.id, path)
        if value is MISSING and "." not in path:
            # a field at its default is left out of the file (one server): the model has it
            value = getattr(el, path, MISSING)
        elif value is MISSING and path.endswith(".value"):
            # a constant time is written as a bare number ("process_time": 60): vary that
            path = path.removesuffix(".value")
            value = value_at(doc, el.id, path)
        if value is MISSING or not numeric(value):
            return None
        return el.id, path, value

    def menu_for(self, edit: QLineEdit) -> QMenu | None:
        """The edit's usual menu with *Vary this…*, or None for a field that is no number."""
        found = self.target(edit)
        if found is None:
            return None
        element, path, value = found
        menu = edit.createStandardContextMenu()
        menu.setParent(edit, menu.windowFlags())
        menu.addSeparator()
        act = menu.addAction("Vary this…", lambda: self.vary(element, path, value))
        act.setToolTip(f"Add {element}.{path} as a factor of the experiment and a what-if "
                       "slider")
        self.menu = menu
        return menu

    def vary(self, element: str, path: str, value: float) -> VaryDialog:
        """Open the range dialog (window-modal, without a nested event loop); its OK emits
        ``factor_chosen``. Returns the dialog (tests fill it in)."""
        proposed, note = default_factor(element, path, value), None
        el = self.inspector.element
        if el is not None and el.id == element:
            # ±50% of a triangular's mode left its low..high: a range every Run refused
            # (newfix3 §1); drawn in with the reader's own check, for any field
            proposed, note = valid_range(element_to_json(el), proposed, value)
        dialog = self.dialog = VaryDialog(proposed, value, self.inspector.window(), note)
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.factor_chosen.emit(dialog.factor()))
        dialog.open()
        return dialog
