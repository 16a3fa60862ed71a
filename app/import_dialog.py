"""File > Import data…: a CSV/Parquet file through a mapping into a recording, then Replay.

The user picks the data file, then a mapping: one shipped in ``resources/mappings``, a
mapping file, or one built here (which column is the time, the asset, the state, the parts,
the power; which raw state code is which machine state). A preview shows the first rows of
the file, each column headed by what it becomes, and each state code with its machine
state; a mapping that does not check is named under the preview with its fix, as it is typed.

The import itself is ``twin.recording.import_recording`` on a worker (``app.worker.Job``):
the recording is written off the GUI thread and no model object is built there. Its report
(``twin.recording.ImportReport``) is shown in the dialog, and ``imported(path)`` tells the
window to open the recording in Replay. A bad file or mapping is a message in the dialog.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.worker import Job
from kernels.types import STATE_NAMES
from twin.errors import InputError
from twin.recording import import_recording, load_mapping, mapping_from_dict
from twin.recording.mapping import (
    DEFAULT_SHIFTS_JSON,
    ROLES,
    SHAPES,
    TIME_FORMATS,
    Mapping,
    normalize_label,
)
from twin.recording.preview import (
    Head,
    column_roles,
    explain_cell,
    guess_roles,
    head_bytes,
    read_head,
    state_codes,
)
from twin.tasks import TaskState

PREVIEW_ROWS = 20
CODE_SCAN_ROWS = 50_000  # rows read for "Read codes from the data" (the head of the file)
MAPPINGS = Path(__file__).resolve().parents[1] / "resources" / "mappings"
FILE_CHOICE = "A mapping file…"
BUILD_CHOICE = "Build the mapping here"
NONE = "(none)"
ERROR_STYLE = "color: #c0392b;"


def shipped_mappings() -> list[Path]:
    """The mapping files shipped in ``resources/mappings``."""
    return sorted(MAPPINGS.glob("*.json")) if MAPPINGS.is_dir() else []


def default_output(data: Path, project_folder: Path | None) -> Path:
    """Where the recording goes unless the user says: the project's ``recordings`` folder,
    else the user's documents (data folders are often read-only)."""
    if project_folder is not None:
        base = Path(project_folder) / "recordings"
    else:
        base = Path(QStandardPaths.writableLocation(QStandardPaths.DocumentsLocation)
                    or Path.home())
    stem = data.name.split(".")[0] or "recording"
    return base / f"{stem}.h5"


def _import_job(data: str, mapping: Mapping, out: str, overwrite: bool, task: TaskState):
    """Worker side of an import (``app.worker.Job`` reports whatever it raises)."""
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    return import_recording(data, mapping, out, task=task, overwrite=overwrite)


class EndJobOnClose(QObject):
    """Ends ``dialog``'s job (``dialog.end_job()``) when ``window`` is asked to close: the
    dialog is the window's child and goes with it, and a job must not outlive its receiver."""

    def __init__(self, window: QWidget, dialog) -> None:
        super().__init__(dialog)
        self.dialog = dialog
        window.installEventFilter(self)

    def eventFilter(self, obj, ev):  # noqa: N802 - Qt override
        if ev.type() == QEvent.Close:
            self.dialog.end_job()
        return False


class MappingBuilder(QWidget):
    """Build a mapping from the data's columns: a role per column, a state per raw code."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.head: Head | None = None
        self.data_path: Path | None = None
        form = QFormLayout()
        self.shape = QComboBox()
        self.shape.addItems(list(SHAPES))
        self.shape.setToolTip("event_log: one row per event; buckets: one row per time interval")
        form.addRow("Data shape", self.shape)
        self.role_boxes: dict[str, QComboBox] = {}
        for role in ROLES:
            box = QComboBox()
            box.setObjectName(f"role_{role}")
            box.setToolTip(f"The column that holds the {role}")
            self.role_boxes[role] = box
            form.addRow(f"{role} column", box)
        self.time_format = QComboBox()
        self.time_format.setEditable(True)
        self.time_format.addItems(list(TIME_FORMATS))
        self.time_format.setToolTip("iso, epoch_s, epoch_ms or a strptime pattern such as "
                                    "%d.%m.%Y %H:%M")
        form.addRow("Time format", self.time_format)
        self.time_zone = QLineEdit("UTC")
        self.time_zone.setToolTip("IANA time zone of time stamps without an offset "
                                  "(e.g. Europe/Rome)")
        form.addRow("Time zone", self.time_zone)
        self.bucket_length = QDoubleSpinBox()
        self.bucket_length.setRange(0.0, 31 * 86400.0)
        self.bucket_length.setDecimals(1)
        self.bucket_length.setValue(300.0)
        self.bucket_length.setSuffix(" s")
        self.bucket_length.setToolTip("Length of every bucket (buckets without a length column)")
        form.addRow("Bucket length", self.bucket_length)
        self.asset_id = QLineEdit("")
        self.asset_id.setPlaceholderText("the one asset's id, when there is no asset column")
        form.addRow("Asset id", self.asset_id)
        self.delimiter = QLineEdit(",")
        self.delimiter.setMaxLength(1)
        self.delimiter.setToolTip("The CSV delimiter (one character)")
        form.addRow("CSV delimiter", self.delimiter)
        self.source = QLineEdit("")
        self.source.setPlaceholderText("where the data comes from (stored in the recording)")
        form.addRow("Source", self.source)
        self.states = QTableWidget(0, 2)
        self.states.setHorizontalHeaderLabels(["raw code", "machine state"])
        self.states.horizontalHeader().setStretchLastSection(True)
        self.states.setToolTip("Which machine state each raw code of the state column means")
        self.read_codes = QPushButton("Read codes from the data")
        self.read_codes.setToolTip(f"List the distinct codes of the state column (first "
                                   f"{CODE_SCAN_ROWS:,} rows)")
        self.new_code = QLineEdit()
        self.new_code.setPlaceholderText("a code the head of the file lacks")
        self.add_code = QPushButton("Add code")
        self.add_code.setToolTip("Add a raw state code by hand (codes that occur later in "
                                 "the file, or in next month's export)")
        self.save_button = QPushButton("Save mapping…")
        self.save_button.setToolTip("Write this mapping as a JSON file, for the command line "
                                    "(twinbench import --mapping) or the next import")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(form)
        row = QHBoxLayout()
        row.addWidget(QLabel("State codes"))
        row.addStretch(1)
        row.addWidget(self.read_codes)
        lay.addLayout(row)
        lay.addWidget(self.states, 1)
        row = QHBoxLayout()
        row.addWidget(self.new_code, 1)
        row.addWidget(self.add_code)
        lay.addLayout(row)
        lay.addWidget(self.save_button)
        self.read_codes.clicked.connect(self.fill_codes)
        self.add_code.clicked.connect(self._add_typed_code)
        self.new_code.returnPressed.connect(self._add_typed_code)
        for w in (self.shape, self.time_format, *self.role_boxes.values()):
            w.currentTextChanged.connect(lambda *_: self.changed.emit())
        for w in (self.time_zone, self.asset_id, self.delimiter, self.source):
            w.textChanged.connect(lambda *_: self.changed.emit())
        self.bucket_length.valueChanged.connect(lambda *_: self.changed.emit())

    def set_head(self, head: Head | None, data_path: Path | None) -> None:
        """Offer ``head``'s columns in the role boxes, guessing the roles not chosen yet."""
        new_file = data_path != self.data_path
        columns = head.columns if head is not None else []
        old = self.head.columns if self.head is not None else []
        self.head, self.data_path = head, data_path
        if not new_file and columns == old:
            return  # nothing to offer anew (and no change to report: refresh called us)
        # a role keeps its column where the file has it; the others are guessed from the
        # names (a new file, or the columns read anew with another delimiter)
        guess = guess_roles(columns)
        for role, box in self.role_boxes.items():
            keep = box.currentText()
            box.blockSignals(True)
            box.clear()
            box.addItem(NONE)
            box.addItems(columns)
            pick = keep if keep in columns else guess.get(role, NONE)
            box.setCurrentIndex(max(box.findText(pick), 0))
            box.blockSignals(False)
        if new_file and not self.source.text() and data_path is not None:
            self.source.blockSignals(True)
            self.source.setText(data_path.name)
            self.source.blockSignals(False)

    def column(self, role: str) -> str | None:
        text = self.role_boxes[role].currentText()
        return None if text in ("", NONE) else text

    def set_column(self, role: str, column: str | None) -> None:
        box = self.role_boxes[role]
        box.setCurrentIndex(max(box.findText(column or NONE), 0))

    def fill_codes(self) -> None:
        """One row per distinct code of the state column; a code keeps its chosen state."""
        col = self.column("state")
        if self.data_path is None or col is None:
            return
        try:
            head = read_head(self.data_path, CODE_SCAN_ROWS, self._csv_options())
            codes = state_codes(head, col)
        except (InputError, ValueError):
            return  # the preview names what is wrong with the file
        chosen = self.state_map()
        for code in sorted(set(codes) - set(chosen), key=_code_order):
            self.set_state(code, None)
        self.changed.emit()

    def _add_typed_code(self) -> None:
        code = normalize_label(self.new_code.text())
        if code:
            self.set_state(code, None)
            self.new_code.clear()
            self.changed.emit()

    def set_state(self, code: str, state: str | None) -> None:
        """Map raw ``code`` to machine ``state`` (a row is added for a new code)."""
        for r in range(self.states.rowCount()):
            if self.states.item(r, 0).text() == code:
                if state is not None:
                    box = self.states.cellWidget(r, 1)
                    box.setCurrentIndex(box.findText(state))
                return
        r = self.states.rowCount()
        self.states.insertRow(r)
        item = QTableWidgetItem(code)
        item.setFlags(item.flags() & ~Qt.ItemIsEditable)
        self.states.setItem(r, 0, item)
        box = QComboBox()
        box.addItem("(choose)")
        box.addItems(list(STATE_NAMES))
        if state is not None:
            box.setCurrentIndex(box.findText(state))
        box.currentTextChanged.connect(lambda *_: self.changed.emit())
        self.states.setCellWidget(r, 1, box)

    def state_map(self) -> dict[str, str]:
        """Raw code to machine state name, for the codes given a state."""
        out = {}
        for r in range(self.states.rowCount()):
            state = self.states.cellWidget(r, 1).currentText()
            out[self.states.item(r, 0).text()] = state if state in STATE_NAMES else ""
        return out

    def _csv_options(self):
        from twin.recording.mapping import CsvOptions

        return CsvOptions(delimiter=self.delimiter.text() or ",")

    def document(self) -> dict:
        """The mapping as a JSON document (checked by ``mapping_from_dict``)."""
        shape = self.shape.currentText()
        doc: dict = {"mapping_version": 1, "shape": shape,
                     "source": self.source.text().strip(),
                     "columns": {r: c for r in ROLES if (c := self.column(r)) is not None},
                     "time": {"format": self.time_format.currentText().strip(),
                              "time_zone": self.time_zone.text().strip()}}
        if shape == "buckets" and self.column("length") is None:
            doc["bucket_length_s"] = self.bucket_length.value()
        if self.column("asset") is None:
            doc["asset_id"] = self.asset_id.text().strip()
        states = self.state_map()
        unset = [c for c, s in states.items() if not s]
        if unset:
            raise InputError(f"choose a machine state for the raw code(s) {', '.join(unset)} "
                             "in the state codes table")
        # in code order, whatever order they were read or added in: the recording's list of
        # raw codes follows the mapping's order, so the same codes give the same file
        doc["states"] = {c: states[c] for c in sorted(states, key=_code_order)}
        if self.delimiter.text() not in ("", ","):
            doc["csv"] = {"delimiter": self.delimiter.text()}
        doc["shifts"] = [dict(s) for s in DEFAULT_SHIFTS_JSON]
        return doc


def _code_order(code: str):
    return (0, int(code), "") if code.lstrip("-").isdigit() else (1, 0, code)


class ImportDialog(QDialog):
    """Import a data file into a recording; ``imported(path)`` when one is written."""

    imported = Signal(str)

    def __init__(self, project_folder: Path | None = None, parent=None):
        super().__init__(parent)
        self.setObjectName("import_dialog")
        self.setWindowTitle("Import data")
        self.project_folder = project_folder
        self.head: Head | None = None
        self._head_raw: bytes | None = None  # the data file's head (read_head)
        self._head_key: tuple | None = None  # of which path, modified when, how big
        self.mapping: Mapping | None = None
        self.job: Job | None = None
        self.task: TaskState | None = None
        self.report = None
        self._output_edited = False
        # --- data file
        self.data_path = QLineEdit()
        self.data_path.setPlaceholderText("a CSV (.csv, .csv.gz) or Parquet file")
        self.data_browse = QPushButton("Browse…")
        # --- mapping
        self.mapping_choice = QComboBox()
        for p in shipped_mappings():
            self.mapping_choice.addItem(p.name, str(p))
        self.mapping_choice.addItem(FILE_CHOICE, "file")
        self.mapping_choice.addItem(BUILD_CHOICE, "build")
        self.mapping_choice.setToolTip("A mapping shipped with twinbench, a mapping file, or "
                                       "one built here from the file's columns")
        self.mapping_path = QLineEdit()
        self.mapping_path.setPlaceholderText("mapping file (JSON)")
        self.mapping_browse = QPushButton("Browse…")
        self.builder = MappingBuilder()
        self.builder_box = QGroupBox("Mapping")
        scroll = QScrollArea()  # the form is taller than a small screen
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self.builder)
        self.builder.setMinimumHeight(self.builder.sizeHint().height() + 160)
        QVBoxLayout(self.builder_box).addWidget(scroll)
        # --- preview
        self.preview = QTableWidget(0, 0)
        self.preview.setEditTriggers(QTableWidget.NoEditTriggers)
        self.preview.setToolTip("The first rows of the file; each column's header says what "
                                "it becomes, each state code its machine state")
        self.preview_title = QLabel(f"Preview (first {PREVIEW_ROWS} rows)")
        self.error = QLabel("")
        self.error.setObjectName("import_error")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.error.setStyleSheet(ERROR_STYLE)
        # --- output and run
        self.output = QLineEdit()
        self.output.setPlaceholderText("the recording to write (.h5)")
        self.output_browse = QPushButton("Browse…")
        self.overwrite = QCheckBox("Replace an existing recording")
        self.import_button = QPushButton("Import")
        self.import_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel import")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.report_view = QPlainTextEdit()
        self.report_view.setReadOnly(True)
        self.report_view.setPlaceholderText("The import report appears here")
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.close)
        # --- layout
        top = QFormLayout()
        row = QHBoxLayout()
        row.addWidget(self.data_path, 1)
        row.addWidget(self.data_browse)
        top.addRow("Data file", row)
        row = QHBoxLayout()
        row.addWidget(self.mapping_choice)
        row.addWidget(self.mapping_path, 1)
        row.addWidget(self.mapping_browse)
        top.addRow("Mapping", row)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.preview_title)
        rl.addWidget(self.preview, 2)
        rl.addWidget(self.error)
        rl.addWidget(QLabel("Import report"))
        rl.addWidget(self.report_view, 1)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(self.builder_box)
        split.addWidget(right)
        split.setStretchFactor(1, 3)
        split.setSizes([380, 720])
        out = QHBoxLayout()
        out.addWidget(QLabel("Recording"))
        out.addWidget(self.output, 1)
        out.addWidget(self.output_browse)
        out.addWidget(self.overwrite)
        run = QHBoxLayout()
        run.addWidget(self.import_button)
        run.addWidget(self.cancel_button)
        run.addWidget(self.progress)
        run.addWidget(self.status, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        lay.addLayout(out)
        lay.addLayout(run)
        lay.addWidget(buttons)
        self.resize(1100, 720)
        # --- behaviour: the preview follows every change, at most every 150 ms
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(150)
        self._refresh_timer.timeout.connect(self.refresh)
        self.data_path.textChanged.connect(self._data_changed)
        self.mapping_choice.currentIndexChanged.connect(self._choice_changed)
        # a mapping the user picked is kept; until then a data file picks one that fits it
        self._mapping_picked = False
        self.mapping_choice.activated.connect(lambda _i: setattr(self, "_mapping_picked", True))
        self.mapping_path.textChanged.connect(lambda *_: self._refresh_timer.start())
        self.builder.changed.connect(lambda: self._refresh_timer.start())
        self.builder.save_button.clicked.connect(self.save_mapping_dialog)
        self.output.textEdited.connect(lambda *_: setattr(self, "_output_edited", True))
        self.data_browse.clicked.connect(self._browse_data)
        self.mapping_browse.clicked.connect(self._browse_mapping)
        self.output_browse.clicked.connect(self._browse_output)
        self.import_button.clicked.connect(self.start_import)
        self.cancel_button.clicked.connect(self.cancel_import)
        self._poll = QTimer(self)
        self._poll.setInterval(50)
        self._poll.timeout.connect(self._show_progress)
        self._choice_changed()

    # --- choices ------------------------------------------------------------------------
    def choose_mapping(self, text: str) -> None:
        """Pick a shipped mapping by file name, :data:`FILE_CHOICE` or :data:`BUILD_CHOICE`."""
        i = self.mapping_choice.findText(text)
        if i < 0:
            raise ValueError(f"no mapping choice {text!r}")
        self._mapping_picked = True
        self.mapping_choice.setCurrentIndex(i)

    def _choice_changed(self, *_):
        kind = self.mapping_choice.currentData()
        self.mapping_path.setVisible(kind == "file")
        self.mapping_browse.setVisible(kind == "file")
        self.builder_box.setVisible(kind == "build")
        self.refresh()

    def _data_changed(self, text: str) -> None:
        if text.strip() and not self._output_edited:
            self.output.setText(str(default_output(Path(text.strip()), self.project_folder)))
        if text.strip() and not self._mapping_picked:
            self._pick_fitting_mapping(text.strip())
        self.refresh()

    def _pick_fitting_mapping(self, data: str) -> None:
        """A data file chosen before any mapping: the first shipped mapping whose columns
        the file has. The first of the list stayed, and the README's SME data was refused
        with "the file has no column 'level'" beside the mapping that reads it."""
        for p in shipped_mappings():
            try:
                mapping = load_mapping(p)
                head = self.read_head(data, PREVIEW_ROWS, mapping.csv)
            except InputError:  # not a file (yet, while the path is typed), or unreadable
                continue
            if all(c in head.columns for c in mapping.columns.values()):
                self.mapping_choice.setCurrentIndex(self.mapping_choice.findData(str(p)))
                return

    def read_head(self, data: str, rows: int, options) -> Head:
        """The head of ``data`` read with ``options``, its bytes read once per path (and
        version of the file): each shipped mapping's check of the columns, and the preview
        after it, read the file again on every change of the path (polish2 §8)."""
        try:
            st = os.stat(data)
            key = (data, st.st_mtime_ns, st.st_size)
        except OSError:
            key = None  # read_head names what is wrong
        if key is None or key != self._head_key:
            self._head_raw = head_bytes(data)
            self._head_key = key
        return read_head(data, rows, options, raw=self._head_raw)

    def _browse_data(self):
        path, _ = QFileDialog.getOpenFileName(
            self, "Data file", "", "Data (*.csv *.csv.gz *.txt *.parquet *.pq);;All files (*)")
        if path:
            self.data_path.setText(path)

    def _browse_mapping(self):
        path, _ = QFileDialog.getOpenFileName(self, "Mapping file", str(MAPPINGS),
                                              "Mappings (*.json);;All files (*)")
        if path:
            self.mapping_path.setText(path)

    def _browse_output(self):
        path, _ = QFileDialog.getSaveFileName(self, "Recording to write", self.output.text(),
                                              "Recordings (*.h5)")
        if path:
            self._output_edited = True
            self.output.setText(path)

    # --- mapping and preview ------------------------------------------------------------
    def current_mapping(self) -> Mapping:
        """The chosen or built mapping, checked; ``InputError`` naming what is wrong."""
        kind = self.mapping_choice.currentData()
        if kind == "build":
            return mapping_from_dict(self.builder.document(), file="<mapping built here>")
        path = self.mapping_path.text().strip() if kind == "file" else kind
        if not path:
            raise InputError("choose a mapping file (Browse…), a shipped mapping, or build "
                             "one here")
        return load_mapping(path)

    def refresh(self) -> None:
        """Read the head of the file and check the mapping; show both, or what is wrong."""
        self._refresh_timer.stop()
        problems = []
        text = self.data_path.text().strip()
        self.head = None
        self.mapping = None
        try:
            self.mapping = self.current_mapping()
        except InputError as e:
            problems.append(f"Mapping: {e}")
        if text:
            try:
                opts = (self.mapping.csv if self.mapping is not None
                        else self.builder._csv_options())
                self.head = self.read_head(text, PREVIEW_ROWS, opts)
            except InputError as e:
                problems.append(f"Data file: {e}")
        else:
            problems.insert(0, "Choose the data file to import.")
        if self.mapping_choice.currentData() == "build":
            self.builder.set_head(self.head, Path(text) if self.head else None)
            # set_head may have guessed roles: check the mapping that is now shown
            try:
                self.mapping = self.current_mapping()
                problems = [p for p in problems if not p.startswith("Mapping:")]
            except InputError as e:
                problems = [p for p in problems if not p.startswith("Mapping:")]
                problems.append(f"Mapping: {e}")
        if self.head is not None and self.mapping is not None:
            missing = [f"{c!r} ({r})" for r, c in self.mapping.columns.items()
                       if c not in self.head.columns]
            if missing:
                problems.append(f"Mapping: the file has no column {', '.join(missing)}; its "
                                f"columns are {', '.join(self.head.columns)}")
        self._fill_preview()
        self.show_error("\n".join(problems))

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))

    def _fill_preview(self) -> None:
        t = self.preview
        head = self.head
        t.clear()
        if head is None:
            t.setRowCount(0)
            t.setColumnCount(0)
            return
        if self.mapping is not None:
            roles = column_roles(self.mapping)
        elif self.mapping_choice.currentData() == "build":  # not complete yet: the roles chosen
            roles = {c: r for r in ROLES if (c := self.builder.column(r)) is not None}
        else:
            roles = {}
        t.setColumnCount(len(head.columns))
        t.setRowCount(len(head.rows))
        grey = QColor("#888888")
        for j, col in enumerate(head.columns):
            role = roles.get(col)
            item = QTableWidgetItem(f"{col}\n→ {role}" if role else f"{col}\n(not imported)")
            if role is None:
                item.setForeground(grey)
            t.setHorizontalHeaderItem(j, item)
            for i, row in enumerate(head.rows):
                value = row[j] if j < len(row) else ""
                extra = (explain_cell(self.mapping, role, value)
                         if role and self.mapping is not None else "")
                cell = QTableWidgetItem(f"{value} → {extra}" if extra else value)
                if role is None:
                    cell.setForeground(grey)
                elif extra.startswith("unknown"):
                    cell.setForeground(QColor("#c0392b"))
                t.setItem(i, j, cell)
        t.resizeColumnsToContents()

    def preview_header(self, column: str) -> str:
        """The header text the preview shows for ``column``."""
        for j in range(self.preview.columnCount()):
            text = self.preview.horizontalHeaderItem(j).text()
            if text.split("\n")[0] == column:
                return text
        raise KeyError(column)

    def save_mapping_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save mapping", "mapping.json",
                                              "Mappings (*.json)")
        if path:
            self.save_mapping(path)

    def save_mapping(self, path: str | Path) -> bool:
        """Write the mapping built here to ``path`` as JSON; False (and why) if it cannot."""
        try:
            doc = self.builder.document()
            mapping_from_dict(doc, file=str(path))
            Path(path).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        except (InputError, OSError) as e:
            self.show_error(f"Mapping not saved: {e}")
            return False
        self.status.setText(f"mapping saved to {path}")
        return True

    # --- the import ---------------------------------------------------------------------
    def is_importing(self) -> bool:
        return self.job is not None

    def start_import(self) -> bool:
        """Import on a worker; False (with the reason in the dialog) if it cannot start."""
        if self.job is not None:
            return False
        self.refresh()
        if self.error.text():
            return False
        out = self.output.text().strip()
        if not out:
            self.show_error("Choose where to write the recording (.h5).")
            return False
        if Path(out).exists() and not self.overwrite.isChecked():
            self.show_error(f"{out} exists already; choose another file name or tick "
                            "'Replace an existing recording'.")
            return False
        data, mapping, overwrite = self.data_path.text().strip(), self.mapping, \
            self.overwrite.isChecked()
        task = TaskState()
        job = Job(lambda task: _import_job(data, mapping, out, overwrite, task), task,
                  parent=self)
        job.finished.connect(lambda report, job=job: self._done(job, report, out))
        job.failed.connect(lambda msg, tb, job=job: self._failed(job, msg, tb))
        job.cancelled.connect(lambda job=job: self._cancelled(job))
        self.job, self.task = job, task
        self.report = None
        self.report_view.clear()
        self._busy(True)
        self.status.setText(f"importing {Path(data).name}…")
        job.start()
        return True

    def cancel_import(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _busy(self, on: bool) -> None:
        self.import_button.setEnabled(not on)
        self.cancel_button.setEnabled(on)
        self.progress.setValue(0)
        self._poll.start() if on else self._poll.stop()

    def _show_progress(self) -> None:
        if self.task is not None:
            self.progress.setValue(int(self.task.progress * 10))

    def _end(self, job: Job) -> bool:
        job.deleteLater()
        if job is not self.job:
            return False
        self.job = self.task = None
        self._busy(False)
        return True

    def _done(self, job: Job, report, out: str) -> None:
        if not self._end(job):
            return
        self.report = report
        self.progress.setValue(1000)
        self.report_view.setPlainText(report.format())
        self.status.setText(f"wrote {out} ({report.rows_stored:,} of {report.rows_read:,} "
                            "rows stored); opened in Replay")
        self.imported.emit(out)

    def _failed(self, job: Job, msg: str, tb: str | None) -> None:
        if not self._end(job):
            return
        self.status.setText("import failed; nothing was written")
        self.show_error(f"Import failed: {msg}" if tb is None else
                        f"Import failed (a bug in twinbench; please report it): {msg}\n{tb}")

    def _cancelled(self, job: Job) -> None:
        if self._end(job):
            self.status.setText("import cancelled; nothing was written")

    def end_job(self) -> None:
        """Cancel a running import and wait until its thread has stopped (nothing written)."""
        if self.job is not None:
            self.job.cancel()
            self.job.wait()

    def closeEvent(self, ev):  # noqa: N802 - Qt override
        self.end_job()  # an import writes a file on its thread: let it stop first
        super().closeEvent(ev)


def show_import_dialog(window) -> ImportDialog:
    """Show ``window``'s import dialog; a finished import opens in its Replay."""
    dlg = getattr(window, "import_dialog", None)
    if dlg is None:
        dlg = window.import_dialog = ImportDialog(window.path, window)
        EndJobOnClose(window, dlg)

        def opened(path: str) -> None:
            window.log(f"imported {path}\n{dlg.report.format() if dlg.report else ''}".rstrip())
            window.open_recording(path)

        dlg.imported.connect(opened)
    dlg.project_folder = window.path
    dlg.show()
    dlg.raise_()
    return dlg
