"""``twinbench emulate``: the twin as a virtual plant, publishing to MQTT and serving OPC UA.

Runs one replication of a scenario (``twin.live.emulator``) and plays it in scaled real time
to an MQTT broker (``--mqtt``) and/or an OPC UA server it starts (``--opcua``); a status line
every few seconds; exits 0 at the end of the duration and on Ctrl-C or SIGTERM (after
delivering what is in flight). See ``docs/emulator.md``.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
import threading
import time

from app.cli.common import format_table, horizon_arg, seed_arg

#: Seconds between two status lines.
STATUS_EVERY = 3.0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``emulate`` to the main parser's subparsers."""
    e = sub.add_parser(
        "emulate", help="run the twin as a virtual plant in scaled real time, publishing to "
        "MQTT and serving OPC UA",
        description="Run one replication of the project (or a scenario) and send every state "
                    "change, part, scrap, power and level change as a real line would, time "
                    "stamped in plant time. Follow it with 'twinbench live'. See "
                    "docs/emulator.md.")
    e.add_argument("project", help="project folder (holding project.json) or a .json file")
    e.add_argument("--scenario", metavar="NAME", help="scenario to emulate (default: base)")
    e.add_argument("--speed", type=_speed, default=60.0,
                   help="plant seconds per wall second (default 60: an hour a minute); 0 or "
                        "'max': as fast as possible")
    e.add_argument("--mqtt", metavar="mqtt://HOST:PORT/PREFIX",
                   help="publish to this broker, topics PREFIX/<asset>/<channel>, QoS 1")
    e.add_argument("--opcua", metavar="opc.tcp://HOST:PORT",
                   help="serve the plant on an OPC UA server started on this endpoint")
    e.add_argument("--duration", type=horizon_arg,
                   help="plant time to emulate: 8h, 30min, 3600 (default: the project's horizon)")
    e.add_argument("--seed", type=seed_arg, help="random seed (default: the project's)")
    e.add_argument("--start", type=_start, metavar="ISO",
                   help="plant time 0 as ISO 8601 (default: the last UTC midnight at least the "
                        "duration ago, so that time stamps never lie in the future)")
    e.add_argument("--security", default="none", choices=("none", "sign", "sign-encrypt"),
                   help="OPC UA security: none, or Basic256Sha256 Sign / SignAndEncrypt")
    e.add_argument("--certificate", metavar="FILE", help="OPC UA server certificate (DER/PEM); "
                   "default: made on first use in --pki")
    e.add_argument("--private-key", metavar="FILE", help="its private key (PEM)")
    e.add_argument("--pki", metavar="DIR", help="folder for the certificate made on first use "
                   "(default: ~/.local/share/twinbench/emulator-pki)")
    e.add_argument("--trusted", metavar="DIR",
                   help="folder of trusted client certificates; others are refused")
    e.add_argument("--status-every", type=_interval, default=STATUS_EVERY, metavar="SECONDS",
                   help=f"seconds between two status lines (default {STATUS_EVERY:g})")
    e.add_argument("--quiet", action="store_true", help="no status lines")
    e.set_defaults(func=cmd_emulate)


# --- option values -------------------------------------------------------------------------
def _speed(text: str) -> float:
    if text.strip().lower() == "max":
        return 0.0
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not math.isfinite(v) or v < 0:
        raise argparse.ArgumentTypeError(
            f"expected plant seconds per wall second > 0 (60: an hour a minute), or 0 or "
            f"'max' for as fast as possible; got {text!r}")
    return v


def _interval(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not 0.05 <= v <= 3600:
        raise argparse.ArgumentTypeError(f"expected seconds from 0.05 to 3600, got {text!r}")
    return v


def _start(text: str) -> float:
    from twin.live.feed import plant_time

    try:
        return plant_time(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"{e}; e.g. 2026-12-02T06:00:00Z") from None


# --- the command ---------------------------------------------------------------------------
class _Stopped(Exception):
    """SIGINT or SIGTERM before the play began."""


def cmd_emulate(args: argparse.Namespace) -> int:
    """Handle ``twinbench emulate``; return the exit code."""
    from twin.live.emulator import EmulatorError, Status, default_epoch, plan_run, play
    from twin.projectfile.reader import load_project

    if not args.mqtt and not args.opcua:
        raise EmulatorError("give --mqtt mqtt://HOST:PORT/PREFIX and/or --opcua "
                            "opc.tcp://HOST:PORT: where the virtual plant sends its data")
    publishers = []
    if args.mqtt:
        from twin.live.publish_mqtt import MqttPublisher

        publishers.append(MqttPublisher(args.mqtt))
    if args.opcua:
        import logging

        from twin.live.publish_opcua import OpcUaPublisher

        # asyncua warns about a server without signing (--security none) at start-up
        logging.getLogger("asyncua").setLevel(logging.ERROR)

        publishers.append(OpcUaPublisher(args.opcua, args.security, pki=args.pki,
                                         certificate=args.certificate,
                                         private_key=args.private_key, trusted=args.trusted))
    stop = threading.Event()
    playing = threading.Event()

    def on_signal(signum, _frame):
        stop.set()
        if not playing.is_set():
            raise _Stopped()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    opened = []
    try:
        project = load_project(args.project)
        _tell("twinbench emulate: running the twin...")
        plan = plan_run(project, args.scenario, args.duration, args.seed)
        epoch = args.start if args.start is not None else default_epoch(plan.horizon)
        if args.duration is None and plan.horizon < project.run.horizon:
            from twin.units import format_duration

            _tell(f"twinbench emulate: emulating {format_duration(plan.horizon)} of the "
                  f"project's horizon of {format_duration(project.run.horizon)}: the most whose "
                  "events the emulator holds in memory (give --duration to choose)")
        for pub in publishers:
            pub.open(plan, epoch)
            opened.append(pub)
        playing.set()  # from here a signal ends the play (and the summary is printed)
        where = ", ".join(p.url for p in publishers)
        speed = "max" if args.speed == 0 else f"{args.speed:g}x"
        _tell(f"twinbench emulate: {len(plan):,} events of {len(plan.assets)} assets over "
              f"{_clock(plan.horizon)} of plant time, at speed {speed}, to {where}")
        status = Status()
        done = threading.Event()
        printer = None
        if not args.quiet:
            printer = threading.Thread(
                target=_status_lines,
                args=(status, plan, epoch, done, args.status_every, publishers),
                daemon=True)
            printer.start()
        t0 = time.monotonic()
        truth = play(plan, publishers, speed=args.speed, epoch=epoch, stop=stop, status=status)
        took = time.monotonic() - t0
        done.set()
        if printer is not None:
            printer.join(5)
    except _Stopped:
        _tell("twinbench emulate: stopped before the play began")
        return 0
    finally:
        for pub in reversed(opened):
            pub.close()
        for s, h in old.items():
            signal.signal(s, h)
    _summary(truth, status, took, publishers)
    return 0


def _tell(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _status_lines(status, plan, epoch: float, done: threading.Event, every: float,
                  publishers=()) -> None:
    from datetime import UTC, datetime

    last_t, last_n = time.monotonic(), 0
    while not done.wait(every):
        now, n = time.monotonic(), status.sent
        rate = (n - last_n) / max(now - last_t, 1e-9)
        last_t, last_n = now, n
        stamp = datetime.fromtimestamp(epoch + status.plant_t, UTC).strftime("%Y-%m-%d %H:%M:%S")
        away = ""
        for pub in publishers:  # "sent" through an outage read as delivered
            since = pub.away_since
            if since is not None:
                gone = datetime.fromtimestamp(since, UTC).strftime("%H:%M:%S")
                away += f"  {pub.name} BROKER AWAY since {gone} UTC (queued, not delivered)"
        _tell(f"plant {stamp} UTC ({_clock(status.plant_t)} of {_clock(plan.horizon)})  "
              f"sent {n:,}  {rate:,.0f}/s{away}")


def _summary(truth, status, took: float, publishers=()) -> None:
    from twin.errors import printable

    how = "the end" if status.done else "stopped"
    print(f"\nsent {status.sent:,} messages in {took:.1f} s ({status.sent / max(took, 1e-9):,.0f}"
          f"/s); plant time {_clock(status.plant_t)} ({how})")
    rows = [(printable(a), f"{d['parts']:,}", f"{d['scrap']:,}", f"{d['energy_kwh']:.3f}")
            for a, d in truth.per_asset().items()]
    print(format_table(("asset", "parts", "scrap", "energy kWh"), rows, left=1))
    said = [line for pub in publishers for line in pub.report()]
    if said:  # the broker away: "sent" is not "delivered"
        print("not delivered:\n" + "\n".join(f"  {line}" for line in said))
