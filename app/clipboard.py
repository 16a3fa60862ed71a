"""Copy, cut and paste elements through the system clipboard (issue 14, §8).

What is copied is the selection with the connections among it, in the project file's own
JSON form (``element_to_json``), under a MIME type of our own and as plain text: another
twinbench window, of another project or another process, pastes it; a text editor shows
it. Paste reads it back through the project reader (``element_from_json``, so a hand-edited
clipboard is checked like a file), gives each element an id the project does not use yet,
and adds everything as one undoable command.
"""

from __future__ import annotations

import json

from PySide6.QtCore import QMimeData
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence

from twin import limits
from twin.errors import InputError
from twin.model import commands as cmd
from twin.model import elements as m
from twin.projectfile.reader import SCHEMA_VERSION, element_from_json, element_to_json

MIME_ELEMENTS = "application/x-twinbench-elements+json"
FORMAT = "twinbench-elements"
MAX_CLIPBOARD_CHARS = 50_000_000  # text beyond this is not a twinbench copy


class ClipboardError(InputError):
    """The clipboard holds nothing twinbench can paste (or something broken)."""


def selection_json(project: m.Project, ids) -> dict:
    """The elements ``ids`` and the connections among them, as the clipboard carries them."""
    ids = [i for i in dict.fromkeys(ids) if i in project]
    chosen = set(ids)
    return {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "project": project.name,
        "elements": [element_to_json(project.element(i)) for i in ids],
        "connections": [{"source": c.source, "target": c.target, "weight": c.weight}
                        for c in project.connections
                        if c.source in chosen and c.target in chosen],
    }


def copy_elements(project: m.Project, ids) -> int:
    """Put the elements ``ids`` on the system clipboard; the number copied."""
    doc = selection_json(project, ids)
    if not doc["elements"]:
        return 0
    text = json.dumps(doc, indent=1)
    mime = QMimeData()
    mime.setData(MIME_ELEMENTS, text.encode("utf-8"))
    mime.setText(text)
    QGuiApplication.clipboard().setMimeData(mime)
    return len(doc["elements"])


def clipboard_doc() -> dict:
    """The twinbench copy on the system clipboard, or ``ClipboardError`` saying why not."""
    mime = QGuiApplication.clipboard().mimeData()
    if mime is not None and mime.hasFormat(MIME_ELEMENTS):
        text = bytes(mime.data(MIME_ELEMENTS)).decode("utf-8", "replace")
    elif mime is not None and mime.hasText():
        text = mime.text()
    else:
        text = ""
    return parse_clipboard(text)


def parse_clipboard(text: str) -> dict:
    """Check the clipboard ``text`` is a twinbench copy (``selection_json``) and return it."""
    nothing = ("the clipboard holds no twinbench elements: select elements in a twinbench "
               "window and copy them (Ctrl+C) first")
    if not text.strip() or len(text) > MAX_CLIPBOARD_CHARS:
        raise ClipboardError(nothing)
    try:
        doc = json.loads(text)
    except ValueError:
        raise ClipboardError(nothing) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ClipboardError(nothing)
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise ClipboardError(
            f"the clipboard's elements were copied by a twinbench with project schema "
            f"{doc.get('schema_version')!r}, this one reads {SCHEMA_VERSION}: copy them again "
            "with this version, or save them in a project and open that")
    els, conns = doc.get("elements"), doc.get("connections", [])
    if not isinstance(els, list) or not els or not isinstance(conns, list) or not all(
            isinstance(e, dict) for e in els):
        raise ClipboardError("the clipboard's twinbench copy has no list of elements: "
                             "copy the elements again")
    if len(els) > limits.MAX_ELEMENTS:
        raise ClipboardError(f"the clipboard holds {len(els)} elements, more than a project "
                             f"may have ({limits.MAX_ELEMENTS})")
    return doc


def _fresh_id(old: str, taken: set[str]) -> str:
    """``old`` if free, else its stem with the next free number (``M1`` -> ``M3``)."""
    if old not in taken:
        return old
    stem = old.rstrip("0123456789") or old
    i = 1
    while f"{stem}{i}" in taken:
        i += 1
    return f"{stem}{i}"


class Paste(cmd.Macro):
    """Add the elements and connections of a clipboard ``doc`` to ``project`` as one undo
    step. ``new_ids`` maps each copied id to the id it has here.

    ``at`` (x, y m) puts the centre of the pasted elements there (a paste on the floor at the
    mouse); without it they keep their positions, moved 1 m aside when their originals are in
    this project (a paste beside the copy). ``snap`` rounds the shift to that grid (m).
    """

    def __init__(self, project: m.Project, doc: dict, at: tuple[float, float] | None = None,
                 snap: float = 0.0):
        taken = {el.id for el in project.elements}
        self.new_ids: dict[str, str] = {}
        read: list[m.Element] = []
        for k, obj in enumerate(doc["elements"]):
            old = str(obj.get("id", ""))
            if old in self.new_ids:
                raise ClipboardError(f"the clipboard holds element {old!r} twice: copy again")
            nid = _fresh_id(old, taken)
            taken.add(nid)
            self.new_ids[old] = nid
            try:
                read.append(element_from_json({**obj, "id": nid}, f"$.elements[{k}]"))
            except InputError as e:  # a hand-edited clipboard: the reader's reason
                raise ClipboardError(f"cannot paste the clipboard's elements: {e}") from None
        xs = [el.position[0] for el in read]
        ys = [el.position[1] for el in read]
        if at is not None:
            dx, dy = at[0] - (min(xs) + max(xs)) / 2, at[1] - (min(ys) + max(ys)) / 2
        elif any(old in project for old in self.new_ids):
            dx, dy = 1.0, 1.0
        else:
            dx, dy = 0.0, 0.0
        if snap > 0:
            dx, dy = round(dx / snap) * snap, round(dy / snap) * snap
        commands: list[cmd.Command] = []
        for el in read:
            x, y, z = el.position
            el.position = (x + dx, y + dy, z)
            commands.append(cmd.AddElement(el))
        for c in doc.get("connections", []):
            try:
                s, t, w = self.new_ids[c["source"]], self.new_ids[c["target"]], float(
                    c.get("weight", 1.0))
            except (KeyError, TypeError, ValueError):
                raise ClipboardError(f"the clipboard's connection {c!r} joins elements it "
                                     "does not hold: copy again") from None
            commands.append(cmd.Connect(s, t, w))
        n = len(read)
        super().__init__(commands, f"paste {read[0].id}" if n == 1 else f"paste {n} elements")


def copy_selection(win) -> int:
    """Edit > Copy: the window's selection to the clipboard."""
    n = copy_elements(win.project, win.view.selection)
    win.statusBar().showMessage(
        f"copied {n} element{'s' * (n != 1)}" if n else "select elements to copy first", 3000)
    return n


def cut_selection(win) -> int:
    """Edit > Cut: copy the selection, then delete it (one undo step)."""
    n = copy_selection(win)
    if n:
        win.delete_selection()
    return n


def paste(win, at: tuple[float, float] | None = None) -> list[str]:
    """Edit > Paste into the window's project (at floor point ``at``, if given); the new ids,
    selected. What cannot be pasted is said in the status bar and the log."""
    try:
        command = Paste(win.project, clipboard_doc(), at, win.view.snap)
        win.stack.push(command)
    except (InputError, KeyError, ValueError) as e:  # Connect refuses a sink's outflow
        win.log(f"cannot paste: {e.args[0] if e.args else e}")
        return []
    ids = list(command.new_ids.values())
    win.view.set_selection(ids)
    win.statusBar().showMessage(f"pasted {len(ids)} element{'s' * (len(ids) != 1)}", 3000)
    return ids


def paste_at_pixel(win, x: int, y: int) -> list[str]:
    """The floor context menu's Paste: centred on the floor under widget pixel (x, y)."""
    p = win.view.floor_point(x, y)
    return paste(win, p)


def make_actions(win, menu, before: QAction | None = None) -> tuple[QAction, QAction, QAction]:
    """Edit > Cut, Copy and Paste (Ctrl+X, C, V) of ``win``, put in ``menu`` before
    ``before``; the context menu shows the same actions."""
    made = []
    for text, key, slot, tip in (
            ("Cu&t", QKeySequence.Cut, cut_selection,
             "Copy the selected elements to the clipboard and delete them"),
            ("&Copy", QKeySequence.Copy, copy_selection,
             "Copy the selected elements and the connections among them to the clipboard"),
            ("&Paste", QKeySequence.Paste, paste,
             "Add the elements on the clipboard (from this or another project) with new ids")):
        a = QAction(text, win)
        a.setShortcut(QKeySequence(key))
        a.setToolTip(tip)
        a.setStatusTip(tip)
        a.triggered.connect(lambda _=False, f=slot: f(win))
        menu.insertAction(before, a)
        made.append(a)
    menu.insertSeparator(before)
    return tuple(made)
