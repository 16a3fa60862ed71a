"""The Help menu (issue 14, §9): a quick-start tour, the keyboard shortcuts, the docs, About.

The shortcuts dialog is made from the window's actions when it opens, so it can never list a
key that does nothing. The docs are the ``docs/*.md`` of the repository: read from the source
tree beside ``app/`` (a checkout, an editable install), or where a wheel installs them,
``<prefix>/share/twinbench/docs`` (pyproject's ``data-files``). They open in a viewer in
the window (Markdown rendered), with a button that hands the file to the desktop's viewer.
"""

from __future__ import annotations

import importlib.metadata
import platform
import sys
import sysconfig
from pathlib import Path

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QEvent, QObject, QRect, Qt, QUrl, qVersion
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence, QRegion
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
)

SOURCE_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = "bottling-line"


def docs_folders() -> list[Path]:
    """Where the docs may be, in the order they are looked for: a checkout's own (an
    editable install may also have copied them to the prefix, where they go stale), then
    where a wheel puts them."""
    share = ("share", "twinbench", "docs")
    return [SOURCE_ROOT / "docs", Path(sysconfig.get_path("data")).joinpath(*share),
            Path(sys.prefix).joinpath(*share)]


def docs() -> list[tuple[str, Path]]:
    """(title, file) of each doc shipped: its first ``# `` heading, or its file name."""
    folder = next((f for f in docs_folders() if any(f.glob("*.md"))), None)
    if folder is None:
        return []
    out = []
    for file in sorted(folder.glob("*.md")):
        title = file.stem.replace("-", " ").capitalize()
        for line in file.read_text(encoding="utf-8").splitlines():
            if line.startswith("# "):
                title = line[2:].strip().replace("`", "")  # the menu shows no Markdown
                break
        out.append((title, file))
    return out


def example_project() -> Path | None:
    """The example project folder the tour opens, if this installation has it."""
    for folder in (SOURCE_ROOT / "projects" / EXAMPLE,
                   Path(sysconfig.get_path("data")) / "share" / "twinbench" / "projects" / EXAMPLE):
        if (folder / "project.json").exists():
            return folder
    return None


def versions() -> dict[str, str]:
    """The versions About shows (and a bug report needs)."""
    from vtkmodules.vtkCommonCore import vtkVersion

    def dist(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    return {"twinbench": dist("twinbench"), "Python": platform.python_version(),
            "Qt": qVersion(), "PySide6": pyside_version, "VTK": vtkVersion.GetVTKVersion(),
            "Numba": dist("numba"), "NumPy": dist("numpy")}


def shortcuts(win) -> list[tuple[str, str]]:
    """(what, keys) of every action of ``win`` that has a shortcut, sorted by what."""
    rows = set()
    for a in win.findChildren(QAction):
        keys = [k.toString(QKeySequence.NativeText) for k in a.shortcuts() if not k.isEmpty()]
        if keys:
            what = (a.text() or a.toolTip()).replace("&&", "\0").replace("&", "")
            rows.add((what.replace("\0", "&").rstrip("…. "), ", ".join(keys)))
    return sorted(rows, key=lambda r: r[0].lower())


class ShortcutsDialog(QDialog):
    def __init__(self, win):
        super().__init__(win)
        self.setWindowTitle("Keyboard shortcuts")
        rows = shortcuts(win)
        self.table = QTableWidget(len(rows), 2)
        self.table.setHorizontalHeaderLabels(["Action", "Keys"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        for i, (what, keys) in enumerate(rows):
            self.table.setItem(i, 0, QTableWidgetItem(what))
            self.table.setItem(i, 1, QTableWidgetItem(keys))
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.table.resizeColumnToContents(1)
        lay = QVBoxLayout(self)
        mouse = QLabel("Mouse in the 3D view: click selects, Ctrl/Shift-click selects more, "
                       "drag moves, right-drag orbits, middle-drag pans, the wheel zooms, a "
                       "right click opens the context menu.")
        mouse.setWordWrap(True)
        lay.addWidget(mouse)
        lay.addWidget(self.table)
        box = QDialogButtonBox(QDialogButtonBox.Close)
        box.rejected.connect(self.close)
        lay.addWidget(box)
        self.resize(520, 560)

    def rows(self) -> list[tuple[str, str]]:
        return [(self.table.item(i, 0).text(), self.table.item(i, 1).text())
                for i in range(self.table.rowCount())]


class DocViewer(QDialog):
    """One doc, rendered; "Open outside" hands the file to the desktop's viewer."""

    def __init__(self, title: str, file: Path, parent=None):
        super().__init__(parent)
        self.file = file
        self.setWindowTitle(f"{title} — twinbench docs")
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        self.browser.setSearchPaths([str(file.parent)])
        self.browser.setMarkdown(file.read_text(encoding="utf-8"))
        outside = QPushButton("Open outside")
        outside.setToolTip(str(file))
        outside.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(file))))
        box = QDialogButtonBox(QDialogButtonBox.Close)
        box.addButton(outside, QDialogButtonBox.ActionRole)
        box.rejected.connect(self.close)
        lay = QVBoxLayout(self)
        lay.addWidget(self.browser)
        lay.addWidget(box)
        self.resize(760, 640)


class AboutDialog(QDialog):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("About twinbench")
        v = versions()
        rows = "".join(f"<tr><td>{k}</td><td>&nbsp;{val}</td></tr>" for k, val in v.items())
        self.label = QLabel(
            f"<h3>twinbench {v['twinbench']}</h3><p>A desktop digital-twin workbench for "
            f"factory engineers, with a Numba discrete-event twin kernel.</p>"
            f"<table>{rows}</table><p>{platform.platform()}</p>")
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        box = QDialogButtonBox(QDialogButtonBox.Close)
        box.rejected.connect(self.close)
        lay = QVBoxLayout(self)
        lay.addWidget(self.label)
        lay.addWidget(box)

    def text(self) -> str:
        return self.label.text()


class Pointer(QFrame):
    """A red frame drawn over the part of the window a tour step is about.

    The frame is masked to its border: raised over the 3D view, a sibling of the view's
    native GL window, it becomes a native window itself, and without a compositor (Xvfb,
    a remote X display, software OpenGL) its "transparent" inside was drawn black over
    the whole view."""

    WIDTH = 3  # px of the border

    def __init__(self, win):
        super().__init__(win)
        self.win = win
        self.setStyleSheet(f"QFrame {{ border: {self.WIDTH}px solid #e0312b; "
                           "background: transparent; }")
        self.setAttribute(Qt.WA_TransparentForMouseEvents)
        self.hide()

    def point_at(self, widget) -> None:
        if widget is None or not widget.isVisible():
            self.hide()
            return
        top_left = widget.mapTo(self.win, widget.rect().topLeft())
        self.setGeometry(QRect(top_left, widget.size()))
        inside = self.rect().adjusted(self.WIDTH, self.WIDTH, -self.WIDTH, -self.WIDTH)
        self.setMask(QRegion(self.rect()).subtracted(QRegion(inside)))
        self.raise_()
        self.show()


class QuickStartTour(QDialog):
    """A few steps, each with a "Do it" button that does what the step says in the window
    (opens the example, brings a panel forward, runs), and a frame pointing at where."""

    def __init__(self, win):
        super().__init__(win)
        self.win = win
        self.setWindowTitle("Quick start")
        self.setWindowFlag(Qt.Tool)
        self.pointer = Pointer(win)
        self.steps = [
            ("1. The example line",
             f"The tour works on the example project <b>{EXAMPLE}</b>: a glass-bottle line, "
             "rinser, filler, capper, labeller and packer joined by conveyors. <i>Do it</i> "
             "opens it (your project is kept if you choose <i>Next</i> instead).",
             self._open_example, lambda: None),
            ("2. The palette",
             "Drag a kind from the <b>Palette</b> onto the floor to add an element; a right "
             "click on the floor adds one there too. Conveyors follow their two ends.",
             lambda: self._raise("palette"), lambda: win.palette),
            ("3. The 3D view",
             "Click an element to select it and see it in the Inspector; Ctrl- or Shift-click "
             "selects more; drag moves the selection; right-drag orbits, the wheel zooms. "
             "<i>Do it</i> selects the first machine and fits the view.",
             self._select_first_station, lambda: win.view),
            ("4. Run",
             "<b>Run</b> (F5) simulates the ticked scenarios, with replications and 95% "
             "intervals, in the background: the window stays usable. <i>Do it</i> starts it.",
             self._run, lambda: win.run_panel),
            ("5. Results",
             "When the run is over, <b>Charts</b> and <b>Statistics</b> show throughput, "
             "utilisation and the bottleneck; Colour stations by utilisation shows it in 3D. "
             "<i>Do it</i> brings the statistics forward.",
             lambda: self._raise("statistics"), lambda: win.stats),
        ]
        self.title = QLabel()
        self.body = QLabel()
        self.body.setWordWrap(True)
        self.body.setMinimumWidth(360)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.back, self.do_it, self.next = (QPushButton("Back"), QPushButton("Do it"),
                                            QPushButton("Next"))
        self.back.clicked.connect(lambda: self.show_step(self.index - 1))
        self.next.clicked.connect(lambda: self.show_step(self.index + 1))
        self.do_it.clicked.connect(self.do_step)
        buttons = QHBoxLayout()
        for b in (self.back, self.do_it, self.next):
            buttons.addWidget(b)
        lay = QVBoxLayout(self)
        for w in (self.title, self.body, self.status):
            lay.addWidget(w)
        lay.addLayout(buttons)
        self.index = 0
        self.show_step(0)

    def show_step(self, i: int) -> None:
        if i >= len(self.steps):
            self.close()
            return
        self.index = max(i, 0)
        title, body, _do, target = self.steps[self.index]
        self.title.setText(f"<b>{title}</b>")
        self.body.setText(body)
        self.status.setText("")
        self.back.setEnabled(self.index > 0)
        self.next.setText("Finish" if self.index == len(self.steps) - 1 else "Next")
        self.pointer.point_at(target())

    def do_step(self) -> None:
        _title, _body, do, target = self.steps[self.index]
        self.status.setText(do() or "")
        self.pointer.point_at(target())

    def hideEvent(self, ev):  # noqa: N802 - Qt override
        # closed, finished or left with Esc (a reject hides without a close event, and the
        # frame stayed around the palette for good)
        self.pointer.hide()
        super().hideEvent(ev)

    # --- what the steps do ------------------------------------------------------------------
    def _open_example(self) -> str:
        folder = example_project()
        if folder is None:
            return "The example is not installed here; the tour goes on with your project."
        if not self.win.maybe_save() or not self.win.open_project(folder):
            return "Your project stays open (not saved, or the example could not be read)."
        return f"Opened {folder}."

    def _raise(self, dock: str) -> str:
        d = self.win.docks[dock]
        d.show()
        d.raise_()
        return ""

    def _select_first_station(self) -> str:
        ids = [el.id for el in self.win.project.elements if el.kind == "station"]
        self.win.view.fit_view()
        if not ids:
            return "This project has no machine yet: add one from the palette."
        self.win.view.set_selection(ids[:1])
        return f"Selected {ids[0]}."

    def _run(self) -> str:
        self._raise("run")
        self.win.act_run.trigger()
        return "Running… the progress is in the status bar."


class ClosedWithWindow(QObject):
    """Closes and deletes the dialogs ``dialogs()`` returns when ``win`` hides (its close):
    no top-level dialog outlives its window (Qt's offscreen platform crashed deleting a
    window beside other top-level windows of the same VTK view)."""

    def __init__(self, win, dialogs):
        super().__init__(win)
        self.dialogs = dialogs
        win.installEventFilter(self)

    def eventFilter(self, obj, ev):  # noqa: N802 - Qt override
        if ev.type() == QEvent.Hide and not obj.isMinimized():
            for d in list(self.dialogs()):
                if d is not None:
                    d.close()
                    d.deleteLater()
        return False


class HelpMenu:
    """The Help menu of ``win`` and the dialogs it opens (kept, so tests can read them)."""

    def __init__(self, win):
        self.win = win
        self.dialogs: dict[str, QDialog] = {}
        menu = self.menu = win.menuBar().addMenu("&Help")
        self.act_tour = self._add("&Quick start tour…", self.tour,
                                  "A few steps through the example project", "F1")
        self.act_shortcuts = self._add("&Keyboard shortcuts…", self.show_shortcuts,
                                       "Every shortcut of the window", "Ctrl+F1")
        self.docs_menu = menu.addMenu("&Documentation")
        self.doc_actions: dict[str, QAction] = {}
        for title, file in docs():
            a = self.docs_menu.addAction(title)
            a.setToolTip(str(file))
            a.setData(str(file))
            a.triggered.connect(lambda _=False, t=title, f=file: self.show_doc(t, f))
            self.doc_actions[title] = a
        if not self.doc_actions:
            self.docs_menu.addAction("(the docs are not installed here)").setEnabled(False)
        menu.addSeparator()
        self.act_about = self._add("&About twinbench", self.about)
        self._closer = ClosedWithWindow(win, self._take_dialogs)

    def _take_dialogs(self):
        dialogs, self.dialogs = list(self.dialogs.values()), {}
        return dialogs

    def _add(self, text, slot, tip=None, key=None) -> QAction:
        return self.win._action(self.menu, text, slot, key or None, tip)

    def _show(self, key: str, dialog: QDialog) -> QDialog:
        old = self.dialogs.pop(key, None)
        if old is not None:
            old.close()
            old.deleteLater()
        self.dialogs[key] = dialog
        dialog.show()  # never exec: it blocks nothing, and tests read it
        dialog.raise_()
        return dialog

    def tour(self) -> QuickStartTour:
        return self._show("tour", QuickStartTour(self.win))

    def show_shortcuts(self) -> ShortcutsDialog:
        return self._show("shortcuts", ShortcutsDialog(self.win))

    def show_doc(self, title: str, file: Path) -> DocViewer:
        return self._show("doc", DocViewer(title, file, self.win))

    def about(self) -> AboutDialog:
        return self._show("about", AboutDialog(self.win))
