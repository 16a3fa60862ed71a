"""Zero and tiny times: every model terminates, with a correct result or a clear error
(issue 12; docs/semantics.md, "Zero and tiny times").

A zero process time is legal: a part passes such a station in no time, and a model with one
finishes like any other. What must never happen is an unbounded cascade at one instant (an
unlimited source feeding a zero-time line), or a clock that creeps forward by nanoseconds;
the kernel counts its work against simulated time and stops with ``K_STALLED``, which
``twin`` turns into a ``RunawayError`` naming the element, the time and the fix.

The degenerate values are written into the lowered arrays where the project reader might
refuse them (``twin.limits`` does, before a run): whatever reaches the kernel, it must end.
"""

from __future__ import annotations

import threading

import pytest
from oracles import naive
from oracles.lines import end_of_instant, exp, kernel_trace, serial_line, station

from kernels import types as kt
from twin.errors import InputError, ProjectError
from twin.model.elements import Calendar, Period
from twin.projectfile.reader import project_from_json
from twin.sim.lowering import RunawayError, lower
from twin.sim.runner import run_replication
from twin.tasks import Cancelled, TaskState


def line(*elements, connections=None, **top) -> dict:
    """A project document of ``elements`` joined in series (or by ``connections``)."""
    ids = [e["id"] for e in elements]
    conns = connections or [[a, b] for a, b in zip(ids, ids[1:], strict=False)]
    return {"schema_version": 1, "name": "degenerate", "elements": list(elements),
            "connections": conns, **top}


SRC = {"id": "src", "kind": "source", "name": "Raw material"}
SINK = {"id": "sink", "kind": "sink"}


def lowered(doc, horizon, f=(), i=(), log=False):
    """``doc`` lowered for ``horizon`` s, then ``el_f[e, col] = v`` for ``(id, col, v)`` in
    ``f`` (and ``el_i`` for ``i``): values the reader may refuse reach the kernel as they are."""
    low = lower(project_from_json(doc), horizon, log=log)
    for eid, col, v in f:
        low.arrays.el_f[low.element_ids.index(eid), col] = v
    for eid, col, v in i:
        low.arrays.el_i[low.element_ids.index(eid), col] = v
    return low


def dist(low, eid, col, value):
    """Set the constant distribution ``el_i[eid, col]`` points at to ``value``."""
    d = low.arrays.el_i[low.element_ids.index(eid), col]
    assert low.arrays.dist_kind[d] == kt.D_CONSTANT
    low.arrays.dist_par[d, 0] = value


def runaway(low) -> RunawayError:
    with pytest.raises(RunawayError) as info:
        run_replication(low, seed=1, replication=0)
    err = info.value
    assert isinstance(err, InputError) and isinstance(err, ProjectError)
    return err


@pytest.mark.timeout(300)
def test_an_unlimited_source_into_a_zero_time_station_is_an_error(kernel):
    doc = line(SRC, {"id": "m", "kind": "station", "name": "Filler", "process_time": 0},
               SINK)
    err = runaway(lowered(doc, 3600.0))
    assert err.element == "m" and err.time == 0.0
    text = str(err)
    assert "$.elements[1].process_time" in text
    assert "station 'm' (Filler) keeps finishing parts with no time passing" in text
    assert "at t = 0 s" in text and "give it a process time > 0" in text


@pytest.mark.timeout(300)
def test_a_zero_time_station_behind_a_timed_one_agrees_with_the_oracle(run_doc):
    """Parts pass the zero-time station m2 in no time; the model finishes, event for event
    as the naive oracle has it."""
    doc = serial_line([station("m1", exp(1.0)), station("m2", 0.0), station("m3", exp(0.9))],
                      [0, 2])
    sr = run_doc(doc, 2000.0, replications=1, seed=4, log=True)
    rep = sr.replications[0]
    ref = naive.simulate(doc, 2000.0, seed=4)
    got = end_of_instant(kernel_trace(rep.log, sr.lowered.element_ids))
    want = end_of_instant(ref.trace)
    assert len(want) > 2000
    assert [(e, v) for _, e, v in got] == [(e, v) for _, e, v in want]
    assert [t for t, _, _ in got] == pytest.approx([t for t, _, _ in want], rel=1e-12)
    assert rep.line_out[kt.L_GOOD] == ref.good
    m2 = sr.lowered.element_ids.index("m2")
    assert rep.st_time[m2, kt.BUSY] == 0.0


@pytest.mark.timeout(300)
def test_arrivals_pass_a_zero_time_station_in_no_time(run_doc):
    doc = line({**SRC, "arrival": exp(2.0)}, {"id": "m", "kind": "station", "process_time": 0},
               SINK)
    rep = run_doc(doc, 5000.0, replications=1).replications[0]
    assert rep.line_out[kt.L_GOOD] == rep.el_out[0, kt.O_IN] > 2000
    assert rep.line_out[kt.L_LEAD_SUM] == 0.0


@pytest.mark.timeout(300)
@pytest.mark.parametrize("gap", [0.0, 1e-9])
def test_arrivals_every_zero_or_a_nanosecond_are_an_error(kernel, gap):
    doc = line({**SRC, "arrival": 1.0}, {"id": "m", "kind": "station", "process_time": 2.0},
               SINK)
    low = lowered(doc, 8 * 3600.0)
    dist(low, "src", kt.I_ARRIVAL_DIST, gap)
    err = runaway(low)
    assert err.element == "src" and err.time < 0.01
    assert "$.elements[0].arrival" in str(err)
    assert "source 'src' (Raw material) keeps receiving parts" in str(err)
    assert "give it an arrival time (or a schedule_period) > 0" in str(err)


@pytest.mark.timeout(300)
def test_maintenance_every_1e_12_hours_is_an_error(kernel):
    doc = line(SRC, {"id": "m", "kind": "station", "process_time": exp(1.0),
                     "maintenance": {"duration": 60, "every_hours": 1.0}}, SINK)
    err = runaway(lowered(doc, 8 * 3600.0, f=[("m", kt.F_PM_HOURS, 1e-12)]))
    assert err.element == "m" and err.time < 0.01
    assert "$.elements[1].maintenance" in str(err)
    assert "keeps falling due for maintenance" in str(err)


@pytest.mark.timeout(300)
def test_failures_and_repairs_of_a_nanosecond_are_an_error(kernel):
    doc = line(SRC, {"id": "m", "kind": "station", "process_time": 2.0, "failures": {
        "basis": "calendar", "time_to_failure": 1.0, "time_to_repair": 1.0}}, SINK)
    low = lowered(doc, 8 * 3600.0)
    dist(low, "m", kt.I_TTF_DIST, 1e-9)  # one distribution serves both (the same constant)
    err = runaway(low)
    assert err.element == "m" and "$.elements[1].failures" in str(err)
    assert "keeps failing and being repaired" in str(err)


@pytest.mark.timeout(300)
def test_a_failure_every_nanosecond_of_work_with_real_repairs_finishes(kernel):
    """Operating-time failures 1e-9 s apart, repairs of 5 s: the station never finishes a
    part, and fails once per repair (at 1e-9, 5 + 2e-9, ...), 20 times in 100 s."""
    doc = line(SRC, {"id": "m", "kind": "station", "process_time": 2.0, "failures": {
        "basis": "operating", "time_to_failure": 1.0, "time_to_repair": 5.0}}, SINK)
    low = lowered(doc, 100.0)
    dist(low, "m", kt.I_TTF_DIST, 1e-9)
    rep = run_replication(low, seed=1, replication=0)
    assert rep.line_out[kt.L_GOOD] == 0
    assert rep.el_out[1, kt.O_FAILURES] == 20


@pytest.mark.timeout(300)
def test_an_unlimited_source_straight_into_a_sink_is_an_error(kernel):
    err = runaway(lowered(line(SRC, SINK), 10.0))
    assert err.element == "src" and err.time == 0.0
    assert "source 'src' (Raw material) keeps handing parts to sink 'sink'" in str(err)
    assert "put a station with a process time > 0 between them" in str(err)


@pytest.mark.timeout(300)
def test_an_unlimited_source_into_an_unlimited_buffer_is_an_error(kernel):
    doc = line(SRC, {"id": "q", "kind": "buffer", "capacity": None},
               {"id": "m", "kind": "station", "process_time": 1.0}, SINK)
    err = runaway(lowered(doc, 10.0))
    assert err.element == "src" and "keeps handing parts to buffer 'q'" in str(err)


@pytest.mark.timeout(300)
def test_a_calendar_of_a_microsecond_is_refused_before_it_fills_the_memory():
    doc = line(SRC, {"id": "m", "kind": "station", "process_time": 1.0}, SINK,
               calendar={"period": 3600, "shifts": [{"start": 0, "end": 1800}]})
    project = project_from_json(doc)
    project.calendar = Calendar((Period(0.0, 5e-7),), (), 1e-6)
    with pytest.raises(ProjectError, match=r"\$\.calendar\.period: makes more than"):
        lower(project, 8 * 3600.0)


@pytest.mark.timeout(300)
def test_a_sample_interval_of_a_nanosecond_is_refused():
    doc = line(SRC, {"id": "m", "kind": "station", "process_time": 1.0}, SINK)
    with pytest.raises(ProjectError, match="sample_interval: makes 28,800,000,000,001 samples"):
        lower(project_from_json(doc), 8 * 3600.0, sample_interval=1e-9)


@pytest.mark.timeout(300)
def test_cancel_stops_a_run_inside_a_chunk_of_endless_work(kernel):
    """Arrivals every 2 us (below the stall limit) for 1e9 s: the first chunk alone would
    take days. The kernel pauses every few million events, and the runner honours a
    cancel there."""
    doc = line({**SRC, "arrival": 1.0, "when_blocked": "lose"},
               {"id": "m", "kind": "station", "process_time": exp(1.0)}, SINK)
    low = lowered(doc, 1e9)
    dist(low, "src", kt.I_ARRIVAL_DIST, 2e-6)
    task = TaskState()
    timer = threading.Timer(0.5, task.request_interruption)
    timer.start()
    try:
        with pytest.raises(Cancelled):
            run_replication(low, seed=1, replication=0, task=task)
    finally:
        timer.cancel()


@pytest.mark.timeout(300)
def test_the_guard_does_not_stop_a_legal_burst(run_doc):
    """A schedule row of 20,000 parts at one instant passing two zero-time stations is
    legal (the stall limit grows with the largest batch): all reach the sink at t = 0."""
    doc = line({**SRC, "schedule": [[0, "A", 20000]]},
               {"id": "m1", "kind": "station", "process_time": 0},
               {"id": "m2", "kind": "station", "process_time": 0}, SINK)
    rep = run_doc(doc, 10.0, replications=1).replications[0]
    assert rep.line_out[kt.L_GOOD] == 20000 and rep.line_out[kt.L_LEAD_SUM] == 0.0
