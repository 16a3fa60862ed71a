"""Problems of the whole project (an unconnected station, a flow that never reaches a sink)
shown on the element they concern, by id and name, instead of a bare ``$.elements[0]``."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QTreeWidget

from twin.errors import Problems
from twin.model import elements as m
from twin.projectfile.reader import check_structure

_ELEMENT_PATH = re.compile(r"^\$\.elements\[(\d+)\]")
PROBLEM_COLOUR = QColor("#d03030")


def element_problems(project: m.Project) -> dict[str, list[str]]:
    """The reader's structural problems of each element (id -> messages); an element with
    none is absent."""
    problems = Problems()
    check_structure(project, problems)
    out: dict[str, list[str]] = {}
    for p in problems.items:
        mt = _ELEMENT_PATH.match(p.path)
        if not mt or int(mt.group(1)) >= len(project.elements):
            continue
        el = project.elements[int(mt.group(1))]
        rest = p.path[mt.end():].lstrip(".")
        where = f"{el.id} ({el.name})" if el.name else el.id
        out.setdefault(el.id, []).append(f"{where}{'.' + rest if rest else ''}: {p.message}")
    return out


def mark_tree(tree: QTreeWidget, project: m.Project) -> dict[str, list[str]]:
    """Colour the tree items of elements with problems and give them the messages as a
    tooltip; the others get their plain look back. Returns the problems."""
    found = element_problems(project)
    root = tree.invisibleRootItem()
    for i in range(root.childCount()):
        group = root.child(i)
        for j in range(group.childCount()):
            item = group.child(j)
            eid = item.data(0, Qt.UserRole)
            if not eid:
                continue
            msgs = found.get(eid)
            item.setForeground(0, QBrush(PROBLEM_COLOUR) if msgs else QBrush())
            item.setToolTip(0, "\n".join(msgs) if msgs else "")
    return found
