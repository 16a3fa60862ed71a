"""Run a project: scenarios x replications of the twin kernel, in chunks, with progress.

``run_project`` is the one entry point the CLI, the workbench and the tests use. Each
replication runs in its own kernel state; replications run on worker threads (the kernel
releases the GIL), and each one advances in chunks so that progress shows and a cancel
request stops it within one chunk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from kernels import types as kt
from kernels.warmup import compiled_kernels
from twin.errors import ProjectError
from twin.limits import check_run_settings
from twin.model import elements as m
from twin.projectfile.reader import require_runnable, scenario_variants
from twin.sim.executors import Executor, JobContext, make_executor
from twin.sim.lowering import Lowered, grow, lower, new_state
from twin.sim.restart_energy import kernel_arrays
from twin.sim.workers import pool_results
from twin.tasks import Cancelled, TaskState

CHUNKS = 64  # kernel calls per replication: progress granularity and cancel latency
#: The ``kt.LOG_DTYPE`` field each column of the kernel's ``log_i`` goes to.
LOG_FIELDS = {"element": kt.LG_EL, "server": kt.LG_SERVER, "state": kt.LG_STATE,
              "content": kt.LG_CONTENT}


@dataclass(frozen=True)
class RunSpec:
    """What to run: horizon and warm-up (s), replications, seed, sampling, state log.

    ``log`` records the kernel's state log (playback, Gantt, ``state_log`` in results
    files). ``log_only`` keeps it for these ``(scenario, replication)`` pairs only (the
    workbench keeps the one it plays back); the others run with the log off. A 2000-day
    replication of a small line logs 16 million rows, 400 MB: keeping every log of a run of
    2 scenarios x 4 replications wrote 3.2 GB of fresh memory, the worker spent over a
    quarter of its time in page faults, and on a VM that hands freed memory back to its host
    (virtio-balloon free page reporting) that traffic stalled the workbench's event loop
    (``benchmarks/bench_gui.py``). ``RunResult.state_log`` makes any replication's log again
    on demand, row for row the same (same seed, same replication).
    """

    horizon: float
    warmup: float = 0.0
    replications: int = 5
    seed: int = 1
    sample_interval: float = 0.0
    log: bool = False
    log_only: tuple[tuple[str, int], ...] | None = None

    @classmethod
    def from_project(cls, project: m.Project, **overrides) -> RunSpec:
        rs = project.run
        base = dict(horizon=rs.horizon, warmup=rs.warmup, replications=rs.replications,
                    seed=rs.seed, sample_interval=rs.sample_interval)
        base.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**base)

    def check(self) -> None:
        """Raise ``ProjectError`` naming each setting out of its range (``twin.limits``:
        horizon up to ten years, replications up to 10,000, seed below 2**63, at most
        100,000 samples). How big the run would be is :func:`twin.sim.estimate.estimate_run`'s
        question."""
        from twin.errors import Problems

        p = Problems()
        check_run_settings(self.horizon, self.warmup, self.replications, self.seed,
                           self.sample_interval, p)
        p.raise_if_any(what="the run settings")


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
    wk_out: np.ndarray | None = None  # per pool: worker-seconds per WS_* state, WO_* (issue 18)
    bom_out: np.ndarray | None = None  # per assembly input: kernels.types BO_* columns
    ord_out: np.ndarray | None = None  # per schedule row: orders' OS_* columns (issue 18 §4)

    # Readers ask these for a meaning; the columns behind them are kernels.types' names.
    def good_parts(self) -> np.ndarray:
        """Good parts at the sinks since time 0 at each sample (float64, (n_samples,))."""
        return self.ts_line[:, kt.TS_GOOD]

    def wip(self) -> np.ndarray:
        """Parts in the line at each sample (float64, (n_samples,))."""
        return self.ts_line[:, kt.TS_WIP]

    def power_kw(self) -> np.ndarray:
        """Total power the stations draw at each sample, kW (float64, (n_samples,))."""
        return self.ts_line[:, kt.TS_POWER]

    def state_seconds(self, e: int, state: int) -> float:
        """Server-seconds element ``e`` spent in ``state`` (a ``kt`` state code) after the
        warm-up, summed over its servers."""
        return self.st_time[e, state]

    def state_fraction(self, e: int, state: int) -> float:
        """The share of element ``e``'s observed server time spent in ``state`` (a ``kt``
        state code); NaN when it has none (not a station, or nothing observed)."""
        total = self.st_time[e].sum()
        return self.st_time[e, state] / total if total > 0 else math.nan

    def worker_kpis(self, k: int, count: int) -> dict[str, float]:
        """Pool ``k``'s (of ``count`` people) figures after the warm-up
        (``twin.sim.workers.pool_kpis``)."""
        from twin.sim.workers import pool_kpis

        return pool_kpis(self.wk_out[k], count)


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
    """Every scenario's replications. A cancelled run keeps the replications it finished
    (``spec.replications`` of them, in every scenario); ``requested`` is how many were
    asked for."""

    spec: RunSpec
    scenarios: dict[str, ScenarioResult]
    cancelled: bool = False
    requested: int | None = None

    def outcome(self) -> str:
        """What ran, in words: "10 replications", or "3 of 10 replications, cancelled"."""
        n = self.spec.replications
        if not self.cancelled:
            return f"{n} replication{'' if n == 1 else 's'}"
        return f"{n} of {self.requested} replications, cancelled"

    def summary(self) -> dict:
        from twin.sim.summary import summarize

        return {name: summarize(sr) for name, sr in self.scenarios.items()}

    def state_log(self, scenario: str, replication: int, task: TaskState | None = None,
                  keep: bool = True) -> np.ndarray:
        """The state log (``kt.LOG_DTYPE`` records) of one replication of ``scenario``.

        A log the run kept is returned as is; otherwise the replication runs once more with
        its log on (a few seconds for 2000 days), from the same seed and replication number,
        so it is the log the run would have kept, row for row. ``keep`` stores it on the
        replication; a caller writing many (``write_results``) passes False and holds one at
        a time. Raises ``Cancelled`` when ``task`` asks to stop.
        """
        sr = self.scenarios[scenario]
        rep = sr.replications[replication]
        if rep.log is not None:
            return rep.log
        log = run_replication(_log_on(sr.lowered, True), self.spec.seed, replication, task).log
        if keep:
            rep.log = log
        return log


def _log_on(low: Lowered, on: bool) -> Lowered:
    """``low`` with the kernel's state log switched on or off (the trajectory is the same)."""
    if (low.arrays.params[kt.P_LOG] > 0) == on:
        return low
    params = low.arrays.params.copy()
    params[kt.P_LOG] = float(on)
    return Lowered(**{**vars(low), "arrays": low.arrays._replace(params=params)})


def _packed(dtype: np.dtype) -> bool:
    """True when ``dtype`` is an f8 time then four i4 fields, 24 bytes: then the records can
    be written through plain float64 and int32 views of them."""
    if dtype.names is None:
        return False
    want = {"time": ("<f8", 0), "element": ("<i4", 8), "server": ("<i4", 12),
            "state": ("<i4", 16), "content": ("<i4", 20)}
    got = {name: (dtype.fields[name][0].str, dtype.fields[name][1]) for name in dtype.names}
    return dtype.itemsize == 24 and got == want


_PACKED = _packed(kt.LOG_DTYPE)


def _log_records(log_t: np.ndarray, log_i: np.ndarray, out: np.ndarray) -> None:
    """Write the first ``len(out)`` rows of the kernel's state-log columns into ``out``
    (``kt.LOG_DTYPE`` records).

    Two NumPy copies through plain views of the records (the time column, then the four
    integer columns at once, cast to int32) instead of one per field: each copy releases the
    GIL, and the worker takes it back twice per chunk rather than once per field and block.
    """
    n = len(out)
    if _PACKED:
        out.view(np.float64).reshape(n, 3)[:, 0] = log_t[:n]
        out.view(np.int32).reshape(n, 6)[:, 2:] = log_i[:n]
    else:  # another record layout: field by field
        out["time"] = log_t[:n]
        for name, c in LOG_FIELDS.items():
            out[name] = log_i[:n, c]


class _LogSink:
    """A replication's state log as ``kt.LOG_DTYPE`` records, filled chunk by chunk.

    After each chunk the kernel's new log rows move here and its row count goes back to 0,
    so the kernel's log columns hold one chunk (a few MB, reused) instead of the whole run:
    for 2000 days of the small test line they grew to 790 MB per replication, besides the
    395 MB of records kept (peak memory of 2 scenarios x 2 replications: 2.46 GB before,
    1.79 GB now), and a rate estimate that fell short doubled them with a copy. Room for the
    records is reserved from the rate so far: pages never written are never touched, so a
    generous reserve costs no memory.
    """

    def __init__(self):
        self.out = np.zeros(0, kt.LOG_DTYPE)
        self.n = 0

    def take(self, state: kt.KernelState, done: float) -> None:
        """Move the log rows out of ``state``; ``done`` is the fraction of the run behind."""
        k = int(state.si[kt.S_LOG_N])
        if self.n + k > len(self.out):
            rows = int((self.n + k) / max(done, 1.0 / CHUNKS) * 1.25) + 1024
            grown = np.empty(max(rows, 2 * len(self.out)), kt.LOG_DTYPE)
            grown[:self.n] = self.out[:self.n]
            self.out = grown
        _log_records(state.log_t, state.log_i, self.out[self.n:self.n + k])
        self.n += k
        state.si[kt.S_LOG_N] = 0

    def records(self) -> np.ndarray:
        """The records (the sink is spent): the unused reserve is given back in place."""
        out, self.out = self.out, None
        out.resize(self.n, refcheck=False)  # no views of it remain; the tail goes back as is
        return out


def run_replication(low: Lowered, seed: int, replication: int, task: TaskState | None = None,
                    progress=None, state: kt.KernelState | None = None,
                    chunks: int = CHUNKS) -> Replication:
    """Run one replication from time 0 (or from ``state``) to the horizon, in ``chunks``
    kernel calls (progress after each; a short replication among many, as a forecast's,
    runs in one: 64 calls cost 0.5-1 ms, more than the kernel's own work on a small line).

    With the state log on, the returned ``log`` holds every row the kernel logged, those
    already in ``state`` included; they are moved out of ``state`` chunk by chunk (its
    ``S_LOG_N`` ends at 0). Raises ``Cancelled`` when ``task`` asks to stop (checked after
    each chunk, and every few million events within one), and ``lowering.RunawayError``
    for a model that keeps firing while simulated time stands still (zero times).
    """
    start, run_until = compiled_kernels(low.arrays)

    a = kernel_arrays(low)  # the restarts' energy in the sampled series (issue 19 §3)
    if state is None:
        state = new_state(low, seed, replication, log_rows=4096)
        start(a, state)
    sink = _LogSink() if a.params[kt.P_LOG] > 0 else None
    t0 = state.sf[kt.T_NOW]
    horizon = low.horizon
    for k in range(1, chunks + 1):
        t_stop = t0 + (horizon - t0) * k / chunks
        while (code := run_until(a, state, t_stop)) != kt.K_DONE:
            if code == kt.K_PAUSE and task is not None:
                task.check()  # a chunk of a model that makes many events ends late
            state = grow(state, code, low)
        if sink is not None:
            sink.take(state, k / chunks)
        if task is not None:
            task.check()
        if progress is not None:
            progress(k / chunks)
    return Replication(state.el_out.copy(), state.st_time.copy(), state.line_out.copy(),
                       state.ts_line.copy(), state.ts_energy.copy(), state.ts_wear.copy(),
                       state.ts_content.copy(), None if sink is None else sink.records(),
                       pool_results(a, state), state.bom_out.copy(), state.ord_out.copy())


@dataclass(frozen=True)
class ReplicationJob:
    """One replication to run: picklable (lowered arrays and numbers), for any executor."""

    lowered: Lowered
    seed: int
    replication: int


def replicate(job: ReplicationJob, ctx: JobContext) -> Replication:
    """Run one replication as an executor job (``twin.sim.executors``)."""
    return run_replication(job.lowered, job.seed, job.replication, ctx, ctx.progress)


def run_project(project: m.Project, scenarios: list[str] | None = None,
                spec: RunSpec | None = None, task: TaskState | None = None,
                workers: int | None = None,
                executor: Executor | str | None = None,
                variants: dict[str | None, m.Project] | None = None) -> RunResult:
    """Run each scenario (``None`` or ``"base"``: the project as it is) for ``spec``.

    Every scenario uses the same seeds, replication by replication, and each element draws from its
    own random streams: scenario differences are measured with common random numbers.
    ``variants``: the scenarios applied already (``twin.projectfile.reader.scenario_variants``),
    as the workbench builds them on its GUI thread; by default they are built here. Replications
    run on ``executor`` (``twin.sim.executors.make_executor``: threads by default, ``workers``
    of them). Raises ``ProjectError`` on a bad project or settings.

    Cancel (``task``) keeps what is finished: replication r of every scenario runs before
    replication r + 1 of any, and the result holds the replications 0..k-1 that every
    scenario finished (paired, for common random numbers), with ``cancelled`` set. Raises
    ``Cancelled`` when none was finished.
    """
    spec = spec or RunSpec.from_project(project)
    spec.check()
    names = list(scenarios or ["base"])
    if variants is None:
        variants = scenario_variants(project, names)
    lowered = {}
    for name in names:
        variant = variants[name]
        # a layout opened for editing may be half built (Project.problems): never run it
        require_runnable(variant, f"scenario {name!r}")
        try:
            lowered[name] = (variant, lower(variant, spec.horizon, spec.warmup,
                                            spec.sample_interval, spec.log))
        except ProjectError as e:
            raise ProjectError(e.problems, f"scenario {name!r}") from None
    unlogged = {name: _log_on(low, False) for name, (_, low) in lowered.items()}
    # replication-major: a cancel leaves whole replications of every scenario behind
    jobs = [(name, r) for r in range(spec.replications) for name in names]
    items = [ReplicationJob(lowered[name][1] if spec.log_only is None
                            or (name, r) in spec.log_only else unlogged[name], spec.seed, r)
             for name, r in jobs]
    outputs = make_executor(executor, workers).map(replicate, items, task, partial=True)
    done_reps = spec.replications
    if any(out is None for out in outputs):  # cancelled: the replications all finished
        per_rep = len(names)  # job i is replication i // per_rep of scenario i % per_rep
        done_reps = next(r for r in range(spec.replications + 1)
                         if r == spec.replications or any(
                             outputs[r * per_rep + k] is None for k in range(per_rep)))
        if done_reps == 0:
            raise Cancelled()
    results = {name: ScenarioResult(name, lowered[name][1], lowered[name][0]) for name in names}
    for i, (name, r) in enumerate(jobs):
        if r < done_reps:
            results[name].replications.append(outputs[i])
    if done_reps < spec.replications:
        return RunResult(replace(spec, replications=done_reps), results, True,
                         spec.replications)
    return RunResult(spec, results)


def pilot_seconds(project: m.Project, scenarios: list[str] | None, spec: RunSpec,
                  workers: int = 1, events_per_replication: float | None = None,
                  budget: float = 1.0,
                  variants: dict[str | None, m.Project] | None = None) -> float:
    """Wall-clock seconds the run of ``spec`` would take, from a short pilot: the first
    scenario's first replication over a slice of the horizon and over twice that slice,
    timed; the difference scaled to the horizon, the scenarios and replications and shared
    by ``workers`` threads, plus the fixed cost of a run.

    The slice is chosen so that the pilot takes about ``budget`` seconds by the estimate's
    ``events_per_replication`` (``twin.sim.estimate``, at ``EVENTS_PER_SECOND``): at most
    1/16 of the horizon, at least one second of plant time. The state log is off (it costs
    little time; memory is the estimate's). The kernel must be compiled already (the
    workbench warms it at start-up), or the compile time is counted.
    """
    import time

    from twin.limits import EVENTS_PER_SECOND

    names = list(scenarios or ["base"])
    per_rep = (events_per_replication or 0.0) / EVENTS_PER_SECOND
    frac = min(1.0 / 16, max(budget / per_rep, 1.0 / spec.horizon) if per_rep > 0 else 1 / 16)
    took = []
    # two slices: their difference is the simulation alone. A first, uncounted slice pays
    # what only a first call costs (imports, caches): counted, it made the difference
    # negative now and then, and a ten-year run was estimated at its fixed cost alone
    for f in (frac, frac, 2 * frac):
        pilot = replace(spec, horizon=spec.horizon * f, warmup=0.0, replications=1,
                        sample_interval=0.0, log=False, log_only=None)
        t0 = time.perf_counter()
        run_project(project, names[:1], pilot, workers=1, variants=variants)
        took.append(time.perf_counter() - t0)
    one, two = took[1:]
    # a run costs a fixed part (lowering, threads) plus one in proportion to its horizon: one
    # slice alone took the fixed part for simulation and overestimated a day's run 5 times.
    # Where noise hides the difference, all of the longer slice counts as simulation (an
    # estimate too long rather than too short: a long run is asked about)
    per_horizon = (two - one) / frac if two > one else two / (2 * frac)
    fixed = max(one - per_horizon * frac, 0.0)
    runs = len(names) * spec.replications
    return fixed + per_horizon * runs / max(1, min(workers, runs))
