"""A live source in a process of its own, for a feed in a busy process (the workbench).

Reading a plant is mostly Python per message: paho parses each MQTT packet and its MQTT 5
properties, the source parses the JSON payload, asyncua decodes each data change. In the
workbench that work would share one interpreter lock with the GUI thread, the dashboard and
the recorder, so at 20,000 messages/s the event loop stalls and ingest stops at what one core
can do. :class:`ProcessSource` runs the source in a child process (``spawn``, as every process
of twinbench) and hands its batches over a pipe to a thread of this process, which passes
them to the feed: the child uses the other core, and this process only unpickles batches.

Nothing else changes: the child acknowledges a message once its readings are in the pipe (a
full pipe holds the child up, and a held-up MQTT source holds the broker back), link changes
and bad messages come through in order, a :class:`~twin.live.feed.LiveError` the source
raises is raised again by :meth:`ProcessSource.run`, and the child stops when ``stop`` is set
or when this process goes away.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import pickle
import threading
import time

from twin.live.feed import Feed, LiveError, Reading, Source

#: Seconds between the child's checks that its parent is still there.
ORPHAN_CHECK_S = 0.5
#: Seconds the child has to stop (final acknowledgements, disconnect) before it is killed.
STOP_GRACE_S = 20.0


class ProcessSource(Source):
    """Runs ``source`` (a constructed :class:`~twin.live.feed.Source`, so its options are
    checked here) in a child process; the child makes its own from ``source.url`` and
    ``source.options``, which must pickle. ``nice``: how much lower the child's scheduling
    priority is than this process's (``os.nice``; its threads inherit it)."""

    def __init__(self, source: Source, nice: int = 0) -> None:
        super().__init__(source.url, **source.options)
        self.inner = source
        self.nice = nice
        try:
            pickle.dumps((source.url, source.options))
        except Exception as e:  # noqa: BLE001 - anything that does not pickle
            raise LiveError(f"{source.url}: its options cannot be given to a process of its "
                            f"own ({e})") from None
        self.pid: int | None = None

    def run(self, feed: Feed, stop: threading.Event) -> None:
        """Start the child, pass what it hands over to ``feed`` until it has ended."""
        ctx = mp.get_context("spawn")
        mine, theirs = ctx.Pipe(duplex=False)
        # stop: a message (or this end closing) on a pipe of its own, not an mp.Event, whose
        # set() waits for ever on a waiter that exited while waiting
        stop_r, stop_w = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child, name="twinbench-live-source", daemon=True,
                           args=(type(self.inner), self.url, self.options, theirs, stop_r,
                                 os.getpid(), self.nice))
        proc.start()
        self.pid = proc.pid
        theirs.close()
        stop_r.close()
        told = False
        failure: BaseException | None = None
        stopped_at: float | None = None
        try:
            while True:
                if stop.is_set() and not told:
                    told = _tell_stop(stop_w)
                    stopped_at = time.monotonic()
                if stopped_at is not None and time.monotonic() - stopped_at > STOP_GRACE_S:
                    proc.kill()
                    proc.join(5)
                    # what it put in the pipe before, it has acknowledged (an MQTT broker
                    # will not send it again): all of it goes on to the feed
                    while _pass_on(mine, feed) not in ("end", None):
                        pass
                    feed.link("closed", f"the source's process did not stop within "
                                        f"{STOP_GRACE_S:g} s: ended")
                    break
                if not mine.poll(0.1):
                    if not proc.is_alive() and not mine.poll(0):
                        raise LiveError(f"{self.url}: the live source's process ended "
                                        f"unexpectedly (exit code {proc.exitcode})")
                    continue
                try:
                    msg = mine.recv()
                except EOFError:
                    proc.join(5)
                    raise LiveError(f"{self.url}: the live source's process ended "
                                    f"unexpectedly (exit code {proc.exitcode})") from None
                if msg[0] == "x":
                    failure = msg[1]
                elif _hand(msg, feed) == "end":
                    break
        finally:
            if not told:
                _tell_stop(stop_w)
            stop_w.close()
            proc.join(10)
            if proc.is_alive():
                proc.kill()
                proc.join(5)
            mine.close()
        if failure is not None:
            raise failure


def _hand(msg: tuple, feed: Feed) -> str:
    """Pass one message of the child on to ``feed``; its kind."""
    kind = msg[0]
    if kind == "r":
        feed.readings(list(map(Reading._make, msg[1])))
    elif kind == "b":
        feed.bad(msg[1], msg[2])
    elif kind == "l":
        feed.link(msg[1], msg[2])
    return kind


def _pass_on(conn, feed: Feed) -> str | None:
    """The next message left in the pipe of a child that has gone, passed on to ``feed``
    (a failure it sent is dropped: the stop was ours); None when the pipe is empty or what
    is left was cut short."""
    try:
        if not conn.poll(0):
            return None
        msg = conn.recv()
    except (EOFError, OSError, pickle.UnpicklingError):
        return None
    return "x" if msg[0] == "x" else _hand(msg, feed)


def _tell_stop(conn) -> bool:
    with contextlib.suppress(OSError):  # the child has gone
        conn.send(True)
    return True


class _PipeFeed:
    """The child's feed: everything goes into the pipe, in order."""

    def __init__(self, conn) -> None:
        self.conn = conn

    def readings(self, batch: list[Reading]) -> None:
        self.conn.send(("r", list(map(tuple, batch))))  # plain tuples pickle in C

    def bad(self, kind: str, example: str) -> None:
        self.conn.send(("b", kind, example))

    def link(self, state: str, detail: str = "") -> None:
        self.conn.send(("l", state, str(detail)))


def _child(cls, url: str, options: dict, conn, stop, parent: int, nice: int = 0) -> None:
    """The child process: run the source until ``stop`` or until ``parent`` has gone."""
    import logging
    import signal

    if nice:
        _lower_priority(nice)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    logging.getLogger("asyncua").setLevel(logging.CRITICAL)  # links are reported, not logged
    done = threading.Event()
    local_stop = threading.Event()

    def watch() -> None:  # the stop pipe -> threading.Event; an orphan stops too
        while not done.is_set():
            # a message, or the parent's end closed (it has gone): both read as ready
            if stop.poll(ORPHAN_CHECK_S) or os.getppid() != parent:
                local_stop.set()
                return

    threading.Thread(target=watch, daemon=True).start()
    try:
        cls(url, **options).run(_PipeFeed(conn), local_stop)
    except BaseException as exc:  # noqa: BLE001 - handed to the parent, which raises it
        try:
            conn.send(("x", exc))
        except Exception:  # noqa: BLE001 - it does not pickle
            conn.send(("x", LiveError(f"{url}: {type(exc).__name__}: {exc}")))
    finally:
        done.set()
        try:
            conn.send(("end",))
            conn.close()
        except OSError:
            pass  # the parent has gone


def _lower_priority(nice: int) -> None:
    """Lower this process's scheduling priority by ``nice``. On Linux each thread has its
    own (new threads inherit their creator's): the threads already running (a numerical
    library's pool, started by an import) are lowered one by one."""
    with contextlib.suppress(OSError):
        value = os.nice(nice)
        tasks = f"/proc/{os.getpid()}/task"
        if os.path.isdir(tasks):
            for tid in os.listdir(tasks):
                with contextlib.suppress(OSError):
                    os.setpriority(os.PRIO_PROCESS, int(tid), value)
