"""Assembly stations (issue 18 §1): exact traces, a Markov-chain oracle, file errors, round
trip, fork and calibration.

An assembly is a station with a bill of materials (``assembly.inputs``): each input waits
in a FIFO place of its own; a server starts when every place holds its quantity, consumes
them all and works on the main part (docs/semantics.md, "Assembly").
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from oracles.intervals import check_all
from oracles.lines import exp, kernel_trace
from oracles.markov import mm1k, solve_assembly

from kernels import types as kt
from twin.errors import ProjectError
from twin.projectfile.reader import load_project, project_from_json
from twin.projectfile.structure import require_runnable, structure_problems
from twin.projectfile.writer import project_to_json, save_project
from twin.sim.summary import replication_kpis, summarize


def two_plus_one(**asm) -> dict:
    """mA (1 s) feeds two parts, mB (3 s) one part, into an assembly of 2 s."""
    return {"schema_version": 1, "name": "2+1", "elements": [
        {"id": "srcA", "kind": "source"}, {"id": "srcB", "kind": "source"},
        {"id": "mA", "kind": "station", "process_time": 1},
        {"id": "mB", "kind": "station", "process_time": 3},
        {"id": "asm", "kind": "station", "process_time": 2,
         "assembly": {"inputs": [{"from": "mA", "quantity": 2}, {"from": "mB"}], **asm}},
        {"id": "sink", "kind": "sink"}],
        "connections": [["srcA", "mA"], ["srcB", "mB"], ["mA", "asm"], ["mB", "asm"],
                        ["asm", "sink"]]}


def test_two_plus_one_assembly_exact_trace(run_doc):
    # Parts a1, a2, ... leave mA at 1, 2, 3, ...; b1, b2, ... leave mB every 3 s.
    # t=1, 2: a1, a2 wait at input mA (its place holds one set: 2 parts).
    # t=3: a3 is done but the place is full; b1 arrives: the assembly starts (a1, a2, b1),
    #      the place empties and takes a3 at once, so mA is never blocked at 3. Busy to 5.
    # t=4: a4 joins a3 (full again). t=5: a5 done, place full: mA blocked; assembly done
    #      (lead 5 - 0: a1 and b1 entered at 0) and starved, short of input mB only.
    # t=6: b2: start (a3, a4, b2; earliest entry a3 at 2), a5 moves in, mA busy again.
    # The same every 3 s: assembled parts leave at 5, 8, 11 with lead times 5, 6, 7.
    sr = run_doc(two_plus_one(), 11.5, replications=1, log=True)
    rep = sr.replications[0]
    trace = [r for r in kernel_trace(rep.log, sr.lowered.element_ids) if r[1] != "mB"]
    assert sorted(trace) == sorted([
        (0.0, "mA", "busy"), (3.0, "asm", "busy"), (5.0, "asm", "starved"),
        (5.0, "mA", "blocked"), (6.0, "asm", "busy"), (6.0, "mA", "busy"),
        (8.0, "asm", "starved"), (8.0, "mA", "blocked"), (9.0, "asm", "busy"),
        (9.0, "mA", "busy"), (11.0, "asm", "starved"), (11.0, "mA", "blocked")])
    assert rep.line_out[kt.L_GOOD] == 3
    assert rep.line_out[kt.L_LEAD_SUM] == 5 + 6 + 7
    e = sr.lowered.element_ids.index("asm")
    states = dict(zip(kt.STATE_NAMES, rep.st_time[e], strict=True))
    assert states["busy"] == 6.0 and states["starved"] == 5.5
    # components in (a1..a8, b1..b3), assembled parts out
    assert rep.el_out[e, kt.O_IN] == 11 and rep.el_out[e, kt.O_OUT] == 3
    # per input: starved while short. mA short during 0-2 only; mB during every starved span
    # (0-3, 5-6, 8-9, 11-11.5). Parts waiting at mA: 1, 2, 1, 2 (2 s), 1, 2 (2 s), 1, 2 (1.5 s)
    k = replication_kpis(sr, rep)
    p = "elements.asm.inputs."
    assert k[p + "mA.starved_fraction"] == pytest.approx(2.0 / 11.5, abs=1e-12)
    assert k[p + "mB.starved_fraction"] == pytest.approx(5.5 / 11.5, abs=1e-12)
    assert k[p + "mA.mean_content"] == pytest.approx(17.0 / 11.5, abs=1e-12)
    assert k[p + "mB.mean_content"] == 0.0
    assert (k[p + "mA.parts_in"], k[p + "mB.parts_in"]) == (8, 3)
    assert (k[p + "mA.max_content"], k[p + "mB.max_content"]) == (2, 1)
    # the state partition is untouched: starved per input never exceeds starved
    assert k[p + "mB.starved_fraction"] <= k["elements.asm.state_fraction.starved"] + 1e-12
    # summarize nests them under the element
    doc = summarize(sr)
    assert doc["elements"]["asm"]["inputs"]["mB"]["starved_fraction"]["mean"] == pytest.approx(
        5.5 / 11.5)


def test_the_warm_up_resets_the_inputs_counts(run_doc):
    # the 2+1 trace observed from 3 s (events at 3 itself belong to the warm-up): input mA
    # is never short again; mB is short while the assembly starves at 5-6, 8-9, 11-11.5.
    # Into the places after 3: a4, a5, a6, a7, a8 and b2, b3; mA holds 1 at the reset, then
    # 2 (4-6), 1, 2 (7-9), 1, 2 (10-11.5): 14 part-seconds
    sr = run_doc(two_plus_one(), 11.5, replications=1, warmup=3.0)
    k = replication_kpis(sr, sr.replications[0])
    p = "elements.asm.inputs."
    assert k[p + "mA.starved_fraction"] == 0.0
    assert k[p + "mB.starved_fraction"] == pytest.approx(2.5 / 8.5, abs=1e-12)
    assert k["elements.asm.state_fraction.starved"] == pytest.approx(2.5 / 8.5, abs=1e-12)
    assert (k[p + "mA.parts_in"], k[p + "mB.parts_in"]) == (5, 2)
    assert k[p + "mA.mean_content"] == pytest.approx(14.0 / 8.5, abs=1e-12)
    assert k["line.lead_time_s"] == pytest.approx((5 + 6 + 7) / 3)


def test_assembled_product_and_per_product_times(run_doc):
    # the assembled part is a "motor": the sink's feeder times it as such (9 s), not as
    # the housing it was built on; with "product" left out it stays a "part"
    doc = two_plus_one(product="motor")
    doc["elements"].insert(5, {"id": "test", "kind": "station",
                               "process_time": {"motor": 0.5, "*": 9.0}})
    doc["connections"][-1] = ["asm", "test"]
    doc["connections"].append(["test", "sink"])
    sr = run_doc(doc, 11.5, replications=1)
    rep = sr.replications[0]
    assert rep.line_out[kt.L_GOOD] == 3  # at 5.5, 8.5, 11.5
    assert rep.line_out[kt.L_LEAD_SUM] == 5.5 + 6.5 + 7.5
    assert sr.lowered.products == ("part", "motor")
    doc["elements"][4]["assembly"].pop("product")
    sr = run_doc(doc, 11.5, replications=1)
    assert sr.replications[0].line_out[kt.L_GOOD] == 0  # the first leaves "test" at 5 + 9


def test_a_larger_place_buffers_the_fast_input(run_doc):
    # with room for two sets at input mA, mA is blocked only from 11: it makes 3 parts per
    # 3 s and each assembly takes 2, so the place gains one part per 3 s: it holds 1 after
    # the start at 3, 3 at 5, 2 after the start at 6, 4 at 8, 3 after the start at 9, and
    # is full at 10: a11 finds no room at 11
    doc = two_plus_one()
    doc["elements"][4]["assembly"]["inputs"][0]["capacity"] = 4
    sr = run_doc(doc, 11.5, replications=1)
    rep = sr.replications[0]
    e = sr.lowered.element_ids.index("mA")
    assert rep.st_time[e, kt.BLOCKED] == 0.5  # the place is full from 11 on
    assert rep.line_out[kt.L_GOOD] == 3


def test_oracle_reduces_to_mm1k():
    # a second stream so fast that it never waits: the assembly is an M/M/1/K queue of
    # the first stream, K = place + server
    sol = solve_assembly((0.8, 1e7), 1.0, (1, 1), (3, 1))
    p, tp, mean_n = mm1k(0.8, 1.0, 4)
    assert sol.throughput == pytest.approx(tp, rel=1e-5)
    assert sol.lost[0] == pytest.approx(0.8 * p[-1], rel=1e-5)


POISSON = {"schema_version": 1, "name": "two Poisson streams", "elements": [
    {"id": "s1", "kind": "source", "arrival": exp(1.0), "when_blocked": "lose"},
    {"id": "s2", "kind": "source", "arrival": exp(2.0), "when_blocked": "lose"},
    {"id": "asm", "kind": "station", "process_time": exp(1.5),
     "assembly": {"inputs": [{"from": "s1", "quantity": 2, "capacity": 4},
                             {"from": "s2", "quantity": 1, "capacity": 2}]}},
    {"id": "sink", "kind": "sink"}],
    "connections": [["s1", "asm"], ["s2", "asm"], ["asm", "sink"]]}


def test_two_poisson_streams_against_their_markov_chain(run_doc):
    sol = solve_assembly((1.0, 0.5), 1 / 1.5, (2, 1), (4, 2))
    sr = run_doc(POISSON, 30000.0, replications=10, warmup=1000.0, seed=7)
    rows = [replication_kpis(sr, r) for r in sr.replications]
    obs = np.array([r.line_out[kt.L_OBSERVED] for r in sr.replications])

    def col(key):
        return np.array([r[key] for r in rows])

    p = "elements.asm."
    check_all({
        "throughput": (col("line.throughput_per_hour") / 3600.0, sol.throughput),
        "busy": (col(p + "state_fraction.busy"), sol.busy),
        "starved short of s1": (col(p + "inputs.s1.starved_fraction"), sol.starved_short[0]),
        "starved short of s2": (col(p + "inputs.s2.starved_fraction"), sol.starved_short[1]),
        "place s1": (col(p + "inputs.s1.mean_content"), sol.mean_place[0]),
        "place s2": (col(p + "inputs.s2.mean_content"), sol.mean_place[1]),
        "lost at s1": (col("elements.s1.lost") / obs, sol.lost[0]),
        "wip": (col("line.wip"), sol.wip),
    }, level=0.99, max_rel_half=0.1)


# --- the project file --------------------------------------------------------------------
def file_problems(doc) -> dict[str, str]:
    with pytest.raises(ProjectError) as exc:
        project_from_json(doc)
    return {p.path: p.message for p in exc.value.problems}


def test_file_errors_name_their_json_path():
    doc = two_plus_one()
    inputs = doc["elements"][4]["assembly"]["inputs"]
    inputs[0]["quantity"] = 0
    inputs[1]["capacity"] = 0
    got = file_problems(doc)
    assert "must be >= 1" in got["$.elements[4].assembly.inputs[0].quantity"]
    assert "must be >= 1" in got["$.elements[4].assembly.inputs[1].capacity"]
    doc = two_plus_one()
    doc["elements"][4]["assembly"]["inputs"][0]["capacity"] = 1
    got = file_problems(doc)
    assert "at least one set (2 parts)" in got["$.elements[4].assembly.inputs[0].capacity"]
    doc = two_plus_one()
    doc["elements"][4]["assembly"]["inputs"].append({"from": "mA", "quantity": 1})
    assert "is an input already" in file_problems(doc)["$.elements[4].assembly.inputs[2].from"]
    doc = two_plus_one()
    doc["elements"][4]["assembly"] = {"inputs": {"from": "mA"}, "colour": 3}
    got = file_problems(doc)
    assert "must be a list of inputs" in got["$.elements[4].assembly.inputs"]
    assert "unknown field" in got["$.elements[4].assembly.colour"]
    # an assembly just placed has no inputs yet: it opens, and cannot run
    doc["elements"][4]["assembly"] = {"inputs": []}
    opened = project_from_json(doc, strict=False)
    assert [p.path for p in structure_problems(opened)] == ["$.elements[4].assembly.inputs"]
    doc = two_plus_one()
    doc["elements"][4]["assembly"]["inputs"][1] = {"quantity": 1}
    assert "predecessor" in file_problems(doc)["$.elements[4].assembly.inputs[1].from"]


def test_a_bill_naming_no_predecessor_stops_a_run_but_opens():
    doc = two_plus_one()
    doc["elements"][4]["assembly"]["inputs"][1]["from"] = "srcB"
    with pytest.raises(ProjectError) as exc:
        project_from_json(doc)  # strict reading: a fault of the flow
    got = {p.path: p.message for p in exc.value.problems}
    assert "'srcB' is not connected into this station" in got[
        "$.elements[4].assembly.inputs[1].from"]
    assert "predecessor 'mB' is not in the bill of materials" in got[
        "$.elements[4].assembly.inputs"]
    opened = project_from_json(doc, strict=False)  # the editor opens it
    assert {p.path for p in structure_problems(opened)} == {
        "$.elements[4].assembly.inputs[1].from", "$.elements[4].assembly.inputs"}
    with pytest.raises(ProjectError, match="not in the bill of materials"):
        require_runnable(opened)


def test_a_missing_product_time_is_named():
    # the assembled "motor" has no time at a per-product station downstream
    doc = two_plus_one(product="motor")
    doc["elements"].insert(5, {"id": "test", "kind": "station",
                               "process_time": {"part": 1.0}})
    doc["connections"][-1] = ["asm", "test"]
    doc["connections"].append(["test", "sink"])
    got = file_problems(doc)
    assert "has no time for product 'motor'" in got["$.elements[5].process_time"]


def test_round_trip_through_writer_and_reader(tmp_path):
    doc = two_plus_one(product="motor")
    doc["elements"][4]["assembly"]["inputs"][0]["capacity"] = 6
    project = project_from_json(copy.deepcopy(doc))
    out = project_to_json(project)
    assert out["elements"][4]["assembly"] == {
        "inputs": [{"from": "mA", "quantity": 2, "capacity": 6},
                   {"from": "mB", "quantity": 1}], "product": "motor"}
    save_project(project, tmp_path / "p")
    again = load_project(tmp_path / "p")
    assert again.element("asm").assembly == project.element("asm").assembly
    assert project_to_json(again) == out


# --- fork and calibration ------------------------------------------------------------------
FORK_H = 4 * 3600.0


@pytest.fixture(scope="module")
def assembly_recording(tmp_path_factory, kernel):
    """One recorded replication of a two-input assembly line with exponential times."""
    from twin.sim.runner import RunSpec, run_project
    from twin.whatif.simulated import write_run_as_recording

    doc = {"schema_version": 1, "name": "assembly line", "elements": [
        {"id": "src", "kind": "source"}, {"id": "srcB", "kind": "source"},
        {"id": "mA", "kind": "station", "process_time": exp(20.0)},
        {"id": "mB", "kind": "station", "process_time": exp(25.0)},
        {"id": "asm", "kind": "station", "process_time": exp(30.0),
         "power_kw": {"busy": 3.0, "starved": 1.0, "blocked": 1.0},
         "assembly": {"inputs": [{"from": "mA", "capacity": 3}, {"from": "mB"}],
                      "product": "unit"}},
        {"id": "sink", "kind": "sink"}],
        "connections": [["src", "mA"], ["srcB", "mB"], ["mA", "asm"], ["mB", "asm"],
                        ["asm", "sink"]]}
    project = project_from_json(doc)
    sr = run_project(project, spec=RunSpec(horizon=FORK_H, replications=1, seed=5,
                                           log=True)).scenarios["base"]
    path = tmp_path_factory.mktemp("asm") / "rec.h5"
    write_run_as_recording(sr, 0, path, seed=5)
    return project, path, sr


def test_fork_starts_the_input_places_empty_and_says_so(assembly_recording):
    from twin.recording import Recording
    from twin.whatif.fork import fork_from_recording

    project, path, sr = assembly_recording
    with Recording.open(path) as r:
        fr = fork_from_recording(project, r, FORK_H / 2, FORK_H, replications=6, seed=3)
    assert "asm" in fr.wip_unknown
    assert any("input places start empty" in n for n in fr.notes)
    # the assembly goes on assembling: about one part per 30 s (its own time is the
    # bottleneck) in the 2 h after the fork; the recorded run made as many
    made = fr.outputs
    assert np.all(made > 0.5 * 7200 / 30.0) and np.all(made < 1.5 * 7200 / 30.0), made
    assert abs(np.median(made) - fr.recorded_output[-1]) < 0.25 * fr.recorded_output[-1]


def test_calibration_fits_an_assemblys_process_time(assembly_recording):
    from twin.recording import Recording
    from twin.whatif.calibration import calibrate

    project, path, _ = assembly_recording
    with Recording.open(path) as r:
        report = calibrate(project, r, level=0.999)
    fit = report.station("asm").process_time.fit("exponential").params["mean"]
    # its busy time between parts is its process time, whatever it waited for
    assert fit.covers(30.0), fit
    assert report.station("asm").power["starved"].mean_kw.value == pytest.approx(1.0)
