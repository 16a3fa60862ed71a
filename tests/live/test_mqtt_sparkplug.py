"""Sparkplug B through a real broker: BIRTH names metrics and aliases, DATA by alias, a
device's and a node's metrics become readings; the hand-written decoder against bad bytes."""

from __future__ import annotations

import random
import time

import pytest
from mqtt_tools import KeepingFeed, Publisher, SourceThread

from twin.live import sparkplug as spb
from twin.live.mapping import live_mapping
from twin.live.mqtt import BadMessage, MessageReader, MqttSource

pytestmark = pytest.mark.timeout(60)

MS = 1_790_000_000_000  # plant time, ms


def test_births_and_data_of_a_node_and_its_devices_become_readings(broker):
    mapping = {"states": {"3": "down"}, "assets": {"lathe-01": "lathe"},
               "live": {"mqtt": {"sparkplug": {"group": "line1", "metrics": {
                   "Machine/State": "state", "Machine/Good": "count", "Power": "power_kw"}}}}}
    source = MqttSource(f"{broker.url}/plant", client_id="tb-spb", mapping=mapping)
    assert "spBv1.0/line1/#" in source.topics
    feed = KeepingFeed()
    thread = SourceThread(source, feed)
    feed.wait(KeepingFeed.connected, 15, "the connection")
    pub = Publisher(broker.port)
    pub.publish("spBv1.0/line1/NBIRTH/edge1", spb.encode(
        [("bdSeq", None, None, 0), ("Power", 1, MS, 12.5), ("Node Control/Rebirth", 2, MS, False)],
        timestamp_ms=MS, seq=0))
    pub.publish("spBv1.0/line1/DBIRTH/edge1/lathe-01", spb.encode(
        [("Machine/State", 10, MS, "busy"), ("Machine/Good", 11, MS, 100),
         ("Temperature", 12, MS, 40.0)], timestamp_ms=MS, seq=1))
    pub.publish("spBv1.0/line1/DDATA/edge1/lathe-01", spb.encode(
        [(None, 10, MS + 5000, 3), (None, 11, MS + 5000, 101)], timestamp_ms=MS + 5000, seq=2))
    pub.publish("spBv1.0/line1/DDATA/edge1/lathe-01", spb.encode(  # redelivered: once
        [(None, 10, MS + 5000, 3), (None, 11, MS + 5000, 101)], timestamp_ms=MS + 5000, seq=2))
    pub.publish("spBv1.0/line1/NDATA/edge1", spb.encode([(None, 1, None, 9.75)],
                                                        timestamp_ms=MS + 6000, seq=3))
    pub.publish("spBv1.0/line1/DDATA/edge1/lathe-01", spb.encode([(None, 99, MS, 1)], seq=4))
    pub.publish("spBv1.0/line1/NDATA/edge1", b"\x0a\xff")  # broken
    pub.publish("spBv1.0/line1/DDEATH/edge1/lathe-01", spb.encode([], MS + 7000, 5))
    pub.publish("plant/lathe/power_kw", "1.5")  # the default convention still holds
    pub.wait_all()
    feed.wait(lambda f: len(f.got) >= 7 and sum(f.bad_kinds.values()) >= 2, 20, "everything")
    thread.stop()
    pub.close()
    got = [(r.asset, r.channel, r.t, r.value) for r in feed.got]
    assert got[:6] == [
        ("edge1", "power_kw", MS / 1000, 12.5),
        ("lathe", "state", MS / 1000, "busy"), ("lathe", "count", MS / 1000, 100.0),
        ("lathe", "state", MS / 1000 + 5, "down"), ("lathe", "count", MS / 1000 + 5, 101.0),
        ("edge1", "power_kw", MS / 1000 + 6, 9.75)]
    assert got[6][:2] == ("lathe", "power_kw") and len(got) == 7
    assert feed.bad_kinds == {"unknown channel": 1, "unparsable payload": 1}


def test_the_decoder_reads_what_the_encoder_wrote_and_refuses_bad_bytes():
    buf = spb.encode([("a", 1, MS, -5), ("b", None, None, 2.5), ("c", 3, None, True),
                      ("d", None, None, "x")], timestamp_ms=MS, seq=255)
    p = spb.decode(buf)
    assert (p.timestamp_ms, p.seq) == (MS, 255)
    assert [(m.name, m.alias, m.timestamp_ms, m.value) for m in p.metrics] == [
        ("a", 1, MS, -5), ("b", None, None, 2.5), ("c", 3, None, True), ("d", None, None, "x")]
    reader = MessageReader("", live_mapping({"live": {"mqtt": {"sparkplug": {}}}}))
    rng = random.Random(7)
    for _ in range(3000):
        junk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
        try:
            reader.read("spBv1.0/g/NDATA/n", junk, MS / 1000)
        except BadMessage as e:
            assert e.kind in ("unparsable payload", "unknown channel", "value out of range",
                              "bad time stamp", "time in the future", "unknown state")


def test_a_hole_in_a_nodes_seq_is_messages_lost_and_a_gap(broker, tmp_path):
    """Sparkplug B numbers each edge node's messages 0-255 and round again, from its NBIRTH:
    numbers that never came are messages lost (counted, recorded as a gap); the wrap, a
    redelivery and a rebirth are not holes."""
    from twin.live.recorder import LOST, LiveRecorder
    from twin.recording import AssetInfo, Recording

    mapping = {"live": {"mqtt": {"sparkplug": {"group": "line1",
                                                "metrics": {"Good": "count"}}}}}
    rec = LiveRecorder(tmp_path / "spb.h5", [AssetInfo("edge1", element="edge1")])
    source = MqttSource(f"{broker.url}/plant", client_id="tb-spb-seq", mapping=mapping,
                        max_future_s=None)
    thread = SourceThread(source, rec)
    thread.wait_connected()
    pub = Publisher(broker.port)
    topic = "spBv1.0/line1/{}/edge1"
    sent = [("NBIRTH", 0, 0, 10), ("NDATA", 1, 10, 11), ("NDATA", 1, 10, 11),  # redelivered
            ("NDATA", 5, 50, 15),  # 2-4 never came
            ("NDATA", 6, 60, 16)]
    sent += [("NDATA", n % 256, 60 + i, 16) for i, n in enumerate(range(7, 258), 1)]  # wraps
    sent += [("NBIRTH", 0, 400, 20), ("NDATA", 1, 410, 21)]  # a rebirth starts again at 0
    for kind, seq, dt, good in sent:
        pub.publish(topic.format(kind), spb.encode([("Good", None, MS + dt * 1000, good)],
                                                   timestamp_ms=MS + dt * 1000, seq=seq))
    pub.wait_all()
    deadline = time.monotonic() + 20
    while rec.report.received < len(sent) - 1:  # the redelivery was dropped by the source
        assert time.monotonic() < deadline, f"only {rec.report.received} readings came"
        time.sleep(0.05)
    thread.stop()
    pub.close()
    report = rec.close()
    assert report.problems[LOST].count == 3 and report.problems[LOST].examples == ["2-4"]
    assert rec.holes == 1
    with Recording.open(tmp_path / "spb.h5") as r:
        epoch = r.epoch_utc.timestamp()
        gaps = [(round(float(g["start"]) + epoch - MS / 1000, 3),
                 round(float(g["end"]) + epoch - MS / 1000, 3)) for g in r.gaps]
        parts = r.asset("edge1").parts
    assert gaps == [(10.0, 50.0)]
    # the counter's rise across the hole (11 -> 15) is no parts; 10 -> 11, 15 -> 16 after
    # the hole, 16 -> 20 across the rebirth (no hole: nothing lost) and 20 -> 21 are
    assert parts["count"].tolist() == [1.0, 1.0, 4.0, 1.0]


def test_the_seq_watch_finds_holes_and_leaves_repeats_and_rebirths():
    w = spb.SeqWatch()
    assert w.see("g", "n", "NBIRTH", 0, 1.0) == []
    assert w.see("g", "n", "NDATA", 1, 2.0) == []
    assert w.see("g", "n", "NDATA", 1, 2.0) == []  # redelivered
    assert w.see("g", "n", "NDATA", 0, 2.0) == []  # an older one, redelivered late
    [r] = w.see("g", "n", "DDATA", 4, 5.0)
    assert (r.asset, r.channel, r.t, r.value) == ("n", spb.SEQ_HOLE, 5.0, 2)
    assert r.key == "spBv1.0/g/n|seq:2-3|2.0"
    assert w.see("g", "other", "NDATA", 9, 5.0) == []  # another node: its own numbering
    for n in range(5, 256):
        assert w.see("g", "n", "NDATA", n, 6.0) == []
    assert w.see("g", "n", "DDEATH", 0, 7.0) == []  # 255 -> 0: the wrap
    [r] = w.see("g", "n", "NDATA", 3, 8.0)
    assert r.value == 2 and r.key == "spBv1.0/g/n|seq:1-2|7.0"
    assert w.see("g", "n", "NBIRTH", 0, 9.0) == []  # a rebirth: numbered anew
    assert w.see("g", "n", "NDATA", None, 9.0) == []  # no seq: nothing to follow
