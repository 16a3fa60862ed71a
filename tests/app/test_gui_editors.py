"""The inspector's property editors (issue 14 §2): a distribution picked from a list, its
parameters typed with units, its mean shown; failures, power, routing, the calendar and the
tariff edited without JSON; derived values following the layout; every edit one undo step."""

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from app.problem_marks import WARN_TEXT
from twin.model import commands as cmd
from twin.model import elements as m
from twin.model.distributions import constant
from twin.projectfile.reader import load_project

pytestmark = pytest.mark.gui


def choose(combo, text):
    """Open a combo box's list and click ``text`` in it, as a user does."""
    combo.showPopup()
    view = combo.view()
    rect = view.visualRect(view.model().index(combo.findText(text), 0))
    QTest.mouseClick(view.viewport(), Qt.LeftButton, Qt.NoModifier, rect.center())
    assert combo.currentText() == text


def tick(box):
    """Click a check box on its indicator (a click beyond its text does nothing)."""
    QTest.mouseClick(box, Qt.LeftButton, Qt.NoModifier, QPoint(6, box.height() // 2))


def select(w, qtbot, element_id):
    """Select an element and wait until the inspector's new rows are shown (a layout shows
    the widgets added to a shown parent at the next turn of the event loop)."""
    w.view.set_selection([element_id])
    qtbot.waitUntil(lambda: all(e.isVisible() for e in w.inspector.editors.values()))


def test_distribution_family_units_mean_refusal_and_undo(qtbot, make_window, line_project, retype):
    w = make_window(line_project)
    select(w, qtbot, "M1")
    ed = w.inspector.editor("process_time").dist
    assert ed.family.currentText() == "exponential"
    assert ed.stats.text() == "mean 40 s, sd 40 s"
    n = len(w.stack)
    choose(ed.family, "triangular")
    assert w.project.element("M1").process_time.dist == "triangular"  # valid at once
    assert list(ed.fields) == ["low", "mode", "high"]
    retype(ed.fields["high"].edit, "1.5min")
    assert ed.fields["high"].unit.text() == "= 90 s"  # what it understood
    QTest.keyClick(ed.fields["high"].edit, Qt.Key_Return)
    retype(ed.fields["low"].edit, "30", commit=True)
    retype(ed.fields["mode"].edit, "1min", commit=True)
    pt = w.project.element("M1").process_time
    assert (pt.dist, pt.params) == ("triangular", {"low": 30, "mode": 60.0, "high": 90.0})
    assert ed.stats.text().startswith("mean 60 s = 1 min, sd 12.25 s")
    assert len(w.stack) == n + 4  # the family, then one step per field
    # a negative time: the reader's message next to the field, the model unchanged
    retype(ed.fields["low"].edit, "-5")
    assert ed.error.text() == "M1.process_time.low: must be >= 0 (found -5)"
    assert ed.fields["low"].edit.property("invalid") is True
    QTest.keyClick(ed.fields["low"].edit, Qt.Key_Return)
    assert w.project.element("M1").process_time == pt
    assert len(w.stack) == n + 4
    # undo: the model and the editor go back step by step
    w.act_undo.trigger()
    assert w.project.element("M1").process_time.params["mode"] == 40
    assert ed.fields["mode"].text() == "40"
    for _ in range(3):
        w.act_undo.trigger()
    assert w.project.element("M1").process_time.dist == "exponential"
    assert ed.family.currentText() == "exponential" and ed.stats.text() == "mean 40 s, sd 40 s"


def test_every_family_is_offered_and_valid_when_picked(qtbot, make_window, line_project):
    from twin.model.distributions import REGISTRY

    w = make_window(line_project)
    select(w, qtbot, "M2")
    ed = w.inspector.editor("process_time").dist
    offered = [ed.family.itemText(i) for i in range(ed.family.count())]
    assert set(REGISTRY) <= set(offered)
    for name in REGISTRY:
        choose(ed.family, name)
        got = w.project.element("M2").process_time
        assert got.dist == name and abs(got.mean - 45.0) < 1e-3 * 45, name
        assert ed.error.isHidden()
        assert ed.curve.getData()[0] is not None and len(ed.curve.getData()[0]) >= 2


def test_empirical_from_a_list_and_from_a_csv_column(qtbot, make_window, line_project, retype,
                                                     tmp_path):
    w = make_window(line_project)
    select(w, qtbot, "M2")
    ed = w.inspector.editor("process_time").dist
    choose(ed.family, "empirical")
    retype(ed.values_edit, "40, 50 1min", commit=True)
    assert w.project.element("M2").process_time.params == {"values": [40, 50, 60]}
    assert ed.stats.text().startswith("mean 50 s")
    csv = tmp_path / "times.csv"
    csv.write_text("part,cycle_s\na,30\nb,34\nc,38\n")
    ed.load_csv(str(csv), column=1)
    assert w.project.element("M2").process_time.params == {"values": [30, 34, 38]}
    csv.write_text("part,cycle_s\na,30\nb,soon\n")
    ed.load_csv(str(csv), column=1)
    assert "row 3" in ed.error.text() and "'soon'" in ed.error.text()
    assert w.project.element("M2").process_time.params == {"values": [30, 34, 38]}


def test_failures_and_the_derived_efficiency_and_rate(qtbot, make_window, line_project, retype):
    w = make_window(line_project)
    select(w, qtbot, "M1")
    ins = w.inspector
    assert "efficiency MTTF/(MTTF+MTTR): 100.0%" in ins.derived.text()
    assert "isolated rate: 90 parts/h" in ins.derived.text()
    fe = ins.editor("failures")
    tick(fe.enabled)
    f = w.project.element("M1").failures
    assert f is not None and f.time_to_failure.mean == 28800 and f.time_to_repair.mean == 600
    assert "efficiency MTTF/(MTTF+MTTR): 98.0%" in ins.derived.text()
    retype(fe.ttr.fields["mean"].edit, "2h", commit=True)  # 8h / (8h + 2h)
    assert w.project.element("M1").failures.time_to_repair.mean == 7200
    assert "efficiency MTTF/(MTTF+MTTR): 80.0%" in ins.derived.text()
    assert "isolated rate: 72 parts/h" in ins.derived.text()
    choose(fe.basis, "calendar")
    assert w.project.element("M1").failures.basis == "calendar"
    retype(fe.ttf.fields["mean"].edit, "0", commit=True)
    assert "must be > 0" in fe.ttf.error.text()
    assert w.project.element("M1").failures.time_to_failure.mean == 28800


def test_power_and_calendar_round_trip_through_save_and_load(qtbot, make_window, line_project,
                                                             tmp_path):
    w = make_window(line_project)
    select(w, qtbot, "M1")
    pe = w.inspector.editor("power_kw")
    pe.set_cell("busy", "7.5")
    pe.set_cell("down", "0.25")
    assert w.project.element("M1").power_kw == {"busy": 7.5, "idle": 1.0, "down": 0.25}
    pe.set_cell("idle", "lots")
    assert "power_kw.idle" in pe.error.text()
    assert w.project.element("M1").power_kw["idle"] == 1.0
    w.act_plant.trigger()
    ce = w.plant_dialog.calendar
    qtbot.waitUntil(ce.enabled.isVisible)
    tick(ce.enabled)
    cal = w.project.calendar
    assert [(p.start, p.end) for p in cal.shifts] == [(21600, 50400), (50400, 79200)]
    QTest.mouseClick(ce.add_break, Qt.LeftButton)
    assert w.project.calendar.breaks == (m.Period(36000, 36900),)
    ce.table.item(2, 2).setText("10h30min")
    assert w.project.calendar.breaks == (m.Period(36000, 37800),)
    ce.table.item(0, 2).setText("5h")  # ends before it starts: the reader's message
    assert "$.calendar.shifts[0].end: must be after start" in ce.error.text()
    assert w.project.calendar.shifts[0].end == 50400
    ce.table.item(0, 2).setText("14h")
    te = w.plant_dialog.tariff
    w.plant_dialog.tabs.setCurrentWidget(te)
    qtbot.waitUntil(te.enabled.isVisible)
    tick(te.enabled)
    te.kind.setCurrentIndex(1)  # hourly prices (app.energy_editor.PRICE_KINDS)
    te.hourly.item(18, 0).setText("0.4")
    assert w.project.tariff.hourly[18] == 0.4 and len(w.project.tariff.hourly) == 24
    assert w.save_to(tmp_path / "p")
    back = load_project(tmp_path / "p")
    assert back.calendar == w.project.calendar
    assert back.tariff == w.project.tariff
    assert back.element("M1").power_kw == {"busy": 7.5, "idle": 1.0, "down": 0.25}
    # undo of a plant edit shows in the dialog
    w.act_undo.trigger()
    assert w.project.tariff.hourly[18] == 0.0
    assert te.hourly.item(18, 0).text() == "0"


def test_calendar_faults_name_the_row_that_has_them(qtbot, make_window, line_project):
    """Row 1's start typed "abc", then row 2's end "30h": the dialog said shifts[0] of
    both, and "needs 'start' and 'end'" of a row that had both."""
    w = make_window(line_project)
    w.act_plant.trigger()
    ce = w.plant_dialog.calendar
    qtbot.waitUntil(ce.enabled.isVisible)
    tick(ce.enabled)
    ce.table.item(0, 1).setText("abc")
    ce.table.item(1, 2).setText("30h")
    assert ce.error.text().splitlines() == [
        "$.calendar.shifts[0].start: expected a duration such as 3600, '8h', '30min' or "
        "'1h30min', got 'abc' (found 'abc')",
        "$.calendar.shifts[1].end: must lie within the period (86400 s = 24 h) (found '30h')"]
    assert [(p.start, p.end) for p in w.project.calendar.shifts] == [(21600, 50400),
                                                                     (50400, 79200)]


def test_conveyor_derived_values_follow_the_layout(qtbot, make_window):
    p = m.Project("cv", elements=[
        m.Station("A", position=(0.0, 0.0, 0.0), process_time=constant(10.0)),
        m.Conveyor("C", position=(2.0, 0.0, 0.0), speed=0.5, spacing=0.5),
        m.Sink("out", position=(4.0, 0.0, 0.0)),
    ])
    p.connect("A", "C")
    p.connect("C", "out")
    w = make_window(p)
    select(w, qtbot, "C")
    d = w.inspector.derived
    assert d.text() == ("length: 4 m (from the layout)\ntransport time: 8 s\n"
                        "capacity: 8 parts")
    w.stack.push(cmd.MoveElements({"out": ((4.0, 0.0, 0.0), (6.0, 0.0, 0.0))}))
    assert d.text() == ("length: 6 m (from the layout)\ntransport time: 12 s\n"
                        "capacity: 12 parts")
    w.act_undo.trigger()
    assert d.text().startswith("length: 4 m")


def test_routing_rule_and_weights(qtbot, make_window, line_project):
    p = line_project
    p.add_element(m.Station("M3", position=(3.0, 3.0, 0.0), process_time=constant(30.0)))
    p.connect("src", "M3")
    p.connect("M3", "B1")
    w = make_window(p)
    select(w, qtbot, "src")
    re = w.inspector.editor("routing")
    assert [re.table.item(i, 0).text() for i in range(2)] == ["M1", "M3"]
    re.table.item(1, 1).setText("3")
    assert [c.weight for c in w.project.successors("src")] == [1.0, 3.0]
    re.table.item(1, 1).setText("-1")
    assert "split probability must be a number >= 0" in re.error.text()
    assert [c.weight for c in w.project.successors("src")] == [1.0, 3.0]
    choose(re.rule, "round_robin")
    assert w.project.element("src").routing == "round_robin"
    w.act_undo.trigger()
    w.act_undo.trigger()
    assert [c.weight for c in w.project.successors("src")] == [1.0, 1.0]
    assert re.table.item(1, 1).text() == "1"


def test_the_wheel_over_a_family_or_a_plot_changes_nothing(qtbot, make_window, line_project):
    # the wheel over an unfocused family list once picked the next family; it is ignored
    # there, and Qt hands an ignored wheel event of the mouse on to the scroll area (a sent
    # event does not propagate, so this reads the event's verdict, not the scroll bar)
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    w = make_window(line_project)
    select(w, qtbot, "M1")
    ed = w.inspector.editor("process_time").dist
    for target in (ed.family, ed.plot.viewport()):
        w.inspector.title.setFocus()
        pos = QPointF(target.width() / 2, target.height() / 2)
        ev = QWheelEvent(pos, target.mapToGlobal(pos), QPoint(0, 0), QPoint(0, -120),
                         Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)
        QApplication.sendEvent(target, ev)
        assert not ev.isAccepted()
        assert w.project.element("M1").process_time.dist == "exponential"
        assert ed.family.currentText() == "exponential"


def test_an_unconnected_element_is_marked_in_the_tree_and_the_inspector(qtbot, make_window,
                                                                        line_project):
    p = line_project
    p.add_element(m.Station("M9", name="Spare press", position=(3.0, 6.0, 0.0),
                            process_time=constant(30.0)))
    w = make_window(p)
    items = {w.tree.topLevelItem(0).child(i).data(0, Qt.UserRole):
             w.tree.topLevelItem(0).child(i) for i in range(w.tree.topLevelItem(0).childCount())}
    tip = items["M9"].toolTip(0)
    assert tip.startswith("station 'M9' (Spare press): parts cannot leave this element")
    assert items["M9"].foreground(0).color() == WARN_TEXT  # app.problem_marks
    assert items["M1"].toolTip(0) == ""
    select(w, qtbot, "M9")
    shown = w.inspector.problems.text()
    assert "station 'M9' (Spare press): no part can reach this element" in shown
    # connected: the marks go at once
    w.stack.push(cmd.Macro([cmd.Connect("M1", "M9"), cmd.Connect("M9", "B1")]))
    assert items["M9"].toolTip(0) == "" and w.inspector.problems.isHidden()


def test_families_picked_in_a_row_are_one_undo_step(qtbot, make_window, line_project):
    w = make_window(line_project)
    select(w, qtbot, "M1")
    ed = w.inspector.editor("process_time").dist
    n = len(w.stack)
    ed.family.setFocus()
    for _ in range(3):  # exponential -> uniform -> triangular -> normal, by the arrow key
        QTest.keyClick(ed.family, Qt.Key_Down)
    assert w.project.element("M1").process_time.dist == "normal"
    assert len(w.stack) == n + 1
    w.act_undo.trigger()
    assert w.project.element("M1").process_time.dist == "exponential"


def test_another_element_of_the_same_kind_shows_its_own_values(qtbot, make_window,
                                                               line_project, retype):
    # the rows are kept between elements of one kind: nothing of the last one may stay
    w = make_window(line_project)
    select(w, qtbot, "M1")
    ins = w.inspector
    pt = ins.editor("process_time")
    servers = ins.edit_text("servers")
    retype(servers, "0")
    assert servers.property("invalid") is True
    select(w, qtbot, "M2")
    assert ins.editor("process_time") is pt  # the same editor, refilled
    assert servers.text() == "1" and not servers.property("invalid")
    assert pt.dist.family.currentText() == "constant" and pt.dist.fields["value"].text() == "45"
    assert ins.editor("power_kw").value() == {"busy": 4.0}
    assert ins.title.text() == "Station M2"
    retype(pt.dist.fields["value"].edit, "50", commit=True)
    assert w.project.element("M2").process_time.mean == 50
    assert w.project.element("M1").process_time.mean == 40


@pytest.mark.parametrize("width", [110, 160, 260])
def test_the_preview_axis_labels_never_run_together(qtbot, make_window, line_project, width):
    # F24: a time to failure of ~2000 s in a narrow Inspector labelled its axis "0 200040006"
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtWidgets import QScrollArea

    from twin.model.distributions import exponential

    w = make_window(line_project)
    w.stack.push(cmd.SetField("M1", "process_time", exponential(2000.0)))
    select(w, qtbot, "M1")
    ed = w.inspector.editor("process_time").dist
    ed.plot.setFixedWidth(width)
    qtbot.waitUntil(lambda: ed.plot.width() == width)
    # scrolled into sight, as the user reads it: a plot ranges its axes when it paints, and
    # the stats line above it ("mean 2000 s = 33.33 min, …") now takes two lines
    area = ed.plot.parentWidget()
    while not isinstance(area, QScrollArea):
        area = area.parentWidget()
    area.ensureWidgetVisible(ed.plot)
    qtbot.waitUntil(lambda: ed.plot.getAxis("bottom").range[1] != 1)
    axis = ed.plot.getAxis("bottom")
    lo, hi = axis.range
    assert hi > 5000  # the density's tail: four-digit labels
    image = QImage(width, 40, QImage.Format_ARGB32)
    painter = QPainter(image)
    try:
        _, _, texts = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    boxes = sorted((rect.left(), rect.right(), text) for rect, _, text in texts)
    assert len(boxes) >= 2, boxes  # still a scale to read
    for (_, right, a), (left, _, b) in zip(boxes, boxes[1:], strict=False):
        assert left - right >= 4, f"{a!r} and {b!r} touch at {width} px: {boxes}"


def test_every_red_field_says_why_and_turns_normal_when_valid_or_undone(qtbot, make_window,
                                                                        line_project, retype):
    # a red field stayed red until the element was reselected, and only the last field
    # typed in was explained under the form
    w = make_window(line_project)
    select(w, qtbot, "M1")
    ins = w.inspector
    servers, rotation = ins.edit_text("servers"), ins.edit_text("rotation")
    retype(servers, "0")
    retype(rotation, "north")
    assert servers.property("invalid") is True and rotation.property("invalid") is True
    lines = ins.error.text().splitlines()  # in the order of the form
    assert lines == ["M1.rotation: must be a finite number (found 'north')",
                     "M1.servers: must be >= 1 and <= 3000 (found 0)"]
    retype(servers, "2")  # valid now: normal, and its message gone
    assert not servers.property("invalid") and ins.error.text().splitlines() == lines[:1]
    retype(servers, "2", commit=True)
    assert w.project.element("M1").servers == 2 and rotation.property("invalid") is True
    w.act_undo.trigger()  # Edit > Undo: the refused typing goes with it
    assert w.project.element("M1").servers == 1 and servers.text() == "1"
    assert not rotation.property("invalid") and ins.error.text() == ""
    assert rotation.text() == ins._text_of("rotation")


def test_the_calendar_dialog_closes_with_its_close_button(qtbot, make_window, line_project):
    # it had no button at all: only the title bar's cross (or Esc) closed it; its closing
    # button is Cancel since OK alone keeps the edits (newfix3 §3)
    from PySide6.QtWidgets import QDialogButtonBox, QPushButton

    w = make_window(line_project)
    w.act_plant.trigger()
    dlg = w.plant_dialog
    qtbot.waitUntil(dlg.isVisible)
    close = next(b for b in dlg.findChildren(QPushButton) if b.text() == "Cancel")
    assert close.isVisible()
    assert dlg.buttons.buttonRole(close) == QDialogButtonBox.RejectRole
    QTest.mouseClick(close, Qt.LeftButton)
    qtbot.waitUntil(lambda: not dlg.isVisible())
    w.act_plant.trigger()  # and it opens again
    qtbot.waitUntil(dlg.isVisible)


@pytest.mark.parametrize("how", ["escape", "cancel", "cross"])
def test_the_plant_dialog_discards_its_edits_unless_ok(qtbot, make_window, line_project, how):
    """Esc closed the dialog and kept the edits ("Undo set tariff" after it): Esc, Cancel and
    the title bar's cross discard them, leaving nothing to undo or redo; OK keeps them."""
    from PySide6.QtWidgets import QPushButton

    w = make_window(line_project)
    w.act_plant.trigger()
    dlg = w.plant_dialog
    te = dlg.tariff
    dlg.tabs.setCurrentWidget(te)
    qtbot.waitUntil(te.enabled.isVisible)
    tick(te.enabled)
    assert w.project.tariff is not None  # applied as made: the window shows it at once
    ce = dlg.calendar
    dlg.tabs.setCurrentWidget(ce)
    qtbot.waitUntil(ce.enabled.isVisible)
    tick(ce.enabled)
    assert w.project.calendar is not None
    if how == "escape":
        QTest.keyClick(dlg, Qt.Key_Escape)
    elif how == "cancel":
        QTest.mouseClick(next(b for b in dlg.findChildren(QPushButton)
                              if b.text() == "Cancel"), Qt.LeftButton)
    else:
        dlg.close()
    qtbot.waitUntil(lambda: not dlg.isVisible())
    assert w.project.tariff is None and w.project.calendar is None
    assert not w.act_undo.isEnabled() and not w.act_redo.isEnabled()
    # opened again: the editors show the project, and OK keeps an edit
    w.act_plant.trigger()
    qtbot.waitUntil(dlg.isVisible)
    assert not te.enabled.isChecked()
    dlg.tabs.setCurrentWidget(te)
    qtbot.waitUntil(te.enabled.isVisible)
    tick(te.enabled)
    QTest.mouseClick(next(b for b in dlg.findChildren(QPushButton) if b.text() == "OK"),
                     Qt.LeftButton)
    qtbot.waitUntil(lambda: not dlg.isVisible())
    assert w.project.tariff is not None and w.act_undo.text() == "&Undo set tariff"
