"""The test oracles themselves: before they judge the kernel, they must be right.

The Markov solver reproduces the published two-machine values, the M/M/1/K closed form it
reduces to, flow conservation and the reversibility of serial lines; the naive simulator's
generator reproduces the xoshiro256** reference outputs and its traces the hand-worked ones.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from oracles import markov, naive
from oracles.intervals import t_interval
from oracles.lines import end_of_instant, serial_line, station
from oracles.markov import PUBLISHED


@pytest.mark.parametrize("mean1, mean2, capacity, mttf, mttr, published", PUBLISHED)
def test_markov_reproduces_published_two_machine_values(mean1, mean2, capacity, mttf, mttr,
                                                        published):
    tp = markov.two_machine_throughput(mean1, mean2, capacity, mttf, mttr)
    assert tp == pytest.approx(published, abs=1e-5)


@pytest.mark.parametrize("mean1, mean2, capacity",
                         list(itertools.product((0.5, 1.0, 1.3), (0.7, 1.0, 1.1), (0, 1, 4))))
def test_reliable_two_machine_line_is_mm1k_with_k_capacity_plus_2(mean1, mean2, capacity):
    # machine 1 is the arrival process; its blocked part is the (C + 2)-th place
    k = capacity + 2
    p, _, _ = markov.mm1k(1 / mean1, 1 / mean2, k)
    sol = markov.solve_line([markov.Machine(mean1), markov.Machine(mean2)], [capacity])
    assert sol.throughput == pytest.approx((1 - p[0]) / mean2, rel=1e-10)
    assert sol.states == k + 1
    assert sol.state_prob[0]["B"] == pytest.approx(p[-1], rel=1e-10)
    assert sol.state_prob[1]["S"] == pytest.approx(p[0], rel=1e-10)


def test_every_machine_passes_the_line_throughput():
    machines = [markov.Machine(1.0, 30.0, 3.0), markov.Machine(0.8), markov.Machine(1.2, 60, 2)]
    sol = markov.solve_line(machines, [2, 1])
    for mc, probs in zip(machines, sol.state_prob, strict=True):
        assert sum(probs.values()) == pytest.approx(1.0, abs=1e-12)
        assert probs["W"] / mc.mean == pytest.approx(sol.throughput, rel=1e-9)
        if mc.mttf is not None:  # down time: one repair per mttf of work
            assert probs["D"] / mc.mttr == pytest.approx(probs["W"] / mc.mttf, rel=1e-9)
    assert sol.state_prob[0]["S"] == 0.0 and sol.state_prob[-1]["B"] == 0.0


def test_reliable_lines_are_reversible():
    # a reliable serial line under blocking after service has the throughput of the same line
    # run backwards (Yamazaki and Sakasegawa 1975; Muth 1979)
    fwd = markov.solve_line([markov.Machine(m) for m in (1.0, 1.3, 0.8)], [1, 2])
    back = markov.solve_line([markov.Machine(m) for m in (0.8, 1.3, 1.0)], [2, 1])
    assert fwd.throughput == pytest.approx(back.throughput, rel=1e-10)


def test_more_buffer_never_hurts_and_approaches_the_isolated_efficiency():
    tps = [markov.two_machine_throughput(1.0, 1.0, c, 100.0, 5.0) for c in (0, 1, 2, 5, 10, 40)]
    assert all(a < b for a, b in itertools.pairwise(tps))
    assert tps[-1] < 1 / (1 + 5 / 100)


def test_xoshiro_reference_outputs():
    # state (1, 2, 3, 4): the first outputs follow from the definition by hand:
    # rotl(2 * 5, 7) * 9 = 11520; after one step s[1] = 0, so the second output is 0
    g = naive.Xoshiro256([1, 2, 3, 4])
    assert [g.next_u64() for _ in range(2)] == [11520, 0]
    u = naive.Xoshiro256([1, 2, 3, 4])
    assert u.uniform() == pytest.approx((11520 >> 11) / 2**53 + 0.5 / 2**53)


def test_naive_trace_of_the_blocking_line():
    # the same hand-worked line as tests/twin/test_traces.py
    doc = serial_line([station("m1", 1), station("m2", 2)], [1])
    res = naive.simulate(doc, 10.0)
    assert end_of_instant(res.trace) == [
        (0.0, "m1", "busy"), (1.0, "m2", "busy"), (2.0, "b1", 1),
        (4.0, "m1", "blocked"), (5.0, "m1", "busy"), (6.0, "m1", "blocked"),
        (7.0, "m1", "busy"), (8.0, "m1", "blocked"), (9.0, "m1", "busy"),
        (10.0, "m1", "blocked")]
    assert res.good == 4
    assert res.state_time["m1"]["blocked"] == 3.0


def test_naive_exponential_line_matches_the_markov_oracle():
    # the two oracles agree: a 99% interval over 40 independent replications covers the
    # exact value (the empty start costs about two parts, far below the interval's width)
    doc = serial_line([station("m1", {"dist": "exponential", "mean": 1.0}),
                       station("m2", {"dist": "exponential", "mean": 1.1})], [2])
    exact = markov.two_machine_throughput(1.0, 1.1, 2)
    tps = np.array([naive.simulate(doc, 1500.0, seed=9, replication=r).good / 1500.0
                    for r in range(40)])
    iv = t_interval(tps, 0.99)
    assert exact in iv, iv
