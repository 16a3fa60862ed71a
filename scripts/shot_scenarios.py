"""Screenshot of the Scenarios dock for docs/screenshots/scenario-editor.png (issue 14, §3).

Opens the bottling line headless, chooses a scenario and the filler, adds an override and
grabs the dock. Run from the repository root::

    python scripts/shot_scenarios.py [out.png]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's app and twin, not an installed copy
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkOSOpenGLRenderWindow")

from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402

from app.main_window import MainWindow  # noqa: E402
from twin.projectfile.reader import load_project  # noqa: E402


def main(out: str) -> None:
    app = QApplication.instance() or QApplication([])
    app.setOrganizationName("twinbench-shot")  # not the user's settings
    w = MainWindow(load_project(ROOT / "projects" / "bottling-line"), warm_up=False)
    w.testing = True
    w.resize(1400, 900)
    w.show()
    dock, panel = w.docks["scenarios"], w.scenario_panel
    dock.setFloating(True)
    dock.resize(560, 820)
    dock.show()
    panel.select("filler-mttr-halved")
    panel.element_combo.setCurrentIndex(panel.element_combo.findData("filler"))
    panel.field_combo.setCurrentText("servers")
    panel.value_edit.setText("2")
    panel.set_button.click()
    panel.field_combo.setCurrentText("scrap")
    panel.value_edit.setText("-0.1")  # refused: shows the reader's message under the editor
    panel.set_button.click()
    app.processEvents()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    dock.grab().save(out)
    w.ask_unsaved = lambda: QMessageBox.Discard
    w.close()
    print(out)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "docs/screenshots/scenario-editor.png"))
