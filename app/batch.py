"""Batched drawing: every element of a kind in one ``vtkPolyData`` and one actor.

One actor per element costs a draw call, a matrix upload and a state change each per frame;
on software GL (llvmpipe) 500 of them hold the frame rate near 10 fps. A ``KindBatch`` copies
one template mesh per element, placed by the element's centre, angle and size, into shared
point, normal and per-cell colour arrays. The arrays are preallocated when the set of
elements changes and otherwise written in place, then marked ``Modified()`` (pyvistaqt's
pattern), so moving or recolouring an element never rebuilds the batch. Each cell knows its
slot (``cell id // cells per element``), which is how picking finds the element.

``OutlineBatch`` draws the selection boxes as one line set (the labels: ``app.labels``).
"""

from __future__ import annotations

import numpy as np
from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
from vtkmodules.vtkCommonCore import VTK_ID_TYPE, vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkFiltersCore import vtkPolyDataNormals
from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper


def _cells(ca: vtkCellArray) -> tuple[np.ndarray, np.ndarray]:
    return (vtk_to_numpy(ca.GetOffsetsArray()).astype(np.int64),
            vtk_to_numpy(ca.GetConnectivityArray()).astype(np.int64))


def _id_array(a: np.ndarray):
    return numpy_to_vtk(np.ascontiguousarray(a, np.int64), deep=True, array_type=VTK_ID_TYPE)


class KindBatch:
    """Copies of one template mesh, one per owner, drawn by one actor.

    Parameters
    ----------
    renderer : vtkRenderer
    template : vtkAlgorithm
        The body of an element 1 m x 1 m x 1 m, standing on z = 0 and centred on the origin.
    wireframe : bool
        Draw the cells' edges only (buffer racks).
    """

    def __init__(self, renderer, template, *, wireframe: bool = False, line_width: float = 1.0):
        self.renderer = renderer
        normals = vtkPolyDataNormals()
        normals.SetInputConnection(template.GetOutputPort())
        normals.SplittingOn()
        normals.SetFeatureAngle(45.0)
        normals.ComputeCellNormalsOff()
        normals.Update()
        t = normals.GetOutput()
        self._tp = vtk_to_numpy(t.GetPoints().GetData()).astype(np.float64)
        self._tn = vtk_to_numpy(t.GetPointData().GetNormals()).astype(np.float64)
        self._toff, self._tconn = _cells(t.GetPolys())
        self.cells_per_slot = len(self._toff) - 1
        self.owners: list = []
        self._slot: dict[int, int] = {}
        self._center = np.zeros((0, 3))
        self._angle = np.zeros(0)
        self._scale = np.ones((0, 3))
        self._rgb = np.zeros((0, 3))
        self.poly = vtkPolyData()
        self.mapper = vtkPolyDataMapper()
        self.mapper.SetInputData(self.poly)
        self.mapper.SetScalarModeToUseCellData()
        self.mapper.SetColorModeToDirectScalars()
        self.actor = vtkActor()
        self.actor.SetMapper(self.mapper)
        if wireframe:
            self.actor.GetProperty().SetRepresentationToWireframe()
            self.actor.GetProperty().SetLineWidth(line_width)
        renderer.AddActor(self.actor)
        self._structure = True
        self._geometry = self._colors = False

    # --- owners --------------------------------------------------------------------------------
    def add(self, owner) -> None:
        self._slot[id(owner)] = len(self.owners)
        self.owners.append(owner)
        self._center = np.vstack([self._center, np.zeros((1, 3))])
        self._angle = np.append(self._angle, 0.0)
        self._scale = np.vstack([self._scale, np.ones((1, 3))])
        self._rgb = np.vstack([self._rgb, np.full((1, 3), 0.6)])
        self._structure = True

    def remove(self, owner) -> None:
        i = self._slot.pop(id(owner), None)
        if i is None:
            return
        del self.owners[i]
        self._center = np.delete(self._center, i, axis=0)
        self._angle = np.delete(self._angle, i)
        self._scale = np.delete(self._scale, i, axis=0)
        self._rgb = np.delete(self._rgb, i, axis=0)
        self._slot = {id(o): k for k, o in enumerate(self.owners)}
        self._structure = True

    def place(self, owner, center, angle_deg: float, scale) -> None:
        """Put ``owner``'s copy at ``center`` (x, y, z m), turned by ``angle_deg`` about z and
        scaled to ``scale`` (w, d, h m); a zero scale hides it."""
        i = self._slot[id(owner)]
        self._center[i] = center
        self._angle[i] = angle_deg
        self._scale[i] = scale
        self._geometry = True

    def color(self, owner, rgb) -> None:
        i = self._slot[id(owner)]
        self._rgb[i] = rgb
        self._colors = True

    def owner_of_cell(self, cell_id: int):
        """The owner whose copy holds cell ``cell_id`` of the batch (picking)."""
        i = cell_id // self.cells_per_slot if self.cells_per_slot else -1
        return self.owners[i] if 0 <= i < len(self.owners) else None

    # --- arrays --------------------------------------------------------------------------------
    def _allocate(self) -> None:
        n, k, c = len(self.owners), len(self._tp), self.cells_per_slot
        m = len(self._tconn)
        self._pts = np.zeros((n * k, 3))
        self._nrm = np.zeros((n * k, 3))
        self._cell_rgb = np.zeros((n * c, 3), np.uint8)
        points = vtkPoints()
        self._vtk_pts = numpy_to_vtk(self._pts, deep=False)  # shares self._pts
        points.SetData(self._vtk_pts)
        self._vtk_nrm = numpy_to_vtk(self._nrm, deep=False)
        self._vtk_nrm.SetName("Normals")
        self._vtk_rgb = numpy_to_vtk(self._cell_rgb, deep=False)
        self._vtk_rgb.SetName("colors")
        slots = np.arange(n, dtype=np.int64)[:, None]
        offsets = np.append((self._toff[:-1][None, :] + m * slots).ravel(), n * m)
        conn = (self._tconn[None, :] + k * slots).ravel()
        polys = vtkCellArray()
        polys.SetData(_id_array(offsets), _id_array(conn))
        self.poly.Initialize()
        self.poly.SetPoints(points)
        self.poly.SetPolys(polys)
        self.poly.GetPointData().SetNormals(self._vtk_nrm)
        self.poly.GetCellData().SetScalars(self._vtk_rgb)
        self._structure = False
        self._geometry = self._colors = True

    def flush(self) -> bool:
        """Write pending changes into the arrays; True when anything changed."""
        changed = self._structure or self._geometry or self._colors
        if self._structure:
            self._allocate()
        n, k = len(self.owners), len(self._tp)
        if self._geometry and n:
            a = np.radians(self._angle)
            cos, sin = np.cos(a)[:, None], np.sin(a)[:, None]
            p = self._tp[None, :, :] * self._scale[:, None, :]
            pts = self._pts.reshape(n, k, 3)
            pts[..., 0] = cos * p[..., 0] - sin * p[..., 1] + self._center[:, 0:1]
            pts[..., 1] = sin * p[..., 0] + cos * p[..., 1] + self._center[:, 1:2]
            pts[..., 2] = p[..., 2] + self._center[:, 2:3]
            # normals transform with the inverse transpose: divide by the scale, then turn
            s = self._scale
            inv = np.divide(1.0, s, out=np.zeros_like(s), where=s != 0)
            q = self._tn[None, :, :] * inv[:, None, :]
            nrm = self._nrm.reshape(n, k, 3)
            nrm[..., 0] = cos * q[..., 0] - sin * q[..., 1]
            nrm[..., 1] = sin * q[..., 0] + cos * q[..., 1]
            nrm[..., 2] = q[..., 2]
            length = np.linalg.norm(nrm, axis=2, keepdims=True)
            np.divide(nrm, length, out=nrm, where=length > 0)
            self._vtk_pts.Modified()
            self._vtk_nrm.Modified()
        if self._colors and n:
            rgb = np.clip(np.round(self._rgb * 255.0), 0, 255).astype(np.uint8)
            self._cell_rgb.reshape(n, self.cells_per_slot, 3)[:] = rgb[:, None, :]
            self._vtk_rgb.Modified()
        if changed:
            self.poly.Modified()
        self._geometry = self._colors = False
        return changed

    def close(self) -> None:
        self.renderer.RemoveActor(self.actor)


# the 12 edges of a box by corner index (corner bits: x, y, z)
_BOX_EDGES = np.array([(0, 1), (2, 3), (4, 5), (6, 7), (0, 2), (1, 3), (4, 6), (5, 7),
                       (0, 4), (1, 5), (2, 6), (3, 7)])
_CORNERS = np.array([(x, y, z) for z in (0, 1) for y in (-0.5, 0.5) for x in (-0.5, 0.5)])


class OutlineBatch:
    """Boxes around the selected elements, as one set of lines."""

    def __init__(self, renderer, color, width: float = 3.0):
        self.renderer = renderer
        self.poly = vtkPolyData()
        mapper = vtkPolyDataMapper()
        mapper.SetInputData(self.poly)
        self.actor = vtkActor()
        self.actor.SetMapper(mapper)
        self.actor.GetProperty().SetColor(*color)
        self.actor.GetProperty().SetLineWidth(width)
        self.actor.GetProperty().LightingOff()
        self.actor.PickableOff()
        renderer.AddActor(self.actor)
        self.set_boxes([])

    def set_boxes(self, boxes: list[tuple]) -> None:
        """``boxes``: (x, y, z, angle_deg, w, d, h) each."""
        n = len(boxes)
        b = np.asarray(boxes, float).reshape(n, 7)
        a = np.radians(b[:, 3])[:, None]
        c = _CORNERS[None, :, :] * b[:, None, 4:7]
        pts = np.empty((n, 8, 3))
        pts[..., 0] = np.cos(a) * c[..., 0] - np.sin(a) * c[..., 1] + b[:, 0:1]
        pts[..., 1] = np.sin(a) * c[..., 0] + np.cos(a) * c[..., 1] + b[:, 1:2]
        pts[..., 2] = c[..., 2] + b[:, 2:3]
        points = vtkPoints()
        points.SetData(numpy_to_vtk(pts.reshape(-1, 3), deep=True))
        conn = (_BOX_EDGES[None, :, :] + 8 * np.arange(n)[:, None, None]).ravel()
        lines = vtkCellArray()
        lines.SetData(_id_array(np.arange(0, 2 * 12 * n + 1, 2)), _id_array(conn))
        self.poly.Initialize()
        self.poly.SetPoints(points)
        self.poly.SetLines(lines)
        self.actor.SetVisibility(n > 0)
        self.poly.Modified()

    def close(self) -> None:
        self.renderer.RemoveActor(self.actor)
