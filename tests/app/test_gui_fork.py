"""Fork from the Replay dock: the real SME recording, one asset on a station, a fan chart."""


import numpy as np
import pytest
from PySide6.QtCore import Qt

pytestmark = pytest.mark.gui

def _xy(item):
    x, y = item.getData()
    return np.asarray(x), np.asarray(y)


def _open_and_map(make_window, project, path, asset="2", station="M2"):
    w = make_window(project)
    assert w.open_recording(path)
    rp = w.replay
    row = rp.asset_ids.index(asset)
    box = rp.mapping_table.cellWidget(row, 1)
    box.setCurrentIndex(box.findData(station))
    assert rp.elements[asset] == station
    return w, rp


def _seek(rp, fraction):
    rp.slider.setValue(round(fraction * rp.slider.maximum()))
    return rp.t


def test_fork_draws_the_fan_chart_of_the_result(make_window, line_project, sme_recording,
                                                qtbot, warm_kernel):
    from twin.recording import Recording, replay_recording
    from twin.whatif.fork import fork_from_recording

    w, rp = _open_and_map(make_window, line_project, sme_recording)
    assert [rp.fork_scenario.itemText(i) for i in range(rp.fork_scenario.count())] == [
        "base", "faster"]
    assert rp.fork_replications.value() == 20
    t = _seek(rp, 0.3)
    # default end: cursor + 8 h (the recording runs on for days)
    assert rp.fork_end_time() == pytest.approx(min(rp.t1, t + 8 * 3600.0))
    rp.fork_scenario.setCurrentIndex(rp.fork_scenario.findText("faster"))
    rp.fork_replications.setValue(4)
    got = []
    rp.fork_finished.connect(got.append)
    qtbot.mouseClick(rp.fork_button, Qt.LeftButton)
    assert rp.is_forking() and not rp.fork_button.isEnabled()
    qtbot.waitUntil(lambda: bool(got), timeout=60_000)
    res = got[0]
    assert not rp.is_forking() and rp.fork_button.isEnabled()
    assert res.scenario == "faster" and res.t == t and len(res.outputs) == 4
    assert res.horizon_end == pytest.approx(rp.fork_end_time())
    # the time axis reads as the plant's clock, not as hours since the recording began
    x = (t - rp.t0) / 3600.0
    for axis in rp.fork_view.axes:
        assert axis.tickStrings([x], 1.0, 2.0) == [
            rp.recording.datetime_of(t).strftime("%a %H:%M")]
    # the same fork run here gives the same quantiles (seeded)
    with Recording.open(sme_recording) as rec:
        again = fork_from_recording(line_project, rec, t, rp.fork_end_time(), 4,
                                    line_project.run.seed, "faster", assets={"2": "M2"})
        r2 = replay_recording(rec)["2"]
        rec_out = r2.parts_at(again.times) - r2.parts_at(t)
        rec_energy = r2.energy_kwh_at(again.times) - r2.energy_kwh_at(t)
    x_want = (res.times - rp.t0) / 3600.0
    fv = rp.fork_view
    for chart, q, recorded, q2 in ((fv.output, res.output_q, rec_out, again.output_q),
                                   (fv.energy, res.energy_q, rec_energy, again.energy_q)):
        for item, key in ((chart.lo, "p10"), (chart.median, "p50"), (chart.hi, "p90")):
            x, y = _xy(item)
            np.testing.assert_allclose(x, x_want)
            np.testing.assert_array_equal(y, q[key])
            np.testing.assert_array_equal(y, q2[key])
        # the band is filled between the P10 and P90 curves
        assert {chart.band.curves[0], chart.band.curves[1]} == {chart.lo, chart.hi}
        x, y = _xy(chart.recorded)
        np.testing.assert_allclose(x, x_want)
        np.testing.assert_allclose(y, recorded)
    assert np.all(np.diff(_xy(fv.output.median)[1]) >= 0)  # cumulative
    # the fan chart is scrolled into view and paints, legend included (its band entry
    # raised in every repaint); pytest-qt fails the test on an error in a paint
    w.docks["replay"].raise_()
    assert not fv.visibleRegion().isEmpty()
    img = fv.output_plot.grab().toImage()
    legend = [label.text for _, label in fv.output_plot.getPlotItem().legend.items]
    assert legend == ["fork P50", "recorded", "fork P10-P90"]
    blue = sum(1 for x in range(0, img.width(), 3) for y in range(0, img.height(), 3)
               if img.pixelColor(x, y).blue() > 150 > img.pixelColor(x, y).red())
    assert blue > 20  # the median and its band
    assert "fork of 'faster'" in rp.fork_status.text()
    assert rp.fork_busy.value() == rp.fork_busy.maximum()
    # the SME data has no buffer level and no asset on M1: the dock says the WIP there was
    # unknown, not silently empty
    assert res.wip_unknown == ["src", "B1", "M1"] == again.wip_unknown
    assert not rp.fork_warning.isHidden()
    assert rp.fork_warning.text() == ("⚠ work in process unknown at the fork time, started "
                                      "empty: src, B1, M1")
    # another recording opened (here the same file again): the old fork's fan is gone,
    # band included (its P10-P90 band stayed painted over the new recording's charts)
    assert w.open_recording(sme_recording)
    for chart in (fv.output, fv.energy):
        assert chart.band.path().isEmpty()
        assert all(item.getData()[0] is None or len(item.getData()[0]) == 0
                   for item in (chart.lo, chart.hi, chart.median))
    img = fv.output_plot.grab().toImage()
    assert sum(1 for x in range(0, img.width(), 3) for y in range(0, img.height(), 3)
               if img.pixelColor(x, y).blue() > 150 > img.pixelColor(x, y).red()) < 5
    fv.show_result(res, rp.t0)  # and the next fork's band is filled again
    assert not fv.output.band.path().isEmpty()


def test_fork_errors_are_shown_with_the_fix(make_window, line_project, sme_recording,
                                            qtbot, warm_kernel):
    w, rp = _open_and_map(make_window, line_project, sme_recording, station="")
    # nothing mapped: refused before any thread starts, the fix named
    assert not rp.start_fork()
    assert "mapping" in rp.fork_status.text()
    # named as the tab the user sees ("'Asset → element mapping' table" was no tab's name)
    tab = rp.tabs.tabText(rp.tabs.indexOf(rp.tab_pages["mapping"]))
    assert f"'{tab}' tab" in rp.fork_status.text()
    assert "map" in w.log_pane.toPlainText() and "fork failed" in w.log_pane.toPlainText()
    # a buffer is no station: twin.whatif.fork's ForkError comes back from the worker (the
    # mapping box offers a machine asset stations only, gui17 §5; a mapping kept from
    # elsewhere, the recording's own or one remembered with the project, still gets here)
    row = rp.asset_ids.index("2")
    box = rp.mapping_table.cellWidget(row, 1)
    assert box.findData("B1") < 0
    rp.map_asset("2", "B1")
    _seek(rp, 0.5)
    failed = []
    rp.fork_failed.connect(lambda msg, tb: failed.append(msg))
    assert rp.start_fork()
    qtbot.waitUntil(lambda: bool(failed), timeout=60_000)
    assert "not a station" in failed[0] and "stations: ['M1', 'M2']" in failed[0]
    assert "not a station" in rp.fork_status.text()
    assert "not a station" in w.log_pane.toPlainText()
    assert rp.fork_button.isEnabled() and not rp.is_forking()
    # at the very end of the recording there is nothing to fork: the error says so
    box.setCurrentIndex(box.findData("M2"))
    rp.slider.setValue(rp.slider.maximum())
    failed.clear()
    assert rp.start_fork()
    qtbot.waitUntil(lambda: bool(failed), timeout=60_000)
    assert "choose a time inside it" in failed[0]


def _long_fork(rp):
    """A fork far past the end of the recording: minutes of work if it ran to its end."""
    _seek(rp, 0.3)
    rp.fork_replications.setValue(200)
    rp.fork_end.setValue(rp.fork_end.maximum())
    assert rp.start_fork()
    job, task = rp.fork_job, rp.fork_task
    failed, cancelled = [], []
    job.failed.connect(lambda msg, tb: failed.append(msg))
    job.cancelled.connect(lambda: cancelled.append(True))
    return job, task, failed, cancelled


def test_cancel_stops_the_fork_within_a_chunk(make_window, line_project, sme_recording,
                                              qtbot, warm_kernel):
    w, rp = _open_and_map(make_window, line_project, sme_recording)
    got = []
    rp.fork_finished.connect(got.append)
    job, task, failed, cancelled = _long_fork(rp)
    # progress shows on the bar, read from the TaskState by the panel's timer
    qtbot.waitUntil(lambda: rp.fork_busy.value() > 0, timeout=60_000)
    assert 0 < task.progress < 100
    qtbot.mouseClick(rp.fork_cancel, Qt.LeftButton)
    assert task.is_interruption_requested()
    assert not rp.is_forking() and rp.fork_button.isEnabled()
    assert rp.fork_status.text() == "fork cancelled" and rp.fork_busy.value() == 0
    # the worker stops at its next chunk, far from done, and reports the cancel
    qtbot.waitUntil(lambda: job not in rp._jobs, timeout=60_000)
    assert cancelled == [True] and failed == [] and task.progress < 50
    assert got == [] and rp.fork_view.result is None
    assert "fork failed" not in w.log_pane.toPlainText()  # a cancel is no error
    # a new fork runs to its end after a cancelled one
    rp.fork_end.setValue((rp.t + 3600.0 - rp.t0) / 3600.0)
    rp.fork_replications.setValue(2)
    assert rp.start_fork()
    qtbot.waitUntil(lambda: bool(got), timeout=60_000)
    assert len(got[0].outputs) == 2


def test_closing_the_recording_stops_a_running_fork(make_window, line_project, sme_recording,
                                                    qtbot, warm_kernel):
    w, rp = _open_and_map(make_window, line_project, sme_recording)
    job, task, _, _ = _long_fork(rp)
    qtbot.waitUntil(lambda: task.progress > 0, timeout=60_000)
    rp.close_recording()  # waits for the thread, which stops within a chunk
    assert task.is_interruption_requested() and task.progress < 50
    assert rp._jobs == {} and rp.recording is None and not rp.is_forking()


def test_fork_from_a_recording_with_levels_knows_the_wip(make_window, line_project, tmp_path,
                                                         qtbot, warm_kernel):
    """A simulated shift written with levels: every asset maps onto its element, the fork
    puts the recorded parts into B1 and the source queue, and no warning shows."""
    from twin.recording import Recording, replay_recording
    from twin.sim.runner import RunSpec, run_project
    from twin.whatif.simulated import write_run_as_recording

    res = run_project(line_project, spec=RunSpec(horizon=4 * 3600.0, replications=1, seed=3,
                                                 log=True))
    path = tmp_path / "shift.h5"
    write_run_as_recording(res.scenarios["base"], 0, path, seed=3, levels=True)
    w = make_window(line_project)
    assert w.open_recording(path)
    rp = w.replay
    assert rp.elements == {"M1": "M1", "M2": "M2", "src": "src", "B1": "B1"}
    t = _seek(rp, 0.5)
    rp.fork_replications.setValue(3)
    got = []
    rp.fork_finished.connect(got.append)
    assert rp.start_fork()
    qtbot.waitUntil(lambda: bool(got), timeout=60_000)
    res = got[0]
    with Recording.open(path) as rec:
        replays = replay_recording(rec)
        want = {el: int(replays[el].level_at(t)) for el in ("src", "B1")}
    assert res.wip == want and res.wip_unknown == []
    assert rp.fork_warning.isHidden() and rp.fork_warning.text() == ""
    assert "work in process at t: " + ", ".join(f"{el} {n}" for el, n in want.items()) \
        in rp.fork_status.text()


def test_a_fork_builds_its_scenario_on_the_gui_thread(make_window, line_project, sme_recording,
                                                      qtbot, warm_kernel, model_threads):
    import threading

    w, rp = _open_and_map(make_window, line_project, sme_recording)
    _seek(rp, 0.5)
    rp.fork_scenario.setCurrentIndex(rp.fork_scenario.findText("faster"))
    rp.fork_replications.setValue(2)
    got = []
    rp.fork_finished.connect(got.append)
    model_threads.clear()
    qtbot.mouseClick(rp.fork_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: bool(got), timeout=60_000)
    assert got[0].scenario == "faster"
    # the snapshot and the "faster" variant among them: none on the worker
    assert len(model_threads) >= 2 and set(model_threads) == {threading.main_thread().name}
