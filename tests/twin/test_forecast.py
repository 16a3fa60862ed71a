"""The rolling forecast: shifts, the Forecast's accessors, the log beside the recording,
rolling over a replay, and forecasting from a live recording while the recorder writes it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from twin.live.emulator import batches, plan_run
from twin.live.feed import Reading
from twin.live.recorder import LiveRecorder, project_assets
from twin.model import elements as m
from twin.model.distributions import constant, exponential
from twin.recording import AssetInfo, Recording, extent, replay_recording
from twin.shadow.forecast import (
    Forecast,
    ForecastError,
    ForecastLog,
    RollingForecaster,
    forecast_at,
    log_path,
    shift_at,
)
from twin.sim.runner import RunSpec, run_project
from twin.whatif.simulated import write_run_as_recording

H = 8 * 3600.0


def line() -> m.Project:
    p = m.Project("line", elements=[
        m.Source("src"),
        m.Station("M1", process_time=exponential(40.0), power_kw={"busy": 5.0, "starved": 1.0},
                  failures=m.Failures("operating", time_to_failure=exponential(1800.0),
                                      time_to_repair=exponential(300.0))),
        m.Buffer("B1", capacity=5),
        m.Station("M2", process_time=constant(45.0), power_kw={"busy": 4.0}),
        m.Sink("out")], run=m.RunSettings(horizon=H, seed=3))
    for a, b in (("src", "M1"), ("M1", "B1"), ("B1", "M2"), ("M2", "out")):
        p.connect(a, b)
    return p


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, kernel):
    project = line()
    res = run_project(project, spec=RunSpec(horizon=H, replications=1, seed=9, log=True))
    path = tmp_path_factory.mktemp("fc") / "shift.h5"
    write_run_as_recording(res.scenarios["base"], 0, path, seed=9)
    return project, path


def test_shifts_come_from_the_calendar_else_from_the_recording(recorded):
    project, path = recorded
    with Recording.open(path) as r:  # epoch 00:00 UTC: default shifts 06, 14, 22 h
        assert shift_at(project, r, 3 * 3600.0) == (-2 * 3600.0, 6 * 3600.0)
        assert shift_at(project, r, 6 * 3600.0) == (6 * 3600.0, 14 * 3600.0)
        cal = line()
        cal.calendar = m.Calendar(shifts=(m.Period(6 * 3600.0, 14 * 3600.0, "early"),
                                          m.Period(14 * 3600.0, 22 * 3600.0, "late")),
                                  breaks=(m.Period(9 * 3600.0, 9.25 * 3600.0),))
        assert shift_at(cal, r, 9.1 * 3600.0) == (6 * 3600.0, 14 * 3600.0)  # a break inside
        assert shift_at(cal, r, 15 * 3600.0) == (14 * 3600.0, 22 * 3600.0)
        assert shift_at(cal, r, 23 * 3600.0) == (30 * 3600.0, 38 * 3600.0)  # the next one
        assert shift_at(cal, r, 2 * 3600.0) == (6 * 3600.0, 14 * 3600.0)


def test_a_forecast_adds_the_recorded_shift_so_far(recorded):
    project, path = recorded
    with Recording.open(path) as r:
        f = forecast_at(project, r, 7 * 3600.0, replications=30, target=80.0, workers=1)
        replays = replay_recording(r)
    assert (f.shift_start, f.shift_end, f.made_at) == (6 * 3600.0, 14 * 3600.0, 7 * 3600.0)
    out = replays["M2"]
    assert f.good_so_far == out.parts_at(7 * 3600.0) - out.parts_at(6 * 3600.0)
    e = sum(rp.energy_kwh_at(7 * 3600.0) - rp.energy_kwh_at(6 * 3600.0)
            for a, rp in replays.items() if a in ("M1", "M2"))
    assert f.energy_so_far == pytest.approx(e)
    assert f.good.shape == (30, len(f.times)) == f.power_kw.shape
    assert f.times[0] >= f.made_at and f.times[-1] == f.shift_end
    assert np.all(np.diff(f.good, axis=1) >= 0) and np.all(f.good[:, 0] >= f.good_so_far)
    # energy over the grid is the integral of the power steps
    dt = np.diff(np.concatenate(([f.made_at], f.times)))
    np.testing.assert_allclose(f.energy_so_far + (f.power_kw * dt).sum(axis=1) / 3600.0,
                               f.energy_kwh, rtol=1e-9)
    q = f.quantiles()
    assert np.all(q[0.1] <= q[0.5]) and np.all(q[0.5] <= q[0.9])
    assert f.p_below(80.0) == np.mean(f.final < 80.0)
    assert f.p_below(0.0) == 0.0 and f.p_below(1e9) == 1.0
    assert f.target == 80.0


def test_a_link_gap_in_the_shift_is_not_counted_as_lost_output(recorded, tmp_path):
    """A newcomer's broker restarted without persistence: 31 minutes of the plant never
    reached the recording, the forecast counted them as zero output and raised "shift target
    at risk". The same shift with half an hour cut out (a recorded link gap): the fan counts
    the recorded rate over the gap, and its median lands where the whole recording's does."""
    from twin.recording import RecordingWriter

    project, path = recorded
    cut = tmp_path / "gap.h5"
    g0, g1 = 6.25 * 3600.0, 6.75 * 3600.0
    with Recording.open(path) as r, RecordingWriter.create(
            cut, source="t", epoch_utc=r.datetime_of(0.0)) as w:
        for a in r.asset_ids:
            data = r.asset(a)
            w.add_asset(AssetInfo(a, element=data.element, server=data.server))
            for kind in ("states", "parts", "power", "level"):
                rec = getattr(data, kind)
                keep = (rec["time"] < g0) | (rec["time"] >= g1)
                if keep.sum():
                    w.append_records(a, kind, rec[keep])
        w.append_gaps([g0], [g1], "reconnecting: connection lost")
    with Recording.open(path) as r:
        whole = forecast_at(project, r, 7 * 3600.0, replications=30, workers=1)
    with Recording.open(cut) as r:
        f = forecast_at(project, r, 7 * 3600.0, replications=30, workers=1)
    lost = whole.good_so_far - f.good_so_far
    assert lost >= 20  # M2 makes up to 40 parts in half an hour
    assert f.gap_s == 1800.0 and whole.gap_s == 0.0 and whole.good_in_gaps == 0.0
    # the recorded rate over the 30 minutes seen, for the 30 not seen
    assert f.good_in_gaps == pytest.approx(f.good_so_far, rel=0.25)
    p50, p50_whole = np.median(f.final), np.median(whole.final)
    assert abs(p50 - p50_whole) < 0.5 * lost, (p50, p50_whole, lost)
    assert f.summary()["gap_s"] == 1800.0


def test_the_shift_before_the_first_reading_is_not_counted_as_zero_output(recorded):
    """README's live demo: the emulator starts at 00:00 plant time, two hours into the 22:00
    shift, and the first forecast said "0 good parts so far ... P(below target) 100%". The
    recording begins at 00:00 here too: a forecast at 00:15 counts each replication's run
    rate over the two unseen hours, and its median lands near that of the next shift, seen
    whole, at the same point (6:15); counted as zero, it was about a quarter short."""
    from app.cli.forecast import forecast_line

    project, path = recorded
    with Recording.open(path) as r:
        f = forecast_at(project, r, 0.25 * 3600.0, replications=30, workers=1)
        whole = forecast_at(project, r, 6.25 * 3600.0, replications=30, workers=1)
    assert (f.shift_start, f.shift_end) == (-2 * 3600.0, 6 * 3600.0)
    p50, p50_whole = np.median(f.final), np.median(whole.final)
    assert abs(p50 - p50_whole) < 0.1 * p50_whole, (p50, p50_whole)
    assert f.p_below(0.8 * p50_whole) < 0.5
    assert f.unseen_s == 7200.0 and whole.unseen_s == 0.0 and whole.good_before_first == 0.0
    # each replication: its output over the 5 h 45 min to come, and as much per second over
    # the 2 h unseen
    rest, unseen = 5.75 * 3600.0, 7200.0
    assert f.good_before_first == pytest.approx(
        np.median(f.final - f.good_so_far) * unseen / (unseen + rest))
    assert f.summary()["unseen_s"] == 7200.0
    assert "for 2 h 00 min of the shift before the first reading" in forecast_line(f, 0.0)


def test_peak_quarter_hour_power_against_a_direct_computation():
    """A forecast built by hand: 2 replications on a minute grid, 30 min of recorded power
    before made_at at 6 kW."""
    made, step = 1000.0, 60.0
    times = made + step * np.arange(1, 61)
    power = np.vstack([np.full(60, 10.0), np.where(np.arange(60) < 5, 30.0, 2.0)])
    recent_t = np.linspace(made - 900.0, made, 16)[:-1]
    recent_kwh = 50.0 + 6.0 * (recent_t - made) / 3600.0  # 6 kW up to made_at, 50 kWh so far
    f = Forecast(made_at=made, shift_start=0.0, shift_end=times[-1], target=None, times=times,
                 good=np.zeros((2, 60)), power_kw=power, energy_kwh=np.zeros(2),
                 good_so_far=0.0, energy_so_far=50.0, recent_t=recent_t,
                 recent_kwh=recent_kwh)
    peak = f.peak_15min_within(30.0)
    # replication 0: 10 kW from made_at; the highest window is any one wholly after it
    assert peak[0] == pytest.approx(10.0)
    # replication 1: 5 min at 30 kW right after made_at; the window ending at made_at + 5 min
    # holds 10 min of 6 kW and 5 min of 30 kW
    assert peak[1] == pytest.approx((10 * 6.0 + 5 * 30.0) / 15.0)
    # within 2 minutes: the windows ending at made_at + 1 and + 2 min
    assert f.peak_15min_within(2.0)[1] == pytest.approx((13 * 6.0 + 2 * 30.0) / 15.0)


def test_rolling_over_a_replay_and_the_log_beside_the_recording(recorded, tmp_path):
    project, path = recorded
    logfile = tmp_path / "shift.h5.forecasts.jsonl"
    assert log_path(tmp_path / "shift.h5") == logfile
    with Recording.open(path) as r, ForecastLog(logfile, {"project": "line"}) as log:
        roll = RollingForecaster(project, every=1800.0, replications=10, log=log, workers=1)
        made = list(roll.run(r, 6 * 3600.0, 7.4 * 3600.0))
    assert [f.made_at for f in made] == [6 * 3600.0, 6.5 * 3600.0, 7 * 3600.0]
    assert made[0].good_so_far == 0.0
    kept = ForecastLog.read(logfile)
    assert [k.made_at for k in kept] == [f.made_at for f in made]
    np.testing.assert_allclose(kept[-1].final_good, made[-1].final)
    np.testing.assert_allclose(kept[-1].p50, made[-1].quantiles()[0.5], atol=1e-6)
    assert json.loads(logfile.read_text().splitlines()[0])["format"] == "twinbench-forecasts"
    # a writer killed mid-line loses that line only
    with logfile.open("a") as fh:
        fh.write('{"made_at": 1.0, "shift_st')
    assert len(ForecastLog.read(logfile)) == 3
    bad = tmp_path / "other.jsonl"
    bad.write_text("{}\n")
    with pytest.raises(ForecastError, match="not a twinbench forecast log"):
        ForecastLog.read(bad)
    # due(): every step passed is owed once; live (catch_up=False) only the newest
    roll = RollingForecaster(project, every=60.0, start=0.0)
    assert roll.due(150.0) == [0.0, 60.0, 120.0] and roll.due(170.0) == []
    assert roll.due(400.0, catch_up=False) == [360.0]
    with pytest.raises(ForecastError, match="forecast_every=0"):
        RollingForecaster(project, every=0)


def test_forecast_from_a_live_recording_while_the_recorder_writes_it(tmp_path, kernel):
    """The recorder holds the file open for SWMR writing; forecasts read it as it grows."""
    project = line()
    plan = plan_run(project, duration=4 * 3600.0, seed=5)
    epoch = 1_796_176_800.0  # 2026-12-02T02:00:00Z: plant time 0 of the run
    path = tmp_path / "live.h5"
    rec = LiveRecorder(path, project_assets(project), source="test",
                       epoch_utc="2026-12-02T00:00:00+00:00")
    sent = 0
    try:
        made = []
        with_reader = None
        for upto in (1.5 * 3600.0, 3.5 * 3600.0):
            for batch in batches(plan, epoch):
                rows = [Reading(a, c, t, v, f"{a}/{c}/{t}") for a, c, t, v in batch
                        if sent <= t - epoch < upto]
                if rows:
                    rec.readings(rows)
            sent = upto
            rec.flush()
            if with_reader is None:
                # opened while the recorder writes (in this process, as the workbench's
                # forecast job opens the recording its live session writes)
                with_reader = Recording.open(path)
            last = extent(replay_recording(with_reader))[1]
            # the same reader sees what was written since it opened the file
            assert 2 * 3600.0 + upto - 600.0 < last <= 2 * 3600.0 + upto
            f = forecast_at(project, with_reader, last - 60.0, replications=8, workers=1)
            made.append(f)
    finally:
        if with_reader is not None:
            with_reader.close()
        rec.close()
    # recording time 0 is 00:00, the plant started at 02:00: shift 22:00-06:00 in both
    assert made[1].made_at > made[0].made_at + 3600.0
    assert made[0].shift_end == made[1].shift_end == 6 * 3600.0
    assert made[1].good_so_far > made[0].good_so_far > 0


def test_the_actual_output_counts_parts_on_the_last_conveyor_when_they_arrive(tmp_path, kernel):
    """M2 -> conveyor -> sink: the recording has M2's parts and the conveyor's level; the
    shift's actual is what reached the sink, as the twin counts it."""
    from kernels import types as kt
    from twin.shadow.scoring import actual_good

    p = m.Project("belt", elements=[
        m.Source("src"), m.Station("M1", process_time=exponential(30.0)),
        m.Conveyor("C1", length=20.0, speed=0.1, spacing=0.5),
        m.Station("M2", process_time=exponential(25.0)),
        m.Conveyor("C2", length=30.0, speed=0.1, spacing=0.5), m.Sink("out")])
    for a, b in (("src", "M1"), ("M1", "C1"), ("C1", "M2"), ("M2", "C2"), ("C2", "out")):
        p.connect(a, b)
    res = run_project(p, spec=RunSpec(horizon=3600.0, replications=1, seed=4, log=True))
    path = tmp_path / "belt.h5"
    write_run_as_recording(res.scenarios["base"], 0, path, seed=4)
    rep = res.scenarios["base"].replications[0]
    with Recording.open(path) as r:
        got = actual_good(p, r, 0.0, 3600.0)
        f = forecast_at(p, r, 1800.0, replications=5, shift=(0.0, 3600.0), workers=1)
    assert got == rep.line_out[kt.L_GOOD]
    assert f.good_so_far == float(np.interp(1800.0, rep_times(res), rep.good_parts()))


def rep_times(res):
    return res.scenarios["base"].lowered.arrays.ts_t


def test_settings_come_from_the_alerts_section_when_the_project_has_one():
    from types import SimpleNamespace

    from twin.shadow.forecast import EVERY, project_every, project_target

    p = line()
    assert project_every(p) == EVERY == 60.0 and project_target(p) is None
    p.alerts = SimpleNamespace(shift_target=420, forecast_every=300.0)  # as parsed, §4
    assert project_every(p) == 300.0 and project_target(p) == 420.0
    assert RollingForecaster(p).every == 300.0
    assert RollingForecaster(p, every=30.0).every == 30.0
