"""Long runs (issue 14 §6): Cancel keeps the finished replications, progress shows an ETA,
and only the replication played back keeps its state log."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PySide6.QtCore import Qt

from twin.sim.runner import RunSpec, run_project
from twin.tasks import TaskState

pytestmark = pytest.mark.gui


def _cancel_at(percent):
    task = TaskState(on_progress=lambda p: p >= percent and task.request_interruption())
    return task


def test_cancel_keeps_the_finished_replications_of_every_scenario(line_project, warm_kernel):
    spec = RunSpec(horizon=2 * 86400.0, replications=6, seed=3)
    full = run_project(line_project, ["base", "faster"], spec, workers=1)
    part = run_project(line_project, ["base", "faster"], spec, _cancel_at(45.0), workers=1)
    assert part.cancelled and part.requested == 6
    k = part.spec.replications
    assert 1 <= k < 6
    assert part.outcome() == f"{k} of 6 replications, cancelled"
    for name in ("base", "faster"):  # paired: the same replications in each scenario
        reps = part.scenarios[name].replications
        assert len(reps) == k
        for a, b in zip(reps, full.scenarios[name].replications[:k], strict=False):
            np.testing.assert_array_equal(a.el_out, b.el_out)
    s = part.summary()["base"]["line"]["throughput_per_hour"]
    assert np.isfinite(s["mean"])
    assert not full.cancelled and full.outcome() == "6 replications"


def test_cancel_in_the_window_shows_what_finished(make_window, line_project, qtbot,
                                                  warm_kernel, monkeypatch):
    # two workers, and the run held (in its progress report) from 30 % until Cancel is
    # clicked: at least one replication has finished then (2.4 of 8 done, at most 2 in
    # flight) and never all 8, whatever the machine's speed
    import app.run_panel as run_panel

    monkeypatch.setattr(run_panel, "_workers", lambda: 2)
    w = make_window(line_project)
    rp = w.run_panel
    run = rp.run_job

    def held(snapshot, variants, spec, task):
        def hold(percent):
            if percent >= 30.0:
                task._cancel.wait(60.0)

        task._on_progress = hold
        return run(snapshot, variants, spec, task)

    rp.run_job = held
    rp.horizon.setText("20d")
    rp.replications.setValue(8)
    with qtbot.waitSignal(rp.run_finished, timeout=120_000) as blocker:
        assert rp.start_run()
        rp.started_at -= 10.0  # as if it had run for 10 s: the ETA shows from the first second
        qtbot.waitUntil(lambda: rp.task.progress >= 30.0, timeout=60_000)
        qtbot.waitUntil(lambda: "left" in rp.progress.text(), timeout=5_000)
        rp.cancel_button.click()
    result = blocker.args[0]
    assert result.cancelled and 1 <= result.spec.replications < 8
    assert "of 8 replications, cancelled" in w.log_pane.toPlainText()
    assert "cancelled" in rp.progress.text()
    # the share that finished, never 100 %, in words that fit the bar (not wrapped, clipped)
    k = result.spec.replications
    assert rp.progress.value() == round(1000 * k / 8) and "100" not in rp.progress.text()
    assert rp.progress.text() == f"cancelled: {k} of 8 done"
    assert rp.progress.toolTip() == f"{k} of 8 replications, cancelled"
    fits = rp.progress.fontMetrics().horizontalAdvance(rp.progress.text())
    assert fits < rp.progress.contentsRect().width() - 40, "room beside the chunk's edges"
    assert w.dashboards.result is result and w.dashboards.table.rowCount() > 0


def test_eta_text():
    from app.run_panel import eta_text

    assert eta_text(1, 30.0) == ""  # too early to tell
    assert eta_text(50, 120.0) == " — about 2 min left"
    assert eta_text(20, 10.0) == " — about 40 s left"
    assert eta_text(10, 3600.0) == " — about 9.0 h left"


def test_a_long_run_is_estimated_and_confirmed_first(make_window, line_project, qtbot,
                                                    warm_kernel):
    w = make_window(line_project)
    rp = w.run_panel
    asked = []
    rp.confirm_long_run = lambda text: asked.append(text) or False
    rp.horizon.setText("3650d")
    rp.replications.setValue(20)
    assert rp.start_run()
    assert not rp.run_button.isEnabled() and "estimating" in rp.progress.text()
    qtbot.waitUntil(lambda: rp.pilot_job is None, timeout=60_000)
    assert len(asked) == 1, "ten years of 20 replications x 2 scenarios take over 10 s"
    assert re.search(r"This run takes about \d+(\.\d)? (s|min|h), [\d.]+ [kMGT]?B of memory",
                     asked[0]), asked[0]
    assert not rp.is_running() and rp.run_button.isEnabled()  # declined: nothing started


def test_a_run_beyond_the_limits_is_refused_before_it_starts(make_window, line_project):
    from twin.model.distributions import exponential

    line_project.element("src").arrival = exponential(0.05)
    w = make_window(line_project)
    rp = w.run_panel
    failed = []
    rp.run_failed.connect(lambda msg, tb: failed.append((msg, tb)))
    rp.horizon.setText("3650d")
    assert not rp.start_run()
    assert failed and failed[0][1] is None
    assert "billion events per replication" in failed[0][0]
    assert "at most 1 billion" in failed[0][0]
    assert rp.pilot_job is None and not rp.is_running() and rp.run_button.isEnabled()
    assert "at most 1 billion" in w.log_pane.toPlainText()


def test_a_state_log_over_the_cap_is_not_kept_and_the_panel_says_so(
        make_window, line_project, qtbot, warm_kernel, monkeypatch):
    import app.run_panel as run_panel

    w = make_window(line_project)
    rp = w.run_panel
    rp.horizon.setText("2d")
    rp.replications.setValue(1)
    monkeypatch.setattr(run_panel, "PLAYBACK_LOG_CAP", 10_000.0)  # bytes: a tiny cap
    with qtbot.waitSignal(rp.run_finished, timeout=60_000) as blocker:
        assert rp.start_run()
    assert blocker.args[0].scenarios["base"].replications[0].log is None
    assert w.playback is None
    assert rp.log_note.text().startswith("No playback for this run: its state log would take")
    assert rp.log_note.isVisible()
    monkeypatch.setattr(run_panel, "PLAYBACK_LOG_CAP", 1e9)
    with qtbot.waitSignal(rp.run_finished, timeout=60_000):
        assert rp.start_run()
    assert w.playback is not None and rp.log_note.text() == ""


def test_the_panel_asks_inline_and_cancel_drops_a_long_run(make_window, line_project, qtbot,
                                                           warm_kernel):
    w = make_window(line_project)
    rp = w.run_panel
    rp.horizon.setText("3650d")
    rp.replications.setValue(20)
    assert rp.start_run()
    qtbot.waitUntil(lambda: rp.pilot_job is None, timeout=60_000)
    assert rp.confirm_bar.isVisible() and rp.confirm_text.text().startswith("This run takes")
    assert not rp.is_running()  # nothing runs until "Run it"
    with qtbot.waitSignal(rp.run_cancelled, timeout=5_000):
        rp.cancel_button.click()
    assert not rp.confirm_bar.isVisible() and rp.pending is None
    assert rp.run_button.isEnabled() and not rp.cancel_button.isEnabled()
    # "Run it" starts it; Cancel then keeps what finished (here: nothing yet)
    assert rp.start_run()
    qtbot.waitUntil(lambda: rp.confirm_bar.isVisible(), timeout=60_000)
    qtbot.mouseClick(rp.confirm_go, Qt.LeftButton)
    assert rp.is_running() and not rp.confirm_bar.isVisible()
    with qtbot.waitSignal(rp.run_cancelled, timeout=30_000):
        rp.cancel_button.click()
