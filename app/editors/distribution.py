"""The distribution editor: a family from a list, one field per parameter with its unit, a
small plot of the density with its mean and sd, and an *empirical* option fed from a list of
values or a CSV file's column.

The editor only builds the JSON form a project file holds (``{"dist": ..., ...}``); whoever
owns it (the inspector) checks that form with the project reader and shows the reader's
message with :meth:`DistributionEditor.show_problems`, so the editor refuses exactly what a
file would.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.editors.density import density, mean_sd
from app.editors.fields import Choice, NumberField, narrow, number_text
from twin.errors import Problems
from twin.model.distributions import REGISTRY, TIME_PARAMS, parse_distribution
from twin.units import parse_duration, seconds_text

#: Units of the parameters that are not times in seconds.
OTHER_UNITS = {"rate": "per s", "mu": "ln(s)", "sigma": "ln(s)", "shape": ""}
CSV_FILTER = "CSV files (*.csv *.txt);;All files (*)"
NONE = "(none)"


def check_distribution(value) -> list[str]:
    """The reader's problems with ``value`` as a distribution (empty: valid)."""
    problems = Problems()
    parse_distribution(value, "$", problems)
    return [p.format() for p in problems.items]


def _starting_params(name: str, form: tuple[str, ...], mean: float) -> dict:
    """Parameters of ``name`` with about the mean the editor showed: switching family keeps the
    time scale the user had, and the new family is valid at once."""
    m = mean if mean > 0 else 60.0
    guess = {"value": m, "mean": m, "sd": m / 4, "low": 0.8 * m, "mode": m, "high": 1.2 * m,
             "rate": 1.0 / m, "mu": math.log(m), "sigma": 0.25, "values": [m]}
    if name == "gamma":
        guess.update(shape=4.0, scale=m / 4)
    elif name == "weibull":
        guess.update(shape=1.5, scale=m / math.gamma(1 + 1 / 1.5))
    elif name == "uniform":
        guess.update(low=0.5 * m, high=1.5 * m)
    out = {k: guess[k] for k in form if k != "interpolate"}
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in out.items()}


def parse_values(text: str) -> list[float]:
    """Observed times typed as a list: numbers or durations, separated by commas, spaces,
    semicolons or new lines (``58, 61, 1min``)."""
    parts = [p for p in text.replace(";", ",").replace("\n", ",").replace(" ", ",").split(",")
             if p.strip()]
    out = []
    for p in parts:
        v = parse_duration(p.strip())
        out.append(int(v) if v.is_integer() else v)
    return out


def csv_columns(path: str | Path) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of a CSV file (a header row is one with a non-number)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        text = f.read(4_000_000)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = [r for r in csv.reader(text.splitlines(), dialect) if any(c.strip() for c in r)]
    if not rows:
        raise ValueError(f"{path}: the file holds no rows")

    def is_number(c: str) -> bool:
        try:
            float(c)
            return True
        except ValueError:
            return False

    if all(is_number(c) for c in rows[0] if c.strip()):
        header = [f"column {i + 1}" for i in range(len(rows[0]))]
    else:
        header, rows = rows[0], rows[1:]
    return header, rows


def column_values(path: str | Path, column: int) -> list[float]:
    """The numbers in ``column`` of a CSV file; a cell that is not a time is refused with its
    row number."""
    header, rows = csv_columns(path)
    out = []
    for i, r in enumerate(rows):
        cell = r[column].strip() if column < len(r) else ""
        if cell == "":
            continue
        try:
            v = parse_duration(cell)
        except ValueError:
            raise ValueError(f"{path}: row {i + 2}, column {header[column]!r}: {cell!r} is not "
                             "a time in seconds") from None
        out.append(int(v) if v.is_integer() else v)
    if not out:
        raise ValueError(f"{path}: column {header[column]!r} holds no values")
    return out


LABEL_GAP_PX = 10  # at least this much room between two labels of the preview's time axis


class _SpacedAxis(pg.AxisItem):
    """A bottom axis whose labels never run together: pyqtgraph spaces ticks by the axis
    length alone (two intervals at least), so in a narrow Inspector 0, 2000, 4000 and 6000
    read "0 200040006" (F24). Here the spacing grows (1-2-5 steps) until the widest label
    fits between two ticks; the minor levels, unlabelled noise at this size, are left out."""

    def tickSpacing(self, minVal: float, maxVal: float, size: float):  # noqa: N802, N803
        levels = super().tickSpacing(minVal, maxVal, size)
        if not levels or size <= 0 or maxVal <= minVal:
            return levels
        metrics = QFontMetrics(self.style.get("tickFont") or QApplication.font())
        px = size / (maxVal - minVal)
        spacing = levels[0][0]
        for _ in range(20):  # x1000 at most: a far wider spacing than any axis needs
            first = math.ceil(minVal / spacing) * spacing
            ticks = [first + i * spacing for i in range(int((maxVal - first) / spacing) + 1)]
            widest = max((metrics.horizontalAdvance(t)
                          for t in self.tickStrings(ticks or [first], 1.0, spacing)), default=0)
            if spacing * px >= widest + LABEL_GAP_PX:
                break
            decade = 10.0 ** math.floor(math.log10(spacing))
            step = spacing / decade  # 1 -> 2 -> 5 -> 10 (and 2.5 -> 5)
            spacing = decade * (2.0 if step < 1.5 else 5.0 if step < 4.5 else 10.0)
        return [(spacing, 0.0)]


class _Plot(pg.PlotWidget):
    """The density plot: it shows, and leaves the mouse wheel to the inspector's scrolling."""

    def wheelEvent(self, event):
        event.ignore()


class DistributionEditor(QWidget):
    """Edits one distribution field. ``committed(value)`` carries the JSON form (``None``:
    unset, offered when ``optional``) when the user finishes an edit and ``check`` finds no
    problem; ``check(value) -> [messages]`` is the owner's reader (default: the distribution
    reader alone)."""

    committed = Signal(object)

    def __init__(self, optional: bool = False, parent=None,
                 check: Callable[[object], list[str]] | None = None, none_means: str = ""):
        super().__init__(parent)
        self.optional = optional
        self.none_means = none_means  # shown under "(none)": what no distribution does
        self.check = check or check_distribution
        self.fields: dict[str, NumberField] = {}
        self._last_mean = 60.0
        self._shown: tuple = ()
        self.picking_family = False
        self.family = Choice()
        if optional:
            self.family.addItem(NONE)
        self.family.addItems(list(REGISTRY))
        self.family.setToolTip("the family of the distribution")
        self.family.activated.connect(self._family_chosen)
        self.form_box = Choice()  # families written in two ways: lognormal mean/sd or mu/sigma
        self.form_box.setToolTip("which parameters describe it")
        self.form_box.activated.connect(self._form_chosen)
        narrow(self.family)
        narrow(self.form_box)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.family, 1)
        top.addWidget(self.form_box)
        self.params_host = QWidget()
        self.params = QFormLayout(self.params_host)
        self.params.setContentsMargins(0, 0, 0, 0)
        self.values_edit = QLineEdit()
        self.values_edit.setPlaceholderText("observed times: 58, 61, 1min, ...")
        self.values_edit.textEdited.connect(self._typed)
        self.values_edit.editingFinished.connect(self.finish)
        self.interpolate = QCheckBox("interpolate")
        self.interpolate.setToolTip("draw between the sorted values instead of resampling them")
        self.interpolate.toggled.connect(lambda _on: self.finish())
        self.csv_button = QPushButton("CSV column…")
        self.csv_button.setToolTip("take the values from a column of a CSV file")
        self.csv_button.clicked.connect(self.csv_dialog)
        emp = QHBoxLayout()
        emp.setContentsMargins(0, 0, 0, 0)
        emp.addWidget(self.values_edit, 1)
        emp.addWidget(self.csv_button)
        self.empirical_host = QWidget()
        ev = QVBoxLayout(self.empirical_host)
        ev.setContentsMargins(0, 0, 0, 0)
        ev.addLayout(emp)
        ev.addWidget(self.interpolate)
        self.stats = QLabel("")
        self.stats.setWordWrap(True)
        self.plot: _Plot | None = None  # made when a distribution is first shown (_plot_of)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d03030")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        lay.addWidget(self.params_host)
        lay.addWidget(self.empirical_host)
        lay.addWidget(self.error)  # under the fields it is about, above the plot
        lay.addWidget(self.stats)
        self.set_value(None)

    # --- showing a value ---------------------------------------------------------------------
    def set_value(self, value) -> None:
        """Show ``value`` (the JSON form, a bare number or ``None``) without committing it."""
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = {"dist": "constant", "value": value}
        if not isinstance(value, dict) or value.get("dist") not in REGISTRY:
            name = NONE if self.optional else "constant"
            params = {} if self.optional else {"value": 0}
        else:
            name, params = value["dist"], {k: v for k, v in value.items() if k != "dist"}
        self.family.setCurrentText(name)
        self._build(name, tuple(k for k in params if k != "interpolate"))
        for k, f in self.fields.items():
            f.set_value(params.get(k))
        if name == "empirical":
            self.values_edit.setText(", ".join(number_text(v) for v in params.get("values", [])))
            self.interpolate.blockSignals(True)
            self.interpolate.setChecked(bool(params.get("interpolate", False)))
            self.interpolate.blockSignals(False)
        self.show_problems([])
        self._update_stats()

    def _build(self, name: str, keys: tuple[str, ...]) -> None:
        forms = [f for f in REGISTRY[name].forms if "interpolate" not in f] if name in REGISTRY \
            else []
        form = next((f for f in forms if set(f) == set(keys)), forms[0] if forms else ())
        if (name, form) == self._shown:
            return  # same fields: keep them (one may be emitting the edit that led here)
        self._shown = (name, form)
        while self.params.rowCount():
            row = self.params.takeRow(0)
            for item in (row.labelItem, row.fieldItem):
                if item is not None and item.widget() is not None:
                    item.widget().hide()
                    item.widget().deleteLater()
        self.fields.clear()
        self.form_box.clear()
        self.form_box.addItems([" / ".join(f) for f in forms])
        self.form_box.setVisible(len(forms) > 1)
        self.form_box.setCurrentText(" / ".join(form))
        self.empirical_host.setVisible(name == "empirical")
        if self.plot is not None:
            self.plot.setVisible(name != NONE)
        if name == "empirical":
            return
        for k in form:
            f = NumberField(OTHER_UNITS.get(k, "s"), time=k in TIME_PARAMS)
            f.edited.connect(self._typed)
            f.finished.connect(self.finish)
            self.params.addRow(k, f)
            self.fields[k] = f

    # --- reading what the user typed ---------------------------------------------------------
    def value(self):
        """The JSON form of what the fields hold; ``ValueError`` names a field that does not
        read as a number or a time."""
        name = self.family.currentText()
        if name == NONE:
            return None
        out: dict = {"dist": name}
        if name == "empirical":
            try:
                out["values"] = parse_values(self.values_edit.text())
            except ValueError as e:
                raise ValueError(f"values: {e}") from None
            if self.interpolate.isChecked():
                out["interpolate"] = True
            return out
        for k, f in self.fields.items():
            try:
                v = f.value()
            except ValueError as e:
                raise ValueError(f"{k}: {e}") from None
            if v is not None:
                out[k] = v
        return out

    def _checked(self):
        try:
            value = self.value()
        except ValueError as e:
            return None, [str(e)]
        return value, self.check(value)

    def _typed(self, *_):
        """As the user types: the reader's verdict and, when valid, the new mean and plot."""
        value, msgs = self._checked()
        self.show_problems(msgs)
        if not msgs:
            self._update_stats(value)

    def finish(self) -> None:
        """The user finished an edit: commit it when the reader accepts it."""
        value, msgs = self._checked()
        self.show_problems(msgs)
        if not msgs:
            self._update_stats(value)
            self.committed.emit(value)

    def _family_chosen(self, _i=None) -> None:
        name = self.family.currentText()
        keys = REGISTRY[name].forms[0] if name in REGISTRY else ()
        self._switch(name, keys)

    def _form_chosen(self, _i=None) -> None:
        self._switch(self.family.currentText(), tuple(self.form_box.currentText().split(" / ")))

    def _switch(self, name: str, keys: tuple[str, ...]) -> None:
        params = _starting_params(name, keys, self._last_mean) if name in REGISTRY else None
        self.set_value(None if params is None else {"dist": name, **params})
        # picks in a row (arrow keys through the list) are one undo step: the owner reads
        # this while it commits
        self.picking_family = True
        try:
            self.finish()
        finally:
            self.picking_family = False

    # --- feedback ------------------------------------------------------------------------------
    def show_problems(self, msgs: list[str]) -> None:
        """Show the reader's messages under the fields (red), or clear them."""
        self.error.setText("\n".join(msgs))
        self.error.setVisible(bool(msgs))
        for f in self.fields.values():
            f.edit.setProperty("invalid", bool(msgs))
            f.edit.style().unpolish(f.edit)
            f.edit.style().polish(f.edit)

    def _update_stats(self, value=None) -> None:
        if value is None:
            try:
                value = self.value()
            except ValueError:
                return
        problems = Problems()
        d = parse_distribution(value, "$", problems) if value is not None else None
        means = self.none_means if value is None else ""
        self.stats.setVisible(d is not None or bool(means))
        if d is None:
            self.stats.setText(means)
            if self.plot is not None:
                self.curve.setData([], [])
            return
        mean, sd = mean_sd(d)
        self._last_mean = mean
        self.stats.setText(f"mean {seconds_text(mean)}, sd {seconds_text(sd)}")
        x, y = density(d)
        self._make_plot()
        self.curve.setData(x, y)
        self.mean_line.setValue(mean)

    def _make_plot(self) -> None:
        """The density plot, made on first use: a station's inspector holds five editors,
        most of them off (no setup, no maintenance), and a plot costs ~0.1 s to make."""
        if self.plot is not None:
            self.plot.setVisible(True)
            return
        self.plot = _Plot(background=None, axisItems={"bottom": _SpacedAxis("bottom")})
        self.plot.setFixedHeight(90)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.getAxis("left").setStyle(showValues=False)
        self.plot.setLabel("bottom", "s")
        self.curve = self.plot.plot([], [], pen=pg.mkPen("#3070c0", width=2),
                                    fillLevel=0, brush=(48, 112, 192, 60))
        self.mean_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#d07020", width=1))
        self.plot.addItem(self.mean_line)
        lay = self.layout()
        lay.insertWidget(lay.indexOf(self.stats) + 1, self.plot)

    def csv_dialog(self) -> None:
        """Take the empirical values from a column of a CSV file the user picks."""
        path, _ = QFileDialog.getOpenFileName(self, "Values from a CSV column", "", CSV_FILTER)
        if path:
            self.load_csv(path)

    def load_csv(self, path: str, column: int | None = None) -> None:
        """Fill the values from ``column`` of the CSV file ``path`` (asked when several)."""
        try:
            header, _rows = csv_columns(path)
            if column is None:
                column = 0
                if len(header) > 1:
                    choice, ok = QInputDialog.getItem(self, "CSV column", "Column of times (s):",
                                                      header, 0, False)
                    if not ok:
                        return
                    column = header.index(choice)
            values = column_values(path, column)
        except (OSError, ValueError, UnicodeDecodeError, csv.Error) as e:
            self.show_problems([str(e)])
            return
        self.family.setCurrentText("empirical")
        self._build("empirical", ("values",))
        self.values_edit.setText(", ".join(number_text(v) for v in values))
        self.finish()
