"""The executor seam: results in order, progress added up, cancel and errors propagate."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from twin.sim.executors import ProcessExecutor, SerialExecutor, ThreadExecutor, make_executor
from twin.tasks import Cancelled, TaskState


def square_in_steps(item, ctx):
    for k in range(1, 5):
        ctx.check()
        ctx.progress(k / 4)
    return item * item


@pytest.mark.parametrize("executor", [SerialExecutor(), ThreadExecutor(1), ThreadExecutor(3)])
def test_results_in_order_and_progress_reaches_100(executor):
    seen = []
    task = TaskState(seen.append)
    assert executor.map(square_in_steps, list(range(20)), task) == [i * i for i in range(20)]
    assert seen[-1] == pytest.approx(100.0)
    assert max(seen) == pytest.approx(100.0)


def test_progress_seen_from_many_threads_never_goes_back():
    # a thread that adds its fraction first and is preempted before it reports must not
    # report after a thread that added its own later (the CLI's bar read 29 %, 49 %, 39 %
    # on two scenarios under load): here the first report of the pool's threads (the first
    # job runs alone) is held back 50 ms
    class Preempted(TaskState):
        held = threading.Lock()

        def set_progress_value(self, value, message=None):
            if value > 25.0 and self.held.acquire(blocking=False):
                time.sleep(0.05)
            super().set_progress_value(value, message)

    seen = []

    def steps(item, ctx):
        for k in range(1, 21):
            ctx.progress(k / 20)
        return item

    ThreadExecutor(2).map(steps, list(range(4)), Preempted(seen.append))
    assert len(seen) == 4 * 20 and seen[-1] == pytest.approx(100.0)
    assert all(b >= a for a, b in zip(seen, seen[1:], strict=False)), seen


def test_a_job_error_reaches_the_caller_and_stops_the_rest():
    started = []

    def job(item, ctx):
        started.append(item)
        if item == 1:
            raise OSError("connection lost")
        threading.Event().wait(0.05)
        return item

    with pytest.raises(OSError, match="connection lost"):
        ThreadExecutor(2).map(job, list(range(50)))
    assert len(started) < 50  # jobs not yet started were cancelled


def test_cancel_stops_within_a_job():
    task = TaskState()

    def job(item, ctx):
        if item == 3:
            task.request_interruption()
        for _ in range(300):
            ctx.check()
            threading.Event().wait(0.001)
        return item

    with pytest.raises(Cancelled):
        ThreadExecutor(2).map(job, list(range(10)), task)


def test_unknown_executor_names_the_known_ones():
    with pytest.raises(ValueError, match="processes"):
        make_executor("gpu")
    assert make_executor("threads", 2).workers == 2


def test_a_run_in_spawned_processes_equals_the_run_on_threads(kernel):
    """What crosses the seam is picklable, and the executor does not change a result: the
    same seeds give the same numbers on threads, in one thread and in other processes."""
    import numpy as np

    from twin.projectfile.reader import load_project
    from twin.sim.runner import RunSpec, run_project

    project = load_project(Path(__file__).resolve().parents[2] / "projects" / "standard-line")
    spec = RunSpec(horizon=2000.0, warmup=100.0, replications=3, seed=7)
    runs = {kind: run_project(project, ["base"], spec, executor=kind, workers=2)
            for kind in ("serial", "threads", "processes")}
    ref = runs["serial"].scenarios["base"].replications
    for kind in ("threads", "processes"):
        got = runs[kind].scenarios["base"].replications
        for a, b in zip(ref, got, strict=True):
            assert np.array_equal(a.el_out, b.el_out) and np.array_equal(a.st_time, b.st_time)
            assert np.array_equal(a.ts_line, b.ts_line)


def _collecting(item, ctx):
    import gc

    return gc.isenabled()


def test_threads_run_with_automatic_collection_paused_and_it_comes_back():
    """CPython 3.11 crashed collecting across threads (twin.tasks.pause_collection)."""
    import gc

    assert gc.isenabled()
    got = ThreadExecutor(3).map(_collecting, list(range(6)))
    assert got[0] is True and not any(got[1:])  # the first runs alone, the rest on threads
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError):  # and it comes back when a job fails
        ThreadExecutor(3).map(lambda i, ctx: 1 / (i - 3), list(range(6)))
    assert gc.isenabled()


def test_pauses_nest_and_a_collection_switched_off_stays_off():
    import gc

    from twin.tasks import collection_paused

    with collection_paused():
        with collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collection_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def _pid_then_sleep(item, ctx):
    path, seconds = item
    Path(path).write_text(str(os.getpid()))
    time.sleep(seconds)
    return seconds


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_an_abandoned_process_pool_drops_its_running_job_and_ends_its_workers(tmp_path):
    """The window closes during a study: the pool stops now (a cancel waited for the running
    design points, 5.6 s), what finished is kept, and no worker is left running."""
    task, seen = TaskState(), []
    slow = tmp_path / "slow"
    items = [(tmp_path / "quick", 0.0), (slow, 600.0), (tmp_path / "queued", 0.0)]

    def abandon_once_the_slow_job_runs():
        while not (slow.exists() and seen):
            time.sleep(0.05)
        task.abandon()

    threading.Thread(target=abandon_once_the_slow_job_runs, daemon=True).start()
    out = ProcessExecutor(2).map(_pid_then_sleep, items, task, partial=True,
                                 done=lambda i, r: seen.append(i))
    assert out[:2] == [0.0, None] and 0 in seen and 1 not in seen
    assert task.is_interruption_requested()
    assert not _alive(int(slow.read_text()))
