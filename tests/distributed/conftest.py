"""A real Dask cluster on loopback: a ``dask scheduler`` and ``dask worker`` processes
started as subprocesses (the commands a user runs), stopped after the test."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DASK = str(Path(sys.executable).with_name("dask"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A scheduler on a free loopback port and the workers started on it."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.procs: list[subprocess.Popen] = []
        self.workers: dict[str, subprocess.Popen] = {}

    def _start(self, args: list[str], log: str, env: dict | None = None) -> subprocess.Popen:
        out = open(self.folder / log, "wb")  # noqa: SIM115  (closed with the process)
        p = subprocess.Popen([DASK, *args], stdout=out, stderr=subprocess.STDOUT,
                             cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT),
                                            **(env or {})},
                             start_new_session=True)
        self.procs.append(p)
        return p

    def start_scheduler(self) -> None:
        port = self.address.rsplit(":", 1)[1]
        self._start(["scheduler", "--host", "127.0.0.1", "--port", port,
                     "--no-dashboard"], "scheduler.log")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", int(port))) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError("the dask scheduler did not start: " + self.log("scheduler.log"))

    def start_worker(self, name: str, env: dict | None = None) -> subprocess.Popen:
        """One single-threaded worker without a nanny: killing its process kills it."""
        p = self._start(["worker", self.address, "--name", name, "--nthreads", "1",
                         "--no-nanny", "--no-dashboard"], f"{name}.log", env)
        self.workers[name] = p
        return p

    def kill(self, name: str) -> None:
        os.killpg(self.workers[name].pid, signal.SIGKILL)

    def log(self, name: str) -> str:
        return (self.folder / name).read_text(errors="replace")[-2000:]

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


@pytest.fixture
def dask_cluster(tmp_path):
    """``dask scheduler`` on loopback; start workers with ``cluster.start_worker(name)``."""
    cluster = Cluster(tmp_path)
    cluster.start_scheduler()
    try:
        yield cluster
    finally:
        cluster.stop()
