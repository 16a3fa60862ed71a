"""Selecting the best of a few simulated designs with a stated probability of correct selection.

The procedure is Nelson and Matejcik's two-stage indifference-zone procedure for systems
simulated with common random numbers (B. L. Nelson and F. J. Matejcik, "Using common random
numbers for indifference-zone selection and multiple comparisons in simulation", Management
Science 41(12), 1995, procedure NM; also Nelson, Swann, Goldsman and Song, Operations Research
49(6), 2001, section 2):

1. Simulate each of the ``k`` designs ``n0`` times, replication ``j`` of every design with the
   same random numbers.
2. Estimate the variance of a difference from the residuals of the two-way layout
   (designs x replications): ``S^2 = 2 sum_ij (X_ij - X_i. - X_.j + X_..)^2 / ((k-1)(n0-1))``.
3. Take ``N = max(n0, ceil((g S / delta)^2))`` replications of every design, where ``g`` is
   the one-sided ``1 - alpha`` equicoordinate quantile of the ``k - 1``-variate Student t with
   ``(k-1)(n0-1)`` degrees of freedom and all correlations 1/2 (the one-sided Dunnett
   constant).
4. Select the design with the best mean over the ``N`` replications.

If the best design's mean is at least ``delta`` better than every other's (the indifference
zone), the selection is correct with probability at least ``1 - alpha``; closer designs are
within ``delta`` of the best, which is the guarantee stated ("the best, with 95% confidence,
among these, or within delta of it"). The procedure assumes the covariance of the designs'
outputs is sphere-shaped (equal variances of the differences), which common random numbers
approximately give; Nelson and Matejcik show it is robust to departures.

When ``N`` would exceed the replication cap, the cap is run and the indifference zone the
data still guarantee, ``g S / sqrt(cap)``, is reported instead of the one asked for.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize as sopt
from scipy import special, stats

from twin.errors import InputError


class SelectionError(InputError):
    """Settings of a selection that cannot give a guarantee (fewer than 2 first-stage
    replications, a confidence outside (0, 1), an indifference zone that is not positive)."""


def _equicoordinate_cdf(g: float, dims: int, df: float) -> float:
    """``P(max_i T_i <= g)`` for ``dims`` Student-t variables with ``df`` degrees of freedom
    and all correlations 1/2.

    ``T_i = (W_i - W_0) / sqrt(2) / s`` with ``W`` independent standard normals and
    ``s = sqrt(chi2_df / df)``; conditioning on ``W_0`` and ``s`` leaves
    ``Phi(W_0 + sqrt(2) g s) ** dims``, integrated by Gauss-Hermite quadrature over ``W_0``
    and Gauss-Legendre quadrature over the quantiles of ``s``.
    """
    w, ww = np.polynomial.hermite_e.hermegauss(80)
    ww = ww / math.sqrt(2.0 * math.pi)
    if math.isinf(df):
        s, sw = np.ones(1), np.ones(1)
    else:
        u, uw = np.polynomial.legendre.leggauss(120)
        u, sw = (u + 1.0) / 2.0, uw / 2.0
        s = np.sqrt(stats.chi2.ppf(u, df) / df)
    inner = special.ndtr(w[None, :] + math.sqrt(2.0) * g * s[:, None]) ** dims
    return float(sw @ inner @ ww)


@functools.lru_cache(maxsize=256)
def critical_value(k: int, df: float, confidence: float) -> float:
    """The constant ``g`` of procedure NM: the one-sided ``confidence`` equicoordinate quantile
    of the ``k - 1``-variate Student t (``df`` degrees of freedom, correlations 1/2).

    Parameters
    ----------
    k : int
        Number of designs (at least 2).
    df : float
        Degrees of freedom, ``(k - 1)(n0 - 1)`` (``math.inf``: the normal case).
    confidence : float
        ``1 - alpha``, in (0, 1).

    Returns
    -------
    float
    """
    if k < 2:
        return 0.0
    return float(sopt.brentq(lambda g: _equicoordinate_cdf(g, k - 1, df) - confidence,
                             -10.0, 60.0, xtol=1e-10))


@dataclass(frozen=True)
class Selection:
    """The outcome of procedure NM over ``k`` designs.

    ``means`` and ``halfwidths`` (95% Student t over the replications of each design) are in
    the response's own units and direction; ``best`` indexes them. ``delta`` is the indifference
    zone guaranteed (the one asked for, or the wider one the replication cap allowed,
    ``delta_asked`` then differs).
    """

    best: int
    means: tuple[float, ...]
    halfwidths: tuple[float, ...]
    confidence: float
    delta: float
    delta_asked: float
    first_stage: int
    replications: int
    critical: float
    sd_difference: float
    maximize: bool
    labels: tuple[str, ...] = field(default=())
    #: Each design's mean minus the best's and the 95% half-width of that paired difference
    #: (common random numbers make it far narrower than the designs' own intervals).
    differences: tuple[float, ...] = field(default=())
    difference_halfwidths: tuple[float, ...] = field(default=())

    @property
    def capped(self) -> bool:
        """Whether the replication cap widened the indifference zone."""
        return self.delta > self.delta_asked

    def statement(self) -> str:
        """The sentence a report prints."""
        name = self.labels[self.best] if self.labels else f"design {self.best}"
        goal = "largest" if self.maximize else "smallest"
        return (f"{name} has the {goal} mean: the best, with {self.confidence:.0%} confidence, "
                f"among these {len(self.means)} (or within {self.delta:.4g} of the best; "
                f"Nelson-Matejcik procedure, {self.replications} replications each with "
                f"common random numbers)")

    def to_dict(self) -> dict:
        return {"procedure": "Nelson-Matejcik (two-stage, common random numbers)",
                "best": self.best, "labels": list(self.labels), "means": list(self.means),
                "ci95_halfwidths": list(self.halfwidths), "confidence": self.confidence,
                "indifference_zone": self.delta, "indifference_zone_asked": self.delta_asked,
                "first_stage_replications": self.first_stage,
                "replications": self.replications, "critical_value": self.critical,
                "sd_of_difference": self.sd_difference,
                "goal": "max" if self.maximize else "min", "statement": self.statement(),
                "differences_from_best": list(self.differences),
                "difference_ci95_halfwidths": list(self.difference_halfwidths)}


def _check(first_stage: int, delta: float, confidence: float, cap: int | None) -> None:
    if first_stage < 2:
        raise SelectionError(f"selection needs at least 2 first-stage replications, got "
                             f"{first_stage}; raise the experiment's replications")
    if not (delta > 0 and math.isfinite(delta)):
        raise SelectionError(f"the indifference zone must be a positive number, got {delta}; "
                             "give the smallest difference of the response worth detecting")
    if not 0.0 < confidence < 1.0:
        raise SelectionError(f"the confidence of selection must lie in (0, 1), got "
                             f"{confidence}; e.g. 0.95")
    if cap is not None and cap < first_stage:
        raise SelectionError(f"the replication cap {cap} is below the first stage "
                             f"{first_stage}; raise it")


def select_best(sample: Callable[[int], np.ndarray], k: int, *, delta: float,
                confidence: float = 0.95, first_stage: int = 10, maximize: bool = True,
                max_replications: int | None = None,
                labels: Sequence[str] = ()) -> Selection:
    """Select the best of ``k`` designs by procedure NM (see the module docstring).

    Parameters
    ----------
    sample : callable
        ``sample(n)`` returns a ``(k, n)`` array: replications ``0..n-1`` of every design,
        replication ``j`` of all designs with common random numbers; a later call with a
        larger ``n`` returns the same first columns (the same seeds).
    k : int
        Number of designs.
    delta : float
        Indifference zone, in the response's units.
    confidence : float
        Probability of correct selection to guarantee.
    first_stage : int
        ``n0``.
    maximize : bool
        Whether larger is better.
    max_replications : int, optional
        Cap on ``N``; above it the guaranteed indifference zone widens (``Selection.delta``).
    labels : sequence of str
        Names of the designs, for the statement.

    Returns
    -------
    Selection
    """
    _check(first_stage, delta, confidence, max_replications)
    if k < 1:
        raise SelectionError("selection needs at least one design")
    x = np.asarray(sample(first_stage), float)
    if x.shape != (k, first_stage) or not np.all(np.isfinite(x)):
        raise SelectionError(f"the first stage gave {x.shape} values (some not finite); "
                             f"expected {(k, first_stage)} finite values")
    if k == 1:
        s, g, n = 0.0, 0.0, first_stage
    else:
        resid = x - x.mean(axis=1, keepdims=True) - x.mean(axis=0, keepdims=True) + x.mean()
        df = (k - 1) * (first_stage - 1)
        s = math.sqrt(2.0 * float(np.sum(resid**2)) / df)
        g = critical_value(k, df, confidence)
        n = max(first_stage, math.ceil((g * s / delta) ** 2))
    guaranteed = delta
    if max_replications is not None and n > max_replications:
        n = max_replications
        guaranteed = g * s / math.sqrt(n)
    if n > first_stage:
        x = np.asarray(sample(n), float)
        if x.shape != (k, n) or not np.all(np.isfinite(x)):
            raise SelectionError(f"the second stage gave {x.shape} values (some not finite); "
                                 f"expected {(k, n)} finite values")
    means = x.mean(axis=1)
    hw = (stats.t.ppf(0.975, n - 1) * x.std(axis=1, ddof=1) / math.sqrt(n)
          if n > 1 else np.full(k, math.nan))
    best = int(np.argmax(means) if maximize else np.argmin(means))
    diff = x - x[best]
    dhw = (stats.t.ppf(0.975, n - 1) * diff.std(axis=1, ddof=1) / math.sqrt(n)
           if n > 1 else np.full(k, math.nan))
    return Selection(best, tuple(float(v) for v in means), tuple(float(v) for v in hw),
                     confidence, float(guaranteed), float(delta), first_stage, int(n),
                     float(g), float(s), maximize, tuple(labels),
                     tuple(float(v) for v in diff.mean(axis=1)), tuple(float(v) for v in dhw))
