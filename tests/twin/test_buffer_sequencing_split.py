"""Sequencing at a buffer with several stations after it (issue 18 §4): each station that
takes a part takes the best waiting part by the buffer's rule *for itself* (spt: by its own
process time of each product; setup: by the product it is set up for), as exact traces on
two stations; a routing that assigns parts before a station asks is refused with its JSON
path (docs/orders.md, "Sequencing at a buffer")."""

from __future__ import annotations

import pytest

from kernels import types as kt
from tests.twin.test_orders import ABC, completions, order
from twin.errors import ProjectError
from twin.projectfile.reader import project_from_json
from twin.sim.lowering import lower


def split(orders, sequencing="fifo", process=1, setup=None, routing="shortest_queue") -> dict:
    """An order source (fifo) feeding an unlimited buffer with the rule ``sequencing`` and
    the ``routing``, two stations m1 and m2 after it (``process``: each station's time, a
    number or a per-product dict, or a pair of them) and a sink."""
    times = process if isinstance(process, tuple) else (process, process)
    st = [{"id": f"m{k + 1}", "kind": "station", "process_time": times[k]} for k in (0, 1)]
    if setup is not None:
        for x in st:
            x["setup_time"] = setup
    buf = {"id": "buf", "kind": "buffer", "capacity": None, "routing": routing}
    if sequencing != "fifo":
        buf["sequencing"] = sequencing
    return {"schema_version": 1, "name": "buffer sequencing, two stations",
            "elements": [{"id": "src", "kind": "source", "orders": orders}, buf, *st,
                         {"id": "sink", "kind": "sink"}],
            "connections": [["src", "buf"], ["buf", "m1"], ["buf", "m2"], ["m1", "sink"],
                            ["m2", "sink"]]}


# W2 (2 parts at 0) keeps both stations busy until 1; then A (3 parts, due 3, priority 0),
# B (1, due 9, priority 1) and C (2, due 6, priority 5), in the buffer since 0.5, go two at
# a time (1 s a part at either station): at 1, 2 and 3 each station takes its best part.
W2 = [order("W", 2, 0, 1), *ABC[1:]]


@pytest.mark.parametrize("rule, expected", [
    # fifo (no rule): A A | A B | C C
    ("fifo", {"W": 1, "A": 3, "B": 3, "C": 4}),
    # edd (A due 3, C 6, B 9): A A | A C | C B
    ("edd", {"W": 1, "A": 3, "C": 4, "B": 4}),
    # priority (C 5, B 1, A 0): C C | B A | A A
    ("priority", {"W": 1, "C": 2, "B": 3, "A": 4}),
])
def test_two_stations_take_by_the_rule(run_doc, rule, expected):
    assert completions(run_doc, split(W2, rule)) == expected


def test_spt_takes_by_the_taking_stations_own_process_times(run_doc):
    # m1 does x in 2 s and y in 1 s, m2 x in 1 s and y in 3 s; W (z, 1 s) holds both until
    # 1; A (2 x) then B (2 y) wait since 0.5.
    # fifo: m1 A 1-3, m2 A 1-2, m2 B 2-5, m1 B 3-4: A done at 3, B at 5.
    # spt: each takes what it does fastest: m1 B 1-2, 2-3; m2 A 1-2, 2-3: both done at 3.
    orders = [order("W", 2, 0, 9, "z"), order("A", 2, 0.5, 9, "x"), order("B", 2, 0.5, 9, "y")]
    process = ({"x": 2, "y": 1, "z": 1}, {"x": 1, "y": 3, "z": 1})
    assert completions(run_doc, split(orders, "fifo", process)) == {"W": 1, "A": 3, "B": 5}
    assert completions(run_doc, split(orders, "spt", process)) == {"W": 1, "A": 3, "B": 3}
    low = lower(project_from_json(split(orders, "spt", process)), 10.0)
    rows = {el: dict(zip(low.products, low.arrays.mix_cum[k].tolist(), strict=True))
            for k, el in ((2, "m1"), (3, "m2"))}
    assert rows == {"m1": {"x": 2.0, "y": 1.0, "z": 1.0}, "m2": {"x": 1.0, "y": 3.0, "z": 1.0}}


def test_setup_takes_the_product_the_taking_station_is_set_up_for(run_doc):
    # a change of product costs 2 s (a station's first part none). Wy (1 s) takes one
    # station 0-1 and leaves it set up for y; Wx, at 0.25, the other 0.25-1.25 (set up
    # for x). A (2 x) then B (2 y) wait since 0.5.
    # fifo: the y station takes A at 1: setup 1-3, 3-4; the x station A 1.25-2.25, then B:
    # setup 2.25-4.25, 4.25-5.25; the first (now x) B at 4: setup 4-6, 6-7. A 4, B 7.
    # setup: the y station takes B 1-2, 2-3; the x station A 1.25-2.25, 2.25-3.25.
    orders = [order("Wy", 1, 0, 9, "y"), order("Wx", 1, 0.25, 9, "x"),
              order("A", 2, 0.5, 9, "x"), order("B", 2, 0.5, 9, "y")]
    assert completions(run_doc, split(orders, "fifo", setup=2)) == {
        "Wy": 1, "Wx": 1.25, "A": 4, "B": 7}
    assert completions(run_doc, split(orders, "setup", setup=2)) == {
        "Wy": 1, "Wx": 1.25, "A": 3.25, "B": 3}


@pytest.mark.parametrize("routing", ["probability", "round_robin"])
def test_a_routing_that_assigns_parts_first_is_refused(routing):
    # probability and round robin give the head part its station before one asks, so the
    # rule could not choose for the station taking: refused at the buffer's routing
    doc = split(W2, "edd", routing=routing)
    with pytest.raises(ProjectError) as e:
        lower(project_from_json(doc), 10.0)
    assert any(p.path == "$.elements[1].routing" and "shortest_queue" in p.message
               and f"{routing!r} routing" in p.message for p in e.value.problems), [
        (p.path, p.message) for p in e.value.problems]
    # without a rule the same routing is the ordinary split
    assert lower(project_from_json(split(W2, "fifo", routing=routing)), 10.0).arrays.el_i[
        1, kt.I_SEQ] == -1
