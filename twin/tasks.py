"""Long work reports progress and honours cancellation through a small Qt-free object.

The same function serves the workbench (which maps this onto signals), the CLI (a progress
bar) and the tests (Orange3's ``TaskState`` pattern).
"""

from __future__ import annotations

import threading


class Cancelled(Exception):
    """The user asked the work to stop; nothing half-done was kept."""


class TaskState:
    """Progress (0-100) and a cancel flag shared between a worker and whoever watches it."""

    def __init__(self, on_progress=None):
        """``on_progress(percent)`` is called from the worker on every progress update."""
        self._cancel = threading.Event()
        self._abandon = threading.Event()
        self._lock = threading.Lock()
        self.progress = 0.0
        self.message = ""
        self._on_progress = on_progress

    def set_progress_value(self, value: float, message: str | None = None) -> None:
        with self._lock:
            self.progress = max(0.0, min(100.0, float(value)))
            if message is not None:
                self.message = message
        if self._on_progress is not None:
            self._on_progress(self.progress)

    def request_interruption(self) -> None:
        self._cancel.set()

    def is_interruption_requested(self) -> bool:
        return self._cancel.is_set()

    def abandon(self) -> None:
        """Stop now, dropping the work under way: a cancel that does not wait for running
        jobs to end (the window closes). A process pool's workers are terminated
        (``twin.sim.executors``); what finished before is kept, as on a cancel."""
        self._abandon.set()
        self._cancel.set()

    def is_abandoned(self) -> bool:
        return self._abandon.is_set()

    def check(self) -> None:
        """Raise ``Cancelled`` if the user asked to stop."""
        if self._cancel.is_set():
            raise Cancelled("cancelled by the user")


# --- garbage collection while threads run Python -----------------------------------------------
# CPython 3.11 can crash when one thread's garbage collection traverses the frames of another
# thread that is in the middle of running Python (python/cpython#111363, #101975: a frame's
# stack top is not kept up to date). The workbench met it twice: its GUI thread collected while
# a worker built models or Numba compiled, and Python segfaulted. So while work runs on
# threads, automatic collection waits; it resumes, as it was, once the last of them ends.
# Reference counting frees everything without cycles meanwhile.
_paused = 0
_was_enabled = False
_pause_lock = threading.Lock()


def pause_collection() -> None:
    """Hold automatic garbage collection off until the matching ``resume_collection``."""
    global _paused, _was_enabled
    import gc

    with _pause_lock:
        if _paused == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _paused += 1


def paused_collections() -> int:
    """How many ``pause_collection`` calls have not ended yet."""
    return _paused


def resume_collection() -> None:
    """End one ``pause_collection``; the last one restores collection as it was."""
    global _paused
    import gc

    with _pause_lock:
        if _paused == 0:
            return
        _paused -= 1
        if _paused == 0 and _was_enabled:
            gc.enable()


class collection_paused:
    """``with collection_paused():`` threads run Python with no automatic collection."""

    def __enter__(self):
        pause_collection()
        return self

    def __exit__(self, *exc):
        resume_collection()
        return False
