"""Each call of a named list of functions, timed in wall time and in its thread's CPU.

:class:`CallLedger` wraps chosen methods (the Live dock's poll and its parts, the 3D view's
tick, chart paints, the recorder's writes and flushes...) so that a stall can be put down to
the calls inside it by their *own* durations. Unlike ``stall_calls.LongCalls`` it hooks no
other call, so the GUI thread runs at its usual speed, and unlike a gap a call's CPU time
hardly depends on the machine's load: a call that is long in CPU is long on any machine, a
call long in wall time but short in CPU waited (for a core, the interpreter lock, a lock).
Install it before the windows are made (signals hold the bound methods they were given).
"""

from __future__ import annotations

import functools
import importlib
import threading
import time

#: (module, attribute path) of what ``bench_live_gui.py --ledger`` times.
LIVE_CALLS = (
    ("app.live_panel", "LivePanel.poll"),
    ("app.live_panel", "LivePanel.show_snapshot"),
    ("app.live_panel", "LivePanel._fill_table"),
    ("app.live_panel", "LivePanel._draw_state_bars"),
    ("app.live_panel", "LivePanel._draw_throughput"),
    ("app.live_panel", "LivePanel._set_bar_rows"),
    ("app.live_session", "LiveState.snapshot"),
    ("app.live_session", "LiveState.readings"),
    ("app.view3d", "View3D._tick"),
    ("app.view3d", "View3D.set_tints"),
    ("app.forecast_dock", "ForecastDock._live_tick"),
    ("app.alerts_dock", "AlertsController.drain"),
    ("app.main_window", "MainWindow.autosave"),
    ("app.collector", "collect_due"),
    ("pyqtgraph", "GraphicsView.paintEvent"),
    ("pyqtgraph", "AxisItem.paint"),
    ("pyqtgraph", "PlotCurveItem.paint"),
    ("pyqtgraph", "BarGraphItem.paint"),
    ("twin.live.recorder", "LiveRecorder._write"),
    ("twin.live.recorder", "LiveRecorder._write_buffers"),
    ("twin.recording.writer", "RecordingWriter.flush"),
    ("twin.recording.writer", "RecordingWriter.append_records"),
    ("twin.recording.writer", "RecordingWriter.append_gaps"),
    ("twin.recording.writer", "RecordingWriter.label_codes"),
    ("twin.live.recorder", "_Pace.__call__"),
)


class CallLedger:
    """Every call of the wrapped functions: (start, end, thread CPU s, name, thread name)."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, float, float, str, str]] = []
        self._undo: list[tuple[object, str, object]] = []

    def wrap_all(self, targets=LIVE_CALLS) -> list[str]:
        """Wrap each target that this tree has (an older tree lacks some); returns those
        it lacks."""
        missing = []
        for module, path in targets:
            owner = importlib.import_module(module)
            *outer, attr = path.split(".")
            try:
                for part in outer:
                    owner = getattr(owner, part)
                self.wrap(owner, attr, path)
            except (AttributeError, KeyError):
                missing.append(f"{module}.{path}")
        return missing

    def wrap(self, owner, attr: str, name: str) -> None:
        fn = owner.__dict__[attr] if isinstance(owner, type) else getattr(owner, attr)
        calls = self.calls

        @functools.wraps(fn)
        def timed(*args, **kw):
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                return fn(*args, **kw)
            finally:
                calls.append((t0, time.perf_counter(), time.thread_time() - c0, name,
                              threading.current_thread().name))
        self._undo.append((owner, attr, fn))
        setattr(owner, attr, timed)

    def remove(self) -> None:
        for owner, attr, fn in reversed(self._undo):
            setattr(owner, attr, fn)
        self._undo.clear()

    def explain(self, t0: float, t1: float, min_s: float = 0.002, limit: int = 30) -> str:
        """The calls of ``min_s`` or more that overlap ``[t0, t1]``: wall (CPU) ms, name."""
        rows = sorted((c for c in self.calls if c[0] < t1 and c[1] > t0 and c[1] - c[0] >= min_s),
                      key=lambda c: c[0])
        lines = [f"    +{1000 * (s - t0):5.0f} ms {1000 * (e - s):6.1f} ms wall "
                 f"({1000 * cpu:5.1f} CPU) [{who}] {name}" for s, e, cpu, name, who in rows[:limit]]
        if len(rows) > limit:
            lines.append(f"    ... {len(rows) - limit} more")
        return "\n".join(lines) or "    (no timed call of 2 ms or more in it)"

    def summary(self, t0: float, t1: float) -> str:
        """Per name over ``[t0, t1]``: calls, the longest in wall time (at, its CPU), and the
        most CPU one call took."""
        by: dict[str, list] = {}
        for s, e, cpu, name, who in self.calls:
            if t0 <= s <= t1:
                by.setdefault(f"[{who}] {name}", []).append((e - s, s, cpu))
        lines = []
        for key, rows in sorted(by.items(), key=lambda kv: -max(kv[1])[0]):
            wall, at, cpu = max(rows)
            lines.append(f"    {len(rows):6d} x, longest {1000 * wall:6.1f} ms wall "
                         f"({1000 * cpu:5.1f} CPU) at {at - t0:+.2f} s, most CPU "
                         f"{1000 * max(r[2] for r in rows):5.1f} ms  {key}")
        return "\n".join(lines)
