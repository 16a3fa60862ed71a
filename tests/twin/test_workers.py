"""Worker pools and repair crews (issue 18 §3): exact traces, the machine-repairman oracle,
the project file and what the rest of twinbench does with the new state.

The traces are worked out by hand from the rules in docs/semantics.md ("Workers"); the
statistics are checked against the finite-source queue M/M/R//N (``oracles.repairman``)
with confidence intervals over independent replications.
"""

from __future__ import annotations

import numpy as np
import pytest
from oracles.intervals import check_all
from oracles.lines import kernel_trace
from oracles.repairman import repairman

from kernels import types as kt
from twin.errors import ProjectError
from twin.projectfile.reader import project_from_json
from twin.projectfile.writer import project_to_json


def kpi(sr, name, replication=0):
    from twin.sim.summary import replication_kpis

    return replication_kpis(sr, sr.replications[replication])[name]


def st_time(sr, eid, replication=0):
    e = sr.lowered.element_ids.index(eid)
    return dict(zip(kt.STATE_NAMES, sr.replications[replication].st_time[e], strict=True))


def station_rows(sr):
    log = kernel_trace(sr.replications[0].log, sr.lowered.element_ids)
    return [r for r in log if isinstance(r[2], str)]


# --- one operator, two manual stations, walking -------------------------------------------------
def operator_line(**pool) -> dict:
    """src -> a -> b -> sink; a (4 s) and b (3 s) are manual: one operator, 6 m apart at 1 m/s,
    starting at a."""
    return {
        "schema_version": 1, "name": "operator",
        "workers": [{"id": "op", "count": 1, "speed": 1.0, "home": "a", **pool}],
        "elements": [
            {"id": "src", "kind": "source", "position": [-3, 0, 0]},
            {"id": "a", "kind": "station", "position": [0, 0, 0],
             "process_time": {"dist": "constant", "value": 4}, "workers": {"process": "op"}},
            {"id": "b", "kind": "station", "position": [6, 0, 0],
             "process_time": {"dist": "constant", "value": 3}, "workers": {"process": "op"}},
            {"id": "snk", "kind": "sink", "position": [9, 0, 0]},
        ],
        "connections": [["src", "a"], ["a", "b"], ["b", "snk"]],
    }


def test_one_operator_walks_between_two_manual_stations(run_doc):
    # t=0: a takes part 1; the operator is at a (home): no walk, a busy 0-4.
    # t=4: a done, operator free at a. b takes part 1 and asks first (a only takes part 2
    #      once b has emptied it): the operator walks 6 m, b waits 4-10, busy 10-13.
    #      a takes part 2 and waits for the operator from 4.
    # t=13: b done, the operator is free at b; a asked at 4: walk 6 s, a waits until 19,
    #      busy 19-23. b starved 13-23 (part 2 is in a).
    # t=23: as at t=4: b waits 23-29, busy 29-32; a waits 23-38, busy 38-42.
    # One part every 19 s: 7 s of work and two 6-s walks.
    sr = run_doc(operator_line(), 41.0, replications=1, log=True)
    w = "waiting_for_worker"
    assert station_rows(sr) == [
        (0.0, "a", "busy"), (4.0, "a", w), (4.0, "b", w), (10.0, "b", "busy"),
        (13.0, "b", "starved"), (19.0, "a", "busy"), (23.0, "a", w), (23.0, "b", w),
        (29.0, "b", "busy"), (32.0, "b", "starved"), (38.0, "a", "busy"),
    ]
    assert st_time(sr, "a")["busy"] == 11.0 and st_time(sr, "a")[w] == 30.0
    assert st_time(sr, "b")[w] == 12.0 and st_time(sr, "b")["busy"] == 6.0
    assert st_time(sr, "b")["starved"] == 23.0
    assert sr.replications[0].line_out[kt.L_GOOD] == 2  # at 13 and 32
    # the operator: busy 4+3+4+3+3 = 17 s, walking 4 x 6 = 24 s, never idle for any time
    assert kpi(sr, "workers.op.busy_fraction") == pytest.approx(17 / 41)
    assert kpi(sr, "workers.op.walking_fraction") == pytest.approx(24 / 41)
    assert kpi(sr, "workers.op.idle_fraction") == 0.0
    assert kpi(sr, "workers.op.utilization") == 1.0
    # five tasks (a, b, a, b, a); a's 2nd and 3rd waited 4->13 and 23->32 before the walk
    assert kpi(sr, "workers.op.tasks") == 5
    assert kpi(sr, "workers.op.tasks_waited") == 2
    assert kpi(sr, "workers.op.mean_wait_if_waited_s") == 9.0
    assert kpi(sr, "workers.op.mean_wait_s") == 18.0 / 5
    assert kpi(sr, "workers.op.max_wait_s") == 9.0
    assert kpi(sr, "workers.op.mean_walk_s") == pytest.approx(24 / 5)


def test_moving_a_station_changes_the_walk(run_doc):
    # b 12 m from a: a cycle is 7 s of work and two 12-s walks = 31 s; horizon 4 + 31 k
    doc = operator_line()
    doc["elements"][2]["position"] = [12, 0, 0]
    sr = run_doc(doc, 4.0 + 2 * 31.0, replications=1)
    assert sr.replications[0].line_out[kt.L_GOOD] == 2
    assert kpi(sr, "workers.op.walking_fraction") == pytest.approx(4 * 12 / 66)


def test_a_second_operator_removes_the_waiting(run_doc):
    # two operators: each station gets one at once; the one sent to b walks once and stays
    # there, so after t=10 the line runs at a's pace (4 s), b never waits again.
    sr = run_doc(operator_line(count=2), 100.0, replications=1)
    assert st_time(sr, "a")["waiting_for_worker"] == 0.0
    assert st_time(sr, "b")["waiting_for_worker"] == 6.0  # 4-10: the one walk to b
    assert sr.replications[0].line_out[kt.L_GOOD] == 23  # b finishes at 13, 17, ..., 97


def test_setup_and_processing_by_one_operator(run_doc):
    # Two products alternate (a schedule), setup 2 s on a change, process 4 s, one station,
    # one operator who stays from the setup through the processing: a part every 6 s, the
    # station never waits after the first part (the operator is at it, home).
    doc = {
        "schema_version": 1, "name": "setup",
        "workers": [{"id": "op", "count": 1, "home": "a"}],
        "elements": [
            {"id": "src", "kind": "source", "product_mix": {"x": 1, "y": 1},
             "schedule": [[0, "x", 1], [0, "y", 1], [0, "x", 1], [0, "y", 1]]},
            {"id": "a", "kind": "station", "process_time": {"dist": "constant", "value": 4},
             "setup_time": {"dist": "constant", "value": 2},
             "workers": {"setup": "op", "process": "op"}},
            {"id": "snk", "kind": "sink"}],
        "connections": [["src", "a"], ["a", "snk"]]}
    sr = run_doc(doc, 30.0, replications=1, log=True)
    # part 1 (x): no setup (first product), 0-4; parts 2-4 each a setup then processing
    assert st_time(sr, "a")["setup"] == 6.0 and st_time(sr, "a")["busy"] == 16.0
    assert st_time(sr, "a")["waiting_for_worker"] == 0.0
    # the operator stays from a setup into its processing: one task per part
    assert kpi(sr, "workers.op.tasks") == 4
    assert kpi(sr, "workers.op.busy_fraction") == pytest.approx(22 / 30)


# --- the machine-repairman model ------------------------------------------------------------------
def repair_shop(n: int, r: int, mttf: float, mttr: float) -> dict:
    """``n`` machines (servers of one station, failing on calendar time, so independently of
    what they process), ``r`` technicians, exponential times, no walking."""
    return {
        "schema_version": 1, "name": "repairman",
        "workers": [{"id": "tech", "count": r}],
        "elements": [
            {"id": "src", "kind": "source"},
            {"id": "m", "kind": "station", "servers": n,
             "process_time": {"dist": "constant", "value": 10},
             "failures": {"basis": "calendar",
                          "time_to_failure": {"dist": "exponential", "mean": mttf},
                          "time_to_repair": {"dist": "exponential", "mean": mttr}},
             "workers": {"repair": "tech"}},
            {"id": "snk", "kind": "sink"}],
        "connections": [["src", "m"], ["m", "snk"]]}


@pytest.mark.parametrize(("n", "r", "mttf", "mttr"), [(5, 2, 100.0, 40.0), (4, 1, 300.0, 60.0)])
def test_machine_repairman_against_its_finite_source_queue(run_doc, n, r, mttf, mttr):
    exact = repairman(n, r, mttf, mttr)
    sr = run_doc(repair_shop(n, r, mttf, mttr), 200_000.0, warmup=2_000.0, replications=10,
                 seed=7)
    reps = sr.replications
    e = sr.lowered.element_ids.index("m")
    down = [(x.st_time[e, kt.DOWN] + x.st_time[e, kt.WAITING_FOR_WORKER]) / x.st_time[e].sum()
            for x in reps]
    queue = [x.st_time[e, kt.WAITING_FOR_WORKER] / x.st_time[e].sum() * n for x in reps]
    util = [x.worker_kpis(0, r)["utilization"] for x in reps]
    wait = [x.worker_kpis(0, r)["mean_wait_s"] for x in reps]
    check_all({
        "availability": (1.0 - np.array(down), exact.availability),
        "mean number down": (np.array(down) * n, exact.down),
        "mean number waiting": (np.array(queue), exact.queue),
        "technician utilisation": (np.array(util), exact.tech_utilization),
        "mean wait for a technician (s)": (np.array(wait), exact.wait),
    }, level=0.99, max_rel_half=0.1)


def test_the_operator_repairs_its_own_station_without_deadlock(run_doc):
    # one person runs the station and repairs it: a failure during processing is repaired
    # by the operator at hand (no second person exists), then the part resumes.
    doc = repair_shop(1, 1, 50.0, 5.0)
    doc["elements"][1]["workers"] = {"repair": "tech", "process": "tech"}
    sr = run_doc(doc, 5_000.0, replications=1)
    t = st_time(sr, "m")
    assert t["down"] > 0 and t["waiting_for_worker"] == 0.0
    assert sr.replications[0].line_out[kt.L_GOOD] > 300


# --- shifts, energy -------------------------------------------------------------------------------
def test_a_pool_on_the_calendar_starts_no_task_off_shift(run_doc):
    # The operator works 0-100 and 200-300 of every 400 s; the stations run around the
    # clock. The 19-s cycle of the first test runs from t=4: at 99 b asks, the operator walks
    # 99-105 (the shift ends on the way: a task once begun is finished), b busy 105-108; at
    # 108 the operator goes off. a, waiting since 99, gets it at 200: walk 200-206, busy
    # 206-210, and the cycle runs again from 210 (as from 4). At 295 a's request is granted
    # in working time: walk 295-301, busy 301-305, then off: b waits from 305 on.
    # Off: 108-200 and 305-400 = 187 s. b finishes parts at 13 + 19k up to 108 (6) and at
    # 219 + 19k up to 295 (5).
    doc = operator_line(follows_calendar=True)
    doc["calendar"] = {"period": 400, "shifts": [{"start": 0, "end": 100},
                                                 {"start": 200, "end": 300}]}
    for el in doc["elements"][1:3]:
        el["follows_calendar"] = False
    sr = run_doc(doc, 400.0, replications=1)
    assert kpi(sr, "workers.op.off_fraction") == pytest.approx(187 / 400)
    assert sr.replications[0].line_out[kt.L_GOOD] == 11
    assert st_time(sr, "b")["waiting_for_worker"] == pytest.approx(11 * 6 + (400 - 305))


def test_energy_counts_the_new_state_at_its_power(run_doc):
    doc = operator_line()
    doc["elements"][1]["power_kw"] = {"busy": 10.0, "waiting_for_worker": 3.0, "starved": 1.0}
    sr = run_doc(doc, 42.0, replications=1)
    # a: busy 12 s at 10 kW, waiting 30 s at 3 kW
    assert kpi(sr, "elements.a.energy_kwh") == pytest.approx((12 * 10 + 30 * 3) / 3600)
    assert kpi(sr, "elements.a.state_fraction.waiting_for_worker") == pytest.approx(30 / 42)


# --- the project file -----------------------------------------------------------------------------
def test_workers_round_trip_through_the_writer():
    doc = operator_line(skills=["welding"], follows_calendar=True, name="Line crew")
    doc["elements"][2]["workers"] = {"process": {"skill": "welding"}, "priority": 2}
    doc["calendar"] = {"period": 86400, "shifts": [{"start": 0, "end": 28800}]}
    p = project_from_json(doc)
    again = project_from_json(project_to_json(p))
    assert again.workers == p.workers
    assert [getattr(e, "workers", None) for e in again.elements] == [
        getattr(e, "workers", None) for e in p.elements]
    assert project_to_json(again) == project_to_json(p)


@pytest.mark.parametrize(("change", "path", "words"), [
    (lambda d: d["workers"][0].update(count=0), "$.workers[0].count", "must be >= 1"),
    (lambda d: d["workers"][0].update(speed=-1), "$.workers[0].speed", "must be >="),
    (lambda d: d["workers"][0].update(skills="weld"), "$.workers[0].skills", "list of skill"),
    (lambda d: d["workers"][0].update(home="nowhere"), "$.workers[0].home", "not an element"),
    (lambda d: d["workers"][0].update(shoe_size=44), "$.workers[0].shoe_size", "unknown field"),
    (lambda d: d["workers"].append({"id": "op"}), "$.workers[1].id", "duplicate"),
    (lambda d: d.update(workers={"id": "op"}), "$.workers", "must be a list"),
    (lambda d: d["elements"][1].update(workers={"process": "ops"}),
     "$.elements[1].workers.process.pool", "no worker pool"),
    (lambda d: d["elements"][1].update(workers={"process": {"skill": "x"}}),
     "$.elements[1].workers.process.skill", "no worker pool has this skill"),
    (lambda d: d["elements"][1].update(workers={"process": {"pool": "op", "skill": "x"}}),
     "$.elements[1].workers.process.skill", "has not this skill"),
    (lambda d: d["elements"][1].update(workers={"repair": "op"}),
     "$.elements[1].workers.repair", "never fails"),
    (lambda d: d["elements"][1].update(workers={"process": {}}),
     "$.elements[1].workers.process", "names no 'pool'"),
    (lambda d: d["elements"][1].update(workers={"oiling": "op"}),
     "$.elements[1].workers.oiling", "unknown field"),
])
def test_bad_workers_are_named_by_their_json_path(change, path, words):
    doc = operator_line()
    change(doc)
    with pytest.raises(ProjectError) as err:
        project_from_json(doc)
    found = [p for p in err.value.problems if p.path == path]
    assert found and words in found[0].message, err.value


# --- recordings, fork and calibration ---------------------------------------------------------
@pytest.fixture(scope="module")
def repair_recording(tmp_path_factory, kernel):
    """A simulated day of a repair shop (two machines, one technician), written as an
    event-log recording."""
    from twin.sim.runner import RunSpec, run_project
    from twin.whatif.simulated import write_run_as_recording

    doc = repair_shop(2, 1, 600.0, 300.0)
    doc["elements"][1]["servers"] = 1
    doc["elements"][1]["process_time"] = {"dist": "exponential", "mean": 10.0}  # to fit
    doc["elements"].insert(2, {**doc["elements"][1], "id": "m2"})
    doc["connections"] = [["src", "m"], ["src", "m2"], ["m", "snk"], ["m2", "snk"]]
    project = project_from_json(doc)
    sr = run_project(project, spec=RunSpec(horizon=86_400.0, replications=1, seed=3,
                                           log=True)).scenarios["base"]
    path = tmp_path_factory.mktemp("workers") / "shop.h5"
    write_run_as_recording(sr, 0, path, seed=3)
    return project, path, sr


def test_a_recording_keeps_the_waiting_for_worker_state(repair_recording):
    from twin.recording import Recording
    from twin.recording.kpi import recording_kpis

    project, path, sr = repair_recording
    with Recording.open(path) as rec:
        kpis = recording_kpis(rec)
    for eid in ("m", "m2"):
        recorded = [k for k in kpis.values() if k.element == eid]
        assert len(recorded) == 1
        waited = recorded[0].state_time_s["waiting_for_worker"]
        assert waited > 0  # one technician for two machines: someone waits
        assert waited == pytest.approx(st_time(sr, eid)["waiting_for_worker"])
        assert recorded[0].losses_s["waiting_for_worker"] == waited


def test_fork_runs_a_project_with_workers_and_calibration_notes_the_repairs(
        repair_recording):
    """A fork places the workers (tests/twin/test_fork_workers.py); a server recorded
    waiting for a worker at the fork time is started empty, and the fork says so."""
    from twin.recording import Recording, replay_asset
    from twin.whatif.calibration import calibrate
    from twin.whatif.fork import fork_from_recording

    project, path, _ = repair_recording
    with Recording.open(path) as rec:
        fr = fork_from_recording(project, rec, 3600.0, 7200.0, replications=2)
        assert fr.outputs.shape == (2,) and (fr.outputs > 0).all()
        tl = replay_asset(rec, "m").timeline
        rs, re_ = tl.runs(kt.WAITING_FOR_WORKER)
        t = float(rs[0] + re_[0]) / 2
        fr = fork_from_recording(project, rec, t, t + 600.0, replications=2)
        assert any("m (asset m): recorded state waiting_for_worker at t is started as "
                   "empty" in n for n in fr.notes), fr.notes
        report = calibrate(project, rec)
    for sc in report.stations:
        assert any("waiting_for_worker" in n for n in sc.notes)


def test_the_schema_and_the_reader_agree_on_workers():
    import json
    from pathlib import Path

    from jsonschema import Draft202012Validator

    schema = json.loads((Path(__file__).resolve().parents[2] / "twin" / "projectfile"
                         / "project.schema.json").read_text(encoding="utf-8"))
    valid = Draft202012Validator(schema)
    good = operator_line(skills=["welding"], follows_calendar=True)
    good["elements"][2]["workers"] = {"process": {"skill": "welding"}, "priority": 3}
    good["elements"][1]["power_kw"] = {"waiting_for_worker": 1.5}
    assert list(valid.iter_errors(good)) == []
    project_from_json(good)
    for change in (lambda d: d["workers"][0].update(count=0),
                   lambda d: d["workers"][0].update(speed=0),
                   lambda d: d["elements"][1].update(workers={"process": {}}),
                   lambda d: d["elements"][1].update(workers={"lunch": "op"})):
        bad = operator_line()
        change(bad)
        assert list(valid.iter_errors(bad)), bad
        with pytest.raises(ProjectError):
            project_from_json(bad)


def test_a_run_refuses_a_station_whose_pool_was_removed(run_doc):
    # the workbench may remove a pool that a station still names: the run says which
    from twin.sim.lowering import lower

    p = project_from_json(operator_line())
    p.workers = []
    with pytest.raises(ProjectError) as err:
        lower(p, 100.0)
    assert err.value.problems[0].path == "$.elements[1].workers.process"
    assert "no worker pool can do this task" in err.value.problems[0].message
