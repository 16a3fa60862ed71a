"""Alert rules: each fires on a feed built to trigger it, once, and clears when its condition
ends; each stays quiet on a feed built not to."""

from __future__ import annotations

import pytest
from shadow_feeds import EPOCH, forecast, in_batches, project, states

from twin.live.feed import Reading
from twin.model import elements as m
from twin.shadow.alerts import AlertEngine


def engine(*rules, target=None, **kw) -> AlertEngine:
    return AlertEngine(project(), m.AlertSettings(tuple(rules), target), **kw)


def feed(e: AlertEngine, readings, until: float | None = None, step: float = 10.0):
    """Play readings in batches of ``step`` s and let time pass to ``until``."""
    out = []
    for t_end, batch in in_batches(sorted(readings, key=lambda r: r.t), step):
        out += e.readings(batch)
        out += e.advance(t_end)
    if until is not None:
        out += e.advance(until)
    return out


# --- a machine in a state too long --------------------------------------------------------
DOWN_10 = m.AlertRule("state", "long-stop", "critical", ("filler",), ("down",), 600.0)


def test_down_too_long_raises_once_with_the_usual_repair_and_clears():
    e = engine(DOWN_10)
    changes = feed(e, states("filler", [("busy", 300), ("down", 1500), ("busy", 60)]))
    assert [(a.state, a.asset) for a in changes] == [("raised", "filler"),
                                                     ("cleared", "filler")]
    raised, cleared = changes
    assert raised.time == EPOCH + 300 + 600  # the moment the limit passed
    assert raised.severity == "critical" and raised.element == "filler"
    # the model's mean repair is 180 s: 600 s is 3.3x it
    assert raised.message.startswith("Filler down for 10 min, 3.3x its usual repair (3 min)")
    assert cleared.changed_at == EPOCH + 1800 and "busy after 25 min" in cleared.message
    assert e.active() == []


def test_down_shorter_than_the_limit_is_quiet():
    e = engine(DOWN_10)
    assert feed(e, states("filler", [("busy", 300), ("down", 590), ("busy", 3000)]),
                until=EPOCH + 4000) == []


def test_starved_or_blocked_rule_watches_only_its_states_and_stations():
    rule = m.AlertRule("state", "starved", "warning", ("capper",), ("starved", "blocked"),
                       300.0)
    e = engine(rule)
    changes = feed(e, states("capper", [("starved", 200), ("blocked", 200), ("busy", 10)])
                   + states("filler", [("starved", 4000)]), until=EPOCH + 4000)
    # starved then blocked is one condition (the machine stands still): raised once at
    # 300 s, cleared when it runs again; the filler (not named) never
    assert [(a.state, a.asset, a.changed_at) for a in changes] == [
        ("raised", "capper", EPOCH + 300), ("cleared", "capper", EPOCH + 400)]
    assert changes[0].message.startswith("Capper starved or blocked for 5 min")


def test_state_alert_tells_how_the_shift_forecast_moved():
    e = engine(DOWN_10, m.AlertRule("shift_target", "target", above=0.9), target=1000.0,
               epoch_s=EPOCH)
    e.readings(states("filler", [("busy", 60)]))
    e.forecast(forecast(30.0, [1200] * 92 + [900] * 8))  # P(missed) 8%
    e.readings(states("filler", [("down", 1)], EPOCH + 100))
    e.forecast(forecast(400.0, [1200] * 59 + [900] * 41))  # 41%
    changes = e.advance(EPOCH + 800)
    assert len(changes) == 1
    assert changes[0].message.endswith("P(shift target missed) rose from 8% to 41%")


# --- the shift target ------------------------------------------------------------------------
TARGET = m.AlertRule("shift_target", "target", "warning", above=0.3)


def test_shift_target_risk_raises_once_and_clears_with_hysteresis():
    e = engine(TARGET, target=1000.0, epoch_s=EPOCH)
    ps = [0.08, 0.41, 0.5, 0.25, 0.2]  # clears below 0.3 * 0.75 = 0.225
    changes = []
    for i, p in enumerate(ps):
        n_miss = int(round(p * 100))
        changes += e.forecast(forecast(3600.0 + 60 * i, [1200] * (100 - n_miss)
                                       + [900] * n_miss))
    assert [a.state for a in changes] == ["raised", "cleared"]
    raised = changes[0]
    assert "P(shift target missed) rose from 8% to 41%" in raised.message
    assert raised.time == EPOCH + 3660 and raised.details["target"] == 1000.0
    assert changes[1].changed_at == EPOCH + 3600 + 240


def test_shift_target_safe_is_quiet():
    e = engine(TARGET, target=1000.0)
    for i in range(10):
        assert e.forecast(forecast(3600.0 + 60 * i, [1200] * 80 + [900] * 20)) == []


# --- peak power ----------------------------------------------------------------------------
def power(asset, steps, t0=EPOCH):
    out, t = [], t0
    for kw, seconds in steps:
        for k in range(int(seconds // 60)):  # a reading a minute, as a meter sends
            out.append(Reading(asset, "power_kw", t + 60 * k, kw))
        t += seconds
    return out


PEAK = m.AlertRule("peak_power", "peak", "critical", limit_kw=150.0)


def test_fifteen_minute_mean_above_the_peak_raises_then_clears():
    e = engine(PEAK)
    # two machines: 60 + 40 kW for 20 min, then 130 + 40 for 20 min, then 60 + 40
    readings = power("filler", [(60.0, 1200), (130.0, 1200), (60.0, 1800)]) \
        + power("capper", [(40.0, 4200)])
    changes = feed(e, readings, step=60.0)
    assert [a.state for a in changes] == ["raised", "cleared"]
    # the 15-min mean passes 150 kW when 10/15 of the window is at 170 kW:
    # (100 * 5 + 170 * 10) / 15 = 146.7 ... at 12 min: (100*3 + 170*12)/15 = 156: between
    t_up = EPOCH + 1200 + 900 * (150 - 100) / 70
    assert t_up <= changes[0].time <= t_up + 60  # readings come once a minute
    assert "15-min mean" in changes[0].message and "150 kW" in changes[0].message
    # and clears once the mean falls below 0.95 x 150 = 142.5 kW
    t_down = EPOCH + 2400 + 900 * (170 - 142.5) / 70
    assert t_down <= changes[1].changed_at <= t_down + 60


def test_power_under_the_peak_is_quiet():
    e = engine(PEAK)
    readings = power("filler", [(105.0, 3600)]) + power("capper", [(40.0, 3600)])
    assert feed(e, readings, step=60.0) == []
    assert e.line_power_15min() == pytest.approx(145.0)


def test_forecast_peak_within_the_next_half_hour():
    rule = m.AlertRule("peak_power", "peak-soon", limit_kw=150.0, within=1800.0, above=0.5)
    e = engine(rule, epoch_s=EPOCH)
    quiet = e.forecast(forecast(3600.0, [1000] * 100, peaks_kw=[140] * 70 + [160] * 30))
    loud = e.forecast(forecast(3660.0, [1000] * 100, peaks_kw=[140] * 30 + [160] * 70))
    assert quiet == [] and [a.state for a in loud] == ["raised"]
    assert "P(15-min mean above 150 kW within the next 30 min) = 70%" in loud[0].message
    eased = e.forecast(forecast(3720.0, [1000] * 100, peaks_kw=[140] * 80 + [160] * 20))
    assert [a.state for a in eased] == ["cleared"]


# --- no data ---------------------------------------------------------------------------------
class Clock:
    def __init__(self, t=1000.0):
        self.t = t

    def __call__(self):
        return self.t


def test_no_data_from_the_source_uses_the_wall_clock():
    clock = Clock()
    e = engine(m.AlertRule("no_data", "silent", longer_than=120.0), clock=clock)
    e.readings([Reading("filler", "state", EPOCH, "busy")])
    clock.t += 100
    assert e.advance() == []
    clock.t += 30
    raised = e.advance()
    assert [a.state for a in raised] == ["raised"]
    assert raised[0].message.startswith("No data from the plant (the source) for 2 min 10 s")
    assert e.advance() == []  # once, not every tick
    clock.t += 5
    cleared = e.readings([Reading("capper", "state", EPOCH + 10, "busy")])
    assert [a.state for a in cleared] == ["cleared"]


def test_no_data_from_one_asset_while_the_others_talk():
    clock = Clock()
    rule = m.AlertRule("no_data", "capper-silent", elements=("capper",), scope="asset",
                       longer_than=300.0)
    e = engine(rule, clock=clock)
    out = []
    for k in range(20):  # the filler sends every minute, the capper once at the start
        if k == 0:
            out += e.readings([Reading("capper", "state", EPOCH, "busy")])
        out += e.readings([Reading("filler", "power_kw", EPOCH + 60 * k, 40.0)])
        clock.t += 60
        out += e.advance()
    assert [(a.state, a.asset) for a in out] == [("raised", "capper")]
    quiet = engine(rule, clock=Clock())
    for k in range(20):
        quiet.readings([Reading("capper", "power_kw", EPOCH + 60 * k, 4.0)])
        quiet.clock.t += 60
        assert quiet.advance() == []


def test_no_data_on_a_replay_counts_plant_time():
    e = engine(m.AlertRule("no_data", "gap", longer_than=600.0))
    changes = feed(e, power("filler", [(40.0, 1200)])
                   + power("filler", [(40.0, 600)], EPOCH + 2400), step=60.0)
    assert [a.state for a in changes] == ["raised", "cleared"]
    assert changes[0].time == pytest.approx(EPOCH + 1140 + 600)


# --- drift, through the engine -------------------------------------------------------------
def test_drift_rule_raises_once_per_drift(kernel):
    from shadow_feeds import emulated

    p = project()
    readings = emulated(p, [("base", 2, 1), ("slow-repairs", 8, 11)])
    e = AlertEngine(p, m.AlertSettings((m.AlertRule("drift", "drift", elements=("filler",)),)))
    changes = feed(e, readings, step=60.0)
    assert [(a.state, a.asset, a.kind) for a in changes] == [("raised", "filler", "drift")]
    a = changes[0]
    assert a.time > EPOCH + 2 * 3600
    assert a.details["quantity"] == "time_to_repair" and a.details["direction"] == "longer"
    assert a.message.startswith("Filler: repairs") and "re-calibrate" in a.message


# --- the alert's life ----------------------------------------------------------------------
def test_acknowledge_then_clear_and_listeners_see_each_change():
    e = engine(DOWN_10)
    seen = []
    e.listeners.append(seen.append)
    raised = feed(e, states("filler", [("busy", 10), ("down", 1)]), until=EPOCH + 700)
    assert [a.state for a in raised] == ["raised"]
    acked = e.acknowledge(raised[0].id, at=EPOCH + 720)
    assert acked.state == "acknowledged" and acked.acknowledged
    assert e.acknowledge(raised[0].id) is acked  # twice is once
    cleared = e.readings(states("filler", [("busy", 1)], EPOCH + 900))
    assert cleared[0].state == "cleared" and cleared[0].acknowledged
    assert [a.state for a in seen] == ["raised", "acknowledged", "cleared"]
    assert [a.state for a in e.history] == ["raised", "acknowledged", "cleared"]
    with pytest.raises(KeyError):
        e.acknowledge("nope")
    d = cleared[0].to_dict()
    assert d["time_utc"].endswith("Z") and d["state"] == "cleared"


def test_a_project_without_alerts_raises_nothing():
    e = AlertEngine(project())
    readings = states("filler", [("down", 7200), ("busy", 10)])
    assert feed(e, readings) == []


def test_no_data_before_any_reading_counts_from_the_start():
    clock = Clock(1_800_000_000.0)
    e = engine(m.AlertRule("no_data", "silent", longer_than=120.0), clock=clock)
    assert e.advance() == []
    clock.t += 121
    raised = e.advance()
    assert [a.state for a in raised] == ["raised"]
    assert raised[0].message.endswith(": nothing received yet")
    assert raised[0].time == clock.t  # the wall clock stands in for the plant's time


def test_no_data_when_an_asset_is_first_heard_after_the_others():
    """A new asset's first reading later than the latest seen (a new emulator after an old
    session's backlog, time stamps going backwards then forwards) is evaluated before its
    own time is stored: the source and asset rules count it as not heard yet, not crash."""
    clock = Clock(1_800_000_000.0)
    source = m.AlertRule("no_data", "silent", longer_than=120.0)
    asset = m.AlertRule("no_data", "capper-silent", elements=("capper",), scope="asset",
                        longer_than=120.0)
    e = engine(source, asset, clock=clock)
    assert e.readings([Reading("filler", "state", EPOCH + 600, "busy"),
                       Reading("filler", "state", EPOCH + 30, "busy")]) == []  # a backlog
    clock.t += 200
    # the capper is heard for the first time, later than anything so far: the capper's
    # rule counted from the start (200 s, raised) and clears on this very reading
    out = e.readings([Reading("capper", "state", EPOCH + 900, "busy")])
    assert [(a.state, a.rule) for a in out] == [("raised", "silent"),
                                                ("raised", "capper-silent"),
                                                ("cleared", "silent"),
                                                ("cleared", "capper-silent")]
    assert out[1].message.endswith(": nothing received yet")


def test_no_data_on_a_replay_is_not_raised_by_an_old_reading_coming_late():
    """Plant time stands in for the clock on a replay: an asset's reading from 7 hours back
    (another session's backlog) must not make it look silent for 7 hours."""
    rule = m.AlertRule("no_data", "capper-silent", elements=("capper",), scope="asset",
                       longer_than=600.0)
    e = engine(rule)
    out = e.readings([Reading("capper", "state", EPOCH + 30000, "busy")])
    out += e.readings([Reading("capper", "state", EPOCH + 5000, "busy")])  # the backlog
    out += e.advance(EPOCH + 30100)
    assert out == []
