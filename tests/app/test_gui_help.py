"""The Help menu (issue 14 §9): the shortcuts as the actions have them, the docs shipped,
About with the versions, and a quick-start tour whose steps do what they say."""

import importlib.metadata
import platform
from pathlib import Path

import pytest
from PySide6.QtCore import qVersion
from PySide6.QtGui import QAction, QKeySequence
from vtkmodules.vtkCommonCore import vtkVersion

pytestmark = [pytest.mark.gui, pytest.mark.timeout(180)]
REPO = Path(__file__).resolve().parents[2]


def menu_titles(w):
    return [a.text() for a in w.menuBar().actions()]


def test_shortcuts_dialog_lists_every_shortcut_of_the_window(make_window, line_project):
    w = make_window(line_project)
    assert "&Help" in menu_titles(w)
    w.help.act_shortcuts.trigger()
    dlg = w.help.dialogs["shortcuts"]
    assert dlg.isVisible()
    rows = dict(dlg.rows())
    assert rows["Undo"] == "Ctrl+Z" and rows["Redo"] in ("Ctrl+Y", "Ctrl+Shift+Z",
                                                         "Ctrl+Y, Shift+Ctrl+Z")
    assert rows["Copy"] == "Ctrl+C" and rows["Paste"] == "Ctrl+V" and rows["Cut"] == "Ctrl+X"
    assert rows["Run"] == "F5" and rows["Duplicate"] == "Ctrl+D"
    # every action with a key is listed, and only those: made from the actions themselves
    keyed = [a for a in w.findChildren(QAction) if not a.shortcut().isEmpty()]
    assert {k for _, k in dlg.rows()} == {
        ", ".join(k.toString(QKeySequence.NativeText) for k in a.shortcuts()) for a in keyed}
    assert len(dlg.rows()) == len({(a.text(), a.shortcut().toString()) for a in keyed})
    # an action made later (another helper's menu) is listed the next time it opens
    extra = QAction("Frobnicate", w)
    extra.setShortcut("Ctrl+Alt+F")
    w.addAction(extra)
    w.help.act_shortcuts.trigger()
    assert dict(w.help.dialogs["shortcuts"].rows())["Frobnicate"] == "Ctrl+Alt+F"


def test_about_shows_the_versions(make_window):
    w = make_window()
    w.help.act_about.trigger()
    text = w.help.dialogs["about"].text()
    for version in (importlib.metadata.version("twinbench"), platform.python_version(),
                    qVersion(), importlib.metadata.version("PySide6-Essentials"),
                    vtkVersion.GetVTKVersion(), importlib.metadata.version("numba"),
                    importlib.metadata.version("numpy")):
        assert version in text
    for name in ("twinbench", "Python", "Qt", "PySide6", "VTK", "Numba", "NumPy"):
        assert f"<td>{name}</td>" in text
    # no dialog outlives its window
    about = w.help.dialogs["about"]
    w.close()
    assert not about.isVisible() and w.help.dialogs == {}


def test_each_doc_link_opens_an_existing_doc(make_window):
    w = make_window()
    actions = w.help.doc_actions
    shipped = sorted(p.name for p in (REPO / "docs").glob("*.md"))
    assert sorted(Path(a.data()).name for a in actions.values()) == shipped
    assert "Architecture" in actions
    for title, a in actions.items():
        file = Path(a.data())
        assert file.is_file() and file.suffix == ".md"
        a.trigger()
        viewer = w.help.dialogs["doc"]
        assert viewer.isVisible() and viewer.file == file
        lines = file.read_text("utf-8").splitlines()
        heading = next(x[2:].strip().replace("`", "") for x in lines if x.startswith("# "))
        assert heading == title
        # rendered, not shown as source: the heading's text without its '#'
        assert viewer.browser.toPlainText().lstrip().startswith(heading)


def test_tour_opens_the_example(make_window, line_project):
    w = make_window(line_project)
    w.help.act_tour.trigger()
    tour = w.help.dialogs["tour"]
    assert tour.isVisible() and "bottling-line" in tour.body.text()
    tour.do_it.click()
    assert w.project.name == "Bottling line"
    assert w.path.resolve() == (REPO / "projects" / "bottling-line").resolve()
    assert "Opened" in tour.status.text()


def test_tour_steps_do_what_they_say(make_window, line_project, qtbot, warm_kernel):
    w = make_window(line_project)
    tour = w.help.tour()
    tour.next.click()  # stay on this project
    assert tour.index == 1 and "Palette" in tour.body.text()
    w.docks["palette"].hide()
    tour.do_it.click()
    assert w.docks["palette"].isVisible()
    # the frame points at the palette
    top_left = w.palette.mapTo(w, w.palette.rect().topLeft())
    assert tour.pointer.isVisible() and tour.pointer.geometry().topLeft() == top_left
    assert tour.pointer.size() == w.palette.size()
    tour.next.click()
    tour.do_it.click()
    assert w.view.selection == ["M1"] and "Selected M1" in tour.status.text()
    assert w.inspector.isEnabled()
    tour.next.click()
    with qtbot.waitSignal(w.run_panel.run_finished, timeout=120_000):
        tour.do_it.click()
    tour.next.click()
    assert tour.next.text() == "Finish"
    tour.do_it.click()
    assert w.docks["statistics"].isVisible() and w.stats.table.rowCount() == 5
    tour.next.click()
    assert not tour.isVisible() and not tour.pointer.isVisible()


def test_escape_closes_the_tour_and_its_frame(make_window, line_project):
    """Esc closed the tour's dialog but left its red frame around the palette for good."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    w = make_window(line_project)
    w.help.act_tour.trigger()
    tour = w.help.dialogs["tour"]
    tour.next.click()  # step 2: the frame points at the palette
    assert tour.pointer.isVisible()
    QTest.keyClick(tour, Qt.Key_Escape)
    assert not tour.isVisible()
    assert not tour.pointer.isVisible()
    # opened again, it points again
    w.help.act_tour.trigger()
    tour = w.help.dialogs["tour"]
    assert tour.isVisible()
    tour.next.click()
    assert tour.pointer.isVisible()


def test_status_and_tool_tips_show_no_mnemonic(make_window, line_project, qtbot):
    """Hovering the toolbar's Open showed "&Open…" in the status bar: the '&' that marks a
    menu's Alt key is not text to read."""
    import re

    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QAction, QMouseEvent
    from PySide6.QtWidgets import QApplication, QToolBar

    w = make_window(line_project)
    mnemonic = re.compile(r"(?<!&)&(?!&)")
    bad = [(a.text(), a.statusTip(), a.toolTip()) for a in w.findChildren(QAction)
           if mnemonic.search(a.statusTip()) or mnemonic.search(a.toolTip())]
    assert bad == []
    assert w.act_open.statusTip() == "Open" and w.act_new.toolTip() == "New"
    # what the user reads: the status bar while the mouse is over the toolbar's Open
    bar = w.findChild(QToolBar)
    button = bar.widgetForAction(w.act_open)
    centre = QPointF(button.rect().center())
    QApplication.sendEvent(button, QEvent(QEvent.Enter))
    QApplication.sendEvent(button, QMouseEvent(QEvent.MouseMove, centre,
                                               QPointF(button.mapToGlobal(centre.toPoint())),
                                               Qt.NoButton, Qt.NoButton, Qt.NoModifier))
    qtbot.waitUntil(lambda: w.statusBar().currentMessage() != "", timeout=2000)
    assert w.statusBar().currentMessage() == "Open"
