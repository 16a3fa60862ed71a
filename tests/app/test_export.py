"""Exports fit for a report: the SVG another program renders as the PNG shows, the PNG at
the width asked with the legend in it, and the HTML report's tables equal to the summary."""

import base64
import re
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog

from app.export import ExportError, chart_svg
from app.report import export_report
from twin.sim.stats import format_ci

pytestmark = pytest.mark.gui


def _pixels(path) -> np.ndarray:
    img = QImage(str(path)).convertToFormat(QImage.Format_RGB888)
    w, h = img.width(), img.height()
    arr = np.frombuffer(img.constBits(), np.uint8, img.bytesPerLine() * h)
    return arr.reshape(h, img.bytesPerLine())[:, :3 * w].reshape(h, w, 3).astype(float)


def _blur(a: np.ndarray, r: int = 2) -> np.ndarray:
    """Mean over (2r+1) x (2r+1) pixels (a box filter by summed areas)."""
    k = 2 * r + 1
    c = np.pad(np.pad(a, ((r, r), (r, r), (0, 0)), mode="edge").cumsum(0).cumsum(1),
               ((1, 0), (1, 0), (0, 0)))
    return (c[k:, k:] - c[:-k, k:] - c[k:, :-k] + c[:-k, :-k]) / (k * k)


class _Tables(HTMLParser):
    """Every table of a page: class -> tables (one per scenario) of rows of cell texts."""

    def __init__(self):
        super().__init__()
        self.tables, self.images = {}, []
        self._rows = self._cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._rows = []
            self.tables.setdefault(a.get("class", ""), []).append(self._rows)
        elif tag == "tr" and self._rows is not None:
            self._rows.append([])
        elif tag in ("td", "th"):
            self._cell = ""
        elif tag == "img":
            self.images.append(a["src"])

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._rows[-1].append(self._cell)
            self._cell = None
        elif tag == "table":
            self._rows = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def test_svg_png_and_report(make_window, line_project, qtbot, warm_kernel, tmp_path,
                            monkeypatch):
    w = make_window(line_project)
    with pytest.raises(ExportError, match="run the project first"):
        export_report(w, tmp_path / "early.html")
    assert not (tmp_path / "early.html").exists()
    with qtbot.waitSignal(w.run_panel.run_finished, timeout=90_000) as blocker:
        assert w.run_panel.start_run()
    result = blocker.args[0]
    d = w.dashboards
    d.tabs.setCurrentWidget(d.throughput)
    d.finish_drawing()
    qtbot.wait(50)
    item = d.throughput.getPlotItem()
    width = int(item.sceneBoundingRect().width())
    # PNG at a chosen width; the legend (right of the plot area) is inside the picture
    d.export_chart(str(tmp_path / "wide.png"), 1500)
    assert QImage(str(tmp_path / "wide.png")).width() == 1500
    # as a user: the width box, Export chart…, a file name; Report… the same way
    chosen = {"name": "dialog.png"}
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(tmp_path / chosen["name"]), "")))
    d.png_width.setValue(900)
    qtbot.mouseClick(d.export_button, Qt.LeftButton)
    assert QImage(str(tmp_path / "dialog.png")).width() == 900
    chosen["name"] = "clicked.html"
    qtbot.mouseClick(d.report_button, Qt.LeftButton)
    assert "<table" in (tmp_path / "clicked.html").read_text(encoding="utf-8")
    d.export_chart(str(tmp_path / "tp.png"), width)
    d.export_chart(str(tmp_path / "tp.svg"))
    png = _pixels(tmp_path / "tp.png")
    legend = item.legend.sceneBoundingRect().translated(-item.sceneBoundingRect().topLeft())
    assert legend.right() <= png.shape[1] and legend.width() > 20
    # the legend's box holds the scenario colours (#1f77b4, #d62728 samples)
    box = png[int(legend.top()):int(legend.bottom()), int(legend.left()):int(legend.right())]
    assert (np.abs(box - [0x1f, 0x77, 0xb4]).sum(axis=2) < 60).any()
    assert (np.abs(box - [0xd6, 0x27, 0x28]).sum(axis=2) < 60).any()
    # the SVG through another renderer (librsvg, Debian's librsvg2-bin), at its own size
    rsvg = shutil.which("rsvg-convert")
    if rsvg is None:
        pytest.fail("rsvg-convert is missing: scripts/install.sh --dev installs librsvg2-bin")
    def rendered(svg_bytes, name):
        (tmp_path / f"{name}.svg").write_bytes(svg_bytes)
        subprocess.run([rsvg, "-b", "white", "-o", str(tmp_path / f"{name}.png"),
                        str(tmp_path / f"{name}.svg")], check=True, timeout=60)
        return _pixels(tmp_path / f"{name}.png")

    svg = rendered((tmp_path / "tp.svg").read_bytes(), "svg")
    # 96 px per inch, as on screen; the SVG states its size in mm, and the round trip
    # through mm may give librsvg one pixel more than the PNG has
    assert abs(svg.shape[0] - png.shape[0]) <= 1 and abs(svg.shape[1] - png.shape[1]) <= 1
    rows, cols = min(svg.shape[0], png.shape[0]), min(svg.shape[1], png.shape[1])
    svg, png = svg[:rows, :cols], png[:rows, :cols]
    # the same picture. The two renderers antialias and hint text and thin lines
    # differently, which moves edges by under a pixel; averaged over 5 x 5 pixels those
    # differences cancel (measured: 1.0 of 255 on this chart) while a wrong area does not:
    # Qt's own SVG, whose curves librsvg draws 180 px thick, scores 13
    diff = np.abs(_blur(svg) - _blur(png)).mean()
    assert diff < 3.0, diff
    raw = rendered(chart_svg(d.throughput, flatten=False), "raw")
    rows, cols = min(rows, raw.shape[0]), min(cols, raw.shape[1])
    assert np.abs(_blur(raw[:rows, :cols]) - _blur(png[:rows, :cols])).mean() > 3.0
    # the report: one self-contained page whose tables hold the summary's numbers
    path = tmp_path / "report.html"
    export_report(w, path)
    page = path.read_text(encoding="utf-8")
    assert "src=\"http" not in page and "src='http" not in page
    parser = _Tables()
    parser.feed(page)
    # the layout and the seven charts, inline, each a real PNG
    assert len(parser.images) == 1 + len(d.plots())
    for src in parser.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    summary = result.summary()
    base, faster = parser.tables["line-kpis"]  # one per scenario, in run order
    for table, name in ((base, "base"), (faster, "faster")):
        line = {r[0]: r[1] for r in table[1:]}
        assert line["throughput"] == format_ci(summary[name]["line"]["throughput_per_hour"], 4)
        assert line["bottleneck"] == summary[name]["bottleneck"]
    elements = parser.tables["elements"][0]
    header = elements[0]
    rows = {r[0]: r for r in elements[1:] if r[0] in summary["base"]["elements"]}
    m1 = summary["base"]["elements"]["M1"]
    assert rows["M1"][header.index("utilisation (fraction)")] == format_ci(m1["utilization"])
    assert rows["M1"][header.index("blocked (fraction)")] == format_ci(
        m1["state_fraction"]["blocked"])
    assert rows["M1"][header.index("energy (kWh)")] == format_ci(m1["energy_kwh"])
    comparison = parser.tables["comparison"][0]
    assert comparison[0][:3] == ["KPI", "base", "faster"]
    assert comparison[1][3].rstrip(" *") == d.comparison_rows()[1][3]
    settings = dict(parser.tables["settings"][0][1:])
    assert settings["seed"] == str(result.spec.seed)
    assert settings["replications"] == str(result.spec.replications)
    versions = dict(parser.tables["versions"][0][1:])
    for name in ("twinbench", "Python", "NumPy", "Numba", "PySide6", "VTK"):
        assert re.match(r"\d+\.\d+", versions[name]), name
    # the same report as PDF: a document of several A4 pages
    export_report(w, tmp_path / "report.pdf")
    pdf = (tmp_path / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 3


def test_the_report_says_what_scenarios_change_and_leaves_out_empty_energy_charts(
        make_window, line_project, qtbot, warm_kernel, tmp_path):
    """The report did not say what a scenario changes nor the elements' parameters, and a
    project without power figures got two all-zero energy and power charts (newfix3 §6)."""
    for el in line_project.elements:
        if hasattr(el, "power_kw"):
            el.power_kw = {}
    w = make_window(line_project)
    with qtbot.waitSignal(w.run_panel.run_finished, timeout=90_000):
        assert w.run_panel.start_run()
    d = w.dashboards
    qtbot.waitUntil(lambda: not d.is_drawing(), timeout=10_000)
    export_report(w, tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    parser = _Tables()
    parser.feed(page)
    changes = dict(r for r in parser.tables["changes"][0][1:])
    assert changes == {"base": "(no changes)", "faster": "M2.process_time = 35.0"}
    params = {r[0]: r for r in parser.tables["parameters"][0][1:]}
    assert params["B1"][1] == "buffer" and "capacity: 5" in params["B1"][2]
    assert "process_time" in params["M1"][2] and "position" not in params["M1"][2]
    # the layout and every chart but energy and power, each left out with a line saying why
    assert len(parser.images) == 1 + len(d.plots()) - 2
    assert page.count("left out, every value is zero (the project gives no power figures") \
        == 2
