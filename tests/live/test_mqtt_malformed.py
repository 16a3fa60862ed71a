"""Bad input from the plant never stops the MQTT source: 1,000 malformed messages of every kind,
mixed with good ones through a real broker; each is counted by kind, every good one arrives."""

from __future__ import annotations

import json
import random
import time

import pytest
from mqtt_tools import KeepingFeed, Publisher, SourceThread

from twin.live.mapping import LiveMapping
from twin.live.mqtt import BAD_KINDS, MessageReader, MqttSource

pytestmark = pytest.mark.timeout(120)

T0 = 1_790_000_000.0
N = 1000


def _malformed(rng, i):
    """Message i of each bad kind: (kind, topic, payload)."""
    future = time.time() + 3600 + i
    return [
        ("unparsable payload", "plant/M1/state", b"\xff" + rng.randbytes(rng.randint(0, 30))),
        ("unparsable payload", "plant/M1/power_kw",
         rng.choice([b'{"ts": 1, "value"', b"[1, 2]", b"{'ts': 1}", b"12 kW", b'{"value": {}}'])),
        ("unknown state", "plant/M1/state",
         rng.choice([b"broken", b"BUSYY", b"7", b'{"ts": 1790000000, "value": "off-ish"}'])),
        ("value out of range", "plant/M1/power_kw",
         rng.choice([b"NaN", b"inf", b'{"value": "-Infinity"}', b"1e999"])),
        ("value out of range", "plant/M1/count", rng.choice([b"-1", b"2.5", b'{"value": -3}'])),
        ("time in the future", "plant/M1/parts",
         json.dumps({"ts": future, "value": 1}).encode()),
        ("bad time stamp", "plant/M1/level",
         rng.choice([b'{"ts": "yesterday", "value": 1}', b'{"ts": 1e300, "value": 1}',
                     b'{"ts": -5, "value": 1}', b'{"ts": "3500-01-01T00:00:00", "value": 1}'])),
        ("unknown channel", f"plant/M1/{rng.choice(['temp', 'State', 'power', ''])}", b"1"),
        ("topic not understood", "plant//state", b"busy"),
    ]


def test_a_thousand_malformed_messages_of_every_kind_are_counted_and_stop_nothing(broker):
    rng = random.Random(15)
    source = MqttSource(f"{broker.url}/plant", client_id="tb-malformed")
    feed = KeepingFeed()
    thread = SourceThread(source, feed)
    feed.wait(KeepingFeed.connected, 15, "the connection")
    pub = Publisher(broker.port)
    want = {}
    good = 0
    for i in range(N):
        for kind, topic, payload in _malformed(rng, i):
            pub.publish(topic, payload)
            want[kind] = want.get(kind, 0) + 1
        if i % 10 == 0:  # good ones in between
            pub.publish("plant/M2/parts", json.dumps({"ts": T0 + i, "value": 2}))
            good += 1
    pub.publish("plant/M2/state", "busy")  # the last: the source still reads
    pub.wait_all(60)
    pub.close()
    total_bad = sum(want.values())
    feed.wait(lambda f: sum(f.bad_kinds.values()) >= total_bad and len(f.got) >= good + 1, 60,
              "every message read or counted")
    time.sleep(0.3)
    assert thread.thread.is_alive() and thread.error is None
    thread.stop()
    assert dict(feed.bad_kinds) == want
    assert set(want) == set(BAD_KINDS)
    assert len(feed.got) == good + 1 and feed.got[-1].value == "busy"
    assert all(r.value == 2.0 for r in feed.got[:-1])
    for kind, example in feed.examples.items():  # examples name the topic and the fault
        assert example.startswith("plant/") and len(example) < 300, (kind, example)


@pytest.mark.parametrize("seed", range(3))
def test_random_bytes_on_any_topic_never_raise_anything_but_a_counted_fault(seed):
    """The reader alone, on 3 x 2,000 random topics and payloads: a reading or BadMessage."""
    from twin.live.mqtt import BadMessage

    rng = random.Random(seed)
    reader = MessageReader("plant", LiveMapping())
    pieces = ["plant", "M1", "state", "parts", "level", "%23", "%ff", "", "+", "x" * 300]
    for _ in range(2000):
        topic = "/".join(rng.choice(pieces) for _ in range(rng.randint(1, 4)))
        payload = rng.choice([rng.randbytes(rng.randint(0, 40)),
                              json.dumps({"ts": rng.uniform(-1e12, 1e12),
                                          "value": rng.choice([1, "busy", None, [], 1e400])})
                              .encode(), b"[" * 100_000])
        try:
            out = reader.read(topic, payload, T0, dup=rng.random() < 0.3)
        except BadMessage as e:
            assert e.kind in BAD_KINDS
        else:
            assert all(r.channel in ("state", "parts", "level") for r in out)
