"""Workers in playback (issue 18): where each worker is, in which state, from the worker
rows of the run's state log, on a tiny deterministic line; and the figures the 3D view
draws when the user moves the playback slider.

The line: M1 at (0, 0) processes 7 s parts and fails after every 100 s of operation; its
repair (20 s) needs the one technician, at home at the buffer B at (6, 8), 10 m away,
walking at 2 m/s. So: idle at B until 100 s, walking 100-105 s, repairing 105-125 s, then
idle at M1; the next failure is at 225 s, with no walk (it is at M1 already), repaired
225-245 s.
"""

from __future__ import annotations

import numpy as np
import pytest

from app.playback import Playback
from twin.projectfile.reader import project_from_json
from twin.sim.runner import RunSpec, run_project


def _const(v):
    return {"dist": "constant", "value": v}


def line() -> dict:
    return {"schema_version": 1, "name": "repair walk", "elements": [
        {"id": "src", "kind": "source", "position": [-5, 0, 0]},
        {"id": "M1", "kind": "station", "position": [0, 0, 0], "process_time": _const(7.0),
         "failures": {"basis": "operating", "time_to_failure": _const(100.0),
                      "time_to_repair": _const(20.0)},
         "workers": {"repair": {"pool": "tech"}}},
        {"id": "B", "kind": "buffer", "position": [6, 8, 0], "capacity": 1000},
        {"id": "sink", "kind": "sink", "position": [12, 8, 0]}],
        "connections": [["src", "M1"], ["M1", "B"], ["B", "sink"]],
        "workers": [{"id": "tech", "count": 1, "speed": 2.0, "home": "B"}],
        "run": {"horizon": 1000, "warmup": 0, "replications": 2, "seed": 1}}


@pytest.fixture(scope="module")
def played(kernel):
    res = run_project(project_from_json(line()),
                      spec=RunSpec(horizon=300.0, replications=1, seed=1, log=True))
    return res, Playback(res.scenarios["base"], 0)


@pytest.mark.parametrize("t, state, where", [
    (50.0, "idle", (6.0, 8.0, 0.0)),  # at home
    (100.0, "walking", (6.0, 8.0, 0.0)),  # sets off when M1 fails
    (102.5, "walking", (3.0, 4.0, 0.0)),  # half way: 5 m of 10 at 2 m/s
    (104.0, "walking", (1.2, 1.6, 0.0)),
    (110.0, "busy", (0.0, 0.0, 0.0)),  # repairing at M1
    (130.0, "idle", (0.0, 0.0, 0.0)),  # stays where its task was
    (230.0, "busy", (0.0, 0.0, 0.0)),  # the second repair, no walk
    (250.0, "idle", (0.0, 0.0, 0.0)),
])
def test_the_technician_walks_from_home_repairs_and_waits_where_it_worked(played, t, state,
                                                                         where):
    _, pb = played
    assert len(pb.workers) == 1
    (pool, st, p), = pb.workers.at(t)
    assert (pool, st) == (0, state)
    np.testing.assert_allclose(p, where, atol=1e-9)


def test_the_walk_and_the_busy_time_match_the_pools_kpis(played):
    res, _ = played
    kpis = res.summary()["base"]["workers"]["tech"]
    assert kpis["tasks"]["mean"] == 2.0
    assert kpis["mean_walk_s"]["mean"] == pytest.approx(2.5)  # one walk of 5 s in two tasks
    assert kpis["busy_fraction"]["mean"] == pytest.approx(40.0 / 300.0)


def test_a_line_without_workers_has_no_worker_rows(kernel):
    doc = line()
    del doc["workers"]
    del doc["elements"][1]["workers"]
    res = run_project(project_from_json(doc),
                      spec=RunSpec(horizon=300.0, replications=1, seed=1, log=True))
    log = res.scenarios["base"].replications[0].log
    assert (log["element"] >= 0).all()
    assert len(Playback(res.scenarios["base"], 0).workers) == 0


@pytest.mark.gui
def test_moving_the_slider_draws_the_technician_where_it_is(make_window, qtbot, warm_kernel):
    from app.theme import WORKER_COLORS

    w = make_window(project_from_json(line()))  # 1000 s: the slider's step is 1 s
    with qtbot.waitSignal(w.run_panel.run_finished, timeout=120_000):
        assert w.run_panel.start_run()
    d = w.dashboards
    d.finish_drawing()
    figures = w.view.worker_figures
    d.slider.setValue(102)  # t = 102 s: walking, 4 m of the 10 m from B to M1
    assert figures.states == ["walking"] and figures.actor.GetVisibility()
    # drawn in front of its place (figures stand beside an element, not in it)
    np.testing.assert_allclose(figures.xyz[0], [3.6, 4.8 - 0.9, 0.0])
    colors = figures.poly.GetPointData().GetScalars()
    assert colors.GetTuple3(0) == tuple(float(int(255 * c)) for c in WORKER_COLORS["walking"])
    d.slider.setValue(110)
    assert figures.states == ["busy"]
    np.testing.assert_allclose(figures.xyz[0], [0.0, -0.9, 0.0])
    w.view.render_now()
    w.set_colour_mode("plain")  # leaving playback takes the figures away
    assert not figures.actor.GetVisibility()
