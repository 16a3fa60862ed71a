"""The Scenarios dock (issue 14, §3): create, duplicate, rename and delete scenarios and
edit their overrides by clicking; every edit undoes with the window's Undo; a bad override
is refused with the reader's message; the run panel offers what the dock made; the
scenarios are in the saved file."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from twin.model import commands as cmd
from twin.projectfile.reader import load_project


def _names(lst):
    return [lst.item(i).text() for i in range(lst.count())]


def _click(button):
    assert button.isEnabled(), button.text()
    QTest.mouseClick(button, Qt.LeftButton)


def _choose(panel, name):
    row = _names(panel.list).index(name)
    rect = panel.list.visualItemRect(panel.list.item(row))
    QTest.mouseClick(panel.list.viewport(), Qt.LeftButton, pos=rect.center())
    assert panel.current() == name


def _cells(table):
    return [[table.item(r, c).text() for c in range(table.columnCount())]
            for r in range(table.rowCount())]


@pytest.fixture
def win(make_window, line_project):
    w = make_window(line_project)
    w.docks["scenarios"].show()
    w.docks["scenarios"].raise_()
    return w


def test_new_duplicate_rename_delete_by_clicking_with_undo_redo(win, retype):
    p, panel = win.project, win.scenario_panel
    assert _names(panel.list) == ["base", "faster"]
    _click(panel.new_button)
    assert _names(panel.list) == ["base", "faster", "scenario"]
    assert panel.current() == "scenario"
    _choose(panel, "faster")
    _click(panel.duplicate_button)
    assert _names(panel.list) == ["base", "faster", "faster copy", "scenario"]
    assert p.scenario("faster copy").overrides == p.scenario("faster").overrides
    retype(panel.name_edit, "much faster", commit=True)
    assert _names(panel.list) == ["base", "faster", "much faster", "scenario"]
    assert panel.current() == "much faster"
    _choose(panel, "faster")
    _click(panel.delete_button)
    assert [s.name for s in p.scenarios] == ["much faster", "scenario"]
    assert win.isWindowModified()
    for expected in (["faster", "much faster", "scenario"], ["faster", "faster copy", "scenario"],
                     ["faster", "scenario"], ["faster"]):
        win.act_undo.trigger()
        assert _names(panel.list) == ["base", *expected]
    QTest.keyClick(win, Qt.Key_Y, Qt.ControlModifier | Qt.ShiftModifier)  # no crash on odd keys
    for expected in (["faster", "scenario"], ["faster", "faster copy", "scenario"],
                     ["faster", "much faster", "scenario"], ["much faster", "scenario"]):
        win.act_redo.trigger()
        assert _names(panel.list) == ["base", *expected]
    # renaming refuses base, a taken name and no name, and pushes nothing
    _choose(panel, "scenario")
    for bad, why in (("base", "names the project itself"), ("much faster", "exists already"),
                     ("", "needs a name")):
        retype(panel.name_edit, bad) if bad else panel.name_edit.clear()
        _click(panel.rename_button)
        assert why in panel.name_error.text()
        assert _names(panel.list) == ["base", "much faster", "scenario"]
    assert len(win.stack) == 4 and win.stack.can_undo() and not win.stack.can_redo()
    _choose(panel, "base")
    assert not panel.delete_button.isEnabled() and not panel.rename_button.isEnabled()


def test_set_and_remove_an_override_by_clicking(win, retype):
    p, panel = win.project, win.scenario_panel
    seen = []
    panel.current_changed.connect(seen.append)  # what the inspector listens to
    _choose(panel, "faster")
    assert seen[-1] == "faster"
    win.view.set_selection(["M2"])  # the side-by-side table follows the window's selection
    assert panel.element_combo.currentData() == "M2"
    assert _cells(panel.values) == [["process_time", "45.0", "35.0"]]
    panel.element_combo.setCurrentIndex(panel.element_combo.findData("B1"))
    fields = [panel.field_combo.itemText(i) for i in range(panel.field_combo.count())]
    assert "capacity" in fields and "routing" in fields
    panel.field_combo.setCurrentIndex(fields.index("capacity"))
    assert panel.value_edit.text() == "5"  # the base value to start from
    retype(panel.value_edit, "12")
    _click(panel.set_button)
    assert _cells(panel.overrides) == [["M2", "process_time", "35.0"],
                                       ["B1", "capacity", "12"]]
    assert _cells(panel.values) == [["capacity", "5", "12"]]
    assert panel.values.item(0, 2).background().color().name() == "#ffec99"  # highlighted
    win.act_undo.trigger()
    assert _cells(panel.overrides) == [["M2", "process_time", "35.0"]]
    win.act_redo.trigger()
    panel.overrides.selectRow(1)
    _click(panel.remove_override_button)
    assert p.scenario("faster").overrides[-1].path == "process_time"
    assert panel.values.rowCount() == 0
    win.act_undo.trigger()
    assert _cells(panel.overrides)[1] == ["B1", "capacity", "12"]


def test_a_bad_override_is_refused_with_the_readers_message(win, retype):
    p, panel = win.project, win.scenario_panel
    _choose(panel, "faster")
    panel.element_combo.setCurrentIndex(panel.element_combo.findData("M1"))
    panel.field_combo.setCurrentText("servers")
    retype(panel.value_edit, "-2")
    _click(panel.set_button)
    assert panel.error.isVisible() and "scenario 'faster'" in panel.error.text()
    assert "servers" in panel.error.text() and "must be >= 1" in panel.error.text()
    assert len(p.scenario("faster").overrides) == 1 and len(win.stack) == 0
    retype(panel.value_edit, "2")
    _click(panel.set_button)
    assert not panel.error.isVisible() and len(win.stack) == 1


def test_save_current_values_as_scenario(win):
    p, panel = win.project, win.scenario_panel
    _click(panel.save_current_button)
    assert "no element field or demand-response window changed" in panel.name_error.text()
    win.stack.push(cmd.SetField("M1", "servers", 2))  # as the inspector does
    _click(panel.save_current_button)
    assert _names(panel.list) == ["base", "faster", "edited"] and panel.current() == "edited"
    assert p.element("M1").servers == 1
    assert _cells(panel.overrides) == [["M1", "servers", "2"]]
    win.act_undo.trigger()
    assert p.element("M1").servers == 2 and _names(panel.list) == ["base", "faster"]


def test_run_panel_offers_new_renamed_and_not_deleted_scenarios(win, retype):
    panel, runs = win.scenario_panel, win.run_panel.scenarios
    runs.item(1).setCheckState(Qt.Unchecked)  # the user unticked "faster"
    _click(panel.new_button)
    assert _names(runs) == ["base", "faster", "scenario"]
    assert win.run_panel.chosen_scenarios() == ["base", "scenario"]
    retype(panel.name_edit, "night shift", commit=True)
    assert "night shift" in win.run_panel.chosen_scenarios()
    _choose(panel, "faster")
    _click(panel.delete_button)
    assert _names(runs) == ["base", "night shift"]
    tree = win.tree.findItems("Scenarios", Qt.MatchExactly)[0]
    assert [tree.child(i).text(0) for i in range(tree.childCount())] == ["night shift"]


def test_scenarios_are_saved_and_reopened(win, tmp_path):
    panel = win.scenario_panel
    _click(panel.new_button)
    panel.element_combo.setCurrentIndex(panel.element_combo.findData("M1"))
    panel.field_combo.setCurrentText("servers")
    panel.value_edit.setText("3")
    _click(panel.set_button)
    assert win.save_to(tmp_path / "line")
    back = load_project(tmp_path / "line")
    assert [s.name for s in back.scenarios] == ["faster", "scenario"]
    assert win.open_project(tmp_path / "line")
    assert win.project is not back and _names(win.scenario_panel.list)[-1] == "scenario"
    _choose(win.scenario_panel, "scenario")
    assert _cells(win.scenario_panel.overrides) == [["M1", "servers", "3"]]
    assert not win.isWindowModified()


def test_a_new_project_while_a_scenario_is_chosen(win):
    """Found by the monkey test: File > New with a scenario chosen raised KeyError from the
    dock, which still asked the new project for the old project's scenario."""
    panel = win.scenario_panel
    _choose(panel, "faster")
    win.new_project()
    assert _names(panel.list) == ["base"] and panel.current() == "base"
    assert not panel.set_button.isEnabled()


def test_the_inspector_shows_base_and_scenario_side_by_side(win, retype):
    """The scenario chosen in the dock: its changes of the selected element above the
    inspector's fields, base -> scenario, and the changed fields' labels highlighted."""
    panel, ins = win.scenario_panel, win.inspector
    win.view.set_selection(["M2"])
    assert not ins.scenario_note.isVisible()
    _choose(panel, "faster")
    note = ins.scenario_note
    assert note.isVisible()
    assert note.text().splitlines() == ["Scenario 'faster' (base → scenario):",
                                        "process_time: 45.0  →  35.0"]
    label = ins.form.labelForField(ins.rows["process_time"])
    assert "background" in label.styleSheet()
    assert "base: 45.0" in label.toolTip()
    other = ins.form.labelForField(ins.rows["servers"])
    assert other.styleSheet() == "" and other.toolTip() == ""
    win.view.set_selection(["M1"])  # not changed by the scenario
    assert not note.isVisible()
    win.view.set_selection(["M2"])
    # an override set in the dock shows at once; its undo takes it away again
    panel.field_combo.setCurrentIndex(panel.field_combo.findText("servers"))
    retype(panel.value_edit, "2")
    _click(panel.set_button)
    assert "servers: 1  →  2" in note.text().splitlines()
    assert "background" in ins.form.labelForField(ins.rows["servers"]).styleSheet()
    win.act_undo.trigger()
    assert "servers" not in note.text()
    _choose(panel, "base")
    assert not note.isVisible() and label.styleSheet() == ""


def test_a_scenario_sets_demand_response_windows_at_the_project_root(win, retype):
    """(project) > demand_response: the windows typed as in the file; a station that is not
    there is refused with the reader's message and path (issue 19 §2)."""
    from twin.model import elements as m
    from twin.projectfile.reader import with_scenario

    p, panel = win.project, win.scenario_panel
    _choose(panel, "faster")
    panel.element_combo.setCurrentIndex(panel.element_combo.findData(None))
    panel.field_combo.setCurrentText("demand_response")
    assert panel.field_combo.currentText() == "demand_response"
    retype(panel.value_edit, '[{"stations": ["M9"], "windows": [[3600, 7200]]}]')
    _click(panel.set_button)
    assert "$.demand_response[0].stations[0]" in panel.error.text()
    assert len(win.stack) == 0
    retype(panel.value_edit, '[{"stations": ["M2"], "windows": [[3600, 7200]], '
                             '"repeat": "1d"}]')
    _click(panel.set_button)
    assert not panel.error.isVisible() and len(win.stack) == 1
    assert _cells(panel.overrides)[-1][:2] == ["(project)", "demand_response"]
    assert with_scenario(p, "faster").demand_response == [
        m.DemandResponse(("M2",), ((3600.0, 7200.0),), repeat=86400.0)]
    assert p.demand_response == []  # the base keeps none


def test_save_current_values_in_a_new_unsaved_project_says_save_first(make_window, tmp_path):
    """A line built from the palette in a new project, a field edited, then "Save current
    values as scenario": the dock said "2 problems in the project: $.elements: a project
    needs a non-empty list of elements", of a project with two elements; it must say to save
    the project first, and after a save the same step works."""
    from app.palette import new_element

    w = make_window()
    w.docks["scenarios"].show()
    w.docks["scenarios"].raise_()
    panel = w.scenario_panel
    for kind, eid, x in (("station", "M1", 0.0), ("sink", "out1", 3.0)):
        w.stack.push(cmd.AddElement(new_element(kind, eid, (x, 0.0, 0.0))))
    w.stack.push(cmd.SetField("M1", "servers", 2))
    _click(panel.save_current_button)
    text = panel.name_error.text()
    assert panel.name_error.isVisible()
    assert "non-empty list of elements" not in text and "problem" not in text
    assert text.startswith("the project has not been saved with its elements yet")
    assert "save the project (File > Save)" in text
    assert _names(panel.list) == ["base"] and w.project.element("M1").servers == 2
    # saved half built (no source, loose ends), edited, saved as a scenario: the override is
    # the edit, the base gets its saved value back (the layout's faults did not stop it)
    assert w.save_to(tmp_path / "new-line")
    assert not panel.name_error.isVisible()  # "save the project" is answered: it goes
    w.stack.push(cmd.SetField("M1", "servers", 3))
    _click(panel.save_current_button)
    assert _names(panel.list) == ["base", "edited"], panel.name_error.text()
    assert _cells(panel.overrides) == [["M1", "servers", "3"]]
    assert w.project.element("M1").servers == 2


def test_the_override_editor_is_in_sight_when_the_dock_opens(make_window, qtbot):
    """At the window's default size the Scenarios dock shares the right column's lower half
    with Run; its editor (element, field, value, Set override) was below the dock's bottom
    edge, reachable only by scrolling or resizing (polish2 §1)."""
    from twin.projectfile.reader import load_project as load

    w = make_window(load("projects/bottling-line"), size=(1400, 900))
    w._default_split()
    w.docks["scenarios"].raise_()
    panel = w.scenario_panel
    _choose(panel, "faster-filler")
    qtbot.wait(50)
    area = w.docks["scenarios"].widget()
    view = area.viewport()
    for widget in (panel.element_combo, panel.field_combo, panel.value_edit, panel.set_button):
        top = widget.mapTo(view, widget.rect().topLeft()).y()
        bottom = widget.mapTo(view, widget.rect().bottomLeft()).y()
        assert widget.isVisible()
        assert top >= 0 and bottom < view.height(), (type(widget).__name__, top, bottom,
                                                     view.height())
