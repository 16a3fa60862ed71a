"""Demand response (issue 19 §2, ``kernels/demand.py``): during windows chosen stations
pause after their current part or run slower. Exact traces of tiny deterministic lines, the
energy they use, time partitioned into states on a random line, and bad entries named by
their JSON path."""

from __future__ import annotations

import pytest
from oracles.lines import exp, operating_failures, serial_line, station

from kernels import types as kt
from tests.kernels.test_invariants import assert_partition
from tests.twin.test_standby import st_time, states
from twin.errors import ProjectError
from twin.projectfile.reader import project_from_json
from twin.sim.summary import replication_kpis

POWER = {"busy": 10.0, "starved": 4.0, "blocked": 4.0, "idle": 2.0}


def line(dr, times=(0, 5, 40), process=10.0, servers=1):
    """src (one part at each of ``times``) -> m (``process`` s) -> sink, ``dr`` windows."""
    m = station("m", process, power_kw=POWER, servers=servers)
    return {"schema_version": 1, "name": "dr", "elements": [
        {"id": "src", "kind": "source", "schedule": [[t, "part", 1] for t in times]},
        m, {"id": "sink", "kind": "sink"}],
        "connections": [["src", "m"], ["m", "sink"]],
        **({"demand_response": dr} if dr is not None else {})}


def test_a_pause_lets_the_part_in_process_finish_and_the_next_waits_for_the_end(run_doc):
    # part 1 busy 0-10; the window 8-30 starts during it: it finishes at 10 and leaves, then
    # the station pauses (standby) although part 2 (arrived at 5) waits; at 30 it resumes:
    # part 2 busy 30-40, part 3 (arrived at 40) 40-50, starved from 50
    doc = line([{"stations": ["m"], "windows": [[8, 30]], "action": "pause"}])
    sr = run_doc(doc, 100.0, replications=1, log=True)
    assert states(sr) == [(0.0, "busy"), (10.0, "standby"), (30.0, "busy"), (50.0, "starved")]
    assert st_time(sr) == pytest.approx({**dict.fromkeys(kt.STATE_NAMES, 0.0), "busy": 30.0,
                                         "standby": 20.0, "starved": 50.0})
    rep = sr.replications[0]
    # part 2 waited 5-30 and left at 40; parts 1 and 3 went straight through
    assert rep.line_out[kt.L_LEAD_SUM] == 10.0 + 35.0 + 10.0
    # a paused station draws its standby power, the idle power when power_kw names none
    by_hand = (30 * 10 + 20 * 2 + 50 * 4) / 3600
    assert replication_kpis(sr, rep)["elements.m.energy_kwh"] == pytest.approx(by_hand,
                                                                                rel=1e-12)


def test_an_empty_station_pauses_at_once_and_its_own_standby_power_is_used(run_doc):
    # starved 10-20, paused 20-30 (the part of 25 waits), busy 30-40, starved from 40
    doc = line([{"stations": ["m"], "windows": [[20, 30]]}], times=(0, 25))
    doc["elements"][1]["power_kw"] = {**POWER, "standby": 0.5}
    sr = run_doc(doc, 60.0, replications=1, log=True)
    assert states(sr) == [(0.0, "busy"), (10.0, "starved"), (20.0, "standby"), (30.0, "busy"),
                          (40.0, "starved")]
    by_hand = (20 * 10 + 10 * 0.5 + 30 * 4) / 3600
    kpis = replication_kpis(sr, sr.replications[0])
    assert kpis["elements.m.energy_kwh"] == pytest.approx(by_hand, rel=1e-12)


def test_every_server_pauses_once_its_own_part_is_done(run_doc):
    # two servers: parts at 0 and 4 take 10 s each (to 10 and 14); window 5-20: server 0
    # pauses at 10, server 1 at 14; the part of 12 waits for 20 and is done at 30
    doc = line([{"stations": ["m"], "windows": [[5, 20]]}], times=(0, 4, 12), servers=2)
    sr = run_doc(doc, 40.0, replications=1, log=True)
    t = st_time(sr)
    assert t["busy"] == pytest.approx(30.0)
    assert t["standby"] == pytest.approx((20 - 10) + (20 - 14))
    assert sr.replications[0].line_out[kt.L_LEAD_SUM] == pytest.approx(10 + 10 + 18)


def test_slow_stretches_a_part_started_inside_the_window(run_doc):
    # speed 0.5 in 5-50: part 1 started at 0 keeps 10 s; part 2 (20) takes 20 s; part 3
    # (60, after the window) 10 s again
    doc = line([{"stations": ["m"], "windows": [[5, 50]], "action": "slow", "speed": 0.5}],
               times=(0, 20, 60))
    sr = run_doc(doc, 100.0, replications=1, log=True)
    assert states(sr) == [(0.0, "busy"), (10.0, "starved"), (20.0, "busy"), (40.0, "starved"),
                          (60.0, "busy"), (70.0, "starved")]
    assert st_time(sr)["busy"] == pytest.approx(40.0)


def test_windows_of_several_entries_follow_one_another(run_doc):
    # pause 20-30, then slow (0.5) 30-60: part of 25 starts at 30 slowed (to 50)
    doc = line([{"stations": ["m"], "windows": [[20, 30]]},
                {"stations": ["m"], "windows": [[30, 60]], "action": "slow", "speed": 0.5}],
               times=(0, 25))
    sr = run_doc(doc, 80.0, replications=1, log=True)
    assert states(sr) == [(0.0, "busy"), (10.0, "starved"), (20.0, "standby"), (30.0, "busy"),
                          (50.0, "starved")]


def test_without_windows_nothing_changes(run_doc):
    sr = run_doc(line(None), 100.0, replications=1, log=True)
    assert states(sr) == [(0.0, "busy"), (20.0, "starved"), (40.0, "busy"), (50.0, "starved")]
    assert sr.lowered.arrays.params.shape == (kt.N_P,)
    assert sr.lowered.arrays.params[kt.P_DR] == 0.0


def test_states_partition_time_on_a_random_line_with_windows_and_shifts(run_doc):
    doc = serial_line([station("a", exp(50), failures=operating_failures(exp(900), exp(60))),
                       station("b", exp(55), servers=2),
                       station("c", exp(45))], [3, 2], name="dr-random")
    doc["calendar"] = {"period": 3600, "shifts": [{"start": 0, "end": 3000}]}
    doc["demand_response"] = [
        {"stations": ["b"], "windows": [[600 + 3600 * k, 1500 + 3600 * k] for k in range(4)]},
        {"stations": ["a", "c"], "windows": [[1000, 2800], [5000, 9000]], "action": "slow",
         "speed": 0.6}]
    sr = run_doc(doc, 4 * 3600.0, replications=3, log=True, seed=7)
    assert_partition(sr)
    b = sr.lowered.element_ids.index("b")
    for rep in sr.replications:
        assert rep.st_time[b, kt.STANDBY] > 0.0  # b was paused in its windows


@pytest.mark.parametrize("dr, path, words", [
    ([{"stations": ["nope"], "windows": [[0, 10]]}], "$.demand_response[0].stations[0]",
     "not the id of a station"),
    ([{"stations": ["src"], "windows": [[0, 10]]}], "$.demand_response[0].stations[0]",
     "not the id of a station"),
    ([{"stations": ["m"], "windows": [[0, 10]], "action": "slow", "speed": 0}],
     "$.demand_response[0].speed", "> 0"),
    ([{"stations": ["m"], "windows": [[0, 10]], "action": "slow", "speed": 1.5}],
     "$.demand_response[0].speed", "<= 1"),
    ([{"stations": ["m"], "windows": [[0, 10]], "action": "slow"}],
     "$.demand_response[0].speed", "is required"),
    ([{"stations": ["m"], "windows": [[10, 10]]}], "$.demand_response[0].windows[0]",
     "end must be after the start"),
    ([{"stations": ["m"], "windows": [[0, 10], [5, 20]]}], "$.demand_response[0].windows[1]",
     "overlaps"),
    ([{"stations": ["m"], "windows": [[0, 10]]}, {"stations": ["m"], "windows": [[5, 20]]}],
     "$.demand_response[1].windows", "overlaps"),
    ([{"stations": ["m"], "windows": [[0, 10]], "action": "stop"}],
     "$.demand_response[0].action", "expected one of"),
    ([{"stations": ["m"], "windows": [10, 20]}], "$.demand_response[0].windows[0]",
     "[start, end] pair"),
    ({"stations": ["m"]}, "$.demand_response", "must be a list"),
    ([{"stations": ["m"], "windows": [[0, 10], [20, 90]], "repeat": 60}],
     "$.demand_response[0].repeat", "shorter than the windows it repeats"),
    ([{"stations": ["m"], "windows": [[0, 10]], "repeat": "-1d"}],
     "$.demand_response[0].repeat", "expected a duration"),
    ([{"stations": ["m"], "windows": [[0, 0.5]], "repeat": 0.5}],
     "$.demand_response[0].repeat", "at least 1 s"),
])
def test_bad_entries_name_their_json_path(dr, path, words):
    with pytest.raises(ProjectError) as err:
        project_from_json(line(dr))
    found = [p for p in err.value.problems if p.path.startswith(path)]
    assert found, [(p.path, p.message) for p in err.value.problems]
    assert words in found[0].message


def test_entries_round_trip_through_the_writer():
    from twin.projectfile.writer import project_to_json

    dr = [{"stations": ["m"], "windows": [[0.0, 10.0], [20.0, 30.0]], "repeat": 86400.0},
          {"stations": ["m"], "windows": [[40.0, 50.0]], "action": "slow", "speed": 0.7}]
    p = project_from_json(line(dr))
    out = project_to_json(p)
    assert out["demand_response"] == dr
    assert project_from_json(out).demand_response == p.demand_response
    assert "demand_response" not in project_to_json(project_from_json(line(None)))


def test_the_schema_accepts_what_the_reader_reads_and_rejects_a_bad_speed():
    from tests.test_schema import schema_errors

    good = line([{"stations": ["m"], "windows": [[0, 10]], "repeat": "1d"},
                 {"stations": ["m"], "windows": [[20, 30]], "action": "slow", "speed": 0.7}])
    assert schema_errors(good) == []
    bad = line([{"stations": ["m"], "windows": [[0, 10]], "action": "slow", "speed": 0}])
    assert any("demand_response" in e for e in schema_errors(bad))
    typo = line([{"stations": ["m"], "windows": [[0, 10]], "when": "peak"}])
    assert schema_errors(typo)


def test_a_station_deleted_after_reading_is_named_not_a_crash(run_doc):
    from twin.sim.runner import RunSpec, run_project

    p = project_from_json(line([{"stations": ["m"], "windows": [[0, 10]]}]))
    p.demand_response[0] = p.demand_response[0].__class__(("m", "gone"), ((0.0, 10.0),))
    with pytest.raises(ProjectError) as err:
        run_project(p, ["base"], RunSpec(horizon=50.0))
    assert [x.path for x in err.value.problems] == ["$.demand_response[0].stations[1]"]


def test_a_pause_over_a_shift_end_shows_off_and_resumes_at_the_window_end(run_doc):
    # shifts 0-50 of every 100 s; window 40-120: paused 40-50, off 50-100 (off wins), paused
    # 100-120 (working time again); the part of 110 waits for 120
    doc = {**line([{"stations": ["m"], "windows": [[40, 120]]}], times=(0, 110)),
           "calendar": {"period": 100, "shifts": [{"start": 0, "end": 50}]}}
    sr = run_doc(doc, 140.0, replications=1, log=True)
    assert states(sr) == [(0.0, "busy"), (10.0, "starved"), (40.0, "standby"), (50.0, "off"),
                          (100.0, "standby"), (120.0, "busy"), (130.0, "starved")]


def test_maintenance_due_in_a_window_goes_first_and_the_pause_follows(run_doc):
    # maintenance (5 s) every 2 operations; window 15-40: part 2 (10-20) completes the
    # second operation, so maintenance 20-25, then paused 25-40; part 3 (arrived 12) 40-50
    doc = line([{"stations": ["m"], "windows": [[15, 40]]}], times=(0, 10, 12))
    doc["elements"][1]["maintenance"] = {"every_operations": 2, "duration": 5}
    sr = run_doc(doc, 60.0, replications=1, log=True)
    assert states(sr) == [(0.0, "busy"), (20.0, "maintenance"), (25.0, "standby"),
                          (40.0, "busy"), (50.0, "starved")]


def test_repeated_windows_pause_every_period_up_to_the_horizon(run_doc):
    """A pause 20-30 repeating every 100 s, parts at 0, 25, 125 and 222: each 10 s; the
    part of 25 waits for 30, the part of 125 for 130 (the second occurrence), the part of
    222 for 230. The kernel gets the boundaries up to the horizon (350 s: 4 windows)."""
    doc = line([{"stations": ["m"], "windows": [[20, 30]], "repeat": 100}],
               times=(0, 25, 125, 222))
    sr = run_doc(doc, 350.0, replications=1, log=True)
    assert states(sr) == [
        (0.0, "busy"), (10.0, "starved"), (20.0, "standby"), (30.0, "busy"), (40.0, "starved"),
        (120.0, "standby"), (130.0, "busy"), (140.0, "starved"), (220.0, "standby"),
        (230.0, "busy"), (240.0, "starved"), (320.0, "standby"), (330.0, "starved")]
    assert sr.lowered.arrays.params[kt.P_DR] == 8  # 4 windows, 2 boundaries each


def test_repeated_windows_that_meet_another_entry_are_named_when_run(run_doc):
    """Once, the entries do not overlap (the reader passes them); the daily repeat of the
    first meets the second's window on day 2: the run names it before it starts."""
    from twin.sim.runner import RunSpec, run_project

    p = project_from_json(line([{"stations": ["m"], "windows": [[0, 10]], "repeat": "1d"},
                                {"stations": ["m"], "windows": [[86400 + 5, 86400 + 20]]}]))
    with pytest.raises(ProjectError) as err:
        run_project(p, ["base"], RunSpec(horizon=3 * 86400.0))
    assert [x.path for x in err.value.problems] == ["$.demand_response[1].windows"]
    assert "overlaps one of $.demand_response[0]" in err.value.problems[0].message
    run_project(p, ["base"], RunSpec(horizon=86400.0))  # not reached within one day


def test_too_many_repeats_are_refused_with_the_count(run_doc):
    from twin.sim.runner import RunSpec, run_project

    p = project_from_json(line([{"stations": ["m"], "windows": [[0, 1]], "repeat": 2}]))
    with pytest.raises(ProjectError) as err:
        run_project(p, ["base"], RunSpec(horizon=86400.0 * 3))
    assert [x.path for x in err.value.problems] == ["$.demand_response"]
    assert "259,200 window boundaries"  # 129,600 windows in err.value.problems[0].message
