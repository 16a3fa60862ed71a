"""Letters typed over the 3D view: VTK's interactor style has one-letter commands of its
own ('w' draws every actor as a wireframe, '3' switches the window to red-blue stereo, which
paints the whole view magenta, 'p' draws a pick box, 'f' flies the camera), and a user who
typed over the view (or meant to type in a field) was left with a broken-looking view and
no way back. The workbench has its own keys; VTK's must do nothing."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

pytestmark = pytest.mark.gui


def _representations(view):
    actors = view.renderer.GetActors()
    actors.InitTraversal()
    out = []
    for _ in range(actors.GetNumberOfItems()):
        out.append(actors.GetNextActor().GetProperty().GetRepresentation())
    return out


def test_vtk_letter_commands_do_nothing_over_the_view(make_window, line_project):
    w = make_window(line_project)
    v = w.view
    v.render_now()
    before = _representations(v)
    assert 2 in before  # VTK_SURFACE: some actors drawn as surfaces, which 'w' would change
    camera = v.renderer.GetActiveCamera()
    position = camera.GetPosition()
    v.vtk.setFocus()
    for key in "w3pfsrjtmu":
        QTest.keyClick(v.vtk, key)
    v.render_now()
    assert not v.render_window.GetStereoRender()  # '3': not a magenta anaglyph
    assert _representations(v) == before  # 'w' / 's': the actors as they were
    assert camera.GetPosition() == position  # 'f' / 'r': the camera where the user left it
    # the view's own key still works: Esc leaves the connect mode
    v.mode = "connect"
    QTest.keyClick(v.vtk, Qt.Key_Escape)
    assert v.mode == "select"
