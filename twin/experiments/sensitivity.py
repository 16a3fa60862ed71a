"""Which factors matter: Morris screening and Sobol' indices of a response, with SALib.

SALib draws the points over the factors' ranges and computes the indices with their
bootstrap confidence intervals; this module maps its unit samples to factor values, has the
points simulated (``twin.experiments.evaluate``: common random numbers across points, the
response averaged over the experiment's replications) and shapes the indices for a tornado
chart. Nothing here estimates an index itself.

- **Morris** (elementary effects; Morris 1991, Campolongo et al. 2007): ``mu_star``, the mean
  absolute effect of moving one factor by a step with the others held, ranks the factors in
  ``r (d + 1)`` runs; ``sigma`` large against ``mu_star`` means interactions or curvature.
- **Sobol'** (Saltelli 2002 and 2010 estimators on a scrambled Sobol' sequence): ``S1``, the
  share of the response's variance a factor explains alone, and ``ST``, its share with all its
  interactions, each with a confidence interval; ``N (d + 2)`` runs.

A factor given by levels is sampled as an index over its levels; an integer factor is
sampled over its range widened by half a unit each side and rounded, so every whole number
is equally likely. Both make the response piecewise constant in that factor, which the
indices handle.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from twin.errors import InputError
from twin.tasks import TaskState

#: Points -> one value of the response per point.
ResponseFn = Callable[[list[dict[str, float]]], np.ndarray]

METHODS = ("morris", "sobol")


class SensitivityError(InputError):
    """An analysis that cannot be made: fewer than two factors with a spread, too few
    samples, a response that is not finite at some point."""


def salib_problem(factors: Sequence) -> dict:
    """The SALib problem of ``factors``: each range as bounds, levels as an index range, a
    whole-number range widened by half a unit each side (so that rounding gives every whole
    number the same share, the ends included)."""
    bounds = []
    for f in factors:
        if f.levels is not None:
            bounds.append([0.0, float(len(f.levels))])
        elif f.integer:
            bounds.append([math.ceil(f.low) - 0.5, math.floor(f.high) + 0.5])
        else:
            bounds.append([float(f.low), float(f.high)])
    return {"num_vars": len(factors), "names": [f.name for f in factors], "bounds": bounds}


def factor_value(factor, x: float) -> float:
    """The value of ``factor`` at a sampled coordinate ``x`` (an index for levels)."""
    if factor.levels is not None:
        i = min(int(math.floor(x)), len(factor.levels) - 1)
        return float(factor.levels[max(i, 0)])
    if factor.integer:
        return float(min(max(math.floor(x + 0.5), math.ceil(factor.low)), math.floor(factor.high)))
    return float(x)


def points_of(factors: Sequence, x: np.ndarray) -> list[dict[str, float]]:
    """The design points of SALib's sample matrix ``x`` (rows: points)."""
    return [{f.name: factor_value(f, v) for f, v in zip(factors, row, strict=True)}
            for row in np.asarray(x, float)]


@dataclass(frozen=True)
class SensitivityResult:
    """Indices of one response over the factors.

    ``rows`` holds one dict per factor, in the factors' order: ``S1``, ``S1_conf``, ``ST``,
    ``ST_conf`` (Sobol') or ``mu``, ``mu_star``, ``mu_star_conf``, ``sigma`` (Morris); the
    ``_conf`` values are half-widths of ``confidence`` intervals (bootstrap).
    """

    method: str
    response: str
    factors: tuple[str, ...]
    rows: tuple[dict, ...]
    runs: int
    confidence: float

    @property
    def measure(self) -> str:
        """The index a tornado chart draws: ``ST`` (Sobol') or ``mu_star`` (Morris)."""
        return "ST" if self.method == "sobol" else "mu_star"

    def tornado(self) -> list[dict]:
        """Bars for a tornado chart, widest first: ``factor``, ``value`` (the measure),
        ``low``/``high`` (its confidence interval) and, for Sobol', ``first_order``."""
        m = self.measure
        bars = []
        for name, row in zip(self.factors, self.rows, strict=True):
            v, c = row[m], row[m + "_conf"]
            bar = {"factor": name, "value": v, "low": v - c, "high": v + c}
            if self.method == "sobol":
                bar["first_order"] = row["S1"]
            bars.append(bar)
        return sorted(bars, key=lambda b: -b["value"])

    def to_dict(self) -> dict:
        return {"method": self.method, "response": self.response, "runs": self.runs,
                "confidence": self.confidence, "measure": self.measure,
                "indices": {n: dict(r) for n, r in zip(self.factors, self.rows, strict=True)},
                "tornado": self.tornado()}


def _evaluated(response: ResponseFn, points: list[dict[str, float]], name: str) -> np.ndarray:
    y = np.asarray(response(points), float)
    if y.shape != (len(points),):
        raise SensitivityError(f"the response {name!r} gave {y.shape} values for "
                               f"{len(points)} points")
    bad = np.flatnonzero(~np.isfinite(y))
    if bad.size:
        raise SensitivityError(
            f"the response {name!r} is not finite at {bad.size} of {len(points)} points "
            f"(first: {points[bad[0]]}); narrow the factors' ranges or choose a response "
            "defined everywhere (a lead time needs parts to finish within the horizon)")
    return y


def _check_factors(factors: Sequence) -> None:
    if len(factors) < 2:
        raise SensitivityError(f"sensitivity needs at least 2 factors, got {len(factors)}; "
                               "add factors to the experiment")
    for f in factors:
        if f.levels is None and not (f.high > f.low):
            raise SensitivityError(f"factor {f.name!r} has no range ({f.low} .. {f.high}); "
                                   "give it a range or levels")
        if f.levels is not None and len(f.levels) < 2:
            raise SensitivityError(f"factor {f.name!r} has one level; give it two or more")


def sobol_indices(factors: Sequence, response: ResponseFn, *, base_samples: int = 256,
                  seed: int = 1, confidence: float = 0.95, resamples: int = 200,
                  name: str = "response") -> SensitivityResult:
    """First-order and total Sobol' indices of ``response`` over ``factors``.

    Parameters
    ----------
    factors : sequence of twin.experiments.spec.Factor
    response : callable
        Points -> one value per point.
    base_samples : int
        ``N``, a power of two; the response is evaluated at ``N (d + 2)`` points.
    seed : int
        Seeds the scrambled Sobol' sequence and the bootstrap.
    confidence : float
        Level of the bootstrap intervals.
    resamples : int
        Bootstrap resamples.
    name : str
        The response's name, for the result and messages.

    Returns
    -------
    SensitivityResult
    """
    from SALib.analyze import sobol as analyze
    from SALib.sample import sobol as sample

    _check_factors(factors)
    if base_samples < 2 or base_samples & (base_samples - 1):
        raise SensitivityError(f"Sobol' base samples must be a power of two (at least 2), "
                               f"got {base_samples}; e.g. 64, 256, 1024")
    problem = salib_problem(factors)
    x = sample.sample(problem, base_samples, calc_second_order=False, seed=seed)
    y = _evaluated(response, points_of(factors, x), name)
    si = analyze.analyze(problem, y, calc_second_order=False, num_resamples=resamples,
                         conf_level=confidence, seed=seed)
    rows = tuple({k: float(si[k][i]) for k in ("S1", "S1_conf", "ST", "ST_conf")}
                 for i in range(len(factors)))
    return SensitivityResult("sobol", name, tuple(f.name for f in factors), rows, len(y),
                             confidence)


def morris_screening(factors: Sequence, response: ResponseFn, *, trajectories: int = 20,
                     levels: int = 4, seed: int = 1, confidence: float = 0.95,
                     resamples: int = 200, name: str = "response") -> SensitivityResult:
    """Morris elementary effects of ``response`` over ``factors``.

    Parameters
    ----------
    factors : sequence of twin.experiments.spec.Factor
    response : callable
        Points -> one value per point.
    trajectories : int
        ``r``; the response is evaluated at ``r (d + 1)`` points.
    levels : int
        Grid levels per factor (even).
    seed, confidence, resamples, name
        As for :func:`sobol_indices`.

    Returns
    -------
    SensitivityResult
    """
    from SALib.analyze import morris as analyze
    from SALib.sample import morris as sample

    _check_factors(factors)
    if trajectories < 2:
        raise SensitivityError(f"Morris screening needs at least 2 trajectories, got "
                               f"{trajectories}")
    if levels < 2 or levels % 2:
        raise SensitivityError(f"Morris levels must be even and at least 2, got {levels}")
    problem = salib_problem(factors)
    x = sample.sample(problem, trajectories, num_levels=levels, seed=seed)
    y = _evaluated(response, points_of(factors, x), name)
    si = analyze.analyze(problem, x, y, num_resamples=resamples, conf_level=confidence,
                         num_levels=levels, seed=seed)
    rows = tuple({k: float(si[k][i]) for k in ("mu", "mu_star", "mu_star_conf", "sigma")}
                 for i in range(len(factors)))
    return SensitivityResult("morris", name, tuple(f.name for f in factors), rows, len(y),
                             confidence)


def response_of(project, experiment, response: str, *, evaluate=None, executor=None,
                task: TaskState | None = None) -> ResponseFn:
    """Points -> the mean of ``response`` over the experiment's replications at each point,
    simulated by ``evaluate`` (default ``twin.experiments.evaluate.evaluate``, bound to the
    experiment's horizon, warm-up and margin as optimisation binds it) with common random
    numbers across points."""
    from twin.experiments.optimize import project_evaluator

    run = project_evaluator(project, experiment, evaluate=evaluate, executor=executor,
                            task=task)

    def mean_response(points: list[dict[str, float]]) -> np.ndarray:
        out = run(points, experiment.replications, experiment.seed)
        return np.array([mean_of(o, response) for o in out])

    return mean_response


def check_response(project, experiment, response: str) -> None:
    """Raise ``SensitivityError`` unless a run of ``project`` reports ``response`` (before
    anything is simulated)."""
    from twin.experiments.spec import kpi_names

    if response == "profit" and experiment.margin is None:
        raise SensitivityError(f"experiment {experiment.name!r} gives no margin per good part, "
                               "so there is no profit; add \"margin_per_good_part\" or choose "
                               "another response")
    if response in ("cost", "budget", "profit"):
        return
    known = kpi_names(project)
    if response not in known:
        import difflib

        close = difflib.get_close_matches(response, known, 3, 0.6)
        hint = f"did you mean {', '.join(close)}?" if close else (
            "`twinbench run --json` lists the KPIs of this project")
        raise SensitivityError(f"no response {response!r} in a run of this project; {hint}")


def mean_of(values: Mapping[str, np.ndarray], response: str) -> float:
    """The mean of ``response`` over a point's replications; an unknown name is an error
    listing the known ones."""
    if response not in values:
        known = ", ".join(sorted(values)[:12])
        raise SensitivityError(f"no response {response!r}; the run reports {known}, ...")
    return float(np.mean(values[response]))


def sensitivity(project, experiment, *, method: str = "sobol", response: str | None = None,
                samples: int | None = None, evaluate=None, executor=None,
                task: TaskState | None = None) -> SensitivityResult:
    """Morris screening or Sobol' indices of one of the experiment's responses (default the
    first) over its factors, every point simulated through ``evaluate``.

    ``samples``: Morris trajectories (default 20) or the Sobol' base sample ``N`` (default
    256, a power of two). Each point runs the experiment's ``replications`` (a fixed number:
    ``precision`` is a study's setting). ``project`` None: ``evaluate`` alone knows the
    responses (a test function).
    """
    if method not in METHODS:
        raise SensitivityError(f"unknown sensitivity method {method!r}; use one of "
                               f"{', '.join(METHODS)}")
    name = response or experiment.responses[0]
    if project is not None:
        check_response(project, experiment, name)
    fn = response_of(project, experiment, name, evaluate=evaluate, executor=executor,
                     task=task)
    if method == "morris":
        return morris_screening(experiment.factors, fn, trajectories=samples or 20,
                                seed=experiment.seed, name=name)
    return sobol_indices(experiment.factors, fn, base_samples=samples or 256,
                         seed=experiment.seed, name=name)
