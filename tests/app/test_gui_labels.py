"""Element names in the 3D view (app.labels): never on top of each other, never cut at the
view's edge, and painted once, not in every frame (issue 15: the first live render)."""

import numpy as np
import pytest

from app.labels import GAP_PX, place
from app.theme import STATE_COLORS
from twin.model import commands as cmd
from twin.model import elements as m

pytestmark = [pytest.mark.gui, pytest.mark.timeout(120)]


def test_place_takes_labels_by_priority_beside_their_anchor_and_inside_the_view():
    size = np.array([[50, 20]] * 5)
    anchors = np.array([[100.0, 100.0], [130.0, 100.0], [100.0, 100.0], [395.0, 50.0],
                        [np.nan, np.nan]])
    ids, boxes = place(anchors, size, np.array([3.0, 2.0, 1.0, 1.0, 9.0]), 400, 300)
    got = dict(zip(ids.tolist(), boxes.tolist(), strict=True))
    assert got[0] == [75, 100, 125, 120]  # centred above its anchor
    assert got[1] == [130, 100, 180, 120]  # centred it would touch 0: it starts at its anchor
    assert 2 not in got  # all three places touch a label of higher priority
    assert got[3] == [350, 50, 400, 70]  # pushed inside the view, not cut at its edge
    assert 4 not in got  # behind the camera
    # an anchor off the view is not labelled; a label that does not fit gets the corner
    ids, boxes = place(np.array([[-3.0, 10.0], [5.0, 5.0]]), np.array([[50, 20], [500, 20]]),
                       np.ones(2), 400, 300)
    assert ids.tolist() == [1] and boxes.tolist() == [[0, 5, 500, 25]]


def dense_line(n: int = 40) -> m.Project:
    els = [m.Station(f"S{i}", name=f"Station number {i}", position=(1.5 * i, 0.0, 0.0))
           for i in range(n)]
    return m.Project("dense", elements=els)


def screen_box(img, box):
    """The rows and columns of ``img`` (row 0 at the top) inside display box (y up)."""
    x0, y0, x1, y1 = box
    h = img.shape[0]
    return slice(h - y1, h - y0), slice(x0, x1)


def test_dense_labels_neither_overlap_nor_leave_the_view_and_are_drawn_where_placed(
        make_window):
    w = make_window(dense_line())
    v = w.view
    v.camera_preset("isometric")
    v.fit_view()
    with_labels = v.grab_image().astype(int)
    placed = v.labels.placed
    assert 3 <= len(placed) < 40  # crowded: some names give way, several are shown
    boxes = np.array(list(placed.values()))
    height, width = with_labels.shape[:2]
    assert (boxes[:, 0] >= 0).all() and (boxes[:, 2] <= width).all()
    assert (boxes[:, 1] >= 0).all() and (boxes[:, 3] <= height).all()
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            apart = (a[2] + GAP_PX <= b[0] or b[2] + GAP_PX <= a[0]
                     or a[3] + GAP_PX <= b[1] or b[3] + GAP_PX <= a[1])
            assert apart, (a, b)
    # what the view shows: each placed box holds a label, and nothing is drawn elsewhere
    v.labels.actor.SetVisibility(False)
    bare = v.grab_image().astype(int)
    v.labels.actor.SetVisibility(True)
    changed = np.abs(with_labels - bare).sum(axis=2) > 0
    inside = np.zeros_like(changed)
    for box in boxes:
        rows, cols = screen_box(changed, box)
        assert changed[rows, cols].mean() > 0.3  # the translucent box and its text
        inside[rows, cols] = True
    assert not changed[~inside].any()


def test_a_label_at_the_views_edge_is_moved_inside_it_whole(make_window):
    name = "A filler with a long name"
    w = make_window(m.Project("edge", elements=[m.Station("F", name=name,
                                                          position=(0.0, 0.0, 0.0))]))
    v = w.view
    v.camera_preset("top")
    v.render_now()
    width = v.render_window.GetSize()[0]
    cam = v.renderer.GetActiveCamera()
    # pan until the station's label anchor is about 15 px from the right edge
    for _ in range(3):
        ax = v.labels._anchors()[0, 0]
        px_per_m = (v.widget_point(1.0, 0.0, 1.5).x() - v.widget_point(0.0, 0.0, 1.5).x())
        dx = (width - 15 - ax) / px_per_m / v.vtk.devicePixelRatioF()
        fx, fy, fz = cam.GetFocalPoint()
        px, py, pz = cam.GetPosition()
        cam.SetFocalPoint(fx - dx, fy, fz)
        cam.SetPosition(px - dx, py, pz)
        v.render_now()
    assert width - 30 < v.labels._anchors()[0, 0] < width  # half a long label would not fit
    img = v.grab_image().astype(int)
    x0, y0, x1, y1 = v.labels.placed[name]
    full = v.labels.painter.image(name).shape[1]
    assert x1 == width and x1 - x0 == full  # its whole width, its right end at the edge
    v.labels.actor.SetVisibility(False)
    bare = v.grab_image().astype(int)
    rows, _ = screen_box(img, (x0, y0, x1, y1))
    assert (img[rows, width - 6:] != bare[rows, width - 6:]).any()  # drawn up to the edge


def test_live_colours_repaint_no_label_and_place_none_again(make_window, line_project):
    w = make_window(line_project)
    v = w.view
    v.render_now()
    labels = v.labels
    painted, placements = labels.painter.cached, labels.placements
    texture = labels.texture.GetMTime()
    for state in ("down", "busy", "idle"):  # what a live session does to the view
        for a in v.adapters.values():
            a.set_tint(STATE_COLORS[state])
        v.render_now()
        assert v.grab_image() is not None
    assert labels.placements == placements and labels.painter.cached == painted
    assert labels.texture.GetMTime() == texture
    # the camera moves: the same labels are laid out again, none painted again
    v.renderer.GetActiveCamera().Azimuth(20)
    v.render_now()
    assert labels.placements == placements + 1 and labels.painter.cached == painted
    # a new name is painted once, the others come from the cache
    w.stack.push(cmd.SetField("M2", "name", "Capper"))
    v.render_now()
    assert "Capper" in labels.placed and labels.painter.cached == painted + 1
