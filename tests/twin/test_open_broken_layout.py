"""A layout the workbench can save opens again: faults of the flow (a half-built line, loose
ends, an empty project) are kept in ``Project.problems`` for the editor, and still stop a run
and ``twinbench check``. Malformed values still refuse to open."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from twin.errors import ProjectError
from twin.model import commands as cmd
from twin.model import elements as m
from twin.projectfile.reader import (
    load_project,
    project_from_json,
    project_to_json,
    require_runnable,
    save_project,
    structure_problems,
)
from twin.sim.runner import RunSpec, run_project

ROOT = Path(__file__).resolve().parents[2]
STANDARD = ROOT / "projects" / "standard-line"
BOTTLING = ROOT / "projects" / "bottling-line"


def _middle(project: m.Project) -> m.Element:
    """A station with a predecessor and a successor, which no scenario names: deleting it
    cuts the line in two."""
    succ, pred = project.adjacency()
    named = {o.element for s in project.scenarios for o in s.overrides}
    return next(el for el in project.elements if el.kind == "station" and succ.get(el.id)
                and pred.get(el.id) and el.id not in named)


def test_a_line_cut_in_the_middle_opens_for_editing_but_does_not_run(tmp_path):
    project = load_project(BOTTLING)
    gone = _middle(project)
    before = [c.source for c in project.connections if c.target == gone.id]
    stack = cmd.UndoStack(project)
    stack.push(cmd.RemoveElement(gone.id))
    save_project(project, tmp_path / "cut")

    with pytest.raises(ProjectError) as strict:  # the command line's reading: as before
        load_project(tmp_path / "cut")
    assert "parts cannot leave this element" in str(strict.value)

    opened = load_project(tmp_path / "cut", strict=False)
    assert opened.problems, "the loose end is listed"
    texts = [p.message for p in opened.problems]
    loose = opened.element(before[0])
    assert any(t.startswith(f"{loose.kind} {loose.id!r}") and "cannot leave" in t
               for t in texts), texts
    with pytest.raises(ProjectError) as run:
        run_project(opened, spec=RunSpec(horizon=600.0, replications=1))
    assert "parts cannot leave this element" in str(run.value)
    assert loose.id in str(run.value)

    # mend it: connect the loose end to what came after the deleted station; now it runs
    after = [c.target for c in load_project(BOTTLING).connections if c.source == gone.id]
    cmd.UndoStack(opened).push(cmd.Connect(before[0], after[0]))
    assert structure_problems(opened) == []
    require_runnable(opened)
    result = run_project(opened, spec=RunSpec(horizon=600.0, replications=1))
    assert len(result.scenarios["base"].replications) == 1


def test_an_empty_project_after_file_new_saves_and_opens_again(tmp_path):
    save_project(m.Project("Untitled"), tmp_path / "empty")
    opened = load_project(tmp_path / "empty", strict=False)
    assert opened.elements == []
    assert [(p.path, p.message) for p in opened.problems] == [
        ("$.elements", "a project needs a non-empty list of elements"),
        ("$.elements", "the line needs at least one source")]
    with pytest.raises(ProjectError, match="non-empty list of elements"):
        load_project(tmp_path / "empty")
    with pytest.raises(ProjectError, match="non-empty list of elements"):
        run_project(opened, spec=RunSpec(horizon=600.0, replications=1))


def test_malformed_values_still_refuse_to_open(tmp_path):
    doc = project_to_json(load_project(STANDARD))
    doc["elements"][1]["process_time"] = {"dist": "exponential", "mean": -5}
    doc["connections"] = doc["connections"][1:]  # and a loose end: both are reported
    with pytest.raises(ProjectError) as e:
        project_from_json(doc, strict=False)
    assert "$.elements[1].process_time" in str(e.value)
    assert "no part can reach this element" in str(e.value)
    doc = project_to_json(load_project(STANDARD))
    doc["run"]["horizon"] = float("nan")
    with pytest.raises(ProjectError):
        project_from_json(doc, strict=False)
    doc = project_to_json(load_project(STANDARD))
    doc["elements"][0]["position"] = "here"
    with pytest.raises(ProjectError, match="list of 3 numbers"):
        project_from_json(doc, strict=False)


def test_random_edits_always_reopen(tmp_path):
    """Delete, connect and disconnect at random (as the monkey test does): every layout saved
    opens again, with the same faults the editor sees."""
    rng = random.Random(14)
    for trial in range(25):
        project = load_project(STANDARD)
        stack = cmd.UndoStack(project)
        for _ in range(rng.randint(1, 6)):
            ids = [el.id for el in project.elements]
            what = rng.choice(["delete", "connect", "disconnect"]) if ids else "none"
            if what == "delete":
                stack.push(cmd.RemoveElement(rng.choice(ids)))
            elif what == "connect":
                a, b = rng.choice(ids), rng.choice(ids)
                if a != b and not any(c.source == a and c.target == b
                                      for c in project.connections):
                    stack.push(cmd.Connect(a, b))
            elif what == "disconnect" and project.connections:
                c = rng.choice(project.connections)
                stack.push(cmd.Disconnect(c.source, c.target))
        folder = save_project(project, tmp_path / f"t{trial}").parent
        opened = load_project(folder, strict=False)
        assert [p.message for p in opened.problems] == \
            [p.message for p in structure_problems(project)]
        assert json.loads((folder / "project.json").read_text()) == project_to_json(opened)


def test_a_scenario_naming_a_deleted_element_opens_and_stops_its_run(tmp_path):
    """A file edited by hand (or by an older twinbench, whose delete left the overrides)."""
    project = load_project(STANDARD)
    scenario = next(s for s in project.scenarios if any(o.element for o in s.overrides))
    gone = next(o.element for o in scenario.overrides if o.element)
    doc = project_to_json(project)
    doc["elements"] = [e for e in doc["elements"] if e["id"] != gone]
    doc["connections"] = [c for c in doc["connections"] if gone not in c[:2]]
    doc.pop("experiments", None)
    project = project_from_json(doc, strict=False)
    assert project.problems
    save_project(project, tmp_path / "p")
    opened = load_project(tmp_path / "p", strict=False)
    assert any(scenario.name in p.message and gone in p.message for p in opened.problems)
    with pytest.raises(ProjectError, match=f"override names element {gone!r}"):
        run_project(opened, [scenario.name], RunSpec(horizon=600.0, replications=1))


def test_twinbench_check_reports_a_cut_line_and_exits_2(tmp_path):
    project = load_project(BOTTLING)
    cmd.UndoStack(project).push(cmd.RemoveElement(_middle(project).id))
    save_project(project, tmp_path / "cut")
    for verb in ("check", "run"):
        out = subprocess.run([sys.executable, "-m", "app.cli", verb, str(tmp_path / "cut")],
                             capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert out.returncode == 2, (verb, out.stderr)
        assert "parts cannot leave this element" in out.stderr
        assert "Traceback" not in out.stderr
