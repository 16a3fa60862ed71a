"""Scenario commands (issue 14, §3): each does, undoes and redoes, emits
``scenarios_changed``, and refuses what the file would refuse; all without Qt."""

import pytest

from twin.errors import ProjectError
from twin.model import commands as cmd
from twin.model import elements as m
from twin.model.distributions import constant, exponential
from twin.projectfile.reader import load_project, project_to_json, save_project
from twin.projectfile.scenarios import (
    MISSING,
    check_scenario,
    field_paths,
    overridden_fields,
    save_as_scenario,
)


def _line() -> m.Project:
    p = m.Project("small", elements=[
        m.Source("src", arrival=exponential(50.0)),
        m.Station("M1", position=(3.0, 0.0, 0.0), process_time=exponential(40.0)),
        m.Buffer("B1", position=(6.0, 0.0, 0.0), capacity=5),
        m.Sink("out", position=(9.0, 0.0, 0.0)),
    ], scenarios=[m.Scenario("faster", (m.Override("process_time", 35.0, "M1"),))])
    for a, b in (("src", "M1"), ("M1", "B1"), ("B1", "out")):
        p.connect(a, b)
    return p


def _names(p):
    return [s.name for s in p.scenarios]


@pytest.fixture
def stack():
    return cmd.UndoStack(_line())


def _events(project):
    seen = []
    project.scenarios_changed.connect(lambda: seen.append(_names(project)))
    return seen


def test_add_duplicate_rename_delete_with_undo_and_redo(stack):
    p = stack.project
    seen = _events(p)
    stack.push(cmd.AddScenario("two servers", [m.Override("servers", 2, "M1")]))
    assert _names(p) == ["faster", "two servers"]
    stack.push(cmd.DuplicateScenario(p, "faster"))
    assert _names(p) == ["faster", "faster copy", "two servers"]
    assert p.scenario("faster copy").overrides == p.scenario("faster").overrides
    stack.push(cmd.RenameScenario("faster copy", "fastest"))
    assert _names(p) == ["faster", "fastest", "two servers"]
    stack.push(cmd.DeleteScenario("faster"))
    assert _names(p) == ["fastest", "two servers"]
    assert seen[-1] == ["fastest", "two servers"] and len(seen) == 4
    for expected in (["faster", "fastest", "two servers"],
                     ["faster", "faster copy", "two servers"],
                     ["faster", "two servers"], ["faster"]):
        stack.undo()
        assert _names(p) == expected
    for expected in (["faster", "two servers"], ["faster", "faster copy", "two servers"],
                     ["faster", "fastest", "two servers"], ["fastest", "two servers"]):
        stack.redo()
        assert _names(p) == expected
    assert len(seen) == 12


@pytest.mark.parametrize("bad, why", [("base", "names the project itself"),
                                      ("faster", "exists already"), ("  ", "needs a name")])
def test_rename_and_add_refuse_base_duplicates_and_empty(stack, bad, why):
    stack.push(cmd.AddScenario("other"))
    for c in (cmd.RenameScenario("other", bad), cmd.AddScenario(bad)):
        with pytest.raises(ValueError, match=why):
            stack.push(c)
    assert _names(stack.project) == ["faster", "other"] and len(stack) == 1


def test_rename_to_its_own_name_is_fine_and_duplicate_numbers_copies(stack):
    p = stack.project
    stack.push(cmd.RenameScenario("faster", " faster "))
    stack.push(cmd.DuplicateScenario(p, "faster"))
    stack.push(cmd.DuplicateScenario(p, "faster"))
    assert _names(p) == ["faster", "faster copy 2", "faster copy"]


def test_set_and_remove_override_undo_redo(stack):
    p = stack.project
    stack.push(cmd.SetOverride("faster", "B1", "capacity", 20))
    stack.push(cmd.SetOverride("faster", "M1", "process_time", 30.0))  # replaces in place
    assert p.scenario("faster").overrides == (m.Override("process_time", 30.0, "M1"),
                                              m.Override("capacity", 20, "B1"))
    stack.push(cmd.RemoveOverride("faster", "M1", "process_time"))
    assert p.scenario("faster").overrides == (m.Override("capacity", 20, "B1"),)
    with pytest.raises(KeyError, match="does not override"):
        stack.push(cmd.RemoveOverride("faster", "M1", "process_time"))
    stack.undo()
    assert p.scenario("faster").overrides[0] == m.Override("process_time", 30.0, "M1")
    stack.undo()
    stack.undo()
    assert p.scenario("faster").overrides == (m.Override("process_time", 35.0, "M1"),)
    stack.redo()
    assert len(p.scenario("faster").overrides) == 2


def test_overridden_fields_gives_base_and_value(stack):
    p = stack.project
    stack.push(cmd.SetOverride("faster", "B1", "capacity", 20))
    stack.push(cmd.SetOverride("faster", "M1", "failures", None))
    stack.push(cmd.SetOverride("faster", "M1", "servers", 2))
    stack.push(cmd.SetOverride("faster", "M1", "wear.per_operation", 0.1))
    got = overridden_fields(p, "faster", "M1")
    assert got["process_time"] == ({"dist": "exponential", "mean": 40.0}, 35.0)
    assert got["failures"] == (None, None)  # not set, and the scenario keeps it so
    assert got["servers"] == (1, 2)  # the default the writer leaves out
    assert got["wear.per_operation"] == (MISSING, 0.1)
    assert overridden_fields(p, "faster", "B1") == {"capacity": (5, 20)}
    assert overridden_fields(p, "faster", "src") == {}
    assert overridden_fields(p, "base", "M1") == {}


def test_field_paths_lists_the_fields_of_the_element():
    p = _line()
    paths = field_paths(p.element("M1"))
    assert {"servers", "process_time", "failures", "scrap", "process_time.mean"} <= set(paths)
    assert "id" not in paths and "kind" not in paths
    assert "capacity" in field_paths(p.element("B1"))


def test_check_scenario_refuses_an_invalid_variant_with_the_readers_message():
    p = _line()
    with pytest.raises(ProjectError, match=r"scenario .x.(.|\n)*servers(.|\n)*must be >= 1"):
        check_scenario(p, m.Scenario("x", (m.Override("servers", -2, "M1"),)))
    with pytest.raises(ProjectError, match="ghost"):
        check_scenario(p, m.Scenario("x", (m.Override("servers", 2, "ghost"),)))
    check_scenario(p, m.Scenario("x", (m.Override("servers", 2, "M1"),)))


def test_save_current_values_as_scenario_moves_the_edits_into_it(stack):
    p = stack.project
    saved = project_to_json(p)
    stack.push(cmd.SetField("M1", "servers", 3))
    stack.push(cmd.SetField("B1", "capacity", 12))
    stack.push(cmd.SetField("M1", "process_time", constant(20.0)))
    macro, left_out = save_as_scenario(p, saved, "upgrade")
    stack.push(macro)
    assert left_out == []
    assert p.element("M1").servers == 1 and p.element("B1").capacity == 5
    assert p.element("M1").process_time == exponential(40.0)
    assert set(p.scenario("upgrade").overrides) == {
        m.Override("servers", 3, "M1"), m.Override("capacity", 12, "B1"),
        m.Override("process_time", 20.0, "M1")}
    check_scenario(p, p.scenario("upgrade"))
    stack.undo()  # one step: the edits come back and the scenario goes
    assert p.element("M1").servers == 3 and _names(p) == ["faster"]
    with pytest.raises(ValueError, match="no element field or demand-response window changed"):
        save_as_scenario(_line(), project_to_json(_line()), "nothing")
    # a new project never saved: its document as "last saved" holds no element
    new = _line()
    with pytest.raises(ValueError, match=r"not been saved with its elements yet.*File > Save"):
        save_as_scenario(new, project_to_json(m.Project("new")), "edited")
    # a layout saved half built (a station and a sink, no source, nothing connected)
    half = m.Project("half", elements=[m.Station("M1", process_time=constant(30.0)),
                                       m.Sink("out", position=(3.0, 0.0, 0.0))])
    saved_half = project_to_json(half)
    half_stack = cmd.UndoStack(half)
    half_stack.push(cmd.SetField("M1", "servers", 2))
    macro, left_out = save_as_scenario(half, saved_half, "two")
    half_stack.push(macro)
    assert left_out == [] and half.element("M1").servers == 1
    assert half.scenario("two").overrides == (m.Override("servers", 2, "M1"),)


def test_save_as_scenario_takes_the_demand_response_windows_along(stack):
    """Windows set since the save become a project-level override of the scenario, the
    base goes back to none; the scenario, applied, runs with them (issue 19 §2)."""
    from twin.projectfile.reader import with_scenario

    p = stack.project
    saved = project_to_json(p)
    evening = [m.DemandResponse(("M1",), ((61200.0, 68400.0),), repeat=86400.0)]
    stack.push(cmd.SetProjectField("demand_response", evening))
    macro, left_out = save_as_scenario(p, saved, "evening pause")
    stack.push(macro)
    assert left_out == [] and p.demand_response == []
    assert p.scenario("evening pause").overrides == (m.Override("demand_response", [
        {"stations": ["M1"], "windows": [[61200.0, 68400.0]], "repeat": 86400.0}]),)
    check_scenario(p, p.scenario("evening pause"))
    assert with_scenario(p, "evening pause").demand_response == evening
    stack.undo()  # one step: the windows come back and the scenario goes
    assert p.demand_response == evening and _names(p) == ["faster"]


def test_save_as_scenario_back_to_a_default_value(stack):
    p = stack.project
    stack.push(cmd.SetField("M1", "servers", 2))
    saved = project_to_json(p)
    stack.push(cmd.SetField("M1", "servers", 1))  # the writer leaves the default out
    macro, _ = save_as_scenario(p, saved, "one server")
    stack.push(macro)
    assert p.scenario("one server").overrides == (m.Override("servers", 1, "M1"),)
    assert p.element("M1").servers == 2


def test_scenarios_survive_save_and_reopen(stack, tmp_path):
    p = stack.project
    stack.push(cmd.AddScenario("two servers", [m.Override("servers", 2, "M1")]))
    stack.push(cmd.RenameScenario("faster", "quick"))
    save_project(p, tmp_path / "line")
    back = load_project(tmp_path / "line")
    assert _names(back) == ["quick", "two servers"]
    assert back.scenario("two servers").overrides == (m.Override("servers", 2, "M1"),)


def test_command_texts_quote_the_names(stack):
    # "Undo add scenario scenario": a scenario named 'scenario' read as a stutter
    p = stack.project
    texts = []
    for c in (cmd.AddScenario("scenario"), cmd.DuplicateScenario(p, "scenario"),
              cmd.RenameScenario("scenario copy", "night shift"),
              cmd.SetOverride("night shift", "M1", "servers", 2),
              cmd.RemoveOverride("night shift", "M1", "servers"),
              cmd.SetOverride("night shift", None, "calendar", None),
              cmd.DeleteScenario("night shift"),
              cmd.SetField("M1", "servers", 3), cmd.RotateElement("M1", 90.0),
              cmd.Disconnect("M1", "B1"), cmd.Connect("M1", "B1"),
              cmd.SetWeight("M1", "B1", 2.0), cmd.RemoveElement("B1")):
        stack.push(c)
        texts.append(stack.undo_text())
    assert texts == [
        "add scenario 'scenario'", "duplicate scenario 'scenario'",
        "rename scenario 'scenario copy' to 'night shift'",
        "set servers of 'M1' in scenario 'night shift'",
        "remove servers of 'M1' from scenario 'night shift'",
        "set calendar in scenario 'night shift'", "delete scenario 'night shift'",
        "set servers of 'M1'", "rotate 'M1'", "disconnect 'M1' from 'B1'",
        "connect 'M1' to 'B1'", "set weight 'M1' -> 'B1'", "delete 'B1'"]
    stack.undo()
    assert stack.redo_text() == "delete 'B1'"
