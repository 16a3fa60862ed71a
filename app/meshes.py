"""Custom station bodies read from STL or OBJ files (``twin.model.elements.Mesh``).

``mesh_template`` reads a file once (cached by path, size and modification time), turns its
faces into triangles and moves it so that its bounding box is centred on the origin in x and
y with its lowest point on z = 0, the convention of every template of ``app.batch``; the
adapter then places and scales it like the built-in bodies. A file that cannot be read
raises ``MeshLoadError`` with the reason, and the adapter falls back to the default box.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from vtkmodules.util.misc import calldata_type
from vtkmodules.vtkCommonCore import VTK_STRING, vtkObject
from vtkmodules.vtkCommonTransforms import vtkTransform
from vtkmodules.vtkFiltersCore import vtkTriangleFilter
from vtkmodules.vtkFiltersGeneral import vtkTransformFilter
from vtkmodules.vtkIOGeometry import vtkOBJReader, vtkSTLReader

READERS = {".stl": vtkSTLReader, ".obj": vtkOBJReader}


class MeshLoadError(Exception):
    """A mesh file that exists in name but cannot be drawn."""


@dataclass
class MeshTemplate:
    """A body ready for a ``KindBatch``: ``source`` outputs it, ``size`` is its (w, d, h) in
    the file's units."""

    source: vtkTransformFilter
    size: tuple[float, float, float]
    triangles: int


_CACHE: dict[tuple[str, int, int], MeshTemplate] = {}


def _read(path: Path):
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise MeshLoadError(f"{path.name}: unsupported format {path.suffix!r}; twinbench "
                            f"reads {', '.join(READERS)}")
    if not path.is_file():
        raise MeshLoadError(f"{path}: no such file")
    errors: list[str] = []

    @calldata_type(VTK_STRING)
    def on_error(_obj, _event, text):
        errors.append(str(text).strip().splitlines()[-1] if text else "unreadable")

    r = reader()
    r.SetFileName(str(path))
    r.AddObserver("ErrorEvent", on_error)
    tri = vtkTriangleFilter()
    tri.SetInputConnection(r.GetOutputPort())
    tri.PassVertsOff()
    tri.PassLinesOff()
    # the pipeline's executive reports a failed read on the console too; the reason is
    # collected above and shown to the user, so the console copy is held back
    shown = vtkObject.GetGlobalWarningDisplay()
    vtkObject.GlobalWarningDisplayOff()
    try:
        tri.Update()
    finally:
        vtkObject.SetGlobalWarningDisplay(shown)
    poly = tri.GetOutput()
    if errors or poly.GetNumberOfPolys() == 0:
        why = errors[0] if errors else "it holds no faces"
        raise MeshLoadError(f"{path.name}: cannot read it as {path.suffix.lower()} ({why})")
    return poly


def mesh_template(path: str | os.PathLike) -> MeshTemplate:
    """The body in ``path`` as a template centred on the origin and standing on z = 0."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError as e:
        raise MeshLoadError(f"{p}: {e.strerror or 'cannot be read'}") from None
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    poly = _read(p)
    x0, x1, y0, y1, z0, z1 = poly.GetBounds()
    t = vtkTransform()
    t.Translate(-(x0 + x1) / 2, -(y0 + y1) / 2, -z0)
    f = vtkTransformFilter()
    f.SetTransform(t)
    f.SetInputData(poly)
    f.Update()
    out = _CACHE[key] = MeshTemplate(f, (x1 - x0, y1 - y0, z1 - z0), poly.GetNumberOfPolys())
    return out


MM_ABOVE = 50.0  # a station whose largest side exceeds this many units is drawn in mm


def guess_scale(path: str | os.PathLike) -> tuple[float, str]:
    """The scale to start an imported mesh at, and why: CAD exports are mostly in
    millimetres and STL stores no unit, so a body larger than ``MM_ABOVE`` units is read as
    millimetres (0.001 m per unit); the inspector says so and the field stays editable."""
    try:
        side = max(mesh_template(path).size)
    except MeshLoadError as e:
        return 1.0, str(e)
    if side > MM_ABOVE:
        return 0.001, f"its largest side is {side:g} units: read as millimetres"
    return 1.0, f"its largest side is {side:g} units: read as metres"
