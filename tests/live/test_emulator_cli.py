"""``twinbench emulate``: exits 0 at the end of its duration and on SIGTERM, 2 with a clear
message for what the user got wrong."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from app.cli import main

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]
CELL = str(ROOT / "projects" / "machining-cell")


def test_it_runs_to_the_end_of_its_duration_and_prints_what_it_sent(broker, capsys):
    code = main(["emulate", CELL, "--speed", "max", "--duration", "8h", "--quiet",
                 "--start", "2026-12-02T00:00:00Z", "--mqtt", f"{broker.url}/plant"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "plant time 8:00:00 (the end)" in out.out
    assert "lathes#2" in out.out and "energy kWh" in out.out


def test_a_sigterm_ends_it_with_exit_code_0(broker):
    """Started as a user would, killed with SIGTERM while it plays (after its first status
    line): exit code 0 and the summary of what it sent."""
    p = subprocess.Popen([sys.executable, "-m", "app.cli", "emulate", CELL, "--speed", "600",
                          "--status-every", "0.2", "--start", "2026-12-02T00:00:00Z",
                          "--mqtt", f"{broker.url}/plant"], cwd=ROOT, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        playing = threading.Event()
        err: list[str] = []

        def read():
            for line in p.stderr:
                err.append(line)
                if line.startswith("plant 2026-12-02 ") and " sent " in line:
                    playing.set()  # a status line: plant time, messages sent, rate

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        assert playing.wait(90), "".join(err)
        p.send_signal(signal.SIGTERM)
        out = p.stdout.read()
        assert p.wait(30) == 0, "".join(err)
        reader.join(5)
        assert "(stopped)" in out and "parts" in out
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)


@pytest.mark.parametrize("args, message", [
    (["--mqtt", "mqtt://127.0.0.1:1/plant", "--scenario", "nope"], "no such scenario"),
    (["--mqtt", "http://127.0.0.1:1883/plant"], "--mqtt 'http://127.0.0.1:1883/plant' is not "
                                                "an MQTT address: write mqtt://HOST:PORT/PREFIX"),
    (["--mqtt", "mqtt://127.0.0.1:1883/pl+ant"], "may not hold the wildcards + or #"),
    (["--mqtt", "mqtt://127.0.0.1:notaport/plant"], "mqtt://HOST:PORT/PREFIX"),
    (["--mqtt", "mqtt://127.0.0.1:1883/plant", "--speed", "-1"], "--speed"),
    (["--mqtt", "mqtt://127.0.0.1:1883/plant", "--speed", "fast"], "--speed"),
    (["--opcua", "opc.tcp://127.0.0.1:4840", "--security", "sign"], "--trusted"),
    ([], "--mqtt"),
    (["--mqtt", "mqtt://127.0.0.1:1883/plant", "--duration", "3650d"],
     "more than the emulator holds"),
])
def test_bad_arguments_exit_2_with_a_message(args, message, capsys):
    code = main(["emulate", CELL, *(["--duration", "1h"] if "--duration" not in args else []),
                 *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err
    assert "Traceback" not in err


def test_no_broker_and_a_port_taken_exit_2(capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: nothing answers there
        assert main(["emulate", CELL, "--duration", "1h", "--mqtt",
                     f"mqtt://127.0.0.1:{port}/plant"]) == 2
        assert "no MQTT broker answers" in capsys.readouterr().err
        s.listen()
        assert main(["emulate", CELL, "--duration", "1h", "--opcua",
                     f"opc.tcp://127.0.0.1:{port}"]) == 2
        assert "the port is taken" in capsys.readouterr().err
