"""Workers walking in playback (issue 18 §5): the worker rows of a playback re-run, and each
worker's position on its walk, as an exact trace on a tiny deterministic line."""

from __future__ import annotations

import numpy as np
import pytest

from kernels import types as kt
from twin.projectfile.reader import project_from_json
from twin.sim.lowering import lower
from twin.sim.walks import WorkerWalks, worker_rows


def two_manual_stations(home="M1") -> dict:
    """One part at t=0 through M1 (at x=0) then M2 (at x=6), 10 s each, both run by the one
    operator of pool 'ops' (1 m/s, at home at ``home``)."""
    st = {"kind": "station", "process_time": 10, "workers": {"process": {"pool": "ops"}}}
    pool = {"id": "ops", "count": 1, "speed": 1.0}
    if home:
        pool["home"] = home
    return {"schema_version": 1, "name": "walks", "workers": [pool], "elements": [
        {"id": "src", "kind": "source", "schedule": [[0, "part", 1]], "position": [-3, 0, 0]},
        {"id": "M1", **st, "position": [0, 0, 0]},
        {"id": "M2", **st, "position": [6, 0, 0]},
        {"id": "out", "kind": "sink", "position": [9, 0, 0]}],
        "connections": [["src", "M1"], ["M1", "M2"], ["M2", "out"]]}


def test_worker_rows_trace_the_operators_tasks(kernel):
    low = lower(project_from_json(two_manual_stations()), 40.0, log=True)
    rows = worker_rows(low, seed=1)
    # assigned at M1 (its home: a walk of 0 s), busy at once; released at 10 (idle a
    # moment at M1), it walks to M2 (6 m at 1 m/s: 10-16), works there 16-26, idles there
    trace = [(float(r["time"]), int(r["state"]), int(r["element"])) for r in rows]
    assert trace == [(0.0, kt.WS_WALKING, 1), (0.0, kt.WS_BUSY, 1), (10.0, kt.WS_IDLE, 1),
                     (10.0, kt.WS_WALKING, 2), (16.0, kt.WS_BUSY, 2), (26.0, kt.WS_IDLE, 2)]
    assert set(rows["server"].tolist()) == {-2}  # worker 0
    # the run's own log (P_LOG = 1) has no worker rows: other readers of it see none
    from twin.sim.runner import run_replication
    assert (run_replication(low, 1, 0).log["server"] >= -1).all()


@pytest.mark.parametrize("t, state, x", [
    (5.0, "busy", 0.0), (10.0, "walking", 0.0), (13.0, "walking", 3.0),
    (14.5, "walking", 4.5), (16.0, "busy", 6.0), (30.0, "idle", 6.0)])
def test_worker_positions_along_its_walk(kernel, t, state, x):
    low = lower(project_from_json(two_manual_stations()), 40.0, log=True)
    walks = WorkerWalks(low, worker_rows(low, seed=1))
    w = walks.at(t)["ops 1"]
    assert (w.pool, w.state) == ("ops", state)
    assert (w.x, w.y, w.z) == pytest.approx((x, 0.0, 0.0))


def test_a_pool_without_a_home_appears_at_its_first_task(kernel):
    low = lower(project_from_json(two_manual_stations(home=None)), 40.0, log=True)
    walks = WorkerWalks(low, worker_rows(low, seed=1))
    assert walks.at(-1.0) == {}  # before anything: nowhere
    assert walks.at(0.0)["ops 1"].x == 0.0 and walks.at(13.0)["ops 1"].x == pytest.approx(3.0)
    assert np.isclose(walks.at(20.0)["ops 1"].x, 6.0)
