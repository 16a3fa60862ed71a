"""The Compare tab at the default window size: every scenario's name legible under its bar
(whole in the axis' tooltip) and every "* significant" mark inside the plot (a newcomer saw
'faster-fillerlonger-accumulation' run together, no fourth name, and the marks cut in two
at the chart's top edge)."""

import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics

pytestmark = pytest.mark.gui


def test_compare_names_and_marks_fit_the_chart(make_window, qtbot, retype, warm_kernel):
    from twin.projectfile.reader import load_project

    w = make_window(load_project("projects/bottling-line"), size=(1400, 900))
    w._default_split()
    rp = w.run_panel
    retype(rp.horizon, "4h")
    retype(rp.warmup, "30min")
    rp.replications.setValue(3)
    with qtbot.waitSignal(rp.run_finished, timeout=120_000):
        qtbot.mouseClick(rp.run_button, Qt.LeftButton)
    d = w.dashboards
    bar = d.tabs.tabBar()
    index = next(i for i in range(d.tabs.count()) if d.tabs.tabText(i) == "Compare")
    qtbot.mouseClick(bar, Qt.LeftButton, pos=bar.tabRect(index).center())
    qtbot.waitUntil(lambda: not d.is_drawing(), timeout=5_000)
    qtbot.wait(100)
    plot = d.compare_plot
    names = ["base", "faster-filler", "longer-accumulation", "filler-mttr-halved"]
    axis = plot.getAxis("bottom")
    ticks = axis._tickLevels[0]
    assert [x for x, _ in ticks] == [0, 1, 2, 3]
    vb = plot.getPlotItem().vb
    metrics = QFontMetrics(axis.style.get("tickFont") or plot.font())
    # each name is whole or elided, and no two neighbours' texts meet
    for (_, text), name in zip(ticks, names, strict=True):
        assert text == name or (text.endswith("…") and name.startswith(text[:-1]))
    centres = [vb.mapViewToScene(pg.Point(x, 0)).x() for x, _ in ticks]
    for i in range(3):
        right = centres[i] + metrics.horizontalAdvance(ticks[i][1]) / 2
        left = centres[i + 1] - metrics.horizontalAdvance(ticks[i + 1][1]) / 2
        assert right < left, (ticks[i][1], ticks[i + 1][1])
    assert any(text != name for (_, text), name in zip(ticks, names, strict=True))  # it did elide
    for name in names:
        assert name in axis.toolTip()
    # every mark stands inside the plot area, none cut at its top
    marks = [i for i in plot.getPlotItem().items
             if isinstance(i, pg.TextItem) and "significant" in i.toPlainText()]
    assert marks, "this run has significant differences to mark"
    area = vb.sceneBoundingRect()
    for mark in marks:
        r = mark.sceneBoundingRect()
        assert area.top() <= r.top() and r.bottom() <= area.bottom(), (r, area)
        assert area.left() <= r.left() and r.right() <= area.right(), (r, area)
