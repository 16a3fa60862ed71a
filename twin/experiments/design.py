"""Design points of an experiment: full factorial, Latin hypercube, Sobol'.

Space-filling designs come from ``scipy.stats.qmc`` in the unit cube and are mapped to each
factor's values by :func:`to_values`: a continuous range linearly, an integer range by cells
of equal width (``floor(low + u * (high - low + 1))``, so every whole number from ``low``
to ``high`` gets the same share of the cube; rounding ``low + u * (high - low)`` would give
the two ends half a share each), explicit levels the same way. A Latin hypercube keeps its
strata after the mapping: each of the ``n`` strata of a factor's range holds one point.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Sequence

import numpy as np

from twin.errors import InputError
from twin.model.experiments import DESIGNS, Experiment, Factor

#: Full factorial levels of a continuous range when the experiment gives no ``points``.
DEFAULT_LEVELS = 3
MAX_DESIGN_POINTS = 100_000


class DesignError(InputError):
    """A design that cannot be made as asked (too many points, an unknown design)."""


def factor_levels(f: Factor, n: int | None = None) -> list[float]:
    """The levels ``f`` takes in a full factorial design.

    Explicit ``levels`` as given; an integer range every whole number from ``low`` to
    ``high`` (or ``n`` of them, evenly spread, when ``n`` is smaller); a continuous range
    ``n`` (default 3) evenly spaced values from ``low`` to ``high``.
    """
    if f.levels is not None:
        return [float(v) for v in f.levels]
    lo, hi = float(f.low), float(f.high)  # type: ignore[arg-type]
    if f.integer:
        every = np.arange(int(lo), int(hi) + 1, dtype=float)
        if n is None or n >= every.size:
            return every.tolist()
        return sorted({float(round(v)) for v in np.linspace(lo, hi, n)})
    n = n or DEFAULT_LEVELS
    return [lo] if hi == lo else np.linspace(lo, hi, n).tolist()


def to_values(f: Factor, u: np.ndarray) -> np.ndarray:
    """Map unit-cube coordinates ``u`` (in [0, 1)) to values of ``f`` (see the module)."""
    u = np.asarray(u, float)
    if f.levels is not None:
        lv = np.asarray(f.levels, float)
        return lv[np.minimum((u * lv.size).astype(int), lv.size - 1)]
    lo, hi = float(f.low), float(f.high)  # type: ignore[arg-type]
    if f.integer:
        k = np.floor(lo + u * (hi - lo + 1.0))
        return np.clip(k, lo, hi)
    return lo + u * (hi - lo)


def unit_sample(design: str, d: int, n: int, seed: int) -> np.ndarray:
    """``n`` points of a Latin hypercube or scrambled Sobol' sequence in ``[0, 1)^d``,
    ``(n, d)``; the same seed gives the same points."""
    from scipy.stats import qmc

    if design == "latin_hypercube":
        return qmc.LatinHypercube(d, rng=np.random.default_rng(seed)).random(n)
    if design == "sobol":
        sampler = qmc.Sobol(d, scramble=True, rng=np.random.default_rng(seed))
        with warnings.catch_warnings():
            # n not a power of 2 loses some balance, not validity: the docs say so
            warnings.simplefilter("ignore", UserWarning)
            return sampler.random(n)
    raise DesignError(f"unknown design {design!r}; expected one of {list(DESIGNS)}")


def design_points(factors: Sequence[Factor], design: str, points: int | None = None,
                  seed: int = 1) -> list[dict[str, float]]:
    """The design points: one ``{factor name: value}`` per point, integer factors whole.

    ``full_factorial``: every combination of :func:`factor_levels` (``points`` levels per
    continuous range, default 3); ``latin_hypercube`` and ``sobol``: ``points`` points.
    Points that coincide once integer factors are mapped are kept (a space-filling design's
    count is what was asked); common random numbers make their results identical.

    Raises
    ------
    DesignError
        An unknown design, no ``points`` for a space-filling one, or more than 100,000.
    """
    names = [f.name for f in factors]
    if design == "full_factorial":
        levels = [factor_levels(f, points) for f in factors]
        total = math.prod(len(lv) for lv in levels)
        if total > MAX_DESIGN_POINTS:
            raise DesignError(f"the full factorial design has {total:,} points (levels "
                              f"{' x '.join(str(len(lv)) for lv in levels)}); at most "
                              f"{MAX_DESIGN_POINTS:,}: give fewer levels, or use a "
                              "latin_hypercube design with \"points\"")
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*levels)]
    if design not in DESIGNS:
        raise DesignError(f"unknown design {design!r}; expected one of {list(DESIGNS)}")
    if not points or points < 1:
        raise DesignError(f"a {design} design needs the number of points (\"points\": 50)")
    if points > MAX_DESIGN_POINTS:
        raise DesignError(f"{points:,} design points: at most {MAX_DESIGN_POINTS:,}")
    u = unit_sample(design, len(factors), points, seed)
    cols = [to_values(f, u[:, j]) for j, f in enumerate(factors)]
    return [{n: float(c[i]) for n, c in zip(names, cols, strict=True)} for i in range(points)]


def experiment_points(exp: Experiment) -> list[dict[str, float]]:
    """:func:`design_points` of an experiment (its design, points and seed)."""
    return design_points(exp.factors, exp.design, exp.points, exp.seed)
