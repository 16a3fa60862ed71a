"""The tariff editor: no tariff, a flat price per kWh, or 24 hourly prices in a small table.
The reader (``twin.projectfile.reader``) judges it as it would a file."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.editors.fields import NumberField, number_text
from twin.model import elements as m
from twin.projectfile.reader import read_tariff  # the file's own check of a tariff

#: Fields of the energy context this editor does not show (periods, series, demand charge,
#: CO2, time zone: edited in project.json, docs/energy.md); an edit here keeps them.
KEPT = ("periods", "price_series", "demand_charge_per_kw", "billing_period", "co2_g_per_kwh",
        "co2_series", "timezone")


class TariffEditor(QWidget):
    """``committed(tariff or None)`` once the reader accepts the fields."""

    committed = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._loading = False
        self._kept: m.Tariff | None = None  # the tariff shown: its fields this editor lacks
        self.enabled = QCheckBox("electricity tariff")
        self.enabled.toggled.connect(self._toggled)
        self.price = NumberField("per kWh")
        self.price.finished.connect(self.finish)
        self.currency = QLineEdit()
        self.currency.setMaxLength(8)
        self.currency.editingFinished.connect(self.finish)
        self.hourly_on = QCheckBox("a price per hour of the day")
        self.hourly_on.toggled.connect(self._hourly_toggled)
        self.hourly = QTableWidget(24, 1)
        self.hourly.setHorizontalHeaderLabels(["price per kWh"])
        self.hourly.setVerticalHeaderLabels([f"{h:02d}:00" for h in range(24)])
        self.hourly.horizontalHeader().setStretchLastSection(True)
        self.hourly.itemChanged.connect(lambda _it: self.finish())
        self.more = QLabel("")  # what of the energy context this editor does not show
        self.more.setWordWrap(True)
        self.more.setVisible(False)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d03030")
        self.body = QWidget()
        form = QFormLayout(self.body)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("flat price", self.price)
        form.addRow("currency", self.currency)
        form.addRow(self.hourly_on)
        form.addRow(self.hourly)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.enabled)
        lay.addWidget(self.body, 1)
        lay.addWidget(self.more)
        lay.addWidget(self.error)

    def set_value(self, t: m.Tariff | None) -> None:
        self._loading = True
        self._kept = t
        self.enabled.setChecked(t is not None)
        self.body.setVisible(t is not None)
        t = t or m.Tariff()
        self.price.set_value(t.price_per_kwh)
        self.currency.setText(t.currency)
        self.hourly_on.setChecked(bool(t.hourly))
        self.hourly.setVisible(bool(t.hourly))
        for h in range(24):
            v = t.hourly[h] if t.hourly else t.price_per_kwh
            self.hourly.setItem(h, 0, QTableWidgetItem(number_text(v)))
        more = [w for w, on in (
            (f"{len(t.periods)} time-of-use period{'s' * (len(t.periods) != 1)}", t.periods),
            (f"prices from {t.price_series.file}" if t.price_series else "", t.price_series),
            (f"a demand charge of {t.demand_charge_per_kw:g} per kW", t.demand_charge_per_kw),
            ("CO2 intensity", t.co2_g_per_kwh or t.co2_series)) if on]
        self.more.setText(("Also in this tariff, edited in project.json (docs/energy.md) and "
                           "kept: " + ", ".join(more)) if more else "")
        self.more.setVisible(bool(more))
        self.show_problems([])
        self._loading = False

    def _toggled(self, on: bool) -> None:
        self.body.setVisible(on)
        self.finish()

    def _hourly_toggled(self, on: bool) -> None:
        self.hourly.setVisible(on)
        self.finish()

    def value(self) -> dict | None:
        if not self.enabled.isChecked():
            return None
        try:
            price = self.price.value() or 0.0
        except ValueError as e:
            raise ValueError(f"tariff.price_per_kwh: {e}") from None
        out: dict = {"price_per_kwh": price, "currency": self.currency.text().strip() or "EUR"}
        if self.hourly_on.isChecked():
            hourly = []
            for h in range(24):
                item = self.hourly.item(h, 0)
                text = item.text().strip() if item else ""
                try:
                    hourly.append(float(text))
                except ValueError:
                    raise ValueError(f"tariff.hourly[{h}] ({h:02d}:00): expected a price, got "
                                     f"{text!r}") from None
            out["hourly"] = hourly
        return out

    def show_problems(self, msgs: list[str]) -> None:
        self.error.setText("\n".join(msgs))
        self.error.setVisible(bool(msgs))

    def finish(self) -> None:
        if self._loading:
            return
        try:
            obj = self.value()
        except ValueError as e:
            self.show_problems([str(e)])
            return
        if obj is None:
            self.show_problems([])
            self.committed.emit(None)
            return
        t, msgs = read_tariff(obj)
        if not msgs and self._kept is not None:
            t = replace(t, **{f: getattr(self._kept, f) for f in KEPT})
            if t.hourly and (t.periods or t.price_series):
                msgs = ["tariff.hourly: this tariff has time-of-use periods or a price series "
                        "(project.json); remove them there to use hourly prices"]
        self.show_problems(msgs)
        if not msgs:
            self.committed.emit(t)
