"""Build a line with the mouse, edit it in the inspector, undo, save and reopen."""

import json

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt
from PySide6.QtGui import QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox
from screen import mouse_drag

from app.palette import MIME_KIND
from twin.projectfile.reader import load_project, project_to_json

pytestmark = pytest.mark.gui


def drop(view, kind, x, y):
    """Drop a palette kind on floor point (x, y): a real QDropEvent into the drop handler.

    QApplication only delivers a Drop during a platform drag, which the offscreen platform
    cannot start, so the event goes to the widget's handler directly.
    """
    p = view.widget_point(x, y)
    mime = QMimeData()
    mime.setData(MIME_KIND, kind.encode())
    ev = QDropEvent(QPointF(p), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    view.vtk.dropEvent(ev)
    assert ev.isAccepted()
    return view.selection[0]


def test_build_edit_undo_save_reopen(make_window, tmp_path, retype):
    w = make_window()
    v = w.view
    v.camera_preset("top")
    v.render_now()
    ids = [drop(v, k, x, 0.0) for k, x in (("source", -4.0), ("station", 0.0),
                                          ("buffer", 3.0), ("sink", 6.0))]
    assert ids == ["src1", "M1", "B1", "out1"]
    assert w.isWindowModified()
    v.fit_view()
    v.render_now()
    # move the station with a real drag: one undo step, snapped to the grid
    n = len(w.stack)
    a = v.widget_point(0.0, 0.0)
    b = v.widget_point(0.6, 2.1)
    mouse_drag(v.vtk, a, b)
    assert w.project.element("M1").position == (0.5, 2.0, 0.0)
    assert len(w.stack) == n + 1
    # connect src1 -> M1 -> B1 -> out1 by dragging in connect mode
    w.act_connect.trigger()
    for s, t in (("src1", "M1"), ("M1", "B1"), ("B1", "out1")):
        ps, pt = (w.project.element(i).position for i in (s, t))
        mouse_drag(v.vtk, v.widget_point(ps[0], ps[1]), v.widget_point(pt[0], pt[1]))
    w.act_connect.trigger()
    assert [(c.source, c.target) for c in w.project.connections] == [
        ("src1", "M1"), ("M1", "B1"), ("B1", "out1")]
    # select by click, edit in the inspector: a bad value is refused with the reader's reason
    p = w.project.element("M1").position
    QTest.mouseClick(v.vtk, Qt.LeftButton, Qt.NoModifier, v.widget_point(p[0], p[1]))
    assert v.selection == ["M1"]
    ed = w.inspector.edit_text("servers")
    retype(ed, "0")
    assert ed.property("invalid") is True
    assert "must be >= 1" in w.inspector.error.text()
    retype(ed, "2", commit=True)
    assert w.project.element("M1").servers == 2
    servers_set = w.stack.index
    # the process time in its distribution editor: a family from the list, then its fields
    pt = w.inspector.editors["process_time"].dist
    pt.family.setCurrentText("triangular")
    pt.family.activated.emit(pt.family.currentIndex())
    retype(pt.fields["low"].edit, "50")
    retype(pt.fields["mode"].edit, "40")
    retype(pt.fields["high"].edit, "90")
    assert pt.fields["high"].edit.property("invalid") is True and "mode" in pt.error.text()
    retype(pt.fields["low"].edit, "30", commit=True)
    assert w.project.element("M1").process_time.dist == "triangular"
    edited = project_to_json(w.project)
    # undo the process time (the family, then the field: two steps) and the servers, redo
    # them: exactly the same project
    steps = w.stack.index - servers_set + 1
    assert steps == 3
    for _ in range(steps):
        w.act_undo.trigger()
    assert w.project.element("M1").servers == 1
    assert w.inspector.editors["servers"].text() == "1"
    for _ in range(steps):
        w.act_redo.trigger()
    assert project_to_json(w.project) == edited
    # save, reopen in a new window, compare
    assert w.save_to(tmp_path / "built")
    assert not w.isWindowModified()
    w2 = make_window()
    assert w2.open_project(tmp_path / "built")
    assert project_to_json(w2.project) == edited
    assert project_to_json(load_project(tmp_path / "built")) == edited
    assert json.loads((tmp_path / "built" / "project.json").read_text())["elements"][1][
        "servers"] == 2


def test_rubber_band_delete_undo_and_overlap(make_window, line_project):
    w = make_window(line_project)
    v = w.view
    v.camera_preset("top")
    v.render_now()
    a, b = v.widget_point(2.0, -1.5), v.widget_point(7.0, 1.5)
    mouse_drag(v.vtk, a, b)
    assert sorted(v.selection) == ["B1", "M1"]
    before = project_to_json(w.project)
    w.act_delete.trigger()
    assert "M1" not in w.project and not w.project.successors("src")
    w.act_undo.trigger()
    assert project_to_json(w.project) == before
    # dragging M1 onto B1 marks both red; the drag is one undo step
    v.set_selection(["M1"])
    n = w.stack.index
    mouse_drag(v.vtk, v.widget_point(3.0, 0.0), v.widget_point(5.6, 0.0), steps=10)
    v.render_now()
    assert sorted(v.overlapping()) == ["B1", "M1"]
    assert w.stack.index == len(w.stack) == n + 1
    w.act_undo.trigger()
    v.render_now()
    assert v.overlapping() == []


def test_pixels_show_station_where_dropped(make_window):
    w = make_window()
    v = w.view
    v.camera_preset("top")
    v.render_now()
    eid = drop(v, "station", 2.0, 1.0)
    v.set_selection([])
    v.camera_preset("top")
    img = v.grab_image()
    p = v.widget_point(2.45, 0.55, 1.6)  # on the roof, clear of the centred id label
    r, g, b = img[p.y(), p.x()].astype(int)
    assert b > r + 30 and b > g  # the station's steel blue
    far = v.widget_point(-2.0, -1.0)
    assert tuple(img[far.y(), far.x()]) != (r, g, b)
    v.set_tints({eid: (0.85, 0.15, 0.15)})  # "down"
    r2, g2, b2 = v.grab_image()[p.y(), p.x()].astype(int)
    assert r2 > g2 + 60 and r2 > b2 + 60


def test_title_close_and_settings(make_window, line_project):
    w = make_window(line_project)
    assert not w.isWindowModified() and w.windowTitle().startswith("small")
    w.view.set_selection(["M1"])
    w.act_rotate.trigger()
    assert w.isWindowModified()
    w.ask_unsaved = lambda: QMessageBox.Cancel
    assert not w.close()
    assert w.isVisible()
    w.act_undo.trigger()
    assert not w.isWindowModified()
    w.resize(1000, 700)
    w.docks["log"].raise_()
    assert w.close()
    w2 = make_window(line_project)
    assert w2.settings.value("geometry") is not None
    assert np.isclose(w2.width(), 1200)  # the factory sizes windows; the state was stored


def test_batched_kinds_pick_and_recolour_in_place(make_window):
    from twin.model import elements as m
    els = [m.Station(f"S{i}", position=(3.0 * (i % 20), 3.0 * (i // 20), 0.0))
           for i in range(200)]
    w = make_window(m.Project("many", elements=els))
    v = w.view
    assert len(v.batches) == 1  # one actor draws all 200 stations
    batch = v.batches["StationActor"]
    v.render_now()
    assert batch.poly.GetNumberOfCells() == 200 * batch.cells_per_slot
    assert v.labels.texts == []  # more than LABELS_UP_TO: labels only on the selection
    v.camera_preset("top")
    v.render_now()
    p = v.widget_point(3.0 * 7, 3.0 * 4, 1.6)
    assert v.pick(p.x(), p.y()) == "S87"
    QTest.mouseClick(v.vtk, Qt.LeftButton, Qt.NoModifier, p)
    v.render_now()
    assert v.selection == ["S87"] and v.labels.texts == ["S87"]
    colours = batch._cell_rgb
    v.set_tints({"S87": (0.85, 0.15, 0.15)})
    v.render_now()
    assert batch._cell_rgb is colours  # written in place, not rebuilt
    r, g, b = v.grab_image()[p.y(), p.x()].astype(int)
    assert r > g + 60 and r > b + 60


def test_the_inspector_fits_its_dock_and_shows_values_from_their_start(make_window, line_project):
    # the mesh row's long hint once widened every row past the dock, hiding the units, and
    # a long value showed its end ("e": 2.0, "high": 2.2}) instead of its start
    from PySide6.QtWidgets import QScrollArea

    w = make_window(line_project)
    station = next(e for e in line_project.elements if e.kind == "station")
    w.view.set_selection([station.id])
    ins = w.inspector
    assert ins.title.text().endswith(station.id)
    viewport = ins.findChild(QScrollArea).viewport()
    assert ins.form_host.minimumSizeHint().width() <= viewport.width()
    assert ins.editors["mesh"].placeholderText().startswith("STL/OBJ")
    # a distribution shows in its editor: the family and one field per parameter
    pt = ins.editors["process_time"].dist
    assert pt.family.currentText() == station.process_time.dist
    assert set(pt.fields) == set(station.process_time.params)


def test_a_dropped_source_says_what_no_arrival_means(make_window, qtbot):
    # "arrival: (none)" said nothing of what a source without arrivals does
    w = make_window()
    w.view.camera_preset("top")
    w.view.render_now()
    sid = drop(w.view, "source", 0.0, 0.0)
    assert w.project.element(sid).arrival is None
    ed = w.inspector.editor("arrival")
    assert ed.family.currentText() == "(none)"
    qtbot.waitUntil(lambda: ed.isVisible())  # a new row is shown at the next event
    assert ed.stats.isVisible()
    assert ed.stats.text() == ("(none): unlimited raw material: a part whenever the next "
                               "element can take one (or the rows of its schedule, when it "
                               "has one)")
    ed.family.setCurrentText("exponential")  # a distribution: its mean instead
    ed.family.activated.emit(ed.family.currentIndex())
    assert ed.stats.text().startswith("mean ")


def test_refused_typing_is_kept_red_when_the_element_is_shown_again(make_window, line_project,
                                                                     retype, qtbot):
    """A refused value, another element selected, then this one again: the typing was gone
    without a word, the field showing the old value (polish2 §6). It comes back red with its
    reason, as Plant Simulation keeps an invalid entry in sight."""
    w = make_window(line_project)
    v = w.view
    p = w.project.element("B1").position
    QTest.mouseClick(v.vtk, Qt.LeftButton, Qt.NoModifier, v.widget_point(p[0], p[1]))
    assert v.selection == ["B1"]
    ed = w.inspector.edit_text("capacity")
    retype(ed, "-2", commit=True)
    assert ed.property("invalid") is True
    reason = w.inspector.error.text()
    assert "capacity" in reason and w.project.element("B1").capacity == 5
    p = w.project.element("M2").position
    QTest.mouseClick(v.vtk, Qt.LeftButton, Qt.NoModifier, v.widget_point(p[0], p[1]))
    assert v.selection == ["M2"] and w.inspector.error.text() == ""
    p = w.project.element("B1").position
    QTest.mouseClick(v.vtk, Qt.LeftButton, Qt.NoModifier, v.widget_point(p[0], p[1]))
    assert v.selection == ["B1"]
    ed = w.inspector.editors["capacity"]
    assert ed.text() == "-2" and ed.property("invalid") is True
    assert w.inspector.error.text() == reason
    # fixed by the user: applied, and nothing is kept any more
    retype(ed, "7", commit=True)
    assert w.project.element("B1").capacity == 7 and ed.property("invalid") is False
    assert w.inspector.drafts == {}
