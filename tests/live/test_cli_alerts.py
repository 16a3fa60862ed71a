"""``twinbench live --alerts-only`` and ``twinbench replay FILE --alerts``: the project's
rules run beside the recorder (test feed of ``cli_feed.py``: the saw is down 150 s of every
300) and on the recording afterwards, with the same alerts."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from app.cli import main
from twin.shadow.sinks import alert_log_path, read_alert_log

sys.path.insert(0, str(Path(__file__).parent))
import cli_feed  # noqa: E402,F401  (registers testfeed://)

ROOT = Path(__file__).resolve().parents[2]
RULES = {"rules": [{"id": "saw-stop", "kind": "state", "elements": ["saw"],
                    "longer_than": "2min", "severity": "critical"}]}


@pytest.fixture
def project(tmp_path):
    folder = tmp_path / "cell"
    shutil.copytree(ROOT / "projects" / "machining-cell", folder)
    doc = json.loads((folder / "project.json").read_text())
    doc["alerts"] = RULES
    (folder / "project.json").write_text(json.dumps(doc))
    return folder


@pytest.mark.timeout(60)
def test_live_alerts_only_prints_each_alert_once_and_logs_them(tmp_path, project, capsys):
    out = tmp_path / "rec.h5"
    url = "testfeed://?step=30&batch=20"
    assert main(["live", str(project), "--source", url, "--record", str(out),
                 "--duration", "1h", "--alerts-only"]) == 0
    cap = capsys.readouterr()
    lines = cap.out.splitlines()
    # down from 150 s to 300 s of every 300 s: raised at 270 s (2 min in), cleared at 300 s
    assert lines and all("saw-stop" not in x for x in lines)  # the message, not the id
    raised = [x for x in lines if " raised " in x]
    cleared = [x for x in lines if " cleared " in x]
    assert len(raised) >= 11 and len(cleared) >= 11 and len(lines) == len(raised) + \
        len(cleared)
    assert "CRITICAL" in raised[0]
    assert "Band saw down for 2 min; its usual repair takes 20 min" in raised[0]
    assert raised[0].startswith("2026-12-02 06:04:30")
    assert "Live recording" in cap.err and "Live recording" not in cap.out
    rows = read_alert_log(alert_log_path(out))
    assert [r["state"] for r in rows][:2] == ["raised", "cleared"]
    assert len(rows) == len(lines)

    # the same rules on the recording: the same alerts at the same plant times
    assert main(["replay", str(out), "--alerts", "--project", str(project), "--json"]) == 0
    replayed = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    live = [(r["state"], r["changed_at"], r["message"]) for r in rows]
    again = [(r["state"], r["changed_at"], r["message"]) for r in replayed]
    assert again[:len(live)] == live
    assert main(["replay", str(out), "--alerts", "--project", str(project)]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[-1].startswith(f"{len([a for a in again if a[0] == 'raised'])} "
                                            "alerts raised (saw-stop ")


@pytest.mark.timeout(60)
def test_live_json_lines(tmp_path, project, capsys):
    out = tmp_path / "rec.h5"
    assert main(["live", str(project), "--source", "testfeed://?step=30&batch=20",
                 "--record", str(out), "--duration", "20min", "--alerts-only", "--json"]) == 0
    docs = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert docs and docs[0]["rule"] == "saw-stop" and docs[0]["state"] == "raised"
    assert docs[0]["asset"] == "saw" and docs[0]["time_utc"] == "2026-12-02T06:04:30Z"


@pytest.mark.parametrize("argv, message", [
    (["--json"], "--json prints the alerts as JSON lines: give it with --alerts-only"),
    (["--publish-alerts"], "--publish-alerts needs a broker"),
    (["--alerts-only", "--publish-alerts", "mqtt://127.0.0.1:1/p"], "no MQTT broker answers"),
])
def test_live_alert_options_checked_before_recording(tmp_path, project, capsys, argv,
                                                     message):
    out = tmp_path / "rec.h5"
    assert main(["live", str(project), "--source", "testfeed://", "--record", str(out),
                 *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists() and not alert_log_path(out).exists()


def test_alerts_need_rules_and_a_project(tmp_path, capsys):
    out = tmp_path / "rec.h5"
    plain = ROOT / "projects" / "machining-cell"
    assert main(["live", str(plain), "--source", "testfeed://", "--record", str(out),
                 "--alerts-only"]) == 2
    assert "has no alert rules: add an `alerts` section" in capsys.readouterr().err
    assert main(["replay", str(out), "--alerts"]) == 2
    assert "--alerts needs the project whose rules" in capsys.readouterr().err
