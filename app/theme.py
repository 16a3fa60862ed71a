"""Themes and other packaged resources, and the colours the workbench draws states with."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from PySide6.QtWidgets import QApplication

THEMES = ("light", "dark")

# the 3D view per theme: gradient background (bottom, top), floor, grid (RGB 0-1)
VIEW_COLORS = {
    "light": ((0.93, 0.94, 0.96), (0.78, 0.82, 0.88), (0.86, 0.87, 0.86), (0.72, 0.74, 0.76)),
    "dark": ((0.17, 0.18, 0.20), (0.11, 0.12, 0.14), (0.30, 0.31, 0.33), (0.40, 0.42, 0.45)),
}

# RGB 0-1 per station state (kernels.types.STATE_NAMES order)
STATE_COLORS = {
    "off": (0.55, 0.55, 0.58),
    "idle": (0.78, 0.78, 0.80),
    "busy": (0.20, 0.70, 0.30),
    "setup": (0.25, 0.55, 0.90),
    "blocked": (0.95, 0.75, 0.15),
    "starved": (0.95, 0.95, 0.55),
    "down": (0.85, 0.15, 0.15),
    "maintenance": (0.60, 0.35, 0.80),
    "waiting_for_worker": (0.95, 0.45, 0.10),
    # issue 19: energy saving, in the cool tones of "not working" and a warm-up near busy
    "standby": (0.55, 0.75, 0.85),
    "switched_off": (0.30, 0.40, 0.55),
    "warming_up": (0.55, 0.85, 0.45),
}
#: A recorded asset with no data at that time (a gap, before its first row): its own hue,
#: for near-white gaps read as light-grey "idle" in the Gantt chart and the 3D view
NO_DATA_RGB = (0.98, 0.45, 0.85)
#: Worker states (issue 18), in the Workers chart and on the 3D view's walking figures.
WORKER_COLORS = {
    "busy": (0.20, 0.70, 0.30),
    "walking": (0.25, 0.55, 0.90),
    "idle": (0.78, 0.78, 0.80),
    "off": (0.55, 0.55, 0.58),
}


def resource_text(*parts: str) -> str:
    """Text of ``resources/<parts>``: from the installed package, else beside ``app/``.

    ``resources`` is a top-level package; until pyproject's package list includes it an
    editable install does not expose it, so fall back to the source tree.
    """
    try:
        return importlib.resources.files("resources").joinpath(*parts).read_text("utf-8")
    except ModuleNotFoundError:
        path = Path(__file__).resolve().parent.parent / "resources"
        return path.joinpath(*parts).read_text("utf-8")


def apply_theme(name: str, window=None) -> None:
    """Style the application, and the charts made from now on, with theme ``name``; and
    the charts ``window`` holds already."""
    if name not in THEMES:
        raise ValueError(f"unknown theme {name!r}; expected one of {THEMES}")
    app = QApplication.instance()
    app.setStyleSheet(resource_text("themes", f"{name}.qss"))
    import pyqtgraph as pg

    background = "#1e1f22" if name == "dark" else "w"
    foreground = "#e6e6e6" if name == "dark" else "k"
    pg.setConfigOption("background", background)
    pg.setConfigOption("foreground", foreground)
    # the window's charts take the new colours too: the configuration only reaches charts
    # made from now on (not every widget of the application: some may be half destroyed)
    for widget in window.findChildren(pg.PlotWidget) if window is not None else ():
        widget.setBackground(background)
        item = widget.getPlotItem()
        for axis in item.axes.values():
            axis["item"].setPen(foreground)
            axis["item"].setTextPen(foreground)
        item.titleLabel.setAttr("color", foreground)
        item.titleLabel.setText(item.titleLabel.text)
        if item.legend is not None:
            item.legend.setBrush(legend_brush())
            item.legend.setLabelTextColor(foreground)
    view = getattr(window, "view", None)
    if view is not None:
        view_theme(view, name)


def view_theme(view, name: str) -> None:
    """The 3D view's background, floor and grid in theme ``name`` (a light view in the dark
    theme dazzled, and its light labels were lost on it)."""
    bottom, top, floor, grid = VIEW_COLORS[name]
    view.renderer.SetBackground(*bottom)
    view.renderer.SetBackground2(*top)
    view.floor.GetProperty().SetColor(*floor)
    view.grid.GetProperty().SetColor(*grid)
    view.request_render()


def chart(title: str, left: str = "", bottom: str = "time (h)", legend_offset=(10, 10),
          legend_columns: int = 1, legend: bool = True):
    """A workbench chart: gridded, plain numbers on the axes, and a legend on the chart's
    background where it names curves (an empty legend still draws its background)."""
    import pyqtgraph as pg

    w = pg.PlotWidget(title=title)
    plain_numbers(w)
    if left:
        w.setLabel("left", left)
    if bottom:
        w.setLabel("bottom", bottom)
    w.showGrid(x=True, y=True, alpha=0.3)
    if legend:
        # the theme's text colour, explicitly: the legend's own default was black
        w.addLegend(offset=legend_offset, colCount=legend_columns, brush=legend_brush(),
                    labelTextColor=pg.getConfigOption("foreground"))
    return w


def plain_numbers(*plots) -> None:
    """Axes that show their values as they are: pyqtgraph would scale an axis without a
    unit and add "(x0.001)" to its label (a wear of 0.8 read "800 (x0.001)")."""
    for plot in plots:
        for name in ("left", "bottom"):
            plot.getAxis(name).enableAutoSIPrefix(False)


def legend_brush():
    """The charts' background, half see-through: a legend over the curves."""
    import pyqtgraph as pg

    brush = pg.mkBrush(pg.getConfigOption("background"))
    color = brush.color()
    color.setAlpha(170)  # the curves stay visible underneath
    return pg.mkBrush(color)


def utilisation_color(u: float) -> tuple[float, float, float]:
    """Green (idle) through yellow to red (saturated) for a utilisation 0-1."""
    u = min(max(u, 0.0), 1.0)
    return (min(1.0, 2 * u), min(1.0, 2 * (1 - u)) * 0.8 + 0.1, 0.15)
