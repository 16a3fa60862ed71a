"""Run a project: scenarios x replications of the twin kernel, in chunks, with progress.

``run_project`` is the one entry point the CLI, the workbench and the tests use. Each
replication runs in its own kernel state; replications run on worker threads (the kernel
releases the GIL), and each one advances in chunks so that progress shows and a cancel
request stops it within one chunk.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from kernels import types as kt
from twin import model as m
from twin.errors import ProjectError
from twin.lowering import Lowered, grow, lower, new_state, reserve_log
from twin.project import with_scenario
from twin.tasks import TaskState

CHUNKS = 64  # kernel calls per replication: progress granularity and cancel latency


@dataclass(frozen=True)
class RunSpec:
    """What to run: horizon and warm-up (s), replications, seed, sampling, state log."""

    horizon: float
    warmup: float = 0.0
    replications: int = 5
    seed: int = 1
    sample_interval: float = 0.0
    log: bool = False

    @classmethod
    def from_project(cls, project: m.Project, **overrides) -> RunSpec:
        rs = project.run
        base = dict(horizon=rs.horizon, warmup=rs.warmup, replications=rs.replications,
                    seed=rs.seed, sample_interval=rs.sample_interval)
        base.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**base)

    def check(self) -> None:
        from twin.errors import Problems

        p = Problems()
        if not self.horizon > 0:
            p.add("horizon", "must be > 0 seconds", self.horizon)
        if not 0 <= self.warmup < self.horizon:
            p.add("warmup", "must be >= 0 and shorter than the horizon", self.warmup)
        if self.replications < 1:
            p.add("replications", "must be >= 1", self.replications)
        if self.seed < 0:
            p.add("seed", "must be >= 0", self.seed)
        p.raise_if_any("the run settings")


@dataclass
class Replication:
    """The kernel's raw output of one replication (arrays; see ``kernels.types``)."""

    el_out: np.ndarray
    st_time: np.ndarray
    line_out: np.ndarray
    ts_line: np.ndarray
    ts_energy: np.ndarray
    ts_wear: np.ndarray
    ts_content: np.ndarray
    log: np.ndarray | None = None


@dataclass
class ScenarioResult:
    """All replications of one scenario, with what is needed to read them."""

    scenario: str
    lowered: Lowered
    project: m.Project
    replications: list[Replication] = field(default_factory=list)

    @property
    def ts_t(self) -> np.ndarray:
        return self.lowered.arrays.ts_t


@dataclass
class RunResult:
    spec: RunSpec
    scenarios: dict[str, ScenarioResult]

    def summary(self) -> dict:
        from twin.kpi import summarize

        return {name: summarize(sr) for name, sr in self.scenarios.items()}


def run_replication(low: Lowered, seed: int, replication: int, task: TaskState | None = None,
                    progress=None, state: kt.KernelState | None = None) -> Replication:
    """Run one replication from time 0 (or from ``state``) to the horizon."""
    from kernels.engine import run_until, start

    a = low.arrays
    if state is None:
        state = new_state(low, seed, replication, log_rows=4096)
        start(a, state)
    t0 = state.sf[kt.T_NOW]
    horizon = low.horizon
    for k in range(1, CHUNKS + 1):
        t_stop = t0 + (horizon - t0) * k / CHUNKS
        while (code := run_until(a, state, t_stop)) != kt.K_DONE:
            state = grow(state, code)
        if k == 1 and a.params[kt.P_LOG] > 0:
            # size the log once from the first chunk's rate instead of doubling it many times
            state = reserve_log(state, int(state.si[kt.S_LOG_N] * CHUNKS * 1.2) + 1024)
        if task is not None:
            task.check()
        if progress is not None:
            progress(k / CHUNKS)
    log = None
    if a.params[kt.P_LOG] > 0:
        n = state.si[kt.S_LOG_N]
        log = np.zeros(n, kt.LOG_DTYPE)
        log["time"] = state.log_t[:n]
        for c, name in enumerate(("element", "server", "state", "content")):
            log[name] = state.log_i[:n, c]
    return Replication(state.el_out.copy(), state.st_time.copy(), state.line_out.copy(),
                       state.ts_line.copy(), state.ts_energy.copy(), state.ts_wear.copy(),
                       state.ts_content.copy(), log)


def run_project(project: m.Project, scenarios: list[str] | None = None,
                spec: RunSpec | None = None, task: TaskState | None = None,
                workers: int | None = None) -> RunResult:
    """Run each scenario (``None`` or ``"base"``: the project as it is) for ``spec``.

    Every scenario uses the same seeds, replication by replication, and each element draws
    from its own random streams: scenario differences are measured with common random
    numbers. Raises ``ProjectError`` on a bad project or settings, ``Cancelled`` on cancel.
    """
    spec = spec or RunSpec.from_project(project)
    spec.check()
    names = list(scenarios or ["base"])
    lowered = {}
    for name in names:
        variant = with_scenario(project, name)
        try:
            lowered[name] = (variant, lower(variant, spec.horizon, spec.warmup,
                                            spec.sample_interval, spec.log))
        except ProjectError as e:
            raise ProjectError(e.problems, f"scenario {name!r}") from None
    jobs = [(name, r) for name in names for r in range(spec.replications)]
    done = np.zeros(len(jobs))

    def one(i):
        name, r = jobs[i]

        def progress(frac):
            done[i] = frac
            if task is not None:
                task.set_progress_value(100.0 * done.sum() / len(jobs))

        return run_replication(lowered[name][1], spec.seed, r, task, progress)

    n_workers = workers or min(len(jobs), os.cpu_count() or 1)
    if n_workers > 1 and len(jobs) > 1:
        # compile (or load from cache) once, then fan out
        outputs = [one(0)]
        with ThreadPoolExecutor(n_workers) as pool:
            outputs += list(pool.map(one, range(1, len(jobs))))
    else:
        outputs = [one(i) for i in range(len(jobs))]
    results = {name: ScenarioResult(name, lowered[name][1], lowered[name][0]) for name in names}
    for (name, _), rep in zip(jobs, outputs, strict=True):
        results[name].replications.append(rep)
    return RunResult(spec, results)
