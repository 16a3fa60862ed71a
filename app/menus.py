"""The main window's menus and tool bar: every action of File, Edit, View and Run, in one place.

Panels add their own entries (``app.clipboard``, ``app.conveyor_tool``, ``app.floor_plan``,
``app.help``, and ``app.live_panel``'s Plant menu); the actions' slots are the window's.
"""

from __future__ import annotations

from PySide6.QtGui import QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu

from app import add_element, clipboard, conveyor_tool
from app.calibrate_dialog import show_calibrate_dialog
from app.energy_recording import show_recording_energy
from app.floor_plan import FloorPlanActions
from app.help import HelpMenu
from app.import_dialog import show_import_dialog
from app.selection import TreeSelection, step_history
from app.view3d import CAMERA_PRESETS

ALIGN_ITEMS = (  # Edit > Align: (how, label, tool tip); None separates groups
    ("left", "&Left edges", "Line up the left edges (smallest x) of the selection"),
    ("centre_x", "&Centres in x", "Put the centres of the selection on one line along y"),
    ("right", "&Right edges", "Line up the right edges (largest x) of the selection"),
    (None, None, None),
    ("top", "&Top edges", "Line up the top edges (largest y, seen from above)"),
    ("centre_y", "Centres in &y", "Put the centres of the selection on one line along x"),
    ("bottom", "&Bottom edges", "Line up the bottom edges (smallest y, seen from above)"),
    (None, None, None),
    ("distribute_x", "Distribute in &x", "Equal gaps along x between the outermost two"),
    ("distribute_y", "Distribute in y", "Equal gaps along y between the outermost two"),
)


def make_menus(win) -> None:
    """The menus and the tool bar of ``win`` (an ``app.main_window.MainWindow``); the actions
    it needs later become its ``act_*`` attributes."""
    mb = win.menuBar()
    f = mb.addMenu("&File")
    win.act_new = win._action(f, "&New", win.new_project, QKeySequence.New)
    win.act_open = win._action(f, "&Open…", win.open_dialog, QKeySequence.Open)
    win.recent_menu = f.addMenu("Open &Recent")
    win.act_open_recording = win._action(
        f, "Open re&cording…", win.open_recording_dialog, "Ctrl+Shift+O",
        "Replay an HDF5 recording of the real plant on this layout")
    # import and calibrate (issue 14 §7): app.import_dialog, app.calibrate_dialog
    win.import_dialog = win.calibrate_dialog = None
    win.act_import = win._action(
        f, "&Import data…", lambda: show_import_dialog(win), "Ctrl+I",
        "Import a CSV/Parquet file of the plant through a mapping and replay it")
    win.act_calibrate = win._action(
        f, "Ca&librate from the recording…", lambda: show_calibrate_dialog(win), None,
        "Fit the stations' process times, failures and power to the open recording")
    win.replay.calibrate_button.clicked.connect(win.act_calibrate.trigger)
    win.act_recording_energy = win._action(  # issue 19: app.energy_recording
        f, "&Energy of the recording…", lambda: show_recording_energy(win), None,
        "Cost, 15-minute peak, CO2, PV and battery of the open recording under the project's "
        "energy context")
    win.act_save = win._action(f, "&Save", win.save, QKeySequence.Save)
    win.act_save_as = win._action(f, "Save &As…", win.save_as_dialog, QKeySequence.SaveAs)
    ex = f.addMenu("&Export")
    win._action(ex, "Chart (PNG/SVG)…", win.export_chart_dialog)
    win._action(ex, "KPI table (CSV)…", win.export_csv_dialog)
    win._action(ex, "3D view (PNG)…", win.export_view_dialog)
    win._action(ex, "Report of the run (HTML)…", win.report_dialog)
    f.addSeparator()
    win._action(f, "&Quit", win.close, QKeySequence.Quit)
    e = mb.addMenu("&Edit")
    win.act_undo = win._action(e, "&Undo", lambda: step_history(win, "undo"), QKeySequence.Undo)
    win.act_redo = win._action(e, "&Redo", lambda: step_history(win, "redo"), QKeySequence.Redo)
    e.addSeparator()
    win.act_delete = win._action(e, "&Delete", win.delete_selection, QKeySequence.Delete,
                                   "Delete the selected elements and their connections")
    win.act_duplicate = win._action(e, "D&uplicate", win.duplicate_selection, "Ctrl+D",
                                      "Copy the selected elements 1 m to the side")
    win.act_rotate = win._action(e, "Rotate 90°", win.rotate_selection, "R",
                                   "Turn the selected elements by 90°")
    win.plant_dialog = None  # app.editors.plant.PlantDialog, made when first opened
    win.act_plant = win._action(e, "Calendar, energy and &workers…", win.edit_plant, None,
                                  "The shift calendar, the energy context (prices, demand "
                                  "charge, CO2, PV and battery) and the worker pools")
    add_element.make_menu(win, e)  # the palette's kinds from the keyboard (newfix4 §3)
    align = e.addMenu("&Align")
    win.align_actions = {}
    for how, label, tip in ALIGN_ITEMS:
        if how is None:
            align.addSeparator()
            continue
        win.align_actions[how] = win._action(
            align, label, lambda _=False, h=how: win.align_selection(h), None, tip)
    v = mb.addMenu("&View")
    for i, name in enumerate(CAMERA_PRESETS):
        win._action(v, f"{name.capitalize()} view",
                     lambda _=False, n=name: win.view.camera_preset(n), f"Ctrl+{i + 1}")
    win.act_fit = win._action(v, "&Fit to view", win.view.fit_view, "F")
    v.addSeparator()
    win.act_connect = win._action(v, "&Connect mode", win._toggle_connect, "C",
                                    "Drag from one element to the next, or click one and then the "
                                    "next, to connect them (Esc leaves)",
                                    checkable=True)
    win.act_measure = win._action(v, "&Measure distance", win._toggle_measure, "M",
                                    "Click two points or elements on the floor to measure "
                                    "the distance between them (Esc leaves)",
                                    checkable=True)
    win.act_leave_mode = win._action(win, "Leave the mode", win._leave_mode, "Esc",
                                       "Back to selecting (leaves connect and measure)")
    win.act_leave_mode.setEnabled(False)
    win.view.mode_changed.connect(win._mode_changed)
    win.view.measured.connect(win.statusBar().showMessage)
    win.act_snap = win._action(v, "&Snap to grid (0.5 m)", win._toggle_snap, None,
                                 "Round dragged positions to half a metre", checkable=True)
    win.act_snap.setChecked(True)
    colour = v.addMenu("Colour stations by")
    group = QActionGroup(win)
    for key, label in (("plain", "Kind"), ("utilisation", "Utilisation (last run)"),
                       ("state", "State (playback)"), ("replay", "State (recording)")):
        a = win._action(colour, label, lambda _=False, k=key: win.set_colour_mode(k),
                         checkable=True)
        group.addAction(a)
        a.setChecked(key == "plain")
    win.colour_mode = "plain"
    themes = v.addMenu("Theme")
    for name in ("light", "dark"):
        win._action(themes, name.capitalize(), lambda _=False, n=name: win.set_theme(n))
    docks = v.addMenu("Panels")
    for d in win.docks.values():
        docks.addAction(d.toggleViewAction())
    docks.addSeparator()
    # a layout squeezed by a tiny window, or docks dragged away, is saved and comes back at
    # every start: this puts the panels where a new installation has them
    win.act_reset_layout = win._action(
        docks, "&Reset layout", win.reset_layout,
        tip="Put every panel back where it starts on a new installation")
    r = mb.addMenu("&Run")
    win.act_run = win._action(r, "&Run", win.run_panel.start_run, "F5",
                                "Run the ticked scenarios in the background")
    win.act_cancel = win._action(r, "&Cancel run", win.run_panel.cancel, "Shift+F5")
    # issue 14 §8-9: the clipboard (app.clipboard), one selection in the tree and the 3D
    # view (app.selection), the Help menu (app.help)
    win.act_cut, win.act_copy, win.act_paste = clipboard.make_actions(
        win, e, before=win.act_delete)
    win.act_draw_conveyor = conveyor_tool.make_action(win, v, win.act_snap)
    win.floor_plan = FloorPlanActions(win, v, win.act_snap)
    win.tree_selection = TreeSelection(win)
    win.help = HelpMenu(win)
    tb = win.addToolBar("Main")
    tb.setObjectName("toolbar_main")
    for a in (win.act_new, win.act_open, win.act_save, None, win.act_undo, win.act_redo,
              win.act_delete, None, win.act_connect, win.act_measure, win.act_fit, None,
              win.act_run, win.act_cancel):
        if a is None:
            tb.addSeparator()
        else:
            tb.addAction(a)


def list_in_panels(win, dock) -> None:
    """Put ``dock``'s show/hide entry in *View > Panels* (built before this dock exists), with
    the other docks' entries, above *Reset layout*: a dock installed after the menus (Live,
    Alerts, Forecast) can be shown again once closed."""
    panels = next((m for m in win.act_reset_layout.associatedObjects()
                   if isinstance(m, QMenu)), None)
    if panels is None:
        return
    actions = panels.actions()
    # the separator before Reset layout ends the list of docks
    at = actions.index(win.act_reset_layout)
    before = actions[at - 1] if at > 0 and actions[at - 1].isSeparator() else actions[at]
    panels.insertAction(before, dock.toggleViewAction())
