"""One selection, shown in two places: the 3D view and the Project tree (issue 14, §8).

The view owns the selection (``View3D.selection``); the tree mirrors it and, when the user
Ctrl- or Shift-clicks in it, sets it. Either way the other follows, and every edit of the
Edit menu (delete, duplicate, move, copy) acts on the same elements. ``IdentityTips`` is the
hover tooltip's line that names an element by its id (the labels show names).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QAbstractItemView, QTreeWidgetItemIterator


def step_history(win, which: str) -> None:
    """Undo or redo one step of ``win``'s current undo stack (``which``: "undo" or "redo").
    The elements the step brings back (a deleted element restored, an addition redone)
    become the selection, so the next key (Delete, Ctrl+D, an arrow) acts on them."""
    before = {el.id for el in win.project.elements}
    getattr(win.stack, which)()
    back = [el.id for el in win.project.elements if el.id not in before]
    if back:
        win.view.set_selection(back)


class TreeSelection(QObject):
    """Keep ``win.tree``'s selected element items and ``win.view.selection`` the same."""

    def __init__(self, win):
        super().__init__(win)
        self.win = win
        self._busy = False
        win.tree.setSelectionMode(QAbstractItemView.ExtendedSelection)
        win.tree.itemSelectionChanged.connect(self._from_tree)
        win.view.selection_changed.connect(self.to_tree)

    def _element_items(self):
        it = QTreeWidgetItemIterator(self.win.tree)
        while it.value() is not None:
            item = it.value()
            if item.data(0, Qt.UserRole):
                yield item
            it += 1

    def _from_tree(self) -> None:
        if self._busy:
            return
        chosen = {i.data(0, Qt.UserRole) for i in self.win.tree.selectedItems()}
        chosen.discard(None)
        if not chosen and self.win.tree.selectedItems():
            return  # a heading ("Scenarios", a run): the elements stay selected
        # those selected already keep their order (the first is the inspected one)
        view = self.win.view
        ids = [i for i in view.selection if i in chosen]
        ids += [i.data(0, Qt.UserRole) for i in self._element_items()
                if i.data(0, Qt.UserRole) in chosen and i.data(0, Qt.UserRole) not in ids]
        self._busy = True
        try:
            view.set_selection(ids)
        finally:
            self._busy = False

    def to_tree(self, ids=None) -> None:
        """Select the tree items of ``ids`` (default: the view's selection) and no others;
        the window calls it after rebuilding the tree."""
        ids = set(self.win.view.selection if ids is None else ids)
        self._busy = True
        try:
            last = None
            for item in self._element_items():
                on = item.data(0, Qt.UserRole) in ids
                if item.isSelected() != on:  # setSelected costs even when nothing changes
                    item.setSelected(on)
                last = item if on else last
            if last is not None:
                self.win.tree.scrollToItem(last)
        finally:
            self._busy = False

    def tree_ids(self) -> list[str]:
        """The element ids selected in the tree, in tree order."""
        return [i.data(0, Qt.UserRole) for i in self._element_items() if i.isSelected()]


class IdentityTips:
    """A hover tooltip source (``app.stats_table.HoverTips``): the element's name, id and
    kind, since its label shows only its name."""

    def __init__(self, win):
        self.win = win

    def tooltip(self, element_id: str) -> str:
        project = self.win.project
        if element_id not in project:
            return ""
        el = project.element(element_id)
        ident = f"id {el.id} ({el.kind})"
        return f"{el.name}\n{ident}" if el.name and el.name != el.id else ident
