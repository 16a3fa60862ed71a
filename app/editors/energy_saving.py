"""The editor of a station's energy-saving policy (issue 19 §2): standby or switch-off after
a while without work, and the warm-up before the next part (docs/semantics.md)."""

from __future__ import annotations

from app.editors.distribution import DistributionEditor
from app.editors.fields import Choice, NumberField, narrow
from app.editors.station import _Switchable
from twin.model.elements import ENERGY_SAVING_MODES, ENERGY_SAVING_WHEN


class EnergySavingEditor(_Switchable):
    """On or off; the idle time, the mode and what starts the timer, the restart time and
    energy. Bad values (a negative time, ...) come back from the project reader with their
    JSON path and show under the fields."""

    def __init__(self, parent=None):
        super().__init__("saves energy when idle", parent)
        self.after = NumberField("s", time=True)
        self.mode = narrow(Choice(), 8)
        self.mode.addItems(list(ENERGY_SAVING_MODES))
        self.mode.setToolTip("standby: a lower power level; off: switched off")
        self.when = narrow(Choice(), 8)
        self.when.addItems(list(ENERGY_SAVING_WHEN))
        self.when.setToolTip("which state starts the timer: starved (no part), blocked "
                             "(the next element cannot take the part), or either")
        self.restart = DistributionEditor(optional=True)
        self.restart_kwh = NumberField("kWh")
        self.after.finished.connect(self._emit)
        self.restart_kwh.finished.connect(self._emit)
        self.mode.activated.connect(lambda _i: self._emit())
        self.when.activated.connect(lambda _i: self._emit())
        self.restart.committed.connect(lambda _v: self._emit())
        self.form.addRow("after", self.after)
        self.form.addRow("mode", self.mode)
        self.form.addRow("when", self.when)
        self.form.addRow("restart time", self.restart)
        self.form.addRow("restart energy", self.restart_kwh)

    def _load(self, value: dict) -> None:
        if value:
            self.after.set_value(value.get("after_s"))
            self.mode.setCurrentText(value.get("mode", "standby"))
            self.when.setCurrentText(value.get("when", "starved"))
            self.restart.set_value(value.get("restart_s"))
            self.restart_kwh.set_value(value.get("restart_kwh"))

    def _start(self) -> None:
        # standby after 2 min without parts, half a minute to come back
        self.after.set_value(120)
        self.restart.set_value(30)

    def value(self):
        if not self.enabled.isChecked():
            return None
        after = self.after.value()
        out = {"after_s": after} if after is not None else {}
        out["mode"] = self.mode.currentText()
        out["when"] = self.when.currentText()
        restart = self.restart.value()
        if restart is not None:
            out["restart_s"] = restart
        try:
            kwh = self.restart_kwh.value()
        except ValueError as e:
            raise ValueError(f"energy_saving.restart_kwh: {e}") from None
        if kwh:
            out["restart_kwh"] = kwh
        return out
