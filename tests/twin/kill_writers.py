"""Kill twinbench's whole-file writers with SIGKILL at random moments; print what was left.

Run by ``tests/twin/test_safe_files.py`` (about 25 kills per writer) and by hand for longer
runs::

    python tests/twin/kill_writers.py FOLDER --kills 200 --writers run import save

For each writer (``twinbench run --out``, ``twinbench import``, ``save_project``) this
process writes the target once (so that an old, complete file exists and the code is
warm), then, ``--kills`` times, forks a child that writes the target again and again and
kills it with SIGKILL after a random delay of up to twice one write's duration. After each
kill the target must still be a complete file, the old one or a new one. After the last
kill one more write must leave no temporary file behind in the folder. Forking (rather
than starting ``python -m app.cli`` each time) skips the second of start-up per kill; the
child runs the very code ``twinbench`` runs (``app.cli.main``).

Prints one JSON document: per writer the kills, the broken files found (should be none),
how many kills left a file behind (a temporary one: the kill landed inside a write), the
most such files seen at once, and those left after the next write (should be none).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import random
import signal
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path[:0] = [str(HERE.parents[2]), str(HERE.parents[1])]  # the worktree; tests/ (oracles)

import h5py  # noqa: E402

from app.cli import main as twinbench  # noqa: E402

# long enough that writing the file (state logs, gzip) takes most of a run
LINE_RUN = ["--horizon", "8h", "--replications", "4", "--seed", "3", "--state-log",
            "--quiet"]


def _line_project(folder: Path) -> Path:
    from oracles.lines import exp, operating_failures, serial_line, station

    from twin.projectfile.reader import project_from_json, save_project

    doc = serial_line([station(f"m{i}", exp(20.0 + i),
                               failures=operating_failures(exp(3600.0), exp(300.0)))
                       for i in range(6)], [3] * 5, name="kill line")
    return save_project(project_from_json(doc), folder / "plant").parent


class RunWriter:
    """``twinbench run PROJECT --out results.h5 --state-log``."""

    def __init__(self, folder: Path) -> None:
        self.project = _line_project(folder)
        self.target = folder / "results.h5"
        self.known = {"plant", "results.h5"}

    def write(self, _i: int) -> None:
        if twinbench(["run", str(self.project), "--out", str(self.target), "--force",
                      *LINE_RUN]):
            raise RuntimeError("twinbench run failed")

    def broken(self) -> str | None:
        with h5py.File(self.target, "r") as f:
            if f.attrs.get("format") != "twinbench-results":
                return "no format attribute"
            for name, g in f["scenarios"].items():
                if "summary_json" not in g.attrs:  # written last
                    return f"scenario {name} has no summary"
                json.loads(g.attrs["summary_json"])
        return None


class ImportWriter:
    """``twinbench import data.csv --mapping mapping.json --out recording.h5 --force``."""

    def __init__(self, folder: Path) -> None:
        self.data = folder / "data.csv"
        self.mapping = folder / "mapping.json"
        self.target = folder / "recording.h5"
        self.known = {"data.csv", "mapping.json", "recording.h5"}
        rng = random.Random(1)
        rows = ["ts,asset,status,items,power_avg"]
        for k in range(6000):  # 5-minute buckets of three assets, about 3 weeks
            stamp = f"2022-09-{1 + k // 288:02d} {k % 288 // 12:02d}:{k % 12 * 5:02d}:00+00:00"
            rows += [f"{stamp},{a},{rng.choice('0123')},{rng.randint(0, 9)},"
                     f"{rng.uniform(0, 5):.3f}" for a in "ABC"]
        self.data.write_text("\n".join(rows) + "\n")
        self.mapping.write_text(json.dumps({
            "shape": "buckets", "source": "kill test",
            "columns": {"time": "ts", "asset": "asset", "state": "status", "parts": "items",
                        "power": "power_avg"},
            "time": {"format": "iso", "time_zone": "UTC"}, "bucket_length_s": 300,
            "states": {"0": "idle", "1": "busy", "2": "busy", "3": "down"}}))

    def write(self, _i: int) -> None:
        if twinbench(["import", str(self.data), "--mapping", str(self.mapping), "--out",
                      str(self.target), "--force", "--quiet"]):
            raise RuntimeError("twinbench import failed")

    def broken(self) -> str | None:
        with h5py.File(self.target, "r") as f:
            if f.attrs.get("format") != "twinbench-recording":
                return "no format attribute"
            if "import_report" not in f.attrs:  # written last
                return "no import report"
        return None


class SaveWriter:
    """``save_project`` of a big and a small version of a project, in turn."""

    def __init__(self, folder: Path) -> None:
        from twin.projectfile.reader import dumps, load_project

        self.folder = _line_project(folder)
        self.target = self.folder / "project.json"
        self.known = {"project.json"}
        self.project = load_project(self.folder)
        self.texts = set()
        for i in range(2):
            self._vary(i)
            self.texts.add(dumps(self.project).encode())

    def _vary(self, i: int) -> None:
        self.project.description = "x" * 400_000 if i % 2 else "small"

    def write(self, i: int) -> None:
        from twin.projectfile.reader import save_project

        self._vary(i)
        save_project(self.project, self.folder)

    def broken(self) -> str | None:
        return None if self.target.read_bytes() in self.texts else "neither old nor new"


WRITERS = {"run": RunWriter, "import": ImportWriter, "save": SaveWriter}


def left_behind(writer) -> list[str]:
    """Files in the target's folder that the writer did not mean to leave there."""
    return sorted(set(os.listdir(writer.target.parent)) - writer.known)


def _child(writer) -> None:
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
    for i in itertools.count(1):
        writer.write(i)


MIN_HITS = 3  # kills that must land inside a write for the run to say anything


def kill_loop(writer, kills: int, rng: random.Random) -> dict:
    writer.write(0)  # the old, complete file; warms the code up
    # how long one write takes in a forked child, where the kills land: a child is slower
    # than its warm parent (caches and locks taken anew after the fork), and kills timed by
    # the parent's write ended before the child had opened its temporary file
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            writer.write(1)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    once = time.perf_counter() - started
    broken, hits, most = [], 0, 0
    # at least ``kills`` kills, and on until MIN_HITS of them landed inside a write (a busy
    # machine can delay the child past the random moment): at most 8 times as many
    k = 0
    while k < kills or (hits < MIN_HITS and k < 8 * kills):
        k += 1
        pid = os.fork()
        if pid == 0:
            try:
                _child(writer)
            finally:
                os._exit(1)
        time.sleep(rng.uniform(0.0, 2.0 * once))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        why = writer.broken()
        if why is not None:
            broken.append(f"kill {k}: {why}")
        left = left_behind(writer)
        hits += bool(left)
        most = max(most, len(left))
    writer.write(2)  # the next write into the folder cleans up after the killed ones
    return {"kills": k, "write_s": round(once, 3), "broken": broken,
            "killed_mid_write": hits, "most_left_behind": most,
            "after_next_write": left_behind(writer), "broken_now": writer.broken()}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folder", type=Path)
    p.add_argument("--kills", type=int, default=25)
    p.add_argument("--writers", nargs="+", default=list(WRITERS), choices=list(WRITERS))
    p.add_argument("--seed", type=int, default=12)
    args = p.parse_args()
    rng = random.Random(args.seed)
    report = {}
    out = os.fdopen(os.dup(1), "w")
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)  # the commands' own output (tables, import reports) is not wanted
    for name in args.writers:
        folder = args.folder / name
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        report[name] = kill_loop(WRITERS[name](folder), args.kills, rng)
        report[name]["seconds"] = round(time.perf_counter() - started, 1)
    with contextlib.suppress(BrokenPipeError), out:
        out.write(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
