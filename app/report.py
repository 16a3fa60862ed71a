"""The one-click report of a run: one self-contained HTML page (``twin.sim.report``) with
the workbench's pictures in it, the layout from the 3D view and every chart.

The tables and the reproducibility record are made without Qt (``twin.sim.report``); this
module only adds what needs the window: the layout rendered by VTK
(``View3D.grab_image``, ``vtkWindowToImageFilter``) and the charts (``app.export``).
"""

from __future__ import annotations

import base64
import re

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QUrl
from PySide6.QtGui import QImage, QPageSize, QPdfWriter, QTextDocument
from PySide6.QtWidgets import QFileDialog

from app.export import ExportError, _png_bytes, beside_project, chart_png, view_picture
from twin import safeio
from twin.sim.report import (
    ReportParts,
    element_parameters,
    report_html,
    run_record,
    scenario_changes,
    software_versions,
    write_report,
)

CHART_WIDTH = 1100  # px: a page wide, in a browser and printed
CHART_HEIGHT = 420  # px: whatever the height of the dock on screen


def layout_png(view) -> bytes:
    """The 3D view as PNG bytes, as it is on screen (its camera and colours)."""
    img = view_picture(view)  # without the selection's box
    h, w, _ = img.shape
    return _png_bytes(QImage(img.data, w, h, 3 * w, QImage.Format_RGB888).copy())


def marked_comparison(charts) -> list[list[str]]:
    """The Compare table with `` *`` after each difference significant at 95%."""
    rows = [list(r) for r in charts.comparison]
    n = len(charts.compare_throughput[0]) + 1  # KPI and the scenarios, then the differences
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
    charts, left_out = [], []
    # all-zero energy and power charts said nothing but took two pages (newfix3 §6)
    skip = (d.energy, d.power) if no_power(window.last_summary) else ()
    for plot in d.plots():
        title = plot.getPlotItem().titleLabel.text or titles[0]
        if plot in skip:
            left_out.append(f"{re.sub('<[^>]+>', '', title)}: left out, every value is zero "
                            "(the project gives no power figures: set power_kw on its "
                            "stations to see energy and power)")
            continue
        charts.append((title, chart_png(plot, CHART_WIDTH, CHART_HEIGHT)))
    return ReportParts(
        layout_png=layout_png(window.view), charts=charts,
        comparison=marked_comparison(d.charts),
        settings=run_record(window.project, result.spec, list(result.scenarios)),
        versions=software_versions(), verdicts=d.charts.verdicts,
        changes=scenario_changes(window.project, list(result.scenarios)),
        parameters=element_parameters(window.project), left_out=tuple(left_out))


def no_power(summary: dict) -> bool:
    """Whether every scenario of a run used no energy and drew no power."""
    def zero(line: dict, key: str) -> bool:
        v = line.get(key)
        return v is None or not (v.get("mean") if isinstance(v, dict) else v)

    return all(zero(doc["line"], "energy_kwh") and zero(doc["line"], "peak_kw_15min")
               for doc in summary.values())


def text_document(page: str, width: float) -> QTextDocument:
    """``page`` as a ``QTextDocument`` laid out ``width`` wide, its inline ``data:``
    pictures handed to it as resources (Qt's rich text does not read data URIs) and shrunk
    to the width, as the page's CSS asks of a browser (``max-width: 100%``)."""
    doc = QTextDocument()
    for src in set(re.findall(r'src="(data:image/png;base64,[^"]+)"', page)):
        img = QImage.fromData(base64.b64decode(src.split(",", 1)[1]), "PNG")
        if img.width() > width - 40:
            img = img.scaledToWidth(int(width - 40))
        doc.addResource(QTextDocument.ImageResource, QUrl(src), img)
    doc.setHtml(page)
    doc.setTextWidth(width)
    return doc


def pdf_bytes(page: str) -> bytes:
    """The report ``page`` printed to A4 PDF by Qt (no browser needed, works headless)."""
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.WriteOnly)
    writer = QPdfWriter(buf)
    writer.setPageSize(QPageSize(QPageSize.A4))
    writer.setResolution(150)
    writer.setTitle(re.search(r"<title>(.*?)</title>", page).group(1))
    doc = text_document(page, writer.width())
    doc.print_(writer)
    buf.close()
    return bytes(data)


def export_report(window, path) -> None:
    """Write the report of the last run in ``window`` to ``path``: PDF if it ends in
    ``.pdf``, else HTML."""
    if window.last_result is None:
        raise ExportError("no run to report yet: run the project first (F5)")
    title = f"{window.project.name}: simulation report"
    if str(path).lower().endswith(".pdf"):
        page = report_html(window.last_summary, report_parts(window), title)
        safeio.write_bytes(path, pdf_bytes(page))
    else:
        write_report(path, window.last_summary, report_parts(window), title)


def report_dialog(window) -> str | None:
    """Ask where and write the report; the path written or None (cancelled)."""
    if window.last_result is None:
        raise ExportError("no run to report yet: run the project first (F5)")
    path, _ = QFileDialog.getSaveFileName(window, "Save report",
                                          beside_project(window, "report.html"),
                                          "HTML (*.html);;PDF (*.pdf)")
    if not path:
        return None
    export_report(window, path)
    window.log(f"report written to {path}")
    return path
