"""Batch stations (issue 18 §2): exact traces on tiny deterministic lines, the mean wait for
a load against closed forms, file errors, round trip, fork and calibration refusals.

A batch station collects parts in its place, processes a whole load in one process time and
releases the parts one by one, each with its own lead time (docs/semantics.md, "Batching").
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from oracles.intervals import check_all
from oracles.lines import exp, kernel_trace

from kernels import types as kt
from twin.errors import ProjectError
from twin.projectfile.reader import project_from_json
from twin.projectfile.writer import project_to_json


def line(oven: dict, feeder: dict | None = None, after: dict | None = None) -> dict:
    """source -> [feeder] -> oven -> [after] -> sink; ``oven`` holds the oven's fields."""
    els = [{"id": "src", "kind": "source"}]
    conns, last = [], "src"
    for el in (feeder, {"id": "oven", "kind": "station", **oven}, after):
        if el is None:
            continue
        els.append(el)
        conns.append([last, el["id"]])
        last = el["id"]
    els.append({"id": "sink", "kind": "sink"})
    conns.append([last, "sink"])
    return {"schema_version": 1, "name": "batch", "elements": els, "connections": conns}


def timed_source(doc: dict, gap: float) -> dict:
    doc["elements"][0]["arrival"] = {"dist": "constant", "value": gap}
    return doc


def states(sr, rep, eid):
    e = sr.lowered.element_ids.index(eid)
    return {k: v for k, v in zip(kt.STATE_NAMES, rep.st_time[e], strict=True) if v}


def test_a_full_load_is_processed_in_one_process_time(run_doc):
    # m makes a part every 1 s (p1 at 1, p2 at 2, ...; p_k entered the line at k - 1).
    # t=3: the place holds p1..p3, a full load: the oven is busy 3-13 with all three; the
    #      place refills with p4..p6 (4, 5, 6) and m is blocked from 7 (p7, no room).
    # t=13: p1, p2, p3 leave one by one to the sink (leads 13, 12, 11); the oven starts p4..p6
    #      at once, p7 moves in, m works again until it is blocked at 16 (p10).
    # t=23: p4..p6 leave (leads 20, 19, 18); p7..p9 start; m works 23-26, blocked from 26.
    doc = line({"process_time": 10, "batch": {"size": 3}},
               feeder={"id": "m", "kind": "station", "process_time": 1})
    sr = run_doc(doc, 30.0, replications=1, log=True)
    rep = sr.replications[0]
    trace = [r for r in kernel_trace(rep.log, sr.lowered.element_ids)
             if r[1] in ("m", "oven")]
    assert trace == [(0.0, "m", "busy"), (3.0, "oven", "busy"), (7.0, "m", "blocked"),
                     (13.0, "m", "busy"), (16.0, "m", "blocked"), (23.0, "m", "busy"),
                     (26.0, "m", "blocked")]
    assert rep.line_out[kt.L_GOOD] == 6
    assert rep.line_out[kt.L_LEAD_SUM] == 13 + 12 + 11 + 20 + 19 + 18
    assert states(sr, rep, "oven") == {"starved": 3.0, "busy": 27.0}
    e = sr.lowered.element_ids.index("oven")
    # parts, not loads: p1..p12 in, six out, six inside at 30 (a load and a full place)
    assert rep.el_out[e, kt.O_IN] == 12 and rep.el_out[e, kt.O_OUT] == 6
    assert rep.ts_content[-1, e] == 6


def test_a_load_leaves_part_by_part_and_the_oven_is_blocked_meanwhile(run_doc):
    # The unlimited source fills the place (2) at 0: load p1, p2 (both entered at 0) busy
    # 0-10, the place refills with p3, p4. t=10: p1 to g (busy 10-14), the oven holds p2,
    # blocked. t=14: p1 out (lead 14), p2 to g (14-18), the oven starts p3, p4 (busy 14-24)
    # and p5, p6 (entered 14) move in. t=18: p2 out (lead 18). t=24: p3 to g, oven blocked
    # until 28: p3 out (lead 28), p4 to g, load p5, p6 busy 28-38. t=32: p4 out (lead 32).
    doc = line({"process_time": 10, "batch": {"size": 2}},
               after={"id": "g", "kind": "station", "process_time": 4})
    sr = run_doc(doc, 33.0, replications=1, log=True)
    rep = sr.replications[0]
    trace = [r for r in kernel_trace(rep.log, sr.lowered.element_ids) if r[1] == "oven"]
    assert trace == [(0.0, "oven", "busy"), (10.0, "oven", "blocked"), (14.0, "oven", "busy"),
                     (24.0, "oven", "blocked"), (28.0, "oven", "busy")]
    assert rep.line_out[kt.L_GOOD] == 4
    assert rep.line_out[kt.L_LEAD_SUM] == 14 + 18 + 28 + 32
    assert states(sr, rep, "oven") == {"busy": 25.0, "blocked": 8.0}
    # g: starved 0-10, busy 10-18, starved 18-24, busy 24-32, starved 32-33
    assert states(sr, rep, "g") == {"starved": 17.0, "busy": 16.0}


def test_a_load_closes_at_its_timeout(run_doc):
    # A part arrives every 10 s (p_k at 10 k). p1 enters at 10: its load times out at 25
    # with p1, p2: busy 25-30, leads 20 and 10. p3 arrives at 30 (before the load's end at
    # the same instant: it was scheduled first) and times out at 45 with p3, p4; and so on.
    doc = timed_source(line({"process_time": 5, "batch": {"size": 3, "timeout": 15}}), 10.0)
    sr = run_doc(doc, 52.0, replications=1, log=True)
    rep = sr.replications[0]
    trace = [r for r in kernel_trace(rep.log, sr.lowered.element_ids) if r[1] == "oven"]
    assert trace == [(25.0, "oven", "busy"), (30.0, "oven", "starved"),
                     (45.0, "oven", "busy"), (50.0, "oven", "starved")]
    assert rep.line_out[kt.L_GOOD] == 4
    assert rep.line_out[kt.L_LEAD_SUM] == 20 + 10 + 20 + 10


def test_below_the_minimum_fill_a_load_waits_past_its_timeout(run_doc):
    # with min_fill 3 = size the timeout never starts a load: full loads at 30 and 60
    doc = timed_source(line({"process_time": 5,
                             "batch": {"size": 3, "timeout": 15, "min_fill": 3}}), 10.0)
    sr = run_doc(doc, 66.0, replications=1)
    rep = sr.replications[0]
    assert rep.line_out[kt.L_GOOD] == 6
    assert rep.line_out[kt.L_LEAD_SUM] == (25 + 15 + 5) * 2
    # min_fill 2: at p1's timeout (25) the place holds p1 and p2, enough: as with 1
    doc["elements"][1]["batch"]["min_fill"] = 2
    sr = run_doc(doc, 52.0, replications=1)
    assert sr.replications[0].line_out[kt.L_LEAD_SUM] == 20 + 10 + 20 + 10


def test_the_minimum_fill_starts_a_late_load_on_its_last_part(run_doc):
    # a part every 10 s, size 4, timeout 12, min_fill 3: p1's load (p1 at 10) is short at
    # its timeout (22: two parts) and starts when p3 arrives at 30, busy 30-31: leads 21,
    # 11, 1
    doc = timed_source(line({"process_time": 1,
                             "batch": {"size": 4, "timeout": 12, "min_fill": 3}}), 10.0)
    sr = run_doc(doc, 32.0, replications=1, log=True)
    rep = sr.replications[0]
    assert rep.line_out[kt.L_GOOD] == 3
    assert rep.line_out[kt.L_LEAD_SUM] == 21 + 11 + 1


def exp_source(doc: dict, mean: float) -> dict:
    doc["elements"][0]["arrival"] = exp(mean)
    return doc


@pytest.mark.slow
def test_the_mean_wait_for_a_load_matches_its_closed_forms(run_doc):
    r"""Poisson arrivals of rate :math:`\lambda` into a batch station of size n that starts
    a load as soon as its n-th part is there (no timeout), processes it in D = 1 s and
    hands its parts to the sink.

    Loads are every n consecutive arrivals; the j-th part of a load waits for the n - j
    arrivals after it, each an exponential gap of mean :math:`1/\lambda`, so its mean wait
    is :math:`(n - j)/\lambda` and the mean over the n parts of a load is
    :math:`(n-1)/(2\lambda)`. A part's lead time is that wait plus D (the server is free
    whenever a load is full unless n arrivals fall within D = 1 s, of probability below
    1e-7 with :math:`1/\lambda` = 100 s).

    With a timeout T and size 2 (min_fill 1): a load's first part waits
    :math:`W = \min(X, T)` for the next arrival X (memoryless: the time since the last
    load does not matter), :math:`E[W] = (1 - e^{-\lambda T})/\lambda`; the load then holds
    2 parts with probability :math:`p = 1 - e^{-\lambda T}` (the second waits 0), else 1.
    By renewal-reward over loads, the mean wait per part is :math:`E[W]/(1 + p)`; a part
    arriving during a load's processing (D = 1 s) is a (negligibly) different case.
    """
    lam = 1 / 100.0
    n = 4
    doc = exp_source(line({"process_time": 1, "batch": {"size": n}}), 1 / lam)
    sr = run_doc(doc, 400_000.0, replications=20, seed=7)
    leads = np.array([r.line_out[kt.L_LEAD_SUM] / r.line_out[kt.L_GOOD]
                      for r in sr.replications])
    t = 150.0
    doc = exp_source(line({"process_time": 1, "batch": {"size": 2, "timeout": t}}), 1 / lam)
    sr = run_doc(doc, 400_000.0, replications=20, seed=8)
    leads_t = np.array([r.line_out[kt.L_LEAD_SUM] / r.line_out[kt.L_GOOD]
                        for r in sr.replications])
    p = 1 - math.exp(-lam * t)
    check_all({"full loads": (leads, (n - 1) / (2 * lam) + 1.0),
               "timeout": (leads_t, (p / lam) / (1 + p) + 1.0)},
              level=0.99, max_rel_half=0.03)


def test_file_errors_name_their_path():
    bad = [({"size": 0}, "$.elements[1].batch.size"),
           ({"timeout": 5}, "$.elements[1].batch.size"),
           ({"size": 4, "timeout": -5}, "$.elements[1].batch.timeout"),
           ({"size": 4, "min_fill": 5}, "$.elements[1].batch.min_fill"),
           ({"size": 4, "capacity": 3}, "$.elements[1].batch.capacity"),
           ({"size": 4, "fill": 3}, "$.elements[1].batch.fill"),
           ([4], "$.elements[1].batch")]
    for batch, path in bad:
        with pytest.raises(ProjectError) as e:
            project_from_json(line({"process_time": 10, "batch": batch}))
        assert path in [p.path for p in e.value.problems], (batch, e.value)


def test_structure_refuses_two_feeders_an_assembly_and_scrap():
    doc = line({"process_time": 10, "batch": {"size": 2}, "scrap": 0.1})
    doc["elements"].insert(1, {"id": "src2", "kind": "source"})
    doc["connections"].append(["src2", "oven"])
    with pytest.raises(ProjectError) as e:
        project_from_json(doc)
    found = {p.path: p.message for p in e.value.problems}
    assert "merge its feeders in a buffer" in found["$.elements[2].batch"]
    assert "scraps no parts" in found["$.elements[2].scrap"]
    doc = line({"process_time": 10, "batch": {"size": 2},
                "assembly": {"inputs": [{"from": "src"}]}})
    with pytest.raises(ProjectError) as e:
        project_from_json(doc)
    assert "either assembles, processes loads, disassembles or unbatches" in str(e.value)


def test_the_batch_round_trips_through_the_writer():
    doc = line({"process_time": 10,
                "batch": {"size": 8, "timeout": "30min", "min_fill": 4, "capacity": 16}})
    p = project_from_json(doc)
    out = project_to_json(p)
    assert out["elements"][1]["batch"] == {"size": 8, "timeout": 1800.0, "min_fill": 4,
                                           "capacity": 16}
    again = project_from_json(copy.deepcopy(out))
    assert again.element("oven").batch == p.element("oven").batch
    doc["elements"][1]["batch"] = {"size": 3}
    assert project_to_json(project_from_json(doc))["elements"][1]["batch"] == {"size": 3}
    # timeout 0 (start with whatever waits) is kept, not dropped as a default
    doc["elements"][1]["batch"] = {"size": 3, "timeout": 0}
    assert project_to_json(project_from_json(doc))["elements"][1]["batch"] == {
        "size": 3, "timeout": 0.0}


# --- fork and calibration ------------------------------------------------------------------
def recorded(project, horizon: float, folder, seed: int):
    """A simulated recording of one replication of ``project`` (its path)."""
    from twin.sim.runner import RunSpec, run_project
    from twin.whatif.simulated import write_run_as_recording

    sr = run_project(project, spec=RunSpec(horizon=horizon, replications=1, seed=seed,
                                           log=True)).scenarios["base"]
    path = folder / "rec.h5"
    write_run_as_recording(sr, 0, path, seed=seed)
    return path


def test_calibration_refuses_a_batch_line_and_a_fork_starts_it(tmp_path, kernel):
    from twin.recording import Recording
    from twin.whatif.calibration import CalibrationError, calibrate
    from twin.whatif.fork import fork_from_recording

    doc = exp_source(line({"process_time": exp(30.0), "batch": {"size": 4, "timeout": 60}},
                          feeder={"id": "m", "kind": "station", "process_time": exp(8.0)}),
                     10.0)
    project = project_from_json(doc)
    path = recorded(project, 7200.0, tmp_path, 5)
    with Recording.open(path) as r:
        with pytest.raises(CalibrationError, match=r"disassembly stations \['oven'\].*without "
                                                   r"their batch and disassembly fields"):
            calibrate(project, r)
        fork = fork_from_recording(project, r, 3600.0, 7200.0, replications=20)
    # the oven takes a load every ~40 s of at most 4 parts (the source's 10 s arrivals):
    # about 360 parts in the hour after the fork, none lost, every replication's own
    assert fork.outputs.size == 20 and len(set(fork.outputs)) > 1
    assert 300 < fork.outputs.mean() < 420
    # without the batch the same recording forks and calibrates
    plain = copy.deepcopy(doc)
    del plain["elements"][2]["batch"]
    with Recording.open(path) as r:
        assert fork_from_recording(project_from_json(plain), r, 3600.0, 7200.0,
                                   replications=2).outputs.size == 2
        calibrate(project_from_json(plain), r)


def test_a_fork_during_a_load_finishes_it_with_a_full_load(tmp_path, kernel):
    """The first trace's line (m every 1 s into an oven of 3 parts per 10 s), recorded and
    forked at t=8: the oven has been busy with p1..p3 since 3, m is blocked holding p7.
    The fork gives the oven a full load of 3 with 5 s left, its place empty (a recording
    holds no place contents): p7 moves in at 8, p8 and p9 follow at 9 and 10. The load
    leaves at 13 (3 parts), the next (p7..p9) at 23 (6): as the run itself did."""
    from twin.recording import Recording
    from twin.whatif.fork import fork_from_recording

    doc = line({"process_time": 10, "batch": {"size": 3}},
               feeder={"id": "m", "kind": "station", "process_time": 1})
    project = project_from_json(doc)
    path = recorded(project, 30.0, tmp_path, 1)
    with Recording.open(path) as r:
        t0 = r.time_of(0.0)
        ends = {}
        for end in (12.9, 13.1, 22.9, 23.1):
            f = fork_from_recording(project, r, t0 + 8.0, t0 + end, replications=2)
            ends[end] = f.outputs.tolist()
    assert ends == {12.9: [0, 0], 13.1: [3, 3], 22.9: [3, 3], 23.1: [6, 6]}


# --- disassembly (issue 18 §1) --------------------------------------------------------------
def separator(outputs: list, process_time: float = 2.0) -> dict:
    """A part every 10 s into a separator of ``process_time`` s with outputs to a sink
    ``a`` and a station ``b`` (1 s) before the sink."""
    return {"schema_version": 1, "name": "d", "elements": [
        {"id": "src", "kind": "source", "arrival": {"dist": "constant", "value": 10}},
        {"id": "dis", "kind": "station", "process_time": process_time,
         "disassembly": {"outputs": outputs}},
        {"id": "a", "kind": "sink"}, {"id": "b", "kind": "station", "process_time": 1},
        {"id": "sink", "kind": "sink"}],
        "connections": [["src", "dis"], ["dis", "a"], ["dis", "b"], ["b", "sink"]]}


def test_disassembly_emits_k_parts_to_each_successor(run_doc):
    # p1 arrives at 10 and is separated 10-12 into 4 parts: 1 to the sink a (lead 2), 3 to
    # b, which takes one at 12, 13 and 14 (leads 3, 4, 5 from p1's entry at 10): the
    # separator is blocked 12-14 holding the rest. The same from 20; p3 (30) is in work at 31
    sr = run_doc(separator([{"to": "a", "quantity": 1}, {"to": "b", "quantity": 3}]), 31.0,
                 replications=1, log=True)
    rep = sr.replications[0]
    trace = [r for r in kernel_trace(rep.log, sr.lowered.element_ids) if r[1] in ("dis", "b")]
    assert trace == [(10.0, "dis", "busy"), (12.0, "dis", "blocked"), (12.0, "b", "busy"),
                     (14.0, "dis", "starved"), (15.0, "b", "starved"),
                     (20.0, "dis", "busy"), (22.0, "dis", "blocked"), (22.0, "b", "busy"),
                     (24.0, "dis", "starved"), (25.0, "b", "starved"), (30.0, "dis", "busy")]
    ids = sr.lowered.element_ids
    out = {i: rep.el_out[ids.index(i), kt.O_IN] for i in ("a", "b", "sink")}
    assert out == {"a": 2, "b": 6, "sink": 6}
    assert rep.line_out[kt.L_GOOD] == 8 and rep.line_out[kt.L_LEAD_SUM] == 2 * (2 + 3 + 4 + 5)
    # three parts came in, eight went out; the parts are made as the processing starts
    # (p3's three too) and count as created: 4 inside at 31, conserved
    e = ids.index("dis")
    assert (rep.el_out[e, kt.O_IN], rep.el_out[e, kt.O_OUT]) == (3, 8)
    assert rep.line_out[kt.L_CREATED] == 3 + 3 * 3
    assert rep.ts_content[-1, e] == 4
    # other quantities: by 19, p1's four parts are out, two at a and two through b
    sr = run_doc(separator([{"to": "b", "quantity": 2}, {"to": "a", "quantity": 2}]), 19.0,
                 replications=1)
    rep = sr.replications[0]
    assert rep.el_out[ids.index("a"), kt.O_IN] == 2 and rep.el_out[ids.index("b"), kt.O_IN] == 2


@pytest.mark.parametrize("products", [(None, None), ("lid", "screw")])
def test_a_fork_during_a_disassembly_hands_out_all_its_parts(tmp_path, kernel, products):
    """The trace above, recorded and forked at 11, while p1 is separated (10-12): the fork
    starts the separator with the 4 parts p1 becomes, 1 s left; at 12 one goes to the sink
    a and three to b (out at 13, 14, 15): 4 good parts by 15.5, 1 by 12.5."""
    from twin.recording import Recording
    from twin.whatif.fork import fork_from_recording

    outputs = [{"to": "a", "quantity": 1}, {"to": "b", "quantity": 3}]
    for out, product in zip(outputs, products, strict=True):
        if product:
            out["product"] = product
    project = project_from_json(separator(outputs))
    path = recorded(project, 19.0, tmp_path, 1)
    with Recording.open(path) as r:
        t0 = r.time_of(0.0)
        got = [fork_from_recording(project, r, t0 + 11.0, t0 + end,
                                   replications=2).outputs.tolist() for end in (12.5, 15.5)]
    assert got == [[1, 1], [4, 4]]


def test_disassembly_outputs_must_be_its_successors():
    with pytest.raises(ProjectError) as e:
        project_from_json(separator([{"to": "a", "quantity": 1}, {"to": "c", "quantity": 2}]))
    found = {p.path: p.message for p in e.value.problems}
    assert "'c' is not a successor" in found["$.elements[1].disassembly.outputs[1].to"]
    assert "successor 'b' is in no output" in found["$.elements[1].disassembly.outputs"]
    with pytest.raises(ProjectError) as e:
        project_from_json(separator([{"to": "a", "quantity": 0}, {"to": "b"}]))
    assert "$.elements[1].disassembly.outputs[0].quantity" in str(e.value)
    doc = separator([{"to": "a"}, {"to": "b", "quantity": 3}])
    out = project_to_json(project_from_json(doc))["elements"][1]["disassembly"]
    assert out == {"outputs": [{"to": "a", "quantity": 1}, {"to": "b", "quantity": 3}]}


# --- disassembly to products (issue 18 §1: "several out, to different successors or products")
def products_separator(outputs: list) -> dict:
    """A motor every 10 s into a separator (2 s per motor) with outputs to stations ``a``
    and ``b`` (connected in that order), whose times depend on the product, then a sink."""
    return {"schema_version": 1, "name": "d", "elements": [
        {"id": "src", "kind": "source", "arrival": {"dist": "constant", "value": 10},
         "product_mix": {"motor": 1}},
        {"id": "dis", "kind": "station", "process_time": {"motor": 2, "*": 50},
         "disassembly": {"outputs": outputs}},
        {"id": "a", "kind": "station", "process_time": {"housing": 3, "*": 9}},
        {"id": "b", "kind": "station", "process_time": {"screw": 1, "washer": 4, "*": 7}},
        {"id": "sink", "kind": "sink"}],
        "connections": [["src", "dis"], ["dis", "a"], ["dis", "b"], ["a", "sink"],
                        ["b", "sink"]]}


def test_disassembly_outputs_become_their_products(run_doc):
    # m1 (a motor, in at 10) is separated 10-12 (the motor's 2 s, not 50) into a housing to a
    # (the motor itself, renamed as it leaves: 3 s, not 9; out at 15, lead 5) and three
    # screws to b (1 s each, not 7: out at 13, 14, 15, leads 3, 4, 5); the same from 20
    sr = run_doc(products_separator([{"to": "a", "product": "housing"},
                                     {"to": "b", "quantity": 3, "product": "screw"}]), 31.0,
                 replications=1, log=True)
    assert set(sr.lowered.products) == {"motor", "housing", "screw"}
    rep = sr.replications[0]
    trace = [r for r in kernel_trace(rep.log, sr.lowered.element_ids) if r[1] != "src"]
    assert trace == [(10.0, "dis", "busy"), (12.0, "dis", "blocked"), (12.0, "a", "busy"),
                     (12.0, "b", "busy"), (14.0, "dis", "starved"), (15.0, "a", "starved"),
                     (15.0, "b", "starved"), (20.0, "dis", "busy"), (22.0, "dis", "blocked"),
                     (22.0, "a", "busy"), (22.0, "b", "busy"), (24.0, "dis", "starved"),
                     (25.0, "a", "starved"), (25.0, "b", "starved"), (30.0, "dis", "busy")]
    assert rep.line_out[kt.L_GOOD] == 8
    assert rep.line_out[kt.L_LEAD_SUM] == 2 * (5 + 3 + 4 + 5)


def test_one_successor_takes_outputs_of_two_products_in_their_order(run_doc):
    # b gets two screws (1 s each) and then a washer (4 s): busy 12-18 for each motor; the
    # housing goes to a first (a is connected first), whatever the order of the outputs
    sr = run_doc(products_separator([{"to": "b", "quantity": 2, "product": "screw"},
                                     {"to": "b", "product": "washer"},
                                     {"to": "a", "product": "housing"}]), 29.0,
                 replications=1, log=True)
    rep = sr.replications[0]
    trace = [r for r in kernel_trace(rep.log, sr.lowered.element_ids) if r[1] in ("dis", "b")]
    assert trace == [(10.0, "dis", "busy"), (12.0, "dis", "blocked"), (12.0, "b", "busy"),
                     (14.0, "dis", "starved"), (18.0, "b", "starved"),
                     (20.0, "dis", "busy"), (22.0, "dis", "blocked"), (22.0, "b", "busy"),
                     (24.0, "dis", "starved"), (28.0, "b", "starved")]
    assert rep.line_out[kt.L_GOOD] == 8
    assert rep.line_out[kt.L_LEAD_SUM] == 2 * (5 + 3 + 4 + 8)
    assert states(sr, rep, "b") == {"busy": 12.0, "starved": 17.0}
    # without products the parts stay motors: 9 s at a (12-21), 7 s at b (from 12)
    sr = run_doc(products_separator([{"to": "a"}, {"to": "b", "quantity": 3}]), 21.0,
                 replications=1)
    rep = sr.replications[0]
    assert states(sr, rep, "a") == {"starved": 12.0, "busy": 9.0}
    assert states(sr, rep, "b") == {"starved": 12.0, "busy": 9.0}


def test_disassembly_product_errors_name_their_path():
    bad = [([{"to": "a", "product": 5}, {"to": "b"}],
            "$.elements[1].disassembly.outputs[0].product", "must be a string"),
           ([{"to": "a", "product": " "}, {"to": "b"}],
            "$.elements[1].disassembly.outputs[0].product", "names the product"),
           ([{"to": "a", "product": "x"}, {"to": "b"}, {"to": "a", "product": "x"}],
            "$.elements[1].disassembly.outputs[2].to", "each once per product")]
    for outputs, path, words in bad:
        with pytest.raises(ProjectError) as e:
            project_from_json(products_separator(outputs))
        found = {p.path: p.message for p in e.value.problems}
        assert words in found.get(path, ""), (outputs, e.value)
    one = products_separator([{"to": "a", "product": "housing"}])
    one["connections"] = [c for c in one["connections"] if c[1] != "b"]
    one["elements"] = [el for el in one["elements"] if el["id"] != "b"]
    with pytest.raises(ProjectError) as e:
        project_from_json(one)
    assert "cannot change its product" in {
        p.path: p.message for p in e.value.problems}["$.elements[1].disassembly.outputs[0]"
                                                     ".product"]
    two = products_separator([{"to": "a"}, {"to": "b"}])
    two["elements"][1]["servers"] = 2
    with pytest.raises(ProjectError) as e:
        project_from_json(two)
    assert "a disassembly has one server" in {
        p.path: p.message for p in e.value.problems}["$.elements[1].servers"]


def test_disassembly_products_round_trip_through_the_writer():
    outputs = [{"to": "b", "quantity": 2, "product": "screw"}, {"to": "b", "product": "washer"},
               {"to": "a"}]
    p = project_from_json(products_separator(outputs))
    out = project_to_json(p)["elements"][1]["disassembly"]
    assert out == {"outputs": [{"to": "b", "quantity": 2, "product": "screw"},
                               {"to": "b", "quantity": 1, "product": "washer"},
                               {"to": "a", "quantity": 1}]}
    assert project_from_json(project_to_json(p)).element("dis").disassembly == \
        p.element("dis").disassembly
