"""Distributions as a project writes them: the kernel draws what the file says.

For every kind and parameter form: ``Distribution.mean`` equals the mean of the matching
SciPy distribution, the sample mean of kernel draws (``kernels.rng.sample``) lies in its
99% interval around that mean, and a Kolmogorov-Smirnov test at level 1% (Bonferroni over
all kinds) does not reject the SciPy distribution. The family of tests fails a correct
kernel with probability below 1%; the seeds are fixed.
"""

from __future__ import annotations

import numpy as np
import pytest
from oracles.calls import sample
from oracles.intervals import t_interval
from oracles.lines import serial_line, station
from scipy import stats

from kernels import types as kt
from twin.errors import Problems
from twin.model.distributions import parse_distribution
from twin.sim.lowering import stream_seeds

N = 20_000


def interpolated_empirical(values):
    """The distribution of ``{"dist": "empirical", "interpolate": true}``: equal probability
    on each interval between consecutive sorted values, uniform within it."""
    v = np.sort(np.asarray(values, float))
    cdf_points = np.linspace(0.0, 1.0, v.size)

    class Dist:
        @staticmethod
        def cdf(x):
            return np.interp(x, v, cdf_points)

        @staticmethod
        def mean():
            return float(np.mean((v[1:] + v[:-1]) / 2))

    return Dist


CASES = {
    "exponential mean": ({"dist": "exponential", "mean": 60}, stats.expon(scale=60)),
    "exponential rate": ({"dist": "exponential", "rate": 0.25}, stats.expon(scale=4)),
    "uniform": ({"dist": "uniform", "low": 2, "high": 7}, stats.uniform(2, 5)),
    "triangular": ({"dist": "triangular", "low": 50, "mode": 60, "high": 90},
                   stats.triang(c=0.25, loc=50, scale=40)),
    "triangular mode at low": ({"dist": "triangular", "low": 1, "mode": 1, "high": 3},
                               stats.triang(c=0.0, loc=1, scale=2)),
    "normal (truncated at 0)": ({"dist": "normal", "mean": 1.0, "sd": 0.8},
                                stats.truncnorm(a=-1.25, b=np.inf, loc=1.0, scale=0.8)),
    "normal far from 0": ({"dist": "normal", "mean": 60, "sd": 5}, stats.norm(60, 5)),
    "lognormal mean/sd": ({"dist": "lognormal", "mean": 60, "sd": 15},
                          stats.lognorm(s=np.sqrt(np.log(1 + 0.25 ** 2)),
                                        scale=60 / np.sqrt(1 + 0.25 ** 2))),
    "lognormal mu/sigma": ({"dist": "lognormal", "mu": 1.0, "sigma": 0.5},
                           stats.lognorm(s=0.5, scale=np.e)),
    "gamma shape/scale": ({"dist": "gamma", "shape": 2.5, "scale": 4},
                          stats.gamma(a=2.5, scale=4)),
    "gamma shape < 1": ({"dist": "gamma", "shape": 0.5, "scale": 3},
                        stats.gamma(a=0.5, scale=3)),
    "gamma mean/sd": ({"dist": "gamma", "mean": 30, "sd": 10}, stats.gamma(a=9, scale=30 / 9)),
    "weibull": ({"dist": "weibull", "shape": 1.5, "scale": 3600},
                stats.weibull_min(c=1.5, scale=3600)),
    "empirical interpolated": ({"dist": "empirical", "values": [58, 61, 60, 75],
                                "interpolate": True},
                               interpolated_empirical([58, 61, 60, 75])),
}
DISCRETE = {
    "empirical": ({"dist": "empirical", "values": [58, 61, 60, 75, 60]},
                  {58: 0.2, 60: 0.4, 61: 0.2, 75: 0.2}),
    "empirical one value": ({"dist": "empirical", "values": [42]}, {42: 1.0}),
}
ALPHA = 0.01 / (len(CASES) + len(DISCRETE))


def parse(obj):
    problems = Problems()
    d = parse_distribution(obj, "$.d", problems)
    assert not problems, problems.items
    return d


def draws(d, n=N, seed=1):
    code, par, values = d.lower()
    kind = np.array([code], np.int64)
    par = np.array([par], float)
    emp = np.array(values or [0.0], float)
    st = stream_seeds((str(d),), seed, 0)
    return np.array([sample(kind, par, emp, 0, st, 0) for _ in range(n)])


@pytest.mark.parametrize("name", list(CASES))
def test_kernel_draws_follow_the_distribution(name):
    obj, ref = CASES[name]
    d = parse(obj)
    assert d.mean == pytest.approx(ref.mean(), rel=1e-9)
    x = draws(d)
    assert np.all(x >= 0)
    iv = t_interval(x, 1 - ALPHA)
    assert d.mean in iv, f"{name}: sample mean {iv} misses {d.mean}"
    p = stats.kstest(x, ref.cdf).pvalue
    assert p > ALPHA, f"{name}: KS test rejects the distribution (p = {p:.2g})"


@pytest.mark.parametrize("name", list(DISCRETE))
def test_empirical_draws_each_value_with_its_frequency(name):
    obj, freq = DISCRETE[name]
    d = parse(obj)
    assert d.mean == pytest.approx(sum(v * p for v, p in freq.items()), rel=1e-12)
    x = draws(d)
    assert set(np.unique(x)) == set(freq)
    if len(freq) > 1:
        observed = [np.sum(x == v) for v in freq]
        p = stats.chisquare(observed, [N * q for q in freq.values()]).pvalue
        assert p > ALPHA, f"{name}: chi-square rejects the frequencies (p = {p:.2g})"


def test_constant_is_exact():
    d = parse(12.5)
    assert d.dist == "constant" and d.mean == 12.5
    assert np.all(draws(d, 10) == 12.5)


def test_a_bare_number_is_named_where_it_stands():
    # the file holds "process_time": -5, not {"value": -5}: the message points at the number
    problems = Problems()
    assert parse_distribution(-5, "$.elements[1].process_time", problems) is None
    assert [p.path for p in problems.items] == ["$.elements[1].process_time"]
    problems = Problems()
    parse_distribution({"dist": "constant", "value": -5}, "$.pt", problems)
    assert [p.path for p in problems.items] == ["$.pt.value"]


def test_several_empirical_distributions_in_one_plant(run_doc):
    # each station must draw from its own values (the lowering stacks them in one array)
    doc = serial_line([
        station("m1", {"dist": "empirical", "values": [1, 1, 1]}),
        station("m2", {"dist": "empirical", "values": [0.25, 0.75]}),
        station("m3", {"dist": "empirical", "values": [0.5, 0.5], "interpolate": True})],
        [None, None])
    sr = run_doc(doc, 200.0, replications=1)
    rep = sr.replications[0]
    for sid, per_part in (("m1", 1.0), ("m3", 0.5)):
        e = sr.lowered.element_ids.index(sid)
        finished = rep.el_out[e, kt.O_OUT]
        in_work = rep.st_time[e, kt.BUSY] - finished * per_part
        assert 0 <= in_work < per_part, sid
    e2 = sr.lowered.element_ids.index("m2")
    busy, done = rep.st_time[e2, kt.BUSY], rep.el_out[e2, kt.O_OUT]
    # m2 is fed one part per second: each of its parts took 0.25 or 0.75 s
    assert 0.25 * done <= busy <= 0.75 * (done + 1)


def test_process_times_through_a_one_station_model(run_doc):
    # the lowering path: a station's busy time per part estimates its mean process time
    obj, ref = CASES["lognormal mean/sd"]
    doc = serial_line([station("m1", obj)], [])
    sr = run_doc(doc, 100_000.0, replications=10, seed=2)
    per_part = [r.st_time[1, kt.BUSY] / r.el_out[1, kt.O_IN] for r in sr.replications]
    iv = t_interval(per_part, 0.99)
    assert ref.mean() in iv, iv
