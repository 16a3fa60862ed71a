"""The Help tour's 3D step on a real X display without a compositor (Xvfb, software
OpenGL): the frame pointing at the view left the view black (Qt's offscreen platform, which
the other GUI tests use, has no native windows and never showed it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: The start of a child process: the bottling line in a window at (0, 0), and ``settle``.
WINDOW = r'''
import sys, time
from PIL import ImageGrab
from PySide6.QtWidgets import QApplication, QMessageBox
app = QApplication([])
from app.main_window import MainWindow
from twin.projectfile.reader import load_project
w = MainWindow(load_project("projects/bottling-line"), None, warm_up=False)
w.ask_unsaved = lambda: QMessageBox.Discard
w.resize(1200, 800)
w.move(0, 0)
w.show()

def settle(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)

'''

CHILD = WINDOW + r'''
settle(1.5)
tour = w.help.tour()
tour.move(900, 600)
tour.next.click()
tour.next.click()
assert "3D view" in tour.title.text()
tour.do_it.click()
settle(1.5)
v = w.view.vtk
at = v.mapToGlobal(v.rect().topLeft())
box = (at.x() + 10, at.y() + 10, at.x() + v.width() // 2, at.y() + v.height() // 2)
shot = ImageGrab.grab(bbox=box, xdisplay=sys.argv[1]).convert("L")
black = sum(1 for p in shot.getdata() if p < 8) / (shot.width * shot.height)
print(f"black {black:.3f} pointer {tour.pointer.isVisible()}")
w.close()
'''


@pytest.fixture
def xdisplay():
    if shutil.which("Xvfb") is None:
        pytest.skip("needs Xvfb (Debian: apt-get install xvfb)")
    r, wfd = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(wfd), "-screen", "0", "1280x900x24",
                             "-nolisten", "tcp"], pass_fds=(wfd,), stderr=subprocess.DEVNULL)
    os.close(wfd)
    with os.fdopen(r) as f:
        number = f.readline().strip()
    try:
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(10)


def run_on_x11(child: str, xdisplay: str, name: str) -> str:
    """Run the script ``child`` on the X display ``xdisplay`` (xcb, VTK's own OpenGL, its
    own settings folder ``name``); its standard output, once it exited with 0."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("QT_QPA_PLATFORM", "VTK_DEFAULT_OPENGL_WINDOW")}
    env.update(DISPLAY=xdisplay, QT_QPA_PLATFORM="xcb", PYTHONPATH=str(ROOT),
               XDG_CONFIG_HOME=str(Path(env.get("XDG_CONFIG_HOME", "/tmp")) / name))
    out = subprocess.run([sys.executable, "-c", child, xdisplay], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_the_tour_frame_leaves_the_3d_view_visible(xdisplay):
    stdout = run_on_x11(CHILD, xdisplay, "x11-tour")
    line = next(t for t in stdout.splitlines() if t.startswith("black "))
    black, visible = float(line.split()[1]), line.split()[3] == "True"
    assert visible, "the tour's frame points at the view"
    assert black < 0.05, f"{black:.0%} of the 3D view is black under the tour's frame"
