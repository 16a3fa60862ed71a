"""A real mosquitto broker for the live tests: on a free loopback port, with persistence, and
stoppable and restartable in the middle of a test (``broker.kill()``, ``broker.start()``)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0, up: bool = True) -> None:
    """Until something listens on ``port`` (``up``) or nothing does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.2)
            listening = s.connect_ex(("127.0.0.1", port)) == 0
        if listening == up:
            return
        time.sleep(0.05)
    raise TimeoutError(f"port {port} {'never opened' if up else 'stayed open'} in {timeout} s")


class Broker:
    """A mosquitto process on 127.0.0.1:``port``; its persistence survives ``kill``/``start``.

    Configured as the live docs tell users to: ``persistence true`` (messages for a client
    that is away are kept across a broker restart), ``max_queued_messages 0`` (no limit:
    mosquitto's default of 1000 drops messages for a client that is away), and as root
    ``user root`` (otherwise mosquitto drops to user ``mosquitto`` and silently writes no
    persistence file in a folder it cannot write)."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.log = folder / "mosquitto.log"
        self.conf = folder / "mosquitto.conf"
        lines = [f"listener {self.port} 127.0.0.1", "allow_anonymous true",
                 "persistence true", f"persistence_location {folder}/",
                 "autosave_interval 1", "max_queued_messages 0", "max_inflight_messages 0",
                 f"log_dest file {self.log}", "log_type error", "log_type warning"]
        if os.geteuid() == 0:
            lines.append("user root")
        self.conf.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, "broker already running"
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_for_port(self.port)
        except TimeoutError:
            self.proc.kill()
            err = self.proc.communicate()[1].decode(errors="replace")
            raise RuntimeError(f"mosquitto did not start: {err}") from None

    def stop(self) -> None:
        """A clean stop: the broker saves its persistence file first."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)
        wait_for_port(self.port, up=False)

    def kill(self) -> None:
        """``kill -9``: what was saved (every ``autosave_interval``) is what survives."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        wait_for_port(self.port, up=False)


MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


@pytest.fixture
def broker(tmp_path):
    """A running mosquitto broker (``scripts/install.sh --dev`` installs it)."""
    if not Path(MOSQUITTO).exists():
        pytest.fail("mosquitto is not installed: run scripts/install.sh --dev (apt-get install "
                    "mosquitto)")
    b = Broker(tmp_path / "broker")
    b.start()
    yield b
    b.stop()
