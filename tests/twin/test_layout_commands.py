"""Layout commands without Qt: duplicate a selection with its connections, align, distribute."""

import pytest

from twin.model import commands as c
from twin.model import elements as m
from twin.model.distributions import constant
from twin.projectfile.reader import project_to_json


def split_line() -> m.Project:
    """src -> m1 -> {m2 (0.7), m3 (0.3)} -> out."""
    p = m.Project("t", elements=[
        m.Source("src", position=(0.0, 0.0, 0.0)),
        m.Station("m1", position=(3.0, 0.0, 0.0), process_time=constant(10.0),
                  power_kw={"busy": 5.0}, extra={"x-tag": "A"}),
        m.Station("m2", position=(6.0, 1.0, 0.0), process_time=constant(12.0)),
        m.Station("m3", position=(6.0, -1.0, 0.0), process_time=constant(12.0)),
        m.Sink("out", position=(9.0, 0.0, 0.0)),
    ])
    for a, b, wgt in (("src", "m1", 1.0), ("m1", "m2", 0.7), ("m1", "m3", 0.3),
                      ("m2", "out", 1.0), ("m3", "out", 1.0)):
        p.connect(a, b, wgt)
    return p


def pairs(p):
    return [(k.source, k.target, k.weight) for k in p.connections]


def test_duplicate_copies_connections_among_the_selection_only():
    p = split_line()
    stack = c.UndoStack(p)
    before = project_to_json(p)
    dup = stack.push(c.Duplicate(p, ["m1", "m2", "m3"]))
    assert dup.new_ids == {"m1": "m4", "m2": "m5", "m3": "m6"}
    assert len(stack) == 1 and stack.undo_text() == "duplicate 'm1', 'm2', 'm3'"
    # inside the selection: re-pointed to the copies, weights kept; to src and out: not copied
    assert pairs(p)[5:] == [("m4", "m5", 0.7), ("m4", "m6", 0.3)]
    assert p.predecessors("m4") == [] and p.successors("m5") == []
    assert p.element("m4").position == (4.0, 1.0, 0.0)
    assert p.element("m5").process_time == constant(12.0)
    after = project_to_json(p)
    stack.undo()
    assert project_to_json(p) == before
    stack.redo()
    assert project_to_json(p) == after


def test_duplicate_shares_no_mutable_value_with_the_original():
    p = split_line()
    c.UndoStack(p).push(c.Duplicate(p, ["m1"]))
    a, b = p.element("m1"), p.element("m4")
    assert b.power_kw == a.power_kw and b.power_kw is not a.power_kw
    assert b.extra == {"x-tag": "A"} and b.extra is not a.extra
    b.power_kw["busy"] = 9.0
    assert a.power_kw["busy"] == 5.0


def test_duplicate_names_avoid_each_other_and_the_project():
    p = split_line()
    p.add_element(m.Buffer("B1", position=(0.0, 5.0, 0.0)))
    p.add_element(m.Buffer("B2", position=(2.0, 5.0, 0.0)))
    dup = c.Duplicate(p, ["B1", "B2", "B1"])  # a repeated id is copied once
    assert dup.new_ids == {"B1": "B3", "B2": "B4"}


@pytest.mark.parametrize("how, expect", [
    # footprints 1 x 1 except "wide" (2 x 1, turned 90 degrees: 1 wide, 2 deep in x, y)
    ("left", {"a": 0.0, "b": 0.0, "wide": 0.0}),
    ("right", {"a": 6.0, "b": 6.0, "wide": 6.0}),
    ("centre_x", {"a": 3.0, "b": 3.0, "wide": 3.0}),
    ("bottom", {"a": 0.0, "b": -0.25, "wide": 0.5}),
    ("top", {"a": 3.75, "b": 4.0, "wide": 3.25}),
    ("centre_y", {"a": 1.875, "b": 1.875, "wide": 1.875}),
])
def test_align_edges_and_centres_of_turned_footprints(how, expect):
    p = m.Project("t", elements=[
        m.Sink("a", position=(0.0, 0.0, 0.0)),
        m.Sink("b", position=(3.0, 4.0, 0.0), footprint=(1.0, 0.5)),
        m.Sink("wide", position=(6.0, 1.0, 0.0), rotation=90.0, footprint=(2.0, 1.0)),
    ])
    stack = c.UndoStack(p)
    stack.push(c.align(p, ["a", "b", "wide"], how))
    axis = 0 if how in ("left", "right", "centre_x") else 1
    got = {e.id: round(e.position[axis], 9) for e in p.elements}
    assert got == expect
    assert len(stack) == 1
    stack.undo()
    assert [e.position for e in p.elements] == [(0.0, 0.0, 0.0), (3.0, 4.0, 0.0),
                                                (6.0, 1.0, 0.0)]


def test_distribute_leaves_equal_gaps_between_the_outermost_two():
    p = m.Project("t", elements=[
        m.Sink("a", position=(0.0, 0.0, 0.0), footprint=(2.0, 1.0)),  # x -1 .. 1
        m.Sink("b", position=(2.0, 3.0, 0.0)),                         # 1 m wide
        m.Sink("c", position=(3.0, 0.0, 0.0), footprint=(3.0, 1.0)),   # 3 m wide
        m.Sink("d", position=(10.0, 0.0, 0.0)),                        # x 9.5 .. 10.5
    ])
    move = c.align(p, ["d", "c", "b", "a"], "distribute_x")
    c.UndoStack(p).push(move)
    xs = {e.id: e.position[0] for e in p.elements}
    # 11.5 m span, 7 m of footprints: gaps of 1.5 m
    assert xs == pytest.approx({"a": 0.0, "b": 3.0, "c": 6.5, "d": 10.0})
    assert p.element("b").position[1] == 3.0  # the other axis stays
    assert move.text == "align 4 elements (distribute x)"


def test_align_needs_enough_elements_and_a_known_way():
    p = split_line()
    assert c.align(p, ["m1"], "left") is None
    assert c.align(p, ["m1", "m2"], "distribute_y") is None
    assert c.align(p, ["m2", "m3"], "centre_x") is None  # aligned already: nothing to undo
    with pytest.raises(ValueError, match="unknown alignment 'middle'"):
        c.align(p, ["m1", "m2"], "middle")
