"""OEE of a simulated run's stations, as a user reads it: the Statistics table, the 3D
view's tooltip, the exported figures and ``twinbench run``; checked against a line whose
OEE is worked out by hand."""

import io

import pytest

from app.cli.run import print_table
from twin.model import elements as m
from twin.model.distributions import constant
from twin.sim.report import kpi_records
from twin.sim.stats import format_ci

pytestmark = pytest.mark.gui

HORIZON = 36_000.0


def _hand_line() -> m.Project:
    """M1 takes 10 s a part and fails after every 90 s of work for 10 s: each 100 s it makes
    9 parts, so availability 0.9, performance 1, quality 1 and OEE 0.9, with 3600 s down.
    M2 takes 5 s a part and scraps none: it works 5 s of each 10 s M1 needs per part, so
    its availability, and its OEE, is 3240 x 5 / 36000 = 0.45; the rest it waits (starved)."""
    p = m.Project("oee by hand", elements=[
        m.Source("src", position=(0.0, 0.0, 0.0)),
        m.Station("M1", position=(3.0, 0.0, 0.0), process_time=constant(10.0),
                  failures=m.Failures("operating", constant(90.0), constant(10.0))),
        m.Station("M2", position=(6.0, 0.0, 0.0), process_time=constant(5.0)),
        m.Sink("out", position=(9.0, 0.0, 0.0)),
    ], run=m.RunSettings(horizon=HORIZON, warmup=0.0, replications=3, seed=1))
    for a, b in (("src", "M1"), ("M1", "M2"), ("M2", "out")):
        p.connect(a, b)
    return p


def test_statistics_table_shows_oee_of_a_simulated_run(make_window, qtbot, warm_kernel):
    w = make_window(_hand_line())
    with qtbot.waitSignal(w.run_panel.run_finished, timeout=90_000) as blocker:
        assert w.run_panel.start_run()
    summary = blocker.args[0].summary()
    st = w.stats
    qtbot.waitUntil(lambda: st.table.rowCount() > 0, timeout=5_000)
    rows = {st.table.item(i, 0).text(): i for i in range(st.table.rowCount())}

    def cell(eid, label):
        return st.table.item(rows[eid], st.column(label)).text()

    # what the user reads is the hand-worked figure, with its interval
    assert cell("M1", "OEE") == "0.9 ± 0"
    assert cell("M1", "availability") == "0.9 ± 0"
    assert cell("M1", "performance") == "1 ± 0"
    assert cell("M1", "quality") == "1 ± 0"
    assert cell("M1", "OEE loss: down") == "3600 ± 0"
    m2 = summary["base"]["elements"]["M2"]
    assert m2["oee"]["mean"] == pytest.approx(0.45, abs=1e-3)
    assert cell("M2", "OEE") == format_ci(m2["oee"])
    assert m2["oee_losses"]["starved"]["mean"] == pytest.approx(HORIZON * 0.55, rel=1e-3)
    # M2 never fails, yet its availability is 0.45: the header says why (gui18 §4)
    tip = st.table.horizontalHeaderItem(st.column("availability")).toolTip()
    assert "starved and blocked" in tip and "line effects" in tip
    assert tip == _documented_availability()
    # a source or a buffer has no OEE: its cell is blank, not a made-up figure
    assert cell("src", "OEE") == ""
    # the 3D view's tooltip carries the same figure
    assert "OEE: 0.9 ± 0 fraction" in st.tooltip("M1").splitlines()
    # the export (CSV and report read these records) and twinbench run's table
    recs = {(r["element"], r["kpi"]): r for r in kpi_records(summary)}
    assert recs[("M1", "oee")]["mean"] == pytest.approx(0.9)
    assert recs[("M1", "oee_losses.down")]["mean"] == pytest.approx(3600.0)
    out = io.StringIO()
    print_table(summary, out)
    text = out.getvalue()
    assert "OEE by station" in text
    m1_line = next(x for x in text.splitlines()[text.splitlines().index(
        next(x for x in text.splitlines() if "OEE by station" in x)):] if x.split()[:1] == ["M1"])
    assert m1_line.split()[1:4] == ["0.9", "±", "0"]


def _documented_availability() -> str:
    """The sentence docs/recording-format.md §6 quotes as what availability counts."""
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "recording-format.md").read_text("utf-8")
    return next(line[2:] for line in doc.splitlines() if line.startswith("> availability ="))


def test_replay_kpis_say_what_availability_counts(make_window):
    """Replay's KPI table gave availability without saying that starved and blocked time
    lower it; its header says what the docs say, word for word (gui18 §4)."""
    w = make_window()
    t = w.replay.kpi_table
    heads = {t.horizontalHeaderItem(j).text(): t.horizontalHeaderItem(j).toolTip()
             for j in range(t.columnCount())}
    assert heads["availability"] == _documented_availability()
    assert "starved and blocked" in heads["availability"]
    assert heads["OEE"].startswith("OEE = availability × performance × quality")
    assert "ideal cycle time" in heads["performance"]
    # the Live dock's shift OEE says the same
    live = w.live.table
    col = [live.horizontalHeaderItem(j).text() for j in range(live.columnCount())]
    tip = live.horizontalHeaderItem(col.index("OEE (shift)")).toolTip()
    assert _documented_availability() in tip and "current shift" in tip


def test_statistics_show_no_slow_cycles_for_a_constant_process_time(make_window, line_project,
                                                                    qtbot, warm_kernel):
    """M2 takes a constant 45 s a part; the cycles cut by the warm-up's end and the horizon
    read as "OEE loss: slow cycles 16 ± 51" s (gui18 §3)."""
    w = make_window(line_project)
    with qtbot.waitSignal(w.run_panel.run_finished, timeout=90_000):
        assert w.run_panel.start_run()
    st = w.stats
    qtbot.waitUntil(lambda: st.table.rowCount() > 0, timeout=5_000)
    rows = {st.table.item(i, 0).text(): i for i in range(st.table.rowCount())}
    assert st.table.item(rows["M2"], st.column("OEE loss: slow cycles")).text() == "0 ± 0"
    assert st.table.item(rows["M2"], st.column("performance")).text() == "1 ± 0"
    # M1's process time is random: its parts can take longer than the mean, and that shows
    assert st.table.item(rows["M1"], st.column("OEE loss: slow cycles")).text() != "0 ± 0"
