"""A floor plan under the layout: an image (PNG, JPEG, BMP, ...), scaled by two points
(issue 14, §8).

The plan is kept with the project in ``meta.floor_plan``: ``{"image": path, "origin": [x, y],
"metres_per_pixel": s}``, the image's bottom-left corner on the floor (m) and its scale; the
path is relative to the project folder when the image is inside it (it then moves with the
project), else absolute. Loading puts the image under the layout at a first guess of its
scale; *Scale by two points* asks for two points clicked on the plan and their real distance,
and scales the plan about the first point. Every change is one undo step (``SetMeta``).

DXF drawings are not read (that needs a DXF library): export the drawing as an image.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QImage
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMenu
from vtkmodules.util.numpy_support import numpy_to_vtk
from vtkmodules.vtkCommonDataModel import vtkImageData
from vtkmodules.vtkFiltersSources import vtkPlaneSource
from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper, vtkTexture

from app.measure import MeasureTool
from twin.model import commands as cmd

KEY = "floor_plan"
Z = -0.005  # m: above the floor (-0.01), under the grid lines (0)
MAX_TEXTURE_PX = 4096  # larger images are shrunk: software GL's texture limit
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp);;All files (*)"


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
        raise OSError(f"{file}: not an image twinbench can read (PNG, JPEG, BMP, GIF, TIFF); "
                      "for a DXF drawing export it as an image first")
    return img


class FloorPlan:
    """The plan's textured rectangle in ``view`` (a ``View3D``), following the project."""

    def __init__(self, view):
        self.view = view
        self.project = None
        self.shown: dict | None = None  # the plan drawn
        self.size_px: tuple[int, int] = (0, 0)
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
        if plan is None:
            self.actor.VisibilityOff()
            self.view.request_render()
            return
        file = image_path(self.project, plan)
        key = (str(file), file.stat().st_mtime if file.exists() else None)
        if key != self._image_key:
            try:
                self._set_image(read_image(file))
            except OSError as e:
                self.actor.VisibilityOff()
                self.view.warn(f"floor plan not drawn: {e}")
                return
            self._image_key = key
        w, h = self.size_px
        s = float(plan["metres_per_pixel"])
        x0, y0 = (float(v) for v in plan["origin"])
        self.source.SetOrigin(x0, y0, Z)
        self.source.SetPoint1(x0 + w * s, y0, Z)
        self.source.SetPoint2(x0, y0 + h * s, Z)
        self.actor.VisibilityOn()
        self.view.request_render()

    def _set_image(self, img: QImage) -> None:
        self.size_px = (img.width(), img.height())
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
        if self.shown is None or not self.actor.GetVisibility():
            return None
        x0, x1, y0, y1, _, _ = self.actor.GetBounds()
        return x0, x1, y0, y1


def first_guess(view, size_px: tuple[int, int]) -> dict:
    """Origin and scale of a newly loaded plan: as wide as the layout with 5 m around it
    (at least 20 m), its corner 5 m before the layout's."""
    if view.adapters:
        b = np.array([a.bounds() for a in view.adapters.values()])
        x0, x1, y0 = b[:, 0].min(), b[:, 1].max(), b[:, 2].min()
    else:
        x0 = x1 = y0 = 0.0
    width = max(20.0, float(x1 - x0) + 10.0)
    return {"origin": [float(x0) - 5.0, float(y0) - 5.0],
            "metres_per_pixel": width / max(size_px[0], 1)}


def scaled(plan: dict, about: tuple[float, float], factor: float) -> dict:
    """``plan`` scaled by ``factor`` about floor point ``about`` (which stays where it is)."""
    ox, oy = plan["origin"]
    return {**plan, "origin": [about[0] + (ox - about[0]) * factor,
                               about[1] + (oy - about[1]) * factor],
            "metres_per_pixel": plan["metres_per_pixel"] * factor}


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
    """View > Floor plan: load an image, scale it by two points, remove it (for ``win``)."""

    def __init__(self, win, menu, before: QAction | None = None):
        self.win = win
        self.ask_file = lambda: QFileDialog.getOpenFileName(
            win, "Floor plan image", "", IMAGE_FILTER)[0]  # tests replace it
        self.ask_distance = self._ask_distance  # tests replace it
        self.dialog: QInputDialog | None = None
        sub = self.menu = QMenu("Floor &plan", menu)
        if before is None:
            menu.addMenu(sub)
        else:
            menu.insertMenu(before, sub)
        self.act_load = sub.addAction("&Load image…", self.load_dialog)
        self.act_load.setToolTip("An image of the hall as the background of the layout")
        self.act_scale = sub.addAction("&Scale by two points…", self.start_scaling)
        self.act_scale.setToolTip("Click two points of the plan whose distance you know, "
                                  "then give it")
        self.act_remove = sub.addAction("&Remove", self.remove)
        self.tool = PlanScaleTool(win.view, self.scale_by)
        win.view.tools["plan"] = self.tool
        sub.aboutToShow.connect(self._update)

    def _update(self) -> None:
        has = plan_of(self.win.project) is not None
        self.act_scale.setEnabled(has)
        self.act_remove.setEnabled(has)

    def _ask_distance(self, drawn: float, answer) -> None:
        """Ask the real distance of the two points (``drawn`` m apart now) and call
        ``answer(metres)``; window-modal but not blocking (never ``exec``)."""
        dlg = QInputDialog(self.win)
        dlg.setWindowTitle("Scale the floor plan")
        dlg.setLabelText(f"The two points are {drawn:.3f} m apart on the plan now.\n"
                         "How far apart are they really (m)?")
        dlg.setInputMode(QInputDialog.DoubleInput)
        dlg.setDoubleRange(0.001, 100_000.0)
        dlg.setDoubleDecimals(3)
        dlg.setDoubleValue(drawn)
        dlg.setAttribute(Qt.WA_DeleteOnClose)
        dlg.doubleValueSelected.connect(answer)
        self.dialog = dlg
        dlg.open()

    def load_dialog(self) -> None:
        file = self.ask_file()
        if file:
            self.load(file)

    def load(self, file) -> bool:
        """Put the image ``file`` under the layout (one undo step); False if unreadable."""
        win = self.win
        try:
            img = read_image(Path(file))
        except OSError as e:
            win.log(f"cannot load the floor plan: {e}")
            return False
        plan = {"image": stored_path(win.project, Path(file)),
                **first_guess(win.view, (img.width(), img.height()))}
        win.stack.push(cmd.SetMeta(KEY, plan, "load floor plan"))
        outside = getattr(win.project, "path", None) is not None and Path(
            plan["image"]).is_absolute()
        win.log("floor plan loaded: scale it by two points (View > Floor plan)" + (
            "; the image is outside the project folder: copy it there to keep it with the "
            "project" if outside else ""))
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
