"""The Experiments dock: factors (from *Vary this…* in the Inspector), a design, responses;
run a study with progress and cancel, then its charts (issue 17 §5).

The dock edits an ``Experiment`` (``twin.experiments.spec``); *Save to project* puts it in
the project's ``experiments`` through one command on the undo stack, so Ctrl+Z takes it out
again and the project file carries it (``twinbench study PROJECT NAME`` runs the same
experiment headless). *Run* simulates the design's points on an ``app.worker.Job``
(``twin.experiments.evaluate``: common random numbers across points, replications fixed or to
a precision); each finished point moves the progress bar, and Cancel stops the study at the
next replication. The charts (``app.experiment_charts``) draw the points' per-replication
values; a click on a point of the Pareto front makes it a scenario of the project, chosen in
the Scenarios dock and selected in the 3D view.

``app.experiments_install.install_experiments`` adds this dock, the *What-if* dock of sliders
(``app.whatif_panel``) and *Vary this…* (``app.experiment_vary``) to the main window.
"""

from __future__ import annotations

import math
from dataclasses import replace

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.experiment_analysis import AnalysisBox
from app.experiment_charts import ExperimentCharts, StudyData
from app.whatif_panel import HORIZONS
from app.worker import Job
from twin.errors import InputError, ProjectError
from twin.experiments.design import design_points
from twin.experiments.evaluate import point_overrides
from twin.experiments.spec import DERIVED_RESPONSES, DESIGNS, Experiment, Factor, kpi_names
from twin.experiments.study import run_study
from twin.model import commands as cmd
from twin.model import elements as m
from twin.projectfile.experiments import factor_range_problems
from twin.projectfile.reader import copy_project
from twin.tasks import TaskState
from twin.units import format_duration

DESIGN_LABELS = {"full_factorial": "Full factorial", "latin_hypercube": "Latin hypercube",
                 "sobol": "Sobol' sequence"}
DEFAULT_RESPONSES = ("line.throughput_per_hour", "line.wip", "line.lead_time_s",
                     "line.energy_kwh")
COLUMNS = ("factor", "low", "high", "integer", "cost/unit")


def _scenario_name(project: m.Project, stem: str) -> str:
    taken = {s.name for s in project.scenarios}
    if stem not in taken:
        return stem
    return next(f"{stem} ({k})" for k in range(2, 10_000) if f"{stem} ({k})" not in taken)


class ExperimentsDock(QWidget):
    """Edits one experiment, runs it, shows its study."""

    message = Signal(str)
    #: a study's results are on the charts (tests wait for it)
    study_shown = Signal(object)
    #: a Pareto point became scenario ``name``
    scenario_made = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.project: m.Project | None = None
        self.stack: cmd.UndoStack | None = None
        self.factors: list[Factor] = []
        self._ids: tuple = ()  # the elements whose KPIs the responses list offers
        self.job: Job | None = None
        self.data: StudyData | None = None
        #: the project's experiment opened in the dock: what the dock does not show (its
        #: warm-up, objectives, constraints, description, the order of its responses, a
        #: full factorial without "points") is kept from it, so running or saving it again
        #: is the experiment ``twinbench study PROJECT NAME`` runs
        self.opened: Experiment | None = None
        self.points_unset = False  # the opened full factorial has no "points", untouched
        self._order: list[str] = []  # the responses in the order they were chosen
        #: ticked responses the list cannot show now (their elements undone away): ticked
        #: again when a redo brings them back (an undo-all then redo-all lost them, gui17 §2)
        self._kept: set[str] = set()
        #: the red message says what ``experiment()`` refused: it goes once the dock's state
        #: is valid again (it said "no responses" beside a ticked KPI, gui17 §2)
        self._state_error = ""

        self.name = QLineEdit("experiment 1")
        self.name.setToolTip("The experiment's name in the project (twinbench study PROJECT "
                             "NAME runs it headless)")
        self.saved = QComboBox()
        self.saved.setToolTip("Open an experiment saved in the project")
        self.saved.activated.connect(lambda _i: self.load(self.saved.currentText()))
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.table.verticalHeader().hide()
        self.table.setMinimumHeight(90)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setToolTip("The factors: right-click a number in the Inspector and choose "
                              "'Vary this…' to add one; edit low, high and cost here")
        self.table.itemChanged.connect(self._cell_edited)
        self.remove_button = QPushButton("Remove factor")
        self.remove_button.clicked.connect(self.remove_selected)
        self.design = QComboBox()
        for key in DESIGNS:
            self.design.addItem(DESIGN_LABELS.get(key, key), key)
        self.design.currentIndexChanged.connect(lambda _i: self._design_changed())
        self.points_spin = QSpinBox()
        self.points_spin.setRange(2, 100_000)
        self.points_spin.setValue(3)
        self.points_spin.valueChanged.connect(self._points_edited)
        self.points_label = QLabel("levels per range")
        self.responses = QListWidget()
        self.responses.setMinimumHeight(80)
        self.responses.setToolTip("The KPIs the study records and charts (the first is the one "
                                  "a precision target applies to)")
        self.replications = QSpinBox()
        self.replications.setRange(1, 10_000)
        self.replications.setValue(5)
        self.replications.valueChanged.connect(lambda _v: self._show_size())
        self.precision = QDoubleSpinBox()
        self.precision.setRange(0.0, 1.0)
        self.precision.setDecimals(3)
        self.precision.setSingleStep(0.01)
        self.precision.setSpecialValueText("fixed")
        self.precision.setToolTip("Run each point until the 95% half-width of the first "
                                  "response is below this share of its mean (replications "
                                  "then caps it); 'fixed' runs exactly the replications")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setValue(1)
        self.margin = QDoubleSpinBox()
        self.margin.setRange(0.0, 1e9)
        self.margin.setDecimals(2)
        self.margin.setSpecialValueText("none")
        self.margin.setToolTip("The margin per good part: gives the 'profit' response")
        self.horizon = QComboBox()
        self.horizon.setToolTip("How long each run simulates (the warm-up is the project's, "
                                "at most half of it)")
        self.size = QLabel("")
        self.size.setStyleSheet("color: gray")
        self.executor = QComboBox()
        self.executor.addItem("threads", "threads")
        self.executor.addItem("process pool", "processes")
        self.executor.setToolTip("Where the runs go: threads of the workbench (the kernel runs "
                                 "on every core; starts at once) or a pool of spawned "
                                 "processes (each loads the kernel first: for long studies)")
        self.run_button = QPushButton("Run study")
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.save_button = QPushButton("Save to project")
        self.save_button.setToolTip("Put this experiment in the project (undoable; saved with "
                                    "the project file)")
        self.save_button.clicked.connect(self.save)
        self.progress = QProgressBar()
        self.poll = QTimer(self)
        self.poll.setInterval(100)
        self.poll.timeout.connect(self._poll)
        self.progress.setRange(0, 1000)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d03030")
        self.analysis = AnalysisBox(self)
        self.responses.itemChanged.connect(self._responses_ticked)
        self.charts = ExperimentCharts()
        self.charts.point_chosen.connect(self.make_scenario)

        # the dock sits under the 3D view, wide and low (about 980 x 215 px in the default
        # window): the set-up runs across in columns (factors and responses | design and Run |
        # charts, a splitter between each) instead of one tall column that scrolled sideways
        # and clipped its rows ("levels per ra…") before its Run button came into view
        top = QHBoxLayout()
        top.addWidget(QLabel("Experiment"))
        top.addWidget(self.name, 1)
        top.addWidget(self.saved)
        top.addWidget(self.save_button)
        factors = QVBoxLayout()
        factors.setContentsMargins(0, 0, 0, 0)
        factors.addWidget(self.table, 1)
        factors.addWidget(self.remove_button, 0, Qt.AlignLeft)
        chosen = QVBoxLayout()
        chosen.setContentsMargins(0, 0, 0, 0)
        chosen.addWidget(QLabel("responses"))
        chosen.addWidget(self.responses, 1)
        self.responses.setMinimumHeight(60)
        self.table.setMinimumHeight(70)
        lists = QHBoxLayout()
        lists.addLayout(factors, 2)  # factor names (filler.servers) before KPI names
        lists.addLayout(chosen, 1)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addLayout(top)
        lv.addLayout(lists, 1)
        # design and run: label-field pairs two to a row, so the six fit the dock's height
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(QLabel("design"), 0, 0)
        grid.addWidget(self.design, 0, 1, 1, 3)
        grid.addWidget(self.points_label, 1, 0)
        grid.addWidget(self.points_spin, 1, 1)
        grid.addWidget(QLabel("seed"), 1, 2)
        grid.addWidget(self.seed, 1, 3)
        grid.addWidget(QLabel("replications"), 2, 0)
        grid.addWidget(self.replications, 2, 1)
        grid.addWidget(QLabel("precision"), 2, 2)
        grid.addWidget(self.precision, 2, 3)
        grid.addWidget(QLabel("horizon"), 3, 0)
        grid.addWidget(self.horizon, 3, 1)
        grid.addWidget(QLabel("margin/part"), 3, 2)
        grid.addWidget(self.margin, 3, 3)
        grid.addWidget(self.size, 4, 0, 1, 4)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.executor)
        buttons.addWidget(self.progress, 1)
        self.size.setWordWrap(True)
        settings = QWidget()
        sv = QVBoxLayout(settings)
        sv.setContentsMargins(0, 0, 0, 0)
        sv.addLayout(grid)
        sv.addLayout(buttons)
        sv.addWidget(self.status)
        sv.addWidget(self.error)
        sv.addWidget(self.analysis)
        sv.addStretch(1)
        # what does not fit (the analysis box, a long message) scrolls down, never sideways
        self.settings_scroll = scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setFrameShape(QScrollArea.NoFrame)
        scroll.setWidget(settings)
        # the analysis box under Run is wider than the rows above it: it is not what sets the
        # column's width (nor, through it, the window's smallest width)
        scroll.setMinimumWidth(300)
        self.split = split = QSplitter(Qt.Horizontal)
        split.addWidget(left)
        split.addWidget(scroll)
        split.setChildrenCollapsible(False)
        left.setMinimumWidth(280)
        split.setSizes([425, 555])  # in proportion; the analysis box needs 535 px
        # the charts on a page of their own, at the dock's full width: beside the set-up they
        # had a third of a low dock, and nothing to show before a study
        self.pages = QTabWidget()
        self.pages.setDocumentMode(True)
        self.pages.addTab(split, "Set &up")
        self.pages.addTab(self.charts, "Re&sults")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.pages)
        self._design_changed()
        self._enable()

    # --- the project ----------------------------------------------------------------------
    def set_project(self, project: m.Project, stack: cmd.UndoStack) -> None:
        self.cancel()
        if self.stack is not None:
            self.stack.index_changed.disconnect(self._edited)
        self.project, self.stack = project, stack
        # an undo of "Save to project" (or a redo) changes the experiments listed
        stack.index_changed.connect(self._edited)
        self.factors = []
        self.data = None
        self.charts.clear()  # the last project's study
        self.opened, self.points_unset = None, False
        self._taken: str | None = None
        self._fill_table()
        self._kept = set()
        self._fill_responses(DEFAULT_RESPONSES)
        self._fill_saved()
        self._fill_horizons(None)
        if project.experiments:  # the factors chosen last time, "Vary this…"'s among them
            self.load(project.experiments[-1].name)
        self._enable()

    def _fill_horizons(self, chosen: float | None) -> None:
        """The project's horizon first (the default), then the usual ones."""
        self.horizon.clear()
        own = self.project.run.horizon
        self.horizon.addItem(f"project's ({format_duration(own)})", None)
        for text, seconds in HORIZONS:
            self.horizon.addItem(text, seconds)
        if chosen is not None:
            i = self.horizon.findData(chosen)
            if i < 0:
                self.horizon.addItem(format_duration(chosen), chosen)
                i = self.horizon.count() - 1
            self.horizon.setCurrentIndex(i)

    def _edited(self, *_) -> None:
        """An edit or an undo: the experiments listed, and the KPIs offered when elements
        came or went (each element has KPIs of its own); the opened experiment as the
        project has it now (an undo of "Vary this…" takes its factor away again)."""
        self._fill_saved()
        # the experiment an undo took away: a redo brings it back into view (the dock said
        # "no factors" while the project held it again, newfix3 §2)
        name = self.opened.name if self.opened is not None else self._taken
        if name is not None:
            now = next((e for e in self.project.experiments if e.name == name), None)
            if now is not self.opened:
                self.opened = now
                self._taken = name if now is None else None
                self.factors = list(now.factors) if now is not None else []
                if now is not None:
                    self.set_responses(now.responses)
                self._fill_table()
                self._enable()
        if self.data is not None and not set(self.data.factors) <= {f.name for f in self.factors}:
            self.data = None  # the study drawn varied a factor no longer here
            self.charts.clear()
        ids = tuple(el.id for el in self.project.elements)
        if ids != self._ids:
            self._fill_responses(self.chosen_responses())
            self._fill_table()  # a factor whose element went (or came back) is marked
        self._recheck()

    def _fill_responses(self, checked) -> None:
        self._ids = tuple(el.id for el in self.project.elements)
        try:
            names = kpi_names(self.project) if self.project.elements else []
        except ProjectError:  # a layout still being built has no KPIs yet
            names = []
        names = list(names) + list(DERIVED_RESPONSES)
        wanted = self._kept | set(checked)
        self._kept = wanted - set(names)
        self.responses.blockSignals(True)  # one refresh below, not one per item
        self.responses.clear()
        for n in names:
            item = QListWidgetItem(n)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Checked if n in wanted else Qt.Unchecked)
            self.responses.addItem(item)
        self.responses.blockSignals(False)
        self._responses_ticked()

    def _responses_ticked(self, *_) -> None:
        self.analysis.set_response((self.chosen_responses() or [None])[0])
        self._show_size()
        self._recheck()

    def _recheck(self) -> None:
        """Clear the red message of a refused experiment once the dock's state is valid."""
        if not self._state_error or self.error.text() != self._state_error:
            return  # another message since, or none
        try:
            self.experiment()
        except (ValueError, InputError):
            return
        self._state_error = ""
        self.error.setText("")

    def _fill_saved(self, *_) -> None:
        keep = self.saved.currentText()
        self.saved.clear()
        names = [e.name for e in getattr(self.project, "experiments", [])]
        self.saved.addItems(names)
        if keep in names:
            self.saved.setCurrentText(keep)
        self.saved.setVisible(bool(names))

    def chosen_responses(self) -> list[str]:
        """The ticked responses: those set (``set_responses``, an opened experiment's) in
        their order first, the first being the primary, then the others ticked."""
        ticked = [self.responses.item(i).text() for i in range(self.responses.count())
                  if self.responses.item(i).checkState() == Qt.Checked]
        return [n for n in self._order if n in ticked] + \
            [n for n in ticked if n not in self._order]

    def set_responses(self, names) -> None:
        self._order = list(names)
        listed = {self.responses.item(i).text() for i in range(self.responses.count())}
        self._kept = set(names) - listed
        for i in range(self.responses.count()):
            item = self.responses.item(i)
            item.setCheckState(Qt.Checked if item.text() in names else Qt.Unchecked)

    # --- factors --------------------------------------------------------------------------
    def add_factor(self, factor: Factor) -> None:
        """Add ``factor`` (replacing one of the same name)."""
        self.factors = [f for f in self.factors if f.name != factor.name] + [factor]
        self._fill_table()
        self.message.emit(f"factor {factor.name}: {factor.low:g} … {factor.high:g}")

    def keep_factor(self, factor: Factor, also: cmd.Command | None = None) -> None:
        """"Vary this…": add ``factor`` and put the experiment into the project, one undoable
        step (with ``also``, the What-if sliders' positions, in the same step). Held in the
        dock alone, a factor chosen in the Inspector was lost on quit: the window knew of no
        edit to save (polish2 §3)."""
        self.add_factor(factor)
        self._keep(f"vary {factor.name}", also)

    def _keep(self, what: str, also: cmd.Command | None = None) -> None:
        """Put the experiment as the dock shows it into the project as the undoable step
        ``what``: a factor varied, or its range edited in the table (which needed *Save to
        project*, and was lost on quit without it: polish3 §5)."""
        if self.stack is None or self.project is None:
            return
        taken = [e.name for e in self.project.experiments]
        if self.opened is None and self.name.text().strip() in taken:  # never another's
            self.name.setText(next(f"experiment {i}" for i in range(1, len(taken) + 2)
                                   if f"experiment {i}" not in taken))
        try:
            exp = self.experiment()
        except ValueError as e:
            self.error.setText(f"{e}; then Save to project keeps the factors with the project")
            self._state_error = self.error.text()
            if also is not None:
                self.stack.push(also)
            return
        step = cmd.SetExperiment(exp)
        step.text = f"{what} in experiment {cmd.named(exp.name)}"
        if also is not None:
            step = cmd.Macro([step, also], step.text)
        self.opened = exp  # before the push: the dock shows what the project now holds
        self.stack.push(step)
        self.saved.setCurrentText(exp.name)

    def remove_selected(self) -> None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True)
        for r in rows:
            del self.factors[r]
        self._fill_table()

    def range_problems(self) -> dict[int, str]:
        """Why a factor's range leaves the valid values, by row: a stored range like that
        no longer stops the project's Run, so it is named here (newfix3 §1)."""
        if self.project is None or not self.factors:
            return {}
        found = factor_range_problems(self.project, Experiment("dock", tuple(self.factors)))
        return {int(p.path.split("[")[-1].rstrip("]")): p.message for p in found}

    def _fill_table(self) -> None:
        bad = self.range_problems()
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.factors))
        for r, f in enumerate(self.factors):
            lo, hi = f.bounds
            cells = (f.name, f"{lo:g}", f"{hi:g}", "", f"{f.cost_per_unit:g}")
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c in (0, 3):
                    item.setFlags(item.flags() & ~Qt.ItemIsEditable)
                if c == 3:
                    item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
                    item.setCheckState(Qt.Checked if f.integer else Qt.Unchecked)
                if (c == 0 and self.project is not None and f.element is not None
                        and f.element not in self.project):
                    item.setForeground(QColor("#d03030"))
                    item.setToolTip(f"element {f.element!r} is no longer in the project: "
                                    "undo its deletion or remove this factor")
                elif c in (0, 1, 2) and r in bad:
                    item.setForeground(QColor("#d03030"))
                    item.setToolTip(f"{bad[r]}: narrow the range (low, high)")
                self.table.setItem(r, c, item)
        self.table.blockSignals(False)
        if bad:
            self.error.setText("; ".join(f"{m}: narrow its range in the table" for m in
                                         bad.values()))
        self._show_size()
        self._enable()

    def _cell_edited(self, item: QTableWidgetItem) -> None:
        r, c = item.row(), item.column()
        f = self.factors[r]
        try:
            if c in (1, 2, 4):
                v = float(item.text())
                if not math.isfinite(v):
                    raise ValueError
                key = {1: "low", 2: "high", 4: "cost_per_unit"}[c]
                new = replace(f, **{key: v}, levels=None)
            elif c == 3:
                new = replace(f, integer=item.checkState() == Qt.Checked)
            else:
                return
            if new.low is not None and not new.high > new.low:
                raise ValueError(f"low ({new.low:g}) must be below high ({new.high:g})")
        except ValueError as e:
            self.error.setText(f"{f.name}: {str(e) or 'expected a number, got ' + item.text()!r}")
            self._fill_table()
            return
        self.error.setText("")
        self.factors[r] = new
        self._fill_table()
        if new != f:
            what = {1: "low", 2: "high", 3: "whole numbers", 4: "cost per unit"}[c]
            self._keep(f"set {new.name} {what}")

    # --- design ---------------------------------------------------------------------------
    def design_key(self) -> str:
        return self.design.currentData()

    def _design_changed(self) -> None:
        full = self.design_key() == "full_factorial"
        self.points_label.setText("levels per range" if full else "points")
        self.points_spin.setValue(3 if full else max(self.points_spin.value(), 20))
        self._show_size()

    def experiment(self) -> Experiment:
        """The experiment as the dock shows it (``ValueError``: what is missing)."""
        if not self.factors:
            raise ValueError("no factors: right-click a number in the Inspector and choose "
                             "'Vary this…'")
        responses = self.chosen_responses()
        if not responses:
            raise ValueError("no responses: tick at least one KPI")
        if "profit" in responses and not self.margin.value():
            raise ValueError("'profit' needs the margin per good part: set margin/part")
        name = self.name.text().strip()
        if not name:
            raise ValueError("give the experiment a name")
        horizon = self.horizon.currentData()
        opened = self.opened if self.opened is not None else Experiment(name, ())
        if opened.warmup is not None:
            warmup = opened.warmup if horizon is None else min(opened.warmup, horizon / 2)
        else:
            warmup = None if horizon is None else min(self.project.run.warmup, horizon / 2)
        design = self.design_key()
        points = None if self.points_unset and design == "full_factorial" \
            else self.points_spin.value()
        return replace(opened, name=name, factors=tuple(self.factors), design=design,
                       points=points, responses=tuple(responses),
                       replications=self.replications.value(),
                       precision=self.precision.value() or None, seed=self.seed.value(),
                       horizon=horizon, warmup=warmup, margin=self.margin.value() or None)

    def _points_edited(self, _value: int) -> None:
        self.points_unset = False  # the user's (or a change of design's) number from now on
        self._show_size()

    def _show_size(self) -> None:
        try:
            exp = self.experiment()
            n = len(design_points(exp.factors, exp.design, exp.points, exp.seed))
        except (ValueError, InputError) as e:  # InputError: the design's own (DesignError)
            self.size.setText(str(e))
            return
        reps = exp.replications
        self.size.setText(f"{n} design points x {'up to ' if exp.precision else ''}{reps} "
                          f"replications = {'up to ' if exp.precision else ''}{n * reps} runs")

    # --- saving ---------------------------------------------------------------------------
    def save(self) -> None:
        """Put the experiment into the project (one undoable command)."""
        try:
            exp = self.experiment()
        except ValueError as e:
            self.error.setText(str(e))
            self._state_error = self.error.text()
            return
        self.stack.push(cmd.SetExperiment(exp))  # the list follows the stack (_edited)
        self.error.setText("")
        self.saved.setCurrentText(exp.name)
        self.message.emit(f"experiment {exp.name!r} saved in the project")

    def load(self, name: str) -> None:
        """Show the project's experiment ``name``."""
        exp = next((e for e in self.project.experiments if e.name == name), None)
        if exp is None:
            return
        self.name.setText(exp.name)
        self.factors = list(exp.factors)
        self.design.setCurrentIndex(self.design.findData(exp.design))
        if exp.points:
            self.points_spin.setValue(exp.points)
        self.replications.setValue(exp.replications)
        self.precision.setValue(exp.precision or 0.0)
        self.seed.setValue(exp.seed)
        self.set_responses(exp.responses)
        self._fill_horizons(exp.horizon)
        self.margin.setValue(exp.margin or 0.0)
        self.opened = exp
        self.points_unset = exp.points is None
        self.analysis.show_experiment(exp)
        self._fill_table()

    # --- running --------------------------------------------------------------------------
    def run(self) -> None:
        """Run the study (``twin.experiments.study.run_study``) on a background job: progress
        per finished point, cancel."""
        try:
            exp = self.experiment()
            total = len(design_points(exp.factors, exp.design, exp.points, exp.seed))
        except (ValueError, InputError) as e:  # a bad range or design: the user's to fix
            self.error.setText(str(e))
            self._state_error = self.error.text()
            return
        project, executor = self.snapshot(), self.executor.currentData()
        if project is None:
            return

        def study(task: TaskState):
            def points_done(done: int, total: int) -> None:  # on the job's thread
                task.set_progress_value(100.0 * done / total, f"{done} of {total} points")

            return run_study(project, exp, executor=executor, task=task,
                             points_done=points_done)

        self.start_job(study, lambda res: self._study_done(exp, res), f"running {total} points…",
                       "study")

    def snapshot(self) -> m.Project | None:
        """A copy of the project for a job, made here on the GUI thread: the job reads it while
        the user goes on editing the original. (With the threads executor a study still reads
        each design point's model on the job's thread; automatic garbage collection waits
        while it runs, ``twin.tasks.pause_collection``.)

        ``None``, with the reader's problems under the table, when the project as it stands
        cannot be run (an element left unconnected, a factor naming a deleted element): the
        user's to fix, not a crash of the window."""
        try:
            return copy_project(self.project)
        except ProjectError as e:
            self.error.setText(f"the project cannot be run as it stands; fix it first: {e}")
            return None

    def start_job(self, fn, done, status: str, what: str) -> Job | None:
        """Run ``fn(task)`` on a job with the dock's progress bar and Cancel; ``done(result)``
        on the GUI thread when it returns. One job at a time."""
        if self.project is None or self.is_running():
            return None
        self.error.setText("")
        job = Job(fn, parent=self)
        job.what = what
        job.finished.connect(lambda res, j=job: self._finished(j, res, done))
        job.failed.connect(lambda msg, tb, j=job: self._failed(j, msg, tb))
        job.cancelled.connect(lambda j=job: self._cancelled(j))
        self.job = job
        self.progress.setValue(0)
        self.status.setText(status)
        self.poll.start()
        job.start()
        self._enable()
        return job

    def _poll(self) -> None:
        """The job's progress and message, polled (the job reports from its thread)."""
        job = self.job
        if job is None:
            self.poll.stop()
            return
        self.progress.setValue(int(job.task.progress * 10))
        if job.task.message:
            self.status.setText(job.task.message)

    def is_running(self) -> bool:
        return self.job is not None and self.job.is_running()

    def cancel(self) -> None:
        if self.job is not None and self.job.is_running():
            self.job.cancel()

    def _finished(self, job: Job, result, done) -> None:
        if job is not self.job:
            return
        self.job = None
        self.progress.setValue(1000)
        self._enable()
        done(result)

    def _study_done(self, exp: Experiment, res) -> None:
        self.status.setText(f"{len(res.points)} points, {int(res.replications.sum())} "
                            "replications in all")
        self.data = StudyData.from_study(res)
        self.experiment_run = exp
        self.charts.show_study(self.data)
        self.show_results()
        self.study_shown.emit(self.data)

    def _failed(self, job: Job, msg: str, tb) -> None:
        if job is self.job:
            self.job = None
            self.status.setText("")
            self.error.setText(f"the {job.what} failed: {msg}")
            self.message.emit(f"{job.what} failed: {msg}" + (f"\n{tb}" if tb else ""))
            self._enable()

    def _cancelled(self, job: Job) -> None:
        if job is self.job:
            self.job = None
            self.status.setText(f"{job.what} cancelled")
            self._enable()

    def _enable(self) -> None:
        running = self.is_running()
        self.run_button.setEnabled(not running and bool(self.factors) and self.project is not None)
        self.cancel_button.setEnabled(running)
        self.save_button.setEnabled(bool(self.factors) and self.stack is not None)
        self.remove_button.setEnabled(bool(self.factors))
        ready = not running and bool(self.factors) and self.project is not None
        self.analysis.sensitivity_button.setEnabled(ready and len(self.factors) > 1)
        self.analysis.optimise_button.setEnabled(ready)

    # --- a point becomes a scenario ---------------------------------------------------------
    def show_results(self) -> None:
        """The Results page in front: a study or an analysis has just drawn its charts."""
        self.pages.setCurrentWidget(self.charts)

    def make_scenario(self, index: int) -> str | None:
        """Design point ``index`` of the study shown as a new scenario (one undoable
        command); returns its name."""
        if self.data is None or self.stack is None:
            return None
        exp = self.experiment_run
        if not self.factors_exist(exp.factors):
            return None
        point = self.data.points[index]
        name = _scenario_name(self.project, f"{exp.name} point {index}")
        desc = ", ".join(f"{k} = {v:g}" for k, v in point.items())
        try:
            self.stack.push(cmd.AddScenario(name, point_overrides(exp.factors, point),
                                            f"design point {index} of {exp.name}: {desc}"))
        except (ValueError, KeyError) as e:
            self.error.setText(str(e))
            return None
        self.message.emit(f"scenario {name!r}: {desc}")
        self.scenario_made.emit(name)
        return name

    def factors_exist(self, factors) -> bool:
        """Whether every factor's element is still in the project; if not, says which under
        the table. (A scenario made of a study or an optimisation run before the element was
        deleted would override an element that is gone: a project file the reader refuses.)"""
        gone = [f for f in factors if f.element is not None and f.element not in self.project]
        if gone:
            names = ", ".join(f"{f.name} (element {f.element!r})" for f in gone)
            self.error.setText(f"no scenario made: {names} no longer in the project; undo the "
                               "deletion, or remove the factor and run again")
        return not gone

    def scenario_name(self, stem: str) -> str:
        """``stem``, or ``stem (2)``, ``stem (3)``... if the project has it already."""
        return _scenario_name(self.project, stem)

    def shutdown(self) -> None:
        """The window closes: stop polling, abandon the job (a process pool's workers are
        terminated, not waited for; points a study wrote to its file stay there) and wait
        for its thread."""
        self.poll.stop()
        job = self.job
        if job is not None and job.is_running():
            job.task.abandon()
        if job is not None:
            job.wait()

