"""Benchmark: how fast ``twinbench emulate`` publishes at ``--speed max``.

Prepares an hour of the standard line (``twin.live.emulator.plan_run``), then sends it

* to a mosquitto broker started here on a free loopback port, through the emulator's MQTT
  publisher (QoS 1, waiting for every acknowledgement); the peer, in the same run on the same
  broker, is a bare paho-mqtt loop publishing the same topics and payloads at QoS 1 with
  paho's defaults, waiting for the last acknowledgement of every 1,000 (without that wait
  paho queues all of them and scans its queue at every acknowledgement: 88,000 messages did
  not get through in 5 minutes);
* to the emulator's OPC UA server (writes plus history), no peer.

Prints messages per second and the emulator/peer ratio. Not part of the test suite; run it
by hand (needs mosquitto on the PATH or in /usr/sbin)::

    .venv/bin/python benchmarks/bench_emulator.py [--project standard-line] [--duration 1h]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_live_mqtt import _broker, _free_port  # noqa: E402

from twin.live.emulator import plan_run, play  # noqa: E402
from twin.live.publish_mqtt import MqttPublisher  # noqa: E402
from twin.live.publish_opcua import OpcUaPublisher  # noqa: E402
from twin.projectfile.reader import load_project  # noqa: E402
from twin.units import parse_duration  # noqa: E402


def _peer(port: int, messages) -> float:
    """A bare paho loop: publish every message at QoS 1, wait for the acknowledgements."""
    import paho.mqtt.client as mqtt

    acked = 0
    done = threading.Event()
    n = len(messages)

    def on_publish(*_a):
        nonlocal acked
        acked += 1
        if acked == n:
            done.set()

    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-peer")
    c.on_publish = on_publish
    c.connect("127.0.0.1", port)
    c.loop_start()
    t0 = time.perf_counter()
    for k, (topic, payload) in enumerate(messages, 1):
        info = c.publish(topic, payload, qos=1)
        if k % 1000 == 0:
            info.wait_for_publish(60)
    done.wait(300)
    took = time.perf_counter() - t0
    c.disconnect()
    c.loop_stop()
    return took


def main() -> None:
    import logging

    logging.getLogger("asyncua").setLevel(logging.ERROR)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--project", default="standard-line")
    ap.add_argument("--duration", default="1h")
    args = ap.parse_args()
    plan = plan_run(load_project(ROOT / "projects" / args.project),
                    duration=parse_duration(args.duration))
    n = len(plan)
    print(f"{args.project}, {args.duration} of plant time: {n:,} messages, "
          f"{len(plan.assets)} assets")
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        proc = _broker(Path(tmp), port)
        try:
            pub = MqttPublisher(f"mqtt://127.0.0.1:{port}/bench")
            pub.open(plan, 0.0)
            t0 = time.perf_counter()
            play(plan, [pub], speed=0, epoch=0.0)
            pub.close()
            ours = time.perf_counter() - t0
            assert pub.acked == n
            messages = [(pub.topic(a, ch), json.dumps({"ts": ts, "value": v}))
                        for a, ch, ts, v in plan.messages(0, n, 0.0)]
            theirs = _peer(port, messages)
        finally:
            proc.terminate()
            proc.wait(10)
    print(f"MQTT  emulator {n / ours:10,.0f} msg/s   bare paho loop {n / theirs:10,.0f} msg/s"
          f"   ratio {theirs / ours:.2f}")
    pub = OpcUaPublisher(f"opc.tcp://127.0.0.1:{_free_port()}")
    pub.open(plan, 0.0)
    try:
        t0 = time.perf_counter()
        play(plan, [pub], speed=0, epoch=0.0)
        took = time.perf_counter() - t0
    finally:
        pub.close()
    print(f"OPC UA emulator {n / took:10,.0f} writes/s (value and history)")


if __name__ == "__main__":
    main()
