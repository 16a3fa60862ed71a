"""Recovery copies of unsaved work: where they live, removing them, offering them.

The window autosaves an unsaved project to the recovery folder (never over the user's file),
with ``origin.txt`` beside it naming the project's folder (empty for an untitled project).
A copy is offered only to the project it belongs to: when that project's folder opens, and an
untitled project's copy at start-up (no project opened) or at New. The user recovers it, keeps
it for later (asked again next time) or discards it; only Discard deletes it (another
project's unsaved work was deleted when the user said No to a question about the wrong project).
A copy this window wrote is removed once the work is saved or closed: a clean save and exit
leaves none behind.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QMessageBox

from app.startup import after_first_paint

RECOVER, KEEP, DISCARD = "recover", "keep", "discard"


def recovery_dir() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.AppDataLocation)
    return Path(base) / "recovery"


def recovery_files() -> list[Path]:
    """Recovery copies left by a session that ended with unsaved changes, newest first."""
    folder = recovery_dir()
    files = [p for p in folder.glob("*/project.json")] if folder.exists() else []
    return sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)


def origin_of(file: Path) -> str:
    """The project folder the copy ``file`` was autosaved from ("" for an untitled project)."""
    origin = file.parent / "origin.txt"
    try:
        return origin.read_text(encoding="utf-8").strip() if origin.exists() else ""
    except (OSError, UnicodeError):
        return ""


def _same_folder(a: str, b: Path) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except (OSError, RuntimeError):
        return False


def recovery_files_for(path: Path | None) -> list[Path]:
    """The copies of the project in folder ``path`` (None: of untitled projects), newest
    first."""
    if path is None:
        return [f for f in recovery_files() if not origin_of(f)]
    return [f for f in recovery_files() if origin_of(f) and _same_folder(origin_of(f), path)]


def remove_copy(file: Path) -> None:
    """Remove the recovery copy ``file`` with its ``origin.txt`` and their folder."""
    for p in (file, file.parent / "origin.txt"):
        if p.exists():
            p.unlink()
    if file.parent.exists() and not any(file.parent.iterdir()):
        file.parent.rmdir()


def recovery_question(file: Path) -> str:
    """What the user is asked about the recovery copy ``file``: whose changes they are (the
    project's folder, from ``origin.txt``) and when they were autosaved."""
    where = origin_of(file)
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(file.stat().st_mtime)) \
        if file.exists() else "earlier"
    whose = f"to {where}" if where else "to an untitled project"
    return (f"twinbench closed with unsaved changes {whose} (autosaved {when}). Recover them "
            "in this window? Keep for later asks again the next time; only Discard deletes "
            "them.")


def ask_recover(win, file: Path) -> str:
    """Ask the user what to do with ``file``: RECOVER, KEEP or DISCARD (tests replace this)."""
    box = QMessageBox(QMessageBox.Question, "Recover unsaved changes", recovery_question(file),
                      QMessageBox.NoButton, win)
    recover = box.addButton("Recover", QMessageBox.AcceptRole)
    keep = box.addButton("Keep for later", QMessageBox.RejectRole)
    discard = box.addButton("Discard", QMessageBox.DestructiveRole)
    box.setDefaultButton(recover)
    box.setEscapeButton(keep)  # closing the question never deletes anything
    box.exec()
    return {recover: RECOVER, discard: DISCARD}.get(box.clickedButton(), KEEP)


def offer_recovery(win, files: list[Path], ask=ask_recover) -> bool:
    """Offer the copies ``files`` (newest first) one by one until one is recovered into
    ``win``: each kept (the default) or deleted as the user says. True when one was
    recovered."""
    for file in files:
        answer = ask(win, file)
        if answer == RECOVER:
            if win.recover(file):
                return True
        elif answer == DISCARD:
            remove_copy(file)
            win.log(f"deleted the unsaved changes autosaved in {file.parent}")
        else:
            win.log(f"kept the unsaved changes autosaved in {file.parent} for later")
    return False


def when_drawn(win, offer) -> bool:
    """``offer()`` now when ``win`` is on the screen, else once it has painted (False now):
    at start-up the question stood alone on the screen before the window it belongs to was
    drawn (polish2 §5). Asked twice before that (a project opened, then an untitled one's
    copies looked for), it is asked once, for the project open then."""
    if win.isVisible():
        return offer()
    if not getattr(win, "_recovery_waits", False):
        win._recovery_waits = True

        def now() -> None:
            win._recovery_waits = False
            offer()

        after_first_paint(win, now)
    return False
