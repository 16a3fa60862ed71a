"""A recorder fed steadily, to be killed: ``python recorder_child.py FILE.h5 [FLUSH_S]``.

Feeds :func:`steady` readings to a real ``LiveRecorder`` in batches, forever, and prints
``flushed N`` after each flush (N: records on disk), so that a test that kills it with
SIGKILL knows what the file must hold at least (``tests/live/test_recorder_kill.py``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from twin.live.feed import Reading  # noqa: E402
from twin.live.recorder import LiveRecorder  # noqa: E402
from twin.recording import AssetInfo  # noqa: E402

#: Plant time of reading 0: 2026-12-02T06:00:00Z.
T0 = 1_796_191_200.0
EPOCH = "2026-12-02T00:00:00+00:00"
ASSETS = [AssetInfo("A"), AssetInfo("B", level=True)]


def steady(i: int) -> Reading:
    """Reading ``i`` of the steady feed: even ones a part (or scrap) of A, odd ones a level
    of B; one record each, at plant time ``T0 + i / 10``."""
    t = T0 + i / 10
    if i % 2 == 0:
        return Reading("A", "scrap" if i % 6 == 0 else "parts", t, float(i % 5 + 1), f"m{i}")
    return Reading("B", "level", t, float(i), f"m{i}")


def expected(n: int) -> tuple[list[tuple], list[tuple]]:
    """The records of readings 0..n-1: A's parts ``(time, count, good)`` and B's levels
    ``(time, level)``, times in seconds since :data:`EPOCH`."""
    base = T0 - 1_796_169_600.0  # seconds from the epoch to T0
    parts, levels = [], []
    for i in range(n):
        r = steady(i)
        t = base + i / 10
        if r.asset == "A":
            parts.append((t, r.value, 0 if r.channel == "scrap" else 1))
        else:
            levels.append((t, r.value))
    return parts, levels


def main() -> None:
    path = sys.argv[1]
    flush_s = float(sys.argv[2]) if len(sys.argv) > 2 else 0.02
    rec = LiveRecorder(path, ASSETS, source="test feed", epoch_utc=EPOCH,
                       flush_interval_s=flush_s,
                       on_flush=lambda n: print(f"flushed {n}", flush=True))
    i = 0
    while True:
        rec.readings([steady(j) for j in range(i, i + 37)])
        i += 37
        rec.tick()
        time.sleep(0.002)


if __name__ == "__main__":
    main()
