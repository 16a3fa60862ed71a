"""The project file: round trip, atomic save, and every problem named with file and JSON path."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest
from oracles.lines import MANY_FAULTS, RICH, serial_line, station

import twin.projectfile.reader
from twin.errors import ProjectError
from twin.model import elements as m
from twin.projectfile.reader import (
    SCHEMA_VERSION,
    dumps,
    element_from_json,
    load_project,
    project_from_json,
    project_to_json,
    save_project,
    with_scenario,
)

# RICH plus everything else a file can hold
FULL = copy.deepcopy(RICH)
FULL.update({
    "description": "all features",
    "run": {"horizon": "8h", "warmup": "30min", "replications": 7, "seed": 3,
            "sample_interval": 60},
    "tariff": {"price_per_kwh": 0.2, "currency": "CHF"},
    "meta": {"author": "tests"},
    "scenarios": [
        {"name": "fast m3", "description": "a quicker m3",
         "overrides": [{"element": "m3", "path": "process_time", "value": 0.6}]},
        {"name": "short day", "overrides": [{"path": "calendar.shifts",
                                             "value": [{"start": 0, "end": 1800}]}]}],
})
FULL["elements"][0].update(name="Raw material", position=[1, 2, 0], rotation=90,
                           footprint=[2, 3])
# (the product_mix works around the phantom 'part' product of schedule sources, see
# tests/twin/test_traces.py::test_schedule_products_only_need_process_times)
FULL["elements"].insert(1, {"id": "orders", "kind": "source", "when_blocked": "lose",
                            "schedule": [[0, "A", 3], ["1h", "B", 2]], "schedule_period": "2h",
                            "product_mix": {"A": 1.0}})
FULL["connections"].append(["orders", "q"])


def test_round_trip_load_save_load(make_project, tmp_path):
    first = load_project(make_project(FULL))
    doc1 = project_to_json(first)
    saved = save_project(first, tmp_path / "copy")
    assert saved == tmp_path / "copy" / "project.json"
    second = load_project(tmp_path / "copy")
    assert project_to_json(second) == doc1
    # saving again writes the very same text: diffs stay quiet
    assert dumps(second) == saved.read_text(encoding="utf-8")
    # and what was read is what the file says
    assert first.run == m.RunSettings(8 * 3600.0, 1800.0, 7, 3, 60.0)
    assert first.element("orders").schedule == [(0.0, "A", 3), (3600.0, "B", 2)]
    assert first.element("src").position == (1.0, 2.0, 0.0)
    assert first.tariff.currency == "CHF" and first.meta == {"author": "tests"}
    assert [s.name for s in first.scenarios] == ["fast m3", "short day"]
    assert json.loads(saved.read_text())["schema_version"] == SCHEMA_VERSION


def test_save_is_atomic_when_the_rename_fails(make_project, monkeypatch):
    folder = make_project(serial_line([station("m1", 1)], []))
    before = (folder / "project.json").read_bytes()
    project = load_project(folder)
    project.add_element(m.Buffer("extra", capacity=3))

    def crash(*_args, **_kw):
        raise OSError("disk pulled out")

    monkeypatch.setattr(twin.projectfile.reader.os, "replace", crash)
    with pytest.raises(OSError, match="disk pulled out"):
        save_project(project, folder)
    assert (folder / "project.json").read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["project.json"]


def test_save_is_atomic_when_writing_fails_midway(make_project, monkeypatch):
    folder = make_project(serial_line([station("m1", 1)], []))
    before = (folder / "project.json").read_bytes()
    project = load_project(folder)
    project.name = "renamed"

    def crash(_fd):
        raise OSError("power cut")

    monkeypatch.setattr(twin.projectfile.reader.os, "fsync", crash)
    with pytest.raises(OSError, match="power cut"):
        save_project(project, folder)
    assert (folder / "project.json").read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["project.json"]
    monkeypatch.undo()
    save_project(project, folder)
    assert load_project(folder).name == "renamed"


def problems_of(excinfo):
    return {(p.path, p.message.split(";")[0].split(":")[0]) for p in excinfo.value.problems}


def test_bad_json_reports_file_line_and_column(make_project):
    folder = make_project('{\n  "name": "x",\n  "elements": [,]\n}')
    with pytest.raises(ProjectError) as exc:
        load_project(folder)
    text = str(exc.value)
    assert str(folder / "project.json") in text
    assert "line 3, column 16" in text  # the comma after "[" and "invalid JSON" in text


def test_not_utf8_is_reported(make_project):
    folder = make_project("{}")
    (folder / "project.json").write_bytes(b'{"name": "\xff"}')
    with pytest.raises(ProjectError, match="not UTF-8"):
        load_project(folder)


def test_missing_project_is_reported(tmp_path):
    with pytest.raises(ProjectError, match="no such project"):
        load_project(tmp_path / "nowhere")


def test_a_file_that_is_no_project_is_named_as_given(tmp_path):
    # `twinbench check README.md` said "README.md/project.json: no such project"
    readme = tmp_path / "README.md"
    readme.write_text("# notes\n")
    with pytest.raises(ProjectError) as exc:
        load_project(readme)
    assert exc.value.file == str(readme)
    assert "not a project: give a project folder" in str(exc.value)
    assert "README.md/project.json" not in str(exc.value)


def test_a_mapping_file_is_told_apart_from_a_project():
    # both are .json: the mapping was checked as a project and drew 14 "unknown field" lines
    mapping = Path(__file__).resolve().parents[2] / "resources/mappings/sme_retrofit_mapping.json"
    with pytest.raises(ProjectError) as exc:
        load_project(mapping)
    assert len(exc.value.problems) == 1
    assert "this is a mapping file (for twinbench import --mapping), not a project" in \
        str(exc.value)


def test_every_problem_in_one_error_with_file_and_path(make_project):
    folder = make_project(MANY_FAULTS)
    with pytest.raises(ProjectError) as exc:
        load_project(folder)
    file = str(folder / "project.json")
    got = {p.path: p for p in exc.value.problems}
    assert "$.elements[1].process_time.mean" in got  # negative mean
    assert got["$.elements[1].process_time.mean"].value == -3
    assert "duplicate id" in got["$.elements[2].id"].message
    assert "unknown element kind" in got["$.elements[3].kind"].message
    assert got["$.elements[3].kind"].value == "widget"
    assert "unknown distribution" in got["$.elements[4].process_time.dist"].message
    assert "'ghost'" in got["$.connections[3]"].message
    assert any("parts cannot leave" in p.message and p.value == "m3"
               for p in exc.value.problems)
    assert len(exc.value.problems) == 6
    # the message lists each problem on its own line, each with the file name
    lines = str(exc.value).splitlines()
    assert lines[0] == f"6 problems in {file}:"
    assert all(line.startswith(f"  - {file}: $.") for line in lines[1:])


def test_connection_to_an_unreadable_element_points_at_it(make_project):
    # a typo in a kind is one mistake: the connections to that element do not also call it
    # missing, they point at the element that could not be read
    doc = serial_line([station("m1", 1)], [])
    doc["elements"][0]["kind"] = "sorce"
    doc["connections"].append(["m1", "nowhere"])
    with pytest.raises(ProjectError) as exc:
        load_project(make_project(doc))
    src = doc["elements"][0]["id"]
    to_src = [p for p in exc.value.problems if p.value == [src, "m1"]]
    assert [p.message for p in to_src] == [
        f"connects to {src!r}, which could not be read: see $.elements[0]"]
    assert any("'nowhere', which is not an element" in p.message for p in exc.value.problems)
    assert "unknown element kind" in {p.path: p for p in exc.value.problems}[
        "$.elements[0].kind"].message


def test_structural_problems_point_at_the_element_in_the_file(make_project):
    with pytest.raises(ProjectError) as exc:
        load_project(make_project(MANY_FAULTS))
    leave = [p for p in exc.value.problems if "parts cannot leave" in p.message]
    assert [p.path for p in leave] == ["$.elements[5]"]


def test_structural_problem_paths_without_dropped_elements(make_project):
    doc = serial_line([station("m1", 1), station("m2", 1)], [0])
    doc["elements"].insert(2, {"id": "dead", "kind": "station", "process_time": 1})
    doc["connections"].append(["m1", "dead"])
    with pytest.raises(ProjectError) as exc:
        load_project(make_project(doc))
    assert [(p.path, p.value) for p in exc.value.problems] == [("$.elements[2]", "dead")]


def test_newer_schema_version_is_refused_with_advice(make_project):
    doc = {**serial_line([station("m1", 1)], []), "schema_version": SCHEMA_VERSION + 1}
    folder = make_project(doc)
    with pytest.raises(ProjectError) as exc:
        load_project(folder)
    (problem,) = exc.value.problems
    assert problem.path == "$.schema_version" and problem.value == SCHEMA_VERSION + 1
    assert "newer twinbench" in problem.message and "update twinbench" in problem.message
    assert str(folder / "project.json") in str(exc.value)


@pytest.mark.parametrize("fault, path, words", [
    ({"elements": []}, "$.elements", "non-empty list"),
    ({"connections": [["src", "m1", -1]]}, "$.connections[0]", ">= 0"),
    ({"run": {"horizon": "8 parsecs"}}, "$.run.horizon", "duration"),
    ({"run": {"replications": 0}}, "$.run.replications", ">= 1"),
    ({"calendar": {"shifts": [{"start": "14h", "end": "6h"}]}}, "$.calendar.shifts[0].end",
     "after start"),
    ({"colour": "red"}, "$.colour", "unknown field"),
])
def test_single_faults_name_their_path(fault, path, words):
    doc = {**serial_line([station("m1", 1)], []), **fault}
    with pytest.raises(ProjectError) as exc:
        project_from_json(doc, "plant/project.json")
    hits = [p for p in exc.value.problems if p.path == path]
    assert hits and words in hits[0].message, exc.value
    assert "plant/project.json" in str(exc.value)


def test_a_shift_past_the_period_is_named_by_its_own_index():
    """The plant dialog's row 2 ("late", end 30h) was reported as shifts[0] when row 1 held
    a bad start: the check counted the shifts that read, not the file's list; and a bad start
    was reported twice (its duration, then "needs 'start' and 'end'")."""
    from twin.projectfile.reader import read_calendar

    cal, problems = read_calendar({"period": "24h", "shifts": [
        {"start": "abc", "end": "14h", "name": "early"},
        {"start": "14h", "end": "30h", "name": "late"}]})
    assert cal is None
    assert problems == [
        "$.calendar.shifts[0].start: expected a duration such as 3600, '8h', '30min' or "
        "'1h30min', got 'abc' (found 'abc')",
        "$.calendar.shifts[1].end: must lie within the period (86400 s = 24 h) "
        "(found '30h')"]
    # the calendar editor writes seconds: a bare "found 108000.0" said nothing of its unit
    assert read_calendar({"period": 86400, "shifts": [{"start": 21600, "end": 108000.0},
                                                       {"start": 7200, "end": 3600}]})[1] == [
        "$.calendar.shifts[0].end: must lie within the period (86400 s = 24 h) "
        "(found 108000 s = 30 h)",
        "$.calendar.shifts[1].end: must be after start (7200 s = 2 h); split a shift that "
        "crosses midnight in two (found 3600 s = 1 h)"]
    # a missing end is still said so
    assert read_calendar({"shifts": [{"start": "6h"}]})[1][0] == (
        "$.calendar.shifts[0]: needs 'start' and 'end'")


@pytest.mark.parametrize("element_fault, path", [
    ({"process_time": {"dist": "triangular", "low": 5, "mode": 2, "high": 9}},
     "$.elements[1].process_time.mode"),
    ({"process_time": {"dist": "gamma", "shape": 2}}, "$.elements[1].process_time"),
    ({"process_time": {"dist": "exponential", "mean": 0}}, "$.elements[1].process_time.mean"),
    ({"process_time": {"dist": "normal", "mean": 5, "sd": -1}},
     "$.elements[1].process_time.sd"),
    ({"servers": 0}, "$.elements[1].servers"),
    ({"scrap": 1.5}, "$.elements[1].scrap"),
    ({"power_kw": {"busy": -1}}, "$.elements[1].power_kw"),
    ({"failures": {"time_to_failure": 10}}, "$.elements[1].failures.time_to_repair"),
    ({"maintenance": {"duration": 5}}, "$.elements[1].maintenance"),
])
def test_bad_station_parameters_name_their_path(element_fault, path):
    doc = serial_line([station("m1", 1, **element_fault)], [])
    with pytest.raises(ProjectError) as exc:
        project_from_json(doc)
    assert path in {p.path for p in exc.value.problems}, exc.value


def test_unknown_scenario_element_is_a_problem():
    doc = {**serial_line([station("m1", 1)], []), "scenarios": [
        {"name": "bad", "overrides": [{"element": "nope", "path": "scrap", "value": 0.1}]}]}
    with pytest.raises(ProjectError) as exc:
        project_from_json(doc)
    (problem,) = exc.value.problems
    assert problem.path == "$.scenarios[0]" and "'nope'" in problem.message


def test_scenario_overrides_apply():
    doc = copy.deepcopy(FULL)
    project = project_from_json(doc)
    fast = with_scenario(project, "fast m3")
    assert fast.element("m3").process_time == m.Distribution("constant", {"value": 0.6})
    assert project.element("m3").process_time.dist == "triangular"  # base untouched
    short = with_scenario(project, "short day")
    assert short.calendar.shifts == (m.Period(0.0, 1800.0),)
    assert project.calendar.shifts == (m.Period(0.0, 3000.0),)
    assert with_scenario(project, "base") is project
    with pytest.raises(KeyError, match="fast m3, short day"):
        with_scenario(project, "no such")


def test_a_scenario_that_breaks_the_project_is_reported_by_name():
    # caught when the file is read (and so by 'twinbench check'), not when the run starts
    doc = {**serial_line([station("m1", 1)], []), "scenarios": [
        {"name": "broken", "overrides": [{"element": "m1", "path": "scrap", "value": 2}]}]}
    with pytest.raises(ProjectError) as exc:
        project_from_json(doc)
    assert exc.value.problems[0].path == "$.scenarios[0] (broken) -> $.elements[1].scrap"


def test_scenario_changes_the_simulated_line(run_doc):
    # m1 1 s, one place, m2 2 s: a part every 2 s from t=3 (4 parts by t=10); the scenario
    # makes m2 take 1 s: a part every second from t=2 (9 parts by t=10)
    doc = {**serial_line([station("m1", 1), station("m2", 2)], [1]), "scenarios": [
        {"name": "fast m2", "overrides": [{"element": "m2", "path": "process_time",
                                           "value": 1}]}]}
    from twin.sim.runner import RunSpec, run_project

    res = run_project(project_from_json(doc), ["base", "fast m2"],
                      RunSpec(horizon=10.0, replications=1))
    good = {name: sr.replications[0].line_out[0] for name, sr in res.scenarios.items()}
    assert good == {"base": 4, "fast m2": 9}


def test_durations_in_the_file(make_project):
    doc = {**serial_line([station("m1", 1)], []),
           "run": {"horizon": "1h30min", "warmup": "90s", "sample_interval": "1min"}}
    run = load_project(make_project(doc)).run
    assert (run.horizon, run.warmup, run.sample_interval) == (5400.0, 90.0, 60.0)


def test_environment_keeps_no_temporary_files(make_project, tmp_path):
    folder = make_project(FULL)
    for _ in range(3):
        save_project(load_project(folder), folder)
    assert sorted(os.listdir(folder)) == ["project.json"]


BASE_DOC = {
    "schema_version": 1,
    "elements": [
        {"id": "src", "kind": "source"},
        {"id": "m1", "kind": "station", "process_time": {"dist": "exponential", "mean": 1.0}},
        {"id": "out", "kind": "sink"},
    ],
    "connections": [["src", "m1"], ["m1", "out"]],
}


def _problems_of(doc):
    from twin.errors import ProjectError
    from twin.projectfile.reader import project_from_json

    with pytest.raises(ProjectError) as err:
        project_from_json(doc, "p.json")
    return [(p.path, p.message) for p in err.value.problems]


@pytest.mark.parametrize("patch, path", [
    ({"scenarios": [{"name": "a", "overrides": None}]}, "$.scenarios[0].overrides"),
    ({"tariff": {"hourly": None}}, "$.tariff.hourly"),
    ({"tariff": {"hourly": 0}}, "$.tariff.hourly"),
    ({"scenarios": [{"name": "base", "overrides": []}]}, "$.scenarios[0].name"),
    ({"scenarios": [{"name": "a", "overrides": []}, {"name": "a", "overrides": []}]},
     "$.scenarios[1].name"),
    ({"scenarios": [{"name": "a", "overrides": [{"path": "run.horizon", "value": 5}]}]},
     "$.scenarios[0].overrides[0].path"),
])
def test_malformed_values_are_problems_not_crashes(patch, path):
    import copy

    doc = copy.deepcopy(BASE_DOC)
    doc.update(patch)
    assert path in [p for p, _ in _problems_of(doc)]


@pytest.mark.parametrize("field, value, path", [
    ("process_time", None, "$.elements[1].process_time"),
    ("failures", {"basis": "operating", "time_to_failure": None, "time_to_repair": 5},
     "$.elements[1].failures.time_to_failure"),
    ("maintenance", {"every_operations": 10, "duration": None},
     "$.elements[1].maintenance.duration"),
])
def test_required_values_given_as_null_are_reported(field, value, path):
    import copy

    doc = copy.deepcopy(BASE_DOC)
    doc["elements"][1][field] = value
    assert path in [p for p, _ in _problems_of(doc)]


def test_a_scenario_that_breaks_the_plant_is_reported_by_check():
    import copy

    doc = copy.deepcopy(BASE_DOC)
    doc["scenarios"] = [{"name": "bad", "overrides": [
        {"element": "m1", "path": "servers", "value": -3}]}]
    paths = [p for p, _ in _problems_of(doc)]
    assert any(p.startswith("$.scenarios[0] (bad) -> $.elements[1].servers") for p in paths)


# --- custom station meshes ---------------------------------------------------------------------
def _mesh_doc(mesh) -> dict:
    doc = copy.deepcopy(BASE_DOC)
    doc["elements"][1]["mesh"] = mesh
    return doc


def _with_mesh_file(make_project, mesh, files=("meshes/press.stl",)):
    folder = make_project(_mesh_doc(mesh))
    for f in files:
        (folder / f).parent.mkdir(parents=True, exist_ok=True)
        (folder / f).write_bytes(b"solid press\nendsolid press\n")
    return folder


def test_mesh_field_reads_writes_and_round_trips(make_project, tmp_path):
    folder = _with_mesh_file(make_project, {"file": "meshes/press.stl", "scale": 0.001})
    project = load_project(folder)
    assert project.element("m1").mesh == m.Mesh("meshes/press.stl", 0.001)
    assert project_to_json(project)["elements"][1]["mesh"] == {"file": "meshes/press.stl",
                                                               "scale": 0.001}
    save_project(project, folder)
    assert load_project(folder).element("m1").mesh == m.Mesh("meshes/press.stl", 0.001)
    # a bare string is the short form with scale 1 (files written before the object form)
    short = _with_mesh_file(make_project, "meshes/press.stl")
    assert load_project(short).element("m1").mesh == m.Mesh("meshes/press.stl", 1.0)


@pytest.mark.parametrize("mesh, path, words", [
    ({"file": "meshes/press.ply"}, "$.elements[1].mesh.file", "unsupported mesh format '.ply'"),
    ({"file": "meshes/press"}, "$.elements[1].mesh.file", "unsupported mesh format"),
    ({"file": "meshes/press.stl", "scale": 0}, "$.elements[1].mesh.scale", "> 0"),
    ({"file": "meshes/press.stl", "scale": -1}, "$.elements[1].mesh.scale", "> 0"),
    ({"file": "meshes/press.stl", "scale": "1mm"}, "$.elements[1].mesh.scale", "> 0"),
    ({"file": "meshes/press.stl", "scale": True}, "$.elements[1].mesh.scale", "> 0"),
    ({"file": "/abs/press.stl"}, "$.elements[1].mesh.file", "relative to the project folder"),
    ({"file": "C:\\cad\\press.stl"}, "$.elements[1].mesh.file", "relative"),
    ({"file": "../press.stl"}, "$.elements[1].mesh.file", "inside the project folder"),
    ({"file": ""}, "$.elements[1].mesh.file", "needs the mesh file"),
    ({"scale": 2}, "$.elements[1].mesh.file", "needs the mesh file"),
    ({"file": "meshes/press.stl", "units": "mm"}, "$.elements[1].mesh.units", "unknown field"),
    (5, "$.elements[1].mesh", "expected a file name"),
])
def test_mesh_problems_name_their_path(make_project, mesh, path, words):
    folder = _with_mesh_file(make_project, mesh)
    with pytest.raises(ProjectError) as exc:
        load_project(folder)
    hits = [p for p in exc.value.problems if p.path == path]
    assert hits and words in hits[0].message, exc.value
    assert str(folder / "project.json") in str(exc.value)


def test_mesh_files_are_checked_only_with_a_folder():
    # a document in memory (a scenario's variant, the inspector's check) names no folder
    el = project_from_json(_mesh_doc({"file": "meshes/elsewhere.STL", "x-cad": "P-17"}))
    assert el.element("m1").mesh == m.Mesh("meshes/elsewhere.STL", 1.0)
    assert project_from_json(_mesh_doc(None)).element("m1").mesh is None


@pytest.mark.parametrize("mesh, path", [({"file": "meshes/gone.stl", "scale": 0.001},
                                          "$.elements[1].mesh.file"),
                                         ("meshes/gone.obj", "$.elements[1].mesh")])
def test_a_missing_mesh_file_is_a_warning_and_the_project_opens(make_project, tmp_path, mesh,
                                                                path):
    folder = make_project(_mesh_doc(mesh))
    project = load_project(folder)
    file = mesh if isinstance(mesh, str) else mesh["file"]
    # the station keeps its mesh as written; the reader says which station, which file, the fix
    assert project.element("m1").mesh == m.Mesh(file, 0.001 if isinstance(mesh, dict) else 1.0)
    [w] = project.warnings
    assert w.path == path and w.value == file
    assert "station 'm1'" in w.message and str(folder / file) in w.message
    assert "copy the file there" in w.message and "Import mesh" in w.message
    # saving keeps the reference (no data loss), and the file found later is drawn again
    save_project(project, tmp_path / "moved")
    assert json.loads((tmp_path / "moved" / "project.json").read_text(encoding="utf-8"))[
        "elements"][1]["mesh"] == {"file": file, "scale": project.element("m1").mesh.scale}
    assert len(load_project(tmp_path / "moved").warnings) == 1
    (tmp_path / "moved" / file).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "moved" / file).write_bytes(b"solid\nendsolid\n")
    assert load_project(tmp_path / "moved").warnings == []
    # a document in memory checks names only; the inspector's check of a typed path refuses it
    assert project_from_json(_mesh_doc(mesh)).warnings == []
    with pytest.raises(ProjectError, match="no such file in the project folder"):
        element_from_json(_mesh_doc(mesh)["elements"][1], "$.elements[1]", folder)
    # a malformed value is still a load error, missing file or not
    bad = make_project(_mesh_doc({"file": "meshes/gone.stl", "scale": -1}), name="bad")
    with pytest.raises(ProjectError, match="must be a number > 0"):
        load_project(bad)


def test_a_scenario_with_a_missing_mesh_is_a_warning(make_project):
    doc = _mesh_doc({"file": "meshes/press.stl"})
    doc["scenarios"] = [{"name": "new press", "overrides": [
        {"element": "m1", "path": "mesh.file", "value": "meshes/press-2.stl"}]}]
    folder = make_project(doc)
    (folder / "meshes").mkdir()
    (folder / "meshes" / "press.stl").write_bytes(b"solid\nendsolid\n")
    project = load_project(folder)
    assert [(w.path, w.value) for w in project.warnings] == [
        ("$.scenarios[0] (new press) -> $.elements[1].mesh.file", "meshes/press-2.stl")]
    # the base's own missing mesh is reported once, not again for each scenario
    (folder / "meshes" / "press.stl").unlink()
    assert [w.path for w in load_project(folder).warnings] == [
        "$.elements[1].mesh.file", "$.scenarios[0] (new press) -> $.elements[1].mesh.file"]


def test_save_as_takes_the_mesh_files_along(make_project, tmp_path):
    folder = _with_mesh_file(make_project, {"file": "meshes/press.stl", "scale": 0.01})
    project = load_project(folder)
    save_project(project, tmp_path / "elsewhere")
    copied = tmp_path / "elsewhere" / "meshes" / "press.stl"
    assert copied.read_bytes() == (folder / "meshes" / "press.stl").read_bytes()
    assert project.path == tmp_path / "elsewhere"
    assert load_project(tmp_path / "elsewhere").element("m1").mesh.scale == 0.01
    assert sorted(os.listdir(tmp_path / "elsewhere" / "meshes")) == ["press.stl"]


def test_a_recovery_copy_finds_its_meshes_at_the_origin(make_project, tmp_path):
    folder = _with_mesh_file(make_project, {"file": "meshes/press.stl"})
    recovery = tmp_path / "recovery" / "project.json"
    recovery.parent.mkdir()
    recovery.write_text(dumps(load_project(folder)), encoding="utf-8")
    # the copy's own folder holds no meshes: the reader warns
    assert [w.value for w in load_project(recovery).warnings] == ["meshes/press.stl"]
    project = load_project(recovery, folder=folder)
    assert project.path == folder and project.element("m1").mesh.file == "meshes/press.stl"
    assert project.warnings == []


def test_import_mesh_copies_into_the_project_folder(tmp_path):
    from twin.projectfile.meshes import import_mesh

    cad = tmp_path / "cad"
    cad.mkdir()
    (cad / "Press.STL").write_bytes(b"one")
    plant = tmp_path / "plant"
    assert import_mesh(plant, cad / "Press.STL") == "meshes/Press.stl"
    assert (plant / "meshes" / "Press.stl").read_bytes() == b"one"
    assert import_mesh(plant, cad / "Press.STL") == "meshes/Press.stl"  # same file: reused
    (cad / "Press.STL").write_bytes(b"two")  # same name, other content: a free name
    assert import_mesh(plant, cad / "Press.STL") == "meshes/Press_2.stl"
    assert (plant / "meshes" / "Press.stl").read_bytes() == b"one"
    (cad / "press.ply").write_bytes(b"ply")
    with pytest.raises(ValueError, match="unsupported mesh format '.ply'"):
        import_mesh(plant, cad / "press.ply")
    with pytest.raises(FileNotFoundError):
        import_mesh(plant, cad / "gone.obj")
    assert sorted(os.listdir(plant / "meshes")) == ["Press.stl", "Press_2.stl"]


# --- the layout of the saved file -------------------------------------------------------------
def test_strings_with_brackets_are_saved_as_written(make_project, tmp_path):
    doc = copy.deepcopy(FULL)
    doc["description"] = "line [ 2 ]  { see [ map ] }"
    doc["elements"][0]["name"] = "[ raw material ]"
    project = load_project(make_project(doc))
    save_project(project, tmp_path / "copy")
    again = load_project(tmp_path / "copy")
    assert again.description == "line [ 2 ]  { see [ map ] }"
    assert again.element("src").name == "[ raw material ]"


SAVE_TIMING = """
import random, sys, time
sys.path.insert(0, "tests")
from oracles.lines import serial_line, station
from twin.projectfile.reader import dumps, project_from_json, save_project

def project(n):
    rng = random.Random(n)
    text = lambda: "".join(rng.choice("[ ") for _ in range(n))
    worst = "[" + " " * (n - 1)  # three ways to split the spaces after a '['
    # names are at most 200 characters (docs/limits.md): the long strings go where any
    # length is allowed, a description and a custom field
    doc = serial_line([station("m1", 1.0, **{"x-note": worst})], [], name=text()[:200],
                      description=worst)
    doc["scenarios"] = [{"name": "s", "description": text(), "overrides": []}]
    return project_from_json(doc)

def best(p):
    times = []
    for _ in range(5):
        t = time.perf_counter()
        dumps(p)
        times.append(time.perf_counter() - t)
    return min(times)

small, big = project(1000), project(8000)
best(small)
print(best(small), best(big))
save_project(project(10000), sys.argv[1])
"""


def test_saving_takes_linear_time_in_the_length_of_strings(tmp_path):
    # strings of '[' and spaces took cubic time (9.7 s to save at 3,000 characters): the
    # old layout regex backtracked from every '['. A subprocess, so that a regression
    # fails on the timeout instead of hanging the suite.
    import subprocess
    import sys
    from pathlib import Path

    out = subprocess.run([sys.executable, "-c", SAVE_TIMING, str(tmp_path / "p")],
                         cwd=Path(__file__).resolve().parents[2], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    small, big = map(float, out.stdout.split())
    # 8x the characters: about 8x the time when linear (less, with the fixed part),
    # 64x when quadratic, 512x when cubic
    assert big < 20 * small, (small, big)
    assert len(load_project(tmp_path / "p").description) == 10000
