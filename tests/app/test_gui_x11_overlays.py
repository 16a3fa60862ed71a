"""What the 3D view shows under things drawn over it, on a real X display (Xvfb, software
OpenGL): the colour legend switched from one mode to another, and a modal dialog open over
the line. Qt's offscreen platform has no native windows, so it never showed either."""

from __future__ import annotations

from pathlib import Path

from tests.app.test_gui_help_x11 import (
    WINDOW,
    run_on_x11,
    xdisplay,  # noqa: F401 - the fixture: an Xvfb
)

ROOT = Path(__file__).resolve().parents[2]

CHILD = WINDOW + r'''
from PySide6.QtGui import QFont, QFontMetrics

def grab(widget, rect=None):
    at = widget.mapToGlobal(widget.rect().topLeft())
    r = rect or widget.rect()
    box = (at.x() + r.x(), at.y() + r.y(), at.x() + r.x() + r.width(),
           at.y() + r.y() + r.height())
    return ImageGrab.grab(bbox=box, xdisplay=sys.argv[1]).convert("L")

settle(1.5)
legend = w.colour_legend
legend.show_mode("replay")
settle(1.0)
legend.show_mode("live")
settle(1.0)
bold = QFont(legend.font())
bold.setBold(True)
title_w = QFontMetrics(bold).horizontalAdvance("State (live)")
row_h = QFontMetrics(bold).height()
# the title row right of "State (live)": background only, no older title behind it
shot = grab(legend)
strip = [shot.getpixel((x, y)) for x in range(title_w + 12, legend.width() - 4)
         for y in range(4, 4 + row_h)]
print(f"ghost {sum(1 for p in strip if p < 235)}")  # the ghost: text at 16% strength

# the line's machines behind an open "Vary this..." dialog
v = w.view.vtk
before = list(grab(v).getdata())
dialog = w.vary.vary("filler", "servers", 1)
settle(1.5)
dialog.move(w.x() + w.width() - dialog.width(), w.y() + w.height() - dialog.height())
settle(1.0)
g = dialog.frameGeometry()
vat = v.mapToGlobal(v.rect().topLeft())
after = list(grab(v).getdata())
width = v.width()
changed = sum(1 for i, (a, b) in enumerate(zip(before, after))
              if abs(a - b) > 40 and not g.contains(vat.x() + i % width, vat.y() + i // width))
print(f"changed {changed / len(before):.4f} shown {dialog.isVisible()}")
dialog.reject()
w.close()
'''


def test_legend_and_dialog_over_the_view(xdisplay):  # noqa: F811
    stdout = run_on_x11(CHILD, xdisplay, "x11-over")
    lines = dict(t.split(" ", 1) for t in stdout.splitlines() if " " in t)
    # 'State (recording)' drawn before: its 'rding' showed through the translucent legend
    assert int(lines["ghost"]) == 0, "an older legend title shows behind 'State (live)'"
    changed, shown = lines["changed"].split(" shown ")
    assert shown == "True"
    # the view outside the dialog is the view before it opened: machines and labels kept
    assert float(changed) < 0.01, f"{float(changed):.1%} of the view changed behind the dialog"
