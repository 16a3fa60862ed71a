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
    a = p.parse_args(argv)
    if a.feed == "count":
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
            source = MqttSource(f"mqtt://127.0.0.1:{port}/bench", client_id="bench-source",
                                max_future_s=None, protocol=a.protocol)
            stop = threading.Event()
            runner = threading.Thread(target=source.run, args=(feed, stop), daemon=True)
            runner.start()
            time.sleep(1.0)  # connected and subscribed: the session exists
            if a.backlog:
                stop.set()
                runner.join(30)
            out = mp.get_context("spawn").Queue()
            cpu0 = time.process_time()
            procs, _ = start_publishers(port, total, a.publishers, a.assets, "bench", out,
                                        a.rate, asset_name="A{}")
            spans = [out.get(timeout=900) for _ in procs]
            for pr in procs:
                pr.join(60)
            if a.backlog:
                stop = threading.Event()
                runner = threading.Thread(target=source.run, args=(feed, stop), daemon=True)
                runner.start()
            if isinstance(feed, CountingFeed):
                feed.done.wait(300)
            stop.set()
            runner.join(30)
            cpu = time.process_time() - cpu0
        finally:
            broker.terminate()
            broker.wait(10)
    pub_rate = publisher_rate(spans)
    print(f"published: {total:,} messages (QoS 1, {a.assets} assets, {a.publishers} publisher "
          f"process(es)) at {pub_rate:,.0f} msgs/s")
    if isinstance(feed, CountingFeed):
        span = feed.last - feed.first
        print(f"MqttSource -> feed: {feed.n:,} readings ({feed.bad_n} bad, "
              f"{source.reader.dedup.repeats} repeats) in {span:.2f} s = "
              f"{feed.n / span:,.0f} msgs/s (target 20,000)")
        print(f"ratio to the publishers' rate: {(feed.n / span) / pub_rate:.2f}")
        # CPU per message does not depend on what else the machine runs (wall rates do)
        print(f"CPU of this process (paho's thread and the source's): {1e6 * cpu / feed.n:.0f} "
              f"µs a message ({feed.n / cpu:,.0f} msgs per CPU second)")
    print("(2-core machine shared with other work: see `uptime`)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
