"""The plant dialog: the shift calendar, the energy context (app.energy_editor), the
demand-response windows (app.editors.demand) and the worker pools, the project-wide
settings that belong to no element. Each accepted edit is one
``SetProjectField`` command, applied as it is made (the window shows it at once); OK keeps
them, Cancel, Esc and the title bar's cross discard them (Esc once kept every edit:
"Undo set tariff" after it, newfix3 §3); undo shows here."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QTabWidget,
    QVBoxLayout,
)

from app.editors.calendar import CalendarEditor
from app.editors.demand import DemandResponseEditor
from app.editors.workers import WorkersEditor
from app.energy_editor import EnergyEditor
from twin.model import commands as cmd


class PlantDialog(QDialog):
    """Non-modal: the plant's calendar and tariff, following undo and redo. The window keeps
    one and hands it the new stack when another project opens."""

    def __init__(self, stack: cmd.UndoStack, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Calendar, energy and workers")
        self.stack = None
        self.calendar = CalendarEditor()
        self.tariff = EnergyEditor(self._folder)
        self.calendar.committed.connect(lambda v: self._set("calendar", v))
        self.tariff.committed.connect(lambda v: self._set("tariff", v))
        self.demand = DemandResponseEditor()
        self.demand.committed.connect(lambda v: self._set("demand_response", v))
        self.workers = WorkersEditor()
        self.workers.committed.connect(lambda v: self._set("workers", v))
        self.tabs = QTabWidget()
        self.tabs.addTab(self.calendar, "Shift calendar")
        self.tabs.addTab(self.tariff, "Energy")
        self.tabs.addTab(self.demand, "Demand response")
        self.tabs.addTab(self.workers, "Workers")
        self.status = QLabel("")
        self.status.setStyleSheet("color: gray")
        # every edit is applied as it is made; OK keeps them, Cancel (Esc, the cross) undoes
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.mine: list[cmd.Command] = []  # this opening's edits, in order
        self.before: dict = {}  # the fields as they were when it opened
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.buttons)
        lay = QVBoxLayout(self)
        lay.addWidget(self.tabs, 1)
        lay.addLayout(bottom)
        self.resize(560, 720)
        self.set_stack(stack)

    def set_stack(self, stack: cmd.UndoStack) -> None:
        """Edit the project of ``stack`` (another project was opened)."""
        if self.stack is not None:
            self.stack.index_changed.disconnect(self.refresh)
        self.stack = stack
        self.mine = []
        self.before = self._fields()
        stack.index_changed.connect(self.refresh)
        self.refresh()

    def _folder(self) -> Path | None:
        """The project's folder, where its price, CO2 and PV series lie (None: unsaved)."""
        path = getattr(self.parent(), "path", None)
        if path is None:
            return None
        path = Path(path)
        return path.parent if path.suffix == ".json" else path

    def refresh(self, *_):
        if not self.isVisible():
            return  # shown again: showEvent refreshes
        self.calendar.set_value(self.stack.project.calendar)
        self.tariff.set_value(self.stack.project.tariff)
        self.demand.set_value(self.stack.project.demand_response,
                              {el.id for el in self.stack.project.stations()})
        self.workers.set_value(self.stack.project.workers)

    def showEvent(self, event):
        super().showEvent(event)
        self.mine, self.before = [], self._fields()
        self.refresh()

    def keyPressEvent(self, event):  # noqa: N802 - Qt override
        # Enter commits the field typed in: it must not press OK and close the dialog too
        if event.key() in (Qt.Key_Return, Qt.Key_Enter):
            event.accept()
            return
        super().keyPressEvent(event)

    def _fields(self) -> dict:
        return {f: getattr(self.stack.project, f) for f in cmd.SetProjectField.FIELDS}

    def accept(self) -> None:
        self.mine = []
        super().accept()

    def reject(self) -> None:
        """Discard this opening's edits: undone and forgotten when they are the last edits
        of the window, else (an edit elsewhere came after them) the fields set back as
        they were, one undo step."""
        mine, self.mine = self.mine, []
        if mine and not self.stack.forget(mine):
            back = [cmd.SetProjectField(f, v) for f, v in self.before.items()
                    if getattr(self.stack.project, f) != v]
            if back:
                self.stack.push(cmd.Macro(back, "discard calendar, energy and workers edits"))
        super().reject()

    def _set(self, field: str, value) -> None:
        if value == getattr(self.stack.project, field):
            return
        self.mine.append(self.stack.push(cmd.SetProjectField(field, value)))
        self.status.setText(f"{field.replace('_', ' ')} set")
