"""The workbench's one way to run work off the GUI thread: ``Job``.

A job is a Qt-free function of a ``twin.tasks.TaskState`` (progress and cancel, Orange3's
pattern), run on its own ``QThread``. Whatever the function does, the job ends in exactly one
of three signals, delivered on the GUI thread:

- ``finished(result)``: it returned;
- ``cancelled()``: it raised ``twin.tasks.Cancelled``, or the user cancelled it and it
  returned anyway (the result of work the user stopped is dropped);
- ``failed(message, traceback)``: it raised. A ``twin.errors.InputError`` (or one of the
  job's ``user_errors``) is the user's to fix: its message, no traceback. ``MemoryError`` is
  the size of the work: a message with the fix, no traceback. Anything else is a bug in
  twinbench (a ``TypeError``, an ``OSError`` from a lost file, even a ``SystemExit``): its
  type and message, and the traceback for the log pane.

Before this module a worker caught five exception types and emitted nothing for the rest, so
a bug left the Run button disabled for good (issue 13 §4). Here the thread records the
outcome and ``QThread.finished``, which Qt emits whatever ``run`` did, turns it into the one
signal, so no outcome can go unreported.

Background threads run at a lower CPU priority than the GUI thread. On a busy machine the
GUI thread otherwise waits for a CPU behind the simulation it started: with two cores and
one busy elsewhere, that wait was most of each 100-300 ms stall of the event loop during a
long run (``benchmarks/bench_gui.py``).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import traceback

from PySide6.QtCore import QObject, Qt, QThread, Signal

from twin.errors import InputError
from twin.tasks import Cancelled, TaskState, pause_collection, resume_collection

log = logging.getLogger(__name__)

BACKGROUND_NICE = 10  # added to a background thread's nice value (Linux): the GUI goes first
OUT_OF_MEMORY = ("out of memory: the work needs more memory than this computer has free; "
                 "run fewer replications, a shorter horizon, or untick 'Record states'")

# jobs whose thread still runs: a QThread destroyed while running aborts the process, so a
# job the caller dropped is kept alive here until its thread has ended
_running: set[Job] = set()


def lower_thread_priority() -> None:
    """Lower the calling thread's CPU priority below the GUI thread's.

    Linux ignores ``QThread`` priorities (``SCHED_OTHER`` has a single level) but keeps a nice
    value per thread, which threads started later inherit (the replication pool of
    ``run_project``). Elsewhere ``Job.start`` asks Qt for ``LowPriority``.
    """
    if not sys.platform.startswith("linux"):
        return
    tid = threading.get_native_id()
    try:
        nice = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, nice + BACKGROUND_NICE))
    except OSError as e:  # e.g. a sandbox without setpriority: run at normal priority
        log.warning("could not lower the priority of a background thread: %s", e)


def describe(error: BaseException, user_errors: tuple[type[BaseException], ...] = ()
             ) -> tuple[str, str | None]:
    """``(message, traceback or None)`` for an exception a job raised.

    The user's errors (``InputError`` and ``user_errors``) are their message alone; a bug is
    its type and message with the formatted traceback.
    """
    if isinstance(error, (InputError, *user_errors)):
        return str(error), None
    if isinstance(error, MemoryError):
        return OUT_OF_MEMORY, None
    text = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    message = f"{type(error).__name__}: {text}" if text else type(error).__name__
    tb = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return message, tb


def _thread_ended() -> None:
    """A job's thread has returned from ``run``: the pause ``Job.start`` began ends."""
    resume_collection()


class _Thread(QThread):
    """Calls the job's function and keeps what came of it; reports nothing itself."""

    def __init__(self, job: Job):
        super().__init__()
        self.job = job
        self.outcome: tuple = ("failed", "the job ended without reporting (a bug)", None)

    def run(self):  # noqa: D401 - QThread override, on the new thread
        lower_thread_priority()
        job = self.job
        try:
            result = job.fn(job.task)
        except Cancelled:
            self.outcome = ("cancelled",)
        except BaseException as e:  # noqa: BLE001 - every outcome is reported, see the module
            message, tb = describe(e, job.user_errors)
            self.outcome = ("failed", message, tb)
        else:
            if job.task.is_interruption_requested():
                self.outcome = ("cancelled",)
            else:
                self.outcome = ("finished", result)


class Job(QObject):
    """Run ``fn(task)`` on a new thread; one of ``finished``/``failed``/``cancelled`` follows.

    Parameters
    ----------
    fn : callable
        ``fn(task: TaskState) -> result``; Qt-free. It reports progress with
        ``task.set_progress_value`` and stops at ``task.check()`` once cancelled.
    task : TaskState, optional
        The progress and cancel object ``fn`` gets (a new one by default).
    user_errors : tuple of exception types
        Errors besides ``InputError`` that are the user's to fix (no traceback shown).
    parent : QObject, optional
    """

    finished = Signal(object)
    failed = Signal(str, object)  # message, traceback text or None
    cancelled = Signal()

    def __init__(self, fn, task: TaskState | None = None, *,
                 user_errors: tuple[type[BaseException], ...] = (), parent=None):
        super().__init__(parent)
        self.fn = fn
        self.task = task if task is not None else TaskState()
        self.user_errors = tuple(user_errors)
        self.outcome: str | None = None  # "finished", "failed" or "cancelled" once reported
        self.thread = _Thread(self)
        # QThread.finished is emitted on the worker thread once run() has returned, whatever
        # it did; queued to this object's (the GUI) thread
        self.thread.finished.connect(self._report)
        # and, on the worker thread as its run() has returned, whether or not this object
        # still exists then (a window closed under a running job deletes it): collection
        # resumes in any case (twin.tasks.pause_collection)
        self.thread.finished.connect(_thread_ended, Qt.DirectConnection)

    def start(self) -> None:
        # no automatic garbage collection while the job's thread runs Python: on Python 3.11
        # the GUI thread's collection crashed the process when it met the worker's frames
        # (twin.tasks.pause_collection); the job's end resumes it
        pause_collection()
        _running.add(self)
        self.thread.start(QThread.LowPriority)

    def cancel(self) -> None:
        """Ask ``fn`` to stop; ``cancelled`` follows once it has."""
        self.task.request_interruption()

    def is_running(self) -> bool:
        return self.outcome is None and self in _running

    def wait(self, ms: int | None = None) -> bool:
        """Block until the thread has ended (closing a window); True if it has."""
        return self.thread.wait() if ms is None else self.thread.wait(ms)

    def _report(self) -> None:
        _running.discard(self)
        if self.outcome is not None:
            return
        kind, *args = self.thread.outcome
        self.outcome = kind
        if kind == "finished":
            self.finished.emit(args[0])
        elif kind == "cancelled":
            self.cancelled.emit()
        else:
            self.failed.emit(*args)
