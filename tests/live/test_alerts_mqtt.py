"""Alerts published to MQTT (``<prefix>/alerts``, JSON) by ``twinbench live
--publish-alerts``, against a real mosquitto broker."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from mqtt_tools import Publisher

from twin.live.feed import Reading
from twin.model import elements as m
from twin.projectfile.reader import load_project
from twin.shadow.alerts import AlertEngine
from twin.shadow.sinks import MqttAlertPublisher

ROOT = Path(__file__).resolve().parents[2]
T0 = time.time() - 6 * 3600  # a past morning: the live source refuses the future


class Subscriber:
    def __init__(self, port: int, topic: str) -> None:
        self.got: list[dict] = []
        self.ready = threading.Event()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="alert-reader")
        c.on_connect = lambda cl, *a: cl.subscribe(topic, qos=1)
        c.on_subscribe = lambda *a: self.ready.set()
        c.on_message = lambda _c, _u, msg: self.got.append(
            {"topic": msg.topic, **json.loads(msg.payload)})
        c.connect("127.0.0.1", port, 30)
        c.loop_start()
        assert self.ready.wait(10)
        self.client = c

    def wait(self, n: int, timeout: float = 20.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.got) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.got

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_each_change_is_published_as_json(broker):
    sub = Subscriber(broker.port, "plant/alerts")
    pub = MqttAlertPublisher(f"{broker.url}/plant")
    p = load_project(ROOT / "projects" / "machining-cell")
    e = AlertEngine(p, m.AlertSettings((m.AlertRule("state", "saw-stop", "critical", ("saw",),
                                                    ("down",), 120.0),)))
    e.listeners.append(pub)
    changes = e.readings([Reading("saw", "state", T0, "down"),
                          Reading("saw", "state", T0 + 300, "busy")])
    pub.close()
    got = sub.wait(2)
    sub.close()
    assert [g["topic"] for g in got] == ["plant/alerts", "plant/alerts"]
    assert [{k: v for k, v in g.items() if k != "topic"} for g in got] == \
        [c.to_dict() for c in changes]
    assert [g["state"] for g in got] == ["raised", "cleared"]


@pytest.mark.timeout(120)
def test_live_publishes_alerts_beside_the_recording(broker, tmp_path):
    folder = tmp_path / "cell"
    shutil.copytree(ROOT / "projects" / "machining-cell", folder)
    doc = json.loads((folder / "project.json").read_text())
    doc["alerts"] = {"rules": [{"id": "saw-stop", "kind": "state", "elements": ["saw"],
                                "longer_than": "2min"}]}
    (folder / "project.json").write_text(json.dumps(doc))
    sub = Subscriber(broker.port, "plant/alerts")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "live", str(folder), "--mqtt", f"{broker.url}/plant",
         "--record", str(tmp_path / "rec.h5"), "--duration", "20min", "--alerts-only",
         "--json", "--publish-alerts"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        assert "following" in line, line + proc.stderr.read()
        time.sleep(2.0)  # the source subscribes
        plant = Publisher(broker.port, "plant")
        for i, (t, state) in enumerate([(0, "busy"), (60, "down"), (400, "busy"),
                                        (1300, "busy")]):
            plant.publish("plant/saw/state", json.dumps({"ts": T0 + t, "value": state,
                                                         "id": i + 1}))
        plant.wait_all()
        plant.close()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    printed = [json.loads(x) for x in out.splitlines()]
    assert [a["state"] for a in printed] == ["raised", "cleared"]
    got = sub.wait(2)
    sub.close()
    assert [{k: v for k, v in g.items() if k != "topic"} for g in got] == printed
    assert printed[0]["time"] == pytest.approx(T0 + 180)
