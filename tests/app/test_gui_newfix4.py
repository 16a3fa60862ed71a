"""A newcomer's workbench findings, fixed (session 17, newfix4): each test reads what the
user sees at the window's default size."""

from PySide6.QtCore import QRect

from tests.app.conftest import small_line
from twin.experiments.spec import Factor

DEFAULT_SIZE = (1400, 900)  # MainWindow's own size on a new installation


def _wholly_shown(widget) -> bool:
    """``widget`` is on screen in full: nothing of it scrolled away or clipped by its parents."""
    return widget.isVisible() and widget.visibleRegion().boundingRect() == widget.rect()


def test_experiments_dock_sets_up_a_study_at_the_default_size(make_window, qtbot):
    w = make_window(small_line(), size=DEFAULT_SIZE)
    w.docks["experiments"].raise_()
    dock = w.experiments
    dock.add_factor(Factor("B1", "capacity", 1.0, 9.0, integer=True, cost_per_unit=100.0))
    qtbot.waitUntil(lambda: dock.table.isVisible())
    # every control a study needs, whole, without scrolling or resizing the dock
    for widget in (dock.name, dock.table, dock.remove_button, dock.design, dock.points_spin,
                   dock.points_label, dock.replications, dock.precision, dock.seed,
                   dock.horizon, dock.margin, dock.responses, dock.run_button,
                   dock.cancel_button):
        assert _wholly_shown(widget), widget
    # the factor table's columns (factor, low, high, integer, cost/unit) all in view
    header = dock.table.horizontalHeader()
    assert header.length() <= dock.table.viewport().width()
    # labels read in full ("levels per ra…" was clipped)
    assert dock.points_label.width() >= dock.points_label.sizeHint().width()
    # nothing scrolls sideways: the settings column is as wide as it needs
    scroll = dock.settings_scroll
    assert scroll.widget().width() <= scroll.viewport().width()
    assert QRect(dock.rect()).contains(dock.run_button.mapTo(dock, dock.run_button.rect()
                                                             .bottomRight()))
