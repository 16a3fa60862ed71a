"""Demand response in the workbench (issue 19 §2): the plant dialog's *Demand response*
tab edits the project's windows, each edit one undo step, bad values refused with the
project reader's message and JSON path; deleting a station takes it out of the entries."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from twin.model import elements as m
from twin.projectfile.reader import project_to_json

pytestmark = pytest.mark.gui

H = 3600.0


def _cells(ed, r: int) -> list[str]:
    return [ed.table.item(r, 0).text(), ed.table.item(r, 1).text(),
            ed.table.cellWidget(r, 2).currentText(), ed.table.item(r, 3).text(),
            ed.table.item(r, 4).text()]


def test_edit_demand_response_windows_refuse_bad_ones_and_undo(make_window, line_project,
                                                               qtbot):
    w = make_window(line_project)
    w.act_plant.trigger()
    dlg = w.plant_dialog
    ed = dlg.demand
    dlg.tabs.setCurrentWidget(ed)
    assert dlg.tabs.tabText(dlg.tabs.currentIndex()) == "Demand response"
    qtbot.waitUntil(ed.add.isVisible)
    n = len(w.stack)
    QTest.mouseClick(ed.add, Qt.LeftButton)  # M1 paused in Monday's evening peak
    assert w.project.demand_response == [m.DemandResponse(("M1",), ((17 * H, 19 * H),))]
    assert _cells(ed, 0) == ["M1", "17h-19h", "pause", "", ""]
    assert dlg.status.text() == "demand response set"

    ed.table.item(0, 0).setText("M1, M9")  # no such station: the reader's words and path
    assert ("$.demand_response[0].stations[1]: is not the id of a station of this project"
            in ed.error.text())
    assert "'M1', 'M2'" in ed.error.text()
    assert w.project.demand_response[0].stations == ("M1",)
    ed.table.item(0, 0).setText("M1, M2")
    assert ed.error.text() == ""
    assert w.project.demand_response[0].stations == ("M1", "M2")

    ed.table.item(0, 1).setText("19h-17h")
    assert "$.demand_response[0].windows[0]: ends before it starts" in ed.error.text()
    ed.table.item(0, 1).setText("17h-19h; 18h-20h")
    assert "$.demand_response[0].windows[1]: overlaps $.demand_response[0].windows[0]" in (
        ed.error.text())
    ed.table.item(0, 1).setText("17h-18h; 41h-43h")
    assert w.project.demand_response[0].windows == ((17 * H, 18 * H), (41 * H, 43 * H))

    box = ed.table.cellWidget(0, 2)  # pause -> slow by the keyboard: slow needs a speed
    box.setFocus()
    QTest.keyClick(box, Qt.Key_Down)
    assert box.currentText() == "slow"
    assert "$.demand_response[0].speed: is required with action 'slow'" in ed.error.text()
    assert w.project.demand_response[0].action == "pause"
    ed.table.item(0, 3).setText("1.5")
    assert "$.demand_response[0].speed" in ed.error.text() and "<= 1" in ed.error.text()
    ed.table.item(0, 3).setText("0.7")
    assert ed.error.text() == ""
    want = m.DemandResponse(("M1", "M2"), ((17 * H, 18 * H), (41 * H, 43 * H)), "slow", 0.7)
    assert w.project.demand_response == [want]
    assert project_to_json(w.project)["demand_response"] == [
        {"stations": ["M1", "M2"], "windows": [[17 * H, 18 * H], [41 * H, 43 * H]],
         "action": "slow", "speed": 0.7}]
    assert len(w.stack) == n + 4  # added, stations, windows, slow with its speed: one step each

    # a second entry may not overlap the first's window at a station they share
    QTest.mouseClick(ed.add, Qt.LeftButton)
    assert "$.demand_response[1].windows" in ed.error.text()
    assert "overlaps one of $.demand_response[0]" in ed.error.text()
    assert len(w.project.demand_response) == 1
    ed.table.item(1, 1).setText("20h-21h")
    assert [d.windows for d in w.project.demand_response] == [want.windows, ((20 * H, 21 * H),)]

    ed.table.selectRow(1)  # Remove takes the chosen row
    QTest.mouseClick(ed.remove, Qt.LeftButton)
    assert w.project.demand_response == [want]
    assert ed.table.rowCount() == 1

    w.act_undo.trigger()  # the second entry is back, in the table too
    assert len(w.project.demand_response) == 2 and ed.table.rowCount() == 2
    w.act_undo.trigger()  # the second entry's add was refused: its window made it
    assert w.project.demand_response == [want]
    w.act_undo.trigger()  # before the speed: paused again
    assert w.project.demand_response[0].action == "pause"
    assert _cells(ed, 0) == ["M1, M2", "17h-18h; 41h-43h", "pause", "", ""]

    # daily: the windows span 17h to 43h, more than a day: refused, and why; weekly is fine
    ed.table.item(0, 4).setText("1d")
    assert "$.demand_response[0].repeat: is shorter than the windows it repeats" in (
        ed.error.text())
    assert w.project.demand_response[0].repeat == 0.0
    ed.table.item(0, 4).setText("7d")
    assert w.project.demand_response[0].repeat == 7 * 86400.0
    assert project_to_json(w.project)["demand_response"][0]["repeat"] == 7 * 86400.0
    w.act_undo.trigger()
    assert w.project.demand_response[0].repeat == 0.0 and _cells(ed, 0)[4] == ""
    w.act_redo.trigger()
    assert _cells(ed, 0)[4] == "168h"


def test_deleting_a_station_takes_it_from_the_entries_undoably(make_window, line_project,
                                                               qtbot):
    line_project.demand_response = [
        m.DemandResponse(("M1", "M2"), ((17 * H, 19 * H),)),
        m.DemandResponse(("M1",), ((30 * H, 31 * H),), "slow", 0.5)]
    w = make_window(line_project)
    w.act_plant.trigger()
    ed = w.plant_dialog.demand
    assert [_cells(ed, r)[0] for r in range(2)] == ["M1, M2", "M1"]
    w.view.set_selection(["M1"])
    w.act_delete.trigger()
    assert w.project.demand_response == [m.DemandResponse(("M2",), ((17 * H, 19 * H),))]
    assert ed.table.rowCount() == 1 and _cells(ed, 0)[0] == "M2"
    # the station is gone from the stations the editor accepts as well
    ed.table.item(0, 0).setText("M1")
    assert "$.demand_response[0].stations[0]: is not the id of a station" in ed.error.text()
    assert "['M2']" in ed.error.text()
    w.act_undo.trigger()
    assert [d.stations for d in w.project.demand_response] == [("M1", "M2"), ("M1",)]
    assert [_cells(ed, r)[0] for r in range(2)] == ["M1, M2", "M1"]
    assert ed.error.text() == ""

