"""A study: every design point of an experiment simulated, stored as it finishes, resumable.

:func:`run_study` makes the design (``twin.experiments.design``), runs the points not yet
done (``twin.experiments.evaluate``: common random numbers, replications fixed or to a
precision) on an executor (a ``spawn`` process pool by default, or Dask), writes each
finished point to the study file (``twin.experiments.store``) and returns a
:class:`StudyResult`: per point the factors' values and, per response, the mean and 95%
half-width over its replications. The CLI (``twinbench study``), the workbench's
Experiments dock and the tests call the same function.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from twin.errors import InputError, Problems
from twin.experiments.design import experiment_points
from twin.experiments.evaluate import PointDone, base_document, evaluate
from twin.experiments.spec import Experiment, experiment, kpi_names
from twin.experiments.store import StudyFile
from twin.model import elements as m
from twin.projectfile.experiments import experiment_to_json, read_experiments
from twin.sim.executors import Executor, make_executor
from twin.sim.runner import RunSpec
from twin.sim.stats import mean_ci
from twin.tasks import TaskState

#: Where a study runs unless told: all cores, in ``spawn``-ed processes.
DEFAULT_EXECUTOR = "processes"
#: The most a study keeps (every KPI of every replication of every point, in memory and in
#: its file): 1,000 points x 250 KPIs x 100 replications is 0.2 GB.
MAX_STUDY_BYTES = 2e9


class StudyError(InputError):
    """A study too big to keep (the message gives its size and what to lower)."""


@dataclass
class StudyResult:
    """The points of a study and their responses.

    ``values[name]`` is float64 ``(points, cap)``, NaN past a point's replications (and for
    points not done: a cancelled study); ``replications`` how many each point has.
    """

    experiment: Experiment
    points: list[dict[str, float]]
    names: list[str]
    values: dict[str, np.ndarray]
    replications: np.ndarray
    done: np.ndarray
    resumed: int = 0
    path: str | None = None
    horizon: float = 0.0
    warmup: float = 0.0
    _stats: dict = field(default_factory=dict, repr=False)

    @property
    def finished(self) -> bool:
        return bool(self.done.all())

    def stat(self, response: str, i: int) -> dict:
        """``{"mean", "ci95_halfwidth"}`` of ``response`` at point ``i`` (``mean_ci``)."""
        key = (response, i)
        if key not in self._stats:
            n = int(self.replications[i])
            self._stats[key] = mean_ci(self.values[response][i, :n]) if n else {
                "mean": math.nan, "ci95_halfwidth": math.nan}
        return self._stats[key]

    def rows(self, responses: Sequence[str] | None = None) -> list[dict]:
        """One dict per point: ``point`` (its number), the factors' values, ``replications``
        and, per response, its mean and half-width (the ``--json`` form)."""
        responses = list(responses or self.experiment.responses)
        out = []
        for i, p in enumerate(self.points):
            row: dict = {"point": i, "factors": dict(p), "done": bool(self.done[i]),
                         "replications": int(self.replications[i])}
            row["responses"] = {r: self.stat(r, i) for r in responses}
            out.append(row)
        return out

    def to_json(self) -> dict:
        """The whole study as ``twinbench study --json`` prints it."""
        return {"experiment": self.experiment.name, "design": self.experiment.design,
                "factors": [f.name for f in self.experiment.factors],
                "responses": list(self.experiment.responses),
                "seed": self.experiment.seed, "horizon_s": self.horizon,
                "warmup_s": self.warmup,
                "precision": self.experiment.precision,
                "replications_cap": self.experiment.replications,
                "points": self.rows(), "done": int(self.done.sum()),
                "resumed": self.resumed, "file": self.path}


def response_names(project: m.Project, exp: Experiment) -> list[str]:
    """Everything a study stores per replication: every KPI, ``budget``, ``cost`` and (with
    a margin) ``profit``."""
    return [*kpi_names(project), "budget", "cost", *(["profit"] if exp.margin is not None
                                                     else [])]


def run_study(project: m.Project, exp: Experiment | str, *, out: str | os.PathLike | None = None,
              resume: bool = False, overwrite: bool = False,
              executor: Executor | str | None = None, workers: int | None = None,
              task: TaskState | None = None, on_point: PointDone | None = None,
              horizon: float | None = None,
              points_done: Callable[[int, int], None] | None = None) -> StudyResult:
    """Run the experiment ``exp`` (or the project's experiment of that name).

    Parameters
    ----------
    out : path, optional
        The study file (HDF5): every finished point is written to it at once.
    resume : bool
        Continue the study in ``out``: points done there are not run again. The file must
        be of this experiment and project (else ``StudyFileError``).
    overwrite : bool
        Replace an existing ``out`` (otherwise an existing file is refused).
    executor, workers
        Where the points run (``twin.sim.executors.make_executor``): a ``spawn`` process
        pool of ``workers`` by default, or a ``DaskExecutor``.
    task : TaskState, optional
        Progress (per round of jobs) and cancel. A cancelled study raises ``Cancelled``;
        the points finished by then are in ``out``.
    on_point : callable, optional
        ``on_point(i, responses)`` as each point finishes (after it is stored).
    horizon : float, optional
        Seconds; the experiment's horizon, else the project's.
    points_done : callable, optional
        ``points_done(done, total)`` as points finish (the CLI's counter).

    Raises
    ------
    ProjectError, DesignError, StudyFileError
        A bad experiment, design point or study file, before anything runs.
    """
    if isinstance(exp, str):
        exp = experiment(project, exp)
    points = experiment_points(exp)
    spec = RunSpec.from_project(project, horizon=horizon or exp.horizon, warmup=exp.warmup)
    spec.check()
    names = response_names(project, exp)
    size = len(points) * len(names) * exp.replications * 8
    if size > MAX_STUDY_BYTES:
        raise StudyError(
            f"the study would keep {size / 1e9:.1f} GB of results ({len(points):,} points x "
            f"{len(names)} KPIs x up to {exp.replications:,} replications); at most "
            f"{MAX_STUDY_BYTES / 1e9:g} GB: give fewer points or a lower replications cap")
    factor_names = [f.name for f in exp.factors]
    store: StudyFile | None = None
    skip: list[int] = []
    exp_json, doc = experiment_to_json(exp), base_document(project)
    if horizon is not None:
        exp_json = {**exp_json, "horizon": horizon}  # a file is of the horizon it ran
    if out is not None and resume:
        store = StudyFile.resume(out, exp_json, doc, points)
        skip = [int(i) for i in np.flatnonzero(store.done)]
    elif out is not None:
        store = StudyFile.create(out, exp_json, doc, factor_names, points, names,
                                 exp.replications, spec.horizon, spec.warmup, overwrite)
    total, count = len(points), [len(skip)]
    values = {n: np.full((total, exp.replications), np.nan) for n in names}
    reps = np.zeros(total, np.int64)
    done = np.zeros(total, bool)

    def keep(i: int, responses: Mapping[str, np.ndarray]) -> None:
        n = len(next(iter(responses.values())))
        for name in names:
            if name in responses:
                values[name][i, :n] = responses[name]
        reps[i], done[i] = n, True

    def finished(i: int, responses: dict[str, np.ndarray]) -> None:
        if store is not None:
            store.write_point(i, responses)
        keep(i, responses)
        count[0] += 1
        if points_done is not None:
            points_done(count[0], total)
        if on_point is not None:
            on_point(i, responses)

    try:
        for i in skip:
            keep(i, store.point(i))  # type: ignore[union-attr]
        ex = make_executor(executor or DEFAULT_EXECUTOR, workers)
        # an executor made here is ours to open and close (a process pool then serves every
        # round of a precision study); one handed in is the caller's
        owned = ex if ex is not executor and hasattr(ex, "__enter__") else nullcontext()
        if len(skip) < total:
            with owned:
                evaluate(project, exp.factors, points, exp.replications, exp.seed,
                         executor=ex, task=task, horizon=spec.horizon, warmup=spec.warmup,
                         margin=exp.margin, precision=exp.precision,
                         primary=exp.responses[0], on_point=finished, skip=skip)
    except BaseException:
        if store is not None and not resume and count[0] == 0:
            store.close()  # nothing of this new study was done: leave no file to refuse
            Path(out).unlink(missing_ok=True)  # type: ignore[arg-type]
        raise
    finally:
        if store is not None:
            store.close()
    return StudyResult(exp, points, names, values, reps, done, len(skip),
                       None if out is None else str(out), spec.horizon, spec.warmup)


def read_study(path: str | os.PathLike) -> StudyResult:
    """A study file read back as a :class:`StudyResult` (done or not)."""
    with StudyFile.read(path) as f:
        problems = Problems()
        exps = read_experiments([f.experiment_json], "$.experiment", problems)
        problems.raise_if_any(str(path))
        kpis, reps, done = f.arrays()
        names = f.names
        fnames, design = f.design()
        horizon, warmup = float(f.f.attrs["horizon_s"]), float(f.f.attrs["warmup_s"])
    points = [dict(zip(fnames, map(float, row), strict=True)) for row in design]
    values = {n: kpis[:, k, :] for k, n in enumerate(names)}
    return StudyResult(exps[0], points, names, values, reps.astype(np.int64), done,
                       int(done.sum()), str(path), horizon, warmup)
