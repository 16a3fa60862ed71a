"""Screenshots of the results: the statistics table and the HTML report of a run.

    python scripts/shot_results.py [PROJECT] [--out docs/screenshots]

Opens PROJECT (default ``projects/bottling-line``) in the workbench off screen (Qt's
offscreen platform, VTK on OSMesa), runs it with its own settings, and writes
``statistics-table.png`` (the Statistics dock) and ``report.png`` (the report's page,
rendered by Qt's ``QTextDocument``, the top part). Run it after changing the results'
look, and look at both pictures before committing them.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkOSOpenGLRenderWindow")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def render_html(page: str, width: int, height: int):
    """The top ``height`` px of ``page`` laid out ``width`` px wide, as a QImage."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QImage, QPainter

    from app.report import text_document

    doc = text_document(page, width)
    out = QImage(width, height, QImage.Format_RGB32)
    out.fill(0xFFFFFF)
    p = QPainter(out)
    doc.drawContents(p, QRectF(0, 0, width, height))
    p.end()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("project", nargs="?", default=str(ROOT / "projects" / "bottling-line"))
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = ap.parse_args(argv)
    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    app = QApplication(sys.argv[:1])
    app.setOrganizationName("twinbench-screenshots")  # not the user's settings
    from app.main_window import MainWindow
    from app.report import export_report
    from kernels.warmup import warm_up
    from twin.projectfile.reader import load_project

    warm_up()
    w = MainWindow(load_project(args.project), warm_up=False)
    w.testing = True
    w.resize(1500, 950)
    w.show()
    loop = QEventLoop()
    w.run_panel.run_finished.connect(lambda _r: loop.quit())
    w.run_panel.run_failed.connect(lambda msg, _tb: (print(msg), loop.quit()))
    w.run_panel.start_run()
    loop.exec()
    if w.last_result is None:
        return 1
    w.dashboards.finish_drawing()
    w.docks["statistics"].raise_()
    # floating, as tall as its rows: the docked table shares the bottom with the charts
    w.docks["statistics"].setFloating(True)
    w.docks["statistics"].resize(1500, 420)
    w.stats.table.sortByColumn(w.stats.column("utilisation"), Qt.AscendingOrder)
    QTimer.singleShot(200, loop.quit)
    loop.exec()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    w.docks["statistics"].grab().save(str(out / "statistics-table.png"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "report.html"
        export_report(w, path)
        render_html(path.read_text(encoding="utf-8"), 1100, 1600).save(
            str(out / "report.png"))
    print(f"wrote {out / 'statistics-table.png'} and {out / 'report.png'}")
    w.ask_unsaved = lambda: QMessageBox.Discard
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
