"""VTK adapters: one per element kind, chosen from a registry (napari ``layer_to_visual``).

Each adapter draws one element on the floor, subscribes to the element's events in
``__init__`` and disconnects in ``close()``. Adapters only draw what the model says; the
view decides selection, overlap and state colours and passes them in.
"""

from __future__ import annotations

import math

from vtkmodules.vtkCommonTransforms import vtkTransform
from vtkmodules.vtkFiltersCore import vtkGlyph3D
from vtkmodules.vtkFiltersGeneral import vtkTransformFilter
from vtkmodules.vtkFiltersModeling import vtkOutlineFilter
from vtkmodules.vtkFiltersSources import vtkConeSource, vtkCubeSource, vtkCylinderSource
from vtkmodules.vtkRenderingCore import (
    vtkActor,
    vtkBillboardTextActor3D,
    vtkPolyDataMapper,
)

from twin import model as m

ADAPTERS: dict[type, type[ElementActor]] = {}

SELECTED = (1.0, 0.85, 0.1)
OVERLAP = (0.95, 0.1, 0.1)


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


def _actor(algorithm, color) -> vtkActor:
    mapper = vtkPolyDataMapper()
    mapper.SetInputConnection(algorithm.GetOutputPort())
    actor = vtkActor()
    actor.SetMapper(mapper)
    actor.GetProperty().SetColor(*color)
    return actor


def unit_box():
    """A 1 x 1 x 1 box standing on the floor, centred on the origin."""
    src = vtkCubeSource()
    src.SetCenter(0.0, 0.0, 0.5)
    return src


class ElementActor:
    """A body scaled to the element's footprint and height, a label and a selection outline."""

    height = 1.0
    color = (0.6, 0.6, 0.6)

    def __init__(self, element: m.Element, scene):
        self.element, self.scene = element, scene
        self.body_source = self.make_body()
        self.body = _actor(self.body_source, self.color)
        outline = vtkOutlineFilter()
        outline.SetInputConnection(self.body_source.GetOutputPort())
        self.outline = _actor(outline, SELECTED)
        self.outline.GetProperty().SetLineWidth(3.0)
        self.outline.VisibilityOff()
        self.label = vtkBillboardTextActor3D()
        self.label.GetTextProperty().SetFontSize(13)
        self.label.GetTextProperty().SetJustificationToCentered()
        self.label.GetTextProperty().SetColor(0.1, 0.1, 0.1)
        self.label.GetTextProperty().SetBackgroundColor(1, 1, 1)
        self.label.GetTextProperty().SetBackgroundOpacity(0.6)
        self.selected = self.overlapping = False
        self.tint: tuple[float, float, float] | None = None
        self.center = (0.0, 0.0)
        self.size = (1.0, 1.0)
        self.angle = 0.0
        for a in self.props():
            scene.renderer.AddActor(a)
        element.events.connect(self._on_event)
        self.update()

    # --- drawing -----------------------------------------------------------------------------
    def make_body(self):
        return unit_box()

    def props(self) -> list:
        return [self.body, self.outline, self.label]

    def placement(self) -> tuple[tuple[float, float], tuple[float, float], float]:
        """Centre (m), size along its own x and y (m) and angle (degrees) on the floor."""
        x, y, _ = self.element.position
        return (x, y), tuple(self.element.footprint), self.element.rotation

    def update(self) -> None:
        (x, y), (w, d), angle = self.placement()
        self.center, self.size, self.angle = (x, y), (w, d), angle
        z = self.element.position[2]
        for a in (self.body, self.outline):
            a.SetPosition(x, y, z)
            a.SetOrientation(0.0, 0.0, angle)
            a.SetScale(w, d, self.height)
        self.label.SetPosition(x, y, z + self.height + 0.35)
        self.label.SetInput(self.element.id)
        self.update_color()

    def base_color(self):
        return self.tint or self.color

    def update_color(self) -> None:
        self.body.GetProperty().SetColor(*(OVERLAP if self.overlapping else self.base_color()))
        self.outline.SetVisibility(self.selected)

    def set_selected(self, on: bool) -> None:
        if on != self.selected:
            self.selected = on
            self.update_color()

    def set_overlapping(self, on: bool) -> None:
        if on != self.overlapping:
            self.overlapping = on
            self.update_color()

    def set_tint(self, rgb) -> None:
        self.tint = None if rgb is None else tuple(rgb)
        self.update_color()

    def set_fill(self, fraction: float | None) -> None:
        """Buffers and conveyors show how full they are; others ignore it."""

    def set_label_visible(self, on: bool) -> None:
        self.label.SetVisibility(on)

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
        for a in self.props():
            self.scene.renderer.RemoveActor(a)


@adapter_for(m.Station)
class StationActor(ElementActor):
    height = 1.6
    color = (0.45, 0.55, 0.72)


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

    def __init__(self, element, scene):
        self.fill = 0.0
        self.fill_box = _actor(unit_box(), self.fill_color)
        super().__init__(element, scene)
        self.body.GetProperty().SetRepresentationToWireframe()
        self.body.GetProperty().SetLineWidth(2.0)

    def props(self):
        return [*super().props(), self.fill_box]

    def update(self):
        super().update()
        (x, y), (w, d), angle = self.center, self.size, self.angle
        self.fill_box.SetPosition(x, y, self.element.position[2])
        self.fill_box.SetOrientation(0.0, 0.0, angle)
        self.fill_box.SetScale(w * 0.85, d * 0.85, max(self.height * self.fill, 1e-3))
        self.fill_box.SetVisibility(self.fill > 0)

    def set_fill(self, fraction):
        self.fill = 0.0 if fraction is None else min(max(float(fraction), 0.0), 1.0)
        self.update()


@adapter_for(m.Conveyor)
class ConveyorActor(ElementActor):
    """A belt from its predecessor to its successor; its length follows its ends."""

    height = 0.45
    color = (0.3, 0.3, 0.3)

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
