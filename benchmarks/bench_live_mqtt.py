"""Sustained MQTT ingest: messages per second from publishers through mosquitto into MqttSource.

A mosquitto broker is started on a free loopback port (persistence on, unlimited queue, as
docs/live.md tells admins); ``--publishers`` processes publish ``--messages`` JSON messages
``{"ts", "value", "id"}`` for ``--assets`` assets (channels state, parts, power_kw in turn) at
QoS 1 (``mqtt_flood.py``: encoded before the clock starts),
as fast as the broker takes them; MqttSource follows on this process's threads and hands its
batches to the feed. The figure is the messages the feed received per second, from the first
to the last, and the publishers' own rate beside it (the peer: what the broker was given).

``--feed count`` (default) only counts; ``--feed module:factory`` calls ``factory()`` for any
other ``Feed`` (the recorder, once written: ``--feed twin.live.recorder:bench_feed``).
``--feed bare`` is the floor under the source: a plain paho client on the same persistent
QoS 1 session that counts messages in ``on_message`` and lets paho acknowledge them, nothing
else (no parsing, no batches); its CPU per message is what paho itself costs here.
``--process`` runs the source as the workbench does, in a process of its own
(``twin.live.process.ProcessSource``), and prints the CPU per message of both processes.

Target (issue 15): 20,000 messages/s (1,000 assets at 20 Hz).

    python benchmarks/bench_live_mqtt.py --messages 200000
"""

from __future__ import annotations

import argparse
import importlib
import multiprocessing as mp
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mqtt_flood import publisher_rate, start_publishers  # noqa: E402

from twin.live.mqtt import MqttSource  # noqa: E402


class CountingFeed:
    """Counts readings; keeps the time of the first and the last batch."""

    def __init__(self) -> None:
        self.n = 0
        self.bad_n = 0
        self.first = self.last = 0.0
        self.done = threading.Event()
        self.target = 0

    def readings(self, batch):
        now = time.perf_counter()
        if not self.n:
            self.first = now
        self.n += len(batch)
        self.last = now
        if self.n >= self.target:
            self.done.set()

    def bad(self, kind, example):
        self.bad_n += 1

    def link(self, state, detail=""):
        pass


class BareSubscriber:
    """A paho QoS 1 subscriber that only counts (``--feed bare``): the same session settings
    as :class:`MqttSource` (fixed client id, ``clean_start=False``, MQTT 5 or 3.1.1)."""

    def __init__(self, port: int, protocol: str) -> None:
        import paho.mqtt.client as mqtt

        self.mqtt = mqtt
        self.port = port
        self.v5 = protocol == "5"
        self.n = 0
        self.first = self.last = 0.0
        self.target = 0
        self.done = threading.Event()
        kw = {} if self.v5 else {"clean_session": False}
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-bare",
                                  protocol=mqtt.MQTTv5 if self.v5 else mqtt.MQTTv311, **kw)
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, *_: c.subscribe("bench/+/+", 1)

    def _on_message(self, client, userdata, msg) -> None:
        now = time.perf_counter()
        if not self.n:
            self.first = now
        self.n += 1
        self.last = now
        if self.n >= self.target:
            self.done.set()

    def start(self) -> None:
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        kw = {}
        if self.v5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 3600
            kw = {"clean_start": False, "properties": props}
        self.client.connect("127.0.0.1", self.port, 30, **kw)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _process_cpu(pid: int) -> float:
    """CPU seconds process ``pid`` has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _broker(folder: Path, port: int) -> subprocess.Popen:
    conf = folder / "mosquitto.conf"
    lines = [f"listener {port} 127.0.0.1", "allow_anonymous true", "persistence true",
             f"persistence_location {folder}/", "max_queued_messages 0",
             "max_inflight_messages 0"]
    if os.geteuid() == 0:
        lines.append("user root")
    conf.write_text("\n".join(lines) + "\n")
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    proc = subprocess.Popen([exe, "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(200):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("mosquitto did not start")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=100_000, help="in all (default 100,000)")
    p.add_argument("--assets", type=int, default=1000)
    p.add_argument("--publishers", type=int, default=1, help="publishing processes")
    p.add_argument("--rate", type=float, default=0.0,
                   help="messages/s the publishers send together (default 0: as fast as the "
                        "broker takes them)")
    p.add_argument("--feed", default="count", help="'count' or module:factory of a Feed")
    p.add_argument("--backlog", action="store_true",
                   help="publish everything while the source is away, then time how fast it "
                        "takes the backlog in (the source and broker alone, no publisher "
                        "competing for the CPU)")
    p.add_argument("--protocol", choices=("5", "3.1.1"), default="5",
                   help="the MQTT version the source follows with (default 5)")
    p.add_argument("--process", action="store_true",
                   help="run the source in a process of its own, as the workbench does")
    a = p.parse_args(argv)
    bare = a.feed == "bare"
    if a.feed in ("count", "bare"):
        feed = CountingFeed()
    else:
        module, _, name = a.feed.partition(":")
        feed = getattr(importlib.import_module(module), name)()
    per = a.messages // a.publishers
    total = per * a.publishers
    if isinstance(feed, CountingFeed):
        feed.target = total
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        broker = _broker(Path(tmp), port)
        try:
            if bare:
                if a.backlog:
                    p.error("--backlog is not offered with --feed bare")
                feed = BareSubscriber(port, a.protocol)
                feed.target = total
                feed.start()
                source = None
                stop = threading.Event()
                runner = threading.Thread(target=stop.wait, daemon=True)
                runner.start()
            else:
                source = MqttSource(f"mqtt://127.0.0.1:{port}/bench", client_id="bench-source",
                                    max_future_s=None, protocol=a.protocol)
                if a.process:
                    from twin.live.process import ProcessSource

                    reader = source.reader
                    source = ProcessSource(source)
                    source.reader = reader  # for its repeats, counted in the child: 0
                stop = threading.Event()
                runner = threading.Thread(target=source.run, args=(feed, stop), daemon=True)
                runner.start()
            time.sleep(1.0)  # connected and subscribed: the session exists
            if a.backlog:
                stop.set()
                runner.join(30)
            out = mp.get_context("spawn").Queue()
            cpu0 = time.process_time()
            child0 = _process_cpu(source.pid) if a.process else 0.0
            procs, _ = start_publishers(port, total, a.publishers, a.assets, "bench", out,
                                        a.rate, asset_name="A{}")
            spans = [out.get(timeout=900) for _ in procs]
            for pr in procs:
                pr.join(60)
            if a.backlog:
                stop = threading.Event()
                runner = threading.Thread(target=source.run, args=(feed, stop), daemon=True)
                runner.start()
            if isinstance(feed, CountingFeed | BareSubscriber):
                feed.done.wait(300)
            cpu = time.process_time() - cpu0
            child = _process_cpu(source.pid) - child0 if a.process else 0.0
            stop.set()
            runner.join(30)
            if bare:
                feed.stop()
        finally:
            broker.terminate()
            broker.wait(10)
    pub_rate = publisher_rate(spans)
    print(f"published: {total:,} messages (QoS 1, {a.assets} assets, {a.publishers} publisher "
          f"process(es)) at {pub_rate:,.0f} msgs/s")
    if isinstance(feed, CountingFeed | BareSubscriber):
        span = feed.last - feed.first
        if bare:
            print(f"bare paho subscriber: {feed.n:,} messages in {span:.2f} s = "
                  f"{feed.n / span:,.0f} msgs/s")
        else:
            print(f"MqttSource -> feed: {feed.n:,} readings ({feed.bad_n} bad, "
                  f"{source.reader.dedup.repeats} repeats) in {span:.2f} s = "
                  f"{feed.n / span:,.0f} msgs/s (target 20,000)")
        print(f"ratio to the publishers' rate: {(feed.n / span) / pub_rate:.2f}")
        # CPU per message does not depend on what else the machine runs (wall rates do)
        if a.process:
            print(f"CPU a message: the source's process {1e6 * child / feed.n:.1f} µs, this "
                  f"process (unpickling, the feed) {1e6 * cpu / feed.n:.1f} µs")
        else:
            print(f"CPU of this process (paho's thread and the source's): "
                  f"{1e6 * cpu / feed.n:.1f} µs a message ({feed.n / cpu:,.0f} msgs per CPU "
                  "second)")
    print("(2-core machine shared with other work: see `uptime`)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
