"""A conveyor's events are scheduled only when someone waits for them (issue 16,
``kernels/conveyor.py``), and the runs are those of the kernel that scheduled every one of
them: over many seeds, on lines whose conveyors block and starve their neighbours, the same
outputs bit for bit, and the same state log once each instant is over.

Within an instant the moves may come in another order: the kernel before woke a conveyor's
successor at every time it had an event for, also the events nobody needed (the entry of a
full belt freeing, the part behind the head reaching the end); when such a time is, to the
bit, the time the head arrives (a belt's times are its constant travel and gap apart), that
wake moved the head before the instant's other events, and the head's own event now does, in
its place. States and contents in force once the instant is over, which are all the
statistics count (docs/semantics.md: zero-length states are not states), are the same."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from oracles.lines import RICH, exp, operating_failures

from kernels import types as kt


def conveyor(cid: str, length: float, speed: float, spacing: float) -> dict:
    return {"id": cid, "kind": "conveyor", "length": length, "speed": speed, "spacing": spacing}


def station(sid: str, process, **fields) -> dict:
    return {"id": sid, "kind": "station", "process_time": process, **fields}


def chain(elements: list[dict], name: str = "line") -> dict:
    ids = [e["id"] for e in elements]
    return {"schema_version": 1, "name": name, "elements": elements,
            "connections": [[a, b] for a, b in zip(ids, ids[1:], strict=False)]}


SOURCE, SINK = {"id": "src", "kind": "source"}, {"id": "sink", "kind": "sink"}
TRI = {"dist": "triangular", "low": 1.9, "mode": 2.0, "high": 2.2}


def _failing(sid, process, mttf):
    return station(sid, process, failures=operating_failures(exp(mttf), exp(30.0)))


# Lines where conveyors fill up and block the station before them, run empty and starve the
# one after, and accumulate: constant times (ties everywhere), continuous ones, failures, a
# source with arrivals, a conveyor onto a conveyor, a split and a merge through buffers.
LINES = {
    "constant": chain([SOURCE, conveyor("c0", 6, 0.6, 0.5), _failing("m0", 2.0, 300.0),
                       conveyor("c1", 1, 1, 0.5), _failing("m1", 2.5, 600.0),
                       conveyor("c2", 4, 1, 0.5), station("m2", 1.5), conveyor("c3", 2, 0.5, 0.25),
                       SINK]),
    "continuous": chain([SOURCE, conveyor("c0", 8, 1, 0.5), _failing("m0", exp(2.0), 300.0),
                         conveyor("c1", 2, 1, 0.5), _failing("m1", TRI, 200.0),
                         conveyor("c2", 5, 0.5, 0.4), station("m2", exp(1.7)), SINK]),
    "arrivals": chain([{"id": "src", "kind": "source", "arrival": exp(1.5)},
                       conveyor("c0", 10, 1, 1), conveyor("c1", 3, 1, 0.5),
                       _failing("m0", exp(1.0), 200.0), conveyor("c2", 2, 1, 0.5),
                       station("m1", 1.2), SINK]),
    "split_merge": {"schema_version": 1, "name": "split", "elements": [
        {"id": "src", "kind": "source", "arrival": exp(1.0)}, conveyor("c1", 5, 1, 0.5),
        {"id": "b", "kind": "buffer", "capacity": 3, "routing": "shortest_queue"},
        _failing("ma", exp(2.0), 100.0), station("mb", exp(2.5), servers=2),
        conveyor("ca", 4, 1, 0.5), conveyor("cb", 2, 1, 1.0),
        {"id": "b2", "kind": "buffer", "capacity": 2}, station("mc", 0.9), SINK],
        "connections": [["src", "c1"], ["c1", "b"], ["b", "ma"], ["b", "mb"], ["ma", "ca"],
                        ["mb", "cb"], ["ca", "b2"], ["cb", "b2"], ["b2", "mc"], ["mc", "sink"]]},
    "rich": RICH,
}
HORIZON = 1200.0
REPLICATIONS = 8
OUTPUTS = ("el_out", "st_time", "line_out", "ts_line", "ts_energy", "ts_content")


def run_lines(lines: dict) -> dict[str, np.ndarray]:
    """Every output of ``REPLICATIONS`` replications of each line, and its state log (the
    events of a run: ``L_ALL_EVENTS`` apart, under ``<line>/<replication>/events``)."""
    from twin.projectfile.reader import project_from_json
    from twin.sim.runner import RunSpec, run_project

    out = {}
    for name, doc in lines.items():
        spec = RunSpec(horizon=HORIZON, replications=REPLICATIONS, seed=11, log=True,
                       sample_interval=60.0)
        run = run_project(project_from_json(doc), spec=spec, workers=1)
        for i, rep in enumerate(run.scenarios["base"].replications):
            for field in OUTPUTS:
                a = np.array(getattr(rep, field), dtype=float)
                if field == "line_out":
                    out[f"{name}/{i}/events"] = a[kt.L_ALL_EVENTS].copy()
                    a[kt.L_ALL_EVENTS] = 0.0
                out[f"{name}/{i}/{field}"] = a
            out[f"{name}/{i}/log"] = settled(run.state_log("base", i))
    return out


def settled(log) -> np.ndarray:
    """The state log's rows in force once each instant is over: the last row of each (time,
    element, server), in that order."""
    rows = {}
    for row in log.tolist():
        rows[tuple(row[:3])] = row
    return np.array([rows[k] for k in sorted(rows)], dtype=float).reshape(-1, 5)


# The kernel as it was before issue 16, as plain Python (NUMBA_DISABLE_JIT=1): every time a
# conveyor part may reach the end, and every time its entry may free, has its event, scheduled
# when the time is known; nothing waits to be asked.
_EAGER = r"""
import json, sys
import numpy as np
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/tests"]
import kernels.flow as flow
from kernels import types as kt
from kernels.queue import push

def enter(m, s, x, part, now):
    ready = now + m.el_f[x, kt.F_TRAVEL]
    tail = s.el_si[x, kt.EI_TAIL]
    if tail >= 0:
        ready = max(ready, s.part_f[tail, kt.PF_READY] + m.el_f[x, kt.F_GAP])
    s.el_sf[x, kt.EF_LAST_ENTRY] = now
    push(s.heap_t, s.heap_i, s.si, ready, kt.E_CONVEYOR, x, 0)
    push(s.heap_t, s.heap_i, s.si, now + m.el_f[x, kt.F_GAP], kt.E_CONVEYOR, x, 0)
    return ready

def head_leaves(m, s, x, head, now):
    ready = now + m.el_f[x, kt.F_GAP]
    if ready > s.part_f[head, kt.PF_READY]:
        s.part_f[head, kt.PF_READY] = ready
        push(s.heap_t, s.heap_i, s.si, ready, kt.E_CONVEYOR, x, 0)

flow.enter, flow.head_leaves = enter, head_leaves
flow.await_head = lambda s, x, head, ready: None
flow.await_entry = lambda m, s, x: None
from test_conveyor_events import run_lines
lines = json.loads(open(sys.argv[2]).read())
np.savez(sys.argv[3], **run_lines(lines))
"""


@pytest.fixture(scope="module")
def eager(tmp_path_factory):
    """The lines run by the kernel of before, in a process of its own (plain Python)."""
    tmp = tmp_path_factory.mktemp("eager")
    (tmp / "lines.json").write_text(json.dumps(LINES))
    root = Path(__file__).parents[2]
    env = dict(os.environ, NUMBA_DISABLE_JIT="1", PYTHONPATH=f"{root}:{Path(__file__).parent}")
    done = subprocess.run([sys.executable, "-c", _EAGER, str(root), str(tmp / "lines.json"),
                           str(tmp / "eager.npz")], env=env, capture_output=True, text=True,
                          timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    with np.load(tmp / "eager.npz") as f:
        return dict(f)


def test_runs_are_those_of_the_kernel_that_scheduled_every_conveyor_event(eager, kernel):
    now = run_lines(LINES)
    assert now.keys() == eager.keys()
    for key, before in eager.items():
        if not key.endswith("/events"):
            np.testing.assert_array_equal(now[key], before, err_msg=key)
    # the lines did block and starve around their conveyors, and moved parts
    st = now["constant/0/st_time"].reshape(-1, kt.N_STATES)
    assert st[:, kt.BLOCKED].sum() > 60.0 and st[:, kt.STARVED].sum() > 60.0
    for name in LINES:
        events = [now[f"{name}/{i}/events"] for i in range(REPLICATIONS)]
        before = [eager[f"{name}/{i}/events"] for i in range(REPLICATIONS)]
        assert now[f"{name}/0/line_out"][kt.L_GOOD] > 100, name
        assert sum(events) < sum(before), name


def _events(doc: dict, horizon: float) -> tuple[float, float, float]:
    """Events, model events (phase ends) and good parts of one replication to ``horizon``."""
    from twin.projectfile.reader import project_from_json
    from twin.sim.runner import RunSpec, run_project

    spec = RunSpec(horizon=horizon, replications=1, seed=1)
    out = run_project(project_from_json(doc), spec=spec, workers=1)
    line = out.scenarios["base"].replications[0].line_out
    return line[kt.L_ALL_EVENTS], line[kt.L_EVENTS], line[kt.L_GOOD]


@pytest.mark.parametrize(("doc", "arrivals", "per_part", "before"), [
    # the conveyor full in front of a slower station: the station finds the next part there
    # when it frees, and the conveyor takes the next when its head leaves; no event at all
    (chain([SOURCE, conveyor("c", 10, 1, 0.5), station("m", 2.0), SINK]), 0, 0, 3),
    # parts 20 s apart on a 10 s belt: each enters an empty conveyor, whose idle successor
    # waits for it at the end (one event), and nobody waits for the entry
    (chain([{"id": "src", "kind": "source", "arrival": 20.0}, conveyor("c", 10, 1, 0.5),
            station("m", 1.0), SINK]), 1, 1, 2),
    # a fast station before a full conveyor (5 parts at 1 s spacing over 5 s), a faster one
    # after it: that one waits for each head; the entry frees as a head leaves
    (chain([SOURCE, station("m1", 0.2), conveyor("c", 5, 1, 1.0), station("m2", 0.5), SINK]),
     0, 1, 2),
], ids=["full", "starved", "paced"])
def test_conveyor_events_per_part(kernel, doc, arrivals, per_part, before):
    """In the steady state (from 1000 s to 3000 s of constant times) a part costs this many
    conveyor events (the kernel before: ``before``, as counted with it)."""
    all1, model1, good1 = _events(doc, 1000.0)
    all2, model2, good2 = _events(doc, 3000.0)
    parts = good2 - good1
    conveyor_events = (all2 - all1) - (model2 - model1) - arrivals * parts
    assert parts > 90 and conveyor_events == per_part * parts
    assert before > per_part


def test_the_entry_event_comes_while_a_station_waits_to_put(kernel):
    """Filling the paced line: the first part enters the empty belt at 0.2 s, then the fast
    station waits with a part for each entry to free (1 s apart), one event each, until
    the belt is full at 4.2 s (the kernel before had the same four)."""
    doc = chain([SOURCE, station("m1", 0.2), conveyor("c", 5, 1, 1.0), station("m2", 0.5),
                 SINK])
    events, model, good = _events(doc, 5.0)
    assert (model, good) == (6, 0)  # m1 finished at 0.2, 0.4, 1.4, 2.4, 3.4 and 4.4 s
    assert events - model == 4  # c's entry freed at 1.2, 2.2, 3.2 and 4.2 s
