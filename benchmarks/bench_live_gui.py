"""Live mode with the workbench open: ingest rate, event-loop stalls, publish-to-colour latency.

A mosquitto broker on a free loopback port; the workbench (headless) follows it through the
Connect dialog's session into a recording, for a line of ``--stations`` stations. Then:

1. **Flood**: a publisher process sends ``--messages`` messages (state, parts, power_kw in
   turn over the stations) at QoS 1 as fast as the broker takes them. Printed: the messages
   per second the live state received (first to last), beside the publisher's own rate (the
   peer), and the longest gap between two ticks of a 5 ms timer on the GUI thread (target:
   under 50 ms).
2. **Latency**: ``--samples`` times, a publisher in this process sends a state of station
   ``s1`` (``down`` and ``busy`` in turn) stamped now; the time until the 3D view's tint of
   ``s1`` has that state's colour, read by a 1 ms timer on the GUI thread. Printed: median,
   p99 and max (target p99 under 250 ms).

``--trace`` samples the GUI thread's stack whenever that timer is 30 ms late and times every
3D render (``stall_sampler.StallSampler``), and prints, for each gap over 40 ms, where the GUI
thread was, what the other threads ran, and the renders and garbage collections inside it;
it costs the GUI thread next to nothing, unlike ``--why`` (``stall_calls.LongCalls``).
``--ledger`` times each call of a list (the Live dock, the 3D view, chart paints, the
recorder's writes: ``call_ledger.LIVE_CALLS``) in wall time and its thread's CPU, and prints
those inside each gap over 25 ms and, per call, the longest over the flood's first seconds.

``--opcua``: the same session follows an OPC UA server instead (``--security none``): the
asyncua server of ``bench_live_opcua.py`` (``tests/live/opcua_server.py``) in a process of its
own, with machines ``s1``..``sN``. The flood is ``--messages`` changes of ``State``,
``GoodParts`` and ``PowerKw`` of ``s2``..``sN`` written as fast as the server writes them
(its rate is the peer), stamped as the MQTT flood's; the latency samples are ``s1.State``
written by the server with the source time stamp of now. The workbench's count starts
after the subscription's initial values.

Run headless::

    QT_QPA_PLATFORM=offscreen VTK_DEFAULT_OPENGL_WINDOW=vtkOSOpenGLRenderWindow \\
        python benchmarks/bench_live_gui.py --messages 100000
    ... python benchmarks/bench_live_gui.py --opcua --messages 50000
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkOSOpenGLRenderWindow")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_live_mqtt import _broker, _free_port  # noqa: E402
from bench_live_opcua import flood as opcua_flood  # noqa: E402
from bench_live_opcua import start_server as opcua_server  # noqa: E402
from mqtt_flood import T0, publisher_rate, start_publishers  # noqa: E402

#: The OPC UA flood's variables, in turn (the MQTT flood's channels).
OPCUA_VARS = ("State", "GoodParts", "PowerKw")


def line(n: int):
    from twin.model import elements as m
    from twin.model.distributions import constant

    els = [m.Source("src", position=(0.0, 0.0, 0.0), arrival=constant(10.0))]
    for i in range(1, n + 1):
        els.append(m.Station(f"s{i}", position=(3.0 * i, 0.0, 0.0), process_time=constant(9.0)))
    els.append(m.Sink("out", position=(3.0 * (n + 1), 0.0, 0.0)))
    p = m.Project("bench-live", elements=els)
    ids = [e.id for e in els]
    for a, b in zip(ids, ids[1:], strict=False):
        p.connect(a, b)
    return p


def process_cpu(pid: int) -> float:
    """CPU seconds process ``pid`` has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu() -> dict[str, float]:
    """CPU seconds each thread of this process has used, by thread name (Linux /proc)."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = names.get(int(task.name)) or (task / "comm").read_text().strip()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def explain_gaps(ticks, gaps, first: float, over: float, what: str, explain) -> None:
    """Print ``explain(start, end)`` for each of the eight longest gaps over ``over`` s."""
    for i in sorted(range(len(gaps)), key=gaps.__getitem__, reverse=True)[:8]:
        if gaps[i] <= over:
            break
        print(f"gap {1000 * gaps[i]:.0f} ms at {ticks[i] - first:+.2f} s; {what}:")
        print(explain(ticks[i], ticks[i + 1]))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=100_000)
    p.add_argument("--stations", type=int, default=100)
    p.add_argument("--samples", type=int, default=40)
    p.add_argument("--publishers", type=int, default=1,
                   help="publisher processes sharing the messages (default 1)")
    p.add_argument("--protocol", choices=("5", "3.1.1"), default="5",
                   help="the MQTT version the workbench follows with (default 5)")
    p.add_argument("--rate", type=float, default=0.0,
                   help="messages/s the publishers (--opcua: the server) send together "
                        "(default 0: as fast as the broker takes them)")
    p.add_argument("--opcua", action="store_true",
                   help="follow an OPC UA server (its own process, security none) instead "
                        "of MQTT; --publishers and --protocol are MQTT's")
    p.add_argument("--why", action="store_true",
                   help="time every call on the GUI thread (stall_calls.LongCalls) and print "
                        "the long calls inside each gap over 50 ms (slows the GUI thread: the "
                        "rates of such a run are not figures)")
    p.add_argument("--trace", action="store_true",
                   help="sample the GUI thread's stack whenever its 5 ms timer is 30 ms late "
                        "(stall_sampler.StallSampler) and print the samples inside each gap "
                        "over 40 ms; light enough that the rates stay figures")
    p.add_argument("--ledger", action="store_true",
                   help="time each call of the Live dock, the 3D view, chart paints and the "
                        "recorder's writes (call_ledger.CallLedger), with its thread's CPU, "
                        "and print those inside each gap over 25 ms and per call over the "
                        "flood's first two seconds")
    a = p.parse_args(argv)

    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    _qapp = QApplication.instance() or QApplication(sys.argv)  # kept alive
    from app.live_session import open_session
    from app.main_window import MainWindow
    from app.theme import STATE_COLORS
    from twin.live.publish_mqtt import MqttPublisher

    def wait(cond, timeout: float) -> bool:
        """Run Qt's event loop until ``cond()`` (checked every millisecond) or ``timeout``."""
        if cond():
            return True
        deadline = time.monotonic() + timeout
        loop = QEventLoop()
        check = QTimer()
        check.setInterval(1)
        check.timeout.connect(lambda: (cond() or time.monotonic() > deadline) and loop.quit())
        check.start()
        loop.exec()
        check.stop()
        return cond()

    with tempfile.TemporaryDirectory() as tmp:
        server = conn = broker = None
        if a.opcua:
            server, conn, url, _ = opcua_server(tmp, [f"s{i}" for i in range(1, a.stations + 1)])
            kind = "OPC UA"
        else:
            port = _free_port()
            broker = _broker(Path(tmp), port)
            url, kind = f"mqtt://127.0.0.1:{port}/plant", "MQTT"
        win = None
        ledger = None
        if a.ledger:  # before the windows: their signals keep the methods they were given
            from call_ledger import CallLedger

            ledger = CallLedger()
            ledger.wrap_all()
        try:
            project = line(a.stations)
            win = MainWindow(project, None, warm_up=False)
            win.testing = True
            win.resize(1400, 900)
            win.show()
            from app.live_panel import start_live

            session = open_session(project, None, kind, url, record=Path(tmp) / "live.h5",
                                   security="none",
                                   protocol=None if a.opcua else a.protocol)
            long_calls = None
            if a.why:  # from here: the recorder's writer thread starts with the first reading
                from stall_calls import LongCalls

                long_calls = LongCalls(threads=("live-recorder-writer", "live-source"))
                long_calls.install()
            # the recording made for the flood's day (yesterday's in the hour after UTC
            # midnight: mqtt_flood.T0), as it is for a plant stamping now; else the first
            # reading makes the file anew, a stall a live plant does not cause
            session.recorder.prepare(now=T0)
            start_live(win, session)
            state = session.state
            assert wait(lambda: state.snapshot().link == "connected", 15), "not connected"

            wait(lambda: False, 2.0)  # the window's first paint is not the flood's stall

            # 1. flood
            ticks, tick_cpu = [], []
            tick = QTimer()
            tick.setInterval(5)
            tick.timeout.connect(lambda: (ticks.append(time.perf_counter()),
                                          tick_cpu.append(time.thread_time())))
            firsts = []
            cpu0, child0 = thread_cpu(), process_cpu(session.source.pid)
            server0 = process_cpu(server.pid) if a.opcua else 0.0
            base = state.messages  # OPC UA's initial values
            # s1 is left to the latency samples
            if a.opcua:
                keys = [f"s{i}.{v}" for v in OPCUA_VARS for i in range(2, a.stations + 1)]
                written = []  # (changes, seconds) once the server is done
                writer = threading.Thread(target=lambda: written.append(opcua_flood(
                    conn, 600.0, a.rate, count=a.messages, keys=keys, t0=T0, step_s=0.01)))
                writer.start()
                total = a.messages
            else:
                q = mp.get_context("spawn").Queue()
                pubs, share = start_publishers(port, a.messages, a.publishers, a.stations - 1,
                                               "plant", q, a.rate, first_asset=2)
                total = share * a.publishers
            sampler = None
            if a.trace:
                from stall_sampler import StallSampler

                sampler = StallSampler(ticks)
                sampler.watch_renders(win.view.render_window)
                sampler.install()
            tick.start()
            seen = []

            def watch():
                n = state.messages - base
                if n and not firsts:
                    firsts.append(time.perf_counter())
                seen.append((time.perf_counter(), n))
            watcher = QTimer()
            watcher.setInterval(20)
            watcher.timeout.connect(watch)
            watcher.start()
            def done() -> bool:
                """All taken in, or (OPC UA) the server done and nothing new for 5 s."""
                if seen and seen[-1][1] >= total:
                    return True
                return bool(a.opcua and written and len(seen) > 250
                            and seen[-250][1] == seen[-1][1])
            wait(done, 600)
            watcher.stop()
            tick.stop()
            if long_calls is not None:
                long_calls.remove()
            if sampler is not None:
                sampler.remove()
            if a.opcua:
                writer.join(60)
                pub_rate = written[0][0] / written[0][1]
                peer = "the server wrote"
            else:
                spans = [q.get(timeout=60) for _ in pubs]
                for pub in pubs:
                    pub.join(30)
                pub_rate = publisher_rate(spans)
                peer = f"{a.publishers} publisher(s) sent"
            got = seen[-1][1]
            last = next(t for t, n in seen if n >= got)
            rate = got / (last - firsts[0])
            cpu1, child1 = thread_cpu(), process_cpu(session.source.pid)
            server1 = process_cpu(server.pid) if a.opcua else 0.0
            gaps = [b - x for x, b in zip(ticks, ticks[1:], strict=False)]
            worst = max(range(len(gaps)), key=gaps.__getitem__)
            # the flood's start: the recording made, the first colours drawn (issue 15)
            start = max((g for x, g in zip(ticks, gaps, strict=False)
                         if -0.1 <= x - firsts[0] < 1.0), default=0.0)
            print(f"(longest gap {ticks[worst] - firsts[0]:+.2f} s after the first message; "
                  f"gaps over 50 ms: {sum(g > 0.05 for g in gaps)} of {len(gaps)}; longest "
                  f"in the first second after the first message {1000 * start:.0f} ms)")
            print(f"flood ({kind}): {got:,} of {total:,} messages for {a.stations} stations; "
                  f"the workbench took {rate:,.0f} msg/s, {peer} {pub_rate:,.0f} msg/s "
                  f"(ratio {rate / pub_rate:.2f}); longest event-loop gap "
                  f"{1000 * max(gaps):.0f} ms (target < 50 ms)")
            if long_calls is not None:
                explain_gaps(ticks, gaps, firsts[0], 0.05, "the GUI thread's calls of 10 ms or "
                             "more in it", long_calls.explain)
            if sampler is not None:
                explain_gaps(ticks, gaps, firsts[0], 0.04, "the GUI thread's stack while it "
                             "was late", sampler.explain)
                r = sorted(1000 * (e - s) for s, e, _ in sampler.renders)
                if r:
                    print(f"3D renders in the flood: {len(r)}, median {r[len(r) // 2]:.0f} ms, "
                          f"longest {r[-1]:.0f} ms")
            if ledger is not None:
                cpu_at = dict(zip(ticks, tick_cpu, strict=False))

                def timed(t0, t1):
                    gui = 1000 * (cpu_at[t1] - cpu_at[t0])
                    return f"    (GUI thread's CPU in the gap {gui:.1f} ms)\n" + \
                        ledger.explain(t0, t1)
                explain_gaps(ticks, gaps, firsts[0], 0.025, "the timed calls in it", timed)
                print("timed calls from 0.1 s before the first message to 2 s after it:")
                print(ledger.summary(firsts[0] - 0.1, firsts[0] + 2.0))
                print("timed calls over the whole flood:")
                print(ledger.summary(firsts[0] - 0.1, last))
            used = {k: cpu1[k] - cpu0.get(k, 0.0) for k in cpu1}
            wall = last - firsts[0]
            print(f"CPU of the workbench's threads over the flood ({wall:.1f} s), share of one "
                  "core: " + ", ".join(f"{k} {v / wall:.0%}" for k, v in
                                       sorted(used.items(), key=lambda kv: -kv[1]) if v > 0.01)
                  + f"; the source's own process {(child1 - child0) / wall:.0%}")
            # CPU per message does not depend on what else the machine runs (wall rates do)
            print(f"CPU per message: the workbench process {1e6 * sum(used.values()) / got:.0f}"
                  f" µs, the source's process {1e6 * (child1 - child0) / got:.0f} µs (a core "
                  f"takes {1e6 / max(1e6 * (child1 - child0) / got, 1e-9):,.0f} msg/s of the "
                  "source's process alone)")
            if a.opcua:  # is the server the bound? (a whole core: yes)
                used_s = server1 - server0
                print(f"the OPC UA server's process over the flood: {used_s / wall:.0%} of a "
                      f"core, {1e6 * used_s / got:.0f} µs per change")

            # 2. latency
            lat = []
            if not a.opcua:
                pubc = MqttPublisher(url, client_id="bench-lat")
                pubc.open(None, 0.0)
            adapter = win.view.adapters["s1"]
            for i in range(a.samples):
                name = "down" if i % 2 == 0 else "busy"
                t_send = time.perf_counter()
                if a.opcua:  # the server writes it; its answer is read after the colour
                    conn.send(("write", "s1.State", name, time.time()))
                else:
                    pubc.send([("s1", "state", time.time(), name)])
                if wait(lambda n=name: adapter.tint == STATE_COLORS[n], 5):
                    lat.append(1000 * (time.perf_counter() - t_send))
                if a.opcua:
                    conn.recv()
                wait(lambda: False, 0.05)
            if not a.opcua:
                pubc.close(wait=False)
            lat.sort()
            if lat:
                p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))]
                print(f"publish -> 3D colour: {len(lat)} samples, median "
                      f"{lat[len(lat) // 2]:.0f} ms, p99 {p99:.0f} ms, max {lat[-1]:.0f} ms "
                      "(target p99 < 250 ms)")
            win.live.shutdown()
        finally:
            if win is not None:
                win.close()
            if broker is not None:
                broker.terminate()
                broker.wait(10)
            if server is not None:
                conn.send(None)
                server.join(30)
    print("(2-core machine shared with other work: see `uptime`)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
