"""A floor plan image under the layout, scaled by two points clicked on it (issue 14 §8)."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtTest import QTest
from screen import near, pixel

from app.floor_plan import KEY
from twin.projectfile.reader import load_project

pytestmark = [pytest.mark.gui, pytest.mark.timeout(120)]
RED, BLUE = (220, 30, 30), (30, 60, 220)


def two_colour_image(path, w=200, h=100):
    """Left half red, right half blue."""
    img = QImage(w, h, QImage.Format_RGB32)
    img.fill(QColor(*RED))
    for x in range(w // 2, w):
        for y in range(h):
            img.setPixelColor(x, y, QColor(*BLUE))
    assert img.save(str(path))
    return path


def test_load_scale_by_two_points_undo_and_keep(make_window, line_project, tmp_path):
    folder = tmp_path / "hall"
    folder.mkdir()
    line_project.path = folder  # the project's folder: the image inside it is kept relative
    w = make_window(line_project, folder)
    v = w.view
    v.camera_preset("top")
    file = two_colour_image(folder / "plan.png")
    assert w.floor_plan.load(file)
    plan = w.project.meta[KEY]
    assert plan["image"] == "plan.png"
    # the first guess: 5 m before the layout (x 0..12), 10 m wider than it
    assert plan["origin"] == pytest.approx([-5.5, -5.5], abs=0.3)
    x0, x1, y0, y1 = v.floor_plan.bounds()
    assert x1 - x0 == pytest.approx(2 * (y1 - y0))  # the image's aspect
    v.fit_view()
    v.camera_preset("top")
    left, right = x0 + 0.25 * (x1 - x0), x0 + 0.75 * (x1 - x0)
    ymid = y0 + 0.8 * (y1 - y0)  # clear of the elements on y = 0
    assert near(pixel(v, left, ymid), RED, 60) and near(pixel(v, right, ymid), BLUE, 60)
    # scale by two points: clicked on the plan, their real distance given: doubled
    asked = []

    def ask(drawn, answer):
        asked.append(drawn)
        answer(2 * drawn)

    w.floor_plan.ask_distance = ask
    w.floor_plan.start_scaling()
    assert v.mode == "plan"
    a, b = (x0 + 1.0, y0 + 1.0), (x0 + 5.0, y0 + 1.0)
    n = w.stack.index
    for p in (a, b):
        QTest.mouseClick(v.vtk, Qt.LeftButton, Qt.NoModifier, v.widget_point(*p))
    assert asked == [pytest.approx(4.0, abs=0.1)] and v.mode == "select"
    assert w.stack.index == n + 1
    nx0, nx1, ny0, ny1 = v.floor_plan.bounds()
    assert nx1 - nx0 == pytest.approx(2 * (x1 - x0))
    # about the first point: it stays where it was on the plan
    ax, ay = v.floor_point(v.widget_point(*a).x(), v.widget_point(*a).y())
    assert (ax - nx0) == pytest.approx(2 * (ax - x0), abs=0.1)
    assert (ay - ny0) == pytest.approx(2 * (ay - y0), abs=0.1)
    # one undo puts it back; Remove is undoable too
    w.act_undo.trigger()
    assert v.floor_plan.bounds() == pytest.approx((x0, x1, y0, y1))
    w.act_redo.trigger()
    assert w.save()
    w.floor_plan.remove()
    assert v.floor_plan.bounds() is None and KEY not in w.project.meta
    w.act_undo.trigger()
    assert v.floor_plan.bounds() == pytest.approx((nx0, nx1, ny0, ny1))
    # kept with the project: reopened, the plan is drawn where it was
    reopened = load_project(folder)
    assert reopened.meta[KEY]["image"] == "plan.png"
    w2 = make_window(reopened, folder)
    assert w2.view.floor_plan.bounds() == pytest.approx((nx0, nx1, ny0, ny1))


def test_the_distance_is_asked_without_blocking(make_window, line_project, tmp_path):
    w = make_window(line_project)
    assert w.floor_plan.load(two_colour_image(tmp_path / "plan.png"))
    before = dict(w.project.meta[KEY])
    assert w.floor_plan.scale_by((0.0, 0.0), (3.0, 4.0))  # returns: the dialog waits
    dlg = w.floor_plan.dialog
    assert dlg.isVisible() and "5.000 m apart" in dlg.labelText()
    dlg.setDoubleValue(10.0)
    dlg.accept()
    after = w.project.meta[KEY]
    assert after["scale"] == pytest.approx(2 * before["scale"])


def test_a_file_that_is_no_image_is_refused(make_window, line_project, tmp_path):
    w = make_window(line_project)
    n = w.stack.index
    for name, text in (("plan.dxf", "0\nSECTION\n"), ("plan.png", "not a picture"),
                       ("empty.dxf", "")):
        bad = tmp_path / name
        bad.write_text(text)
        assert not w.floor_plan.load(bad)
        assert w.stack.index == n and KEY not in w.project.meta
        assert f"{bad}: not a" in w.log_pane.toPlainText().splitlines()[-1]
    # a plan whose image went missing opens without it, and says so
    w.project.meta[KEY] = {"image": str(tmp_path / "gone.png"), "origin": [0, 0],
                           "scale": 0.1}
    w.project.changed.emit()
    assert w.view.floor_plan.bounds() is None
    QTest.qWait(10)
    assert "floor plan not drawn" in w.log_pane.toPlainText()


def test_a_dxf_drawing_at_the_scale_of_its_unit(make_window, line_project, tmp_path):
    import ezdxf
    from ezdxf import units

    doc = ezdxf.new()
    doc.units = units.MM
    msp = doc.modelspace()
    msp.add_lwpolyline([(0, 0), (30_000, 0), (30_000, 12_000), (0, 12_000)], close=True)
    msp.add_line((10_000, 0), (10_000, 12_000))
    msp.add_circle((20_000, 6_000), 1_000)
    block = doc.blocks.new("PILLAR")
    block.add_line((0, 0), (500, 500))
    msp.add_blockref("PILLAR", (29_000, 11_000))
    doc.saveas(tmp_path / "hall.dxf")
    w = make_window(line_project)
    v = w.view
    assert w.floor_plan.load(tmp_path / "hall.dxf")
    plan = w.project.meta[KEY]
    assert plan["scale"] == pytest.approx(0.001)  # millimetres
    x0, x1, y0, y1 = v.floor_plan.bounds()
    assert (x1 - x0, y1 - y0) == pytest.approx((30.0, 12.0), abs=1e-6)
    assert (x0, y0) == pytest.approx(tuple(plan["origin"]))
    assert len(v.floor_plan.drawing.segments) > 6  # the circle flattened, the block's line
    # a drawing in metres of the same hall is as big on the floor
    doc.units = units.M
    for e in list(msp):
        msp.delete_entity(e)
    msp.add_lwpolyline([(0, 0), (30, 0), (30, 12), (0, 12)], close=True)
    doc.saveas(tmp_path / "hall-m.dxf")
    assert w.floor_plan.load(tmp_path / "hall-m.dxf")
    x0, x1, y0, y1 = v.floor_plan.bounds()
    assert (x1 - x0, y1 - y0) == pytest.approx((30.0, 12.0), abs=1e-6)
    w.act_undo.trigger()  # back to the first drawing
    assert w.project.meta[KEY]["image"].endswith("hall.dxf")
