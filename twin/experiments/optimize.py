"""Optimise an experiment's objectives over its factors with Optuna, then select the best
with a statistical guarantee.

1. **Search** (Optuna; nothing here is an optimiser): TPE for one objective, NSGA-II for
   several, each seeded, with the experiment's constraints given to Optuna as each trial's
   constraint values (``Trial.set_constraint``: feasible when every value is <= 0). Trials are
   asked in batches and every batch's points are simulated in one call of ``evaluate``, so
   the points of a batch run side by side on the executor; each point runs the experiment's
   replications with common random numbers (replication ``r`` uses the same streams at every
   point). A point asked again is not simulated again, and a point over the ``budget``
   constraint (the factors' cost, known without simulating) is not simulated at all; the
   search runs until it has simulated ``trials`` distinct points, or has seen every point
   of a discrete space, or has asked ``ASKS_PER_TRIAL`` times as many trials. With one
   objective the search then checks the best point's neighbourhood: the points one step
   away in a discrete factor, or one step up in one and down in another (``neighbours``),
   that were not tried are enqueued as Optuna trials, and again
   around a new best, until the best has no untried neighbour (or half the trials again
   were spent). Samplers work poorly on small integer spaces (TPE tried the optimum of a
   12-point M/M/c cost model in 16 of 59 seeded searches of 6 points); this "clean-up"
   makes the winner at least a local optimum, as in Xu, Nelson and Hong's Industrial
   Strength COMPASS (2010), whose clean-up phase also ends in ranking and selection.
2. **Selection** (one objective): the best few distinct feasible points of the search are
   simulated again with fresh random numbers (a seed derived from the experiment's, so the
   luck that put them on top does not carry over) and the winner is chosen by the
   Nelson-Matejcik procedure (``twin.experiments.selection``): "the best, with 95%
   confidence, among these, or within delta of it".
   With several objectives the Pareto front's points are simulated again the same way and
   reported with their intervals; the planner picks one.
3. The chosen point becomes a scenario of the project (``optimum_command``: the
   ``AddScenario`` command the workbench pushes on its undo stack, or the CLI applies).

Everything is deterministic for a seed: Optuna's samplers are seeded, the batch size is
fixed, and the simulation's streams follow the seed.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from twin.errors import InputError
from twin.experiments.selection import Selection, select_best
from twin.experiments.spec import Constraint, Experiment, Factor, Objective, budget_of
from twin.model import elements as m
from twin.sim.stats import mean_ci
from twin.tasks import TaskState

#: ``evaluator(points, replications, seed)`` -> one ``{response: per-replication values}``
#: per point (``twin.experiments.evaluate.evaluate`` bound to a project).
Evaluator = Callable[[list[dict[str, float]], int, int], list[dict[str, np.ndarray]]]

SENSES = ("min", "max")
#: The search stops after this many trials per point to simulate, even if it has not found
#: that many distinct points within the budget (a space mostly over it).
ASKS_PER_TRIAL = 20


class OptimizationError(InputError):
    """An optimisation that cannot run as set up: no objective, a factor without a range,
    no trials, a scenario name that is taken."""


@dataclass(frozen=True)
class Settings:
    """How the search and the selection run (defaults: the experiment's, then these)."""

    #: Distinct points the search simulates (a trial that asks for a point simulated
    #: already, or one over the budget, costs no simulation and does not count).
    trials: int = 60
    batch: int = 4
    candidates: int = 5
    confidence: float = 0.95
    #: Indifference zone in the first objective's units; None: 1% of the best mean.
    delta: float | None = None
    #: Cap on the replications of the selection (its guarantee widens above it).
    max_replications: int = 200


@dataclass(frozen=True)
class TrialResult:
    """One trial of the search: its point, the means of the responses it was judged by,
    how far over each constraint it is (<= 0: within), and whether its point was simulated
    (by this trial or an earlier one that asked for the same point; not when it is over
    the budget)."""

    number: int
    point: dict[str, float]
    means: dict[str, float]
    violations: tuple[float, ...]
    simulated: bool

    @property
    def feasible(self) -> bool:
        return all(v <= 0.0 for v in self.violations)


@dataclass(frozen=True)
class Candidate:
    """A point simulated again for the report: the mean and 95% half-width of each
    objective and constrained response over the selection's replications."""

    point: dict[str, float]
    stats: dict[str, dict[str, float]]
    feasible: bool


@dataclass(frozen=True)
class OptimizationResult:
    """What ``optimize`` found. ``best`` is the selected point (one objective), or None
    when no feasible point was found or there are several objectives (then ``candidates``
    is the Pareto front, simulated again)."""

    experiment: str
    factors: tuple[str, ...]
    objectives: tuple[Objective, ...]
    constraints: tuple[Constraint, ...]
    sampler: str
    trials: tuple[TrialResult, ...]
    candidates: tuple[Candidate, ...]
    selection: Selection | None
    best: dict[str, float] | None
    seed: int
    notes: tuple[str, ...] = field(default=())

    @property
    def simulated_points(self) -> int:
        """Distinct points the search simulated."""
        return len({_point_key(t.point) for t in self.trials if t.simulated})

    def to_dict(self) -> dict:
        return {
            "experiment": self.experiment, "factors": list(self.factors),
            "objectives": [{"response": o.response, "sense": o.sense}
                           for o in self.objectives],
            "constraints": [{"response": c.response, "min": c.min, "max": c.max}
                            for c in self.constraints],
            "sampler": self.sampler, "seed": self.seed,
            "trials": [{"number": t.number, "point": t.point, "means": t.means,
                        "feasible": t.feasible, "simulated": t.simulated}
                       for t in self.trials],
            "candidates": [{"point": c.point, "responses": c.stats, "feasible": c.feasible}
                           for c in self.candidates],
            "selection": None if self.selection is None else self.selection.to_dict(),
            "best": self.best, "notes": list(self.notes)}


# --- the search ----------------------------------------------------------------------------
def _check(factors: Sequence[Factor], objectives: Sequence[Objective],
           settings: Settings) -> None:
    if not objectives:
        raise OptimizationError("the experiment has no objectives; add one, e.g. "
                                "\"objectives\": [{\"response\": \"profit\", \"sense\": "
                                "\"max\"}] (docs/experiments.md)")
    for o in objectives:
        if o.sense not in SENSES:
            raise OptimizationError(f"objective {o.response!r}: sense {o.sense!r} is not "
                                    "'min' or 'max'")
    if not factors:
        raise OptimizationError("the experiment has no factors to optimise over")
    for f in factors:
        if f.levels is None and not (f.low is not None and f.high is not None
                                     and f.high >= f.low):
            raise OptimizationError(f"factor {f.name!r} needs a range low <= high or levels")
        if f.integer and f.levels is None and math.ceil(f.low) > math.floor(f.high):
            raise OptimizationError(f"integer factor {f.name!r} has no whole number between "
                                    f"{f.low} and {f.high}")
    if settings.trials < 1 or settings.batch < 1 or settings.candidates < 1:
        raise OptimizationError(f"trials ({settings.trials}), batch ({settings.batch}) and "
                                f"candidates ({settings.candidates}) must be at least 1")


def _suggest(trial, f: Factor) -> float:
    """The trial's value of ``f``: a level, a whole number or a real in the range."""
    if f.levels is not None:
        return float(trial.suggest_categorical(f.name, [float(v) for v in f.levels]))
    if f.integer:
        return float(trial.suggest_int(f.name, math.ceil(f.low), math.floor(f.high)))
    return float(trial.suggest_float(f.name, float(f.low), float(f.high)))


def violations(constraints: Sequence[Constraint], means: Mapping[str, float]) -> tuple:
    """How far each constraint is exceeded (<= 0: met) at responses ``means``; a response
    that is not a number (no part finished) violates its constraint."""
    out = []
    for c in constraints:
        v = means.get(c.response, math.nan)
        worst = 0.0 if c.min is None and c.max is None else -math.inf
        if c.min is not None:
            worst = max(worst, c.min - v)
        if c.max is not None:
            worst = max(worst, v - c.max)
        out.append(1e300 if math.isnan(worst) else float(worst))
    return tuple(out)


def _sampler(objectives, seed: int, trials: int, batch: int):
    """Optuna's sampler for the objectives; constraints reach it through each trial's
    ``set_constraint`` (Optuna 5)."""
    import optuna

    if len(objectives) == 1:
        return optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=min(10, max(2, trials // 4)), multivariate=True,
            constant_liar=batch > 1), "TPE"
    population = max(4, min(50, trials // 5))
    return optuna.samplers.NSGAIISampler(seed=seed, population_size=population), "NSGA-II"


def _bounds(c: Constraint) -> str:
    return " and ".join(x for x in (f">= {c.min:g}" if c.min is not None else "",
                                    f"<= {c.max:g}" if c.max is not None else "") if x)


def space_size(factors: Sequence[Factor]) -> float:
    """How many points the factors span (``inf`` with a continuous factor)."""
    n = 1.0
    for f in factors:
        if f.levels is not None:
            n *= len(set(f.levels))
        elif f.integer:
            n *= math.floor(f.high) - math.ceil(f.low) + 1
        else:
            return math.inf
    return n


def _steps(f: Factor, v: float) -> tuple[float | None, float | None]:
    """The values one step below and above ``v`` of a discrete factor (None: none)."""
    if f.levels is not None:
        lv = sorted({float(x) for x in f.levels})
        i = lv.index(v)
        return (lv[i - 1] if i > 0 else None), (lv[i + 1] if i + 1 < len(lv) else None)
    down, up = v - 1, v + 1
    return (down if down >= math.ceil(f.low) else None), (up if up <= math.floor(f.high)
                                                           else None)


def neighbours(factors: Sequence[Factor], point: Mapping[str, float]) -> list[dict]:
    """The points next to ``point``: one step (the next whole number, or the next level) in
    one discrete factor, or a step up in one and down in another (a trade, as of places
    between two buffers under one budget). Continuous factors stay."""
    steps = {f.name: _steps(f, point[f.name]) for f in factors
             if f.levels is not None or f.integer}
    out = [{**point, n: x} for n, st in steps.items() for x in st if x is not None]
    names = list(steps)
    for a in names:
        for b in names:
            if a != b and steps[a][1] is not None and steps[b][0] is not None:
                out.append({**point, a: steps[a][1], b: steps[b][0]})
    return out


def _point_key(point: Mapping[str, float]) -> tuple:
    return tuple(sorted(point.items()))


def search(factors: Sequence[Factor], objectives: Sequence[Objective],
           constraints: Sequence[Constraint], evaluator: Evaluator, *, replications: int,
           seed: int, settings: Settings = Settings(), task: TaskState | None = None,
           progress: tuple[float, float] = (0.0, 100.0)
           ) -> tuple[list[TrialResult], str, object]:
    """Run the Optuna search; return its trials, the sampler's name and the Optuna study."""
    import optuna

    _check(factors, objectives, settings)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler, name = _sampler(objectives, seed, settings.trials, settings.batch)
    study = optuna.create_study(directions=[
        "minimize" if o.sense == "min" else "maximize" for o in objectives], sampler=sampler)
    judged = list(dict.fromkeys([*(o.response for o in objectives),
                                 *(c.response for c in constraints)]))
    cache: dict[tuple, dict[str, float]] = {}
    out: list[TrialResult] = []
    lo, hi = progress
    size = space_size(factors)
    seen: set[tuple] = set()
    budget_only = [c for c in constraints if c.response == "budget"]

    def run(asked: list) -> None:
        """Simulate the new points of the ``asked`` trials and tell Optuna their values."""
        points = [{f.name: _suggest(t, f) for f in factors} for t in asked]
        seen.update(_point_key(p) for p in points)
        budgets = [budget_of(factors, p) for p in points]
        over = [any(v > 0 for v in violations(budget_only, {"budget": b})) for b in budgets]
        new = list({_point_key(p): p for p, o in zip(points, over, strict=True)
                    if not o and _point_key(p) not in cache}.values())
        if new:
            for p, res in zip(new, evaluator(new, replications, seed), strict=True):
                cache[_point_key(p)] = {k: float(np.nanmean(v)) if np.any(~np.isnan(v))
                                        else math.nan for k, v in res.items()}
        for t, p, b, o in zip(asked, points, budgets, over, strict=True):
            means = ({"budget": b} if o else dict(cache[_point_key(p)]))
            viol = violations(constraints, means)
            if not o and any(ob.response not in means for ob in objectives):
                known = ", ".join(sorted(means)[:10])
                raise OptimizationError(f"no response named in the objectives: "
                                        f"{[ob.response for ob in objectives]}; the run "
                                        f"reports {known}, ...")
            # Optuna fails a trial whose value is NaN and may ask for it again: an
            # infeasible or undefined point gets the worst value instead (its rank among
            # feasible points does not matter: the constraint or the value rules it out)
            values = [means.get(ob.response, math.nan) for ob in objectives]
            values = [(math.inf if ob.sense == "min" else -math.inf) if math.isnan(v) else v
                      for ob, v in zip(objectives, values, strict=True)]
            for k, (c, v) in enumerate(zip(constraints, viol, strict=True)):
                t.set_constraint(f"{k}: {c.response} {_bounds(c)}", v)
            study.tell(t, values if len(values) > 1 else values[0])
            out.append(TrialResult(t.number, p, {k: means.get(k, math.nan) for k in judged
                                                 if k in means}, viol, not o))
        if task is not None:
            task.set_progress_value(lo + (hi - lo) * min(1.0, len(cache) / settings.trials))

    while (len(cache) < settings.trials and len(seen) < size
           and len(out) < ASKS_PER_TRIAL * settings.trials):
        if task is not None:
            task.check()
        run([study.ask() for _ in range(min(settings.batch, settings.trials - len(cache)))])
    if len(objectives) == 1:  # the neighbourhood of the best point, until it is the best
        extra = len(cache) + max(2 * len(factors), settings.trials // 2)
        while len(cache) < extra:
            top = _top(out, objectives[0], 1)
            todo = [n for n in neighbours(factors, top[0]) if _point_key(n) not in seen
                    ] if top else []
            if not todo:
                break
            if task is not None:
                task.check()
            for n in todo[:extra - len(cache)]:
                study.enqueue_trial({f.name: int(n[f.name]) if f.integer and f.levels is None
                                     else n[f.name] for f in factors})
            run([study.ask() for _ in todo[:extra - len(cache)]])
    return out, name, study


# --- candidates and selection ----------------------------------------------------------------
def selection_seed(seed: int) -> int:
    """The seed of the selection's replications: derived from the experiment's, different
    from it, the same on every run."""
    return int(np.random.SeedSequence([seed, 17]).generate_state(1, np.uint64)[0] >> 1)


def _top(trials: Sequence[TrialResult], objective: Objective, k: int) -> list[dict]:
    """The ``k`` best distinct feasible points of the search by their search mean."""
    sign = 1.0 if objective.sense == "min" else -1.0
    ok = [t for t in trials if t.simulated and t.feasible
          and math.isfinite(t.means.get(objective.response, math.nan))]
    ok.sort(key=lambda t: (sign * t.means[objective.response], t.number))
    seen: dict[tuple, dict] = {}
    for t in ok:
        seen.setdefault(_point_key(t.point), t.point)
        if len(seen) == k:
            break
    return list(seen.values())


def _candidates(points, runs, responses, constraints) -> list[Candidate]:
    out = []
    for p, r in zip(points, runs, strict=True):
        stats = {k: mean_ci(r[k]) for k in responses if k in r}
        means = {k: s["mean"] for k, s in stats.items()}
        out.append(Candidate(p, stats, all(v <= 0 for v in violations(constraints, means))))
    return out


def optimize_with(factors: Sequence[Factor], objectives: Sequence[Objective],
                  constraints: Sequence[Constraint], evaluator: Evaluator, *,
                  replications: int, seed: int, settings: Settings = Settings(),
                  task: TaskState | None = None, experiment: str = "") -> OptimizationResult:
    """Search, then select (one objective) or re-simulate the Pareto front (several).

    Parameters
    ----------
    factors, objectives, constraints
        What to vary, what to optimise, what to respect (``twin.experiments.spec``).
    evaluator : callable
        ``evaluator(points, replications, seed)``: per point, each response's values per
        replication, with common random numbers across the points of a call.
    replications : int
        Per point during the search, and the selection's first stage (at least 2).
    seed : int
        Seeds the sampler and the simulation.
    settings : Settings
    task : TaskState, optional
        Progress (search up to 70%, then selection) and cancel.
    experiment : str
        Its name, for the report.

    Returns
    -------
    OptimizationResult
    """
    trials, sampler, study = search(factors, objectives, constraints, evaluator,
                                    replications=replications, seed=seed, settings=settings,
                                    task=task, progress=(0.0, 70.0))
    judged = list(dict.fromkeys([*(o.response for o in objectives),
                                 *(c.response for c in constraints)]))
    sel_seed = selection_seed(seed)
    notes: list[str] = []
    if len(objectives) == 1:
        obj = objectives[0]
        top = _top(trials, obj, settings.candidates)
        if not top:
            notes.append("no feasible point was found: loosen the constraints, widen the "
                         "factors' ranges or run more trials")
            return OptimizationResult(experiment, tuple(f.name for f in factors),
                                      tuple(objectives), tuple(constraints), sampler,
                                      tuple(trials), (), None, None, seed, tuple(notes))
        runs: dict[int, list] = {}

        def sample(n: int) -> np.ndarray:
            if task is not None:
                task.check()
            runs[n] = evaluator(top, n, sel_seed)
            return np.array([r[obj.response][:n] for r in runs[n]])

        delta = settings.delta
        if delta is None:
            best_mean = abs(next(t.means[obj.response] for t in trials
                                 if _point_key(t.point) == _point_key(top[0])))
            delta = 0.01 * best_mean if best_mean > 0 else 1e-9
            notes.append(f"indifference zone: 1% of the best search mean ({delta:.4g}); "
                         "set it with --delta")
        first = max(2, replications)
        sel = select_best(sample, len(top), delta=delta, confidence=settings.confidence,
                          first_stage=first, maximize=obj.sense == "max",
                          max_replications=max(first, settings.max_replications),
                          labels=tuple(_label(p) for p in top))
        if task is not None:
            task.set_progress_value(100.0)
        cands = _candidates(top, runs[max(runs)], judged, constraints)
        if not cands[sel.best].feasible:
            notes.append("the selected point misses a constraint on the selection's "
                         "replications: the constraint is close to binding there")
        if sel.capped:
            notes.append(f"the replication cap ({sel.replications}) widened the "
                         f"indifference zone from {sel.delta_asked:.4g} to {sel.delta:.4g}")
        return OptimizationResult(experiment, tuple(f.name for f in factors), tuple(objectives),
                                  tuple(constraints), sampler, tuple(trials), tuple(cands),
                                  sel, dict(top[sel.best]), seed, tuple(notes))
    # several objectives: the feasible Pareto front, simulated again for its intervals
    front_numbers = {t.number for t in study.best_trials}
    front = list({_point_key(t.point): t.point for t in trials
                  if t.number in front_numbers and t.simulated and t.feasible}.values())
    cands: list[Candidate] = []
    if front:
        n = max(2 * replications, 10)
        cands = _candidates(front, evaluator(front, n, sel_seed), judged, constraints)
    else:
        notes.append("no feasible point was found")
    if task is not None:
        task.set_progress_value(100.0)
    return OptimizationResult(experiment, tuple(f.name for f in factors), tuple(objectives),
                              tuple(constraints), sampler, tuple(trials), tuple(cands), None,
                              None, seed, tuple(notes))


def _label(point: Mapping[str, float]) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in point.items())


# --- the project's side -----------------------------------------------------------------
def project_evaluator(project: m.Project, experiment: Experiment, *, evaluate=None,
                      executor=None, task: TaskState | None = None) -> Evaluator:
    """``evaluate`` (default ``twin.experiments.evaluate.evaluate``) bound to the project
    and the experiment's horizon, warm-up and margin; replications as asked (fixed)."""
    if evaluate is None:
        from twin.experiments.evaluate import evaluate

    def run(points, replications, seed):
        return evaluate(project, experiment.factors, points, replications, seed,
                        executor=executor, task=task, horizon=experiment.horizon,
                        warmup=experiment.warmup, margin=experiment.margin)

    return run


def optimize(project: m.Project, experiment: Experiment, *, trials: int | None = None,
             settings: Settings | None = None, evaluate=None, executor=None,
             task: TaskState | None = None) -> OptimizationResult:
    """Optimise ``experiment``'s objectives over its factors (see the module docstring).

    ``trials`` (distinct points to simulate): default the experiment's, then
    ``settings.trials``. ``evaluate``: the
    simulation (default ``twin.experiments.evaluate.evaluate``; a test may pass another
    with the same signature).
    """
    settings = settings or Settings()
    settings = dataclasses.replace(settings,
                                   trials=trials or experiment.trials or settings.trials)
    # the progress of each evaluate call would run 0..100 again: only its cancel is passed
    inner = _CancelOnly(task) if task is not None else None
    ev = project_evaluator(project, experiment, evaluate=evaluate, executor=executor,
                           task=inner)
    return optimize_with(experiment.factors, experiment.objectives, experiment.constraints,
                         ev, replications=experiment.replications, seed=experiment.seed,
                         settings=settings, task=task, experiment=experiment.name)


class _CancelOnly(TaskState):
    """The cancel flag of ``outer`` without its progress (an inner step's 0..100)."""

    def __init__(self, outer: TaskState):
        super().__init__()
        self._outer = outer

    def is_interruption_requested(self) -> bool:
        return self._outer.is_interruption_requested()

    def check(self) -> None:
        self._outer.check()

    def request_interruption(self) -> None:
        self._outer.request_interruption()


def optimum_command(project: m.Project, factors: Sequence[Factor],
                    point: Mapping[str, float], name: str, description: str = ""):
    """The ``AddScenario`` command that adds ``point`` as scenario ``name`` (not applied):
    the workbench pushes it on its undo stack, the CLI does it and saves.

    Raises
    ------
    OptimizationError
        The name is taken or not a valid scenario name.
    """
    from twin.experiments.evaluate import point_overrides
    from twin.model import commands as cmd

    check_scenario_name(project, name)
    return cmd.AddScenario(name, point_overrides(factors, point), description)


def check_scenario_name(project: m.Project, name: str) -> None:
    """Raise ``OptimizationError`` unless ``name`` can name a new scenario of ``project``
    (checked before a search, so that a long one is not run for nothing)."""
    from twin.model import commands as cmd

    try:
        cmd.check_scenario_name(project, name)
    except ValueError as e:
        raise OptimizationError(f"--save-scenario {name!r}: {e}") from None
