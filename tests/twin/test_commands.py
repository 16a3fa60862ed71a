"""The undo stack and its commands, without Qt."""

import pytest

from twin.model import commands as c
from twin.model import elements as m
from twin.model.distributions import constant, exponential
from twin.projectfile.reader import project_to_json


def line() -> m.Project:
    p = m.Project("t", elements=[
        m.Source("src", position=(0.0, 0.0, 0.0)),
        m.Station("m1", position=(3.0, 0.0, 0.0), process_time=constant(10.0)),
        m.Buffer("b1", position=(5.0, 0.0, 0.0)),
        m.Sink("out", position=(8.0, 0.0, 0.0)),
    ])
    for a, b in (("src", "m1"), ("m1", "b1"), ("b1", "out")):
        p.connect(a, b)
    return p


def snapshot(p):
    return project_to_json(p)


def roundtrip(stack, cmd):
    """Push, undo, redo: the project must go back and forth exactly."""
    before = snapshot(stack.project)
    stack.push(cmd)
    after = snapshot(stack.project)
    stack.undo()
    assert snapshot(stack.project) == before
    stack.redo()
    assert snapshot(stack.project) == after
    return after


def test_add_and_remove_restore_connections_in_order():
    p = line()
    s = c.UndoStack(p)
    roundtrip(s, c.AddElement(m.Station("m2", process_time=constant(5.0)), index=2))
    assert [e.id for e in p.elements] == ["src", "m1", "m2", "b1", "out"]
    after = roundtrip(s, c.RemoveElement("m1"))
    assert "m1" not in p
    assert [c_.source for c_ in p.connections] == ["b1"]
    s.undo()
    assert [(x.source, x.target) for x in p.connections] == [
        ("src", "m1"), ("m1", "b1"), ("b1", "out")]
    assert p.elements[1].id == "m1"
    s.redo()
    assert snapshot(p) == after


def test_move_drag_merges_into_one_step():
    p = line()
    s = c.UndoStack(p)
    for x in (3.5, 4.0, 4.5):
        s.push(c.MoveElements({"m1": ((3.0, 0.0, 0.0), (x, 1.0, 0.0))}, drag_id=7))
    assert len(s) == 1 and p.element("m1").position == (4.5, 1.0, 0.0)
    s.push(c.MoveElements({"m1": ((4.5, 1.0, 0.0), (6.0, 1.0, 0.0))}, drag_id=8))
    assert len(s) == 2
    s.undo()
    assert p.element("m1").position == (4.5, 1.0, 0.0)
    s.undo()
    assert p.element("m1").position == (3.0, 0.0, 0.0)


def test_rotate_connect_disconnect():
    p = line()
    s = c.UndoStack(p)
    roundtrip(s, c.RotateElement("m1", 450.0))
    assert p.element("m1").rotation == 90.0
    roundtrip(s, c.Connect("src", "b1", 0.5))
    roundtrip(s, c.Disconnect("m1", "b1"))
    with pytest.raises(KeyError):
        s.push(c.Disconnect("m1", "b1"))
    with pytest.raises(ValueError):
        s.push(c.Connect("m1", "m1"))
    assert len(s) == 3


def test_set_field_plain_nested_and_refused():
    p = line()
    s = c.UndoStack(p)
    roundtrip(s, c.SetField("m1", "servers", 3))
    roundtrip(s, c.SetField("m1", "process_time", exponential(30.0)))
    roundtrip(s, c.SetField("m1", "failures",
                            m.Failures("operating", exponential(3600.0), exponential(300.0))))
    roundtrip(s, c.SetField("m1", "failures.time_to_repair", constant(120.0)))
    assert p.element("m1").failures.time_to_repair == constant(120.0)
    assert p.element("m1").failures.basis == "operating"
    with pytest.raises(ValueError, match="ids and kinds are fixed"):
        c.SetField("m1", "id", "m9")
    with pytest.raises(AttributeError, match="no field"):
        s.push(c.SetField("b1", "servers", 2))
    with pytest.raises(AttributeError, match="not set"):
        s.push(c.SetField("m1", "wear.per_operation", 0.1))


def test_set_field_typing_merges_with_key():
    p = line()
    s = c.UndoStack(p)
    for v in (1, 12, 123):
        s.push(c.SetField("b1", "capacity", v, merge_key="typing"))
    assert len(s) == 1 and p.element("b1").capacity == 123
    s.undo()
    assert p.element("b1").capacity == 10


def test_element_events_fire_on_undo():
    p = line()
    s = c.UndoStack(p)
    seen = []
    p.element("m1").events.position.connect(seen.append)
    s.push(c.MoveElements({"m1": ((3.0, 0.0, 0.0), (9.0, 0.0, 0.0))}))
    s.undo()
    assert seen == [(9.0, 0.0, 0.0), (3.0, 0.0, 0.0)]


def test_clean_index_and_signals():
    p = line()
    s = c.UndoStack(p)
    clean, index = [], []
    s.clean_changed.connect(clean.append)
    s.index_changed.connect(index.append)
    assert s.is_clean()
    s.push(c.RotateElement("m1", 10))
    s.push(c.RotateElement("m1", 20))
    assert clean == [False] and index == [1, 2]
    s.set_clean()
    assert clean == [False, True]
    s.undo()
    assert clean == [False, True, False] and not s.is_clean()
    s.redo()
    assert s.is_clean() and clean[-1] is True
    # a drag after saving starts a new step: the saved state stays reachable by undo
    s.push(c.MoveElements({"m1": ((3.0, 0.0, 0.0), (4.0, 0.0, 0.0))}, drag_id=1))
    s.push(c.MoveElements({"m1": ((4.0, 0.0, 0.0), (5.0, 0.0, 0.0))}, drag_id=1))
    s.undo()
    assert s.is_clean()
    # branching off below the saved state makes it unreachable
    s.undo()
    s.push(c.RotateElement("m1", 45))
    assert not s.is_clean()
    s.undo()
    s.redo()
    assert not s.is_clean()
    assert s.undo_text() == "rotate 'm1'"


def test_failed_macro_leaves_project_untouched():
    p = line()
    s = c.UndoStack(p)
    before = snapshot(p)
    with pytest.raises(KeyError):
        s.push(c.Macro([c.RemoveElement("m1"), c.RemoveElement("nope")], "delete"))
    assert snapshot(p) == before and len(s) == 0
    roundtrip(s, c.Macro([c.RemoveElement("m1"), c.RemoveElement("b1")], "delete 2"))
    assert [e.id for e in p.elements] == ["src", "out"]


def test_history_limit_drops_the_oldest_steps_only():
    p = line()
    s = c.UndoStack(p, limit=3)
    s.set_clean()  # saved at rotation 0
    for k in range(1, 6):
        s.push(c.RotateElement("m1", 10 * k))
    assert len(s) == 3 and s.index == 3
    while s.can_undo():
        s.undo()
    assert p.element("m1").rotation == 20  # the two oldest steps are gone
    assert not s.is_clean()  # the saved state was dropped with them: no way back to it
    s.redo()
    assert p.element("m1").rotation == 30
    with pytest.raises(ValueError, match=">= 1"):
        c.UndoStack(p, limit=0)


def test_mark_modified_until_the_next_save():
    p = line()
    s = c.UndoStack(p)
    clean = []
    s.clean_changed.connect(clean.append)
    s.mark_modified()  # a recovered autosave differs from its file with no step to undo
    assert not s.is_clean() and clean == [False]
    s.push(c.RotateElement("m1", 10))
    s.undo()
    assert not s.is_clean()
    s.set_clean()
    assert s.is_clean() and clean == [False, True]
