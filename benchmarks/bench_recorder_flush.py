"""How long the live recording's flush holds the interpreter lock: the whole file at once, or a
dataset at a time (``RecordingWriter.flush(each=True)``, what the live recorder does).

h5py keeps the interpreter lock through every HDF5 call, so the longest single call of a
flush is how long the workbench's GUI thread can wait for it (issue 15). The file is a live
recording of a ``--stations`` line (three datasets a station: states, parts, power); each
round appends ``--rows`` records to every dataset, then flushes. Printed per way: the longest
single HDF5 call of each round's flush and the flush's total, in CPU milliseconds of the
flushing thread (``time.thread_time``: what the call itself costs, whatever else the machine
runs; on a loaded machine the lock is held longer, as the thread is preempted holding it).

    python benchmarks/bench_recorder_flush.py --stations 100 --rounds 8
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def measure(stations: int, rounds: int, rows: int, each: bool) -> list[tuple[float, float]]:
    """(longest call, total) of each round's flush, CPU ms."""
    from bench_live_gui import line

    from twin.live.recorder import project_assets
    from twin.recording import RecordingWriter
    from twin.recording.format import PARTS_DTYPE, POWER_DTYPE, STATES_DTYPE

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        w = RecordingWriter.create(
            Path(tmp) / "live.h5", shape="event_log", source="bench", time_zone="UTC",
            epoch_utc=datetime(2026, 1, 1, tzinfo=UTC),
            assets=project_assets(line(stations)), swmr=True, chunk_rows=1024,
            chunk_cache_bytes=64 * 1024)  # as twin.live.recorder.LiveRecorder makes it
        kinds = (("states", STATES_DTYPE), ("parts", PARTS_DTYPE), ("power", POWER_DTYPE))
        for _ in range(rounds):
            for i in range(1, stations + 1):
                for kind, dtype in kinds:
                    w.append_records(f"s{i}", kind, np.zeros(rows, dtype))
            calls = []
            if each:  # what flush(each=True) does, each call timed
                for ds in w._datasets.values():
                    c = time.thread_time()
                    ds.id.flush()
                    calls.append(time.thread_time() - c)
            c = time.thread_time()
            w.flush()
            calls.append(time.thread_time() - c)
            out.append((1000 * max(calls), 1000 * sum(calls)))
        w.close()
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--stations", type=int, default=100)
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--rows", type=int, default=70,
                   help="records appended to each dataset a round (default 70: 20,000 "
                        "readings/s over 300 datasets, a flush a second)")
    a = p.parse_args(argv)
    for each, what in ((False, "the file at once"), (True, "a dataset at a time")):
        r = measure(a.stations, a.rounds, a.rows, each)
        print(f"{what:>20}: longest HDF5 call per flush "
              + " ".join(f"{x:.1f}" for x, _ in r)
              + " ms CPU; the flush's total " + " ".join(f"{t:.1f}" for _, t in r) + " ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
