"""Random distributions of times: how a project writes them, checks them and lowers them.

A distribution is written in a project as a JSON object with a ``dist`` name and its
parameters, all times in seconds::

    {"dist": "exponential", "mean": 60}
    {"dist": "triangular", "low": 50, "mode": 60, "high": 90}
    {"dist": "lognormal", "mean": 60, "sd": 15}          (or "mu"/"sigma" of log-time)
    {"dist": "gamma", "shape": 2, "scale": 30}           (or "mean"/"sd")
    {"dist": "weibull", "shape": 1.5, "scale": 3600}
    {"dist": "empirical", "values": [58, 61, 60, 75]}    (resampled; "interpolate": true
                                                          draws between sorted values)

A bare number is a constant. New distributions are added to ``REGISTRY`` with
``@distribution``; each lowers itself to a kernel code and four parameters
(``kernels.types.D_*``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from kernels import types as kt
from twin import limits
from twin.errors import Problems

#: Parameters that are times in seconds (bounded by ``limits.MAX_TIME_S``).
TIME_PARAMS = ("value", "mean", "sd", "low", "mode", "high", "scale")
_LOG_MAX_TIME = math.log(limits.MAX_TIME_S)


@dataclass(frozen=True)
class Distribution:
    """A distribution as written in the project: its name and its parameters (seconds)."""

    dist: str
    params: dict = field(default_factory=dict)

    def to_json(self) -> dict | float:
        if self.dist == "constant" and set(self.params) == {"value"}:
            return self.params["value"]
        return {"dist": self.dist, **self.params}

    def lower(self) -> tuple[int, tuple[float, float, float, float], tuple[float, ...]]:
        """Kernel code, four parameters and, for empirical data, the observed values."""
        return REGISTRY[self.dist].lower(self.params)

    @property
    def mean(self) -> float:
        return REGISTRY[self.dist].mean(self.params)

    def __str__(self) -> str:
        inner = ", ".join(f"{k}={v:g}" if isinstance(v, float | int) else f"{k}=[...]"
                          for k, v in self.params.items())
        return f"{self.dist}({inner})"


@dataclass(frozen=True)
class DistSpec:
    name: str
    forms: tuple[tuple[str, ...], ...]  # accepted parameter sets
    check: Callable[[dict, Callable[[str, str], None]], None]
    lower: Callable[[dict], tuple]
    mean: Callable[[dict], float]


REGISTRY: dict[str, DistSpec] = {}


def distribution(name: str, *forms: tuple[str, ...]):
    """Register a distribution: ``forms`` are the accepted parameter sets."""

    def deco(cls):
        REGISTRY[name] = DistSpec(name, forms, cls.check, cls.lower, cls.mean)
        return cls

    return deco


def _pos(p: dict, key: str, err, strict: bool = True) -> None:
    v = p[key]
    if not (v > 0 if strict else v >= 0):
        err(key, f"must be {'>' if strict else '>='} 0")


@distribution("constant", ("value",))
class _Constant:
    check = staticmethod(lambda p, err: _pos(p, "value", err, strict=False))
    lower = staticmethod(lambda p: (kt.D_CONSTANT, (p["value"], 0.0, 0.0, 0.0), ()))
    mean = staticmethod(lambda p: p["value"])


@distribution("exponential", ("mean",), ("rate",))
class _Exponential:
    @staticmethod
    def check(p, err):
        _pos(p, "mean" if "mean" in p else "rate", err)
        if "rate" in p and 0 < p["rate"] < 1.0 / limits.MAX_TIME_S:
            err("rate", f"must be at least {1.0 / limits.MAX_TIME_S:g} per second (a mean "
                f"of at most {limits.MAX_TIME_S:g} s)")

    @staticmethod
    def lower(p):
        return kt.D_EXPONENTIAL, (_Exponential.mean(p), 0.0, 0.0, 0.0), ()

    mean = staticmethod(lambda p: p["mean"] if "mean" in p else 1.0 / p["rate"])


@distribution("uniform", ("low", "high"))
class _Uniform:
    @staticmethod
    def check(p, err):
        _pos(p, "low", err, strict=False)
        if p["high"] < p["low"]:
            err("high", f"must be >= low ({p['low']})")

    lower = staticmethod(lambda p: (kt.D_UNIFORM, (p["low"], p["high"], 0.0, 0.0), ()))
    mean = staticmethod(lambda p: 0.5 * (p["low"] + p["high"]))


@distribution("triangular", ("low", "mode", "high"))
class _Triangular:
    @staticmethod
    def check(p, err):
        _pos(p, "low", err, strict=False)
        if not p["low"] <= p["mode"] <= p["high"]:
            err("mode", f"must lie between low ({p['low']}) and high ({p['high']})")
        if p["high"] <= p["low"]:
            err("high", f"must be > low ({p['low']}); use a constant for a fixed time")

    lower = staticmethod(lambda p: (kt.D_TRIANGULAR, (p["low"], p["mode"], p["high"], 0.0), ()))
    mean = staticmethod(lambda p: (p["low"] + p["mode"] + p["high"]) / 3.0)


def _truncated_normal_mean(mu: float, sd: float) -> float:
    if sd == 0:
        return max(mu, 0.0)
    a = -mu / sd
    phi = math.exp(-0.5 * a * a) / math.sqrt(2 * math.pi)
    tail = 0.5 * math.erfc(a / math.sqrt(2))
    return mu + sd * phi / tail


@distribution("normal", ("mean", "sd"))
class _Normal:
    @staticmethod
    def check(p, err):
        _pos(p, "sd", err, strict=False)
        if p["mean"] <= 0:
            err("mean", "must be > 0 (the distribution is truncated at 0)")
        elif p["sd"] > 0 and p["mean"] / p["sd"] < -3:
            err("mean", "is so far below 0 that almost every draw would be rejected")

    lower = staticmethod(lambda p: (kt.D_NORMAL, (p["mean"], p["sd"], 0.0, 0.0), ()))
    mean = staticmethod(lambda p: _truncated_normal_mean(p["mean"], p["sd"]))


@distribution("lognormal", ("mean", "sd"), ("mu", "sigma"))
class _Lognormal:
    @staticmethod
    def check(p, err):
        if "mean" in p:
            _pos(p, "mean", err)
            _pos(p, "sd", err, strict=False)
            if p["mean"] > 0 and p["sd"] > limits.MAX_CV * p["mean"]:
                err("sd", f"must be at most {limits.MAX_CV:g} times the mean (a coefficient "
                    "of variation beyond that overflows the kernel's parameters)")
        else:
            _pos(p, "sigma", err, strict=False)
            # the mean exp(mu + sigma^2 / 2) must be a time, not an overflow
            if p["sigma"] >= 0 and p["mu"] + 0.5 * p["sigma"] * p["sigma"] > _LOG_MAX_TIME:
                err("mu", f"with sigma {p['sigma']:g} gives a mean time of "
                    f"e^(mu + sigma^2/2), beyond {limits.MAX_TIME_S:g} s: mu + sigma^2/2 must "
                    f"be at most {_LOG_MAX_TIME:.4g}")

    @staticmethod
    def _mu_sigma(p):
        if "mu" in p:
            return p["mu"], p["sigma"]
        s2 = math.log(1.0 + (p["sd"] / p["mean"]) ** 2)
        return math.log(p["mean"]) - 0.5 * s2, math.sqrt(s2)

    @staticmethod
    def lower(p):
        mu, sigma = _Lognormal._mu_sigma(p)
        return kt.D_LOGNORMAL, (mu, sigma, 0.0, 0.0), ()

    @staticmethod
    def mean(p):
        mu, sigma = _Lognormal._mu_sigma(p)
        return math.exp(mu + 0.5 * sigma * sigma)


@distribution("gamma", ("shape", "scale"), ("mean", "sd"))
class _Gamma:
    @staticmethod
    def check(p, err):
        for k in p:
            _pos(p, k, err)
        if any(v <= 0 for v in p.values()):
            return
        lo, hi = limits.GAMMA_SHAPE
        if "shape" in p:
            if not lo <= p["shape"] <= hi:
                err("shape", f"must be from {lo:g} to {hi:g}")
            elif p["shape"] * p["scale"] > limits.MAX_TIME_S:
                err("scale", f"gives a mean time (shape x scale) beyond {limits.MAX_TIME_S:g} s")
        elif not lo <= (p["mean"] / p["sd"]) * (p["mean"] / p["sd"]) <= hi:
            err("sd", f"must lie between mean / {hi ** 0.5:g} and mean / {lo ** 0.5:g} (a shape "
                f"(mean/sd)^2 from {lo:g} to {hi:g})")

    @staticmethod
    def _shape_scale(p):
        if "shape" in p:
            return p["shape"], p["scale"]
        return (p["mean"] / p["sd"]) ** 2, p["sd"] ** 2 / p["mean"]

    @staticmethod
    def lower(p):
        k, theta = _Gamma._shape_scale(p)
        return kt.D_GAMMA, (k, theta, 0.0, 0.0), ()

    @staticmethod
    def mean(p):
        k, theta = _Gamma._shape_scale(p)
        return k * theta


@distribution("weibull", ("shape", "scale"))
class _Weibull:
    @staticmethod
    def check(p, err):
        _pos(p, "shape", err)
        _pos(p, "scale", err)
        lo, hi = limits.WEIBULL_SHAPE
        if p["shape"] > 0 and not lo <= p["shape"] <= hi:
            err("shape", f"must be from {lo:g} to {hi:g} (below, draws overflow)")
        elif p["scale"] > 0 and p["shape"] > 0 and (
                math.log(p["scale"]) + math.lgamma(1.0 + 1.0 / p["shape"]) > _LOG_MAX_TIME):
            err("scale", f"gives a mean time (scale x gamma(1 + 1/shape)) beyond "
                f"{limits.MAX_TIME_S:g} s")

    lower = staticmethod(lambda p: (kt.D_WEIBULL, (p["shape"], p["scale"], 0.0, 0.0), ()))
    mean = staticmethod(lambda p: p["scale"] * math.gamma(1.0 + 1.0 / p["shape"]))


@distribution("empirical", ("values",), ("values", "interpolate"))
class _Empirical:
    @staticmethod
    def check(p, err):
        vals = p["values"]
        if not isinstance(vals, list | tuple) or not vals:
            err("values", "must be a non-empty list of observed times (s)")
            return
        if len(vals) > limits.MAX_EMPIRICAL_VALUES:
            err("values", f"{len(vals):,} values: at most {limits.MAX_EMPIRICAL_VALUES:,}; "
                "fit a distribution or resample them")
            return
        for v in vals:
            if (isinstance(v, bool) or not isinstance(v, int | float)
                    or not 0 <= v <= limits.MAX_TIME_S):
                err("values", f"every observed value must be a number from 0 to "
                    f"{limits.MAX_TIME_S:g} s; {v!r} is not")
                return
        if p.get("interpolate", False) not in (True, False):
            err("interpolate", "must be true or false")

    @staticmethod
    def lower(p):
        vals = tuple(sorted(float(v) for v in p["values"]))
        return kt.D_EMPIRICAL, (0.0, float(len(vals)), float(bool(p.get("interpolate"))), 0.0), vals

    @staticmethod
    def mean(p):
        vals = sorted(float(v) for v in p["values"])
        if p.get("interpolate") and len(vals) > 1:
            return sum((a + b) / 2 for a, b in zip(vals, vals[1:], strict=False)) / (len(vals) - 1)
        return sum(vals) / len(vals)


def parse_distribution(obj, path: str, problems: Problems) -> Distribution | None:
    """Read a distribution from its JSON form, adding every problem found to ``problems``."""
    bare = isinstance(obj, int | float) and not isinstance(obj, bool)
    if bare:
        obj = {"dist": "constant", "value": obj}

    def where(k: str) -> str:  # a bare number's problem is named where the number stands
        return path if bare else f"{path}.{k}"

    if not isinstance(obj, dict):
        problems.add(path, 'expected a distribution such as {"dist": "exponential", "mean": 60}'
                     " or a number of seconds", obj)
        return None
    name = obj.get("dist")
    if not isinstance(name, str) or name not in REGISTRY:
        problems.add(f"{path}.dist", f"unknown distribution; expected one of {sorted(REGISTRY)}",
                     name)
        return None
    spec = REGISTRY[name]
    params = {k: v for k, v in obj.items() if k != "dist"}
    form = next((f for f in spec.forms if set(f) == set(params)), None)
    if form is None:
        wanted = " or ".join("{" + ", ".join(f) + "}" for f in spec.forms)
        problems.add(path, f"{name} takes the parameters {wanted}", sorted(params))
        return None
    ok = True
    for k, v in params.items():
        if k in ("values", "interpolate"):
            continue
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            problems.add(where(k), "must be a finite number", v)
            ok = False
        elif k in TIME_PARAMS and abs(v) > limits.MAX_TIME_S:
            problems.add(where(k), f"must be at most {limits.MAX_TIME_S:g} s (about 317 "
                         "years; a longer time means never)", v)
            ok = False
    if not ok:
        return None
    n0 = len(problems.items)
    spec.check(params, lambda k, msg: problems.add(where(k), msg, params.get(k)))
    if len(problems.items) > n0:
        return None
    return Distribution(name, dict(params))


def constant(value: float) -> Distribution:
    return Distribution("constant", {"value": float(value)})


def exponential(mean: float) -> Distribution:
    return Distribution("exponential", {"mean": float(mean)})
