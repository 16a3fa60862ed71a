"""The virtual plant (``twin.live.emulator``) against a real mosquitto broker and a paho
subscriber: every message arrives once, parts and energy equal the twin's own run, time
stamps are plant time in order, and the play is paced by ``--speed``."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import unquote

import paho.mqtt.client as mqtt
import pytest

from twin.live.emulator import ORDER, Status, plan_run, play
from twin.live.publish_mqtt import MqttPublisher, topic_level
from twin.projectfile.reader import load_project

pytestmark = pytest.mark.timeout(120)

PROJECTS = Path(__file__).resolve().parents[2] / "projects"
EPOCH = 1_790_000_000.0  # 2026-09-21 UTC: plant time 0 of the tests


@pytest.fixture(scope="module")
def cell_plan():
    """Eight hours of the machining cell (a three-server station: assets ``lathes#k``; its
    first shift starts after midnight)."""
    return plan_run(load_project(PROJECTS / "machining-cell"), duration=8 * 3600.0)


class Subscriber:
    """A paho client that keeps every message under ``prefix/#`` (QoS 1)."""

    def __init__(self, port: int, prefix: str):
        self.got: list[tuple[str, dict]] = []
        self.lock = threading.Lock()
        ready = threading.Event()
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="emulator-test-sub")
        self.c.on_message = self._on_message
        self.c.on_subscribe = lambda *a: ready.set()
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()
        self.c.subscribe(f"{prefix}/#", qos=1)
        assert ready.wait(10), "the test subscriber was not subscribed"

    def _on_message(self, _c, _u, msg) -> None:
        with self.lock:
            self.got.append((msg.topic, json.loads(msg.payload)))

    def wait_for(self, n: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.got) < n and time.monotonic() < deadline:
            time.sleep(0.05)

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def _sums(got, prefix):
    """Per asset: parts, scrap, energy (kWh, power integrated to its last sample), and the
    time stamps per asset in arrival order."""
    parts, scrap, kwh = defaultdict(int), defaultdict(int), defaultdict(float)
    last_p: dict[str, tuple[float, float]] = {}
    stamps = defaultdict(list)
    for topic, msg in got:
        head, level, channel = topic.split("/")
        assert head == prefix and channel in ORDER
        asset = unquote(level)
        stamps[asset].append(msg["ts"])
        if channel == "parts":
            parts[asset] += msg["value"]
        elif channel == "scrap":
            scrap[asset] += msg["value"]
        elif channel == "power_kw":
            if asset in last_p:
                p, t = last_p[asset]
                kwh[asset] += p * (msg["ts"] - t) / 3600.0
            last_p[asset] = (msg["value"], msg["ts"])
    return parts, scrap, kwh, stamps


def test_every_message_arrives_and_parts_and_energy_equal_the_twins_run(broker, cell_plan):
    plan = cell_plan
    sub = Subscriber(broker.port, "plant")
    pub = MqttPublisher(f"{broker.url}/plant")
    pub.open(plan, EPOCH)
    try:
        truth = play(plan, [pub], speed=0, epoch=EPOCH)
    finally:
        pub.close()
    assert pub.sent == len(plan) and pub.acked == pub.sent
    sub.wait_for(len(plan))
    sub.close()
    got = sub.got
    assert len(got) == len(plan)
    assert sorted(m["id"] for _, m in got) == list(range(1, len(plan) + 1))  # once each

    parts, scrap, kwh, stamps = _sums(got, "plant")
    assert "lathes#0" in stamps and "lathes%230" in {t.split("/")[1] for t, _ in got}
    # the receiver's sums equal the emulator's own report of what it sent ...
    for asset, d in truth.per_asset().items():
        assert parts[asset] == d["parts"] and scrap[asset] == d["scrap"]
        assert kwh[asset] == pytest.approx(d["energy_kwh"], rel=1e-9, abs=1e-9)
    # ... and the twin's KPIs of that replication, per station (its servers summed)
    assert plan.twin and sum(d["parts"] for d in plan.twin.values()) > 0
    for element, d in plan.twin.items():
        servers = [a for a in stamps if a == element or a.startswith(element + "#")]
        assert servers, element
        assert sum(parts[a] for a in servers) == d["parts"]
        assert sum(scrap[a] for a in servers) == d["scrap"]
        assert sum(kwh[a] for a in servers) == pytest.approx(d["energy_kwh"], rel=1e-9)
    # time stamps are plant time (epoch + the run's times), in order per asset
    for asset, ts in stamps.items():
        assert ts == sorted(ts), asset
        assert ts[0] == EPOCH and ts[-1] == pytest.approx(EPOCH + plan.horizon), asset
    want = sorted(round(EPOCH + t, 6) for t in plan.t.tolist())
    assert sorted(m["ts"] for _, m in got) == pytest.approx(want, abs=1e-6)


def test_speed_scales_wall_time(cell_plan):
    """A minute of plant time at speed 60 takes at least about a second (a lower bound only:
    a slow machine may take longer)."""
    plan = plan_run(load_project(PROJECTS / "machining-cell"), duration=60.0)
    assert plan.t[-1] == 60.0  # the last power samples at the horizon
    status = Status()
    t0 = time.monotonic()
    play(plan, [], speed=60.0, epoch=EPOCH, status=status)
    assert time.monotonic() - t0 >= 0.95
    assert status.done and status.sent == len(plan)


def test_a_stop_ends_the_play_between_batches(cell_plan, monkeypatch):
    from twin.live import emulator

    monkeypatch.setattr(emulator, "BATCH", 100)
    stop = threading.Event()
    status = Status()
    seen = []

    def on_batch(s):
        seen.append(s.sent)
        stop.set()

    truth = play(cell_plan, [], speed=0, epoch=EPOCH, stop=stop, status=status,
                 on_batch=on_batch)
    assert seen == [100] and not status.done and status.sent == 100
    assert sum(d["parts"] for d in truth.per_asset().values()) <= sum(
        d["parts"] for d in cell_plan.twin.values())


def test_asset_ids_become_one_topic_level():
    assert topic_level("lathes#0") == "lathes%230"
    assert topic_level("press_1") == "press_1"
    assert unquote(topic_level("a/b+c#2")) == "a/b+c#2" and "/" not in topic_level("a/b")


@pytest.mark.parametrize("name", sorted(p.name for p in PROJECTS.iterdir()
                                        if (p / "project.json").exists()))
def test_each_example_project_emulates(broker, name):
    """Half an hour of each example to the broker: every message arrives and the parts the
    subscriber counts equal the twin's."""
    plan = plan_run(load_project(PROJECTS / name), duration=1800.0)
    assert len(plan) > 0
    sub = Subscriber(broker.port, name)
    pub = MqttPublisher(f"{broker.url}/{name}")
    pub.open(plan, EPOCH)
    try:
        play(plan, [pub], speed=0, epoch=EPOCH)
    finally:
        pub.close()
    sub.wait_for(len(plan))
    sub.close()
    assert len(sub.got) == len(plan)
    parts = _sums(sub.got, name)[0]
    for element, d in plan.twin.items():
        assert sum(n for a, n in parts.items()
                   if a == element or a.startswith(element + "#")) == d["parts"]


def test_a_broker_restart_mid_play_loses_nothing(broker, cell_plan):
    """The broker stops and comes back while the emulator plays: paho queues what it cannot
    send, re-sends what was not acknowledged, and a persistent subscriber gets every id (at
    least once; the ids let it drop a repeat)."""
    plan = cell_plan
    got: list[dict] = []
    props = mqtt.Properties(mqtt.PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="emulator-restart-sub",
                      protocol=mqtt.MQTTv5)
    sub.on_message = lambda _c, _u, msg: got.append(json.loads(msg.payload))
    ready = threading.Event()
    sub.on_subscribe = lambda *a: ready.set()
    sub.connect("127.0.0.1", broker.port, clean_start=False, properties=props)
    sub.loop_start()
    sub.subscribe("plant/#", qos=1)
    assert ready.wait(10)
    pub = MqttPublisher(f"{broker.url}/plant")
    pub.open(plan, EPOCH)
    status = Status()
    player = threading.Thread(target=play, args=(plan, [pub]), daemon=True,
                              kwargs=dict(speed=plan.horizon / 3.0, epoch=EPOCH, status=status))
    player.start()
    deadline = time.monotonic() + 30
    while status.sent < len(plan) // 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    broker.stop()
    sent_while_down = status.sent
    deadline = time.monotonic() + 10  # the emulator notices: "away since", not just "sent"
    while pub.away_since is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert pub.away_since is not None
    time.sleep(0.5)
    broker.start()
    player.join(60)
    assert not player.is_alive() and status.done
    pub.close()
    assert pub.acked == pub.sent == len(plan)
    # the closing table says from when to when, and how much was published meanwhile
    assert pub.away_since is None and len(pub.outages) == 1
    start, end, p0, p1 = pub.outages[0]
    assert end is not None and 0.5 <= end - start < 30 and p0 <= p1
    said = pub.report()
    assert said[0].startswith(f"{broker.url}/plant: the broker was away from ")
    assert 0 < pub.sent_away <= len(plan) - sent_while_down + 2000
    assert f"{pub.sent_away:,} messages were published while the broker was away" in said[1]
    assert len(said) == 2  # all acknowledged in the end
    deadline = time.monotonic() + 30
    while len({m["id"] for m in got}) < len(plan) and time.monotonic() < deadline:
        time.sleep(0.05)
    sub.disconnect()
    sub.loop_stop()
    assert 0 < sent_while_down < len(plan)
    assert {m["id"] for m in got} == set(range(1, len(plan) + 1))


def test_a_stop_is_heard_while_the_broker_is_away(broker, cell_plan, monkeypatch):
    """With the broker gone the window of unacknowledged messages fills and the play waits;
    a stop (SIGTERM) still ends it, and closing gives up on the acknowledgements."""
    from twin.live import emulator, publish_mqtt

    monkeypatch.setattr(emulator, "BATCH", 10)  # the window is checked once per batch
    monkeypatch.setattr(publish_mqtt, "WINDOW", 50)
    monkeypatch.setattr(publish_mqtt, "STOP_WAIT", 0.5)
    pub = MqttPublisher(f"{broker.url}/plant")
    pub.open(cell_plan, EPOCH)
    broker.stop()
    stop = threading.Event()
    status = Status()
    player = threading.Thread(target=play, args=(cell_plan, [pub]), daemon=True,
                              kwargs=dict(speed=0, epoch=EPOCH, stop=stop, status=status))
    player.start()
    deadline = time.monotonic() + 10
    while pub.sent - pub.acked <= 50 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert pub.sent - pub.acked > 50
    player.join(0.3)
    assert player.is_alive() and pub.sent < len(cell_plan)  # held by the full window
    stop.set()
    player.join(10)
    assert not player.is_alive() and not status.done
    pub.close()
    assert pub.acked < pub.sent < len(cell_plan)
    said = pub.report()  # never came back: said, with what was never acknowledged
    assert "to the end (never came back)" in said[0]
    assert f"{pub.sent - pub.acked:,} of {pub.sent:,} messages were never acknowledged" \
        in said[-1]
    broker.start()  # the fixture stops it


def test_the_projects_horizon_is_cut_to_what_the_plan_holds(monkeypatch):
    """Without --duration the project's horizon is emulated, or the longest whole number of
    hours of it whose events fit in ``MAX_PLAN_EVENTS``."""
    from twin.live import emulator

    project = load_project(PROJECTS / "machining-cell")
    whole = plan_run(project, duration=8 * 3600.0)
    monkeypatch.setattr(emulator, "MAX_PLAN_EVENTS", 2 * len(whole))
    plan = plan_run(project)  # the project's horizon: a week
    assert 3600.0 <= plan.horizon < project.run.horizon and plan.horizon % 3600.0 == 0
    with pytest.raises(emulator.EmulatorError, match="more than the emulator holds"):
        plan_run(project, duration=project.run.horizon)


def test_a_scenario_is_emulated_with_its_overrides():
    """``fourth-lathe`` gives the lathes a fourth server: a fourth asset, and the parts sent
    still equal the twin's."""
    plan = plan_run(load_project(PROJECTS / "machining-cell"), "fourth-lathe",
                    duration=8 * 3600.0)
    assert "lathes#3" in plan.assets and "lathes#3" not in plan_run(
        load_project(PROJECTS / "machining-cell"), duration=600.0).assets
    sent = play(plan, [], speed=0, epoch=EPOCH).per_asset()
    assert sum(d["parts"] for a, d in sent.items() if a.startswith("lathes#")) == \
        plan.twin["lathes"]["parts"] > 0
