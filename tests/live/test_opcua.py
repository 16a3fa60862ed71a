"""The OPC UA source against a real asyncua server in the test process (tests/live/opcua_server.py):
what is written arrives as Readings, none lost in a burst, reconnection with and without the
server's history, bad values counted."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from mqtt_tools import SourceThread
from opcua_server import PlantServer

from twin.live.feed import LiveError, Reading, open_source

pytestmark = pytest.mark.timeout(90)


class CollectingFeed:
    """A Feed that keeps everything (thread-safe) and lets the test wait for it."""

    def __init__(self):
        self.lock = threading.RLock()
        self.got: list[Reading] = []
        self.bads: list[tuple[str, str]] = []
        self.links: list[tuple[str, str]] = []
        self.batches = 0

    def readings(self, batch):
        with self.lock:
            self.got.extend(batch)
            self.batches += 1

    def bad(self, kind, example):
        with self.lock:
            self.bads.append((kind, example))

    def link(self, state, detail=""):
        with self.lock:
            self.links.append((state, detail))

    def bad_kinds(self) -> Counter:
        with self.lock:
            return Counter(k for k, _ in self.bads)

    def values(self, asset, channel) -> list:
        with self.lock:
            return [(r.t, r.value) for r in self.got if r.asset == asset and r.channel == channel]

    def wait(self, predicate, timeout=20.0, what="the condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if predicate(self):
                    return
            time.sleep(0.02)
        with self.lock:
            raise AssertionError(f"timed out waiting for {what}; links {self.links[-5:]}, "
                                 f"{len(self.got)} readings, bad {self.bads[:5]}")


class Running(SourceThread):
    """A source on its own thread; ``stop()`` joins it and re-raises what it raised."""

    def __init__(self, url, **options):
        super().__init__(open_source(url, **options), CollectingFeed())

    def connected(self, times=1, timeout=20.0):
        self.feed.wait(lambda f: sum(s == "connected" for s, _ in f.links) >= times, timeout,
                       f"connected x{times}")

    def stop(self):
        self.stop_event.set()
        self.thread.join(20)
        assert not self.thread.is_alive(), "the source did not stop"
        if self.error is not None:
            raise self.error


@pytest.fixture
def plant(tmp_path):
    servers = []

    def make(**kw):
        s = PlantServer(tmp_path / f"server{len(servers)}", **kw)
        servers.append(s)
        s.start()
        return s

    yield make
    for s in servers:
        s.close()


@pytest.fixture
def follow(tmp_path):
    running = []

    def make(url, **options):
        options.setdefault("security", "None")
        options.setdefault("pki_dir", tmp_path / "pki")
        options.setdefault("backoff_max", 0.3)
        options.setdefault("timeout", 2.0)
        r = Running(url, **options)
        running.append(r)
        return r

    yield make
    for r in running:
        if r.thread.is_alive():
            r.stop_event.set()
            r.thread.join(20)


def test_every_value_written_arrives_as_written(plant, follow):
    server = plant(machines=("M1", "M2", "S3#2"))  # server 2 of a multi-server station
    src = follow(server.url)
    src.connected()
    feed = src.feed
    t0 = server.t0
    # the initial values: a state, counters, power, level (ScrapParts is only a base)
    feed.wait(lambda f: len(f.got) >= 10, what="the initial values")
    assert feed.values("S3#2", "state") == [(t0, "idle")]
    assert feed.values("M1", "state") == [(t0, "idle")]
    assert feed.values("M1", "count") == [(t0, 0.0)]
    assert feed.values("B1", "level") == [(t0, 0.0)]
    assert feed.values("M1", "scrap") == []
    writes = [("M1", "State", "busy", t0 + 1.25), ("M1", "GoodParts", 1, t0 + 2.5),
              ("M1", "ScrapParts", 2, t0 + 3.0), ("M1", "PowerKw", 7.5, t0 + 3.5),
              ("B1", "Level", 4, t0 + 4.0), ("M2", "State", "down", t0 + 4.5),
              ("M1", "ScrapParts", 3, t0 + 5.0), ("M1", "State", "busy", t0 + 6.0)]
    for w in writes:
        server.write(*w)
    feed.wait(lambda f: len(f.got) >= 10 + 7, what="the written values")
    time.sleep(0.3)  # nothing more may come
    src.stop()
    assert feed.values("M1", "state") == [(t0, "idle"), (t0 + 1.25, "busy"), (t0 + 6.0, "busy")]
    assert feed.values("M1", "count") == [(t0, 0.0), (t0 + 2.5, 1.0)]
    assert feed.values("M1", "scrap") == [(t0 + 3.0, 2.0), (t0 + 5.0, 1.0)]  # increments
    assert feed.values("M1", "power_kw") == [(t0, 0.0), (t0 + 3.5, 7.5)]
    assert feed.values("B1", "level") == [(t0, 0.0), (t0 + 4.0, 4.0)]
    assert feed.values("M2", "state") == [(t0, "idle"), (t0 + 4.5, "down")]
    keys = [r.key for r in feed.got]
    assert len(set(keys)) == len(keys)
    state_node = server.nodeid("M1", "State")
    assert [r.key.split("@")[0] for r in feed.got if r.asset == "M1" and r.channel == "state"] \
        == [state_node] * 3
    assert feed.bads == []
    assert feed.links[0][0] == "connecting" and feed.links[-1] == ("closed", "")


def test_a_burst_faster_than_the_publishing_interval_loses_nothing(plant, follow):
    server = plant()
    src = follow(server.url, publishing_interval=0.5, max_rate=1000)  # queues of 2,000
    src.connected()
    src.feed.wait(lambda f: len(f.got) >= 7, what="the initial values")
    t0 = server.t0
    n = 500
    server.write_many([("M1", "GoodParts", i, t0 + i * 0.001) for i in range(1, n + 1)]
                      + [("M2", "State", ("busy", "starved")[i % 2], t0 + i * 0.001)
                         for i in range(1, n + 1)])
    src.feed.wait(lambda f: len(f.values("M1", "count")) >= n + 1
                  and len(f.values("M2", "state")) >= n + 1, what="the burst")
    src.stop()
    assert src.feed.values("M1", "count") == [(t0, 0.0)] + [(t0 + i * 0.001, float(i))
                                                             for i in range(1, n + 1)]
    assert [v for _, v in src.feed.values("M2", "state")][1:] == \
        [("busy", "starved")[i % 2] for i in range(1, n + 1)]
    # handed over in batches, not one call per change
    assert src.feed.batches < len(src.feed.got) / 10


def test_bad_values_are_counted_and_the_source_goes_on(plant, follow):
    from asyncua import ua

    server = plant()
    src = follow(server.url, state_codes={"7": "down"})
    src.connected()
    src.feed.wait(lambda f: len(f.got) >= 7, what="the initial values")
    t0 = server.t0
    server.write("M1", "State", "exploded", t0 + 1)          # no state
    server.write("M1", "State", "7", t0 + 2)                 # a code the mapping names
    server.write("M1", "PowerKw", "lots", t0 + 3, variant=ua.VariantType.String)
    server.write("M1", "PowerKw", float("nan"), t0 + 4)
    server.write("M1", "GoodParts", 10, t0 + 5)
    server.write("M1", "GoodParts", 4, t0 + 6)               # a counter going down
    server.write("M1", "ScrapParts", 5, t0 + 7)
    server.write("M1", "ScrapParts", 2, t0 + 8)              # down: a new base
    server.write("M1", "ScrapParts", 3, t0 + 9)
    server.write("M2", "PowerKw", 2.0, None, server_t=t0 + 10)  # no source time stamp
    server.write("M1", "State", "busy", t0 + 11)
    src.feed.wait(lambda f: (t0 + 11, "busy") in f.values("M1", "state"), what="the last value")
    src.stop()
    assert src.feed.bad_kinds() == Counter({"unknown state": 1, "not a number": 1,
                                            "value out of range": 1, "counter went down": 2,
                                            "no source time stamp": 1})
    assert src.feed.values("M1", "state")[1:] == [(t0 + 2, "down"), (t0 + 11, "busy")]
    assert src.feed.values("M1", "count")[1:] == [(t0 + 5, 10.0), (t0 + 6, 4.0)]
    assert src.feed.values("M1", "scrap") == [(t0 + 7, 5.0), (t0 + 9, 1.0)]
    assert src.feed.values("M2", "power_kw")[1:] == [(t0 + 10, 2.0)]  # server time used


def test_nodes_option_for_a_plant_off_the_convention(plant, follow):
    server = plant()
    src = follow(server.url, nodes={server.nodeid("M1", "PowerKw"): ("press", "power_kw"),
                                    server.nodeid("M2", "GoodParts"): ["press", "parts"],
                                    "ns=2;s=NoSuchNode": ["press", "state"]})
    src.connected()
    t0 = server.t0
    server.write("M1", "PowerKw", 3.0, t0 + 1)
    server.write("M2", "GoodParts", 2, t0 + 2)
    server.write("M1", "State", "down", t0 + 3)  # not listed: not followed
    src.feed.wait(lambda f: len(f.values("press", "parts")) == 1, what="the parts")
    src.stop()
    assert {r.asset for r in src.feed.got} == {"press"}
    assert src.feed.values("press", "power_kw") == [(t0, 0.0), (t0 + 1, 3.0)]
    assert src.feed.values("press", "parts") == [(t0 + 2, 2.0)]
    assert src.feed.bad_kinds() == Counter({"node not monitored": 1})
    assert "ns=2;s=NoSuchNode" in src.feed.bads[0][1]


def test_bad_options_are_refused_with_a_message():
    with pytest.raises(LiveError, match="security 'Encrypt'"):
        open_source("opc.tcp://127.0.0.1:4840", security="Encrypt")
    with pytest.raises(LiveError, match="channel 'speed'"):
        open_source("opc.tcp://127.0.0.1:4840", nodes={"ns=2;s=X": ("M1", "speed")})
    with pytest.raises(LiveError, match="unknown option"):
        open_source("opc.tcp://127.0.0.1:4840", publish=1)
    with pytest.raises(LiveError, match="not an OPC UA address"):
        open_source("opc.tcp://:4840")
    with pytest.raises(LiveError, match="not an OPC UA address"):
        open_source("opc.tcp://plc:port")


def test_an_unknown_host_stops_the_source_with_a_message(follow):
    src = follow("opc.tcp://no-such-plc.invalid:4840")
    src.thread.join(30)
    assert isinstance(src.error, LiveError)
    assert "no host 'no-such-plc.invalid' is known" in str(src.error)
    assert src.feed.links[-1] == ("closed", "")


@pytest.mark.parametrize("history", [True, False])
def test_server_restart_reconnects_and_back_fills_from_history(plant, follow, history):
    server = plant(history=history)
    src = follow(server.url)
    src.connected()
    src.feed.wait(lambda f: len(f.got) >= 7, what="the initial values")
    t0 = server.t0
    server.write_many([("M1", "GoodParts", i, t0 + i) for i in range(1, 6)])
    src.feed.wait(lambda f: len(f.values("M1", "count")) == 6, what="the first values")
    server.stop()
    src.feed.wait(lambda f: any(s == "reconnecting" for s, _ in f.links), what="reconnecting")
    # while the server is down the plant goes on (and its historian records it)
    server.write_many([("M1", "GoodParts", i, t0 + i) for i in range(6, 16)])
    server.add_machine("M3")  # the plant's server comes back with a new machine
    server.start()
    src.connected(2)
    server.write_many([("M1", "GoodParts", i, t0 + i) for i in range(16, 21)])
    src.feed.wait(lambda f: (t0 + 20, 20.0) in f.values("M1", "count"), what="the last value")
    src.stop()
    got = src.feed.values("M1", "count")
    assert len({t for t, _ in got}) == len(got), "a value recorded twice"
    assert src.feed.values("M3", "state") == [(t0, "idle")]
    detail = [d for s, d in src.feed.links if s == "connected"][-1]
    if history:
        assert got == [(t0, 0.0)] + [(t0 + i, float(i)) for i in range(1, 21)]
        assert "back-filled" in detail
    else:
        # the gap stays a gap: of what changed while away only the value now arrives, and
        # the link states say so
        assert got == [(t0, 0.0)] + [(t0 + i, float(i)) for i in (*range(1, 6), *range(15, 21))]
        assert "not back-filled" in detail
    links = src.feed.links
    assert all(a != b for a, b in zip(links, links[1:], strict=False)), \
        "a link state reported again for the same cause"
    states = [s for s, _ in links]
    assert states.index("reconnecting") < len(states) - 1 - states[::-1].index("connected")


def test_a_server_that_never_answers_is_reported_and_stop_still_ends_the_source(follow):
    import socket

    with socket.socket() as mute:  # accepts connections (the kernel does) and never answers
        mute.bind(("127.0.0.1", 0))
        mute.listen(16)
        url = f"opc.tcp://127.0.0.1:{mute.getsockname()[1]}"
        src = follow(url, timeout=0.5)
        src.feed.wait(lambda f: any("no answer from" in d for _, d in f.links),
                      what="the missing answer reported")
        assert src.thread.is_alive() and src.error is None  # it keeps trying
        # a request that would wait for a minute is given up as soon as stop is set
        slow = follow(url, timeout=60.0)
        slow.feed.wait(lambda f: f.links, what="connecting")
        time.sleep(0.5)  # well inside its first request by now
        slow.stop()
        src.stop()
    assert slow.feed.links[-1] == ("closed", "")
    assert [s for s, _ in src.feed.links if s != "closed"] == \
        ["connecting"] * (len(src.feed.links) - 1)


def test_a_cut_link_is_noticed_and_the_gap_back_filled(plant, follow):
    from opcua_server import Proxy

    server = plant(history=True)
    proxy = Proxy(server.port)
    try:
        src = follow(proxy.url, timeout=1.0)
        src.connected()
        src.feed.wait(lambda f: len(f.got) >= 7, what="the initial values")
        t0 = server.t0
        server.write_many([("M1", "GoodParts", i, t0 + i) for i in range(1, 6)])
        src.feed.wait(lambda f: len(f.values("M1", "count")) == 6, what="the first values")
        proxy.cut()  # no FIN, no reset: only silence
        server.write_many([("M1", "GoodParts", i, t0 + i) for i in range(6, 16)])
        src.feed.wait(lambda f: any(s == "reconnecting" for s, _ in f.links), what="noticed")
        proxy.restore()
        src.connected(2)
        server.write_many([("M1", "GoodParts", i, t0 + i) for i in range(16, 21)])
        src.feed.wait(lambda f: (t0 + 20, 20.0) in f.values("M1", "count"), what="the last")
        src.stop()
    finally:
        proxy.close()
    assert src.feed.values("M1", "count") == [(t0, 0.0)] + [(t0 + i, float(i))
                                                             for i in range(1, 21)]
    assert "back-filled" in [d for s, d in src.feed.links if s == "connected"][-1]


def test_a_queue_overflow_flagged_by_a_server_is_counted():
    # asyncua's own server never sets the Overflow bit; other servers do (OPC 10000-4 7.39)
    from datetime import UTC, datetime

    from asyncua import ua

    from twin.live.opcua import OpcUaSource, _Node

    source = OpcUaSource("opc.tcp://127.0.0.1:4840", security="None")
    node = _Node("ns=2;i=7", "M1", "count")
    feed = CollectingFeed()
    stamp = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
    overflow = ua.DataValue(ua.Variant(5, ua.VariantType.Int64), SourceTimestamp=stamp,
                            StatusCode=ua.StatusCode(0x0480))
    reading = source._reading(node, overflow, feed)
    assert (reading.asset, reading.channel, reading.t, reading.value) == \
        ("M1", "count", stamp.timestamp(), 5.0)
    bad = ua.DataValue(ua.Variant(6, ua.VariantType.Int64), SourceTimestamp=stamp,
                       StatusCode=ua.StatusCode(ua.StatusCodes.BadSensorFailure))
    assert source._reading(node, bad, feed) is None
    assert feed.bad_kinds() == Counter({"values lost (queue overflow)": 1, "bad status": 1})
