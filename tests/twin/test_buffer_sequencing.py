"""Sequencing at a buffer (issue 18 §4): the order a station takes the parts waiting in the
buffer before it in, by the order source's rules (``kernels.orders.part_key``), as exact
traces; reading errors with their JSON path, the schema and the round trip (docs/orders.md)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from kernels import types as kt
from tests.twin.test_orders import (
    ABC,
    SETUP_FIFO,
    SETUP_ORDERS,
    SETUP_RULE,
    completions,
    order,
)
from twin.errors import ProjectError
from twin.model.orders import SEQUENCING_RULES
from twin.projectfile.reader import project_from_json
from twin.projectfile.writer import project_to_json
from twin.sim.lowering import lower

SCHEMA = json.loads((Path(__file__).resolve().parents[2]
                     / "twin/projectfile/project.schema.json").read_text())


def buffered(orders, sequencing="fifo", process=1, setup=None, source_rule="fifo",
             extra=()) -> dict:
    """An order source (its own rule ``source_rule``) feeding a buffer with the rule
    ``sequencing``, then one station (``process`` s a part) and a sink; the buffer takes
    every part the source releases at once, so only the buffer's rule orders them."""
    st = {"id": "m", "kind": "station", "process_time": process}
    if setup is not None:
        st["setup_time"] = setup
    src = {"id": "src", "kind": "source", "orders": orders, "sequencing": source_rule}
    buf = {"id": "buf", "kind": "buffer", "capacity": None}
    if sequencing != "fifo":
        buf["sequencing"] = sequencing
    return {"schema_version": 1, "name": "buffer sequencing",
            "elements": [src, buf, st, {"id": "sink", "kind": "sink"}, *extra],
            "connections": [["src", "buf"], ["buf", "m"], ["m", "sink"]]}


# ABC (tests/twin/test_orders.py): W keeps the station busy until t=1; A (3 parts, due 3,
# priority 0), B (1, due 9, priority 1) and C (2, due 6, priority 5) reach the buffer at 0.5.
@pytest.mark.parametrize("rule, expected", [
    # fifo: the buffer keeps their arrival order (the source's fifo): A 1-4, B 4-5, C 5-7
    ("fifo", {"W": 1, "A": 4, "B": 5, "C": 7}),
    # edd: A (due 3) 1-4, C (due 6) 4-6, B (due 9) 6-7
    ("edd", {"W": 1, "A": 4, "C": 6, "B": 7}),
    # priority: C (5) 1-3, B (1) 3-4, A (0) 4-7
    ("priority", {"W": 1, "C": 3, "B": 4, "A": 7}),
])
def test_buffer_rules_exact_completions(run_doc, rule, expected):
    assert completions(run_doc, buffered(ABC, rule)) == expected


def test_buffer_rule_overrides_the_sources_order(run_doc):
    # the source sends by priority (C, B, A); the buffer re-sorts by due date
    assert completions(run_doc, buffered(ABC, "edd", source_rule="priority")) == {
        "W": 1, "A": 4, "C": 6, "B": 7}


def test_spt_at_a_buffer_uses_each_parts_process_time_at_the_station(run_doc):
    # x takes 2 s at the station, y 1 s. W (y) 0-1; at 0.5 A (2 x), B (1 y), C (1 x) wait.
    orders = [order("W", 1, 0, 1, "y"), order("A", 2, 0.5, 9, "x"), order("B", 1, 0.5, 9, "y"),
              order("C", 1, 0.5, 9, "x")]
    process = {"x": 2, "y": 1}
    # fifo: A 1-3, 3-5; B 5-6; C 6-8
    assert completions(run_doc, buffered(orders, "fifo", process)) == {
        "W": 1, "A": 5, "B": 6, "C": 8}
    # spt: B (1 s) 1-2, then the x parts in arrival order: A 2-4, 4-6; C 6-8
    assert completions(run_doc, buffered(orders, "spt", process)) == {
        "W": 1, "B": 2, "A": 6, "C": 8}
    low = lower(project_from_json(buffered(orders, "spt", process)), 10.0)
    assert low.arrays.el_i[1, kt.I_SEQ] == kt.SQ_SPT
    # the keys are the taking station's times, in its own row (a station draws no products)
    key = dict(zip(low.products, low.arrays.mix_cum[2].tolist(), strict=True))
    assert key == {"x": 2.0, "y": 1.0}


def test_setup_at_a_buffer_prefers_the_product_the_station_is_set_up_for(run_doc):
    # the order source's setup trace (tests/twin/test_orders.py), the rule at the buffer
    assert completions(run_doc, buffered(SETUP_ORDERS, "fifo", setup=2)) == SETUP_FIFO
    assert completions(run_doc, buffered(SETUP_ORDERS, "setup", setup=2)) == SETUP_RULE


def test_a_part_arriving_later_is_chosen_by_the_rule(run_doc):
    # W 0-1; A (3 parts, due 20) reaches the buffer at 0.5; D (1, due 5) at 1.5, when A's
    # first part is at the station (1-2): at 2 edd takes D before A's other two (2-3), A 3-5
    orders = [order("W", 1, 0, 1), order("A", 3, 0.5, 20), order("D", 1, 1.5, 5)]
    assert completions(run_doc, buffered(orders, "fifo")) == {"W": 1, "A": 4, "D": 5}
    assert completions(run_doc, buffered(orders, "edd")) == {"W": 1, "D": 3, "A": 5}


def test_parts_without_an_order_go_after_the_orders_by_due_date(run_doc):
    # a scheduled source (no orders) sends 2 parts at 0.5 into the same buffer ahead of
    # order A's 2 parts (released at 0.6); W keeps the station busy until 1.
    # fifo: the two plain parts 1-3, A 3-5; edd: A (due 10) 1-3, the plain parts 3-5;
    # priority: A has priority 0, as parts without an order: arrival order, A 3-5
    plain = {"id": "plain", "kind": "source", "schedule": [[0.5, "part", 2]]}
    orders = [order("W", 1, 0, 1), order("A", 2, 0.6, 10)]
    for rule, done_a in (("fifo", 5), ("edd", 3), ("priority", 5)):
        doc = buffered(orders, rule, extra=[plain])
        doc["connections"].append(["plain", "buf"])
        assert completions(run_doc, doc) == {"W": 1, "A": done_a}, rule


def test_standard_buffer_has_no_rule():
    low = lower(project_from_json(buffered(ABC)), 10.0)
    assert low.arrays.el_i[1, kt.I_SEQ] == -1  # fifo at a buffer: the hot path's -1


def test_buffer_sequencing_round_trips_and_is_in_the_schema():
    doc = buffered(ABC, "setup")
    again = project_to_json(project_from_json(doc))
    assert again["elements"][1]["sequencing"] == "setup"
    assert "sequencing" not in project_to_json(project_from_json(buffered(ABC)))["elements"][1]
    jsonschema.Draft202012Validator(SCHEMA).validate(again)
    bad = json.loads(json.dumps(again))
    bad["elements"][1]["sequencing"] = "lifo"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(SCHEMA).validate(bad)
    # one list of rule names: the model's, the kernel's and the schema's
    assert SEQUENCING_RULES == kt.SEQUENCING_NAMES
    assert tuple(SCHEMA["$defs"]["sequencing"]["enum"]) == SEQUENCING_RULES


def test_bad_buffer_rule_names_its_json_path():
    with pytest.raises(ProjectError) as e:
        project_from_json(buffered(ABC, "lifo"))
    assert any(p.path == "$.elements[1].sequencing" for p in e.value.problems), [
        (p.path, p.message) for p in e.value.problems]


@pytest.mark.parametrize("rule", ["edd", "spt", "priority", "setup"])
def test_a_rule_needs_only_stations_after_the_buffer(rule):
    doc = buffered(ABC, rule)
    doc["elements"][1]["routing"] = "shortest_queue"
    doc["connections"].append(["buf", "sink"])  # two ways on: the station and the sink
    alone = buffered(ABC, rule)  # no station after it
    alone["elements"].pop(2)
    alone["connections"] = [["src", "buf"], ["buf", "sink"]]
    for d in (doc, alone):
        with pytest.raises(ProjectError) as e:
            lower(project_from_json(d), 10.0)
        assert any(p.path == "$.elements[1].sequencing" and "only to stations (not 'sink')"
                   in p.message for p in e.value.problems), [
            (p.path, p.message) for p in e.value.problems]
