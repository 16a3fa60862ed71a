"""Ingest of the live recorder: readings per second into a SWMR recording, and the longest call.

The issue's target for live ingest is 20,000 MQTT messages/s (1,000 assets at 20 Hz). This
measures the recorder's share of it, without a network: ``LiveRecorder.readings`` fed
batches of ready-made readings (a state, a part or a power sample of 1,000 assets, each
keyed, so de-duplication does its work), with ``tick()`` after each batch as the command's
loop calls it, flushing every second.

Peer, in the same run: the same records appended with ``RecordingWriter`` directly (one
``append_records`` per asset and dataset per second of data, one flush per second), i.e.
the HDF5 writing alone without parsing, checks, de-duplication or buffering. The ratio says
what the recorder's bookkeeping costs on top of HDF5.

Also printed, feeding in real time (one plant second per wall second): the longest and the
99th-percentile ``readings`` call, i.e. how long a source's thread is held (the recorder's
writer thread appends and flushes; the source's thread only checks and buffers), and how
far behind the feed ends.

    .venv/bin/python benchmarks/bench_live_recorder.py       # 1,000 assets, 60 s of plant time
    .venv/bin/python benchmarks/bench_live_recorder.py --assets 100 --seconds 600
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kernels.types import STATE_NAMES  # noqa: E402
from twin.live.feed import Reading  # noqa: E402
from twin.live.recorder import LiveRecorder  # noqa: E402
from twin.recording import AssetInfo, RecordingWriter  # noqa: E402
from twin.recording.format import PARTS_DTYPE, POWER_DTYPE, STATES_DTYPE  # noqa: E402

T0 = 1_796_191_200.0
EPOCH = "2026-12-02T00:00:00+00:00"


def readings(assets: list[str], hz: int, second: int) -> list[Reading]:
    """One second of plant time: every asset sends ``hz`` readings."""
    out = []
    for k in range(hz):
        t = T0 + second + k / hz
        for j, a in enumerate(assets):
            n = (second * hz + k) * len(assets) + j
            c = n % 3
            if c == 0:
                out.append(Reading(a, "state", t, STATE_NAMES[n % 8], f"{n}"))
            elif c == 1:
                out.append(Reading(a, "parts", t, 1.0, f"{n}"))
            else:
                out.append(Reading(a, "power_kw", t, 4.5, f"{n}"))
    return out


def bench_recorder(folder: Path, assets: list[str], hz: int, seconds: int, batch: int):
    """Flat out: readings per second of wall time until everything is written and closed."""
    rec = LiveRecorder(folder / "live.h5", assets, epoch_utc=EPOCH)
    data = [readings(assets, hz, s) for s in range(seconds)]
    t0 = time.perf_counter()
    n = 0
    for chunk in data:
        for i in range(0, len(chunk), batch):
            rec.readings(chunk[i:i + batch])
            rec.tick()
        n += len(chunk)
    rec.close()
    return n / (time.perf_counter() - t0)


def bench_paced(folder: Path, assets: list[str], hz: int, seconds: int, batch: int):
    """In real time (one plant second per wall second, batches evenly spread): how long a
    source's thread is held in ``readings`` (longest and 99th percentile), and how far
    behind the schedule the feed ends."""
    rec = LiveRecorder(folder / "paced.h5", assets, epoch_utc=EPOCH)
    calls = []
    t0 = time.perf_counter()
    for s in range(seconds):
        chunk = readings(assets, hz, s)
        starts = range(0, len(chunk), batch)
        for k, i in enumerate(starts):
            due = t0 + s + k / len(starts)
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            t = time.perf_counter()
            rec.readings(chunk[i:i + batch])
            calls.append(time.perf_counter() - t)
    lag = time.perf_counter() - (t0 + seconds)
    rec.close()
    rest = calls[1:]  # the first call creates the file: every asset's groups and datasets
    return calls[0], max(rest), float(np.percentile(rest, 99)), lag


def bench_writer(folder: Path, assets: list[str], hz: int, seconds: int):
    """The peer: the same records, appended per asset and dataset once a second."""
    w = RecordingWriter.create(folder / "raw.h5", source="bench", epoch_utc=EPOCH,
                               assets=[AssetInfo(a) for a in assets], swmr=True,
                               chunk_rows=1024, chunk_cache_bytes=64 * 1024)
    base = T0 - 1_796_169_600.0
    busy = 0.0
    n = 0
    for s in range(seconds):
        data = readings(assets, hz, s)  # built outside the timing, as for the recorder
        t = time.perf_counter()
        by = {}
        for r in data:
            by.setdefault((r.asset, r.channel), []).append(r)
        for (a, ch), rs in by.items():
            times = np.array([r.t for r in rs]) - T0 + base
            if ch == "state":
                rec = np.empty(len(rs), STATES_DTYPE)
                rec["time"] = times
                rec["state"] = [STATE_NAMES.index(r.value) for r in rs]
                rec["raw_state"] = -1
                w.append_records(a, "states", rec)
            elif ch == "parts":
                rec = np.empty(len(rs), PARTS_DTYPE)
                rec["time"], rec["count"], rec["good"] = times, 1.0, 1
                w.append_records(a, "parts", rec)
            else:
                rec = np.empty(len(rs), POWER_DTYPE)
                rec["time"], rec["power_kw"] = times, 4.5
                w.append_records(a, "power", rec)
        w.flush()
        busy += time.perf_counter() - t
        n += len(data)
    w.close()
    return n / busy


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--assets", type=int, default=1000)
    p.add_argument("--hz", type=int, default=20, help="readings per asset per second")
    p.add_argument("--seconds", type=int, default=60, help="plant seconds of data")
    p.add_argument("--batch", type=int, default=1000, help="readings per batch")
    args = p.parse_args()
    assets = [f"M{i}" for i in range(args.assets)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rate = bench_recorder(folder, assets, args.hz, args.seconds, args.batch)
        peer = bench_writer(folder, assets, args.hz, args.seconds)
        first, longest, p99, lag = bench_paced(folder, assets, args.hz, args.seconds, args.batch)
    print(f"{args.assets} assets x {args.hz} Hz x {args.seconds} s = "
          f"{args.assets * args.hz * args.seconds:,} readings, batches of {args.batch}")
    print(f"LiveRecorder, flat out   {rate:12,.0f} readings/s (until written and closed)")
    print(f"RecordingWriter (peer)   {peer:12,.0f} records/s")
    print(f"ratio recorder / writer  {rate / peer:.2f}")
    print(f"in real time: the first readings() call (creates the file) {first * 1e3:.0f} ms; "
          f"then readings() held the source {longest * 1e3:.1f} ms at most, "
          f"{p99 * 1e3:.1f} ms at the 99th percentile; {max(lag, 0):.2f} s behind at the end")

if __name__ == "__main__":
    main()
