"""Replay's KPIs up to the scrubbed moment: losses and bottleneck so far (gui18 §5)."""

from __future__ import annotations

import pytest

from twin.recording import Recording, recording_kpis
from twin.sim.runner import RunSpec, run_project
from twin.whatif.simulated import write_run_as_recording

pytestmark = pytest.mark.gui


@pytest.fixture
def shift_recording(tmp_path, line_project, warm_kernel):
    res = run_project(line_project, spec=RunSpec(horizon=8 * 3600.0, warmup=0.0,
                                                 replications=1, seed=4, log=True))
    path = tmp_path / "shift.h5"
    write_run_as_recording(res.scenarios["base"], 0, path, seed=4)
    return path


def _expected(path, t0, t):
    """What the table should say over [t0, t), read through the package's own KPIs."""
    with Recording.open(path) as rec:
        ks = recording_kpis(rec, window=(t0, t))
    losses = {a: " · ".join(f"{n.replace('_', ' ')} {s / 3600:.2f}" for n, s in sorted(
        ((n, s) for n, s in k.losses_s.items() if s > 0), key=lambda x: -x[1])[:3]) or "-"
        for a, k in ks.items()}
    active = {a: sum(k.state_time_s[s] for s in ("busy", "setup", "down")) / k.observed_s
              for a, k in ks.items() if not k.level_only and k.observed_s > 0}
    neck = max(active, key=active.get)
    return losses, ks[neck].name or neck


def test_kpis_up_to_the_cursor_show_losses_and_bottleneck_so_far(make_window, line_project,
                                                                 shift_recording, qtbot):
    """The KPI table followed the zoomed range only, and named no loss and no bottleneck:
    a user scrubbing to 14:00 could not see what the line had lost by then."""
    w = make_window(line_project)
    assert w.open_recording(shift_recording)
    rp = w.replay
    rp.show_tab("kpis")
    rp.kpi_span.setCurrentIndex(rp.kpi_span.findData("cursor"))
    col = [rp.kpi_table.horizontalHeaderItem(j).text()
           for j in range(rp.kpi_table.columnCount())].index("largest losses (h)")
    seen = []
    for frac in (0.25, 0.75):
        rp.slider.setValue(round(frac * rp.slider.maximum()))
        when = rp.recording.datetime_of(rp.t)
        qtbot.waitUntil(lambda when=when: f"– {when:%Y-%m-%d %H:%M};" in rp.kpi_title.text(),
                        timeout=5_000)
        losses, neck = _expected(shift_recording, rp.t0, rp.t)
        for i, a in enumerate(rp.asset_ids):
            assert rp.kpi_table.item(i, col).text() == losses[a], a
        assert f"bottleneck: {neck} (" in rp.kpi_title.text()
        # M2's process time is a constant 45 s: the cycle cut by the cursor is no slow cycle
        m2 = rp.kpi_table.item(rp.asset_ids.index("M2"), col).text()
        assert m2 != "-" and "slow cycles" not in m2
        assert rp.kpi_text("M2", "performance") == "100.0 %"
        seen.append({a: rp.kpi_table.item(i, col).text() for i, a in enumerate(rp.asset_ids)})
    assert seen[0] != seen[1]  # the losses grew as the cursor moved on
    assert any(v != "-" for v in seen[1].values())
    # back to the visible range: the whole recording, as before
    rp.kpi_span.setCurrentIndex(rp.kpi_span.findData("visible"))
    end = rp.recording.datetime_of(rp.visible_window()[1])
    assert f"– {end:%Y-%m-%d %H:%M};" in rp.kpi_title.text()
