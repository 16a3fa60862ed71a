"""The What-if dock (issue 17 §5): a slider per factor; a release runs the twin in the
background and the KPIs with their 95% intervals update in place; a newer release cancels
an older run."""

from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.whatif_panel import (
    MIN_REPLICATIONS,
    WhatIfPanel,
    factor_value,
    replications_for,
    varied,
)
from twin.errors import ProjectError
from twin.experiments.spec import Factor
from twin.sim.runner import run_project
from twin.sim.stats import format_ci

CAPACITY = Factor("B1", "capacity", 1, 9, integer=True)


@pytest.fixture
def win(make_window, line_project, warm_kernel):
    w = make_window(line_project)
    w.docks["whatif"].raise_()
    return w


def _wait_shown(qtbot, panel, n_before: int, runs: list):
    qtbot.waitUntil(lambda: len(runs) > n_before, timeout=60_000)
    return runs[-1]


def _expected(project, panel, capacity: int, replications: int) -> dict:
    """What a plain run_project of the same settings reports (same seed: the same numbers)."""
    variant = varied(project, {CAPACITY: capacity})
    spec = replace(panel.spec(), replications=replications)
    result = run_project(variant, ["base"], spec, variants={"base": variant})
    line = result.summary()["base"]["line"]
    return {k: (v["mean"], v["ci95_halfwidth"]) for k, v in line.items()}


def test_a_release_updates_the_kpis_and_a_second_release_cancels_the_first(win, qtbot,
                                                                          model_threads):
    panel: WhatIfPanel = win.whatif
    runs = []
    panel.kpis_shown.connect(runs.append)
    panel.add_factor(CAPACITY)
    slider = panel.slider("B1.capacity")
    assert slider.value() == 5  # the project's value
    first = _wait_shown(qtbot, panel, 0, runs)
    assert first.replications >= MIN_REPLICATIONS
    want = _expected(win.project, panel, 5, first.replications)
    assert first.kpis["throughput_per_hour"] == pytest.approx(want["throughput_per_hour"])
    shown_first = panel.kpi_text("throughput_per_hour")
    m, hw = want["throughput_per_hour"]
    assert shown_first == format_ci({"mean": m, "ci95_halfwidth": hw})

    # two key presses in a row, as a user nudging the slider: the first starts a run, the
    # second cancels it and starts its own
    slider.setFocus()
    QTest.keyClick(slider, Qt.Key_Left)
    older = panel.job
    assert older is not None and older.is_running()
    QTest.keyClick(slider, Qt.Key_Left)
    assert panel.job is not older
    qtbot.waitUntil(lambda: older.outcome is not None, timeout=60_000)
    assert older.outcome == "cancelled"
    assert panel.cancelled_jobs == 1
    second = _wait_shown(qtbot, panel, 1, runs)
    assert len(runs) == 2  # the cancelled run never reached the table
    # the varied projects were built on the GUI thread; the jobs only read them
    assert model_threads and set(model_threads) == {"MainThread"}
    assert panel.values_now == {"B1.capacity": 3.0}
    want = _expected(win.project, panel, 3, second.replications)
    for key in ("throughput_per_hour", "wip", "lead_time_s", "energy_kwh"):
        assert second.kpis[key] == pytest.approx(want[key])
    # old against new, in place
    assert panel.kpi_text("throughput_per_hour", 0) == shown_first
    m3, hw3 = want["throughput_per_hour"]
    assert panel.kpi_text("throughput_per_hour", 1) == format_ci({"mean": m3,
                                                                  "ci95_halfwidth": hw3})
    assert panel.kpi_text("throughput_per_hour", 2) == f"{(m3 - m) / m:+.1%}"
    i = 0  # throughput's row
    assert panel.table.item(i, 2).toolTip().startswith(f"{m3 - m:+.4g} parts/h; ")
    assert panel.table.horizontalHeaderItem(0).toolTip() == "before: B1.capacity = 5"
    # the bands: before at 100%, now relative to it, each with its 95% half-width
    before_pt, now_pt = (panel.band_points["throughput_per_hour"][k] for k in ("before", "now"))
    assert before_pt == pytest.approx((100.0, 100.0 * hw / m))
    assert now_pt == pytest.approx((100.0 * m3 / m, 100.0 * hw3 / m))


def test_a_drag_runs_once_on_release(win, qtbot):
    panel = win.whatif
    runs = []
    panel.kpis_shown.connect(runs.append)
    panel.add_factor(CAPACITY)
    _wait_shown(qtbot, panel, 0, runs)
    slider = panel.slider("B1.capacity")
    slider.setSliderDown(True)  # the handle held
    for v in (6, 7, 8):
        slider.setValue(v)
    assert panel.job is None  # nothing runs while the handle is held
    assert panel.rows[0].value_label.text() == "8"
    slider.setSliderDown(False)  # released
    _wait_shown(qtbot, panel, 1, runs)
    assert panel.values_now == {"B1.capacity": 8.0}
    assert panel.cancelled_jobs == 0


def test_a_value_the_reader_refuses_is_shown_not_run(win, qtbot):
    panel = win.whatif
    panel.add_factor(Factor("M2", "process_time", -5.0, 45.0))
    qtbot.waitUntil(lambda: panel.job is None, timeout=60_000)
    panel.slider("M2.process_time").setValue(0)  # -5 s: no valid process time
    assert panel.job is None
    assert "M2" in panel.error.text() and "process_time" in panel.error.text()
    with pytest.raises(ProjectError):
        varied(win.project, {Factor("M2", "process_time", -5.0, 45.0): -5.0})


def test_a_deleted_element_is_named_not_a_crash(win, qtbot):
    from twin.model import commands as cmd

    panel = win.whatif
    panel.add_factor(CAPACITY)
    qtbot.waitUntil(lambda: panel.job is None, timeout=60_000)
    win.stack.push(cmd.RemoveElement("B1"))
    assert panel.status.text().startswith("the project was edited since these KPIs")
    panel.rerun()
    assert panel.job is None
    assert "B1" in panel.error.text() and "remove its slider" in panel.error.text()


def test_a_field_that_is_not_a_number_gets_no_slider(win):
    panel = win.whatif
    panel.add_factor(Factor("M1", "name", 0, 1))
    assert panel.rows == []
    assert "not a number" in panel.error.text()
    assert factor_value(win.project, Factor("M2", "process_time", 1, 2)) == 45.0


def test_replications_fit_the_budget():
    assert replications_for(0.1, budget=1.0, workers=2) == 14
    assert replications_for(10.0, budget=1.0, workers=2) == MIN_REPLICATIONS
    assert replications_for(1e-6, budget=1.0, workers=2) == 30


def test_the_panel_fits_the_dock_width(make_window, line_project, warm_kernel, qtbot):
    """At the window's default layout nothing of the panel is cut off on the right (the
    scroll area does not scroll sideways): the table's now and change columns, the value
    of each slider and Run again. The caption of the bands, one long line, made the panel
    wider than the dock and cut them."""
    from PySide6.QtWidgets import QWidget

    w = make_window(line_project, size=(1600, 1000))
    w.docks["whatif"].raise_()
    panel = w.whatif
    panel.add_factor(CAPACITY)
    panel.add_factor(Factor("M1", "failures.time_to_repair.mean", 100.0, 300.0))
    qtbot.waitUntil(lambda: panel.job is None, timeout=60_000)
    qtbot.wait(50)
    viewport = w.docks["whatif"].widget().viewport()
    assert panel.width() <= viewport.width()
    for child in (panel.table, panel.run_button, *(r.value_label for r in panel.rows)):
        right = child.mapTo(viewport, child.rect().topRight()).x()
        assert right <= viewport.width(), child
    table = panel.table
    assert table.horizontalHeader().length() <= table.viewport().width()
    fm = table.fontMetrics()
    for r in range(table.rowCount()):  # no number elided ("1208…")
        for c in range(table.columnCount()):
            item = table.item(r, c)
            if item is not None and item.text():
                assert fm.horizontalAdvance(item.text()) < table.columnWidth(c), item.text()
    assert all(c.minimumSizeHint().width() <= viewport.width()
               for c in panel.findChildren(QWidget))


def test_the_sliders_are_kept_with_the_project(make_window, line_project, qtbot, warm_kernel,
                                               tmp_path):
    """The sliders' positions lived in the panel alone: a project opened again showed none
    (polish3 §4). Each release is now an undoable edit of the project, which marks it
    modified, and the project opens with its sliders where they stood."""
    from twin.projectfile.reader import load_project

    w = make_window(line_project)
    w.docks["whatif"].raise_()
    assert w.save_to(tmp_path / "plant") and not w.isWindowModified()
    panel = w.whatif
    panel.add_factor(CAPACITY)
    qtbot.waitUntil(lambda: panel.job is None, timeout=60_000)
    assert w.isWindowModified()
    slider = panel.slider("B1.capacity")
    slider.setFocus()
    for _ in range(2):  # two nudges: 5 -> 6 -> 7, each a release of its own
        QTest.keyClick(slider, Qt.Key_Right)
    qtbot.waitUntil(lambda: panel.job is None, timeout=60_000)
    assert slider.value() == 7
    assert w.act_undo.text() == "&Undo set the what-if slider B1.capacity to 7"
    w.act_undo.trigger()
    assert panel.slider("B1.capacity").value() == 6
    assert panel.rows[0].value_label.text() == "6"
    w.act_redo.trigger()
    assert panel.slider("B1.capacity").value() == 7
    assert w.save_to(tmp_path / "plant")
    qtbot.waitUntil(lambda: panel.job is None, timeout=60_000)
    # opened again: the slider is back, where it stood
    again = make_window(load_project(tmp_path / "plant"))
    restored = again.whatif
    assert [f.name for f in restored.factors()] == ["B1.capacity"]
    assert restored.slider("B1.capacity").value() == 7
    assert restored.rows[0].value_label.text() == "7"
    assert not again.isWindowModified()
    # undoing back past the slider's addition takes it away
    w.act_undo.trigger()
    w.act_undo.trigger()
    w.act_undo.trigger()
    assert panel.factors() == []
