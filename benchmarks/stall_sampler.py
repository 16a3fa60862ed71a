"""Where the GUI thread is while its event loop is late: stacks sampled by a watchdog thread.

:class:`StallSampler` is the light counterpart of ``stall_calls.LongCalls`` (which times
every call and so slows the GUI thread down): a daemon thread wakes every ``every_s`` and,
while the GUI thread's timer has not ticked for ``late_s``, records the GUI thread's Python
stack and the innermost frames of the workbench's other threads (``sys._current_frames``).
The GUI thread's rates stay those of an untraced run (``bench_live_gui.py --trace``).

What a sample can and cannot show: the GUI thread's stack is its innermost Python frame, so
a C call it is inside (a VTK ``Render``, a Qt repaint from the event loop) is named by the
Python line that made it, or by none (the event loop itself: Qt work with no Python slot).
The watchdog needs the interpreter lock to take a sample, so a thread that holds the lock in
one long C call (an HDF5 call through h5py) delays the sample until that call returns; the
other threads' frames then name who had it. Garbage collections on any thread are timed
too (``gc.callbacks``).
"""

from __future__ import annotations

import gc
import sys
import threading
import time
import traceback


class StallSampler:
    """Samples of the GUI thread's stack while its timer is late (install on the GUI thread)."""

    def __init__(self, ticks: list[float], late_s: float = 0.03, every_s: float = 0.003,
                 depth: int = 6) -> None:
        self.ticks = ticks  # the GUI thread's timer appends perf_counter() to it
        self.late_s, self.every_s, self.depth = late_s, every_s, depth
        self.gui = threading.get_ident()
        # (perf_counter, late by, GUI stack, {thread name: innermost frames})
        self.samples: list[tuple[float, float, str, dict[str, str]]] = []
        self.collections: list[tuple[float, float, int]] = []  # (start, end, generation)
        self.renders: list[tuple[float, float, float]] = []  # (start, end, GUI CPU s)
        self._gc_start = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stall-sampler", daemon=True)

    def watch_renders(self, render_window) -> None:
        """Time each ``Render`` of ``render_window`` (a VTK window): wall and GUI-thread CPU."""
        start = []

        def begin(*_):
            start[:] = [time.perf_counter(), time.thread_time()]

        def end(*_):
            if start:
                self.renders.append((start[0], time.perf_counter(),
                                     time.thread_time() - start[1]))
        render_window.AddObserver("StartEvent", begin)
        render_window.AddObserver("EndEvent", end)

    def install(self) -> None:
        gc.callbacks.append(self._gc)
        self._thread.start()

    def remove(self) -> None:
        self._stop.set()
        self._thread.join(1)
        if self._gc in gc.callbacks:
            gc.callbacks.remove(self._gc)

    def _gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gc_start = time.perf_counter()
        else:
            self.collections.append((self._gc_start, time.perf_counter(), info["generation"]))

    def _run(self) -> None:
        names = {}
        while not self._stop.wait(self.every_s):
            if not self.ticks:
                continue
            now = time.perf_counter()
            late = now - self.ticks[-1]
            if late < self.late_s:
                continue
            frames = sys._current_frames()
            if len(names) != len(frames):
                names = {t.ident: t.name for t in threading.enumerate()}
            gui = frames.get(self.gui)
            others = {names.get(i, str(i)): _stack(f, 2) for i, f in frames.items()
                      if i not in (self.gui, threading.get_ident())}
            self.samples.append((now, late, _stack(gui, self.depth) if gui else "?", others))

    def explain(self, t0: float, t1: float) -> str:
        """The samples (collapsed where the GUI stack repeats) and collections in
        ``[t0, t1]``."""
        lines = [f"    gc gen {g} {1000 * (e - s):.1f} ms at +{1000 * (s - t0):.0f} ms"
                 for s, e, g in self.collections if s < t1 and e > t0]
        lines += [f"    render {1000 * (e - s):.1f} ms ({1000 * c:.1f} ms of GUI-thread CPU) at "
                  f"+{1000 * (s - t0):.0f} ms" for s, e, c in self.renders if s < t1 and e > t0]
        runs: list[list] = []  # [first t, late, GUI stack, others, count]
        for t, late, stack, others in self.samples:
            if not t0 <= t <= t1 + 0.001:
                continue
            if runs and runs[-1][2] == stack:
                runs[-1][4] += 1
                continue
            runs.append([t, late, stack, others, 1])
        for t, late, stack, others, n in runs:
            busy = "; ".join(f"{k}: {v}" for k, v in others.items() if v)
            lines.append(f"    +{1000 * (t - t0):4.0f} ms (late {1000 * late:.0f}, x{n}) GUI: "
                         f"{stack}\n        others: {busy}")
        return "\n".join(lines) or "    (no sample: the watchdog did not run in it)"


def _stack(frame, depth: int) -> str:
    """``frame`` and its callers, innermost first, as ``module:function:line`` < ..."""
    out = []
    for fs in traceback.extract_stack(frame, limit=depth)[::-1]:
        mod = fs.filename.rsplit("/", 2)
        out.append(f"{'/'.join(mod[-2:])}:{fs.name}:{fs.lineno}")
    return " < ".join(out)
