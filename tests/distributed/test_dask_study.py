"""Studies on a real Dask cluster: results identical to a local run, a worker killed in the
middle has its runs re-done elsewhere, workers without twinbench are named."""

from __future__ import annotations

import sys

import cloudpickle
import numpy as np
import pytest
from oracles.lines import exp, operating_failures, serial_line, station

from twin.experiments.study import run_study
from twin.projectfile.reader import project_from_json
from twin.sim.executors import DaskExecutor, ExecutorError

EXPERIMENT = {
    "name": "buffers", "design": "latin_hypercube", "points": 16, "seed": 3,
    "factors": [{"element": "b1", "path": "capacity", "low": 1, "high": 12, "integer": True,
                 "cost_per_unit": 3},
                {"element": "m2", "path": "process_time.mean", "low": 0.8, "high": 1.2}],
    "responses": ["line.throughput_per_hour", "profit"], "margin_per_good_part": 0.2,
    "replications": 4, "horizon": "3h"}


def project():
    fail = operating_failures(exp(60.0), exp(6.0))
    doc = serial_line([station("m1", exp(1.0), failures=fail),
                       station("m2", exp(1.0), failures=fail)], [4], name="dask line")
    doc["experiments"] = [EXPERIMENT]
    return project_from_json(doc)


def rescheduled(dask_scheduler) -> list[str]:
    """Run on the scheduler: keys of jobs taken off a worker that left while running them."""
    return sorted({row[0] for row in dask_scheduler.transition_log
                   if row[1] == "processing" and row[2] in ("released", "waiting")
                   and "worker" in str(row[4]) and "twinbench-run_point" in str(row[0])})


def same(a, b):
    assert a.points == b.points
    np.testing.assert_array_equal(a.replications, b.replications)
    for name in a.names:
        np.testing.assert_array_equal(a.values[name], b.values[name], err_msg=name)


def test_a_study_on_dask_survives_a_killed_worker_with_the_local_results(
        dask_cluster, tmp_path, kernel):
    p = project()
    local = run_study(p, "buffers", executor="threads")
    dask_cluster.start_worker("w1")
    dask_cluster.start_worker("w2")
    killed = []

    with DaskExecutor(dask_cluster.address, timeout=30) as ex:
        ex.check_workers()
        assert ex.workers == 2

        def kill_one(i, responses):
            if not killed:  # points are running on both workers now: kill one of them
                dask_cluster.kill("w2")
                killed.append(i)

        remote = run_study(p, "buffers", executor=ex, out=tmp_path / "s.h5",
                           on_point=kill_one)
        assert killed and remote.finished
        assert dask_cluster.workers["w2"].poll() is not None  # it really died
        assert ex.workers == 1  # the scheduler knows; its runs went to w1
        cloudpickle.register_pickle_by_value(sys.modules[__name__])
        try:  # w2 died mid-run: what it was running was done again on w1
            assert ex.client.run_on_scheduler(rescheduled)
        finally:
            cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    same(local, remote)


def test_workers_without_twinbench_are_named(dask_cluster, tmp_path, kernel):
    fake = tmp_path / "site"
    (fake / "twin").mkdir(parents=True)
    (fake / "twin" / "__init__.py").write_text(
        "raise ImportError('twinbench is not installed here')\n")
    dask_cluster.start_worker("bare", env={"PYTHONPATH": str(fake)})
    with DaskExecutor(dask_cluster.address, timeout=30) as ex, \
            pytest.raises(ExecutorError, match=r"Dask worker .* cannot run twinbench jobs "
                          r"\(.*twinbench is not installed here.*install twinbench"):
        run_study(project(), "buffers", executor=ex)


def test_an_unreachable_scheduler_is_a_clear_error(kernel):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ex = DaskExecutor(f"tcp://127.0.0.1:{port}", timeout=2)
    with pytest.raises(ExecutorError, match=f"cannot reach the Dask scheduler at "
                       f"tcp://127.0.0.1:{port}.*dask scheduler"):
        run_study(project(), "buffers", executor=ex)
    ex.close()


def test_the_command_on_a_local_cluster_gives_the_local_numbers(tmp_path, make_project,
                                                                  kernel, capsys):
    import json

    from app.cli import main as twinbench

    doc = project_to_json_with_small_experiment()
    folder = make_project(doc)
    assert twinbench(["study", str(folder), "buffers", "--json", "--quiet",
                      "--workers", "2"]) == 0
    pool = json.loads(capsys.readouterr().out)
    assert twinbench(["study", str(folder), "buffers", "--json", "--quiet",
                      "--dask", "local", "--workers", "1"]) == 0
    dask = json.loads(capsys.readouterr().out)
    assert dask["points"] == pool["points"] and len(dask["points"]) == 4


def project_to_json_with_small_experiment() -> dict:
    from twin.projectfile.reader import project_to_json

    doc = project_to_json(project())
    doc["experiments"][0].update(points=4, replications=2, horizon=1800.0)
    return doc
