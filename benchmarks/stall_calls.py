"""What ran on the GUI thread while its event loop stalled: the long calls, as a tree.

:class:`LongCalls` is a profile hook (``sys.setprofile``) on the thread that installs it: it
times every Python and C call there and keeps those that took at least ``min_s``, with their
depth below the event loop, so that a gap between two ticks of a timer can be explained by the
calls that overlap it (a slot, and inside it a render, a table refresh, a flush...). Other
threads named in ``threads`` (started after :meth:`LongCalls.install`) are timed too: a long C
call there that holds the interpreter lock (an HDF5 flush) stalls the GUI thread as well. A
sampling watchdog cannot do that: a C call that holds the interpreter lock (a VTK render) keeps
the watchdog from running until it has returned. The hook slows the GUI thread's Python down,
so a run that explains stalls is not a run that measures rates (``bench_live_gui.py --why``).
"""

from __future__ import annotations

import sys
import threading
import time


class LongCalls:
    """Calls of this thread that took at least ``min_s`` seconds, while installed."""

    def __init__(self, min_s: float = 0.01, max_depth: int = 12,
                 threads: tuple[str, ...] = ()) -> None:
        self.min_s = min_s
        self.max_depth = max_depth
        self.threads = threads
        # (start, end, depth, name, thread name)
        self.calls: list[tuple[float, float, int, str, str]] = []
        self._stacks = threading.local()
        self._on = False

    def _hook(self, frame, event, arg) -> None:
        try:
            stack, who = self._stacks.stack, self._stacks.who
        except AttributeError:
            stack, who = self._stacks.stack, self._stacks.who = [], \
                threading.current_thread().name
        if event == "call" or event == "c_call":
            stack.append((time.perf_counter(), arg if event == "c_call" else frame))
        elif stack:  # return, c_return, c_exception
            start, what = stack.pop()
            end = time.perf_counter()
            depth = len(stack)
            if end - start >= self.min_s and depth <= self.max_depth:
                self.calls.append((start, end, depth, _name(what), who))

    def _first(self, frame, event, arg) -> None:
        """A new thread's first call: hooked if it is one of ``threads``, else left alone."""
        if self._on and threading.current_thread().name in self.threads:
            sys.setprofile(self._hook)
            self._hook(frame, event, arg)
        else:
            sys.setprofile(None)

    def install(self) -> None:
        """Hook this thread and the threads of ``threads`` started from now on."""
        self._on = True
        sys.setprofile(self._hook)
        if self.threads:
            threading.setprofile(self._first)

    def remove(self) -> None:
        self._on = False  # the other threads' hooks stay, their calls are no longer read
        sys.setprofile(None)
        threading.setprofile(None)

    def during(self, t0: float, t1: float) -> list[tuple[float, float, int, str]]:
        """The long calls that overlap ``[t0, t1]``, in the order they began."""
        return sorted((c for c in self.calls if c[0] < t1 and c[1] > t0),
                      key=lambda c: (c[4], c[0], c[2]))

    def explain(self, t0: float, t1: float, limit: int = 25) -> str:
        """The long calls over ``[t0, t1]`` as an indented tree (ms, name)."""
        calls = self.during(t0, t1)
        if not calls:
            return "    (no Python call on the GUI thread took long: time spent in Qt/C++)"
        lines = []
        for who in dict.fromkeys(c[4] for c in calls):
            mine = [c for c in calls if c[4] == who]
            top = min(c[2] for c in mine)
            lines.append(f"    [{who}]")
            lines += [f"    {'  ' * (d - top)}{1000 * (e - s):6.1f} ms  {n}"
                      for s, e, d, n, _ in mine[:limit]]
        if len(calls) > limit:
            lines.append(f"    ... {len(calls) - limit} more")
        return "\n".join(lines)


def _name(what) -> str:
    code = getattr(what, "f_code", None)
    if code is not None:
        mod = what.f_globals.get("__name__", "?")
        return f"{mod}.{code.co_qualname}:{code.co_firstlineno}"
    owner = getattr(what, "__self__", None)
    qual = getattr(what, "__qualname__", None) or getattr(what, "__name__", repr(what))
    if owner is not None and not isinstance(owner, type(sys)):
        return f"{type(owner).__name__}.{getattr(what, '__name__', qual)} (C)"
    return f"{getattr(what, '__module__', '') or ''}.{qual} (C)".lstrip(".")
