"""Exact event traces of tiny deterministic lines, read from the kernel's state log.

Every expected sequence below was worked out by hand from the semantics (blocking after
service, a buffer's capacity counts waiting parts, preempt-resume, ...); the comments walk
through the arithmetic. Where the naive oracle covers a model, its trace must agree too.

Traces are compared as ``(time, element, state)`` for stations and ``(time, element,
content)`` for buffers and conveyors, reduced to the value each element holds at the end of
each instant (``oracles.lines.end_of_instant``): several events at one instant may pass an
element through values that last no time, and the order they are taken in is not part of
the semantics. Models without simultaneous events are also compared row by row, unreduced.
At time 0 every station is starved (or off) and every buffer empty; the log records changes.
"""

from __future__ import annotations

import pytest
from oracles import naive
from oracles.lines import (
    canonical,
    end_of_instant,
    kernel_trace,
    operating_failures,
    per_element,
    serial_line,
    station,
)

from kernels import types as kt
from twin.sim.lowering import stream_seeds


def trace_of(sr, replication=0):
    return kernel_trace(sr.replications[replication].log, sr.lowered.element_ids)


def state_rows(trace):
    return [row for row in trace if isinstance(row[2], str)]


def assert_trace(sr, expected, exact=False):
    """The kernel's trace, reduced to end-of-instant values, equals ``expected``; and the
    station rows of the log, unreduced, are exactly the expected ones (states are committed
    once an instant is over, so no station row may last 0 s). ``exact`` also requires the
    times to be bit-for-bit those written (binary fractions)."""
    got = trace_of(sr)
    reduced = end_of_instant(got)
    expected = canonical(expected)
    assert [(e, v) for _, e, v in reduced] == [(e, v) for _, e, v in expected], (
        "sequence of states differs:\n" + "\n".join(map(str, reduced)))
    assert [t for t, _, _ in reduced] == pytest.approx([t for t, _, _ in expected], abs=1e-12)
    raw = canonical(state_rows(got))
    assert [(e, v) for _, e, v in raw] == [(e, v) for _, e, v in state_rows(expected)]
    if exact:
        assert raw == state_rows(expected)


def st_time(sr, eid, replication=0):
    e = sr.lowered.element_ids.index(eid)
    return dict(zip(kt.STATE_NAMES, sr.replications[replication].st_time[e], strict=True))


def el_out(sr, eid, column, replication=0):
    return sr.replications[replication].el_out[sr.lowered.element_ids.index(eid), column]


def naive_agrees(doc, sr, horizon, seed=1):
    """The naive oracle gives the same reduced trace, counts and state times."""
    ref = naive.simulate(doc, horizon, seed=seed)
    assert end_of_instant(trace_of(sr)) == end_of_instant(ref.trace)
    rep = sr.replications[0]
    assert rep.line_out[kt.L_GOOD] == ref.good
    assert rep.line_out[kt.L_LEAD_SUM] == pytest.approx(ref.lead_sum, rel=1e-12)
    for sid, times in ref.state_time.items():
        assert st_time(sr, sid) == pytest.approx(times, abs=1e-9), sid
        assert el_out(sr, sid, kt.O_IN) == ref.parts_in[sid]
        assert el_out(sr, sid, kt.O_OUT) == ref.parts_out[sid]
        assert el_out(sr, sid, kt.O_SCRAP) == ref.scrapped[sid]
        assert el_out(sr, sid, kt.O_FAILURES) == ref.failures[sid]


# --- blocking after service -------------------------------------------------------------------
SLOW_SECOND = serial_line([station("m1", 1), station("m2", 2)], [1])


def test_blocking_with_a_one_place_buffer(run_doc):
    # m1 takes 1 s, m2 2 s, one waiting place between them.
    # t=1: part 1 -> b1 -> m2 at once (b1 back to 0); m2 busy until 3.
    # t=2: part 2 waits in b1.  t=3: m2 takes part 2 (b1 0) and part 3 enters b1 (b1 1).
    # t=4: part 4 done, b1 full, m2 busy: m1 blocked.  t=5: m2 takes part 3, part 4 moves into
    # b1, m1 starts part 5: blocked 4-5, 6-7, 8-9: one part every 2 s.
    sr = run_doc(SLOW_SECOND, 10.0, replications=1, log=True)
    expected = [
        (0.0, "m1", "busy"), (1.0, "m2", "busy"), (2.0, "b1", 1),
        (4.0, "m1", "blocked"), (5.0, "m1", "busy"), (6.0, "m1", "blocked"),
        (7.0, "m1", "busy"), (8.0, "m1", "blocked"), (9.0, "m1", "busy"),
        (10.0, "m1", "blocked"),
    ]
    assert_trace(sr, expected, exact=True)
    assert st_time(sr, "m1")["busy"] == 7.0 and st_time(sr, "m1")["blocked"] == 3.0
    assert st_time(sr, "m2")["starved"] == 1.0 and st_time(sr, "m2")["busy"] == 9.0
    # parts finished by m2 at 3, 5, 7, 9
    assert sr.replications[0].line_out[kt.L_GOOD] == 4
    # lead times (entered m1 -> reached the sink): 0->3, 1->5, 2->7, 3->9
    assert sr.replications[0].line_out[kt.L_LEAD_SUM] == 3 + 4 + 5 + 6
    naive_agrees(SLOW_SECOND, sr, 10.0)


DIRECT = serial_line([station("m1", 2), station("m2", 3)], [0])


def test_stations_connected_straight_have_no_buffer(run_doc):
    # m1 2 s, m2 3 s, no place between them: m1 holds its finished part until m2 is empty.
    # t=2: m2 takes part 1 (busy to 5), m1 starts part 2 (done 4, blocked 4-5).
    # t=5: m2 takes part 2 (busy to 8); m1 part 3 done 7, blocked 7-8; and so on every 3 s.
    sr = run_doc(DIRECT, 12.0, replications=1, log=True)
    expected = [
        (0.0, "m1", "busy"), (2.0, "m2", "busy"), (4.0, "m1", "blocked"), (5.0, "m1", "busy"),
        (7.0, "m1", "blocked"), (8.0, "m1", "busy"), (10.0, "m1", "blocked"),
        (11.0, "m1", "busy"),
    ]
    assert_trace(sr, expected, exact=True)
    assert el_out(sr, "m1", kt.O_CONTENT_MAX) == 1
    assert sr.replications[0].line_out[kt.L_GOOD] == 3  # at 5, 8, 11
    naive_agrees(DIRECT, sr, 12.0)


BALANCED = serial_line([station("m1", 2), station("m2", 2)], [0])


def test_balanced_line_has_no_blocking_or_starvation_after_the_start(run_doc):
    # Both take 2 s: at every even t, m1 finishes as m2 finishes, and m2 takes the part.
    # Whatever order the two simultaneous events are handled in, neither station is ever
    # blocked or starved for any length of time after t=2.
    sr = run_doc(BALANCED, 9.0, replications=1, log=True)
    assert_trace(sr, [(0.0, "m1", "busy"), (2.0, "m2", "busy")])
    assert st_time(sr, "m1") == pytest.approx({**dict.fromkeys(kt.STATE_NAMES, 0.0),
                                               "busy": 9.0})
    assert st_time(sr, "m2")["starved"] == 2.0 and st_time(sr, "m2")["busy"] == 7.0
    naive_agrees(BALANCED, sr, 9.0)


def test_the_log_holds_no_zero_length_states(run_doc):
    sr = run_doc(BALANCED, 9.0, replications=1, log=True)
    rows = state_rows(trace_of(sr))
    by_station = per_element(rows)
    for sid, changes in by_station.items():
        times = [t for t, _ in changes]
        assert len(times) == len(set(times)), f"{sid} changes state twice at one instant: " \
                                              f"{changes}"


# --- setups --------------------------------------------------------------------------------
def test_setup_on_product_change(run_doc):
    # A schedule brings A, A at 0, B at 0.5, A at 1 into the source queue (FIFO).
    # m1: A 0-1, A 1-2, change to B: setup 2-2.5, B 2.5-3.5, change to A: setup 3.5-4,
    # A 4-5, then nothing left: starved. The first part needs no setup (nothing before it).
    doc = {"schema_version": 1, "name": "setups", "elements": [
        {"id": "src", "kind": "source", "schedule": [[0, "A", 2], [0.5, "B", 1], [1, "A", 1]]},
        {"id": "m1", "kind": "station", "process_time": 1, "setup_time": 0.5},
        {"id": "sink", "kind": "sink"}], "connections": [["src", "m1"], ["m1", "sink"]]}
    sr = run_doc(doc, 8.0, replications=1, log=True)
    states = [r for r in end_of_instant(trace_of(sr)) if r[1] == "m1"]
    assert states == [(0.0, "m1", "busy"), (2.0, "m1", "setup"), (2.5, "m1", "busy"),
                      (3.5, "m1", "setup"), (4.0, "m1", "busy"), (5.0, "m1", "starved")]
    assert st_time(sr, "m1")["setup"] == 1.0 and st_time(sr, "m1")["busy"] == 4.0
    assert el_out(sr, "m1", kt.O_SETUPS) == 2
    assert sr.replications[0].line_out[kt.L_GOOD] == 4


def per_product_doc(process_time):
    return {"schema_version": 1, "name": "setups", "elements": [
        {"id": "src", "kind": "source", "schedule": [[0, "A", 1], [0, "B", 1], [0, "A", 1]]},
        {"id": "m1", "kind": "station", "process_time": process_time, "setup_time": {"B": 2}},
        {"id": "sink", "kind": "sink"}], "connections": [["src", "m1"], ["m1", "sink"]]}


def test_per_product_setup_and_process_times(run_doc):
    # A takes 1 s, B 3 s; changing to B takes 2 s, changing to A none (no entry for A).
    # A 0-1, setup 1-3, B 3-6, A 6-7 (no setup): starved from 7. (The "*" entry is never
    # used: see the next test.)
    sr = run_doc(per_product_doc({"A": 1, "B": 3, "*": 99}), 10.0, replications=1, log=True)
    states = [r for r in end_of_instant(trace_of(sr)) if r[1] == "m1"]
    assert states == [(0.0, "m1", "busy"), (1.0, "m1", "setup"), (3.0, "m1", "busy"),
                      (7.0, "m1", "starved")]
    assert el_out(sr, "m1", kt.O_SETUPS) == 1


def test_schedule_products_only_need_process_times(run_doc):
    sr = run_doc(per_product_doc({"A": 1, "B": 3}), 10.0, replications=1)
    assert sr.replications[0].line_out[kt.L_GOOD] == 3


# --- scrap ---------------------------------------------------------------------------------
def test_scrap_everything(run_doc):
    # m2 scraps every part: nothing reaches the sink, m2 is never blocked, m1 is blocked
    # while m2 works: m1 busy 0-1, m2 1-3, m1 busy 1-2 blocked 2-3, m2 3-5, ...
    doc = serial_line([station("m1", 1), station("m2", 2, scrap=1.0)], [0])
    sr = run_doc(doc, 6.0, replications=1, log=True)
    assert_trace(sr, [(0.0, "m1", "busy"), (1.0, "m2", "busy"), (2.0, "m1", "blocked"),
                      (3.0, "m1", "busy"), (4.0, "m1", "blocked"), (5.0, "m1", "busy"),
                      (6.0, "m1", "blocked")], exact=True)
    rep = sr.replications[0]
    assert rep.line_out[kt.L_GOOD] == 0 and rep.line_out[kt.L_SCRAPPED] == 2
    assert el_out(sr, "m2", kt.O_SCRAP) == 2 and el_out(sr, "m2", kt.O_OUT) == 0
    naive_agrees(doc, sr, 6.0)


def test_scrap_decisions_follow_the_station_scrap_stream(run_doc):
    # m1 (1 s, scrap 0.5) feeds an unlimited buffer in front of a very slow m2, so every good
    # part shows as a step of the buffer. Part k is scrapped when the k-th uniform of m1's
    # scrap stream is < 0.5; the first good part goes straight into m2.
    doc = serial_line([station("m1", 1, scrap=0.5), station("m2", 1000)], [None])
    sr = run_doc(doc, 30.0, replications=1, log=True, seed=3)
    ids = sr.lowered.element_ids
    stream = naive.Xoshiro256(
        stream_seeds(ids, 3, 0)[ids.index("m1") * kt.N_STREAMS + kt.RS_SCRAP])
    good_times = [float(k) for k in range(1, 31) if stream.uniform() >= 0.5]
    assert 5 < len(good_times) < 25  # the seed gives a mixed sequence
    expected = [(good_times[0], "m2", "busy")]
    expected += [(t, "b1", n) for n, t in enumerate(good_times[1:], start=1)]
    got = [r for r in end_of_instant(trace_of(sr)) if r[1] != "m1"]
    assert got == expected
    assert el_out(sr, "m1", kt.O_SCRAP) == 30 - len(good_times)
    naive_agrees(doc, sr, 30.0, seed=3)


# --- failures and maintenance -------------------------------------------------------------------
def test_operations_basis_failure(run_doc):
    # Fails after every 3rd operation (when that part has left), repair 2 s, 1 s parts:
    # busy 0-3, down 3-5, busy 5-8, down 8-10, busy 10-12.
    fail = {"basis": "operations", "time_to_failure": 3, "time_to_repair": 2}
    sr = run_doc(serial_line([station("m1", 1, failures=fail)], []), 12.0, replications=1,
                 log=True)
    assert_trace(sr, [(0.0, "m1", "busy"), (3.0, "m1", "down"), (5.0, "m1", "busy"),
                      (8.0, "m1", "down"), (10.0, "m1", "busy")], exact=True)
    assert el_out(sr, "m1", kt.O_FAILURES) == 2
    assert st_time(sr, "m1")["down"] == 4.0 and st_time(sr, "m1")["busy"] == 8.0
    assert sr.replications[0].line_out[kt.L_GOOD] == 8  # at 1, 2, 3, 6, 7, 8, 11, 12


def test_operating_basis_failure_preempts_and_resumes(run_doc):
    # 1 s parts, a failure after 2.25 s of processing, repair 1 s. An unlimited buffer before
    # a very slow m2 shows when each part is finished.
    # Parts done at 1 (to m2), 2; fail at 2.25 with 0.75 s left, down to 3.25, part 3 done at
    # 4.0; the next 2.25 s of processing end at 5.5 (0.75 + 1 + 0.5): part 4 done at 5, part 5
    # interrupted at 5.5, down to 6.5, done at 7; next failure 0.5 + 1 + 0.75 later: 8.75.
    doc = serial_line([station("m1", 1, failures=operating_failures(2.25, 1)),
                       station("m2", 100)], [None])
    sr = run_doc(doc, 9.0, replications=1, log=True)
    assert_trace(sr, [
        (0.0, "m1", "busy"), (1.0, "m2", "busy"), (2.0, "b1", 1), (2.25, "m1", "down"),
        (3.25, "m1", "busy"), (4.0, "b1", 2), (5.0, "b1", 3), (5.5, "m1", "down"),
        (6.5, "m1", "busy"), (7.0, "b1", 4), (8.0, "b1", 5), (8.75, "m1", "down")], exact=True)
    assert el_out(sr, "m1", kt.O_FAILURES) == 3
    assert st_time(sr, "m1")["down"] == 0.25 + 1 + 1 and st_time(sr, "m1")["busy"] == 6.75
    naive_agrees(doc, sr, 9.0)


def test_maintenance_every_n_operations(run_doc):
    # Maintenance of 1.5 s after every 2 operations of 1 s: busy 0-2, maintenance 2-3.5,
    # busy 3.5-5.5, maintenance 5.5-7, busy 7-9, maintenance 9-10.5.
    doc = serial_line([station("m1", 1, maintenance={"duration": 1.5, "every_operations": 2})],
                      [])
    sr = run_doc(doc, 10.0, replications=1, log=True)
    assert_trace(sr, [(0.0, "m1", "busy"), (2.0, "m1", "maintenance"), (3.5, "m1", "busy"),
                      (5.5, "m1", "maintenance"), (7.0, "m1", "busy"),
                      (9.0, "m1", "maintenance")], exact=True)
    assert el_out(sr, "m1", kt.O_PM) == 3
    assert st_time(sr, "m1")["maintenance"] == 1.5 + 1.5 + 1.0
    assert sr.replications[0].line_out[kt.L_GOOD] == 6


# --- the shift calendar -------------------------------------------------------------------------
def calendar_line(off_shift="off"):
    # 3 s parts, a break from 10 to 12 s in a 50 s day; a very slow m2 behind an unlimited
    # buffer shows when m1 finishes each part, and ignores the calendar.
    st1 = station("m1", 3, **({"off_shift": off_shift} if off_shift != "off" else {}))
    st2 = station("m2", 1000, follows_calendar=False)
    return serial_line([st1, st2], [None], calendar={
        "period": 50, "shifts": [{"start": 0, "end": 50}],
        "breaks": [{"start": 10, "end": 12}]})


@pytest.mark.parametrize("off_shift, off_state", [("off", "off"), ("standby", "idle")])
def test_break_stops_the_station_and_resumes_the_part(run_doc, off_shift, off_state):
    # Parts done at 3 (to m2), 6, 9; part 4 starts at 9, is stopped at 10 with 2 s left,
    # resumes at 12 and is done at 14; then 17 and 20.
    sr = run_doc(calendar_line(off_shift), 20.0, replications=1, log=True)
    assert_trace(sr, [
        (0.0, "m1", "busy"), (3.0, "m2", "busy"), (6.0, "b1", 1), (9.0, "b1", 2),
        (10.0, "m1", off_state), (12.0, "m1", "busy"), (14.0, "b1", 3), (17.0, "b1", 4),
        (20.0, "b1", 5)], exact=True)
    assert st_time(sr, "m1")[off_state] == 2.0 and st_time(sr, "m1")["busy"] == 18.0


SHORT_SHIFT = serial_line([station("m1", 2)], [], calendar={
    "period": 100, "shifts": [{"start": 5, "end": 9}]})


def test_shift_starting_later_keeps_the_station_off(run_doc):
    # off 0-5 (the state at time 0, not logged), parts 5-7 and 7-9, off from 9 on
    sr = run_doc(SHORT_SHIFT, 20.0, replications=1, log=True)
    assert_trace(sr, [(5.0, "m1", "busy"), (9.0, "m1", "off")], exact=True)
    assert st_time(sr, "m1")["off"] == 16.0 and st_time(sr, "m1")["busy"] == 4.0


def test_part_finishing_at_the_end_of_the_shift_is_finished(run_doc):
    # 4 s of work per 100 s day at 2 s per part: parts done at 7 and 9, then 107 and 109
    sr = run_doc(SHORT_SHIFT, 20.0, replications=1)
    assert sr.replications[0].line_out[kt.L_GOOD] == 2
    sr = run_doc(SHORT_SHIFT, 110.0, replications=1)
    assert sr.replications[0].line_out[kt.L_GOOD] == 4
    assert sr.replications[0].line_out[kt.L_LEAD_SUM] == 4 * 2.0


# --- conveyors --------------------------------------------------------------------------------
def conveyor_line(m1, m2, **top):
    # 2 m at 0.5 m/s: 4 s of travel; parts at least 0.5 m apart: 1 s between entries (and
    # between exits), at most 4 parts on the belt
    return {"schema_version": 1, "name": "conveyor", "elements": [
        {"id": "src", "kind": "source"},
        {"id": "m1", "kind": "station", "process_time": m1, "follows_calendar": False},
        {"id": "c", "kind": "conveyor", "length": 2, "speed": 0.5, "spacing": 0.5},
        {"id": "m2", "kind": "station", "process_time": m2},
        {"id": "sink", "kind": "sink"}],
        "connections": [["src", "m1"], ["m1", "c"], ["c", "m2"], ["m2", "sink"]], **top}


def test_conveyor_travel_time_and_entry_spacing(run_doc):
    # m1 makes a part every 0.5 s but may put one on the belt only 1 s after the last:
    # busy 0-0.5, enters 0.5; done 1.0, blocked to 1.5, and so on; each part reaches m2
    # 4 s after entering (4.5, 5.5, 6.5) and m2 (0.25 s) waits for the next one.
    sr = run_doc(conveyor_line(0.5, 0.25), 7.0, replications=1, log=True)
    assert_trace(sr, [
        (0.0, "m1", "busy"), (0.5, "c", 1), (1.0, "m1", "blocked"), (1.5, "c", 2),
        (1.5, "m1", "busy"), (2.0, "m1", "blocked"), (2.5, "c", 3), (2.5, "m1", "busy"),
        (3.0, "m1", "blocked"), (3.5, "c", 4), (3.5, "m1", "busy"), (4.0, "m1", "blocked"),
        (4.5, "m2", "busy"), (4.5, "m1", "busy"), (4.75, "m2", "starved"),
        (5.0, "m1", "blocked"), (5.5, "m2", "busy"), (5.5, "m1", "busy"),
        (5.75, "m2", "starved"), (6.0, "m1", "blocked"), (6.5, "m2", "busy"),
        (6.5, "m1", "busy"), (6.75, "m2", "starved"), (7.0, "m1", "blocked")])
    assert el_out(sr, "c", kt.O_CONTENT_MAX) == 4


def test_conveyor_accumulates_and_releases_at_minimum_spacing(run_doc):
    # m2 is on a break from 2 to 10 s. Parts enter the belt at 1, 2, 3, 4; the belt is full
    # (4 parts) so m1's part 5, done at 5, blocks m1 until m2 takes part 1 at 10. The
    # accumulated parts then leave 1 s apart (10, 11, 12, 13, 14) and m2 (0.25 s) waits
    # between them; part 5 enters at 10 and would reach the end at 14 anyway.
    doc = conveyor_line(1, 0.25, calendar={"period": 100, "shifts": [{"start": 0, "end": 100}],
                                           "breaks": [{"start": 2, "end": 10}]})
    sr = run_doc(doc, 14.0, replications=1, log=True)
    assert_trace(sr, [
        (0.0, "m1", "busy"), (1.0, "c", 1), (2.0, "m2", "off"), (2.0, "c", 2), (3.0, "c", 3),
        (4.0, "c", 4), (5.0, "m1", "blocked"), (10.0, "m2", "busy"), (10.0, "m1", "busy"),
        (10.25, "m2", "starved"), (11.0, "m2", "busy"), (11.25, "m2", "starved"),
        (12.0, "m2", "busy"), (12.25, "m2", "starved"), (13.0, "m2", "busy"),
        (13.25, "m2", "starved"), (14.0, "m2", "busy")])
    assert sr.replications[0].line_out[kt.L_GOOD] == 4


def test_conveyor_length_follows_the_layout(run_doc):
    # no length: the floor distance between m1 (0, 0) and m2 (3, 4) is 5 m; at 1 m/s, 5 s
    doc = conveyor_line(1, 0.25)
    del doc["elements"][2]["length"]
    doc["elements"][2]["speed"] = 1.0
    doc["elements"][1]["position"] = [0, 0, 0]
    doc["elements"][3]["position"] = [3, 4, 0]
    sr = run_doc(doc, 6.5, replications=1, log=True)
    m2 = [r for r in end_of_instant(trace_of(sr)) if r[1] == "m2"]
    assert m2[:2] == [(6.0, "m2", "busy"), (6.25, "m2", "starved")]


# --- splits and merges ------------------------------------------------------------------------
def test_round_robin_split(run_doc):
    # m0 (1 s) deals parts to a, b, c (5 s each) in turn, waiting for the one whose turn it
    # is: parts 1-3 go at 1, 2, 3; part 4 is for a, busy until 6: m0 blocked 4-6; part 5 is
    # for b, free at 7 as part 5 is done; part 6 for c at 8; part 7 for a (busy to 11) at 9:
    # blocked 9-11.
    doc = {"schema_version": 1, "name": "rr", "elements": [
        {"id": "src", "kind": "source"},
        {"id": "m0", "kind": "station", "process_time": 1, "routing": "round_robin"},
        {"id": "a", "kind": "station", "process_time": 5},
        {"id": "b", "kind": "station", "process_time": 5},
        {"id": "c", "kind": "station", "process_time": 5},
        {"id": "sink", "kind": "sink"}],
        "connections": [["src", "m0"], ["m0", "a"], ["m0", "b"], ["m0", "c"], ["a", "sink"],
                        ["b", "sink"], ["c", "sink"]]}
    sr = run_doc(doc, 12.0, replications=1, log=True)
    assert_trace(sr, [(0.0, "m0", "busy"), (1.0, "a", "busy"), (2.0, "b", "busy"),
                      (3.0, "c", "busy"), (4.0, "m0", "blocked"), (6.0, "m0", "busy"),
                      (9.0, "m0", "blocked"), (11.0, "m0", "busy")])
    assert [el_out(sr, s, kt.O_IN) for s in "abc"] == [3, 3, 2]


def test_merge_takes_the_part_that_waited_longest(run_doc):
    # a (2 s) and b (3 s) feed one place in front of c (10 s). c takes a's first part at 2;
    # b's part fills the place at 3; a blocks from 4, b from 6. When c takes the waiting part
    # at 12, the place goes to a (waiting since 4, not b since 6); at 22 to b (since 6, not
    # a since 14); at 32 to a (since 14, not b since 25).
    doc = {"schema_version": 1, "name": "merge", "elements": [
        {"id": "sa", "kind": "source"}, {"id": "sb", "kind": "source"},
        {"id": "a", "kind": "station", "process_time": 2},
        {"id": "b", "kind": "station", "process_time": 3},
        {"id": "q", "kind": "buffer", "capacity": 1},
        {"id": "c", "kind": "station", "process_time": 10}, {"id": "sink", "kind": "sink"}],
        "connections": [["sa", "a"], ["sb", "b"], ["a", "q"], ["b", "q"], ["q", "c"],
                        ["c", "sink"]]}
    sr = run_doc(doc, 33.0, replications=1, log=True)
    assert_trace(sr, [
        (0.0, "a", "busy"), (0.0, "b", "busy"), (2.0, "c", "busy"), (3.0, "q", 1),
        (4.0, "a", "blocked"), (6.0, "b", "blocked"), (12.0, "a", "busy"),
        (14.0, "a", "blocked"), (22.0, "b", "busy"), (25.0, "b", "blocked"),
        (32.0, "a", "busy")])


def two_sources_doc(first="sa"):
    # two unlimited sources, products A (1 s) and B (2 s), a setup of 0.5 s on each change
    conns = [["sa", "m"], ["sb", "m"]]
    if first == "sb":
        conns.reverse()
    return {"schema_version": 1, "name": "alternate", "elements": [
        {"id": "sa", "kind": "source", "product_mix": {"A": 1}},
        {"id": "sb", "kind": "source", "product_mix": {"B": 1}},
        {"id": "m", "kind": "station", "process_time": {"A": 1, "B": 2}, "setup_time": 0.5},
        {"id": "sink", "kind": "sink"}], "connections": conns + [["m", "sink"]]}


@pytest.mark.parametrize("first", ["sa", "sb"])
def test_merge_ties_go_to_the_first_connection(run_doc, first):
    # at t=0 both unlimited sources have waited equally long: the one connected first wins
    sr = run_doc(two_sources_doc(first), 0.5, replications=1)
    assert {s: el_out(sr, s, kt.O_OUT) for s in ("sa", "sb")} == {
        "sa": 1.0 * (first == "sa"), "sb": 1.0 * (first == "sb")}


@pytest.mark.parametrize("first", ["sa", "sb"])
def test_two_unlimited_sources_alternate(run_doc, first):
    # the source that handed a part on longest ago goes next, so the products alternate and
    # every part after the first needs a setup
    sr = run_doc(two_sources_doc(first), 7.0, replications=1, log=True)
    a, b = (1.0, 2.0) if first == "sa" else (2.0, 1.0)
    t1 = a
    t2 = t1 + 0.5 + b
    t3 = t2 + 0.5 + a
    assert_trace(sr, [(0.0, "m", "busy"), (t1, "m", "setup"), (t1 + 0.5, "m", "busy"),
                      (t2, "m", "setup"), (t2 + 0.5, "m", "busy"), (t3, "m", "setup"),
                      (t3 + 0.5, "m", "busy")], exact=True)
    assert el_out(sr, "m", kt.O_SETUPS) == 3


def test_shortest_queue_ties_go_to_the_last_successor(run_doc):
    # documented in docs/semantics.md: with equally full successors the last one listed
    # wins. m0 (1 s) -> qa -> a (2 s) or qb -> b (3 s): part 1 (t=1) goes to qb, straight
    # into b; part 2 (t=2): qa and qb both empty, so qb again, where it waits for b; part 3
    # (t=3): qa is emptier, into a.
    doc = {"schema_version": 1, "name": "jsq", "elements": [
        {"id": "src", "kind": "source"},
        {"id": "m0", "kind": "station", "process_time": 1, "routing": "shortest_queue"},
        {"id": "qa", "kind": "buffer", "capacity": None},
        {"id": "qb", "kind": "buffer", "capacity": None},
        {"id": "a", "kind": "station", "process_time": 2},
        {"id": "b", "kind": "station", "process_time": 3}, {"id": "sink", "kind": "sink"}],
        "connections": [["src", "m0"], ["m0", "qa"], ["m0", "qb"], ["qa", "a"], ["qb", "b"],
                        ["a", "sink"], ["b", "sink"]]}
    sr = run_doc(doc, 3.5, replications=1, log=True)
    assert_trace(sr, [(0.0, "m0", "busy"), (1.0, "b", "busy"), (2.0, "qb", 1),
                      (3.0, "a", "busy")])


def test_a_blocked_station_that_fails_keeps_its_part_for_the_successor(run_doc):
    # m1 (1 s) fails 3 s of elapsed time after each repair (calendar basis), repair 20 s;
    # m2 (10 s) follows it directly.
    # m1: part 1 to m2 at 1; part 2 done at 2, blocked; fails at 3 while blocked; m2 takes
    # the part at 11 although m1 is down; m2 done at 21, starved (m1 down until 23);
    # m1 repaired at 23: part 3 23-24 to m2; part 4 done 25, blocked; fails at 26.
    fail = {"basis": "calendar", "time_to_failure": 3, "time_to_repair": 20}
    doc = serial_line([station("m1", 1, failures=fail), station("m2", 10)], [0])
    sr = run_doc(doc, 40.0, replications=1, log=True)
    assert_trace(sr, [
        (0.0, "m1", "busy"), (1.0, "m2", "busy"), (2.0, "m1", "blocked"), (3.0, "m1", "down"),
        (21.0, "m2", "starved"), (23.0, "m1", "busy"), (24.0, "m2", "busy"),
        (25.0, "m1", "blocked"), (26.0, "m1", "down")], exact=True)
    assert sr.replications[0].line_out[kt.L_GOOD] == 3  # at 11, 21, 34
    assert el_out(sr, "m1", kt.O_FAILURES) == 2


def test_maintenance_due_by_hours_waits_for_the_part_in_work(run_doc):
    # due every 2 s of elapsed time (a fixed grid), 0.5 s long, 0.7 s parts:
    # due at 2 during the part of 1.4-2.1: starts at 2.1; due at 4 exactly as a part ends:
    # starts at 4; due at 6 during 5.9-6.6: starts at 6.6
    doc = serial_line([station("m1", 0.7, maintenance={"duration": 0.5,
                                                       "every_hours": 2 / 3600})], [])
    sr = run_doc(doc, 7.0, replications=1, log=True)
    assert_trace(sr, [(0.0, "m1", "busy"), (2.1, "m1", "maintenance"), (2.6, "m1", "busy"),
                      (4.0, "m1", "maintenance"), (4.5, "m1", "busy"),
                      (6.6, "m1", "maintenance")])
    assert el_out(sr, "m1", kt.O_PM) == 3
