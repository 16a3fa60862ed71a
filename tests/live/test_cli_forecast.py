"""``twinbench live --forecast``: the shadow twin's rolling forecast beside the recorder, as
the workbench's Forecast dock makes it. The whole chain as a user runs it: ``twinbench live``
follows a real mosquitto broker while ``twinbench emulate`` plays the assembly line into it;
each forecast is printed, kept beside the recording and given to the alert rules."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from twin.projectfile.reader import load_project
from twin.recording import Recording, replay_recording
from twin.shadow.forecast import ForecastLog, log_path
from twin.shadow.scoring import actual_good

sys.path.insert(0, str(Path(__file__).parent))
import cli_feed  # noqa: E402,F401  (registers testfeed://)

ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) FORECAST shift (\d\d:\d\d)-(\d\d:\d\d): "
                  r"([\d,]+) good parts so far(?: \(\+ about [\d,]+ counted for \d+ min "
                  r"without data\))?"
                  r"(?: \(\+ about [\d,]+ counted at the twin's run rate for [^)]+ of the "
                  r"shift before the first reading\))?; by \d\d:\d\d P10 ([\d,]+), P50 ([\d,]+), "
                  r"P90 ([\d,]+) \(40 replications\); P\(below target 100,000\) (\d+)%$")


def _twinbench(*args):
    return [sys.executable, "-m", "app.cli", *map(str, args)]


@pytest.fixture
def project(tmp_path):
    """The assembly line with a shift target it cannot make and a rule on it."""
    folder = tmp_path / "line"
    shutil.copytree(ROOT / "projects" / "assembly-line", folder)
    doc = json.loads((folder / "project.json").read_text())
    doc["alerts"] = {"shift_target": 100_000,
                     "rules": [{"id": "target", "kind": "shift_target", "above": 0.5}]}
    (folder / "project.json").write_text(json.dumps(doc))
    return folder


@pytest.mark.timeout(240)
def test_live_forecasts_print_log_and_alert(broker, tmp_path, project):
    url = f"{broker.url}/plant"
    rec = tmp_path / "shift.h5"
    live = subprocess.Popen(_twinbench("live", project, "--mqtt", url, "--record", rec,
                                       "--forecast", "--every", "10min",
                                       "--replications", "40",
                                       "--status-every", "60"),
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        time.sleep(1.5)  # subscribed
        # 2 plant hours at 600x: a forecast step (10 min) every wall second
        emu = subprocess.run(_twinbench("emulate", project, "--speed", "600", "--duration",
                                        "2h", "--mqtt", url, "--status-every", "60"),
                             cwd=ROOT, capture_output=True, text=True, timeout=180)
        assert emu.returncode == 0, emu.stdout + emu.stderr
        time.sleep(3.0)  # the last step forecast
    finally:
        live.send_signal(signal.SIGINT)
        out, err = live.communicate(timeout=60)
    assert live.returncode == 0, out + err
    rows = [LINE.match(x) for x in out.splitlines() if " FORECAST " in x]
    assert all(rows), out
    assert len(rows) >= 4, out  # a slow machine skips steps, but not most of them
    kept = ForecastLog.read(log_path(rec))
    assert len(kept) == len(rows)
    assert f"{len(rows)} forecasts kept in {log_path(rec)}" in out
    made = [f.made_at for f in kept]
    assert np.all(np.diff(made) > 0) and all(t % 600 == 0 for t in made)
    assert "no forecast" not in err, err

    p = load_project(project)
    with Recording.open(rec) as r:
        replays = replay_recording(r)
        epoch = r.epoch_utc.timestamp()
        for row, f in zip(rows, kept, strict=True):
            so_far, p10, p50, p90 = (float(row[k].replace(",", "")) for k in (4, 5, 6, 7))
            # printed as kept; the fan is ordered and starts from what was recorded
            assert (p10, p50, p90) == (round(f.p10[-1]), round(f.p50[-1]), round(f.p90[-1]))
            assert so_far <= p10 <= p50 <= p90
            assert time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch + f.made_at)) == row[1]
            # the parts so far are what the recording held when the forecast was made: the
            # finished recording's count up to the fork time, less what had not arrived yet
            # (at 600x a second of the recorder's flushing and polling is 10 plant minutes)
            def recorded(t, f=f):
                return actual_good(p, r, f.shift_start, t, replays=replays)

            assert recorded(f.made_at - 1200.0) <= f.good_so_far <= recorded(f.made_at)
            assert len(f.final_good) == 40 and int(row[8]) == 100  # 100,000 is out of reach
    # the forecast reached the rules: the shift target's alert, printed between the lines
    assert "Shift target of 100,000 good parts at risk" in out, out


@pytest.mark.parametrize("argv, message", [
    (["--every", "10min"], "--every sets the rolling forecast: give it with --forecast"),
    (["--replications", "5"], "--replications sets the rolling forecast: give it with"),
    (["--forecast", "--target", "-3"], "argument --target: '-3' is not a number of good "
                                       "parts >= 0"),
    (["--forecast", "--scenario", "nosuch"], "nosuch"),
])
def test_forecast_options_checked_before_recording(tmp_path, capsys, argv, message):
    out = tmp_path / "rec.h5"
    assert main(["live", str(ROOT / "projects" / "assembly-line"), "--source", "testfeed://",
                 "--record", str(out), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err, err
    assert not out.exists() and not log_path(out).exists()
