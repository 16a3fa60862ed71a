"""The one-click report of a run: one self-contained HTML page (``twin.sim.report``) with
the workbench's pictures in it, the layout from the 3D view and every chart.

The tables and the reproducibility record are made without Qt (``twin.sim.report``); this
module only adds what needs the window: the layout rendered by VTK
(``View3D.grab_image``, ``vtkWindowToImageFilter``) and the charts (``app.export``).
"""

from __future__ import annotations

from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog

from app.export import ExportError, _png_bytes, chart_png
from twin.sim.report import ReportParts, run_record, software_versions, write_report

CHART_WIDTH = 1100  # px: a page wide, in a browser and printed


def layout_png(view) -> bytes:
    """The 3D view as PNG bytes, as it is on screen (its camera and colours)."""
    img = view.grab_image()
    h, w, _ = img.shape
    return _png_bytes(QImage(img.data, w, h, 3 * w, QImage.Format_RGB888).copy())


def marked_comparison(charts) -> list[list[str]]:
    """The Compare table with `` *`` after each difference significant at 95%."""
    rows = [list(r) for r in charts.comparison]
    n = len(rows[0]) // 2 + 1  # KPI and the scenarios, then the differences
    for row, sig in zip(rows[1:], charts.significant, strict=True):
        for j, s in enumerate(sig):
            if s:
                row[n + j] += " *"
    return rows


def report_parts(window) -> ReportParts:
    """Everything of the last run in ``window`` a report shows besides the summary."""
    d = window.dashboards
    d.finish_drawing()
    result = window.last_result
    titles = [d.tabs.tabText(i) for i in range(d.tabs.count())]
    charts = []
    for plot in d.plots():
        title = plot.getPlotItem().titleLabel.text or titles[0]
        charts.append((title, chart_png(plot, CHART_WIDTH)))
    return ReportParts(
        layout_png=layout_png(window.view), charts=charts,
        comparison=marked_comparison(d.charts),
        settings=run_record(window.project, result.spec, list(result.scenarios)),
        versions=software_versions())


def export_report(window, path) -> None:
    """Write the HTML report of the last run in ``window`` to ``path``."""
    if window.last_result is None:
        raise ExportError("no run to report yet: run the project first (F5)")
    title = f"{window.project.name}: simulation report"
    write_report(path, window.last_summary, report_parts(window), title)


def report_dialog(window) -> str | None:
    """Ask where and write the report; the path written or None (cancelled)."""
    if window.last_result is None:
        raise ExportError("no run to report yet: run the project first (F5)")
    path, _ = QFileDialog.getSaveFileName(window, "Save report", "report.html",
                                          "HTML (*.html)")
    if not path:
        return None
    export_report(window, path)
    window.log(f"report written to {path}")
    return path
