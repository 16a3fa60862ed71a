"""The recorder's writer thread, paced: it rests between pieces of its HDF5 work, so that a
GUI thread wins the interpreter lock (``twin.live.recorder``, "Flushing")."""

from __future__ import annotations

import time
from collections.abc import Callable

#: The writer thread works this long (wall seconds), then rests :data:`PACE_REST_S`. h5py
#: keeps the interpreter lock through every HDF5 call, and the rows are made into arrays in
#: NumPy: a second's appends and flush of a 20,000-40,000 readings/s flood are 45-90 ms of
#: CPU in one burst, which the GUI thread had to win the lock from, beside the source's
#: thread, for every Python call it made (a poll of the Live dock took 28 ms of wall time for
#: 1.4 ms of CPU, and the flood's first write lined up with its longest gaps; issue 15).
#: Resting, the writer leaves the lock to the GUI thread; a write takes longer but still
#: far less than ``flush_interval_s``.
PACE_WORK_S = 0.002
PACE_REST_S = 0.001
#: The longest :meth:`LiveRecorder.hold_writes` holds the writer back for, per call: a caller
#: that polls (the workbench's Live dock, every 0.15 s) leaves the writer most of the time.
MAX_HOLD_S = 0.05


class _Pace:
    """Called between two pieces of the writer's work: sleeps ``rest_s`` once ``work_s``
    has passed since the last rest (a sleep releases the interpreter lock), and sleeps
    until ``held()`` (a :func:`time.perf_counter` time) has passed."""

    def __init__(self, held: Callable[[], float] = lambda: 0.0,
                 work_s: float = PACE_WORK_S, rest_s: float = PACE_REST_S,
                 clock: Callable[[], float] = time.perf_counter,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.held, self.work_s, self.rest_s = held, work_s, rest_s
        self._clock, self._sleep = clock, sleep
        self._since = clock()
        self.rests = 0

    def __call__(self) -> None:
        now = self._clock()
        wait = self.held() - now
        if wait <= 0 and now - self._since >= self.work_s:
            wait = self.rest_s
        if wait > 0:
            self._sleep(min(wait, MAX_HOLD_S))
            self.rests += 1
            self._since = self._clock()
