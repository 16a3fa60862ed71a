"""A live recording read while it grows, and a recorder killed with SIGKILL at random moments:
every file opens and holds at least everything flushed before the kill, record for record."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from twin.recording import Recording

sys.path.insert(0, str(Path(__file__).parent))
from recorder_child import expected  # noqa: E402

CHILD = Path(__file__).parent / "recorder_child.py"
FLUSHED = re.compile(r"^flushed (\d+)$")


class Child:
    """``recorder_child.py`` in a process of its own; a thread reads its ``flushed N`` lines."""

    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, str(CHILD), str(path)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.flushed = []  # N of every complete "flushed N" line
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            m = FLUSHED.match(line.rstrip("\n"))
            if m and line.endswith("\n"):  # a line cut short by the kill does not count
                self.flushed.append(int(m.group(1)))

    def wait_flushes(self, n: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.flushed) < n:
            if self.proc.poll() is not None:
                raise AssertionError(f"the recorder died: {self.proc.stderr.read()}")
            assert time.monotonic() < deadline, f"no {n} flushes within {timeout} s"
            time.sleep(0.01)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self._reader.join(10)
        self.proc.stdout.close()
        self.proc.stderr.close()

    def kill(self) -> int:
        """SIGKILL; returns the records the last complete ``flushed`` line reported."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.close()
        return self.flushed[-1] if self.flushed else 0


def check_prefix(rec: Recording, at_least: int) -> int:
    """Each dataset holds the first records of what was fed, exactly, and together at least
    the records of the first ``at_least`` readings; returns how many records it holds.

    Datasets are checked one by one: a SWMR reader refreshes each on its own, so one may
    already show a flush that another does not show yet."""
    parts = rec.asset("A").parts
    levels = rec.asset("B").level
    n = len(parts) + len(levels)
    want_parts, want_levels = expected(2 * n + 2)
    least_parts, least_levels = expected(at_least)
    assert len(parts) >= len(least_parts) and len(levels) >= len(least_levels)
    want = np.array(want_parts[:len(parts)]).reshape(-1, 3)
    assert np.allclose(parts["time"], want[:, 0], atol=1e-6)  # float sums of tenths
    assert parts["count"].tolist() == want[:, 1].tolist()
    assert parts["good"].tolist() == want[:, 2].astype(int).tolist()
    want = np.array(want_levels[:len(levels)]).reshape(-1, 2)
    assert np.allclose(levels["time"], want[:, 0], atol=1e-6)
    assert levels["level"].tolist() == want[:, 1].tolist()
    return n


@pytest.mark.timeout(60)
def test_a_growing_recording_reads_while_it_is_written(tmp_path):
    path = tmp_path / "live.h5"
    child = Child(path)
    try:
        child.wait_flushes(2)
        seen = []
        with Recording.open(path, swmr=True) as rec:
            assert rec.asset_ids == ("A", "B")
            for k in range(6):
                rec.refresh()
                seen.append(check_prefix(rec, 0))
                child.wait_flushes(4 + 2 * k)
        assert seen == sorted(seen) and seen[-1] > seen[0]  # it grew while read
        flushed = child.kill()
        with Recording.open(path) as rec:
            check_prefix(rec, flushed)
    finally:
        child.close()


@pytest.mark.timeout(120)
def test_killed_recorders_leave_readable_files_with_every_flushed_record(tmp_path):
    rng = random.Random(15)
    kept = []
    for k in range(20):
        path = tmp_path / f"kill{k}.h5"
        child = Child(path)
        try:
            child.wait_flushes(1)
            time.sleep(rng.uniform(0.0, 0.4))  # a random moment: mid-batch, mid-flush
            flushed = child.kill()
        finally:
            child.close()
        with Recording.open(path) as rec:
            kept.append((flushed, check_prefix(rec, flushed)))
    assert all(n >= f for f, n in kept)
    assert len({f for f, _ in kept}) > 5  # the kills landed at different moments
