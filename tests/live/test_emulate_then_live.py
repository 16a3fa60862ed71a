"""The whole live chain as a user runs it, in three processes: ``twinbench live`` follows a
real mosquitto broker into a recording while ``twinbench emulate`` plays a project into it;
the recording replayed (``twinbench replay --json``) gives, per asset, the parts, scrap and
energy the emulator reports it sent (issue 15: "the replayed recording's per-asset parts and
energy equal what the emulator's own run reports")."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(240)


def _twinbench(*args, **kw):
    return [sys.executable, "-m", "app.cli", *map(str, args)]


def _truth(text: str) -> dict[str, tuple[float, float, float]]:
    """The emulator's closing table: asset -> (parts, scrap, energy kWh)."""
    rows = {}
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:2] == ["asset", "parts"])
    for line in lines[start + 1:]:
        cols = line.split()
        if len(cols) != 4:
            break
        rows[cols[0]] = tuple(float(c.replace(",", "")) for c in cols[1:])
    return rows


@pytest.mark.parametrize("project, duration", [
    ("standard-line", "1h"), ("bottling-line", "1h"), ("assembly-line", "1h"),
    ("machining-cell", "10h"),  # its shifts start at 06:00; three lathes are lathes#0..2
])
def test_live_records_what_the_emulator_sent(broker, tmp_path, project, duration):
    folder = ROOT / "projects" / project
    url = f"{broker.url}/plant"
    rec = tmp_path / "shift.h5"
    live = subprocess.Popen(_twinbench("live", folder, "--mqtt", url, "--record", rec,
                                       "--status-every", "0.3"),
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        # until its status line says connected (it subscribes before it says so): a fixed
        # wait was too short on a loaded machine, and a first session keeps nothing before
        # it has subscribed
        deadline = time.monotonic() + 60
        line = ""
        while "] connected" not in line and time.monotonic() < deadline:
            line = live.stdout.readline()
            assert line or live.poll() is None, "twinbench live stopped before connecting"
        assert "] connected" in line, "twinbench live did not connect within 60 s"
        emu = subprocess.run(_twinbench("emulate", folder, "--speed", "max", "--duration",
                                        duration, "--mqtt", url, "--status-every", "60"),
                             cwd=ROOT, capture_output=True, text=True, timeout=180)
        assert emu.returncode == 0, emu.stdout + emu.stderr
        sent = int(re.search(r"sent ([\d,]+) messages", emu.stdout)[1].replace(",", ""))
        truth = _truth(emu.stdout)
        # until the recorder says it stored all of them (status lines: "stored N")
        deadline = time.monotonic() + 60
        stored = 0
        while stored < sent and time.monotonic() < deadline:
            line = live.stdout.readline()
            found = re.search(r"stored ([\d,]+)", line)
            if found:
                stored = int(found[1].replace(",", ""))
        assert stored == sent
    finally:
        live.send_signal(signal.SIGINT)
        out, _ = live.communicate(timeout=60)
    assert live.returncode == 0, out
    assert "no problems found" in out, out
    replay = subprocess.run(_twinbench("replay", rec, "--json"), cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert replay.returncode == 0, replay.stderr
    assets = json.loads(replay.stdout)["assets"]
    assert truth and set(truth) <= set(assets)
    for asset, (parts, scrap, kwh) in truth.items():
        got = assets[asset]
        assert got["parts_out"] == parts, asset  # good parts ("produced" adds scrap)
        assert got["scrap"] == scrap, asset
        assert got["energy_kwh"] == pytest.approx(kwh, abs=0.0006), asset  # printed to 3 dp
