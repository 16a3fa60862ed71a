"""The tariff editor shows the flat and hourly prices only; editing them keeps the rest of
the energy context (periods, demand charge, CO2) and refuses hourly prices beside periods."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.editors.tariff import TariffEditor
from twin.model import elements as m

CONTEXT = m.Tariff(0.3, periods=(m.TouPeriod(79200.0, 21600.0, 0.1, (0, 1, 2), "night"),),
                   demand_charge_per_kw=12.0, billing_period=86400.0, co2_g_per_kwh=380.0,
                   timezone="Europe/Rome")


def test_editing_the_price_keeps_the_energy_context(qtbot):
    te = TariffEditor()
    qtbot.addWidget(te)
    te.show()
    te.set_value(CONTEXT)
    assert "1 time-of-use period, a demand charge of 12 per kW, CO2 intensity" in \
        te.more.text()
    got = []
    te.committed.connect(got.append)
    te.price.edit.setFocus()
    te.price.edit.selectAll()
    QTest.keyClicks(te.price.edit, "0.35")
    QTest.keyClick(te.price.edit, Qt.Key_Return)
    assert got and got[-1].price_per_kwh == 0.35
    assert got[-1].periods == CONTEXT.periods and got[-1].demand_charge_per_kw == 12.0
    assert got[-1].co2_g_per_kwh == 380.0 and got[-1].timezone == "Europe/Rome"
    n = len(got)
    te.hourly_on.click()  # hourly prices beside periods: refused, the reason shown
    assert len(got) == n and "time-of-use periods" in te.error.text()
