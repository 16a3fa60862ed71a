"""Simulating design points: common random numbers, precision, responses, executors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from oracles.lines import exp, serial_line, station

from twin.errors import ProjectError
from twin.experiments.evaluate import evaluate, relative_halfwidth
from twin.experiments.spec import Factor
from twin.model import elements as m
from twin.projectfile.reader import project_from_json, with_scenario
from twin.sim.runner import RunSpec, run_project
from twin.sim.summary import replication_kpis
from twin.tasks import Cancelled, TaskState

H = 1800.0
CAP = Factor("b1", "capacity", 1, 8, integer=True, cost_per_unit=100.0)
MEAN = Factor("s2", "process_time.mean", 0.8, 1.2, cost_per_unit=-10.0)


def line() -> m.Project:
    doc = serial_line([station("s1", exp(1.0), power_kw={"busy": 4.0, "idle": 1.0}),
                       station("s2", exp(1.0), power_kw={"busy": 2.0})], [3])
    doc["tariff"] = {"price_per_kwh": 0.25}
    return project_from_json(doc)


POINTS = [{"b1.capacity": 2.0, "s2.process_time.mean": 0.9},
          {"b1.capacity": 7.0, "s2.process_time.mean": 1.1},
          {"b1.capacity": 2.0, "s2.process_time.mean": 0.9}]


def test_a_point_is_the_run_of_its_scenario_replication_by_replication(kernel):
    p = line()
    got = evaluate(p, [CAP, MEAN], POINTS[:2], 4, seed=5, horizon=H, executor="serial")
    for point, res in zip(POINTS[:2], got, strict=True):
        p.scenarios.append(m.Scenario("pt", (m.Override("capacity", int(point["b1.capacity"]),
                                                        "b1"),
                                             m.Override("process_time.mean",
                                                        point["s2.process_time.mean"], "s2"))))
        sr = run_project(with_scenario(p, "pt"), None,
                         RunSpec(horizon=H, replications=4, seed=5)).scenarios["base"]
        p.scenarios.clear()
        rows = [replication_kpis(sr, rep) for rep in sr.replications]
        for key in rows[0]:
            np.testing.assert_array_equal(res[key], [r[key] for r in rows], err_msg=key)


def test_common_random_numbers_same_streams_at_every_point(kernel):
    p = line()
    a = evaluate(p, [CAP, MEAN], POINTS, 5, seed=2, horizon=H, executor="threads")
    # the same point twice in a design: bit for bit the same replications
    for key in a[0]:
        np.testing.assert_array_equal(a[0][key], a[2][key])
    # a point's results do not depend on the other points beside it, or their order
    alone = evaluate(p, [CAP, MEAN], POINTS[1:2], 5, seed=2, horizon=H, executor="serial")
    np.testing.assert_array_equal(alone[0]["line.good_parts"], a[1]["line.good_parts"])
    # CRN: the points' throughputs move together replication by replication
    x, y = a[0]["line.throughput_per_hour"], a[1]["line.throughput_per_hour"]
    assert np.corrcoef(x, y)[0, 1] > 0.5
    other = evaluate(p, [CAP, MEAN], POINTS[:1], 5, seed=3, horizon=H, executor="serial")
    assert not np.array_equal(other[0]["line.good_parts"], a[0]["line.good_parts"])


def test_cost_budget_and_profit(kernel):
    p = line()
    res = evaluate(p, [CAP, MEAN], POINTS[:2], 3, seed=1, horizon=H, margin=2.5,
                   executor="serial")
    for point, r in zip(POINTS, res, strict=False):
        budget = 100.0 * point["b1.capacity"] - 10.0 * point["s2.process_time.mean"]
        assert np.all(r["budget"] == budget)
        energy = (r["elements.s1.energy_kwh"] + r["elements.s2.energy_kwh"]) * 0.25
        np.testing.assert_allclose(r["line.energy_cost"], energy, rtol=1e-9)
        np.testing.assert_allclose(r["cost"], energy + budget, rtol=1e-12)
        np.testing.assert_allclose(r["profit"], 2.5 * r["line.good_parts"] - r["cost"],
                                   rtol=1e-12)
    assert "profit" not in evaluate(p, [CAP], POINTS[:1], 1, 1, horizon=60.0)[0]


def test_replications_to_a_precision_stop_at_the_target_or_the_cap(kernel):
    p = line()
    cap, target = 30, 0.03
    seq = evaluate(p, [CAP, MEAN], POINTS[:2], cap, seed=4, horizon=H, precision=target,
                   executor="threads")
    fixed = evaluate(p, [CAP, MEAN], POINTS[:2], cap, seed=4, horizon=H, executor="threads")
    for s, f in zip(seq, fixed, strict=True):
        n = len(s["line.throughput_per_hour"])
        assert 3 <= n <= cap
        # sequential replications are the same replications as a fixed run's first n
        np.testing.assert_array_equal(s["line.good_parts"], f["line.good_parts"][:n])
        h = relative_halfwidth(s["line.throughput_per_hour"])
        assert h <= target or n == cap
    # a target that the cap cannot reach stops at the cap
    hard = evaluate(p, [CAP], POINTS[:1], 6, seed=4, horizon=H, precision=1e-4)
    assert len(hard[0]["line.throughput_per_hour"]) == 6
    # an easy one stops at the first three
    easy = evaluate(p, [CAP], POINTS[:1], 50, seed=4, horizon=H, precision=0.5)
    assert len(easy[0]["line.throughput_per_hour"]) == 3


def test_relative_halfwidth():
    x = np.array([10.0, 12.0, 11.0, 13.0])
    assert relative_halfwidth(x) == pytest.approx(3.182 * x.std(ddof=1) / 2 / 11.5)
    assert relative_halfwidth(np.array([5.0])) == math.inf
    assert relative_halfwidth(np.array([5.0, 5.0])) == 0.0


def test_a_bad_point_stops_before_anything_runs(kernel):
    with pytest.raises(ProjectError, match=r"design point 1 \(b1.capacity=-3") as info:
        evaluate(line(), [CAP], [{"b1.capacity": 2}, {"b1.capacity": -3}], 2, 1, horizon=H)
    assert "capacity" in str(info.value)


def test_finished_points_are_handed_over_and_a_cancel_stops(kernel):
    p = line()
    seen = []
    evaluate(p, [CAP], [{"b1.capacity": c} for c in (1, 2, 3)], 2, 1, horizon=H,
             on_point=lambda i, r: seen.append(i), executor="serial")
    assert sorted(seen) == [0, 1, 2]
    task = TaskState()
    stopped = []

    def stop(i, r):
        stopped.append(i)
        task.request_interruption()

    with pytest.raises(Cancelled):
        evaluate(p, [CAP], [{"b1.capacity": c} for c in (1, 2, 3)], 2, 1, horizon=H,
                 task=task, on_point=stop, executor="serial")
    assert stopped == [0]
    skipped = evaluate(p, [CAP], [{"b1.capacity": c} for c in (1, 2, 3)], 2, 1, horizon=H,
                       skip=[0, 2], executor="serial")
    assert skipped[0] is None and skipped[2] is None and skipped[1] is not None


def test_processes_give_the_same_numbers_as_threads(kernel):
    p = line()
    a = evaluate(p, [CAP, MEAN], POINTS[:2], 3, 8, horizon=H, executor="threads")
    b = evaluate(p, [CAP, MEAN], POINTS[:2], 3, 8, horizon=H, executor="processes")
    for x, y in zip(a, b, strict=True):
        for key in x:
            np.testing.assert_array_equal(x[key], y[key])


def test_a_project_error_crosses_a_process_boundary_whole():
    import pickle

    from twin.errors import Problem
    from twin.sim.lowering import RunawayError

    e = ProjectError([Problem("$.elements[1].capacity", "must be >= 0", -3)], "design point 4")
    back = pickle.loads(pickle.dumps(e))
    assert str(back) == str(e) and back.problems == e.problems and back.file == e.file
    r = RunawayError("$.elements[2]", "keeps firing at 0 s", "m1", 12.5)
    back = pickle.loads(pickle.dumps(r))
    assert isinstance(back, RunawayError) and (back.element, back.time) == ("m1", 12.5)
    assert str(back) == str(r)


def test_in_other_processes_a_bad_point_is_named_by_the_worker_that_reads_it(kernel):
    seen = []
    with pytest.raises(ProjectError, match=r"design point 1 \(b1.capacity=-3") as info:
        evaluate(line(), [CAP], [{"b1.capacity": 2}, {"b1.capacity": -3}], 2, 1, horizon=H,
                 executor="processes", on_point=lambda i, r: seen.append(i))
    assert info.value.problems and "capacity" in info.value.problems[0].path


def test_points_run_without_a_state_log_and_return_only_kpis(kernel):
    from kernels import types as kt
    from twin.experiments.evaluate import PointJob, PointModel, base_document, run_point

    p = line()
    model = PointModel(base_document(p), (CAP,), {"b1.capacity": 4.0}, "design point 0",
                       H, 0.0, 0.0)
    lowered, tariff = model.make()
    assert lowered.arrays.params[kt.P_LOG] == 0  # no state log, whatever the study's size
    out = run_point(PointJob(None, None, 1, (0, 1), 0.0, None, model))
    assert all(isinstance(v, np.ndarray) and v.shape == (2,) and v.dtype == float
               for v in out.values())
