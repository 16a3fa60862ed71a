"""The charts of a study in the Experiments dock: main effects per factor, a heatmap over two
factors, the Pareto front of two responses (a click makes the point a scenario), the tornado
chart of a sensitivity analysis and the selection report (issue 17 §5).

A study comes in as the study's own numbers: the design points (``{factor name: value}``)
and, per point, each response's per-replication values (``twin.experiments.evaluate``'s
form). The charts only group and average them; every mean carries its 95% interval
(``twin.sim.stats.mean_ci``) over the replications behind it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.theme import chart
from twin.sim.stats import mean_ci

MAX_LEVELS = 6  # a continuous factor's values are grouped into at most this many bins


@dataclass
class StudyData:
    """What the charts draw: ``points[i]`` is design point i (factor name -> value) and
    ``values[i]`` its responses' per-replication values (response -> array)."""

    factors: list[str]
    responses: list[str]
    points: list[Mapping[str, float]]
    values: list[Mapping[str, np.ndarray]]

    @classmethod
    def from_study(cls, res) -> StudyData:
        """The points a ``twin.experiments.study.StudyResult`` finished, with their
        replications (a cancelled study's unfinished points are left out)."""
        done = [i for i in range(len(res.points)) if res.done[i]]
        values = [{n: res.values[n][i, :int(res.replications[i])] for n in res.names}
                  for i in done]
        return cls([f.name for f in res.experiment.factors], list(res.experiment.responses),
                   [res.points[i] for i in done], values)

    def point_means(self, response: str) -> np.ndarray:
        """Each point's mean of ``response`` (NaN where it has none)."""
        return np.array([float(np.nanmean(v[response])) if len(v.get(response, ())) else math.nan
                         for v in self.values])

    def column(self, factor: str) -> np.ndarray:
        return np.array([float(p[factor]) for p in self.points])


def levels_of(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The groups of a factor's values: ``(centres, group index of each point)``. A factor
    with few distinct values (a full factorial, an integer range) keeps them; a continuous one
    (Latin hypercube, Sobol') is cut into ``MAX_LEVELS`` bins of equal counts."""
    distinct = np.unique(x)
    if len(distinct) <= MAX_LEVELS:
        return distinct, np.searchsorted(distinct, x)
    edges = np.quantile(x, np.linspace(0, 1, MAX_LEVELS + 1))
    group = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, MAX_LEVELS - 1)
    centres = np.array([x[group == g].mean() if np.any(group == g) else np.nan
                        for g in range(MAX_LEVELS)])
    keep = ~np.isnan(centres)
    remap = np.cumsum(keep) - 1
    return centres[keep], remap[group]


def level_labels(x: np.ndarray) -> list[str]:
    """A label per group of :func:`levels_of`: the value itself, or for a bin the range of
    the values in it ("7–10" places, not the bin's mean "8.5")."""
    centres, group = levels_of(x)
    if len(np.unique(x)) <= MAX_LEVELS:
        return [f"{v:.4g}" for v in centres]
    out = []
    for g in range(len(centres)):
        lo, hi = float(x[group == g].min()), float(x[group == g].max())
        out.append(f"{lo:.4g}" if lo == hi else f"{lo:.4g}–{hi:.4g}")
    return out


def whole_valued(x: np.ndarray) -> bool:
    """Whether every value of a factor is a whole number (an integer range, replications,
    explicit levels such as 1, 2, 3 servers)."""
    x = np.asarray(x, float)
    return len(x) > 0 and bool(np.all(np.isfinite(x) & (x == np.round(x))))


def main_effect(data: StudyData, factor: str, response: str
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(levels, mean, half-width)`` of ``response`` at each level of ``factor``, averaged
    over the other factors' values: every replication of every point at that level."""
    levels, group = levels_of(data.column(factor))
    mean, hw = np.full(len(levels), np.nan), np.full(len(levels), np.nan)
    for g in range(len(levels)):
        reps = [np.asarray(data.values[i][response], float) for i in np.flatnonzero(group == g)]
        if reps:
            stat = mean_ci(np.concatenate(reps))
            mean[g], hw[g] = stat["mean"], stat["ci95_halfwidth"]
    return levels, mean, hw


def heat_grid(data: StudyData, fx: str, fy: str, response: str
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x levels, y levels, mean grid[x, y])`` of ``response`` over two factors (NaN where
    no point falls)."""
    lx, gx = levels_of(data.column(fx))
    ly, gy = levels_of(data.column(fy))
    means = data.point_means(response)
    total = np.zeros((len(lx), len(ly)))
    count = np.zeros((len(lx), len(ly)))
    for i, v in enumerate(means):
        if math.isfinite(v):
            total[gx[i], gy[i]] += v
            count[gx[i], gy[i]] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return lx, ly, np.where(count > 0, total / count, np.nan)


def pareto_front(x: np.ndarray, y: np.ndarray, x_max: bool = True, y_max: bool = True
                 ) -> np.ndarray:
    """Boolean mask of the points no other point beats in both (larger is better where
    ``*_max``); NaN points are never on it."""
    sx = x if x_max else -x
    sy = y if y_max else -y
    ok = np.isfinite(sx) & np.isfinite(sy)
    front = np.zeros(len(x), bool)
    for i in np.flatnonzero(ok):
        dominated = ok & (sx >= sx[i]) & (sy >= sy[i]) & ((sx > sx[i]) | (sy > sy[i]))
        front[i] = not dominated.any()
    return front


#: Responses where less is better (the others: more is better).
SMALLER_IS_BETTER = ("wip", "lead_time", "energy", "cost", "scrap", "lost", "budget")


def larger_is_better(response: str) -> bool:
    return not any(word in response for word in SMALLER_IS_BETTER)


def _combo(items: Sequence[str], tip: str) -> QComboBox:
    c = QComboBox()
    c.addItems(list(items))
    c.setToolTip(tip)
    return c


class ExperimentCharts(QTabWidget):
    """Tabs of a study's charts; ``point_chosen(index)`` when a Pareto point is clicked."""

    point_chosen = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.data: StudyData | None = None
        # main effects: one chart per factor, of the response chosen
        self.effects_response = _combo([], "The response the main effects show")
        self.effects_host = QWidget()
        self.effects_grid = QGridLayout(self.effects_host)
        self.effect_plots: dict[str, pg.PlotWidget] = {}
        self.effect_curves: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self.addTab(self._with_bar(self.effects_host, ("response", self.effects_response)),
                    "Main effects")
        # heatmap over two factors
        self.heat_x = _combo([], "The factor across")
        self.heat_y = _combo([], "The factor up")
        self.heat_response = _combo([], "The response coloured")
        self.heat_plot = chart("", "", "", legend=False)
        self.heat_image = pg.ImageItem()
        self.heat_plot.addItem(self.heat_image)
        self.heat_bar: pg.ColorBarItem | None = None
        self.heat_grid: tuple | None = None
        self.addTab(self._with_bar(self.heat_plot, ("across", self.heat_x), ("up", self.heat_y),
                                   ("colour", self.heat_response)), "Heatmap")
        # Pareto front of two responses
        self.pareto_x = _combo([], "The response across")
        self.pareto_y = _combo([], "The response up")
        self.pareto_plot = chart("", "", "", legend=True)
        self.pareto_scatter = pg.ScatterPlotItem(size=9, hoverable=True, tip=self._tip)
        self.pareto_scatter.sigClicked.connect(self._clicked)
        self.front_mask = np.zeros(0, bool)
        self.addTab(self._with_bar(self.pareto_plot, ("across", self.pareto_x),
                                   ("up", self.pareto_y),
                                   note="Click a point: it becomes a scenario of the project"),
                    "Pareto front")
        # sensitivity and selection: filled from the optimise / sensitivity results
        self.tornado = chart("Sensitivity", "", "index", legend=False)
        self.tornado_values: dict[str, float] = {}
        self.tornado_note = QLabel("Run a sensitivity analysis to see which factors matter")
        self.addTab(self._with_bar(self.tornado, note_label=self.tornado_note), "Tornado")
        self.report = QPlainTextEdit()
        self.report.setReadOnly(True)
        self.report.setPlaceholderText("Run an optimisation: the selection report shows here")
        self.addTab(self.report, "Selection")
        for c in (self.effects_response,):
            c.currentIndexChanged.connect(lambda _i: self.draw_effects())
        for c in (self.heat_x, self.heat_y, self.heat_response):
            c.currentIndexChanged.connect(lambda _i: self.draw_heatmap())
        for c in (self.pareto_x, self.pareto_y):
            c.currentIndexChanged.connect(lambda _i: self.draw_pareto())

    @staticmethod
    def _with_bar(body: QWidget, *choices, note: str = "", note_label: QLabel | None = None
                  ) -> QWidget:
        host = QWidget()
        lay = QVBoxLayout(host)
        lay.setContentsMargins(2, 2, 2, 2)
        bar = QHBoxLayout()
        for label, combo in choices:
            bar.addWidget(QLabel(label))
            bar.addWidget(combo)
        if note or note_label is not None:
            n = note_label or QLabel(note)
            n.setStyleSheet("color: gray")
            bar.addWidget(n)
        bar.addStretch(1)
        lay.addLayout(bar)
        lay.addWidget(body, 1)
        return host

    # --- a study --------------------------------------------------------------------------
    def show_study(self, data: StudyData) -> None:
        """Draw every chart of ``data``."""
        self.data = data
        combos = {self.effects_response: data.responses, self.heat_response: data.responses,
                  self.pareto_x: data.responses, self.pareto_y: data.responses,
                  self.heat_x: data.factors, self.heat_y: data.factors}
        for combo, items in combos.items():
            combo.blockSignals(True)
            keep = combo.currentText()
            combo.clear()
            combo.addItems(items)
            if keep in items:
                combo.setCurrentText(keep)
            combo.blockSignals(False)
        if len(data.factors) > 1 and self.heat_x.currentText() == self.heat_y.currentText():
            self.heat_y.setCurrentIndex(1)
        if len(data.responses) > 1 and self.pareto_x.currentText() == self.pareto_y.currentText():
            self.pareto_y.setCurrentIndex(1)
        self._make_effect_plots(data.factors)
        self.draw_effects()
        self.draw_heatmap()
        self.draw_pareto()

    def clear(self) -> None:
        """No study: the project no longer has the factors of the one drawn (an undo took
        them away, gui17 §3); every chart empty, as before the first study."""
        self.show_study(StudyData([], [], [], []))
        self.data = None
        self.heat_grid = None
        self.heat_image.clear()
        self.heat_plot.setTitle("")
        self.pareto_plot.clear()
        self.pareto_plot.setTitle("")
        self.front_mask = np.zeros(0, dtype=bool)

    def _make_effect_plots(self, factors: list[str]) -> None:
        if list(self.effect_plots) == factors:
            return
        for p in self.effect_plots.values():
            self.effects_grid.removeWidget(p)
            p.deleteLater()
        self.effect_plots = {}
        cols = 2 if len(factors) > 1 else 1
        for i, f in enumerate(factors):
            p = chart(f, "", f, legend=False)
            self.effects_grid.addWidget(p, i // cols, i % cols)
            self.effect_plots[f] = p

    def draw_effects(self) -> None:
        data, response = self.data, self.effects_response.currentText()
        if data is None or not response:
            return
        self.effect_curves = {}
        for f, plot in self.effect_plots.items():
            plot.clear()
            plot.setLabel("left", response)
            x, y, hw = main_effect(data, f, response)
            self.effect_curves[f] = (x, y, hw)
            plot.plot(x, y, pen=pg.mkPen("#1f77b4", width=2), symbol="o", symbolSize=7)
            ok = np.isfinite(hw)
            if ok.any():
                plot.addItem(pg.ErrorBarItem(x=x[ok], y=y[ok], height=2 * hw[ok],
                                             beam=0.02 * (np.ptp(x) or 1.0)))
            # a whole-valued factor's axis names its levels: pyqtgraph's own ticks put
            # 2.5, 3.5 (or 1.2, 1.4 on a narrow chart) between buffer places 2..6
            plot.getAxis("bottom").setTicks(
                [list(zip(x.tolist(), level_labels(data.column(f)), strict=True))]
                if whole_valued(data.column(f)) else None)
            plot.enableAutoRange()

    def draw_heatmap(self) -> None:
        data = self.data
        fx, fy, r = self.heat_x.currentText(), self.heat_y.currentText(), \
            self.heat_response.currentText()
        if data is None or not (fx and fy and r):
            return
        if fx == fy:
            self.heat_plot.setTitle(f"{r}: choose two different factors (a study with one "
                                    "factor has no heatmap; see its main effect)")
        lx, ly, grid = heat_grid(data, fx, fy, r)
        self.heat_grid = (lx, ly, grid)
        if fx != fy:
            self.heat_plot.setTitle(f"{r} over {fx} and {fy}")
        self.heat_plot.setLabel("bottom", fx)
        self.heat_plot.setLabel("left", fy)
        finite = grid[np.isfinite(grid)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if hi <= lo:
            hi = lo + 1.0
        self.heat_image.setImage(np.nan_to_num(grid, nan=lo), levels=(lo, hi))
        # one cell per level pair, placed over the factors' values (cells of equal size)
        nx, ny = len(lx), len(ly)
        self.heat_image.setRect(-0.5, -0.5, nx, ny)
        self.heat_plot.getAxis("bottom").setTicks(
            [list(enumerate(level_labels(data.column(fx))))])
        self.heat_plot.getAxis("left").setTicks([list(enumerate(level_labels(data.column(fy))))])
        cmap = pg.colormap.get("viridis")
        if self.heat_bar is None:
            self.heat_bar = pg.ColorBarItem(values=(lo, hi), colorMap=cmap, interactive=False)
            self.heat_bar.setImageItem(self.heat_image, insert_in=self.heat_plot.getPlotItem())
        else:
            self.heat_bar.setLevels((lo, hi))
        self.heat_plot.autoRange()

    def draw_pareto(self) -> None:
        data = self.data
        rx, ry = self.pareto_x.currentText(), self.pareto_y.currentText()
        if data is None or not (rx and ry):
            return
        x, y = data.point_means(rx), data.point_means(ry)
        self.front_mask = pareto_front(x, y, larger_is_better(rx), larger_is_better(ry))
        plot = self.pareto_plot
        plot.clear()
        plot.setLabel("bottom", rx)
        plot.setLabel("left", ry)
        plot.setTitle(f"{rx} ({'more' if larger_is_better(rx) else 'less'} is better) against "
                      f"{ry} ({'more' if larger_is_better(ry) else 'less'} is better)")
        order = np.flatnonzero(self.front_mask)
        order = order[np.argsort(x[order])]
        if len(order) > 1:
            plot.plot(x[order], y[order], pen=pg.mkPen("#d62728", width=1.5), name="Pareto front")
        spots = [{"pos": (x[i], y[i]), "data": i,
                  "brush": pg.mkBrush("#d62728" if self.front_mask[i] else "#7f7f7f"),
                  "symbol": "o" if self.front_mask[i] else "t"}
                 for i in range(len(x)) if math.isfinite(x[i]) and math.isfinite(y[i])]
        self.pareto_scatter.setData(spots)
        plot.addItem(self.pareto_scatter)
        plot.enableAutoRange()

    def _tip(self, x, y, data) -> str:
        """A point's factors and responses, as its hover tip."""
        i = int(data)
        point = self.data.points[i]
        values = ", ".join(f"{k} = {v:.4g}" for k, v in point.items())
        return (f"design point {i}: {values}\n{self.pareto_x.currentText()} = {x:.4g}, "
                f"{self.pareto_y.currentText()} = {y:.4g}\nclick: make it a scenario")

    def _clicked(self, _item, points, _ev=None) -> None:
        if len(points):
            self.point_chosen.emit(int(points[0].data()))

    # --- sensitivity and selection -----------------------------------------------------------
    def show_sensitivity(self, names: Sequence[str], value: Sequence[float],
                         half: Sequence[float], first_order: Sequence[float] | None = None,
                         measure: str = "index", title: str = "") -> None:
        """The tornado chart: one bar per factor (``value``, given widest first) drawn from
        the top, with its interval (``half``-width) and, for Sobol', the first-order index
        beside it."""
        plot = self.tornado
        plot.clear()
        n = len(names)
        y = np.arange(n)[::-1].astype(float)  # the first (widest) on top
        v = np.nan_to_num(np.asarray(value, float))
        dy, h = (0.17, 0.34) if first_order is not None else (0.0, 0.6)  # two bars or one
        plot.addItem(pg.BarGraphItem(x0=np.zeros(n), y=y + dy, height=h, width=v,
                                     brush=pg.mkBrush("#1f77b4"), name=measure))
        plot.addItem(pg.ErrorBarItem(x=v, y=y + dy, width=2 * np.nan_to_num(
            np.asarray(half, float)), beam=0.12))
        if first_order is not None:
            f1 = np.nan_to_num(np.asarray(first_order, float))
            plot.addItem(pg.BarGraphItem(x0=np.zeros(n), y=y - 0.17, height=0.34, width=f1,
                                         brush=pg.mkBrush("#ff7f0e"), name="first order S1"))
        self.tornado_values = dict(zip(names, v, strict=True))
        plot.getAxis("left").setTicks([[(y[k], names[k]) for k in range(n)]])
        plot.setLabel("bottom", measure)
        plot.setTitle(title or "Sensitivity")
        self.tornado_note.setText("blue: " + measure + (", orange: first-order index"
                                                        if first_order is not None else ""))
        plot.enableAutoRange()
        self.setCurrentIndex(2 + 1)

    def show_report(self, text: str) -> None:
        self.report.setPlainText(text)
        self.setCurrentWidget(self.report)
