"""A fork reports progress into a TaskState and stops within one chunk when cancelled."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from twin.projectfile.reader import project_from_json
from twin.recording import Recording
from twin.sim.runner import CHUNKS, RunSpec, run_project
from twin.tasks import Cancelled, TaskState
from twin.whatif.fork import fork_from_recording
from twin.whatif.simulated import write_run_as_recording

H = 4 * 3600.0


def doc() -> dict:
    return {"schema_version": 1, "name": "progress line", "elements": [
        {"id": "src", "kind": "source"},
        {"id": "m1", "kind": "station", "servers": 2,
         "process_time": {"dist": "gamma", "shape": 3.0, "scale": 20.0},
         "power_kw": {"busy": 4.0}},
        {"id": "b", "kind": "buffer", "capacity": 5},
        {"id": "m2", "kind": "station", "process_time": {"dist": "exponential", "mean": 35.0},
         "power_kw": {"busy": 2.0}},
        {"id": "sink", "kind": "sink"}],
        "connections": [["src", "m1"], ["m1", "b"], ["b", "m2"], ["m2", "sink"]]}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, kernel):
    project = project_from_json(doc())
    res = run_project(project, spec=RunSpec(horizon=H, replications=1, seed=2, log=True))
    path = tmp_path_factory.mktemp("progress") / "r.h5"
    write_run_as_recording(res.scenarios["base"], 0, path, seed=2, levels=True)
    return project, path


class Watch(TaskState):
    """Records every progress value, with the thread it came from; cancels on request."""

    def __init__(self, cancel_above: float = np.inf):
        super().__init__(self._seen)
        self.values: list[float] = []
        self.after: list[float] = []  # values reported after the cancel request
        self.cancel_above = cancel_above
        self.lock = threading.Lock()

    def _seen(self, value: float) -> None:
        with self.lock:
            (self.after if self.is_interruption_requested() else self.values).append(value)
            if value > self.cancel_above:
                self.request_interruption()


@pytest.mark.parametrize("workers", [1, 2])
def test_progress_goes_to_100_and_does_not_change_the_result(recorded, workers):
    project, path = recorded
    task = Watch()
    with Recording.open(path) as r:
        fr = fork_from_recording(project, r, 3600.0, H, replications=6, seed=4, task=task,
                                 workers=workers)
        plain = fork_from_recording(project, r, 3600.0, H, replications=6, seed=4)
    assert len(task.values) == 6 * CHUNKS
    assert task.values[-1] == pytest.approx(100.0)
    if workers == 1:
        assert np.all(np.diff(task.values) > 0)
    np.testing.assert_array_equal(fr.outputs, plain.outputs)
    np.testing.assert_array_equal(fr.energies, plain.energies)
    assert fr.wip == plain.wip and "b" in fr.wip


def test_cancel_stops_within_one_chunk(recorded):
    """The request comes with the first chunk's progress; the replication checks after the
    next chunk and the fork raises: no further progress, no other replication starts."""
    project, path = recorded
    task = Watch(cancel_above=0.0)
    with Recording.open(path) as r, pytest.raises(Cancelled):
        fork_from_recording(project, r, 3600.0, H, replications=50, seed=4, task=task)
    assert task.values == [pytest.approx(100.0 / CHUNKS / 50)] and task.after == []


def test_cancel_with_worker_threads(recorded):
    """With two threads, each replication in flight finishes at most the chunk it is in;
    queued replications never start."""
    project, path = recorded
    reps = 40
    task = Watch(cancel_above=100.0 * 3 / reps)  # after three replications' worth
    with Recording.open(path) as r, pytest.raises(Cancelled):
        fork_from_recording(project, r, 3600.0, H, replications=reps, seed=4, task=task,
                            workers=2)
    assert len(task.values) < 5 * CHUNKS
    assert len(task.after) <= 1  # the other thread may be between its check and its report


def test_a_cancelled_task_stops_before_any_replication(recorded):
    project, path = recorded
    task = Watch()
    task.request_interruption()
    with Recording.open(path) as r, pytest.raises(Cancelled):
        fork_from_recording(project, r, 3600.0, H, replications=3, seed=4, task=task)
    assert task.values == [] and task.after == []
