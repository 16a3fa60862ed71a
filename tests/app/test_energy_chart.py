"""The Grid and battery chart of a run (app.energy_chart): the means over replications of
the dispatch of each replication, the battery on its own axis, the dear periods shaded."""

from __future__ import annotations

import numpy as np
import pytest

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
    assert set(chart.curves) == {"load", "pv", "grid", "soc"}
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
