"""State handling a user can trust: a half-built layout reopens with its faults marked,
New and Open clear every trace of the last project, results go stale, titles, Save As and
recovery."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from twin.model import commands as cmd
from twin.projectfile.reader import load_project, save_project

pytestmark = pytest.mark.gui


def _tree_item(w, eid):
    root = w.tree.topLevelItem(0)
    return next(root.child(i) for i in range(root.childCount())
                if root.child(i).data(0, Qt.UserRole) == eid)


def test_a_half_built_line_reopens_marked_and_runs_once_mended(make_window, line_project,
                                                               qtbot, tmp_path, warm_kernel):
    # File > Save of a line with a station deleted from its middle wrote a file that could
    # not be opened again, nor recovered from autosave
    cmd.UndoStack(line_project).push(cmd.RemoveElement("B1"))
    save_project(line_project, tmp_path / "half")
    w = make_window()
    assert w.open_project(tmp_path / "half")
    assert [el.id for el in w.project.elements] == ["src", "M1", "M2", "out"]
    # marked on the element in the tree: icon, colour and a tool tip naming it
    m1, m2, out = _tree_item(w, "M1"), _tree_item(w, "M2"), _tree_item(w, "out")
    assert "station 'M1'" in m1.toolTip(0) and "cannot leave" in m1.toolTip(0)
    assert "station 'M2'" in m2.toolTip(0) and "no part can reach" in m2.toolTip(0)
    assert not m1.icon(0).isNull() and out.icon(0).isNull() and out.toolTip(0) == ""
    assert m1.foreground(0).color() != out.foreground(0).color()
    # the source's parts can reach no sink either
    assert "source 'src'" in _tree_item(w, "src").toolTip(0)
    assert sorted(w.marks.by_element) == ["M1", "M2", "src"]
    # and in 3D: an orange box around each of the three, with the same tool tip
    assert w.marks.boxes.actor.GetVisibility()
    assert w.marks.boxes.poly.GetNumberOfLines() == 3 * 12
    assert "station 'M1'" in w.marks.tooltip("M1") and w.marks.tooltip("out") == ""
    log = w.log_pane.toPlainText()
    assert "cannot run yet: station 'M1'" in log and "cannot run yet: station 'M2'" in log
    # a run is refused with the reason
    failed = []
    w.run_panel.run_failed.connect(lambda msg, tb: failed.append((msg, tb)))
    assert not w.run_panel.start_run()
    assert failed and failed[0][1] is None and "cannot leave" in failed[0][0]
    # the user connects the missing link: the marks go, the run works
    w.stack.push(cmd.Connect("M1", "M2"))
    m1 = _tree_item(w, "M1")
    assert m1.toolTip(0) == "" and m1.icon(0).isNull()
    assert not w.marks.boxes.actor.GetVisibility() and w.marks.by_element == {}
    assert "every fault of the flow is mended" in w.log_pane.toPlainText()
    w.run_panel.horizon.setText("1h")
    with qtbot.waitSignal(w.run_panel.run_finished, timeout=60_000):
        assert w.run_panel.start_run()
    # undo brings the marks back
    w.stack.undo()
    assert "cannot leave" in _tree_item(w, "M1").toolTip(0)


def test_file_new_saves_and_reopens(make_window, tmp_path):
    w = make_window()
    w.act_new.trigger()
    assert w.save_to(tmp_path / "empty")
    assert w.open_project(tmp_path / "empty")
    assert w.project.elements == [] and w.marks.line
    assert "non-empty list of elements" in w.tree.topLevelItem(0).toolTip(0)


def test_a_recovered_half_built_line_comes_back(make_window, line_project, tmp_path):
    from app.recovery import recovery_files

    save_project(line_project, tmp_path / "p")
    w = make_window(load_project(tmp_path / "p"))
    w.view.set_selection(["B1"])
    w.act_delete.trigger()
    file = w.autosave()
    assert recovery_files() == [file]
    w2 = make_window()
    assert w2.recover(file)
    assert "B1" not in w2.project and "cannot leave" in _tree_item(w2, "M1").toolTip(0)


def _run(w, qtbot):
    with qtbot.waitSignal(w.run_panel.run_finished, timeout=60_000):
        assert w.run_panel.start_run()


def test_new_and_open_clear_every_trace(make_window, line_project, qtbot, tmp_path,
                                        warm_kernel):
    w = make_window(line_project)
    w.run_panel.horizon.setText("1h")
    _run(w, qtbot)
    assert w.runs_item.childCount() == 1 and w.playback is not None
    assert w.colour_legend.isVisible()  # the run coloured the stations: its legend shows
    w.replay._fill_scenarios()
    assert w.replay.fork_scenario.count() == 2  # base and the old project's "faster"
    w.act_new.trigger()
    assert w.runs_item.childCount() == 0 and w.run_count == 0
    assert w.playback is None and w.last_result is None and w.dashboards.result is None
    assert w.progress.value() == 0 and not w.progress.isVisible()
    assert w.run_panel.progress.value() == 0
    assert [w.replay.fork_scenario.itemText(i)
            for i in range(w.replay.fork_scenario.count())] == ["base"]
    assert w.colour_mode == "plain"
    # and no legend of colours no element wears ("Utilisation (last run, first scenario)"
    # stayed over the new project's plain view)
    assert not w.colour_legend.isVisible()
    # a run still going when another project opens is cancelled, its result dropped
    other = save_project(line_project, tmp_path / "other").parent
    w.open_project(other)
    w.run_panel.horizon.setText("2000d")
    assert w.run_panel.start_run()
    qtbot.wait(200)
    assert w.open_project(other)
    assert not w.run_panel.is_running() and w.run_panel.run_button.isEnabled()
    qtbot.wait(300)
    assert w.runs_item.childCount() == 0 and w.last_result is None


def test_editing_after_a_run_marks_the_results_stale(make_window, line_project, qtbot,
                                                     warm_kernel):
    w = make_window(line_project)
    w.run_panel.horizon.setText("1h")
    w.view.set_selection(["M2"])
    w.act_rotate.trigger()  # before any run: nothing to be stale
    assert not w.run_panel.stale_label.isVisible()
    _run(w, qtbot)
    assert not w.run_panel.stale_label.isVisible()
    w.act_rotate.trigger()
    assert w.run_panel.stale_label.isVisible()
    assert w.run_panel.stale_label.text() == "results are stale: run again"
    _run(w, qtbot)
    assert not w.run_panel.stale_label.isVisible()


def test_title_save_as_from_a_name_and_permissions(make_window, line_project, tmp_path,
                                                   monkeypatch):
    import os
    import stat

    from PySide6.QtWidgets import QFileDialog

    save_project(line_project, tmp_path / "small")
    w = make_window(load_project(tmp_path / "small"))
    assert w.windowTitle().startswith("small") and not w.isWindowModified()
    w.view.set_selection(["M2"])
    w.act_rotate.trigger()
    assert w.isWindowModified() and "[*]" in w.windowTitle()  # Qt shows the [*] as '*'
    asked = []

    def dialog(parent, caption, start, *rest):
        asked.append(start)
        return str(tmp_path / "My line"), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", dialog)
    old = os.umask(0o027)
    try:
        assert w.act_save_as.trigger() is None and (tmp_path / "My line").is_dir()
    finally:
        os.umask(old)
    assert asked == [str(tmp_path / "small")]  # the dialog opened at the project's folder
    file = tmp_path / "My line" / "project.json"
    assert load_project(file).name == "My line"
    assert w.windowTitle().startswith("My line") and not w.isWindowModified()
    assert stat.S_IMODE(file.stat().st_mode) == 0o640  # 0666 less the umask, not 0600
    # and the next Save As starts in the new project's folder
    w.act_save_as.trigger()
    assert asked[-1] == str(tmp_path / "My line")


def test_no_recovery_prompt_after_a_clean_save_and_exit(make_window, line_project, tmp_path):
    from app.recovery import recovery_files

    w = make_window(line_project)  # never saved: its copy is named after the window
    w.view.set_selection(["M2"])
    w.act_rotate.trigger()
    assert w.autosave() is not None and len(recovery_files()) == 1
    assert w.save_to(tmp_path / "saved")  # now it has a path, and another copy name
    w.close()
    assert recovery_files() == []


def _edited_copy(make_window, project, folder):
    """A window on ``project`` saved in ``folder``, edited and autosaved: its copy."""
    save_project(project, folder)
    w = make_window(load_project(folder))
    w.view.set_selection(["M2"])
    w.act_rotate.trigger()
    return w, w.autosave()


def test_declining_a_recovery_keeps_it_and_only_discard_deletes_it(make_window, line_project,
                                                                    tmp_path):
    # "No" deleted the copy: another project's unsaved work was lost with one click
    from app.recovery import DISCARD, KEEP, offer_recovery, recovery_files

    _, file = _edited_copy(make_window, line_project, tmp_path / "p")
    assert recovery_files() == [file]
    w2 = make_window()
    asked = []
    assert not offer_recovery(w2, recovery_files(), lambda win, f: asked.append(f) or KEEP)
    assert asked == [file] and recovery_files() == [file]
    assert "kept the unsaved changes" in w2.log_pane.toPlainText()
    assert not offer_recovery(w2, recovery_files(), lambda win, f: DISCARD)
    assert recovery_files() == [] and not file.parent.exists()
    assert "deleted the unsaved changes" in w2.log_pane.toPlainText()


def test_a_copy_is_offered_only_to_its_own_project(make_window, line_project, tmp_path):
    from app.recovery import KEEP, recovery_files

    w, file = _edited_copy(make_window, line_project, tmp_path / "a")
    save_project(line_project, tmp_path / "b")
    w2 = make_window()
    asked = []
    w2.ask_recover = lambda win, f: asked.append(f) or KEEP
    assert w2.open_project(tmp_path / "b")  # another project: not a word about a's copy
    w2.new_project()  # an untitled one: neither
    assert asked == [] and recovery_files() == [file]
    assert w2.open_project(tmp_path / "a")  # its own: offered, and kept
    assert asked == [file] and recovery_files() == [file]
    # the kept copy survives this window's clean close, and its own edits go elsewhere
    w2.view.set_selection(["M1"])
    w2.act_rotate.trigger()
    mine = w2.autosave()
    assert mine != file and set(recovery_files()) == {file, mine}
    w2.close()
    assert recovery_files() == [file]
    w2 = make_window()  # Recover: the project comes back edited, the copy is gone
    w2.ask_recover = lambda win, f: "recover"
    assert w2.open_project(tmp_path / "a")
    assert w2.isWindowModified() and w2.path == tmp_path / "a"
    assert w2.project.element("M2").rotation != line_project.element("M2").rotation
    assert recovery_files() == []


def test_an_untitled_copy_is_offered_at_new(make_window, line_project):
    from app.recovery import KEEP, recovery_files

    w = make_window(line_project)  # never saved
    w.view.set_selection(["M2"])
    w.act_rotate.trigger()
    file = w.autosave()
    w2 = make_window()
    asked = []
    w2.ask_recover = lambda win, f: asked.append(f) or KEEP
    w2.new_project()
    assert asked == [file] and recovery_files() == [file]


def test_the_recovery_question_has_recover_keep_and_discard(make_window, line_project,
                                                            tmp_path, qtbot):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from app.recovery import KEEP, ask_recover, recovery_files

    w, file = _edited_copy(make_window, line_project, tmp_path / "p")
    seen = []

    def click_keep():
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, click_keep)
            return
        seen.extend(b.text() for b in box.buttons())
        box.escapeButton().click()  # Escape or the window's close: kept

    QTimer.singleShot(0, click_keep)
    assert ask_recover(w, file) == KEEP
    assert sorted(seen) == ["Discard", "Keep for later", "Recover"]
    assert recovery_files() == [file]


def test_the_recovery_question_names_the_project_it_belongs_to(make_window, line_project,
                                                                tmp_path):
    # it asked about "autosaved 570162d2d80f" while opening another project: a hash says
    # nothing, and Yes replaces the project just opened with that other one
    from app.recovery import recovery_question

    save_project(line_project, tmp_path / "p")
    w = make_window(load_project(tmp_path / "p"))
    w.view.set_selection(["M2"])
    w.act_rotate.trigger()
    question = recovery_question(w.autosave())
    assert str((tmp_path / "p").resolve()) in question or str(tmp_path / "p") in question
    assert w.recovery_file().parent.name not in question


def test_the_asset_mapping_of_a_recording_is_remembered(make_window, line_project, tmp_path,
                                                        sme_recording):
    w = make_window(line_project)
    assert w.open_recording(sme_recording)
    box = w.replay.mapping_table.cellWidget(2, 1)
    box.setCurrentIndex(box.findData("M1"))  # the user shows machine 2 on M1
    assert w.isWindowModified()  # an edit of the project, undoable
    assert w.project.meta["recording_assets"] == {sme_recording.name: {"2": "M1"}}
    assert w.save_to(tmp_path / "mapped")
    w2 = make_window()
    assert w2.open_project(tmp_path / "mapped")
    assert w2.open_recording(sme_recording)
    assert w2.replay.elements["2"] == "M1"
    assert w2.replay.mapping_table.cellWidget(2, 1).currentData() == "M1"
    w.stack.undo()
    assert "recording_assets" not in w.project.meta


def test_the_runs_keep_their_names_when_the_project_tree_is_rebuilt(make_window, line_project,
                                                                   qtbot, warm_kernel):
    # "Run 1: base" became "Run 1" once a scenario was added: every edit rebuilds the tree
    from PySide6.QtTest import QTest

    w = make_window(line_project)
    w.run_panel.horizon.setText("1h")
    _run(w, qtbot)
    runs = lambda: [w.runs_item.child(i).text(0)  # noqa: E731
                    for i in range(w.runs_item.childCount())]
    assert runs() == ["Run 1: base, faster"]
    w.docks["scenarios"].show()
    QTest.mouseClick(w.scenario_panel.new_button, Qt.LeftButton)
    assert "scenario" in [s.name for s in w.project.scenarios]
    assert runs() == ["Run 1: base, faster"]
    w.run_panel.horizon.setText("30min")
    _run(w, qtbot)
    assert runs() == ["Run 1: base, faster", "Run 2: base, faster, scenario"]
    assert w.run_count == 2
    w.act_undo.trigger()  # another rebuild, the labels stay
    assert runs() == ["Run 1: base, faster", "Run 2: base, faster, scenario"]
    w.act_new.trigger()
    assert runs() == [] and w.run_count == 0


def test_editing_during_a_run_leaves_its_results_stale(make_window, line_project, qtbot,
                                                      warm_kernel):
    """A station deleted while the run went on (or while "Run it?" waited): the run ended
    with its results, bottleneck and all, of the layout before, and no stale mark."""
    w = make_window(line_project)
    w.run_panel.horizon.setText("1h")
    with qtbot.waitSignal(w.run_panel.run_finished, timeout=60_000):
        assert w.run_panel.start_run()
        w.view.set_selection(["M2"])
        w.act_rotate.trigger()  # the run's snapshot was taken before this
    assert w.last_result is not None
    assert w.run_panel.stale_label.isVisible()
    assert w.run_panel.stale_label.text() == "results are stale: run again"
    _run(w, qtbot)  # nothing edited during this one
    assert not w.run_panel.stale_label.isVisible()


def test_the_recovery_question_comes_over_the_drawn_window(make_window, line_project, tmp_path,
                                                           qtbot):
    """At start-up (``app.main``) the project opened, and its copy was offered, before the
    window was shown: the question stood alone on the screen. It now waits for the window's
    first paint (polish2 §5)."""
    from PySide6.QtWidgets import QMessageBox

    from app.main_window import MainWindow
    from app.recovery import KEEP, recovery_files

    _, file = _edited_copy(make_window, line_project, tmp_path / "p")  # a crash left it
    assert recovery_files() == [file]
    win = MainWindow(warm_up=False)  # as app.main does: open, then show
    asked = []
    win.ask_recover = lambda w, f: asked.append(
        (f, w.isVisible(), w.windowHandle() is not None and w.windowHandle().isExposed())) or KEEP
    win.testing = True
    try:
        win.show_project(load_project(tmp_path / "p"))
        if win.path is None:
            win.offer_recovery()
        assert asked == []  # not before the window is there
        win.show()
        qtbot.waitUntil(lambda: bool(asked), timeout=5_000)
        qtbot.wait(100)
        assert asked == [(file, True, True)]  # once, over the shown window
    finally:
        win.ask_unsaved = lambda: QMessageBox.Discard
        win.close()
        win.deleteLater()
