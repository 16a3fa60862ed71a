"""The inspector's energy-saving policy of a station (issue 19 §2): switched on with
plausible values, edited field by field, bad values refused with the reader's JSON path."""

from __future__ import annotations

import pytest
from test_gui_editors import choose, select, tick

from twin.model import elements as m
from twin.model.distributions import constant

pytestmark = pytest.mark.gui


def test_energy_saving_on_a_station_edited_and_refused_with_its_path(qtbot, make_window,
                                                                    line_project, retype):
    w = make_window(line_project)
    select(w, qtbot, "M1")
    ed = w.inspector.editor("energy_saving")
    assert not ed.enabled.isChecked() and w.project.element("M1").energy_saving is None
    tick(ed.enabled)
    assert w.project.element("M1").energy_saving == m.EnergySaving(
        120, "standby", "starved", constant(30))
    choose(ed.mode, "off")
    choose(ed.when, "both")
    retype(ed.restart_kwh.edit, "0.05", commit=True)
    assert w.project.element("M1").energy_saving == m.EnergySaving(
        120, "off", "both", constant(30), 0.05)
    retype(ed.after.edit, "-5", commit=True)
    assert "energy_saving.after_s" in ed.error.text() and ">= 0" in ed.error.text()
    assert w.project.element("M1").energy_saving.after_s == 120
    retype(ed.after.edit, "3min", commit=True)
    assert w.project.element("M1").energy_saving.after_s == 180 and not ed.error.isVisible()
    w.act_undo.trigger()
    assert w.project.element("M1").energy_saving.after_s == 120
    tick(ed.enabled)
    assert w.project.element("M1").energy_saving is None
