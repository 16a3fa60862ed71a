"""Benchmark: sustained data changes per second from an OPC UA server into ``OpcUaSource``.

An asyncua server (``tests/live/opcua_server.py``, the default convention) runs in a process
of its own and writes counter values (``GoodParts``) of ``--assets`` machines round-robin, each
with its own source time stamp, as fast as it can (or at ``--rate`` changes/s) for
``--seconds``. In this process the source follows it with a feed that only counts what it is
handed; the figure is readings per second from the first to the last, whether every
written change arrived (none lost, none twice), and the client process's CPU time per change
(its inverse is the ceiling on one core when the server is the bottleneck, as a Python
asyncua server on this machine is).

The peer, run the same way against the same server, is a bare asyncua subscription (the same
monitored items, a handler that only counts data changes): the ceiling of what asyncua's
client delivers on this machine, so the ratio is what twinbench's conversion, checks and
batching cost.

Not part of the test suite; run it by hand::

    .venv/bin/python benchmarks/bench_live_opcua.py [--assets 100] [--seconds 10]
        [--rate 0] [--security None|Sign|SignAndEncrypt]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "live")]


def serve(conn, folder: str, assets, security: str) -> None:
    """The server process: start, say the URL, then write when told to. ``assets``: a
    count (machines ``M0``...) or the machines' names. Told ``("flood", kwargs)`` it runs
    :func:`_write_for` and answers (changes, seconds); told ``("write", key, value, t)`` it
    writes one value (source time stamp ``t``) and answers None; told None it stops."""
    from opcua_server import SERVER_URI, PlantServer, make_certificate

    names = [f"M{i}" for i in range(assets)] if isinstance(assets, int) else list(assets)
    cert = key = None
    if security != "None":
        cert, key = asyncio.run(make_certificate(Path(folder) / "server-pki", "plant",
                                                 SERVER_URI, server=True))
    server = PlantServer(Path(folder) / "server", machines=names, buffers=(),
                         certificate=cert, private_key=key)
    server.start()
    conn.send((server.url, str(cert) if cert else None))
    while True:
        msg = conn.recv()
        if msg is None:
            break
        if msg[0] == "write":
            _, k, value, t = msg
            asset, var = k.split(".")
            server.write(asset, var, value, t)
            conn.send(None)
            continue
        kw = msg[1]
        keys = kw.pop("keys", None) or [f"{n}.GoodParts" for n in names]
        conn.send(server.call(_write_for(server, keys, **kw), timeout=kw["seconds"] + 60))
    server.close()


def flood(conn, seconds: float, rate: float = 0.0, **kw) -> tuple[int, float]:
    """Have the server process of ``conn`` (:func:`serve`) write for ``seconds`` (or
    ``count`` changes, keyword ``count``); returns (changes, seconds) once it is done."""
    conn.send(("flood", dict(seconds=seconds, rate=rate, **kw)))
    return conn.recv()


#: The value of the ``c``-th change of a variable: counters count, power varies, the state
#: alternates (so every write is a change the monitored item reports).
VALUES = {"GoodParts": lambda c: c, "ScrapParts": lambda c: c, "PowerKw": lambda c: float(c % 97),
          "State": lambda c: ("busy", "idle")[c % 2]}


async def _write_for(server, keys, seconds: float, rate: float, count: int = 0,
                     t0: float | None = None, step_s: float = 1e-4) -> tuple[int, float]:
    """Write changes of ``keys`` (``"asset.Var"``) round-robin for ``seconds`` or until
    ``count`` changes (0: no count), the n-th stamped ``t0 + n * step_s`` (``t0`` None:
    now); returns (changes, seconds)."""
    node_ids = [server._id(k) for k in keys]
    types = [server._types[k] for k in keys]
    values = [VALUES[k.split(".")[1]] for k in keys]
    counts = [0] * len(keys)
    t0 = time.time() if t0 is None else t0
    start = time.perf_counter()
    n = 0
    while not count or n < count:
        now = time.perf_counter() - start
        if now >= seconds:
            break
        if rate and n >= rate * now:
            await asyncio.sleep(0.001)
            continue
        for _ in range(100 if not count else min(100, count - n)):  # writes between clocks
            i = n % len(keys)
            counts[i] += 1
            dv = server._dv(values[i](counts[i]), types[i], t0 + n * step_s)
            await server._server.write_attribute_value(node_ids[i], dv)
            n += 1
        await asyncio.sleep(0)  # let the server publish
    return n, time.perf_counter() - start


def start_server(folder: str, assets, security: str = "None"):
    """:func:`serve` in a process of its own; returns (process, pipe, url, certificate)."""
    parent, child = mp.get_context("spawn").Pipe()
    proc = mp.get_context("spawn").Process(target=serve, args=(child, folder, assets, security))
    proc.start()
    url, cert = parent.recv()
    return proc, parent, url, cert


class CountingFeed:
    def __init__(self):
        self.n = 0
        self.first = self.last = None
        self.keys = set()
        self.connected = threading.Event()
        self.bad_count = 0

    def readings(self, batch):
        now = time.perf_counter()
        for r in batch:
            if r.channel == "count" and r.value > 0:
                self.n += 1
                self.keys.add(r.key)
        if self.first is None:
            self.first = now
        self.last = now

    def bad(self, kind, example):
        self.bad_count += 1

    def link(self, state, detail=""):
        if state == "connected":
            self.connected.set()


def run_twinbench(url, conn, args, pki: Path):
    from twin.live.feed import open_source

    feed = CountingFeed()
    feed.first = None
    source = open_source(url, security=args.security, pki_dir=pki,
                         publishing_interval=args.interval, max_rate=args.max_rate)
    stop = threading.Event()
    thread = threading.Thread(target=source.run, args=(feed, stop), daemon=True)
    thread.start()
    if not feed.connected.wait(60):
        raise SystemExit("twinbench did not connect")
    time.sleep(0.5)  # the initial values
    feed.n, feed.first = 0, None
    cpu = time.process_time()
    written, took = flood(conn, args.seconds, args.rate)
    _drain(lambda: feed.n, written)
    cpu = time.process_time() - cpu
    stop.set()
    thread.join(30)
    return written, took, feed.n, len(feed.keys), feed.first, feed.last, cpu


def run_bare(url, conn, args, server_cert, pki: Path):
    """The peer: asyncua's client, a subscription whose handler only counts."""
    from asyncua import Client, ua
    from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256

    state = {"n": 0, "first": None, "last": None}
    result = {}

    class Handler:
        def datachange_notification(self, node, val, data):
            now = time.perf_counter()
            if val:
                state["n"] += 1
            if state["first"] is None:
                state["first"] = now
            state["last"] = now

    async def main():
        client = Client(url, timeout=10)
        client.application_uri = "urn:twinbench:live:client"
        if args.security != "None":
            await client.set_security(
                SecurityPolicyBasic256Sha256, str(pki / "own" / "twinbench-client.der"),
                str(pki / "own" / "twinbench-client.pem"), server_certificate=server_cert,
                mode=getattr(ua.MessageSecurityMode, args.security))
        async with client:
            sub = await client.create_subscription(args.interval * 1000, Handler())
            nodes = []
            for obj in await client.nodes.objects.get_children():
                name = (await obj.read_browse_name()).Name
                if name.startswith("M"):
                    nodes.append(await obj.get_child("2:GoodParts"))
            queue = max(100, int(args.max_rate * args.interval * 4))
            await sub.subscribe_data_change(nodes, queuesize=queue, sampling_interval=0)
            await asyncio.sleep(0.5)
            state.update(n=0, first=None)
            loop = asyncio.get_running_loop()
            cpu = time.process_time()
            written, took = await loop.run_in_executor(None, flood, conn, args.seconds,
                                                       args.rate)
            deadline = time.monotonic() + 30
            while state["n"] < written and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            result.update(written=written, took=took, cpu=time.process_time() - cpu)

    asyncio.run(main())
    return (result["written"], result["took"], state["n"], None, state["first"], state["last"],
            result["cpu"])


def _drain(count, written, idle=5.0):
    last, since = -1, time.monotonic()
    while count() < written and time.monotonic() - since < idle:
        time.sleep(0.05)
        if count() != last:
            last, since = count(), time.monotonic()


def report(name, written, took, got, unique, first, last, cpu):
    span = (last - first) if first is not None and last is not None else float("nan")
    rate = got / span if span and span > 0 else float("nan")
    lost = written - got
    dup = "" if unique is None else f", {got - unique} twice"
    per = cpu / got * 1e6 if got else float("nan")
    print(f"{name:<22} written {written:>7} in {took:4.1f} s ({written / took:6.0f}/s)  "
          f"received {got:>7} ({rate:6.0f}/s)  lost {lost}{dup}  client CPU {per:5.1f} us "
          f"per change (ceiling ~{1e6 / per:6.0f}/s on one core)")
    return per


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--assets", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rate", type=float, default=0.0, help="changes/s in all; 0: flat out")
    ap.add_argument("--interval", type=float, default=0.1, help="publishing interval, s")
    ap.add_argument("--max-rate", type=float, default=1000.0, help="changes/s of one node")
    ap.add_argument("--security", default="None", choices=["None", "Sign", "SignAndEncrypt"])
    ap.add_argument("--skip-peer", action="store_true")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        pki = Path(tmp) / "pki"
        proc, parent, url, cert = start_server(tmp, args.assets, args.security)
        if cert:
            (pki / "trusted").mkdir(parents=True)
            (pki / "trusted" / "plant.der").write_bytes(Path(cert).read_bytes())
        print(f"{args.assets} assets, publishing interval {args.interval} s, security "
              f"{args.security}, {'flat out' if not args.rate else f'{args.rate:g}/s'}")
        ours = report("twinbench OpcUaSource", *run_twinbench(url, parent, args, pki))
        if not args.skip_peer:
            server_cert = Path(cert).read_bytes() if cert else None
            peer = report("bare asyncua client", *run_bare(url, parent, args, server_cert, pki))
            print(f"client CPU per change, twinbench / bare asyncua: {ours / peer:.2f}")
        parent.send(None)
        proc.join(30)


if __name__ == "__main__":
    main()
