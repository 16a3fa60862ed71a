"""The run panel: what to run, and the background job (``app.worker.Job``) that runs it.

``run_project`` runs on the job's thread, never the GUI thread. The worker only reports; a
30 Hz timer on the GUI thread reads the shared ``TaskState`` for the progress bar
(pyvistaqt's pull model), so a burst of progress updates never floods the event loop. The
worker also makes everything the dashboards and playback need, so the GUI thread only draws
(issue 3). Every outcome of a run, a bug included, ends in ``run_finished``, ``run_failed``
or ``run_cancelled`` and gives the Run button back.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import replace

from PySide6.QtCore import QEvent, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.dashboards import prepare_charts
from app.playback import Playback
from app.worker import Job
from kernels.warmup import is_compiling
from twin.errors import ProjectError
from twin.limits import LOG_ROW_BYTES, nbytes
from twin.model import elements as m
from twin.projectfile.reader import copy_project, scenario_variants
from twin.sim.estimate import estimate_run
from twin.sim.runner import RunSpec, pilot_seconds, run_project
from twin.tasks import TaskState
from twin.units import format_duration, parse_duration

PILOT_ABOVE_S = 3.0  # the rough estimate (events) above which a pilot times the run
LONG_RUN_S = 10.0  # a run the pilot finds longer is confirmed first (issue 14 §6)
# what the progress bar says while a run (or its pilot) waits for the kernel: on the first
# start with an empty cache that is tens of seconds, and "estimating the run time…" or 0 %
# read as a hang
WAITING_FOR_KERNEL = "waiting for the kernel to compile (first start only)…"
ESTIMATING = "estimating the run time…"


def _pilot_text() -> str:
    """What the bar says while the pilot (which first waits for the kernel) runs."""
    return WAITING_FOR_KERNEL if is_compiling() else ESTIMATING


# the state log kept for playback (one replication): beyond it the run keeps none. A year of
# the bottling line logs about 240 million state changes, 5.7 GB (benchmarks/bench_gui.py)
PLAYBACK_LOG_CAP = 1e9


def _workers() -> int:
    # leave one core to the GUI thread: with every core simulating, the window stutters
    return max(1, (os.cpu_count() or 1) - 1)


def _run_and_summarize(project, variants, spec, task):
    """Run the scenarios (``variants``: built on the GUI thread, see
    ``twin.projectfile.reader.scenario_variants``), compute the KPI summary and the charts'
    series, and index the first scenario's state log for playback, all on the worker, so the GUI
    thread only draws (indexing a 2000-day log on the GUI thread froze it for about a second).

    Returns ``(result, summary, playback or None, charts)``."""
    result = run_project(project, list(variants), spec, task, workers=_workers(),
                         variants=variants)
    first = next(iter(result.scenarios.values()))
    playback = (Playback(first, seed=result.spec.seed)
                if first.replications[0].log is not None else None)
    summary = result.summary()
    return result, summary, playback, prepare_charts(result, summary)


def eta_text(percent: float, elapsed: float) -> str:
    """" — about 4 min left" from the share done and the seconds it took ("" too early to
    tell: under 2 % or 1 s)."""
    if percent < 2 or elapsed < 1.0 or percent >= 100:
        return ""
    left = elapsed * (100.0 - percent) / percent
    return f" — about {human_time(left)} left"


def human_time(seconds: float) -> str:
    """A rough time as a user reads it: "40 s", "4 min", "2.5 h"."""
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


class RunPanel(QWidget):
    """Scenarios, horizon, warm-up and replications; Run and Cancel; progress."""

    run_started = Signal()
    run_finished = Signal(object)  # twin.sim.runner.RunResult
    run_failed = Signal(str, object)  # message, traceback (a bug) or None (the user's error)
    run_cancelled = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.project: m.Project | None = None
        self.task: TaskState | None = None
        self.job: Job | None = None
        # what a run does on its thread, (project, variants, spec, task) -> (result, summary,
        # playback, charts); tests replace it with jobs that fail
        self.run_job = _run_and_summarize
        # asks before a long run: True runs it now; the panel's own asks inline (never a
        # modal dialog) and returns False: its "Run it" button starts the run. Tests replace it
        self.confirm_long_run = self._ask_long_run
        self.pending = None  # (snapshot, variants, spec) of a long run waiting for "Run it"
        # edits of the model so far, and how many there were when the running (or last)
        # run's snapshot was taken: a run's results describe the model of its snapshot
        self.edits = self.snapshot_edits = 0
        self.pilot_job: Job | None = None
        self.last_estimate = ""  # "about 4 min, 1.2 GB" of the last long run asked about
        self.started_at = 0.0
        self.last_summary: dict = {}
        self.last_playback: Playback | None = None
        self.last_charts = None  # app.dashboards.ChartData of the last run
        self.scenarios = QListWidget()
        self.scenarios.setToolTip("Scenarios to run; each is compared with the first")
        self.horizon = QLineEdit()
        self.horizon.setToolTip("Simulated time, e.g. 8h, 2d or 3600 (seconds)")
        self.warmup = QLineEdit()
        self.warmup.setToolTip("Time discarded before statistics start, e.g. 30min")
        self.replications = QSpinBox()
        self.replications.setRange(1, 1000)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.record = QCheckBox("Record states (playback)")
        self.record.setToolTip(
            "Keep the state log of the first replication of the first scenario, for playback "
            "in 3D; the others run without it, so a long run's memory does not grow with "
            "its replications and scenarios (a saved results file logs each one again). A "
            f"log over {PLAYBACK_LOG_CAP / 1e9:g} GB is not kept: the run says so")
        self.record.setChecked(True)
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Run the selected scenarios in the background (F5)")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.stale_label = QLabel("results are stale: run again")
        self.stale_label.setToolTip("The model was edited after the last run: its charts and "
                                    "KPIs describe the layout as it was")
        self.stale_label.setStyleSheet("color: #b06000; font-weight: bold")
        self.stale_label.hide()
        # a refused setting is marked red with its reason under the form, as the Inspector
        # marks a field: the reason was only in the status bar and the Log tab
        self.fields = {"horizon": self.horizon, "warmup": self.warmup,
                       "replications": self.replications, "seed": self.seed}
        self.tips = {key: w.toolTip() for key, w in self.fields.items()}
        self.refused: dict[str, str] = {}
        self.field_error = QLabel("")
        self.field_error.setObjectName("run_field_error")
        self.field_error.setWordWrap(True)
        self.field_error.setStyleSheet("color: #d03030")
        self.field_error.hide()
        self.stale = False  # the results describe the model before an edit
        for w in (self.horizon, self.warmup):
            w.textEdited.connect(self._recheck)
        form = QFormLayout()
        form.addRow("Horizon", self.horizon)
        form.addRow("Warm-up", self.warmup)
        form.addRow("Replications", self.replications)
        form.addRow("Seed", self.seed)
        form.addRow(self.field_error)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        lay = QVBoxLayout(self)
        lay.addWidget(self.scenarios, 1)
        lay.addLayout(form)
        lay.addWidget(self.record)
        self.log_note = QLabel("")
        self.log_note.setWordWrap(True)
        lay.addWidget(self.log_note)
        self.confirm_bar = QWidget()
        self.confirm_text = QLabel("")
        self.confirm_text.setWordWrap(True)
        self.confirm_go = QPushButton("Run it")
        self.confirm_no = QPushButton("Don't run")
        bar = QVBoxLayout(self.confirm_bar)
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.confirm_text)
        row = QHBoxLayout()
        row.addWidget(self.confirm_go)
        row.addWidget(self.confirm_no)
        bar.addLayout(row)
        self.confirm_bar.hide()
        lay.addWidget(self.confirm_bar)
        self.confirm_go.clicked.connect(self._run_pending)
        self.confirm_no.clicked.connect(self._drop_pending)
        lay.addLayout(buttons)
        lay.addWidget(self.progress)
        lay.addWidget(self.stale_label)
        self.run_button.clicked.connect(self.start_run)
        self.cancel_button.clicked.connect(self.cancel)
        self._poll = QTimer(self)
        self._poll.setInterval(33)
        self._poll.timeout.connect(self._show_progress)

    # --- room for the wrapped notes ---------------------------------------------------------
    def _keep_room(self) -> None:
        """Ask the dock for the height the rows need at this width, the wrapped notes' lines
        included: a layout's minimum counts a word-wrapped label as one line, so the dock
        gave a four-line note its room by squeezing Warm-up, Replications and Seed to slivers
        (F19). The scenario list, stretched, gives way first. (A scroll area instead put the
        Run button below the fold and let the wheel change Replications: ff23895.) The red
        reason of a refused setting is such a note too: a warm-up's two lines were given
        the height of one, cut top and bottom."""
        margins = self.layout().contentsMargins()
        width = self.width() - margins.left() - margins.right()
        for label in (self.log_note, self.confirm_text, self.field_error):
            need = label.heightForWidth(width) if label.text() else 0
            if need != label.minimumHeight():
                label.setMinimumHeight(max(0, need))

    def event(self, e) -> bool:  # noqa: D401 - Qt override
        done = super().event(e)
        if e.type() == QEvent.LayoutRequest:  # a note's text came or went, a bar showed
            self._keep_room()
        return done

    def resizeEvent(self, e) -> None:  # noqa: N802 - Qt override: narrower, more lines
        super().resizeEvent(e)
        self._keep_room()

    def set_project(self, project: m.Project) -> None:
        self.project = project
        self.scenarios.clear()
        for name in ["base", *(s.name for s in project.scenarios)]:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Checked)
            self.scenarios.addItem(item)
        rs = project.run
        self.horizon.setText(format_duration(rs.horizon))
        self.warmup.setText(format_duration(rs.warmup))
        self.replications.setValue(rs.replications)
        self.seed.setValue(rs.seed)

    def mark_stale(self) -> None:
        """The model changed after the last run: say its results are stale."""
        self._set_stale(True)

    def _set_stale(self, stale: bool) -> None:
        """"run again" is no advice while a setting is refused: its reason shows instead."""
        self.stale = stale
        self.stale_label.setVisible(stale and not self.refused)

    def _mark(self, refused: dict[str, str]) -> None:
        """Mark the settings in ``refused`` (key -> reason) red, the others normal again."""
        self.refused = refused
        for key, w in self.fields.items():
            bad = key in refused
            if bool(w.property("invalid")) != bad:
                w.setProperty("invalid", bad)
                w.style().unpolish(w)
                w.style().polish(w)
            w.setToolTip(refused[key] if bad else self.tips[key])
        self.field_error.setText("\n".join(refused.values()))
        self.field_error.setVisible(bool(refused))
        self._set_stale(self.stale)

    def _recheck(self, *_) -> None:
        """Typing in a refused field: its mark goes as soon as it reads well."""
        if self.refused and self.project is not None:
            with contextlib.suppress(ValueError):  # spec() marks what it refuses
                self.spec()

    def note_edit(self) -> None:
        """The model changed: a run whose snapshot was taken before is stale when it ends."""
        self.edits += 1

    def _drop_pilot(self) -> None:
        """Forget a pilot still timing a run (its answer is not wanted any more)."""
        if self.pilot_job is not None:
            for sig in (self.pilot_job.finished, self.pilot_job.failed,
                        self.pilot_job.cancelled):
                sig.disconnect()
            self.pilot_job.wait()  # under a second or two; a running thread must not go
            self.pilot_job = None
            self.run_button.setEnabled(True)
            self.progress.setFormat("%p%")

    def reset(self) -> None:
        """Forget the last project's run (New, Open): a running one is cancelled and its
        outcome dropped, the progress and the stale mark go."""
        if self.job is not None:
            job = self.job
            for sig in (job.finished, job.failed, job.cancelled):
                sig.disconnect()
            self.cancel()
            job.wait()  # it stops within one chunk; deleting a running thread would crash
            self._end()
        self._drop_pilot()
        self._drop_pending()
        self.task = None
        self.progress.setValue(0)
        self._set_stale(False)
        self._mark({})
        self.last_summary, self.last_playback, self.last_charts = {}, None, None

    def chosen_scenarios(self) -> list[str]:
        return [self.scenarios.item(i).text() for i in range(self.scenarios.count())
                if self.scenarios.item(i).checkState() == Qt.Checked]

    def spec(self) -> RunSpec:
        """The run settings as typed; raises ``ValueError`` naming the bad field, which is
        marked red with its reason (and normal again once it reads well)."""
        out, refused = {}, {}
        for key, w in (("horizon", self.horizon), ("warmup", self.warmup)):
            try:
                out[key] = parse_duration(w.text().strip() or "0")
            except ValueError as e:
                refused[key] = f"{key}: {e}"
        if refused:
            self._mark(refused)
            raise ValueError("\n".join(refused.values()))
        spec = RunSpec.from_project(self.project, replications=self.replications.value(),
                                    seed=self.seed.value(), log=self.record.isChecked(), **out)
        try:
            spec.check()
        except ProjectError as e:
            self._mark({p.path: p.format() for p in e.problems if p.path in self.fields})
            raise
        self._mark({})
        return spec

    def is_running(self) -> bool:
        """A run is going: its pilot estimating the time, or the run itself."""
        return self.job is not None or self.pilot_job is not None

    @Slot()
    def start_run(self) -> bool:
        if self.project is None or self.job is not None or self.pilot_job is not None:
            return False
        try:
            spec = self.spec()
            names = self.chosen_scenarios()
            if not names:
                raise ValueError("tick at least one scenario to run")
            if spec.log:
                # the 3D view plays back the first scenario's first replication: only it
                # keeps its state log (400 MB for 2000 days); RunResult.state_log makes any
                # other one again on demand, and write_results does so for a saved file
                spec = replace(spec, log_only=((names[0], 0),))
            # the worker gets its own copy: editing on goes on while it runs
            snapshot = copy_project(self.project)
            self.snapshot_edits = self.edits
            # the scenarios are built here, on the GUI thread: a worker only reads models
            variants = scenario_variants(snapshot, names)
            # how big, before any of it: a run beyond the limits is refused (RunTooLarge)
            estimate = estimate_run(snapshot, spec, names, variants)
            self.log_note.setText("")
            log_bytes = estimate.log_rows * LOG_ROW_BYTES
            if spec.log and log_bytes > PLAYBACK_LOG_CAP:
                # the one log playback needs grows with the horizon: beyond the cap the run
                # goes without it, and says so (issue 14 §6)
                spec = replace(spec, log=False, log_only=None)
                estimate = estimate_run(snapshot, spec, names, variants)
                self.log_note.setText(
                    f"No playback for this run: its state log would take about "
                    f"{nbytes(log_bytes)} (at most {nbytes(PLAYBACK_LOG_CAP)} is kept); "
                    "a shorter horizon plays back")
        except (ProjectError, ValueError) as e:
            self.run_failed.emit(str(e), None)
            return False
        if estimate.seconds / _workers() > PILOT_ABOVE_S:
            return self._start_pilot(snapshot, variants, spec, estimate)
        return self._launch(snapshot, variants, spec)

    def _start_pilot(self, snapshot, variants, spec, estimate) -> bool:
        """Time a short slice of the run on a worker, then ask before a long run."""
        self.pilot_job = Job(lambda _task: pilot_seconds(
            snapshot, list(variants), spec, _workers(), estimate.events,
            variants=variants), parent=self)
        self._drop_pending()
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)  # Cancel drops the run before it starts
        self.progress.setValue(0)
        self.progress.setFormat(_pilot_text())
        self._poll.start()  # the text follows the kernel: waiting, then estimating

        def done(seconds):
            self._poll.stop()
            self.pilot_job = None
            self.cancel_button.setEnabled(False)
            self.progress.setFormat("%p%")
            text = f"about {human_time(seconds)}, {nbytes(estimate.memory_bytes)}"
            self.last_estimate = text
            self.pending = (snapshot, variants, spec)
            if seconds <= LONG_RUN_S or self.confirm_long_run(
                    f"This run takes {text} of memory ({estimate.runs} replications). "
                    "Run it?"):
                self._run_pending()
            # while "Run it / Don't run" asks, Run stays off: one way to start it, not two
            self.run_button.setEnabled(self.job is None and self.confirm_bar.isHidden())

        def failed(msg, tb):
            self._poll.stop()
            self.pilot_job = None
            self.run_button.setEnabled(True)
            self.cancel_button.setEnabled(False)
            self.progress.setFormat("%p%")
            self.run_failed.emit(msg, tb)

        self.pilot_job.finished.connect(done)
        self.pilot_job.failed.connect(failed)
        self.pilot_job.cancelled.connect(lambda: failed("estimate cancelled", None))
        self.pilot_job.start()
        return True

    def _ask_long_run(self, text: str) -> bool:
        self.confirm_text.setText(text)
        self.confirm_bar.show()
        self.cancel_button.setEnabled(True)  # Cancel says no too
        self.confirm_go.setFocus()
        return False

    def _run_pending(self) -> None:
        pending, self.pending = self.pending, None
        self.confirm_bar.hide()
        if pending is not None and self.job is None:
            self._launch(*pending)

    def _drop_pending(self) -> None:
        self.pending = None
        self.confirm_bar.hide()
        self.cancel_button.setEnabled(self.job is not None)
        self.run_button.setEnabled(self.job is None and self.pilot_job is None)

    def _launch(self, snapshot, variants, spec) -> bool:
        # Cancel interrupts the run's task, not the job's: run_project then returns the
        # replications it finished, and the job reports them as finished (issue 14 §6)
        self.task = run_task = TaskState()
        run_job = self.run_job
        self.job = Job(lambda _job_task: run_job(snapshot, variants, spec, run_task),
                       parent=self)
        self.job.finished.connect(self._finished)
        self.job.failed.connect(self._failed)
        self.job.cancelled.connect(self._cancelled)
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setValue(0)
        self.progress.setToolTip("")
        self.started_at = time.perf_counter()
        self._poll.start()
        self.job.start()
        self.run_started.emit()
        return True

    @Slot()
    def cancel(self) -> None:
        if self.pilot_job is not None or self.pending is not None:
            self._drop_pilot()  # not started yet: nothing to keep
            self._drop_pending()
            self.cancel_button.setEnabled(False)
            self.run_cancelled.emit()
        elif self.task is not None:
            self.task.request_interruption()

    def _show_progress(self):
        if self.pilot_job is not None:
            text = _pilot_text()
            if self.progress.format() != text:
                self.progress.setFormat(text)
        elif self.task is not None:
            # whole percents: QProgressBar.setValue repaints at once on every new value
            pct = int(self.task.progress)
            self.progress.setValue(pct * 10)
            if pct == 0 and is_compiling():  # a short run (no pilot) on the first start
                self.progress.setFormat(WAITING_FOR_KERNEL)
            else:
                self.progress.setFormat(
                    f"%p%{eta_text(pct, time.perf_counter() - self.started_at)}")

    def _end(self):
        self._poll.stop()
        if self.job is not None:
            self.job.deleteLater()
        self.job = None
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def _finished(self, out):
        self._end()
        # edited while it ran (or while "Run it?" waited): its results are of the model
        # before, and a deleted station named the bottleneck with no mark of it
        self._set_stale(self.edits != self.snapshot_edits)
        result, self.last_summary, self.last_playback, self.last_charts = out
        if result.cancelled:
            # the share that finished, not 100 %; and short: "100% — 9 of 10 replications,
            # cancelled" wrapped and was clipped in the dock (the whole of it is the tooltip)
            done, asked = result.spec.replications, result.requested
            self.progress.setValue(round(1000 * done / max(1, asked)))
            self.progress.setFormat(f"cancelled: {done} of {asked} done")
            self.progress.setToolTip(result.outcome())
        else:
            self.progress.setValue(1000)
            self.progress.setFormat("%p%")
            self.progress.setToolTip("")
        self.run_finished.emit(result)

    def _failed(self, msg: str, tb: str | None):
        self._end()
        self.progress.setFormat("%p%")
        self.progress.setValue(0)
        self.run_failed.emit(msg, tb)

    def _cancelled(self):
        self._end()
        self.progress.setFormat("%p%")
        self.progress.setValue(0)
        self.run_cancelled.emit()

    def shutdown(self) -> None:
        """Cancel a run and wait for its thread (closing the window)."""
        self._poll.stop()
        self._drop_pilot()
        if self.job is not None:
            self.cancel()
            self.job.wait()
            self.job = None
