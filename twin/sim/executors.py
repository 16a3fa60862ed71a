"""One place where replications are submitted: threads today, processes and Dask behind the
same interface.

A job is a pure, module-level function ``fn(item, ctx)`` of a picklable ``item`` (lowered
arrays and seeds, never psygnal models) returning a reduced, picklable result. ``ctx`` is a
:class:`JobContext`: ``ctx.progress(fraction)`` reports how far the job is and
``ctx.check()`` raises ``twin.tasks.Cancelled`` when the user asked to stop. An
:class:`Executor` runs a list of items and returns the results in the items' order, adding
the jobs' fractions into one ``TaskState`` progress (0-100).

``ThreadExecutor`` runs jobs on threads of this process: the Numba kernel releases the GIL,
so replications run in parallel, and progress and cancel reach inside each job, chunk by
chunk. ``ProcessExecutor`` runs them in ``spawn``-ed processes (STYLE.md 6: fork after
Numba's threading layer kills the child); progress then moves job by job, and a cancel
request stops jobs that have not started. ``DaskExecutor`` (issue 17) sends them to a Dask
distributed cluster, or a ``LocalCluster`` it starts; the runner and fork do not change.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures import ThreadPoolExecutor as _Pool
from dataclasses import dataclass

from twin.errors import InputError
from twin.tasks import Cancelled, TaskState, collection_paused

Job = Callable[[object, "JobContext"], object]
#: ``done(index, result)``: called in the calling thread as each job finishes (a study writes
#: each finished design point to its file at once), in the order they finish.
Done = Callable[[int, object], None]


@dataclass
class JobContext:
    """What a job sees of the run around it: its index, progress and cancel.

    In another process the context is a plain one (no progress, no cancel inside the job):
    a ``threading.Event`` does not cross a process boundary.
    """

    index: int
    _report: Callable[[int, float], None] | None = None
    _task: TaskState | None = None

    def progress(self, fraction: float) -> None:
        """Report that the job is ``fraction`` (0-1) done."""
        if self._report is not None:
            self._report(self.index, fraction)

    def check(self) -> None:
        """Raise ``Cancelled`` when the user asked to stop."""
        if self._task is not None:
            self._task.check()


class _Progress:
    """Adds the jobs' fractions into the task's percentage (thread-safe)."""

    def __init__(self, n: int, task: TaskState | None):
        self.done = [0.0] * n
        self.task = task
        self.lock = threading.Lock()

    def __call__(self, index: int, fraction: float) -> None:
        if self.task is None:
            return
        # reported inside the lock: two threads computing their totals in one order and
        # reporting them in the other moved a progress bar backwards (29 %, 49 %, 39 %)
        with self.lock:
            self.done[index] = fraction
            self.task.set_progress_value(100.0 * sum(self.done) / len(self.done))


class Executor:
    """Runs ``fn(item, ctx)`` for every item and returns the results in order.

    Raises ``Cancelled`` when ``task`` asks to stop (jobs not started are dropped; a thread
    job stops within one chunk), and re-raises the first exception a job raised, after
    cancelling the jobs that have not started. With ``partial`` a cancel keeps what is
    finished instead: the results of jobs that ended, ``None`` for the others. ``done``
    (optional) hears of each result as its job finishes (:data:`Done`).
    """

    name = "executor"
    #: Jobs run in this process (threads): what they read may be made on the caller's
    #: thread and handed over as is; otherwise it crosses by pickle to other processes.
    in_process = True

    def map(self, fn: Job, items: Sequence, task: TaskState | None = None,
            partial: bool = False, done: Done | None = None) -> list:
        raise NotImplementedError

    @property
    def workers(self) -> int:
        return 1


class SerialExecutor(Executor):
    """Every job in the calling thread, one after the other (tests, a single replication)."""

    name = "serial"

    def map(self, fn: Job, items: Sequence, task: TaskState | None = None,
            partial: bool = False, done: Done | None = None) -> list:
        report = _Progress(len(items), task)
        out = [None] * len(items)
        try:
            for i, item in enumerate(items):
                if task is not None:
                    task.check()
                out[i] = fn(item, JobContext(i, report, task))
                if done is not None:
                    done(i, out[i])
        except Cancelled:
            if not partial:
                raise
        return out


class _PoolExecutor(Executor):
    """An executor with ``workers`` of its own (default: one per core)."""

    def __init__(self, workers: int | None = None):
        self._workers = max(1, workers or os.cpu_count() or 1)

    @property
    def workers(self) -> int:
        return self._workers


class ThreadExecutor(_PoolExecutor):
    """Jobs on ``workers`` threads of this process (default: one per core).

    The first job runs alone, so that the kernel is compiled (or loaded from the disk cache)
    once rather than by every thread at the same time.
    """

    name = "threads"

    def map(self, fn: Job, items: Sequence, task: TaskState | None = None,
            partial: bool = False, done: Done | None = None) -> list:
        report = _Progress(len(items), task)
        if self._workers == 1 or len(items) <= 1:
            return SerialExecutor().map(fn, items, task, partial, done)
        try:
            first = fn(items[0], JobContext(0, report, task))
        except Cancelled:
            if not partial:
                raise
            return [None] * len(items)
        if done is not None:
            done(0, first)
        later = None if done is None else (lambda i, r: done(i + 1, r))
        # threads running Python: no automatic collection meanwhile (twin.tasks)
        with collection_paused(), _Pool(min(self._workers, len(items) - 1)) as pool:
            futures = [pool.submit(fn, item, JobContext(i, report, task))
                       for i, item in enumerate(items) if i > 0]
            return [first, *_collect(futures, task, partial, done=later)]


class ProcessExecutor(_PoolExecutor):
    """Jobs in ``workers`` processes started with ``spawn``; ``fn`` must be importable (a
    module-level function) and items and results picklable. Each process loads the compiled
    kernel from the disk cache (a second or more: ``benchmarks/bench_study.py`` measures it).

    Each ``map`` starts its own pool, unless the executor is used as a context manager:
    then one pool serves every ``map`` inside the ``with`` (a study replicating to a
    precision maps several rounds), and its processes load the kernel once.
    """

    name = "processes"
    in_process = False

    def __init__(self, workers: int | None = None):
        super().__init__(workers)
        self._pool: ProcessPoolExecutor | None = None

    def _new_pool(self, n: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn"))

    def map(self, fn: Job, items: Sequence, task: TaskState | None = None,
            partial: bool = False, done: Done | None = None) -> list:
        if self._pool is not None:
            return self._submit(self._pool, fn, items, task, partial, done)
        pool = self._new_pool(min(self._workers, max(len(items), 1)))
        try:
            return self._submit(pool, fn, items, task, partial, done)
        finally:
            _end(pool)

    @staticmethod
    def _submit(pool: ProcessPoolExecutor, fn: Job, items: Sequence, task: TaskState | None,
                partial: bool, done: Done | None) -> list:
        report = _Progress(len(items), task)
        futures = [pool.submit(fn, item, JobContext(i)) for i, item in enumerate(items)]
        for i, f in enumerate(futures):
            f.add_done_callback(lambda _f, i=i: report(i, 1.0))
        try:
            return _collect(futures, task, partial, done=done)
        finally:
            if task is not None and task.is_abandoned():
                _end(pool)  # the running jobs too: the window closes

    def __enter__(self) -> ProcessExecutor:
        if self._pool is None:
            self._pool = self._new_pool(self._workers)
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            _end(self._pool)
            self._pool = None


def _end(pool: ProcessPoolExecutor) -> None:
    """Drop the pool's queued jobs, end its workers now and wait for its threads.

    Every ``map`` has collected its jobs (or raised, dropping them) when the pool ends, so
    the workers are idle, or run a job whose result nobody wants (an abandoned task: the
    window closes during a study). Letting an idle worker exit took 2.7-4 s (its
    interpreter's teardown with Numba loaded), added to every study and to closing the
    window during one; waiting for a running one took as long as its design point."""
    stop = getattr(pool, "terminate_workers", None)  # Python 3.14
    if stop is not None:
        stop()
    else:  # 3.11-3.13: the same, by hand
        procs = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(5.0)
    pool.shutdown(wait=True, cancel_futures=True)


def _collect(futures: list[Future], task: TaskState | None, partial: bool = False,
             poll: float = 0.1, done: Done | None = None) -> list:
    """Wait for every future; on a job's exception, cancel the rest and raise. On cancel,
    cancel the jobs not started and raise ``Cancelled`` or, with ``partial``, wait for the
    running ones (a thread job stops within one chunk; not when the task is abandoned) and
    return what finished, ``None`` for the rest."""
    pending = set(futures)
    index = {f: i for i, f in enumerate(futures)}
    try:
        while pending:
            finished, pending = wait(pending, timeout=poll, return_when=FIRST_COMPLETED)
            for f in finished:
                e = f.exception()
                if e is not None and not (partial and isinstance(e, Cancelled)):
                    raise e
                if e is None and done is not None:
                    done(index[f], f.result())
            if task is not None and task.is_interruption_requested():
                raise Cancelled("cancelled by the user")
    except Cancelled:
        for f in pending:
            f.cancel()
        if not partial:
            raise
        if task is not None and task.is_abandoned():  # stop now: the running ones are lost
            pending = {f for f in pending if f.done()}
        wait(pending)
        for f in pending:  # the running ones finished: what they made is kept too
            if done is not None and not f.cancelled() and f.exception() is None:
                done(index[f], f.result())
    except BaseException:
        for f in pending:
            f.cancel()
        raise
    return [f.result() if f.done() and not f.cancelled() and f.exception() is None else None
            for f in futures]


# --- Dask distributed (issue 17) ---------------------------------------------------------------
class ExecutorError(InputError):
    """Where the jobs should run cannot take them: a scheduler out of reach, no workers,
    workers without twinbench (the message says which and how to fix it)."""


def probe_worker(job: Job | None = None) -> dict:
    """What a worker process can run: twinbench's version and the kernel it loads.

    Sent to every Dask worker before a study, with the job function: a worker without
    twinbench (or with an older one, lacking the job's module) cannot even load it, and one
    with another version would compute other numbers."""
    from kernels.warmup import compiled_kernels

    compiled_kernels()  # loads the kernel from the cache (or compiles it) once per worker
    return {"twinbench": _twinbench_version(), "python": _python()}


def _python() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def _twinbench_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("twinbench")
    except PackageNotFoundError:  # a source tree never installed
        from kernels import __version__

        return __version__


class DaskExecutor(Executor):
    """Jobs on a Dask distributed cluster: ``address`` ``"tcp://host:8786"`` (an existing
    scheduler) or ``"local"`` (a ``LocalCluster`` of ``workers`` single-threaded worker
    processes, started here and closed by :meth:`close`).

    Before the first jobs every worker is probed (:func:`probe_worker`): a worker without
    twinbench, or with another version, stops the run with an ``ExecutorError`` naming it.
    A worker lost mid-run has its jobs re-run elsewhere by the scheduler (Dask's
    ``allowed-failures``); ``fn`` must be importable on the workers and items and results
    picklable. Progress moves job by job; a cancel drops the jobs not finished.
    """

    name = "dask"
    in_process = False

    def __init__(self, address: str = "local", workers: int | None = None,
                 timeout: float = 20.0):
        self.address, self.timeout = address, timeout
        self._n = max(1, workers or os.cpu_count() or 1)
        self._client = None
        self._cluster = None
        self._checked: set[str] = set()

    @property
    def workers(self) -> int:
        if self._client is None:
            return self._n
        return max(1, len(self._client.scheduler_info().get("workers", {})))

    @property
    def client(self):
        """The ``distributed.Client`` (connected, or its local cluster started, once)."""
        if self._client is None:
            self._client = self._connect()
        return self._client

    def _connect(self):
        try:
            from distributed import Client, LocalCluster
        except ImportError as e:  # pragma: no cover - a dependency of twinbench
            raise ExecutorError("Dask is not installed: pip install 'dask[distributed]'") \
                from e
        if self.address == "local":
            import logging

            # its workers' start and stop notes are not the user's business: errors only
            self._cluster = LocalCluster(n_workers=self._n, threads_per_worker=1,
                                         processes=True, dashboard_address=":0",
                                         silence_logs=logging.ERROR)
            return Client(self._cluster)
        try:
            return Client(self.address, timeout=f"{self.timeout}s")
        except (OSError, TimeoutError) as e:
            raise ExecutorError(
                f"cannot reach the Dask scheduler at {self.address}: {e}. Start one with "
                "`dask scheduler` and workers with `dask worker ADDRESS` (on machines "
                "with twinbench installed), or use --dask local") from None

    def check_workers(self, fn: Job | None = None) -> None:
        """Probe the workers not probed yet (with the job ``fn``); raise ``ExecutorError``
        for one that cannot run it, or when the scheduler has no worker within the
        timeout."""
        client = self.client
        try:
            client.wait_for_workers(1, timeout=self.timeout)
        except (TimeoutError, OSError):
            raise ExecutorError(f"the Dask scheduler at {self.address} has no workers: "
                                "start some with `dask worker ADDRESS`") from None
        new = [w for w in client.scheduler_info()["workers"] if w not in self._checked]
        if not new:
            return
        found = client.run(probe_worker, fn, workers=new, on_error="return")
        here = {"twinbench": _twinbench_version(), "python": _python()}
        for worker, got in found.items():
            if isinstance(got, BaseException):
                raise ExecutorError(
                    f"Dask worker {worker} cannot run twinbench jobs ({type(got).__name__}: "
                    f"{got}); install twinbench {here['twinbench']} in the worker's Python "
                    "(pip install twinbench) and restart it")
            if got != here:
                raise ExecutorError(
                    f"Dask worker {worker} runs twinbench {got['twinbench']} on Python "
                    f"{got['python']}, this process {here['twinbench']} on {here['python']}: "
                    "install the same version on every worker, so that every machine "
                    "computes the same numbers")
        self._checked.update(new)

    def map(self, fn: Job, items: Sequence, task: TaskState | None = None,
            partial: bool = False, done: Done | None = None) -> list:
        from distributed import wait as dask_wait

        self.check_workers(fn)
        report = _Progress(len(items), task)
        tag = uuid.uuid4().hex[:12]
        futures = self.client.map(fn, list(items), [JobContext(i) for i in range(len(items))],
                                  key=[f"twinbench-{fn.__name__}-{tag}-{i}"
                                       for i in range(len(items))], pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        out: list = [None] * len(items)
        pending = set(futures)
        try:
            while pending:
                try:
                    finished, pending = dask_wait(list(pending), timeout=0.1,
                                                  return_when="FIRST_COMPLETED")
                    pending = set(pending)
                except TimeoutError:
                    finished = set()
                for f in finished:
                    i = index[f.key]
                    if f.status == "error":
                        raise f.exception()
                    if f.status == "cancelled":
                        raise Cancelled("the Dask cluster cancelled the job")
                    out[i] = f.result()
                    report(i, 1.0)
                    if done is not None:
                        done(i, out[i])
                if task is not None and task.is_interruption_requested():
                    raise Cancelled("cancelled by the user")
        except Cancelled:
            self.client.cancel(list(pending))
            if not partial:
                raise
        except BaseException:
            self.client.cancel(list(pending))
            raise
        return out

    def close(self) -> None:
        """Disconnect, and stop the local cluster if this executor started it."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


EXECUTORS: dict[str, Callable[[int | None], Executor]] = {
    "serial": lambda workers: SerialExecutor(),
    "threads": ThreadExecutor,
    "processes": ProcessExecutor,
    "dask": lambda workers: DaskExecutor("local", workers),
}


def make_executor(kind: str | Executor | None = None, workers: int | None = None) -> Executor:
    """The executor named ``kind`` (``"threads"`` by default, ``"processes"``, ``"serial"``,
    ``"dask"``: a local Dask cluster), or ``kind`` itself when it is one already.

    Raises
    ------
    ValueError
        For an unknown name, listing the known ones.
    """
    if isinstance(kind, Executor):
        return kind
    kind = kind or "threads"
    if kind not in EXECUTORS:
        raise ValueError(f"unknown executor {kind!r}; expected one of {sorted(EXECUTORS)}")
    return EXECUTORS[kind](workers)
