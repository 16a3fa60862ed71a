"""Hostile data and mapping files: every bad cell is counted where it is (or stops the import
when the mapping says so), every bad mapping value is refused; no traceback, no raw library
message (issue 12)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from twin.recording import (
    MappingError,
    Recording,
    RecordingImportError,
    RecordingWriter,
    import_recording,
    mapping_from_dict,
    recording_kpis,
    replay_asset,
)
from twin.recording.timerange import RANGE_TEXT
from twin.tasks import TaskState

HEADER = "ts,asset,status,items,power_avg\n"


def mapping(**extra) -> dict:
    doc = {
        "shape": "buckets", "source": "robust import test",
        "columns": {"time": "ts", "asset": "asset", "state": "status", "parts": "items",
                    "power": "power_avg"},
        "bucket_length_s": 300, "states": {"1": "busy", "3": "down"},
        "ideal_cycle_time_s": 60,
    }
    doc.update(extra)
    return doc


def rows(n: int = 3) -> list[str]:
    return [f"2024-01-01T00:{5 * i:02d}:00Z,M1,1,5,2" for i in range(n)]


def run(tmp_path: Path, lines: list[str] | bytes, name: str = "d.csv", **extra):
    data = tmp_path / name
    body = lines if isinstance(lines, bytes) else "".join(x + "\n" for x in lines).encode()
    data.write_bytes(HEADER.encode() + body)
    out = tmp_path / "out.h5"
    return import_recording(data, mapping_from_dict(mapping(**extra)), out, overwrite=True), out


def records(path: Path) -> dict:
    with Recording.open(path) as rec:
        return {a: rec.asset(a).buckets.tolist() for a in rec.asset_ids}


# --- .csv.gz ------------------------------------------------------------------------------


def test_csv_gz_import_with_progress_equals_the_csv_import(tmp_path):
    """The CLI imports with a task (progress); asking a finished gzip stream for its position
    raised 'I/O operation on closed file' for every .csv.gz."""
    lines = [f"2024-01-0{1 + i // 288}T{(i % 288) // 12:02d}:{5 * (i % 12):02d}:00Z,"
             f"M{i % 3},{1 + 2 * (i % 2)},{i % 7},{i % 5}" for i in range(2000)]
    text = (HEADER + "".join(x + "\n" for x in lines)).encode()
    (tmp_path / "d.csv").write_bytes(text)
    (tmp_path / "d.csv.gz").write_bytes(gzip.compress(text))
    m = mapping_from_dict(mapping())
    seen: list[float] = []
    plain = import_recording(tmp_path / "d.csv", m, tmp_path / "plain.h5",
                             task=TaskState(seen.append), chunk=4096)
    packed = import_recording(tmp_path / "d.csv.gz", m, tmp_path / "gz.h5",
                              task=TaskState(seen.append), chunk=4096)
    assert seen[-1] == 100.0
    assert packed.rows_stored == plain.rows_stored == 2000
    assert records(tmp_path / "gz.h5") == records(tmp_path / "plain.h5")


# --- times --------------------------------------------------------------------------------


@pytest.mark.parametrize("stamp", ["9999-12-31T23:59:59", "1900-01-01T00:00:00Z",
                                   "2262-04-12T00:00:00", "2200-01-01T00:00:00Z"])
def test_time_outside_1970_2200_is_a_counted_bad_timestamp(tmp_path, stamp):
    report, out = run(tmp_path, [*rows(2), f"{stamp},M1,1,5,2"])
    assert report.rows_stored == 2
    assert report.not_stored == {"time outside 1970-2200": 1}
    ex = report.issues["bad_timestamps"].examples[0]
    assert (ex.row, ex.column) == (3, "ts") and stamp in ex.value and RANGE_TEXT in ex.value
    with pytest.raises(RecordingImportError, match="row 3.*outside the supported range"):
        run(tmp_path, [*rows(2), f"{stamp},M1,1,5,2"], on_bad_rows="fail")


def test_epoch_seconds_of_1e18_are_counted_not_overflowed(tmp_path):
    report, _ = run(tmp_path, ["1704067200,M1,1,5,2", "1e18,M1,1,5,2", "-5,M1,1,5,2",
                               "inf,M1,1,5,2"], time={"format": "epoch_s"})
    assert report.rows_stored == 1
    assert report.not_stored == {"time outside 1970-2200": 2, "unreadable time stamp": 1}


def test_parquet_timestamps_in_year_9999_are_counted(tmp_path):
    """Casting a timestamp[s] column with one stamp in 9999 to nanoseconds raised ArrowInvalid."""
    table = pa.table({
        "ts": pa.array([1704067200, 253402300799, 1704067500], pa.timestamp("s", tz="UTC")),
        "asset": ["M1", "M1", "M1"], "status": ["1", "1", "3"],
        "items": [5.0, 5.0, 0.0], "power_avg": [2.0, 2.0, 1.0],
    })
    pq.write_table(table, tmp_path / "d.parquet")
    report = import_recording(tmp_path / "d.parquet", mapping_from_dict(mapping()),
                              tmp_path / "out.h5")
    assert report.rows_stored == 2 and report.not_stored == {"time outside 1970-2200": 1}
    assert report.issues["bad_timestamps"].examples[0].row == 2


# --- text ---------------------------------------------------------------------------------


def test_nul_in_an_asset_id_is_counted_and_the_row_not_stored(tmp_path):
    """The writer raised h5py's 'VLEN strings do not support embedded NULLs'."""
    report, out = run(tmp_path, [*rows(2), "2024-01-01T00:10:00Z,M\x001,1,5,2"])
    assert report.rows_stored == 2
    assert report.not_stored == {"asset id that cannot be stored": 1}
    ex = report.issues["bad_text"].examples[0]
    assert (ex.row, ex.column) == (3, "asset") and "NUL" in ex.value
    assert list(records(out)) == ["M1"]


def test_state_of_5000_digits_is_a_counted_label_not_a_value_error(tmp_path):
    """normalize_label called int() on it: 'Exceeds the limit (4300 digits)'."""
    report, out = run(tmp_path, [*rows(2), "2024-01-01T00:10:00Z,M1," + "1" * 5000 + ",5,2"])
    assert report.rows_stored == 3
    assert report.count("bad_text") == 1 and "longer than 128 bytes" in str(report)
    with pytest.raises(RecordingImportError, match="row 3, asset M1, column status"):
        run(tmp_path, [*rows(2), "2024-01-01T00:10:00Z,M1," + "1" * 5000 + ",5,2"],
            on_bad_rows="fail")


def test_invalid_utf8_cell_is_counted_where_it_is(tmp_path):
    """The header reader decoded past the first line and blamed the header."""
    body = "".join(x + "\n" for x in rows(2)).encode() + b"2024-01-01T00:10:00Z,M1,\xff1,5,2\n"
    report, out = run(tmp_path, body)
    assert report.rows_stored == 3
    ex = report.issues["bad_text"].examples[0]
    assert (ex.row, ex.column, ex.value) == (3, "status", "not valid text")
    assert report.count("missing_values") == 0


def test_nan_and_infinity_quantities_follow_the_bad_row_policy(tmp_path):
    lines = [*rows(1), "2024-01-01T00:05:00Z,M1,1,NaN,2", "2024-01-01T00:10:00Z,M1,1,5,Infinity"]
    report, _ = run(tmp_path, lines)
    assert report.count("impossible_values") == 2
    with pytest.raises(RecordingImportError, match="row 2, asset M1, column items: 'NaN'"):
        run(tmp_path, lines, on_bad_rows="fail")


@pytest.mark.parametrize(("column", "shown"), [
    (pa.array([[1], [2]], pa.list_(pa.int64())), "holds list<"),
    (pa.array([b"\xff", b"1"], pa.binary()), "holds binary")])
def test_parquet_column_of_an_unreadable_type_is_refused_by_name(tmp_path, column, shown):
    table = pa.table({"ts": ["2024-01-01T00:00:00Z", "2024-01-01T00:05:00Z"],
                      "asset": ["M1", "M1"], "status": column,
                      "items": [1.0, 2.0], "power_avg": [1.0, 1.0]})
    pq.write_table(table, tmp_path / "d.parquet")
    with pytest.raises(RecordingImportError) as err:
        import_recording(tmp_path / "d.parquet", mapping_from_dict(mapping()),
                         tmp_path / "out.h5")
    msg = str(err.value)
    assert "column 'status' (state)" in msg and shown in msg and "$.columns.state" in msg


# --- duplicated buckets -------------------------------------------------------------------

DUPLICATED = [
    "2024-01-01T00:00:00Z,M1,1,5,2",
    "2024-01-01T00:05:00Z,M1,1,4,2",
    "2024-01-01T00:05:00Z,M1,1,5,9",  # the same bucket again, other values
    "2024-01-01T00:10:00Z,M1,3,0,1",
    "2024-01-01T00:00:00Z,M1,1,5,2",  # out of order, repeats the first
]


@pytest.mark.parametrize(("policy", "kept"), [("first", [5.0, 4.0, 0.0]),
                                              ("last", [5.0, 0.0, 5.0])])
def test_duplicated_buckets_keep_one_as_the_mapping_says(tmp_path, policy, kept):
    extra = {} if policy == "first" else {"duplicate_buckets": policy}
    report, out = run(tmp_path, DUPLICATED, **extra)
    assert report.count("duplicates") == 2 and len(report.issues["duplicates"].examples) == 2
    assert report.rows_stored == 3 and report.rows_read == 5
    assert report.not_stored == {
        f"duplicate bucket (same asset and start; the {policy} was kept)": 2}
    assert "duplicates: 2" in report.format()
    with Recording.open(out) as rec:
        assert rec.asset("M1").buckets["parts"].tolist() == kept
        assert len(np.unique(rec.asset("M1").buckets["start"])) == 3
        k = recording_kpis(rec)["M1"]
        assert k.parts_out == sum(kept) and 0 < k.oee <= 1.0


def test_duplicated_bucket_stops_the_import_when_the_mapping_says_fail(tmp_path):
    with pytest.raises(RecordingImportError) as err:
        run(tmp_path, DUPLICATED, duplicate_buckets="fail")
    msg = str(err.value)
    assert "row 3, asset M1" in msg and '"duplicate_buckets": "first"' in msg
    assert not (tmp_path / "out.h5").exists()


def test_replay_counts_a_repeated_bucket_once(tmp_path):
    """A recording written with a repeated bucket (older import, hand-written): replay showed
    OEE 150 % (the repeat was cut to zero length but kept its parts)."""
    path = tmp_path / "r.h5"
    with RecordingWriter.create(path, shape="buckets", source="t", bucket_length_s=300,
                                epoch_utc="2024-01-01T00:00:00+00:00",
                                assets={"M1": {"ideal_cycle_time_s": 60}}) as w:
        w.append_buckets("M1", start=[0.0, 300.0, 300.0], length=300.0, parts=[5, 5, 5],
                         state=["busy"] * 3, power_kw=[1.0, 1.0, 1.0])
    with Recording.open(path) as rec:
        r = replay_asset(rec, "M1")
        assert r.duplicate_buckets == 1 and r.produced.total == 10.0
        assert r.energy.total == 600.0
        k = recording_kpis(rec)["M1"]
        assert k.oee == pytest.approx(1.0) and k.oee <= 1.0


# --- mapping values -----------------------------------------------------------------------


@pytest.mark.parametrize(("extra", "path"), [
    ({"duplicate_buckets": "newest"}, "$.duplicate_buckets"),
    ({"shape": "event_log", "duplicate_buckets": "first", "bucket_length_s": None},
     "$.duplicate_buckets"),
    ({"bucket_length_s": 1e300}, "$.bucket_length_s"),
    ({"ideal_cycle_time_s": 1e12}, "$.ideal_cycle_time_s"),
    ({"max_silence_s": float("nan")}, "$.max_silence_s"),
    ({"assets": {"M1": {"element": "m1", "server": 10**6}}}, "$.assets['M1'].server"),
    ({"source": "plant\x00A"}, "$.source"),
    ({"assets": {"M\x001": "m1"}}, "$.assets['M\\x001']"),
    ({"states": {"1" * 200: "busy"}}, "$.states"),
    ({"scrap_values": ["x"] * 1001}, "$.scrap_values"),
    ({"csv": {"null_values": [""] * 1001}}, "$.csv.null_values"),
    ({"csv": {"encoding": "utf-16"}}, "$.csv.encoding"),
    ({"csv": {"delimiter": "\n"}}, "$.csv.delimiter"),
    ({"ideal_cycle_time_s": 10**50}, "$.ideal_cycle_time_s"),
])
def test_mapping_numbers_and_lists_are_range_checked(extra, path):
    with pytest.raises(MappingError) as err:
        mapping_from_dict(mapping(**extra))
    assert err.value.path.startswith(path), (err.value.path, str(err.value))


def test_mapping_file_with_duplicate_buckets_round_trips(tmp_path):
    f = tmp_path / "m.json"
    f.write_text(json.dumps(mapping(duplicate_buckets="last")))
    from twin.recording import load_mapping

    assert load_mapping(f).duplicate_buckets == "last"
    assert mapping_from_dict(mapping()).duplicate_buckets == "first"
