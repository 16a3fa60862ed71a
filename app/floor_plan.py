"""A floor plan under the layout: a DXF drawing or an image (PNG, JPEG, BMP, ...), scaled
by two points (issue 14, §8).

The plan is kept with the project in ``meta.floor_plan``: ``{"image": path, "origin": [x, y],
"scale": s}``: where the plan's bottom-left corner lies on the floor (m), and its scale in
metres per pixel of an image or per unit of a drawing. The path is relative to the project
folder when the file is inside it (it then moves with the project), else absolute. Loading
puts the plan under the layout: a drawing at the scale its unit says (``app.dxf_plan``), an
image as wide as the layout with a margin; *Scale by two points* asks for two points clicked
on the plan and their real distance, and scales the plan about the first point. Every change
is one undo step (``SetMeta``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QImage
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMenu
from vtkmodules.util.numpy_support import numpy_to_vtk, numpy_to_vtkIdTypeArray
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkImageData, vtkPolyData
from vtkmodules.vtkFiltersSources import vtkPlaneSource
from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper, vtkTexture

from app.help import ClosedWithWindow
from app.measure import MeasureTool
from twin.model import commands as cmd

KEY = "floor_plan"
Z = -0.005  # m: an image lies above the floor (-0.01), under the grid lines (0)
Z_LINES = 0.002  # m: a drawing's lines over the grid's, under every body
MAX_TEXTURE_PX = 4096  # larger images are shrunk: software GL's texture limit
IMAGE_FILTER = ("Floor plans (*.dxf *.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp);;"
                "All files (*)")


def plan_of(project) -> dict | None:
    """The project's floor plan (``meta.floor_plan``), or None."""
    plan = project.meta.get(KEY)
    return plan if isinstance(plan, dict) else None


def image_path(project, plan: dict) -> Path:
    p = Path(str(plan.get("image", "")))
    folder = getattr(project, "path", None)
    return p if p.is_absolute() or folder is None else Path(folder) / p


def stored_path(project, file: Path) -> str:
    """``file`` as the project keeps it: relative to its folder when inside it."""
    folder = getattr(project, "path", None)
    file = Path(file).resolve()
    if folder is not None:
        try:
            return file.relative_to(Path(folder).resolve()).as_posix()
        except ValueError:
            pass
    return str(file)


def read_image(file: Path) -> QImage:
    img = QImage(str(file))
    if img.isNull():
        raise OSError(f"{file}: not an image twinbench can read (PNG, JPEG, BMP, GIF, TIFF) "
                      "nor a DXF drawing (.dxf); export the plan as one of those")
    return img


def is_drawing(file: Path) -> bool:
    return Path(file).suffix.lower() == ".dxf"


def read_plan(file: Path):
    """The drawing (``app.dxf_plan.Drawing``) or image (``QImage``) in ``file``."""
    if is_drawing(file):
        try:
            from app.dxf_plan import read_dxf
        except ImportError:  # pragma: no cover - ezdxf is a dependency
            raise OSError("reading DXF needs the ezdxf package: pip install ezdxf") from None
        return read_dxf(Path(file))
    return read_image(Path(file))


def plan_size(plan_file) -> tuple[float, float]:
    """Width and height of a read plan: pixels of an image, units of a drawing."""
    if isinstance(plan_file, QImage):
        return float(plan_file.width()), float(plan_file.height())
    return plan_file.size


class FloorPlan:
    """The plan's textured rectangle in ``view`` (a ``View3D``), following the project."""

    def __init__(self, view):
        self.view = view
        self.project = None
        self.shown: dict | None = None  # the plan drawn
        self.size: tuple[float, float] = (0.0, 0.0)  # pixels or drawing units
        self.drawing = None  # the DXF drawing shown, or None for an image
        self._image_key = None
        self.source = vtkPlaneSource()
        mapper = vtkPolyDataMapper()
        mapper.SetInputConnection(self.source.GetOutputPort())
        self.texture = vtkTexture()
        self.texture.InterpolateOn()
        self.actor = vtkActor()
        self.actor.SetMapper(mapper)
        self.actor.SetTexture(self.texture)
        self.actor.GetProperty().LightingOff()
        self.actor.PickableOff()
        self.actor.VisibilityOff()
        view.renderer.AddActor(self.actor)
        self.lines_poly = vtkPolyData()
        lm = vtkPolyDataMapper()
        lm.SetInputData(self.lines_poly)
        self.lines = vtkActor()
        self.lines.SetMapper(lm)
        lp = self.lines.GetProperty()
        lp.SetColor(0.12, 0.22, 0.55)  # apart from the grey grid
        lp.SetLineWidth(2.0)
        lp.LightingOff()
        self.lines.PickableOff()
        self.lines.VisibilityOff()
        view.renderer.AddActor(self.lines)

    def attach(self, project) -> None:
        self.project = project
        project.changed.connect(self.refresh)
        self.shown = self._image_key = None
        self.refresh()

    def detach(self) -> None:
        if self.project is not None:
            self.project.changed.disconnect(self.refresh)
            self.project = None

    def refresh(self, *_) -> None:
        plan = plan_of(self.project)
        if plan == self.shown:
            return
        self.shown = None if plan is None else dict(plan)
        self.actor.VisibilityOff()
        self.lines.VisibilityOff()
        self.view.element_changed(None)  # the floor's grid grows to cover the plan
        if plan is None:
            return
        file = image_path(self.project, plan)
        key = (str(file), file.stat().st_mtime if file.exists() else None)
        if key != self._image_key:
            try:
                read = read_plan(file)
            except OSError as e:
                self._image_key = None
                self.view.warn(f"floor plan not drawn: {e}")
                return
            if isinstance(read, QImage):
                self._set_image(read)
            else:
                self._set_drawing(read)
            self.size = plan_size(read)
            self._image_key = key
        try:
            s = float(plan["scale"])
            x0, y0 = (float(v) for v in plan["origin"])
        except (KeyError, TypeError, ValueError):
            self.view.warn("floor plan not drawn: meta.floor_plan needs an origin [x, y] and "
                           "a scale; load the plan again")
            return
        if self.drawing is not None:
            lx, ly = self.drawing.lower
            self.lines.SetScale(s, s, 1.0)
            self.lines.SetPosition(x0 - s * lx, y0 - s * ly, Z_LINES)
            self.lines.VisibilityOn()
            return
        w, h = self.size
        self.source.SetOrigin(x0, y0, Z)
        self.source.SetPoint1(x0 + w * s, y0, Z)
        self.source.SetPoint2(x0, y0 + h * s, Z)
        self.actor.VisibilityOn()

    def _set_drawing(self, drawing) -> None:
        self.drawing = drawing
        n = len(drawing.segments)
        pts = vtkPoints()
        pts.SetData(numpy_to_vtk(np.column_stack(
            [drawing.segments.reshape(-1, 2), np.zeros(2 * n)]), deep=True))
        cells = vtkCellArray()
        cells.SetData(numpy_to_vtkIdTypeArray(np.arange(0, 2 * n + 1, 2, dtype=np.int64),
                                              deep=True),
                      numpy_to_vtkIdTypeArray(np.arange(2 * n, dtype=np.int64), deep=True))
        self.lines_poly.Initialize()
        self.lines_poly.SetPoints(pts)
        self.lines_poly.SetLines(cells)
        self.lines_poly.Modified()

    def _set_image(self, img: QImage) -> None:
        self.drawing = None
        if max(img.width(), img.height()) > MAX_TEXTURE_PX:
            img = img.scaled(MAX_TEXTURE_PX, MAX_TEXTURE_PX, Qt.KeepAspectRatio,
                             Qt.SmoothTransformation)
        img = img.convertToFormat(QImage.Format_RGBA8888)
        w, h = img.width(), img.height()
        rgba = np.frombuffer(img.constBits(), np.uint8, img.bytesPerLine() * h)
        rgba = rgba.reshape(h, img.bytesPerLine())[:, : 4 * w].reshape(h, w, 4)
        data = vtkImageData()
        data.SetDimensions(w, h, 1)
        # VTK's rows run from the bottom up, Qt's from the top down
        scalars = numpy_to_vtk(np.ascontiguousarray(rgba[::-1]).reshape(-1, 4), deep=True)
        data.GetPointData().SetScalars(scalars)
        self.texture.SetInputData(data)
        self.texture.Modified()

    def bounds(self) -> tuple[float, float, float, float] | None:
        """(xmin, xmax, ymin, ymax) of the plan on the floor (m), or None."""
        actor = self.lines if self.drawing is not None else self.actor
        if self.shown is None or not actor.GetVisibility():
            return None
        x0, x1, y0, y1, _, _ = actor.GetBounds()
        return x0, x1, y0, y1


def first_guess(view, size: tuple[float, float], scale: float | None = None) -> dict:
    """Origin and scale of a newly loaded plan of ``size`` (pixels or drawing units): its
    corner 5 m before the layout's; ``scale`` if known (a drawing's unit), else as wide as
    the layout with 5 m around it (at least 20 m)."""
    if view.adapters:
        b = np.array([a.bounds() for a in view.adapters.values()])
        x0, x1, y0 = b[:, 0].min(), b[:, 1].max(), b[:, 2].min()
    else:
        x0 = x1 = y0 = 0.0
    width = max(20.0, float(x1 - x0) + 10.0)
    return {"origin": [float(x0) - 5.0, float(y0) - 5.0],
            "scale": scale if scale else width / max(size[0], 1e-9)}


def scaled(plan: dict, about: tuple[float, float], factor: float) -> dict:
    """``plan`` scaled by ``factor`` about floor point ``about`` (which stays where it is)."""
    ox, oy = plan["origin"]
    return {**plan, "origin": [about[0] + (ox - about[0]) * factor,
                               about[1] + (oy - about[1]) * factor],
            "scale": plan["scale"] * factor}


class PlanScaleTool(MeasureTool):
    """The ``plan`` mode of the view: two clicks on the plan, then ``on_pair(a, b)``."""

    def __init__(self, view, on_pair):
        super().__init__(view)
        self.on_pair = on_pair

    def _point_at(self, x: float, y: float):
        p = self.view.floor_point(x, y)  # points of the picture, not the elements on it
        return None if p is None else (p, "")

    def click(self, x: float, y: float) -> None:
        hit = self._point_at(x, y)
        if hit is None:
            return
        if self.start is None:
            self.start = hit
            self._draw(hit[0], hit[0])
            return
        a = self.start[0]
        self.clear()
        self.view.mode = "select"
        self.on_pair(a, hit[0])


class FloorPlanActions:
    """View > Floor plan: load a drawing or image, scale it by two points, remove it (for
    ``win``)."""

    def __init__(self, win, menu, before: QAction | None = None):
        self.win = win
        self.ask_file = lambda: QFileDialog.getOpenFileName(
            win, "Floor plan image", "", IMAGE_FILTER)[0]  # tests replace it
        self.ask_distance = self._ask_distance  # tests replace it
        self.dialog: QInputDialog | None = None
        self._closer = ClosedWithWindow(win, self._take_dialog)
        sub = self.menu = QMenu("Floor &plan", menu)
        if before is None:
            menu.addMenu(sub)
        else:
            menu.insertMenu(before, sub)
        self.act_load = sub.addAction("&Load DXF or image…", self.load_dialog)
        self.act_load.setToolTip("A drawing or picture of the hall as the background of the "
                                 "layout")
        self.act_scale = sub.addAction("&Scale by two points…", self.start_scaling)
        self.act_scale.setToolTip("Click two points of the plan whose distance you know, "
                                  "then give it")
        self.act_remove = sub.addAction("&Remove", self.remove)
        self.tool = PlanScaleTool(win.view, self.scale_by)
        win.view.tools["plan"] = self.tool
        sub.aboutToShow.connect(self._update)

    def _take_dialog(self):
        dialog, self.dialog = self.dialog, None
        return [dialog]

    def _update(self) -> None:
        has = plan_of(self.win.project) is not None
        self.act_scale.setEnabled(has)
        self.act_remove.setEnabled(has)

    def _ask_distance(self, drawn: float, answer) -> None:
        """Ask the real distance of the two points (``drawn`` m apart now) and call
        ``answer(metres)``; window-modal but not blocking (never ``exec``)."""
        if self.dialog is not None:  # one question at a time: the last one asked counts
            self.dialog.close()
            self.dialog.deleteLater()
        dlg = QInputDialog(self.win)
        dlg.setWindowTitle("Scale the floor plan")
        dlg.setLabelText(f"The two points are {drawn:.3f} m apart on the plan now.\n"
                         "How far apart are they really (m)?")
        dlg.setInputMode(QInputDialog.DoubleInput)
        dlg.setDoubleRange(0.001, 100_000.0)
        dlg.setDoubleDecimals(3)
        dlg.setDoubleValue(drawn)
        dlg.doubleValueSelected.connect(answer)
        self.dialog = dlg
        dlg.open()

    def load_dialog(self) -> None:
        file = self.ask_file()
        if file:
            self.load(file)

    def load(self, file) -> bool:
        """Put the plan ``file`` (DXF or image) under the layout (one undo step); False if
        it cannot be read (said in the log)."""
        win = self.win
        try:
            read = read_plan(Path(file))
        except OSError as e:
            win.log(f"cannot load the floor plan: {e}")
            return False
        drawing = None if isinstance(read, QImage) else read
        plan = {"image": stored_path(win.project, Path(file)),
                **first_guess(win.view, plan_size(read),
                              drawing.metres_per_unit if drawing is not None else None)}
        win.stack.push(cmd.SetMeta(KEY, plan, "load floor plan"))
        notes = ["scale it by two points (View > Floor plan) if it is not to scale"]
        if drawing is not None and not drawing.unit_stated:
            notes.append("the drawing states no unit: taken as millimetres")
        if drawing is not None and drawing.truncated:
            notes.append("the drawing is very large: only part of it is drawn")
        if getattr(win.project, "path", None) is not None and Path(plan["image"]).is_absolute():
            notes.append("the file is outside the project folder: copy it there to keep it "
                         "with the project")
        win.log("floor plan loaded: " + "; ".join(notes))
        return True

    def start_scaling(self) -> None:
        if plan_of(self.win.project) is None:
            self.win.statusBar().showMessage("load a floor plan first", 3000)
            return
        self.win.view.mode = "plan"
        self.win.statusBar().showMessage(
            "Floor plan: click two points of the plan whose distance you know (Esc leaves)")

    def scale_by(self, a: tuple[float, float], b: tuple[float, float]) -> bool:
        """Ask how far apart ``a`` and ``b`` really are, then scale the plan about ``a`` to
        match (one undo step); False if there is nothing to scale."""
        plan = plan_of(self.win.project)
        drawn = math.hypot(b[0] - a[0], b[1] - a[1])
        if plan is None or drawn < 1e-6:
            self.win.statusBar().showMessage("click two different points of the plan", 3000)
            return False

        def answer(real: float) -> None:
            if real > 0 and plan_of(self.win.project) == plan:  # not changed meanwhile
                self.win.stack.push(cmd.SetMeta(KEY, scaled(plan, a, real / drawn),
                                                "scale floor plan"))

        self.ask_distance(drawn, answer)
        return True

    def remove(self) -> None:
        if plan_of(self.win.project) is not None:
            self.win.stack.push(cmd.SetMeta(KEY, None, "remove floor plan"))
