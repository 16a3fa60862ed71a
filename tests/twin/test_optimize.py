"""Optimisation plus selection finds the true optimum of models whose optimum is known
exactly: an M/M/c cost model (Erlang C) and the buffer split of a three-machine line (the
exact Markov chain of ``oracles.markov``), in every one of n seeded trials.

The statistical claim: if the procedure found the optimum with probability p, all of n
independent seeded trials would succeed with probability p**n. The quick variant runs
n = 10 (all correct rejects p <= 0.74 at the 5% level); the slow variant runs n = 59, where
all correct rejects p < 0.95 at the 5% level (0.95**59 = 0.048): the one-sided 95%
Clopper-Pearson lower bound of the success rate is then 0.95.

Each trial is what a user would run: a search that simulates fewer points than the space
holds (6 of 12 server counts; 12 of the 15 splits within the budget), the best few
re-simulated, and the selection's indifference zone half the true gap between the best and
the runner-up (the selection guarantees 95% whenever the gap is at least the zone; the
search must also have put the optimum among the candidates).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from oracles import lines
from oracles.markov import Machine, solve_line

from twin.experiments.evaluate import evaluate
from twin.experiments.optimize import (
    OptimizationError,
    Settings,
    optimize,
    optimum_command,
    selection_seed,
)
from twin.experiments.spec import Constraint, Experiment, Factor, Objective
from twin.projectfile.reader import project_from_json, with_scenario

QUICK, FULL = 10, 59


# --- M/M/c: servers cost against the queue's waiting cost -------------------------------------
LAM, MU = 1.0, 0.25  # arrivals per second, service rate per server
SERVER_COST, WAIT_COST = 1.0, 4.0  # per server, per waiting part (time average)


def lq(c: int) -> float:
    """Mean number waiting in M/M/c (Erlang C)."""
    a = LAM / MU
    rho = a / c
    head = sum(a**n / math.factorial(n) for n in range(c))
    tail = a**c / math.factorial(c) / (1 - rho)
    return tail / (head + tail) * rho / (1 - rho)


def mmc_best() -> tuple[int, float]:
    costs = {c: SERVER_COST * c + WAIT_COST * lq(c) for c in range(5, 17)}
    best = min(costs, key=costs.get)
    gap = min(v for c, v in costs.items() if c != best) - costs[best]
    return best, gap


def mmc_project():
    doc = {"schema_version": 1, "name": "M/M/c", "elements": [
        {"id": "src", "kind": "source", "arrival": lines.exp(1 / LAM)},
        {"id": "q", "kind": "buffer", "capacity": None},
        {"id": "s", "kind": "station", "servers": 5, "process_time": lines.exp(1 / MU)},
        {"id": "sink", "kind": "sink"}],
        "connections": [["src", "q"], ["q", "s"], ["s", "sink"]],
        "run": {"horizon": 3000, "warmup": 300}}
    return project_from_json(doc)


def with_waiting_cost(project, factors, points, replications, seed, **kw):
    """The real ``evaluate``, plus ``total_cost`` = ``cost`` (the servers' price) + the
    waiting cost of the queue's time-average content, per replication."""
    out = evaluate(project, factors, points, replications, seed, **kw)
    for r in out:
        r["total_cost"] = r["cost"] + WAIT_COST * r["elements.q.mean_content"]
    return out


def mmc_experiment(seed: int) -> Experiment:
    return Experiment("servers", (Factor("s", "servers", 5, 16, integer=True,
                                         cost_per_unit=SERVER_COST),),
                      responses=("total_cost",), replications=5, seed=seed,
                      objectives=(Objective("total_cost", "min"),), trials=6)


def test_the_mmc_optimum_is_clear():
    best, gap = mmc_best()
    assert best == 7 and gap > 0.5  # c = 7 costs 7.72; c = 8 costs 8.24, c = 6 8.28


def mmc_trial(seed: int):
    res = optimize(mmc_project(), mmc_experiment(seed), evaluate=with_waiting_cost,
                   settings=Settings(batch=4, candidates=3, delta=0.25))
    return res


def test_mmc_one_run_reports_the_optimum_with_its_guarantee():
    res = mmc_trial(1)
    # 6 points searched, then at most max(2 d, trials / 2) = 3 more around the best
    assert res.sampler == "TPE" and 6 <= res.simulated_points <= 9
    assert res.best == {"s.servers": 7.0}
    sel = res.selection
    assert sel is not None and sel.delta == 0.25 and not sel.capped
    assert "95% confidence" in sel.statement()
    # the selection's means estimate the exact costs of its candidates
    for cand in res.candidates:
        c = int(cand.point["s.servers"])
        st = cand.stats["total_cost"]
        exact = SERVER_COST * c + WAIT_COST * lq(c)
        assert abs(st["mean"] - exact) < max(4 * st["ci95_halfwidth"], 0.05), (c, st, exact)
    assert res.to_dict()["selection"]["best"] == sel.best


def test_a_point_asked_twice_is_simulated_once():
    searched = []

    def counting(project, factors, points, replications, seed, **kw):
        if seed == 1:  # the search's seed (the selection runs with another)
            searched.extend(p["s.servers"] for p in points)
        return with_waiting_cost(project, factors, points, replications, seed, **kw)

    exp = mmc_experiment(1)
    res = optimize(mmc_project(), dataclasses.replace(exp, trials=9),
                   evaluate=counting, settings=Settings(batch=4, candidates=3, delta=0.25))
    assert len(searched) == len(set(searched)) == res.simulated_points >= 9
    assert len(res.trials) >= res.simulated_points
    assert len({t.number for t in res.trials}) == len(res.trials)  # all Optuna trials


def test_the_neighbourhood_of_the_best_holds_steps_and_trades():
    from twin.experiments.optimize import neighbours

    factors = (Factor("b1", "capacity", 1, 5, integer=True),
               Factor("b2", "capacity", 1, 5, integer=True),
               Factor("m", "servers", levels=(1, 2, 4)), Factor("m", "speed", 0.5, 2.0))
    got = neighbours(factors, {"b1.capacity": 5.0, "b2.capacity": 2.0, "m.servers": 2.0,
                               "m.speed": 1.0})
    pts = {(p["b1.capacity"], p["b2.capacity"], p["m.servers"]) for p in got}
    assert all(p["m.speed"] == 1.0 for p in got)
    # b1 is at its top (5): no step up, nor a trade that raises it
    assert pts == {(4, 2, 2), (5, 1, 2), (5, 3, 2), (5, 2, 1), (5, 2, 4),  # one step
                   (4, 3, 2), (5, 3, 1), (4, 2, 4), (5, 1, 4)}  # up in one, down in another
    assert len(got) == len(pts)


@pytest.mark.parametrize("n", [QUICK, pytest.param(FULL, marks=pytest.mark.slow)])
def test_mmc_optimum_found_in_every_seeded_trial(n):
    best, _ = mmc_best()
    found = [mmc_trial(1000 + i).best for i in range(n)]
    wrong = [(i, f) for i, f in enumerate(found) if f != {"s.servers": float(best)}]
    assert not wrong, wrong


# --- the buffer split of a three-machine line ----------------------------------------------------
MEANS = (1.0, 1.0, 0.7)
PLACES = 6  # buffer places to share, each buffer at least 1


def split_best() -> tuple[tuple[int, int], float]:
    """The best feasible split by the exact chain (throughput grows with every place, so
    the budget is spent; the others are checked anyway)."""
    tp = {(b1, b2): solve_line([Machine(m) for m in MEANS], [b1, b2]).throughput
          for b1 in range(1, PLACES) for b2 in range(1, PLACES) if b1 + b2 <= PLACES}
    best = max(tp, key=tp.get)
    return best, tp[best] - max(v for k, v in tp.items() if k != best)


def line_project():
    doc = lines.serial_line([lines.station(f"m{i + 1}", lines.exp(m))
                             for i, m in enumerate(MEANS)], [1, 1], name="split",
                            run={"horizon": 3000, "warmup": 200})
    return project_from_json(doc)


def split_experiment(seed: int) -> Experiment:
    factors = tuple(Factor(b, "capacity", 1, PLACES - 1, integer=True, cost_per_unit=1.0)
                    for b in ("b1", "b2"))
    return Experiment("split", factors, responses=("line.throughput_per_hour",),
                      replications=5, seed=seed,
                      objectives=(Objective("line.throughput_per_hour", "max"),),
                      constraints=(Constraint("budget", max=PLACES),), trials=12)


def test_the_split_optimum_is_clear():
    best, gap = split_best()
    assert best == (4, 2) and gap * 3600 > 30  # parts per hour ahead of the next split


def split_trial(seed: int):
    _, gap = split_best()
    return optimize(line_project(), split_experiment(seed),
                    settings=Settings(batch=4, candidates=5, delta=gap / 2 * 3600))


def test_split_one_run_respects_the_budget_without_simulating_over_it():
    res = split_trial(2)
    assert res.best == {"b1.capacity": 4.0, "b2.capacity": 2.0}
    over = [t for t in res.trials if t.point["b1.capacity"] + t.point["b2.capacity"] > PLACES]
    assert all(not t.simulated and not t.feasible for t in over)
    assert all(c.point["b1.capacity"] + c.point["b2.capacity"] <= PLACES
               for c in res.candidates)


@pytest.mark.parametrize("n", [QUICK, pytest.param(FULL, marks=pytest.mark.slow)])
def test_split_optimum_found_in_every_seeded_trial(n):
    best, _ = split_best()
    found = [split_trial(2000 + i).best for i in range(n)]
    want = {"b1.capacity": float(best[0]), "b2.capacity": float(best[1])}
    wrong = [(i, f) for i, f in enumerate(found) if f != want]
    assert not wrong, wrong


# --- the rest ---------------------------------------------------------------------------------
def test_same_seed_same_result():
    a = split_trial(7).to_dict()
    b = split_trial(7).to_dict()
    assert a == b
    assert selection_seed(7) != 7 and selection_seed(7) == selection_seed(7)


def test_several_objectives_give_a_pareto_front_with_intervals():
    exp = Experiment("two", split_experiment(3).factors, responses=("line.throughput_per_hour",),
                     replications=3, seed=3, trials=12,
                     objectives=(Objective("line.throughput_per_hour", "max"),
                                 Objective("budget", "min")))
    res = optimize(line_project(), exp, settings=Settings(batch=4))
    assert res.sampler == "NSGA-II" and res.selection is None and res.best is None
    assert res.candidates
    pts = [(c.stats["line.throughput_per_hour"]["mean"], c.stats["budget"]["mean"])
           for c in res.candidates]
    # no point of the front is dominated by another (re-simulated, so allow the noise)
    for i, (t1, b1) in enumerate(pts):
        for j, (t2, b2) in enumerate(pts):
            if i != j and b2 <= b1:
                assert t2 < t1 + 30 or b2 == b1


def test_the_optimum_becomes_a_scenario():
    project = line_project()
    exp = split_experiment(1)
    cmd = optimum_command(project, exp.factors, {"b1.capacity": 2.0, "b2.capacity": 3.0},
                          "best split", "optimised")
    cmd.do(project)
    variant = with_scenario(project, "best split")
    assert variant.element("b1").capacity == 2 and variant.element("b2").capacity == 3
    with pytest.raises(OptimizationError, match="exists already"):
        optimum_command(project, exp.factors, {"b1.capacity": 1.0, "b2.capacity": 1.0},
                        "best split")


@pytest.mark.parametrize("change, words", [
    ({"objectives": ()}, "no objectives"),
    ({"factors": (Factor("b1", "capacity", 3, 2),)}, "low <= high"),
    ({"factors": (Factor("b1", "capacity", 1.2, 1.8, integer=True),)}, "no whole number"),
])
def test_bad_experiments_say_what_is_wrong(change, words):
    exp = split_experiment(1)
    args = {"name": exp.name, "factors": exp.factors, "responses": exp.responses,
            "objectives": exp.objectives, **change}
    with pytest.raises(OptimizationError, match=words):
        optimize(line_project(), Experiment(**args))


def test_an_unknown_response_is_named():
    exp = Experiment("x", split_experiment(1).factors, objectives=(Objective("nope", "max"),),
                     trials=2)
    with pytest.raises(OptimizationError, match="nope"):
        optimize(line_project(), exp)


def test_infeasible_everywhere_says_so():
    exp = Experiment("x", split_experiment(1).factors, replications=2, trials=4,
                     objectives=(Objective("line.throughput_per_hour", "max"),),
                     constraints=(Constraint("line.throughput_per_hour", min=1e6),))
    res = optimize(line_project(), exp)
    assert res.best is None and "no feasible point" in res.notes[0]
    assert np.all([not t.feasible for t in res.trials])


def test_progress_rises_to_100_and_cancel_stops_the_search():
    from twin.tasks import Cancelled, TaskState

    seen: list[float] = []
    optimize(line_project(), dataclasses.replace(split_experiment(4), trials=4),
             task=TaskState(seen.append), settings=Settings(delta=30.0))
    assert seen and seen[-1] == 100.0 and seen == sorted(seen)
    task = TaskState()
    task.request_interruption()
    with pytest.raises(Cancelled):
        optimize(line_project(), split_experiment(4), task=task)
