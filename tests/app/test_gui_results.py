"""Results a user reads: the statistics table, the 3D view's tooltips and colour legend,
the charts' bands, warm-up and notes, and both themes."""

import math

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, Qt

from app.dashboards import AUTO_BIN
from twin.model import elements as m
from twin.model.distributions import constant
from twin.sim.stats import format_ci

pytestmark = pytest.mark.gui


def _run(w, qtbot):
    with qtbot.waitSignal(w.run_panel.run_finished, timeout=90_000) as blocker:
        assert w.run_panel.start_run()
    qtbot.waitUntil(lambda: not w.dashboards.is_drawing(), timeout=5_000)
    return blocker.args[0]


def _click_header(qtbot, table, col):
    header = table.horizontalHeader()
    x = header.sectionViewportPosition(col) + header.sectionSize(col) // 2
    qtbot.mouseClick(header.viewport(), Qt.LeftButton, pos=QPoint(x, header.height() // 2))


def _column(table, col):
    return [table.item(i, col).text() for i in range(table.rowCount())]


def test_statistics_table_tooltips_and_legend(make_window, line_project, qtbot, warm_kernel):
    w = make_window(line_project)
    st = w.stats
    assert st.table.rowCount() == 0 and "No results" in st.note.text()
    assert not w.colour_legend.isVisible()
    result = _run(w, qtbot)
    summary = result.summary()
    assert [st.scenario.itemText(i) for i in range(st.scenario.count())] == ["base", "faster"]
    # every figure twinbench run prints per station, as the CLI formats it
    doc = summary["base"]
    rows = {st.table.item(i, 0).text(): i for i in range(st.table.rowCount())}
    assert set(rows) == set(doc["elements"])
    for label, key in (("parts out", "parts_out"), ("utilisation", "utilization"),
                       ("blocked", "state_fraction.blocked"),
                       ("starved", "state_fraction.starved"), ("failures", "failures"),
                       ("energy", "energy_kwh"), ("wear", "wear")):
        j = st.column(label)
        stat = doc["elements"]["M1"]
        for part in key.split("."):
            stat = stat[part]
        assert st.table.item(rows["M1"], j).text() == format_ci(stat), label
    j = st.column("mean content")
    assert st.table.item(rows["B1"], j).text() == format_ci(doc["elements"]["B1"]["mean_content"])
    # a click on the header sorts by the mean, not the text; a second click reverses
    j = st.column("parts in")
    _click_header(qtbot, st.table, j)
    means = [st.table.item(i, j).data(Qt.UserRole) for i in range(st.table.rowCount())]
    numbers = [v for v in means if v is not None]
    assert numbers == sorted(numbers) and means[:len(numbers)] == numbers
    _click_header(qtbot, st.table, j)
    means = [st.table.item(i, j).data(Qt.UserRole) for i in range(st.table.rowCount())]
    numbers = [v for v in means if v is not None]
    assert numbers == sorted(numbers, reverse=True) and means[:len(numbers)] == numbers
    # the scenario chooser shows the other scenario's figures
    st.scenario.setCurrentText("faster")
    rows = {st.table.item(i, 0).text(): i for i in range(st.table.rowCount())}
    u = summary["faster"]["elements"]["M2"]["utilization"]
    assert st.table.item(rows["M2"], st.column("utilisation")).text() == format_ci(u)
    # hovering M2 in the 3D view shows the same figures
    w.view.camera_preset("top")
    w.view.render_now()
    p = w.view.widget_point(9.0, 0.0, 1.0)
    tip = w.hover_tips.text_at(p.x(), p.y())
    assert tip.startswith("M2 (station), scenario faster")
    assert f"utilisation: {format_ci(u)} fraction" in tip.splitlines()
    assert w.hover_tips.text_at(2, 2) == ""  # empty floor: no tooltip
    # the colour legend of the utilisation colouring the run switched on
    assert w.colour_legend.isVisible()
    assert w.colour_legend.entries() == ["0%", "25%", "50%", "75%", "100%"]
    w.set_colour_mode("plain")
    assert not w.colour_legend.isVisible()
    w.dashboards.slider.setValue(500)
    assert w.colour_mode == "state" and w.colour_legend.isVisible()
    assert "busy" in w.colour_legend.entries() and "blocked" in w.colour_legend.entries()


def test_csv_of_every_figure_reads_back_as_numbers(make_window, line_project, qtbot,
                                                   warm_kernel, tmp_path):
    import csv

    w = make_window(line_project)
    result = _run(w, qtbot)
    path = tmp_path / "kpis.csv"
    w.dashboards.export_csv(str(path))
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["scenario", "element", "kpi", "mean", "ci95_halfwidth", "unit"]
    summary = result.summary()
    got = {(r["scenario"], r["element"], r["kpi"]): r for r in rows}
    tp = got[("base", "line", "throughput_per_hour")]
    assert float(tp["mean"]) == summary["base"]["line"]["throughput_per_hour"]["mean"]
    assert tp["unit"] == "good parts/h"
    busy = got[("faster", "M2", "state_fraction.busy")]
    want = summary["faster"]["elements"]["M2"]["state_fraction"]["busy"]
    assert float(busy["mean"]) == want["mean"]
    assert float(busy["ci95_halfwidth"]) == want["ci95_halfwidth"]
    for r in rows:  # every number is a number or blank (no "±", no text)
        for c in ("mean", "ci95_halfwidth"):
            assert r[c] == "" or math.isfinite(float(r[c]))


def test_charts_band_warmup_and_notes(make_window, line_project, qtbot, warm_kernel):
    w = make_window(line_project)
    _run(w, qtbot)
    d = w.dashboards
    # the throughput band is drawn: a filled item between mean - hw and mean + hw
    fills = [i for i in d.throughput.getPlotItem().items if isinstance(i, pg.FillBetweenItem)]
    assert len(fills) == 2  # one per scenario
    # warm-up marked at 600 s = 1/6 h
    lines = [i for i in d.throughput.getPlotItem().items if isinstance(i, pg.InfiniteLine)]
    assert [round(x.value(), 4) for x in lines] == [round(600 / 3600, 4)]
    # a chosen bin width: 30 min bins over 4 h give 8 bins
    d.bin_width.setCurrentText("30 min")
    x, y = d.curves["base"]["throughput"].getData()
    assert len(x) == 8
    sc = d.charts.scenarios["base"]
    t, good = sc.good_t, sc.good
    edges = np.arange(0, t[-1] + 1, 1800.0)
    k = np.searchsorted(t, edges)
    want = (good[:, k[1:]] - good[:, k[:-1]]).mean(axis=0) / 0.5
    np.testing.assert_allclose(y, want)
    # one scenario, or a chosen few: untick "faster" under "Scenarios shown"
    actions = {a.text(): a for a in d.compare_button.menu().actions()}
    assert list(actions) == ["base", "faster"]
    actions["faster"].trigger()
    for plot in (d.throughput, d.wip, d.power):
        assert [c.name() for c in plot.getPlotItem().listDataItems()] == ["base"]
    fills = [i for i in d.throughput.getPlotItem().items if isinstance(i, pg.FillBetweenItem)]
    assert len(fills) == 1 and len(d.curves["base"]["throughput"].getData()[0]) == 8
    actions["faster"].trigger()
    assert len(d.throughput.getPlotItem().listDataItems()) == 2
    # legends outside the plot area: right of the view box
    legend = d.throughput.getPlotItem().legend
    vb = d.throughput.getPlotItem().getViewBox()
    assert legend.sceneBoundingRect().left() >= vb.sceneBoundingRect().right() - 1
    # M2 has no wear model: a note only for the stations with none, none with
    d.scenario.setCurrentText("base")
    d.tabs.setCurrentWidget(d.wear)
    texts = [i.toPlainText() for i in d.wear.getPlotItem().items if isinstance(i, pg.TextItem)]
    assert texts == []
    assert [c.name() for c in d.wear.getPlotItem().listDataItems()] == ["M1"]


def test_compare_marks_significant_differences(make_window, line_project, qtbot,
                                               warm_kernel):
    w = make_window(line_project)
    _run(w, qtbot)
    d = w.dashboards
    sig = d.charts.significant
    rows = d.comparison_rows()
    for i, row in enumerate(rows[1:]):
        cell = d.table.item(i, 3)
        assert cell.font().bold() == sig[i][0]
        assert cell.toolTip().startswith("significant") == sig[i][0], row[0]
    assert any(s[0] for s in sig)  # M2 35 s instead of 45 s: throughput differs


def test_dark_theme_readable(make_window, line_project, qtbot, warm_kernel):
    w = make_window(line_project)
    w.set_theme("dark")
    _run(w, qtbot)
    d = w.dashboards
    for plot in (d.throughput, d.wip):
        for _, label in plot.getPlotItem().legend.items:
            c = pg.mkColor(label.opts["color"])
            assert c.lightness() > 150, c.name()  # light text on the dark chart
    # and on screen: light text pixels in the legend's box on the dark background
    d.tabs.setCurrentWidget(d.throughput)
    qtbot.wait(50)
    legend = d.throughput.getPlotItem().legend
    box = d.throughput.mapFromScene(legend.sceneBoundingRect()).boundingRect()
    img = d.throughput.grab().toImage()
    light = sum(1 for x in range(box.left(), box.right(), 1)
                for y in range(box.top(), box.bottom(), 1)
                if img.pixelColor(x, y).lightness() > 180)
    assert light > 20
    # a disabled Undo looks disabled: its tool button's text is dimmer than Redo enabled
    w.stack.push(__import__("twin.model.commands", fromlist=["x"]).MoveElements(
        {"M1": ((3.0, 0.0, 0.0), (3.5, 0.0, 0.0))}))
    w.stack.undo()
    assert not w.act_undo.isEnabled() and w.act_redo.isEnabled()
    tb = w.findChild(pg.QtWidgets.QToolBar, "toolbar_main")
    undo, redo = tb.widgetForAction(w.act_undo), tb.widgetForAction(w.act_redo)
    def text_lightness(button):
        img = button.grab().toImage()
        vals = [img.pixelColor(x, y).lightness() for x in range(img.width())
                for y in range(img.height())]
        return max(vals)
    assert text_lightness(undo) < text_lightness(redo) - 40
    # the 3D view is dark too
    rgb = w.view.grab_image()[3, 3].astype(int)
    assert rgb.max() < 100
    w.set_theme("light")
    assert w.view.grab_image()[3, 3].astype(int).min() > 180


def test_a_steady_lines_throughput_chart_shows_its_steady_rate_in_every_bin(
        make_window, qtbot, warm_kernel):
    # F6: source -> station (2 servers, 60 s each) -> sink makes 120 parts/h, two at a time;
    # one bin per sample (8 h / 200 = 144 s) drew a saw-tooth between 100 and 150
    p = m.Project("steady", elements=[
        m.Source("src", position=(0.0, 0.0, 0.0), arrival=constant(5.0)),
        m.Station("M1", position=(3.0, 0.0, 0.0), process_time=constant(60.0), servers=2),
        m.Sink("out", position=(6.0, 0.0, 0.0)),
    ], run=m.RunSettings(horizon=8 * 3600.0, replications=2, seed=1))
    p.connect("src", "M1")
    p.connect("M1", "out")
    w = make_window(p)
    _run(w, qtbot)
    d = w.dashboards
    x, y = d.curves["base"]["throughput"].getData()
    assert len(x) >= 8  # the run's shape is still there
    np.testing.assert_allclose(y, 120.0, rtol=0.025)  # every bin, the first one included
    # the bin is said on the chart and in the menu
    assert d.throughput_bin() == 3600.0
    assert d.throughput.getPlotItem().titleLabel.text.endswith(", 1 h bins")
    assert d.bin_width.currentText() == f"{AUTO_BIN} (1 h)"
    # the saw-tooth the per-sample bins drew, for the record (the choice is still offered)
    d.bin_width.setCurrentText("each sample")
    _, y = d.curves["base"]["throughput"].getData()
    assert y.max() - y.min() > 30.0
    assert "one bin per sample (2.4 min)" in d.throughput.getPlotItem().titleLabel.text
    assert d.bin_width.itemText(0) == AUTO_BIN
    # another project does not show this run's bin in the menu (newfix3 §7)
    d.bin_width.setCurrentIndex(0)
    assert d.bin_width.currentText() == f"{AUTO_BIN} (1 h)"
    w.act_new.trigger()
    assert d.bin_width.currentText() == AUTO_BIN


def _inside(plot, item) -> bool:
    """``item`` (a graphics item of ``plot``) lies wholly in the part of the chart on screen."""
    shown = plot.mapFromScene(item.sceneBoundingRect()).boundingRect()
    return plot.viewport().rect().contains(shown)


def test_legends_and_notes_fit_the_default_window(make_window, line_project, qtbot, warm_kernel):
    """Five scenarios at the window's default size: the throughput legend's fifth name was
    under the chart's bottom edge, and the Compare tab's "No results" note wider than its
    chart (polish2 §2)."""
    for name in ("slower", "third", "fourth"):
        line_project.scenarios.append(
            m.Scenario(name, (m.Override("process_time", 42.0, "M2"),)))
    line_project.run = m.RunSettings(horizon=3600.0, warmup=60.0, replications=2, seed=3)
    w = make_window(line_project, size=(1400, 900))
    w._default_split()
    qtbot.wait(50)
    d = w.dashboards
    # before a run: each chart's note in sight, the Compare tab's too
    d.tabs.setCurrentIndex([d.tabs.tabText(i) for i in range(d.tabs.count())].index("Compare"))
    qtbot.wait(50)
    notes = [i for i in d.compare_plot.getPlotItem().items if isinstance(i, pg.TextItem)]
    assert notes and all(_inside(d.compare_plot, n) for n in notes)
    d.tabs.setCurrentIndex(0)
    _run(w, qtbot)
    qtbot.wait(50)
    legend = d.throughput.getPlotItem().legend
    names = [label.text for _, label in legend.items]
    assert len(names) == 5
    for _, label in legend.items:
        assert _inside(d.throughput, label), label.text
