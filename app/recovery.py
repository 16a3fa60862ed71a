"""Recovery copies of unsaved work: where they live, removing them, offering them at start.

The window autosaves an unsaved project to the recovery folder (never over the user's file).
A copy is removed once the work is saved, discarded or declined: a clean save and exit leaves
none behind (no prompt at the next start), and declining a recovery deletes it (issue 14).
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtWidgets import QMessageBox


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
    origin = file.parent / "origin.txt"
    try:
        where = origin.read_text(encoding="utf-8").strip() if origin.exists() else ""
    except (OSError, UnicodeError):
        where = ""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(file.stat().st_mtime)) \
        if file.exists() else "earlier"
    whose = f"to {where}" if where else "to an untitled project"
    return (f"twinbench closed with unsaved changes {whose} (autosaved {when}). Recover them "
            "in this window instead of the project it opened? (No deletes them.)")


def ask_recover(win, file: Path) -> bool:
    """Ask the user whether to recover ``file`` (tests replace this)."""
    answer = QMessageBox.question(win, "Recover unsaved changes", recovery_question(file),
                                  QMessageBox.Yes | QMessageBox.No, QMessageBox.Yes)
    return answer == QMessageBox.Yes


def offer_recovery(win, files: list[Path], ask=ask_recover) -> bool:
    """Offer the newest recovery copy in ``files``: recovered into ``win`` on yes, deleted on
    no. True when it was recovered."""
    if not files:
        return False
    file = files[0]
    if ask(win, file):
        return win.recover(file)
    remove_copy(file)
    win.log(f"deleted the unsaved changes autosaved in {file.parent}")
    return False
