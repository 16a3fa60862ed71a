"""Deleting an element takes what only made sense with it (scenarios' overrides,
experiments' factors and responses, alert rules, the replay's asset mapping) in the same
undo step: the project saved after it opens and runs, and undo brings everything back."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from twin.model import commands as cmd
from twin.model import elements as m
from twin.model.experiments import Constraint, Experiment, Factor, Objective
from twin.projectfile.reader import (
    load_project,
    project_from_json,
    project_to_json,
    save_project,
    structure_problems,
)
from twin.sim.runner import RunSpec, run_project

STANDARD = Path(__file__).resolve().parents[2] / "projects" / "standard-line"


def _with_references(project: m.Project) -> m.Project:
    """The standard line with every kind of reference to station s5 besides the file's own
    (the scenario faster-s5 and experiment buffers-around-s5)."""
    project.experiments.append(Experiment(
        "s5-only", (Factor("s5", "servers", levels=(1.0, 2.0), integer=True),),
        responses=("elements.s5.utilization",)))
    exp = project.experiments[0]
    project.experiments[0] = dataclasses.replace(
        exp, objectives=(Objective("elements.s5.utilization", "max"),
                         Objective("line.throughput_per_hour", "max")),
        constraints=(Constraint("elements.s5.utilization", max=0.95),))
    project.alerts = m.AlertSettings((
        m.AlertRule("state", "stops", elements=("s4", "s5"), longer_than=600.0),
        m.AlertRule("drift", "s5-drift", elements=("s5",)),
        m.AlertRule("no_data", "s5-server", elements=("s5#0",), scope="asset",
                    longer_than=60.0),
        m.AlertRule("state", "everything", longer_than=900.0)))
    project.meta["recording_assets"] = {"shift.h5": {"S5": "s5", "S4": "s4"}}
    return project


def test_deleting_a_station_takes_its_references_in_one_undo_step(tmp_path):
    project = _with_references(load_project(STANDARD))
    before = project_to_json(project)
    stack = cmd.UndoStack(project)
    remove = cmd.RemoveElement("s5")
    stack.push(remove)

    assert project.scenario("faster-s5").overrides == ()
    assert len(project.scenario("buffers-10").overrides) == 9  # names no s5: untouched
    exp = project.experiments[0]
    assert [f.name for f in exp.factors] == ["b4.capacity", "b5.capacity"]
    assert "elements.s5.utilization" not in exp.responses
    assert exp.objectives == (Objective("line.throughput_per_hour", "max"),)
    assert exp.constraints == ()
    assert [e.name for e in project.experiments] == ["buffers-around-s5"]
    rules = {r.id: r.elements for r in project.alerts.rules}
    assert rules == {"stops": ("s4",), "everything": ()}
    assert project.meta["recording_assets"] == {"shift.h5": {"S4": "s4"}}
    assert remove.notes == [
        "scenario 'faster-s5': override of process_time.mean (it now runs as the base)",
        "scenario 'no-failures': override of failures",
        "experiment 'buffers-around-s5': s5.servers, elements.s5.utilization, objective "
        "elements.s5.utilization, constraint on elements.s5.utilization",
        "experiment 's5-only': s5.servers, elements.s5.utilization (the whole experiment: "
        "it varied nothing else)",
        "alert rule 'stops': no longer watches s5",
        "alert rule 's5-drift' (it watched only s5)",
        "alert rule 's5-server' (it watched only s5)",
        "recording shift.h5: asset S5 is shown on no element",
    ]

    # mend the cut line; the file opens as strictly as the command line reads it, and runs
    stack.push(cmd.Connect("b4", "b5"))
    assert structure_problems(project) == []
    after = project_to_json(project)
    save_project(project, tmp_path / "p")
    opened = load_project(tmp_path / "p")
    assert project_to_json(opened) == after
    names = [s.name for s in opened.scenarios]
    result = run_project(opened, names, RunSpec(horizon=600.0, replications=1))
    assert set(result.scenarios) == set(names)

    stack.undo()
    stack.undo()
    assert project_to_json(project) == before
    stack.redo()
    stack.redo()
    assert project_to_json(project) == after


def test_a_buffer_named_by_a_scenario_among_others_keeps_the_rest():
    project = load_project(STANDARD)
    stack = cmd.UndoStack(project)
    stack.push(cmd.Macro([cmd.RemoveElement("b4"), cmd.RemoveElement("b5")], "delete b4, b5"))
    assert [o.element for o in project.scenario("buffers-10").overrides] == [
        "b1", "b2", "b3", "b6", "b7", "b8", "b9"]
    assert [f.name for f in project.experiments[0].factors] == ["s5.servers"]
    stack.undo()
    assert len(project.scenario("buffers-10").overrides) == 9
    assert len(project.experiments[0].factors) == 3


def test_scenario_listeners_hear_of_it_and_nothing_is_said_without_references():
    project = load_project(STANDARD)
    heard = []
    project.scenarios_changed.connect(lambda: heard.append(1))
    stack = cmd.UndoStack(project)
    remove = cmd.RemoveElement("s5")
    stack.push(remove)
    assert heard == [1]
    stack.undo()
    assert heard == [1, 1]
    quiet = cmd.RemoveElement("sink")
    stack.push(quiet)
    assert quiet.notes == [] and heard == [1, 1]


def test_deleting_a_worker_pools_home_leaves_the_pool_without_one(tmp_path):
    cell = Path(__file__).resolve().parents[2] / "projects" / "machining-cell"
    project = load_project(cell)
    assert [p.home for p in project.workers] == ["b_turned"]
    before = project_to_json(project)
    stack = cmd.UndoStack(project)
    remove = cmd.RemoveElement("b_turned")
    stack.push(remove)
    assert [p.home for p in project.workers] == [""]
    assert remove.notes == ["worker pool 'maintenance': home b_turned (its workers now start "
                            "where their first task is)"]
    save_project(project, tmp_path / "p")
    assert [p.home for p in load_project(tmp_path / "p", strict=False).workers] == [""]
    stack.undo()
    assert project_to_json(project) == before


def test_deleting_an_assemblys_input_takes_it_from_the_bill_in_the_same_undo_step(tmp_path):
    line = Path(__file__).resolve().parents[2] / "projects" / "assembly-line"
    project = load_project(line)
    bill = project.element("motor_mount").assembly
    assert [i.source for i in bill.inputs] == ["a_conveyor", "b_conveyor"]
    before = project_to_json(project)
    stack = cmd.UndoStack(project)
    remove = cmd.RemoveElement("b_conveyor")
    stack.push(remove)
    left = project.element("motor_mount").assembly
    assert [(i.source, i.quantity, i.capacity) for i in left.inputs] == [("a_conveyor", 1, 2)]
    assert left.product == bill.product
    assert remove.notes == ["assembly 'motor_mount': its input from b_conveyor (bill of "
                            "materials)"]
    save_project(project, tmp_path / "p")
    # the flow is cut (feeder B leads nowhere now), but the bill names no deleted element
    again = load_project(tmp_path / "p", strict=False)
    assert [i.source for i in again.element("motor_mount").assembly.inputs] == ["a_conveyor"]
    problems = [str(p) for p in structure_problems(again)]
    assert problems and not any("motor_mount" in p or "b_conveyor" in p for p in problems)
    stack.undo()
    assert project_to_json(project) == before
    assert project.element("motor_mount").assembly == bill


def test_deleting_the_assembly_itself_leaves_no_note_about_its_bill():
    line = Path(__file__).resolve().parents[2] / "projects" / "assembly-line"
    project = load_project(line)
    before = project_to_json(project)
    stack = cmd.UndoStack(project)
    remove = cmd.RemoveElement("motor_mount")
    stack.push(remove)
    assert not any("assembly" in n for n in remove.notes)
    stack.undo()
    assert project_to_json(project) == before


def test_deleting_a_disassemblys_successor_takes_its_output_in_the_same_undo_step(tmp_path):
    """A separator with outputs to a sink ``a`` and a station ``b``: deleting ``b`` takes
    its output from the bill (the one to ``a`` stays), undo puts it back."""
    project = project_from_json({
        "schema_version": 1, "name": "d", "elements": [
            {"id": "src", "kind": "source"},
            {"id": "dis", "kind": "station", "process_time": 2, "disassembly": {"outputs": [
                {"to": "a", "quantity": 1}, {"to": "b", "quantity": 3, "product": "screw"}]}},
            {"id": "a", "kind": "sink"}, {"id": "b", "kind": "station", "process_time": 1},
            {"id": "sink", "kind": "sink"}],
        "connections": [["src", "dis"], ["dis", "a"], ["dis", "b"], ["b", "sink"]]})
    before = project_to_json(project)
    stack = cmd.UndoStack(project)
    remove = cmd.RemoveElement("b")
    stack.push(remove)
    assert project.element("dis").disassembly.outputs == (("a", 1, None),)
    assert remove.notes == ["disassembly 'dis': its output to b"]
    save_project(project, tmp_path / "p")
    again = load_project(tmp_path / "p", strict=False)
    assert again.element("dis").disassembly.outputs == (("a", 1, None),)
    assert not any("'b'" in str(p) for p in structure_problems(again))
    stack.undo()
    assert project_to_json(project) == before


def test_deleting_a_station_takes_it_from_the_demand_response_entries(tmp_path):
    """An entry loses the station; an entry that named only it goes; the saved project
    opens (the reader refuses a station that is not there); undo brings both back."""
    cell = Path(__file__).resolve().parents[2] / "projects" / "machining-cell"
    project = load_project(cell)
    project.demand_response = [
        m.DemandResponse(("washer", "cmm"), ((61200.0, 68400.0),), "pause"),
        m.DemandResponse(("washer",), ((100000.0, 103600.0),), "slow", 0.5),
        m.DemandResponse(("saw",), ((61200.0, 68400.0),))]
    before = project_to_json(project)
    stack = cmd.UndoStack(project)
    remove = cmd.RemoveElement("washer")
    stack.push(remove)
    assert project.demand_response == [
        m.DemandResponse(("cmm",), ((61200.0, 68400.0),), "pause"),
        m.DemandResponse(("saw",), ((61200.0, 68400.0),))]
    assert remove.notes[1:] == [  # [0]: the scenario washer-standby's overrides
        "demand response 1: washer no longer pauses in its windows",
        "demand response 2: washer no longer slows in its windows (the whole entry: it "
        "named no other station)"]
    save_project(project, tmp_path / "p")
    again = load_project(tmp_path / "p", strict=False)
    assert again.demand_response == project.demand_response
    stack.undo()
    assert project_to_json(project) == before
    stack.redo()
    assert len(project.demand_response) == 2
