"""``twinbench live`` as the main CLI wires it: bad arguments (exit 2, naming the problem),
``--duration`` in plant time, SIGTERM (exit 0 after a final flush). The source is the test
feed of ``cli_feed.py`` (a registered test-only scheme): the recorder and the command are
under test; the MQTT and OPC UA sources have tests of their own."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.cli import main
from twin.recording import Recording, recording_kpis

sys.path.insert(0, str(Path(__file__).parent))
import cli_feed  # noqa: E402,F401  (registers testfeed://)

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "projects" / "machining-cell"


def cli(*argv: str) -> int:
    return main(["live", *map(str, argv)])


@pytest.mark.parametrize(("argv", "message"), [
    (["--mqtt", "http://host:1883/x"], "--mqtt 'http://host:1883/x' is not an MQTT address: "
                                       "write mqtt://HOST:PORT/PREFIX (mqtts:// for TLS), e.g. "
                                       "mqtt://192.168.0.10:1883/plant"),
    (["--mqtt", "mqtt://host:99999/x"], "--mqtt 'mqtt://host:99999/x' is not an MQTT address: "
                                        "the port must be a number 1-65535"),
    (["--mqtt", "mqtt://host/plant/#"], "may not hold the wildcards + or #"),
    (["--opcua", "mqtt://host:1883"], "--opcua 'mqtt://host:1883' is not an OPC UA address: "
                                      "write opc.tcp://HOST:PORT, e.g. "
                                      "opc.tcp://192.168.0.10:4840"),
    # a wrong scheme is named, with the schemes that are read
    (["--mqtt", "htp://127.0.0.1:1883/plant"], "(the scheme htp:// is not one twinbench reads: "
                                               "mqtt://, mqtts://, opc.tcp://; MQTT takes "
                                               "mqtt:// or mqtts://)"),
    (["--mqtt", "tcp://127.0.0.1:1883/plant"], "the scheme tcp:// is not one twinbench reads"),
    (["--opcua", "opc.tpc://127.0.0.1:4840"], "(the scheme opc.tpc:// is not one twinbench "
                                              "reads: mqtt://, mqtts://, opc.tcp://; OPC UA "
                                              "takes opc.tcp://)"),
    (["--opcua", "mqtts://host:8883"], "(mqtts:// is MQTT's scheme; OPC UA takes opc.tcp://)"),
    (["--mqtt", "localhost:1883/plant"], "(the address has no scheme: MQTT takes mqtt:// or "
                                         "mqtts://)"),
    (["--mqtt", "mqtt:/localhost/plant"], "(two slashes after mqtt:, then the host)"),
    (["--source", "nosuch://x"], "no live source for nosuch://"),
    (["--source", "testfeed://", "--duration", "soon"], "--duration 'soon': expected a duration"),
    (["--source", "testfeed://", "--duration=-2h"], "--duration '-2h': expected a duration"),
    (["--source", "testfeed://", "--duration", "0s"], "--duration '0s' must be a positive"),
    (["--source", "testfeed://", "--epoch", "2026-12-02T00:00"], "--epoch '2026-12-02T00:00' "
                                                                 "has no UTC offset"),
    (["--source", "testfeed://", "--epoch", "noon"], "--epoch 'noon' is not ISO 8601"),
    (["--source", "testfeed://", "--status-every", "0"],
     "--status-every 0 must be a positive number"),
    (["--source", "testfeed://?fail=1"], "the test feed was asked to refuse"),
])
def test_bad_arguments_exit_2_naming_the_problem(tmp_path, capsys, argv, message):
    out = tmp_path / "rec.h5"
    assert cli(PROJECT, *argv, "--record", out) == 2
    err = capsys.readouterr().err
    assert "twinbench live: error:" in err and message in err, err
    assert "Traceback" not in err
    assert not out.exists()


def test_bad_files_exit_2(tmp_path, capsys):
    out = tmp_path / "rec.h5"
    assert cli(tmp_path / "nowhere", "--source", "testfeed://", "--record", out) == 2
    assert "nowhere" in capsys.readouterr().err
    out.write_bytes(b"old")
    assert cli(PROJECT, "--source", "testfeed://", "--record", out) == 2
    assert "exists; choose another file or overwrite it (--force)" in capsys.readouterr().err
    assert out.read_bytes() == b"old"
    mapping = tmp_path / "m.json"
    mapping.write_text("[1, 2]")
    assert cli(PROJECT, "--source", "testfeed://", "--record", tmp_path / "b.h5",
               "--mapping", mapping) == 2
    assert "a mapping file is a JSON object" in capsys.readouterr().err
    # argparse: a source and a recording are required, one source only
    assert cli(PROJECT, "--record", out) == 2
    assert cli(PROJECT, "--mqtt", "mqtt://a:1/p", "--opcua", "opc.tcp://a:4840",
               "--record", out) == 2
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.timeout(60)
def test_duration_is_plant_time(tmp_path, capsys):
    out = tmp_path / "rec.h5"
    # 30 plant seconds per reading, 20 readings every 10 ms: an hour in well under a second;
    # the link is lost after 3 batches (60 readings), with 20 readings
    url = "testfeed://?step=30&batch=20&cut=3&lost=20"
    assert cli(PROJECT, "--source", url, "--record", out, "--duration", "1h",
               "--status-every", "0.05") == 0
    text = capsys.readouterr().out
    assert "1h of plant time recorded" in text
    assert "Live recording" in text and "no problems found" in text
    assert "reconnects 1, gaps recorded 1" in text
    with Recording.open(out) as rec:
        assert rec.source == url
        saw = rec.asset("saw")
        t = sorted([*saw.states["time"], *saw.parts["time"]])
        assert t[-1] - t[0] >= 3600.0
        assert t[0] == 6 * 3600.0  # epoch: the first reading's UTC midnight
        # from the last reading before the cut (59) to the first after it (80)
        assert rec.gaps[["start", "end"]].tolist() == [(6 * 3600.0 + 59 * 30, 6 * 3600.0 + 80 * 30)]
        assert rec.labels("gap_reason") == ("reconnecting: test cut",)
        kpis = recording_kpis(rec)["saw"]
        assert kpis.state_time_s["no_data"] == 21 * 30
    assert main(["replay", str(out)]) == 0
    text = capsys.readouterr().out
    assert ("link gaps: 1, 630 s without data (the live source was disconnected; no data in "
            "the KPIs); first 2026-12-02T06:29:30+00:00 (reconnecting: test cut)") in text
    assert main(["replay", str(out), "--json"]) == 0
    gaps = json.loads(capsys.readouterr().out)["gaps"]
    assert gaps == [{"start_s": 6 * 3600.0 + 59 * 30, "end_s": 6 * 3600.0 + 80 * 30,
                     "start": "2026-12-02T06:29:30+00:00", "end": "2026-12-02T06:40:00+00:00",
                     "reason": "reconnecting: test cut"}]


@pytest.mark.timeout(60)
def test_sigterm_stops_it_with_a_final_flush_and_exit_0(tmp_path):
    out = tmp_path / "rec.h5"
    code = (f"import sys; sys.path[:0] = [{str(ROOT)!r}, {str(Path(__file__).parent)!r}]; "
            "import cli_feed; from app.cli import main; sys.exit(main(sys.argv[1:]))")
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "live", str(PROJECT), "--source",
         "testfeed://?step=1&pace=0.005", "--record", str(out), "--status-every", "0.1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 30
        while not any("msg/s" in line for line in lines):
            assert time.monotonic() < deadline and proc.poll() is None, lines
            lines.append(proc.stdout.readline())
        status = next(line for line in lines if "msg/s" in line)
        assert re.search(r"connected \| [\d,]+ msg/s \| plant 2026-12-02 06:", status), status
        assert "problems 0" in status and "assets: " in status
        assert re.search(r"assets: saw=(busy|down) lathes#0=- .* b_wash=- \|", status), status
        proc.send_signal(signal.SIGTERM)
        rest, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Live recording" in rest and "no problems found" in rest
    fed = int(re.search(r"^fed (\d+)$", err, re.M).group(1))
    with Recording.open(out) as rec:  # everything the source handed over: the final flush
        saw = rec.asset("saw")
        assert len(saw.states) + len(saw.parts) == fed > 0
        assert re.search(rf"records stored {fed:,} .*flushed {fed:,}", rest)


def test_the_status_line_counts_states_of_many_assets(tmp_path):
    from app.cli.live import status_line
    from twin.live.feed import Reading
    from twin.live.recorder import LiveRecorder

    rec = LiveRecorder(tmp_path / "s.h5", [f"M{i}" for i in range(20)])
    rec.readings([Reading(f"M{i}", "state", cli_feed.T0, "busy" if i < 3 else "down")
                  for i in range(5)])
    rec.link("reconnecting", "broker gone")
    line = status_line(rec, 1234.4)
    rec.close()
    assert "reconnecting (broker gone) | 1,234 msg/s | plant 2026-12-02 06:00:00Z" in line
    assert "| stored 5 | assets: 15 no data, 3 busy, 2 down | problems 0" in line
