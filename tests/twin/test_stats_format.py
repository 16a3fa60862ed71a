"""How a mean and its 95% interval are printed for people (the CLI table, the workbench)."""

import pytest

from twin.sim.stats import format_ci


@pytest.mark.parametrize(("mean", "half", "digits", "text"), [
    (1589.8, 52.0, 3, "1590 ± 52"),          # the mean to the interval's decimal place
    (0.80443, 0.0031, 3, "0.8044 ± 0.0031"),
    (27970.4, 703.0, 6, "27970 ± 703"),
    (20.0, 0.0, 3, "20 ± 0"),                # no spread: significant digits, no zeros
    (0.001447, 2.9e-06, 4, "0.001447 ± 2.9e-06"),  # a tiny interval stays short
    (5.25, None, 3, "5.25"),
    # a count with no spread (a deterministic line) or one replication, bigger than the
    # significant digits: written whole, never 1.44e+03 (the statistics table and report)
    (1442.0, 0.0, 3, "1442 ± 0"),
    (14400.0, None, 3, "14400"),
    (999.6, 0.0, 3, "1000 ± 0"),
    (-1442.0, 0.0, 3, "-1442 ± 0"),
    (2.5e-07, 0.0, 3, "2.5e-07 ± 0"),        # the very small keeps its exponent
    (None, None, 3, "-"),
])
def test_a_statistic_prints_to_the_precision_of_its_interval(mean, half, digits, text):
    assert format_ci({"mean": mean, "ci95_halfwidth": half}, digits) == text
