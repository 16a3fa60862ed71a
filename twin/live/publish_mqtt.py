"""The emulator's MQTT publisher: every message to ``<prefix>/<asset>/<channel>`` at QoS 1.

Payload: JSON ``{"ts": <s since 1970>, "value": ..., "id": <n>}``, where ``id`` numbers the
messages of one publisher from 1 on, so that a receiver can drop a message the broker
delivers twice (QoS 1 is at least once).

An asset id is one topic level, percent-encoded (``urllib.parse.quote`` with no safe
characters but ``-_.~``): MQTT forbids ``#`` and ``+`` in the topic of a publication, and a
multi-server station's servers are ``<station>#<k>``, so ``lathes#0`` goes out as
``lathes%230``. Receivers decode the level with ``urllib.parse.unquote`` (ids without such
characters are unchanged).

paho-mqtt keeps every QoS 1 message until the broker acknowledges it and sends the
unacknowledged ones again after a reconnect (its loop reconnects by itself); at most
:data:`WINDOW` messages are in flight or queued at once, and :meth:`close` waits until every
one is acknowledged.

**The broker away**: each disconnection is an outage (:attr:`MqttPublisher.outages`, wall
clock and the plant time reached, until the connection is back), and the messages published
meanwhile are counted (``sent_away``): paho queued them, so a QoS 1 acknowledgement came
only after the broker was back, and a broker restarted without its sessions had no
subscriber to give them to. Before, the emulator printed "sent N" through a broker outage
while the recording lost a third of the play. :meth:`MqttPublisher.report` says it all.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Sequence
from urllib.parse import quote

from twin.live.emulator import EmulatorError, Message, Plan, Publisher
from twin.live.feed import check_address

#: Messages published but not acknowledged before ``send`` waits (checked once per batch).
WINDOW = 20_000
#: Messages sent and not yet acknowledged at once (paho holds the others queued). paho scans
#: its queue on every acknowledgement: 10,000 in flight published 3,000 messages/s, 100 about
#: 15,000-25,000 (standard-line, this 2-core machine, shared).
INFLIGHT = 100
#: Seconds ``close`` waits for the last acknowledgements.
CLOSE_WAIT = 30.0
#: The same after a stop (Ctrl-C, SIGTERM): a broker that is away does not hold the exit.
STOP_WAIT = 5.0


def parse_url(url: str) -> tuple[str, int, str]:
    """``mqtt://HOST[:PORT][/PREFIX]`` as ``(host, port, prefix)``; raises
    :class:`EmulatorError` naming what is wrong."""
    where = check_address(url, "mqtt", "--mqtt", EmulatorError)
    return where.host, where.port, where.path.strip("/")


def topic_level(asset: str) -> str:
    """An asset id as one MQTT topic level (module docstring)."""
    return quote(asset, safe="-_.~")


class MqttPublisher(Publisher):
    """Publish to the broker of ``url`` (``mqtt://HOST:PORT/PREFIX``)."""

    name = "mqtt"

    def __init__(self, url: str, client_id: str | None = None, connect_timeout: float = 10.0,
                 inflight: int = INFLIGHT):
        self.url = url
        self.host, self.port, self.prefix = parse_url(url)
        self.client_id = client_id or f"twinbench-emulator-{os.getpid()}"
        self.connect_timeout = connect_timeout
        self.inflight = inflight
        self.sent = 0
        self._acked = 0
        self._cond = threading.Condition()
        self._connected = threading.Event()
        self._client = None
        self._topics: dict[tuple[str, str], str] = {}
        #: [wall start, wall end or None, plant time stamp at start, at end] per outage
        self.outages: list[list] = []
        self.sent_away = 0
        self._closing = False
        self._last_ts: float | None = None  # latest plant time stamp sent (s since 1970)

    def open(self, plan: Plan, epoch: float) -> None:
        import paho.mqtt.client as mqtt

        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id,
                        protocol=mqtt.MQTTv311, clean_session=True)
        c.max_inflight_messages_set(self.inflight)
        c.max_queued_messages_set(0)  # no limit: WINDOW bounds it
        c.reconnect_delay_set(0.1, 5)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_publish = self._on_publish
        try:
            c.connect(self.host, self.port, keepalive=30)
        except (OSError, ValueError) as e:
            raise EmulatorError(
                f"--mqtt {self.url!r}: no MQTT broker answers at {self.host}:{self.port} "
                f"({e}); start one (mosquitto -p {self.port}) or fix the address") from None
        c.loop_start()
        self._client = c
        if not self._connected.wait(self.connect_timeout):
            self.close(wait=False)
            raise EmulatorError(f"--mqtt {self.url!r}: the broker did not accept the "
                                f"connection within {self.connect_timeout:g} s")

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if not reason_code.is_failure:
            with self._cond:
                if self.outages and self.outages[-1][1] is None:
                    self.outages[-1][1], self.outages[-1][3] = time.time(), self._last_ts
            self._connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._connected.clear()
        with self._cond:
            if not self._closing and not (self.outages and self.outages[-1][1] is None):
                self.outages.append([time.time(), None, self._last_ts, None])

    @property
    def away_since(self) -> float | None:
        """Wall time (s since 1970) the broker went away, None while connected."""
        with self._cond:
            return self.outages[-1][0] if self.outages and self.outages[-1][1] is None \
                else None

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._cond:
            self._acked += 1
            self._cond.notify_all()

    def topic(self, asset: str, channel: str) -> str:
        key = (asset, channel)
        t = self._topics.get(key)
        if t is None:
            level = topic_level(asset)
            t = self._topics[key] = (f"{self.prefix}/{level}/{channel}" if self.prefix
                                     else f"{level}/{channel}")
        return t

    def send(self, batch: Sequence[Message]) -> None:
        with self._cond:  # back-pressure: a broker away or slow holds the play here
            while self.sent - self._acked > WINDOW and not self._stopping():
                self._cond.wait(0.5)
        publish = self._client.publish
        if not self._connected.is_set():  # queued by paho until the broker is back
            self.sent_away += len(batch)
        for asset, channel, ts, value in batch:
            self.sent += 1
            payload = json.dumps({"ts": round(ts, 6), "value": value, "id": self.sent})
            # while the broker is away paho queues the message (rc NO_CONN) and sends it after
            # reconnecting; it is acknowledged then
            publish(self.topic(asset, channel), payload, qos=1)
        if batch:
            self._last_ts = batch[-1][2]

    def _stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    @property
    def acked(self) -> int:
        return self._acked

    def close(self, wait: bool = True) -> None:
        """Wait (at most :data:`CLOSE_WAIT` s, :data:`STOP_WAIT` s after a stop) until the
        broker acknowledged every message, then disconnect."""
        if self._client is None:
            return
        if wait:
            deadline = time.monotonic() + (STOP_WAIT if self._stopping() else CLOSE_WAIT)
            with self._cond:
                while self._acked < self.sent and time.monotonic() < deadline:
                    self._cond.wait(0.2)
        self._closing = True  # the disconnection that follows is no outage
        self._client.disconnect()
        self._client.loop_stop()
        self._client = None
        if self.outages and self.outages[-1][1] is None:  # still away at the end
            self.outages[-1][3] = self._last_ts

    def report(self) -> list[str]:
        """What could not be delivered, for the closing table: each outage from when to
        when (UTC wall clock and plant time), the messages published while the broker was
        away, and those never acknowledged. Empty when the broker never left."""
        lines = []
        for start, end, p0, p1 in self.outages:
            until = "the end (never came back)" if end is None else _utc(end)
            took = "" if end is None else f", {end - start:,.0f} s"
            plant = "" if p0 is None else \
                f"; plant time {_utc(p0)}-{_utc(p1) if p1 is not None else '?'}"
            lines.append(f"{self.url}: the broker was away from {_utc(start)} to {until} UTC"
                         f"{took}{plant}")
        if self.sent_away:
            lines.append(f"{self.url}: {self.sent_away:,} messages were published while the "
                         "broker was away (queued and sent when it came back; a broker "
                         "restarted without persistence has no session of its subscribers "
                         "to give them to: they are lost unless the subscriber was back "
                         "first)")
        missing = self.sent - self._acked
        if missing > 0:
            lines.append(f"{self.url}: {missing:,} of {self.sent:,} messages were never "
                         "acknowledged by the broker (not delivered)")
        return lines


def _utc(t: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S")
