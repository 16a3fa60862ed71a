"""The Experiments dock (issue 17 §5): "Vary this…" in the Inspector adds a factor, a small
study runs with progress and fills the charts with the study's own values, a click on a
Pareto point makes it a scenario."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QLineEdit

from app.experiment_charts import main_effect, pareto_front
from app.experiment_vary import VaryDialog, default_factor
from twin.experiments.design import design_points
from twin.experiments.evaluate import evaluate
from twin.experiments.spec import Factor
from twin.sim.stats import mean_ci

CAPACITY = Factor("B1", "capacity", 1.0, 9.0, integer=True, cost_per_unit=100.0)
M2_TIME = Factor("M2", "process_time", 35.0, 75.0)


@pytest.fixture
def win(make_window, line_project, warm_kernel):
    w = make_window(line_project)
    w.docks["experiments"].raise_()
    return w


def _right_click(edit):
    """A right click on a line edit, as Qt delivers it."""
    pos = QPoint(5, 5)
    QApplication.sendEvent(edit, QContextMenuEvent(QContextMenuEvent.Mouse, pos,
                                                   edit.mapToGlobal(pos)))


def _action(menu, text):
    return next(a for a in menu.actions() if a.text() == text)


def _vary_with_defaults(win, qtbot, edit):
    """Right-click ``edit``, choose Vary this…, read the range dialog's defaults, press OK."""
    _right_click(edit)
    menu = win.vary.menu
    assert menu is not None and menu.isVisible()
    assert any("Copy" in a.text() for a in menu.actions())  # the edit's own menu, kept
    _action(menu, "Vary this…").trigger()
    menu.close()
    dialog = win.vary.dialog
    qtbot.waitUntil(dialog.isVisible)
    shown = (dialog.low.value(), dialog.high.value(), dialog.integer.isChecked())
    QTest.mouseClick(dialog.buttons.button(QDialogButtonBox.Ok), Qt.LeftButton)
    assert not dialog.isVisible()
    return shown


def test_vary_this_on_a_number_adds_a_factor_and_a_slider(win, qtbot):
    win.inspect("B1")
    # capacity 5: ±50% in whole places, 2 … 8
    assert _vary_with_defaults(win, qtbot, win.inspector.editor("capacity")) == (2, 8, True)
    dock = win.experiments
    assert [f.name for f in dock.factors] == ["B1.capacity"]
    assert dock.table.item(0, 0).text() == "B1.capacity"
    assert (dock.table.item(0, 1).text(), dock.table.item(0, 2).text()) == ("2", "8")
    assert dock.table.item(0, 3).checkState() == Qt.Checked
    assert [f.name for f in win.whatif.factors()] == ["B1.capacity"]
    assert win.whatif.slider("B1.capacity").value() == 5
    qtbot.waitUntil(lambda: win.whatif.job is None, timeout=60_000)

    # a distribution's mean, inside the process-time editor: mean 40 s
    win.inspect("M1")
    mean_edit = win.inspector.editor("process_time").dist.fields["mean"].edit
    assert _vary_with_defaults(win, qtbot, mean_edit) == (20, 60, False)
    assert [f.name for f in dock.factors] == ["B1.capacity", "M1.process_time.mean"]
    qtbot.waitUntil(lambda: win.whatif.job is None, timeout=60_000)

    # a field that is no number keeps its usual menu, without "Vary this…"
    win.vary.menu = None
    _right_click(win.inspector.editor("name"))
    assert win.vary.menu is None


def test_vary_this_on_a_field_at_its_default_and_on_a_constant_time(win, qtbot):
    # one server is left out of the file, a constant time is written as a bare number: both
    # are numbers the user sees, and both offered no "Vary this…" (a newcomer's report)
    win.inspect("M2")
    assert _vary_with_defaults(win, qtbot, win.inspector.editor("servers"))[2] is True
    qtbot.waitUntil(lambda: win.whatif.job is None, timeout=60_000)
    value_edit = win.inspector.editor("process_time").dist.fields["value"].edit
    assert _vary_with_defaults(win, qtbot, value_edit) == (22.5, 67.5, False)
    assert [f.name for f in win.experiments.factors] == ["M2.servers", "M2.process_time"]
    qtbot.waitUntil(lambda: win.whatif.job is None, timeout=60_000)


def test_the_range_dialog_refuses_an_empty_range(qtbot):
    dialog = VaryDialog(default_factor("B1", "capacity", 5), 5)
    qtbot.addWidget(dialog)
    dialog.low.setValue(6)
    dialog.high.setValue(6)
    dialog.accept()
    assert dialog.result() == 0 and "below high" in dialog.error.text()
    assert default_factor("M1", "servers", 1) == Factor("M1", "servers", 1.0, 2.0, integer=True)
    assert default_factor("M1", "scrap", 0.1).bounds == pytest.approx((0.05, 0.15))


def _run_study(win, qtbot):
    dock = win.experiments
    dock.add_factor(CAPACITY)
    dock.add_factor(M2_TIME)
    dock.replications.setValue(3)
    dock.horizon.setCurrentIndex(dock.horizon.findData(8 * 3600.0))
    dock.set_responses(["line.throughput_per_hour", "line.wip", "budget"])
    assert dock.size.text().startswith("9 design points x 3 replications")
    with qtbot.waitSignal(dock.study_shown, timeout=120_000) as shown:
        QTest.mouseClick(dock.run_button, Qt.LeftButton)
        assert dock.cancel_button.isEnabled() and not dock.run_button.isEnabled()
    assert dock.progress.value() == 1000
    return dock, shown.args[0]


def test_a_small_study_fills_the_main_effects_with_the_studys_values(win, qtbot):
    dock, data = _run_study(win, qtbot)
    exp = dock.experiment_run
    # the same study straight through twin.experiments (same seed: the same numbers)
    points = design_points(exp.factors, exp.design, exp.points, exp.seed)
    direct = evaluate(win.project, exp.factors, points, 3, exp.seed, horizon=8 * 3600.0,
                      warmup=exp.warmup)
    assert data.points == points
    for got, want in zip(data.values, direct, strict=True):
        np.testing.assert_array_equal(got["line.throughput_per_hour"],
                                      want["line.throughput_per_hour"])
    dock.charts.effects_response.setCurrentText("line.throughput_per_hour")
    for f in exp.factors:
        levels = sorted({p[f.name] for p in points})
        plot = dock.charts.effect_plots[f.name]
        x, y = plot.getPlotItem().listDataItems()[0].getData()
        np.testing.assert_allclose(x, levels)
        for lv, yv in zip(levels, y, strict=True):
            reps = np.concatenate([direct[i]["line.throughput_per_hour"]
                                   for i, p in enumerate(points) if p[f.name] == lv])
            assert yv == pytest.approx(mean_ci(reps)["mean"])
    # the model's answer, not only the arithmetic: with M2 at 75 s it is the bottleneck and
    # passes at most 3600 / 75 = 48 parts/h (72 arrive); at 35 s it passes more
    _, y, hw = main_effect(data, "M2.process_time", "line.throughput_per_hour")
    assert y[0] - hw[0] > y[-1] + hw[-1]
    assert y[-1] - hw[-1] <= 3600 / 75
    # the budget response is the factors' cost: 100 per buffer place
    for p, v in zip(points, data.values, strict=True):
        np.testing.assert_allclose(v["budget"], 100.0 * p["B1.capacity"])


def test_clicking_a_pareto_point_makes_a_scenario(win, qtbot):
    dock, data = _run_study(win, qtbot)
    charts = dock.charts
    charts.setCurrentIndex(2)
    charts.pareto_x.setCurrentText("line.throughput_per_hour")
    charts.pareto_y.setCurrentText("budget")
    x, y = data.point_means("line.throughput_per_hour"), data.point_means("budget")
    front = pareto_front(x, y, True, False)
    np.testing.assert_array_equal(charts.front_mask, front)
    i = int(np.flatnonzero(front)[-1])
    plot = charts.pareto_plot
    qtbot.waitUntil(lambda: plot.isVisible())
    plot.getPlotItem().vb.autoRange()
    QApplication.processEvents()
    scene_pt = plot.getPlotItem().vb.mapViewToScene(QPointF(x[i], y[i]))
    pixel = plot.mapFromScene(scene_pt)
    n_before = len(win.project.scenarios)
    with qtbot.waitSignal(dock.scenario_made, timeout=5000) as made:
        QTest.mouseClick(plot.viewport(), Qt.LeftButton, Qt.NoModifier, pixel)
    name = made.args[0]
    scenario = win.project.scenario(name)
    point = data.points[i]
    assert {(o.element, o.path): o.value for o in scenario.overrides} == {
        ("B1", "capacity"): int(point["B1.capacity"]),
        ("M2", "process_time"): point["M2.process_time"]}
    assert win.scenario_panel.current() == name
    assert sorted(win.view.selection) == ["B1", "M2"]
    win.stack.undo()
    assert len(win.project.scenarios) == n_before


def test_the_experiment_is_saved_in_the_project_and_undone(win, qtbot, tmp_path):
    from twin.projectfile.reader import load_project

    dock = win.experiments
    dock.add_factor(CAPACITY)
    dock.name.setText("buffer size")
    QTest.mouseClick(dock.save_button, Qt.LeftButton)
    assert [e.name for e in win.project.experiments] == ["buffer size"]
    assert win.project.experiments[0].factors == (CAPACITY,)
    # and the project file carries it: what `twinbench study` would run
    assert win.save_to(tmp_path / "saved")
    assert load_project(tmp_path / "saved").experiments == win.project.experiments
    # the dock opens it again after other edits
    dock.table.selectRow(0)
    dock.remove_selected()
    assert dock.factors == []
    assert dock.saved.currentText() == "buffer size"
    dock.saved.activated.emit(0)
    assert dock.factors == [CAPACITY] and dock.name.text() == "buffer size"
    win.stack.undo()
    assert win.project.experiments == []
    assert dock.saved.count() == 0 and not dock.saved.isVisibleTo(dock)


def test_a_study_is_cancelled(win, qtbot):
    dock = win.experiments
    dock.add_factor(CAPACITY)
    dock.replications.setValue(50)
    dock.horizon.setCurrentIndex(dock.horizon.findData(86400.0))
    QTest.mouseClick(dock.run_button, Qt.LeftButton)
    assert dock.is_running()
    QTest.mouseClick(dock.cancel_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not dock.is_running(), timeout=60_000)
    assert dock.status.text() == "study cancelled"
    assert dock.run_button.isEnabled()


def test_sensitivity_draws_the_tornado_of_the_study(win, qtbot):
    from twin.experiments.sensitivity import sensitivity

    dock = win.experiments
    dock.add_factor(CAPACITY)
    dock.add_factor(M2_TIME)
    dock.replications.setValue(2)
    dock.horizon.setCurrentIndex(dock.horizon.findData(8 * 3600.0))
    dock.set_responses(["line.throughput_per_hour"])
    box = dock.analysis
    box.method.setCurrentIndex(box.method.findData("morris"))
    box.samples.setValue(4)
    QTest.mouseClick(box.sensitivity_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not dock.is_running(), timeout=120_000)
    assert dock.error.text() == ""
    want = sensitivity(win.project, dock.experiment(), method="morris", samples=4)
    bars = {b["factor"]: b["value"] for b in want.tornado()}
    assert dock.charts.tornado_values == pytest.approx(bars)
    # M2's time decides whether it is the bottleneck; the buffer hardly matters
    assert bars["M2.process_time"] > bars["B1.capacity"]
    ticks = dock.charts.tornado.getAxis("left")._tickLevels[0]
    assert max(ticks)[1] == "M2.process_time"  # the widest bar on top


def test_optimise_reports_the_selection_and_makes_the_best_a_scenario(win, qtbot):
    dock = win.experiments
    dock.add_factor(CAPACITY)
    dock.add_factor(M2_TIME)
    dock.replications.setValue(3)
    dock.horizon.setCurrentIndex(dock.horizon.findData(8 * 3600.0))
    dock.set_responses(["line.throughput_per_hour"])
    box = dock.analysis
    assert box.goal.currentData() == "max"
    box.budget.setValue(500)  # 100 a place: at most 5 places
    box.trials.setValue(8)
    QTest.mouseClick(box.optimise_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not dock.is_running(), timeout=300_000)
    assert dock.error.text() == ""
    exp, res = box.result
    text = dock.charts.report.toPlainText()
    assert "maximise line.throughput_per_hour, subject to budget ≤ 500" in text
    assert res.best is not None and res.best["B1.capacity"] * 100 <= 500
    assert res.selection.statement() in text
    assert text.count("vs best") == len(res.candidates) - 1
    assert dock.charts.currentWidget() is dock.charts.report
    with qtbot.waitSignal(dock.scenario_made) as made:
        QTest.mouseClick(box.scenario_button, Qt.LeftButton)
    scenario = win.project.scenario(made.args[0])
    assert {o.element + "." + o.path: o.value for o in scenario.overrides} == pytest.approx(
        {k: v for k, v in res.best.items()})


def test_the_responses_follow_the_elements(win):
    from twin.model import commands as cmd

    dock = win.experiments
    names = [dock.responses.item(i).text() for i in range(dock.responses.count())]
    assert "line.throughput_per_hour" in names and "budget" in names
    assert any(n.startswith("elements.M2.") for n in names)
    dock.set_responses(["line.wip"])
    win.stack.push(cmd.RemoveElement("M2"))
    names = [dock.responses.item(i).text() for i in range(dock.responses.count())]
    assert not any(n.startswith("elements.M2.") for n in names)
    assert dock.chosen_responses() == ["line.wip"]  # the ticks kept


def test_a_point_the_reader_refuses_fails_the_study_with_its_reason(win, qtbot):
    dock = win.experiments
    dock.add_factor(Factor("M2", "process_time", -10.0, 45.0))
    QTest.mouseClick(dock.run_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not dock.is_running(), timeout=60_000)
    text = dock.error.text()
    assert text.startswith("the study failed: ")
    assert "design point 0" in text and "process_time" in text
    assert "Traceback" not in text and dock.run_button.isEnabled()


def test_a_project_that_cannot_run_is_named_not_a_crash(win, qtbot):
    """A line left unconnected mid-edit: Run study, Sensitivity and Optimise each say what
    the reader refuses, under the table, and start nothing (they raised in the event loop)."""
    from twin.model import commands as cmd

    dock = win.experiments
    dock.add_factor(CAPACITY)
    dock.add_factor(M2_TIME)
    win.stack.push(cmd.Disconnect("M1", "B1"))
    box = dock.analysis
    for button in (dock.run_button, box.sensitivity_button, box.optimise_button):
        assert button.isEnabled()
        dock.error.setText("")
        QTest.mouseClick(button, Qt.LeftButton)
        assert not dock.is_running()
        text = dock.error.text()
        assert text.startswith("the project cannot be run as it stands; fix it first")
        assert "connect it to a successor" in text and "'M1'" in text
        assert dock.run_button.isEnabled()
    win.stack.undo()
    with qtbot.waitSignal(dock.study_shown, timeout=120_000):
        dock.replications.setValue(2)
        dock.horizon.setCurrentIndex(dock.horizon.findData(3600.0))
        QTest.mouseClick(dock.run_button, Qt.LeftButton)
    assert dock.error.text() == ""


def test_no_scenario_of_a_deleted_element(win, qtbot):
    """The study's (or optimisation's) element deleted since: no scenario overriding an
    element that is gone (the project file would be refused on reopening), the reason
    said; the deletion undone, the point becomes a scenario."""
    from twin.model import commands as cmd

    dock = win.experiments
    dock.add_factor(CAPACITY)
    dock.replications.setValue(2)
    dock.horizon.setCurrentIndex(dock.horizon.findData(3600.0))
    with qtbot.waitSignal(dock.study_shown, timeout=120_000):
        QTest.mouseClick(dock.run_button, Qt.LeftButton)
    box = dock.analysis
    box.trials.setValue(2)
    QTest.mouseClick(box.optimise_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not dock.is_running(), timeout=300_000)
    assert box.scenario_button.isEnabled()
    n_before = len(win.project.scenarios)
    win.stack.push(cmd.RemoveElement("B1"))
    assert dock.make_scenario(0) is None
    assert dock.error.text() == ("no scenario made: B1.capacity (element 'B1') no longer in "
                                 "the project; undo the deletion, or remove the factor and "
                                 "run again")
    dock.error.setText("")
    QTest.mouseClick(box.scenario_button, Qt.LeftButton)
    assert "B1.capacity (element 'B1') no longer in the project" in dock.error.text()
    assert len(win.project.scenarios) == n_before
    win.stack.undo()
    assert dock.make_scenario(0) == "experiment 1 point 0"
    assert box.best_as_scenario() == "experiment 1 best"
    assert len(win.project.scenarios) == n_before + 2


def test_an_opened_experiment_runs_and_saves_as_the_project_has_it(make_window, line_project,
                                                                   warm_kernel):
    """Opening a saved experiment and running or saving it kept only what the dock shows:
    its warm-up became the project's, its objectives, constraints and description were
    lost on saving, its primary (first) response became the first in the list's order, and
    a full factorial without "points" got the spin box's 3 levels (B1 1..4: 4 levels)."""
    from twin.experiments.spec import Constraint, Experiment, Objective

    exp = Experiment("kept", (Factor("B1", "capacity", 1.0, 4.0, integer=True,
                                     cost_per_unit=100.0),),
                     design="full_factorial", points=None,
                     responses=("budget", "line.throughput_per_hour"), replications=2,
                     horizon=3600.0, warmup=600.0,
                     objectives=(Objective("line.throughput_per_hour", "max"),),
                     constraints=(Constraint("budget", max=300.0),), trials=7,
                     description="one buffer")
    line_project.experiments = [exp]
    win = make_window(line_project)
    dock = win.experiments
    dock.saved.setCurrentIndex(0)
    dock.saved.activated.emit(0)
    assert dock.experiment() == exp
    assert dock.size.text().startswith("4 design points x 2 replications")
    QTest.mouseClick(dock.save_button, Qt.LeftButton)
    assert win.project.experiments == [exp]
    # what the user changes is changed, the rest kept
    dock.points_spin.setValue(2)
    dock.horizon.setCurrentIndex(dock.horizon.findData(8 * 3600.0))
    got = dock.experiment()
    assert (got.points, got.horizon, got.warmup) == (2, 8 * 3600.0, 600.0)
    assert got.objectives == exp.objectives and got.description == "one buffer"
    dock.set_responses(["line.wip", "budget"])
    assert dock.experiment().responses == ("line.wip", "budget")


def test_the_heatmap_names_each_bin_by_its_range(qtbot):
    """A Latin hypercube's buffer places 1..20 in six bins: the ticks say "1–4", not the
    bins' means ("2.5" places); few distinct values keep their own labels."""
    from app.experiment_charts import ExperimentCharts, StudyData, level_labels

    factors = [Factor("B1", "capacity", 1.0, 20.0, integer=True), Factor("M2", "servers",
                                                                          levels=(1.0, 2.0))]
    points = design_points(factors, "latin_hypercube", 60, 1)
    data = StudyData([f.name for f in factors], ["r"], points,
                     [{"r": np.array([p["B1.capacity"]])} for p in points])
    charts = ExperimentCharts()
    qtbot.addWidget(charts)
    charts.show_study(data)
    charts.heat_x.setCurrentText("B1.capacity")
    charts.heat_y.setCurrentText("M2.servers")
    charts.draw_heatmap()
    ticks = [t for _, t in charts.heat_plot.getAxis("bottom")._tickLevels[0]]
    assert ticks == level_labels(data.column("B1.capacity"))
    assert len(ticks) == 6 and ticks[0].startswith("1–") and ticks[-1].endswith("–20")
    for t in ticks:  # whole places, the bins in order, none overlapping
        lo, hi = (int(v) for v in t.split("–"))
        assert lo < hi
    bounds = [tuple(int(v) for v in t.split("–")) for t in ticks]
    assert all(a[1] < b[0] for a, b in zip(bounds, bounds[1:], strict=False))
    assert [t for _, t in charts.heat_plot.getAxis("left")._tickLevels[0]] == ["1", "2"]


def test_optimise_an_opened_experiment_with_its_objective_and_constraints(make_window,
                                                                          line_project,
                                                                          warm_kernel, qtbot):
    """Optimise on an experiment opened from the project optimised the first response with
    the boxes' defaults (maximise, no budget, 40 trials), not the experiment's objective and
    constraints that `twinbench optimize` uses."""
    from twin.experiments.spec import Constraint, Experiment, Objective

    cons = (Constraint("budget", max=300.0), Constraint("line.throughput_per_hour", min=10.0))
    line_project.experiments = [Experiment(
        "wip", (CAPACITY,), responses=("line.throughput_per_hour", "line.wip"),
        replications=2, horizon=3600.0, objectives=(Objective("line.wip", "min"),),
        constraints=cons, trials=4)]
    win = make_window(line_project)
    dock = win.experiments
    dock.saved.setCurrentIndex(0)
    dock.saved.activated.emit(0)
    box = dock.analysis
    assert (box.goal.currentData(), box.budget.value(), box.trials.value()) == ("min", 300, 4)
    QTest.mouseClick(box.optimise_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not dock.is_running(), timeout=300_000)
    assert dock.error.text() == ""
    exp, res = box.result
    assert exp.objectives == (Objective("line.wip", "min"),)
    assert set(exp.constraints) == set(cons)
    assert "minimise line.wip, subject to" in dock.charts.report.toPlainText()
    assert res.best is not None and res.best["B1.capacity"] * 100 <= 300


def test_a_factor_whose_element_is_deleted_is_marked(win):
    from twin.model import commands as cmd

    dock = win.experiments
    dock.add_factor(CAPACITY)
    dock.add_factor(M2_TIME)
    win.stack.push(cmd.RemoveElement("B1"))
    item = dock.table.item(0, 0)
    assert item.text() == "B1.capacity"
    assert item.toolTip() == ("element 'B1' is no longer in the project: undo its deletion "
                              "or remove this factor")
    assert item.foreground().color().name() == "#d03030"
    assert dock.table.item(1, 0).toolTip() == ""
    win.stack.undo()
    assert dock.table.item(0, 0).toolTip() == ""


def test_closing_the_window_during_a_study_on_the_process_pool_stops_it_now(
        make_window, line_project, warm_kernel, qtbot, monkeypatch):
    """Closing waited for the design points under way and then for the idle workers to exit
    (about 3-6 s): now the workers are ended at once; no point finishes after the close."""
    import dataclasses
    import multiprocessing
    import os

    # one worker: the points run one after the other, so when the first is done the second
    # has only just started (with one per core the first ones end together)
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    line_project.run = dataclasses.replace(line_project.run, horizon=180 * 86400.0)
    win = make_window(line_project)
    dock = win.experiments
    dock.add_factor(CAPACITY)
    dock.executor.setCurrentIndex(dock.executor.findData("processes"))
    dock.replications.setValue(3)
    before = set(multiprocessing.active_children())
    QTest.mouseClick(dock.run_button, Qt.LeftButton)
    job = dock.job
    qtbot.waitUntil(lambda: "1 of" in job.task.message, timeout=180_000)
    workers = set(multiprocessing.active_children()) - before
    assert workers and all(w.is_alive() for w in workers)
    said = job.task.message
    win.close()
    assert job.wait(0)
    assert job.task.message == said  # the point under way was dropped, not waited for
    assert not any(w.is_alive() for w in workers)
    assert job.task.is_abandoned()


def test_an_experiment_over_the_battery_runs_in_the_dock(make_window, line_project, qtbot,
                                                         warm_kernel):
    """A factor of the energy context (no element, a ``tariff.`` path: issue 19) shows by
    its path, is not marked as naming a deleted element, and its study runs."""
    from twin.experiments.spec import Experiment
    from twin.model import elements as m

    line_project.tariff = m.Tariff(0.2, demand_charge_per_kw=10.0,
                                   battery=m.Battery(2.0, 3.0, 0.9, 0.5, 4.0))
    factor = Factor(None, "tariff.battery.capacity_kwh", 1.0, 8.0)
    line_project.experiments = [Experiment(
        "battery", (factor,), points=2, responses=("line.grid_peak_kw_15min",),
        replications=2, horizon=3600.0)]
    win = make_window(line_project)
    dock = win.experiments
    dock.saved.setCurrentIndex(0)
    dock.saved.activated.emit(0)
    item = dock.table.item(0, 0)
    assert item.text() == "tariff.battery.capacity_kwh" and item.toolTip() == ""
    assert dock.factors_exist([factor])
    with qtbot.waitSignal(dock.study_shown, timeout=120_000) as shown:
        QTest.mouseClick(dock.run_button, Qt.LeftButton)
    data = shown.args[0]
    assert [p["tariff.battery.capacity_kwh"] for p in data.points] == [1.0, 8.0]
    small, big = (v["line.grid_peak_kw_15min"] for v in data.values)
    assert np.isfinite(small).all() and len(small) == 2
    assert (big <= small + 1e-9).all()  # a bigger battery never raises the peak


def test_vary_this_is_an_edit_kept_with_the_project(make_window, line_project, qtbot,
                                                      warm_kernel, tmp_path):
    """The factors "Vary this…" chose lived in the dock alone: quitting asked nothing and
    they were gone when the project was opened again (polish2 §3). Now each is an undoable
    edit that puts the experiment into the project: the window asks to save on quit, and
    the saved project opens with them."""
    from PySide6.QtWidgets import QMessageBox

    from twin.projectfile.reader import load_project

    w = make_window(line_project)
    assert w.save_to(tmp_path / "plant")
    w.inspect("B1")
    _vary_with_defaults(w, qtbot, w.inspector.editor("capacity"))
    qtbot.waitUntil(lambda: w.whatif.job is None, timeout=60_000)
    assert [f.name for f in w.experiments.factors] == ["B1.capacity"]
    assert w.act_undo.text() == "&Undo vary B1.capacity in experiment 'experiment 1'"
    # quitting now asks, as for any other edit; Save writes the experiment with the factor
    asked = []
    w.ask_unsaved = lambda: asked.append(1) or QMessageBox.Save
    w.close()
    assert asked == [1] and not w.isVisible()
    saved = load_project(tmp_path / "plant")
    assert [(e.name, [f.name for f in e.factors]) for e in saved.experiments] == \
        [("experiment 1", ["B1.capacity"])]
    # opened again: the dock shows the factor, and an undo takes a second one back out
    again = make_window(saved)
    dock = again.experiments
    assert dock.table.rowCount() == 1 and dock.table.item(0, 0).text() == "B1.capacity"
    again.inspect("M1")
    _vary_with_defaults(again, qtbot, again.inspector.editor("process_time").dist.fields[
        "mean"].edit)
    qtbot.waitUntil(lambda: again.whatif.job is None, timeout=60_000)
    assert [f.name for f in dock.factors] == ["B1.capacity", "M1.process_time.mean"]
    again.stack.undo()
    assert [f.name for f in dock.factors] == ["B1.capacity"]
    assert dock.table.rowCount() == 1


def _retype_cell(qtbot, table, row, col, text):
    """Double-click a cell, type over it, press Tab: as a user edits a range."""
    rect = table.visualRect(table.model().index(row, col))
    qtbot.mouseClick(table.viewport(), Qt.LeftButton, pos=rect.center())
    qtbot.mouseDClick(table.viewport(), Qt.LeftButton, pos=rect.center())

    def editor():
        return next((e for e in table.viewport().findChildren(QLineEdit) if e.isVisible()),
                    None)

    qtbot.waitUntil(lambda: editor() is not None, timeout=2_000)
    editor = editor()
    editor.selectAll()
    QTest.keyClicks(editor, text)
    QTest.keyClick(editor, Qt.Key_Tab)


def test_editing_a_factors_range_is_an_undoable_project_edit(make_window, line_project, qtbot,
                                                             warm_kernel, tmp_path):
    """A range typed into the factors table lived in the dock alone until *Save to project*
    (polish3 §5): now, as "Vary this…", it is an edit of the project, undone by Ctrl+Z."""
    w = make_window(line_project)
    w.docks["experiments"].raise_()
    w.inspect("B1")
    _vary_with_defaults(w, qtbot, w.inspector.editor("capacity"))  # 2 … 8
    qtbot.waitUntil(lambda: w.whatif.job is None, timeout=60_000)
    assert w.save_to(tmp_path / "plant") and not w.isWindowModified()
    dock = w.experiments

    def high_in_project():
        exp = next(e for e in w.project.experiments if e.name == "experiment 1")
        return exp.factors[0].high

    assert high_in_project() == 8
    _retype_cell(qtbot, dock.table, 0, 2, "9")
    assert dock.table.item(0, 2).text() == "9"
    assert high_in_project() == 9  # in the project, not only the dock
    assert w.act_undo.text() == "&Undo set B1.capacity high in experiment 'experiment 1'"
    assert w.isWindowModified()
    w.act_undo.trigger()
    assert high_in_project() == 8
    assert dock.table.item(0, 2).text() == "8"
    # a refused range changes nothing, in the dock or the project
    n = len(w.stack)
    _retype_cell(qtbot, dock.table, 0, 1, "20")
    assert "must be below high" in dock.error.text()
    assert high_in_project() == 8 and len(w.stack) == n


def test_vary_this_proposes_only_values_that_give_a_valid_project(make_window, qtbot,
                                                                   warm_kernel):
    """±50% of the filler's triangular mode (2.4 between low 2.3 and high 2.6) proposed 1.2 …
    3.6: a range no value of which but 2.3 … 2.6 is valid, that then made every Run fail
    (newfix3 §1). The proposal is drawn in with the reader's own check, and says why."""
    from pathlib import Path

    from twin.projectfile.reader import load_project

    w = make_window(load_project(Path(__file__).parents[2] / "projects" / "bottling-line"))
    w.inspect("filler")
    mode = w.inspector.editor("process_time").dist.fields["mode"].edit
    _right_click(mode)
    _action(w.vary.menu, "Vary this…").trigger()
    w.vary.menu.close()
    dialog = w.vary.dialog
    qtbot.waitUntil(dialog.isVisible)
    assert (dialog.low.value(), dialog.high.value()) == (2.3, 2.6)
    assert dialog.note.isVisible() and "must lie between low (2.3) and high (2.6)" in \
        dialog.note.text()
    QTest.mouseClick(dialog.buttons.button(QDialogButtonBox.Ok), Qt.LeftButton)
    assert w.experiments.table.item(0, 1).text() == "2.3"
    assert w.experiments.range_problems() == {}
    qtbot.waitUntil(lambda: w.whatif.job is None, timeout=60_000)


def test_a_stored_range_out_of_bounds_is_named_and_does_not_stop_a_run(make_window, qtbot,
                                                                         line_project,
                                                                         warm_kernel):
    """A stored experiment whose range leaves the valid values made the project unreadable
    for a run: the toolbar's Run failed with "1 problem in the project:" and the problem cut
    off. Now the run goes, the Experiments dock names the factor, and the study refuses."""
    from twin.projectfile.reader import project_from_json
    from twin.projectfile.writer import project_to_json

    doc = project_to_json(line_project)
    doc["experiments"] = [{"name": "bad", "factors": [
        {"element": "B1", "path": "capacity", "low": -2, "high": 4, "integer": True}],
        "design": "full_factorial", "responses": ["line.throughput_per_hour"],
        "replications": 3}]
    project = project_from_json(doc)
    assert any("B1.capacity = -2" in p.message for p in project.warnings)
    w = make_window(project)
    dock = w.experiments
    name = dock.table.item(0, 0)
    assert name.text() == "B1.capacity" and name.foreground().color().name() == "#d03030"
    assert "B1.capacity = -2 does not give a valid project" in name.toolTip()
    assert "B1.capacity = -2" in dock.error.text()
    dock.run()  # the study fails at its first point, with the reason
    qtbot.waitUntil(lambda: not dock.is_running(), timeout=60_000)
    assert dock.error.text().startswith("the study failed: ")
    assert "B1.capacity" in dock.error.text()
    with qtbot.waitSignal(w.run_panel.run_finished, timeout=90_000):
        assert w.run_panel.start_run()
    # a message of several lines is on the status bar whole, not its head alone
    w.log("run failed: 1 problem in the project:\n  - $.elements[0]: must be > 0")
    assert w.statusBar().currentMessage() == ("run failed: 1 problem in the project: - "
                                              "$.elements[0]: must be > 0")


def test_a_redo_of_vary_this_shows_the_factor_again(win, qtbot):
    """Undo then Redo of "vary …": the project held the factor again, the dock said "no
    factors" (newfix3 §2)."""
    win.inspect("B1")
    _vary_with_defaults(win, qtbot, win.inspector.editor("capacity"))
    qtbot.waitUntil(lambda: win.whatif.job is None, timeout=60_000)
    dock = win.experiments
    win.act_undo.trigger()
    assert dock.table.rowCount() == 0 and not win.project.experiments
    win.act_redo.trigger()
    assert [f.name for e in win.project.experiments for f in e.factors] == ["B1.capacity"]
    assert dock.table.rowCount() == 1 and dock.table.item(0, 0).text() == "B1.capacity"
    assert "no factors" not in dock.size.text()
    qtbot.waitUntil(lambda: win.whatif.job is None, timeout=60_000)


def _click_tick(qtbot, dock, name):
    """Click the check box of response ``name`` in the list, as a user does."""
    lst = dock.responses
    item = lst.findItems(name, Qt.MatchExactly)[0]
    lst.scrollToItem(item)
    rect = lst.visualItemRect(item)
    qtbot.mouseClick(lst.viewport(), Qt.LeftButton, pos=QPoint(rect.left() + 10,
                                                              rect.center().y()))
    return item


def test_messages_follow_the_ticks_and_ticks_survive_undo_all(win, qtbot):
    """"no responses: tick at least one KPI" stayed in red after the tick, and an undo-all
    then redo-all lost the tick (gui17 §2)."""
    from twin.model import commands as cmd

    dock = win.experiments
    dock.set_responses([])
    dock.keep_factor(CAPACITY)  # nothing ticked: refused, with the reason
    assert dock.error.text().startswith("no responses: tick at least one KPI")
    assert "no responses" in dock.size.text()
    item = _click_tick(qtbot, dock, "line.throughput_per_hour")
    assert item.checkState() == Qt.Checked
    assert dock.chosen_responses() == ["line.throughput_per_hour"]
    assert dock.error.text() == ""
    assert dock.size.text().startswith("3 design points x ")
    # every element removed (what an undo-all of a line built from scratch does), then back
    for el in [e.id for e in win.project.elements]:
        win.stack.push(cmd.RemoveElement(el))
    assert not win.project.elements
    assert dock.responses.findItems("line.throughput_per_hour", Qt.MatchExactly) == []
    while win.stack.can_undo():
        win.act_undo.trigger()
    assert dock.chosen_responses() == ["line.throughput_per_hour"]
    while win.stack.can_redo():
        win.act_redo.trigger()
    while win.stack.can_undo():
        win.act_undo.trigger()
    assert dock.chosen_responses() == ["line.throughput_per_hour"]


def test_after_undoing_everything_the_panels_follow_the_project(make_window, qtbot,
                                                                 warm_kernel):
    """A line built from scratch, a factor varied, its What-if run and a study; then undo
    back to the empty project: the What-if table kept "before/now", the chart the removed
    factor, the status bar a fault of a removed element (gui17 §3)."""
    from tests.app.conftest import small_line
    from twin.model import commands as cmd
    from twin.model import elements as m

    w = make_window(m.Project("Untitled"))
    w.docks["experiments"].raise_()
    line = small_line()
    w.project.run = line.run
    for el in line.elements:
        w.stack.push(cmd.AddElement(el))
    # "cannot run yet: ..." about an element, in the status bar, while half built
    assert "cannot run yet" in w.statusBar().currentMessage()
    for a, b in (("src", "M1"), ("M1", "B1"), ("B1", "M2"), ("M2", "out")):
        w.stack.push(cmd.Connect(a, b))
    w.inspect("B1")
    _vary_with_defaults(w, qtbot, w.inspector.editor("capacity"))
    whatif, dock = w.whatif, w.experiments
    qtbot.waitUntil(lambda: whatif.job is None and whatif.now is not None, timeout=60_000)
    assert whatif.table.item(0, 1).text() != "–"
    dock.replications.setValue(1)
    dock.horizon.setCurrentIndex(dock.horizon.findData(8 * 3600.0))
    with qtbot.waitSignal(dock.study_shown, timeout=120_000):
        QTest.mouseClick(dock.run_button, Qt.LeftButton)
    assert list(dock.charts.effect_plots) == ["B1.capacity"]
    w.stack.push(cmd.RemoveElement("src"))  # "no part can reach" M1: in the status bar
    assert "cannot run yet" in w.statusBar().currentMessage()
    import re

    while w.stack.can_undo():
        QTest.keyClick(w, Qt.Key_Z, Qt.ControlModifier)
        # the status bar never names a fault of an element the project no longer has
        said = w.statusBar().currentMessage()
        named = re.findall(r"cannot run yet: \w+ '([^']+)'", said)
        assert all(n in w.project for n in named), (said, [e.id for e in w.project.elements])
    assert not w.project.elements and not w.stack.can_undo()
    assert [whatif.table.item(i, c).text() for i in range(whatif.table.rowCount())
            for c in (0, 1)] == ["–"] * (2 * whatif.table.rowCount())
    assert dock.charts.data is None and dock.charts.effect_plots == {}
    assert dock.charts.pareto_scatter not in dock.charts.pareto_plot.getPlotItem().items
    assert "cannot run yet" not in w.statusBar().currentMessage()
