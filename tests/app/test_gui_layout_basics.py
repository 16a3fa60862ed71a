"""Layout editing basics (issue 14 §8): names on the labels and ids on hover, one selection
made with Ctrl/Shift-clicks in the 3D view and in the tree, edits of the whole selection as one
undo step, copy and paste between windows through the system clipboard, the scale bar."""

import json
import math

import pytest
from conftest import small_line
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QGuiApplication, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from screen import mouse_drag, near

from app.clipboard import MIME_ELEMENTS
from app.palette import new_element
from app.scale_bar import TARGET_PX
from twin.model import commands as cmd
from twin.projectfile.reader import SCHEMA_VERSION

pytestmark = [pytest.mark.gui, pytest.mark.timeout(120)]


def top_window(make_window, project):
    w = make_window(project)
    w.view.camera_preset("top")
    w.view.render_now()
    return w


def wait_for(condition, ms=2000):
    """Let the event loop run until ``condition()`` (at most ``ms``; the caller asserts)."""
    for _ in range(ms // 10):
        if condition():
            return
        QTest.qWait(10)


def keys(w, key, modifier=Qt.NoModifier):
    """A key pressed in ``w``'s 3D view, the window active (shortcuts are the active
    window's)."""
    w.activateWindow()
    w.windowHandle().requestActivate()
    wait_for(w.isActiveWindow, 2000)
    assert w.isActiveWindow()
    QTest.keyClick(w.view.vtk, key, modifier)


def click_element(w, eid, modifier=Qt.NoModifier):
    x, y, _ = w.project.element(eid).position
    QTest.mouseClick(w.view.vtk, Qt.LeftButton, modifier, w.view.widget_point(x, y, 0.5))


def tree_item(w, eid):
    root = w.tree.topLevelItem(0)
    return next(root.child(i) for i in range(root.childCount())
                if root.child(i).data(0, Qt.UserRole) == eid)


def click_tree(w, eid, modifier=Qt.NoModifier):
    item = tree_item(w, eid)
    w.tree.scrollToItem(item)
    QTest.mouseClick(w.tree.viewport(), Qt.LeftButton, modifier,
                     w.tree.visualItemRect(item).center())


def tree_selected(w):
    return sorted(w.tree_selection.tree_ids())


def links(project):
    return sorted((c.source, c.target) for c in project.connections)


def test_labels_show_names_machines_first_and_ids_on_hover(make_window, line_project):
    line_project.element("M1").name = "Filler"
    w = top_window(make_window, line_project)
    v = w.view
    texts = v.labels.texts
    assert "Filler" in texts and "M1" not in texts  # the name, not the id
    assert "M2" in texts  # no name: the id
    # where labels collide the placement mapper keeps the higher priority: machines win
    w.stack.push(cmd.AddElement(new_element("conveyor", "C1", (3.0, 0.0, 0.0))))
    v.render_now()
    prio = dict(zip(v.labels.texts, v.labels.priorities, strict=True))
    assert prio["Filler"] > prio["C1"] and prio["M2"] > prio["C1"]
    assert prio["B1"] > prio["C1"]
    # the hover tooltip names the element by its id as well
    p = v.widget_point(9.0, 0.0, 1.0)
    assert "id M2 (station)" in w.hover_tips.text_at(p.x(), p.y())
    p = v.widget_point(3.0, 0.3, 1.6)
    tip = w.hover_tips.text_at(p.x(), p.y())
    assert "Filler\nid M1 (station)" in tip
    # renaming relabels
    w.stack.push(cmd.SetField("M2", "name", "Capper"))
    v.render_now()
    assert "Capper" in v.labels.texts and "M2" not in v.labels.texts


def test_ctrl_and_shift_click_select_in_3d_and_tree_alike(make_window, line_project):
    w = top_window(make_window, line_project)
    click_element(w, "M1")
    assert w.view.selection == ["M1"] and tree_selected(w) == ["M1"]
    click_element(w, "M2", Qt.ControlModifier)
    click_element(w, "out", Qt.ShiftModifier)
    assert w.view.selection == ["M1", "M2", "out"]
    assert tree_selected(w) == ["M1", "M2", "out"]
    click_element(w, "M2", Qt.ShiftModifier)  # Shift adds, never removes
    assert w.view.selection == ["M1", "M2", "out"]
    click_element(w, "M2", Qt.ControlModifier)  # Ctrl toggles
    assert w.view.selection == ["M1", "out"] and tree_selected(w) == ["M1", "out"]
    # and in the tree: Ctrl-click adds and removes, a plain click selects one
    click_tree(w, "B1", Qt.ControlModifier)
    assert sorted(w.view.selection) == ["B1", "M1", "out"]
    click_tree(w, "M1", Qt.ControlModifier)
    assert sorted(w.view.selection) == ["B1", "out"]
    assert w.inspector.isEnabled()
    click_tree(w, "src")
    assert w.view.selection == ["src"] and tree_selected(w) == ["src"]
    # a heading leaves the elements selected; the tree rebuilt after an edit keeps it shown
    QTest.mouseClick(w.tree.viewport(), Qt.LeftButton, Qt.ControlModifier,
                     w.tree.visualItemRect(w.tree.topLevelItem(1)).center())
    assert w.view.selection == ["src"]
    click_element(w, "M1", Qt.ShiftModifier)
    w.act_duplicate.trigger()  # adds elements: the tree is rebuilt, the copies selected
    assert tree_selected(w) == sorted(w.view.selection) == ["M3", "src1"]


def test_selection_edits_are_one_undo_step(make_window, line_project):
    w = top_window(make_window, line_project)
    v = w.view
    before = {el.id: el.position for el in w.project.elements}
    conns = links(w.project)
    click_tree(w, "M1")
    click_tree(w, "B1", Qt.ControlModifier)
    click_tree(w, "M2", Qt.ShiftModifier)  # a range in the tree
    assert sorted(v.selection) == ["B1", "M1", "M2"]
    # drag one of them in 3D: all three move by the same step, one undo puts them back
    n = len(w.stack)
    mouse_drag(v.vtk, v.widget_point(6.0, 0.0, 0.5), v.widget_point(6.0, 2.0, 0.5), steps=8)
    assert len(w.stack) == n + 1
    for eid in ("M1", "B1", "M2"):
        x, y, z = before[eid]
        assert w.project.element(eid).position == (x, y + 2.0, z)
    assert w.project.element("src").position == before["src"]
    w.act_undo.trigger()
    assert {el.id: el.position for el in w.project.elements} == before
    # delete: the three and every connection touching them go, in one step
    n = w.stack.index
    keys(w, Qt.Key_Delete)
    assert w.stack.index == n + 1
    assert [el.id for el in w.project.elements] == ["src", "out"]
    assert links(w.project) == []
    w.act_undo.trigger()
    assert [el.id for el in w.project.elements] == ["src", "M1", "B1", "M2", "out"]
    assert links(w.project) == conns
    # the undo selects what it brought back: Delete deletes it again, Undo restores it
    assert sorted(v.selection) == ["B1", "M1", "M2"]
    assert sorted(tree_item(w, eid).isSelected() for eid in ("M1", "B1", "M2")) == [True] * 3
    keys(w, Qt.Key_Delete)
    assert [el.id for el in w.project.elements] == ["src", "out"]
    w.act_undo.trigger()
    w.act_redo.trigger()  # redoing the delete leaves nothing to select
    assert v.selection == []
    w.act_undo.trigger()
    assert sorted(v.selection) == ["B1", "M1", "M2"]
    # duplicate: three copies with the two connections among them, one step
    v.set_selection(["M1", "B1", "M2"])
    n = w.stack.index
    keys(w, Qt.Key_D, Qt.ControlModifier)
    assert w.stack.index == n + 1 and len(w.project.elements) == 8
    assert ("M3", "B2") in links(w.project) and ("B2", "M4") in links(w.project)
    w.act_undo.trigger()
    assert len(w.project.elements) == 5 and links(w.project) == conns


def test_copy_in_one_window_paste_in_another(make_window, line_project):
    w1 = top_window(make_window, line_project)
    w1.view.set_selection(["M1", "B1", "M2"])
    keys(w1, Qt.Key_C, Qt.ControlModifier)
    mime = QGuiApplication.clipboard().mimeData()
    assert mime.hasFormat(MIME_ELEMENTS)
    doc = json.loads(mime.text())  # plain text too: JSON a text editor shows
    assert [e["id"] for e in doc["elements"]] == ["M1", "B1", "M2"]
    assert [(c["source"], c["target"]) for c in doc["connections"]] == [("M1", "B1"),
                                                                          ("B1", "M2")]
    # another window, another project that has those ids already: paste on the floor
    other = small_line()
    other.name = "other"
    w2 = top_window(make_window, other)
    v2 = w2.view
    n = len(w2.stack)
    p = v2.widget_point(6.0, 5.0)
    QTest.mouseClick(v2.vtk, Qt.RightButton, Qt.NoModifier, p)
    wait_for(lambda: w2.context_menu is not None and w2.context_menu.isVisible())
    paste = next(a for a in w2.context_menu.actions() if a.text() == "&Paste here")
    paste.trigger()
    w2.context_menu.close()
    assert len(w2.stack) == n + 1
    assert [el.id for el in w2.project.elements] == ["src", "M1", "B1", "M2", "out",
                                                     "M3", "B2", "M4"]
    assert ("M3", "B2") in links(w2.project) and ("B2", "M4") in links(w2.project)
    assert not any("M3" in c and c != ("M3", "B2") for c in links(w2.project))
    assert sorted(v2.selection) == ["B2", "M3", "M4"]
    # centred where the click was (snapped to the grid), spaced as copied
    xs = [w2.project.element(i).position for i in ("M3", "B2", "M4")]
    assert [x[1] for x in xs] == [5.0, 5.0, 5.0] and [x[0] for x in xs] == [3.0, 6.0, 9.0]
    # parameters came along
    assert w2.project.element("M3").wear == line_project.element("M1").wear
    assert w2.project.element("B2").capacity == 5
    w2.act_undo.trigger()
    assert [el.id for el in w2.project.elements] == ["src", "M1", "B1", "M2", "out"]
    # an empty project keeps the ids; Ctrl+V pastes where they were
    w3 = top_window(make_window, None)
    keys(w3, Qt.Key_V, Qt.ControlModifier)
    assert [el.id for el in w3.project.elements] == ["M1", "B1", "M2"]
    assert w3.project.element("B1").position == (6.0, 0.0, 0.0)
    assert links(w3.project) == [("B1", "M2"), ("M1", "B1")]
    # cut: copy and delete in one step
    w1.view.set_selection(["src"])
    keys(w1, Qt.Key_X, Qt.ControlModifier)
    assert "src" not in w1.project
    assert [e["id"] for e in json.loads(QGuiApplication.clipboard().text())["elements"]] == [
        "src"]
    w1.act_undo.trigger()
    assert "src" in w1.project and ("src", "M1") in links(w1.project)


def test_paste_of_foreign_text_is_refused_with_the_fix(make_window, line_project):
    w = top_window(make_window, line_project)
    QGuiApplication.clipboard().setText("not elements")
    n = len(w.stack)
    w.act_paste.trigger()
    assert len(w.stack) == n
    assert "copy them (Ctrl+C) first" in w.log_pane.toPlainText()
    bad = {"format": "twinbench-elements", "schema_version": 99, "elements": [{}]}
    QGuiApplication.clipboard().setText(json.dumps(bad))
    w.act_paste.trigger()
    assert "copy them again with this version" in w.log_pane.toPlainText()
    doc = {"format": "twinbench-elements", "schema_version": SCHEMA_VERSION,
           "elements": [{"id": "X", "kind": "station", "position": [0, 0, 0], "servers": 0}]}
    QGuiApplication.clipboard().setText(json.dumps(doc))
    w.act_paste.trigger()
    assert len(w.stack) == n and "servers" in w.log_pane.toPlainText().splitlines()[-1]


def wheel(widget, delta):
    pos = QPointF(300, 300)
    QApplication.sendEvent(widget, QWheelEvent(pos, QPointF(widget.mapToGlobal(pos.toPoint())),
                                               QPoint(), QPoint(0, delta), Qt.NoButton,
                                               Qt.NoModifier, Qt.NoScrollPhase, False))


def test_scale_bar_follows_zoom(make_window, line_project):
    w = top_window(make_window, line_project)
    v, bar = w.view, w.view.scale_bar
    assert bar.isVisible() and bar.text.endswith("m")

    def honest():
        # in the top view the floor's scale is the same everywhere: the bar's pixels are the
        # metres it says, measured by projecting two floor points
        a, b = v.widget_point(0.0, 0.0), v.widget_point(bar.metres, 0.0)
        assert math.hypot(b.x() - a.x(), b.y() - a.y()) == pytest.approx(bar.bar_px, abs=2)
        assert 0.4 * TARGET_PX <= bar.bar_px <= TARGET_PX

    honest()
    far = bar.text, bar.metres
    for _ in range(6):
        wheel(v.vtk, 120)
    v.render_now()
    assert bar.metres < far[1] and bar.text != far[0]
    honest()
    for _ in range(14):
        wheel(v.vtk, -120)
    v.render_now()
    assert bar.metres > far[1]
    honest()
    # looking at the sky: no floor at the corner, no bar
    cam = v.renderer.GetActiveCamera()
    cam.SetPosition(0, 0, 1.0)
    cam.SetFocalPoint(0, 0, 10.0)
    cam.SetViewUp(0, 1, 0)
    v.renderer.ResetCameraClippingRange()
    v.render_now()
    assert not bar.isVisible() and bar.text == ""
    # the bar keeps to the bottom-left corner when the view resizes
    w.resize(900, 700)
    wait_for(lambda: bar.y() + bar.height() <= v.height())
    assert bar.x() == 10 and v.height() - (bar.y() + bar.height()) == 10


def test_conveyor_drawn_by_its_two_ends(make_window, line_project):
    w = top_window(make_window, line_project)
    v = w.view
    keys(w, Qt.Key_C, Qt.ShiftModifier)
    assert v.mode == "conveyor" and w.act_draw_conveyor.isChecked()
    # from M1 to B1 (moved aside first): connected both ways, its length follows them
    w.stack.push(cmd.MoveElements({"B1": ((6.0, 0.0, 0.0), (6.0, 4.0, 0.0))}))
    v.render_now()
    n = w.stack.index
    click_element(w, "M1")
    assert w.project.elements[-1].id == "out"  # the first click only starts it
    QTest.mouseMove(v.vtk, v.widget_point(5.0, 2.0))  # the line follows the mouse
    assert v.conveyor_tool.line.GetVisibility()
    click_element(w, "B1")
    assert w.stack.index == n + 1
    c = w.project.element("C1")
    assert c.kind == "conveyor" and c.length is None and v.selection == ["C1"]
    assert ("M1", "C1") in links(w.project) and ("C1", "B1") in links(w.project)
    assert w.project.conveyor_length(c) == pytest.approx(5.0)  # (3, 0) to (6, 4)
    w.stack.push(cmd.MoveElements({"B1": ((6.0, 4.0, 0.0), (3.0, 8.0, 0.0))}))
    assert w.project.conveyor_length(c) == pytest.approx(8.0)
    # on the empty floor: as long as drawn, on the grid, turned along its ends
    QTest.mouseClick(v.vtk, Qt.LeftButton, Qt.NoModifier, v.widget_point(0.1, -3.0))
    QTest.mouseClick(v.vtk, Qt.LeftButton, Qt.NoModifier, v.widget_point(0.0, -6.1))
    c2 = w.project.element("C2")
    assert c2.length == pytest.approx(3.0) and c2.position == pytest.approx((0.0, -4.5, 0.0))
    assert c2.rotation == pytest.approx(270.0) and c2.footprint[0] == pytest.approx(3.0)
    assert not any("C2" in pair for pair in links(w.project))
    assert v.mode == "conveyor"  # on for the next one
    # one click twice at the same place makes nothing, and says why
    QTest.mouseClick(v.vtk, Qt.LeftButton, Qt.NoModifier, v.widget_point(-3.0, -3.0))
    QTest.mouseClick(v.vtk, Qt.LeftButton, Qt.NoModifier, v.widget_point(-3.0, -3.0))
    assert "C3" not in w.project and "at least 0.2 m apart" in w.log_pane.toPlainText()
    w.act_undo.trigger()  # each conveyor is one step
    assert "C2" not in w.project and "C1" in w.project
    keys(w, Qt.Key_Escape)
    assert v.mode == "select" and not w.act_draw_conveyor.isChecked()


def test_a_machines_label_is_drawn_where_a_conveyors_would_cover_it(make_window):
    from twin.model import elements as m

    p = m.Project("labels", elements=[
        m.Conveyor("C1", name="A conveyor with a long name", position=(0.0, 0.0, 0.0),
                   footprint=(2.0, 0.6)),
        m.Station("M1", name="M", position=(0.0, 0.0, 0.0)),  # on the belt: labels collide
    ])
    w = top_window(make_window, p)
    v = w.view
    assert sorted(v.labels.texts) == ["A conveyor with a long name", "M"]
    # both labels anchor at (0, 0) seen from above; where only the long one would reach,
    # the floor shows: the machine's short label was placed, the conveyor's was not
    beside = v.widget_point(0.0, 0.0)
    beside.setX(beside.x() + 70)

    def at_beside():
        return v.grab_image()[beside.y(), beside.x()]

    with_machine = at_beside()
    w.stack.push(cmd.RemoveElement("M1"))
    v.render_now()
    conveyor_alone = at_beside()  # its label's white background now covers the spot
    assert not near(with_machine, tuple(int(c) for c in conveyor_alone), 10)
    assert min(int(c) for c in conveyor_alone) > max(int(c) for c in with_machine)


def test_view_panels_reset_layout_undoes_a_squeezed_and_scattered_layout(make_window, qtbot):
    # resizing the window tiny left the Project and Palette docks 60 px wide, and that layout
    # was saved and came back at every start; nothing put the panels back
    w = make_window(size=(1400, 900))
    left, insp = w.docks["project"], w.docks["inspector"]
    qtbot.wait(50)
    fresh = (left.width(), insp.width(), insp.isFloating())
    w.resizeDocks([left], [40], Qt.Horizontal)
    insp.setFloating(True)
    w.docks["log"].hide()
    qtbot.wait(50)
    assert left.width() < fresh[0] and insp.isFloating()
    assert w.act_reset_layout.parent() is w
    w.act_reset_layout.trigger()
    qtbot.wait(50)
    assert not insp.isFloating() and w.docks["log"].toggleViewAction().isChecked()
    assert abs(left.width() - fresh[0]) <= 2 and abs(insp.width() - fresh[1]) <= 2


def test_floor_grid_has_a_line_at_every_metre(make_window, line_project):
    # drawn as its lines, not as a wireframe of 1 m cells (issue 15: half a render's cost)
    w = top_window(make_window, line_project)
    v = w.view
    v.fit_view()
    img = v.grab_image().astype(int)

    def at(x, y):
        """The darkest pixel within 1 px of floor point (x, y): a 1 px line may fall on
        the pixel beside the one its exact position rounds to."""
        p = v.widget_point(x, y)
        return img[p.y() - 1:p.y() + 2, p.x() - 1:p.x() + 2].sum(axis=2).min()

    assert v.widget_point(1.0, 0.0).x() - v.widget_point(0.0, 0.0).x() >= 8  # 1 m is visible
    for x in range(1, 12):  # beside the line of machines, clear of every label
        assert at(x, -1.5) < at(x + 0.5, -1.5) - 20, x
        assert at(x + 0.5, -2.0) < at(x + 0.5, -2.5) - 20, x
