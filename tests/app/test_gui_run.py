"""Run in the background from the run panel; the charts hold the kernel's numbers."""

import os
import sys
import threading

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox

from app.dashboards import throughput_series
from app.playback import Playback
from app.theme import STATE_COLORS
from app.worker import BACKGROUND_NICE, Job
from kernels import types as kt
from twin.model import commands as cmd
from twin.sim.runner import RunSpec, run_project
from twin.sim.stats import format_ci, mean_ci
from twin.sim.summary import replication_kpis

pytestmark = pytest.mark.gui


def test_run_charts_and_playback(make_window, line_project, qtbot, tmp_path, warm_kernel):
    w = make_window(line_project)
    rp = w.run_panel
    assert rp.chosen_scenarios() == ["base", "faster"]
    with qtbot.waitSignal(rp.run_finished, timeout=60_000) as blocker:
        assert rp.start_run()
        assert rp.is_running() and not rp.run_button.isEnabled()
    result = blocker.args[0]
    assert not rp.is_running() and rp.progress.value() == 1000
    base = result.scenarios["base"]
    # throughput curve: the good-part rate of the kernel's cumulative count, by default in
    # bins of about 100 parts, here capped at 8 bins over the 4 h run: 30 min
    d = w.dashboards
    x, y = d.curves["base"]["throughput"].getData()
    good = np.array([r.ts_line[:, 0] for r in base.replications])
    assert d.throughput_bin() == 1800.0 and len(x) == 8
    edges = np.searchsorted(base.ts_t, np.arange(0.0, base.ts_t[-1] + 1.0, 1800.0))
    np.testing.assert_allclose(y, (good[:, edges[1:]] - good[:, edges[:-1]]).mean(axis=0) * 2)
    # and per sample when asked
    d.bin_width.setCurrentText("each sample")
    x, y = d.curves["base"]["throughput"].getData()
    rate = np.diff(good, axis=1) / np.diff(base.ts_t) * 3600.0
    np.testing.assert_allclose(y, rate.mean(axis=0))
    np.testing.assert_allclose(x, base.ts_t[1:] / 3600.0)
    assert throughput_series(base)[1] is not None
    # the other charts follow one per turn of the event loop
    qtbot.waitUntil(lambda: not w.dashboards.is_drawing(), timeout=5_000)
    _, wip = w.dashboards.curves["base"]["wip"].getData()
    np.testing.assert_allclose(wip, np.mean([r.ts_line[:, 1] for r in base.replications], 0))
    # comparison table: the summary's mean ± half-width and the paired difference
    s = result.summary()
    tp = s["base"]["line"]["throughput_per_hour"]
    assert w.dashboards.table.item(0, 1).text() == format_ci(tp, 4)
    diffs = [replication_kpis(result.scenarios["faster"], a)["line.throughput_per_hour"]
             - replication_kpis(base, b)["line.throughput_per_hour"]
             for a, b in zip(result.scenarios["faster"].replications, base.replications,
                             strict=True)]
    d = mean_ci(diffs)
    assert w.dashboards.table.item(0, 3).text() == format_ci(d, 4)
    assert w.dashboards.bottleneck.text() == f"Bottleneck: {s['base']['bottleneck']}"
    # exports
    w.dashboards.tabs.setCurrentIndex(0)
    w.dashboards.export_chart(str(tmp_path / "tp.png"))
    w.dashboards.export_chart(str(tmp_path / "tp.svg"))
    w.dashboards.export_csv(str(tmp_path / "kpi.csv"))
    assert (tmp_path / "tp.png").stat().st_size > 1000
    assert "<svg" in (tmp_path / "tp.svg").read_text()
    # every figure, numbers in their own columns (tests/app/test_gui_results.py reads them)
    assert (tmp_path / "kpi.csv").read_text().startswith(
        "scenario,element,kpi,mean,ci95_halfwidth,unit\nbase,line,throughput_per_hour,")
    # only the replication played back keeps its state log; any other is made on demand
    assert result.spec.log and result.spec.log_only == (("base", 0),)
    assert w.dashboards.slider.isEnabled()
    assert [r.log is not None for sr in result.scenarios.values()
            for r in sr.replications] == [True] + [False] * (2 * len(base.replications) - 1)
    again = result.state_log("faster", 1, keep=False)
    assert again.dtype == base.replications[0].log.dtype and len(again) > 100
    # playback: at a time M2 is busy it is drawn green, at a time it is starved yellow
    v = w.view
    v.camera_preset("top")
    log = base.replications[0].log
    m2 = base.lowered.element_ids.index("M2")
    rows = log[(log["element"] == m2) & (log["server"] == 0)]
    horizon = result.spec.horizon
    p = v.widget_point(9.45, 0.45, 1.6)
    for state in ("busy", "starved"):
        i = np.flatnonzero(rows["state"] == {"busy": 2, "starved": 5}[state])
        k = next(j for j in i if j + 1 < len(rows) and
                 int(np.ceil(rows["time"][j] / horizon * 1000)) / 1000 * horizon
                 < rows["time"][j + 1])
        w.dashboards.slider.setValue(int(np.ceil(rows["time"][k] / horizon * 1000)))
        assert w.playback.at(w.dashboards.slider.value() / 1000 * horizon)[0]["M2"] == state
        rgb = v.grab_image()[p.y(), p.x()].astype(float)
        want = np.array(STATE_COLORS[state])
        assert np.argmax(rgb) == np.argmax(want) or (state == "starved" and rgb[2] < rgb[0])


def test_charts_take_the_theme_and_list_each_state_once(make_window, line_project, qtbot,
                                                       warm_kernel):
    # the charts made before the theme was applied were black in the light theme, and a
    # theme change reached only charts made after it; the states legend listed each twice
    w = make_window(line_project)
    with qtbot.waitSignal(w.run_panel.run_finished, timeout=60_000):
        assert w.run_panel.start_run()
    qtbot.waitUntil(lambda: not w.dashboards.is_drawing(), timeout=5_000)
    states = w.dashboards.states
    legend = [label.text for _, label in states.getPlotItem().legend.items]
    assert legend == list(w.dashboards.charts.scenarios["base"].state_fractions)
    plots = w.findChildren(pg.PlotWidget)
    assert len(plots) >= 6
    # values as they are: a wear of 0.002 is not "2 (x0.001)"
    w.dashboards.tabs.setCurrentWidget(w.dashboards.wear)
    w.dashboards.wear.clear()
    w.dashboards.wear.plot([0.0, 1.0], [0.001, 0.002])
    qtbot.wait(50)
    assert "(x" not in w.dashboards.wear.getAxis("left").labelString()
    for theme, rgb in (("dark", (0x1e, 0x1f, 0x22)), ("light", (255, 255, 255))):
        w.set_theme(theme)
        for plot in plots:
            assert plot.backgroundBrush().color().getRgb()[:3] == rgb
        w.dashboards.tabs.setCurrentWidget(states)
        # the chart's own pixels: the colour most of its corners and edges show (one corner
        # alone may lie under a frame or a legend)
        img = states.grab().toImage()
        probes = [img.pixelColor(x, y) for x in (3, img.width() // 2, img.width() - 4)
                  for y in (3, img.height() - 4)]
        seen = [(c.red(), c.green(), c.blue()) for c in probes]
        assert max(set(seen), key=seen.count) == rgb, seen


def test_another_project_clears_the_last_ones_results(make_window, line_project, qtbot,
                                                       warm_kernel, tmp_path):
    # the charts, the bottleneck and the KPI table of the project open before stayed on
    # screen, as if they were the new project's
    from app.dashboards import NO_RESULTS
    from twin.projectfile.reader import save_project

    w = make_window(line_project)
    d = w.dashboards
    assert d.result is None and d.scenario.count() == 0
    with qtbot.waitSignal(w.run_panel.run_finished, timeout=60_000):
        assert w.run_panel.start_run()
    qtbot.waitUntil(lambda: not d.is_drawing(), timeout=5_000)
    assert d.throughput.getPlotItem().listDataItems() and d.table.rowCount() > 0
    assert d.bottleneck.text() and d.slider.isEnabled()
    other = save_project(line_project, tmp_path / "other").parent
    assert w.open_project(other)
    assert d.result is None and d.scenario.count() == 0 and d.table.rowCount() == 0
    assert d.bottleneck.text() == "" and not d.slider.isEnabled()
    for plot in d.plots():
        assert plot.getPlotItem().listDataItems() == []
        texts = [i for i in plot.getPlotItem().items if isinstance(i, pg.TextItem)]
        assert [t.toPlainText() for t in texts] == [NO_RESULTS]
    # the hint is on screen: grey text pixels in the middle of the empty chart
    d.tabs.setCurrentWidget(d.throughput)
    img = d.throughput.grab().toImage()
    cx, cy = img.width() // 2, img.height() // 2
    greys = sum(1 for x in range(cx - 150, cx + 150, 2) for y in range(cy - 15, cy + 15)
                if 60 < img.pixelColor(x, y).red() < 200)
    assert greys > 20


def test_cancel_run(make_window, line_project, qtbot, warm_kernel):
    w = make_window(line_project)
    rp = w.run_panel
    rp.horizon.setText("2000d")
    rp.replications.setValue(2)
    failed = []
    rp.run_failed.connect(lambda msg, tb: failed.append(msg))
    with qtbot.waitSignal(rp.run_cancelled, timeout=30_000):
        assert rp.start_run()
        qtbot.wait(100)
        rp.cancel_button.click()
    assert failed == []  # a cancel is no failure
    assert rp.run_button.isEnabled() and not rp.cancel_button.isEnabled()
    assert w.log_pane.toPlainText().splitlines()[-1] == "run cancelled"


def test_bad_settings_are_refused(make_window, line_project, qtbot):
    w = make_window(line_project)
    w.run_panel.horizon.setText("soon")
    with qtbot.waitSignal(w.run_panel.run_failed) as blocker:
        assert not w.run_panel.start_run()
    assert "horizon" in blocker.args[0]


def _naive_playback_at(sr, t):
    """Oracle for ``Playback.at``: scan the log row by row up to ``t``."""
    low = sr.lowered
    cap = low.arrays.el_i[:, kt.I_CAPACITY]
    states, content = {}, {}
    for row in sr.replications[0].log:
        if row["time"] > t:
            break
        e = int(row["element"])
        if low.element_kinds[e] == "station" and row["server"] == 0:
            states[low.element_ids[e]] = kt.STATE_NAMES[int(row["state"])]
        if low.element_kinds[e] in ("buffer", "conveyor") and row["server"] == -1:
            content[low.element_ids[e]] = int(row["content"])
    fills = {}
    log = sr.replications[0].log
    for e, (eid, kind) in enumerate(zip(low.element_ids, low.element_kinds, strict=True)):
        if kind in ("buffer", "conveyor"):
            own = log[(log["element"] == e) & (log["server"] == -1)]["content"]
            full = float(cap[e]) if cap[e] > 0 else float(max(own.max(initial=0), 1))
            fills[eid] = content[eid] / full if eid in content else 0.0
    return states, fills


def test_playback_matches_the_log(line_project, warm_kernel):
    result = run_project(line_project, ["base"],
                         RunSpec(horizon=6 * 3600.0, replications=1, seed=5, log=True))
    sr = result.scenarios["base"]
    pb = Playback(sr)
    for t in np.linspace(0.0, sr.lowered.horizon, 97):
        assert pb.at(t) == _naive_playback_at(sr, t)


def test_background_threads_run_below_the_gui(qtbot):
    """Linux: a background job's thread has a higher nice value than the GUI thread."""
    if not sys.platform.startswith("linux"):
        pytest.skip("per-thread nice values are a Linux feature")
    gui = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    job = Job(lambda _task: os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
    with qtbot.waitSignal(job.finished, timeout=10_000) as blocker:
        job.start()
    assert blocker.args[0] == min(19, gui + BACKGROUND_NICE)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == gui


def test_closing_during_a_run_asks_once_and_cancel_keeps_it_going(make_window, line_project,
                                                                   qtbot, warm_kernel):
    # F20: File > Quit (the window's close) during a run asks before throwing the run away;
    # the unsaved-edits question is its own, asked once
    w = make_window(line_project)
    rp = w.run_panel
    rp.horizon.setText("2000d")
    rp.replications.setValue(2)
    asked, unsaved = [], []
    w.ask_stop_work = lambda text: asked.append(text) or False
    w.ask_unsaved = lambda: unsaved.append(1) or QMessageBox.Discard
    w.stack.push(cmd.RotateElement("M1", 90.0))  # an unsaved edit
    assert w.work_going_on() == []
    assert rp.start_run()
    assert w.work_going_on() == ["a run"]
    assert not w.close()  # answered Cancel: the window stays, the run goes on
    assert asked == ["A run is going on: stop it and quit?"]
    assert unsaved == []  # never asked about saving once the quit was called off
    assert w.isVisible() and rp.is_running()
    w.ask_stop_work = lambda text: asked.append(text) or True
    assert w.close()  # answered Yes: then the unsaved edits are asked about, once
    assert len(asked) == 2 and unsaved == [1]
    assert not rp.is_running()


def test_closing_without_work_going_on_does_not_ask(make_window, line_project):
    w = make_window(line_project)
    w.ask_stop_work = lambda text: pytest.fail(f"asked {text!r} with nothing running")
    assert w.close()


def test_a_bad_run_setting_is_named_once_where_the_user_looks(make_window, line_project,
                                                             retype):
    """A warm-up longer than the horizon: the status bar (a message's first line) said "run
    failed: 1 problem in the run settings:" and the log's next line named the run settings
    again; now one line names the field, the value and the fix (polish2 §4)."""
    w = make_window(line_project)
    rp = w.run_panel
    retype(rp.horizon, "1h")
    retype(rp.warmup, "2h")
    QTest.mouseClick(rp.run_button, Qt.LeftButton)
    shown = w.statusBar().currentMessage()
    assert shown == ("run failed: the run settings: warmup: must be >= 0 and shorter than "
                     "the horizon (3600 s = 1 h) (found 7200 s = 2 h)")
    assert w.log_pane.toPlainText().splitlines()[-1] == shown
    assert rp.job is None
