"""The Scenarios dock: the project's scenarios (base first), new, duplicate, rename, delete,
"Save current values as scenario", and an editor of the chosen scenario's overrides.

Every edit is one command on the window's ``UndoStack`` (``twin.model.commands``), so Ctrl+Z
undoes it; the list redraws from the project's ``scenarios_changed`` event, whoever made the
change. An override is judged by the project reader before it is pushed
(``twin.projectfile.scenarios.check_scenario``): a scenario that makes an invalid project is
refused with the reader's message, shown under the editor. The "Scenario values" table
shows, for the chosen element, each overridden field's base and scenario value, the changed
ones highlighted; the inspector can show the same from ``current_changed`` and
``overridden_fields`` (issue 14, §3).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.inspector import CHANGED, parse_text, shown
from twin.errors import ProjectError
from twin.model import commands as cmd
from twin.model import elements as m
from twin.projectfile.reader import element_to_json, project_to_json
from twin.projectfile.scenarios import (
    MISSING,
    check_scenario,
    field_paths,
    overridden_fields,
    save_as_scenario,
    value_at,
)

BASE = "base"
ROOT = "(project)"  # the element combo's entry for overrides at the document root
ROOT_FIELDS = ("calendar", "calendar.shifts", "calendar.breaks", "calendar.period", "tariff",
               "tariff.price_per_kwh", "tariff.hourly",
               # the energy context (issue 19; docs/energy.md): a bigger battery, no PV ...
               "tariff.periods", "tariff.demand_charge.per_kw", "tariff.co2_g_per_kwh",
               "tariff.pv", "tariff.pv.profile_kw", "tariff.pv.feed_in_per_kwh",
               "tariff.battery", "tariff.battery.capacity_kwh", "tariff.battery.power_kw",
               "tariff.battery.threshold_kw", "tariff.battery.charge_in_cheapest",
               # demand-response windows (issue 19 §2): pause or slow stations in a scenario
               "demand_response")


class ScenarioPanel(QWidget):
    """The scenarios of a project and the overrides of the chosen one."""

    #: the scenario chosen in the list ("base" for the project itself); the inspector shows
    #: base and scenario values side by side for it (``overridden_fields``)
    current_changed = Signal(str)
    #: the project's scenarios were added, removed, renamed or edited (the run panel and the
    #: project tree redraw their lists)
    scenarios_changed = Signal()
    message = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.project: m.Project | None = None
        self.stack: cmd.UndoStack | None = None
        # the project as last saved or opened: "Save current values as scenario" keeps the
        # edits made since then (twin.projectfile.scenarios.save_as_scenario)
        self.saved_doc: dict = {}
        self._select_after: str | None = None

        self.list = QListWidget()
        self.list.setToolTip("The project's scenarios; 'base' is the project as it is")
        self.list.setContextMenuPolicy(Qt.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.list.currentItemChanged.connect(self._current_item_changed)
        self.new_button = QPushButton("New")
        self.new_button.setToolTip("Add an empty scenario")
        self.duplicate_button = QPushButton("Duplicate")
        self.duplicate_button.setToolTip("Copy the chosen scenario with its overrides")
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Delete the chosen scenario (Ctrl+Z brings it back)")
        self.save_current_button = QPushButton("Save current values as scenario")
        self.save_current_button.setToolTip(
            "The fields edited since the last save become a new scenario; the base gets its "
            "saved values back")
        self.name_edit = QLineEdit()
        self.name_edit.setToolTip("The chosen scenario's name; press Enter to rename it")
        self.rename_button = QPushButton("Rename")
        self.description = QLabel("")
        self.description.setWordWrap(True)
        # a refusal is shown next to what was refused: the name's under the name, an
        # override's under the override editor
        self.name_error, self.error = QLabel(""), QLabel("")
        for label in (self.name_error, self.error):
            label.setWordWrap(True)
            label.setStyleSheet("color: #b00020")
            label.setTextInteractionFlags(Qt.TextSelectableByMouse)
            label.hide()

        self.overrides = QTableWidget(0, 3)
        self.overrides.setHorizontalHeaderLabels(["Element", "Field", "Value"])
        self.overrides.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.overrides.setSelectionMode(QAbstractItemView.SingleSelection)
        self.overrides.setEditTriggers(QAbstractItemView.NoEditTriggers)
        head = self.overrides.horizontalHeader()
        head.setSectionResizeMode(0, QHeaderView.ResizeToContents)
        head.setSectionResizeMode(1, QHeaderView.ResizeToContents)
        head.setSectionResizeMode(2, QHeaderView.Stretch)
        self.overrides.verticalHeader().hide()
        self.overrides.itemSelectionChanged.connect(self._override_chosen)
        self.remove_override_button = QPushButton("Remove override")
        self.element_combo = QComboBox()
        self.element_combo.setToolTip("The element whose field the scenario sets")
        self.element_combo.currentIndexChanged.connect(self._element_chosen)
        self.field_combo = QComboBox()
        self.field_combo.setEditable(True)
        self.field_combo.setToolTip("The field, dotted into objects (failures.time_to_repair)")
        self.field_combo.currentTextChanged.connect(self._field_chosen)
        self.value_edit = QLineEdit()
        self.value_edit.setToolTip("The value as in the project file: 2, 35.5, \"2h\", "
                                   "{\"dist\": \"exponential\", \"mean\": 90}, "
                                   "exponential(mean=90) or null")
        self.set_button = QPushButton("Set override")
        self.values = QTableWidget(0, 3)
        self.values.setHorizontalHeaderLabels(["Field", "Base", "Scenario"])
        self.values.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.values.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.values.verticalHeader().hide()

        # The dock shares the right column's lower part with Run (about 300 px at the default
        # window size): the list sits beside its buttons and is only as tall as they are, so
        # that the override editor (element, field, value, Set override) is in sight when the
        # dock opens; the two tables under it may scroll (polish2 §1).
        buttons = QVBoxLayout()
        for b in (self.new_button, self.duplicate_button, self.delete_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        top = QHBoxLayout()
        top.addWidget(self.list, 1)
        top.addLayout(buttons)
        self.list.setMinimumHeight(60)
        self.list.setMaximumHeight(max(60, buttons.sizeHint().height()))
        rename = QHBoxLayout()
        rename.addWidget(QLabel("Name"))
        rename.addWidget(self.name_edit, 1)
        rename.addWidget(self.rename_button)
        for combo in (self.element_combo, self.field_combo):  # long names must not widen the dock
            combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(12)
        value = QHBoxLayout()
        value.addWidget(self.value_edit, 1)
        value.addWidget(self.set_button)
        form = QFormLayout()
        form.addRow("Element", self.element_combo)
        form.addRow("Field", self.field_combo)
        form.addRow("Value", value)
        editor = QGroupBox("Overrides")
        ed = QVBoxLayout(editor)
        ed.setContentsMargins(6, 4, 6, 6)
        ed.addLayout(form)
        ed.addWidget(self.error)
        self.overrides.setMinimumHeight(80)
        ed.addWidget(self.overrides, 1)
        ed.addWidget(self.remove_override_button)
        values_label = QLabel("Scenario values of the element (changed fields highlighted)")
        values_label.setWordWrap(True)  # the dock shares the right side with Run: keep it narrow
        ed.addWidget(values_label)
        self.values.setMinimumHeight(80)
        ed.addWidget(self.values, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addLayout(rename)
        lay.addWidget(self.name_error)
        lay.addWidget(self.description)
        lay.addWidget(editor, 3)
        # made from the edits since the last save: a rarer step than editing overrides
        lay.addWidget(self.save_current_button)

        self.new_button.clicked.connect(self.new_scenario)
        self.duplicate_button.clicked.connect(self.duplicate_scenario)
        self.delete_button.clicked.connect(self.delete_scenario)
        self.rename_button.clicked.connect(self.rename_scenario)
        self.name_edit.returnPressed.connect(self.rename_scenario)
        self.save_current_button.clicked.connect(self.save_current_as_scenario)
        self.set_button.clicked.connect(self.set_override)
        self.value_edit.returnPressed.connect(self.set_override)
        self.remove_override_button.clicked.connect(self.remove_override)
        self._enable()

    # --- project ------------------------------------------------------------------------------
    def set_project(self, project: m.Project, stack: cmd.UndoStack) -> None:
        """Show ``project``'s scenarios and edit them through ``stack``."""
        if self.project is not None:
            self.project.scenarios_changed.disconnect(self._model_changed)
            self.project.element_added.disconnect(self._elements_changed)
            self.project.element_removed.disconnect(self._elements_changed)
        if self.stack is not None:
            self.stack.clean_changed.disconnect(self._clean_changed)
        self.project, self.stack = project, stack
        project.scenarios_changed.connect(self._model_changed)
        project.element_added.connect(self._elements_changed)
        project.element_removed.connect(self._elements_changed)
        stack.clean_changed.connect(self._clean_changed)
        self.saved_doc = project_to_json(project)
        self.list.blockSignals(True)
        self.list.clear()  # the old project's scenarios: none is chosen while filling
        self.list.blockSignals(False)
        self._fill_elements()
        self._fill_list(BASE)

    def _clean_changed(self, clean: bool) -> None:
        if clean and self.project is not None:  # saved (or undone back to the saved state)
            self.saved_doc = project_to_json(self.project)
            # "save the project first" (or another refusal of the state before) is answered
            self.name_error.hide()

    def current(self) -> str:
        """The chosen scenario's name, ``base`` when none or the project itself."""
        item = self.list.currentItem()
        return item.text() if item is not None else BASE

    def select(self, name: str) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).text() == name:
                self.list.setCurrentRow(i)
                return

    def show_element(self, ids: list[str]) -> None:
        """Follow the window's selection: one element chosen shows its scenario values."""
        if len(ids) == 1:
            i = self.element_combo.findData(ids[0])
            if i >= 0:
                self.element_combo.setCurrentIndex(i)

    # --- commands -----------------------------------------------------------------------------
    def _push(self, command: cmd.Command, select: str | None = None,
              where: QLabel | None = None) -> bool:
        """Push ``command``; a refusal is shown in ``where`` (default: under the name),
        never raised."""
        where = where or self.name_error
        self._select_after = select
        try:
            self.stack.push(command)
        except (ValueError, KeyError, ProjectError) as e:
            self._select_after = None
            _say(where, str(e.args[0]) if isinstance(e, KeyError) else str(e))
            return False
        self._select_after = None
        _say(self.name_error, "")
        _say(self.error, "")
        self.message.emit(command.text)
        return True

    def new_scenario(self) -> None:
        name = cmd.unique_scenario_name(self.project, "scenario")
        self._push(cmd.AddScenario(name), select=name)

    def duplicate_scenario(self) -> None:
        if self.current() == BASE:
            return
        c = cmd.DuplicateScenario(self.project, self.current())
        self._push(c, select=c.new_name)

    def rename_scenario(self) -> None:
        old, new = self.current(), self.name_edit.text().strip()
        if old == BASE or new == old:
            return
        self._push(cmd.RenameScenario(old, new), select=new)

    def delete_scenario(self) -> None:
        name = self.current()
        if name != BASE:
            row = self.list.currentRow()
            after = self.list.item(row + 1) or self.list.item(row - 1)
            self._push(cmd.DeleteScenario(name), select=after.text() if after else BASE)

    def save_current_as_scenario(self) -> None:
        name = cmd.unique_scenario_name(self.project, "edited")
        try:
            c, left_out = save_as_scenario(self.project, self.saved_doc, name)
        except (ValueError, ProjectError) as e:
            _say(self.name_error, str(e))
            return
        if self._push(c, select=name) and left_out:
            _say(self.name_error, "kept in the base (not element fields): "
                                    + "; ".join(left_out))

    def set_override(self) -> None:
        name = self.current()
        if name == BASE:
            return
        element = self.element_combo.currentData()
        path = self.field_combo.currentText().strip()
        text = self.value_edit.text().strip()
        if not text:
            _say(self.error, "type a value (null removes an optional block)")
            return
        try:
            c = cmd.SetOverride(name, element, path, parse_text(text))
            check_scenario(self.project, c.applied(self.project.scenario(name)))
        except (ValueError, ProjectError) as e:
            _say(self.error, str(e))
            return
        self._push(c, select=name, where=self.error)

    def remove_override(self) -> None:
        row = self.overrides.currentRow()
        name = self.current()
        if row < 0 or name == BASE:
            return
        o = self.project.scenario(name).overrides[row]
        self._push(cmd.RemoveOverride(name, o.element, o.path), select=name, where=self.error)

    # --- drawing ------------------------------------------------------------------------------
    def _model_changed(self) -> None:
        keep = self._select_after or self.current()
        self._fill_list(keep)
        self.scenarios_changed.emit()

    def _elements_changed(self, *_):
        self._fill_elements()

    def _fill_list(self, select: str) -> None:
        names = [BASE, *(s.name for s in self.project.scenarios)]
        self.list.blockSignals(True)
        self.list.clear()
        for n in names:
            item = QListWidgetItem(n)
            if n == BASE:
                item.setToolTip("The project as it is; scenarios change it")
            self.list.addItem(item)
        self.list.setCurrentRow(names.index(select) if select in names else 0)
        self.list.blockSignals(False)
        self._current_item_changed()

    def _fill_elements(self) -> None:
        keep = self.element_combo.currentData()
        self.element_combo.blockSignals(True)
        self.element_combo.clear()
        for el in self.project.elements:
            self.element_combo.addItem(f"{el.id}  ({el.kind})", el.id)
        self.element_combo.addItem(ROOT, None)
        i = self.element_combo.findData(keep)
        self.element_combo.setCurrentIndex(i if keep is not None and i >= 0 else 0)
        self.element_combo.blockSignals(False)
        self._element_chosen()

    def _current_item_changed(self, *_):
        name = self.current()
        self.name_edit.setText("" if name == BASE else name)
        scenario = None if name == BASE else self.project.scenario(name)
        self.description.setText(scenario.description if scenario else "")
        self.overrides.setRowCount(0)
        for o in scenario.overrides if scenario else ():
            r = self.overrides.rowCount()
            self.overrides.insertRow(r)
            for c, text in enumerate((o.element or ROOT, o.path, shown(o.value))):
                self.overrides.setItem(r, c, QTableWidgetItem(text))
        _say(self.error, "")
        _say(self.name_error, "")
        self._enable()
        self._fill_values()
        self.current_changed.emit(name)

    def _enable(self) -> None:
        real = self.current() != BASE
        for w in (self.duplicate_button, self.delete_button, self.rename_button,
                  self.name_edit, self.set_button, self.remove_override_button,
                  self.value_edit, self.field_combo, self.element_combo):
            w.setEnabled(real)

    def _element_chosen(self, *_):
        element = self.element_combo.currentData()
        self.field_combo.blockSignals(True)
        self.field_combo.clear()
        if element is None:
            self.field_combo.addItems(list(ROOT_FIELDS))
        elif self.project is not None and element in self.project:
            self.field_combo.addItems(field_paths(self.project.element(element)))
        self.field_combo.blockSignals(False)
        self._field_chosen(self.field_combo.currentText())
        self._fill_values()

    def _field_chosen(self, path: str) -> None:
        """Put the field's present value (the scenario's, else the base's) in the editor."""
        if self.project is None or not path:
            self.value_edit.clear()
            return
        element = self.element_combo.currentData()
        fields = overridden_fields(self.project, self.current(), element)
        if path in fields:
            self.value_edit.setText(shown(fields[path][1]))
        else:
            doc = project_to_json(self.project) if element is None or element not in \
                self.project else {"elements": [element_to_json(self.project.element(element))]}
            base = value_at(doc, element, path)
            self.value_edit.setText("" if base is MISSING else shown(base))

    def _override_chosen(self) -> None:
        row = self.overrides.currentRow()
        name = self.current()
        if row < 0 or name == BASE:
            return
        o = self.project.scenario(name).overrides[row]
        i = self.element_combo.findData(o.element)
        if i >= 0:
            self.element_combo.setCurrentIndex(i)
        self.field_combo.setCurrentText(o.path)
        self.value_edit.setText(shown(o.value))

    def _fill_values(self) -> None:
        """The chosen element's overridden fields: base and scenario values side by side."""
        self.values.setRowCount(0)
        if self.project is None or self.current() == BASE:
            return
        element = self.element_combo.currentData()
        for path, (base, value) in overridden_fields(self.project, self.current(),
                                                     element).items():
            r = self.values.rowCount()
            self.values.insertRow(r)
            changed = base != value
            for c, text in enumerate((path, shown(base), shown(value))):
                item = QTableWidgetItem(text)
                if changed:
                    item.setBackground(QBrush(CHANGED))
                    item.setToolTip("changed by the scenario")
                self.values.setItem(r, c, item)

    # --- context menu -------------------------------------------------------------------------
    def _context_menu(self, pos) -> None:
        item = self.list.itemAt(pos)
        if item is not None:
            self.list.setCurrentItem(item)
        menu = self.context_menu()
        menu.popup(self.list.viewport().mapToGlobal(pos))

    def context_menu(self) -> QMenu:
        """New, duplicate, rename and delete for the chosen scenario."""
        menu = QMenu(self)
        real = self.current() != BASE
        menu.addAction("New scenario", self.new_scenario)
        for text, slot in (("Duplicate", self.duplicate_scenario),
                           ("Rename", self._start_rename), ("Delete", self.delete_scenario)):
            menu.addAction(text, slot).setEnabled(real)
        return menu

    def _start_rename(self) -> None:
        self.name_edit.setFocus()
        self.name_edit.selectAll()


def _say(label: QLabel, text: str) -> None:
    """Show ``text`` in an error label; an empty label takes no room."""
    label.setText(text)
    label.setVisible(bool(text))


def sync_run_choices(run_panel, project: m.Project) -> None:
    """Give the run panel's scenario list the project's scenarios, keeping the ticks of the
    names it had; a new (or renamed) scenario comes ticked, as on opening a project."""
    lst = run_panel.scenarios
    ticks = {lst.item(i).text(): lst.item(i).checkState() for i in range(lst.count())}
    lst.clear()
    for name in [BASE, *(s.name for s in project.scenarios)]:
        item = QListWidgetItem(name)
        item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
        item.setCheckState(ticks.get(name, Qt.Checked))
        lst.addItem(item)
