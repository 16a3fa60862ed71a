"""The first start with an empty kernel cache: what the Run dock and the status bar say while
the kernel compiles (a newcomer read "estimating the run time…" for half a minute, then saw
"Run it / Don't run" beside an enabled Run button, and "Loading: compiling the twin kernel…"
after the first run had finished)."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt

pytestmark = [pytest.mark.gui, pytest.mark.timeout(120)]


def test_a_run_waiting_for_the_compile_says_so_then_asks_with_run_off(
        make_window, line_project, qtbot, monkeypatch):
    import app.run_panel as run_panel

    compiling, release = threading.Event(), threading.Event()
    compiling.set()
    monkeypatch.setattr(run_panel, "is_compiling", compiling.is_set)
    monkeypatch.setattr(run_panel, "PILOT_ABOVE_S", -1.0)  # every run is timed first

    def pilot(*_args, **_kwargs):  # the pilot, held until the test lets it answer
        release.wait(30.0)
        return 3600.0  # an hour: asked about

    monkeypatch.setattr(run_panel, "pilot_seconds", pilot)
    w = make_window(line_project)
    rp = w.run_panel
    qtbot.mouseClick(rp.run_button, Qt.LeftButton)
    assert rp.pilot_job is not None
    assert rp.progress.text() == "waiting for the kernel to compile (first start only)…"
    compiling.clear()  # compiled: now the pilot times the run
    qtbot.waitUntil(lambda: rp.progress.text() == "estimating the run time…", timeout=5_000)
    release.set()
    qtbot.waitUntil(lambda: rp.confirm_bar.isVisible(), timeout=10_000)
    # one way to start it: "Run it", not Run as well
    assert rp.confirm_go.isVisible() and not rp.run_button.isEnabled()
    qtbot.mouseClick(rp.confirm_no, Qt.LeftButton)
    assert not rp.confirm_bar.isVisible() and rp.run_button.isEnabled()
    assert not rp.is_running()


def test_the_status_bar_clears_once_the_plain_kernel_is_ready(make_window, line_project,
                                                              qtbot, monkeypatch):
    features = threading.Event()

    def warm_up(variants=(False, True), on_ready=None):  # the kernel with the features is slow
        on_ready(False)
        features.wait(30.0)
        on_ready(True)

    monkeypatch.setattr("kernels.warmup.warm_up", warm_up)
    w = make_window(line_project)
    w.startup.begin("kernel", "compiling the twin kernel…")
    assert w.statusBar().findChild(type(w.startup.label), "startup_status").isVisible()
    w._start_warm_up()
    qtbot.waitUntil(lambda: w.startup.text() == "", timeout=10_000)
    assert not w.startup.label.isVisible()
    assert w.kernel_label.text() == "Kernel ready"
    assert w.warm_job.is_running()  # the features' kernel compiles on, unannounced
    features.set()
    qtbot.waitUntil(lambda: not w.warm_job.is_running(), timeout=10_000)
    assert w.kernel_label.text() == "Kernel ready" and w.startup.text() == ""
