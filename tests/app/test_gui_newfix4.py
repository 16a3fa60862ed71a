"""A newcomer's workbench findings, fixed (session 17, newfix4): each test reads what the
user sees at the window's default size."""

import time

from PySide6.QtCore import QRect, Qt

from tests.app.conftest import small_line
from tests.live.conftest import broker  # noqa: F401 - the fixture: a real mosquitto
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


def test_live_dock_shows_time_stamps_that_went_back(make_window, line_project, broker,  # noqa: F811
                                                    tmp_path, qtbot):
    """The recorder counts readings stamped far before the latest (another stream blended
    in); the Live dock says how many, beside the lost messages, and its tooltip says what to
    check, while following and after Disconnect."""
    from tests.app.test_gui_live import _connect
    from twin.live.publish_mqtt import MqttPublisher

    win = make_window(line_project)
    win.docks["live"].raise_()
    _connect(qtbot, win, f"{broker.url}/plant", tmp_path / "back.h5")
    live = win.live
    qtbot.waitUntil(lambda: live.indicator.startswith("connected"), timeout=15000)
    assert live.time_back_label.isHidden()
    pub = MqttPublisher(f"{broker.url}/plant", client_id="test-plant")
    pub.open(None, 0.0)
    try:
        t0 = time.time() - 3600.0
        pub.send([("M1", "state", t0, "busy"), ("M1", "parts", t0 + 10, 1)])
        # an hour back, then half an hour back: two readings older than 300 s before the latest
        pub.send([("M2", "parts", t0 - 3600.0, 1), ("M2", "parts", t0 - 1800.0, 1)])
        qtbot.waitUntil(lambda: live.time_back_label.isVisible(), timeout=15000)
        assert live.time_back_label.text().startswith("2 readings: time stamps went back")
        tip = live.time_back_label.toolTip()
        assert "publisher's clock" in tip and "backlog" in tip
        qtbot.mouseClick(live.disconnect_button, Qt.LeftButton)
        qtbot.waitUntil(lambda: live.replay_button.isEnabled(), timeout=30000)
        assert live.time_back_label.isVisible()  # still said after the end
    finally:
        pub.close(wait=False)


def test_an_element_is_added_from_the_keyboard(make_window, qtbot):
    """Insert opens Add element over the view; a letter adds that kind at a free spot beside
    the selection, selected, with the Inspector's name field ready for typing."""
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QMenu

    w = make_window(small_line(), size=DEFAULT_SIZE)
    w.view.set_selection(["M1"])
    before = {el.id for el in w.project.elements}
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)  # shortcuts go to the active
    w.view.vtk.setFocus()
    QTest.keyClick(w, Qt.Key_Insert)
    qtbot.waitUntil(lambda: isinstance(QApplication.activePopupWidget(), QMenu))
    menu = QApplication.activePopupWidget()
    labels = [a.text() for a in menu.actions()]
    letters = [t[t.index("&") + 1].lower() for t in labels]
    assert len(labels) == 8 and len(set(letters)) == 8  # every kind, each its own letter
    QTest.keyClick(menu, Qt.Key_T)  # S&tation
    added = {el.id for el in w.project.elements} - before
    assert len(added) == 1
    eid = added.pop()
    el = w.project.element(eid)
    assert el.kind == "station" and w.view.selection == [eid]
    assert w.inspector.element is el
    assert QApplication.focusWidget() is w.inspector.editor("name")
    # beside M1, on no other element's footprint
    for other in w.project.elements:
        if other is el:
            continue
        assert (abs(other.position[0] - el.position[0]) >= (other.footprint[0]
                                                            + el.footprint[0]) / 2
                or abs(other.position[1] - el.position[1]) >= (other.footprint[1]
                                                               + el.footprint[1]) / 2), other.id
    assert abs(el.position[1] - w.project.element("M1").position[1]) < 5.0
    # one undo step takes it out again
    w.act_undo.trigger()
    assert eid not in w.project


def _widths(w):
    return {k: w.docks[k].width() for k in ("project", "inspector")}


def _squeeze(w):
    """The window at 400 x 300, as a window manager may size it below its minimum size (Qt's
    own resize() stops at the minimum)."""
    w.windowHandle().resize(400, 300)


def test_docks_come_back_after_a_tiny_window_and_a_dock_resized_on_purpose_stays(make_window,
                                                                                  qtbot):
    w = make_window(small_line(), size=DEFAULT_SIZE)
    qtbot.wait(200)
    good = _widths(w)
    bottom = w.docks["charts"].height()
    _squeeze(w)
    qtbot.wait(200)
    narrow = _widths(w)
    assert narrow["project"] < good["project"] - 20  # the squeeze the newcomer saw
    w.resize(*DEFAULT_SIZE)
    qtbot.waitUntil(lambda: all(abs(_widths(w)[k] - good[k]) <= 3 for k in good))
    assert abs(w.docks["charts"].height() - bottom) <= 3
    # a splitter dragged at a size with room: kept when the window grows, and what comes
    # back after the next squeeze
    w.resizeDocks([w.docks["inspector"]], [good["inspector"] + 120], Qt.Horizontal)
    qtbot.wait(200)
    wide = w.docks["inspector"].width()
    assert wide > good["inspector"] + 60
    w.resize(1500, 950)
    qtbot.wait(200)
    assert abs(w.docks["inspector"].width() - wide) <= 3
    _squeeze(w)
    qtbot.wait(200)
    w.resize(1500, 950)
    qtbot.waitUntil(lambda: abs(w.docks["inspector"].width() - wide) <= 3)


def test_docks_come_back_after_a_window_squeezed_to_200_by_150(make_window, qtbot):
    """200 x 150 then 1600 x 1000 (xdotool windowsize, one straight after the other) left
    the Project and Palette docks ~60 px wide and the Inspector cut off (gui17 §4): the
    squeeze and the growth came within one look of app.dock_sizes, so no squeeze was seen;
    the same for a squeeze and back to the very same size."""
    from PySide6.QtWidgets import QApplication

    w = make_window(small_line(), size=DEFAULT_SIZE)
    qtbot.wait(200)
    keys = ("project", "palette", "inspector", "run")
    good = {k: w.docks[k].width() for k in keys}
    for back in ((1600, 1000), DEFAULT_SIZE):
        w.windowHandle().resize(200, 150)
        QApplication.processEvents()  # the layout squeezes the docks, no pause for a look
        assert w.docks["project"].width() < good["project"] - 20
        w.windowHandle().resize(*back)
        qtbot.wait(300)
        qtbot.waitUntil(lambda: all(abs(w.docks[k].width() - good[k]) <= 3 for k in keys))
