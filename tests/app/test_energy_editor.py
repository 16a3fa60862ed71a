"""The energy context editor (app.energy_editor): every part of ``$.tariff`` shown and
edited (price kinds, time-of-use periods, demand charge, CO2, PV, battery), the reader's
messages with their JSON paths for bad values, undo through the plant dialog, and a KPI of
a run that follows a value typed in it."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.energy_editor import EnergyEditor
from twin.model import elements as m
from twin.sim.stats import format_ci

CONTEXT = m.Tariff(0.3, periods=(m.TouPeriod(79200.0, 21600.0, 0.1, (0, 1, 2), "night"),),
                   demand_charge_per_kw=12.0, billing_period=86400.0, co2_g_per_kwh=380.0,
                   timezone="Europe/Rome",
                   pv=m.Pv((0.0,) * 8 + (2.5,) * 8 + (0.0,) * 8, None, 0.04),
                   battery=m.Battery(10.0, 5.0, 0.9, 0.5, 8.0, True))


def _type(field, text):
    field.setFocus()
    field.selectAll()
    QTest.keyClicks(field, text)
    QTest.keyClick(field, Qt.Key_Return)


@pytest.fixture
def editor(qtbot):
    te = EnergyEditor()
    qtbot.addWidget(te)
    te.show()
    te.set_value(CONTEXT)
    got = []
    te.committed.connect(got.append)
    return te, got


def test_the_whole_context_is_shown_and_an_edit_keeps_the_rest(editor):
    te, got = editor
    assert te.kind.currentText() == "time of use"
    assert [te.periods.item(0, c).text() for c in range(5)] == [
        "night", "22h", "6h", "0.1", "mon tue wed"]
    assert te.per_kw.text() == "12" and te.billing.text() == "1d"
    assert te.co2.text() == "380" and te.timezone.text() == "Europe/Rome"
    assert te.pv.isChecked() and te.pv_profile.item(10, 0).text() == "2.5"
    assert te.battery.isChecked() and te.threshold.text() == "8" and te.cheap.isChecked()
    _type(te.capacity.edit, "25")
    assert got[-1] == replace(CONTEXT, battery=m.Battery(25.0, 5.0, 0.9, 0.5, 8.0, True))
    te.periods.item(0, 2).setText("7h")  # the night ends an hour later
    assert got[-1].periods[0].end == 7 * 3600.0 and got[-1].battery.capacity_kwh == 25.0
    assert te.pv_scale.text() == "1"
    _type(te.pv_scale.edit, "2.5")  # twice and a half the panels
    assert got[-1].pv.scale == 2.5 and got[-1].pv.profile_kw == CONTEXT.pv.profile_kw
    _type(te.pv_scale.edit, "-1")
    assert got[-1].pv.scale == 2.5  # refused: not committed
    _type(te.pv_scale.edit, "2.5")
    te.pv.setChecked(False)
    assert got[-1].pv is None and got[-1].battery is not None


def test_bad_values_get_the_readers_message_and_are_not_committed(editor):
    te, got = editor
    _type(te.capacity.edit, "-5")
    assert "$.tariff.battery.capacity_kwh" in te.error.text() and ">= 0" in te.error.text()
    assert not got
    _type(te.capacity.edit, "ten")
    assert "$.tariff.battery.capacity_kwh" in te.error.text()
    _type(te.capacity.edit, "10")
    assert not te.error.isVisibleTo(te) and got[-1] == CONTEXT
    _type(te.efficiency.edit, "1.5")
    assert "$.tariff.battery.efficiency" in te.error.text()
    _type(te.efficiency.edit, "0.9")
    QTest.mouseClick(te.add_period, Qt.LeftButton)  # 22h to 6h every day: overlaps night
    assert "$.tariff.periods[1]: overlaps $.tariff.periods[0]" in te.error.text()
    te.periods.item(1, 4).setText("sat sun")
    assert not te.error.isVisibleTo(te) and len(got[-1].periods) == 2
    te.billing.setText("5min")
    te.billing.editingFinished.emit()
    assert "$.tariff.demand_charge.billing_period" in te.error.text()
    te.billing.setText("30d")
    te.billing.editingFinished.emit()
    te.pv_profile.item(3, 0).setText("sunny")
    assert "$.tariff.pv.profile_kw[3]" in te.error.text()
    te.pv_profile.item(3, 0).setText("0")
    te.kind.setCurrentText("series")  # no file named yet, and no folder
    assert "$.tariff.price_series" in te.error.text()


@pytest.mark.gui
def test_a_typed_battery_capacity_changes_the_saving_the_run_reports(
        make_window, line_project, qtbot, warm_kernel):
    line_project.tariff = m.Tariff(0.3)
    w = make_window(line_project)
    w.act_plant.trigger()
    te = w.plant_dialog.tariff
    w.plant_dialog.tabs.setCurrentWidget(te)
    qtbot.waitUntil(te.enabled.isVisible)
    te.battery.setChecked(True)  # the defaults: 10 kWh, 5 kW, 90 %, half full
    assert w.project.tariff.battery == m.Battery(10.0, 5.0, 0.9, 0.5, 0.0, False)
    # a full battery, lossless, strong enough for any load, 2 kWh: it gives its 2 kWh first
    for field, text in ((te.soc, "1"), (te.efficiency, "1"), (te.power, "1000"),
                        (te.capacity, "2")):
        _type(field.edit, text)
    assert w.project.tariff.battery == m.Battery(2.0, 1000.0, 1.0, 1.0, 0.0, False)

    def saving():
        with qtbot.waitSignal(w.run_panel.run_finished, timeout=90_000) as blocker:
            assert w.run_panel.start_run()
        qtbot.waitUntil(lambda: not w.dashboards.is_drawing(), timeout=5_000)
        summary = blocker.args[0].summary()
        row = next(r for r in w.dashboards.comparison_rows() if r[0] == "Saved by the battery")
        assert row[1] == format_ci(summary["base"]["line"]["battery_saving"], 4)
        return summary["base"]["line"]["battery_saving"]

    first = saving()
    assert first["mean"] == pytest.approx(0.3 * 2.0, rel=1e-9) and first["ci95_halfwidth"] == 0
    _type(te.capacity.edit, "3")
    assert saving()["mean"] == pytest.approx(0.3 * 3.0, rel=1e-9)
    # each typed value was one undo step
    w.act_undo.trigger()
    assert w.project.tariff.battery.capacity_kwh == 2.0 and te.capacity.text() == "2"


@pytest.mark.gui
def test_a_bigger_battery_as_a_scenario_in_the_scenarios_dock(make_window, line_project, qtbot):
    from twin.projectfile.reader import with_scenario

    line_project.tariff = m.Tariff(0.3, battery=m.Battery(10.0, 5.0))
    w = make_window(line_project)
    panel = w.scenario_panel
    panel.select("faster")
    panel.element_combo.setCurrentIndex(panel.element_combo.findData(None))
    panel.field_combo.setCurrentText("tariff.battery.capacity_kwh")
    assert panel.value_edit.text() == "10.0"  # the base's value, to edit
    _type(panel.value_edit, "40")
    QTest.mouseClick(panel.set_button, Qt.LeftButton)
    assert with_scenario(w.project, "faster").tariff.battery.capacity_kwh == 40.0
    assert w.project.tariff.battery.capacity_kwh == 10.0
