"""The run panel: what to run, and the worker thread that runs it.

``run_project`` runs on a QThread, never the GUI thread. The worker only reports; a 30 Hz
timer on the GUI thread reads the shared ``TaskState`` for the progress bar (pyvistaqt's
pull model), so a burst of progress updates never floods the event loop.

Background threads run at a lower CPU priority than the GUI thread. On a busy machine the
GUI thread otherwise waits for a CPU behind the simulation it started: with two cores and
one busy elsewhere, that wait was most of each 100-300 ms stall of the event loop during a
long run (``benchmarks/bench_gui.py`` splits a stall into work, waiting for a CPU and
blocked). The worker also makes everything the dashboards and playback need, so the GUI
thread only draws (issue 3).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from dataclasses import replace

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
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
from twin.errors import ProjectError
from twin.model import elements as m
from twin.projectfile.reader import project_from_json, project_to_json
from twin.sim.runner import RunSpec, run_project
from twin.tasks import Cancelled, TaskState
from twin.units import format_duration, parse_duration

log = logging.getLogger(__name__)

BACKGROUND_NICE = 10  # added to a background thread's nice value (Linux): the GUI goes first


def lower_thread_priority() -> None:
    """Lower the calling thread's CPU priority below the GUI thread's.

    Linux ignores ``QThread`` priorities (``SCHED_OTHER`` has a single level) but keeps a nice
    value per thread, which threads started later inherit (the replication pool of
    ``run_project``). Elsewhere ``Background.start`` asks Qt for ``LowPriority``.
    """
    if not sys.platform.startswith("linux"):
        return
    tid = threading.get_native_id()
    try:
        nice = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, nice + BACKGROUND_NICE))
    except OSError as e:  # e.g. a sandbox without setpriority: run at normal priority
        log.warning("could not lower the priority of a background thread: %s", e)


class _Worker(QObject):
    """Calls ``fn()`` on its thread and reports the result or the error message."""

    done = Signal(object)
    failed = Signal(str)

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    @Slot()
    def run(self):
        lower_thread_priority()
        try:
            out = self.fn()
        except Cancelled:
            self.failed.emit("cancelled")
        except (ProjectError, ValueError, KeyError, RuntimeError, MemoryError) as e:
            self.failed.emit(str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e))
        else:
            self.done.emit(out)


class Background(QObject):
    """Run ``fn`` on a fresh QThread; ``finished(result)`` or ``failed(message)`` on the GUI
    thread. Keep a reference until one of them fires."""

    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, fn, parent=None):
        super().__init__(parent)
        self.thread = QThread()
        self.worker = _Worker(fn)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.done.connect(self._done)
        self.worker.failed.connect(self._failed)

    def start(self):
        self.thread.start(QThread.LowPriority)

    def _stop(self):
        self.thread.quit()
        self.thread.wait()

    def _done(self, out):
        self._stop()
        self.finished.emit(out)

    def _failed(self, msg):
        self._stop()
        self.failed.emit(msg)

    def wait(self):
        self.thread.quit()
        self.thread.wait()


def _run_and_summarize(project, names, spec, task):
    """Run, compute the KPI summary and the charts' series, and index the first scenario's
    state log for playback, all on the worker, so the GUI thread only draws (indexing a
    2000-day log on the GUI thread froze it for about a second).

    Returns ``(result, summary, playback or None, charts)``."""
    # leave one core to the GUI thread: with every core simulating, the window stutters
    workers = max(1, (os.cpu_count() or 1) - 1)
    result = run_project(project, names, spec, task, workers=workers)
    first = next(iter(result.scenarios.values()))
    playback = Playback(first) if first.replications[0].log is not None else None
    summary = result.summary()
    return result, summary, playback, prepare_charts(result, summary)


class RunPanel(QWidget):
    """Scenarios, horizon, warm-up and replications; Run and Cancel; progress."""

    run_started = Signal()
    run_finished = Signal(object)  # twin.sim.runner.RunResult
    run_failed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.project: m.Project | None = None
        self.task: TaskState | None = None
        self.job: Background | None = None
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
        self.record.setChecked(True)
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Run the selected scenarios in the background (F5)")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        form = QFormLayout()
        form.addRow("Horizon", self.horizon)
        form.addRow("Warm-up", self.warmup)
        form.addRow("Replications", self.replications)
        form.addRow("Seed", self.seed)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        lay = QVBoxLayout(self)
        lay.addWidget(self.scenarios, 1)
        lay.addLayout(form)
        lay.addWidget(self.record)
        lay.addLayout(buttons)
        lay.addWidget(self.progress)
        self.run_button.clicked.connect(self.start_run)
        self.cancel_button.clicked.connect(self.cancel)
        self._poll = QTimer(self)
        self._poll.setInterval(33)
        self._poll.timeout.connect(self._show_progress)

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

    def chosen_scenarios(self) -> list[str]:
        return [self.scenarios.item(i).text() for i in range(self.scenarios.count())
                if self.scenarios.item(i).checkState() == Qt.Checked]

    def spec(self) -> RunSpec:
        """The run settings as typed; raises ``ValueError`` naming the bad field."""
        out = {}
        for key, w in (("horizon", self.horizon), ("warmup", self.warmup)):
            try:
                out[key] = parse_duration(w.text().strip() or "0")
            except ValueError as e:
                raise ValueError(f"{key}: {e}") from None
        spec = RunSpec.from_project(self.project, replications=self.replications.value(),
                                    seed=self.seed.value(), log=self.record.isChecked(), **out)
        spec.check()
        return spec

    def is_running(self) -> bool:
        return self.job is not None

    @Slot()
    def start_run(self) -> bool:
        if self.project is None or self.job is not None:
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
            snapshot = project_from_json(project_to_json(self.project))
        except (ProjectError, ValueError) as e:
            self.run_failed.emit(str(e))
            return False
        self.task = task = TaskState()
        self.job = Background(lambda: _run_and_summarize(snapshot, names, spec, task), self)
        self.job.finished.connect(self._finished)
        self.job.failed.connect(self._failed)
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setValue(0)
        self.started_at = time.perf_counter()
        self._poll.start()
        self.job.start()
        self.run_started.emit()
        return True

    @Slot()
    def cancel(self) -> None:
        if self.task is not None:
            self.task.request_interruption()

    def _show_progress(self):
        if self.task is not None:
            # whole percents: QProgressBar.setValue repaints at once on every new value
            self.progress.setValue(int(self.task.progress) * 10)

    def _end(self):
        self._poll.stop()
        self.job = None
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def _finished(self, out):
        result, self.last_summary, self.last_playback, self.last_charts = out
        self._end()
        self.progress.setValue(1000)
        self.run_finished.emit(result)

    def _failed(self, msg):
        self._end()
        self.progress.setValue(0)
        self.run_failed.emit(msg)

    def shutdown(self) -> None:
        """Cancel a run and wait for its thread (closing the window)."""
        self._poll.stop()
        if self.job is not None:
            self.cancel()
            self.job.wait()
            self.job = None
