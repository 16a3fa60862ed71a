"""No message lost, none recorded twice: twinbench's connection cut and restored, another client
taking its session over, and the broker killed (``kill -9``) and restarted in the middle of a
feed. The publisher is a real one: QoS 1, it keeps each message until its PUBACK and sends it
again after a reconnect."""

from __future__ import annotations

import json
import os
import threading
import time

import paho.mqtt.client as mqtt
import pytest
from mqtt_tools import KeepingFeed, Publisher, SourceThread
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from twin.live.feed import CHANNELS
from twin.live.mqtt import MqttSource

pytestmark = pytest.mark.timeout(120)

T0 = 1_790_000_000.0
ASSETS = [f"M{i}" for i in range(8)]


def _message(i):
    """Message i of the feed: JSON with a time stamp (its identity: topic and content); every
    fifth also carries the publisher's id as an MQTT 5 user property."""
    asset = ASSETS[i % len(ASSETS)]
    channel = CHANNELS[1 + i % 5]  # parts, scrap, count, power_kw, level
    topic = f"plant/{asset}/{channel}"
    payload = json.dumps({"ts": T0 + i * 0.01, "value": i % 7})
    return topic, payload, (f"p{i}" if i % 5 == 0 else None)


def _expected(i):
    topic, payload, _ = _message(i)
    return (topic.split("/")[1], topic.split("/")[2], T0 + i * 0.01, float(i % 7))


def _source(broker, cid="tb-lossless"):
    return MqttSource(f"{broker.url}/plant", client_id=cid, reconnect_min_s=1,
                      reconnect_max_s=1, batch_max=200)


def _publish(pub, indices, pace=50, pause=0.005):
    for n, i in enumerate(indices):
        topic, payload, msg_id = _message(i)
        pub.publish(topic, payload, msg_id=msg_id)
        if n % pace == pace - 1:
            time.sleep(pause)  # a plant, not a flood: the feed is under way when it is cut


def _content(feed):
    return sorted((r.asset, r.channel, r.t, r.value) for r in feed.got)


def _assert_once(feeds, n):
    got = [r for f in feeds for r in f.got]
    keys = [r.key for r in got]
    assert len(set(keys)) == len(keys), "a message was recorded twice"
    assert len(got) == n
    assert sorted((r.asset, r.channel, r.t, r.value) for r in got) == \
        sorted(_expected(i) for i in range(n))


def test_twinbench_away_in_the_middle_of_a_feed_loses_nothing_and_records_nothing_twice(broker):
    n = 3000
    feed1 = KeepingFeed()
    first = SourceThread(_source(broker), feed1)
    feed1.wait(KeepingFeed.connected, 15, "the connection")
    pub = Publisher(broker.port)
    sender = threading.Thread(target=_publish, args=(pub, range(n)), daemon=True)
    sender.start()
    feed1.wait(lambda f: len(f.got) >= 500, 30, "the feed under way")
    first.stop()  # twinbench goes away mid-feed; the broker keeps its session's messages
    cut_at = len(feed1.got)
    sender.join(60)
    pub.wait_all()
    pub.close()
    feed2 = KeepingFeed()
    second = SourceThread(_source(broker), feed2)  # the same client id: the same session
    feed2.wait(lambda f: len(f.got) + cut_at >= n, 60, "everything")
    time.sleep(0.3)  # and nothing more
    second.stop()
    assert cut_at < n, "the cut came after the feed"
    assert ("connected", "session resumed") in feed2.links
    _assert_once([feed1, feed2], n)


def test_a_session_taken_over_mid_feed_is_redelivered_and_recorded_once(broker):
    """Another client with twinbench's id takes the session (the broker drops twinbench's
    connection) and leaves without acknowledging; the broker sends the unacknowledged
    messages again, flagged DUP, some of which twinbench had already handed over."""
    n = 3000
    feed = KeepingFeed()
    source = _source(broker, "tb-taken")
    thread = SourceThread(source, feed)
    feed.wait(KeepingFeed.connected, 15, "the connection")
    pub = Publisher(broker.port)
    sender = threading.Thread(target=_publish, args=(pub, range(n)), daemon=True)
    sender.start()
    feed.wait(lambda f: len(f.got) >= 500, 30, "the feed under way")
    intruder = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="tb-taken",
                           protocol=mqtt.MQTTv5, manual_ack=True)
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    intruder.connect("127.0.0.1", broker.port, clean_start=False, properties=props)
    intruder.loop_start()
    time.sleep(0.3)  # it takes some messages and acknowledges none
    intruder.disconnect()
    intruder.loop_stop()
    sender.join(60)
    pub.wait_all()
    pub.close()
    feed.wait(lambda f: len(f.got) >= n, 60, "everything")
    time.sleep(0.3)
    thread.stop()
    assert [s for s, _ in feed.links].count("connected") >= 2, "the session was not taken over"
    _assert_once([feed], n)


def _db_saves(path, until, saves):
    """Watch the broker's persistence file: the end time of each save (its mtime)."""
    last = None
    while not until.is_set():
        try:
            m = os.stat(path).st_mtime
        except FileNotFoundError:
            m = None
        if m is not None and m != last:
            saves.append(m)
            last = m
        time.sleep(0.005)


def test_a_broker_killed_mid_feed_loses_only_what_it_had_not_saved_and_nothing_is_twice(broker):
    """What "lossless" can mean across ``kill -9`` of mosquitto: the broker acknowledges a
    message when it has it in memory and writes its memory to disk every autosave_interval
    (1 s). A message it had acknowledged before the start of its last save is on disk: it was
    either delivered to twinbench already or is delivered after the restart. A message it had
    not acknowledged is sent again by the publisher. Only a message acknowledged after its last
    save began and not yet delivered can be lost; nothing can be recorded twice."""
    n = 4000
    saves: list[float] = []
    watching = threading.Event()
    watcher = threading.Thread(target=_db_saves, args=(broker.folder / "mosquitto.db",
                                                       watching, saves), daemon=True)
    watcher.start()
    feed = KeepingFeed()
    thread = SourceThread(_source(broker, "tb-killed"), feed)
    feed.wait(KeepingFeed.connected, 15, "the connection")
    pub = Publisher(broker.port)
    # about 4 s of feed: the broker is killed 2 saves (1 s apart) into it
    sender = threading.Thread(target=_publish, args=(pub, range(n - 1), 20, 0.02), daemon=True)
    sender.start()
    feed.wait(lambda f: len(f.got) >= 1000 and len(saves) >= 2, 60, "two saves under way")
    watching.set()
    watcher.join(5)
    broker.kill()
    killed_at = time.time()
    acked_before_kill = {mid: t for mid, t in list(pub.acked_at.items()) if t < killed_at}
    assert len(saves) >= 2
    saved_by = saves[-2]  # the last save began after the one before it had ended
    broker.start()
    sender.join(60)
    _publish(pub, [n - 1])  # the last one after the restart: it needs the reconnection
    pub.wait_all(60)
    # messages the broker had on disk or never acknowledged before the kill must all arrive
    infos = pub.infos
    must = [i for i in range(n) if infos[i].mid not in acked_before_kill
            or acked_before_kill[infos[i].mid] < saved_by]
    must_set = {_expected(i) for i in must}
    feed.wait(lambda f: must_set <= {(r.asset, r.channel, r.t, r.value) for r in f.got}, 60,
              "every message the broker had saved or not acknowledged")
    time.sleep(0.5)
    thread.stop()
    pub.close()
    keys = [r.key for r in feed.got]
    assert len(set(keys)) == len(keys), "a message was recorded twice"
    got = _content(feed)
    assert len(set(got)) == len(got)
    assert set(got) <= {_expected(i) for i in range(n)}
    assert must_set <= set(got)
    assert [s for s, _ in feed.links].count("connected") >= 2
    assert "reconnecting" in [s for s, _ in feed.links]


class SlowFeed(KeepingFeed):
    """A feed that takes 0.2 s per batch (a recorder on a slow disk)."""

    def readings(self, batch):
        time.sleep(0.2)
        super().readings(batch)


def test_a_slow_feed_loses_nothing_and_keeps_the_connection(broker):
    n = 1500
    feed = SlowFeed()
    source = MqttSource(f"{broker.url}/plant", client_id="tb-slow", inflight=300,
                        batch_max=100, keepalive_s=5)
    thread = SourceThread(source, feed)
    feed.wait(KeepingFeed.connected, 15, "the connection")
    pub = Publisher(broker.port)
    _publish(pub, range(n), pace=1000)
    pub.wait_all(60)  # the broker took everything while twinbench lagged behind
    pub.close()
    feed.wait(lambda f: len(f.got) >= n, 90, "everything")
    thread.stop()
    _assert_once([feed], n)
    assert "reconnecting" not in [s for s, _ in feed.links]
