"""Design points: full factorial, Latin hypercube and Sobol' (scipy.stats.qmc)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from twin.experiments.design import DesignError, design_points, factor_levels, to_values
from twin.experiments.spec import Factor

CAP = Factor("b1", "capacity", 1, 6, integer=True)
SERVERS = Factor("s1", "servers", levels=(1.0, 2.0, 4.0), integer=True)
MEAN = Factor("s2", "process_time.mean", 0.5, 1.5)


def column(points, f):
    return np.array([p[f.name] for p in points])


def test_full_factorial_is_every_combination():
    pts = design_points([CAP, SERVERS, MEAN], "full_factorial")
    assert len(pts) == 6 * 3 * 3
    assert {tuple(p.values()) for p in pts} == {
        (c, s, m) for c in range(1, 7) for s in (1, 2, 4) for m in (0.5, 1.0, 1.5)}
    # "points" sets the levels of a range: continuous evenly spaced, integer whole
    assert factor_levels(MEAN, 5) == [0.5, 0.75, 1.0, 1.25, 1.5]
    assert factor_levels(CAP, 3) == [1.0, 4.0, 6.0]  # 1, 3.5, 6 rounded
    assert len(design_points([CAP, MEAN], "full_factorial", 4)) == 4 * 4


@pytest.mark.parametrize("design", ["latin_hypercube", "sobol"])
def test_space_filling_designs_have_the_count_bounds_and_whole_numbers(design):
    pts = design_points([CAP, SERVERS, MEAN], design, 64, seed=3)
    assert len(pts) == 64
    cap, srv, mean = (column(pts, f) for f in (CAP, SERVERS, MEAN))
    assert cap.min() >= 1 and cap.max() <= 6 and np.all(cap == np.round(cap))
    assert set(srv) <= {1.0, 2.0, 4.0}
    assert mean.min() >= 0.5 and mean.max() < 1.5
    assert design_points([CAP, SERVERS, MEAN], design, 64, seed=3) == pts  # a seed repeats
    assert design_points([CAP, SERVERS, MEAN], design, 64, seed=4) != pts


def test_latin_hypercube_puts_one_point_in_each_stratum():
    n = 37
    pts = design_points([MEAN, Factor("s3", "process_time.mean", -2.0, 8.0)],
                        "latin_hypercube", n, seed=11)
    for f in (MEAN, Factor("s3", "process_time.mean", -2.0, 8.0)):
        lo, hi = f.bounds
        strata = np.floor((column(pts, f) - lo) / (hi - lo) * n).astype(int)
        assert sorted(strata) == list(range(n))


def test_integer_factors_give_every_whole_number_an_equal_share():
    # 6 whole numbers, 60 Latin hypercube strata: 10 strata map onto each number exactly;
    # rounding low + u * (high - low) would give 1 and 6 half as many (6 each, 12 the others)
    pts = design_points([CAP], "latin_hypercube", 60, seed=5)
    values, counts = np.unique(column(pts, CAP), return_counts=True)
    assert values.tolist() == [1, 2, 3, 4, 5, 6] and counts.tolist() == [10] * 6
    lv = design_points([SERVERS], "latin_hypercube", 30, seed=5)
    assert np.unique(column(lv, SERVERS), return_counts=True)[1].tolist() == [10, 10, 10]
    # the cells' edges: u just below 1/6 is still 1, at 1/6 it is 2; u near 1 is 6
    assert to_values(CAP, np.array([0.0, 1 / 6 - 1e-12, 1 / 6, 1 - 1e-12])).tolist() == [
        1, 1, 2, 6]


def test_sobol_with_a_power_of_two_is_balanced():
    pts = design_points([MEAN, Factor("s4", "process_time.mean", 0.0, 1.0)], "sobol", 256, 2)
    for f in (MEAN, Factor("s4", "process_time.mean", 0.0, 1.0)):
        lo, hi = f.bounds
        quarter = np.floor((column(pts, f) - lo) / (hi - lo) * 4)
        assert np.unique(quarter, return_counts=True)[1].tolist() == [64] * 4


def test_designs_that_cannot_be_made_say_why():
    with pytest.raises(DesignError, match="needs the number of points"):
        design_points([MEAN], "latin_hypercube", None)
    big = [Factor(f"b{i}", "capacity", 1, 20, integer=True) for i in range(5)]
    with pytest.raises(DesignError, match=f"{20 ** 5:,} points"):
        design_points(big, "full_factorial")
    with pytest.raises(DesignError, match="unknown design 'box'"):
        design_points([MEAN], "box", 5)
    assert math.prod(len(factor_levels(f)) for f in big[:3]) == 8000
