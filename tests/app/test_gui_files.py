"""Saving survives a killed process; unsaved work comes back from the recovery folder."""

import signal
import subprocess
import sys
import textwrap
import time

import pytest

from twin.projectfile.reader import load_project, project_to_json, save_project

pytestmark = pytest.mark.gui

SAVER = textwrap.dedent("""
    import sys
    from twin.projectfile.reader import load_project, save_project
    p = load_project(sys.argv[1])
    el = p.element("M1")
    print("ready", flush=True)
    i = 0
    while True:  # keep saving a bigger and a smaller project until killed
        p.description = ("x" * 200_000) if i % 2 == 0 else "small"
        save_project(p, sys.argv[1])
        i += 1
""")


def test_killed_save_leaves_old_or_new_file(tmp_path, line_project):
    folder = tmp_path / "proj"
    save_project(line_project, folder)
    script = tmp_path / "saver.py"
    script.write_text(SAVER)
    allowed = {"", "small", "x" * 200_000}
    for delay in (0.05, 0.11, 0.23, 0.31):
        proc = subprocess.Popen([sys.executable, str(script), str(folder)],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        saved = load_project(folder)  # never a broken file
        assert saved.description in allowed
        assert [e.id for e in saved.elements] == [e.id for e in line_project.elements]
    # left-over temporaries are hidden dot-files beside the project, never the project file
    assert (folder / "project.json").exists()


def test_autosave_and_recovery(make_window, line_project, tmp_path):
    from app.recovery import recovery_files

    save_project(line_project, tmp_path / "p")
    w = make_window(load_project(tmp_path / "p"))
    assert w.autosave() is None  # nothing unsaved
    w.view.set_selection(["M2"])
    w.act_rotate.trigger()
    edited = project_to_json(w.project)
    file = w.autosave()
    assert file is not None and recovery_files() == [file]
    assert load_project(tmp_path / "p").element("M2").rotation == 0.0  # user file untouched
    # a new session (the first one "crashed") offers and restores the copy
    w2 = make_window()
    assert w2.recover(recovery_files()[0])
    assert project_to_json(w2.project) == edited
    assert w2.isWindowModified() and w2.path == tmp_path / "p"
    assert recovery_files() == []
    assert w2.save()
    assert project_to_json(load_project(tmp_path / "p")) == edited
    assert not w2.isWindowModified()


def test_startup_project_choice(tmp_path):
    from app.main import example_projects, startup_project

    # (a project given on the command line is opened by app.main.main without asking)
    assert startup_project([str(tmp_path / "gone"), str(tmp_path)]) == str(tmp_path)
    ex = example_projects()
    first = startup_project([])
    if ex is not None and (ex / "bottling-line").is_dir():
        assert first == str(ex / "bottling-line")
    else:
        assert first is None
