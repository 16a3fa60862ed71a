"""Fit distribution families to durations by maximum likelihood, and map project
distributions to ``scipy.stats``.

:func:`fit_family` fits one family to complete and right-censored observations (censored
data enter the likelihood through the survival function, via ``scipy.stats.CensoredData``);
:func:`fit_candidates` fits every family of ``CANDIDATES`` (exponential, gamma, lognormal,
weibull, normal) that can describe the data and ranks the fits by AIC. Each
:class:`DistFit` reports its log-likelihood, the Kolmogorov-Smirnov statistic and p-value
(approximate: the parameters were estimated from the same data, which makes the p-value
conservative, i.e. too large), and its parameters and mean as :class:`Estimate` values with
confidence intervals: exact chi-square intervals for the exponential mean, Wald intervals from
the observed Fisher information (on the log scale for positive parameters) otherwise, and the
delta method for the mean. Parameters are in the project's parameterisation (``PARAMS``), so
:meth:`DistFit.distribution` is a :class:`twin.model.distributions.Distribution` ready to write.

:func:`frozen` (a family in project parameters) and :func:`scipy_of` (any project
distribution) give the ``scipy.stats`` frozen distribution; ``twin.whatif.fork`` draws conditional
remaining times from the latter.

Used by ``twin.whatif.calibration``, which takes the samples from a recording. Needs SciPy at run
time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from twin.model.distributions import Distribution

#: Candidate families, in the order they are tried.
CANDIDATES = ("exponential", "gamma", "lognormal", "weibull", "normal")
#: Parameter names of each family, as written in a project (``twin.model.distributions``).
PARAMS = {"exponential": ("mean",), "gamma": ("shape", "scale"), "lognormal": ("mu", "sigma"),
          "weibull": ("shape", "scale"), "normal": ("mean", "sd")}
# Positive parameters are fitted, and get their Wald intervals, on the log scale.
_POSITIVE = {"mean": True, "shape": True, "scale": True, "sigma": True, "sd": True, "mu": False}
#: Fewest samples a fit needs.
MIN_SAMPLES = 5


class FitError(ValueError):
    """Data that cannot be fitted, or a family without a SciPy equivalent (message names the
    fix)."""


def frozen(family: str, params: dict):
    """The ``scipy.stats`` frozen distribution of a family in project parameters."""
    p = params
    if family == "exponential":
        return stats.expon(scale=p["mean"])
    if family == "gamma":
        return stats.gamma(p["shape"], scale=p["scale"])
    if family == "lognormal":
        return stats.lognorm(p["sigma"], scale=math.exp(p["mu"]))
    if family == "weibull":
        return stats.weibull_min(p["shape"], scale=p["scale"])
    if family == "normal":
        return stats.norm(p["mean"], p["sd"])
    raise FitError(f"family {family!r} is not one of {CANDIDATES}")


def scipy_of(d: Distribution):
    """``scipy.stats`` frozen distribution of a project distribution (for conditional draws).

    Constants, uniform, triangular and empirical distributions are supported too; the normal
    is returned untruncated (the kernel truncates it at 0).
    """
    p = d.params
    if d.dist == "constant":
        return stats.uniform(p["value"], 0.0)
    if d.dist == "exponential":
        return stats.expon(scale=d.mean)
    if d.dist == "uniform":
        return stats.uniform(p["low"], p["high"] - p["low"])
    if d.dist == "triangular":
        w = p["high"] - p["low"]
        return stats.triang((p["mode"] - p["low"]) / w if w > 0 else 0.5, p["low"], w)
    if d.dist == "gamma":
        k, theta = (p["shape"], p["scale"]) if "shape" in p else (
            (p["mean"] / p["sd"]) ** 2, p["sd"] ** 2 / p["mean"])
        return stats.gamma(k, scale=theta)
    if d.dist == "lognormal":
        if "mu" in p:
            return stats.lognorm(p["sigma"], scale=math.exp(p["mu"]))
        s2 = math.log(1.0 + (p["sd"] / p["mean"]) ** 2)
        return stats.lognorm(math.sqrt(s2), scale=math.exp(math.log(p["mean"]) - 0.5 * s2))
    if d.dist == "weibull":
        return stats.weibull_min(p["shape"], scale=p["scale"])
    if d.dist == "normal":
        return stats.norm(p["mean"], p["sd"])
    if d.dist == "empirical":
        vals = np.sort(np.asarray(p["values"], float))
        return stats.rv_histogram((np.ones(len(vals)), np.append(vals, vals[-1] + 1e-9)))
    raise FitError(f"distribution {d.dist!r} has no SciPy equivalent")


@dataclass
class Estimate:
    """A fitted quantity with its confidence interval (same units as the data)."""

    value: float
    ci_low: float
    ci_high: float

    def covers(self, x: float) -> bool:
        """True if ``x`` lies inside the interval."""
        return self.ci_low <= x <= self.ci_high


@dataclass
class DistFit:
    """One candidate family fitted by maximum likelihood.

    Attributes
    ----------
    family : str
    params : dict of str to Estimate
        In the project's parameterisation (``PARAMS``).
    mean : Estimate
        Mean of the fitted distribution (delta method), s.
    n, n_censored : int
        Complete and right-censored observations.
    loglik, aic : float
    ks_statistic, ks_pvalue : float
        Kolmogorov-Smirnov test of the complete observations against the fit (the p-value is
        approximate: the parameters come from the same data).
    """

    family: str
    params: dict[str, Estimate]
    mean: Estimate
    n: int
    n_censored: int
    loglik: float
    aic: float
    ks_statistic: float
    ks_pvalue: float

    def distribution(self) -> Distribution:
        """The fit as a project distribution."""
        return Distribution(self.family, {k: float(v.value) for k, v in self.params.items()})


def _nll(family, names, x, c):
    def f(u):
        p = {k: (math.exp(v) if _POSITIVE[k] else v) for k, v in zip(names, u, strict=True)}
        try:
            d = frozen(family, p)
            val = -(np.sum(d.logpdf(x)) + (np.sum(d.logsf(c)) if len(c) else 0.0))
        except (ValueError, OverflowError, ZeroDivisionError):
            return math.inf
        return float(val) if np.isfinite(val) else math.inf
    return f


def _hessian(f, u):
    k = len(u)
    h = 1e-4 * (1.0 + np.abs(u))
    out = np.zeros((k, k))
    for i in range(k):
        for j in range(i, k):
            ei = np.zeros(k)
            ej = np.zeros(k)
            ei[i] = h[i]
            ej[j] = h[j]
            v = (f(u + ei + ej) - f(u + ei - ej) - f(u - ei + ej) + f(u - ei - ej)) / (
                4 * h[i] * h[j])
            out[i, j] = out[j, i] = v
    return out


def fit_family(family: str, x, censored=(), level: float = 0.95) -> DistFit:
    """Fit one family by maximum likelihood.

    Parameters
    ----------
    family : str
        One of ``CANDIDATES``.
    x : array_like of float
        Complete observations (> 0 for every family but the normal).
    censored : array_like of float
        Right-censored observations (the event had not happened after this long).
    level : float
        Confidence level of the intervals.

    Returns
    -------
    DistFit

    Raises
    ------
    FitError
        For fewer than ``MIN_SAMPLES`` complete observations.
    """
    x = np.asarray(x, float)
    c = np.asarray(censored, float)
    c = c[c > 0]
    n = len(x)
    if n < MIN_SAMPLES:
        raise FitError(f"{n} observations are too few to fit a distribution "
                       f"(need {MIN_SAMPLES}); record a longer period")
    z = stats.norm.ppf(0.5 + level / 2)
    names = PARAMS[family]
    if family == "exponential":
        total = x.sum() + c.sum()
        mean = total / n
        lo = 2 * total / stats.chi2.ppf(0.5 + level / 2, 2 * n)
        hi = 2 * total / stats.chi2.ppf(0.5 - level / 2, 2 * n)
        params = {"mean": Estimate(mean, lo, hi)}
        est = {"mean": mean}
        mean_est = params["mean"]
    else:
        if family == "normal":
            data = stats.CensoredData(uncensored=x, right=c) if len(c) else x
            loc, scale = stats.norm.fit(data)
            est = {"mean": float(loc), "sd": float(scale)}
        else:
            dist = {"gamma": stats.gamma, "lognormal": stats.lognorm,
                    "weibull": stats.weibull_min}[family]
            data = stats.CensoredData(uncensored=x, right=c) if len(c) else x
            shape, _, scale = dist.fit(data, floc=0)
            est = ({"mu": math.log(scale), "sigma": float(shape)} if family == "lognormal"
                   else {"shape": float(shape), "scale": float(scale)})
        u = np.array([math.log(est[k]) if _POSITIVE[k] else est[k] for k in names])
        f = _nll(family, names, x, c)
        try:
            cov = np.linalg.inv(_hessian(f, u))
            ok = np.all(np.isfinite(cov)) and np.all(np.diag(cov) > 0)
        except np.linalg.LinAlgError:
            ok = False
        if not ok:
            cov = np.full((len(u), len(u)), np.nan)
        params = {}
        for i, k in enumerate(names):
            se = math.sqrt(cov[i, i]) if ok else math.nan
            lo, hi = u[i] - z * se, u[i] + z * se
            params[k] = (Estimate(est[k], math.exp(lo), math.exp(hi)) if _POSITIVE[k]
                         else Estimate(est[k], lo, hi))

        def mean_of(uu):
            p = {k: (math.exp(v) if _POSITIVE[k] else v) for k, v in zip(names, uu, strict=True)}
            return float(frozen(family, p).mean())

        mu = mean_of(u)
        grad = np.array([(math.log(mean_of(u + e)) - math.log(mean_of(u - e))) / (2 * e.sum())
                         for e in np.eye(len(u)) * 1e-5]) if mu > 0 else np.zeros(len(u))
        se_log = math.sqrt(max(float(grad @ cov @ grad), 0.0)) if ok else math.nan
        mean_est = Estimate(mu, mu * math.exp(-z * se_log), mu * math.exp(z * se_log))
    d = frozen(family, est)
    loglik = float(np.sum(d.logpdf(x)) + (np.sum(d.logsf(c)) if len(c) else 0.0))
    ks = stats.kstest(x, d.cdf)
    return DistFit(family, params, mean_est, n, len(c), loglik, 2 * len(names) - 2 * loglik,
                   float(ks.statistic), float(ks.pvalue))


def fit_candidates(x, censored=(), families=CANDIDATES, level: float = 0.95) -> list[DistFit]:
    """Fit every family that can describe ``x``; returns the fits best (lowest AIC) first."""
    x = np.asarray(x, float)
    out = []
    for fam in families:
        if fam != "normal" and np.any(x <= 0):
            continue
        try:
            out.append(fit_family(fam, x, censored, level))
        except (FloatingPointError, RuntimeError, ValueError) as exc:
            if isinstance(exc, FitError):
                raise
    return sorted(out, key=lambda f: f.aic)
