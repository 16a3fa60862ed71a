"""Workbench benchmarks: GUI stalls during a long run, 3D frame rate with 500 elements.

Run headless::

    QT_QPA_PLATFORM=offscreen VTK_DEFAULT_OPENGL_WINDOW=vtkOSOpenGLRenderWindow \\
        python benchmarks/bench_gui.py [--screenshot docs/screenshots/main-window.png]

Targets: longest event-loop stall < 50 ms while a run goes on; >= 30 fps orbiting 500
elements on software GL; slowest frame < 33 ms scrubbing a week-long recording. The
frame rate is printed against a named peer measured in the same run: the same window
drawing 500 bare VTK cubes (no labels, arrows or floor).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkOSOpenGLRenderWindow")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "app"))


def _line():
    from conftest import small_line

    return small_line()


def _thread_cpu_ms() -> tuple[float, float]:
    """(on-CPU, waiting-for-a-CPU) milliseconds of the calling thread so far, from Linux
    ``/proc/thread-self/schedstat``; (nan, nan) elsewhere. A stall on the GUI thread is
    then its own work, waiting for a CPU, or the rest: blocked on a lock (the GIL)."""
    try:
        with open("/proc/thread-self/schedstat") as f:
            run_ns, wait_ns, _ = f.read().split()
    except OSError:
        return float("nan"), float("nan")
    return int(run_ns) / 1e6, int(wait_ns) / 1e6


class _Ticks:
    """A 5 ms timer on the GUI thread; each gap between ticks and what the thread did in it."""

    def __init__(self):
        from PySide6.QtCore import QTimer

        self.t: list[float] = []
        self.cpu: list[tuple[float, float]] = []
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self.tick)

    def tick(self):
        self.t.append(time.perf_counter() * 1000)
        self.cpu.append(_thread_cpu_ms())

    def start(self):
        self.tick()
        self.timer.start()

    def stop(self):
        self.timer.stop()

    def gaps(self, lo: int = 0, hi: int | None = None) -> list[float]:
        hi = len(self.t) if hi is None else hi
        return [b - a for a, b in zip(self.t[lo:hi - 1], self.t[lo + 1:hi], strict=True)]

    def worst(self, lo: int = 0, hi: int | None = None, when: bool = True) -> tuple[float, str]:
        """The longest stall (gap - 5 ms) in ticks [lo, hi), when it began (s after tick
        ``lo``) and what filled it."""
        g = self.gaps(lo, hi)
        if not g:
            return float("nan"), ""
        i = lo + max(range(len(g)), key=g.__getitem__)
        busy = self.cpu[i + 1][0] - self.cpu[i][0]
        wait = self.cpu[i + 1][1] - self.cpu[i][1]
        gap = self.t[i + 1] - self.t[i]
        why = (f"GUI thread working {busy:.0f} ms, waiting for a CPU {wait:.0f} ms, "
               f"blocked {max(gap - busy - wait, 0.0):.0f} ms")
        if when:
            why = f"{(self.t[i] - self.t[lo]) / 1000:.1f} s in; {why}"
        return gap - 5, why


def _wait(ms: int) -> None:
    """Run the event loop for ``ms`` (timers and paints go on; not a processEvents loop)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def bench_stall(app) -> float:
    """Longest gap between 5 ms timer ticks while a long run executes on the worker.

    The window is shown and painted first (as it is when a user clicks Run); its first
    paint is reported on its own. Drawing the finished run is measured up to 300 ms after
    ``run_finished``, including the paint of the new charts."""
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtTest import QTest

    from app.main_window import MainWindow
    from kernels.warmup import warm_up

    warm_up()
    w = MainWindow(_line(), warm_up=False)
    ticks = _Ticks()
    ticks.start()
    w.show()
    QTest.qWaitForWindowExposed(w)
    _wait(500)
    shown, _ = ticks.worst(when=False)
    w.run_panel.horizon.setText("2000d")
    w.run_panel.replications.setValue(4)
    first = len(ticks.t)
    finished_at = []
    loop = QEventLoop()

    def finished(_result):
        finished_at.append(len(ticks.t))
        QTimer.singleShot(300, loop.quit)

    w.run_panel.run_finished.connect(finished)
    w.run_panel.run_failed.connect(lambda m: (print(f"run failed: {m}"), loop.quit()))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    t0 = time.perf_counter()
    w.run_panel.start_run()
    loop.exec()
    ticks.stop()
    run_s = time.perf_counter() - t0
    end = finished_at[0] if finished_at else len(ticks.t)
    # the gap that ends on the first tick after run_finished holds the drawing
    stall, why = ticks.worst(first, end)
    drawing, draw_why = ticks.worst(end - 1, when=False)
    gaps = sorted(ticks.gaps(first, end))
    over = sum(g - 5 > 50 for g in gaps)
    busy = 100 * (ticks.cpu[end - 1][0] - ticks.cpu[first][0]) / (ticks.t[end - 1] - ticks.t[first])
    p99 = gaps[int(0.99 * (len(gaps) - 1))] - 5 if gaps else float("nan")
    print(f"run of 2 scenarios x 4 replications x 2000 d: {run_s:.1f} s; {len(gaps)} ticks; "
          f"longest event-loop stall while running {stall:.0f} ms (target < 50; {why}); "
          f"stalls > 50 ms: {over}; 99th percentile {p99:.0f} ms; GUI thread busy {busy:.0f}% "
          f"of the run; drawing the result "
          f"{drawing:.0f} ms ({draw_why}); first paint of the window {shown:.0f} ms "
          f"(before the run); load average {load:.2f} on {os.cpu_count()} CPUs")
    w.stack.set_clean()
    w.close()
    return stall


def _rss_mb() -> float:
    """The process's resident memory now (MB), from Linux ``/proc/self/status``."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def bench_longrun(app, days: int = 365, reps: int = 10, cancel_after: float = 45.0,
                  every_log: bool = False) -> tuple[float, float]:
    """Peak memory and the longest event-loop stall of a long run of the bottling line
    (issue 14 §6: 365 days x 10 replications x 4 scenarios held 5.9 GB after 90 s).

    The run is confirmed when the window asks, and cancelled after ``cancel_after`` s (a
    benchmark stays under a minute): Cancel keeps the finished replications, which are then
    drawn. ``every_log`` keeps every replication's state log, as before ``RunSpec.log_only``
    and ``PLAYBACK_LOG_CAP`` (the peer this run is measured against). Returns (peak RSS MB,
    longest stall ms)."""
    from dataclasses import replace

    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtTest import QTest

    from app.main_window import MainWindow
    from app.run_panel import _run_and_summarize
    from kernels.warmup import warm_up
    from twin.projectfile.reader import load_project

    warm_up()
    root = Path(__file__).resolve().parent.parent
    w = MainWindow(load_project(root / "projects" / "bottling-line"), warm_up=False)
    rp = w.run_panel
    rp.confirm_long_run = lambda text: print(f"asked: {text}") or True
    import app.run_panel as run_panel

    cap = run_panel.PLAYBACK_LOG_CAP
    if every_log:  # the peer: no cap on the log kept, and every replication's kept
        run_panel.PLAYBACK_LOG_CAP = float("inf")
        rp.run_job = lambda p, n, spec, t: _run_and_summarize(p, n, replace(spec, log_only=None),
                                                              t)
    w.show()
    QTest.qWaitForWindowExposed(w)
    _wait(300)
    rp.horizon.setText(f"{days}d")
    rp.replications.setValue(reps)
    ticks = _Ticks()
    rss = [_rss_mb()]
    sampler = QTimer()
    sampler.setInterval(100)
    sampler.timeout.connect(lambda: rss.append(_rss_mb()))
    loop = QEventLoop()
    outcome = []
    rp.run_finished.connect(lambda r: (outcome.append(r.outcome()), QTimer.singleShot(300,
                                                                                     loop.quit)))
    rp.run_failed.connect(lambda m, tb=None: (outcome.append(f"failed: {m}"), loop.quit()))
    rp.run_cancelled.connect(lambda: (outcome.append("cancelled, nothing finished"),
                                      loop.quit()))
    t0 = time.perf_counter()
    ticks.start()
    sampler.start()
    assert rp.start_run()
    QTimer.singleShot(int(cancel_after * 1000), rp.cancel)
    loop.exec()
    ticks.stop()
    sampler.stop()
    stall, why = ticks.worst()
    peak = max(rss)
    print(f"long run of the bottling line, 4 scenarios x {reps} replications x {days} d"
          f"{', every state log kept (the peer)' if every_log else ', playback log capped'}: "
          f"{outcome[0] if outcome else '?'} after {time.perf_counter() - t0:.0f} s; peak "
          f"RSS {peak:.0f} MB (from {rss[0]:.0f} MB); longest event-loop stall {stall:.0f} ms "
          f"({why})")
    run_panel.PLAYBACK_LOG_CAP = cap
    w.stack.set_clean()
    w.close()
    return peak, stall


def bench_fps(app, n: int = 500) -> float:
    from app.view3d import View3D
    from twin.model import commands as cmd
    from twin.model import elements as m
    from twin.model.distributions import constant

    els = []
    side = int(n**0.5) + 1
    for i in range(n):
        x, y = 3.0 * (i % side), 3.0 * (i // side)
        kind = ("station", "buffer", "station", "source", "sink")[i % 5]
        cls = m.ELEMENT_TYPES[kind]
        extra = {"process_time": constant(60.0)} if kind == "station" else {}
        els.append(cls(f"e{i}", position=(x, y, 0.0), **extra))
    p = m.Project("bench", elements=els)
    for i in range(n - 1):
        if els[i].kind != "sink" and els[i + 1].kind != "source":
            p.connections.append(m.Connection(els[i].id, els[i + 1].id))
    v = View3D(p, cmd.UndoStack(p))
    v.resize(1280, 800)
    v.show()
    v.camera_preset("isometric")
    v.render_now()
    cam = v.renderer.GetActiveCamera()
    frames = 60
    t0 = time.perf_counter()
    for _ in range(frames):
        cam.Azimuth(3.0)
        v.render_now()
    fps = frames / (time.perf_counter() - t0)
    # peer: bare VTK cubes in the same window
    for b in v.batches.values():
        b.actor.VisibilityOff()
    for act in (v.conn_actor, v.head_actor, v.floor, v.grid, v.labels.actor, v.outlines.actor):
        act.VisibilityOff()
    from vtkmodules.vtkFiltersSources import vtkCubeSource
    from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper

    src = vtkCubeSource()
    for el in els:
        mp = vtkPolyDataMapper()
        mp.SetInputConnection(src.GetOutputPort())
        a = vtkActor()
        a.SetMapper(mp)
        a.SetPosition(*el.position)
        v.renderer.AddActor(a)
    v.render_now()
    t0 = time.perf_counter()
    for _ in range(frames):
        cam.Azimuth(3.0)
        v.render_now()
    peer = frames / (time.perf_counter() - t0)
    print(f"orbit {n} elements ({v.render_window.GetClassName()}, 1280x800): {fps:.1f} fps "
          f"(target >= 30); peer 'bare VTK cubes': {peer:.1f} fps; ratio {fps / peer:.2f}")
    v.close_view()
    return fps


def synthetic_week(path: Path, assets: int = 3) -> Path:
    """A week-long event-log recording: ``assets`` stations, one state change a minute."""
    import numpy as np

    from twin.recording import AssetInfo, RecordingWriter

    rng = np.random.default_rng(1)
    t = np.arange(7 * 24 * 60, dtype=float) * 60.0
    with RecordingWriter.create(path, source="synthetic benchmark week", overwrite=True,
                                epoch_utc="2024-01-01T00:00:00Z",
                                assets=[AssetInfo(f"a{i}", f"Machine {i}", f"M{i + 1}")
                                        for i in range(assets)]) as w:
        for i in range(assets):
            w.append_states(f"a{i}", t, rng.choice([1, 2, 2, 2, 6], len(t)))
            w.append_parts(f"a{i}", t + 30.0, 1.0)
            w.append_power(f"a{i}", t, rng.uniform(1.0, 5.0, len(t)))
    return path


def bench_scrub(app, frames: int = 300) -> float:
    """Slowest frame scrubbing a week-long recording: slider -> cursors, 3D colours, one
    3D render and a synchronous repaint of the replay panel, with a zoom every 30 frames."""
    import tempfile

    import numpy as np

    from app.main_window import MainWindow
    from twin.model import elements as m
    path = synthetic_week(Path(tempfile.mkdtemp()) / "week.h5")
    project = m.Project("week", elements=[m.Station(f"M{i + 1}", position=(3.0 * i, 0, 0))
                                          for i in range(3)])
    w = MainWindow(project, warm_up=False)
    w.resize(1600, 1000)
    w.show()
    assert w.open_recording(path)
    rp = w.replay
    times = []
    rng = np.random.default_rng(0)
    for k in range(frames):
        t0 = time.perf_counter()
        rp.slider.setValue(int(rng.integers(0, rp.slider.maximum())))
        if k % 30 == 0:  # a zoom: the Gantt image and the KPI table follow the range
            x = (rp.t - rp.t0) / 3600.0
            rp.gantt.setXRange(x - 12 * (1 + k % 7), x + 12 * (1 + k % 7), padding=0)
            rp._range_changed()
        w.view.render_now()
        rp.repaint()
        times.append(time.perf_counter() - t0)
    ms = np.array(times) * 1000
    n = sum(len(r.timeline.start) for r in rp.replays.values())
    zoom = ms[::30]
    plain = np.delete(ms, np.arange(0, frames, 30))
    print(f"scrub a week (3 assets x 1 event/min, {n} intervals): slowest frame "
          f"{plain.max():.1f} ms (median {np.median(plain):.1f}), slowest zoom frame "
          f"{zoom.max():.1f} ms, over {frames} frames (target: slowest < 33 ms)")
    w.stack.set_clean()
    w.close()
    return float(plain.max())


def screenshot(app, path: str) -> None:
    """The main window after a run, with the VTK pixels painted into the central view."""
    from PySide6.QtCore import QEventLoop, QPoint
    from PySide6.QtGui import QImage, QPainter

    from app.main import example_projects
    from app.main_window import MainWindow
    from twin.projectfile.reader import load_project

    ex = example_projects()
    bottling = ex / "bottling-line" if ex is not None else None
    project = load_project(bottling) if bottling is not None and bottling.is_dir() else _line()
    w = MainWindow(project, warm_up=False)
    w.resize(1600, 1000)
    w.show()
    loop = QEventLoop()
    w.run_panel.run_finished.connect(lambda _r: loop.quit())
    w.run_panel.run_failed.connect(lambda msg: (print(msg), loop.quit()))
    w.run_panel.start_run()
    loop.exec()
    w.docks["charts"].raise_()  # the dashboards, whatever dock state QSettings restored
    w.view.set_selection([project.stations()[0].id])
    w.view.camera_preset("isometric")
    app.processEvents()  # one-off: let the layout settle before grabbing (not a work loop)
    pix = w.grab()
    img = w.view.grab_image()
    h, wd, _ = img.shape
    qimg = QImage(img.data, wd, h, 3 * wd, QImage.Format_RGB888)
    painter = QPainter(pix)
    painter.drawImage(w.view.mapTo(w, QPoint(0, 0)), qimg.scaled(w.view.size()))
    painter.end()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    pix.save(path)
    print(f"screenshot: {path}")
    w.stack.set_clean()
    w.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--screenshot", help="also save a screenshot of the main window here")
    ap.add_argument("--elements", type=int, default=500)
    ap.add_argument("--skip-stall", action="store_true", help="skip the long-run benchmark")
    ap.add_argument("--stall-only", action="store_true", help="only the long-run benchmark")
    ap.add_argument("--long", action="store_true",
                    help="only the bottling line's 365-day, 10-replication, 4-scenario run "
                    "(issue 14), cancelled after --cancel-after s, against the peer that keeps "
                    "every state log")
    ap.add_argument("--cancel-after", type=float, default=25.0)
    args = ap.parse_args()
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    app.setOrganizationName("twinbench-bench")
    app.setApplicationName("twinbench-bench")
    if args.long:
        peak, stall = bench_longrun(app, cancel_after=args.cancel_after)
        peer_peak, peer_stall = bench_longrun(app, cancel_after=args.cancel_after,
                                              every_log=True)
        print(f"peak RSS {peak:.0f} MB vs {peer_peak:.0f} MB keeping every log "
              f"({peer_peak / peak:.1f}x); longest stall {stall:.0f} ms vs {peer_stall:.0f} ms")
        return 0
    if not args.skip_stall:
        bench_stall(app)
    if args.stall_only:
        return 0
    bench_fps(app, args.elements)
    bench_scrub(app)
    if args.screenshot:
        screenshot(app, args.screenshot)
    return 0


if __name__ == "__main__":
    status = main()
    # after several windows, interpreter finalisation can crash in a C extension (see
    # pytest_unconfigure in tests/conftest.py); every figure is printed by now
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
