"""A load that travels as one unit (issue 18 §2): a batch station with ``release: load``
sends its done load on whole (a basket), conveyors, buffers and stations carry, store and
process it as one unit, and an unbatch station releases its parts, each with its own
identity and lead time (docs/semantics.md, "A load that travels as one unit").
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
from oracles.lines import kernel_trace
from test_assembly import file_problems as problems_of

from kernels import types as kt
from twin.model.loads import load_reach, stations_seeing_loads
from twin.projectfile.reader import project_from_json
from twin.projectfile.writer import project_to_json
from twin.sim.restart_energy import station_energy_kwh

SCHEMA = json.loads((Path(__file__).resolve().parents[2]
                     / "twin/projectfile/project.schema.json").read_text())


def basket_line(after: list[dict] | None = None) -> dict:
    """src (a part every 1 s) -> basket (collects 3, time 0, releases the load) -> belt
    (2 m at 1 m/s, 1 m spacing: two units) -> oven (5 s per load) -> unload (unbatch, 1 s)
    -> [after] -> sink."""
    els = [{"id": "src", "kind": "source", "arrival": {"dist": "constant", "value": 1}},
           {"id": "basket", "kind": "station", "process_time": 0,
            "batch": {"size": 3, "release": "load"}},
           {"id": "belt", "kind": "conveyor", "length": 2, "speed": 1, "spacing": 1},
           {"id": "oven", "kind": "station", "process_time": 5,
            "power_kw": {"busy": 10, "starved": 1}},
           {"id": "unload", "kind": "station", "process_time": 1, "unbatch": True},
           *(after or []), {"id": "sink", "kind": "sink"}]
    ids = [e["id"] for e in els]
    return {"schema_version": 1, "name": "basket", "elements": els,
            "connections": [[a, b] for a, b in zip(ids, ids[1:], strict=False)]}


def states(sr, rep, eid):
    e = sr.lowered.element_ids.index(eid)
    return {k: float(v) for k, v in zip(kt.STATE_NAMES, rep.st_time[e], strict=True) if v}


def test_a_basket_travels_as_one_unit_to_its_unbatch(run_doc):
    # p_k enters the line at k. The basket forms a load of three at 3, 6, 9, ... (process
    # time 0) and sends it whole onto the belt (2 s; room for two units, 1 s apart).
    # t=3: L1 (p1-p3) on the belt, at the oven at 5: busy 5-10.
    # t=6: L2 on the belt (ready 8, waits: the oven is busy). t=9: L3 on (ready 11): full.
    # t=10: L1 to the unload (10-11); the oven takes L2 (10-15). t=11: p1-p3 to the sink,
    #   leads 10, 9, 8 (each its own entry, not the load's).
    # t=12: L4 on (ready 14). t=15: L2 to the unload (15-16), L3 into the oven (15-20); L5
    #   on at once (ready 17). t=16: p4-p6 out (leads 12, 11, 10).
    # t=18: L6 formed, the belt is full (two units): the basket is blocked until 20, when
    #   L3 leaves the oven for the unload (20-21), L4 enters it and L6 the belt.
    # t=21: p7-p9 out (leads 14, 13, 12); L7 (p19-p21) formed: blocked again (belt full).
    sr = run_doc(basket_line(), 22.0, replications=1, log=True)
    rep = sr.replications[0]
    trace = [r for r in kernel_trace(rep.log, sr.lowered.element_ids) if r[1] != "src"]
    assert trace == [
        (3.0, "belt", 1), (5.0, "belt", 0), (5.0, "oven", "busy"), (6.0, "belt", 1),
        (9.0, "belt", 2), (10.0, "belt", 1), (10.0, "unload", "busy"),
        (11.0, "unload", "starved"), (12.0, "belt", 2), (15.0, "belt", 1),
        (15.0, "belt", 2), (15.0, "unload", "busy"), (16.0, "unload", "starved"),
        (18.0, "basket", "blocked"), (20.0, "belt", 1), (20.0, "belt", 2),
        (20.0, "unload", "busy"), (20.0, "basket", "starved"), (21.0, "unload", "starved"),
        (21.0, "basket", "blocked")]
    assert rep.line_out[kt.L_GOOD] == 9
    assert rep.line_out[kt.L_LEAD_SUM] == (10 + 9 + 8) + (12 + 11 + 10) + (14 + 13 + 12)
    # WIP counts parts: p1-p9 until they left, p10-p21 until 22 (12 + 11 + ... + 1)
    assert rep.line_out[kt.L_WIP_INT] == 27 + 33 + 39 + 78
    assert states(sr, rep, "basket") == {"starved": 19.0, "blocked": 3.0}
    assert states(sr, rep, "oven") == {"starved": 5.0, "busy": 17.0}
    assert states(sr, rep, "unload") == {"starved": 19.0, "busy": 3.0}
    # one process time per load: 17 s busy at 10 kW, 5 s starved at 1 kW
    e = sr.lowered.element_ids.index("oven")
    assert station_energy_kwh(sr.lowered.arrays, rep, e) == pytest.approx(175.0 / 3600.0,
                                                                           abs=1e-12)
    # in, out and content at 22: the basket counts parts (p1-p22 in, six loads of three
    # out, L7 and p22 inside); the belt and the oven count units (loads); the unload takes
    # in three loads and lets out nine parts; the sink counts parts
    counts = {eid: (rep.el_out[i, kt.O_IN], rep.el_out[i, kt.O_OUT], rep.ts_content[-1, i])
              for i, eid in enumerate(sr.lowered.element_ids) if eid != "src"}
    assert counts == {"basket": (22, 18, 4), "belt": (6, 4, 2), "oven": (4, 3, 1),
                      "unload": (3, 9, 0), "sink": (9, 0, 0)}


def test_the_unbatch_is_blocked_until_the_last_part_of_its_load_has_left(run_doc):
    # as above, with a packer (2 s a part) after the unload: L1 unloaded 10-11, then p1
    # packed 11-13, p2 13-15, p3 15-17: the unload is blocked 11-15, until p3 has left it.
    # At 15 it takes L2 (the oven's, done at 15), unloads it 15-16 and is blocked 16-21
    # (p4 packed 17-19, p5 19-21, p6 21-23); the oven, never kept waiting, is busy from 5.
    doc = basket_line([{"id": "pack", "kind": "station", "process_time": 2}])
    sr = run_doc(doc, 24.0, replications=1, log=True)
    rep = sr.replications[0]
    trace = [r for r in kernel_trace(rep.log, sr.lowered.element_ids)
             if r[1] in ("unload", "oven")]
    assert trace == [(5.0, "oven", "busy"), (10.0, "unload", "busy"),
                     (11.0, "unload", "blocked"), (15.0, "unload", "busy"),
                     (16.0, "unload", "blocked"), (21.0, "unload", "busy"),
                     (22.0, "unload", "blocked")]
    # out by 24: p1 at 13, p2 15, p3 17, p4 19, p5 21, p6 23 (leads 12, 13, 14, 15, 16, 17)
    assert rep.line_out[kt.L_GOOD] == 6
    assert rep.line_out[kt.L_LEAD_SUM] == 12 + 13 + 14 + 15 + 16 + 17


def test_a_load_may_not_reach_a_sink_whole_and_a_lone_part_passes_an_unbatch(run_doc):
    # without the unbatch the loads would reach the sink whole: refused, with the fix
    doc = basket_line()
    del doc["elements"][4]["unbatch"]
    msg = problems_of(doc)["$.elements[5]"]
    assert "the loads of batch station 'basket' (release 'load') reach this sink whole" in msg
    assert '"unbatch": true, process time 0' in msg
    # a load of one part (the timeout with min_fill 1) is a part: the unbatch passes it
    doc = basket_line()
    doc["elements"][0]["arrival"]["value"] = 10
    doc["elements"][1]["batch"].update(timeout=0)
    sr = run_doc(doc, 30.0, replications=1)
    rep = sr.replications[0]
    # p1 at 10: belt 10-12, oven 12-17, unload 17-18 (lead 8); p2 at 20 leaves at 28
    assert rep.line_out[kt.L_GOOD] == 2 and rep.line_out[kt.L_LEAD_SUM] == 16


def test_a_buffer_holds_loads_as_units(run_doc):
    # a buffer of capacity 2 between the belt and the oven: loads (not parts) fill it
    doc = basket_line()
    doc["elements"].insert(3, {"id": "store", "kind": "buffer", "capacity": 2})
    doc["connections"] = [[a["id"], b["id"]] for a, b in
                          zip(doc["elements"], doc["elements"][1:], strict=False)]
    sr = run_doc(doc, 40.0, replications=1, log=True)
    rep = sr.replications[0]
    e = sr.lowered.element_ids.index("store")
    assert rep.el_out[e, kt.O_CONTENT_MAX] == 2
    assert max(r[2] for r in kernel_trace(rep.log, sr.lowered.element_ids)
               if r[1] == "store") == 2
    # the oven is busy from 5 on, a load every 5 s: six loads unloaded by 36 (L7 at 41);
    # at 33 the store holds two loads (six parts) and the belt two: the basket is blocked
    assert rep.line_out[kt.L_GOOD] == 18
    assert (33.0, "basket", "blocked") in kernel_trace(rep.log, sr.lowered.element_ids)


# --- the project file ----------------------------------------------------------------------
def test_release_and_unbatch_round_trip_and_are_in_the_schema():
    doc = basket_line()
    p = project_from_json(copy.deepcopy(doc))
    out = project_to_json(p)
    assert out["elements"][1]["batch"] == {"size": 3, "release": "load"}
    assert out["elements"][4]["unbatch"] is True
    assert "unbatch" not in out["elements"][3]
    again = project_from_json(copy.deepcopy(out))
    assert again.element("basket").batch.release == "load"
    assert again.element("unload").unbatch and not again.element("oven").unbatch
    jsonschema.Draft202012Validator(SCHEMA).validate(out)
    bad = copy.deepcopy(out)
    bad["elements"][1]["batch"]["release"] = "basket"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(SCHEMA).validate(bad)
    # the default (parts) is left out, and an old file without either reads as before
    doc["elements"][1]["batch"]["release"] = "parts"
    del doc["elements"][4]["unbatch"]
    out = project_to_json(project_from_json(doc))
    assert out["elements"][1]["batch"] == {"size": 3}
    assert "unbatch" not in out["elements"][4]


def test_bad_release_and_unbatch_values_are_named_by_path():
    doc = basket_line()
    doc["elements"][1]["batch"]["release"] = "basket"
    assert "expected one of ['parts', 'load']" in problems_of(doc)["$.elements[1].batch.release"]
    doc = basket_line()
    doc["elements"][4]["unbatch"] = "yes"
    assert "$.elements[4].unbatch" in problems_of(doc)
    doc = basket_line()
    doc["elements"][4]["batch"] = {"size": 2}
    assert "either assembles, processes loads, disassembles or unbatches" in (
        problems_of(doc)["$.elements[4].batch"])


@pytest.mark.parametrize(("fields", "what"), [
    ({"scrap": 0.1}, "scraps parts"),
    ({"batch": {"size": 2}}, "processes loads"),
    ({"disassembly": {"outputs": [{"to": "unload", "quantity": 2}]}}, "disassembles"),
])
def test_a_load_may_not_reach_a_station_that_would_take_it_for_one_part(fields, what):
    doc = basket_line()
    doc["elements"][3].update(fields)
    found = problems_of(doc)
    msg = found["$.elements[3]"]
    assert f"the loads of batch station 'basket' (release 'load') reach this station, which " \
           f"{what}" in msg and '"unbatch": true' in msg
    # after the unbatch anything goes: the same station there is fine
    doc = basket_line([{"id": "after", "kind": "station", "process_time": 1, **fields}])
    if "disassembly" in fields:
        doc["elements"][5]["disassembly"]["outputs"][0]["to"] = "sink"
    project_from_json(doc)


def test_an_assembly_reached_by_loads_and_the_reach_itself():
    doc = basket_line()
    doc["elements"][4] = {"id": "unload", "kind": "station", "process_time": 1,
                          "assembly": {"inputs": [{"from": "oven"}]}}
    assert "which assembles" in problems_of(doc)["$.elements[4]"]
    p = project_from_json(basket_line())
    assert load_reach(p) == {"basket": ["belt", "oven", "unload"]}
    assert stations_seeing_loads(p) == ["basket", "oven", "unload"]
    doc = basket_line()
    doc["elements"][1]["batch"]["release"] = "parts"
    del doc["elements"][4]["unbatch"]
    assert load_reach(project_from_json(doc)) == {}


def test_calibration_refuses_stations_that_see_loads():
    from twin.whatif.calibration import CalibrationError, calibrate

    with pytest.raises(CalibrationError, match=r"stations \['oven', 'unload'\] that process "
                                               r"loads as one unit.*without 'unbatch'"):
        calibrate(project_from_json(basket_line()), None)


def test_a_load_led_back_to_its_own_batch_station_is_refused():
    # a loop from the oven back through a buffer to the basket: a load would be batched
    # again as one part of a new load
    doc = basket_line()
    doc["elements"].insert(4, {"id": "back", "kind": "buffer", "capacity": 4})
    doc["connections"] += [["oven", "back"], ["back", "basket"]]
    found = problems_of(doc)
    assert "the loads of batch station 'basket' (release 'load') reach this station, which " \
           "processes loads" in found["$.elements[1]"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_part_of_a_load_is_lost_on_a_branched_line(run_doc, seed):
    """Random times, failures, a split by probability to two ovens (one with two servers),
    a merge before the unbatch, and a second way out through an unbatch that takes no time:
    every part made is either counted good at a sink or still in the line at the end."""
    exp = lambda mean: {"dist": "exponential", "mean": mean}  # noqa: E731
    els = [
        {"id": "src", "kind": "source", "arrival": exp(1.0)},
        {"id": "basket", "kind": "station", "process_time": 0,
         "batch": {"size": 4, "timeout": 3, "min_fill": 2, "release": "load"}},
        {"id": "belt", "kind": "conveyor", "length": 3, "speed": 1, "spacing": 1},
        {"id": "split", "kind": "buffer", "capacity": 3},
        {"id": "ovenA", "kind": "station", "process_time": exp(5.0),
         "failures": {"basis": "operations", "time_to_failure": exp(6.0),
                      "time_to_repair": exp(4.0)}},
        {"id": "ovenB", "kind": "station", "process_time": exp(7.0), "servers": 2,
         "routing": "round_robin"},
        {"id": "merge", "kind": "buffer", "capacity": 4},
        {"id": "unload", "kind": "station", "process_time": exp(0.5), "unbatch": True},
        {"id": "unpack", "kind": "station", "process_time": 0, "unbatch": True},
        {"id": "sink", "kind": "sink"}, {"id": "sink2", "kind": "sink"}]
    conns = [["src", "basket"], ["basket", "belt"], ["belt", "split"], ["split", "ovenA"],
             ["split", "ovenB"], ["ovenA", "merge"], ["ovenB", "merge"], ["ovenB", "unpack"],
             ["unpack", "sink2"],
             ["merge", "unload"], ["unload", "sink"]]
    doc = {"schema_version": 1, "name": "branched", "elements": els, "connections": conns}
    sr = run_doc(doc, 5000.0, replications=1, seed=seed)
    rep = sr.replications[0]
    ids = sr.lowered.element_ids
    good, wip = rep.ts_line[-1, kt.TS_GOOD], rep.ts_line[-1, kt.TS_WIP]
    assert rep.line_out[kt.L_CREATED] == good + wip
    # what the line holds is bounded by its places (a part leaked at a sink would stay in
    # the work in process for good): at most 4 + 4 in the basket, loads of at most 4 on the
    # belt (3), in the split (3), the ovens (3), the merge (4) and the unload (1), and the
    # source's queue, short as the ovens can take 1.7 parts/s
    assert wip < 100
    assert good == rep.line_out[kt.L_GOOD] > 3000
    sinks = rep.el_out[ids.index("sink"), kt.O_IN] + rep.el_out[ids.index("sink2"), kt.O_IN]
    assert sinks == good and rep.el_out[ids.index("sink2"), kt.O_IN] > 0
    # the unbatch takes units in and lets parts out: more parts than loads
    u = ids.index("unload")
    assert rep.el_out[u, kt.O_OUT] > 1.5 * rep.el_out[u, kt.O_IN]


def test_a_fork_refuses_a_line_with_loads(tmp_path, kernel):
    from test_batching import recorded

    from twin.recording import Recording
    from twin.whatif.fork import ForkError, fork_from_recording

    project = project_from_json(basket_line())
    path = recorded(project, 600.0, tmp_path, 3)
    with Recording.open(path) as r, pytest.raises(
            ForkError, match=r"carries loads as one unit \(stations \['basket', 'oven', "
                             r"'unload'\]\).*whose batch stations release their loads by "
                             r"parts, without 'unbatch' stations"):
        fork_from_recording(project, r, 300.0, 600.0, replications=2)
