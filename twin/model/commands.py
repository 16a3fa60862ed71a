"""Every user edit of a project as a command with ``do``/``undo`` on an ``UndoStack``.

Glue's ``core/command.py`` pattern, Qt-free: the workbench maps the stack onto its Undo and
Redo actions and listens to ``index_changed`` and ``clean_changed``. A drag pushes one
``MoveElements`` per mouse move with the same ``drag_id``; consecutive moves of one drag merge
into a single undo step (napari's ``_begin_stroke``/``_commit_stroke``).
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Sequence

from psygnal import Signal

from twin.model import elements as m
from twin.model import references


def named(*names: object) -> str:
    """Names in a command's text, quoted: "add scenario 'scenario'" (a scenario named
    'scenario' read "add scenario scenario")."""
    return ", ".join(f"'{n}'" for n in names)


def of(element: str | None) -> str:
    """" of 'M1'" for a field of element M1; "" for a project field."""
    return f" of {named(element)}" if element else ""


class Command:
    """One undoable edit. ``do`` may raise; the stack then leaves the project untouched."""

    text = "edit"
    #: whether the edit can change what a run computes: one that cannot (which element
    #: shows a recorded asset) leaves the last run's results current
    affects_run = True

    def do(self, project: m.Project) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def undo(self, project: m.Project) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def merge(self, other: Command) -> bool:
        """Absorb ``other`` (already done) into this command; True if merged."""
        return False


class AddElement(Command):
    """Add ``element`` (at ``index``, default the end) and, optionally, connections."""

    def __init__(self, element: m.Element, index: int | None = None,
                 connections: Sequence[m.Connection] = ()):
        self.element, self.index, self.connections = element, index, list(connections)
        self.text = f"add {element.kind} {named(element.id)}"
        self._before: list[m.Connection] = []

    def do(self, project):
        project.add_element(self.element, self.index)
        if self.connections:
            self._before = list(project.connections)
            project.set_connections(self._before + self.connections)

    def undo(self, project):
        project.remove_element(self.element.id)


class RemoveElement(Command):
    """Remove an element with what only made sense with it: its connections, scenarios'
    overrides of it, experiments' factors and responses of it, alert rules' mentions of it
    (``twin.model.references.without_element``); ``notes`` says what went besides the
    connections. Undo puts all of it back, the element at its place."""

    def __init__(self, element_id: str):
        self.element_id = element_id
        self.text = f"delete {named(element_id)}"
        self.notes: list[str] = []
        self._removed: tuple[m.Element, int] | None = None
        self._connections: list[m.Connection] = []
        self._dependents: references.Dependents | None = None

    def do(self, project):
        before = list(project.connections)
        kept = references.Dependents.of(project)
        after = references.without_element(project, self.element_id)
        el, index, _dropped = project.remove_element(self.element_id)
        self._removed, self._connections = (el, index), before
        self._dependents, self.notes = kept, after.notes
        if after.notes:
            after.put(project)

    def undo(self, project):
        assert self._removed is not None and self._dependents is not None
        el, index = self._removed
        project.add_element(el, index)
        project.set_connections(self._connections)
        if self.notes:
            self._dependents.put(project)


class MoveElements(Command):
    """Set the floor positions of several elements at once (one drag = one command)."""

    def __init__(self, moves: dict[str, tuple[tuple[float, float, float],
                                           tuple[float, float, float]]],
                 drag_id: object = None):
        """``moves`` maps element id to ``(old_position, new_position)``."""
        self.moves = {k: (tuple(a), tuple(b)) for k, (a, b) in moves.items()}
        self.drag_id = drag_id
        n = len(self.moves)
        self.text = f"move {named(*self.moves)}" if n == 1 else f"move {n} elements"

    def _apply(self, project, which: int):
        for eid, pair in self.moves.items():
            project.element(eid).position = pair[which]

    def do(self, project):
        self._apply(project, 1)

    def undo(self, project):
        self._apply(project, 0)

    def merge(self, other):
        if (not isinstance(other, MoveElements) or self.drag_id is None
                or other.drag_id != self.drag_id or set(other.moves) != set(self.moves)):
            return False
        self.moves = {k: (self.moves[k][0], other.moves[k][1]) for k in self.moves}
        return True


class RotateElement(Command):
    """Set an element's rotation about the vertical axis (degrees)."""

    def __init__(self, element_id: str, rotation: float):
        self.element_id, self.rotation = element_id, float(rotation) % 360.0
        self.text = f"rotate {named(element_id)}"
        self._old = 0.0

    def do(self, project):
        el = project.element(self.element_id)
        self._old = el.rotation
        el.rotation = self.rotation

    def undo(self, project):
        project.element(self.element_id).rotation = self._old


class Connect(Command):
    """Let material flow from ``source`` to ``target``."""

    def __init__(self, source: str, target: str, weight: float = 1.0):
        self.source, self.target, self.weight = source, target, weight
        self.text = f"connect {named(source)} to {named(target)}"
        self._before: list[m.Connection] = []

    def do(self, project):
        self._before = list(project.connections)
        project.connect(self.source, self.target, self.weight)

    def undo(self, project):
        project.set_connections(self._before)


class Disconnect(Command):
    """Remove the connection from ``source`` to ``target``."""

    def __init__(self, source: str, target: str):
        self.source, self.target = source, target
        self.text = f"disconnect {named(source)} from {named(target)}"
        self._before: list[m.Connection] = []

    def do(self, project):
        conn = next((c for c in project.connections
                     if c.source == self.source and c.target == self.target), None)
        if conn is None:
            raise KeyError(f"{self.source!r} is not connected to {self.target!r}")
        self._before = list(project.connections)
        project.disconnect(conn)

    def undo(self, project):
        project.set_connections(self._before)


class SetField(Command):
    """Set one field of an element, e.g. ``servers``, ``process_time`` or ``failures``.

    A dotted ``field`` (``"failures.time_to_repair"``) replaces the nested frozen dataclass
    whole with ``dataclasses.replace``. Set successive edits of one field (typing) merge only
    when ``merge_key`` is given and equal.
    """

    def __init__(self, element_id: str, field: str, value: object, merge_key: object = None):
        head = field.split(".")[0]
        if head in ("id", "kind"):
            raise ValueError(f"cannot set {field!r} of {element_id!r}: ids and kinds are fixed; "
                             "delete the element and add a new one instead")
        self.element_id, self.field, self.value = element_id, field, value
        self.merge_key = merge_key
        self.text = f"set {field} of {named(element_id)}"
        self._old: object = None

    def do(self, project):
        el = project.element(self.element_id)
        head, *rest = self.field.split(".")
        if not any(f.name == head for f in dataclasses.fields(el)):
            raise AttributeError(f"{el.kind} {self.element_id!r} has no field {head!r}")
        self._old = getattr(el, head)
        setattr(el, head, _replaced(self._old, rest, self.value, self.field))

    def undo(self, project):
        setattr(project.element(self.element_id), self.field.split(".")[0], self._old)

    def merge(self, other):
        return (isinstance(other, SetField) and self.merge_key is not None
                and other.merge_key == self.merge_key and other.field == self.field
                and other.element_id == self.element_id and self._take(other))

    def _take(self, other: SetField) -> bool:
        self.value = other.value
        return True


class SetWeight(Command):
    """Set the split weight of the connection from ``source`` to ``target``, keeping its place
    among the connections (their order is the order of the routing's choices)."""

    def __init__(self, source: str, target: str, weight: float):
        self.source, self.target, self.weight = source, target, float(weight)
        self.text = f"set weight {named(source)} -> {named(target)}"
        self._before: list[m.Connection] = []

    def do(self, project):
        i = next((i for i, c in enumerate(project.connections)
                  if c.source == self.source and c.target == self.target), None)
        if i is None:
            raise KeyError(f"{self.source!r} is not connected to {self.target!r}")
        self._before = list(project.connections)
        conns = list(project.connections)
        conns[i] = dataclasses.replace(conns[i], weight=self.weight)
        project.set_connections(conns)

    def undo(self, project):
        project.set_connections(self._before)


class SetProjectField(Command):
    """Set a plant-wide value (``calendar``, ``tariff``, the ``workers`` pools or the
    ``demand_response`` entries) of the project."""

    FIELDS = ("calendar", "tariff", "workers", "demand_response")

    def __init__(self, field: str, value: object):
        if field not in self.FIELDS:
            raise ValueError(f"cannot set project field {field!r}; one of {self.FIELDS}")
        self.field, self.value = field, value
        self.text = f"set {field}"
        self._old: object = None

    def do(self, project):
        self._old = getattr(project, self.field)
        setattr(project, self.field, self.value)
        project.changed.emit()

    def undo(self, project):
        setattr(project, self.field, self._old)
        project.changed.emit()


def _replaced(obj, path: list[str], value, full: str):
    if not path:
        return value
    if obj is None or not dataclasses.is_dataclass(obj):
        raise AttributeError(f"cannot set {full!r}: {path[0]!r} is inside a value that is not "
                             "set; set the whole parent field instead")
    inner = getattr(obj, path[0])
    return dataclasses.replace(obj, **{path[0]: _replaced(inner, path[1:], value, full)})


class Macro(Command):
    """Several commands as one undo step (delete a selection, duplicate, ...)."""

    def __init__(self, commands: Sequence[Command], text: str = "edit"):
        self.commands, self.text = list(commands), text
        self._done = 0

    def do(self, project):
        self._done = 0
        try:
            for c in self.commands:
                c.do(project)
                self._done += 1
        except BaseException:
            for c in reversed(self.commands[: self._done]):
                c.undo(project)
            raise

    def undo(self, project):
        for c in reversed(self.commands):
            c.undo(project)


class Duplicate(Macro):
    """Copies of the elements ``ids``, shifted by ``offset`` (x, y m) on the floor, with the
    connections among them re-pointed to the copies, as one undo step.

    Connections to elements outside the selection are not copied (issue 3): a copied
    station would otherwise take a share of its predecessor's parts the moment it appears.
    ``new_ids`` maps each original to its copy (its id stem with the next free number).
    """

    def __init__(self, project: m.Project, ids: Sequence[str],
                 offset: tuple[float, float] = (1.0, 1.0)):
        taken = {el.id for el in project.elements}
        self.new_ids: dict[str, str] = {}
        commands: list[Command] = []
        for eid in dict.fromkeys(ids):
            el = project.element(eid)
            stem = eid.rstrip("0123456789") or eid
            i = 1
            while f"{stem}{i}" in taken:
                i += 1
            nid = f"{stem}{i}"
            taken.add(nid)
            self.new_ids[eid] = nid
            x, y, z = el.position
            commands.append(AddElement(_copied(el, nid, (x + offset[0], y + offset[1], z))))
        for c in project.connections:
            if c.source in self.new_ids and c.target in self.new_ids:
                commands.append(Connect(self.new_ids[c.source], self.new_ids[c.target],
                                        c.weight))
        super().__init__(commands, f"duplicate {named(*self.new_ids)}")


def _copied(el: m.Element, new_id: str, position) -> m.Element:
    """A copy of ``el`` that shares no mutable value (dicts, lists) with it."""
    values = {f.name: copy.deepcopy(getattr(el, f.name)) for f in dataclasses.fields(el)}
    values.update(id=new_id, position=tuple(position))
    return type(el)(**values)


ALIGNMENTS = ("left", "centre_x", "right", "bottom", "centre_y", "top",
              "distribute_x", "distribute_y")


def floor_bounds(el: m.Element) -> tuple[float, float, float, float]:
    """Axis-aligned box (xmin, xmax, ymin, ymax) of the element's turned footprint (m)."""
    a = math.radians(el.rotation)
    w, d = el.footprint
    hx = abs(w * math.cos(a)) / 2 + abs(d * math.sin(a)) / 2
    hy = abs(w * math.sin(a)) / 2 + abs(d * math.cos(a)) / 2
    x, y, _ = el.position
    return x - hx, x + hx, y - hy, y + hy


def align(project: m.Project, ids: Sequence[str], how: str) -> MoveElements | None:
    """The move that aligns the elements ``ids`` on the floor, or None when none would move.

    ``how`` is one of ``ALIGNMENTS``: ``left``/``right``/``bottom``/``top`` line up the
    edges of the turned footprints with the outermost one (``top`` is the largest y, as
    seen in the top view), ``centre_x``/``centre_y`` put the centres on the mean of the
    outermost edges; ``distribute_x``/``distribute_y`` keep the two outermost elements and
    space the others so that the gaps between neighbouring footprints are equal.
    """
    if how not in ALIGNMENTS:
        raise ValueError(f"unknown alignment {how!r}; expected one of {ALIGNMENTS}")
    els = [project.element(i) for i in dict.fromkeys(ids)]
    if len(els) < (3 if how.startswith("distribute") else 2):
        return None
    axis = 0 if how in ("left", "centre_x", "right", "distribute_x") else 1
    lo = {el.id: floor_bounds(el)[2 * axis] for el in els}
    hi = {el.id: floor_bounds(el)[2 * axis + 1] for el in els}
    shift: dict[str, float] = {}
    if how in ("left", "bottom"):
        shift = {i: min(lo.values()) - lo[i] for i in lo}
    elif how in ("right", "top"):
        shift = {i: max(hi.values()) - hi[i] for i in hi}
    elif how.startswith("centre"):
        mid = (min(lo.values()) + max(hi.values())) / 2
        shift = {i: mid - (lo[i] + hi[i]) / 2 for i in lo}
    else:
        order = sorted(lo, key=lambda i: ((lo[i] + hi[i]) / 2, lo[i]))
        sizes = sum(hi[i] - lo[i] for i in order)
        gap = (hi[order[-1]] - lo[order[0]] - sizes) / (len(order) - 1)
        edge = lo[order[0]]
        for i in order:
            shift[i] = edge - lo[i]
            edge += hi[i] - lo[i] + gap
    moves = {}
    for el in els:
        if abs(shift[el.id]) > 1e-9:
            old = el.position
            new = list(old)
            new[axis] = old[axis] + shift[el.id]
            moves[el.id] = (old, tuple(new))
    if not moves:
        return None
    cmd = MoveElements(moves)
    cmd.text = f"align {len(els)} elements ({how.replace('_', ' ')})"
    return cmd


class UndoStack:
    """Commands done on one project, with an index and a clean (saved) index.

    ``index_changed(int)`` fires after push, undo and redo; ``clean_changed(bool)`` when the
    project starts or stops matching what was last saved.
    """

    index_changed = Signal(int)
    clean_changed = Signal(bool)

    #: Commands kept for undo; the oldest are dropped beyond it (Qt's QUndoStack has the
    #: same ``undoLimit``). Each command holds the values it changed, so an unbounded history
    #: of a long editing session grows without end.
    LIMIT = 1000

    def __init__(self, project: m.Project, limit: int = LIMIT):
        if limit < 1:
            raise ValueError(f"an undo limit must be >= 1, got {limit}")
        self.project = project
        self.limit = limit
        self._commands: list[Command] = []
        self._index = 0
        self._clean: int | None = 0
        self.last: Command | None = None  # the command done, undone or redone last

    # --- state ---------------------------------------------------------------------------------
    @property
    def index(self) -> int:
        return self._index

    def __len__(self) -> int:
        return len(self._commands)

    def is_clean(self) -> bool:
        return self._clean == self._index

    def can_undo(self) -> bool:
        return self._index > 0

    def can_redo(self) -> bool:
        return self._index < len(self._commands)

    def undo_text(self) -> str:
        return self._commands[self._index - 1].text if self.can_undo() else ""

    def redo_text(self) -> str:
        return self._commands[self._index].text if self.can_redo() else ""

    # --- changes -------------------------------------------------------------------------------
    def push(self, command: Command) -> Command:
        """Do ``command`` and record it (merged into the last one when it says so)."""
        was_clean = self.is_clean()
        command.do(self.project)
        del self._commands[self._index:]
        if self._clean is not None and self._clean > self._index:
            self._clean = None  # the saved state was undone and is now unreachable
        top = self._commands[-1] if self._commands else None
        if top is not None and not was_clean and top.merge(command):
            self.last = top
            self._emit(was_clean)
            return top
        self.last = command
        self._commands.append(command)
        self._index += 1
        if len(self._commands) > self.limit:
            drop = len(self._commands) - self.limit
            del self._commands[:drop]
            self._index -= drop
            if self._clean is not None:  # a saved state among the dropped is unreachable
                self._clean = self._clean - drop if self._clean >= drop else None
        self._emit(was_clean)
        return command

    def undo(self) -> None:
        if not self.can_undo():
            return
        was_clean = self.is_clean()
        self.last = self._commands[self._index - 1]
        self.last.undo(self.project)
        self._index -= 1
        self._emit(was_clean)

    def redo(self) -> None:
        if not self.can_redo():
            return
        was_clean = self.is_clean()
        self.last = self._commands[self._index]
        self.last.do(self.project)
        self._index += 1
        self._emit(was_clean)

    def forget(self, commands: Sequence[Command]) -> bool:
        """Undo ``commands`` when they are the last ones done, in order, and drop them from
        the history: a dialog's Cancel discards its edits and leaves no *Redo* of them.
        False, touching nothing, when they are not the last done (other edits came after)."""
        n = len(commands)
        done = self._commands[self._index - n:self._index] if n <= self._index else []
        if len(done) != n or any(a is not b for a, b in zip(done, commands, strict=True)):
            return False
        for _ in range(n):
            self.undo()
        del self._commands[self._index:]
        if self._clean is not None and self._clean > self._index:
            self._clean = None
        self.index_changed.emit(self._index)  # the Redo offered is gone
        return True

    def set_clean(self) -> None:
        """Mark the present state as saved."""
        was_clean = self.is_clean()
        self._clean = self._index
        if not was_clean:
            self.clean_changed.emit(True)

    def mark_modified(self) -> None:
        """Mark the project as differing from its file whatever the history says (a
        recovered autosave, an import): only a save makes it clean again."""
        was_clean = self.is_clean()
        self._clean = None
        if was_clean:
            self.clean_changed.emit(False)

    def clear(self) -> None:
        was_clean = self.is_clean()
        self._commands.clear()
        self._index = 0
        self._clean = 0
        self._emit(was_clean)

    def _emit(self, was_clean: bool) -> None:
        self.index_changed.emit(self._index)
        if self.is_clean() != was_clean:
            self.clean_changed.emit(self.is_clean())


# --- scenarios (issue 14, §3) ------------------------------------------------------------------
# Each scenario command replaces ``project.scenarios`` with a new list and keeps the old one
# for its undo: scenarios and overrides are frozen, so a list of them is a cheap, exact
# snapshot, and undo cannot drift from do.


def _set_scenarios(project: m.Project, scenarios: list[m.Scenario]) -> None:
    project.scenarios = list(scenarios)
    project.scenarios_changed.emit()
    project.changed.emit()


def check_scenario_name(project: m.Project, name: str, allow: str | None = None) -> str:
    """``name`` stripped, or ``ValueError`` saying why a scenario cannot be called so.

    ``allow`` is the scenario being renamed (its own name is not a clash)."""
    name = str(name).strip()
    if not name:
        raise ValueError("a scenario needs a name; type one")
    if name == "base":
        raise ValueError("'base' names the project itself; pick another scenario name")
    if name != allow and any(s.name == name for s in project.scenarios):
        raise ValueError(f"a scenario named {name!r} exists already; names must be unique")
    return name


def unique_scenario_name(project: m.Project, stem: str = "scenario") -> str:
    """``stem`` if free, else ``stem 2``, ``stem 3``, ... (never ``base``)."""
    taken = {s.name for s in project.scenarios} | {"base"}
    if stem not in taken:
        return stem
    i = 2
    while f"{stem} {i}" in taken:
        i += 1
    return f"{stem} {i}"


class _ScenarioCommand(Command):
    """Replace the scenario list by ``_changed(old list)``; undo puts the old list back."""

    def __init__(self):
        self._before: list[m.Scenario] = []

    def _changed(self, project: m.Project, scenarios: list[m.Scenario]) -> list[m.Scenario]:
        raise NotImplementedError  # pragma: no cover - interface

    def _index(self, project: m.Project, name: str) -> int:
        for i, s in enumerate(project.scenarios):
            if s.name == name:
                return i
        raise KeyError(f"no scenario {name!r} in project {project.name!r}")

    def do(self, project):
        before = list(project.scenarios)
        after = self._changed(project, list(before))
        self._before = before
        _set_scenarios(project, after)

    def undo(self, project):
        _set_scenarios(project, self._before)


class AddScenario(_ScenarioCommand):
    """Add a scenario ``name`` (at ``index``, default the end) with ``overrides``."""

    def __init__(self, name: str, overrides: Sequence[m.Override] = (), description: str = "",
                 index: int | None = None):
        super().__init__()
        self.scenario = m.Scenario(str(name).strip(), tuple(overrides), description)
        self.index = index
        self.text = f"add scenario {named(self.scenario.name)}"

    def _changed(self, project, scenarios):
        check_scenario_name(project, self.scenario.name)
        scenarios.insert(len(scenarios) if self.index is None else self.index, self.scenario)
        return scenarios


class DuplicateScenario(_ScenarioCommand):
    """A copy of scenario ``name`` right after it, called ``new_name`` (default
    ``<name> copy``, numbered when taken)."""

    def __init__(self, project: m.Project, name: str, new_name: str | None = None):
        super().__init__()
        self.name = name
        self.new_name = new_name or unique_scenario_name(project, f"{name} copy")
        self.text = f"duplicate scenario {named(name)}"

    def _changed(self, project, scenarios):
        i = self._index(project, self.name)
        new = check_scenario_name(project, self.new_name)
        scenarios.insert(i + 1, dataclasses.replace(scenarios[i], name=new))
        return scenarios


class RenameScenario(_ScenarioCommand):
    """Call scenario ``name`` ``new_name``; refuses ``base``, a taken name and no name."""

    def __init__(self, name: str, new_name: str):
        super().__init__()
        self.name, self.new_name = name, new_name
        self.text = f"rename scenario {named(name)} to {named(str(new_name).strip())}"

    def _changed(self, project, scenarios):
        i = self._index(project, self.name)
        new = check_scenario_name(project, self.new_name, allow=self.name)
        scenarios[i] = dataclasses.replace(scenarios[i], name=new)
        return scenarios


class DeleteScenario(_ScenarioCommand):
    """Remove scenario ``name``; undo puts it back at its place."""

    def __init__(self, name: str):
        super().__init__()
        self.name = name
        self.text = f"delete scenario {named(name)}"

    def _changed(self, project, scenarios):
        del scenarios[self._index(project, self.name)]
        return scenarios


class SetOverride(_ScenarioCommand):
    """In scenario ``name``, set ``path`` of ``element`` (None: the document root) to
    ``value`` (in the file's JSON form). An existing override of the same element and path
    is replaced in place; a new one goes to the end (overrides apply in order)."""

    def __init__(self, name: str, element: str | None, path: str, value: object):
        super().__init__()
        path = str(path).strip()
        if not path:
            raise ValueError("an override needs a field: choose one")
        self.name, self.override = name, m.Override(path, copy.deepcopy(value), element)
        self.text = f"set {path}{of(element)} in scenario {named(name)}"

    def applied(self, scenario: m.Scenario) -> m.Scenario:
        """``scenario`` with this override set (what ``do`` stores), to check it first."""
        ovs = list(scenario.overrides)
        o = self.override
        at = next((j for j, x in enumerate(ovs)
                   if x.element == o.element and x.path == o.path), None)
        if at is None:
            ovs.append(o)
        else:
            ovs[at] = o
        return dataclasses.replace(scenario, overrides=tuple(ovs))

    def _changed(self, project, scenarios):
        i = self._index(project, self.name)
        scenarios[i] = self.applied(scenarios[i])
        return scenarios


class RemoveOverride(_ScenarioCommand):
    """Remove the override of ``path`` of ``element`` from scenario ``name``."""

    def __init__(self, name: str, element: str | None, path: str):
        super().__init__()
        self.name, self.element, self.path = name, element, path
        self.text = f"remove {path}{of(element)} from scenario {named(name)}"

    def _changed(self, project, scenarios):
        i = self._index(project, self.name)
        ovs = [o for o in scenarios[i].overrides
               if not (o.element == self.element and o.path == self.path)]
        if len(ovs) == len(scenarios[i].overrides):
            raise KeyError(f"scenario {self.name!r} does not override {self.path!r} of "
                           f"{self.element!r}")
        scenarios[i] = dataclasses.replace(scenarios[i], overrides=tuple(ovs))
        return scenarios


class SetRecordingAsset(Command):
    """Remember which element shows an asset of a recording, in the project's
    ``meta["recording_assets"][recording][asset]`` (issue 14: the mapping a user makes in
    the replay panel is kept with the project; ``""`` removes it)."""

    affects_run = False

    def __init__(self, recording: str, asset: str, element_id: str):
        self.recording, self.asset, self.element_id = recording, asset, element_id
        # "show '2' on 'M2'" read as a setting of M2's; it is the replay's asset mapping
        self.text = (f"map recorded asset {named(asset)} to {named(element_id)}" if element_id
                     else f"unmap recorded asset {named(asset)}")
        self._old: dict | None = None

    def do(self, project):
        self._old = copy.deepcopy(project.meta.get("recording_assets"))
        table = dict(project.meta.get("recording_assets") or {})
        assets = dict(table.get(self.recording) or {})
        assets[self.asset] = self.element_id
        table[self.recording] = assets
        project.meta["recording_assets"] = table

    def undo(self, project):
        if self._old is None:
            project.meta.pop("recording_assets", None)
        else:
            project.meta["recording_assets"] = self._old


class SetMeta(Command):
    """Set ``project.meta[key]`` to ``value`` (a JSON value; ``None`` removes the key): what
    the workbench keeps with a project, such as its floor plan (``meta.floor_plan``)."""

    def __init__(self, key: str, value: object, text: str | None = None):
        self.key, self.value = str(key), copy.deepcopy(value)
        self.text = text or f"set {self.key}"
        self._old: object = None
        self._had = False

    def do(self, project):
        self._had = self.key in project.meta
        self._old = copy.deepcopy(project.meta.get(self.key))
        if self.value is None:
            project.meta.pop(self.key, None)
        else:
            project.meta[self.key] = copy.deepcopy(self.value)
        project.changed.emit()

    def undo(self, project):
        if self._had:
            project.meta[self.key] = self._old
        else:
            project.meta.pop(self.key, None)
        project.changed.emit()


class SetExperiment(Command):
    """Put ``experiment`` (a ``twin.model.experiments.Experiment``) into the project's
    experiments: in place of the one of the same name, or at the end. Undo puts the list
    back as it was."""

    def __init__(self, experiment):
        self.experiment = experiment
        self.text = f"save experiment {named(experiment.name)}"
        self._before: list = []

    def do(self, project):
        self._before = list(project.experiments)
        after = list(self._before)
        names = [e.name for e in after]
        if self.experiment.name in names:
            after[names.index(self.experiment.name)] = self.experiment
        else:
            after.append(self.experiment)
        project.experiments = after
        project.changed.emit()

    def undo(self, project):
        project.experiments = list(self._before)
        project.changed.emit()
