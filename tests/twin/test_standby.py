"""Energy-saving policies (issue 19 §2, ``kernels/standby.py``): exact traces of tiny
deterministic lines, the energy they use, and bad policies named by their JSON path.

The M/M/1 closed form (a vacation model with setup times) is in ``test_standby_mm1.py``.
"""

from __future__ import annotations

import pytest
from oracles.lines import kernel_trace, station

from kernels import types as kt
from twin.errors import ProjectError
from twin.projectfile.reader import project_from_json
from twin.sim.summary import replication_kpis

POWER = {"busy": 10.0, "starved": 4.0, "blocked": 4.0, "standby": 1.0, "switched_off": 0.0,
         "warming_up": 6.0}


def scheduled_line(policy, times=(0, 100), process=10.0):
    """src (one part at each of ``times``) -> m (``process`` s, ``policy``) -> sink."""
    m = station("m", process, power_kw=POWER, energy_saving=policy)
    return {"schema_version": 1, "name": "standby", "elements": [
        {"id": "src", "kind": "source", "schedule": [[t, "part", 1] for t in times]},
        m, {"id": "sink", "kind": "sink"}],
        "connections": [["src", "m"], ["m", "sink"]]}


def states(sr, eid="m"):
    return [(t, v) for t, e, v in kernel_trace(sr.replications[0].log, sr.lowered.element_ids)
            if e == eid and isinstance(v, str)]


def st_time(sr, eid="m"):
    e = sr.lowered.element_ids.index(eid)
    return dict(zip(kt.STATE_NAMES, sr.replications[0].st_time[e], strict=True))


def test_standby_after_the_idle_time_and_a_warm_up_before_the_next_part(run_doc):
    # t=0 the part starts (busy to 10); starved from 10, so standby at 10 + 20 = 30;
    # t=100 a part arrives: warm-up 5 s (to 105), busy 105-115, starved, standby at 135.
    doc = scheduled_line({"after_s": 20, "restart_s": 5, "restart_kwh": 0.05})
    sr = run_doc(doc, 200.0, replications=1, log=True)
    assert states(sr) == [(0.0, "busy"), (10.0, "starved"), (30.0, "standby"),
                          (100.0, "warming_up"), (105.0, "busy"), (115.0, "starved"),
                          (135.0, "standby")]
    t = st_time(sr)
    assert t == pytest.approx({**dict.fromkeys(kt.STATE_NAMES, 0.0), "busy": 20.0,
                               "starved": 40.0, "standby": 135.0, "warming_up": 5.0})
    rep = sr.replications[0]
    # the part waited for the warm-up: it reached the sink at 115, 15 s after it arrived
    assert rep.line_out[kt.L_LEAD_SUM] == 10.0 + 15.0
    e = sr.lowered.element_ids.index("m")
    assert rep.el_out[e, kt.O_RESTARTS] == 1
    kpis = replication_kpis(sr, rep)
    by_hand = (20 * 10 + 40 * 4 + 135 * 1 + 5 * 6) / 3600 + 1 * 0.05
    assert kpis["elements.m.energy_kwh"] == pytest.approx(by_hand, rel=1e-12)
    assert kpis["elements.m.restarts"] == 1
    assert kpis["elements.m.restart_kwh"] == pytest.approx(0.05)
    assert kpis["line.energy_kwh"] == pytest.approx(by_hand, rel=1e-12)


def test_switch_off_and_a_part_that_comes_before_the_timer_runs_out(run_doc):
    # parts at 0, 25 and 100; after 20 s starved, off. 10-25 is starved for only 15 s:
    # the part at 25 starts at once (no warm-up); off at 35 + 20 = 55; warm-up 100-103.
    doc = scheduled_line({"after_s": 20, "mode": "off", "restart_s": 3}, times=(0, 25, 100))
    sr = run_doc(doc, 150.0, replications=1, log=True)
    assert states(sr) == [(0.0, "busy"), (10.0, "starved"), (25.0, "busy"), (35.0, "starved"),
                          (55.0, "switched_off"), (100.0, "warming_up"), (103.0, "busy"),
                          (113.0, "starved"), (133.0, "switched_off")]
    assert sr.replications[0].el_out[1, kt.O_RESTARTS] == 1


def test_a_part_at_the_instant_the_timer_runs_out_starts_at_once(run_doc):
    # starved from 10, the timer runs out at 30 as the second part arrives: the instant ends
    # with the station busy, so it never was on standby and needs no warm-up
    doc = scheduled_line({"after_s": 20, "restart_s": 5}, times=(0, 30))
    sr = run_doc(doc, 100.0, replications=1, log=True)
    assert states(sr) == [(0.0, "busy"), (10.0, "starved"), (30.0, "busy"), (40.0, "starved"),
                          (60.0, "standby")]
    assert sr.replications[0].el_out[1, kt.O_RESTARTS] == 0


def test_without_a_policy_nothing_changes(run_doc):
    sr = run_doc(scheduled_line(None), 200.0, replications=1, log=True)
    assert states(sr) == [(0.0, "busy"), (10.0, "starved"), (100.0, "busy"), (110.0, "starved")]
    assert sr.lowered.arrays.params[kt.P_ES] == 0.0


def test_blocked_station_goes_to_standby_and_warms_up_for_its_next_part(run_doc):
    # m1 (1 s) feeds m2 (50 s) straight, policy on m1 when blocked, after 10 s, restart 2 s.
    # t=0 m1 busy; t=1 m2 takes part 1 (busy to 51); m1 starts part 2, done at 2, blocked;
    # standby at 12; t=51 m2 takes part 2, m1 takes part 3 (from the unlimited source):
    # warm-up 51-53, busy 53-54, blocked from 54 (m2 busy to 101), standby at 64...
    doc = {"schema_version": 1, "name": "blocked", "elements": [
        {"id": "src", "kind": "source"},
        station("m1", 1.0, energy_saving={"after_s": 10, "when": "blocked", "restart_s": 2}),
        station("m2", 50.0), {"id": "sink", "kind": "sink"}],
        "connections": [["src", "m1"], ["m1", "m2"], ["m2", "sink"]]}
    sr = run_doc(doc, 110.0, replications=1, log=True)
    # (m1 stays busy through t=1: no row there)
    assert states(sr, "m1") == [(0.0, "busy"), (2.0, "blocked"), (12.0, "standby"),
                                (51.0, "warming_up"), (53.0, "busy"), (54.0, "blocked"),
                                (64.0, "standby"), (101.0, "warming_up"), (103.0, "busy"),
                                (104.0, "blocked")]
    # the successor is the bottleneck and never waits for the warm-ups: it takes each part
    # as it frees up (51, 101), and only m1's blocked part leaves the saving server
    assert states(sr, "m2") == [(1.0, "busy")]
    assert sr.replications[0].line_out[kt.L_GOOD] == 2
    assert sr.replications[0].el_out[1, kt.O_RESTARTS] == 2


def test_only_working_time_counts_and_the_next_shift_starts_the_timer_afresh(run_doc):
    # shifts 0-50 of every 100 s; starved from 10, but the shift ends at 50 after 40 s of
    # the 45 (off, no standby); at 100 the station is starved again and the timer starts
    # from zero: standby at 145, off at 150; the next shift switches it on without a warm-up
    doc = {**scheduled_line({"after_s": 45, "restart_s": 5}, times=(0,)),
           "calendar": {"period": 100, "shifts": [{"start": 0, "end": 50}]}}
    sr = run_doc(doc, 260.0, replications=1, log=True)
    assert states(sr) == [(0.0, "busy"), (10.0, "starved"), (50.0, "off"), (100.0, "starved"),
                          (145.0, "standby"), (150.0, "off"), (200.0, "starved"),
                          (245.0, "standby"), (250.0, "off")]
    assert sr.replications[0].el_out[1, kt.O_RESTARTS] == 0


@pytest.mark.parametrize("policy, path, words", [
    ({"after_s": -5}, "$.elements[1].energy_saving.after_s", ">= 0"),
    ({"after_s": 60, "mode": "hibernate"}, "$.elements[1].energy_saving.mode", "expected one of"),
    ({"after_s": 60, "when": "always"}, "$.elements[1].energy_saving.when", "expected one of"),
    ({"mode": "off"}, "$.elements[1].energy_saving.after_s", "is required"),
    ({"after_s": 60, "restart_kwh": -1}, "$.elements[1].energy_saving.restart_kwh", ">= 0"),
    ({"after_s": 60, "restart_s": {"dist": "exponential"}},
     "$.elements[1].energy_saving.restart_s", ""),
    ({"after_s": 60, "colour": "red"}, "$.elements[1].energy_saving.colour", ""),
    ("soon", "$.elements[1].energy_saving", "must be an object"),
])
def test_bad_policies_name_their_json_path(policy, path, words):
    with pytest.raises(ProjectError) as err:
        project_from_json(scheduled_line(policy))
    found = [p for p in err.value.problems if p.path.startswith(path)]
    assert found, [p.path for p in err.value.problems]
    assert words in found[0].message


def test_policy_round_trips_through_the_writer():
    from twin.projectfile.writer import project_to_json

    policy = {"after_s": 90, "mode": "off", "when": "both",
              "restart_s": {"dist": "exponential", "mean": 30}, "restart_kwh": 0.2}
    p = project_from_json(scheduled_line(policy))
    out = project_to_json(p)
    assert out["elements"][1]["energy_saving"] == policy
    assert project_from_json(out).element("m").energy_saving == p.element("m").energy_saving
    plain = project_to_json(project_from_json(scheduled_line({"after_s": 5})))
    assert plain["elements"][1]["energy_saving"] == {"after_s": 5}
