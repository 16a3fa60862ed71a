"""Determinism and common random numbers.

A seed fixes a run bit for bit: across runs, worker counts, the number of replications and
the scenarios run beside it. Streams belong to (element id, purpose), so scenarios run with
one seed share their random numbers element by element, and the paired difference between
two scenarios is measured far more precisely than with independent seeds.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest
from oracles import markov
from oracles.intervals import t_interval
from oracles.lines import RICH, kernel_trace, two_machine_line
from scipy import stats

from kernels import types as kt
from twin.projectfile.reader import project_from_json
from twin.sim.runner import RunSpec, run_project

FIELDS = ("el_out", "st_time", "line_out", "ts_line", "ts_energy", "ts_wear", "ts_content",
          "log")


def assert_identical(a, b):
    assert len(a.replications) == len(b.replications)
    for r, (ra, rb) in enumerate(zip(a.replications, b.replications, strict=True)):
        for name in FIELDS:
            x, y = getattr(ra, name), getattr(rb, name)
            assert (x is None and y is None) or np.array_equal(x, y), (r, name)


def run(doc, scenarios=None, workers=None, **spec):
    spec = {"horizon": 3600.0, "replications": 4, "seed": 1, "sample_interval": 60.0,
            "log": True, **spec}
    return run_project(project_from_json(doc), scenarios, RunSpec(**spec), workers=workers)


def test_same_seed_same_results_bit_for_bit(kernel):
    a = run(RICH, workers=1).scenarios["base"]
    assert_identical(a, run(RICH, workers=1).scenarios["base"])
    # threads: each replication has its own state; the result cannot depend on scheduling
    assert_identical(a, run(RICH, workers=2).scenarios["base"])
    assert_identical(a, run(RICH, workers=4).scenarios["base"])


def test_replications_do_not_depend_on_what_runs_beside_them(kernel):
    doc = copy.deepcopy(RICH)
    doc["scenarios"] = [{"name": "slow m3", "overrides": [
        {"element": "m3", "path": "process_time", "value": 1.3}]}]
    both = run(doc, ["base", "slow m3"], replications=3)
    alone = run(doc, ["base"], replications=3)
    assert_identical(both.scenarios["base"], alone.scenarios["base"])
    # replication 1 of a 3-replication run is replication 1 of a 2-replication run
    two = run(doc, replications=2).scenarios["base"]
    for name in FIELDS:
        assert np.array_equal(getattr(two.replications[1], name),
                              getattr(alone.scenarios["base"].replications[1], name))


def test_different_seeds_and_replications_differ(kernel):
    a = run(RICH, seed=1).scenarios["base"]
    b = run(RICH, seed=2).scenarios["base"]
    for ra, rb in zip(a.replications, b.replications, strict=True):
        assert not np.array_equal(ra.log, rb.log)
        assert ra.line_out[kt.L_LEAD_SUM] != rb.line_out[kt.L_LEAD_SUM]
    leads = {r.line_out[kt.L_LEAD_SUM] for r in a.replications}
    assert len(leads) == len(a.replications)


def test_streams_follow_element_ids_not_positions(kernel):
    # the same line with an unrelated second line added (listed first, so every index moves)
    line = two_machine_line(1.0, 1.1, 3, 50.0, 5.0)
    other = copy.deepcopy(line)
    other["elements"][:0] = [{"id": "src9", "kind": "source"},
                             {"id": "m9", "kind": "station", "process_time": 2.5},
                             {"id": "sink9", "kind": "sink"}]
    other["connections"] += [["src9", "m9"], ["m9", "sink9"]]
    a = run(line, replications=2, horizon=2000.0).scenarios["base"]
    b = run(other, replications=2, horizon=2000.0).scenarios["base"]
    for ra, rb in zip(a.replications, b.replications, strict=True):
        ta = kernel_trace(ra.log, a.lowered.element_ids)
        tb = [row for row in kernel_trace(rb.log, b.lowered.element_ids)
              if not row[1].endswith("9")]
        assert len(ta) > 1000 and ta == tb


# --- common random numbers in a scenario comparison ---------------------------------------------
FAST_M2 = {**two_machine_line(1.0, 1.1, 5, 100.0, 5.0), "scenarios": [
    {"name": "fast m2", "overrides": [
        {"element": "m2", "path": "process_time",
         "value": {"dist": "exponential", "mean": 0.9}}]}]}


def throughput(sr):
    return np.array([r.line_out[kt.L_GOOD] / r.line_out[kt.L_OBSERVED]
                     for r in sr.replications])


def test_common_random_numbers_sharpen_a_scenario_comparison(kernel):
    n = 40
    spec = RunSpec(horizon=8 * 3600.0, warmup=1800.0, replications=n, seed=1)
    project = project_from_json(FAST_M2)
    paired = run_project(project, ["base", "fast m2"], spec)
    base = throughput(paired.scenarios["base"])
    crn = throughput(paired.scenarios["fast m2"]) - base
    other_seed = run_project(project, ["fast m2"], dataclasses.replace(spec, seed=2))
    independent = throughput(other_seed.scenarios["fast m2"]) - base

    # both estimate the exact difference (99% intervals, Bonferroni over the two)
    exact = (markov.two_machine_throughput(1.0, 0.9, 5, 100.0, 5.0)
             - markov.two_machine_throughput(1.0, 1.1, 5, 100.0, 5.0))
    for d in (crn, independent):
        iv = t_interval(d, 0.995)
        assert exact in iv, iv

    # F test on the two independent samples of differences: with 99% confidence the
    # variance with independent seeds is more than twice the variance with common random
    # numbers, so the CRN interval is narrower by a factor of more than sqrt(2)
    ratio = independent.var(ddof=1) / crn.var(ddof=1)
    lower = ratio / stats.f.ppf(0.99, n - 1, n - 1)
    half = {k: t_interval(d, 0.95).half for k, d in (("crn", crn), ("independent", independent))}
    assert lower > 2.0, (f"variance ratio {ratio:.2f} (99% lower bound {lower:.2f}); 95% "
                         f"half-widths {half}")
    assert half["crn"] < half["independent"] / np.sqrt(2)


@pytest.mark.parametrize("workers", [1, 2])
def test_scenario_results_are_reproducible_with_threads(kernel, workers):
    a = run_project(project_from_json(FAST_M2), ["base", "fast m2"],
                    RunSpec(horizon=3600.0, replications=3, seed=3), workers=workers)
    b = run_project(project_from_json(FAST_M2), ["fast m2", "base"],
                    RunSpec(horizon=3600.0, replications=3, seed=3), workers=1)
    for name in ("base", "fast m2"):
        assert_identical(a.scenarios[name], b.scenarios[name])
