"""Where the file dialogs open (a newcomer's finding): Report…, Export chart…, Export
KPIs…, the 3D view's PNG and Open recording opened in the folder twinbench was started from
(a source tree, a desktop's home), with a bare "report.html"; they open in the project's
folder, Open among its siblings, and a project never saved in the user's documents."""

from pathlib import Path

import pytest
from PySide6.QtCore import QStandardPaths, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QFileDialog

from twin.projectfile.reader import load_project, save_project

pytestmark = pytest.mark.gui


@pytest.fixture
def asked(monkeypatch):
    """The folder or file each file dialog opened at; every dialog is cancelled."""
    starts = {}

    def save(parent, caption, start="", *rest, **kw):
        starts[caption] = start
        return "", ""

    def folder(parent, caption, start="", *rest, **kw):
        starts[caption] = start
        return ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", save)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", folder)
    return starts


def test_dialogs_open_beside_the_project(make_window, line_project, tmp_path, qtbot, asked,
                                         warm_kernel):
    save_project(line_project, tmp_path / "plant" / "line")
    w = make_window(load_project(tmp_path / "plant" / "line"))
    folder = tmp_path / "plant" / "line"
    w.run_panel.horizon.setText("1h")
    with qtbot.waitSignal(w.run_panel.run_finished, timeout=60_000):
        assert w.run_panel.start_run()
    QTest.mouseClick(w.dashboards.report_button, Qt.LeftButton)
    w.export_chart_dialog()
    w.export_csv_dialog()
    w.export_view_dialog()
    w.open_recording_dialog()
    w.open_dialog()
    assert asked == {
        "Save report": str(folder / "report.html"),
        "Export chart": str(folder / "chart.png"),
        "Export KPIs": str(folder / "kpis.csv"),
        "Export 3D view": str(folder / "layout.png"),
        "Open recording": str(folder),
        "Open project folder": str(tmp_path / "plant"),
    }


def test_a_new_project_exports_into_the_documents(make_window, asked):
    w = make_window()
    w.export_csv_dialog()
    w.open_dialog()
    docs = Path(QStandardPaths.writableLocation(QStandardPaths.DocumentsLocation))
    assert asked == {"Export KPIs": str(docs / "kpis.csv"), "Open project folder": str(docs)}
