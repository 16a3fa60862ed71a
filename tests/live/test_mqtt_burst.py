"""A backlog the broker sends in one burst: the source's chunked reader
(``twin.live.mqtt_wire.WireClient``) takes many packets a socket read, and every message of
every payload kind (bare values, JSON strings, JSON with time stamps and ids, ISO times, an
MQTT 5 ``msg-id`` property, payloads long enough for a two-byte length, bad ones) is recorded
exactly once, in order, or counted bad once."""

from __future__ import annotations

import json

import paho.mqtt.client as mqtt
import pytest
from mqtt_tools import KeepingFeed, Publisher, SourceThread

from twin.live.feed import open_source
from twin.live.mqtt import UNKNOWN_CHANNEL, UNKNOWN_STATE
from twin.live.mqtt_wire import WireClient

pytestmark = pytest.mark.timeout(90)

T0 = 1_790_000_000.0  # 2026-09-21, in the past of the test machine


def _messages(n: int):
    """``(topic, payload, msg_id, expected)``: expected ``(asset, channel, t or None, value)``
    for a reading, or the kind of a bad message."""
    out = []
    for k in range(n):
        a = f"m{k % 13}"
        t = T0 + k * 0.01
        kind = k % 10
        if kind == 0:
            out.append((f"plant/{a}/state", "busy", None, (a, "state", None, "busy")))
        elif kind == 1:
            out.append((f"plant/{a}/state", '"Down"', None, (a, "state", None, "down")))
        elif kind == 2:
            out.append((f"plant/{a}/count", str(k), None, (a, "count", None, float(k))))
        elif kind == 3:
            out.append((f"plant/{a}/parts", "", None, (a, "parts", None, 1.0)))
        elif kind == 4:
            out.append((f"plant/{a}/power_kw", json.dumps({"ts": t, "value": k / 4}), None,
                        (a, "power_kw", t, k / 4)))
        elif kind == 5:
            out.append((f"plant/{a}/parts", json.dumps({"ts": t, "value": 2, "id": k + 1}),
                        None, (a, "parts", t, 2.0)))
        elif kind == 6:
            iso = f"2026-09-21T14:{k // 60 % 60:02d}:{k % 60:02d}Z"
            out.append((f"plant/{a}/scrap", json.dumps({"ts": iso, "value": 1}), None,
                        (a, "scrap", None, 1.0)))
        elif kind == 7:
            out.append((f"plant/{a}/level", str(k % 40), f"burst-{k}",
                        (a, "level", None, float(k % 40))))
        elif kind == 8:
            out.append((f"plant/{a}/state",
                        json.dumps({"ts": t, "value": "idle", "note": "x" * (150 + k % 90)}),
                        None, (a, "state", t, "idle")))
        else:
            out.append((f"plant/{a}/temperature", "21.5", None, UNKNOWN_CHANNEL)
                       if k % 20 == 9 else
                       (f"plant/{a}/state", "dancing", None, UNKNOWN_STATE))
    return out


@pytest.mark.parametrize("protocol", [mqtt.MQTTv5, mqtt.MQTTv311])
def test_a_backlog_in_large_reads_is_recorded_once_each(broker, monkeypatch, protocol):
    reads = []
    recv = WireClient._sock_recv

    def counting_recv(self, bufsize):
        data = recv(self, bufsize)
        reads.append(len(data))
        return data

    monkeypatch.setattr(WireClient, "_sock_recv", counting_recv)
    v5 = protocol == mqtt.MQTTv5
    options = {"client_id": "tb-burst", "protocol": "5" if v5 else "3.1.1",
               "max_future_s": None}
    feed = KeepingFeed()
    thread = SourceThread(open_source(f"{broker.url}/plant", **options), feed)
    feed.wait(KeepingFeed.connected, 15, "the connection")
    thread.stop()  # the session stays: what comes now waits at the broker

    sent = _messages(3000)
    pub = Publisher(broker.port, client_id="burst-publisher", protocol=protocol)
    for topic, payload, msg_id, _ in sent:
        pub.publish(topic, payload, msg_id if v5 else None)
    pub.wait_all(60)
    pub.close()

    reads.clear()
    feed = KeepingFeed()
    thread = SourceThread(open_source(f"{broker.url}/plant", **options), feed)
    good = [e for *_, e in sent if isinstance(e, tuple)]
    bad = [e for *_, e in sent if isinstance(e, str)]
    feed.wait(lambda f: len(f.got) >= len(good) and sum(f.bad_kinds.values()) >= len(bad),
              60, "the backlog")
    thread.stop()
    got = [(r.asset, r.channel, r.value) for r in feed.got]
    assert got == [(a, ch, value) for a, ch, _, value in good]  # each once, in order
    for r, (_, _, t, _) in zip(feed.got, good, strict=True):
        assert t is None or r.t == t
    assert feed.bad_kinds == {UNKNOWN_CHANNEL: bad.count(UNKNOWN_CHANNEL),
                              UNKNOWN_STATE: bad.count(UNKNOWN_STATE)}
    # the broker sent the backlog in bursts, and they were read in large pieces: paho's own
    # reading makes three recv calls a packet
    assert len(reads) < len(sent) / 5, len(reads)
    assert max(reads) > 10_000
