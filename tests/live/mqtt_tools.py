"""What the MQTT source tests share: a feed that keeps everything, a source on its own thread,
and a publisher that behaves as a real one (QoS 1, waits for PUBACK, re-sends on reconnect)."""

from __future__ import annotations

import collections
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from twin.live.feed import LINK_STATES, Reading


class KeepingFeed:
    """A feed that keeps every reading, bad message and link change (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.got: list[Reading] = []
        self.bad_kinds: collections.Counter = collections.Counter()
        self.examples: dict[str, str] = {}  # the first of each kind
        self.said: list[tuple[str, str]] = []  # every (kind, example), in order
        self.links: list[tuple[str, str]] = []
        self.changed = threading.Condition(self.lock)

    def readings(self, batch):
        assert isinstance(batch, list) and all(isinstance(r, Reading) for r in batch)
        with self.lock:
            self.got.extend(batch)
            self.changed.notify_all()

    def bad(self, kind, example):
        with self.lock:
            self.bad_kinds[kind] += 1
            self.examples.setdefault(kind, example)
            self.said.append((kind, example))
            self.changed.notify_all()

    def link(self, state, detail=""):
        assert state in LINK_STATES
        with self.lock:
            self.links.append((state, detail))
            self.changed.notify_all()

    def wait(self, predicate, timeout=30.0, what="the feed"):
        """Until ``predicate(self)`` holds; fails after ``timeout`` s naming ``what``."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for {what}: {len(self.got)} "
                                         f"readings, bad {dict(self.bad_kinds)}, "
                                         f"links {self.links[-5:]}")
                self.changed.wait(min(left, 0.2))

    def connected(self):
        return bool(self.links) and self.links[-1][0] == "connected"


class SourceThread:
    """``source.run(feed, stop)`` on a thread; :meth:`stop` joins it (with a deadline)."""

    def __init__(self, source, feed):
        self.source, self.feed = source, feed
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            self.source.run(self.feed, self.stop_event)
        except BaseException as e:  # noqa: BLE001 - handed to the test
            self.error = e

    def wait_connected(self, timeout=15.0):
        """Wait until the feed (a ``LiveRecorder``) says the source connected."""
        deadline = time.monotonic() + timeout
        while self.feed.link_state != "connected":
            assert time.monotonic() < deadline, "the source did not connect"
            assert self.error is None, self.error
            time.sleep(0.05)

    def stop(self, timeout=15.0):
        self.stop_event.set()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the source did not stop"
        if self.error is not None:
            raise self.error


class Publisher:
    """A plant's publisher: QoS 1 on a persistent session; paho keeps every message until its
    PUBACK and sends it again after a reconnect."""

    def __init__(self, port, client_id="plant-publisher", protocol=mqtt.MQTTv5):
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=protocol)
        self.client.reconnect_delay_set(1, 1)
        self.client.max_inflight_messages_set(100)
        self.acked_at: dict[int, float] = {}
        self.client.on_publish = self._on_publish
        self.infos = []
        kw = {}
        if protocol == mqtt.MQTTv5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 3600
            kw = {"clean_start": False, "properties": props}
        self.connected = threading.Event()
        self.client.on_connect = lambda *a: self.connected.set()
        self.client.connect("127.0.0.1", port, 30, **kw)
        self.client.loop_start()
        assert self.connected.wait(10), "publisher did not connect"

    def _on_publish(self, client, userdata, mid, reason, properties):
        self.acked_at[mid] = time.time()

    def publish(self, topic, payload, msg_id=None):
        props = None
        if msg_id is not None:
            props = Properties(PacketTypes.PUBLISH)
            props.UserProperty = ("msg-id", str(msg_id))
        info = self.client.publish(topic, payload, qos=1, properties=props)
        self.infos.append(info)
        return info

    def wait_all(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        for info in self.infos:  # by PUBACK, also for what was sent while disconnected
            while info.mid not in self.acked_at:
                assert time.monotonic() < deadline, "the broker did not acknowledge everything"
                time.sleep(0.02)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def make_broker(folder):
    """A :class:`Broker` of ``tests/live/conftest.py`` (not started) for a test that configures
    its own (passwords, TLS, started late). Loaded by path: several test folders have a
    ``conftest`` module."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "live_broker_conftest", Path(__file__).with_name("conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Broker(folder)
