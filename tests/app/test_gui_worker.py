"""Every outcome of a background job ends in exactly one signal, gives the buttons back and
shows in the log pane (issue 13 §4): before ``app.worker.Job`` a run that raised anything but
five exception types emitted nothing and the Run button stayed disabled for good."""

import time

import pytest

from app.worker import OUT_OF_MEMORY, Job
from twin.errors import InputError
from twin.tasks import TaskState

pytestmark = pytest.mark.gui


class _Recorder:
    """Every signal a job emits, in order."""

    def __init__(self, job: Job):
        self.got = []
        job.finished.connect(lambda r: self.got.append(("finished", r)))
        job.failed.connect(lambda msg, tb: self.got.append(("failed", msg, tb)))
        job.cancelled.connect(lambda: self.got.append(("cancelled",)))


def _run_job(qtbot, fn, task=None, **kw):
    job = Job(fn, task, **kw)
    rec = _Recorder(job)
    job.start()
    qtbot.waitUntil(lambda: bool(rec.got), timeout=10_000)
    qtbot.wait(50)  # a second signal would come now
    assert job.outcome == rec.got[0][0] and not job.is_running()
    return rec.got


def _raise(error):
    def job(*_args):
        raise error

    return job


@pytest.mark.parametrize("error, message", [
    (TypeError("unsupported operand type(s) for +: 'int' and 'str'"),
     "TypeError: unsupported operand type(s) for +: 'int' and 'str'"),
    (OSError(104, "Connection reset by peer"), "ConnectionResetError: [Errno 104] Connection "
                                               "reset by peer"),
    (KeyError("M7"), "KeyError: M7"),
    (SystemExit(3), "SystemExit: 3"),
])
def test_a_bug_is_a_failure_with_its_traceback(qtbot, error, message):
    got = _run_job(qtbot, _raise(error))
    assert len(got) == 1 and got[0][:2] == ("failed", message)
    tb = got[0][2]
    assert tb.startswith("Traceback (most recent call last)") and "in job" in tb


def test_a_users_error_is_its_message_alone(qtbot):
    class ForkLike(ValueError):
        pass

    assert _run_job(qtbot, _raise(InputError("line.json: $.horizon: must be > 0 (found -1)"))) \
        == [("failed", "line.json: $.horizon: must be > 0 (found -1)", None)]
    # a job names the errors besides InputError that are the user's
    assert _run_job(qtbot, _raise(ForkLike("not a station")), user_errors=(ForkLike,)) == [
        ("failed", "not a station", None)]
    assert _run_job(qtbot, _raise(MemoryError())) == [("failed", OUT_OF_MEMORY, None)]


def test_finished_and_cancelled(qtbot):
    assert _run_job(qtbot, lambda task: 42) == [("finished", 42)]

    def until_cancelled(task):
        while True:
            task.check()
            time.sleep(0.005)

    task = TaskState()
    job = Job(until_cancelled, task)
    rec = _Recorder(job)
    job.start()
    qtbot.wait(50)
    job.cancel()
    qtbot.waitUntil(lambda: bool(rec.got), timeout=10_000)
    qtbot.wait(50)
    assert rec.got == [("cancelled",)]
    # work that returns although it was cancelled is dropped as cancelled
    task = TaskState()
    task.request_interruption()
    assert _run_job(qtbot, lambda t: "stale", task) == [("cancelled",)]


def test_automatic_collection_waits_while_a_job_runs(qtbot):
    """The GUI thread's garbage collection crashed Python 3.11 when it met a worker's frames
    (twin.tasks.pause_collection): it waits until every job has ended."""
    import gc
    import threading

    assert gc.isenabled()
    release = [threading.Event() for _ in range(2)]
    jobs = [Job(lambda _t, e=e: e.wait(10)) for e in release]
    recs = [_Recorder(j) for j in jobs]
    for j in jobs:
        j.start()
    assert not gc.isenabled()
    release[0].set()
    qtbot.waitUntil(lambda: bool(recs[0].got), timeout=10_000)
    assert not gc.isenabled()  # the other one still runs
    release[1].set()
    qtbot.waitUntil(lambda: bool(recs[1].got), timeout=10_000)
    assert gc.isenabled()
    # a job whose owner is deleted while it runs (a window closed under a run) still ends
    # the pause when its thread ends
    from PySide6.QtCore import QObject
    from shiboken6 import delete

    owner, done = QObject(), threading.Event()
    job = Job(lambda _t: done.wait(10), parent=owner)
    job.start()
    assert not gc.isenabled()
    delete(owner)
    done.set()
    qtbot.waitUntil(gc.isenabled, timeout=10_000)


def test_a_dropped_job_still_reports(qtbot):
    """Nobody keeps the job: it lives until its thread ends (a QThread destroyed while
    running aborts the process)."""
    got = []

    def start():
        job = Job(lambda task: time.sleep(0.2) or "late")
        job.finished.connect(got.append)
        job.start()

    start()
    import gc

    gc.collect()
    qtbot.waitUntil(lambda: got == ["late"], timeout=10_000)


@pytest.mark.parametrize("error, shown, traceback_shown", [
    (TypeError("'NoneType' object is not subscriptable"),
     "run failed: TypeError: 'NoneType' object is not subscriptable", True),
    (OSError("lost connection to the OPC UA server"),
     "run failed: OSError: lost connection to the OPC UA server", True),
    (InputError("scenario 'faster': M2.process_time must be > 0"),
     "run failed: scenario 'faster': M2.process_time must be > 0", False),
])
def test_a_failing_run_gives_the_run_button_back(make_window, line_project, qtbot, error, shown,
                                                 traceback_shown):
    w = make_window(line_project)
    rp = w.run_panel
    rp.run_job = _raise(error)
    with qtbot.waitSignal(rp.run_failed, timeout=10_000) as blocker:
        assert rp.start_run()
    assert (blocker.args[1] is not None) == traceback_shown
    assert rp.run_button.isEnabled() and not rp.cancel_button.isEnabled()
    assert not rp.is_running() and w.act_run.isEnabled()
    text = w.log_pane.toPlainText()
    assert shown in text
    assert ("Traceback (most recent call last)" in text) == traceback_shown
    assert w.statusBar().currentMessage() == shown
    # and the next run starts
    rp.run_job = lambda *a: (_ for _ in ()).throw(InputError("again"))
    with qtbot.waitSignal(rp.run_failed, timeout=10_000):
        assert rp.start_run()


def test_a_run_builds_its_scenarios_on_the_gui_thread(make_window, line_project, qtbot,
                                                      model_threads, warm_kernel):
    import threading

    from PySide6.QtCore import Qt

    w = make_window(line_project)
    rp = w.run_panel
    for i in range(rp.scenarios.count()):
        rp.scenarios.item(i).setCheckState(Qt.Checked)
    assert rp.chosen_scenarios() == ["base", "faster"]
    rp.horizon.setText("1h")
    model_threads.clear()
    with qtbot.waitSignal(rp.run_finished, timeout=60_000) as blocker:
        assert rp.start_run()
    result = blocker.args[0]
    assert list(result.scenarios) == ["base", "faster"]
    assert result.scenarios["faster"].project.element("M2").process_time.mean == 35.0
    # the snapshot and the "faster" variant among them: none on the worker
    assert len(model_threads) >= 2 and set(model_threads) == {threading.main_thread().name}


def test_a_cancelled_run_gives_the_run_button_back(make_window, line_project, qtbot):
    w = make_window(line_project)
    rp = w.run_panel

    def slow(project, names, spec, task):
        while True:
            task.check()
            time.sleep(0.005)

    rp.run_job = slow
    with qtbot.waitSignal(rp.run_cancelled, timeout=10_000):
        assert rp.start_run()
        assert not rp.run_button.isEnabled()
        qtbot.wait(50)
        w.act_cancel.trigger()
    assert rp.run_button.isEnabled() and not rp.is_running()
    assert w.log_pane.toPlainText().splitlines()[-1] == "run cancelled"


def test_a_failing_warm_up_is_reported(make_window, line_project, qtbot, monkeypatch):
    monkeypatch.setattr("kernels.warmup.warm_up", _raise(OSError(28, "No space left on device")))
    w = make_window(line_project)
    w._start_warm_up()
    with qtbot.waitSignal(w.warm_job.failed, timeout=10_000):
        pass
    assert "kernel warm-up failed: OSError: [Errno 28] No space left on device" \
        in w.log_pane.toPlainText()
    assert "see the log" in w.kernel_label.text()


def test_a_failing_fork_gives_the_fork_button_back(make_window, line_project, sme_recording,
                                                   qtbot, monkeypatch):
    monkeypatch.setattr("app.replay_panel._fork_job",
                        _raise(OSError("the recording's disk went away")))
    w = make_window(line_project)
    assert w.open_recording(sme_recording)
    rp = w.replay
    box = rp.mapping_table.cellWidget(rp.asset_ids.index("2"), 1)
    box.setCurrentIndex(box.findData("M2"))
    with qtbot.waitSignal(rp.fork_failed, timeout=10_000) as blocker:
        assert rp.start_fork()
    assert blocker.args[0] == "OSError: the recording's disk went away"
    assert rp.fork_button.isEnabled() and not rp.fork_cancel.isEnabled()
    assert not rp.is_forking() and rp._jobs == {}
    text = w.log_pane.toPlainText()
    assert "fork failed: OSError: the recording's disk went away" in text
    assert "Traceback (most recent call last)" in text
