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

    def check(self) -> None:
        """Raise ``Cancelled`` if the user asked to stop."""
        if self._cancel.is_set():
            raise Cancelled("cancelled by the user")
