"""The live state the Live dock polls (``app.live_session``), fed as a source feeds it, with
a real recorder behind it."""

from __future__ import annotations

import math
import time

import pytest

from app.live_session import LiveState, element_states
from twin.live.feed import LiveError, Reading
from twin.live.recorder import LiveRecorder
from twin.recording import Recording
from twin.recording.writer import AssetInfo

T0 = 1_790_000_000.0
ASSETS = [AssetInfo("lathes#0", element="lathes", server=0),
          AssetInfo("lathes#1", element="lathes", server=1),
          AssetInfo("mill", element="mill"), AssetInfo("buf", element="buf", level=True)]


def test_a_multi_server_station_shows_its_worst_server():
    elements = {"lathes#0": "lathes", "lathes#1": "lathes", "mill": "mill"}
    states = {"lathes#0": "busy", "lathes#1": "down", "mill": "idle"}
    assert element_states(states, elements) == {"lathes": "down", "mill": "idle"}
    states["lathes#1"] = "starved"
    assert element_states(states, elements)["lathes"] == "starved"
    states["lathes#1"] = "unknown"  # no colour of its own: the other server's
    assert element_states(states, elements)["lathes"] == "busy"


def test_live_state_counts_once_and_passes_everything_on(tmp_path):
    path = tmp_path / "r.h5"
    rec = LiveRecorder(path, ASSETS)
    live = LiveState(rec, ASSETS)
    live.link("connected", "new session")
    batch = [Reading("mill", "state", T0, "busy", "1"),
             Reading("mill", "parts", T0 + 10, 2, "2"),
             Reading("mill", "parts", T0 + 10, 2, "2"),  # redelivered: counted once
             Reading("mill", "scrap", T0 + 20, 1, "3"),
             Reading("mill", "state", T0 + 30, "idle", "4"),
             Reading("lathes#0", "count", T0 + 30, 100, "5"),  # a counter's first value
             Reading("lathes#0", "count", T0 + 40, 103, "6"),
             Reading("lathes#0", "power_kw", T0 + 40, 7.5, "7"),
             Reading("buf", "level", T0 + 40, 3, "8"),
             Reading("mill", "parts", T0 + 50, "lots", "9")]  # bad value: no parts
    live.readings(batch)
    s = live.snapshot()
    assert s.messages == len(batch) and s.plant_t == T0 + 50
    assert s.good == {"mill": 2.0, "lathes#0": 3.0} and s.scrap == {"mill": 1.0}
    assert s.states == {"mill": "idle"} and s.power_now == 7.5
    # busy from T0 to T0 + 30 of the 50 s seen since the first state
    assert s.busy_share("mill") == 30 / 50
    assert s.state_s == {"mill": {"busy": 30.0, "idle": 20.0}}
    live.link("reconnecting", "connection lost")
    assert live.snapshot().link == "reconnecting"
    live.link("connected", "session resumed")
    assert live.snapshot().last_gap_s is not None
    rec.close()
    with Recording.open(path) as r:
        parts = r.asset("mill").parts
        # the recorder stored each once; the bad value as recorded (NaN), counted as 0
        assert parts["count"][:2].tolist() == [2.0, 1.0] and math.isnan(parts["count"][2])
        assert parts["good"].tolist() == [1, 0, 1]


def test_the_shift_so_far_starts_again_at_each_shift_and_gives_its_oee(tmp_path):
    """The default shifts start at 06:00, 14:00 and 22:00 (UTC here): what a station did
    before 14:00 does not count in the late shift; OEE = A x P x Q as Replay computes it."""
    from datetime import UTC, datetime

    late = datetime(2026, 12, 2, 14, 0, tzinfo=UTC).timestamp()
    rec = LiveRecorder(tmp_path / "r.h5", ASSETS)
    live = LiveState(rec, ASSETS)
    live.readings([Reading("mill", "state", late - 600, "busy", "1"),
                   Reading("mill", "parts", late - 300, 5, "2")])
    s = live.snapshot()
    assert s.shift == "2026-12-02 early" and s.shift_good == {"mill": 5.0}
    live.readings([Reading("mill", "parts", late + 60, 2, "3"),
                   Reading("mill", "scrap", late + 90, 1, "4"),
                   Reading("mill", "state", late + 100, "off", "5"),  # a break: planned
                   Reading("mill", "state", late + 150, "idle", "6"),
                   Reading("mill", "state", late + 200, "idle", "7")])
    s = live.snapshot()
    assert s.shift == "2026-12-02 late" and s.shift_start == late
    assert s.shift_good == {"mill": 2.0} and s.shift_scrap == {"mill": 1.0}
    # busy 100 s (from 14:00; the 600 s before belong to the early shift), off 50, idle 50
    assert s.shift_state_s["mill"] == {"busy": 100.0, "off": 50.0, "idle": 50.0}
    # A = 100 / (200 - 50), P = 20 s x 3 made / 100 s, Q = 2 / 3
    assert math.isclose(s.shift_oee("mill", 20.0), (100 / 150) * (60 / 100) * (2 / 3))
    assert s.shift_oee("mill", None) is None  # no ideal cycle time: no performance
    assert s.good == {"mill": 7.0}  # since connecting, over both shifts
    rec.close()


def _calendar_project(*periods, period=86400.0):
    from twin.model import elements as m

    return m.Project("cal", elements=[], calendar=m.Calendar(
        tuple(m.Period(a * 3600.0, b * 3600.0, name) for a, b, name in periods),
        period=period))


def test_the_shift_is_the_projects_calendar_shift_and_stops_at_its_end(tmp_path):
    """With a calendar of 07:00-15:00 "A" and 15:00-23:00 (no name), the late shift is cut at
    15:00, not at Replay's 14:00; after 23:00 it is shown as ended and no longer grows; the
    next shift begins at 07:00 the next day."""
    from datetime import UTC, datetime

    from twin.live.shifts import LiveShifts

    shifts = LiveShifts.of_project(_calendar_project((7, 15, "A"), (15, 23, "")))
    assert shifts.origin == "the project's calendar (2 shifts every 24 h, UTC)"

    def at(h, m=0, day=2):
        return datetime(2026, 12, day, h, m, tzinfo=UTC).timestamp()

    rec = LiveRecorder(tmp_path / "r.h5", ASSETS)
    live = LiveState(rec, ASSETS, shifts=shifts)
    live.readings([Reading("mill", "state", at(14, 30), "busy", "1"),
                   Reading("mill", "parts", at(14, 50), 4, "2")])
    s = live.snapshot()
    assert s.shift == "2026-12-02 A" and s.shift_start == at(7) and s.shift_end == at(15)
    assert s.shift_good == {"mill": 4.0} and not s.shift_ended
    assert s.shifts_origin == shifts.origin
    live.readings([Reading("mill", "parts", at(15, 10), 1, "3"),
                   Reading("mill", "state", at(22, 0), "off", "4")])
    s = live.snapshot()
    assert s.shift == "2026-12-02 shift 2" and s.shift_start == at(15)
    assert s.shift_good == {"mill": 1.0}  # the 4 of 14:50 were the early shift's
    assert s.shift_state_s["mill"] == {"busy": 7 * 3600.0}
    live.readings([Reading("mill", "parts", at(23, 30), 2, "5"),
                   Reading("mill", "state", at(23, 59), "off", "6")])
    s = live.snapshot()
    # after 23:00 the late shift is over: shown as ended, its figures frozen at 23:00
    assert s.shift == "2026-12-02 shift 2" and s.shift_ended
    assert s.shift_good == {"mill": 1.0}
    assert s.shift_state_s["mill"] == {"busy": 7 * 3600.0, "off": 3600.0}
    assert s.good == {"mill": 7.0}  # since connecting: everything
    live.readings([Reading("mill", "state", at(7, 0, day=3), "busy", "7")])
    s = live.snapshot()
    assert s.shift == "2026-12-03 A" and not s.shift_ended and s.shift_good == {}
    rec.close()


def test_shifts_fall_back_to_replays_defaults_and_follow_the_time_zone():
    from datetime import UTC, datetime

    from twin.live.shifts import LiveShifts
    from twin.model import elements as m

    d = LiveShifts.of_project(m.Project("nocal", elements=[]))
    assert d.origin == ("default shifts (06:00, 14:00, 22:00 UTC): the project has no "
                        "calendar")
    w = d.at(datetime(2026, 12, 2, 3, 0, tzinfo=UTC).timestamp())
    assert (w.label, w.start, w.end) == (
        "2026-12-01 night", datetime(2026, 12, 1, 22, tzinfo=UTC).timestamp(),
        datetime(2026, 12, 2, 6, tzinfo=UTC).timestamp())
    # 06:00 in Berlin is 05:00 UTC in winter and 04:00 UTC in summer
    berlin = LiveShifts.of_project(_calendar_project((6, 14, "early")), "Europe/Berlin")
    for month, utc_hour in ((12, 5), (7, 4)):
        w = berlin.at(datetime(2026, month, 2, 10, tzinfo=UTC).timestamp())
        assert w.start == datetime(2026, month, 2, utc_hour, tzinfo=UTC).timestamp()
        assert w.end - w.start == 8 * 3600.0


def test_a_weekly_calendar_starts_its_cycle_on_monday():
    """A "1w" calendar with shifts up to 5 d: Monday to Friday 06:00-22:00, then the weekend
    belongs to Friday's shift until Monday's begins."""
    from datetime import UTC, datetime

    from twin.live.shifts import LiveShifts

    days = [(24 * d + 6, 24 * d + 22, f"day {d + 1}") for d in range(5)]
    weekly = LiveShifts.of_project(_calendar_project(*days, period=7 * 86400.0))
    # 2026-12-02 is a Wednesday: day 3
    w = weekly.at(datetime(2026, 12, 2, 12, tzinfo=UTC).timestamp())
    assert w.label == "2026-12-02 day 3"
    sunday = weekly.at(datetime(2026, 12, 6, 12, tzinfo=UTC).timestamp())
    assert sunday.label == "2026-12-04 day 5"
    assert sunday.until == datetime(2026, 12, 7, 6, tzinfo=UTC).timestamp()


def test_open_session_takes_the_projects_calendar(tmp_path):
    from app.live_session import open_session
    from twin.model import elements as m
    from twin.model.distributions import constant

    project = m.Project("cal", elements=[
        m.Source("src", position=(0, 0, 0), arrival=constant(10.0)),
        m.Station("mill", position=(3, 0, 0), process_time=constant(9.0)),
        m.Sink("out", position=(6, 0, 0))],
        calendar=_calendar_project((6, 14, "early")).calendar)
    project.connect("src", "mill")
    project.connect("mill", "out")
    session = open_session(project, None, "MQTT", "mqtt://127.0.0.1:1/plant",
                           record=tmp_path / "r.h5")
    assert session.state.shifts.origin.startswith("the project's calendar (1 shift every")
    # the MQTT version goes to the source; a version it does not speak is named
    session = open_session(project, None, "MQTT", "mqtt://127.0.0.1:1/plant",
                           record=tmp_path / "r.h5", protocol="3.1.1")
    assert session.source.options["protocol"] == "3.1.1"
    with pytest.raises(LiveError, match="MQTT protocol '4': choose one of 5, 3.1.1"):
        open_session(project, None, "MQTT", "mqtt://127.0.0.1:1/plant",
                     record=tmp_path / "r.h5", protocol="4")


def test_the_line_output_is_what_the_last_stations_send_through_conveyors(tmp_path, qtbot):
    """F16: the bottling line's sink (the palletiser) is not published; the packer feeds it
    through a conveyor. The Live dock's "good parts out" and throughput are the packer's good
    parts (the fork's line output, twin.whatif.fork.sink_feeders), not 0 and not a sum over
    every station."""
    from pathlib import Path

    import numpy as np

    from app.live_panel import LivePanel, line_ends
    from twin.live.recorder import project_assets
    from twin.projectfile.reader import load_project

    project = load_project(Path(__file__).parents[2] / "projects" / "bottling-line")
    assert line_ends(project) == {"packer"}  # through c_packer; not the conveyor itself
    assets = project_assets(project)
    rec = LiveRecorder(tmp_path / "r.h5", assets)
    live = LiveState(rec, assets)
    live.link("connected", "new session")
    panel = LivePanel()
    qtbot.addWidget(panel)
    panel.follow(assets, line_ends(project))
    panel.show()  # a dock out of sight draws no chart
    # 40 minutes of plant time, one reading a minute: the labeller makes 3 parts a minute,
    # the packer 2 (1 of them scrap every 4th minute), nothing from the palletiser
    n = 0
    good = 0
    for k in range(41):
        t = T0 + 60.0 * k
        batch = [Reading("labeller", "parts", t, 3, str(n := n + 1)),
                 Reading("packer", "parts", t, 2, str(n := n + 1))]
        good += 2
        if k % 4 == 0:
            batch.append(Reading("packer", "scrap", t, 1, str(n := n + 1)))
        live.readings(batch)
        panel.show_snapshot(live.snapshot())
    text = panel.totals_label.text()
    assert f"since connecting: good parts out {good:,}," in text, text
    assert "(all stations)" not in text
    # the throughput chart: 2 good parts a minute = 120 / h over the 10-minute window
    _, rate = panel.rate_curve.getData()
    assert len(rate) > 0 and np.allclose(rate, 120.0)
    rec.close()


def test_a_line_whose_ends_report_nothing_sums_every_station(qtbot):
    """A project whose sink-feeding stations are none of the assets: the dock says it sums
    all stations rather than showing 0 parts out."""
    from app.live_panel import LivePanel

    panel = LivePanel()
    qtbot.addWidget(panel)
    panel.follow(ASSETS, {"press"})
    assert panel.ends is None
    panel.follow(ASSETS, {"mill", "press"})
    assert panel.ends == {"mill"}


def test_recordings_go_to_recordings_in_the_projects_folder_or_the_documents(tmp_path):
    from app.live_session import default_recording, recordings_folder

    project = tmp_path / "line"
    project.mkdir()
    (project / "project.json").write_text("{}")
    assert recordings_folder(project) == project / "recordings"
    assert recordings_folder(project / "project.json") == project / "recordings"
    assert recordings_folder(None, tmp_path / "Documents") == tmp_path / "Documents"
    at = time.mktime((2026, 12, 2, 6, 30, 5, 0, 0, -1))
    assert default_recording(project, at) == project / "recordings" / "live-20261202-063005.h5"


def test_the_dock_refreshes_one_heavy_part_a_poll_and_the_table_rows_in_view(qtbot):
    """A flood's poll does bounded work (issue 15: the event loop stalled 50-90 ms): the
    indicator, totals and 3D colours every poll, then one of the table, the power chart, the
    throughput chart and the state bars in turn; the table's rows in view and the next
    ROWS_PER_TURN of the others. The end of a session shows everything."""
    from app.live_panel import PARTS, ROWS_PER_TURN, LivePanel
    from app.live_session import Snapshot

    assets = [AssetInfo(f"s{i}") for i in range(1, 201)]
    panel = LivePanel()
    qtbot.addWidget(panel)
    panel.follow(assets)
    # the state bars' rows are named at connect time, not by their first draw in a flood
    axis = panel.state_chart.getAxis("left")
    assert axis._tickLevels[0][:3] == [(0, "s1"), (8, "s9"), (16, "s17")]
    assert panel.state_chart.getViewBox().viewRange()[1] == pytest.approx([-0.6, 199.6])
    panel.resize(1200, 320)
    panel.show()
    qtbot.waitExposed(panel)
    ids = [a.asset_id for a in assets]
    snap = Snapshot(link="connected", messages=1000, plant_t=T0 + 900.0,
                    states=dict.fromkeys(ids, "busy"), good=dict.fromkeys(ids, 7.0),
                    seen_s=dict.fromkeys(ids, 900.0),
                    state_s={a: {"busy": 900.0} for a in ids}, power=dict.fromkeys(ids, 2.0),
                    power_t=[T0 + 60.0 * k for k in range(16)], power_kw=[400.0] * 16)

    def filled():
        return [i for i in range(panel.table.rowCount()) if panel.table.item(i, 0) is not None]

    assert PARTS[0] == "table"
    panel.show_snapshot(snap)  # the table's turn
    in_view = panel.table.rowAt(panel.table.viewport().height() - 1) + 1
    assert 0 < in_view < ROWS_PER_TURN
    assert filled() == list(range(ROWS_PER_TURN))  # the rows in view are among them
    assert panel.power_curve.getData()[0] is None and not len(
        panel.state_bars["busy"].opts["width"])  # not their turn yet
    assert "since connecting: good parts (all stations) 1,400," in panel.totals_label.text()
    for _ in PARTS[1:]:
        panel.show_snapshot(snap)
    assert len(panel.power_curve.getData()[0]) == 16
    assert list(panel.state_bars["busy"].opts["width"]) == [1.0] * 200
    # the power chart's range is a round number above the data, kept while the data fits
    assert panel.power_chart.getViewBox().viewRange()[1] == [0.0, 500.0]
    panel.show_snapshot(snap)  # the table again: the next rows out of view
    assert filled() == list(range(2 * ROWS_PER_TURN))
    panel.show_snapshot(snap, everything=True)
    assert filled() == list(range(200))
    assert panel.table.item(199, 2).text() == "7"
    panel.hide()  # a dock tabbed away: nothing is drawn for it
    turn = panel._turn
    panel.show_snapshot(snap)
    assert panel._turn == turn


def test_a_charts_top_is_a_round_number_kept_while_the_data_fits():
    from app.live_panel import steady_top

    assert steady_top(None, 0.3) == 0.5 and steady_top(None, 400.0) == 500.0
    assert steady_top(500.0, 480.0) == 500.0 and steady_top(500.0, 180.0) == 500.0
    assert steady_top(500.0, 520.0) == 1000.0  # grown past the top
    assert steady_top(500.0, 150.0) == 200.0   # fallen below 35 % of it
    assert steady_top(None, 0.0) == 2.0 and steady_top(None, math.nan) == 2.0


def test_the_workbench_and_twinbench_live_keep_persistent_sessions_of_their_own(tmp_path):
    """A newcomer followed one broker with ``twinbench live`` and then the workbench: with one
    default client id the broker handed the workbench the other's backlog. The ids differ per
    program (``twinbench live``'s is the one it always had) and stay the same run to run."""
    from argparse import Namespace

    from app.cli.live import _source_options
    from app.live_session import open_session
    from twin.live.mqtt import MqttSource
    from twin.model import elements as m
    from twin.model.distributions import constant

    project = m.Project("line", elements=[
        m.Source("src", position=(0, 0, 0), arrival=constant(10.0)),
        m.Sink("out", position=(3, 0, 0))])
    project.connect("src", "out")
    url = "mqtt://127.0.0.1:1/plant"
    gui = [open_session(project, None, "MQTT", url, record=tmp_path / "r.h5").source.inner
           .client_id for _ in range(2)]
    args = Namespace(mqtt=url, opcua=None, mapping=None, security="sign-encrypt",
                     certificate=None, private_key=None, trust_dir=None)
    cli = MqttSource(url, **_source_options(args, None, project.name)).client_id
    assert gui[0] == gui[1] != cli
    assert cli == MqttSource(url, project="line").client_id  # as before programs were told
    assert len(gui[0]) <= 64 and "-gui-" in gui[0]


def test_the_connection_words_say_where_the_messages_go_under_a_wrong_prefix(tmp_path):
    """What the MQTT source's probe found reaches the Live dock's connection words: the
    recorder keeps it as a problem, the snapshot carries it, the indicator says it."""
    from app.live_panel import link_text
    from app.live_session import LiveState
    from twin.live.report import NOTHING_HERE

    rec = LiveRecorder(tmp_path / "r.h5", ["M"])
    state = LiveState(rec, [])
    state.link("connected", "new session")
    assert link_text(state.snapshot()) == "connected, nothing received yet"
    said = "nothing arrives under 'plant', but ... 120 under 'line1' (e.g. line1/M/state)"
    rec.bad(NOTHING_HERE, said)
    assert link_text(state.snapshot()) == f"connected, nothing received yet - {said}"
    # after a reconnection the probe found another prefix: the words say the latest
    again = "nothing arrives under 'plant', but ... 90 under 'line2' (e.g. line2/M/state)"
    rec.bad(NOTHING_HERE, again)
    assert link_text(state.snapshot()) == f"connected, nothing received yet - {again}"
    assert rec.report.problems[NOTHING_HERE].count == 2
    rec.close()


def test_a_link_gap_is_unknown_time_in_the_shift_oee_as_in_replay(tmp_path):
    """A broker outage: the mill was busy and sent a part every 20 s before and after it,
    and nothing arrived for 600 s between. The gap is no data, not 600 s of busy time
    without parts: the shift's OEE is the observed 100 %, the figure Replay gives the
    recording of the same feed (before, the gap made it 40 %)."""
    from datetime import UTC, datetime

    from twin.recording.kpi import asset_kpis

    late = datetime(2026, 12, 2, 14, 0, tzinfo=UTC).timestamp()
    path = tmp_path / "r.h5"
    rec = LiveRecorder(path, ASSETS)
    live = LiveState(rec, ASSETS)
    live.link("connected", "new session")
    live.readings([Reading("mill", "state", late, "busy", "s0")]
                  + [Reading("mill", "parts", late + 20 * i, 1, f"a{i}") for i in range(1, 11)])
    assert math.isclose(live.snapshot().shift_oee("mill", 20.0), 1.0)
    live.link("reconnecting", "connection lost")
    live.link("connected", "session resumed")
    live.readings([Reading("mill", "state", late + 800, "busy", "s1")]
                  + [Reading("mill", "parts", late + 800 + 20 * i, 1, f"b{i}")
                     for i in range(1, 11)])
    s = live.snapshot()
    assert s.shift_state_s["mill"] == {"busy": 400.0, "no_data": 600.0}
    assert math.isclose(s.shift_oee("mill", 20.0), 1.0)
    assert s.shift_good == {"mill": 20.0}
    rec.close()
    with Recording.open(path) as r:
        k = asset_kpis(r, "mill", ideal_cycle_time_s=20.0)
    assert k.state_time_s["no_data"] == 600.0 and k.actual_production_s == 400.0
    assert math.isclose(k.oee, s.shift_oee("mill", 20.0))
