"""File > Import data… and Calibrate, driven as a user drives them (issue 14 §7)."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.conftest import SME_CSV, SME_MAPPING

pytestmark = [pytest.mark.gui, pytest.mark.timeout(120)]


@pytest.fixture
def sme_csv():
    if not SME_CSV.is_file():
        pytest.skip(f"the SME retrofit data is not at {SME_CSV}")
    return SME_CSV


def _import(qtbot, dlg) -> None:
    """Click Import and wait for the worker to end (finished or failed)."""
    with qtbot.waitSignal(dlg.import_button.clicked, timeout=1000):
        qtbot.mouseClick(dlg.import_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not dlg.is_importing(), timeout=60_000)


def _open_dialog(w, qtbot):
    w.act_import.trigger()
    dlg = w.import_dialog
    qtbot.waitExposed(dlg)
    return dlg


def test_import_the_sme_csv_with_the_shipped_mapping_opens_it_in_replay(
        make_window, line_project, sme_csv, qtbot, tmp_path, model_threads):
    w = make_window(line_project)
    dlg = _open_dialog(w, qtbot)
    dlg.choose_mapping(SME_MAPPING.name)
    qtbot.keyClicks(dlg.data_path, str(sme_csv))
    # the preview shows the first rows, each column headed by what it becomes
    qtbot.waitUntil(lambda: dlg.preview.rowCount() == 20, timeout=5000)
    assert dlg.preview_header("status") == "status\n→ state"
    assert dlg.preview_header("power_avg") == "power_avg\n→ power"
    assert dlg.preview_header("alarm") == "alarm\n(not imported)"
    col = dlg.preview.horizontalHeader().logicalIndex(
        [dlg.preview.horizontalHeaderItem(j).text().split("\n")[0]
         for j in range(dlg.preview.columnCount())].index("status"))
    assert dlg.preview.item(0, col).text() == "2.0 → busy"
    assert not dlg.error.isVisible()
    out = tmp_path / "rec" / "sme.h5"
    dlg.output.clear()
    qtbot.keyClicks(dlg.output, str(out))
    _import(qtbot, dlg)
    assert out.is_file()
    report = dlg.report_view.toPlainText()
    assert report.startswith(f"Import of {sme_csv}")
    assert f"rows read {dlg.report.rows_read:,}" in report and dlg.report.rows_read > 10_000
    assert "wrote" in dlg.status.text()
    # ... and the window replays it, with its three machines
    assert w.replay.recording is not None and w.replay.recording.path == out
    assert w.replay.asset_ids == ["0", "1", "2"]
    assert w.replay.mapping_table.item(2, 0).text() == "Machine 2 (2)"
    assert w.docks["replay"].isVisible()
    assert f"imported {out}" in w.log_pane.toPlainText()
    # the recording was written off the GUI thread, and no model was built there
    assert set(model_threads) <= {"MainThread"}


def _recording_arrays(path):
    from twin.recording import Recording

    with Recording.open(path) as rec:
        out = {}
        for a in rec.asset_ids:
            d = rec.asset(a)
            for kind in ("states", "parts", "buckets", "power", "level"):
                out[(a, kind)] = np.asarray(getattr(d, kind))
        return out, rec.labels("raw_state"), rec.time_zone, rec.source


def test_a_mapping_built_in_the_dialog_gives_the_cli_s_recording(
        make_window, line_project, sme_csv, qtbot, tmp_path):
    w = make_window(line_project)
    dlg = _open_dialog(w, qtbot)
    dlg.choose_mapping("Build the mapping here")
    qtbot.keyClicks(dlg.data_path, str(sme_csv))
    qtbot.waitUntil(lambda: dlg.preview.rowCount() == 20, timeout=5000)
    b = dlg.builder
    assert b.isVisible()
    # the roles guessed from the column names; the user takes product out and sets the rest
    assert b.column("time") == "ts" and b.column("state") == "status"
    b.set_column("product", None)
    b.shape.setCurrentText("buckets")
    b.bucket_length.setValue(300.0)
    b.time_zone.selectAll()
    qtbot.keyClicks(b.time_zone, "Europe/Rome")
    b.source.selectAll()
    qtbot.keyClicks(b.source, "SME retrofit, company A")
    b.parentWidget().parentWidget().ensureWidgetVisible(b.read_codes)  # the form scrolls
    qtbot.mouseClick(b.read_codes, Qt.LeftButton)
    # the data has codes 1, 2 and 3; the mapping file also names 0 (idle)
    assert [b.states.item(r, 0).text() for r in range(b.states.rowCount())] == \
        ["1", "2", "3"]
    dlg.refresh()
    assert "choose a machine state for the raw code(s) 1, 2, 3" in dlg.error.text()
    # code 0 (idle) is not in this export; the user adds it by hand, as the shipped mapping has
    qtbot.keyClicks(b.new_code, " 0.0 ")
    qtbot.mouseClick(b.add_code, Qt.LeftButton)
    assert b.states.item(3, 0).text() == "0" and b.new_code.text() == ""
    for code, state in (("0", "idle"), ("1", "busy"), ("2", "busy"), ("3", "down")):
        b.set_state(code, state)
    dlg.refresh()
    assert not dlg.error.isVisible(), dlg.error.text()
    assert dlg.preview_header("items") == "items\n→ parts"
    assert dlg.preview_header("product") == "product\n(not imported)"
    saved = tmp_path / "built.json"
    assert dlg.save_mapping(saved)
    out = tmp_path / "gui.h5"
    dlg.output.clear()
    qtbot.keyClicks(dlg.output, str(out))
    _import(qtbot, dlg)
    assert out.is_file(), dlg.error.text()
    assert w.replay.asset_ids == ["0", "1", "2"]
    # the equivalent mapping file, written by hand, through the command line
    doc = {"mapping_version": 1, "shape": "buckets", "source": "SME retrofit, company A",
           "columns": {"time": "ts", "asset": "asset", "state": "status", "parts": "items",
                       "power": "power_avg"},
           "time": {"format": "iso", "time_zone": "Europe/Rome"}, "bucket_length_s": 300,
           "states": {"0": "idle", "1": "busy", "2": "busy", "3": "down"}}
    (tmp_path / "hand.json").write_text(json.dumps(doc), encoding="utf-8")
    cli_out = tmp_path / "cli.h5"
    done = subprocess.run([sys.executable, "-m", "app.cli", "import", str(sme_csv), "--mapping",
                           str(tmp_path / "hand.json"), "--out", str(cli_out), "--quiet"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    gui, cli = _recording_arrays(out), _recording_arrays(cli_out)
    assert gui[0].keys() == cli[0].keys()
    for key in gui[0]:
        np.testing.assert_array_equal(gui[0][key], cli[0][key], err_msg=str(key))
    assert gui[1:] == cli[1:]
    assert sum(len(v) for v in gui[0].values()) > 10_000
    # the mapping saved from the dialog gives that recording too
    from twin.recording import load_mapping

    assert load_mapping(saved).states == load_mapping(tmp_path / "hand.json").states


def test_a_malformed_csv_is_named_in_the_dialog_and_the_window_survives(
        make_window, line_project, qtbot, tmp_path):
    w = make_window(line_project)
    dlg = _open_dialog(w, qtbot)
    dlg.choose_mapping(SME_MAPPING.name)
    bad = tmp_path / "bad.csv"
    bad.write_text("time;machine;state\n2024-01-01 00:00;1;2\n", encoding="utf-8")
    qtbot.keyClicks(dlg.data_path, str(bad))
    dlg.refresh()
    assert dlg.error.isVisible()
    assert "the file has no column 'ts' (time)" in dlg.error.text()
    assert not dlg.start_import()  # the Import button refuses, saying why
    # a file that passes the header check but whose rows are garbage: the import says why
    rows = bad.with_name("rows.csv")
    rows.write_text("ts,asset,items,status,status_time,power_avg,cycle_time,alarm,product\n"
                    + "not a time,x,y,z,1,2,3,4,5\n" * 3, encoding="utf-8")
    dlg.data_path.selectAll()
    qtbot.keyClicks(dlg.data_path, str(rows))
    dlg.output.clear()
    qtbot.keyClicks(dlg.output, str(tmp_path / "rows.h5"))
    dlg.refresh()
    assert not dlg.error.isVisible(), dlg.error.text()
    _import(qtbot, dlg)
    assert dlg.error.text().startswith("Import failed: ")
    assert "a bug" not in dlg.error.text()
    assert not (tmp_path / "rows.h5").exists()
    # a mapping file that is not JSON
    mapping = tmp_path / "broken.json"
    mapping.write_text("{not json", encoding="utf-8")
    dlg.choose_mapping("A mapping file…")
    qtbot.keyClicks(dlg.mapping_path, str(mapping))
    dlg.refresh()
    assert "Mapping:" in dlg.error.text() and "valid JSON" in dlg.error.text()
    # the window lives on and opened nothing
    assert w.isVisible() and w.replay.recording is None
    w.act_fit.trigger()


def _tree_rows(item, depth=0):
    rows = [(depth, [item.text(c) for c in range(item.columnCount())])]
    for i in range(item.childCount()):
        rows += _tree_rows(item.child(i), depth + 1)
    return rows


def test_calibrate_the_sme_recording_shows_fits_and_saves_an_undoable_scenario(
        make_window, line_project, sme_recording, qtbot, model_threads):
    w = make_window(line_project)
    assert w.open_recording(sme_recording)
    rp = w.replay
    # nothing mapped yet: the dialog says what to do, no crash
    qtbot.mouseClick(rp.calibrate_button, Qt.LeftButton)
    dlg = w.calibrate_dialog
    qtbot.waitUntil(lambda: not dlg.is_running(), timeout=60_000)
    assert dlg.status.text().startswith("Calibration failed: ")
    assert not dlg.save_button.isEnabled()
    # the user maps machine 2 onto M1 and machine 1 onto M2, as in the Replay panel
    for row, element in ((2, "M1"), (1, "M2")):
        box = rp.mapping_table.cellWidget(row, 1)
        box.setCurrentIndex(box.findData(element))
    qtbot.mouseClick(rp.calibrate_button, Qt.LeftButton)
    assert dlg.is_running() or dlg.report is not None
    qtbot.waitUntil(lambda: not dlg.is_running(), timeout=60_000)
    assert dlg.report is not None, dlg.status.text()
    assert "2 → M1" in dlg.title.text() and "1 → M2" in dlg.title.text()
    tops = {dlg.fits.topLevelItem(i).text(0): dlg.fits.topLevelItem(i)
            for i in range(dlg.fits.topLevelItemCount())}
    assert sorted(tops) == ["M1", "M2"]
    rows = _tree_rows(tops["M1"])
    quantities = [r[1][0] for r in rows if r[0] == 1]
    assert quantities[:3] == ["process_time", "time_to_failure", "time_to_repair"]
    assert "power busy" in quantities
    # each quantity lists its candidates, the best first, with KS p and a verdict
    pt = tops["M1"].child(0)
    assert pt.childCount() >= 4
    best = pt.child(0)
    assert best.text(0) == "★ best"
    fit = dlg.report.station("M1").process_time.best
    assert best.text(1) == fit.family and best.text(5) == f"{fit.ks_pvalue:.3f}"
    # bucket means reject every candidate for the process times: the dialog warns, visibly
    assert dlg.warning.isVisible()
    assert "M1 process_time" in dlg.warning.text() and "M2 process_time" in dlg.warning.text()
    assert "time_to_repair" not in dlg.warning.text()
    assert pt.text(7) == "all rejected"
    assert all(pt.child(i).text(7) == "rejected" for i in range(pt.childCount()))
    # save as a scenario: one undo step, the project's own values untouched
    assert dlg.scenario_name.text() == "calibrated"
    before = w.project.element("M1").process_time
    qtbot.mouseClick(dlg.save_button, Qt.LeftButton)
    names = [s.name for s in w.project.scenarios]
    assert names == ["faster", "calibrated"]
    sc = w.project.scenarios[1]
    pt_over = next(o for o in sc.overrides if o.element == "M1" and o.path == "process_time")
    assert pt_over.value["dist"] == fit.family
    assert w.project.element("M1").process_time == before
    listed = [w.scenario_panel.list.item(i).text() for i in range(w.scenario_panel.list.count())]
    assert any("calibrated" in t for t in listed)
    assert "added" in dlg.status.text() and dlg.scenario_name.text() == "calibrated 2"
    w.act_undo.trigger()
    assert [s.name for s in w.project.scenarios] == ["faster"]
    listed = [w.scenario_panel.list.item(i).text() for i in range(w.scenario_panel.list.count())]
    assert not any("calibrated" in t for t in listed)
    w.act_redo.trigger()
    assert [s.name for s in w.project.scenarios] == ["faster", "calibrated"]
    # the project copies the calibrations read were made on the GUI thread
    assert model_threads and set(model_threads) == {"MainThread"}


def test_an_event_log_of_one_machine_with_semicolons_built_in_the_dialog(
        make_window, line_project, qtbot, tmp_path):
    data = tmp_path / "press.csv"
    data.write_text("Timestamp;State;Pieces\n"
                    "2024-03-04 06:00:00;RUN;\n"
                    "2024-03-04 06:10:00;;1\n"
                    "2024-03-04 06:20:00;ALARM;\n"
                    "2024-03-04 06:25:00;RUN;\n"
                    "2024-03-04 06:40:00;STOP;1\n", encoding="utf-8")
    w = make_window(line_project)
    dlg = _open_dialog(w, qtbot)
    dlg.choose_mapping("Build the mapping here")
    qtbot.keyClicks(dlg.data_path, str(data))
    dlg.refresh()
    b = dlg.builder
    # read with commas, the header is one column: nothing to guess yet
    assert dlg.preview.columnCount() == 1 and b.column("time") is None
    b.delimiter.selectAll()
    qtbot.keyClicks(b.delimiter, ";")
    dlg.refresh()
    assert dlg.preview.columnCount() == 3
    assert (b.column("time"), b.column("state")) == ("Timestamp", "State")
    b.set_column("parts", "Pieces")  # not a name the dialog knows
    qtbot.keyClicks(b.asset_id, "press 1")
    b.fill_codes()
    for code, state in (("RUN", "busy"), ("ALARM", "down"), ("STOP", "idle")):
        b.set_state(code, state)
    dlg.refresh()
    assert not dlg.error.isVisible(), dlg.error.text()
    col = [dlg.preview.horizontalHeaderItem(j).text() for j in range(3)].index("State\n→ state")
    assert dlg.preview.item(2, col).text() == "ALARM → down"
    dlg.output.clear()
    out = tmp_path / "press.h5"
    qtbot.keyClicks(dlg.output, str(out))
    _import(qtbot, dlg)
    assert out.is_file(), dlg.error.text()
    assert "rows read 5, stored 5" in dlg.report_view.toPlainText()
    assert w.replay.asset_ids == ["press 1"]
    from twin.recording import Recording

    with Recording.open(out) as rec:
        assert rec.shape == "event_log"
        d = rec.asset("press 1")
        assert list(d.states["state"]) == [2, 6, 2, 1]  # busy, down, busy, idle
        assert len(d.parts) == 2


def test_a_data_file_chosen_first_gets_the_shipped_mapping_that_fits_it(
        make_window, line_project, sme_csv, qtbot):
    """The README's SME data typed into a new Import dialog: the first shipped mapping
    (example_line_levels) stayed chosen and the dialog said "the file has no column
    'level'"; the mapping whose columns the file has is chosen, and a pick is kept."""
    w = make_window(line_project)
    dlg = _open_dialog(w, qtbot)
    assert dlg.mapping_choice.currentText() == "example_line_levels_mapping.json"
    qtbot.keyClicks(dlg.data_path, str(sme_csv))
    assert dlg.mapping_choice.currentText() == SME_MAPPING.name
    qtbot.waitUntil(lambda: dlg.preview.rowCount() == 20, timeout=5000)
    assert not dlg.error.isVisible()
    # a mapping the user picks is theirs: another data file does not change it
    dlg.choose_mapping("example_line_levels_mapping.json")
    dlg.data_path.clear()
    qtbot.keyClicks(dlg.data_path, str(sme_csv))
    assert dlg.mapping_choice.currentText() == "example_line_levels_mapping.json"
    assert "no column 'level'" in dlg.error.text()


def test_the_data_files_head_is_read_once_per_path(make_window, line_project, qtbot,
                                                   monkeypatch, tmp_path):
    """Each change of the path read the file's head once per shipped mapping (to pick the
    one that fits) and once more for the preview: it is read once per path (polish2 §8)."""
    import app.import_dialog as dialog_module

    sme_csv = tmp_path / "sme.csv"  # the SME data's columns, 30 rows
    sme_csv.write_text("ts,asset,items,status,status_time,power_avg,cycle_time,alarm,product\n"
                       + "".join(f"2022-08-31 22:{i:02d}:00+00:00,0,4.0,2.0,43.0,2.0,0.0,0,0\n"
                                 for i in range(30)), encoding="utf-8")
    reads = []
    real = dialog_module.head_bytes
    monkeypatch.setattr(dialog_module, "head_bytes", lambda p: reads.append(p) or real(p))
    w = make_window(line_project)
    dlg = _open_dialog(w, qtbot)
    dlg.data_path.setText(str(sme_csv))  # as pasted: one change of the path
    assert dlg.mapping_choice.currentText() == SME_MAPPING.name  # the fitting one, as before
    qtbot.waitUntil(lambda: dlg.preview.rowCount() == 20, timeout=5000)
    assert not dlg.error.isVisible()
    assert reads == [str(sme_csv)]
    # another mapping chosen: the preview follows without reading the file again
    dlg.choose_mapping("example_line_levels_mapping.json")
    dlg.refresh()
    assert "no column 'level'" in dlg.error.text() and reads == [str(sme_csv)]
