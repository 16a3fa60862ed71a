"""Mapping files: checked up front, errors name file, JSON path, value and expectation."""

from __future__ import annotations

import json

import pytest

from kernels.types import STATE_NAMES
from twin.recording import MappingError, load_mapping, mapping_from_dict, shipped_mapping
from twin.recording.mapping import normalize_label, parse_shifts

BASE = {
    "shape": "buckets",
    "source": "test",
    "columns": {"time": "ts", "asset": "asset", "state": "status", "power": "kw"},
    "bucket_length_s": 300,
    "states": {"0": "idle", "1": {"state": "busy", "label": "running"}},
}


def with_(**changes) -> dict:
    doc = json.loads(json.dumps(BASE))
    doc.update(changes)
    return doc


def test_shipped_sme_mapping_loads():
    m = load_mapping(shipped_mapping("sme_retrofit_mapping.json"))
    assert m.shape == "buckets" and m.bucket_length_s == 300.0
    assert m.states == {"0": STATE_NAMES.index("idle"), "1": STATE_NAMES.index("busy"),
                        "2": STATE_NAMES.index("busy"), "3": STATE_NAMES.index("down")}
    assert m.state_labels["2"] == "automatic production"
    assert m.columns["parts"] == "items" and m.columns["power"] == "power_avg"
    assert "10.3390/s23136078" in m.source
    assert [s.name for s in m.shifts] == ["early", "late", "night"]
    with pytest.raises(FileNotFoundError, match="available"):
        shipped_mapping("nope.json")


def test_labels_are_normalized():
    assert normalize_label("2.0") == normalize_label(2) == normalize_label(" 2 ") == "2"
    assert normalize_label(2.5) == "2.5" and normalize_label("M01") == "M01"
    assert normalize_label("-0003") == "-3"
    assert normalize_label(True) == "1"
    m = mapping_from_dict(with_(states={"2.0": "busy"}))
    assert m.states == {"2": STATE_NAMES.index("busy")}


@pytest.mark.parametrize(
    ("changes", "path", "snippet"),
    [
        ({"states": {"0": "bussy"}}, "$.states['0']", "did you mean 'busy'"),
        ({"shape": "table"}, "$.shape", "'event_log', 'buckets'"),
        ({"colums": {}}, "$.colums", "did you mean 'columns'"),
        ({"columns": {"asset": "a", "state": "s"}}, "$.columns.time", "time stamp column"),
        ({"columns": {"time": "t", "asset": "a", "stat": "s"}}, "$.columns.stat",
         "did you mean 'state'"),
        ({"columns": {"time": "t", "asset": "t", "state": "s"}}, "$.columns", "one role"),
        ({"time": {"format": "iso", "time_zone": "Mars/Olympus"}}, "$.time.time_zone", "IANA"),
        ({"time": {"format": "dd.mm.yyyy"}}, "$.time.format", "strptime pattern"),
        ({"bucket_length_s": -5}, "$.bucket_length_s", "positive number"),
        ({"bucket_length_s": None}, "$.bucket_length_s", "columns.length"),
        ({"source": ""}, "$.source", "where the data comes from"),
        ({"on_bad_rows": "ignore"}, "$.on_bad_rows", "'report', 'fail'"),
        ({"assets": {"M1": {"element": 3}}}, "$.assets['M1'].element", "element id"),
        ({"states": {"1": "busy", "1.0": "idle"}}, "$.states['1.0']", "listed once"),
        ({"shifts": [{"name": "a", "start": "14:00"}, {"name": "b", "start": "06:00"}]},
         "$.shifts[1].start", "after the previous shift"),
        ({"shifts": [{"name": "a", "start": "25:00"}]}, "$.shifts[0].start", "HH:MM"),
        ({"csv": {"delimiter": ";;"}}, "$.csv.delimiter", "single character"),
        ({"mapping_version": 2}, "$.mapping_version", "1"),
    ],
)
def test_errors_name_path_value_and_expectation(tmp_path, changes, path, snippet):
    file = tmp_path / "m.json"
    file.write_text(json.dumps(with_(**changes)))
    with pytest.raises(MappingError) as err:
        load_mapping(file)
    assert err.value.file == str(file)
    assert err.value.path == path
    msg = str(err.value)
    assert msg.startswith(f"{file}: {path}: ")
    assert snippet in msg
    assert "expected" in msg


def test_a_misspelt_key_reads_as_a_sentence_and_a_project_is_not_a_mapping(tmp_path):
    """"expected did you mean 'mapping_version'? one of the keys [...]" read as garbled; a
    project.json given as the mapping was refused for its first key, not for what it is."""
    file = tmp_path / "m.json"
    file.write_text(json.dumps(with_(colums={})))
    with pytest.raises(MappingError) as err:
        load_mapping(file)
    assert str(err.value).startswith(
        f"{file}: $.colums: found 'colums'; expected one of the keys ['")
    assert str(err.value).endswith("] (did you mean 'columns'?)")
    project = tmp_path / "project.json"
    project.write_text(json.dumps({"schema_version": 1, "name": "my line",
                                   "elements": [], "connections": []}))
    with pytest.raises(MappingError) as err:
        load_mapping(project)
    assert str(err.value) == (
        f"{project}: $: found \"project 'my line'\"; expected a mapping file, not a twinbench "
        "project: give the file that maps the data's columns, states and assets (e.g. "
        "resources/mappings/sme_retrofit_mapping.json; docs/recording-format.md)")


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(MappingError, match="existing mapping file"):
        load_mapping(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"shape": "buckets",\n "source": }')
    with pytest.raises(MappingError, match=r"line 2 column 12.*valid JSON"):
        load_mapping(bad)


def test_asset_column_or_single_asset_id():
    doc = with_(columns={"time": "ts", "state": "status"})
    with pytest.raises(MappingError, match=r"\$\.asset_id: missing"):
        mapping_from_dict(doc)
    doc["asset_id"] = "press 1"
    assert mapping_from_dict(doc).asset_id == "press 1"
    with pytest.raises(MappingError, match="no asset_id when columns.asset"):
        mapping_from_dict(with_(asset_id="x"))


def test_assets_and_defaults():
    m = mapping_from_dict(with_(assets={"1.0": "lathe", "M2": {"name": "Mill", "element": "mill",
                                                               "ideal_cycle_time_s": 42}}))
    assert m.asset("1").element == "lathe"
    assert m.asset("M2").ideal_cycle_time_s == 42.0
    assert m.asset("other").element == ""
    assert m.time_format == "iso" and m.time_zone == "UTC" and m.on_bad_rows == "report"
    assert m.csv.null_values == ("",)
    shifts = parse_shifts([{"name": "day", "start": "7:30"}, {"name": "night", "start": "19:30"}])
    assert [(s.name, s.start_min) for s in shifts] == [("day", 450), ("night", 1170)]
    assert shifts[0].to_json() == {"name": "day", "start": "07:30"}
