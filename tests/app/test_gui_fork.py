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
    from twin.fork import fork_from_recording
    from twin.recording import Recording, replay_recording

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
    assert "fork of 'faster'" in rp.fork_status.text()


def test_fork_errors_are_shown_with_the_fix(make_window, line_project, sme_recording,
                                            qtbot, warm_kernel):
    w, rp = _open_and_map(make_window, line_project, sme_recording, station="")
    # nothing mapped: refused before any thread starts, the fix named
    assert not rp.start_fork()
    assert "mapping" in rp.fork_status.text()
    assert "map" in w.log_pane.toPlainText() and "fork failed" in w.log_pane.toPlainText()
    # a buffer is no station: twin.fork's ForkError comes back from the worker
    row = rp.asset_ids.index("2")
    box = rp.mapping_table.cellWidget(row, 1)
    box.setCurrentIndex(box.findData("B1"))
    _seek(rp, 0.5)
    failed = []
    rp.fork_failed.connect(failed.append)
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


def test_cancelled_fork_result_is_dropped(make_window, line_project, sme_recording,
                                          qtbot, warm_kernel):
    w, rp = _open_and_map(make_window, line_project, sme_recording)
    _seek(rp, 0.3)
    rp.fork_replications.setValue(2)
    got = []
    rp.fork_finished.connect(got.append)
    assert rp.start_fork()
    job = rp.fork_job
    rp.cancel_fork()
    assert not rp.is_forking() and rp.fork_button.isEnabled()
    assert rp.fork_status.text() == "fork cancelled"
    qtbot.waitUntil(lambda: job not in rp._jobs, timeout=60_000)  # the thread ran to its end
    assert got == [] and rp.fork_view.result is None
