"""Lost data in what the workbench and ``twinbench live`` follow, through a real mosquitto:
a hole in the publisher's numbering is no data in the live shift's figures (as a link gap)
and is counted on the status line; a cumulative counter (``count``) that rises across lost
data (a hole, a link gap after which the broker had lost the session) gives no burst of
parts, and one that drops (a PLC restart) counts again from its new base."""

from __future__ import annotations

import json
import time

import pytest

from app.cli.live import status_line
from app.live_session import LiveState
from tests.live.conftest import broker  # noqa: F401 - the fixture: a real mosquitto
from tests.live.mqtt_tools import Publisher, SourceThread
from twin.live.mqtt import MqttSource
from twin.live.recorder import LiveRecorder
from twin.live.report import ACROSS_GAP
from twin.live.sequence import LOST
from twin.recording import AssetInfo, Recording

pytestmark = pytest.mark.timeout(120)

ASSETS = [AssetInfo("mill", element="mill"), AssetInfo("lathe", element="lathe")]
# 14:13:20 UTC: the default late shift (14:00-22:00) holds everything below
T0 = 1_790_000_000.0


def _wait(predicate, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _follow(broker, path, client_id):  # noqa: F811
    rec = LiveRecorder(path, ASSETS)
    live = LiveState(rec, ASSETS)
    source = MqttSource(f"{broker.url}/plant", client_id=client_id, keepalive_s=5,
                        reconnect_min_s=1, reconnect_max_s=1, max_future_s=None)
    thread = SourceThread(source, live)
    _wait(lambda: rec.link_state == "connected", "the source to connect")
    return rec, live, thread


def _parts(path, asset):
    with Recording.open(path) as r:
        p = r.asset(asset).parts
        epoch = r.epoch_utc.timestamp()
        return [(round(float(t) + epoch - T0, 3), float(c)) for t, c, g in
                zip(p["time"], p["count"], p["good"], strict=True) if g == 1], r.gaps


def test_a_hole_in_the_numbering_is_no_data_and_a_counter_across_it_no_burst(broker,  # noqa: F811
                                                                              tmp_path):
    path = tmp_path / "holes.h5"
    rec, live, thread = _follow(broker, path, "tb-holes")
    pub = Publisher(broker.port, client_id="plant-holes")
    sent = [  # (id, asset, channel, t - T0, value)
        (1, "mill", "state", 0, "busy"), (2, "mill", "count", 1, 10),
        (3, "lathe", "state", 5, "busy"),
        (4, "mill", "count", 10, 12),
        # ids 5-9 never reach the broker: a broker that dropped them
        (10, "mill", "count", 100, 50),  # the counter went on meanwhile: 38 parts in the hole
        (11, "mill", "count", 110, 52),
        (12, "mill", "count", 120, 0),  # the PLC restarted: its counter starts again at 0
        (13, "mill", "count", 130, 3),
        (14, "mill", "state", 140, "idle"), (15, "lathe", "state", 140, "idle")]
    for n, asset, channel, dt, value in sent:
        pub.publish(f"plant/{asset}/{channel}", json.dumps({"ts": T0 + dt, "value": value,
                                                            "id": n}))
    pub.wait_all(20)
    # the live state takes a batch after the recorder: its last reading shows it is done
    _wait(lambda: live.snapshot().states.get("lathe") == "idle", "every message")
    snap = live.snapshot()
    line = status_line(rec, 0.0)
    thread.stop()
    pub.close()
    report = rec.close()
    # the Live dock's figures: 2 + 2 + 3 parts, not 45; the hole (ids 5-9, between t 10
    # and 100) is no data in the shift, for each station with a state
    assert snap.good == {"mill": 7.0} and snap.shift_good == {"mill": 7.0}
    assert snap.lost == 5 and snap.holes == 1
    assert snap.shift_state_s["mill"] == pytest.approx({"busy": 50.0, "no_data": 90.0})
    assert snap.shift_state_s["lathe"] == pytest.approx({"busy": 45.0, "no_data": 90.0})
    assert "lost 5 messages in 1 hole |" in line, line
    # the recording: the same parts, the hole a gap, the rise across it and the reset named
    parts, gaps = _parts(path, "mill")
    assert parts == [(10.0, 2.0), (110.0, 2.0), (130.0, 3.0)]
    assert len(gaps) == 1
    assert report.problems[LOST].count == 5
    assert report.problems[ACROSS_GAP].count == 1
    assert "38 parts since 12" in report.problems[ACROSS_GAP].examples[0]
    assert report.problems["counter reset"].count == 1
    assert ACROSS_GAP in report.format()


def test_a_counter_across_a_link_gap_that_lost_the_session_gives_no_burst(tmp_path):
    """A broker restarted without persistence: twinbench reconnects to a new session, what
    the plant sent meanwhile is gone (unnumbered here: no hole to show it), and the counter's
    next value holds the parts made during the gap. A resumed session hands everything over:
    there the counter's rise is parts, as before."""
    from tests.live.mqtt_tools import make_broker

    b = make_broker(tmp_path / "broker")
    b.conf.write_text(b.conf.read_text().replace("persistence true", "persistence false"))
    b.start()
    path = tmp_path / "gap.h5"
    try:
        rec, live, thread = _follow(b, path, "tb-gap")
        pub = Publisher(b.port, client_id="plant-gap")

        def send(values):
            for dt, value in values:
                pub.publish("plant/mill/count", json.dumps({"ts": T0 + dt, "value": value}))
            pub.wait_all(20)

        send([(0, 100), (10, 104)])
        _wait(lambda: rec.report.received >= 2, "the first values")
        b.stop()  # a clean stop, but nothing kept: the session and its queue are gone
        _wait(lambda: rec.link_state == "reconnecting", "the link to go down")
        pub.close()
        b.start()
        _wait(lambda: rec.link_state == "connected", "the source to reconnect", 30)
        assert rec.link_detail == "new session"
        pub = Publisher(b.port, client_id="plant-gap")
        send([(300, 160), (310, 161)])  # 56 parts made while the link was down
        _wait(lambda: live.snapshot().plant_t == T0 + 310, "the values after the gap")
        snap = live.snapshot()
        thread.stop()
        pub.close()
        report = rec.close()
    finally:
        b.stop()
    assert snap.good == {"mill": 5.0}
    parts, gaps = _parts(path, "mill")
    assert parts == [(10.0, 4.0), (310.0, 1.0)]
    assert len(gaps) == 1
    assert report.problems[ACROSS_GAP].count == 1
