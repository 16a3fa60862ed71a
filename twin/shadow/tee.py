"""The alert engine beside a live source.

:class:`AlertTee` is a :class:`twin.live.feed.Feed` that hands every call on to another feed
(the recorder) and queues the readings and link changes for an
:class:`~twin.shadow.alerts.AlertEngine`, which runs on the thread that calls
:meth:`AlertTee.drain` (the command's loop, the workbench's timer): the source's thread
never waits for the rules. A link that goes down is a gap for the drift tests
(:meth:`AlertEngine.gap`): no observation spans it.
"""

from __future__ import annotations

import collections
import threading

from twin.shadow.alerts import Alert, AlertEngine


class AlertTee:
    """A feed for ``feed`` and ``engine``; ``drain`` evaluates what came in since."""

    def __init__(self, feed, engine: AlertEngine) -> None:
        self.feed = feed
        self.engine = engine
        self._queue: collections.deque = collections.deque()
        self._lock = threading.Lock()

    def __getattr__(self, name: str):
        """What the feed has besides the Feed protocol (the recorder's path, its report of
        problems and lost messages) is read from the feed: the tee stands in for it."""
        if name == "feed":  # not set yet (a copy being made): no recursion
            raise AttributeError(name)
        return getattr(self.feed, name)

    # -- the Feed protocol (the source's thread) ------------------------------------------------
    def readings(self, batch):
        """Hand ``batch`` on; what the feed returns (the recorder: the readings it kept, each
        message once) is returned, and is what the rules see."""
        kept = self.feed.readings(batch)
        self._queue.append(("readings", list(batch if kept is None else kept)))
        return kept

    def bad(self, kind: str, example: str) -> None:
        self.feed.bad(kind, example)

    def link(self, state: str, detail: str = "") -> None:
        self.feed.link(state, detail)
        if state == "reconnecting":
            self._queue.append(("gap", None))

    # -- the engine (the caller's thread) ------------------------------------------------------
    def drain(self) -> list[Alert]:
        """Evaluate the readings queued since the last call, then let wall-clock time pass
        (the ``no_data`` rule, states that last); returns the alerts that changed."""
        out: list[Alert] = []
        with self._lock:
            while self._queue:
                kind, batch = self._queue.popleft()
                if kind == "gap":
                    self.engine.gap()
                else:
                    out += self.engine.readings(batch)
            out += self.engine.advance()
        return out


class LiveAlerts:
    """A project's alert rules beside a live recording: the engine (wall clock), the log
    beside the recording (``<recording>.alerts.jsonl``), MQTT publishing (``publish``: an
    ``mqtt://HOST:PORT/PREFIX`` address) and ``listeners`` (a printer, a dock).

    Raises ``InputError`` for a log that exists (without ``overwrite``) or a broker that does
    not answer, before anything is recorded.
    """

    def __init__(self, project, record, *, time_zone: str = "UTC", publish: str | None = None,
                 overwrite: bool = False, listeners=()) -> None:
        import time

        from twin.shadow.sinks import AlertLog, MqttAlertPublisher, alert_log_path

        self.engine = AlertEngine(project, clock=time.time, time_zone=time_zone)
        log = alert_log_path(record)
        if overwrite and log.exists():
            log.unlink()
        self.sinks: list = []
        if publish is not None:
            self.sinks.append(MqttAlertPublisher(publish))
        try:
            self.sinks.append(AlertLog(log))
        except Exception:
            self.close()
            raise
        self.engine.listeners.extend([*self.sinks, *listeners])
        self._tee: AlertTee | None = None

    def tee(self, feed) -> AlertTee:
        """The feed the source is given: ``feed`` (the recorder) and the rules."""
        self._tee = AlertTee(feed, self.engine)
        return self._tee

    def drain(self) -> list[Alert]:
        return self._tee.drain() if self._tee is not None else []

    def close(self) -> None:
        """Evaluate what is still queued and close the sinks."""
        if self._tee is not None:
            self._tee.drain()
            self._tee = None
        for sink in self.sinks:
            sink.close()
