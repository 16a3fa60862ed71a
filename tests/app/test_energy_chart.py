"""The Grid and battery chart of a run (app.energy_chart): the means over replications of
the dispatch of each replication, the battery on its own axis, the dear periods shaded."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.energy_chart import price_periods
from twin.energy import Clock
from twin.energy_site import site_curve
from twin.model import commands as cmd
from twin.model import elements as m

pytestmark = pytest.mark.gui

H = 3600.0


def test_price_periods_merge_equal_prices():
    t = np.array([0.0, 10.0, 20.0, 30.0])
    assert price_periods(t, np.array([1.0, 1.0, 2.0, 1.0]), 40.0) == [
        (0.0, 20.0, 1.0), (20.0, 30.0, 2.0), (30.0, 40.0, 1.0)]


def test_the_chart_shows_the_mean_dispatch_and_the_dear_hours(make_window, line_project,
                                                               qtbot, warm_kernel):
    line_project.tariff = m.Tariff(
        0.2, periods=(m.TouPeriod(1 * H, 2 * H, 0.5, name="peak"),
                      m.TouPeriod(3 * H, 3.5 * H, 0.35, name="shoulder")),
        pv=m.Pv((0.0,) * 2 + (3.0,) * 22), battery=m.Battery(2.0, 3.0, 0.9, 0.5, 4.0))
    w = make_window(line_project)
    with qtbot.waitSignal(w.run_panel.run_finished, timeout=90_000) as blocker:
        assert w.run_panel.start_run()
    d = w.dashboards
    d.finish_drawing()
    d.tabs.setCurrentWidget(d.energy_day)
    sr = blocker.args[0].scenarios["base"]
    tariff = sr.project.tariff
    ds = [site_curve(tariff, Clock.simulation(), sr.ts_t, rep.ts_energy[:, [
        i for i, k in enumerate(sr.lowered.element_kinds) if k == "station"]].sum(axis=1),
        sr.lowered.warmup, sr.lowered.horizon, tariff.battery) for rep in sr.replications]
    chart = d.energy_day
    x, y = chart.curves["grid"].getData()
    np.testing.assert_allclose(x, ds[0].t / H)
    np.testing.assert_allclose(y, np.mean([e.grid for e in ds], axis=0))
    _, soc = chart.curves["soc"].getData()
    np.testing.assert_allclose(soc, np.mean([e.soc for e in ds], axis=0))
    assert chart.curves["soc"] in chart.soc_view.addedItems  # on the right axis
    assert set(chart.curves) == {"load", "pv", "grid", "soc", "peak", "rate"}
    # the price as steps on the outer right axis: base, peak, base, shoulder, base (0.6 h
    # warm-up to the 4 h horizon)
    rx, ry = chart.curves["rate"].getData()
    np.testing.assert_allclose(rx, [600 / H, 1.0, 2.0, 3.0, 3.5, 4.0])
    np.testing.assert_allclose(ry, [0.2, 0.5, 0.2, 0.35, 0.2])
    assert chart.curves["rate"] in chart.rate_view.addedItems
    assert chart.rate_axis.labelText == "price (EUR/kWh)"
    chart.second.setFocus()  # the CO2 intensity instead: the project has none
    QTest.keyClick(chart.second, Qt.Key_Down)
    assert chart.second.currentText() == "CO2 intensity"
    assert "rate" not in chart.curves and chart.rate_axis.labelText == "no CO2 intensity"
    QTest.keyClick(chart.second, Qt.Key_Up)
    assert chart.rate_axis.labelText == "price (EUR/kWh)"
    # the peak marked: the quarter hour of the clock with the highest mean grid import of
    # the mean curve, found here by integrating it over every quarter hour of the span
    t, grid = ds[0].t, np.mean([e.grid for e in ds], axis=0)
    cum = np.concatenate([[0.0], np.cumsum(grid * np.diff(t))])
    wins = [(max(k * 900.0, t[0]), min(k * 900.0 + 900.0, t[-1]))
            for k in range(int(t[0] // 900), int(np.ceil(t[-1] / 900)))]
    means = [(np.interp(b, t, cum) - np.interp(a, t, cum)) / (b - a) for a, b in wins]
    (a, b), kw = wins[int(np.argmax(means))], max(means)
    px, py = chart.curves["peak"].getData()
    np.testing.assert_allclose(px, [a / H, b / H])
    np.testing.assert_allclose(py, [kw, kw], rtol=1e-12)
    assert f"highest 15-minute mean grid import, {kw:.4g} kW" in chart.note.text()
    # the peak hour darker than the shoulder, the base price unshaded
    regions = sorted(chart.shaded, key=lambda r: r.getRegion()[0])
    assert [tuple(r.getRegion()) for r in regions] == [(1.0, 2.0), (3.0, 3.5)]
    assert regions[0].brush.color().alpha() > regions[1].brush.color().alpha()
    assert "3 replications" in chart.note.text() and "0.2 (unshaded) to 0.5" in chart.note.text()
    # no energy context: a word on how to give one
    w.stack.push(cmd.SetProjectField("tariff", None))
    with qtbot.waitSignal(w.run_panel.run_finished, timeout=90_000):
        assert w.run_panel.start_run()
    d.finish_drawing()
    assert not chart.curves and "No energy context" in chart.note.text()


def test_the_energy_of_the_open_recording(make_window, line_project, sme_recording, qtbot):
    from twin.recording import Recording
    from twin.recording.energy import recording_energy, recording_site

    w = make_window(line_project)
    w.act_recording_energy.trigger()  # no recording yet: a word on what to do
    dlg = w.recording_energy_dialog
    assert "File > Open recording" in dlg.status.text() and dlg.table.rowCount() == 0
    assert w.open_recording(sme_recording)
    w.act_recording_energy.trigger()  # no energy context
    assert "Calendar and energy" in dlg.status.text()
    tariff = m.Tariff(0.25, periods=(m.TouPeriod(8 * H, 20 * H, 0.4, tuple(range(5))),),
                      demand_charge_per_kw=9.0, co2_g_per_kwh=380.0,
                      pv=m.Pv((0.0,) * 8 + (3.0,) * 8 + (0.0,) * 8),
                      battery=m.Battery(10.0, 2.0, 0.9, 0.0, 2.5, True))
    w.stack.push(cmd.SetProjectField("tariff", tariff))
    w.act_recording_energy.trigger()
    qtbot.waitUntil(lambda: dlg.figures is not None, timeout=30_000)
    with Recording.open(sme_recording) as rec:
        per_asset = recording_energy(rec, tariff)
        line = per_asset["total"]
        site = recording_site(rec, tariff)
    assert dlg.value_of("energy cost, EUR") == f"{line.cost:,.2f}"
    assert dlg.value_of("peak shaved, kW") == f"{site['peak_shaved_kw']:,.2f}"
    assert dlg.value_of("battery full cycles") == f"{site['battery_cycles']:,.2f}"
    chart = dlg.chart
    assert set(chart.curves) == {"load", "pv", "grid", "soc", "peak", "rate"} and chart.shaded
    # the peak marked is the grid's 15-minute peak the site figures report
    _, py = chart.curves["peak"].getData()
    assert py[0] == pytest.approx(site["grid_peak_kw_15min"], rel=1e-9)
    assert "recorded line" in chart.note.text()
    x, _ = chart.curves["grid"].getData()
    assert x[0] == 0.0  # hours since the start of the recording
    chart.second.setCurrentText("CO2 intensity")  # the constant intensity, over the recording
    chart.second.activated.emit(1)
    rx, ry = chart.curves["rate"].getData()
    assert rx[0] == 0.0 and rx[-1] == pytest.approx(x[-1]) and list(ry) == [380.0]
    assert chart.rate_axis.labelText == "CO2 intensity (g/kWh)"
    # the cost breakdown of the recording: per asset and state, exactly from its channels
    dlg.tabs.setCurrentWidget(dlg.breakdown)
    assert dlg.breakdown.total_cost() == pytest.approx(
        sum(v.energy_cost for k, v in per_asset.items() if k != "total"), rel=1e-9)
    assert {"supply:grid", "supply:PV", "supply:battery", "station:0"} <= set(
        dlg.breakdown.sankey.nodes)
    assert "exactly from its power and state channels" in dlg.breakdown.note.text()


def test_the_cost_breakdown_shows_each_station_by_state(make_window, line_project, qtbot,
                                                        warm_kernel):
    from kernels.types import STATE_NAMES
    from twin.sim.summary import replication_kpis

    line_project.tariff = m.Tariff(0.2, pv=m.Pv((0.0,) * 2 + (3.0,) * 22),
                                   battery=m.Battery(2.0, 3.0, 0.9, 0.5, 4.0))
    w = make_window(line_project)
    with qtbot.waitSignal(w.run_panel.run_finished, timeout=90_000) as blocker:
        assert w.run_panel.start_run()
    d = w.dashboards
    d.finish_drawing()
    names = [d.tabs.tabText(i) for i in range(d.tabs.count())]
    d.tabs.setCurrentIndex(names.index("Cost breakdown"))
    view = d.breakdown
    sr = blocker.args[0].scenarios["base"]
    rows = [replication_kpis(sr, r) for r in sr.replications]
    stations = [sid for sid, k in zip(sr.lowered.element_ids, sr.lowered.element_kinds,
                                      strict=True) if k == "station"]
    # the bars: each station's energy part, stacked by state (a state with no cost: no bar)
    assert view.total_cost() == pytest.approx(np.mean(
        [sum(r[f"elements.{s}.energy_cost"] for s in stations) for r in rows]), rel=1e-9)
    assert set(view.stacks) <= set(STATE_NAMES) and "busy" in view.stacks
    ticks = view.bar.getAxis("bottom")._tickLevels[0]
    assert [t for _, t in ticks] == stations
    # the Sankey: the supplies, every station and its states, bands as wide as their kWh
    nodes = set(view.sankey.nodes)
    assert {"supply:grid", "supply:PV", "supply:battery"} <= nodes
    assert {f"station:{s}" for s in stations} <= nodes and "state:busy" in nodes
    tips = [item.toolTip() for _, item in view.sankey.bands]
    assert any(t.startswith("PV -> ") for t in tips)
    busy = view.data.kwh[:, STATE_NAMES.index("busy")].sum()
    rect = view.sankey.nodes["state:busy"]
    grid = view.sankey.nodes["supply:grid"]
    assert rect.height() / grid.height() == pytest.approx(
        busy / view.data.supplies["grid"], rel=1e-6)
    assert "3 replications" in view.note.text() and "PV" in view.note.text()
    # no energy context: a word on how to give one
    w.stack.push(cmd.SetProjectField("tariff", None))
    with qtbot.waitSignal(w.run_panel.run_finished, timeout=90_000):
        assert w.run_panel.start_run()
    d.finish_drawing()
    assert not view.stacks and not view.sankey.nodes
    assert "No energy context" in view.note.text()
