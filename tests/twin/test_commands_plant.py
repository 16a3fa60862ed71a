"""Commands of the property editors (issue 14 §2): a connection's weight in place, and the
plant-wide calendar and tariff, each one undo step."""

import pytest

from twin.model import commands as cmd
from twin.model import elements as m


def project():
    p = m.Project("p", elements=[m.Source("s"), m.Station("a"), m.Station("b"), m.Sink("o")])
    for a, b in (("s", "a"), ("s", "b"), ("a", "o"), ("b", "o")):
        p.connect(a, b)
    return p


def test_set_weight_keeps_the_order_of_the_connections_and_undoes():
    p = project()
    stack = cmd.UndoStack(p)
    before = list(p.connections)
    changed = []
    p.connections_changed.connect(lambda: changed.append(1))
    stack.push(cmd.SetWeight("s", "a", 3.0))
    assert [(c.source, c.target, c.weight) for c in p.connections] == [
        ("s", "a", 3.0), ("s", "b", 1.0), ("a", "o", 1.0), ("b", "o", 1.0)]
    assert changed
    stack.undo()
    assert p.connections == before
    with pytest.raises(KeyError, match="'a' is not connected to 'b'"):
        stack.push(cmd.SetWeight("a", "b", 1.0))


def test_set_project_field_sets_calendar_and_tariff_and_undoes():
    p = project()
    stack = cmd.UndoStack(p)
    seen = []
    p.changed.connect(lambda: seen.append(1))
    cal = m.Calendar((m.Period(0.0, 28800.0),))
    stack.push(cmd.SetProjectField("calendar", cal))
    stack.push(cmd.SetProjectField("tariff", m.Tariff(0.2)))
    assert p.calendar == cal and p.tariff == m.Tariff(0.2) and len(seen) == 2
    assert stack.undo_text() == "set tariff"
    stack.undo()
    stack.undo()
    assert p.calendar is None and p.tariff is None and len(seen) == 4
    with pytest.raises(ValueError, match="cannot set project field 'name'"):
        cmd.SetProjectField("name", "x")


def test_set_meta_sets_replaces_removes_and_undoes_each():
    p = project()
    p.meta["author"] = "me"
    stack = cmd.UndoStack(p)
    changed = []
    p.changed.connect(lambda: changed.append(1))
    plan = {"image": "plan.png", "origin": [0.0, 0.0], "metres_per_pixel": 0.05}
    stack.push(cmd.SetMeta("floor_plan", plan))
    plan["origin"][0] = 99.0  # the command holds its own copy
    assert p.meta == {"author": "me", "floor_plan": {"image": "plan.png", "origin": [0.0, 0.0],
                                                     "metres_per_pixel": 0.05}}
    stack.push(cmd.SetMeta("floor_plan", {**p.meta["floor_plan"], "metres_per_pixel": 0.1}))
    stack.push(cmd.SetMeta("floor_plan", None))
    assert p.meta == {"author": "me"} and len(changed) == 3
    stack.undo()
    assert p.meta["floor_plan"]["metres_per_pixel"] == 0.1
    stack.undo()
    assert p.meta["floor_plan"]["metres_per_pixel"] == 0.05
    stack.undo()
    assert p.meta == {"author": "me"}
    stack.push(cmd.SetMeta("author", None))  # removing a key that was there comes back
    stack.undo()
    assert p.meta == {"author": "me"}
