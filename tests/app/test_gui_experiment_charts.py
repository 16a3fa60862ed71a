"""The axes of the Experiments dock's charts say what the study varied (gui18 §2)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QImage, QPainter

from twin.experiments.design import design_points
from twin.experiments.spec import Factor

pytestmark = pytest.mark.gui


def shows(qtbot, plot, lo: float, hi: float) -> None:
    """Wait until the chart's auto range (applied when it is painted) takes in lo..hi."""
    qtbot.waitUntil(lambda: plot.viewRange()[0][0] <= lo and plot.viewRange()[0][1] >= hi)


def drawn_ticks(plot) -> list[str]:
    """The tick labels the bottom axis paints, major and minor."""
    axis = plot.getAxis("bottom")
    image = QImage(10, 10, QImage.Format_ARGB32)
    painter = QPainter(image)
    try:
        _, _, text = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [t[2] for t in text]


@pytest.mark.parametrize("levels", [range(2, 7), range(1, 3)])
def test_an_integer_factors_main_effect_axis_shows_its_levels_only(qtbot, levels):
    """A buffer varied 2..6 had ticks 2.5, 3.5 between its places, one of 1..2 places ticks
    1.2, 1.4, ...; a continuous factor keeps pyqtgraph's ticks."""
    from app.experiment_charts import ExperimentCharts, StudyData

    points = [{"B1.capacity": float(c), "M1.speed": s} for c in levels
              for s in (0.5, 0.75, 1.0)]
    values = [{"r": np.array([3 * p["B1.capacity"] + k for k in range(3)], float)}
              for p in points]
    charts = ExperimentCharts()
    qtbot.addWidget(charts)
    charts.resize(900, 700)
    charts.show()
    charts.show_study(StudyData(["B1.capacity", "M1.speed"], ["r"], points, values))
    qtbot.waitExposed(charts)
    shows(qtbot, charts.effect_plots["B1.capacity"], levels[0], levels[-1])
    shows(qtbot, charts.effect_plots["M1.speed"], 0.5, 1.0)
    ticks = drawn_ticks(charts.effect_plots["B1.capacity"])
    assert ticks == [str(c) for c in levels]
    speed = [float(t) for t in drawn_ticks(charts.effect_plots["M1.speed"])]
    assert speed and any(v != round(v) for v in speed)


def test_a_binned_integer_factor_is_named_by_its_whole_ranges(qtbot):
    """A Latin hypercube over places 1..20 is cut into six bins: each tick is a range of
    whole places ("1–4"), none a fraction."""
    from app.experiment_charts import ExperimentCharts, StudyData, level_labels

    factors = [Factor("B1", "capacity", 1.0, 20.0, integer=True)]
    points = design_points(factors, "latin_hypercube", 60, 1)
    data = StudyData(["B1.capacity"], ["r"], points,
                     [{"r": np.array([p["B1.capacity"]])} for p in points])
    charts = ExperimentCharts()
    qtbot.addWidget(charts)
    charts.resize(900, 600)
    charts.show()
    charts.show_study(data)
    qtbot.waitExposed(charts)
    centres = charts.effect_curves["B1.capacity"][0]
    shows(qtbot, charts.effect_plots["B1.capacity"], centres[0], centres[-1])
    ticks = drawn_ticks(charts.effect_plots["B1.capacity"])
    assert ticks == level_labels(data.column("B1.capacity")) and len(ticks) == 6
    for t in ticks:
        assert all(v.isdigit() for v in t.split("–"))
