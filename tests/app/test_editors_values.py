"""What the editors compute without Qt: a distribution's density, mean and sd, derived
station and conveyor values, and values read from a CSV column."""

import math

import numpy as np
import pytest

from app.editors import derived
from app.editors.density import density, mean_sd
from app.editors.distribution import column_values, parse_values
from twin.model import elements as m
from twin.model.distributions import Distribution, constant, exponential

CONTINUOUS = [
    Distribution("exponential", {"mean": 60}),
    Distribution("uniform", {"low": 30, "high": 90}),
    Distribution("triangular", {"low": 30, "mode": 45, "high": 90}),
    Distribution("normal", {"mean": 60, "sd": 10}),
    Distribution("lognormal", {"mean": 60, "sd": 15}),
    Distribution("gamma", {"shape": 2, "scale": 30}),
    Distribution("weibull", {"shape": 1.5, "scale": 60}),
]


@pytest.mark.parametrize("d", CONTINUOUS, ids=lambda d: d.dist)
def test_density_integrates_to_one_and_agrees_with_mean_and_sd(d):
    # the plotted range holds nearly all the mass, and the moments of the drawn curve are
    # the mean and sd the label shows (to the grid's accuracy)
    x, y = density(d)
    xs = np.linspace(x.min(), x.max(), 20001)
    ys = np.interp(xs, x, y)
    mass = np.trapezoid(ys, xs)
    assert 0.99 < mass < 1.01
    mean, sd = mean_sd(d)
    assert mean == pytest.approx(d.mean)
    m1 = np.trapezoid(xs * ys, xs) / mass
    m2 = np.trapezoid((xs - m1) ** 2 * ys, xs) / mass
    assert m1 == pytest.approx(mean, rel=0.02)
    assert math.sqrt(m2) == pytest.approx(sd, rel=0.05)


def test_empirical_and_constant():
    assert mean_sd(Distribution("empirical", {"values": [1, 2, 3, 4]})) == (2.5, pytest.approx(
        math.sqrt(1.25)))
    assert mean_sd(constant(7.0)) == (7.0, 0.0)


def test_parse_values_takes_units_and_separators():
    assert parse_values("58, 61;1min\n1.5min 2") == [58, 61, 60, 90, 2]
    with pytest.raises(ValueError, match="'soon'"):
        parse_values("58, soon")


def test_csv_column_with_and_without_header(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("a;b\n1;10\n2;20s\n")
    assert column_values(f, 1) == [10, 20]
    f.write_text("1,10\n2,1min\n")
    assert column_values(f, 1) == [10, 60]


def test_station_efficiency_and_rate():
    st = m.Station("M", servers=2, process_time=constant(30.0),
                   failures=m.Failures("operating", exponential(900.0), exponential(100.0)))
    assert derived.efficiency(st) == pytest.approx(0.9)
    assert derived.isolated_rate(st) == pytest.approx(2 * 120 * 0.9)
    # an operations basis counts parts: 30 parts of 30 s between failures
    st.failures = m.Failures("operations", constant(30.0), constant(100.0))
    assert derived.efficiency(st) == pytest.approx(900 / 1000)
    st.process_time = None
    assert derived.isolated_rate(st) is None
    assert "no process time" in derived.summary(None, st)


def test_a_batch_station_s_isolated_rate_counts_full_loads():
    """An oven's process time is per load: 8 parts every 45 min are 10.67 parts/h."""
    oven = m.Station("oven", process_time=constant(2700.0), batch=m.Batch(size=8))
    assert derived.isolated_rate(oven) == pytest.approx(8 * 3600 / 2700)
    assert "10.67 parts/h in full loads of 8" in derived.summary(None, oven)
