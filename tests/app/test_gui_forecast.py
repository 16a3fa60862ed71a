"""The Forecast dock: fan charts of the shift from Replay, earlier fans kept, no stall."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer

from app.forecast_dock import LIVE_POLL_MS
from twin.recording import Recording
from twin.shadow.forecast import forecast_at
from twin.sim.runner import RunSpec, run_project
from twin.whatif.simulated import write_run_as_recording

pytestmark = pytest.mark.gui

SHIFT = 8 * 3600.0


@pytest.fixture
def shift_recording(tmp_path, line_project, warm_kernel):
    """One simulated 8-hour shift of the small line (its epoch is 00:00 UTC, so the
    recording's default shifts are 22-06 and 06-14)."""
    res = run_project(line_project, spec=RunSpec(horizon=SHIFT, warmup=0.0, replications=1,
                                                 seed=4, log=True))
    path = tmp_path / "shift.h5"
    write_run_as_recording(res.scenarios["base"], 0, path, seed=4)
    return path


def _xy(item):
    x, y = item.getData()
    return np.asarray(x), np.asarray(y)


def test_forecast_now_and_rolling_keep_earlier_fans(make_window, line_project, shift_recording,
                                                     qtbot, model_threads):
    w = make_window(line_project)
    assert w.open_recording(shift_recording)
    fd, rp = w.forecast, w.replay
    assert w.docks["forecast"].windowTitle() == "Forecast"
    fd.replications.setValue(40)
    fd.target.setValue(300)
    # the window keeps answering while a forecast runs on its worker thread
    gaps, last = [], [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    rp.seek(6.5 * 3600.0)  # 06:30, inside the 06:00-14:00 shift
    # the same forecast made here first: what the dock draws must be what the twin says; and
    # the fork's kernels are loaded (the workbench loads them at its first fork)
    with Recording.open(shift_recording) as rec:
        again = forecast_at(line_project, rec, rp.t, replications=40,
                            seed=line_project.run.seed, target=300, workers=1,
                            assets={a: el for a, el in rp.elements.items() if el})
    qtbot.wait(300)  # the window repaints what seek() changed (the 3D view's colours)
    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(10)
    last[0] = time.perf_counter()
    made = []
    fd.forecast_made.connect(made.append)
    qtbot.mouseClick(fd.now_button, Qt.LeftButton)
    assert fd.is_busy() and not fd.now_button.isEnabled()
    qtbot.waitUntil(lambda: len(made) == 1, timeout=120_000)
    timer.stop()
    f = made[0]
    assert (f.made_at, f.shift_start, f.shift_end) == (6.5 * 3600.0, 6 * 3600.0, 14 * 3600.0)
    assert f.good.shape[0] == 40 and f.target == 300.0
    # the chart shows exactly that forecast's quantiles, in hours since the shift began
    x, p50 = _xy(fd.fans[-1].median)
    np.testing.assert_allclose(x, (f.times - f.shift_start) / 3600.0)
    np.testing.assert_allclose(p50, np.quantile(f.good, 0.5, axis=0))
    _, p10 = _xy(fd.fans[-1].lo)
    _, p90 = _xy(fd.fans[-1].hi)
    assert np.all(p10 <= p50) and np.all(p50 <= p90)
    np.testing.assert_array_equal(again.good, f.good)
    # the actual curve: recorded good parts since 06:00 up to the forecast, ending at so far
    ax, ay = _xy(fd.actual)
    assert ax[0] == pytest.approx(0.0) and ax[-1] == pytest.approx(0.5)
    assert ay[-1] == pytest.approx(f.good_so_far) and np.all(np.diff(ay) >= 0)
    assert "P(miss target 300)" in fd.status.text() and "P50" in fd.status.text()
    assert fd.target_line.isVisible() and fd.target_line.value() == 300
    assert max(gaps) < 0.5, f"the event loop stalled {max(gaps):.2f} s"
    assert set(model_threads) == {"MainThread"}, "models are built on the GUI thread only"

    # rolling: as playback passes each multiple of 'every', a new forecast; earlier fans stay
    fd.every.setValue(30.0)
    fd.rolling.setChecked(True)
    for t in (7 * 3600.0 + 60.0, 7.5 * 3600.0 + 60.0):
        n = len(made)
        rp.seek(t)
        qtbot.waitUntil(lambda n=n: len(made) == n + 1, timeout=120_000)
    assert [g.made_at for g in made] == [6.5 * 3600.0, 7 * 3600.0, 7.5 * 3600.0]
    assert len(fd.fans) == 3 and fd.forecasts == made
    # the newest is drawn strongest, the earlier ones faint
    alphas = [fan.band.brush().color().alpha() for fan in fd.fans]
    assert alphas[-1] > alphas[1] > alphas[0]
    # each forecast adds what was recorded so far to what its replications made after it
    for g in made:
        np.testing.assert_array_less(g.good_so_far - 1e-9, g.good[:, 0])
    # going back in time starts the chart afresh
    fd.rolling.setChecked(False)
    rp.seek(6.25 * 3600.0)
    qtbot.mouseClick(fd.now_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(made) == 4, timeout=120_000)
    assert len(fd.fans) == 1 and fd.forecasts == [made[-1]]


def test_forecast_without_recording_or_project_says_why(make_window, line_project, qtbot):
    w = make_window(line_project)
    failed = []
    w.forecast.forecast_failed.connect(lambda msg, tb: failed.append(msg))
    qtbot.mouseClick(w.forecast.now_button, Qt.LeftButton)
    assert failed and "open a recording in Replay first" in failed[0]
    assert "Forecast failed" in w.forecast.status.text()
    assert "forecast failed: open a recording" in w.log_pane.toPlainText()


def test_rolling_while_live_forecasts_at_the_newest_step_recorded(make_window, line_project,
                                                                  shift_recording, qtbot):
    """Live: the dock reads the recording the live session writes (here one already written,
    handed over as the Live dock hands its path, with its recorder's report of the newest
    reading) at the newest step it holds; until a reading passes the next step it does not
    read the recording again."""
    from types import SimpleNamespace

    from twin.recording import extent, replay_recording

    with Recording.open(shift_recording) as rec:
        last = extent(replay_recording(rec))[1]
        epoch = rec.epoch_utc
    report = SimpleNamespace(last=epoch.timestamp() + last, epoch_utc=epoch.isoformat())
    w = make_window(line_project)
    fd = w.forecast
    fd.attach_live(SimpleNamespace(session=SimpleNamespace(recorder=SimpleNamespace(
        report=report)), recording=str(shift_recording)))
    fd.replications.setValue(10)
    fd.every.setValue(15.0)
    made = []
    fd.forecast_made.connect(made.append)
    fd.rolling.setChecked(True)
    qtbot.waitUntil(lambda: bool(made), timeout=120_000)
    started = []
    start = fd._start
    fd._start = lambda *a, **k: started.append(a) or start(*a, **k)
    qtbot.wait(2 * LIVE_POLL_MS + 500)  # the timer looks again: nothing newer was recorded
    assert started == []  # and so no job read the recording
    fd.rolling.setChecked(False)
    qtbot.waitUntil(lambda: not fd.is_busy(), timeout=60_000)
    assert len(made) == 1
    step = 15 * 60.0
    assert made[0].made_at == (np.ceil(last / step) - 1) * step  # the newest step before the end
    assert made[0].shift_start == 6 * 3600.0 and fd.fans and fd.forecasts[0] is made[0]
    # live forecasts are kept beside the recording
    from twin.shadow.forecast import ForecastLog, log_path

    kept = ForecastLog.read(log_path(shift_recording))
    assert [k.made_at for k in kept] == [f.made_at for f in made]


def test_a_forecast_outlives_replay_closing_its_recording(make_window, line_project,
                                                          shift_recording, qtbot):
    """The job reads the file through its own handle: opening another recording (which
    closes Replay's) while it runs does not break it."""
    w = make_window(line_project)
    assert w.open_recording(shift_recording)
    fd = w.forecast
    fd.replications.setValue(20)
    w.replay.seek(7 * 3600.0)
    made, failed = [], []
    fd.forecast_made.connect(made.append)
    fd.forecast_failed.connect(lambda msg, tb: failed.append((msg, tb)))
    assert fd.forecast_now()
    w.replay.close_recording()
    qtbot.waitUntil(lambda: bool(made or failed), timeout=120_000)
    assert not failed and made[0].made_at == 7 * 3600.0


def test_the_target_box_says_the_target_the_chart_draws(make_window, line_project, qtbot):
    """"no target" in the box, "P(miss target 9000)" on the chart: the box now says the
    project's target is used (newfix3 §5)."""
    from twin.model import elements as m

    line_project.alerts = m.AlertSettings(shift_target=9000.0)
    w = make_window(line_project)
    w.docks["forecast"].raise_()
    fd = w.forecast
    qtbot.waitUntil(fd.isVisible)
    assert fd.target.value() == 0 and fd.target.lineEdit().text() == "project's (9000)"


def test_forecast_now_while_live_forecasts_from_the_live_state(make_window, line_project,
                                                               shift_recording, qtbot):
    """Forecast now while following a live plant said "open a recording in Replay first"."""
    from types import SimpleNamespace

    w = make_window(line_project)
    fd = w.forecast
    fd.attach_live(SimpleNamespace(session=SimpleNamespace(recorder=None),
                                   recording=str(shift_recording)))
    fd.replications.setValue(10)
    made, failed = [], []
    fd.forecast_made.connect(made.append)
    fd.forecast_failed.connect(lambda msg, tb: failed.append(msg))
    qtbot.mouseClick(fd.now_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: bool(made) or bool(failed), timeout=120_000)
    assert failed == [] and made[0].shift_start == 6 * 3600.0
    assert "good parts at shift end" in fd.status.text()


def test_an_unmapped_recording_is_named_with_the_guis_way_to_map_it(
        make_window, line_project, shift_recording, qtbot):
    """A GUI user was told to "map them with --asset ASSET=STATION on the command line"."""
    w = make_window(line_project)
    assert w.open_recording(shift_recording)
    fd, rp = w.forecast, w.replay
    for a in list(rp.elements):
        rp.elements[a] = ""  # nothing mapped: as for an unrelated recording
    failed = []
    fd.forecast_failed.connect(lambda msg, tb: failed.append(msg))
    fd.rolling.setChecked(True)
    rp.seek(6.5 * 3600.0)
    qtbot.mouseClick(fd.now_button, Qt.LeftButton)
    assert failed and all("'Asset mapping' tab" in f and "--asset" not in f for f in failed)
    assert not fd.rolling.isChecked() and not fd.is_busy()


def test_the_target_box_follows_the_open_project(make_window, line_project, qtbot):
    """A new project without a target still read "project's (9000)" from the one before,
    until Forecast now said "no target" (gui17 §1): the box follows new, open and undo."""
    from tests.app.conftest import small_line
    from twin.model import elements as m

    line_project.alerts = m.AlertSettings(shift_target=9000.0)
    w = make_window(line_project)
    w.docks["forecast"].raise_()
    fd = w.forecast
    qtbot.waitUntil(fd.isVisible)
    assert fd.target.lineEdit().text() == "project's (9000)"
    w.new_project()
    assert fd.target.value() == 0 and fd.target.lineEdit().text() == "no target"
    other = small_line()
    other.alerts = m.AlertSettings(shift_target=500.0)
    w._set_project(other, None)  # what File > Open does once the file is read
    assert fd.target.lineEdit().text() == "project's (500)"


def test_a_forecast_running_when_file_new_is_chosen_draws_nothing_on_the_new_project(
        make_window, line_project, shift_recording, qtbot):
    """A forecast of the last project drew its fan on the chart of the one opened while it
    ran (gui18 §1): File > New stops it and the dock says its result is not shown."""
    w = make_window(line_project)
    assert w.open_recording(shift_recording)
    fd = w.forecast
    w.docks["forecast"].raise_()
    fd.replications.setValue(2000)  # long enough to be running still when New is chosen
    w.replay.seek(6.5 * 3600.0)
    made, failed = [], []
    fd.forecast_made.connect(made.append)
    fd.forecast_failed.connect(lambda msg, tb: failed.append(msg))
    qtbot.mouseClick(fd.now_button, Qt.LeftButton)
    job = fd.job
    assert job is not None and job.is_running()
    w.act_new.trigger()
    assert w.project.name == "Untitled"
    assert not fd.is_busy() and fd.now_button.isEnabled()
    assert "was stopped" in fd.status.text()
    qtbot.waitUntil(lambda: not job.is_running(), timeout=120_000)
    qtbot.wait(50)  # the job's last signal is delivered
    assert made == [] and failed == []
    assert fd.fans == [] and fd.forecasts == [] and fd.actual.getData()[0] is None
    assert "was stopped" in fd.status.text()


def test_a_forecast_lands_only_on_the_recording_it_was_made_for(
        make_window, line_project, shift_recording, qtbot, tmp_path):
    """Another recording opened in Replay while a forecast of the first one ran: its fan is
    not drawn over the second recording; the dock says it was dropped."""
    import shutil

    other = tmp_path / "other.h5"
    shutil.copy(shift_recording, other)
    w = make_window(line_project)
    assert w.open_recording(shift_recording)
    fd = w.forecast
    fd.replications.setValue(20)
    w.replay.seek(7 * 3600.0)
    made = []
    fd.forecast_made.connect(made.append)
    assert fd.forecast_now()
    job = fd.job
    assert w.open_recording(other)
    qtbot.waitUntil(lambda: not job.is_running(), timeout=120_000)
    qtbot.waitUntil(lambda: not fd.is_busy(), timeout=5_000)
    assert made == [] and fd.fans == []
    assert "dropped: another recording was opened in Replay" in fd.status.text()
    # a forecast of what is open now lands
    assert fd.forecast_now()
    qtbot.waitUntil(lambda: len(made) == 1, timeout=120_000)
    assert len(fd.fans) == 1


def test_a_dropped_forecast_that_fails_leaves_the_new_projects_dock_alone(
        make_window, line_project, shift_recording, qtbot, monkeypatch):
    """A forecast of the last project that fails after File > New (its recording gone, say)
    wrote "Forecast failed" into the new project's dock (and unticked its Rolling)."""
    import threading

    import app.forecast_dock as fdm

    release = threading.Event()

    def failing_job(*args, **kwargs):
        release.wait(30)
        raise FileNotFoundError("shift.h5 is gone")

    monkeypatch.setattr(fdm, "_forecast_job", failing_job)
    w = make_window(line_project)
    assert w.open_recording(shift_recording)
    fd = w.forecast
    w.replay.seek(7 * 3600.0)
    assert fd.forecast_now()
    job = fd.job
    w.act_new.trigger()
    release.set()
    qtbot.waitUntil(lambda: not job.is_running(), timeout=30_000)
    qtbot.wait(50)
    assert "Forecast failed" not in fd.status.text()
    assert "was stopped" in fd.status.text()
    # a bug is still logged, named as the dropped forecast's
    assert "a dropped forecast of the last project" in w.log_pane.toPlainText()
