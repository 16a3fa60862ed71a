"""The Qt binding itself: faults of a PySide6 release that would break the workbench."""

import sys

import pytest


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal from Python 3.12")
def test_calling_qt_does_not_use_up_the_references_to_none(qapp):
    """PySide6 6.12.0 returned None from every void method without a reference of its own:
    each ``widget.update()`` or ``processEvents()`` took one of None's references, and once
    they ran out Python aborted ("deallocating None"), after a long session or at the end
    of the GUI tests. pyproject.toml keeps that release out."""
    from PySide6.QtWidgets import QWidget

    w = QWidget()
    before = sys.getrefcount(None)
    for _ in range(2000):
        w.update()
        w.resize(40, 30)
        qapp.processEvents()
    assert sys.getrefcount(None) > before - 500, "PySide6 leaks references to None"
