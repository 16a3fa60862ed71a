"""Editors of a station's structured fields: failures, power per state, wear, maintenance,
and a process or setup time given per product.

Each editor shows the field's JSON form (as ``element_to_json`` writes it) and emits
``committed(value)`` with the new JSON form when the user finishes an edit; the inspector
checks it with the project reader and shows the reader's messages with ``show_problems``.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.editors.distribution import DistributionEditor, check_distribution
from app.editors.fields import Choice, NumberField, narrow, number_text
from twin.model.elements import FAILURE_BASES, STATION_STATES

ALL_PRODUCTS = "*"


def _error_label() -> QLabel:
    lab = QLabel("")
    lab.setWordWrap(True)
    lab.setStyleSheet("color: #d03030")
    lab.setVisible(False)
    return lab


class _Editor(QWidget):
    """Common shape: an error label at the bottom, ``committed`` and ``show_problems``."""

    committed = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.lay = QVBoxLayout(self)
        self.lay.setContentsMargins(0, 0, 0, 0)
        self.error = _error_label()
        self._loading = False

    def _finish_layout(self) -> None:
        self.lay.addWidget(self.error)

    def show_problems(self, msgs: list[str]) -> None:
        self.error.setText("\n".join(msgs))
        self.error.setVisible(bool(msgs))

    def _emit(self) -> None:
        if self._loading:
            return
        try:
            value = self.value()
        except ValueError as e:
            self.show_problems([str(e)])
            return
        self.committed.emit(value)


class _Switchable(_Editor):
    """An editor of a part that is on or off (failures, wear, maintenance): a check box, and
    under it the part's fields, shown while it is on. ``None`` is off."""

    def __init__(self, switch: str, parent=None):
        super().__init__(parent)
        self.enabled = QCheckBox(switch)
        self.enabled.toggled.connect(self._toggled)
        self.body = QWidget()
        self.form = QFormLayout(self.body)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)  # a narrow dock
        self.lay.addWidget(self.enabled)
        self.lay.addWidget(self.body)
        self._finish_layout()

    def set_value(self, value) -> None:
        self._loading = True
        on = isinstance(value, dict)
        self.enabled.setChecked(on)
        self.body.setVisible(on)
        self._load(value if on else {})
        self.show_problems([])
        self._loading = False

    def _load(self, value: dict) -> None:
        """Show the part's fields (``{}`` when it is off)."""
        raise NotImplementedError

    def _start(self) -> None:
        """Plausible values for a part just switched on (none by default)."""

    def _toggled(self, on: bool) -> None:
        self.body.setVisible(on)
        if on and not self._loading:
            self._start()
        self._emit()


def _numbers(prefix: str, fields) -> dict:
    """``{key: value}`` of the number fields given, leaving out zeros and blanks."""
    out = {}
    for key, f in fields:
        try:
            v = f.value()
        except ValueError as e:
            raise ValueError(f"{prefix}.{key}: {e}") from None
        if v:
            out[key] = v
    return out


class FailuresEditor(_Switchable):
    """Breakdowns: on or off, the basis from a list, time to failure and time to repair."""

    def __init__(self, parent=None):
        super().__init__("breaks down", parent)
        self.basis = narrow(Choice())
        self.basis.addItems(list(FAILURE_BASES))
        self.basis.setToolTip("operating: the clock runs while processing; calendar: always; "
                              "operations: time to failure counts operations")
        self.basis.activated.connect(lambda _i: self._emit())
        self.ttf = DistributionEditor()
        self.ttr = DistributionEditor()
        for d in (self.ttf, self.ttr):
            d.committed.connect(lambda _v: self._emit())
        self.form.addRow("basis", self.basis)
        self.form.addRow("time to failure", self.ttf)
        self.form.addRow("time to repair", self.ttr)

    def _load(self, value: dict) -> None:
        if value:
            self.basis.setCurrentText(value.get("basis", "operating"))
            self.ttf.set_value(value.get("time_to_failure"))
            self.ttr.set_value(value.get("time_to_repair"))

    def _start(self) -> None:
        # a failure every 8 h of operation, repaired in about 10 min
        self.ttf.set_value({"dist": "exponential", "mean": 28800})
        self.ttr.set_value({"dist": "exponential", "mean": 600})

    def value(self):
        if not self.enabled.isChecked():
            return None
        return {"basis": self.basis.currentText(), "time_to_failure": self.ttf.value(),
                "time_to_repair": self.ttr.value()}


class PowerEditor(_Editor):
    """Power drawn in each state (kW): a small table, an empty cell draws nothing."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.table = QTableWidget(len(STATION_STATES), 1)
        self.table.setHorizontalHeaderLabels(["kW"])
        self.table.setVerticalHeaderLabels(list(STATION_STATES))
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setMinimumWidth(60)  # a narrow dock scrolls the table, not the inspector
        rows = self.table.verticalHeader().defaultSectionSize()
        self.table.setFixedHeight(rows * (len(STATION_STATES) + 1) + 6)
        self.table.itemChanged.connect(lambda _it: self._emit())
        self.lay.addWidget(self.table)
        self._finish_layout()

    def set_value(self, value) -> None:
        self._loading = True
        value = value or {}
        for i, state in enumerate(STATION_STATES):
            v = value.get(state)
            self.table.setItem(i, 0, QTableWidgetItem("" if v is None else number_text(v)))
        self.show_problems([])
        self._loading = False

    def value(self) -> dict:
        out = {}
        for i, state in enumerate(STATION_STATES):
            item = self.table.item(i, 0)
            text = item.text().strip() if item else ""
            if text:
                try:
                    out[state] = float(text)
                except ValueError:
                    raise ValueError(f"power_kw.{state}: expected a number of kW, got "
                                     f"{text!r}") from None
        return out

    def set_cell(self, state: str, text: str) -> None:
        """Type ``text`` into the row of ``state`` (as a user would; tests use it)."""
        self.table.item(STATION_STATES.index(state), 0).setText(text)


class WearEditor(_Switchable):
    """Wear per operation and per busy hour, and how it raises hazard and scrap."""

    KEYS = (("per_operation", "per operation"), ("per_busy_hour", "per busy hour"),
            ("failure_gain", "hazard x (1 + gain x wear)"), ("scrap_gain", "scrap + gain x wear"))

    def __init__(self, parent=None):
        super().__init__("wears", parent)
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        self.fields: dict[str, NumberField] = {}
        for key, unit in self.KEYS:
            f = NumberField(unit)
            f.finished.connect(self._emit)
            self.form.addRow(key, f)
            self.fields[key] = f

    def _load(self, value: dict) -> None:
        for k, f in self.fields.items():
            f.set_value(value.get(k, 0))

    def value(self):
        if not self.enabled.isChecked():
            return None
        return _numbers("wear", self.fields.items())


class MaintenanceEditor(_Switchable):
    """Preventive maintenance: its duration, every N operations and/or every H hours."""

    def __init__(self, parent=None):
        super().__init__("preventive", parent)
        self.duration = DistributionEditor()
        self.duration.committed.connect(lambda _v: self._emit())
        self.every_operations = NumberField("operations")
        self.every_hours = NumberField("h")
        for f in (self.every_operations, self.every_hours):
            f.finished.connect(self._emit)
        self.form.addRow("duration", self.duration)
        self.form.addRow("every", self.every_operations)
        self.form.addRow("every", self.every_hours)

    def _load(self, value: dict) -> None:
        if value:
            self.duration.set_value(value.get("duration"))
            self.every_operations.set_value(value.get("every_operations"))
            self.every_hours.set_value(value.get("every_hours"))

    def _start(self) -> None:
        self.duration.set_value({"dist": "constant", "value": 1800})
        self.every_hours.set_value(168)

    def value(self):
        if not self.enabled.isChecked():
            return None
        return {"duration": self.duration.value(),
                **_numbers("maintenance", (("every_operations", self.every_operations),
                                           ("every_hours", self.every_hours)))}


class ProductDistEditor(_Editor):
    """A time that may differ per product (process or setup time): one distribution for all
    products, or, with *per product*, one per product (``*``: the others)."""

    def __init__(self, optional: bool = False, parent=None):
        super().__init__(parent)
        self.optional = optional
        self.products: list[str] = []
        self.per_product = QCheckBox("per product")
        self.per_product.setToolTip("a different time for each product (a setup before each "
                                    "change to that product)")
        self.per_product.toggled.connect(self._per_product_toggled)
        self.product = narrow(Choice())
        self.product.setToolTip("the product whose time is edited below; * stands for the others")
        self.product.activated.connect(self._product_chosen)
        self.dist = DistributionEditor(optional=True)
        self.dist.committed.connect(self._dist_committed)
        self.entries: dict[str, object] = {}
        self.lay.addWidget(self.per_product)
        self.lay.addWidget(self.product)
        self.lay.addWidget(self.dist)
        self._finish_layout()
        self.dist.check = self._check_entry
        #: the owner's reader of the whole field (default: a distribution, or one per product)
        self.check = lambda v: (check_distribution(v) if not isinstance(v, dict) or "dist" in v
                                else [m for d in v.values() for m in check_distribution(d)])

    def _check_entry(self, value) -> list[str]:
        """The whole field's problems with ``value`` in place of the entry edited."""
        if self.per_product.isChecked():
            whole = {**self.entries, self.product.currentText(): value}
            whole = {k: v for k, v in whole.items() if v is not None} or None
        else:
            whole = value
        if whole is None:
            return []
        return self.check(whole)

    @property
    def picking_family(self) -> bool:
        return self.dist.picking_family

    def set_products(self, products: list[str]) -> None:
        self.products = list(products)

    def set_value(self, value) -> None:
        self._loading = True
        per = isinstance(value, dict) and "dist" not in value
        self.per_product.setChecked(per)
        self.entries = dict(value) if per else {}
        self.product.clear()
        if per:
            self.product.addItems(list(dict.fromkeys([*self.products, *self.entries,
                                                      ALL_PRODUCTS])))
            self.dist.set_value(self.entries.get(self.product.currentText()))
        else:
            self.dist.set_value(value)
        self.product.setVisible(per)
        self.show_problems([])
        self._loading = False

    def _per_product_toggled(self, on: bool) -> None:
        if self._loading:
            return
        current = self.dist.value() if not on else None
        if on:
            try:
                shared = self.dist.value()
            except ValueError:
                shared = None
            self.set_value({p: shared for p in self.products} if shared is not None
                           else {ALL_PRODUCTS: 0})
        else:
            first = next(iter(self.entries.values()), None)
            self.set_value(first if current is None else current)
        self._emit()

    def _product_chosen(self, _i=None) -> None:
        self.dist.set_value(self.entries.get(self.product.currentText()))

    def _dist_committed(self, value) -> None:
        if self.per_product.isChecked():
            key = self.product.currentText()
            if value is None:
                self.entries.pop(key, None)
            else:
                self.entries[key] = value
        self._emit()

    def value(self):
        if self.per_product.isChecked():
            return dict(self.entries) or None
        return self.dist.value()
