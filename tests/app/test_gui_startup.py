"""Start-up (issue 14 §1): the window paints before the kernel loads, and says what is loading."""

import pytest
from PySide6.QtCore import QEvent, QObject

pytestmark = [pytest.mark.gui, pytest.mark.timeout(120)]


class _PaintSpy(QObject):
    """Records, at the window's first paint, whether the kernel's warm-up had started."""

    def __init__(self, window):
        super().__init__()
        self.window = window
        self.warm_job_at_paint = "not painted"
        self.text_at_paint = None
        window.installEventFilter(self)

    def eventFilter(self, obj, ev):  # noqa: N802 - Qt override
        if ev.type() == QEvent.Paint and self.warm_job_at_paint == "not painted":
            self.warm_job_at_paint = self.window.warm_job
            self.text_at_paint = self.window.startup.text()
        return False


def test_the_start_up_status_says_what_is_loading_and_clears(qtbot, qapp, line_project,
                                                              warm_kernel):
    from PySide6.QtWidgets import QMessageBox

    from app.main_window import MainWindow

    w = MainWindow(line_project, warm_up=True)
    w.ask_unsaved = lambda: QMessageBox.Discard
    w.testing = True
    try:
        label = w.startup.label
        assert w.startup.pending() == ["kernel"]
        assert label.text() == "Loading: compiling the twin kernel…"
        assert label.isVisibleTo(w)
        spy = _PaintSpy(w)
        kernel_texts = []  # what the kernel label said meanwhile
        set_text = w.kernel_label.setText
        w.kernel_label.setText = lambda t: (kernel_texts.append(t), set_text(t))
        texts = []
        w.startup.changed.connect(texts.append)
        w.resize(1000, 700)
        w.show()
        qtbot.waitExposed(w)
        qtbot.waitUntil(lambda: spy.warm_job_at_paint != "not painted", timeout=10_000)
        # the window painted before the kernel started loading, with the status showing
        assert spy.warm_job_at_paint is None
        assert spy.text_at_paint == "Loading: compiling the twin kernel…"
        # then the kernel loads on its worker and the status clears
        qtbot.waitUntil(lambda: w.warm_job is not None and not w.warm_job.is_running(),
                        timeout=60_000)
        qtbot.waitUntil(lambda: not w.startup.pending(), timeout=10_000)
        assert texts == [""]
        assert label.text() == "" and not label.isVisible()
        assert w.kernel_label.text() == "Kernel ready"
        # the status bar never said it twice ("Loading: compiling the twin kernel…  Compiling
        # the twin kernel…"): the kernel label only says how it ended
        assert kernel_texts == ["Kernel ready"]
    finally:
        w.close()
        w.deleteLater()
