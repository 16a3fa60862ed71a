"""Sensitivity and optimisation of the Experiments dock's experiment (issue 17 §2, §3, §5).

The selection report is written here, not by ``twinbench optimize``'s printer: the
workbench may not import ``app.cli``'s command modules (the layers contract of
``app.cli``); the figures are the same ``OptimizationResult``'s.

*Sensitivity* runs ``twin.experiments.sensitivity.sensitivity`` (SALib: Sobol' indices or
Morris screening, each index with its interval) over the factors' ranges and draws the
tornado chart. *Optimise* runs ``twin.experiments.optimize.optimize`` (Optuna, then a
ranking-and-selection procedure on fresh replications) with the goal and the budget set
here, and shows the selection report; *Make the best a scenario* adds the selected point as a
scenario through one command. Both run as the dock's job (its progress bar and Cancel).
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QSpinBox,
)

from app.experiment_charts import larger_is_better
from twin.experiments.optimize import optimize, optimum_command
from twin.experiments.sensitivity import sensitivity
from twin.experiments.spec import Constraint, Objective


def _stat(stats: dict, name: str) -> str:
    s = stats.get(name)
    if not s:
        return "–"
    hw = s.get("ci95_halfwidth")
    return f"{s['mean']:.4g} ± {hw:.2g}" if hw is not None and hw == hw else f"{s['mean']:.4g}"


def selection_report(res) -> str:
    """An ``OptimizationResult`` in words: the search, the candidates simulated again with
    their 95% intervals, the selection's statement and the notes."""
    goals = ", ".join(f"{'maximise' if o.sense == 'max' else 'minimise'} {o.response}"
                      for o in res.objectives)
    cons = "; ".join(" ".join([c.response, *([f"≥ {c.min:g}"] if c.min is not None else []),
                               *([f"≤ {c.max:g}"] if c.max is not None else [])])
                     for c in res.constraints)
    feasible = sum(t.feasible for t in res.trials)
    lines = [f"Experiment {res.experiment}: {goals}" + (f", subject to {cons}" if cons else ""),
             f"Search: {len(res.trials)} trials ({res.sampler}), {res.simulated_points} points "
             f"simulated, {feasible} within the constraints; seed {res.seed}", ""]
    if res.candidates:
        names = [o.response for o in res.objectives] + [
            c.response for c in res.constraints if c.response not in
            {o.response for o in res.objectives}]
        lines.append("Candidates simulated again (mean ± 95% half-width):")
        for k, c in enumerate(res.candidates):
            point = ", ".join(f"{n} = {v:g}" for n, v in c.point.items())
            values = "; ".join(f"{n} {_stat(c.stats, n)}" for n in names)
            sel = res.selection
            if sel is not None and sel.differences and k != sel.best:
                # paired with the best replication by replication (common random numbers):
                # far narrower than the two candidates' own intervals
                values += "; vs best " + _stat({"d": {
                    "mean": sel.differences[k],
                    "ci95_halfwidth": sel.difference_halfwidths[k]}}, "d")
            mark = "  (best)" if res.best is not None and c.point == res.best else ""
            lines.append(f"  {k + 1}. {point}: {values}"
                         f"{'' if c.feasible else ' (misses a constraint)'}{mark}")
        lines.append("")
    if res.selection is not None:
        lines.append(res.selection.statement())
    elif res.best is None and len(res.objectives) > 1:
        lines.append("Several objectives: the candidates above are the Pareto front; choose "
                     "among them")
    lines += [f"Note: {n}" for n in res.notes]
    return "\n".join(lines)


class AnalysisBox(QGroupBox):
    """The sensitivity and optimisation controls under the dock's form."""

    def __init__(self, dock, parent=None):
        super().__init__("Sensitivity and optimisation", parent)
        self.dock = dock
        self.result = None  # the last OptimizationResult
        self.method = QComboBox()
        self.method.addItem("Sobol' indices", "sobol")
        self.method.addItem("Morris screening", "morris")
        self.method.setToolTip("Sobol': first-order and total indices with intervals "
                               "(N x (factors + 2) points); Morris: elementary effects, "
                               "cheaper, for screening many factors")
        self.samples = QSpinBox()
        self.samples.setRange(2, 100_000)
        self.samples.setValue(64)
        self.samples.setToolTip("Sobol': the base sample N (a power of two); Morris: the "
                                "trajectories")
        self.sensitivity_button = QPushButton("Sensitivity")
        self.sensitivity_button.setToolTip("Which factors move the first response: the "
                                           "tornado chart")
        self.sensitivity_button.clicked.connect(self.run_sensitivity)
        self.goal = QComboBox()
        self.goal.addItem("maximise", "max")
        self.goal.addItem("minimise", "min")
        self.goal.setToolTip("The goal for the experiment's objective (an experiment opened "
                             "from the project), else for the first response")
        self.budget = QDoubleSpinBox()
        self.budget.setRange(0.0, 1e12)
        self.budget.setDecimals(0)
        self.budget.setSpecialValueText("no limit")
        self.budget.setToolTip("The most the factors may cost (their cost per unit x value)")
        self.trials = QSpinBox()
        self.trials.setRange(4, 100_000)
        self.trials.setValue(40)
        self.optimise_button = QPushButton("Optimise")
        self.optimise_button.setToolTip("Search with Optuna, then re-simulate the best "
                                        "candidates and select the best with 95% confidence")
        self.optimise_button.clicked.connect(self.run_optimise)
        self.scenario_button = QPushButton("Make the best a scenario")
        self.scenario_button.setEnabled(False)
        self.scenario_button.clicked.connect(self.best_as_scenario)
        grid = QGridLayout(self)
        grid.addWidget(self.method, 0, 0)
        grid.addWidget(QLabel("samples"), 0, 1)
        grid.addWidget(self.samples, 0, 2)
        grid.addWidget(self.sensitivity_button, 0, 3)
        grid.addWidget(self.goal, 1, 0)
        grid.addWidget(QLabel("budget ≤"), 1, 1)
        grid.addWidget(self.budget, 1, 2)
        grid.addWidget(self.optimise_button, 1, 3)
        grid.addWidget(QLabel("trials"), 2, 1)
        grid.addWidget(self.trials, 2, 2)
        grid.addWidget(self.scenario_button, 2, 3)

    def show_experiment(self, exp) -> None:
        """An experiment opened from the project: its objective's goal, its budget and its
        trials in the boxes (``twinbench optimize`` reads the same)."""
        if exp.objectives:
            self.goal.setCurrentIndex(self.goal.findData(exp.objectives[0].sense))
        self.budget.setValue(next((c.max for c in exp.constraints
                                   if c.response == "budget" and c.max is not None), 0.0))
        if exp.trials:
            self.trials.setValue(exp.trials)

    def set_response(self, response: str | None) -> None:
        """The first response changed: propose its natural goal."""
        if response:
            self.goal.setCurrentIndex(0 if larger_is_better(response) else 1)

    def _experiment(self):
        try:
            return self.dock.experiment()
        except ValueError as e:
            self.dock.error.setText(str(e))
            return None

    def run_sensitivity(self) -> None:
        exp = self._experiment()
        if exp is None:
            return
        project, method, samples = self.dock.snapshot(), self.method.currentData(), \
            self.samples.value()
        if project is None:
            return

        def fn(task):
            # at the experiment's horizon, warm-up and margin (the experiment carries them)
            return sensitivity(project, exp, method=method, samples=samples, task=task)

        self.dock.start_job(fn, self._sensitivity_done,
                            f"sensitivity of {exp.responses[0]}…", "sensitivity analysis")

    def _sensitivity_done(self, res) -> None:
        bars = res.tornado()
        names = [b["factor"] for b in bars]
        value = [b["value"] for b in bars]
        half = [(b["high"] - b["low"]) / 2 for b in bars]
        first = [b.get("first_order") for b in bars] if res.method == "sobol" else None
        label = "total index ST" if res.method == "sobol" else "μ* (mean |elementary effect|)"
        self.dock.charts.show_sensitivity(names, value, half, first, label,
                                          f"{res.response}: {res.runs} runs, "
                                          f"{res.confidence:.0%} intervals")
        self.dock.status.setText(f"sensitivity: {res.runs} runs")
        self.dock.show_results()

    def run_optimise(self) -> None:
        exp = self._experiment()
        if exp is None:
            return
        # the experiment's own objective and constraints when it has them (one opened from
        # the project), the goal, budget and trials as the boxes say
        response = exp.objectives[0].response if exp.objectives else exp.responses[0]
        constraints = tuple(c for c in exp.constraints if c.response != "budget")
        if self.budget.value():
            constraints += (Constraint("budget", max=self.budget.value()),)
        exp = replace(exp, objectives=(Objective(response, self.goal.currentData()),),
                      constraints=constraints, trials=self.trials.value())
        project = self.dock.snapshot()
        if project is None:
            return

        def fn(task):
            return optimize(project, exp, task=task)

        self.dock.start_job(fn, lambda res: self._optimise_done(exp, res),
                            f"optimising {exp.responses[0]}…", "optimisation")

    def _optimise_done(self, exp, res) -> None:
        self.result = (exp, res)
        self.dock.charts.show_report(selection_report(res))
        self.dock.show_results()
        self.scenario_button.setEnabled(res.best is not None)
        self.dock.status.setText("optimisation done: see Selection")

    def best_as_scenario(self) -> str | None:
        """The selected point as a new scenario (one undoable command)."""
        if self.result is None or self.result[1].best is None:
            return None
        exp, res = self.result
        dock = self.dock
        if not dock.factors_exist(exp.factors):
            return None
        name = dock.scenario_name(f"{exp.name} best")
        desc = ", ".join(f"{k} = {v:g}" for k, v in res.best.items())
        dock.stack.push(optimum_command(dock.project, exp.factors, res.best, name,
                                        f"the optimum of {exp.name}: {desc}"))
        dock.experiment_run = exp
        dock.scenario_made.emit(name)
        return name
