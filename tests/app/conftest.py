"""Headless workbench tests: Qt's offscreen platform and VTK on OSMesa (Debian libosmesa6).

Both are set before Qt or VTK load. Each test gets its own settings and recovery folders
(XDG_CONFIG_HOME / XDG_DATA_HOME), and ``make_window`` owns the clean-up of every window it
makes (napari's ``make_napari_viewer``).
"""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkOSOpenGLRenderWindow")

import pytest  # noqa: E402

from twin.model import elements as m  # noqa: E402
from twin.model.distributions import constant, exponential  # noqa: E402


@pytest.fixture(autouse=True)
def _own_folders(tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    # Qt reads XDG_CONFIG_HOME once per process, so without this every test after the first
    # shared its settings: a window restored the docks, geometry and theme the monkey test's
    # window had saved
    for fmt in (QSettings.NativeFormat, QSettings.IniFormat):
        QSettings.setPath(fmt, QSettings.UserScope, str(tmp_path / "config"))


@pytest.fixture(scope="session")
def warm_kernel():
    """Compile (or load) the kernel once, outside any timed GUI interaction."""
    from kernels.warmup import warm_up

    warm_up()


@pytest.fixture
def make_window(qtbot, qapp, tmp_path):
    """``make_window(project=None, path=None)`` -> a shown ``MainWindow`` closed at teardown."""
    from PySide6.QtWidgets import QMessageBox

    from app.main_window import MainWindow

    qapp.setOrganizationName("twinbench")
    qapp.setApplicationName("twinbench")
    made = []

    def factory(project=None, path=None, size=(1200, 800)):
        w = MainWindow(project, path, warm_up=False)
        w.ask_unsaved = lambda: QMessageBox.Discard
        w.ask_stop_work = lambda text: True
        w.ask_recover = lambda win, file: "keep"  # a copy left by another test: no modal
        w.testing = True
        w.resize(*size)
        w.show()
        qtbot.waitExposed(w)
        made.append(w)
        return w

    yield factory
    from PySide6.QtCore import QEvent

    for w in made:
        w.ask_unsaved = lambda: QMessageBox.Discard
        w.ask_stop_work = lambda text: True
        w.close()
        w.deleteLater()
    # deleteLater only deletes at the next turn of the event loop, in the next test: delete
    # them now, so no window (and its VTK render window) outlives its test
    qapp.sendPostedEvents(None, QEvent.DeferredDelete)
    qapp.processEvents()


def small_line() -> m.Project:
    """Source -> M1 -> B1 -> M2 -> sink, with a scenario that speeds M2 up."""
    p = m.Project("small", elements=[
        m.Source("src", position=(0.0, 0.0, 0.0), arrival=exponential(50.0)),
        m.Station("M1", position=(3.0, 0.0, 0.0), process_time=exponential(40.0),
                  power_kw={"busy": 5.0, "idle": 1.0}, wear=m.Wear(per_operation=0.01)),
        m.Buffer("B1", position=(6.0, 0.0, 0.0), capacity=5),
        m.Station("M2", position=(9.0, 0.0, 0.0), process_time=constant(45.0),
                  power_kw={"busy": 4.0}),
        m.Sink("out", position=(12.0, 0.0, 0.0)),
    ], scenarios=[m.Scenario("faster", (m.Override("process_time", 35.0, "M2"),))],
        run=m.RunSettings(horizon=4 * 3600.0, warmup=600.0, replications=3, seed=3))
    for a, b in (("src", "M1"), ("M1", "B1"), ("B1", "M2"), ("M2", "out")):
        p.connect(a, b)
    return p


@pytest.fixture
def line_project():
    return small_line()


@pytest.fixture
def retype():
    """``retype(field, text, commit=False)``: select all of a line edit and type ``text``
    over it, key by key as a user would; ``commit`` presses Return after it."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    def retype_(field, text: str, commit: bool = False) -> None:
        field.selectAll()
        QTest.keyClicks(field, text)
        if commit:
            QTest.keyClick(field, Qt.Key_Return)

    return retype_


@pytest.fixture
def model_threads(monkeypatch):
    """The names of the threads that built a ``Project`` while the test ran.

    Models are evented (psygnal): building one on a worker thread while the GUI thread
    collected garbage crashed Python in psygnal's compiled code, so the workbench builds them
    on the GUI thread and a worker only reads them."""
    import threading

    built: list[str] = []
    init = m.Project.__init__

    def recording_init(self, *args, **kwargs):
        built.append(threading.current_thread().name)
        init(self, *args, **kwargs)

    monkeypatch.setattr(m.Project, "__init__", recording_init)
    return built
