"""Element names in the 3D view: rasterised once, placed on the screen, drawn as one quad set.

``vtkLabelPlacementMapper`` (what the view used before) lays out and rasterises every label
with FreeType and uploads it as a texture of its own in *every* frame: for the ~100 labels
of a 100-station line that was most of a render on software GL (28 ms of the GUI thread's
CPU against 8 without labels, and 40-240 ms of wall time on two loaded cores), and so the
longest stall of the event loop when live colours first arrive (issue 15). Drawn from the
cache they cost no measurable time. Its overlap test
also ignored the labels' backgrounds (neighbours' boxes overlapped), and it let a label run
off the view's edge.

Here each distinct text is painted once by Qt (``QPainter`` into a ``QImage``: the UI's font,
a rounded translucent box) and kept; the labels of the layout are packed into one texture
(an atlas) when the set of texts changes. Before each render, and only when the camera, the
viewport or the labels changed, the anchors are projected to the screen in NumPy, each box
is pushed inside the viewport, and boxes are accepted in order of priority, each centred
above its element or beside that place; one that would touch an accepted box wherever it
goes is left out (a machine's name wins over a belt's, issue 14). What is
drawn is one ``vtkTexturedActor2D``: a quad per placed label, one draw call, no text work.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QGuiApplication, QImage, QPainter
from vtkmodules.util.numpy_support import numpy_to_vtk
from vtkmodules.vtkCommonCore import VTK_ID_TYPE, vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkImageData, vtkPolyData
from vtkmodules.vtkRenderingCore import vtkPolyDataMapper2D, vtkTexture, vtkTexturedActor2D

FONT_PX = 13  # at a device pixel ratio of 1
MARGIN_PX = 3  # around the text, inside the box
GAP_PX = 2  # at least this much floor between two labels' boxes
MAX_WIDTH_PX = 1024  # longer names are elided (the hover tip gives them whole)
ATLAS_WIDTH = 2048  # texels a row of the atlas
TEXT_RGB = (26, 26, 26)
BOX_RGBA = (255, 255, 255, 153)  # white at 0.6, as before


def _rgba(img: QImage) -> np.ndarray:
    """``img`` as (h, w, 4) uint8 RGBA, not premultiplied, row 0 at the bottom (VTK's)."""
    img = img.convertToFormat(QImage.Format_RGBA8888)
    h, w = img.height(), img.width()
    rows = np.frombuffer(img.constBits(), np.uint8).reshape(h, img.bytesPerLine())
    return rows[::-1, : 4 * w].reshape(h, w, 4).copy()


class LabelPainter:
    """Paints a text as a label image, and remembers each one it painted.

    A live session never changes a text, so its renders paint none; editing a name paints
    that one name again.
    """

    def __init__(self, pixel_ratio: float = 1.0) -> None:
        self.font = QFont(QGuiApplication.font())
        self.font.setPixelSize(max(1, round(FONT_PX * pixel_ratio)))
        self.metrics = QFontMetrics(self.font)
        self.margin = max(1, round(MARGIN_PX * pixel_ratio))
        self.radius = 4.0 * pixel_ratio
        self.max_width = round(MAX_WIDTH_PX * pixel_ratio)
        self._cache: dict[str, np.ndarray] = {}

    def image(self, text: str) -> np.ndarray:
        """The label of ``text``: (h, w, 4) RGBA, row 0 at the bottom."""
        img = self._cache.get(text)
        if img is None:
            img = self._cache[text] = self._paint(text)
        return img

    def _paint(self, text: str) -> np.ndarray:
        shown = self.metrics.elidedText(text, Qt.ElideRight, self.max_width)
        tw = max(1, self.metrics.horizontalAdvance(shown))
        w, h = tw + 2 * self.margin, self.metrics.height() + 2 * self.margin
        img = QImage(w, h, QImage.Format_ARGB32_Premultiplied)
        img.fill(Qt.transparent)
        p = QPainter(img)
        p.setRenderHint(QPainter.Antialiasing)
        p.setPen(Qt.NoPen)
        p.setBrush(QColor(*BOX_RGBA))
        p.drawRoundedRect(QRectF(0, 0, w, h), self.radius, self.radius)
        p.setPen(QColor(*TEXT_RGB))
        p.setFont(self.font)
        p.drawText(QRectF(self.margin, self.margin, tw, h - 2 * self.margin),
                   Qt.AlignCenter, shown)
        p.end()
        return _rgba(img)

    @property
    def cached(self) -> int:
        return len(self._cache)


def pack(images: list[np.ndarray], width: int = ATLAS_WIDTH) -> tuple[np.ndarray, np.ndarray]:
    """Pack ``images`` ((h, w, 4) each) into one atlas, row after row (shelves).

    Returns the atlas ((H, W, 4) RGBA, row 0 at the bottom) and each image's texel box
    (n x 4: x0, y0, x1, y1).
    """
    width = max([width] + [im.shape[1] for im in images])
    boxes = np.zeros((len(images), 4), np.int64)
    x = y = shelf = 0
    for i, im in enumerate(images):
        h, w = im.shape[:2]
        if x + w > width:
            x, y, shelf = 0, y + shelf, 0
        boxes[i] = (x, y, x + w, y + h)
        x, shelf = x + w, max(shelf, h)
    atlas = np.zeros((max(1, y + shelf), width, 4), np.uint8)
    for im, (x0, y0, x1, y1) in zip(images, boxes, strict=True):
        atlas[y0:y1, x0:x1] = im
    return atlas, boxes


def place(anchors: np.ndarray, sizes: np.ndarray, priorities: np.ndarray, view_w: int,
          view_h: int, gap: int = GAP_PX) -> tuple[np.ndarray, np.ndarray]:
    """Screen boxes for labels anchored at ``anchors`` (n x 2 display pixels, NaN: behind
    the camera) of ``sizes`` (n x 2: w, h px), in a ``view_w`` x ``view_h`` viewport.

    A box stands on its anchor (its bottom edge there), centred on it or, where that would
    touch a box already taken, starting or ending at it; a box that would leave the viewport
    is pushed inside (an anchor off the view is not shown). Boxes are taken by descending
    priority (ties in the given order); one that comes within ``gap`` px of a box already
    taken in all three places is left out. Returns the indices shown and their boxes
    (x0, y0, x1, y1).
    """
    n = len(anchors)
    ax, ay = anchors[:, 0], anchors[:, 1]
    with np.errstate(invalid="ignore"):
        inside = (ax >= 0) & (ax < view_w) & (ay >= 0) & (ay < view_h)
    w, h = sizes[:, 0], sizes[:, 1]
    ax, ay = np.nan_to_num(ax), np.nan_to_num(ay)
    y0 = np.maximum(np.minimum(np.round(ay), view_h - h), 0)
    boxes = np.empty((n, 3, 4), np.int64)  # centred, to the right, to the left
    for k, left in enumerate((np.round(ax - w / 2), np.round(ax), np.round(ax) - w)):
        x0 = np.maximum(np.minimum(left, view_w - w), 0)
        boxes[:, k] = np.stack([x0, y0, x0 + w, y0 + h], axis=1)
    # which candidate boxes come within ``gap`` of which, all at once: the greedy pass then
    # reads one flag a candidate (a NumPy test per pair of boxes cost 13 ms for 100 labels,
    # and orbiting the view places them again in every frame)
    b = boxes.reshape(-1, 4).astype(np.int32)
    near = ((b[:, None, 0] < b[None, :, 2] + gap) & (b[None, :, 0] < b[:, None, 2] + gap)
            & (b[:, None, 1] < b[None, :, 3] + gap) & (b[None, :, 1] < b[:, None, 3] + gap))
    blocked = np.zeros(len(b), bool)
    order = np.lexsort((np.arange(n), -np.asarray(priorities, float)))
    shown: list[int] = []
    chosen: list[int] = []
    for i in order[inside[order]].tolist():
        for k in range(3):
            c = 3 * i + k
            if not blocked[c]:
                blocked |= near[c]
                shown.append(i)
                chosen.append(c)
                break
    return np.array(shown, np.int64), b[chosen].reshape(-1, 4).astype(np.int64)


class LabelBatch:
    """The labels of the 3D view, drawn from one texture by one 2D actor.

    ``set_labels`` says what is labelled where; the placement follows the camera by itself
    (an observer of the renderer's ``StartEvent``, so every render, whoever asks for it,
    draws labels where the camera now puts them).
    """

    def __init__(self, renderer, pixel_ratio: float = 1.0) -> None:
        self.renderer = renderer
        self.painter = LabelPainter(pixel_ratio)
        self.poly = vtkPolyData()
        self.mapper = vtkPolyDataMapper2D()
        self.mapper.SetInputData(self.poly)
        self.texture = vtkTexture()
        self.texture.InterpolateOff()  # boxes sit on whole pixels: a texel a pixel
        self.texture.EdgeClampOn()
        self.actor = vtkTexturedActor2D()
        self.actor.SetMapper(self.mapper)
        self.actor.SetTexture(self.texture)
        self.actor.PickableOff()
        renderer.AddActor(self.actor)
        self._texts: list[str] = []
        self._positions = np.zeros((0, 3))
        self._prio = np.zeros(0)
        self._sizes = np.zeros((0, 2), np.int64)
        self._uv = np.zeros((0, 4))
        self._shown_key: tuple = ()
        self._version = 0
        self._placed_key: tuple | None = None
        self._placed_proj = np.zeros((3, 4))
        self.placed_ids = np.zeros(0, np.int64)
        self.placed_boxes = np.zeros((0, 4), np.int64)
        self.placements = 0  # how many times labels were laid out (tests, benchmarks)
        self._observer = renderer.AddObserver("StartEvent", self._before_render)
        self.set_labels([], np.zeros((0, 3)))

    def set_labels(self, texts: list[str], positions: np.ndarray,
                   priorities: list[float] | None = None) -> None:
        """Show ``texts`` at ``positions`` (n x 3, m); the rest of the labels go away. Of two
        overlapping labels the one of higher ``priorities`` (default all equal) is shown."""
        prio = np.ones(len(texts)) if priorities is None else np.asarray(priorities, float)
        positions = np.asarray(positions, float).reshape(-1, 3)
        key = (tuple(texts), positions.round(4).tobytes(), prio.tobytes())
        if key == self._shown_key:
            return
        if tuple(texts) != tuple(self._texts):
            images = [self.painter.image(t) for t in texts]
            atlas, tex = pack(images)
            image = vtkImageData()
            image.SetDimensions(atlas.shape[1], atlas.shape[0], 1)
            rgba = numpy_to_vtk(atlas.reshape(-1, 4), deep=True)
            rgba.SetName("rgba")
            image.GetPointData().SetScalars(rgba)
            self.texture.SetInputData(image)
            self._sizes = (tex[:, 2:] - tex[:, :2]).reshape(-1, 2)
            self._uv = (tex / np.array([atlas.shape[1], atlas.shape[0]] * 2, float)).reshape(-1, 4)
        self._shown_key = key
        self._texts, self._positions, self._prio = list(texts), positions, prio
        self._version += 1
        self.actor.SetVisibility(bool(texts))

    @property
    def texts(self) -> list[str]:
        """Every text given to ``set_labels`` (drawn or left out by the placement)."""
        return list(self._texts)

    @property
    def priorities(self) -> list[float]:
        return [float(p) for p in self._prio]

    @property
    def placed(self) -> dict[str, tuple[int, int, int, int]]:
        """The labels drawn by the last render: text -> box (x0, y0, x1, y1) in display
        pixels, y up from the bottom."""
        return {self._texts[i]: tuple(int(v) for v in b)
                for i, b in zip(self.placed_ids, self.placed_boxes, strict=True)}

    def _projection(self) -> np.ndarray:
        """World to clip coordinates, without the depth row: the near and far planes,
        which VTK moves before each render, put nothing elsewhere on the screen."""
        ren = self.renderer
        mat = ren.GetActiveCamera().GetCompositeProjectionTransformMatrix(
            ren.GetTiledAspectRatio(), -1, 1)
        return np.array([[mat.GetElement(i, j) for j in range(4)] for i in (0, 1, 3)])

    def _anchors(self, proj: np.ndarray | None = None) -> np.ndarray:
        """The label positions in display pixels (n x 2); NaN for those behind the camera."""
        ren = self.renderer
        proj = self._projection() if proj is None else proj
        hom = np.c_[self._positions, np.ones(len(self._positions))] @ proj.T
        w = hom[:, 2:3]
        with np.errstate(divide="ignore", invalid="ignore"):
            ndc = np.where(w > 1e-12, hom[:, :2] / w, np.nan)
        size = np.array(ren.GetSize(), float)
        return np.array(ren.GetOrigin(), float) + (ndc + 1.0) * size / 2.0

    def _before_render(self, *_) -> None:
        ren = self.renderer
        if not self._texts:
            return
        proj = self._projection()
        key = (self._version, tuple(ren.GetSize()), tuple(ren.GetOrigin()))
        if key == self._placed_key and np.allclose(proj, self._placed_proj, rtol=1e-6,
                                                   atol=1e-6 * np.abs(proj).max()):
            return  # nothing moved (but rounding, by VTK's clipping range): the quads stand
        self._placed_key, self._placed_proj = key, proj
        self.placements += 1
        origin = np.array(ren.GetOrigin(), float)
        width, height = ren.GetSize()
        ids, boxes = place(self._anchors(proj) - origin, self._sizes, self._prio, width, height)
        boxes = boxes + np.r_[origin, origin].astype(np.int64)
        self.placed_ids, self.placed_boxes = ids, boxes
        self._write_quads(ids, boxes)

    def _write_quads(self, ids: np.ndarray, boxes: np.ndarray) -> None:
        n = len(ids)
        corners = np.array([(0, 1), (2, 1), (2, 3), (0, 3)])  # (x index, y index) in a box
        b = boxes.astype(float)
        pts = np.zeros((n, 4, 3))
        pts[:, :, 0] = b[:, corners[:, 0]]
        pts[:, :, 1] = b[:, corners[:, 1]]
        uv = self._uv[ids]
        tc = np.stack([uv[:, corners[:, 0]], uv[:, corners[:, 1]]], axis=2).astype(np.float32)
        points = vtkPoints()
        points.SetData(numpy_to_vtk(pts.reshape(-1, 3), deep=True))
        polys = vtkCellArray()
        polys.SetData(numpy_to_vtk(np.arange(0, 4 * n + 1, 4, dtype=np.int64), deep=True,
                                   array_type=VTK_ID_TYPE),
                      numpy_to_vtk(np.arange(4 * n, dtype=np.int64), deep=True,
                                   array_type=VTK_ID_TYPE))
        tcoords = numpy_to_vtk(tc.reshape(-1, 2), deep=True)
        tcoords.SetName("uv")
        self.poly.Initialize()
        self.poly.SetPoints(points)
        self.poly.SetPolys(polys)
        self.poly.GetPointData().SetTCoords(tcoords)
        self.poly.Modified()

    def close(self) -> None:
        self.renderer.RemoveObserver(self._observer)
        self.renderer.RemoveActor(self.actor)
