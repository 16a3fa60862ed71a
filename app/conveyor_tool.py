"""The conveyor tool of the 3D view: click the start, click the end (issue 14, §8).

An end clicked on an element (not a conveyor) connects the new conveyor to it: clicked on
two elements, the conveyor runs from the first to the second and its length follows them
when they move (``length`` unset, as the project format says). An end clicked on the empty
floor is a point there (on the grid when snapping is on); the conveyor is drawn between the
two points, and its length is the distance drawn. While the end is open, a line and its
length follow the mouse (the measure tool's overlay). Each conveyor is one undo step; the
tool stays on for the next one until Esc.
"""

from __future__ import annotations

import math

from PySide6.QtGui import QAction

from app.measure import MeasureTool
from app.palette import STEMS, new_element
from twin.model import commands as cmd

COLOR = (0.95, 0.55, 0.05)
MIN_LENGTH_M = 0.2


class ConveyorTool(MeasureTool):
    """Draws conveyors on ``view`` (a ``View3D``) in its ``conveyor`` mode."""

    def _point_at(self, x: float, y: float):
        v = self.view
        eid = v.element_at(x, y)
        if eid is not None and v.project.element(eid).kind != "conveyor":
            return tuple(v.adapters[eid].center), eid
        p = v.floor_point(x, y)
        return None if p is None else ((v.snapped(p[0]), v.snapped(p[1])), None)

    def click(self, x: float, y: float) -> str | None:
        """Fix the start, or the end and make the conveyor: its id, or None."""
        hit = self._point_at(x, y)
        if hit is None:
            return None
        if self.start is None:
            self.start = hit
            self._draw(hit[0], hit[0])
            return None
        start = self.start
        self.clear()
        return self.make(start, hit)

    def make(self, start, end) -> str | None:
        """The conveyor from ``start`` to ``end`` (each ``((x, y), element id or None)``)."""
        v = self.view
        (a, ea), (b, eb) = start, end
        d = math.hypot(b[0] - a[0], b[1] - a[1])
        if d < MIN_LENGTH_M or (ea is not None and ea == eb):
            v.message.emit(f"a conveyor needs two ends at least {MIN_LENGTH_M} m apart: "
                           "click its start, then its end elsewhere")
            return None
        eid = v.project.unique_id(STEMS["conveyor"])
        el = new_element("conveyor", eid, ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2, 0.0))
        el.rotation = math.degrees(math.atan2(b[1] - a[1], b[0] - a[0])) % 360.0
        el.footprint = (round(d, 6), el.footprint[1])
        if ea is None or eb is None:  # drawn on the floor: as long as drawn
            el.length = round(d, 6)
        commands: list[cmd.Command] = [cmd.AddElement(el)]
        if ea is not None:
            commands.append(cmd.Connect(ea, eid))
        if eb is not None:
            commands.append(cmd.Connect(eid, eb))
        try:
            v.stack.push(cmd.Macro(commands, f"draw conveyor {cmd.named(eid)}"))
        except (KeyError, ValueError) as e:
            v.message.emit(f"cannot draw the conveyor: {e.args[0] if e.args else e}")
            return None
        v.set_selection([eid])
        return eid

    def _make_actors(self) -> None:
        super()._make_actors()
        for actor in (self.line, self.ends):
            actor.GetProperty().SetColor(*COLOR)


def make_action(win, menu, before: QAction | None = None) -> QAction:
    """View > Draw conveyor (put before ``before``), checked while the view is in its
    conveyor mode."""
    a = QAction("Draw con&veyor", win)
    a.setShortcut("Shift+C")
    tip = ("Click where a conveyor starts (an element or the floor), then where it ends "
           "(Esc leaves)")
    a.setToolTip(tip)
    a.setStatusTip(tip)
    a.setCheckable(True)
    view = win.view

    def toggled(on: bool) -> None:
        view.mode = "conveyor" if on else "select"
        if on:
            win.statusBar().showMessage("Draw conveyor: " + tip[0].lower() + tip[1:])

    a.triggered.connect(toggled)
    view.mode_changed.connect(lambda mode: a.setChecked(mode == "conveyor"))
    menu.insertAction(before, a)
    return a
