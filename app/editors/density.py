"""The density, mean and sd of a distribution as the project writes it, for the editor's plot.

NumPy only: the editor draws what these return. The mean is the twin's own
(``Distribution.mean``, the one the kernel's lowering uses); the sd is the closed form of
each family, or a numerical moment for the normal truncated at 0 (the kernel redraws below 0).
"""

from __future__ import annotations

import math

import numpy as np

from twin.model.distributions import Distribution

GRID = 200


def _sd(d: Distribution) -> float:
    p = d.params
    name = d.dist
    if name == "constant":
        return 0.0
    if name == "exponential":
        return d.mean
    if name == "uniform":
        return (p["high"] - p["low"]) / math.sqrt(12.0)
    if name == "triangular":
        a, c, b = p["low"], p["mode"], p["high"]
        return math.sqrt((a * a + b * b + c * c - a * b - a * c - b * c) / 18.0)
    if name == "lognormal":
        mu, s = _mu_sigma(p)
        return math.sqrt(math.expm1(s * s)) * math.exp(mu + 0.5 * s * s)
    if name == "gamma":
        k, theta = _shape_scale(p)
        return math.sqrt(k) * theta
    if name == "weibull":
        k, lam = p["shape"], p["scale"]
        g1, g2 = math.gamma(1 + 1 / k), math.gamma(1 + 2 / k)
        return lam * math.sqrt(max(g2 - g1 * g1, 0.0))
    if name == "empirical":
        v = np.asarray(p["values"], dtype=float)
        return float(v.std())
    x, y = density(d)
    w = y / max(np.trapezoid(y, x), 1e-300)
    mean = np.trapezoid(x * w, x)
    return float(math.sqrt(max(np.trapezoid((x - mean) ** 2 * w, x), 0.0)))


def _mu_sigma(p: dict) -> tuple[float, float]:
    if "mu" in p:
        return p["mu"], p["sigma"]
    s2 = math.log1p((p["sd"] / p["mean"]) ** 2)
    return math.log(p["mean"]) - 0.5 * s2, math.sqrt(s2)


def _shape_scale(p: dict) -> tuple[float, float]:
    if "shape" in p:
        return p["shape"], p["scale"]
    return (p["mean"] / p["sd"]) ** 2, p["sd"] ** 2 / p["mean"]


def mean_sd(d: Distribution) -> tuple[float, float]:
    """The mean and standard deviation of ``d`` (seconds)."""
    return float(d.mean), float(_sd(d))


def density(d: Distribution) -> tuple[np.ndarray, np.ndarray]:
    """Points ``(x, y)`` of the density of ``d`` over the range that holds nearly all draws.

    A constant is a spike at its value; an empirical distribution is the histogram of its
    values (y as a density, x the bin edges' midpoints).
    """
    p, name = d.params, d.dist
    if name == "constant":
        v = p["value"]
        return np.array([v, v, v]), np.array([0.0, 1.0, 0.0])
    if name == "empirical":
        v = np.asarray(p["values"], dtype=float)
        bins = int(min(max(math.sqrt(v.size), 1), 40))
        y, edges = np.histogram(v, bins=bins, density=bool(np.ptp(v) > 0))
        x = np.repeat(edges, 2)[1:-1]
        return x, np.repeat(y.astype(float), 2)
    if name == "uniform":
        lo, hi = p["low"], p["high"]
        h = 1.0 / (hi - lo) if hi > lo else 1.0
        return np.array([lo, lo, hi, hi]), np.array([0.0, h, h, 0.0])
    if name == "triangular":
        lo, mo, hi = p["low"], p["mode"], p["high"]
        return np.array([lo, mo, hi]), np.array([0.0, 2.0 / (hi - lo), 0.0])
    mean = d.mean
    if name == "exponential":
        x = np.linspace(0.0, 7.0 * mean, GRID)  # 99.9% of the draws
        return x, np.exp(-x / mean) / mean
    if name == "normal":
        mu, sd = p["mean"], p["sd"]
        if sd == 0:
            return np.array([mu, mu, mu]), np.array([0.0, 1.0, 0.0])
        x = np.linspace(max(0.0, mu - 4 * sd), mu + 4 * sd, GRID)
        y = np.exp(-0.5 * ((x - mu) / sd) ** 2)
        return x, y / max(np.trapezoid(y, x), 1e-300)
    if name == "lognormal":
        mu, s = _mu_sigma(p)
        if s == 0:
            return np.array([mean, mean, mean]), np.array([0.0, 1.0, 0.0])
        x = np.linspace(1e-9, math.exp(mu + 3.5 * s), GRID)
        y = np.exp(-((np.log(x) - mu) ** 2) / (2 * s * s)) / (x * s * math.sqrt(2 * math.pi))
        return x, y
    if name == "gamma":
        k, theta = _shape_scale(p)
        x = np.linspace(1e-9, mean + 5 * math.sqrt(k) * theta, GRID)
        logy = (k - 1) * np.log(x) - x / theta - math.lgamma(k) - k * math.log(theta)
        return x, np.exp(logy)
    if name == "weibull":
        k, lam = p["shape"], p["scale"]
        x = np.linspace(1e-9, lam * (-math.log(1e-4)) ** (1 / k), GRID)
        y = (k / lam) * (x / lam) ** (k - 1) * np.exp(-((x / lam) ** k))
        return x, y
    x = np.array([mean, mean, mean])  # a family added later without a density here
    return x, np.array([0.0, 1.0, 0.0])
