"""Lists of objects in a project file (scenarios, experiments, alert rules, periods) are read
one way: a value that is no list, a list too long and an item that is no object are each
named at their JSON path, and the other items are still read."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.errors import Problems, ProjectError
from twin.projectfile.lists import objects
from twin.projectfile.reader import load_project, project_from_json, project_to_json

STANDARD = Path(__file__).resolve().parents[2] / "projects" / "standard-line"


def test_objects_names_each_fault_at_its_path():
    problems = Problems()
    got = objects([{"a": 1}, 7, {"b": 2}], "$.x", problems, not_list="a list",
                  not_object="an object")
    assert got == [(0, "$.x[0]", {"a": 1}), (2, "$.x[2]", {"b": 2})]
    assert [(p.path, p.message, p.value) for p in problems.items] == [
        ("$.x[1]", "an object", 7)]
    assert objects(None, "$.x", problems, not_list="l", not_object="o") == []
    assert objects(None, "$.y", problems, not_list="l", not_object="o",
                   none_is_empty=False) == []
    assert objects([{}] * 3, "$.z", problems, not_list="l", not_object="o", limit=2,
                   what="things") == []
    assert [(p.path, p.message) for p in problems.items[1:]] == [
        ("$.y", "l"), ("$.z", "3 things: at most 2")]


def test_every_list_section_reports_a_stray_item_the_same_way():
    doc = project_to_json(load_project(STANDARD))
    doc["scenarios"].append("faster")
    doc["experiments"].append(3)
    doc["experiments"][0]["objectives"] = [{"response": "profit"}, None]
    doc["alerts"] = {"rules": [{"kind": "state", "id": "stops", "longer_than": 600}, "stop"]}
    doc["calendar"] = {"shifts": [{"start": "6h", "end": "14h"}, [6, 14]]}
    with pytest.raises(ProjectError) as e:
        project_from_json(doc)
    paths = {p.path: p.message for p in e.value.problems}
    n = len(doc["scenarios"]) - 1
    assert paths[f"$.scenarios[{n}]"] == 'expected {"name": ..., "overrides": [...]}'
    assert paths["$.experiments[1]"].startswith('expected {"name": ..., "factors"')
    assert paths["$.experiments[0].objectives[1]"] == ('expected {"response": "profit", '
                                                       '"sense": "max"}')
    assert paths["$.alerts.rules[1]"] == 'expected a rule object with a "kind"'
    assert paths["$.calendar.shifts[1]"] == 'expected {"start": "6h", "end": "14h"}'
    assert len(paths) == 5, paths  # the good items around them were read without a fault
