"""The head of a data file and what a mapping makes of its columns (the import dialog's preview)."""

import gzip

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from twin.recording import mapping_from_dict
from twin.recording.errors import RecordingImportError
from twin.recording.mapping import CsvOptions
from twin.recording.preview import (
    column_roles,
    explain_cell,
    guess_roles,
    read_head,
    state_codes,
)

CSV = ("Zeit;Maschine;Status;Stueck\n"
       "2024-01-01 06:00;M1;2;5\n"
       "2024-01-01 06:05;M1;2.0;6\n"
       "2024-01-01 06:10;M2; 7 ;0\n"
       '"2024-01-01 06:15";M2;3;\n')


def test_a_csv_head_with_the_mapping_s_delimiter(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text(CSV, encoding="utf-8")
    head = read_head(f, rows=3, options=CsvOptions(delimiter=";"))
    assert head.kind == "csv"
    assert head.columns == ["Zeit", "Maschine", "Status", "Stueck"]
    assert head.rows == [["2024-01-01 06:00", "M1", "2", "5"],
                         ["2024-01-01 06:05", "M1", "2.0", "6"],
                         ["2024-01-01 06:10", "M2", "7", "0"]]
    # all rows, codes normalized ("2.0" is "2"), most common first
    assert state_codes(read_head(f, options=CsvOptions(delimiter=";")), "Status") == \
        ["2", "7", "3"]
    # the wrong delimiter: one column of everything, as the preview then shows
    assert read_head(f).columns == ["Zeit;Maschine;Status;Stueck"]


def test_gzip_and_parquet_heads(tmp_path):
    gz = tmp_path / "d.csv.gz"
    with gzip.open(gz, "wt", encoding="utf-8") as out:
        out.write(CSV.replace(";", ","))
    assert read_head(gz, rows=1).rows == [["2024-01-01 06:00", "M1", "2", "5"]]
    pqf = tmp_path / "d.parquet"
    pq.write_table(pa.table({"ts": [1.5, 2.5, None], "state": ["a", "b", "c"]}), pqf)
    head = read_head(pqf, rows=2)
    assert head.kind == "parquet" and head.columns == ["ts", "state"]
    assert head.rows == [["1.5", "a"], ["2.5", "b"]]
    assert read_head(pqf).rows[2] == ["", "c"]


def test_unreadable_files_are_named_with_the_fix(tmp_path):
    with pytest.raises(RecordingImportError, match="no such data file; check the path"):
        read_head(tmp_path / "missing.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(RecordingImportError, match="the file is empty; expected a header"):
        read_head(empty)
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 not really")
    with pytest.raises(RecordingImportError, match="cannot be read as Parquet"):
        read_head(bad)


def test_roles_guessed_from_names_and_cells_explained():
    assert guess_roles(["ts", "asset", "items", "status", "power_avg", "product", "x"]) == {
        "time": "ts", "asset": "asset", "state": "status", "parts": "items",
        "power": "power_avg", "product": "product"}
    assert guess_roles(["Timestamp", "Machine", "STATE"]) == {
        "time": "Timestamp", "asset": "Machine", "state": "STATE"}
    m = mapping_from_dict({"shape": "event_log", "source": "test",
                           "columns": {"time": "Zeit", "asset": "Maschine", "state": "Status"},
                           "states": {"2": "busy", "3": "down"}})
    assert column_roles(m) == {"Zeit": "time", "Maschine": "asset", "Status": "state"}
    assert explain_cell(m, "state", "2.0") == "busy"
    assert explain_cell(m, "state", " 3 ") == "down"
    assert explain_cell(m, "state", "7") == "unknown code: add it to the states"
    assert explain_cell(m, "state", "") == ""  # empty: a missing value, not a code
    assert explain_cell(m, "asset", "M1") == ""
