"""Messages a broker dropped are reported lost (F8): a mosquitto with a small
``max_queued_messages`` and a subscriber that falls behind drops messages without a word;
the holes in the publisher's numbering (JSON ``id``, as the emulator sends) are counted in the
recorder's report, listed by id and recorded as gaps."""

from __future__ import annotations

import json
import time

import pytest
from mqtt_tools import Publisher, SourceThread, make_broker

from twin.live.mqtt import MqttSource
from twin.live.recorder import LOST, LiveRecorder
from twin.live.sequence import MessageIds
from twin.recording import AssetInfo, Recording

pytestmark = pytest.mark.timeout(150)

T0 = 1_790_000_000.0
ASSETS = [f"M{i}" for i in range(4)]


class SlowRecorder(LiveRecorder):
    """A recorder on a slow disk: 0.3 s per batch, so the broker's queue for it fills."""

    def readings(self, batch):
        time.sleep(0.3)
        super().readings(batch)


def _payload(n):
    return json.dumps({"ts": T0 + n, "value": 1, "id": n})


def _until_quiet(rec, quiet_s=2.0):
    quiet, last = time.monotonic(), -1
    while time.monotonic() - quiet < quiet_s:
        if rec.report.received != last:
            quiet, last = time.monotonic(), rec.report.received
        time.sleep(0.1)


def test_a_broker_that_drops_for_a_slow_subscriber_is_reported(tmp_path):
    broker = make_broker(tmp_path / "broker")
    broker.conf.write_text(broker.conf.read_text().replace("max_queued_messages 0",
                                                           "max_queued_messages 20"))
    broker.start()
    try:
        rec = SlowRecorder(tmp_path / "r.h5", [AssetInfo(a, element=a) for a in ASSETS])
        source = MqttSource(f"{broker.url}/plant", client_id="tb-slow-lossy", inflight=5,
                            batch_max=5, keepalive_s=5)
        thread = SourceThread(source, rec)
        thread.wait_connected()
        pub = Publisher(broker.port)
        n = 1500
        for i in range(1, n + 1):
            pub.publish(f"plant/{ASSETS[i % 4]}/parts", _payload(i))
        pub.wait_all(60)  # the broker took (and acknowledged) every one
        _until_quiet(rec)  # the subscriber took everything the broker kept for it
        # the plant goes on: a later message shows what was dropped before it (a loss at the
        # very end of a feed has no later number to show it)
        pub.publish(f"plant/{ASSETS[0]}/parts", _payload(n + 1))
        pub.wait_all(10)
        pub.close()
        _until_quiet(rec)
        thread.stop()
        report = rec.close()
        epoch = rec.epoch_utc.timestamp()
    finally:
        broker.stop()
    with Recording.open(tmp_path / "r.h5") as r:
        got = sorted(round(t + epoch - T0) for a in ASSETS for t in r.asset(a).parts["time"])
        gaps = r.gaps
    assert len(set(got)) == len(got)
    top = max(got)
    missing = sorted(set(range(got[0], top + 1)) - set(got))
    assert missing, "the broker dropped nothing: the test does not test"
    assert top == n + 1
    lost = report.problems[LOST]
    assert lost.count == len(missing)
    first = lost.examples[0].split(", ")[0]
    assert first.replace(",", "").split("-")[0] == str(missing[0])
    text = report.format()
    assert f"{len(missing):,} messages never arrived (ids " in text
    assert "max_queued_messages" in text and "no problems found" not in text
    # each hole is a gap of the recording: replay shows no data there
    assert len(gaps) >= 1
    for m in missing[:20]:
        assert any(g_start <= T0 + m <= g_end for g_start, g_end in
                   zip(gaps["start"] + epoch, gaps["end"] + epoch, strict=True)), m


def test_late_numbers_fill_their_hole_and_per_topic_numbering_is_not_a_loss():
    ids = MessageIds()
    for n in (1, 2, 5, 6, 9):
        ids.see(f"plant/M1/parts|id:{n}", T0 + n)
    assert ids.lost == 4 and ids.ranges() == [(3, 4), (7, 8)]
    ids.see("plant/M1/parts|id:3", T0 + 3)  # redelivered after a reconnect
    ids.see("plant/M2/state|id:8|state", T0 + 8)  # a mapped message, several channels
    assert ids.lost == 2 and ids.ranges() == [(4, 4), (7, 7)]
    assert ids.gaps() == [(T0 + 2, T0 + 5, 1), (T0 + 6, T0 + 9, 1)]
    ids.see("plant/M1/parts|id:p7", T0)  # not a number: no sequence
    ids.see("plant/M1/parts", T0)
    assert ids.lost == 2
    # the publisher starts over (a new emulator run): its holes stay, new ones add
    for n in (1, 2, 4):
        ids.see(f"plant/M1/parts|id:{n}", T0 + 100 + n)
    assert ids.lost == 3 and ids.ranges() == [(4, 4), (7, 7), (3, 3)]
    # a publisher numbering each topic on its own: the same numbers on many topics
    per = MessageIds()
    for n in range(1, 30):
        for a in ("M1", "M2", "M3"):
            per.see(f"line2/{a}/parts|id:{n}", T0 + n)
    per.see("line2/M1/parts|id:40", T0 + 40)
    assert per.per_topic == ["line2"] and per.lost == 0 and per.ranges() == []
    # devices counting their own seq, one coming online late: not a loss either
    late = MessageIds()
    for n in range(1, 200):
        late.see(f"line3/A/parts|id:{n}", T0 + n)
        if n > 100:
            late.see(f"line3/B/parts|id:{n - 100}", T0 + n)
            late.see(f"line3/B/parts|id:{n - 99}", T0 + n)
    assert late.per_topic == ["line3"] and late.lost == 0


def test_twinbench_live_reports_the_ids_that_never_arrived(broker, tmp_path):
    """The closing report of ``twinbench live`` names the holes in the emulator-style ids
    (1, 2, ... in JSON), instead of "no problems found"."""
    import signal
    import subprocess
    import sys
    from pathlib import Path

    import paho.mqtt.client as mqtt

    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "live", str(root / "projects" / "machining-cell"),
         "--mqtt", f"{broker.url}/plant", "--record", str(tmp_path / "live.h5"),
         "--status-every", "0.2"],
        cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        line = ""
        while "connected |" not in line:
            assert time.monotonic() < deadline and proc.poll() is None, line
            line = proc.stdout.readline()
        time.sleep(0.5)  # subscribed (SUBACK) before anything is published
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-skipper")
        pub.connect("127.0.0.1", broker.port)
        pub.loop_start()
        t0 = time.time() - 3600.0
        sent = [i for i in range(1, 101) if not (40 <= i <= 49 or i == 77)]
        for i in sent:
            payload = json.dumps({"ts": t0 + i, "value": 1, "id": i})
            pub.publish("plant/saw/parts", payload, qos=1).wait_for_publish(10)
        pub.disconnect()
        pub.loop_stop()
        while f"stored {len(sent)} " not in line:
            assert time.monotonic() < deadline + 60 and proc.poll() is None, line
            line = proc.stdout.readline()
        proc.send_signal(signal.SIGTERM)
        rest, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "11 messages never arrived (ids 40-49, 77): the broker dropped them" in rest, rest
    assert "max_queued_messages" in rest and "no problems found" not in rest
    assert "gaps recorded 2" in rest
