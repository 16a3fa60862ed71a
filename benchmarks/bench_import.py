"""Benchmark: import a 10-million-row event-log CSV into a recording.

Generates the CSV in a temporary directory (fixed-width rows written with NumPy), imports it
with :func:`twin.recording.import_recording` in a fresh process, and prints rows per second
and the peak RSS growth of that process next to the file size. The peer, run in its own
process on the same file, is a naive reader built on the standard ``csv`` module (parse each
row into Python values, collect them per asset), the obvious pandas-free alternative.

Not part of the test suite; run it by hand::

    .venv/bin/python benchmarks/bench_import.py [--rows 10000000] [--peer-rows 2000000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
HEADER = b"ts,asset,state,parts,power\n"
MAPPING = {
    "shape": "event_log",
    "source": "synthetic benchmark data (benchmarks/bench_import.py)",
    "columns": {"time": "ts", "asset": "asset", "state": "state", "parts": "parts",
                "power": "power"},
    "time": {"format": "iso", "time_zone": "UTC"},
    "states": {"0": "idle", "1": "busy", "2": "setup", "3": "down"},
}


def _digits(out: np.ndarray, col: int, values: np.ndarray, width: int) -> None:
    for k in range(width):
        out[:, col + width - 1 - k] = 48 + (values // 10**k) % 10


def write_csv(path: Path, rows: int, seed: int = 1, block: int = 1_000_000) -> None:
    """Write ``rows`` event-log rows, e.g. ``2024-01-01T00:00:00.047Z,2,1,0,022.1``."""
    rng = np.random.default_rng(seed)
    t0 = np.datetime64("2024-01-01T00:00:00", "ms").astype(np.int64)
    now = 0
    with open(path, "wb") as fh:
        fh.write(HEADER)
        for lo in range(0, rows, block):
            n = min(block, rows - lo)
            ms = now + np.cumsum(rng.integers(1, 100, n))
            now = int(ms[-1])
            day, rest = np.divmod(t0 + ms, 86_400_000)
            udays, inv = np.unique(day, return_inverse=True)
            dates = np.array([str(np.datetime64(int(d), "D")).encode() for d in udays], "S10")
            out = np.empty((n, 37), np.uint8)
            out[:, 0:10] = dates.view(np.uint8).reshape(-1, 10)[inv]
            out[:, 10] = ord("T")
            hh, rest = np.divmod(rest, 3_600_000)
            mm, rest = np.divmod(rest, 60_000)
            ss, milli = np.divmod(rest, 1000)
            _digits(out, 11, hh, 2)
            out[:, 13] = ord(":")
            _digits(out, 14, mm, 2)
            out[:, 16] = ord(":")
            _digits(out, 17, ss, 2)
            out[:, 19] = ord(".")
            _digits(out, 20, milli, 3)
            out[:, 23] = ord("Z")
            for col, values in ((25, rng.integers(0, 10, n)), (27, rng.integers(0, 4, n)),
                                (29, rng.integers(0, 2, n))):
                out[:, col - 1] = ord(",")
                out[:, col] = 48 + values
            out[:, 30] = ord(",")
            _digits(out, 31, rng.integers(0, 5000, n) // 10, 3)
            out[:, 34] = ord(".")
            out[:, 35] = 48 + rng.integers(0, 10, n)
            out[:, 36] = ord("\n")
            fh.write(out.tobytes())


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def child_import(data: str, mapping: str, out: str) -> dict:
    """Import in this (fresh) process; return rows, seconds and RSS before/peak."""
    sys.path.insert(0, str(ROOT))
    import twin.recording.ingest  # noqa: F401 - libraries loaded before the baseline
    from twin.recording import import_recording

    base = _rss_mb()
    started = time.perf_counter()
    report = import_recording(data, mapping, out, overwrite=True)
    seconds = time.perf_counter() - started
    return {"rows": report.rows_read, "seconds": seconds, "rss_base_mb": base,
            "rss_peak_mb": _rss_mb(), "records": report.records}


def child_peer(data: str, limit: int) -> dict:
    """The peer: ``csv.reader`` + ``datetime.fromisoformat`` + per-asset Python arrays."""
    import csv
    from array import array
    from datetime import datetime

    base = _rss_mb()
    started = time.perf_counter()
    states = {"0": 1, "1": 2, "2": 3, "3": 6}
    per_asset: dict[str, tuple[array, array, array, array]] = {}
    n = 0
    with open(data, newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        for ts, asset, state, parts, power in reader:
            cols = per_asset.get(asset)
            if cols is None:
                cols = per_asset[asset] = (array("d"), array("b"), array("d"), array("d"))
            cols[0].append(datetime.fromisoformat(ts).timestamp())
            cols[1].append(states[state])
            cols[2].append(float(parts))
            cols[3].append(float(power))
            n += 1
            if n >= limit:
                break
    seconds = time.perf_counter() - started
    return {"rows": n, "seconds": seconds, "rss_base_mb": base, "rss_peak_mb": _rss_mb()}


def child_generate(path: str, rows: int) -> dict:
    """Write the CSV in its own process, so that the parent stays small (see :func:`main`)."""
    started = time.perf_counter()
    write_csv(Path(path), rows)
    return {"seconds": time.perf_counter() - started}


def _run_child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *args], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--peer-rows", type=int, default=2_000_000,
                        help="rows the (slow) peer reads from the same file")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "generate":
            result = child_generate(rest[0], int(rest[1]))
        elif kind == "import":
            result = child_import(*rest)
        else:
            result = child_peer(rest[0], int(rest[1]))
        print(json.dumps(result))
        return

    with tempfile.TemporaryDirectory(prefix="twinbench-bench-") as tmp:
        tmp = Path(tmp)
        data, mapping, out = tmp / "events.csv", tmp / "mapping.json", tmp / "events.h5"
        mapping.write_text(json.dumps(MAPPING))
        # On Linux a child's ru_maxrss starts at its parent's RSS at fork time: generate in a
        # child too, so that the parent stays small and the children's peaks are their own.
        gen = _run_child("generate", str(data), str(args.rows))
        size_mb = data.stat().st_size / 2**20
        print(f"generated {args.rows:,} rows, {size_mb:,.0f} MiB in {gen['seconds']:.1f} s")

        ours = _run_child("import", str(data), str(mapping), str(out))
        peer = _run_child("peer", str(data), str(min(args.peer_rows, args.rows)))
        ours_rate = ours["rows"] / ours["seconds"]
        peer_rate = peer["rows"] / peer["seconds"]
        growth = ours["rss_peak_mb"] - ours["rss_base_mb"]
        peer_growth = peer["rss_peak_mb"] - peer["rss_base_mb"]
        print(f"twinbench import: {ours['rows']:,} rows in {ours['seconds']:.2f} s = "
              f"{ours_rate / 1e6:.2f} M rows/s (target >= 1 M rows/s: "
              f"{'met' if ours_rate >= 1e6 else 'NOT met'})")
        print(f"  records {ours['records']}; recording {out.stat().st_size / 2**20:,.0f} MiB")
        print(f"  peak RSS growth {growth:,.0f} MiB (from {ours['rss_base_mb']:,.0f} MiB after "
              f"imports) for a {size_mb:,.0f} MiB file ({growth / size_mb:.2f} x file size)")
        print(f"peer (csv module): {peer['rows']:,} rows in {peer['seconds']:.2f} s = "
              f"{peer_rate / 1e6:.3f} M rows/s, peak RSS growth {peer_growth:,.0f} MiB")
        print(f"ratio: twinbench import is {ours_rate / peer_rate:.1f} x the csv-module peer")


if __name__ == "__main__":
    main()
