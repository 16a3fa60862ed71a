"""The Compare tab says each scenario's trade-off in one sentence (issue 19 §4): the energy
cost saved against the output lost, paired over replications, as ``twinbench run`` does."""

import pytest

from twin.model import elements as m

pytestmark = pytest.mark.gui


def test_the_compare_tab_says_the_trade_off_in_a_sentence(make_window, line_project, qtbot,
                                                          warm_kernel, tmp_path):
    """The Compare table gives the paired differences in % of the base too, and under it
    per scenario the energy cost saved or added (in % of the base and in money) and the
    output lost or gained, as twinbench run prints it; the figures are the paired
    differences of the replications' own KPIs."""
    import numpy as np

    from twin.sim.stats import format_ci, mean_ci
    from twin.sim.summary import replication_kpis

    line_project.tariff = m.Tariff(0.2, currency="EUR")
    w = make_window(line_project)
    with qtbot.waitSignal(w.run_panel.run_finished, timeout=120_000) as blocker:
        assert w.run_panel.start_run()
    d = w.dashboards
    d.finish_drawing()
    d.tabs.setCurrentWidget(d.tabs.widget(d.tabs.count() - 1))
    assert d.tabs.tabText(d.tabs.currentIndex()) == "Compare"
    assert d.verdicts.isVisible()
    result = blocker.args[0]
    reps = {n: [replication_kpis(sr, r) for r in sr.replications]
            for n, sr in result.scenarios.items()}
    diff = mean_ci([a["line.energy_cost"] - b["line.energy_cost"]
                    for a, b in zip(reps["faster"], reps["base"], strict=True)])
    base = np.mean([r["line.energy_cost"] for r in reps["base"]])
    pct = {"mean": 100 * diff["mean"] / base, "ci95_halfwidth": 100 * diff["ci95_halfwidth"]
           / base}
    # the table has the paired difference in % of the base too: one table for the trade-off
    header = [d.table.horizontalHeaderItem(c).text() for c in range(d.table.columnCount())]
    assert header == ["KPI", "base", "faster", "faster − base", "faster vs base %"]
    row = next(r for r in range(d.table.rowCount())
               if d.table.item(r, 0).text() == "Energy cost")
    assert d.table.item(row, 4).text() == format_ci(pct, 3)
    assert d.table.item(row, 4).font().bold() == (abs(diff["mean"]) > diff["ci95_halfwidth"])
    text = d.verdicts.text()
    assert text.startswith("faster vs base: ")
    if abs(pct["mean"]) > pct["ci95_halfwidth"]:
        word = "saves" if pct["mean"] < 0 else "adds"
        size = format_ci({"mean": abs(pct["mean"]), "ci95_halfwidth": pct["ci95_halfwidth"]}, 3)
        assert f"{word} {size} % of the energy cost (" in text
    else:
        assert "does not change the energy cost significantly" in text
    assert "% of output" in text or "does not change output" in text
    # and the report says it under its comparison table
    from app.report import export_report

    export_report(w, tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert f'<p class="verdict">{text}</p>' in page
