"""Wiring of the Experiments dock, the What-if dock and *Vary this…* into the main window
(apart from ``app.experiments_dock``, which stays under the house's module size)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QScrollArea

from app.experiments_dock import ExperimentsDock
from twin.experiments.spec import Factor


def install_experiments(win) -> ExperimentsDock:
    """Add the *Experiments* dock (beside the charts), the *What-if* dock of sliders (beside
    the Run panel) and *Vary this…* on the Inspector's numbers to the ``MainWindow`` ``win``."""
    from app.experiment_vary import VaryMenus
    from app.whatif_panel import WhatIfPanel

    dock = win.experiments = ExperimentsDock()
    win.docks["experiments"] = win._dock("Experiments", dock, Qt.BottomDockWidgetArea)
    win.tabifyDockWidget(win.docks["charts"], win.docks["experiments"])
    win.docks["charts"].raise_()
    whatif = win.whatif = WhatIfPanel()
    scroll = QScrollArea()  # as the Scenarios dock: it scrolls rather than squeeze the rows
    scroll.setWidgetResizable(True)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)  # rows fit the width, text wraps
    scroll.setFrameShape(QScrollArea.NoFrame)
    scroll.setWidget(whatif)
    # as wide as the panel (rows wrap their text, the table needs its width): the window's
    # default layout gives the right column this width (MainWindow._default_split); a hard
    # minimum instead kept the window from shrinking below 1,329 px
    win.right_column_width = (whatif.minimumSizeHint().width()
                              + scroll.verticalScrollBar().sizeHint().width())
    win.docks["whatif"] = win._dock("What-if", scroll, Qt.RightDockWidgetArea)
    win.tabifyDockWidget(win.docks["run"], win.docks["whatif"])
    win.docks["run"].raise_()
    # room for the sliders and the KPI table's three columns (a layout the user saved is
    # restored over this)
    win.resizeDocks([win.docks["inspector"]], [380], Qt.Horizontal)
    win.vary = VaryMenus(win.inspector, win)

    def vary(factor: Factor) -> None:
        # one undo step: the factor in the experiment and its slider in the What-if dock
        whatif.add_factor(factor, record=False)
        dock.keep_factor(factor, also=whatif.sliders_command(f"add the what-if slider "
                                                             f"{factor.name}"))
        win.docks["whatif"].raise_()

    def shown_as_scenario(name: str) -> None:
        win.scenario_panel.select(name)
        win.docks["scenarios"].raise_()
        # the 3D view shows what the scenario changes: its elements selected, and the
        # inspector (following the selection) marks the changed fields
        win.view.set_selection([f.element for f in dock.experiment_run.factors
                                if f.element is not None and f.element in win.project])

    win.vary.factor_chosen.connect(vary)
    dock.message.connect(win.log)
    whatif.message.connect(win.log)
    dock.scenario_made.connect(shown_as_scenario)
    return dock
