"""The inspector: every parameter of the selected element, validated as you type.

Validation is the project reader's: the edited value goes into the element's JSON form and
``twin.projectfile.reader`` reads it back, so the inspector refuses exactly what a project
file would, with the same reason. A valid edit becomes one ``SetField`` command. Times,
failures, power, wear, maintenance and routing have their own editors (``app.editors``), so
no JSON is typed by hand; derived values (a station's efficiency and isolated rate, a
conveyor's length, transport time and capacity) show read-only below the fields. A station's
mesh row has an *Import mesh…* button: the file is copied into the project folder
(``twin.projectfile.meshes.import_mesh``) and the field set by one command."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.editors import derived
from app.editors.assembly import AssemblyEditor
from app.editors.distribution import DistributionEditor
from app.editors.energy_saving import EnergySavingEditor
from app.editors.fields import Choice, narrow
from app.editors.orders import OrdersEditor
from app.editors.routing import RoutingEditor
from app.editors.station import (
    FailuresEditor,
    MaintenanceEditor,
    PowerEditor,
    ProductDistEditor,
    WearEditor,
)
from app.meshes import guess_scale
from twin.errors import Problems, ProjectError
from twin.model import commands as cmd
from twin.model import elements as m
from twin.model.orders import SEQUENCING_RULES
from twin.projectfile.batching import RELEASES
from twin.projectfile.meshes import import_mesh
from twin.projectfile.orders import orders_to_json
from twin.projectfile.reader import element_from_json, element_to_json, products
from twin.projectfile.scenarios import MISSING, overridden_fields
from twin.projectfile.workers import check_station_workers

UNITS = {
    "position": "m (x, y, z)", "rotation": "°", "footprint": "m (width, depth)",
    "process_time": "s", "setup_time": "s", "arrival": "s between parts",
    "schedule_period": "s", "scrap": "fraction 0-1", "power_kw": "kW per state",
    "capacity": "parts (empty: unlimited)", "servers": "parallel", "length": "m (empty: layout)",
    "speed": "m/s", "spacing": "m", "product_mix": "weights", "schedule": "[time, product, qty]",
    "failures": "s", "maintenance": "s", "wear": "per op / busy h",
    "mesh": "STL/OBJ in the project folder; scale: m per unit",
    "workers": '{"repair": pool, "setup": pool, "process": pool, "priority": 0}',
    "assembly": "bill of materials: parts per input",
    "energy_saving": "standby or off after s without work; restart s, kWh",
    "batch": '{"size": 8, "timeout": "60min", "min_fill": 4, "capacity": 16} (empty: one part)',
    "unbatch": "hands each load's parts on",
    "orders": "id, product, quantity, release, due, priority",
    "sequencing": "which waiting part goes first",
}
CHOICES = {
    "routing": m.ROUTINGS, "when_blocked": ("queue", "lose"), "off_shift": ("off", "standby"),
    "sequencing": SEQUENCING_RULES,
}
TEXT_FIELDS = ("name",)
#: What a source without arrivals does (docs/semantics.md, Sources)
NO_ARRIVAL = ("(none): unlimited raw material: a part whenever the next element can take one "
              "(or the rows of its schedule, when it has one)")
#: Fields with an editor of their own instead of a line edit (issue 14 §2).
STRUCTURED = {
    "process_time": lambda: ProductDistEditor(optional=True),
    "setup_time": lambda: ProductDistEditor(optional=True),
    "arrival": lambda: DistributionEditor(optional=True, none_means=NO_ARRIVAL),
    "failures": FailuresEditor, "power_kw": PowerEditor, "wear": WearEditor,
    "maintenance": MaintenanceEditor, "routing": RoutingEditor, "assembly": AssemblyEditor,
    "energy_saving": EnergySavingEditor,
    "orders": OrdersEditor,
}
MESH_FILTER = "Meshes (*.stl *.obj *.STL *.OBJ);;All files (*)"
_SHORT = re.compile(r"^\s*([a-z_]+)\s*\((.*)\)\s*$")


def parse_text(text: str):
    """The JSON value typed in a field; ``name(k=v, ...)`` is a distribution's short form."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    mt = _SHORT.match(text)
    if mt:
        out: dict = {"dist": mt.group(1)}
        for part in filter(None, (p.strip() for p in mt.group(2).split(","))):
            k, _, v = part.partition("=")
            try:
                out[k.strip()] = json.loads(v)
            except json.JSONDecodeError:
                out[k.strip()] = v.strip()
        return out
    return text  # a duration such as "2h", or a word the reader will judge


def _plain(v):
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v


def check_field(el: m.Element, key: str, raw, folder: Path | None = None,
                project: m.Project | None = None) -> tuple[object, list[str]]:
    """Read ``raw`` (JSON value, ``None``: unset) as field ``key`` of ``el``; ``folder`` is the
    project folder, where a mesh file must exist when it is the field being set (a station
    whose mesh went missing after it was set still takes edits of its other fields). A
    station's ``workers`` must name pools (or skills) of ``project``'s worker pools.

    Returns the model value and the problems the project reader found (empty when valid).
    """
    obj = element_to_json(el)
    if raw is None or raw == "":
        obj.pop(key, None)
        if key == "capacity":
            obj[key] = None
    else:
        obj[key] = raw
    try:
        new = element_from_json(obj, el.id, folder, None if key == "mesh" else [])
    except ProjectError as e:
        return None, [p.format() for p in e.problems]
    if key == "workers" and project is not None:
        problems = Problems()
        check_station_workers(project.workers, new, el.id, problems)
        if problems:
            return None, [p.format() for p in problems.items]
    return getattr(new, key), []


def _tip(key: str) -> str:
    return f"{key} ({UNITS[key]})" if key in UNITS else key


CHANGED = QColor(255, 236, 153)  # a field a scenario changes: the highlight of a text marker


def shown(value) -> str:
    """A value as the editor shows and takes it: compact JSON; '(not set)' for MISSING."""
    if value is MISSING:
        return "(not set)"
    return json.dumps(value, ensure_ascii=False)


class Inspector(QWidget):
    """Edits the selected element; shows why a value is refused, and what the scenario
    chosen in the Scenarios dock changes of it (base and scenario side by side)."""

    message = Signal(str)
    #: the fields show the element anew (rows and editors may be new widgets)
    refreshed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.stack: cmd.UndoStack | None = None
        self.element: m.Element | None = None
        self.editors: dict[str, QWidget] = {}
        self.refused: dict[str, list[str]] = {}  # red fields: the reader's reasons, all shown
        # refused typing of elements no longer shown, by element id: shown again, red with
        # its reason, when the element is (polish2 §6); another selection dropped it unsaid
        self.drafts: dict[str, dict[str, str]] = {}
        self._index = 0  # the stack's index: an undo drops the refused typing
        self._rows_of: type | None = None  # the element type the rows were built for
        self.title = QLabel("Nothing selected")
        self.title.setStyleSheet("font-weight: bold")
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d03030")
        self.project_problems: dict[str, list[str]] = {}
        self.problems = QLabel("")  # the project's problems with this element (its flow)
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet("color: #d03030")
        self.derived = QLabel("")
        self.derived.setStyleSheet("color: #406080")
        self.derived.setToolTip("derived from the fields and the layout; read-only")
        self.derived.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.scenario = "base"  # chosen in the Scenarios dock
        self.rows: dict[str, QWidget] = {}  # each field's row, for its label
        self.scenario_note = QLabel("")
        self.scenario_note.setWordWrap(True)
        self.scenario_note.setTextFormat(Qt.PlainText)
        self.scenario_note.setStyleSheet(
            f"background: {CHANGED.name()}; color: black; padding: 3px")
        self.scenario_note.hide()
        self.form_host = QWidget()
        self.form = QFormLayout(self.form_host)
        # never squash the rows below their height: scroll instead
        self.form.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form_host)
        self.setMinimumHeight(240)
        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addWidget(self.problems)
        lay.addWidget(self.derived)
        lay.addWidget(self.scenario_note)
        lay.addWidget(scroll, 1)
        lay.addWidget(self.error)

    def sizeHint(self):
        # the editors (a density plot per time) are tall: ask the dock area for room, so
        # that the Run panel below does not leave the inspector a strip
        return QSize(320, 620)

    def set_stack(self, stack: cmd.UndoStack) -> None:
        if self.stack is not None:
            self.stack.index_changed.disconnect(self._stack_changed)
        self.stack = stack
        # a move of a conveyor's neighbour or a new connection changes derived values and
        # the routing table without an event of the element shown
        stack.index_changed.connect(self._stack_changed)
        self._index = stack.index
        self.show_element(None)
        self.drafts.clear()  # another project's typing

    def _stack_changed(self, index: int = 0, *_):
        undone, self._index = index < self._index, index
        if undone:  # Edit > Undo: the refused typing goes too, the fields show the model
            for key in list(self.refused):
                self._mark(key, [])
            self.drafts.clear()
        if self.element is not None and self.element.id in self.stack.project:
            self._refresh()

    def show_element(self, el: m.Element | None) -> None:
        if self.element is not None:
            self.element.events.disconnect(self._refresh)
        # an element of the kind shown keeps the rows: building a station's editors (five
        # density plots) cost about 0.5 s per click on a busy machine
        keep = el is not None and bool(self.editors) and type(el) is self._rows_of
        if self.element is not None and self.refused:
            self.drafts[self.element.id] = {k: self.editors[k].text() for k in self.refused
                                            if isinstance(self.editors.get(k), QLineEdit)}
        self.element = el
        for key in list(self.refused):
            self._mark(key, [])  # the last element's refused text
        if not keep:
            while self.form.rowCount():
                self.form.removeRow(0)
            self.editors.clear()
            self.rows.clear()
            self._rows_of = type(el) if el is not None else None
        self.error.setText("")
        self.derived.setText("")
        self.problems.setText("")
        if el is None:
            self.title.setText("Nothing selected")
            self._show_scenario()
            return
        self.title.setText(f"{el.kind.capitalize()} {el.id}")
        if not keep:
            for f in dataclasses.fields(el):
                # extra: custom x- fields, kept as written; orders_file: shown by the orders
                if f.name not in ("id", "extra", "orders_file"):
                    self._add_row(f.name)
        el.events.connect(self._refresh)
        self._refresh()
        self._restore_drafts(el.id)

    def _restore_drafts(self, element_id: str) -> None:
        """The refused typing left in this element's fields, red again with its reason; typing
        the model has since made valid is not applied behind the user's back: the field shows
        the model's value, and the status bar says the typing went."""
        for key, text in self.drafts.pop(element_id, {}).items():
            w = self.editors.get(key)
            if not isinstance(w, QLineEdit):
                continue
            w.setText(text)
            if not self._validate(key)[1]:
                w.setText(self._text_of(key))
                self.message.emit(f"{element_id}.{key}: {text!r}, refused before, was not "
                                  "applied; it shows the project's value")

    def _add_row(self, key: str) -> None:
        el = self.element
        value = getattr(el, key)
        if key in STRUCTURED:
            w = STRUCTURED[key]()
            w.committed.connect(lambda v, k=key: self._commit_structured(k, v))
            if isinstance(w, DistributionEditor | ProductDistEditor):
                w.check = lambda v, k=key: check_field(self.element, k, v, self.folder())[1]
            if isinstance(w, RoutingEditor):
                w.weight_committed.connect(self._commit_weight)
            w.setToolTip(_tip(key))
            self.form.addRow(key, w)
            self.editors[key] = w
            self.rows[key] = w
            return
        if key in CHOICES:
            w = Choice()
            w.addItems(list(CHOICES[key]))
            w.activated.connect(lambda _i, k=key, w=w: self._commit(k, w.currentText()))
        elif isinstance(value, bool):
            w = QCheckBox()
            w.toggled.connect(lambda on, k=key: self._commit(k, on))
        else:
            w = QLineEdit()
            w.textEdited.connect(lambda _t, k=key: self._validate(k))
            w.editingFinished.connect(lambda k=key: self._finish(k))
        w.setToolTip(_tip(key))
        row = QWidget()
        h = QHBoxLayout(row)
        h.setContentsMargins(0, 0, 0, 0)
        h.addWidget(w, 1)
        if key == "batch":  # issue 18 §2: how a done load leaves, beside the batch itself
            self.release = narrow(Choice(), 5)
            self.release.addItems(list(RELEASES))
            self.release.setToolTip("release: a done load leaves part by part, or as one "
                                    "load (a basket) to an unbatch station")
            self.release.activated.connect(lambda _i: self._commit_release())
            h.addWidget(self.release)
        if key == "mesh":
            self.import_button = QPushButton("Import mesh…")
            self.import_button.setToolTip("Copy an STL or OBJ file into the project's meshes/ "
                                          "folder and draw this station with it")
            self.import_button.clicked.connect(self.import_mesh_dialog)
            h.addWidget(self.import_button)
        if key in UNITS and len(UNITS[key]) > 16 and isinstance(w, QLineEdit):
            # a long hint would widen every row past the dock: it shows in the empty field
            w.setPlaceholderText(UNITS[key])
        elif key in UNITS:
            unit = QLabel(UNITS[key])
            unit.setStyleSheet("color: gray")
            h.addWidget(unit)
        self.form.addRow(key, row)
        self.editors[key] = w
        self.rows[key] = row

    def _text_of(self, key: str) -> str:
        el = self.element
        if key in TEXT_FIELDS:
            return getattr(el, key) or ""
        doc = element_to_json(el)
        v = doc[key] if key in doc else _plain(getattr(el, key))
        return "" if v is None else json.dumps(v)

    def set_scenario(self, name: str) -> None:
        """Show what scenario ``name`` changes of the element ("base": nothing)."""
        self.scenario = name or "base"
        self._show_scenario()

    def _show_scenario(self) -> None:
        """Base and scenario values of the fields the scenario changes, above the form, and
        their labels highlighted."""
        fields = {}
        el, project = self.element, self.stack.project if self.stack is not None else None
        if el is not None and project is not None and self.scenario != "base":
            try:
                fields = overridden_fields(project, self.scenario, el.id)
            except KeyError:  # the scenario was deleted: the dock chooses another one
                fields = {}
        changed = {p: bv for p, bv in fields.items() if bv[0] != bv[1]}
        for key, row in self.rows.items():
            label = self.form.labelForField(row)
            if label is None:
                continue
            mine = {p: bv for p, bv in changed.items() if p.split(".")[0] == key}
            label.setStyleSheet(f"background: {CHANGED.name()}; color: black" if mine else "")
            label.setToolTip("\n".join(f"scenario {self.scenario!r} sets {p} = {shown(v)} "
                                        f"(base: {shown(b)})" for p, (b, v) in mine.items()))
        if changed:
            lines = [f"{p}: {shown(b)}  →  {shown(v)}" for p, (b, v) in changed.items()]
            self.scenario_note.setText(f"Scenario {self.scenario!r} (base → scenario):\n"
                                       + "\n".join(lines))
        self.scenario_note.setVisible(bool(changed))

    def _refresh(self, *_):
        if self.element is None:
            return
        self._show_derived()
        self._show_scenario()
        for key, w in self.editors.items():
            if key in STRUCTURED:
                self._refresh_structured(key, w)
            elif isinstance(w, QComboBox):
                w.setCurrentText(getattr(self.element, key))
            elif isinstance(w, QCheckBox):
                w.blockSignals(True)
                w.setChecked(bool(getattr(self.element, key)))
                w.blockSignals(False)
            elif key in self.refused:
                self._validate(key)  # another field or an undo may have made it valid
            else:
                text = self._text_of(key)
                w.setText(text)
                w.setCursorPosition(0)  # show the start of a long value, not its end
                w.setToolTip(f"{_tip(key)}: {text}" if text else _tip(key))
        if "batch" in self.editors:
            batch = self.element.batch
            self.release.setCurrentText(batch.release if batch is not None else "parts")
            self.release.setEnabled(batch is not None)
        self.refreshed.emit()

    def _commit_release(self) -> None:
        """The release chosen: the batch with it, judged by the reader as the whole field."""
        el = self.element
        raw = element_to_json(el).get("batch") if el is not None else None
        if raw is None:
            return  # the choice is disabled without a batch
        value, msgs = check_field(el, "batch", dict(raw, release=self.release.currentText()))
        if msgs:
            self.error.setText("\n".join(msgs))
            return
        self._commit("batch", value)

    def _refresh_structured(self, key: str, w: QWidget) -> None:
        el = self.element
        if isinstance(w, RoutingEditor):
            succ = self.stack.project.successors(el.id) if self.stack is not None else []
            w.set_value(el.routing, el.id, succ)
            return
        if isinstance(w, AssemblyEditor):
            pred = self.stack.project.predecessors(el.id) if self.stack is not None else []
            w.set_value(element_to_json(el).get("assembly"), [c.source for c in pred])
            return
        if isinstance(w, OrdersEditor):  # issue 18 §4: the orders, wherever they were read
            w.set_value(None if el.orders is None else orders_to_json(el.orders),
                        el.orders_file)
            return
        if isinstance(w, ProductDistEditor) and self.stack is not None:
            w.set_products(products(self.stack.project))
        w.set_value(element_to_json(el).get(key))

    def _show_derived(self) -> None:
        project = self.stack.project if self.stack is not None else None
        self.derived.setText(derived.summary(project, self.element))
        self.derived.setVisible(bool(self.derived.text()))
        self._show_problems()

    def set_problems(self, found: dict[str, list[str]]) -> None:
        """The project's problems by element id (``app.problem_marks.ProblemMarks``): the
        window finds them once per edit, for the tree, the 3D view and this pane."""
        self.project_problems = found
        self._show_problems()

    def _show_problems(self) -> None:
        msgs = self.project_problems.get(self.element.id, []) if self.element else []
        self.problems.setText("\n".join(msgs))
        self.problems.setVisible(bool(msgs))

    def _commit_structured(self, key: str, raw) -> None:
        """An editor finished an edit: the reader judges it as the field of the element."""
        if self.element is None:
            return
        value, msgs = check_field(self.element, key, raw, self.folder())
        w = self.editors.get(key)
        if w is not None:
            w.show_problems(msgs)
        self.error.setText("\n".join(msgs))
        if not msgs:
            # families picked in a row merge into one undo step
            picking = getattr(w, "picking_family", False)
            self._commit(key, value, ("family", self.element.id, key) if picking else None)

    def _commit_weight(self, target: str, weight: float) -> None:
        el = self.element
        if el is None or self.stack is None:
            return
        if any(c.target == target and c.weight == weight
               for c in self.stack.project.successors(el.id)):
            return
        self.stack.push(cmd.SetWeight(el.id, target, weight))
        self.message.emit(f"{el.id} -> {target}: weight {weight:g}")

    def editor(self, key: str) -> QWidget:
        """The editor of field ``key`` of the element shown (tests read and click it)."""
        return self.editors[key]

    def _raw(self, key: str):
        text = self.editors[key].text().strip()
        if key in TEXT_FIELDS:
            return text
        return None if text == "" else parse_text(text)

    def folder(self) -> Path | None:
        """The project's folder (None until it is saved)."""
        p = getattr(self.stack.project, "path", None) if self.stack is not None else None
        return Path(p) if p else None

    def _validate(self, key: str):
        """Check the field as typed; mark it red with the reader's reason when refused."""
        raw = self._raw(key)
        value, msgs = check_field(self.element, key, raw, self.folder(),
                                  self.stack.project if self.stack is not None else None)
        if key == "mesh" and raw is not None and self.folder() is None and not msgs:
            value, msgs = None, ["mesh: save the project first; mesh files live in the "
                                 "project folder"]
        self._mark(key, msgs)
        return value, msgs

    def _mark(self, key: str, msgs: list[str]) -> None:
        """Mark field ``key`` red with ``msgs`` (none: normal again); under the form, the
        messages of every red field, not only the last one typed in."""
        w = self.editors.get(key)
        if w is not None and bool(w.property("invalid")) != bool(msgs):
            w.setProperty("invalid", bool(msgs))
            w.style().unpolish(w)
            w.style().polish(w)
        if w is not None:
            w.setToolTip("\n".join(msgs) if msgs else _tip(key))
        if msgs:
            self.refused[key] = msgs
        else:
            self.refused.pop(key, None)
        order = list(self.editors)
        keys = sorted(self.refused, key=lambda k: order.index(k) if k in order else len(order))
        self.error.setText("\n".join(m for k in keys for m in self.refused[k]))

    def _finish(self, key: str):
        if self.element is None or key not in self.editors:
            return
        value, msgs = self._validate(key)
        if not msgs:
            self._commit(key, value)

    def _commit(self, key: str, value, merge_key=None) -> None:
        el = self.element
        if el is None or self.stack is None:
            return
        if key in CHOICES or isinstance(value, bool):
            value, msgs = check_field(el, key, value, self.folder())
            if msgs:
                self.error.setText("\n".join(msgs))
                return
        if value == getattr(el, key):
            return
        try:
            c = cmd.SetField(el.id, key, value, merge_key)
            if key == "orders" and el.orders_file:  # edited orders are kept in the project
                c = cmd.Macro([c, cmd.SetField(el.id, "orders_file", "")], c.text)
            self.stack.push(c)
        except (AttributeError, ValueError) as e:
            self.error.setText(str(e))
            return
        self.message.emit(f"{el.id}.{key} set")

    def import_mesh_dialog(self) -> None:
        """Ask for an STL or OBJ file, copy it into the project folder, set it as the mesh."""
        el = self.element
        if el is None or self.stack is None:
            return
        folder = self.folder()
        if folder is None:
            self.error.setText("Save the project first: an imported mesh is copied into the "
                               "project folder's meshes/, so that the folder stays complete")
            return
        path, _ = QFileDialog.getOpenFileName(self, "Import mesh", "", MESH_FILTER)
        if not path:
            return
        try:
            rel = import_mesh(folder, path)
        except (OSError, ValueError) as e:
            self.error.setText(str(e))
            return
        scale, why = guess_scale(folder / rel)
        mesh = m.Mesh(rel, scale)
        self.error.setText("")
        if mesh != el.mesh:
            self.stack.push(cmd.SetField(el.id, "mesh", mesh))
        self.message.emit(f"{el.id}: mesh {rel}, scale {scale:g} m per unit ({why}); "
                          "edit the mesh field to change it")

    def edit_text(self, key: str) -> QLineEdit:
        """The line edit of ``key`` (tests and keyboard focus)."""
        w = self.editors[key]
        w.setFocus(Qt.OtherFocusReason)
        return w
