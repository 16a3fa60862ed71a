"""Make docs/screenshots/distribution-editor.png: the inspector's distribution editor on the
bottling line's filler (issue 14 §2).

    python scripts/shot_editors.py [out.png]

Runs headless (Qt's offscreen platform); the picture is Qt's own pixels (``QWidget.grab``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkOSOpenGLRenderWindow")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(out: Path) -> None:
    from PySide6.QtWidgets import QApplication, QMessageBox

    from app.main_window import MainWindow
    from twin.projectfile.reader import load_project

    app = QApplication.instance() or QApplication([])
    app.setOrganizationName("twinbench-shots")  # leave the user's settings alone
    w = MainWindow(load_project(ROOT / "projects" / "bottling-line"), None, warm_up=False)
    w.ask_unsaved = lambda: QMessageBox.Discard
    w.resize(1600, 1000)
    w.show()
    w.view.set_selection(["filler"])
    app.processEvents()
    ins = w.inspector
    ed = ins.editors["process_time"].dist
    ed.fields["high"].edit.setText("2.9s")  # typed with a unit: the field says what it read
    ed.fields["high"]._typed()
    app.processEvents()
    host = ins.form_host
    rows = [host.layout().itemAt(i).widget() for i in range(host.layout().count())]
    bottom = max(r.geometry().bottom() for r in rows
                 if r is not None and r.isVisible() and r.geometry().top() < 520)
    pix = host.grab()
    pix = pix.copy(0, 0, pix.width(), min(pix.height(), bottom + 8))
    out.parent.mkdir(parents=True, exist_ok=True)
    pix.save(str(out))
    print(f"{out}: {pix.width()} x {pix.height()}")
    w.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else
         ROOT / "docs" / "screenshots" / "distribution-editor.png")
