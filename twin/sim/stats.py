"""Confidence intervals over replications (Student t), without SciPy at run time."""

from __future__ import annotations

import math

import numpy as np

# two-sided 95% Student t quantiles t_{0.975, df} for df = 1..30
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
         2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
         2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def t975(df: int) -> float:
    """The 0.975 quantile of Student's t with ``df`` degrees of freedom."""
    if df < 1:
        return math.nan
    if df <= 30:
        return _T975[df - 1]
    z = 1.959964
    # Cornish-Fisher expansion, exact to 1e-4 for df > 30
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def mean_ci(values) -> dict:
    """``{"mean": ..., "ci95_halfwidth": ...}`` of per-replication values.

    The half-width is ``t_{0.975, n-1} * s / sqrt(n)``; with one replication it is NaN
    (written as ``null`` in JSON): one run gives no interval. A spread below 1e-12 of the
    mean is rounding in the time integrals (a buffer that stayed full in every replication),
    not variation, and gives a half-width of 0.
    """
    x = np.asarray(values, float)
    x = x[~np.isnan(x)]
    n = x.size
    if n == 0:
        return {"mean": math.nan, "ci95_halfwidth": math.nan}
    mean = float(x.mean())
    if n == 1:
        return {"mean": mean, "ci95_halfwidth": math.nan}
    sd = float(x.std(ddof=1))
    if sd <= 1e-12 * abs(mean):
        sd = 0.0
    return {"mean": mean, "ci95_halfwidth": t975(n - 1) * sd / math.sqrt(n)}


def band(series: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and 95% half-width across replications (axis 0) of a time series."""
    n = series.shape[0]
    mean = series.mean(axis=0)
    if n < 2:
        return mean, np.full_like(mean, np.nan)
    return mean, t975(n - 1) * series.std(axis=0, ddof=1) / math.sqrt(n)


def format_ci(stat: dict, digits: int = 3) -> str:
    """``mean ± half-width`` for people: the half-width to two significant digits and the
    mean to the same decimal place (1590 ± 52, 0.8040 ± 0.0031); ``digits`` significant
    digits where there is no interval, or it is zero (20 ± 0; a mean too big for them is
    written whole: 1442 ± 0); ``-`` for no mean."""
    m, h = stat["mean"], stat["ci95_halfwidth"]
    if m is None or (isinstance(m, float) and math.isnan(m)):
        return "-"
    if h is None or (isinstance(h, float) and math.isnan(h)):
        return _significant(m, digits)
    if 0 < h < math.inf and abs(m) < 1e15:
        decimals = max(0, 1 - math.floor(math.log10(h)))
        if decimals <= 6:
            return f"{m:.{decimals}f} ± {h:.{decimals}f}"
    return f"{_significant(m, digits)} ± {h:.2g}"


def _significant(m: float, digits: int) -> str:
    """``m`` to ``digits`` significant digits, but a whole number too big for them in full
    (1442 parts, not ``1.44e+03``): the exponent form is kept for the very large and small."""
    text = f"{m:.{digits}g}"
    if "e+" in text and abs(m) < 1e15:
        return f"{m:.0f}"
    return text

