"""Python's cyclic garbage collection in the workbench: on the GUI thread, between events.

Left automatic, a collection starts whenever Python allocates past a threshold, which may
be inside a Qt destructor: a plot's scene deleting its items asks Python whether an item
overrides a method, the allocation starts a collection, and the collection deletes another
wrapped Qt object, whose destructor waits for a lock the first destructor holds. The window
froze so, for good (a random-input test, in a deferred delete after a run). pyqtgraph's
``GarbageCollector`` answers the same hazard as here: while a window is open, automatic
collection is off (``twin.tasks.pause_collection``, counted with the jobs' pauses), and a
timer collects what the thresholds would have, from the event loop's top level, where no
destructor runs. While a job also holds collection off, the timer waits for it too.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

from twin.tasks import pause_collection, paused_collections, resume_collection

EVERY_MS = 500
_windows = 0
_timer: QTimer | None = None


def hold_for(window: QObject) -> None:
    """Collect on the GUI thread while ``window`` lives (from its creation to its deletion)."""
    global _windows, _timer
    pause_collection()
    _windows += 1
    if _timer is None:
        _timer = QTimer()
        _timer.timeout.connect(collect_due)
        _timer.start(EVERY_MS)
    window.destroyed.connect(_release)


def _release(*_args) -> None:
    # after the deletion under way (a destructor may still run): the next turn of the loop
    QTimer.singleShot(0, _resume)


def _resume() -> None:
    global _windows
    _windows -= 1
    resume_collection()


def collect_due() -> int:
    """Collect the generations whose thresholds were passed, as automatic collection would;
    not while a job holds collection off. Returns the objects collected."""
    if paused_collections() > _windows:
        return 0
    (t0, t1, t2), (c0, c1, c2) = gc.get_threshold(), gc.get_count()
    if c0 <= t0:
        return 0
    return gc.collect(2 if c2 > t2 else 1 if c1 > t1 else 0)
