"""The 3D view's context menu (a right click without a drag).

On an element it offers what can be done with it, the window's own edit actions among them
(so every edit goes through the undo stack, with the same shortcuts shown as in the Edit
menu); on the floor it adds an element of a palette kind where the click was. The menu is
shown with ``popup`` (never ``exec``): it does not block the event loop, and tests find it as
``MainWindow.context_menu``.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QMenu

from app.clipboard import paste_at_pixel
from twin.model import elements as m


def view_menu(win, element_id: str | None, pos: QPoint) -> QMenu:
    """The menu for a right click at widget point ``pos`` of ``win.view`` (a ``MainWindow``),
    on ``element_id`` or, when None, on the floor."""
    view = win.view
    menu = QMenu(win)
    menu.setAttribute(Qt.WA_DeleteOnClose)
    if element_id is not None and element_id in win.project:
        # as in a file manager: a click on the selection acts on all of it, elsewhere on
        # the element clicked alone
        if element_id not in view.selection:
            view.set_selection([element_id])
        el = win.project.element(element_id)
        title = menu.addAction(f"{el.id} ({el.kind})" if len(view.selection) == 1
                               else f"{len(view.selection)} elements")
        title.setEnabled(False)
        menu.addSeparator()
        menu.addAction("&Inspect", lambda: win.inspect(element_id)).setToolTip(
            "Show its parameters in the Inspector")
        menu.addAction(win.act_cut)
        menu.addAction(win.act_copy)
        menu.addAction(win.act_duplicate)
        menu.addAction(win.act_rotate)
        menu.addAction("&Connect from here", lambda: view.start_link(element_id)).setToolTip(
            "Click the element the parts go to next (Esc leaves)")
        menu.addSeparator()
        menu.addAction(win.act_delete)
        return menu
    floor = view.floor_point(pos.x(), pos.y())
    add = menu.addMenu("&Add element here")
    add.setEnabled(floor is not None)  # above the horizon there is no floor to put it on
    for kind in m.ELEMENT_TYPES:
        add.addAction(kind.capitalize(), lambda k=kind: view.create_at(k, pos.x(), pos.y()))
    paste = menu.addAction("&Paste here", lambda: paste_at_pixel(win, pos.x(), pos.y()))
    paste.setToolTip("The elements on the clipboard, centred where you clicked")
    paste.setEnabled(floor is not None)
    menu.addAction(win.act_fit)
    return menu
