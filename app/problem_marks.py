"""Faults of the flow marked on the elements: a warning icon, colour and tool tip in the
project tree, an orange box in the 3D view with the same tool tip (shown by
``app.stats_table.HoverTips``), and a line in the log.

A layout opened for editing may be half built (a loose end, no source, an element deleted
from the middle): it opens, and these marks say what stops it from running. The twin says
what the faults are (``twin.projectfile.reader.structure_problems``); the marks only show
them, and follow the layout after every command of the undo stack.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QBrush, QColor, QIcon
from PySide6.QtWidgets import QStyle, QTreeWidget

from app.batch import OutlineBatch
from twin.model import elements as m
from twin.projectfile.reader import problem_element, structure_problems

WARN = (0.95, 0.55, 0.05)  # orange: apart from the blue selection and red overlap
WARN_TEXT = QColor(200, 100, 0)


class ProblemMarks(QObject):
    """Marks the faults of ``view.project``'s flow on the elements of ``tree`` and ``view``.

    ``by_element`` maps element ids to their problems' messages; ``line`` holds those of the
    whole line (no source, a scenario naming a deleted element). ``log`` receives a line per
    fault that was not there before.
    """

    def __init__(self, view, tree: QTreeWidget, log, parent=None):
        super().__init__(parent)
        self.view, self.tree, self.log = view, tree, log
        self.by_element: dict[str, list[str]] = {}
        self.line: list[str] = []
        self._shown: set[str] = set()
        self._project: m.Project | None = None  # whose faults _shown holds
        self.boxes = OutlineBatch(view.renderer, WARN, width=4.0)

    def update(self, *_) -> None:
        """Find the faults of the project as it is now and mark them."""
        project: m.Project = self.view.project
        if project is not self._project:  # opened or new: the last project's faults were
            # not mended, they went with it ("every fault is mended" at open, F)
            self._project, self._shown = project, set()
        self.by_element, self.line = {}, []
        messages = []
        for p in structure_problems(project):
            el = problem_element(project, p)
            if el is None:
                self.line.append(p.message)
            else:
                self.by_element.setdefault(el.id, []).append(p.message)
            messages.append(p.message)
        # each fault once, when it appears; an empty project (the window's first, File > New)
        # is obviously not a line yet: its faults are in the tree's tool tip only
        for text in messages if project.elements else ():
            if text not in self._shown:
                self.log(f"cannot run yet: {text}")
        gone = self._shown - set(messages)
        status = self.parent().statusBar() if hasattr(self.parent(), "statusBar") else None
        if gone and status is not None and any(t in status.currentMessage() for t in gone):
            # an undo-all to an empty project left "cannot run yet: station 'M1' ..." about
            # an element no longer there (gui17 §3)
            status.clearMessage()
        if self._shown and not messages:
            self.log("the layout can run: every fault of the flow is mended")
        self._shown = set(messages)
        self.mark_tree()
        self.boxes.set_boxes([a.box() for eid, a in self.view.adapters.items()
                              if eid in self.by_element])
        self.view.request_render()

    def mark_tree(self) -> None:
        """Icon, colour and tool tip on the tree's element items (the tree is rebuilt when
        elements come and go: the window calls this after it)."""
        icon = self.tree.style().standardIcon(QStyle.SP_MessageBoxWarning)
        root = self.tree.topLevelItem(0)
        for i in range(root.childCount() if root is not None else 0):
            item = root.child(i)
            found = self.by_element.get(item.data(0, Qt.UserRole))
            if found:
                item.setIcon(0, icon)
                item.setForeground(0, QBrush(WARN_TEXT))
                item.setToolTip(0, "\n".join(found))
            else:
                item.setIcon(0, QIcon())
                item.setForeground(0, QBrush())
                item.setToolTip(0, "")
        if root is not None:
            root.setToolTip(0, "\n".join(self.line))

    def tooltip(self, element_id: str | None) -> str:
        """What the 3D view's tool tip says of ``element_id``'s faults (``HoverTips``)."""
        return "\n".join(self.by_element.get(element_id, [])) if element_id else ""

    def close(self) -> None:
        self.boxes.close()
