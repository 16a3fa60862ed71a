"""``twinbench import`` / ``twinbench replay`` through argparse, as the main CLI wires them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import common, main

ROOT = Path(__file__).resolve().parents[2]
MAPPING = {
    "shape": "buckets",
    "source": "cli test",
    "columns": {"time": "ts", "asset": "asset", "state": "status", "parts": "items",
                "power": "kw"},
    "bucket_length_s": 300,
    "states": {"1": "busy", "3": "down"},
}
ROWS = [
    "2024-01-01T00:00:00Z,M1,1,5,2",
    "2024-01-01T00:05:00Z,M1,3,0,1",
    "2024-01-01T00:10:00Z,M1,1,6,2",
    "2024-01-01T00:00:00Z,M2,1,3,4",
]


def cli(*argv: str) -> int:
    return main(list(argv))


@pytest.fixture
def files(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("ts,asset,status,items,kw\n" + "\n".join(ROWS) + "\n")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps(MAPPING))
    return data, mapping, tmp_path / "rec.h5"


def test_import_then_replay_json(files, capsys, monkeypatch):
    monkeypatch.setattr(common.ProgressBar, "GRACE_S", 0.0)  # a 4-row import is quick
    data, mapping, out = files
    assert cli("import", str(data), "--mapping", str(mapping), "--out", str(out)) == 0
    captured = capsys.readouterr()
    assert "rows read 4, stored 4" in captured.out and f"wrote {out}" in captured.out
    # the one progress bar of every command (issue 13: import had its own, "100 %")
    assert "importing [" in captured.err and "100.0%" in captured.err
    assert cli("replay", str(out), "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["assets"]) == {"M1", "M2"}
    m1 = doc["assets"]["M1"]
    assert m1["parts_out"] == 11 and m1["energy_kwh"] == (2 + 1 + 2) * 300 / 3600
    assert m1["availability"] == 600 / 900 and m1["quality"] == 1.0
    assert m1["mtbf_s"] == 600 and m1["mttr_s"] == 300
    assert m1["state_time_s"]["busy"] == 600 and m1["state_time_s"]["down"] == 300
    assert set(m1) >= {"oee", "performance", "state_time_s"}
    assert doc["window"]["from"] == "2024-01-01T00:00:00+00:00"


def test_replay_window_table_and_breakdown(files, capsys):
    data, mapping, out = files
    cli("import", str(data), "--mapping", str(mapping), "--out", str(out), "--quiet")
    capsys.readouterr()
    assert cli("replay", str(out), "--from", "2024-01-01T00:05", "--to", "600") == 0
    text = capsys.readouterr().out
    assert "window: 2024-01-01T00:05:00+00:00 .. 2024-01-01T00:10:00+00:00" in text
    lines = [line for line in text.splitlines() if line.startswith("M1")]
    assert lines and lines[0].split()[2] == "0"  # no parts in the down bucket
    assert cli("replay", str(out), "--json", "--by", "shift") == 0
    doc = json.loads(capsys.readouterr().out)
    assert [p["label"] for p in doc["periods"]["M1"]] == ["2023-12-31 night"]


def test_bad_input_exits_non_zero_with_a_clear_message(files, capsys, tmp_path):
    # a user error exits 2, as in every command (issue 13: import and replay exited 1)
    data, mapping, out = files
    assert cli("import", str(data), "--mapping", str(tmp_path / "no.json"),
               "--out", str(out)) == 2
    assert "existing mapping file" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**MAPPING, "states": {"1": "runing"}}))
    assert cli("import", str(data), "--mapping", str(bad), "--out", str(out)) == 2
    err = capsys.readouterr().err
    assert "twinbench import: error:" in err and "$.states['1']" in err
    data.write_text(data.read_text() + "2024-01-01T00:15:00Z,M1,9,1,1\n")
    assert cli("import", str(data), "--mapping", str(mapping), "--out", str(out),
               "--on-bad-rows", "fail") == 2
    assert "row 5" in capsys.readouterr().err
    assert not out.exists()
    assert cli("replay", str(data)) == 2
    assert "not an HDF5 file" in capsys.readouterr().err
    cli("import", str(data), "--mapping", str(mapping), "--out", str(out), "--quiet")
    capsys.readouterr()
    assert cli("replay", str(out), "--from", "yesterday") == 2
    assert "--from 'yesterday'" in capsys.readouterr().err
    assert cli("replay", str(out), "--from", "900", "--to", "100") == 2
    assert cli("import", str(data), "--mapping", str(mapping), "--out", str(out)) == 2
    assert "--force" in capsys.readouterr().err


def test_cli_module_imports_no_qt():
    code = ("import sys; import app.cli.recording; "
            "bad = [m for m in sys.modules if m.split('.')[0] in "
            "('PySide6', 'pyqtgraph', 'vtk', 'vtkmodules')]; print(bad); sys.exit(bool(bad))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_replay_with_a_project_without_a_tariff_says_what_to_do_for_every_option(
        tmp_path, capsys):
    """`replay FILE --project P` for a project without a tariff: --project alone asks for
    the recorded power's price, which it cannot give, so it says so with what to do instead
    (exit 2, no traceback, no half table), for every option that prices; --alerts uses the
    project without a tariff and works (twinfix4 §5)."""
    from oracles.lines import exp, serial_line, station

    from twin.recording import AssetInfo, RecordingWriter

    doc = serial_line([station("m1", exp(60.0), power_kw={"busy": 12.0})], [])
    doc["alerts"] = {"rules": [{"kind": "state", "longer_than": 300}]}
    folder = tmp_path / "plant"
    folder.mkdir()
    (folder / "project.json").write_text(json.dumps(doc))
    rec = tmp_path / "r.h5"
    with RecordingWriter.create(rec, source="t", epoch_utc="2024-01-01T06:00:00+00:00",
                                assets=[AssetInfo("m1", element="m1")]) as w:
        w.append_states("m1", [0.0, 1800.0, 2400.0, 7200.0], ["busy", "down", "busy", "idle"])
        w.append_power("m1", [0.0, 7200.0], [12.0, 1.0])
    for opts in ([], ["--json"], ["--by", "day"], ["--by", "shift"],
                 ["--from", "600", "--to", "3600"]):
        assert cli("replay", str(rec), "--project", str(folder), *opts) == 2, opts
        out, err = capsys.readouterr()
        assert out == "" and "Traceback" not in err, (opts, out, err)
        assert "has no energy context to price the recorded power with; add a `tariff` " \
            "section (docs/energy.md), or leave out --project for the KPIs alone" in err
        assert cli("replay", str(rec), *opts) == 0, opts  # the KPIs alone, as it says
        capsys.readouterr()
    assert cli("replay", str(rec), "--project", str(folder), "--alerts") == 0
    out, err = capsys.readouterr()
    assert "m1 down for 5 min" in out and "energy context" not in err
