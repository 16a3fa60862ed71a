"""The measure tool of the 3D view: the floor distance between two clicked points.

A click on an element measures from its centre (its position), a click on the empty floor
from that point. The first click fixes one end, moving the mouse shows the distance to the
floor under it, the second click fixes the other end; a third click starts anew. The line,
its ends and the distance in metres are drawn in an overlay layer of the render window, so
that machine bodies never hide them, and the view reports the result through ``measured``.
"""

from __future__ import annotations

import math

from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkRenderingCore import (
    vtkActor,
    vtkPolyDataMapper,
    vtkRenderer,
    vtkTextActor,
)

COLOR = (0.82, 0.1, 0.56)
LIFT = 0.05  # m above the floor: clear of the grid lines


class MeasureTool:
    """Measures on ``view`` (a ``View3D``); its actors are made on first use."""

    def __init__(self, view):
        self.view = view
        self.start: tuple[tuple[float, float], str] | None = None  # (x, y), what was clicked
        self.end: tuple[tuple[float, float], str] | None = None
        self.layer: vtkRenderer | None = None

    # --- gestures -------------------------------------------------------------------------
    def _point_at(self, x: float, y: float) -> tuple[tuple[float, float], str] | None:
        eid = self.view.element_at(x, y)
        if eid is not None:  # its centre as drawn (a conveyor's lies between its ends)
            return tuple(self.view.adapters[eid].center), eid
        p = self.view.floor_point(x, y)
        return None if p is None else (p, f"({p[0]:.2f}, {p[1]:.2f})")

    def click(self, x: float, y: float) -> None:
        hit = self._point_at(x, y)
        if hit is None:
            return
        if self.start is None or self.end is not None:
            self.start, self.end = hit, None
            self._draw(hit[0], hit[0])
            return
        self.end = hit
        self._draw(self.start[0], hit[0])
        self.view.measured.emit(self.report())

    def hover(self, x: float, y: float) -> None:
        """Show the distance from the fixed end to the floor under the mouse."""
        if self.start is None or self.end is not None:
            return
        p = self.view.floor_point(x, y)
        if p is not None:
            self._draw(self.start[0], p)

    def clear(self) -> None:
        self.start = self.end = None
        if self.layer is not None:
            for a in (self.line, self.ends, self.text):
                a.VisibilityOff()
            self.view.request_render()

    # --- results --------------------------------------------------------------------------
    @property
    def distance(self) -> float | None:
        """The measured floor distance (m), once both ends are fixed."""
        if self.start is None or self.end is None:
            return None
        (x0, y0), (x1, y1) = self.start[0], self.end[0]
        return math.hypot(x1 - x0, y1 - y0)

    def report(self) -> str:
        (x0, y0), a = self.start
        (x1, y1), b = self.end
        return (f"Distance {a} → {b}: {self.distance:.2f} m "
                f"(Δx {abs(x1 - x0):.2f} m, Δy {abs(y1 - y0):.2f} m)")

    # --- drawing --------------------------------------------------------------------------
    def _make_actors(self) -> None:
        ren = self.layer = vtkRenderer()
        ren.SetLayer(1)  # drawn after the scene, on a cleared depth buffer: always on top
        ren.InteractiveOff()
        ren.SetActiveCamera(self.view.renderer.GetActiveCamera())
        rw = self.view.render_window
        rw.SetNumberOfLayers(max(2, rw.GetNumberOfLayers()))
        rw.AddRenderer(ren)
        self.poly, self.end_poly = vtkPolyData(), vtkPolyData()
        self.line, self.ends = vtkActor(), vtkActor()
        for actor, poly in ((self.line, self.poly), (self.ends, self.end_poly)):
            mapper = vtkPolyDataMapper()
            mapper.SetInputData(poly)
            actor.SetMapper(mapper)
            prop = actor.GetProperty()
            prop.SetColor(*COLOR)
            prop.LightingOff()
            ren.AddActor(actor)
        self.line.GetProperty().SetLineWidth(3.0)
        self.ends.GetProperty().SetPointSize(9.0)
        # a 2D text anchored at a world point: a 3D billboard text cost 14 ms a frame on
        # software GL while orbiting, this costs nothing measurable
        self.text = vtkTextActor()
        self.text.GetPositionCoordinate().SetCoordinateSystemToWorld()
        tp = self.text.GetTextProperty()
        tp.SetFontSize(16)
        tp.BoldOn()
        tp.SetColor(0.1, 0.1, 0.1)
        tp.SetBackgroundColor(1.0, 1.0, 1.0)
        tp.SetBackgroundOpacity(0.85)
        tp.SetJustificationToCentered()
        tp.SetVerticalJustificationToBottom()  # just above the middle of the line
        ren.AddActor(self.text)

    def _draw(self, a: tuple[float, float], b: tuple[float, float]) -> None:
        if self.layer is None:
            self._make_actors()
        pts = vtkPoints()
        pts.InsertNextPoint(a[0], a[1], LIFT)
        pts.InsertNextPoint(b[0], b[1], LIFT)
        line, verts = vtkCellArray(), vtkCellArray()
        line.InsertNextCell(2, (0, 1))
        for i in (0, 1):
            verts.InsertNextCell(1, (i,))
        self.poly.Initialize()
        self.poly.SetPoints(pts)
        self.poly.SetLines(line)
        self.end_poly.Initialize()
        self.end_poly.SetPoints(pts)
        self.end_poly.SetVerts(verts)
        self.poly.Modified()
        self.end_poly.Modified()
        d = math.hypot(b[0] - a[0], b[1] - a[1])
        self.text.SetInput(f"{d:.2f} m")
        self.text.GetPositionCoordinate().SetValue((a[0] + b[0]) / 2, (a[1] + b[1]) / 2, LIFT)
        for actor in (self.line, self.ends):
            actor.VisibilityOn()
        self.text.SetVisibility(d > 0)
        self.view.request_render()

    def close(self) -> None:
        if self.layer is not None:
            self.view.render_window.RemoveRenderer(self.layer)
            self.layer = None
