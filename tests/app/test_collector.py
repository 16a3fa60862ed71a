"""Garbage collection in the workbench runs between events, never inside a Qt destructor
(``app.collector``): automatic collection is off while a window lives, a timer collects."""

from __future__ import annotations

import gc

from app import collector


class _Cycle:
    def __init__(self):
        self.me = self


def test_a_window_turns_automatic_collection_off_and_its_timer_collects(make_window, qtbot):
    assert gc.isenabled()
    win = make_window()
    assert not gc.isenabled(), "automatic collection could start inside a Qt destructor"
    gc.collect()
    for _ in range(gc.get_threshold()[0] + 10):  # more cycles than the first threshold
        _Cycle()
    qtbot.waitUntil(lambda: gc.get_count()[0] < gc.get_threshold()[0],
                    timeout=5 * collector.EVERY_MS)
    assert win.isVisible()


def test_collection_is_automatic_again_once_the_window_is_deleted(qapp):
    from PySide6.QtCore import QEvent

    from app.main_window import MainWindow

    win = MainWindow(warm_up=False)
    assert not gc.isenabled()
    win.deleteLater()
    qapp.sendPostedEvents(None, QEvent.DeferredDelete)
    qapp.processEvents()
    assert gc.isenabled()
