"""A DXF drawing as line segments, for the floor plan under the layout (``app.floor_plan``).

Read with ezdxf: lines, polylines, circles, arcs, ellipses and splines of the model space,
and those inside block references, flattened to straight segments. The drawing's unit
(``$INSUNITS``) gives its scale in metres; a drawing that states none is taken to be in
millimetres, as factory layouts usually are (scale it by two points if not).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_SEGMENTS = 500_000  # more is drawn partly, with a warning: a hall, not a city
CURVE_STEPS = 100  # a curve is flattened to about 1/100 of its size


@dataclass
class Drawing:
    segments: np.ndarray  # (n, 2, 2) float: [start (x, y), end (x, y)] in drawing units
    metres_per_unit: float
    unit_stated: bool
    truncated: bool = False

    @property
    def lower(self) -> tuple[float, float]:
        return float(self.segments[:, :, 0].min()), float(self.segments[:, :, 1].min())

    @property
    def size(self) -> tuple[float, float]:
        """Width and height of the drawing (its units)."""
        x0, y0 = self.lower
        return (float(self.segments[:, :, 0].max()) - x0, float(self.segments[:, :, 1].max()) - y0)


def _segments_of(entity, out: list, depth: int = 0) -> None:
    from ezdxf import path as dxfpath
    from ezdxf.math import BoundingBox

    kind = entity.dxftype()
    if kind == "LINE":
        s, e = entity.dxf.start, entity.dxf.end
        out.append(((s.x, s.y), (e.x, e.y)))
    elif kind == "INSERT" and depth < 8:  # a block reference: its entities, placed
        for sub in entity.virtual_entities():
            _segments_of(sub, out, depth + 1)
    elif kind in ("LWPOLYLINE", "POLYLINE", "CIRCLE", "ARC", "ELLIPSE", "SPLINE"):
        p = dxfpath.make_path(entity)
        box = BoundingBox(p.control_vertices())
        if not box.has_data:
            return
        tol = max(box.size.x, box.size.y) / CURVE_STEPS or 1e-6
        pts = [(v.x, v.y) for v in p.flattening(distance=tol)]
        out.extend(zip(pts[:-1], pts[1:], strict=True))


def read_dxf(file: Path) -> Drawing:
    """The drawing in ``file``, or ``OSError`` saying why it cannot be drawn."""
    import ezdxf
    from ezdxf import units

    out: list = []
    try:
        doc = ezdxf.readfile(str(file))
        for entity in doc.modelspace():
            _segments_of(entity, out)
            if len(out) > MAX_SEGMENTS:
                break
    except Exception as e:  # noqa: BLE001 - a broken file makes ezdxf's parser raise anything
        raise OSError(f"{file}: not a DXF drawing twinbench can read ({type(e).__name__}: "
                      f"{e}); save it as DXF again, or export it as an image") from None
    if not out:
        raise OSError(f"{file}: the drawing has no lines, polylines, circles or arcs in its "
                      "model space to draw")
    code = int(doc.header.get("$INSUNITS", 0) or 0)
    stated = code != 0
    try:
        factor = units.conversion_factor(code if stated else units.MM, units.M)
    except (KeyError, ValueError, IndexError):
        factor, stated = 0.001, False
    segs = np.asarray(out[:MAX_SEGMENTS], float).reshape(-1, 2, 2)
    return Drawing(segs, float(factor), stated, len(out) > MAX_SEGMENTS)
