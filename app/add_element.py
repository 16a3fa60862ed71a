"""*Edit > Add element*: the palette's kinds without a mouse (newfix4 §3).

Dragging from the palette was the only way to add an element, so a keyboard-only user could
not build a line. Each kind is a menu entry with a mnemonic (Alt+E, A, then the underlined
letter), and Insert opens the same menu over the 3D view. The new element goes to a free
spot beside the selection (else right of the layout), snapped to the view's grid, as one
undoable command; it is selected and the Inspector's first field takes the focus, so it can
be named and edited at once.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QMenu

from app.palette import KIND_HELP, KINDS, STEMS, new_element
from twin.model import commands as cmd
from twin.model import elements as m

#: the entries' texts, each with its own mnemonic letter
LABELS = {"source": "&Source", "station": "S&tation", "assembly": "&Assembly",
          "oven": "&Oven", "unbatch": "&Unbatch", "buffer": "&Buffer",
          "conveyor": "&Conveyor", "sink": "S&ink"}
GAP_M = 1.0  # clear floor kept between the new element and its neighbours


def _box(el: m.Element) -> tuple[float, float, float, float]:
    """``el``'s footprint on the floor, (x0, y0, x1, y1), as if turned by 90° at worst."""
    half = max(el.footprint) / 2.0
    x, y = el.position[0], el.position[1]
    return x - half, y - half, x + half, y + half


def free_spot(project: m.Project, size: tuple[float, float], near: tuple[float, float] | None,
              snap: float) -> tuple[float, float]:
    """A floor point where a footprint of ``size`` (m) overlaps no element with
    :data:`GAP_M` to spare: the nearest to ``near`` along +x, then rows either side.

    Without ``near`` the search starts right of the layout, at its middle row (the origin in
    an empty project)."""
    boxes = [_box(el) for el in project.elements]
    half = max(size) / 2.0
    if near is None:
        if not boxes:
            return 0.0, 0.0
        near = (max(b[2] for b in boxes) + GAP_M + half,
                (min(b[1] for b in boxes) + max(b[3] for b in boxes)) / 2.0)
    step = max(snap, 0.5)

    def snapped(v: float) -> float:
        return round(v / snap) * snap if snap > 0 else v

    def free(x: float, y: float) -> bool:
        return all(x + half + GAP_M <= b[0] or x - half - GAP_M >= b[2]
                   or y + half + GAP_M <= b[1] or y - half - GAP_M >= b[3] for b in boxes)

    row = 2 * half + GAP_M
    for ring in range(0, 40):  # rows at 0, +1, -1, +2, ... footprints from near's
        dy = (ring + 1) // 2 * (1 if ring % 2 else -1) * row
        for k in range(200):
            x, y = snapped(near[0] + k * step), snapped(near[1] + dy)
            if free(x, y):
                return x, y
    far = max((b[2] for b in boxes), default=0.0) + GAP_M + half
    return snapped(far), snapped(near[1])


def add_element(win, kind: str) -> str:
    """Add a ``kind`` element to ``win``'s project at a free spot, select it and put the
    focus in the Inspector; returns its id."""
    project, view = win.project, win.view
    eid = project.unique_id(STEMS[kind])
    probe = new_element(kind, eid, (0.0, 0.0, 0.0))
    near = None
    chosen = [project.element(i) for i in view.selection if i in project]
    if chosen:
        x0, y0, x1, y1 = _box(chosen[-1])
        near = (x1 + GAP_M + max(probe.footprint) / 2.0, (y0 + y1) / 2.0)
    x, y = free_spot(project, probe.footprint, near, view.snap)
    el = new_element(kind, eid, (x, y, 0.0))
    win.stack.push(cmd.AddElement(el))
    view.set_selection([eid])
    win.docks["inspector"].raise_()
    editors = getattr(win.inspector, "editors", {})
    if "name" in editors:
        win.inspector.edit_text("name").selectAll()
    win.statusBar().showMessage(f"added {eid} at ({x:g}, {y:g}) m: edit it in the Inspector, "
                                "its position field moves it", 8000)
    return eid


def make_menu(win, edit_menu: QMenu) -> QMenu:
    """*Edit > Add element* with one entry per palette kind, and Insert to open it over the
    3D view."""
    menu = edit_menu.addMenu("&Add element")
    menu.setToolTipsVisible(True)
    win.add_actions = {}
    for kind in KINDS:
        win.add_actions[kind] = win._action(
            menu, LABELS[kind], lambda _=False, k=kind: add_element(win, k), None,
            KIND_HELP[kind] + " (placed at a free spot beside the selection)")

    # a menu of its own for Insert, with the same actions: Edit's submenu popped up on its
    # own, away from Edit, crashed the process when the window closed with it open
    win.add_popup = QMenu(win)
    win.add_popup.addActions(menu.actions())

    def pop_up() -> None:
        at = win.view.mapToGlobal(QPoint(win.view.width() // 2, win.view.height() // 2))
        win.add_popup.popup(at)

    win.act_add_element = win._action(win, "Add element…", pop_up, "Ins",
                                      "Choose an element kind to add (each has its letter)")
    return menu
