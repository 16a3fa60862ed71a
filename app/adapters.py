"""VTK adapters: one per element kind, chosen from a registry (napari ``layer_to_visual``).

Each adapter owns its element's slot in the batch of its kind (``app.batch.KindBatch``: one
actor for all elements of a kind), subscribes to the element's events in ``__init__`` and
disconnects (and gives its slot back) in ``close()``. Adapters only draw what the model says;
the view decides selection, overlap and state colours and passes them in.
"""

from __future__ import annotations

import math
from pathlib import Path

from vtkmodules.vtkCommonTransforms import vtkTransform
from vtkmodules.vtkFiltersCore import vtkGlyph3D
from vtkmodules.vtkFiltersGeneral import vtkTransformFilter
from vtkmodules.vtkFiltersSources import vtkConeSource, vtkCubeSource, vtkCylinderSource

from app.batch import KindBatch
from app.meshes import MeshLoadError, mesh_template
from twin.model import elements as m

ADAPTERS: dict[type, type[ElementActor]] = {}

SELECTED = (1.0, 0.85, 0.1)
OVERLAP = (0.95, 0.1, 0.1)
LABEL_LIFT = 0.35  # m above the roof


def adapter_for(model_type: type):
    """Register the decorated class as the adapter of ``model_type``."""

    def deco(cls):
        ADAPTERS[model_type] = cls
        return cls

    return deco


def make_adapter(element: m.Element, scene) -> ElementActor:
    for cls in type(element).__mro__:
        if cls in ADAPTERS:
            return ADAPTERS[cls](element, scene)
    raise TypeError(f"no 3D adapter for {type(element).__name__}")


def unit_box():
    """A 1 x 1 x 1 box standing on the floor, centred on the origin."""
    src = vtkCubeSource()
    src.SetCenter(0.0, 0.0, 0.5)
    return src


class ElementActor:
    """A body scaled to the element's footprint and height, drawn in its kind's batch.

    ``scene`` provides ``batch(key, factory) -> KindBatch`` and ``request_render()``; the
    label and the selection outline are drawn by the scene for all elements at once.
    """

    height = 1.0
    color = (0.6, 0.6, 0.6)
    wireframe = False
    #: where labels overlap, the higher wins: a machine's name is never hidden by a belt's
    label_priority = 2.0

    def __init__(self, element: m.Element, scene):
        self.element, self.scene = element, scene
        self.selected = self.overlapping = False
        self.label_visible = True
        self.tint: tuple[float, float, float] | None = None
        self.center = (0.0, 0.0)
        self.size = (1.0, 1.0)
        self.angle = 0.0
        self.body = self.body_batch()
        self.body.add(self)
        element.events.connect(self._on_event)
        self.update()

    # --- drawing -----------------------------------------------------------------------------
    def make_body(self):
        return unit_box()

    def body_batch(self) -> KindBatch:
        """The batch that draws this element's body: its kind's."""
        return self.scene.batch(type(self).__name__, self.make_batch)

    def make_batch(self, renderer) -> KindBatch:
        return KindBatch(renderer, self.make_body(), wireframe=self.wireframe, line_width=2.0)

    def placement(self) -> tuple[tuple[float, float], tuple[float, float], float]:
        """Centre (m), size along its own x and y (m) and angle (degrees) on the floor."""
        x, y, _ = self.element.position
        return (x, y), tuple(self.element.footprint), self.element.rotation

    def update(self) -> None:
        (x, y), (w, d), angle = self.placement()
        self.center, self.size, self.angle = (x, y), (w, d), angle
        self.body.place(self, (x, y, self.element.position[2]), angle, (w, d, self.height))
        self.update_color()

    def box(self) -> tuple:
        """(x, y, z, angle, w, d, h): the selection outline."""
        return (*self.center, self.element.position[2], self.angle, *self.size, self.height)

    def label_position(self) -> tuple[float, float, float]:
        return (*self.center, self.element.position[2] + self.height + LABEL_LIFT)

    def base_color(self):
        return self.tint or self.color

    def update_color(self) -> None:
        self.body.color(self, OVERLAP if self.overlapping else self.base_color())
        self.scene.request_render()

    def set_selected(self, on: bool) -> None:
        self.selected = on  # the scene redraws all outlines at once

    def set_overlapping(self, on: bool) -> None:
        if on != self.overlapping:
            self.overlapping = on
            self.update_color()

    def set_tint(self, rgb) -> None:
        tint = None if rgb is None else tuple(rgb)
        if tint != self.tint:
            self.tint = tint
            self.update_color()

    def set_fill(self, fraction: float | None) -> None:
        """Buffers and conveyors show how full they are; others ignore it."""

    def set_label_visible(self, on: bool) -> None:
        self.label_visible = on

    # --- geometry queries (picking and overlap) ----------------------------------------------
    def contains(self, x: float, y: float) -> bool:
        cx, cy = self.center
        a = math.radians(self.angle)
        dx, dy = x - cx, y - cy
        lx = dx * math.cos(a) + dy * math.sin(a)
        ly = -dx * math.sin(a) + dy * math.cos(a)
        return abs(lx) <= self.size[0] / 2 and abs(ly) <= self.size[1] / 2

    def bounds(self) -> tuple[float, float, float, float]:
        """Axis-aligned box (xmin, xmax, ymin, ymax) of the rotated footprint."""
        a = math.radians(self.angle)
        w, d = self.size
        hx = abs(w * math.cos(a)) / 2 + abs(d * math.sin(a)) / 2
        hy = abs(w * math.sin(a)) / 2 + abs(d * math.cos(a)) / 2
        cx, cy = self.center
        return cx - hx, cx + hx, cy - hy, cy + hy

    # --- life cycle ----------------------------------------------------------------------------
    def _on_event(self, *_info) -> None:
        self.update()
        self.scene.element_changed(self.element)

    def close(self) -> None:
        self.element.events.disconnect(self._on_event)
        self.body.remove(self)
        self.scene.request_render()


@adapter_for(m.Station)
class StationActor(ElementActor):
    """A machine body: a box, or the station's own mesh (``app.meshes``).

    Stations with the same mesh file share one batch of their own; a mesh that cannot be
    read leaves the station in the boxes' batch, with a warning through the scene.
    """

    height = 1.6
    color = (0.45, 0.55, 0.72)
    #: an assembly (a station with a bill of materials, issue 18) in a colour of its own,
    #: until a run's state colours tint it as any station
    assembly_color = (0.6, 0.47, 0.72)
    #: a batch station (an oven, issue 18 §2) in a warm colour of its own, likewise
    batch_color = (0.78, 0.46, 0.28)
    label_priority = 3.0

    def __init__(self, element, scene):
        self.mesh = self.mesh_size = None  # the mesh drawn, its (w, d, h) in metres
        super().__init__(element, scene)

    def body_batch(self) -> KindBatch:
        self.mesh, self.mesh_size = self.element.mesh, None
        self.height = type(self).height
        if self.mesh is None:
            return super().body_batch()
        folder = getattr(self.scene.project, "path", None)
        try:
            if folder is None:
                raise MeshLoadError(f"{self.mesh.file}: the project has no folder yet; save it")
            tpl = mesh_template(Path(folder) / self.mesh.file)
        except MeshLoadError as e:
            if not self._reported_missing():
                self.scene.warn(f"{self.element.id}: mesh not drawn, a box instead: {e}")
            return super().body_batch()
        s = self.mesh.scale
        self.mesh_size = (tpl.size[0] * s, tpl.size[1] * s, tpl.size[2] * s)
        self.height = self.mesh_size[2]
        return self.scene.batch(f"StationMesh:{id(tpl)}", lambda r: KindBatch(r, tpl.source))

    def base_color(self):
        if self.tint is None and self.element.assembly is not None:
            return self.assembly_color
        if self.tint is None and self.element.batch is not None:
            return self.batch_color
        return super().base_color()

    def _reported_missing(self) -> bool:
        """True when the file is missing and the project reader already warned of it (with
        the station and the fix; the window logs ``project.warnings``): one warning, not two."""
        folder = getattr(self.scene.project, "path", None)
        return folder is not None and not (Path(folder) / self.mesh.file).exists() and any(
            w.value == self.mesh.file for w in self.scene.project.warnings)

    def update(self) -> None:
        if self.element.mesh != self.mesh:  # a new mesh (or none): change batches
            self.body.remove(self)
            self.body = self.body_batch()
            self.body.add(self)
        if self.mesh_size is None:
            super().update()
            return
        (x, y), (w, d), angle = self.placement()
        self.center, self.size, self.angle = (x, y), (w, d), angle
        s = self.mesh.scale
        self.body.place(self, (x, y, self.element.position[2]), angle, (s, s, s))
        self.update_color()

    def box(self) -> tuple:
        if self.mesh_size is None:
            return super().box()
        return (*self.center, self.element.position[2], self.angle, *self.mesh_size)


@adapter_for(m.Source)
class SourceActor(ElementActor):
    height = 1.2
    color = (0.2, 0.65, 0.35)

    def make_body(self):
        src = vtkConeSource()
        src.SetDirection(0.0, 0.0, 1.0)
        src.SetCenter(0.0, 0.0, 0.5)
        src.SetHeight(1.0)
        src.SetRadius(0.5)
        src.SetResolution(24)
        return src


@adapter_for(m.Sink)
class SinkActor(ElementActor):
    height = 0.8
    color = (0.35, 0.35, 0.4)

    def make_body(self):
        src = vtkCylinderSource()
        src.SetRadius(0.5)
        src.SetHeight(1.0)
        src.SetResolution(24)
        t = vtkTransform()
        t.Translate(0.0, 0.0, 0.5)
        t.RotateX(90.0)
        f = vtkTransformFilter()
        f.SetTransform(t)
        f.SetInputConnection(src.GetOutputPort())
        return f


@adapter_for(m.Buffer)
class BufferActor(ElementActor):
    """A rack (wire frame) with a block inside whose height shows the fill."""

    height = 1.4
    color = (0.35, 0.35, 0.38)
    fill_color = (0.85, 0.55, 0.2)
    wireframe = True

    def __init__(self, element, scene):
        self.fill = 0.0
        self.fill_box = scene.batch("BufferFill", lambda r: KindBatch(r, unit_box()))
        self.fill_box.add(self)
        self.fill_box.color(self, self.fill_color)
        super().__init__(element, scene)

    def update(self):
        super().update()
        (x, y), (w, d), angle = self.center, self.size, self.angle
        # an empty buffer's block has zero size: hidden without leaving the batch
        h = self.height * self.fill
        scale = (w * 0.85, d * 0.85, h) if self.fill > 0 else (0.0, 0.0, 0.0)
        self.fill_box.place(self, (x, y, self.element.position[2]), angle, scale)

    def set_fill(self, fraction):
        fill = 0.0 if fraction is None else min(max(float(fraction), 0.0), 1.0)
        if fill != self.fill:
            self.fill = fill
            self.update()

    def close(self):
        super().close()
        self.fill_box.remove(self)


@adapter_for(m.Conveyor)
class ConveyorActor(ElementActor):
    """A belt from its predecessor to its successor; its length follows its ends."""

    height = 0.45
    color = (0.3, 0.3, 0.3)
    label_priority = 1.0

    def placement(self):
        project = self.scene.project
        el = self.element
        ends = [c.source for c in project.predecessors(el.id)][:1]
        ends += [c.target for c in project.successors(el.id)][:1]
        pts = [project.element(e).position for e in ends if e in project]
        if len(pts) < 2:
            return super().placement()
        (x0, y0, _), (x1, y1, _) = pts
        length = max(math.hypot(x1 - x0, y1 - y0), 0.1)
        angle = math.degrees(math.atan2(y1 - y0, x1 - x0))
        return ((x0 + x1) / 2, (y0 + y1) / 2), (length, el.footprint[1]), angle


def arrow_glyphs():
    """A glyph filter drawing a cone at each point along its vector (connection arrows)."""
    cone = vtkConeSource()
    cone.SetHeight(0.6)
    cone.SetRadius(0.22)
    cone.SetResolution(12)
    glyph = vtkGlyph3D()
    glyph.SetSourceConnection(cone.GetOutputPort())
    glyph.SetVectorModeToUseVector()
    glyph.OrientOn()
    glyph.ScalingOff()
    return glyph
