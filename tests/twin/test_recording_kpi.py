"""Replay and KPIs on tiny hand-built recordings, checked against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from kernels.types import BUSY, DOWN, IDLE, MAINTENANCE, OFF
from twin.recording import (
    NO_DATA,
    Recording,
    RecordingWriter,
    asset_kpis,
    daily_kpis,
    ideal_cycle_time,
    recording_kpis,
    replay_asset,
    shift_kpis,
)
from twin.recording.writer import AssetInfo

EPOCH = "2024-03-04T00:00:00+00:00"
BUSY_SPANS = [(0, 600), (900, 2400), (2700, 3600)]


@pytest.fixture
def hour(tmp_path):
    """1 h event log: down 600-900 and 2400-2700, a part every 60 s of busy time."""
    path = tmp_path / "hour.h5"
    with RecordingWriter.create(path, source="hand-built", epoch_utc=EPOCH,
                                assets=[AssetInfo("M", ideal_cycle_time_s=50.0)]) as w:
        w.append_states("M", [0, 600, 900, 2400, 2700], [BUSY, DOWN, BUSY, DOWN, BUSY])
        parts = [t for s, e in BUSY_SPANS for t in range(s + 60, e + 1, 60)]
        good = np.ones(len(parts), bool)
        good[[3, 10, 20, 30, 40]] = False
        w.append_parts("M", parts, 1, good)
        w.append_power("M", [0, 600, 900, 2400, 2700, 3600], [10, 2, 10, 2, 10, 0])
    with Recording.open(path) as rec:
        yield rec


def test_hour_with_two_failures_closed_form(hour):
    k = asset_kpis(hour, "M")
    assert (k.t0, k.t1) == (0.0, 3600.0)
    assert k.state_time_s["busy"] == 3000 and k.state_time_s["down"] == 600
    assert k.state_time_s["no_data"] == 0 and k.observed_s == 3600
    assert k.planned_busy_s == 3600 and k.actual_production_s == 3000
    assert k.produced == 50 and k.scrap == 5 and k.parts_out == 45  # part at 3600 counts
    assert k.availability == 3000 / 3600
    assert k.ideal_cycle_time_s == 50.0 and k.ideal_cycle_time_source == "mapping"
    assert k.performance == 50 * 50 / 3000
    assert k.quality == 45 / 50
    assert k.oee == pytest.approx((3000 / 3600) * (2500 / 3000) * 0.9, rel=1e-15)
    assert k.failures == 2
    assert k.mtbf_s == 1500.0 and k.mttr_s == 300.0
    assert k.energy_kwh == (600 * 10 + 300 * 2 + 1500 * 10 + 300 * 2 + 900 * 10) / 3600
    assert k.energy_per_part_kwh == k.energy_kwh / 45
    assert k.losses_s == {"down": 600, "setup": 0, "idle": 0, "starved": 0, "blocked": 0,
                          "waiting_for_worker": 0, "standby": 0, "switched_off": 0,
                          "warming_up": 0, "slow_cycles": 500.0, "scrap": 250.0}


def test_windows_are_half_open_and_clip_failures(hour):
    k = asset_kpis(hour, "M", (900, 2400))
    assert k.state_time_s["busy"] == 1500 and k.state_time_s["down"] == 0
    assert k.produced == 24  # 960 .. 2340; the part at 2400 belongs to the next window
    assert k.failures == 0 and k.mtbf_s is None and k.mttr_s is None
    assert k.availability == 1.0
    assert k.energy_kwh == 1500 * 10 / 3600
    k = asset_kpis(hour, "M", (500, 1000))
    assert k.state_time_s == pytest.approx({**dict.fromkeys(k.state_time_s, 0.0),
                                            "busy": 200.0, "down": 300.0})
    assert k.failures == 1 and k.mttr_s == 300.0 and k.mtbf_s == 200.0
    # ISO strings work too; naive ones are in the recording's time zone (UTC here)
    assert asset_kpis(hour, "M", ("2024-03-04T00:15:00", "2024-03-04T00:40:00")).produced == 24
    with pytest.raises(ValueError, match="must be after"):
        asset_kpis(hour, "M", (100, 100))


def test_given_ideal_cycle_time_overrides(hour):
    k = asset_kpis(hour, "M", ideal_cycle_time_s=60.0)
    assert k.performance == 60 * 50 / 3000 and k.ideal_cycle_time_source == "given"


def test_planned_downtime_is_off_and_maintenance(tmp_path):
    path = tmp_path / "pd.h5"
    with RecordingWriter.create(path, source="t", epoch_utc=EPOCH) as w:
        w.append_states("M", [0, 1800, 3000, 3300, 3600], [OFF, BUSY, MAINTENANCE, BUSY, OFF])
    with Recording.open(path) as rec:
        k = recording_kpis(rec)["M"]
        assert k.planned_downtime_s == 2100 and k.planned_busy_s == 1500
        assert k.availability == 1.0 and k.failures == 0
        assert k.produced == 0 and k.quality is None and k.performance is None
        assert k.energy_kwh is None  # no power recorded at all


BUCKETS = [  # start, length, parts, state, kW
    (0, 300, 5, BUSY, 2.0), (300, 300, 5, BUSY, 2.0), (600, 300, 0, DOWN, 0.5),
    (900, 300, 0, DOWN, 0.5), (1200, 300, 4, BUSY, 2.0),
    # no data 1500-2100
    (2100, 300, 5, BUSY, 2.0), (2400, 300, 0, IDLE, 1.0),
    (2550, 300, 0, DOWN, 0.0),  # starts before the idle bucket ends: cuts it at 2550
    (2850, 300, 6, BUSY, 2.0),
]


@pytest.fixture
def buckets(tmp_path):
    path = tmp_path / "b.h5"
    rows = np.array(BUCKETS, dtype=float)
    order = [0, 1, 2, 3, 4, 5, 8, 6, 7]  # stored out of order: replay sorts
    with RecordingWriter.create(path, shape="buckets", source="t", epoch_utc=EPOCH,
                                bucket_length_s=300) as w:
        r = rows[order]
        w.append_buckets("M", r[:, 0], r[:, 1], parts=r[:, 2], state=r[:, 3].astype(int),
                         power_kw=r[:, 4])
    with Recording.open(path) as rec:
        yield rec


def test_buckets_timeline_gaps_overlaps(buckets):
    r = replay_asset(buckets, "M")
    tl = r.timeline
    assert tl.start.tolist() == [0, 300, 600, 900, 1200, 1500, 2100, 2400, 2550, 2850]
    assert tl.end.tolist() == [300, 600, 900, 1200, 1500, 2100, 2400, 2550, 2850, 3150]
    assert tl.state.tolist() == [BUSY, BUSY, DOWN, DOWN, BUSY, NO_DATA, BUSY, IDLE, DOWN, BUSY]
    probe = np.array([-1, 0, 599.9, 600, 1499.9, 1500, 2549.9, 2550, 3149.9, 3150])
    assert r.state_at(probe).tolist() == [NO_DATA, BUSY, BUSY, DOWN, BUSY, NO_DATA, IDLE, DOWN,
                                          BUSY, NO_DATA]
    assert r.state_at(1700.0) == NO_DATA and isinstance(r.state_at(1700.0), int)
    assert tl.state_name_at(700) == "down"
    starts, ends = tl.runs(DOWN)
    assert starts.tolist() == [600, 2550] and ends.tolist() == [1200, 2850]


def test_buckets_kpis_closed_form(buckets):
    k = recording_kpis(buckets)["M"]
    assert (k.t0, k.t1) == (0.0, 3150.0)
    assert k.state_time_s["no_data"] == 600 and k.state_time_s["busy"] == 1500
    assert k.state_time_s["down"] == 900 and k.state_time_s["idle"] == 150
    assert k.observed_s == 2550 and k.availability == 1500 / 2550
    assert k.failures == 2 and k.mtbf_s == 750.0 and k.mttr_s == 450.0
    assert k.parts_out == 25
    assert k.energy_kwh == 1.0  # sum of kW x 300 s over every bucket, the cut one included
    # ideal cycle time: 5th percentile of 300 s / parts over whole busy buckets
    cycles = sorted([60.0, 60.0, 75.0, 60.0, 50.0])
    p5 = cycles[0] + 0.05 * (len(cycles) - 1) * (cycles[1] - cycles[0])
    assert k.ideal_cycle_time_s == pytest.approx(p5, rel=1e-12)
    assert k.ideal_cycle_time_source.startswith("estimated: 5th percentile of 5")
    assert k.performance == pytest.approx(p5 * 25 / 1500, rel=1e-12)
    assert k.losses_s["idle"] == 150 and k.losses_s["down"] == 900


def test_buckets_windows_spread_quantities(buckets):
    k = asset_kpis(buckets, "M", (150, 450))  # half of bucket 0, half of bucket 300
    assert k.produced == 5.0
    assert k.energy_kwh == pytest.approx(600 / 3600, rel=1e-15)
    r = replay_asset(buckets, "M")
    t = np.linspace(-100, 3300, 341)
    parts = r.parts_at(t)
    assert np.all(np.diff(parts) >= 0) and parts[0] == 0 and parts[-1] == 25
    assert r.parts_at(300.0) == 5 and r.energy_kwh_at(3150.0) == 1.0
    # the idle bucket's 1 kW x 300 s is spread over its 150 s actually observed
    assert r.energy.between(2400, 2550) == 300.0
    clipped = replay_asset(buckets, "M", window=(1000, 2200))
    assert clipped.timeline.start.tolist() == [1000, 1200, 1500, 2100]
    assert clipped.timeline.end.tolist() == [1200, 1500, 2100, 2200]


def test_estimated_cycle_time_from_an_event_log(tmp_path):
    path = tmp_path / "c.h5"
    with RecordingWriter.create(path, source="t", epoch_utc=EPOCH) as w:
        w.append_states("M", [0, 100, 200], [BUSY, IDLE, BUSY])
        w.append_parts("M", [10, 20, 35, 150, 210, 240, 260], [1, 1, 1, 1, 1, 2, 1])
        w.append_states("M", [300], [OFF])
    with Recording.open(path) as rec:
        r = replay_asset(rec, "M")
        # successive parts within one busy interval: 10, 15 | 15 (=30/2), 20
        assert sorted(r.cycle_times.tolist()) == [10.0, 15.0, 15.0, 20.0]
        ict, source = ideal_cycle_time(r)
        assert ict == pytest.approx(np.percentile([10, 15, 15, 20], 5))
        assert "4 observed cycles" in source


def test_cycle_times_of_machines_that_stop_after_every_part(tmp_path):
    """The bottling line's capper (faster than the filler feeding it) goes starved the
    instant each part leaves; its rinser (faster than the filler after it) goes blocked after
    each cycle and its part leaves when the next cycle starts. Replay found no cycle of the
    capper (OEE "-") and a few of the rinser; each part is one cycle: its busy time."""
    from kernels.types import BLOCKED, STARVED

    path = tmp_path / "c.h5"
    cycles = [2.0, 2.1, 1.9, 2.2]
    with RecordingWriter.create(path, source="t", epoch_utc=EPOCH) as w:
        t, st, ss, parts = 0.0, [], [], []
        for c in cycles:  # capper: starved 0.5 s, busy c, the part leaves as it ends
            st += [t, t + 0.5]
            ss += [STARVED, BUSY]
            t += 0.5 + c
            parts.append(t)
        st.append(t)
        ss.append(STARVED)
        w.append_states("capper", st, ss)
        w.append_parts("capper", parts, 1)
        t, st, ss, parts = 100.0, [], [], []
        for c in cycles:  # rinser: busy c, blocked 0.4 s, the part leaves as the next starts
            st += [t, t + c]
            ss += [BUSY, BLOCKED]
            t += c + 0.4
            parts.append(t)
        w.append_states("rinser", st + [t], ss + [BUSY])
        w.append_parts("rinser", parts, 1)
        w.append_states("rinser", [t + 5.0], [OFF])
        w.append_gaps([103.0], [103.5], "link down")  # between the rinser's first two parts
    with Recording.open(path) as rec:
        capper = replay_asset(rec, "capper")
        assert capper.cycle_times == pytest.approx(cycles[1:])  # the first has no start
        ict, source = ideal_cycle_time(capper)
        assert ict == pytest.approx(np.percentile(cycles[1:], 5))
        assert "3 observed cycles" in source
        assert asset_kpis(rec, "capper").performance is not None
        rinser = replay_asset(rec, "rinser")
        # part 1 leaves at 102.4, part 2 at 104.9 across the gap: its cycle is not measured
        assert rinser.cycle_times == pytest.approx(cycles[2:])


def test_days_and_shifts_follow_local_time_through_dst(tmp_path):
    path = tmp_path / "dst.h5"
    with RecordingWriter.create(path, source="t", time_zone="Europe/Rome",
                                epoch_utc="2022-10-29T00:00:00+00:00") as w:
        t_end = 2 * 86400.0  # 2022-10-31 00:00 UTC
        w.append_states("M", [79200.0], [BUSY])  # 2022-10-29 22:00 UTC = 30 Oct 00:00 CEST
        w.append_parts("M", np.arange(79200.0, t_end, 3600.0), 1)
        w.append_power("M", [79200.0, t_end], [3.0, 0.0])
    with Recording.open(path) as rec:
        days = daily_kpis(rec, "M")
        assert [p.label for p in days] == ["2022-10-30", "2022-10-31"]
        assert [p.kpis.t1 - p.kpis.t0 for p in days] == [25 * 3600, 3600]  # 25 h day
        assert days[0].start == "2022-10-30T00:00:00+02:00"
        assert days[0].end == "2022-10-31T00:00:00+01:00"
        assert [p.kpis.parts_out for p in days] == [25, 1]
        shifts = shift_kpis(rec, "M")
        assert [p.label for p in shifts] == [
            "2022-10-29 night", "2022-10-30 early", "2022-10-30 late", "2022-10-30 night"]
        assert [p.kpis.t1 - p.kpis.t0 for p in shifts] == [7 * 3600, 8 * 3600, 8 * 3600,
                                                           3 * 3600]
        assert sum(p.kpis.energy_kwh for p in shifts) == pytest.approx(26 * 3.0)
        custom = shift_kpis(rec, "M", shifts=[{"name": "day", "start": "08:00"},
                                             {"name": "night", "start": "20:00"}])
        assert [p.label for p in custom][:2] == ["2022-10-29 night", "2022-10-30 day"]


def test_energy_saving_states_are_timed_and_losses(tmp_path):
    """Issue 19: standby, switched_off and warming_up get their own times and losses, in
    the whole window and per shift (a shift cutting a state counts its share)."""
    from kernels.types import STANDBY, STATE_NAMES, SWITCHED_OFF, WARMING_UP

    path = tmp_path / "es.h5"
    # Monday 05:00-07:00 UTC: busy, standby, warming_up, busy, switched_off, warming_up, busy
    t = [18000, 19800, 20400, 20520, 21600, 23400, 23700, 25200]
    with RecordingWriter.create(path, source="t", epoch_utc=EPOCH) as w:
        w.append_states("M", t[:-1], [BUSY, STANDBY, WARMING_UP, BUSY, SWITCHED_OFF,
                                      WARMING_UP, BUSY])
        w.append_states("M", [t[-1]], [OFF])
    with Recording.open(path) as rec:
        k = asset_kpis(rec, "M", (18000, 25200))
        assert k.state_time_s["standby"] == 600 and k.state_time_s["switched_off"] == 1800
        assert k.state_time_s["warming_up"] == 120 + 300
        assert set(STATE_NAMES) <= set(k.state_time_s)
        assert {n: k.losses_s[n] for n in ("standby", "switched_off", "warming_up")} == {
            "standby": 600, "switched_off": 1800, "warming_up": 420}
        assert set(k.losses_s) == {n for n in STATE_NAMES
                                   if n not in ("busy", "off", "maintenance")}
        assert k.planned_busy_s == 7200 and k.actual_production_s == 1800 + 1080 + 1500
        # the default shifts: early from 06:00 cuts switched_off at 06:00 (21600 is 06:00)
        by = {p.label.split()[-1]: p.kpis for p in shift_kpis(rec, "M", (18000, 25200))}
        assert by["night"].losses_s["standby"] == 600
        assert by["night"].losses_s["warming_up"] == 120
        assert by["early"].losses_s["switched_off"] == 1800
        assert by["early"].losses_s["warming_up"] == 300
        assert by["early"].state_time_s["busy"] == 1500
