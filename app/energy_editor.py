"""The energy context editor (issue 19): the price (flat, 24 hourly prices, weekly
time-of-use periods or a price series), the demand charge, the CO2 intensity, on-site PV and
a battery. Every accepted edit is one ``SetProjectField("tariff", ...)`` command (the plant
dialog pushes it); the fields are judged by the project-file reader
(``twin.projectfile.energy.read_energy``), so a bad value gets the message, with its JSON
path, that the same value in project.json would get."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.editors.fields import Choice, NumberField, number_text
from twin.errors import Problems
from twin.model import elements as m
from twin.projectfile.energy import energy_to_json, read_energy
from twin.units import format_duration

#: The price kinds, as the combo box shows them.
PRICE_KINDS = ("flat", "hourly", "time of use", "series")
PERIOD_COLUMNS = ("name", "start", "end", "price per kWh", "days")


def clock_text(seconds: float) -> str:
    """A time of day as ``6h``, ``6h30min``, ``24h``."""
    h, rest = divmod(int(round(seconds)), 3600)
    mins = rest // 60
    return f"{h}h{mins}min" if mins else f"{h}h"


def _table(rows: int, headers, vertical=None) -> QTableWidget:
    t = QTableWidget(rows, len(headers))
    t.setHorizontalHeaderLabels(list(headers))
    if vertical is not None:
        t.setVerticalHeaderLabels(vertical)
    t.horizontalHeader().setStretchLastSection(True)
    return t


def _cell(table: QTableWidget, r: int, c: int) -> str:
    item = table.item(r, c)
    return item.text().strip() if item else ""


def _number(text: str, where: str):
    """The number typed at ``where`` (a JSON path), the text itself where it is none: the
    reader then names it with the message a file would get."""
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{where}: expected a number, got {text!r}") from None


class EnergyEditor(QWidget):
    """``committed(tariff or None)`` once the reader accepts the fields; ``folder()`` is
    the project's folder, where price, CO2 and PV series are read from."""

    committed = Signal(object)

    def __init__(self, folder: Callable[[], Path | None] = lambda: None, parent=None):
        super().__init__(parent)
        self.folder = folder
        self._loading = False
        self.enabled = QCheckBox("energy context: prices, demand charge, CO2, PV, battery")
        self.enabled.toggled.connect(self._toggled)
        self.body = QWidget()
        body = QVBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        body.addWidget(self._price_box())
        body.addWidget(self._demand_box())
        body.addWidget(self._co2_box())
        body.addWidget(self._pv_box())
        body.addWidget(self._battery_box())
        body.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.body)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d03030")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.enabled)
        lay.addWidget(scroll, 1)
        lay.addWidget(self.error)

    # --- building ---------------------------------------------------------------------------
    def _finish_on(self, *fields) -> None:
        for f in fields:
            if isinstance(f, NumberField):
                f.finished.connect(self.finish)
            elif isinstance(f, QLineEdit):
                f.editingFinished.connect(self.finish)
            elif isinstance(f, QTableWidget):
                f.itemChanged.connect(lambda _it: self.finish())
            elif isinstance(f, QCheckBox | QGroupBox):
                f.toggled.connect(lambda _on: self.finish())
            else:  # a combo box
                f.currentIndexChanged.connect(lambda _i: self.finish())

    def _price_box(self) -> QGroupBox:
        box = QGroupBox("Price")
        self.kind = Choice()
        self.kind.addItems(PRICE_KINDS)
        self.price = NumberField("per kWh")
        self.price.setToolTip("the flat price; with time-of-use periods, the price outside them")
        self.currency = QLineEdit()
        self.currency.setMaxLength(8)
        self.hourly = _table(24, ["price per kWh"], [f"{h:02d}:00" for h in range(24)])
        self.periods = _table(0, PERIOD_COLUMNS)
        self.periods.setToolTip("start and end as times of day (22h, 6h30min); an end at or "
                                "before the start runs past midnight; days: mon tue ... sun")
        self.add_period = QPushButton("Add period")
        self.add_period.clicked.connect(self._add_period)
        self.remove_period = QPushButton("Remove period")
        self.remove_period.clicked.connect(self._remove_period)
        periods = QWidget()
        pl = QVBoxLayout(periods)
        pl.setContentsMargins(0, 0, 0, 0)
        pl.addWidget(self.periods)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_period)
        buttons.addWidget(self.remove_period)
        buttons.addStretch(1)
        pl.addLayout(buttons)
        self.price_series = QLineEdit()
        self.price_series.setPlaceholderText("prices.csv beside project.json (time,price)")
        self.price_pages = QStackedWidget()
        for w in (QWidget(), self.hourly, periods, self.price_series):
            self.price_pages.addWidget(w)
        self.kind.currentIndexChanged.connect(self.price_pages.setCurrentIndex)
        form = QFormLayout(box)
        form.addRow("kind", self.kind)
        form.addRow("price", self.price)
        form.addRow("currency", self.currency)
        form.addRow(self.price_pages)
        self._finish_on(self.kind, self.price, self.currency, self.hourly, self.periods,
                        self.price_series)
        return box

    def _demand_box(self) -> QGroupBox:
        box = QGroupBox("Demand charge")
        self.per_kw = NumberField("per kW of the highest 15-min mean power")
        self.billing = QLineEdit()
        self.billing.setPlaceholderText("30d")
        form = QFormLayout(box)
        form.addRow("charge", self.per_kw)
        form.addRow("billing period", self.billing)
        self._finish_on(self.per_kw, self.billing)
        return box

    def _co2_box(self) -> QGroupBox:
        box = QGroupBox("CO2 and clock")
        self.co2 = QLineEdit()
        self.co2.setToolTip("g CO2 per kWh, or the name of a CSV (time,g/kWh) beside "
                            "project.json")
        self.co2.setPlaceholderText("380, or co2.csv")
        self.timezone = QLineEdit()
        self.timezone.setPlaceholderText("the recording's own")
        form = QFormLayout(box)
        form.addRow("CO2 g/kWh", self.co2)
        form.addRow("time zone", self.timezone)
        self._finish_on(self.co2, self.timezone)
        return box

    def _pv_box(self) -> QGroupBox:
        self.pv = QGroupBox("On-site PV (used first by the line)")
        self.pv.setCheckable(True)
        self.pv_kind = Choice()
        self.pv_kind.addItems(["profile over the day", "series"])
        self.pv_profile = _table(24, ["kW"], [f"{h:02d}:00" for h in range(24)])
        self.pv_series = QLineEdit()
        self.pv_series.setPlaceholderText("pv.csv beside project.json (time,kW)")
        self.pv_pages = QStackedWidget()
        self.pv_pages.addWidget(self.pv_profile)
        self.pv_pages.addWidget(self.pv_series)
        self.pv_kind.currentIndexChanged.connect(self.pv_pages.setCurrentIndex)
        self.feed_in = NumberField("per kWh exported")
        self.pv_scale = NumberField("times the profile or series (1)")
        form = QFormLayout(self.pv)
        form.addRow("kind", self.pv_kind)
        form.addRow(self.pv_pages)
        form.addRow("feed-in", self.feed_in)
        form.addRow("scale", self.pv_scale)
        self._finish_on(self.pv, self.pv_kind, self.pv_profile, self.pv_series, self.feed_in,
                        self.pv_scale)
        return self.pv

    def _battery_box(self) -> QGroupBox:
        self.battery = QGroupBox("Battery")
        self.battery.setCheckable(True)
        self.capacity = NumberField("kWh")
        self.power = NumberField("kW, charge and discharge")
        self.efficiency = NumberField("round trip, 0-1")
        self.soc = NumberField("of the capacity at the start, 0-1")
        self.threshold = NumberField("kW: discharges to keep the grid draw at or below it")
        self.cheap = QCheckBox("charge from the grid at the lowest price")
        form = QFormLayout(self.battery)
        form.addRow("capacity", self.capacity)
        form.addRow("power", self.power)
        form.addRow("efficiency", self.efficiency)
        form.addRow("initial charge", self.soc)
        form.addRow("shave above", self.threshold)
        form.addRow(self.cheap)
        self._finish_on(self.battery, self.capacity, self.power, self.efficiency, self.soc,
                        self.threshold, self.cheap)
        return self.battery

    def _add_period(self) -> None:
        r = self.periods.rowCount()
        self._loading = True
        self.periods.insertRow(r)
        for c, v in enumerate(("", "22h", "6h", number_text(self.price.value() or 0.0),
                               "mon tue wed thu fri sat sun")):
            self.periods.setItem(r, c, QTableWidgetItem(v))
        self._loading = False
        self.finish()

    def _remove_period(self) -> None:
        r = self.periods.currentRow()
        if r < 0:
            r = self.periods.rowCount() - 1
        if r >= 0:
            self.periods.removeRow(r)
            self.finish()

    # --- value ------------------------------------------------------------------------------
    def set_value(self, t: m.Tariff | None) -> None:
        """Show ``t`` (``None``: no energy context)."""
        self._loading = True
        self.enabled.setChecked(t is not None)
        self.body.setEnabled(t is not None)
        doc = energy_to_json(t or m.Tariff())
        kind = 3 if "price_series" in doc else 2 if "periods" in doc else \
            1 if "hourly" in doc else 0
        self.kind.setCurrentIndex(kind)
        self.price_pages.setCurrentIndex(kind)
        self.price.set_value(doc["price_per_kwh"])
        self.currency.setText(doc["currency"])
        for h in range(24):
            v = doc["hourly"][h] if "hourly" in doc else doc["price_per_kwh"]
            self.hourly.setItem(h, 0, QTableWidgetItem(number_text(v)))
        periods = doc.get("periods", [])
        self.periods.setRowCount(len(periods))
        for r, p in enumerate(periods):
            for c, v in enumerate((p.get("name", ""), clock_text(p["start"]),
                                   clock_text(p["end"]), number_text(p["price_per_kwh"]),
                                   " ".join(p["days"]))):
                self.periods.setItem(r, c, QTableWidgetItem(v))
        self.price_series.setText(doc.get("price_series", ""))
        dc = doc.get("demand_charge", {})
        self.per_kw.set_value(dc.get("per_kw", 0.0))
        self.billing.setText(format_duration(dc.get("billing_period", 30 * 86400.0)))
        co2 = doc.get("co2_g_per_kwh", 0.0)
        self.co2.setText(co2 if isinstance(co2, str) else number_text(co2))
        self.timezone.setText(doc.get("timezone", ""))
        pv = doc.get("pv")
        self.pv.setChecked(pv is not None)
        pv = pv or {}
        self.pv_kind.setCurrentIndex(1 if "series" in pv else 0)
        self.pv_pages.setCurrentIndex(1 if "series" in pv else 0)
        profile = pv.get("profile_kw") or [0.0] * 24
        step = 24 * 60 // len(profile)  # 96 quarter hours: shown as written, one row each
        self.pv_profile.setRowCount(len(profile))
        self.pv_profile.setVerticalHeaderLabels(
            [f"{i * step // 60:02d}:{i * step % 60:02d}" for i in range(len(profile))])
        for i, v in enumerate(profile):
            self.pv_profile.setItem(i, 0, QTableWidgetItem(number_text(v)))
        self.pv_series.setText(pv.get("series", ""))
        self.feed_in.set_value(pv.get("feed_in_per_kwh", 0.0))
        self.pv_scale.set_value(pv.get("scale", 1.0))
        b = doc.get("battery")
        self.battery.setChecked(b is not None)
        b = b or {"capacity_kwh": 10.0, "power_kw": 5.0, "efficiency": 0.9,
                  "initial_soc": 0.5, "threshold_kw": 0.0, "charge_in_cheapest": False}
        for field, key in ((self.capacity, "capacity_kwh"), (self.power, "power_kw"),
                           (self.efficiency, "efficiency"), (self.soc, "initial_soc"),
                           (self.threshold, "threshold_kw")):
            field.set_value(b[key])
        self.cheap.setChecked(b["charge_in_cheapest"])
        self.show_problems([])
        self._loading = False

    def value(self) -> dict | None:
        """The fields as the ``tariff`` section of project.json; ``ValueError`` names a
        field that holds no number."""
        if not self.enabled.isChecked():
            return None
        doc: dict = {"price_per_kwh": self._num(self.price, "$.tariff.price_per_kwh", 0.0),
                     "currency": self.currency.text().strip() or "EUR"}
        kind = self.kind.currentIndex()
        if kind == 1:
            doc["hourly"] = [_number(_cell(self.hourly, h, 0), f"$.tariff.hourly[{h}]")
                             for h in range(24)]
        elif kind == 2:
            doc["periods"] = []
            for r in range(self.periods.rowCount()):
                p = {"start": _cell(self.periods, r, 1), "end": _cell(self.periods, r, 2),
                     "price_per_kwh": _number(_cell(self.periods, r, 3),
                                              f"$.tariff.periods[{r}].price_per_kwh"),
                     "days": _cell(self.periods, r, 4).replace(",", " ").split()}
                if _cell(self.periods, r, 0):
                    p["name"] = _cell(self.periods, r, 0)
                doc["periods"].append(p)
        elif kind == 3:
            doc["price_series"] = self.price_series.text().strip()
        per_kw = self._num(self.per_kw, "$.tariff.demand_charge.per_kw", 0.0)
        if per_kw:
            doc["demand_charge"] = {"per_kw": per_kw,
                                    "billing_period": self.billing.text().strip() or "30d"}
        co2 = self.co2.text().strip()
        if co2:
            try:
                doc["co2_g_per_kwh"] = float(co2)
            except ValueError:
                doc["co2_g_per_kwh"] = co2  # a CSV's name
        if self.timezone.text().strip():
            doc["timezone"] = self.timezone.text().strip()
        if self.pv.isChecked():
            pv: dict = {}
            if self.pv_kind.currentIndex() == 0:
                pv["profile_kw"] = [
                    _number(_cell(self.pv_profile, i, 0), f"$.tariff.pv.profile_kw[{i}]")
                    for i in range(self.pv_profile.rowCount())]
            else:
                pv["series"] = self.pv_series.text().strip()
            pv["feed_in_per_kwh"] = self._num(self.feed_in, "$.tariff.pv.feed_in_per_kwh", 0.0)
            pv["scale"] = self._num(self.pv_scale, "$.tariff.pv.scale", 1.0)
            doc["pv"] = pv
        if self.battery.isChecked():
            doc["battery"] = {
                "capacity_kwh": self._num(self.capacity, "$.tariff.battery.capacity_kwh"),
                "power_kw": self._num(self.power, "$.tariff.battery.power_kw"),
                "efficiency": self._num(self.efficiency, "$.tariff.battery.efficiency", 0.9),
                "initial_soc": self._num(self.soc, "$.tariff.battery.initial_soc", 0.5),
                "threshold_kw": self._num(self.threshold, "$.tariff.battery.threshold_kw", 0.0),
                "charge_in_cheapest": self.cheap.isChecked()}
        return doc

    @staticmethod
    def _num(field: NumberField, where: str, default=None):
        try:
            v = field.value()
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from None
        if v is None:
            if default is None:
                raise ValueError(f"{where}: is required")
            return default
        return v

    def show_problems(self, msgs: list[str]) -> None:
        self.error.setText("\n".join(msgs))
        self.error.setVisible(bool(msgs))

    def _toggled(self, on: bool) -> None:
        self.body.setEnabled(on)
        self.finish()

    def finish(self) -> None:
        """Judge the fields as the file reader would; commit them if it accepts them."""
        if self._loading:
            return
        try:
            doc = self.value()
        except ValueError as e:
            self.show_problems([str(e)])
            return
        if doc is None:
            self.show_problems([])
            self.committed.emit(None)
            return
        problems = Problems()
        t = read_energy(doc, problems, self.folder())
        msgs = [p.format() for p in problems.items]
        self.show_problems(msgs)
        if not msgs:
            self.committed.emit(t)
