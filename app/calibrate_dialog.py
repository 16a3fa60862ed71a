"""Calibrate the project from the open recording, and keep the fits as a scenario (issue 14 §7).

``twin.whatif.calibration.calibrate`` runs on a worker (``app.worker.Job``) on a copy of the
project made on the GUI thread and its own handle of the recording file (closing the Replay
meanwhile cannot pull the file from under it). The dialog lists each station's fits: per
quantity every candidate distribution with its parameters, mean, AIC and Kolmogorov-Smirnov
p-value, the best first. Where every candidate is rejected (p below 1 - the interval level)
a warning says so above the table and the rows are marked: the best fit is then only the
least bad one.

"Save as scenario" pushes ``AddScenario`` with ``calibration_scenario``'s overrides on the
project's undo stack: the project's values stay as they are, Undo removes the scenario.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
)

from app.import_dialog import EndJobOnClose
from app.worker import Job
from twin.errors import InputError
from twin.model import commands as cmd
from twin.model import elements as m
from twin.projectfile.reader import copy_project
from twin.recording import Recording
from twin.tasks import TaskState

COLUMNS = ("station / quantity", "distribution", "parameters", "mean", "n (+censored)",
           "KS p", "AIC", "fit")
REJECTED_BG = QColor("#f8d7d3")
WARNING_STYLE = "color: #b35900; font-weight: bold;"


def _calibrate_job(project: m.Project, path: str, assets: dict | None, task: TaskState):
    """Worker side: reads the project copy and its own handle of the recording."""
    from twin.whatif.calibration import calibrate  # scipy: loaded when first used

    with Recording.open(path) as rec:
        return calibrate(project, rec, assets=assets)


def rejected(quantity, level: float) -> bool:
    """True when every candidate fit of ``quantity`` fails the KS test at ``1 - level``."""
    alpha = 1.0 - level
    return bool(quantity.fits) and all(f.ks_pvalue < alpha for f in quantity.fits)


class CalibrateDialog(QDialog):
    """Fit the stations of ``window``'s project to its open recording."""

    calibrated = Signal(object)  # twin.whatif.calibration.CalibrationReport
    scenario_added = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("calibrate_dialog")
        self.setWindowTitle("Calibrate from the recording")
        self.project: m.Project | None = None
        self.stack: cmd.UndoStack | None = None
        self.recording_path: str | None = None
        self.assets: dict | None = None
        self.report = None
        self.job: Job | None = None
        self.title = QLabel("")
        self.title.setWordWrap(True)
        self.run_button = QPushButton("Calibrate")
        self.run_button.setToolTip("Fit process times, failures and power per state of every "
                                   "station an asset is mapped to")
        self.busy = QProgressBar()
        self.busy.setRange(0, 1)
        self.busy.setMaximumWidth(160)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.warning = QLabel("")
        self.warning.setObjectName("calibration_warning")
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet(WARNING_STYLE)
        self.warning.hide()
        self.fits = QTreeWidget()
        self.fits.setColumnCount(len(COLUMNS))
        self.fits.setHeaderLabels(list(COLUMNS))
        self.fits.setAlternatingRowColors(True)
        self.notes = QLabel("")
        self.notes.setWordWrap(True)
        self.scenario_name = QLineEdit("calibrated")
        self.scenario_name.setToolTip("Name of the new scenario (the project's values stay)")
        self.save_button = QPushButton("Save as scenario")
        self.save_button.setToolTip("Add the best fits as a scenario of the project (undoable)")
        self.save_button.setEnabled(False)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.close)
        run = QHBoxLayout()
        run.addWidget(self.run_button)
        run.addWidget(self.busy)
        run.addWidget(self.status, 1)
        save = QHBoxLayout()
        save.addWidget(QLabel("Scenario"))
        save.addWidget(self.scenario_name, 1)
        save.addWidget(self.save_button)
        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addLayout(run)
        lay.addWidget(self.warning)
        lay.addWidget(self.fits, 1)
        lay.addWidget(self.notes)
        lay.addLayout(save)
        lay.addWidget(buttons)
        self.resize(1180, 640)
        self.run_button.clicked.connect(self.start)
        self.save_button.clicked.connect(self.save_scenario)

    def set_input(self, project: m.Project, stack: cmd.UndoStack, recording_path: str | None,
                  assets: dict | None) -> None:
        """Calibrate ``project`` from the recording at ``recording_path``; ``assets`` maps
        recorded assets to stations (None: the recording's own mapping)."""
        self.project, self.stack = project, stack
        self.recording_path, self.assets = recording_path, assets
        used = ", ".join(f"{a} → {e}" for a, e in (assets or {}).items())
        self.title.setText(
            f"Project {project.name!r}, recording "
            f"{Path(recording_path).name if recording_path else '(none open)'}; assets: "
            f"{used or 'as the recording maps them'}")
        self.scenario_name.setText(cmd.unique_scenario_name(project, "calibrated"))

    def is_running(self) -> bool:
        return self.job is not None

    def start(self) -> bool:
        """Calibrate on a worker; False (the reason shown) if it cannot start."""
        if self.job is not None or self.project is None:
            return False
        if self.recording_path is None:
            self._show_failure("no recording is open: open or import one (File menu) and map "
                               "its assets onto stations in the Replay panel")
            return False
        try:  # a copy, made on the GUI thread: editing goes on meanwhile
            snapshot = copy_project(self.project)
        except InputError as e:  # a layout being edited: no source, an unconnected station
            self._show_failure(f"the project cannot be calibrated as it is: {e}")
            return False
        path, assets = self.recording_path, self.assets
        job = Job(lambda task: _calibrate_job(snapshot, path, assets, task), parent=self)
        job.finished.connect(lambda rep, job=job: self._done(job, rep))
        job.failed.connect(lambda msg, tb, job=job: self._failed(job, msg, tb))
        job.cancelled.connect(lambda job=job: self._failed(job, "cancelled", None))
        self.job = job
        self.report = None
        self.fits.clear()
        self.warning.hide()
        self.notes.setText("")
        self.save_button.setEnabled(False)
        self.run_button.setEnabled(False)
        self.busy.setRange(0, 0)  # busy: calibrate reports no progress
        self.status.setText("calibrating…")
        job.start()
        return True

    def _end(self, job: Job) -> bool:
        job.deleteLater()
        if job is not self.job:
            return False
        self.job = None
        self.run_button.setEnabled(True)
        self.busy.setRange(0, 1)
        return True

    def _show_failure(self, msg: str) -> None:
        self.status.setText(f"Calibration failed: {msg}")
        self.status.setStyleSheet("color: #c0392b;")

    def _failed(self, job: Job, msg: str, tb: str | None) -> None:
        if self._end(job):
            self._show_failure(msg if tb is None else f"{msg} (a bug in twinbench; please "
                                                      f"report it)\n{tb}")

    def _done(self, job: Job, report) -> None:
        if not self._end(job):
            return
        self.report = report
        self.busy.setRange(0, 1)
        self.busy.setValue(1)
        self.status.setStyleSheet("")
        self.status.setText(f"{len(report.stations)} station(s) calibrated over "
                            f"{(report.window[1] - report.window[0]) / 3600:.1f} h of the "
                            f"recording; {100 * report.level:g}% intervals")
        self._fill(report)
        self.save_button.setEnabled(bool(report.stations))
        self.calibrated.emit(report)

    def _fill(self, report) -> None:
        alpha = 1.0 - report.level
        warnings = []
        for s in report.stations:
            top = QTreeWidgetItem(self.fits, [f"{s.element}", "", s.pooled])
            top.setFirstColumnSpanned(False)
            for q in (s.process_time, s.time_to_failure, s.time_to_repair):
                if q is None:
                    continue
                bad = rejected(q, report.level)
                qi = QTreeWidgetItem(top, [q.quantity, "", q.how, f"{q.sample_mean:.4g}",
                                           f"{q.n} (+{q.n_censored})", "", "",
                                           "all rejected" if bad else ""])
                if bad:
                    warnings.append(f"{s.element} {q.quantity}")
                if not q.fits:
                    qi.setText(7, q.note or "too few samples")
                for i, f in enumerate(q.fits):
                    params = ", ".join(f"{k}={v.value:.4g} [{v.ci_low:.4g}, {v.ci_high:.4g}]"
                                       for k, v in f.params.items())
                    verdict = "rejected" if f.ks_pvalue < alpha else "accepted"
                    fi = QTreeWidgetItem(qi, [("★ best" if i == 0 else ""), f.family, params,
                                              f"{f.mean.value:.4g}", str(f.n),
                                              f"{f.ks_pvalue:.3f}", f"{f.aic:.1f}", verdict])
                    fi.setToolTip(7, f"Kolmogorov-Smirnov test at {100 * alpha:g}%: "
                                     f"statistic {f.ks_statistic:.3f}")
                    if f.ks_pvalue < alpha:
                        for c in range(len(COLUMNS)):
                            fi.setBackground(c, REJECTED_BG)
            for p in s.power.values():
                e = p.mean_kw
                QTreeWidgetItem(top, [f"power {p.state}", "mean", f"[{e.ci_low:.3f}, "
                                      f"{e.ci_high:.3f}] kW", f"{e.value:.3f} kW", str(p.n),
                                      "", "", f"{p.time_s / 3600:.1f} h"])
            top.setExpanded(True)
            for i in range(top.childCount()):
                top.child(i).setExpanded(True)
        for c in range(len(COLUMNS)):
            self.fits.resizeColumnToContents(c)
        if warnings:
            self.warning.setText(
                "⚠ Every candidate distribution is rejected by the Kolmogorov-Smirnov test "
                f"(p < {alpha:g}) for: {'; '.join(warnings)}. The best fit by AIC is only the "
                "least bad; check the data, the asset mapping or the time window before using "
                "it.")
            self.warning.show()
        notes = [n for s in report.stations for n in s.notes] + list(report.notes)
        self.notes.setText("\n".join(f"note: {n}" for n in notes))

    def rejected_quantities(self) -> list[str]:
        """``"<station> <quantity>"`` of every quantity whose candidates all were rejected."""
        if self.report is None:
            return []
        return [f"{s.element} {q.quantity}" for s in self.report.stations
                for q in (s.process_time, s.time_to_failure, s.time_to_repair)
                if q is not None and rejected(q, self.report.level)]

    def save_scenario(self) -> bool:
        """Add the fits as a scenario through the undo stack; False (why shown) if not."""
        if self.report is None or self.stack is None:
            return False
        from twin.whatif.calibration import calibration_scenario

        name = self.scenario_name.text().strip()
        try:
            cmd.check_scenario_name(self.project, name)
            sc = calibration_scenario(self.report, name, self.project)
            self.stack.push(cmd.AddScenario(sc.name, sc.overrides, sc.description))
        except (ValueError, InputError) as e:
            self._show_failure(str(e))
            return False
        self.status.setStyleSheet("")
        self.status.setText(f"scenario {name!r} added with {len(sc.overrides)} overrides "
                            "(not applied; Edit > Undo removes it)")
        self.scenario_name.setText(cmd.unique_scenario_name(self.project, "calibrated"))
        self.scenario_added.emit(name)
        return True

    def end_job(self) -> None:
        """Wait for a running calibration (it has no cancel; it takes seconds)."""
        if self.job is not None:
            self.job.wait()

    def closeEvent(self, ev):  # noqa: N802 - Qt override
        self.end_job()
        super().closeEvent(ev)


def show_calibrate_dialog(window) -> CalibrateDialog:
    """Show ``window``'s calibrate dialog for its project and open recording, and start."""
    dlg = getattr(window, "calibrate_dialog", None)
    if dlg is None:
        dlg = window.calibrate_dialog = CalibrateDialog(window)
        EndJobOnClose(window, dlg)
        dlg.scenario_added.connect(lambda name: window.log(
            f"calibration: scenario {name!r} added (Undo removes it)"))
    rp = window.replay
    path = str(rp.recording.path) if rp.recording is not None else None
    mapped = {a: e for a, e in rp.elements.items() if e}
    dlg.set_input(window.project, window.stack, path, mapped or None)
    dlg.show()
    dlg.raise_()
    if not dlg.is_running():
        dlg.start()
    return dlg
