"""Simulate design points: every point with common random numbers, replications fixed or
sequential to a precision, on any executor.

A design point is a scenario made of one override per factor (``twin.projectfile``'s
addressing, ``apply_overrides``), read by the project reader (so a point the reader refuses
fails with its reason) and lowered. What goes to a worker is a :class:`PointJob`, picklable:
for jobs in this process (threads) the lowered arrays, made on the caller's thread; for a
process pool or a Dask cluster the project document and the point (:class:`PointModel`),
read and lowered by the worker, so that a cluster reads its points in parallel. The worker
runs the replications with the state log off and sends back only KPIs (one float per KPI
and replication), so a study of 1,000 points never holds a state log or a time series.

Common random numbers: replication ``r`` of every point draws from the streams of
``(seed, r, element id, purpose)`` (``twin.sim.lowering.stream_seeds``), so the differences
between points are measured with the same randomness, and the same seed gives the same
numbers on every executor and machine.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from twin.errors import ProjectError
from twin.model import elements as m
from twin.model.experiments import Factor
from twin.projectfile.orders import orders_to_json
from twin.projectfile.reader import (
    absolute_files,
    apply_overrides,
    project_from_json,
    project_to_json,
)
from twin.sim.executors import Executor, JobContext, make_executor
from twin.sim.lowering import Lowered, lower
from twin.sim.runner import RunSpec, run_replication
from twin.sim.stats import t975
from twin.tasks import Cancelled, TaskState

#: Replications a point gets first when it runs to a precision (the half-width needs some).
FIRST_REPLICATIONS = 3

#: ``on_point(index, responses)``: a point's results are final (all its replications ran).
PointDone = Callable[[int, dict[str, np.ndarray]], None]


@dataclass(frozen=True)
class PointModel:
    """How a worker process makes a design point's model: the base document and the point,
    read and lowered there (JSON in, so that a cluster reads its points in parallel)."""

    doc: dict
    factors: tuple[Factor, ...]
    point: dict
    label: str
    horizon: float
    warmup: float
    sample_interval: float

    def make(self) -> tuple[Lowered, m.Tariff | None]:
        """The lowered model and the tariff; ``ProjectError`` for a point the reader
        refuses."""
        variant = point_project(self.doc, self.factors, self.point, self.label)
        return (lower(variant, self.horizon, self.warmup, self.sample_interval, False),
                variant.tariff)


@dataclass(frozen=True)
class PointJob:
    """Some replications of one design point: picklable, for any executor. The model comes
    lowered (``lowered`` and ``tariff``: made on the caller's thread, for jobs in this
    process) or as a :class:`PointModel` that the worker process reads and lowers."""

    lowered: Lowered | None
    tariff: m.Tariff | None
    seed: int
    replications: tuple[int, ...]
    budget: float = 0.0
    margin: float | None = None
    model: PointModel | None = None
    calendar: m.Calendar | None = None  # the figures per shift (factors do not vary it)


class _KpiView:
    """What ``twin.sim.summary.replication_kpis`` reads of a scenario result, without the
    (psygnal) project: the lowered model, the tariff and the sample times."""

    def __init__(self, lowered: Lowered, tariff: m.Tariff | None,
                 calendar: m.Calendar | None = None):
        self.lowered, self.tariff, self.calendar = lowered, tariff, calendar

    @property
    def project(self):
        return self  # replication_kpis reads sr.project.tariff

    @property
    def ts_t(self) -> np.ndarray:
        return self.lowered.arrays.ts_t


def run_point(job: PointJob, ctx: JobContext | None = None) -> dict[str, np.ndarray]:
    """Run the job's replications and reduce each to its KPIs (an executor job).

    Returns ``{response: values}``, one value per replication of the job in its order: every
    KPI of ``replication_kpis``, and ``budget``, ``cost`` and (with a margin) ``profit``.
    """
    from twin.sim.summary import replication_kpis

    lowered, tariff = (job.lowered, job.tariff) if job.model is None else job.model.make()
    view = _KpiView(lowered, tariff, job.calendar)
    rows = []
    n = len(job.replications)
    for k, r in enumerate(job.replications):
        rep = run_replication(lowered, job.seed, r)
        row = replication_kpis(view, rep)
        row["budget"] = job.budget
        row["cost"] = row.get("line.energy_cost", 0.0) + job.budget
        if job.margin is not None:
            row["profit"] = job.margin * row["line.good_parts"] - row["cost"]
        rows.append(row)
        if ctx is not None:
            ctx.progress((k + 1) / n)
            ctx.check()
    return {key: np.array([row[key] for row in rows], float) for key in rows[0]}


def point_overrides(factors: Sequence[Factor], point: Mapping[str, float]
                    ) -> tuple[m.Override, ...]:
    """The overrides that make ``point`` of the design: one per factor, integer factors
    as whole numbers (the reader refuses 3.0 servers no more than 3, but the file says 3)."""
    return tuple(m.Override(f.path, int(round(point[f.name])) if f.integer
                            else float(point[f.name]), f.element) for f in factors)


def point_project(base_doc: dict, factors: Sequence[Factor], point: Mapping[str, float],
                  label: str = "design point") -> m.Project:
    """The project at ``point``: ``base_doc`` (a project document without scenarios or
    experiments) with the factors' overrides applied, read by the project reader.

    Raises
    ------
    ProjectError
        The point gives no valid project (its problems, under the point's values).
    """
    scenario = m.Scenario(label, point_overrides(factors, point))
    where = f"{label} ({', '.join(f'{k}={v:g}' for k, v in point.items())})"
    try:
        return project_from_json(apply_overrides(base_doc, scenario))
    except KeyError as e:
        raise ProjectError([], f"{where}: {e.args[0]}") from None
    except ProjectError as e:
        raise ProjectError(e.problems, where) from None


def base_document(project: m.Project) -> dict:
    """``project``'s document without its scenarios and experiments (what points apply to)."""
    # tariff CSVs (issue 19) by absolute path: points are read away from the folder
    doc = absolute_files(project_to_json(project), getattr(project, "path", None))
    for i, el in enumerate(project.elements):  # an orders CSV: its orders inline (issue 18)
        if isinstance(el, m.Source) and el.orders is not None and el.orders_file:
            doc["elements"][i]["orders"] = orders_to_json(el.orders)
    doc.pop("scenarios", None)
    doc.pop("experiments", None)
    return doc


def relative_halfwidth(values: np.ndarray) -> float:
    """The 95% half-width of the mean of ``values`` over ``|mean|`` (inf when it cannot be
    told: under two values, a zero mean with spread; 0 when there is no spread)."""
    x = np.asarray(values, float)
    x = x[~np.isnan(x)]
    if x.size < 2:
        return math.inf
    sd = float(x.std(ddof=1))
    mean = abs(float(x.mean()))
    if sd <= 1e-12 * mean or sd == 0.0:
        return 0.0
    if mean == 0.0:
        return math.inf
    return t975(x.size - 1) * sd / math.sqrt(x.size) / mean


def replications_needed(values: np.ndarray, precision: float, cap: int) -> int:
    """How many replications the point needs in all for a relative half-width of
    ``precision``, from those so far (``n * (h / precision)^2``, at least one more, at most
    ``cap``); ``len(values)`` when it has the precision already."""
    n = len(values)
    h = relative_halfwidth(values)
    if h <= precision:
        return n
    if not math.isfinite(h):
        return min(cap, 2 * n)
    return min(cap, max(n + 1, math.ceil(n * (h / precision) ** 2)))


def evaluate(project: m.Project, factors: Sequence[Factor],
             points: Sequence[Mapping[str, float]], replications: int, seed: int, *,
             executor: Executor | str | None = None, task: TaskState | None = None,
             horizon: float | None = None, warmup: float | None = None,
             margin: float | None = None, precision: float | None = None,
             primary: str = "line.throughput_per_hour",
             on_point: PointDone | None = None,
             skip: Sequence[int] = ()) -> list[dict[str, np.ndarray] | None]:
    """Simulate every design point; one ``{response: per-replication values}`` per point.

    Parameters
    ----------
    project : Project
        Built on the caller's thread; only its document crosses to workers, lowered.
    factors, points
        The factors and the design (``{factor name: value}``, ``twin.experiments.design``).
    replications : int
        Replications per point; with ``precision``, the cap.
    seed : int
        Replication ``r`` uses the streams of ``(seed, r)`` at every point.
    executor : Executor or str, optional
        ``twin.sim.executors.make_executor``: threads by default; a study passes
        ``"processes"`` or a Dask executor.
    horizon, warmup : float, optional
        Seconds; the project's run settings by default.
    margin : float, optional
        Margin per good part: adds the ``profit`` response.
    precision : float, optional
        Run each point sequentially (3 replications, then as many more as the half-width
        says) until the 95% half-width of ``primary`` over its mean is below this, or the
        cap is reached. Replications stay paired across points: a point's ``r``-th value is
        replication ``r`` wherever it ran.
    on_point : callable, optional
        ``on_point(i, responses)`` in the calling thread when point ``i`` is final.
    skip : sequence of int
        Points not to run (a resumed study has them already): ``None`` in the result.

    Returns
    -------
    list of dict
        ``responses[name]``: float64 values, one per replication (``len`` may differ
        between points with ``precision``).

    Raises
    ------
    ProjectError
        A point gives no valid project: before anything runs when the jobs run in this
        process; from the worker that reads it otherwise (the points finished by then were
        handed to ``on_point``).
    Cancelled
        ``task`` asked to stop; the points finished by then were handed to ``on_point``.
    """
    spec = RunSpec.from_project(project, horizon=horizon, warmup=warmup)
    base = base_document(project)
    todo = [i for i in range(len(points)) if i not in set(skip)]
    budgets = {i: sum(f.cost_per_unit * points[i][f.name] for f in factors) for i in todo}
    ex = make_executor(executor)
    models = {i: PointModel(base, tuple(factors), dict(points[i]), f"design point {i}",
                            spec.horizon, spec.warmup, spec.sample_interval) for i in todo}
    lowered: dict[int, tuple[Lowered | None, m.Tariff | None]] = dict.fromkeys(
        todo, (None, None))
    if ex.in_process:  # built here, on the caller's thread (models are psygnal objects)
        for i in todo:  # all of them first: a bad point stops the study before it runs
            lowered[i] = models[i].make()
    # in other processes each job reads and lowers its point: in parallel, on the cluster
    cap = replications
    first = min(cap, FIRST_REPLICATIONS) if precision is not None else cap
    results: list[dict[str, np.ndarray] | None] = [None] * len(points)
    want = dict.fromkeys(todo, first)  # point -> replications it needs in all
    have: dict[int, dict[str, np.ndarray]] = {}
    while want:
        order = list(want)
        jobs = [PointJob(lowered[i][0], lowered[i][1], seed,
                         tuple(range(_count(have.get(i)), want[i])), budgets[i], margin,
                         None if lowered[i][0] is not None else models[i], project.calendar)
                for i in order]

        def finished(k: int, out: dict[str, np.ndarray], order=order) -> None:
            i = order[k]
            got = out if i not in have else {
                key: np.concatenate([have[i][key], out[key]]) for key in out}
            have[i] = got
            if precision is not None and primary not in got:
                raise ProjectError([], f"the primary response {primary!r} is not a KPI of "
                                   "this project's runs (twin.experiments.spec.kpi_names)")
            need = (replications_needed(got[primary], precision, cap)
                    if precision is not None else _count(got))
            if need <= _count(got):
                results[i] = got
                if on_point is not None:
                    on_point(i, got)

        ex.map(run_point, jobs, task, partial=True, done=finished)
        if task is not None and task.is_interruption_requested():
            raise Cancelled("cancelled by the user")
        want = {}
        for i in order:
            if results[i] is None:
                if i not in have:  # a job that returned nothing: only a cancel does that
                    raise Cancelled("cancelled by the user")
                want[i] = replications_needed(have[i][primary], precision, cap)
    return results


def _count(responses: dict[str, np.ndarray] | None) -> int:
    """How many replications ``responses`` holds."""
    if not responses:
        return 0
    return len(next(iter(responses.values())))
