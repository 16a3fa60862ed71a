"""Importing messy files: every problem is counted where it is, nothing is dropped silently."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kernels.types import BUSY, DOWN, IDLE
from twin.recording import (
    UNKNOWN,
    MappingError,
    Recording,
    RecordingImportError,
    find_importer,
    import_recording,
    importers,
    mapping_from_dict,
)
from twin.tasks import Cancelled, TaskState

HEADER = "ts,asset,status,items,power_avg,product\n"


def bucket_mapping(**extra) -> dict:
    doc = {
        "shape": "buckets",
        "source": "test data",
        "columns": {"time": "ts", "asset": "asset", "state": "status", "parts": "items",
                    "power": "power_avg", "product": "product"},
        "time": {"format": "iso", "time_zone": "UTC"},
        "bucket_length_s": 300,
        "states": {"0": "idle", "1": "busy", "2": "busy", "3": "down"},
    }
    doc.update(extra)
    return doc


def write(tmp_path: Path, lines: list[str], name: str = "data.csv", header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text(header + "".join(line + "\n" for line in lines))
    return path


def run(tmp_path: Path, lines: list[str], **mapping_extra):
    data = write(tmp_path, lines)
    out = tmp_path / "out.h5"
    report = import_recording(data, mapping_from_dict(bucket_mapping(**mapping_extra)), out)
    return report, out


GOOD = [
    "2022-09-01 00:00:00+00:00,A,2.0,5.0,2.0,1",
    "2022-09-01 00:05:00+00:00,A,2.0,4.0,3.0,1",
    "2022-09-01 00:00:00+00:00,B,1.0,1.0,1.0,2",
    "2022-09-01 00:10:00+00:00,A,3.0,0.0,0.0,1",
]


def test_clean_file_has_a_clean_report(tmp_path):
    report, out = run(tmp_path, GOOD)
    assert report.clean, report.format()
    assert (report.rows_read, report.rows_stored, report.rows_not_stored) == (4, 4, 0)
    with Recording.open(out) as rec:
        a = rec.asset("A").buckets
        assert a["start"].tolist() == [0.0, 300.0, 600.0]
        assert a["state"].tolist() == [BUSY, BUSY, DOWN]
        assert a["parts"].tolist() == [5.0, 4.0, 0.0]
        assert rec.labels("product") == ("1", "2")
        assert rec.epoch_utc.isoformat() == "2022-09-01T00:00:00+00:00"
        assert rec.import_report == report


def test_missing_column_names_the_mapping_field_and_suggests(tmp_path):
    data = write(tmp_path, GOOD, header="ts,asset,Status,items,power_avg,product\n")
    with pytest.raises(RecordingImportError) as err:
        import_recording(data, mapping_from_dict(bucket_mapping()), tmp_path / "o.h5")
    msg = str(err.value)
    assert "'status'" in msg and "$.columns.state" in msg and "Did you mean 'Status'" in msg
    assert str(data) in msg
    assert not (tmp_path / "o.h5").exists() and not (tmp_path / "o.h5.tmp").exists()


def test_bad_and_missing_timestamps_are_counted_not_stored(tmp_path):
    lines = GOOD + [
        "garbage,A,2,1,1,1",
        "2022-13-45 00:00:00+00:00,A,2,1,1,1",
        ",B,2,1,1,1",
        "2022-09-01 00:15:00,A,2,1,1,1",  # naive among aware stamps: fine (UTC)
    ]
    report, out = run(tmp_path, lines)
    assert report.count("bad_timestamps") == 2
    assert [e.row for e in report.issues["bad_timestamps"].examples] == [5, 6]
    assert report.issues["bad_timestamps"].examples[0].value == "'garbage'"
    assert report.count("missing_values") == 1
    assert report.issues["missing_values"].examples[0].row == 7
    assert report.not_stored == {"unreadable time stamp": 2, "no time stamp": 1}
    assert report.rows_stored == 5 and report.rows_read == 8
    with Recording.open(out) as rec:
        assert rec.asset("A").buckets["start"].tolist() == [0.0, 300.0, 600.0, 900.0]


def test_unknown_states_are_stored_with_the_raw_value(tmp_path):
    report, out = run(tmp_path, GOOD + ["2022-09-01 00:15:00+00:00,A,7,1,1,1"])
    assert report.count("unknown_states") == 1
    ex = report.issues["unknown_states"].examples[0]
    assert (ex.row, ex.asset, ex.column, ex.value) == (5, "A", "status", "'7'")
    with Recording.open(out) as rec:
        b = rec.asset("A").buckets
        assert b["state"][-1] == UNKNOWN
        assert rec.labels("raw_state")[b["raw_state"][-1]] == "7"


def test_out_of_order_and_duplicates(tmp_path):
    lines = [
        "2022-09-01 00:00:00+00:00,A,2,1,1,1",
        "2022-09-01 00:10:00+00:00,A,2,1,1,1",
        "2022-09-01 00:05:00+00:00,A,2,1,1,1",  # out of order, fills the grid
        "2022-09-01 00:10:00+00:00,A,2,1,1,1",  # duplicate of row 2
        "2022-09-01 00:30:00+00:00,A,2,1,1,1",  # gap of 900 s after 00:15
    ]
    report, out = run(tmp_path, lines)
    assert report.count("out_of_order") == 1
    assert report.issues["out_of_order"].examples[0].row == 3
    # recounted in time order: one duplicate, one gap of 15 min, no gap 00:05-00:10
    assert report.count("duplicates") == 1
    assert report.count("gaps") == 1
    assert report.gap_time_s == 900.0
    # the repeated 00:10 bucket is not stored (duplicate_buckets "first" by default):
    # kept, its parts and energy would count twice
    assert report.rows_stored == 4 and report.rows_read == 5
    assert report.not_stored == {
        "duplicate bucket (same asset and start; the first was kept)": 1}
    with Recording.open(out) as rec:
        assert rec.asset("A").buckets["start"].tolist() == [0.0, 600.0, 300.0, 1800.0]


def test_duplicates_and_overlaps_in_order(tmp_path):
    lines = [
        "2022-09-01 00:00:00+00:00,A,2,1,1,1",
        "2022-09-01 00:00:00+00:00,A,2,1,1,1",  # duplicate
        "2022-09-01 00:04:00+00:00,A,3,1,1,1",  # starts 60 s before the bucket above ends
        "2022-09-01 00:04:00+00:00,B,2,1,1,1",  # same time, other asset: no duplicate
        "2022-09-01 00:09:00+00:00,A,2,1,1,1",
    ]
    report, _ = run(tmp_path, lines)
    assert report.count("duplicates") == 1
    assert report.issues["duplicates"].examples[0].row == 2
    assert report.count("overlaps") == 1
    assert report.issues["overlaps"].examples[0].row == 3
    assert "60 s before the previous bucket ended" in report.issues["overlaps"].examples[0].value
    assert report.count("out_of_order") == report.count("gaps") == 0


def test_nan_negative_and_missing_quantities(tmp_path):
    lines = GOOD + [
        "2022-09-01 00:15:00+00:00,A,2,-3,1,1",
        "2022-09-01 00:20:00+00:00,A,2,4,nan,1",
        "2022-09-01 00:25:00+00:00,A,2,,1,1",
        "2022-09-01 00:30:00+00:00,A,,4,lots,1",
    ]
    report, out = run(tmp_path, lines)
    assert report.count("impossible_values") == 3
    values = {(e.row, e.column, e.value) for e in report.issues["impossible_values"].examples}
    assert values == {(5, "items", "'-3'"), (6, "power_avg", "'nan'"), (8, "power_avg", "'lots'")}
    assert report.count("missing_values") == 2  # row 7 items, row 8 status
    assert report.rows_stored == 8
    with Recording.open(out) as rec:
        b = rec.asset("A").buckets
        assert b["parts"][3] == -3.0  # stored as recorded
        assert np.isnan(b["power_kw"][4]) and np.isnan(b["parts"][5]) and np.isnan(b["power_kw"][6])
        assert b["state"][6] == UNKNOWN


def test_malformed_rows_keep_row_numbers_right(tmp_path):
    lines = [
        GOOD[0],
        "2022-09-01 00:05:00+00:00,A,2",  # too few fields
        "2022-09-01 00:10:00+00:00,A,2,1,1,1,9,9",  # too many
        "bad,A,2,1,1,1",
        GOOD[1].replace("00:05", "00:15"),
    ]
    report, _ = run(tmp_path, lines)
    assert report.count("malformed_rows") == 2
    assert [e.row for e in report.issues["malformed_rows"].examples] == [2, 3]
    assert "has 3 fields, expected 6" in report.issues["malformed_rows"].examples[0].value
    assert report.issues["bad_timestamps"].examples[0].row == 4
    assert report.rows_read == 5 and report.rows_stored == 2


def test_small_chunks_give_the_same_recording(tmp_path):
    rng = np.random.default_rng(3)
    lines = []
    for i in range(400):
        asset = "AB"[rng.integers(2)]
        t = 300 * (i // 2) + (7 if rng.random() < 0.05 else 0)
        stamp = np.datetime64("2022-09-01T00:00:00") + np.timedelta64(int(t), "s")
        status = rng.choice(["0", "1", "2", "3", "9"])
        lines.append(f"{stamp}+00:00,{asset},{status},{rng.integers(0, 9)},{rng.integers(0, 5)},1")
    lines[57] = "x" + lines[57]
    lines[211] = lines[211] + ",extra"
    data = write(tmp_path, lines)
    mapping = mapping_from_dict(bucket_mapping())
    big = import_recording(data, mapping, tmp_path / "big.h5")
    small = import_recording(data, mapping, tmp_path / "small.h5", chunk=200)
    assert small.to_dict() | {"seconds": 0} == big.to_dict() | {"seconds": 0}
    assert big.count("malformed_rows") == 1 and big.issues["malformed_rows"].examples[0].row == 212
    assert big.issues["bad_timestamps"].examples[0].row == 58
    with Recording.open(tmp_path / "big.h5") as a, Recording.open(tmp_path / "small.h5") as b:
        for asset in a.asset_ids:
            assert np.array_equal(a.asset(asset).buckets, b.asset(asset).buckets)


def test_on_bad_rows_fail_stops_with_file_row_column_value(tmp_path):
    data = write(tmp_path, GOOD + ["2022-09-01 00:15:00+00:00,A,7,1,1,1"])
    mapping = mapping_from_dict(bucket_mapping(on_bad_rows="fail"))
    with pytest.raises(RecordingImportError) as err:
        import_recording(data, mapping, tmp_path / "o.h5")
    msg = str(err.value)
    assert str(data) in msg and "row 5" in msg and "column status" in msg and "'7'" in msg
    assert "$.states" in msg
    assert err.value.report.count("unknown_states") == 1
    assert list(tmp_path.glob("o.h5*")) == []
    # the CLI override does the same with a reporting mapping
    with pytest.raises(RecordingImportError):
        import_recording(data, mapping_from_dict(bucket_mapping()), tmp_path / "o.h5",
                         on_bad_rows="fail")


def test_interrupted_import_leaves_no_file(tmp_path):
    lines = [f"2022-09-01 {h:02d}:{m:02d}:00+00:00,A,2,1,1,1" for h in range(24)
             for m in range(0, 60, 5)]
    data = write(tmp_path, lines)
    out = tmp_path / "out.h5"
    calls = []

    def boom(value):
        calls.append(value)
        if len(calls) == 3:
            raise KeyboardInterrupt("user pressed ctrl-c")

    with pytest.raises(KeyboardInterrupt):
        import_recording(data, mapping_from_dict(bucket_mapping()), out,
                         task=TaskState(boom), chunk=256)
    assert len(calls) == 3
    assert list(tmp_path.glob("out.h5*")) == []

    task = TaskState()
    task.request_interruption()
    with pytest.raises(Cancelled):
        import_recording(data, mapping_from_dict(bucket_mapping()), out, task=task, chunk=256)
    assert list(tmp_path.glob("out.h5*")) == []

    progress = []
    import_recording(data, mapping_from_dict(bucket_mapping()), out,
                     task=TaskState(progress.append), chunk=256)
    assert progress == sorted(progress) and progress[-1] == 100.0 and len(progress) > 5
    assert out.exists() and not (tmp_path / "out.h5.tmp").exists()


def test_existing_output_is_not_overwritten_by_default(tmp_path):
    report, out = run(tmp_path, GOOD)
    before = out.read_bytes()
    with pytest.raises(RecordingImportError, match="exists"):
        import_recording(tmp_path / "data.csv", mapping_from_dict(bucket_mapping()), out)
    assert out.read_bytes() == before
    import_recording(tmp_path / "data.csv", mapping_from_dict(bucket_mapping()), out,
                     overwrite=True)
    with pytest.raises(RecordingImportError, match="does not exist"):
        import_recording(tmp_path / "data.csv", mapping_from_dict(bucket_mapping()),
                         tmp_path / "no" / "dir.h5")


def test_no_storable_row_is_an_error(tmp_path):
    data = write(tmp_path, ["never,A,2,1,1,1", "again,A,2,1,1,1"])
    with pytest.raises(RecordingImportError, match="no row could be stored") as err:
        import_recording(data, mapping_from_dict(bucket_mapping()), tmp_path / "o.h5")
    assert err.value.report.count("bad_timestamps") == 2
    assert list(tmp_path.glob("o.h5*")) == []
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(RecordingImportError, match="empty"):
        import_recording(empty, mapping_from_dict(bucket_mapping()), tmp_path / "o.h5")


def test_parquet_and_gzip_give_the_same_records_as_csv(tmp_path):
    report, out = run(tmp_path, GOOD + ["2022-09-01 00:15:00+00:00,A,7,-1,1,3"])
    table = pa.table({
        "ts": pa.array(["2022-09-01 00:00:00+00:00", "2022-09-01 00:05:00+00:00",
                        "2022-09-01 00:00:00+00:00", "2022-09-01 00:10:00+00:00",
                        "2022-09-01 00:15:00+00:00"]).cast(pa.timestamp("s", tz="UTC")),
        "asset": ["A", "A", "B", "A", "A"],
        "status": [2.0, 2.0, 1.0, 3.0, 7.0],
        "items": [5, 4, 1, 0, -1],
        "power_avg": [2.0, 3.0, 1.0, 0.0, 1.0],
        "product": [1, 1, 2, 1, 3],
    })
    pq.write_table(table, tmp_path / "data.parquet", row_group_size=2)
    gz = tmp_path / "data.csv.gz"
    gz.write_bytes(gzip.compress((tmp_path / "data.csv").read_bytes()))
    mapping = mapping_from_dict(bucket_mapping())
    for src, kind in ((tmp_path / "data.parquet", "parquet"), (gz, "csv")):
        assert find_importer(src).identifier == kind
        other = tmp_path / f"{kind}-{src.suffix}.h5"
        rep = import_recording(src, mapping, other, chunk=2)
        assert rep.importer == kind
        for key in ("rows_read", "rows_stored", "records"):
            assert getattr(rep, key) == getattr(report, key)
        assert rep.count("unknown_states") == rep.count("impossible_values") == 1
        with Recording.open(out) as a, Recording.open(other) as b:
            for asset in a.asset_ids:
                assert np.array_equal(a.asset(asset).buckets, b.asset(asset).buckets)


def test_importer_registry_and_sniffing(tmp_path):
    assert {s.identifier for s in importers()} >= {"csv", "parquet"}
    odd = tmp_path / "export.dat"
    odd.write_text(HEADER + GOOD[0] + "\n")
    assert find_importer(odd).identifier == "csv"
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(RecordingImportError, match="cannot tell the file type"):
        find_importer(blob)
    with pytest.raises(RecordingImportError, match="no importer 'xlsx'"):
        find_importer(odd, "xlsx")


EVENT_MAPPING = {
    "shape": "event_log",
    "source": "test event log",
    "columns": {"time": "time", "asset": "machine", "state": "state", "parts": "parts",
                "scrap": "quality", "power": "kw"},
    "time": {"format": "%d.%m.%Y %H:%M:%S", "time_zone": "Europe/Rome"},
    "states": {"RUN": "busy", "STOP": "idle", "ERR": "down"},
    "scrap_values": ["NOK"],
    "max_silence_s": 3600,
}


def test_event_log_with_local_time_and_dst(tmp_path):
    lines = [
        "27.03.2022 01:59:00,M1,RUN,,,5.0",
        "27.03.2022 02:30:00,M1,STOP,,,",  # does not exist in Rome (spring forward)
        "27.03.2022 03:00:00,M1,,1,,",
        "27.03.2022 03:01:00,M1,,1,NOK,",
        "27.03.2022 03:02:00,M1,ERR,,,0.5",
        "27.03.2022 05:02:00,M1,,,,",  # carries nothing
        "30.10.2022 02:30:00,M1,RUN,,,",  # occurs twice in Rome (fall back): earlier taken
    ]
    data = write(tmp_path, lines, header="time,machine,state,parts,quality,kw\n")
    out = tmp_path / "ev.h5"
    report = import_recording(data, mapping_from_dict(EVENT_MAPPING), out)
    assert report.count("bad_timestamps") == 1
    assert "does not exist in Europe/Rome" in report.issues["bad_timestamps"].examples[0].value
    assert report.count("ambiguous_times") == 1
    assert report.count("missing_values") == 1
    assert report.not_stored["carries no state, parts or power"] == 1
    assert report.count("gaps") == 1  # 03:02 -> 30.10. is longer than max_silence_s
    assert report.records == {"states": 3, "parts": 2, "power": 2}
    with Recording.open(out) as rec:
        d = rec.asset("M1")
        t0 = rec.time_of("2022-03-27T00:59:00+00:00")
        assert d.states["time"][0] == t0
        assert d.states["state"].tolist() == [BUSY, DOWN, BUSY]
        assert d.states["time"][-1] == rec.time_of("2022-10-30T00:30:00+00:00")
        assert d.parts["good"].tolist() == [1, 0]
        assert d.power["power_kw"].tolist() == [5.0, 0.5]
        assert [rec.labels("raw_state")[i] for i in d.states["raw_state"]] == ["RUN", "ERR",
                                                                                "RUN"]


def test_epoch_formats_and_single_asset_mapping(tmp_path):
    data = write(tmp_path, ["1661990400000,RUN,1", "1661990401500,STOP,"],
                 header="ms,state,parts\n")
    doc = {"shape": "event_log", "source": "s", "asset_id": "press",
           "columns": {"time": "ms", "state": "state", "parts": "parts"},
           "time": {"format": "epoch_ms"}, "states": {"RUN": "busy", "STOP": "idle"}}
    out = tmp_path / "ms.h5"
    report = import_recording(data, mapping_from_dict(doc), out)
    assert report.clean
    with Recording.open(out) as rec:
        assert rec.asset_ids == ("press",)
        d = rec.asset("press")
        assert d.states["time"].tolist() == [0.0, 1.5]
        assert d.states["state"].tolist() == [BUSY, IDLE]
        assert rec.epoch_utc.isoformat() == "2022-09-01T00:00:00+00:00"


def test_mapping_file_errors_surface_through_the_import(tmp_path):
    data = write(tmp_path, GOOD)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(bucket_mapping(states={"0": "idel"})))
    with pytest.raises(MappingError) as err:
        import_recording(data, bad, tmp_path / "o.h5")
    assert str(bad) in str(err.value) and "$.states['0']" in str(err.value)
    assert "did you mean 'idle'" in str(err.value)


def test_latin1_semicolons_crlf_and_fractional_strptime(tmp_path):
    data = tmp_path / "export.csv"
    data.write_bytes(("Zeit;Maschine;Zustand;Stück\r\n"
                      "01.09.2022 06:00:00.250;Fräse 1;läuft;1\r\n"
                      "01.09.2022 06:00:01.500;Fräse 1;Störung;\r\n").encode("latin-1"))
    doc = {"shape": "event_log", "source": "s", "csv": {"delimiter": ";", "encoding": "latin-1"},
           "columns": {"time": "Zeit", "asset": "Maschine", "state": "Zustand", "parts": "Stück"},
           "time": {"format": "%d.%m.%Y %H:%M:%S.%f", "time_zone": "Europe/Berlin"},
           "states": {"läuft": "busy", "Störung": "down"}}
    report = import_recording(data, mapping_from_dict(doc), tmp_path / "o.h5")
    assert report.clean and report.records["states"] == 2 and report.records["parts"] == 1
    with Recording.open(tmp_path / "o.h5") as rec:
        d = rec.asset("Fräse 1")
        assert d.states["state"].tolist() == [BUSY, DOWN]
        assert rec.datetime_of(d.states["time"][0]).isoformat() == (
            "2022-09-01T06:00:00.250000+02:00")
        assert d.states["time"][1] - d.states["time"][0] == 1.25
        assert rec.labels("raw_state") == ("läuft", "Störung")
