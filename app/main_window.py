"""The workbench window: 3D view in the middle, rearrangeable docks around it, menus.

Every edit goes through the project's ``UndoStack``; the window maps it onto actions, the
title's ``*`` and autosave. Runs go to ``RunPanel``'s worker thread and come back to the
dashboards and the 3D view.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QFrame,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QScrollArea,
    QTreeWidget,
    QTreeWidgetItem,
    QWidget,
)

from app import export, project_state, recovery
from app.alerts_dock import install_alerts
from app.collector import hold_for
from app.context_menu import view_menu
from app.dashboards import Dashboards
from app.dock_sizes import DockSizes
from app.editors.plant import PlantDialog
from app.experiments_install import install_experiments
from app.forecast_dock import install_forecast
from app.inspector import Inspector
from app.live_panel import install_live
from app.menus import make_menus
from app.palette import PaletteList
from app.playback import Playback
from app.problem_marks import ProblemMarks
from app.project_state import (
    apply_remembered_assets,
    forget_last_project,
    model_edited,
    project_folder_from_name,
    save_as_start,
)
from app.recovery import ask_recover, offer_recovery, recovery_dir, recovery_files_for, remove_copy
from app.replay_panel import ReplayPanel
from app.run_panel import RunPanel
from app.scenario_panel import ScenarioPanel, sync_run_choices
from app.selection import IdentityTips
from app.startup import StartupStatus, after_first_paint, warm_up_kernel
from app.stats_table import ColourLegend, HoverTips, StatsTable
from app.theme import STATE_COLORS, apply_theme, utilisation_color, view_theme
from app.view3d import View3D
from app.worker import Job
from twin import safeio
from twin.errors import InputError, ProjectError
from twin.model import commands as cmd
from twin.model import elements as m
from twin.projectfile.reader import atomic_write_text, dumps, load_project, save_project
from twin.recording import Recording, RecordingError

AUTOSAVE_MS = 60_000
MAX_RECENT = 8

#: Version of the dock layout the window saves. Raise it when docks are added or removed: Qt
#: would restore an older layout and leave the new docks floating over the window.
DOCK_LAYOUT_VERSION = 3  # 3: the right column runs the full height (F5)


def scrolled(widget: QWidget) -> QScrollArea:
    """``widget`` in a frameless scroll area: a tall panel scrolls instead of making the
    window taller than the screen (the window's minimum height is its docks' together)."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.NoFrame)
    area.setWidget(widget)
    return area


class MainWindow(QMainWindow):
    kernel_ready = Signal()  # the plain kernel is ready (emitted on the warm-up's thread)

    def __init__(self, project: m.Project | None = None, path: str | os.PathLike | None = None,
                 warm_up: bool = True):
        super().__init__()
        hold_for(self)  # garbage collection only between events (app.collector)
        self.setObjectName("twinbench_main")
        self.settings = QSettings("twinbench", "twinbench")
        self.project = project or m.Project("Untitled")
        self.path: Path | None = Path(path) if path else getattr(self.project, "path", None)
        self.stack = cmd.UndoStack(self.project)
        self.autosaved: set[Path] = set()  # recovery copies this window wrote
        self.run_labels: list[str] = []  # the Runs branch of the tree: "Run 2: base, faster"
        self.playback: Playback | None = None
        self.last_result = None
        self.ask_unsaved = self._ask_unsaved  # tests replace it
        self.ask_stop_work = self._ask_stop_work  # tests replace it
        self.ask_recover = ask_recover  # tests replace it
        self.testing = False  # tests set it: errors go to the log, never to a modal dialog
        # before any chart exists: a chart takes its colours from the theme when it is made
        apply_theme(str(self.settings.value("theme", "light")))
        self.view = View3D(self.project, self.stack, self)
        view_theme(self.view, str(self.settings.value("theme", "light")))
        self.setCentralWidget(self.view)
        self._make_docks()
        install_experiments(self)  # Experiments and What-if docks, "Vary this…" (issue 17 §5)
        self._structure_pending = False  # a tree rebuild is due (_structure_soon)
        self.marks = ProblemMarks(self.view, self.tree, self.log, self)
        make_menus(self)
        install_live(self)  # Plant menu and Live dock (issue 15 §4): app.live_panel
        install_alerts(self)  # Alerts dock (issue 16 §4): app.alerts_dock
        install_forecast(self)  # the shadow twin's fan chart (issue 16): app.forecast_dock
        self._make_status()
        self._connect_project()
        self.view.selection_changed.connect(self._selection_changed)
        self.hover_tips = HoverTips(self.view, self.marks, self.stats, IdentityTips(self))
        self.colour_legend = ColourLegend(self.view)
        self.view.message.connect(self.log)
        self.view.hint.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.context_menu: QMenu | None = None  # the 3D view's, while it is open
        self.view.context_menu_requested.connect(self._view_context_menu)
        self.inspector.message.connect(self.statusBar().showMessage)
        self.scenario_panel.message.connect(self.statusBar().showMessage)
        self.scenario_panel.scenarios_changed.connect(
            lambda: (sync_run_choices(self.run_panel, self.project), self._structure_changed()))
        self.view.selection_changed.connect(self.scenario_panel.show_element)
        self.scenario_panel.current_changed.connect(self.inspector.set_scenario)  # its marks
        self.run_panel.run_started.connect(lambda: self.log("run started"))
        self.run_panel.run_finished.connect(self._run_finished)
        self.run_panel.run_failed.connect(self._run_failed)
        self.run_panel.run_cancelled.connect(self._run_cancelled)
        self.dashboards.playback_time_changed.connect(self._play_at)
        self.dashboards.export_button.clicked.connect(self.export_chart_dialog)
        self.dashboards.csv_button.clicked.connect(self.export_csv_dialog)
        self.dashboards.report_button.clicked.connect(self.report_dialog)
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(AUTOSAVE_MS)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()
        self.resize(1400, 900)
        self._default_split()
        self.default_layout = self.saveState(DOCK_LAYOUT_VERSION)  # View > Panels > Reset
        geo = self.settings.value("geometry")
        if geo is not None:
            self.restoreGeometry(geo)
        st = self.settings.value("windowState")
        if st is not None:  # a layout saved by a version with other docks is not restored
            self.restoreState(st, DOCK_LAYOUT_VERSION)
            # the saved layout keeps where the docks are, not the tab in front: a window opens
            # in design mode, whose bottom dock is the Charts, not the Live (Replay...) tab of
            # a session that ended with the last window
            if not self.docks["charts"].isHidden():
                self.docks["charts"].raise_()
        # the minimum size was taken while the docks were added side by side (1,323 px wide):
        # take it again from the finished layout (tabbed docks), so that the window can be
        # sized down to that. Docks squeezed by a small window come back (DockSizes)
        self.dock_sizes = DockSizes(self)
        self.layout().invalidate()
        self.layout().activate()
        self._set_project(self.project, self.path)
        self.warm_job = None
        # the window paints first; the kernel loads after it, the status bar says so (§1)
        self.startup = StartupStatus(self.statusBar(), self)
        if warm_up:
            self.startup.begin("kernel", "compiling the twin kernel…")
            after_first_paint(self, self._start_warm_up)

    # --- layout ---------------------------------------------------------------------------------
    def _dock(self, title: str, widget, area) -> QDockWidget:
        d = QDockWidget(title, self)
        d.setObjectName(f"dock_{title.lower().replace(' ', '_')}")
        d.setWidget(widget)
        self.addDockWidget(area, d)
        return d

    def _default_split(self) -> None:
        """The right column (Inspector over Run) runs the window's full height beside the
        charts, and the Inspector, the main editing surface, takes what the Run panel does
        not need: the charts under the whole width left it ~120 px on a 1000-px screen (F5)."""
        self.setCorner(Qt.BottomRightCorner, Qt.RightDockWidgetArea)
        width = getattr(self, "right_column_width", 0)  # what the What-if panel needs
        if width:
            self.resizeDocks([self.docks["inspector"]], [width], Qt.Horizontal)
        run = self.docks["run"].widget().minimumSizeHint().height()
        self.resizeDocks([self.docks["inspector"], self.docks["run"]],
                         [max(1, self.height() - run), run], Qt.Vertical)

    def reset_layout(self) -> None:
        """View > Panels > Reset layout: the docks as a new installation has them."""
        self.restoreState(self.default_layout, DOCK_LAYOUT_VERSION)
        self._default_split()  # for the window's height now, not the one it was made with
        self.dock_sizes.squeezed = False  # these are the good sizes now

    def _make_docks(self):
        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.palette = PaletteList()
        self.inspector = Inspector()
        self.run_panel = RunPanel()
        self.scenario_panel = ScenarioPanel()
        self.dashboards = Dashboards()
        self.stats = StatsTable()
        self.replay = ReplayPanel()
        self.replay.states_changed.connect(self._replay_states)
        self.replay.asset_mapped.connect(lambda a, e: self.stack.push(
            cmd.SetRecordingAsset(self.recording_name, a, e)))
        self.replay.project_provider = lambda: self.project
        self.replay.fork_failed.connect(lambda msg, tb=None: self.log_failure("fork", msg, tb))
        self.log_pane = QPlainTextEdit()
        self.log_pane.setReadOnly(True)
        self.docks = {
            "project": self._dock("Project", self.tree, Qt.LeftDockWidgetArea),
            "palette": self._dock("Palette", self.palette, Qt.LeftDockWidgetArea),
            "inspector": self._dock("Inspector", self.inspector, Qt.RightDockWidgetArea),
            "run": self._dock("Run", self.run_panel, Qt.RightDockWidgetArea),
            # scrolled: its list, editor and tables are taller than the right side has room for
            "scenarios": self._dock("Scenarios", scrolled(self.scenario_panel),
                                    Qt.RightDockWidgetArea),
            "charts": self._dock("Charts", self.dashboards, Qt.BottomDockWidgetArea),
            "statistics": self._dock("Statistics", self.stats, Qt.BottomDockWidgetArea),
            "log": self._dock("Log", self.log_pane, Qt.BottomDockWidgetArea),
            "replay": self._dock("Replay", self.replay, Qt.BottomDockWidgetArea),
        }
        self.tabifyDockWidget(self.docks["run"], self.docks["scenarios"])
        self.tabifyDockWidget(self.docks["charts"], self.docks["statistics"])
        self.tabifyDockWidget(self.docks["charts"], self.docks["log"])
        self.tabifyDockWidget(self.docks["charts"], self.docks["replay"])
        self.docks["charts"].raise_()
        self.docks["run"].raise_()

    def _action(self, menu, text, slot, shortcut=None, tip=None, checkable=False) -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        if tip:  # else Qt's own tip: the text without its '&' mnemonic and ellipsis
            a.setToolTip(tip)
        a.setStatusTip(a.toolTip())  # "&Open…" in the status bar read as a glitch
        a.setCheckable(checkable)
        a.triggered.connect(slot)
        menu.addAction(a)
        return a

    def _make_status(self):
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(200)
        self.progress.hide()
        self.kernel_label = QLabel("")
        self.statusBar().addPermanentWidget(self.kernel_label)
        self.statusBar().addPermanentWidget(self.progress)
        self.run_panel.progress.valueChanged.connect(self.progress.setValue)

    # --- project ------------------------------------------------------------------------------
    def _connect_project(self):
        self.stack.index_changed.connect(self._stack_changed)
        self.stack.index_changed.connect(self._model_edited)
        self.stack.clean_changed.connect(self._clean_changed)
        self.project.element_added.connect(self._structure_soon)
        self.project.element_removed.connect(self._structure_soon)

    def _disconnect_project(self):
        self.stack.index_changed.disconnect(self._stack_changed)
        self.stack.index_changed.disconnect(self._model_edited)
        self.stack.clean_changed.disconnect(self._clean_changed)
        self.project.element_added.disconnect(self._structure_soon)
        self.project.element_removed.disconnect(self._structure_soon)

    def _set_project(self, project: m.Project, path: Path | None, clean: bool = True):
        if project is not self.project:
            self._disconnect_project()
            self._remove_recovery()
            self.project, self.stack = project, cmd.UndoStack(project)
            forget_last_project(self)  # runs, progress, playback, forks: another project's
            self._connect_project()
            self.view.set_project(project, self.stack)
        self.path = Path(path) if path else None
        if not clean:
            self.stack.mark_modified()  # a recovered project differs from its file
        self.inspector.set_stack(self.stack)
        if self.plant_dialog is not None:
            self.plant_dialog.set_stack(self.stack)
        self.run_panel.set_project(project)
        self.scenario_panel.set_project(project, self.stack)
        self.experiments.set_project(project, self.stack)
        self.whatif.set_project(project, self.stack)
        self.playback = None
        self._structure_changed()
        self._stack_changed()
        self._clean_changed(self.stack.is_clean())
        self.view.fit_view()

    def _structure_soon(self, *_):
        """Elements were added or removed: rebuild the tree once the command is done (a
        paste of 300 elements rebuilt it 300 times, quadratic in the count), or at the next
        turn of the event loop for a change outside the undo stack."""
        if not self._structure_pending:
            self._structure_pending = True
            QTimer.singleShot(0, self._structure_flush)

    def _structure_flush(self) -> None:
        if self._structure_pending:
            self._structure_changed()

    def _stack_changed(self, *_):
        self._structure_flush()
        # the faults of the flow, marked in the tree and in 3D (app.problem_marks), and the
        # selected element's in the inspector
        self.marks.update()
        self.inspector.set_problems(self.marks.by_element)
        self.act_undo.setEnabled(self.stack.can_undo())
        self.act_redo.setEnabled(self.stack.can_redo())
        self.act_undo.setText(f"&Undo {self.stack.undo_text()}".rstrip())
        self.act_redo.setText(f"&Redo {self.stack.redo_text()}".rstrip())

    def _model_edited(self, *_):
        model_edited(self)

    def _clean_changed(self, clean: bool):
        self.setWindowTitle(f"{self.project.name}[*] — twinbench")
        self.setWindowModified(not clean)
        if clean:
            self._remove_recovery()

    def _structure_changed(self, *_):
        self._structure_pending = False
        # clearing the tree deselects its items: that must not clear the view's selection
        # (setting a scenario's override rebuilds the tree); to_tree() selects them again
        self.tree.blockSignals(True)
        try:
            self._fill_tree()
        finally:
            self.tree.blockSignals(False)
        self.marks.mark_tree()
        self.tree_selection.to_tree()

    def _fill_tree(self) -> None:
        self.tree.clear()
        els = QTreeWidgetItem(self.tree, ["Elements"])
        for el in self.project.elements:
            it = QTreeWidgetItem(els, [f"{el.id}  ({el.kind})"])
            it.setData(0, Qt.UserRole, el.id)
        sc = QTreeWidgetItem(self.tree, ["Scenarios"])
        for s in self.project.scenarios:
            QTreeWidgetItem(sc, [s.name]).setToolTip(0, s.description)
        self.runs_item = QTreeWidgetItem(self.tree, ["Runs"])
        for label in self.run_labels:  # rebuilt on every edit: the runs keep their names
            QTreeWidgetItem(self.runs_item, [label])
        self.tree.expandAll()

    @property
    def run_count(self) -> int:
        """How many runs finished since the project was opened."""
        return len(self.run_labels)

    def _selection_changed(self, ids: list[str]):
        self.inspector.show_element(self.project.element(ids[0]) if len(ids) == 1 else None)
        self.statusBar().showMessage(f"{len(ids)} selected" if ids else "", 3000)

    def log(self, text: str) -> None:
        self.log_pane.appendPlainText(text)
        # the whole of a short message on one line: its first line alone left "run failed: 1
        # problem in the project:" with the problem cut off (newfix3 §1)
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        self.statusBar().showMessage(" ".join(lines[:4]), 10_000 if len(lines) > 1 else 5000)

    def log_failure(self, what: str, message: str, tb: str | None = None) -> None:
        """A background job's failure in the log pane: the user's error as its message; a
        bug (``tb`` given) with its traceback, for a bug report."""
        if tb is None:
            self.log(f"{what} failed: {message}")
        else:
            self.log(f"{what} failed: {message}\n(a bug in twinbench; please report it with "
                     f"this traceback)\n{tb.rstrip()}")
            self.statusBar().showMessage(f"{what} failed: {message}", 10_000)

    # --- edit -----------------------------------------------------------------------------------
    def _view_context_menu(self, element_id: str | None, pos) -> None:
        if self.context_menu is not None:
            self.context_menu.close()
        menu = self.context_menu = view_menu(self, element_id, pos)
        menu.aboutToHide.connect(lambda: setattr(self, "context_menu", None))
        menu.popup(self.view.vtk.mapToGlobal(pos))

    def edit_plant(self) -> None:
        """Show the calendar and tariff editor (app.editors.plant)."""
        if self.plant_dialog is None:
            self.plant_dialog = PlantDialog(self.stack, self)
        self.plant_dialog.show()
        self.plant_dialog.raise_()

    def inspect(self, element_id: str) -> None:
        """Select ``element_id`` and bring the Inspector with its parameters to the front."""
        self.view.set_selection([element_id])
        self.docks["inspector"].show()
        self.docks["inspector"].raise_()

    def delete_selection(self):
        ids = list(self.view.selection)
        if ids:
            removes = [cmd.RemoveElement(i) for i in ids]
            self.stack.push(cmd.Macro(removes, f"delete {cmd.named(*ids)}"))
            notes = [n for r in removes for n in r.notes]
            if notes:  # what went with the elements besides their connections
                self.log(f"deleted {', '.join(ids)} and with it {len(notes)} reference"
                         f"{'s' if len(notes) > 1 else ''} to it (Undo brings them back):\n"
                         + "\n".join(f"  {n}" for n in notes))

    def duplicate_selection(self):
        """Copy the selection 1 m aside with the connections among it, as one undo step."""
        if self.view.selection:
            dup = cmd.Duplicate(self.project, self.view.selection)
            self.stack.push(dup)
            self.view.set_selection(list(dup.new_ids.values()))

    def align_selection(self, how: str):
        move = cmd.align(self.project, self.view.selection, how)
        if move is not None:
            self.stack.push(move)
        else:
            verb = "distribute" if how.startswith("distribute") else "align"
            need = 3 if verb == "distribute" else 2
            self.statusBar().showMessage(
                f"select at least {need} elements to {verb} them"
                if len(self.view.selection) < need else "aligned already", 3000)

    def _toggle_measure(self, on: bool):
        self.view.mode = "measure" if on else "select"

    def _leave_mode(self):
        self.view.mode = "select"

    def _mode_changed(self, mode: str):
        self.act_connect.setChecked(mode == "connect")
        self.act_measure.setChecked(mode == "measure")
        self.act_leave_mode.setEnabled(mode != "select")
        if mode == "measure":
            self.statusBar().showMessage("Measure: click two points or elements (Esc leaves)")

    def rotate_selection(self):
        ids = list(self.view.selection)
        if ids:
            self.stack.push(cmd.Macro([cmd.RotateElement(i, self.project.element(i).rotation
                                                         + 90.0) for i in ids], "rotate"))

    def _toggle_connect(self, on: bool):
        self.view.mode = "connect" if on else "select"

    def _toggle_snap(self, on: bool):
        self.view.snap = 0.5 if on else 0.0

    def set_theme(self, name: str):
        apply_theme(name, self)
        self.settings.setValue("theme", name)

    # --- files ----------------------------------------------------------------------------------
    def _ask_unsaved(self) -> QMessageBox.StandardButton:
        return QMessageBox.question(
            self, "Unsaved changes", f"Save the changes to {self.project.name}?",
            QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Save)

    def maybe_save(self) -> bool:
        """True when it is fine to drop the present project (saved, discarded)."""
        if self.stack.is_clean():
            return True
        answer = self.ask_unsaved()
        if answer == QMessageBox.Save:
            return self.save()
        return answer == QMessageBox.Discard

    def new_project(self):
        if self.maybe_save():
            self._set_project(m.Project("Untitled"), None)
            self.offer_recovery()  # an untitled project's unsaved work

    def offer_recovery(self) -> bool:
        """Offer the autosaved copies of the open project (of untitled ones when it has no
        folder), and only those: another project's copy waits for that project. Asked over
        the drawn window (``when_drawn``)."""
        return recovery.when_drawn(self, lambda: offer_recovery(
            self, recovery_files_for(self.path), self.ask_recover))

    def open_project(self, path) -> bool:
        try:
            project = load_project(path, strict=False)  # a half-built line opens, marked
        except ProjectError as e:
            self.log(str(e))
            QMessageBox.warning(self, "Cannot open project", str(e)) if self.isVisible() else None
            return False
        self.show_project(project)
        return True

    def show_project(self, project: m.Project) -> None:
        """Work on ``project``, as read from its folder (``project.path``)."""
        self._set_project(project, project.path)
        self._add_recent(project.path)
        self.log(f"opened {project.path}")
        self._log_warnings(project)
        self.offer_recovery()

    def _log_warnings(self, project: m.Project) -> None:
        """What the reader found that did not stop it (a missing mesh file): the log pane,
        and the status bar shows the last one."""
        for w in project.warnings:
            self.log(f"warning: {w.format(str(project.path))}")

    def open_dialog(self):
        if not self.maybe_save():
            return
        start = export.beside_project(self, siblings=True)  # among the open project's
        path = QFileDialog.getExistingDirectory(self, "Open project folder", start)
        if path:
            self.open_project(path)

    def save(self) -> bool:
        if self.path is None:
            return self.save_as_dialog()
        return self.save_to(self.path)

    def save_to(self, path) -> bool:
        try:
            file = save_project(self.project, path)
        except (OSError, ProjectError) as e:  # ProjectError: a mesh Save As may not copy
            self.log(f"could not save to {path}: {e}")
            return False
        self.path = file.parent
        self.stack.set_clean()
        self._clean_changed(True)  # the title: a Save As may have named the project
        self._add_recent(self.path)
        self.log(f"saved {file}")
        return True

    def save_as_dialog(self) -> bool:
        """Ask for a project name; its folder is made beside the project's (issue 14)."""
        path, _ = QFileDialog.getSaveFileName(
            self, "Save project as (a folder of that name is made)", save_as_start(self.path))
        if not path:
            return False
        folder = project_folder_from_name(path)
        if self.path is None or folder.resolve() != self.path.resolve():
            self.project.name = folder.name  # the name given is the project's
        return self.save_to(folder)

    def _add_recent(self, path):
        recent = [str(Path(path))] + [p for p in self.recent() if p != str(Path(path))]
        self.settings.setValue("recent", json.dumps(recent[:MAX_RECENT]))
        self.recent_menu.clear()
        for p in recent[:MAX_RECENT]:
            a = self.recent_menu.addAction(p)
            a.triggered.connect(lambda _=False, p=p: self.maybe_save() and self.open_project(p))

    def recent(self) -> list[str]:
        try:
            return list(json.loads(str(self.settings.value("recent", "[]"))))
        except json.JSONDecodeError:
            return []

    def export_chart_dialog(self):
        try:
            export.chart_dialog(self)
        except (InputError, OSError) as e:
            self.log(f"could not export the chart: {e}")

    def report_dialog(self):
        from app.report import report_dialog

        try:
            report_dialog(self)
        except (InputError, OSError) as e:
            self.log(f"could not write the report: {e}")

    def export_csv_dialog(self):
        path, _ = QFileDialog.getSaveFileName(self, "Export KPIs", export.beside_project(
            self, "kpis.csv"), "CSV (*.csv)")
        if path:
            try:
                self.dashboards.export_csv(path)
            except (InputError, OSError) as e:
                self.log(f"could not export the KPIs: {e}")

    def export_view_dialog(self):
        path, _ = QFileDialog.getSaveFileName(self, "Export 3D view", export.beside_project(
            self, "layout.png"), "PNG (*.png)")
        if path:
            try:
                export.export_view_png(self.view, path)
            except OSError as e:
                self.log(f"could not export the 3D view: {e}")

    def open_recording(self, path) -> bool:
        """Replay the recording at ``path``; a bad file is named in a dialog with the fix."""
        try:
            rec = Recording.open(path)
        except (RecordingError, OSError) as e:
            self.log(said := project_state.recording_error_text(e))
            if self.isVisible() and not self.testing:
                QMessageBox.warning(self, "Cannot open recording", said)
            return False
        self.replay.close_recording()
        self.replay.set_recording(rec, [el.id for el in self.project.elements])
        self.recording_name = Path(path).name
        apply_remembered_assets(self.replay, self.project, self.recording_name)
        # the 3D view takes the recording's states at the cursor now (set_recording's seek
        # came before this mode): no station keeps the last run's utilisation colour
        self.set_colour_mode("replay")
        self.docks["replay"].show()
        self.docks["replay"].raise_()
        self.log(f"opened recording {path}: {len(self.replay.asset_ids)} assets")
        return True

    def open_recording_dialog(self):
        path, _ = QFileDialog.getOpenFileName(self, "Open recording", export.beside_project(self),
                                              "Recordings (*.h5 *.hdf5);;All files (*)")
        if path:
            self.open_recording(path)

    def _replay_states(self, colors: dict):
        if self.colour_mode == "replay":
            self.view.set_tints(colors)

    # --- autosave and recovery ------------------------------------------------------------------
    def recovery_file(self) -> Path:
        key = str(self.path.resolve()) if self.path else f"untitled-{id(self)}"
        name = hashlib.sha1(key.encode()).hexdigest()[:12]
        file = recovery_dir() / name / "project.json"
        if file.exists() and file not in self.autosaved:  # a copy the user kept for later
            file = recovery_dir() / f"{name}-{os.getpid()}-{id(self):x}" / "project.json"
        return file

    def autosave(self) -> Path | None:
        """Write the unsaved project to the recovery folder (never over the user's file)."""
        if self.stack.is_clean():
            return None
        file = self.recovery_file()
        atomic_write_text(file, dumps(self.project))
        safeio.write_text(file.parent / "origin.txt", str(self.path or ""))
        self.autosaved.add(file)
        return file

    def _remove_recovery(self):
        # every copy this window wrote: an untitled project's copy is named after the
        # window, and Save As gives it a path: that copy would be offered at the next start
        # (a copy kept for later is not this window's)
        for file in self.autosaved:
            remove_copy(file)
        self.autosaved.clear()

    def recover(self, file: Path) -> bool:
        """Open a recovery copy as an unsaved edit of its original project."""
        origin = (file.parent / "origin.txt").read_text(encoding="utf-8").strip() \
            if (file.parent / "origin.txt").exists() else ""
        try:
            # meshes live at the origin; a half-built line is recovered, marked
            project = load_project(file, folder=origin or None, strict=False)
        except ProjectError as e:
            self.log(str(e))
            return False
        for p in file.parent.iterdir():
            p.unlink()
        file.parent.rmdir()
        self._set_project(project, origin or None, clean=False)
        self.log(f"recovered unsaved changes of {origin or project.name}")
        self._log_warnings(project)
        return True

    # --- runs -----------------------------------------------------------------------------------
    def _start_warm_up(self):
        # the start-up status already reads "Loading: compiling the twin kernel…": the kernel
        # label stays empty until the kernel is ready or failed, not the same words twice
        ready = self.kernel_ready.emit  # queued to the GUI thread: the window lives there
        self.kernel_ready.connect(self._warm_up_done, Qt.QueuedConnection)
        self.warm_job = Job(lambda task: warm_up_kernel(task, ready), parent=self)
        self.warm_job.finished.connect(self._warm_up_done)
        self.warm_job.failed.connect(self._warm_up_failed)
        self.warm_job.start()

    def _warm_up_done(self, _result=None):
        """The plain kernel is ready (``kernel_ready``), or all of it (the job finished): the
        kernel with the features compiles on, and a run that needs it says it waits."""
        if "kernel" in self.startup.pending():
            self.kernel_label.setText("Kernel ready")
            self.startup.done("kernel")

    def _warm_up_failed(self, msg: str, tb: str | None):
        self.startup.done("kernel")
        self.kernel_label.setText("Kernel not compiled (see the log)")
        self.log_failure("kernel warm-up", msg, tb)

    def _run_finished(self, result):
        self.progress.hide()
        self.run_labels.append(f"Run {self.run_count + 1}: {', '.join(result.scenarios)}")
        self.last_result = result
        QTreeWidgetItem(self.runs_item, [self.run_labels[-1]])
        if result.cancelled:  # the finished replications, with their intervals
            self.log(f"run: {result.outcome()}")
        self.last_summary = self.run_panel.last_summary or result.summary()
        # the worker made the charts' series: the GUI thread only draws them
        self.dashboards.show_result(result, self.last_summary, self.run_panel.last_charts)
        self.stats.show_summary(self.last_summary)
        self.playback = self.run_panel.last_playback
        self.set_colour_mode("utilisation")
        for name, doc in self.last_summary.items():
            tp = doc["line"]["throughput_per_hour"]
            self.log(f"{name}: throughput {tp['mean']:.4g} ± {tp['ci95_halfwidth']:.2g} "
                     f"parts/h, bottleneck {doc['bottleneck']}")

    def _run_failed(self, msg: str, tb: str | None = None):
        self.progress.hide()
        self.log_failure("run", msg, tb)

    def _run_cancelled(self):
        self.progress.hide()
        self.log("run cancelled")

    def set_colour_mode(self, mode: str):
        self.colour_mode = mode
        self.colour_legend.show_mode(mode if self.last_result or mode == "replay" else "plain")
        if mode == "replay":
            self.replay.seek(self.replay.t)
        elif mode == "plain" or self.last_result is None:
            self.view.set_tints(None)
            self.view.set_fills(None)
        elif mode == "utilisation":
            doc = next(iter(self.last_summary.values()))
            tints = {}
            for eid, kpis in doc["elements"].items():
                u = kpis.get("utilization", {}).get("mean")
                if kpis["kind"] == "station" and u is not None and u == u:
                    tints[eid] = utilisation_color(u)
            self.view.set_tints(tints)
        else:
            self._play_at(self.dashboards.slider.value() / 1000 * self.last_result.spec.horizon)

    def _play_at(self, t: float):
        if self.playback is None:
            return
        if self.colour_mode != "state":
            self.colour_mode = "state"
            self.colour_legend.show_mode("state")
        states, fills = self.playback.at(t)
        self.view.set_tints({eid: STATE_COLORS[s] for eid, s in states.items()})
        self.view.set_fills(fills)
        self.view.workers.show(self.playback.workers_at(t))

    # --- closing --------------------------------------------------------------------------------
    def work_going_on(self) -> list[str]:
        """What the user started that closing the window would stop: "a run", "a study", …."""
        going = (("a run", self.run_panel.is_running()),
                 ("a study", self.experiments.is_running()),
                 ("a fork", self.replay.is_forking()),
                 ("a forecast", self.forecast.is_busy()))
        return [name for name, on in going if on]

    def _ask_stop_work(self, text: str) -> bool:
        return QMessageBox.question(
            self, "Work going on", text, QMessageBox.Yes | QMessageBox.Cancel,
            QMessageBox.Cancel) == QMessageBox.Yes

    def closeEvent(self, ev):  # noqa: N802 - Qt override
        # a running job first (as Plant Simulation does), then the unsaved edits: asked once
        work = self.work_going_on()
        if work:
            names = " and ".join(work)
            verb, them = ("are", "them") if len(work) > 1 else ("is", "it")
            if not self.ask_stop_work(f"{names[0].upper()}{names[1:]} {verb} going on: "
                                      f"stop {them} and quit?"):
                ev.ignore()
                return
        if not self.maybe_save():
            ev.ignore()
            return
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("windowState", self.saveState(DOCK_LAYOUT_VERSION))
        if self.path:
            self._add_recent(self.path)
        self.autosave_timer.stop()
        self.run_panel.shutdown()
        self.experiments.shutdown()
        self.whatif.shutdown()
        self.live.shutdown()  # disconnects; the recording gets its final flush
        self.dashboards.stop()
        self.forecast.stop()  # before the recording it reads is closed
        self.alerts_controller.shutdown()  # its job reads the recording; a QThread of the panel
        self.replay.close_recording()
        if self.warm_job is not None:
            self.warm_job.wait()
        self._remove_recovery()
        self.marks.close()
        self.view.close_view()
        ev.accept()
