"""Sensitivity: Sobol' indices of the Ishigami function through the same path a project's
response takes (an experiment, ``evaluate``'s signature, the mean over replications), Morris
ranking and the tornado's shape. A simulated response: tests/app/test_cli_optimize.py."""

from __future__ import annotations

import math

import numpy as np
import pytest

from twin.experiments.sensitivity import (
    SensitivityError,
    morris_screening,
    points_of,
    salib_problem,
    sensitivity,
)
from twin.experiments.spec import Experiment, Factor

A, B = 7.0, 0.1
PI = math.pi


def ishigami_exact() -> dict[str, tuple[float, float]]:
    """Closed-form (S1, ST) of the Ishigami function (Sobol' and Levitan 1999)."""
    v1 = B * PI**4 / 5 + B**2 * PI**8 / 50 + 0.5
    v2 = A**2 / 8
    v13 = B**2 * PI**8 * (1 / 18 - 1 / 50)
    var = v1 + v2 + v13
    return {"f.x1": (v1 / var, (v1 + v13) / var), "f.x2": (v2 / var, v2 / var),
            "f.x3": (0.0, v13 / var)}


def ishigami_evaluate(project, factors, points, replications, seed, **kwargs):
    """``evaluate``'s signature: per point, the response's values per replication (here the
    Ishigami function, the same for every replication)."""
    out = []
    for p in points:
        x1, x2, x3 = (p[f"f.x{i}"] for i in (1, 2, 3))
        y = math.sin(x1) + A * math.sin(x2) ** 2 + B * x3**4 * math.sin(x1)
        out.append({"y": np.full(replications, y)})
    return out


def ishigami_experiment(**kw) -> Experiment:
    factors = tuple(Factor("f", f"x{i}", -PI, PI) for i in (1, 2, 3))
    return Experiment("ishigami", factors, responses=("y",), replications=2, seed=11, **kw)


def test_sobol_indices_of_ishigami_match_the_closed_form_within_their_intervals():
    res = sensitivity(None, ishigami_experiment(), method="sobol", samples=2048,
                      evaluate=ishigami_evaluate)
    assert res.runs == 2048 * 5
    exact = ishigami_exact()
    for name, row in zip(res.factors, res.rows, strict=True):
        s1, st = exact[name]
        # the bootstrap interval covers the exact value, and is narrow enough to mean it
        assert abs(row["S1"] - s1) <= row["S1_conf"], (name, row, s1)
        assert abs(row["ST"] - st) <= row["ST_conf"], (name, row, st)
        assert row["S1_conf"] < 0.06 and row["ST_conf"] < 0.06
    bars = res.tornado()
    assert [b["factor"] for b in bars] == ["f.x1", "f.x2", "f.x3"]  # ST 0.56, 0.44, 0.24
    assert all(b["low"] < b["value"] < b["high"] for b in bars)
    doc = res.to_dict()
    assert doc["measure"] == "ST" and set(doc["indices"]) == {"f.x1", "f.x2", "f.x3"}


def test_morris_ranks_an_inert_factor_last():
    factors = (Factor("f", "a", 0.0, 1.0), Factor("f", "b", 0.0, 1.0),
               Factor("f", "c", 0.0, 1.0))

    def response(points):  # a strong, a weak and an inert factor
        return np.array([10 * p["f.a"] + p["f.b"] ** 2 for p in points])

    res = morris_screening(factors, response, trajectories=30, seed=3)
    mu = {n: r["mu_star"] for n, r in zip(res.factors, res.rows, strict=True)}
    assert mu["f.a"] == pytest.approx(10.0, rel=1e-9)  # linear: every effect is 10
    assert 0 < mu["f.b"] < 2 and mu["f.c"] == 0.0
    assert [b["factor"] for b in res.tornado()] == ["f.a", "f.b", "f.c"]


def test_levels_and_integers_map_to_their_values():
    factors = (Factor("b", "capacity", 1, 4, integer=True),
               Factor("m", "servers", levels=(1.0, 2.0, 5.0)))
    problem = salib_problem(factors)
    assert problem["bounds"] == [[0.5, 4.5], [0.0, 3.0]]  # each whole number equally likely
    pts = points_of(factors, np.array([[0.5, 0.2], [1.4, 1.5], [3.6, 2.99], [4.5, 3.0]]))
    assert pts == [{"b.capacity": 1.0, "m.servers": 1.0}, {"b.capacity": 1.0, "m.servers": 2.0},
                   {"b.capacity": 4.0, "m.servers": 5.0}, {"b.capacity": 4.0, "m.servers": 5.0}]


def test_bad_requests_say_what_to_change():
    with pytest.raises(SensitivityError, match="power of two"):
        sensitivity(None, ishigami_experiment(), samples=100, evaluate=ishigami_evaluate)
    with pytest.raises(SensitivityError, match="unknown sensitivity method"):
        sensitivity(None, ishigami_experiment(), method="fast", evaluate=ishigami_evaluate)
    with pytest.raises(SensitivityError, match="no response 'z'"):
        sensitivity(None, ishigami_experiment(), response="z", samples=8,
                    evaluate=ishigami_evaluate)
    one = Experiment("one", (Factor("f", "x1", 0, 1),), responses=("y",))
    with pytest.raises(SensitivityError, match="at least 2 factors"):
        sensitivity(None, one, evaluate=ishigami_evaluate)

    def nan_evaluate(project, factors, points, replications, seed, **kw):
        return [{"y": np.full(replications, math.nan)} for _ in points]

    with pytest.raises(SensitivityError, match="not finite"):
        sensitivity(None, ishigami_experiment(), samples=8, evaluate=nan_evaluate)


def test_a_project_response_runs_at_the_experiments_horizon_and_is_checked_first(kernel):
    from oracles import lines

    from twin.experiments.evaluate import evaluate
    from twin.projectfile.reader import project_from_json

    doc = lines.serial_line([lines.station(f"m{i}", lines.exp(1.0)) for i in (1, 2, 3)],
                            [2, 2], run={"horizon": 1_000_000})
    project = project_from_json(doc)
    factors = tuple(Factor(b, "capacity", 1, 6, integer=True) for b in ("b1", "b2"))
    exp = Experiment("buffers", factors, responses=("line.wip",), replications=2, seed=5,
                     horizon=500.0, warmup=50.0, margin=0.5)
    calls = []

    def recording(*args, **kw):
        calls.append(kw)
        return evaluate(*args, **kw)

    res = sensitivity(project, exp, method="morris", samples=2, evaluate=recording)
    assert calls and all(c["horizon"] == 500.0 and c["warmup"] == 50.0 and c["margin"] == 0.5
                         for c in calls)
    assert res.runs == 2 * 3 and all(r["mu_star"] > 0 for r in res.rows)  # WIP grows with both
    calls.clear()
    with pytest.raises(SensitivityError, match="did you mean line.wip"):
        sensitivity(project, exp, response="line.wipp", evaluate=recording)
    with pytest.raises(SensitivityError, match="no margin per good part"):
        sensitivity(project, Experiment("x", factors, margin=None), response="profit",
                    evaluate=recording)
    assert not calls  # refused before anything ran
