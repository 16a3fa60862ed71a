"""A station drawn with its own mesh, imported from STL or OBJ through the inspector."""

import logging
import struct

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from screen import near, pixel

from app import inspector as insp
from app.meshes import MeshLoadError, mesh_template
from twin.model import commands as cmd
from twin.model import elements as m
from twin.projectfile.reader import load_project, save_project

pytestmark = pytest.mark.gui

STATION_BLUE = (115, 140, 184)  # StationActor.color lit from above, in the top view
RED = (0.85, 0.15, 0.15)
# the 12 triangles of a box on corners (x, y, z bits), outward facing
_TRIS = [(0, 2, 1), (1, 2, 3), (4, 5, 6), (5, 7, 6), (0, 1, 4), (1, 5, 4), (2, 6, 3),
         (3, 6, 7), (0, 4, 2), (2, 4, 6), (1, 3, 5), (3, 7, 5)]


def _corners(w, d, h, origin=(0.0, 0.0, 0.0)):
    return np.array([(x, y, z) for z in (0, h) for y in (0, d) for x in (0, w)]) + origin


def box_stl(path, w, d, h, binary=True, origin=(0.0, 0.0, 0.0)):
    """A box ``w`` x ``d`` x ``h`` in the file's units, one corner at ``origin``, as an STL
    (80-byte header, triangle count, 50 bytes per triangle; or the ASCII form)."""
    v = _corners(w, d, h, origin)
    path.parent.mkdir(parents=True, exist_ok=True)
    if binary:
        with open(path, "wb") as f:
            f.write(b"twinbench test box".ljust(80, b"\0") + struct.pack("<I", len(_TRIS)))
            for a, b, c in _TRIS:
                f.write(struct.pack("<12fH", 0, 0, 0, *v[a], *v[b], *v[c], 0))
        return path
    lines = ["solid box"]
    for a, b, c in _TRIS:
        lines += ["  facet normal 0 0 0", "    outer loop",
                  *(f"      vertex {x:g} {y:g} {z:g}" for x, y, z in v[[a, b, c]]),
                  "    endloop", "  endfacet"]
    path.write_text("\n".join([*lines, "endsolid box", ""]), encoding="ascii")
    return path


def box_obj(path, w, d, h):
    """The same box as an OBJ of six quads (1-based vertex indices)."""
    v = _corners(w, d, h)
    quads = [(1, 3, 4, 2), (5, 6, 8, 7), (1, 2, 6, 5), (3, 7, 8, 4), (1, 5, 7, 3), (2, 4, 8, 6)]
    text = [f"v {x:g} {y:g} {z:g}" for x, y, z in v] + [f"f {a} {b} {c} {e}"
                                                        for a, b, c, e in quads]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(text) + "\n", encoding="ascii")
    return path


def is_red(rgb):
    r, g, b = (int(c) for c in rgb)
    return r > g + 60 and r > b + 60


def test_import_a_mesh_scale_it_turn_it_undo_save(make_window, line_project, tmp_path,
                                                 monkeypatch, retype):
    save_project(line_project, tmp_path / "plant")
    w = make_window(load_project(tmp_path / "plant"))
    v = w.view
    v.camera_preset("top")
    v.render_now()
    # a press 4 m long, 1.2 m deep, 2.5 m high, drawn in millimetres away from the origin
    cad = box_stl(tmp_path / "cad" / "press.stl", 4000, 1200, 2500, origin=(100, 200, 0))
    beside = (4.6, -0.4, 2.5)  # beside M1's default 1 m box, inside the press's footprint
    assert not near(pixel(v, *beside), STATION_BLUE)
    p = v.widget_point(2.8, -0.3, 1.6)
    QTest.mouseClick(v.vtk, Qt.LeftButton, Qt.NoModifier, p)
    assert v.selection == ["M1"] and w.inspector.title.text() == "Station M1"
    asked = []
    monkeypatch.setattr(insp.QFileDialog, "getOpenFileName",
                        lambda *a: (asked.append(a[3]), (str(cad), ""))[1])
    n = len(w.stack)
    QTest.mouseClick(w.inspector.import_button, Qt.LeftButton)
    assert asked and "*.stl" in asked[0] and "*.obj" in asked[0]
    assert (tmp_path / "plant" / "meshes" / "press.stl").read_bytes() == cad.read_bytes()
    # 4000 units long: read as millimetres, and the status bar says so
    assert w.project.element("M1").mesh == m.Mesh("meshes/press.stl", 0.001)
    assert len(w.stack) == n + 1 and w.stack.undo_text() == "set mesh of 'M1'"
    assert "scale 0.001 m per unit (its largest side is 4000 units: read as millimetres)" in (
        w.statusBar().currentMessage())
    # the scale is typed in the inspector like any field: 0 is refused, 0.002 is one step
    ed = w.inspector.edit_text("mesh")
    assert ed.text() == '{"file": "meshes/press.stl", "scale": 0.001}'
    retype(ed, '{"file": "meshes/press.stl", "scale": 0}')
    assert ed.property("invalid") is True and "> 0" in w.inspector.error.text()
    retype(ed, '{"file": "meshes/press.stl", "scale": 0.002}', commit=True)
    assert w.project.element("M1").mesh == m.Mesh("meshes/press.stl", 0.002)
    assert v.adapters["M1"].box()[4:] == pytest.approx((8.0, 2.4, 5.0))
    w.act_undo.trigger()
    assert ed.text() == '{"file": "meshes/press.stl", "scale": 0.001}'
    batch = v.adapters["M1"].body
    assert batch is not v.batches["StationActor"] and batch.owners == [v.adapters["M1"]]
    assert v.adapters["M1"].box()[4:] == pytest.approx((4.0, 1.2, 2.5))
    # centred on M1 (3, 0), standing on the floor, 4 m long: drawn, pickable, coloured
    assert near(pixel(v, *beside), STATION_BLUE)
    q = v.widget_point(*beside)
    assert v.pick(q.x(), q.y()) == "M1"
    v.set_tints({"M1": RED})
    assert is_red(pixel(v, *beside))
    v.set_tints(None)
    # turned by 90 degrees it lies along y
    w.act_rotate.trigger()
    assert not near(pixel(v, *beside), STATION_BLUE)
    assert near(pixel(v, 2.6, 1.6, 2.5), STATION_BLUE)
    w.act_undo.trigger()
    # saved and reopened: the same mesh, the same drawing
    assert w.save()
    w2 = make_window(load_project(tmp_path / "plant"))
    assert w2.project.element("M1").mesh == m.Mesh("meshes/press.stl", 0.001)
    w2.view.camera_preset("top")
    assert near(pixel(w2.view, *beside), STATION_BLUE)
    # undo the import: the default box again
    w.act_undo.trigger()
    assert w.project.element("M1").mesh is None
    assert v.adapters["M1"].body is v.batches["StationActor"]
    assert not near(pixel(v, *beside), STATION_BLUE)
    assert near(pixel(v, 2.8, -0.3, 1.6), STATION_BLUE)


def test_stations_sharing_a_mesh_share_one_batch(make_window, line_project, tmp_path):
    box_obj(tmp_path / "plant" / "meshes" / "cell.obj", 2.0, 1.0, 1.0)
    save_project(line_project, tmp_path / "plant")
    w = make_window(load_project(tmp_path / "plant"))
    mesh = m.Mesh("meshes/cell.obj")
    w.stack.push(cmd.Macro([cmd.SetField(i, "mesh", mesh) for i in ("M1", "M2")]))
    v = w.view
    a1, a2 = v.adapters["M1"], v.adapters["M2"]
    assert a1.body is a2.body and len(a1.body.owners) == 2
    v.render_now()
    assert a1.body.poly.GetNumberOfCells() == 2 * 12  # six quads, two triangles each
    v.camera_preset("top")
    assert near(pixel(v, 9.8, -0.3, 1.0), STATION_BLUE)  # M2's cell, 2 m long


def test_a_recovered_project_finds_its_meshes_at_home(make_window, line_project, tmp_path):
    box_stl(tmp_path / "plant" / "meshes" / "press.stl", 2.0, 1.0, 1.8)
    line_project.element("M1").mesh = m.Mesh("meshes/press.stl")
    save_project(line_project, tmp_path / "plant")
    w = make_window(load_project(tmp_path / "plant"))
    w.view.set_selection(["M2"])
    w.act_rotate.trigger()
    file = w.autosave()  # in the recovery folder, far from meshes/
    w2 = make_window()
    assert w2.recover(file)
    assert w2.project.element("M1").mesh == m.Mesh("meshes/press.stl")
    assert w2.view.adapters["M1"].mesh_size == pytest.approx((2.0, 1.0, 1.8))


def test_a_mesh_that_cannot_be_read_is_a_box_and_a_warning(make_window, line_project,
                                                         tmp_path, caplog, qtbot, retype):
    broken = tmp_path / "plant" / "meshes" / "broken.stl"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"\0" * 80 + struct.pack("<I", 10**8) + b"\1" * 30)  # cut short
    line_project.element("M1").mesh = m.Mesh("meshes/broken.stl", 0.001)
    save_project(line_project, tmp_path / "plant")
    with caplog.at_level(logging.WARNING, logger="app.view3d"):
        w = make_window(load_project(tmp_path / "plant"))
    v = w.view
    assert v.adapters["M1"].body is v.batches["StationActor"]
    assert any("M1: mesh not drawn, a box instead: broken.stl" in r.getMessage()
               for r in caplog.records)
    qtbot.waitUntil(lambda: "M1: mesh not drawn" in w.log_pane.toPlainText())
    v.camera_preset("top")
    assert near(pixel(v, 2.8, -0.3, 1.6), STATION_BLUE)
    # a mesh in a project without a folder cannot be found: a box too, never a crash
    w.new_project()
    drop = w.view.create_at("station", *w.view.widget_point(0.0, 0.0).toTuple())
    w.stack.push(cmd.SetField(drop, "mesh", m.Mesh("meshes/press.stl")))
    assert w.view.adapters[drop].mesh_size is None
    qtbot.waitUntil(lambda: "has no folder yet" in w.log_pane.toPlainText())
    # and the inspector asks for a save before it imports anything
    w.inspector.show_element(w.project.element(drop))
    QTest.mouseClick(w.inspector.import_button, Qt.LeftButton)
    assert "Save the project first" in w.inspector.error.text()
    ed = w.inspector.edit_text("mesh")
    retype(ed, "meshes/other.stl")
    assert ed.property("invalid") is True and "save the project first" in ed.toolTip()


def test_a_project_whose_mesh_file_is_missing_opens_with_a_box_and_a_warning(
        make_window, line_project, tmp_path, caplog, qtbot, retype):
    line_project.element("M1").mesh = m.Mesh("meshes/press.stl", 0.001)
    save_project(line_project, tmp_path / "plant")  # the file itself never came along
    missing = tmp_path / "plant" / "meshes" / "press.stl"
    assert not missing.exists()
    w = make_window()
    with caplog.at_level(logging.WARNING, logger="app.view3d"):
        assert w.open_project(tmp_path / "plant")
        # the warning names the station, the file and the fix, in the status bar and the log
        status = w.statusBar().currentMessage()
        assert status.startswith("warning: ") and "station 'M1' is drawn as a box" in status
        text = w.log_pane.toPlainText()
        assert f"opened {tmp_path / 'plant'}" in text
        assert str(missing) in text and "copy the file there" in text and "Import mesh" in text
        qtbot.wait(50)  # the 3D view's messages arrive on the next turn of the event loop
    # once: the view does not repeat what the reader said
    assert [x for x in w.log_pane.toPlainText().splitlines() if "press.stl" in x] == [
        text.splitlines()[-1]]
    assert not [r for r in caplog.records if "M1" in r.getMessage()]
    v = w.view
    assert w.project.element("M1").mesh == m.Mesh("meshes/press.stl", 0.001)
    assert v.adapters["M1"].body is v.batches["StationActor"]
    assert v.adapters["M1"].mesh_size is None
    v.camera_preset("top")
    assert near(pixel(v, 2.8, -0.3, 1.6), STATION_BLUE)  # the default box at M1
    # the station still takes edits of its other fields
    w.inspector.show_element(w.project.element("M1"))
    ed = w.inspector.edit_text("servers")
    retype(ed, "2", commit=True)
    assert w.project.element("M1").servers == 2 and not w.inspector.error.text()
    # saved, the mesh reference stays; with the file in place it is drawn
    assert w.save()
    assert load_project(tmp_path / "plant").element("M1").mesh == m.Mesh("meshes/press.stl",
                                                                          0.001)
    box_stl(missing, 4000, 1200, 2500)
    w2 = make_window()
    assert w2.open_project(tmp_path / "plant")
    assert w2.view.adapters["M1"].mesh_size == pytest.approx((4.0, 1.2, 2.5))
    assert "warning" not in w2.log_pane.toPlainText()


def test_mesh_templates_from_stl_and_obj(tmp_path):
    for f in (box_stl(tmp_path / "bin.stl", 4, 2, 3, origin=(10, 10, -1)),
              box_stl(tmp_path / "asc.STL", 4, 2, 3, binary=False, origin=(10, 10, -1)),
              box_obj(tmp_path / "box.obj", 4, 2, 3)):
        t = mesh_template(f)
        assert t.size == pytest.approx((4, 2, 3)) and t.triangles == 12
        # centred on the origin in x and y, standing on z = 0
        assert t.source.GetOutput().GetBounds() == pytest.approx((-2, 2, -1, 1, 0, 3))
        assert mesh_template(f) is t  # read once
    (tmp_path / "empty.obj").write_text("# no faces\nv 0 0 0\n")
    (tmp_path / "garbage.stl").write_bytes(b"not a mesh at all")
    (tmp_path / "model.ply").write_bytes(b"ply\nformat ascii 1.0\n")
    for name, words in (("empty.obj", "holds no faces"), ("garbage.stl", "cannot read it"),
                        ("gone.stl", "No such file"), ("model.ply", "unsupported format")):
        with pytest.raises(MeshLoadError, match=words):
            mesh_template(tmp_path / name)
