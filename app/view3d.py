"""The 3D layout editor: the floor, the elements, their connections and the mouse gestures.

Gestures become commands on the undo stack (a drag pushes merging ``MoveElements`` with one
drag id, so a whole drag is one undo step); the view redraws from model events. Left button:
select, rubber band on empty floor, drag to move (or, in connect mode, drag from one element
to the next); right drag orbits and a right click asks for the context menu
(``context_menu_requested``; the window builds it); middle pans, wheel zooms. Renders are
coalesced: changes mark the view dirty and a 60 Hz timer renders at most once per tick.

All elements of a kind are drawn by one batched actor (``app.batch``), names by one textured
quad set (``app.labels``) and the selection boxes by one line set, so the frame rate holds
with hundreds of elements on software GL. Picking maps the picked cell of a batch back to its
element.
"""

from __future__ import annotations

import itertools
import logging
import math

import numpy as np
import vtkmodules.vtkInteractionStyle  # noqa: F401 - registers the interactor styles
import vtkmodules.vtkRenderingFreeType  # noqa: F401 - text rendering (the measure tool)
import vtkmodules.vtkRenderingOpenGL2  # noqa: F401 - the OpenGL back end
from PySide6.QtCore import QPoint, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QRubberBand, QVBoxLayout, QWidget
from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkFiltersSources import vtkLineSource, vtkPlaneSource
from vtkmodules.vtkRenderingCore import (
    vtkActor,
    vtkCellPicker,
    vtkPolyDataMapper,
    vtkRenderer,
    vtkWindowToImageFilter,
)

from app.adapters import SELECTED, ElementActor, arrow_glyphs, make_adapter
from app.batch import KindBatch, OutlineBatch
from app.conveyor_tool import ConveyorTool
from app.floor_plan import FloorPlan
from app.labels import LabelBatch
from app.measure import MeasureTool
from app.palette import STEMS, new_element
from app.scale_bar import ScaleBar
from app.vtk_widget import CameraStyle, VtkWidget, native_overlay
from app.worker_figures import WorkerFigures
from twin.model import commands as cmd
from twin.model import elements as m

CAMERA_PRESETS = ("top", "isometric", "front")
LABELS_UP_TO = 150  # more elements than this: labels only on the selection (legibility)
MODES = ("select", "connect", "measure", "conveyor", "plan")
log = logging.getLogger(__name__)


class View3D(QWidget):
    """The central 3D view of a project, editing it through ``stack``."""

    selection_changed = Signal(list)
    message = Signal(str)
    hint = Signal(str)  # what the next click does, for the status bar (not the log)
    mode_changed = Signal(str)
    measured = Signal(str)  # the measure tool's result, for the status bar
    # a right click without a drag: (element id under it or None, widget position QPoint)
    context_menu_requested = Signal(object, object)

    def __init__(self, project: m.Project, stack: cmd.UndoStack, parent=None):
        super().__init__(parent)
        self.vtk = VtkWidget(self)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.vtk)
        self.render_window = self.vtk.GetRenderWindow()
        # 4x multisampling (VTK's default) quadruples the fill cost: on software GL it alone
        # held 500 elements under 20 fps; FXAA costs as much again
        self.render_window.SetMultiSamples(0)
        self.renderer = vtkRenderer()
        self.renderer.SetBackground(0.93, 0.94, 0.96)
        self.renderer.SetBackground2(0.78, 0.82, 0.88)
        self.renderer.GradientBackgroundOn()
        self.render_window.AddRenderer(self.renderer)
        self.vtk.SetInteractorStyle(CameraStyle())
        self.snap = 0.5  # grid snapping of dragged positions (m); 0 turns it off
        self._mode = "select"
        self.measure = MeasureTool(self)
        self.conveyor_tool = ConveyorTool(self)
        # the two-click tools, by mode (app.floor_plan adds "plan")
        self.tools = {"measure": self.measure, "conveyor": self.conveyor_tool}
        self.floor_plan = FloorPlan(self)
        self.adapters: dict[str, ElementActor] = {}
        self.batches: dict[str, KindBatch] = {}
        self.selection: list[str] = []
        self._drag: dict | None = None
        self._right: dict | None = None  # a right-button press: a click or an orbit
        self._drag_ids = itertools.count(1)
        self._dirty = self._layout_dirty = True
        self._rubber = QRubberBand(QRubberBand.Rectangle, self.vtk)
        native_overlay(self._rubber)
        self._make_floor()
        self._make_connections()
        self.labels = LabelBatch(self.renderer, self.vtk.devicePixelRatioF())
        self.workers = WorkerFigures(self.renderer)  # people walking in playback (issue 18)
        self.outlines = OutlineBatch(self.renderer, SELECTED)
        self._picker = vtkCellPicker()
        self._picker.SetTolerance(0.0005)
        self._picker.PickFromListOn()
        self._timer = QTimer(self)
        self._timer.setInterval(16)
        self._timer.timeout.connect(self._tick)
        self._timer.start()
        self.project = project
        self.stack = stack
        self._attach()
        self.scale_bar = ScaleBar(self)  # metres on the floor, re-measured after each render
        self.camera_preset("isometric")

    # --- project ------------------------------------------------------------------------------
    def set_project(self, project: m.Project, stack: cmd.UndoStack) -> None:
        self._detach()
        for tool in self.tools.values():
            tool.clear()
        self.project, self.stack = project, stack
        self.selection = []
        self._attach()
        self.fit_view()
        self.selection_changed.emit([])

    def _attach(self):
        for el in self.project.elements:
            self._on_added(el)
        self.project.element_added.connect(self._on_added)
        self.project.element_removed.connect(self._on_removed)
        self.project.connections_changed.connect(self._on_layout)
        self.floor_plan.attach(self.project)
        self._on_layout()

    def _detach(self):
        self.project.element_added.disconnect(self._on_added)
        self.project.element_removed.disconnect(self._on_removed)
        self.project.connections_changed.disconnect(self._on_layout)
        self.floor_plan.detach()
        for a in self.adapters.values():
            a.close()
        self.adapters.clear()

    @property
    def mode(self) -> str:
        """What the left button does: ``select`` (and move), ``connect`` or ``measure``."""
        return self._mode

    @mode.setter
    def mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")
        if mode != self._mode:
            self._mode = mode
            for tool in self.tools.values():
                tool.clear()
            if self._drag is not None and self._drag["kind"] == "link":
                self._drag = None  # "Connect from here" waits no longer
                self.link_actor.VisibilityOff()
                self.request_render()
            self.mode_changed.emit(mode)

    def warn(self, text: str) -> None:
        """A drawing problem the user should know of (logged, and shown in the log pane once
        the window listens: adapters warn while the view is still being built)."""
        log.warning(text)
        QTimer.singleShot(0, self, lambda: self.message.emit(text))

    def _on_added(self, el):
        self.adapters[el.id] = make_adapter(el, self)
        self._on_layout()

    def _on_removed(self, el):
        a = self.adapters.pop(el.id, None)
        if a is not None:
            a.close()
        if el.id in self.selection:
            self.set_selection([i for i in self.selection if i != el.id])
        self._on_layout()

    def element_changed(self, _el) -> None:
        """Adapters call this after redrawing themselves; conveyors and arrows follow."""
        self._on_layout()

    def _on_layout(self, *_):
        self._layout_dirty = self._dirty = True

    def request_render(self) -> None:
        self._dirty = True

    def batch(self, key: str, factory) -> KindBatch:
        """The batch ``key`` (one per element kind), made by ``factory(renderer)`` on first
        use; adapters add themselves to it."""
        b = self.batches.get(key)
        if b is None:
            b = self.batches[key] = factory(self.renderer)
            self._picker.AddPickList(b.actor)
        return b

    def _flush(self) -> None:
        if self._layout_dirty:
            self._refresh_layout()
        for b in self.batches.values():
            b.flush()

    def _tick(self):
        if self._layout_dirty:
            self._refresh_layout()
        if self._dirty and self.isVisible():
            self._dirty = False
            self._flush()
            self.render_window.Render()

    def render_now(self) -> None:
        """Bring everything up to date and render once (tests, screenshots, benchmarks)."""
        self._dirty = False
        self._flush()
        self.render_window.Render()

    def _refresh_layout(self):
        self._layout_dirty = False
        for a in self.adapters.values():
            if a.element.kind == "conveyor":
                a.update()
        self._update_overlaps()
        self._update_arrows()
        self._update_floor()
        many = len(self.adapters) > LABELS_UP_TO
        shown = [a for eid, a in self.adapters.items() if not many or eid in self.selection]
        for eid, a in self.adapters.items():
            a.set_label_visible(not many or eid in self.selection)
        # names (a user's words), ids on hover (app.selection.IdentityTips)
        self.labels.set_labels([a.element.label for a in shown],
                               np.array([a.label_position() for a in shown]).reshape(-1, 3),
                               [a.label_priority for a in shown])
        self.outlines.set_boxes([a.box() for a in self.adapters.values() if a.selected])
        self._dirty = True

    def _update_overlaps(self):
        ids = [i for i, a in self.adapters.items() if a.element.kind != "conveyor"]
        if not ids:
            return
        b = np.array([self.adapters[i].bounds() for i in ids])
        eps = 1e-6
        over = ((b[:, None, 0] < b[None, :, 1] - eps) & (b[None, :, 0] < b[:, None, 1] - eps)
                & (b[:, None, 2] < b[None, :, 3] - eps) & (b[None, :, 2] < b[:, None, 3] - eps))
        np.fill_diagonal(over, False)
        hit = over.any(axis=1)
        for i, h in zip(ids, hit, strict=True):
            self.adapters[i].set_overlapping(bool(h))

    def overlapping(self) -> list[str]:
        return [i for i, a in self.adapters.items() if a.overlapping]

    # --- floor and connections ------------------------------------------------------------------
    def _make_floor(self):
        self._floor_src = vtkPlaneSource()
        # the grid as its lines, one segment each, not a plane of 1 m cells drawn as
        # wireframe: that drew every cell's four edges (for a 100-station line 25,600
        # segments, 9 of a render's 20 ms of CPU on software GL, issue 15), each inner
        # edge twice
        self._grid_poly = vtkPolyData()
        floor_m, grid_m = vtkPolyDataMapper(), vtkPolyDataMapper()
        floor_m.SetInputConnection(self._floor_src.GetOutputPort())
        grid_m.SetInputData(self._grid_poly)
        self.floor, self.grid = vtkActor(), vtkActor()
        self.floor.SetMapper(floor_m)
        self.grid.SetMapper(grid_m)
        self.floor.GetProperty().SetColor(0.86, 0.87, 0.86)
        self.floor.SetPosition(0, 0, -0.01)
        self.floor.PickableOff()
        gp = self.grid.GetProperty()
        gp.SetColor(0.72, 0.74, 0.76)  # no multisampling: aliased lines look darker
        gp.LightingOff()
        self.renderer.AddActor(self.floor)
        self.renderer.AddActor(self.grid)
        self._floor_extent = None

    def _update_floor(self):
        """A metre grid covering the layout with 5 m to spare, grown in 10 m steps."""
        boxes = [a.bounds() for a in self.adapters.values()]
        if self.floor_plan.bounds() is not None:  # the floor plan lies on the floor too
            boxes.append(self.floor_plan.bounds())
        if boxes:
            b = np.array(boxes)
            x0, x1, y0, y1 = b[:, 0].min(), b[:, 1].max(), b[:, 2].min(), b[:, 3].max()
        else:
            x0 = x1 = y0 = y1 = 0.0
        ext = (math.floor((x0 - 5) / 10) * 10, math.ceil((x1 + 5) / 10) * 10,
               math.floor((y0 - 5) / 10) * 10, math.ceil((y1 + 5) / 10) * 10)
        if ext == self._floor_extent:
            return
        self._floor_extent = ext
        self._floor_src.SetOrigin(ext[0], ext[2], 0.0)
        self._floor_src.SetPoint1(ext[1], ext[2], 0.0)
        self._floor_src.SetPoint2(ext[0], ext[3], 0.0)
        xs = np.arange(ext[0], ext[1] + 1, dtype=float)
        ys = np.arange(ext[2], ext[3] + 1, dtype=float)
        ends = np.zeros((len(xs) + len(ys), 2, 3))
        ends[: len(xs), :, 0] = xs[:, None]  # lines along y at each metre of x
        ends[: len(xs), :, 1] = (ext[2], ext[3])
        ends[len(xs):, :, 0] = (ext[0], ext[1])
        ends[len(xs):, :, 1] = ys[:, None]
        points = vtkPoints()
        points.SetData(numpy_to_vtk(ends.reshape(-1, 3), deep=True))
        lines = vtkCellArray()
        for i in range(len(ends)):
            lines.InsertNextCell(2, (2 * i, 2 * i + 1))
        self._grid_poly.Initialize()
        self._grid_poly.SetPoints(points)
        self._grid_poly.SetLines(lines)
        self._grid_poly.Modified()

    def _make_connections(self):
        self._conn_poly = vtkPolyData()
        self._head_poly = vtkPolyData()
        mapper = vtkPolyDataMapper()
        mapper.SetInputData(self._conn_poly)
        self.conn_actor = vtkActor()
        self.conn_actor.SetMapper(mapper)
        self.conn_actor.GetProperty().SetColor(0.15, 0.3, 0.75)
        self.conn_actor.GetProperty().SetLineWidth(2.5)
        self._glyph = arrow_glyphs()
        self._glyph.SetInputData(self._head_poly)
        hm = vtkPolyDataMapper()
        hm.SetInputConnection(self._glyph.GetOutputPort())
        self.head_actor = vtkActor()
        self.head_actor.SetMapper(hm)
        self.head_actor.GetProperty().SetColor(0.15, 0.3, 0.75)
        self._link_src = vtkLineSource()
        lm = vtkPolyDataMapper()
        lm.SetInputConnection(self._link_src.GetOutputPort())
        self.link_actor = vtkActor()
        self.link_actor.SetMapper(lm)
        self.link_actor.GetProperty().SetColor(0.9, 0.4, 0.1)
        self.link_actor.GetProperty().SetLineWidth(3)
        self.link_actor.VisibilityOff()
        for a in (self.conn_actor, self.head_actor, self.link_actor):
            self.renderer.AddActor(a)

    def _update_arrows(self):
        z = 0.3
        pts, heads, dirs = [], [], []
        for c in self.project.connections:
            a, b = self.adapters.get(c.source), self.adapters.get(c.target)
            if a is None or b is None:
                continue
            p0 = np.array([*a.center, z])
            p1 = np.array([*b.center, z])
            d = p1 - p0
            if np.hypot(*d[:2]) < 1e-6:
                continue
            pts += [p0, p1]
            heads.append(p0 + 0.6 * d)
            dirs.append(d / np.linalg.norm(d))
        n = len(pts) // 2
        points = vtkPoints()
        points.SetData(numpy_to_vtk(np.array(pts, float).reshape(-1, 3), deep=True))
        lines = vtkCellArray()
        for i in range(n):
            lines.InsertNextCell(2, (2 * i, 2 * i + 1))
        self._conn_poly.SetPoints(points)
        self._conn_poly.SetLines(lines)
        hp = vtkPoints()
        hp.SetData(numpy_to_vtk(np.array(heads, float).reshape(-1, 3), deep=True))
        self._head_poly.SetPoints(hp)
        vec = numpy_to_vtk(np.array(dirs, float).reshape(-1, 3), deep=True)
        vec.SetName("direction")
        self._head_poly.GetPointData().SetVectors(vec)
        self._conn_poly.Modified()
        self._head_poly.Modified()

    # --- coordinates ----------------------------------------------------------------------------
    def _display(self, x: float, y: float) -> tuple[float, float]:
        r = self.vtk.devicePixelRatioF()
        return x * r, (self.vtk.height() - y - 1) * r

    def floor_point(self, x: float, y: float) -> tuple[float, float] | None:
        """Where the ray under widget pixel (x, y) meets the floor (z = 0), or None."""
        dx, dy = self._display(x, y)
        ren = self.renderer
        ends = []
        for depth in (0.0, 1.0):
            ren.SetDisplayPoint(dx, dy, depth)
            ren.DisplayToWorld()
            wx, wy, wz, w = ren.GetWorldPoint()
            ends.append(np.array([wx, wy, wz]) / (w or 1.0))
        p0, p1 = ends
        if abs(p1[2] - p0[2]) < 1e-12:
            return None
        t = -p0[2] / (p1[2] - p0[2])
        if t < 0:
            return None
        p = p0 + t * (p1 - p0)
        return float(p[0]), float(p[1])

    def widget_point(self, x: float, y: float, z: float = 0.0) -> QPoint:
        """The widget pixel showing floor point (x, y, z)."""
        ren = self.renderer
        ren.SetWorldPoint(x, y, z, 1.0)
        ren.WorldToDisplay()
        dx, dy, _ = ren.GetDisplayPoint()
        r = self.vtk.devicePixelRatioF()
        return QPoint(round(dx / r), round(self.vtk.height() - 1 - dy / r))

    def pick(self, x: float, y: float) -> str | None:
        """The element whose body is drawn at widget pixel (x, y): the picked cell of a
        batch gives the slot, the slot its adapter."""
        self._flush()
        dx, dy = self._display(x, y)
        if not self._picker.Pick(dx, dy, 0.0, self.renderer):
            return None
        actor, cell = self._picker.GetActor(), self._picker.GetCellId()
        for b in self.batches.values():
            if b.actor is actor:
                owner = b.owner_of_cell(cell)
                return owner.element.id if owner is not None else None
        return None

    def element_at(self, x: float, y: float) -> str | None:
        """The element under widget pixel (x, y): the body in front, else the footprint
        under the floor point (the smallest wins: a station on a conveyor)."""
        picked = self.pick(x, y)
        if picked is not None:
            return picked
        p = self.floor_point(x, y)
        if p is None:
            return None
        hits = [a for a in self.adapters.values() if a.contains(*p)]
        # prefer the smallest footprint: a station on top of a conveyor wins the click
        hits.sort(key=lambda a: a.size[0] * a.size[1])
        return hits[0].element.id if hits else None

    def snapped(self, v: float) -> float:
        return round(v / self.snap) * self.snap if self.snap > 0 else v

    # --- gestures -------------------------------------------------------------------------------
    def create_at(self, kind: str, x: float, y: float) -> str | None:
        """Create a new ``kind`` element at widget pixel (x, y), as one undoable command."""
        p = self.floor_point(x, y)
        if p is None or kind not in STEMS:
            return None
        eid = self.project.unique_id(STEMS[kind])
        el = new_element(kind, eid, (self.snapped(p[0]), self.snapped(p[1]), 0.0))
        self.stack.push(cmd.AddElement(el))
        self.set_selection([eid])
        return eid

    def start_link(self, element_id: str) -> None:
        """Connect mode with a link from ``element_id`` following the mouse: the next left
        click on an element connects the two ("Connect from here")."""
        self.mode = "connect"
        self._drag = {"kind": "link", "from": element_id, "sticky": True}

    def press(self, ev) -> bool:
        if ev.button() == Qt.RightButton:
            pos = ev.position().toPoint()
            self._right = {"origin": pos, "last": pos, "orbit": False}
            return True
        if ev.button() != Qt.LeftButton:
            return False
        pos = ev.position().toPoint()
        if self.mode in self.tools:
            self.tools[self.mode].click(pos.x(), pos.y())
            return True
        hit = self.element_at(pos.x(), pos.y())
        if self.mode == "connect":
            d = self._drag
            if d is not None and d.get("sticky"):
                if hit != d["from"]:  # a click on its start again: the release says why not
                    self._drag = None
                    self._connect(d["from"], hit)
            elif hit is not None:
                self._drag = {"kind": "link", "from": hit}
            return True
        if hit is None:
            self._drag = {"kind": "band", "origin": pos, "add": bool(
                ev.modifiers() & (Qt.ControlModifier | Qt.ShiftModifier))}
            self._rubber.setGeometry(QRect(pos, QSize()))
            self._rubber.show()
            return True
        mods = ev.modifiers()
        if mods & (Qt.ControlModifier | Qt.ShiftModifier):
            # Ctrl toggles the element in the selection, Shift adds it (as in a file manager)
            if hit in self.selection:
                sel = self.selection if mods & Qt.ShiftModifier and not (
                    mods & Qt.ControlModifier) else [i for i in self.selection if i != hit]
            else:
                sel = [*self.selection, hit]
            self.set_selection(sel)
            return True
        if hit not in self.selection:
            self.set_selection([hit])
        start = self.floor_point(pos.x(), pos.y())
        self._drag = {"kind": "move", "start": start, "primary": hit, "id": next(self._drag_ids),
                      "orig": {i: self.project.element(i).position for i in self.selection}}
        return True

    def move(self, ev) -> bool:
        r = self._right
        if r is not None and ev.buttons() & Qt.RightButton:
            pos = ev.position().toPoint()
            if not r["orbit"] and ((pos - r["origin"]).manhattanLength()
                                   >= QApplication.startDragDistance()):
                r["orbit"] = True
            if r["orbit"]:
                self.orbit(pos.x() - r["last"].x(), pos.y() - r["last"].y())
                r["last"] = pos
            return True
        d = self._drag
        if self.mode in self.tools:
            self.tools[self.mode].hover(ev.position().x(), ev.position().y())
        if d is None:
            return False
        pos = ev.position().toPoint()
        if d["kind"] == "band":
            self._rubber.setGeometry(QRect(d["origin"], pos).normalized())
        elif d["kind"] == "link":
            p = self.floor_point(pos.x(), pos.y())
            a = self.adapters.get(d["from"])
            if p is not None and a is not None:
                self._link_src.SetPoint1(*a.center, 0.35)
                self._link_src.SetPoint2(*p, 0.35)
                self.link_actor.VisibilityOn()
                self.request_render()
        elif d["kind"] == "move":
            self._drag_to(d, pos)
        return True

    def _drag_to(self, d, pos):
        p = self.floor_point(pos.x(), pos.y())
        if p is None or d["start"] is None:
            return
        ox, oy, _ = d["orig"][d["primary"]]
        nx = self.snapped(ox + p[0] - d["start"][0])
        ny = self.snapped(oy + p[1] - d["start"][1])
        dx, dy = nx - ox, ny - oy
        moves = {i: (o, (o[0] + dx, o[1] + dy, o[2])) for i, o in d["orig"].items()
                 if i in self.project}
        if all(self.project.element(i).position == new for i, (_, new) in moves.items()):
            return
        self.stack.push(cmd.MoveElements(moves, drag_id=("drag", d["id"])))

    def release(self, ev) -> bool:
        if ev.button() == Qt.RightButton:
            r, self._right = self._right, None
            if r is not None and not r["orbit"]:
                p = r["origin"]
                self.context_menu_requested.emit(self.element_at(p.x(), p.y()), p)
            return True
        if ev.button() != Qt.LeftButton:
            return False
        d, self._drag = self._drag, None
        if d is None:
            return self.mode != "select"
        pos = ev.position().toPoint()
        if d["kind"] == "band":
            self._rubber.hide()
            rect = QRect(d["origin"], pos).normalized()
            picked = []
            if rect.width() > 3 or rect.height() > 3:
                for eid, a in self.adapters.items():
                    if rect.contains(self.widget_point(*a.center)):
                        picked.append(eid)
            self.set_selection(([*self.selection] if d["add"] else []) + [
                i for i in picked if not (d["add"] and i in self.selection)])
        elif d["kind"] == "link":
            target = self.element_at(pos.x(), pos.y())
            if target == d["from"] and not d.get("sticky"):
                # a click, not a drag: the link waits for the next click, as after "Connect
                # from here" (click the source, then the target, as in Plant Simulation)
                self._drag = {**d, "sticky": True}
                self.hint.emit(f"connecting from {d['from']}: click the element the parts go "
                               "to next (Esc leaves)")
                return True
            if target == d["from"]:  # the second click on the element it starts from
                self._drag = d  # still waiting for the target
                self.hint.emit(f"{target} cannot feed itself: pick another element for the "
                               "parts to go to (Esc leaves)")
                return True
            self.link_actor.VisibilityOff()
            self.request_render()
            self._connect(d["from"], target)
        elif d["kind"] == "move":
            self._drag_to(d, pos)
        return True

    def _connect(self, source: str, target: str | None) -> None:
        self.link_actor.VisibilityOff()
        self.request_render()
        if target is not None and target != source:
            try:
                self.stack.push(cmd.Connect(source, target))
            except (KeyError, ValueError) as e:
                self.message.emit(str(e.args[0] if e.args else e))

    # --- selection and colours ------------------------------------------------------------------
    def set_selection(self, ids: list[str]) -> None:
        ids = [i for i in dict.fromkeys(ids) if i in self.adapters]
        if ids == self.selection:
            return
        self.selection = ids
        for eid, a in self.adapters.items():
            a.set_selected(eid in ids)
        self._on_layout()
        self.selection_changed.emit(list(ids))

    def set_tints(self, colors: dict[str, tuple[float, float, float]] | None) -> None:
        """Colour elements (by state or utilisation); ``None`` restores their own colours."""
        for eid, a in self.adapters.items():
            a.set_tint(None if colors is None else colors.get(eid))
        self.request_render()

    def set_fills(self, fills: dict[str, float] | None) -> None:
        for eid, a in self.adapters.items():
            a.set_fill(None if fills is None else fills.get(eid))
        self.request_render()

    # --- camera ---------------------------------------------------------------------------------
    def camera_preset(self, name: str) -> None:
        if name not in CAMERA_PRESETS:
            raise ValueError(f"unknown camera preset {name!r}; expected one of {CAMERA_PRESETS}")
        cam = self.renderer.GetActiveCamera()
        cam.SetFocalPoint(0, 0, 0)
        if name == "top":
            cam.SetPosition(0, 0, 10)
            cam.SetViewUp(0, 1, 0)
        elif name == "front":
            cam.SetPosition(0, -10, 1.5)
            cam.SetViewUp(0, 0, 1)
        else:
            cam.SetPosition(7, -10, 8)
            cam.SetViewUp(0, 0, 1)
        self.fit_view()

    def orbit(self, dx: float, dy: float) -> None:
        """Turn the camera about its focal point for a mouse move of (dx, dy) widget pixels,
        as VTK's trackball camera does (200° across the whole view)."""
        w, h = self.render_window.GetSize()
        r = self.vtk.devicePixelRatioF()
        cam = self.renderer.GetActiveCamera()
        cam.Azimuth(-200.0 * dx * r / max(w, 1))
        cam.Elevation(200.0 * dy * r / max(h, 1))  # Qt's y grows downwards, VTK's upwards
        cam.OrthogonalizeViewUp()
        self.renderer.ResetCameraClippingRange()
        self.request_render()

    def fit_view(self) -> None:
        if self._layout_dirty:
            self._refresh_layout()
        if self.adapters:
            b = np.array([a.bounds() for a in self.adapters.values()])
            self.renderer.ResetCamera(b[:, 0].min() - 1, b[:, 1].max() + 1,
                                      b[:, 2].min() - 1, b[:, 3].max() + 1, 0.0, 2.0)
        else:
            self.renderer.ResetCamera(-5, 5, -5, 5, 0, 2)
        self.request_render()

    # --- pixels and clean-up --------------------------------------------------------------------
    def grab_image(self) -> np.ndarray:
        """The rendered view as RGB uint8, row 0 at the top (``vtkWindowToImageFilter``)."""
        self.render_now()
        f = vtkWindowToImageFilter()
        f.SetInput(self.render_window)
        f.ReadFrontBufferOff()
        f.Update()
        img = f.GetOutput()
        w, h, _ = img.GetDimensions()
        arr = vtk_to_numpy(img.GetPointData().GetScalars()).reshape(h, w, -1)[:, :, :3]
        return arr[::-1].copy()

    def close_view(self) -> None:
        """Stop the render timer, drop the adapters and release the GL context."""
        self._timer.stop()
        for tool in self.tools.values():
            tool.close()
        self._detach()
        for b in self.batches.values():
            b.close()
        self.batches.clear()
        self.labels.close()  # its render observer holds it and the renderer in a cycle
        self.render_window.Finalize()
        self.vtk.close()
