"""Nelson-Matejcik selection: its constant against the multivariate t, and its probability of
correct selection measured on normal populations with known means."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from twin.experiments.selection import SelectionError, critical_value, select_best


def clopper_pearson(successes: int, n: int, level: float = 0.99) -> tuple[float, float]:
    """Two-sided exact binomial interval."""
    a = 1 - level
    lo = 0.0 if successes == 0 else stats.beta.ppf(a / 2, successes, n - successes + 1)
    hi = 1.0 if successes == n else stats.beta.ppf(1 - a / 2, successes + 1, n - successes)
    return float(lo), float(hi)


def test_critical_value_is_the_one_sided_dunnett_constant():
    # the published one-sided Dunnett constant for 2 comparisons, infinite df
    assert critical_value(3, math.inf, 0.95) == pytest.approx(1.916, abs=1e-3)
    # and the equicoordinate quantile of the multivariate t (scipy's Genz integration)
    for k, df in [(3, 18), (5, 36), (8, 63)]:
        g = critical_value(k, df, 0.95)
        cov = np.full((k - 1, k - 1), 0.5)
        np.fill_diagonal(cov, 1.0)
        p = stats.multivariate_t(shape=cov, df=df).cdf(np.full(k - 1, g), random_state=1)
        assert p == pytest.approx(0.95, abs=2e-3), (k, df, g)


def crn_population(means, sd, common, rng):
    """``sample(n)``: replications of normal systems sharing a common random part per
    replication (what common random numbers give), the same columns for a larger ``n``."""
    means = np.asarray(means, float)
    cols: list[np.ndarray] = []

    def sample(n):
        while len(cols) < n:
            z = rng.standard_normal()
            cols.append(means + common * z + sd * rng.standard_normal(means.size))
        return np.stack(cols[:n], axis=1)

    return sample


@pytest.mark.parametrize("maximize", [True, False])
def test_probability_of_correct_selection_meets_the_guarantee(maximize):
    # slippage configuration (the least favourable): the best exactly delta ahead of four
    # equal others. The guarantee is PCS >= 0.95; over 300 macro-replications the 99%
    # Clopper-Pearson interval of the observed PCS must reach 0.95 (a procedure with a
    # wrong constant, or the wrong variance, falls below it) and the selection must beat
    # chance (1/5) by far.
    delta, k, macro = 0.5, 5, 300
    sign = 1.0 if maximize else -1.0
    means = sign * np.array([0.0, 0.0, delta, 0.0, 0.0])
    rng = np.random.default_rng(20261202)
    correct, spent = 0, []
    for _ in range(macro):
        sel = select_best(crn_population(means, 1.0, 2.0, rng), k, delta=delta,
                          first_stage=10, maximize=maximize, confidence=0.95)
        correct += sel.best == 2
        spent.append(sel.replications)
    lo, hi = clopper_pearson(correct, macro)
    assert hi >= 0.95, (correct, macro, lo, hi)
    assert lo > 0.85
    # the second stage was needed and sized by (g S / delta)^2: S^2 near 2 (the common part
    # cancels in differences), g near 2.2, so N near 2 * 2.2^2 / 0.25 = 39
    assert 25 < np.median(spent) < 60


def test_closer_designs_still_give_one_within_delta():
    # means 0, 0.1, 0.2 with delta 0.5: any choice is within delta; the procedure still
    # chooses, and reports the stated zone
    rng = np.random.default_rng(5)
    sel = select_best(crn_population([0.0, 0.1, 0.2], 1.0, 0.0, rng), 3, delta=0.5,
                      labels=("a", "b", "c"))
    assert sel.delta == 0.5 and not sel.capped
    assert "95% confidence" in sel.statement() and "within 0.5" in sel.statement()
    assert sel.differences[sel.best] == 0.0
    # paired differences: the common part cancels, so their intervals are the narrower
    rng = np.random.default_rng(8)
    paired = select_best(crn_population([0.0, 1.0], 0.2, 5.0, rng), 2, delta=0.5)
    assert paired.difference_halfwidths[0] < paired.halfwidths[0] / 5
    assert paired.differences[0] == pytest.approx(-1.0, abs=3 * paired.difference_halfwidths[0])


def test_the_cap_widens_the_guaranteed_zone():
    rng = np.random.default_rng(6)
    sel = select_best(crn_population([0.0, 1.0], 5.0, 0.0, rng), 2, delta=0.01,
                      first_stage=5, max_replications=20)
    assert sel.replications == 20 and sel.capped
    assert sel.delta == pytest.approx(sel.critical * sel.sd_difference / math.sqrt(20))


@pytest.mark.parametrize("kwargs, words", [
    ({"first_stage": 1}, "at least 2 first-stage"),
    ({"delta": 0.0}, "positive number"),
    ({"confidence": 1.0}, "(0, 1)"),
    ({"max_replications": 3}, "below the first stage"),
])
def test_bad_settings_say_what_is_wrong(kwargs, words):
    args = {"delta": 0.5, "first_stage": 10, **kwargs}
    with pytest.raises(SelectionError, match=words.replace("(", r"\(").replace(")", r"\)")):
        select_best(lambda n: np.zeros((2, n)), 2, **args)
