"""Workers drawn in the 3D view during playback (issue 18): each worker a small figure, a
body (cylinder) and a head (sphere), standing beside the element it is at or walking
between two, coloured by its state (``app.theme.WORKER_COLORS``). Where they are comes from
``app.playback.WorkerTracks``; this only draws it, all workers in one glyph actor."""

from __future__ import annotations

import numpy as np
from vtkmodules.util.numpy_support import numpy_to_vtk
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkPolyData
from vtkmodules.vtkCommonTransforms import vtkTransform
from vtkmodules.vtkFiltersCore import vtkAppendPolyData
from vtkmodules.vtkFiltersGeneral import vtkTransformFilter
from vtkmodules.vtkFiltersSources import vtkCylinderSource, vtkSphereSource
from vtkmodules.vtkRenderingCore import vtkActor, vtkGlyph3DMapper

from app.theme import WORKER_COLORS

BODY_H = 1.2  # m: a figure a little smaller than a person, beside 1 m machines
SPACING = 0.6  # m between the figures of one element, side by side
ASIDE = 0.9  # m in front of the element's centre, so that the figure is not inside it


def _figure():
    """A body standing on z = 0 and a head on it, z up."""
    body = vtkCylinderSource()
    body.SetRadius(0.18)
    body.SetHeight(BODY_H)
    body.SetResolution(12)
    up = vtkTransform()  # the cylinder's axis is y: stand it on the floor along z
    up.Translate(0, 0, BODY_H / 2)
    up.RotateX(90)
    stand = vtkTransformFilter()
    stand.SetTransform(up)
    stand.SetInputConnection(body.GetOutputPort())
    head = vtkSphereSource()
    head.SetRadius(0.17)
    head.SetCenter(0, 0, BODY_H + 0.2)
    head.SetThetaResolution(12)
    head.SetPhiResolution(8)
    both = vtkAppendPolyData()
    both.AddInputConnection(stand.GetOutputPort())
    both.AddInputConnection(head.GetOutputPort())
    both.Update()
    shape = vtkPolyData()
    shape.DeepCopy(both.GetOutput())  # made once: no pipeline to keep alive
    return shape


class WorkerFigures:
    """One actor holding every worker's figure; :meth:`show` places and colours them."""

    def __init__(self, renderer):
        self.points = vtkPoints()
        self.poly = vtkPolyData()
        self.poly.SetPoints(self.points)
        self.mapper = vtkGlyph3DMapper()
        self.mapper.SetInputData(self.poly)
        self.shape = _figure()
        self.mapper.SetSourceData(self.shape)
        self.mapper.ScalingOff()
        self.mapper.SetScalarModeToUsePointData()
        self.mapper.SetColorModeToDirectScalars()
        self.actor = vtkActor()
        self.actor.SetMapper(self.mapper)
        self.actor.PickableOff()
        renderer.AddActor(self.actor)
        self.xyz = np.zeros((0, 3))  # what is drawn (tests read it)
        self.states: list[str] = []
        self.show(None)

    def show(self, workers) -> None:
        """Draw ``workers`` (``WorkerTracks.at``: pool, state, position or None per worker;
        None: no figures). Figures at one element stand side by side."""
        placed = [(k, st, p) for k, st, p in (workers or []) if p is not None]
        xyz = np.array([p for _, _, p in placed], float).reshape(-1, 3)
        seen: dict[tuple, int] = {}
        for i, p in enumerate(map(tuple, np.round(xyz, 3))):
            n = seen[p] = seen.get(p, -1) + 1  # the n-th figure at the same place
            xyz[i, 0] += SPACING * n
            xyz[i, 1] -= ASIDE
        rgb = np.array([[int(255 * c) for c in WORKER_COLORS[st]] for _, st, _ in placed],
                       np.uint8).reshape(-1, 3)
        self.xyz, self.states = xyz, [st for _, st, _ in placed]
        self.points.SetData(numpy_to_vtk(np.ascontiguousarray(xyz), deep=True))
        colors = numpy_to_vtk(rgb, deep=True)
        colors.SetName("state")
        self.poly.GetPointData().SetScalars(colors)
        self.poly.Modified()
        self.actor.SetVisibility(len(placed) > 0)
