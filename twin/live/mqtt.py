"""The MQTT source: follows a plant through a broker (``mqtt://HOST:PORT/PREFIX``, ``mqtts://``).

paho-mqtt 2.x, MQTT 5 by default (``protocol="3.1.1"`` for old brokers). Messages come in with
QoS 1 on a persistent session (a fixed client id, ``clean_start=False`` and a session expiry),
so that what the plant publishes while twinbench or the broker is away arrives when both are
back. A message is acknowledged (PUBACK) only after the feed has taken its readings, so a
message twinbench had not handed over when its connection went is sent again; redelivered
messages are recorded once (:class:`Dedup`, the rule in docs/live.md).

paho's network thread only appends what arrives to a queue; the thread that calls
:meth:`MqttSource.run` parses, de-duplicates and hands the readings to the feed in batches
(every ``batch_s`` or ``batch_max`` messages), so a slow feed never stalls the network loop:
the broker is asked to hold back what twinbench has not acknowledged (MQTT 5 Receive Maximum).
"""

from __future__ import annotations

import collections
import hashlib
import json
import math
import os
import re
import socket
import ssl
import stat
import threading
import time
from pathlib import Path
from urllib.parse import unquote

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from twin.live import sparkplug as spb
from twin.live.feed import (
    CHANNELS,
    Feed,
    LiveError,
    Reading,
    Source,
    check_address,
    plant_time,
    register,
    state_name,
)
from twin.live.mapping import LiveMapping, TopicRule, live_mapping, load_live_mapping
from twin.live.mqtt_wire import WireClient
from twin.live.report import NOTHING_HERE, PROBE_REPEAT_S, PROBE_S, elsewhere, probe_prefixes

#: Kinds of bad input this source reports (``Feed.bad``).
UNPARSABLE = "unparsable payload"
UNKNOWN_CHANNEL = "unknown channel"
UNKNOWN_STATE = "unknown state"
OUT_OF_RANGE = "value out of range"
BAD_TIME = "bad time stamp"
FUTURE = "time in the future"
BAD_TOPIC = "topic not understood"
BAD_KINDS = (UNPARSABLE, UNKNOWN_CHANNEL, UNKNOWN_STATE, OUT_OF_RANGE, BAD_TIME, FUTURE,
             BAD_TOPIC)

#: MQTT 5 CONNACK reasons that retrying cannot mend.
_FATAL_CONNACK = {
    0x84: "the broker does not speak this MQTT version: try protocol='3.1.1'",
    0x85: "the broker refuses the client id: give another with client_id=...",
    0x86: "bad user name or password: check TWINBENCH_MQTT_USERNAME/PASSWORD or the "
          "credentials file",
    0x87: "not authorized: check the user name and password (TWINBENCH_MQTT_USERNAME/PASSWORD "
          "or the credentials file) and that the broker's access list lets this user in",
    0x8C: "the broker wants an authentication method twinbench does not offer",
}
_EXAMPLE_LEN = 120
_COUNTING = ("parts", "scrap", "count")


class BadMessage(ValueError):
    """A message that cannot be read: ``kind`` is one of :data:`BAD_KINDS`."""

    def __init__(self, kind: str, why: str) -> None:
        super().__init__(why)
        self.kind = kind


class Dedup:
    """Which messages were recorded already, in a bounded window per asset and channel.

    A message's identity (its ``key``) is the publisher's message id when it gives one (MQTT 5
    user property ``msg-id``, or a JSON field ``id`` or ``seq``), else its topic and content
    when the content carries a time stamp (JSON with ``ts``). A key seen among the last
    ``window`` keys of its asset and channel is a repeat. A bare value carries no identity: it
    is a repeat only when the broker flags it as a redelivery (DUP) and the same topic and
    payload is among that window.
    """

    def __init__(self, window: int = 1024) -> None:
        if window < 1:
            raise LiveError(f"dedup_window={window!r}: give a positive number of messages")
        self.window = window
        self._seen: dict[tuple[str, str], tuple[collections.deque, set]] = {}
        self.repeats = 0

    def first_time(self, asset: str, channel: str, identity: str) -> bool:
        """Whether ``identity`` is new for ``(asset, channel)``; remembers it."""
        slot = self._seen.get((asset, channel))
        if slot is None:
            slot = self._seen[(asset, channel)] = (collections.deque(), set())
        order, seen = slot
        h = hash(identity)  # 64 bits, per process: the window lives only as long as the source
        if h in seen:
            self.repeats += 1
            return False
        order.append(h)
        seen.add(h)
        if len(order) > self.window:
            seen.discard(order.popleft())
        return True

    def seen(self, asset: str, channel: str, identity: str) -> bool:
        """Whether ``identity`` is in the window, without remembering it."""
        slot = self._seen.get((asset, channel))
        return slot is not None and hash(identity) in slot[1]


class MessageReader:
    """Turns one MQTT message into readings under the default conventions and a mapping.

    Parameters
    ----------
    prefix : str
        Topic levels before ``<asset>/<channel>`` (``""``: none).
    mapping : LiveMapping
    max_future_s : float or None
        A time stamp further ahead of this machine's clock is bad (``None``: no check, for an
        emulated plant whose clock runs ahead).
    """

    def __init__(self, prefix: str, mapping: LiveMapping, max_future_s: float | None = 60.0,
                 dedup_window: int = 1024) -> None:
        self.prefix = prefix
        self._n_prefix = len(prefix.split("/")) if prefix else 0
        self.mapping = mapping
        self.max_future_s = max_future_s
        self.dedup = Dedup(dedup_window)
        self._assets: dict[str, str] = {}
        self._topics: dict[str, tuple[TopicRule | None, str, str]] = {}
        self._aliases: dict[tuple[str, str], dict[int, str]] = {}  # Sparkplug, per edge node
        self._seq = spb.SeqWatch()  # and each node's numbering: its holes are messages lost

    def read(self, topic: str, payload: bytes, arrival: float, dup: bool = False,
             msg_id: str | None = None) -> list[Reading]:
        """The new readings of one message (``[]`` for a repeat). Raises :class:`BadMessage`."""
        known = self._topics.get(topic)  # a plant sends on the same topics again and again
        if known is None:
            levels = topic.split("/")
            if levels[0] == "spBv1.0" and self.mapping.sparkplug is not None:
                return self._sparkplug(levels, topic, payload, arrival)
            known = self._topic(topic, levels)
        rule, asset, channel = known
        fields = rule.fields if rule is not None else {}
        channels = rule.channel_fields if rule is not None else {}
        try:
            text = payload.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise BadMessage(UNPARSABLE, "payload is not UTF-8 text") from None
        doc = None
        if text[:1] == "{" or channels:
            try:
                doc = _json(text)
            except (ValueError, RecursionError):
                raise BadMessage(UNPARSABLE, "payload starts like JSON but is not") from None
            if not isinstance(doc, dict):
                raise BadMessage(UNPARSABLE, "payload is JSON but not an object")
        t = arrival
        identity = ""
        if doc is not None:
            ts = doc.get(fields.get("ts", "ts"))
            if ts is not None:
                try:
                    t = plant_time(ts)
                except ValueError as e:
                    raise BadMessage(BAD_TIME, str(e)) from None
                if self.max_future_s is not None and t > time.time() + self.max_future_s:
                    raise BadMessage(FUTURE, f"time stamp {ts!r} is more than "
                                     f"{self.max_future_s:g} s ahead of this machine's clock")
            if msg_id is None:
                for name in (fields["id"],) if "id" in fields else ("id", "seq"):
                    if name in doc and isinstance(doc[name], str | int) \
                            and not isinstance(doc[name], bool):
                        msg_id = str(doc[name])
                        break
            if msg_id is None and ts is not None:
                identity = f"{topic}|{hashlib.blake2b(payload, digest_size=8).hexdigest()}"
        if msg_id is not None:
            identity = f"{topic}|id:{msg_id}"
        if channels:  # one JSON payload, several channels
            # every value read first: a bad one makes the whole message bad, none remembered
            values = [(ch, self._value(ch, doc[name])) for ch, name in channels.items()
                      if name in doc]
            out = []
            for ch, value in values:
                key = f"{identity}|{ch}" if identity else ""
                if not key or self.dedup.first_time(asset, ch, key):
                    out.append(Reading(asset, ch, t, value, key))
            return out
        if doc is not None:
            value = doc.get(fields.get("value", "value"))
        elif text[:1] == '"':  # a JSON string: "busy"
            try:
                value = json.loads(text)
            except ValueError:
                raise BadMessage(UNPARSABLE, "payload starts like a JSON string but is not") \
                    from None
        else:
            value = text
        reading = Reading(asset, channel, t, self._value(channel, value), identity)
        if identity:
            return [reading] if self.dedup.first_time(asset, channel, identity) else []
        # a bare value has no identity: a redelivery (DUP) of what was just seen is a repeat
        content = f"{topic}|{hashlib.blake2b(payload, digest_size=8).hexdigest()}"
        if dup and self.dedup.seen(asset, channel, "bare|" + content):
            self.dedup.repeats += 1
            return []
        self.dedup.first_time(asset, channel, "bare|" + content)
        return [reading]

    def _topic(self, topic: str, levels: list[str]) -> tuple[TopicRule | None, str, str]:
        """``(rule, asset, channel)`` of a topic (the rule ``None`` for the default
        convention), remembered for the next message on it. Raises :class:`BadMessage`."""
        rule: TopicRule | None = None
        for r in self.mapping.topics:
            m = r.match(levels)
            if m is not None:
                rule, (raw_asset, channel) = r, m
                break
        else:
            n = self._n_prefix
            if len(levels) != n + 2 or (n and "/".join(levels[:n]) != self.prefix):
                raise BadMessage(BAD_TOPIC, f"topic {topic!r} is not <prefix>/<asset>/<channel>")
            raw_asset, channel = levels[n], levels[n + 1]
        asset = self._asset(raw_asset, topic)
        if not (rule is not None and rule.channel_fields) and channel not in CHANNELS:
            raise BadMessage(UNKNOWN_CHANNEL, f"channel {channel[:40]!r} of topic {topic!r} is "
                             f"not one of {', '.join(CHANNELS)}")
        known = (rule, asset, channel)
        if len(self._topics) < 100_000:
            self._topics[topic] = known
        return known

    def _sparkplug(self, levels: list[str], topic: str, payload: bytes,
                   arrival: float) -> list[Reading]:
        """NBIRTH/DBIRTH/NDATA/DDATA: each mapped metric a reading of the device (D...) or the
        edge node (N...); BIRTHs name the aliases DATA messages use; other types are skipped."""
        if len(levels) not in (4, 5) or levels[1] == "STATE":
            return []
        _, group, kind, node = levels[:4]
        if kind not in ("NBIRTH", "DBIRTH", "NDATA", "DDATA", "DDEATH"):
            return []  # node deaths, commands: nothing to record (nor numbered)
        if (kind[0] == "D") != (len(levels) == 5):
            raise BadMessage(BAD_TOPIC, f"topic {topic!r} is not spBv1.0/group/{kind}/node"
                             + ("/device" if kind[0] == "D" else ""))
        asset = self._asset(levels[4] if len(levels) == 5 else node, topic)
        try:
            p = spb.decode(payload)
        except spb.SparkplugError as e:
            raise BadMessage(UNPARSABLE, f"not a Sparkplug B payload: {e}") from None
        at = p.timestamp_ms / 1000.0 if 0 < (p.timestamp_ms or 0) < 32503680000000 else arrival
        lost = self._seq.see(group, node, kind, p.seq, at)  # [] or its hole's reading
        if kind == "DDEATH":
            return lost
        aliases = self._aliases.setdefault((group, node), {})
        if kind == "NBIRTH":
            aliases.clear()  # a rebirth defines them anew
        names = self.mapping.sparkplug.metrics
        values = []
        for m in p.metrics:
            name = m.name
            if kind.endswith("BIRTH") and m.alias is not None and name:
                aliases[m.alias] = name
            if not name:
                if m.alias not in aliases:
                    raise BadMessage(UNKNOWN_CHANNEL, f"metric alias {m.alias} of {topic!r} "
                                     "was named by no BIRTH")
                name = aliases[m.alias]
            channel = names.get(name)
            if channel is None or m.value is None:
                continue
            ms = m.timestamp_ms if m.timestamp_ms is not None else p.timestamp_ms
            t = arrival
            if ms is not None:
                try:
                    t = plant_time(ms / 1000.0)
                except ValueError as e:
                    raise BadMessage(BAD_TIME, str(e)) from None
                if self.max_future_s is not None and t > time.time() + self.max_future_s:
                    raise BadMessage(FUTURE, f"time stamp {ms} ms is more than "
                                     f"{self.max_future_s:g} s ahead of this machine's clock")
            value = m.value
            if channel == "state" and isinstance(value, bool):
                raise BadMessage(UNKNOWN_STATE, f"state {value!r} is not a state")
            values.append((channel, t, self._value(channel, value),
                           f"{topic}|{name}|{ms}" if ms is not None else ""))
        out = lost
        for channel, t, value, key in values:
            if not key or self.dedup.first_time(asset, channel, key):
                out.append(Reading(asset, channel, t, value, key))
        return out

    def _asset(self, raw: str, topic: str) -> str:
        asset = self._assets.get(raw)
        if asset is None:
            try:
                name = unquote(raw, errors="strict") if "%" in raw else raw
            except UnicodeDecodeError:
                raise BadMessage(BAD_TOPIC, f"asset {raw[:40]!r} of topic {topic!r} is not "
                                 "percent-encoded UTF-8") from None
            if not name.strip() or "\x00" in name:
                raise BadMessage(BAD_TOPIC, f"topic {topic!r} names no asset")
            asset = self.mapping.asset_id(name)
            if len(self._assets) < 100_000:
                self._assets[raw] = asset
        return asset

    def _value(self, channel: str, value) -> float | str:
        if channel == "state":
            if value is None or isinstance(value, dict | list | bool):
                raise BadMessage(UNKNOWN_STATE, f"state {value!r} is not a state")
            try:
                return state_name(value, self.mapping.states)
            except ValueError as e:
                raise BadMessage(UNKNOWN_STATE, str(e)) from None
        if channel in ("parts", "scrap") and (value is None or value == ""):
            return 1.0
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise BadMessage(UNPARSABLE, f"{channel} value {value!r} is not a number")
        try:
            x = float(value)
        except ValueError:
            raise BadMessage(UNPARSABLE, f"{channel} value {value[:40]!r} is not a number") \
                from None
        except OverflowError:
            x = math.inf
        if not math.isfinite(x):
            raise BadMessage(OUT_OF_RANGE, f"{channel} value {value!r} is not finite")
        if channel in _COUNTING and (x < 0 or not x.is_integer()):
            raise BadMessage(OUT_OF_RANGE, f"{channel} value {value!r} is not a whole number "
                             "of parts >= 0")
        if channel == "level" and x < 0:
            raise BadMessage(OUT_OF_RANGE, f"level {value!r} is negative")
        return x


@register
class MqttSource(Source):
    """Follows ``mqtt://HOST:PORT/PREFIX`` (``mqtts://`` over TLS; ports 1883/8883 by default).

    Options
    -------
    mapping : str, Path, dict or LiveMapping, optional
        A mapping file whose ``live`` section names other topics, state codes, asset renames.
    protocol : {"5", "3.1.1"}
        MQTT version (default 5).
    client_id : str, optional
        The persistent session's id; by default derived from ``project`` and this machine's
        host name (and the prefix), the same on every run.
    project : str
        The project's name, for the default client id.
    program : str
        Which program follows (``"live"``: ``twinbench live``, ``"gui"``: the workbench), for
        the default client id: a persistent session belongs to one follower, and two that
        shared an id would each be handed the other's backlog.
    session_expiry_s : int
        How long the broker keeps the session (and queues messages) while twinbench is away
        (MQTT 5; default one week).
    credentials : str or Path, optional
        A file holding ``user:password`` or ``{"username": ..., "password": ...}``, readable by
        its owner only; otherwise ``TWINBENCH_MQTT_USERNAME`` / ``TWINBENCH_MQTT_PASSWORD``.
    ca_file, cert_file, key_file : str, optional
        TLS: the CA that signed the broker's certificate (default: the system's), and a client
        certificate and key when the broker asks for one.
    max_future_s : float or None
        Time stamps further ahead of this machine's clock are bad (default 60 s; ``None`` for an
        emulated plant running faster than real time).
    batch_s, batch_max : float, int
        Hand readings over every ``batch_s`` seconds or ``batch_max`` messages.
    inflight : int
        MQTT 5 Receive Maximum: messages the broker may send before twinbench acknowledges.
    dedup_window : int
        Message identities remembered per asset and channel.
    keepalive_s : int
    reconnect_min_s, reconnect_max_s : int
        Backoff between reconnection attempts (doubling from min to max).
    """

    schemes = ("mqtt", "mqtts")

    def __init__(self, url: str, **options) -> None:
        super().__init__(url, **options)
        known = {"mapping", "protocol", "client_id", "project", "program", "session_expiry_s",
                 "credentials", "probe_after_s",
                 "ca_file", "cert_file", "key_file", "max_future_s", "batch_s", "batch_max",
                 "inflight", "dedup_window", "keepalive_s", "reconnect_min_s",
                 "reconnect_max_s"}
        for key in options:
            if key not in known:
                raise LiveError(f"MQTT source: unknown option {key!r}; known: "
                                f"{', '.join(sorted(known))}")
        where = check_address(url, "mqtt")
        self.tls = where.scheme == "mqtts"
        self.host, self.port = where.host, where.port
        self.prefix = unquote(where.path).strip("/")
        protocol = str(options.get("protocol", "5"))
        if protocol not in ("5", "3.1.1"):
            raise LiveError(f"protocol={protocol!r}: give '5' or '3.1.1'")
        self.protocol = mqtt.MQTTv5 if protocol == "5" else mqtt.MQTTv311
        self.client_id = options.get("client_id") or default_client_id(
            options.get("project", "twinbench"), self.prefix, options.get("program", "live"))
        def number(key, default, kind=int, low=0):
            value = options.get(key, default)
            try:
                x = kind(value)
            except (TypeError, ValueError):
                x = None
            if x is None or isinstance(value, bool) or not low <= x < 2**31:
                raise LiveError(f"{key}={value!r}: give a number >= {low}")
            return x

        self.session_expiry_s = number("session_expiry_s", 7 * 24 * 3600)
        self.batch_s = number("batch_s", 0.05, float, 0.001)
        self.batch_max = number("batch_max", 1000, int, 1)
        self.inflight = number("inflight", 1000, int, 1)
        self.keepalive_s = number("keepalive_s", 30, int, 1)
        self.reconnect = (number("reconnect_min_s", 1, int, 1),
                          number("reconnect_max_s", 30, int, 1))
        future = options.get("max_future_s", 60.0)
        self.mapping = _mapping(options.get("mapping"))
        self.reader = MessageReader(self.prefix, self.mapping,
                                    None if future is None else number("max_future_s", 60.0,
                                                                       float),
                                    number("dedup_window", 1024, int, 1))
        self.credentials = read_credentials(options.get("credentials"))
        self.tls_files = {k: options.get(k) for k in ("ca_file", "cert_file", "key_file")}
        for key, path in self.tls_files.items():
            if path is not None and not Path(path).is_file():
                raise LiveError(f"{key}={str(path)!r}: no such file")
        if (self.tls_files["cert_file"] is None) != (self.tls_files["key_file"] is None):
            raise LiveError("give both cert_file and key_file for a client certificate")
        self.messages = 0  # messages taken in, for status lines
        self.probe_after_s = number("probe_after_s", 15, float, 0)
        self._connected_at: float | None = None  # monotonic; None while not connected
        self._probe: dict | None = None  # topic -> messages seen under '#', not yet told
        self._probing = False
        self._probed = 0  # the connection (generation) last probed: once per connection
        self._since_connect = 0  # messages taken in since the latest connection
        self._told: tuple[frozenset, float] | None = None  # prefixes last named, and when
        self._pending: collections.deque = collections.deque()
        self._wake = threading.Event()
        self._generation = 0
        self._fatal = ""
        self._stopping = False
        self._last_link = ""

    @property
    def topics(self) -> list[str]:
        """The topic filters this source subscribes to."""
        default = f"{self.prefix}/+/+" if self.prefix else "+/+"
        rules = [*self.mapping.topics]
        if self.mapping.sparkplug is not None:
            rules.append(self.mapping.sparkplug)
        return list(dict.fromkeys([default, *(r.subscription for r in rules)]))

    # --- paho's thread: take in, nothing more --------------------------------------------
    def _on_message(self, client, userdata, msg) -> None:
        try:
            topic = msg.topic
        except UnicodeDecodeError:  # the broker should refuse it; never kill paho's thread
            topic = msg._topic.decode("utf-8", errors="replace")
        msg_id = None
        if self.protocol == mqtt.MQTTv5 and msg.properties is not None:
            for name, value in getattr(msg.properties, "UserProperty", ()):
                if name == "msg-id":
                    msg_id = value
        self._pending.append((topic, msg.payload, msg.dup, msg_id, time.time(), msg.mid,
                              msg.qos, self._generation))
        if len(self._pending) >= self.batch_max and not self._wake.is_set():
            self._wake.set()

    def _on_publish(self, topic: bytes, payload: bytes, dup: bool, mid: int, qos: int) -> None:
        """A PUBLISH without properties, read by :class:`~twin.live.mqtt_wire.WireClient`."""
        try:
            text = topic.decode("utf-8")
        except UnicodeDecodeError:  # the broker should refuse it
            text = topic.decode("utf-8", errors="replace")
        self._pending.append((text, payload, dup, None, time.time(), mid, qos,
                              self._generation))
        if len(self._pending) >= self.batch_max and not self._wake.is_set():
            self._wake.set()

    def _on_connect(self, client, userdata, flags, reason, properties) -> None:
        if reason.is_failure:
            why = _FATAL_CONNACK.get(reason.value)
            if why:
                self._fatal = f"{self.host}:{self.port}: {why} ({reason})"
                self._wake.set()
            else:
                self._link("reconnecting", f"broker refused: {reason}")
            return
        self._generation += 1
        self._connected_at = time.monotonic()
        client.subscribe([(t, 1) for t in self.topics])
        self._link("connected", "session resumed" if flags.session_present else "new session")

    def _on_disconnect(self, client, userdata, flags, reason, properties) -> None:
        self._connected_at = None
        if not self._stopping:
            # paho names a dropped socket "Unspecified error": say what the user sees
            why = ("the broker went away or the network dropped" if getattr(
                reason, "value", None) == 0x80 else str(reason))
            self._link("reconnecting", f"connection lost: {why}")

    def _on_connect_fail(self, client, userdata) -> None:
        self._link("reconnecting", "broker not reachable")

    def _link(self, state: str, detail: str) -> None:
        if state != self._last_link:  # one report per change, not one per attempt
            self._last_link = state
            self._pending.append((None, state, detail))
            self._wake.set()

    # --- the source's thread --------------------------------------------------------------
    def _client(self) -> mqtt.Client:
        kw = {"clean_session": False} if self.protocol != mqtt.MQTTv5 else {}
        c = WireClient(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id,
                       protocol=self.protocol, manual_ack=True, **kw)
        c.fast_publish = self._on_publish
        c.on_message = self._on_message
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_connect_fail = self._on_connect_fail
        c.reconnect_delay_set(*self.reconnect)
        if self.credentials:
            c.username_pw_set(*self.credentials)
        if self.tls:
            c.tls_set(ca_certs=self.tls_files["ca_file"], certfile=self.tls_files["cert_file"],
                      keyfile=self.tls_files["key_file"])
        return c

    def _connect_args(self) -> dict:
        if self.protocol != mqtt.MQTTv5:
            return {}
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.session_expiry_s
        props.ReceiveMaximum = max(1, min(self.inflight, 65535))
        return {"clean_start": False, "properties": props}

    def run(self, feed: Feed, stop: threading.Event) -> None:
        """Follow the broker until ``stop`` is set; see the class."""
        client = self._client()
        where = f"{self.host}:{self.port}"
        self._last_link = "connecting"
        feed.link("connecting", where)
        self._stopping = False
        try:
            client.connect(self.host, self.port, self.keepalive_s, **self._connect_args())
        except socket.gaierror as e:
            why = f"{self.url!r}: cannot find the broker's host {self.host!r} ({e.strerror})"
            feed.link("closed", why)
            raise LiveError(why) from None
        except ssl.SSLError as e:
            why = (f"{self.url!r}: TLS with {where} failed: {e.reason or e}; check ca_file (the "
                   "CA that signed the broker's certificate) and the host name in the address")
            feed.link("closed", why)
            raise LiveError(why) from None
        except OSError as e:  # not up yet: paho's loop keeps trying, with backoff
            self._last_link = "reconnecting"
            feed.link("reconnecting", f"{where}: {e.strerror or e}")
            client.connect_async(self.host, self.port, self.keepalive_s, **self._connect_args())
        client.loop_start()
        try:
            while not stop.is_set():
                self._wake.wait(self.batch_s)
                self._wake.clear()
                self._drain(feed, client)
                self._look_elsewhere(feed)
                if self._fatal:
                    raise LiveError(self._fatal)
        finally:
            self._stopping = True
            # paho's thread would leave queued acknowledgements unsent when it sees the
            # DISCONNECT: stop it, then write the last ones and the DISCONNECT from here
            client.loop_stop()
            try:
                self._drain(feed, client)
            finally:
                self._flush(client)
                client.disconnect()
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline and \
                        client.loop(0.05) == mqtt.MQTT_ERR_SUCCESS:
                    pass
                # what came after the last hand-over is not acknowledged: the broker keeps it
                self._pending.clear()
                feed.link("closed", "stopped" if not self._fatal else self._fatal)

    def _flush(self, client: mqtt.Client, timeout: float = 5.0) -> None:
        """Wait until the broker has read the last acknowledgements: a round trip it answers
        after them (UNSUBSCRIBE of a topic never subscribed, answered by UNSUBACK). Closing the
        socket while the broker's messages lie unread in it sends a TCP reset, and the broker
        throws away what it had not read yet: the acknowledgements, so it sends those
        messages again next time."""
        answered = threading.Event()
        asked: list[int] = []
        client.on_unsubscribe = lambda _c, _u, mid, *_: mid in asked and answered.set()
        rc, mid = client.unsubscribe(f"twinbench/flush/{self.client_id}")
        if rc != mqtt.MQTT_ERR_SUCCESS:
            return
        asked.append(mid)
        deadline = time.monotonic() + timeout
        while not answered.is_set() and time.monotonic() < deadline:
            if client.loop(0.05) != mqtt.MQTT_ERR_SUCCESS:
                return

    # --- nothing under the prefix: where do the messages go? ---------------------------------
    def _look_elsewhere(self, feed: Feed) -> None:
        """Connected for ``probe_after_s`` and nothing came: listen to every topic for
        :data:`PROBE_S` (a client of its own, clean session, QoS 0: the persistent session is
        not touched) and name the prefixes that do carry messages. A wrong prefix otherwise
        waits "connected, nothing received yet" for ever. Once per connection that receives
        nothing (after a reconnection the publishers may have moved: it ran once per run
        before), and told again only when the prefixes found change or after
        :data:`PROBE_REPEAT_S`, so that a flapping link does not flood the log."""
        if self._probe is not None and not self._probing:
            counts, self._probe = self._probe, None
            # messages under the prefix itself: the publisher started during the probe (live
            # before emulate), the prefix is right and data arrives. Telling "give that
            # prefix" with the prefix given contradicted itself in the closing report
            if counts and self.prefix not in probe_prefixes(counts):
                heads, now = frozenset(probe_prefixes(counts)), time.monotonic()
                if self._told is None or self._told[0] != heads \
                        or now - self._told[1] >= PROBE_REPEAT_S:
                    self._told = (heads, now)
                    feed.bad(NOTHING_HERE, elsewhere(self.prefix, counts))
            return
        if self._probing or self._probed == self._generation or self._since_connect \
                or not self.probe_after_s or self._connected_at is None \
                or time.monotonic() - self._connected_at < self.probe_after_s:
            return
        self._probed = self._generation
        self._probing = True
        threading.Thread(target=self._listen_everywhere, name="mqtt-probe", daemon=True).start()

    def _listen_everywhere(self) -> None:
        counts: dict[str, int] = {}
        try:
            c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=self.protocol,
                            client_id=f"{self.client_id[:40]}-probe-{os.getpid()}")
            c.on_connect = lambda cl, *_: cl.subscribe("#", 0)
            c.on_message = lambda _c, _u, m: counts.__setitem__(m.topic,
                                                                 counts.get(m.topic, 0) + 1)
            if self.credentials:
                c.username_pw_set(*self.credentials)
            if self.tls:
                c.tls_set(ca_certs=self.tls_files["ca_file"],
                          certfile=self.tls_files["cert_file"],
                          keyfile=self.tls_files["key_file"])
            c.connect(self.host, self.port, self.keepalive_s)
            c.loop_start()
            time.sleep(PROBE_S)
            c.disconnect()
            c.loop_stop()
        except (OSError, ValueError):  # the probe is a courtesy: the source goes on
            pass
        finally:
            self._probe = dict(counts)
            self._probing = False
            self._wake.set()

    def _drain(self, feed: Feed, client: mqtt.Client) -> None:
        """Hand what has come in to the feed, in batches, then acknowledge it."""
        pending, read, bad = self._pending, self.reader.read, feed.bad
        while pending:
            batch: list[Reading] = []
            acks: list[tuple[int, int, int]] = []
            while pending and len(acks) < self.batch_max:
                item = pending.popleft()
                topic = item[0]
                if topic is None:  # a link change, in order with the messages
                    if batch or acks:
                        self._count(len(acks))  # (those were not counted before)
                        self._hand_over(feed, client, batch, acks)
                        batch, acks = [], []
                    if item[1] == "connected":
                        self._since_connect = 0
                    feed.link(item[1], item[2])
                    continue
                _, payload, dup, msg_id, arrival, mid, qos, gen = item
                acks.append((mid, qos, gen))
                try:
                    batch.extend(read(topic, payload, arrival, dup, msg_id))
                except BadMessage as e:
                    bad(e.kind, _example(topic, payload, str(e)))
            self._count(len(acks))
            self._hand_over(feed, client, batch, acks)

    def _count(self, n: int) -> None:
        self.messages += n
        self._since_connect += n

    def _hand_over(self, feed, client, batch, acks) -> None:
        if batch:
            feed.readings(batch)
        gen = self._generation
        # a message of an earlier connection comes again (DUP): not acknowledged here
        client.ack_many([(mid, qos) for mid, qos, g in acks if qos and g == gen])


def default_client_id(project: str, prefix: str = "", program: str = "live") -> str:
    """``twinbench-<project>-<host>[-<program>]-<hash of prefix>``: the same on every run, so
    that the broker keeps the session (and its messages) while twinbench is away; different
    per program (``twinbench live`` adds none, as before programs were told apart, so its
    session survives an upgrade), because the broker hands a session's backlog to whichever
    client connects with its id, and a workbench and a ``twinbench live`` on one machine
    would splice each other's streams. At most 64 chars."""
    def slug(s, n=20):
        return re.sub(r"[^A-Za-z0-9_.-]+", "-", s).strip("-")[:n] or "x"
    tag = hashlib.blake2b(prefix.encode(), digest_size=3).hexdigest()
    who = "" if program == "live" else f"-{slug(program, 6)}"
    return f"twinbench-{slug(project)}-{slug(socket.gethostname())}{who}-{tag}"


def read_credentials(path) -> tuple[str, str | None] | None:
    """User name and password: from the file ``path`` (``user:password`` or JSON
    ``{"username", "password"}``, readable by its owner only), else from the environment
    (``TWINBENCH_MQTT_USERNAME``, ``TWINBENCH_MQTT_PASSWORD``), else None."""
    if path is None:
        user = os.environ.get("TWINBENCH_MQTT_USERNAME")
        if not user:
            return None
        return user, os.environ.get("TWINBENCH_MQTT_PASSWORD")
    p = Path(path)
    try:
        mode = p.stat().st_mode
        text = p.read_text(encoding="utf-8").strip()
    except OSError as e:
        raise LiveError(f"credentials file {str(p)!r}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise LiveError(f"credentials file {str(p)!r} is not UTF-8 text") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise LiveError(f"credentials file {str(p)!r} can be read by others (mode "
                        f"{stat.S_IMODE(mode):o}): make it private with chmod 600 {p}")
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        if not isinstance(doc, dict) or not isinstance(doc.get("username"), str) or not \
                isinstance(doc.get("password", ""), str):
            raise LiveError(f"credentials file {str(p)!r}: write "
                            '{"username": "...", "password": "..."} or user:password')
        return doc["username"], doc.get("password")
    user, sep, password = text.partition(":")
    if not sep or not user or "\n" in text:
        raise LiveError(f"credentials file {str(p)!r}: write one line user:password (or JSON "
                        '{"username": "...", "password": "..."})')
    return user, password


def _mapping(value) -> LiveMapping:
    if value is None:
        return LiveMapping()
    if isinstance(value, LiveMapping):
        return value
    if isinstance(value, dict):
        return live_mapping(value)
    return load_live_mapping(value)


_scan_json = json.JSONDecoder().scan_once


def _json(text: str):
    """``json.loads(text)`` for text without surrounding white space, on a short path: the C
    scanner alone (``loads`` adds two regular-expression matches and two Python calls, a
    tenth of a message's CPU). What it does not take whole goes to ``loads``, which says
    why."""
    try:
        doc, end = _scan_json(text, 0)
        if end == len(text):
            return doc
    except StopIteration:
        pass
    return json.loads(text)


def _example(topic: str, payload: bytes, why: str) -> str:
    shown = payload[:60].decode("utf-8", errors="backslashreplace")
    more = "..." if len(payload) > 60 else ""
    return f"{topic[:80]} {shown!r}{more}: {why}"[:_EXAMPLE_LEN * 2]
