"""Recovery copies of unsaved work: where they live, removing them, offering them at start.

The window autosaves an unsaved project to the recovery folder (never over the user's file).
A copy is removed once the work is saved, discarded or declined: a clean save and exit leaves
none behind (no prompt at the next start), and declining a recovery deletes it (issue 14).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMessageBox


def remove_copy(file: Path) -> None:
    """Remove the recovery copy ``file`` with its ``origin.txt`` and their folder."""
    for p in (file, file.parent / "origin.txt"):
        if p.exists():
            p.unlink()
    if file.parent.exists() and not any(file.parent.iterdir()):
        file.parent.rmdir()


def ask_recover(win, file: Path) -> bool:
    """Ask the user whether to recover ``file`` (tests replace this)."""
    answer = QMessageBox.question(
        win, "Recover unsaved changes",
        f"twinbench closed with unsaved changes (autosaved {file.parent.name}). "
        "Recover them? (No deletes them.)", QMessageBox.Yes | QMessageBox.No, QMessageBox.Yes)
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
