"""Exports fit for a report: a chart as PNG at a chosen width or as SVG, and the KPIs as CSV.

Every file is written whole through ``twin.safeio`` (complete or absent). The legend of a
chart is the PlotItem's child (``app.dashboards``), so both pictures hold it. The SVG comes
from Qt's SVG painter (pyqtgraph's ``SVGExporter`` raises ``ValueError`` in
``correctCoordinates`` on these charts), with its data-space groups flattened into pixels
(``_flatten``) so that renderers without ``non-scaling-stroke`` draw it right:
``tests/app/test_export.py`` renders it with librsvg and compares its pixels with the PNG.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyqtgraph as pg
import pyqtgraph.exporters as pge
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, QSize, QStandardPaths
from PySide6.QtGui import QImage, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QFileDialog

from twin import safeio
from twin.errors import InputError
from twin.sim.report import write_kpi_csv

MIN_WIDTH, MAX_WIDTH = 200, 8000  # px: below, no text fits; above, the file is huge


class ExportError(InputError):
    """An export the user asked for cannot be made (nothing to export, a bad size)."""


def _png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.WriteOnly)
    image.save(buf, "PNG")
    buf.close()
    return bytes(data)


def rgb_png(rgb) -> bytes:
    """PNG bytes of an ``(h, w, 3)`` uint8 picture (the 3D view's ``grab_image``)."""
    h, w, _ = rgb.shape
    return _png_bytes(QImage(rgb.data, w, h, 3 * w, QImage.Format_RGB888))


def view_picture(view):
    """The 3D view's picture (RGB uint8) without the selection's highlight: the box round
    the selected elements is the editor's, not the layout's (it was in the report's)."""
    boxes = view.outlines.actor
    shown = boxes.GetVisibility()
    boxes.SetVisibility(False)
    try:
        return view.grab_image()
    finally:
        boxes.SetVisibility(shown)
        view.request_render()


def export_view_png(view, path) -> None:
    """The 3D view to ``path`` as a PNG, through ``twin.safeio`` like every export: its
    ``QImage.save(path)`` reported nothing when the folder did not exist."""
    safeio.write_bytes(path, rgb_png(view_picture(view)))


def chart_png(plot: pg.PlotWidget, width: int | None = None,
              height: int | None = None) -> bytes:
    """PNG bytes of ``plot`` (axes, title, legend) ``width`` px wide (the size on screen by
    default); the height keeps the chart's proportions, or, given, the chart is laid out
    ``width`` x ``height`` for the picture alone: a report's chart was as squashed as the
    dock (1100 x 113 px)."""
    item = plot.getPlotItem()
    if width is not None and height is not None:
        on_screen = item.size()
        item.resize(int(width), int(height))
        item.layout.activate()
        try:
            return chart_png(plot, width)
        finally:
            item.resize(on_screen)
            item.layout.activate()
    exp = pge.ImageExporter(item)
    if width is not None:
        if not MIN_WIDTH <= int(width) <= MAX_WIDTH:
            raise ExportError(f"picture width {width} px: choose {MIN_WIDTH} to {MAX_WIDTH} px")
        exp.parameters()["width"] = int(width)
    else:
        exp.parameters()["width"] = int(item.sceneBoundingRect().width())
    return _png_bytes(exp.export(toBytes=True))


def export_png(plot: pg.PlotWidget, path, width: int | None = None) -> None:
    """Write :func:`chart_png` to ``path``."""
    safeio.write_bytes(path, chart_png(plot, width))


_GROUP = re.compile(r'(<g [^>]*?)\s*transform="matrix\(([^)]*)\)"([^>]*>)(.*?)(</g>)', re.S)
_PAIR = re.compile(r"(-?\d*\.?\d+(?:e[-+]?\d+)?),(-?\d*\.?\d+(?:e[-+]?\d+)?)")


def _flatten(match: re.Match) -> str:
    """A group of paths drawn through a data-to-pixel matrix, with the matrix applied to
    their points instead. Qt draws a curve in data coordinates under the view's matrix
    with ``vector-effect="non-scaling-stroke"``; a renderer without that SVG Tiny feature
    (librsvg) scales the 2 px pen by the matrix and a curve became a band 180 px wide."""
    head, matrix, rest, body, end = match.groups()
    if any(tag in body for tag in ("<g", "<text", "<rect", "<image")):
        return match.group(0)  # text and pictures keep their matrix
    a, b, c, d, e, f = (float(v) for v in matrix.replace(",", " ").split())

    def pair(m: re.Match) -> str:
        x, y = float(m.group(1)), float(m.group(2))
        return f"{a * x + c * y + e:.3f},{b * x + d * y + f:.3f}"

    return head + rest + _PAIR.sub(pair, body) + end


def chart_svg(plot: pg.PlotWidget, flatten: bool = True) -> bytes:
    """SVG bytes of ``plot`` as drawn on screen, its size that of the chart in pixels
    (``flatten=False``: as Qt writes it, for the test that shows why it is flattened)."""
    item = plot.getPlotItem()
    rect = item.sceneBoundingRect()
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.WriteOnly)
    gen = QSvgGenerator()
    gen.setOutputDevice(buf)
    # whole pixels as the PNG counts them (``chart_png`` truncates): rounding made the SVG
    # a pixel wider than the PNG of the same chart at some window sizes
    gen.setSize(QSize(int(rect.width()), int(rect.height())))
    # Qt writes the size in mm at its resolution (72 dpi by default); at CSS's 96 px per
    # inch, browsers, librsvg and Inkscape draw it as many pixels as it has on screen
    gen.setResolution(96)
    gen.setViewBox(QRectF(0, 0, rect.width(), rect.height()))
    gen.setTitle(item.titleLabel.text or "chart")
    painter = QPainter(gen)
    plot.scene().render(painter, QRectF(0, 0, rect.width(), rect.height()), rect)
    painter.end()
    buf.close()
    text = bytes(data).decode("utf-8")
    return (_GROUP.sub(_flatten, text) if flatten else text).encode("utf-8")


def export_svg(plot: pg.PlotWidget, path) -> None:
    """Write :func:`chart_svg` to ``path``."""
    safeio.write_bytes(path, chart_svg(plot))


def export_chart(plot: pg.PlotWidget, path, width: int | None = None) -> None:
    """``path`` ending in ``.svg``: SVG; else PNG ``width`` px wide."""
    if str(path).lower().endswith(".svg"):
        export_svg(plot, path)
    else:
        export_png(plot, path, width)


def export_kpis(summary: dict, path) -> int:
    """Every figure of a run as CSV (``twin.sim.report.write_kpi_csv``); rows written."""
    if not summary:
        raise ExportError("nothing to export yet: run the project first")
    return write_kpi_csv(path, summary)


def beside_project(window, name: str = "", siblings: bool = False) -> str:
    """Where a file dialog of ``window`` opens: ``name`` in the project's folder (with
    ``siblings``, in the folder holding it), or in the user's documents for a project never
    saved; a bare "report.html" opened in whatever folder twinbench was started from."""
    folder = getattr(window, "path", None)
    if folder is None:
        docs = QStandardPaths.writableLocation(QStandardPaths.DocumentsLocation)
        return str(Path(docs or Path.home()) / name)
    return str((Path(folder).parent if siblings else Path(folder)) / name)


def chart_dialog(window) -> str | None:
    """Ask where (PNG or SVG) and export the chart on screen, a PNG as wide as the
    dashboards' width box says. Returns the path written, or None when cancelled."""
    path, _ = QFileDialog.getSaveFileName(window, "Export chart",
                                          beside_project(window, "chart.png"),
                                          "PNG (*.png);;SVG (*.svg)")
    if not path:
        return None
    window.dashboards.export_chart(path, window.dashboards.png_width.value())
    return path
