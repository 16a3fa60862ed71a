"""``twinbench live``: follow a running plant over MQTT or OPC UA and record it.

The source (``twin.live.feed.open_source``) runs on a thread of its own and hands its
readings to a ``twin.live.recorder.LiveRecorder``, which appends them to a SWMR recording
(flushed every second, readable while it grows). This thread prints a status line every few
seconds and stops on SIGINT or SIGTERM (exit 0, after a final flush), at the end of
``--duration`` (plant time: the readings' own time stamps), or when the source gives up;
then it prints the problems report. When the project has `alerts` rules they follow the
plant beside the recorder (``twin.shadow.tee.LiveAlerts``): each alert is printed (only
them with ``--alerts-only``), logged beside the recording and, with ``--publish-alerts``,
published to MQTT. With ``--forecast`` the project's twin forecasts the rest of the shift
every ``--every`` of plant time on a thread of its own (``twin.shadow.forecast.
LiveForecasts``): each forecast is printed, kept beside the recording and given to the
alert rules. No Qt here.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime

from app.cli.common import UsageError, user_files
from app.cli.forecast import add_live_options, forecast_line, live_forecasts
from twin.errors import printable
from twin.live.options import SECURITY  # ``--security``: as the OPC UA source names it
from twin.live.sequence import LOST

#: Plants with at most this many assets get each asset's state on the status line.
LIST_ASSETS = 12
#: Seconds between two status lines by default.
STATUS_EVERY_S = 5.0


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``live`` subcommand."""
    p = subparsers.add_parser(
        "live",
        help="follow a running plant (MQTT or OPC UA) and record it (.h5)",
        description="Follow a running plant and append everything it sends to a recording "
                    "(SWMR: `twinbench replay FILE` and the workbench read it while it "
                    "grows). Prints a status line every few seconds; Ctrl-C or SIGTERM "
                    "stops it after a final flush (exit 0). Ends with the problems report.",
    )
    p.add_argument("project", help="project folder or project.json: its stations, buffers, "
                                    "conveyors and queues are the assets recorded")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--mqtt", metavar="URL", help="MQTT broker and topic prefix: "
                                                    "mqtt://HOST:PORT/PREFIX (mqtts:// for TLS)")
    src.add_argument("--opcua", metavar="URL", help="OPC UA server: opc.tcp://HOST:PORT")
    src.add_argument("--source", metavar="URL", help="any installed live source, by URL")
    p.add_argument("--record", required=True, metavar="FILE.h5", help="recording to create")
    p.add_argument("--mapping", help="mapping file (JSON): extra assets, state codes and the "
                                     "source's `live` section")
    p.add_argument("--duration", metavar="D", help="stop after this much plant time (the "
                   "readings' time stamps, not the wall clock): 8h, 30m, 90s, 1h30m or seconds")
    p.add_argument("--epoch", metavar="ISO", help="time zero of the recording (ISO 8601 with "
                   "offset); default: UTC midnight of the first reading's day")
    p.add_argument("--time-zone", default="UTC", help="the plant's IANA time zone (days and "
                                                      "shifts are cut in it; default UTC)")
    p.add_argument("--status-every", type=float, default=STATUS_EVERY_S, metavar="S",
                   help=f"seconds between status lines (default {STATUS_EVERY_S:g})")
    p.add_argument("--force", action="store_true", help="overwrite an existing --record file")
    a = p.add_argument_group("alerts (the project's `alerts` rules; docs/shadow.md)")
    a.add_argument("--alerts-only", action="store_true", help="print only the alerts, one "
                   "line each (no status lines; the closing report goes to stderr)")
    a.add_argument("--json", action="store_true", help="with --alerts-only: each alert as "
                   "one line of JSON")
    a.add_argument("--publish-alerts", nargs="?", const="", metavar="URL",
                   help="publish each alert as JSON to <prefix>/alerts of an MQTT broker: "
                        "mqtt://HOST:PORT/PREFIX (default: the --mqtt broker and prefix)")
    add_live_options(p)
    o = p.add_argument_group("OPC UA security (docs/live-opcua.md)")
    o.add_argument("--security", choices=tuple(SECURITY), default="sign-encrypt",
                   help="Basic256Sha256 with sign-encrypt (default) or sign; none only for a "
                        "server that offers no security (such as `twinbench emulate` without "
                        "--security)")
    o.add_argument("--certificate", metavar="FILE", help="twinbench's client certificate "
                   "(default: one made on first use in the user's data folder)")
    o.add_argument("--private-key", metavar="FILE", help="its private key (PEM)")
    o.add_argument("--trust-dir", metavar="DIR", help="folder of trusted server certificates "
                   "(default: trusted/ beside twinbench's own certificate)")
    p.set_defaults(func=run_live)


def parse_duration(text: str) -> float:
    """``8h``, ``30m``, ``90s``, ``1h30m``, ``2d`` or a number of seconds, as seconds."""
    from twin.units import parse_duration as duration

    try:
        value = duration(text)
    except ValueError as e:
        raise UsageError(f"--duration {text!r}: {e}") from None
    if not 0 < value < float("inf"):
        raise UsageError(f"--duration {text!r} must be a positive time, e.g. 8h")
    return value


def _source_options(args, mapping: dict | None, project_name: str) -> dict:
    """What the source of ``args`` is given (``twin.live.options.source_options``)."""
    from twin.live.options import source_options

    kind = "mqtt" if args.mqtt is not None else "opcua" if args.opcua is not None else "other"
    return source_options(kind, args.mapping, mapping, project_name, args.security,
                          args.certificate, args.private_key, args.trust_dir)


def _source_url(args) -> str:
    """The address of ``--mqtt``, ``--opcua`` (checked) or ``--source``."""
    from twin.live.feed import check_address

    for flag, url, kind in (("--mqtt", args.mqtt, "mqtt"), ("--opcua", args.opcua, "opcua")):
        if url is not None:
            return check_address(url, kind, flag, UsageError).url
    return args.source


def _epoch(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--epoch {text!r} is not ISO 8601; give e.g. "
                         "2026-12-02T00:00:00+00:00") from None
    if value.tzinfo is None:
        raise UsageError(f"--epoch {text!r} has no UTC offset; give e.g. "
                         "2026-12-02T00:00:00+00:00 or ...Z")
    return value


def status_line(recorder, rate: float) -> str:
    """One line: link, messages per second, plant time, each asset's state (up to
    :data:`LIST_ASSETS` assets; how many assets are in each state beyond), problems."""
    last = recorder.states()
    if len(last) <= LIST_ASSETS:
        summary = " ".join(f"{printable(a)}={s or '-'}" for a, s in last.items())
    else:
        states = Counter(s or "no data" for s in last.values())
        summary = ", ".join(f"{n} {s}" for s, n in states.most_common())
    rep = recorder.report
    link = recorder.link_state + (f" ({recorder.link_detail})" if recorder.link_detail and
                                  recorder.link_state != "connected" else "")
    plant = "-" if rep.last is None else datetime.fromtimestamp(rep.last, UTC).strftime(
        "%Y-%m-%d %H:%M:%SZ")
    lost = rep.problems.get(LOST)
    # holes in the publishers' numbering: each a span of no data in the recording
    n = recorder.holes
    holes = (f" | lost {lost.count:,} messages in {n:,} hole{'s' if n != 1 else ''}"
             if lost is not None and lost.count else "")
    return (f"[{time.strftime('%H:%M:%S')}] {link} | {rate:,.0f} msg/s | plant {plant} | "
            f"stored {sum(rep.stored.values()):,} | assets: {summary}{holes} | "
            f"problems {rep.problem_count:,}")


def _alerts(args, project):
    """The project's alert rules beside the recorder (``twin.shadow.tee.LiveAlerts``):
    printed, logged beside the recording, optionally published; None without rules."""
    from twin.shadow.tee import LiveAlerts

    if args.json and not args.alerts_only:
        raise UsageError("--json prints the alerts as JSON lines: give it with --alerts-only")
    if not (project.alerts and project.alerts.rules):
        if args.alerts_only or args.publish_alerts is not None:
            raise UsageError(f"project {project.name!r} has no alert rules: add an `alerts` "
                             "section to its project.json (docs/project-format.md)")
        return None
    publish = None
    if args.publish_alerts is not None:
        publish = args.publish_alerts or args.mqtt
        if not publish:
            raise UsageError("--publish-alerts needs a broker: give --publish-alerts "
                             "mqtt://HOST:PORT/PREFIX, or follow the plant with --mqtt")

    def show(alert) -> None:
        print(json.dumps(alert.to_dict()) if args.json
              else printable(alert.line(args.time_zone)), flush=True)

    return LiveAlerts(project, args.record, time_zone=args.time_zone, publish=publish,
                      overwrite=args.force, listeners=[show])


def _forecasts(forecasts, alerts, args) -> None:
    """Print the forecasts made since the last look (not with ``--alerts-only``) and give
    them to the alert rules (shift target, forecast peak power); a forecast that could not
    be made is reported on stderr and the session goes on."""
    for item in forecasts.take():
        if isinstance(item, str):
            print(f"twinbench live: no forecast at {printable(item)}", file=sys.stderr,
                  flush=True)
            continue
        f, epoch_s = item
        if not args.alerts_only:
            print(forecast_line(f, epoch_s, args.time_zone), flush=True)
        if alerts is not None:
            alerts.engine.epoch_s = epoch_s
            alerts.engine.forecast(f)


def run_live(args) -> int:
    """Handler of ``twinbench live``."""
    from twin import jsonfile
    from twin.live.feed import open_source
    from twin.live.recorder import LiveRecorder, mapping_assets, project_assets
    from twin.projectfile.reader import load_project
    from twin.recording import RecordingError

    url = _source_url(args)
    # asyncua logs every dropped connection as an error with its traceback; the link state
    # on the status line says what happened
    logging.getLogger("asyncua").setLevel(logging.CRITICAL)
    duration = None if args.duration is None else parse_duration(args.duration)
    epoch = _epoch(args.epoch)
    if not args.status_every > 0:
        raise UsageError(f"--status-every {args.status_every:g} must be a positive number of "
                         "seconds")
    with user_files(args.project, args.record, args.mapping):
        project = load_project(args.project)
        mapping = None
        if args.mapping is not None:
            mapping = jsonfile.read(args.mapping)
            if not isinstance(mapping, dict):
                raise UsageError(f"--mapping {args.mapping}: a mapping file is a JSON object, "
                                 f"not {type(mapping).__name__}")
        assets = project_assets(project)
        assets += mapping_assets(mapping, assets)
        source = open_source(url, **_source_options(args, mapping, project.name))
        recorder = LiveRecorder(args.record, assets, source=url, time_zone=args.time_zone,
                                epoch_utc=epoch, overwrite=args.force, mapping=mapping)
        alerts = forecasts = None
        try:  # the recording's file is made by the first reading: none yet
            alerts = _alerts(args, project)
            forecasts = live_forecasts(args, project, recorder)
        except BaseException:
            if alerts is not None:
                alerts.close()
            recorder.close()
            raise
    feed = recorder if alerts is None else alerts.tee(recorder)

    stop = threading.Event()
    failed: list[BaseException] = []

    def follow() -> None:
        try:
            source.run(feed, stop)
        except BaseException as exc:  # raised again on this thread, after the final flush
            failed.append(exc)
        finally:
            stop.set()

    def on_signal(signum, _frame) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    out = sys.stderr if args.alerts_only else sys.stdout
    print(f"twinbench live: following {printable(url)} into {printable(args.record)} "
          f"({len(assets)} assets); Ctrl-C stops", file=out, flush=True)
    thread = threading.Thread(target=follow, name="live-source", daemon=True)
    try:
        thread.start()
        last_status, last_count = time.monotonic(), 0
        while not stop.wait(0.2):
            recorder.tick()
            if alerts is not None:
                alerts.drain()
            if forecasts is not None:
                _forecasts(forecasts, alerts, args)
            if duration is not None and recorder.span_s >= duration:
                print(f"twinbench live: {args.duration} of plant time recorded", file=out,
                      flush=True)
                break
            now = time.monotonic()
            if now - last_status >= args.status_every and not args.alerts_only:
                received = recorder.report.received
                print(status_line(recorder, (received - last_count) / (now - last_status)),
                      flush=True)
                last_status, last_count = now, received
    except OSError as exc:  # writing the recording failed (disk full, file gone)
        raise RecordingError(f"{args.record}: writing failed ({exc}); everything up to the "
                             "last flush is in the file; check the disk and start again "
                             "with another --record") from exc
    finally:
        stop.set()
        thread.join(30.0)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if forecasts is not None:  # a forecast under way is cancelled
            forecasts.close()
        try:
            recorder.close()
        finally:  # the report, however it ended
            if alerts is not None:
                alerts.close()
            print(recorder.report.format(), file=out, flush=True)
            if forecasts is not None:
                print(f"{forecasts.made} forecasts kept in {printable(forecasts.roll.log.path)}",
                      file=out, flush=True)
            if thread.is_alive():
                print("twinbench live: the source did not stop within 30 s", file=sys.stderr)
    if failed:
        raise failed[0]
    return 0
