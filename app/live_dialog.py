"""*Plant > Connect to plant…*: where the plant is, how to read it, where to record it.

A value the user got wrong (an address of the wrong form, a mapping that cannot be read, a
recording file that exists, a project that cannot be lowered) is shown in the dialog with
its fix, and the dialog stays open. Opening the source only checks what it is given: the
connection itself is made by the source's thread once live mode runs (a broker that is away
shows as "reconnecting" in the Live dock).

What the user typed last (source, address, MQTT version, mapping, OPC UA security) comes back
the next time (QSettings, as the window keeps its other settings; never a password: those come
from the environment, docs/live.md). The recording is a new file each time, in
``recordings/`` inside the project's folder (:func:`app.live_session.recordings_folder`), or in
the user's documents folder for a project never saved; the dialog says so.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from app.live_session import (
    KINDS,
    LiveSession,
    default_recording,
    open_session,
    recordings_folder,
)
from twin.errors import InputError
from twin.live.feed import ADDRESSES
from twin.live.options import MQTT_PROTOCOLS

DEFAULT_ADDRESS = {"MQTT": "mqtt://127.0.0.1:1883/plant", "OPC UA": "opc.tcp://127.0.0.1:4840"}
SECURITY_CHOICES = ("none", "sign", "sign-encrypt")
#: QSettings group of the fields the dialog remembers.
SETTINGS_GROUP = "live_connect"


def documents_folder() -> Path:
    """The user's documents folder (a project never saved records there)."""
    return Path(QStandardPaths.writableLocation(QStandardPaths.DocumentsLocation)
                or Path.home())


def _with_browse(edit: QLineEdit, pick) -> QWidget:
    w = QWidget()
    row = QHBoxLayout(w)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(edit, 1)
    b = QPushButton("…")
    b.setFixedWidth(32)
    b.clicked.connect(pick)
    row.addWidget(b)
    return w


class ConnectDialog(QDialog):
    """The Connect dialog; emits :attr:`connected` with a ready (not started) session."""

    connected = Signal(object)

    def __init__(self, project, project_path: Path | None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Connect to plant")
        self.project, self.project_path = project, project_path
        self.session: LiveSession | None = None
        self.setMinimumWidth(560)  # room for an address and a recording's path
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.kind = QComboBox()
        self.kind.addItems(list(KINDS))
        self.address = QLineEdit(DEFAULT_ADDRESS["MQTT"])
        self.mapping = QLineEdit()
        self.mapping.setPlaceholderText("optional: extra assets, topics, state codes")
        self.security = QComboBox()
        self.security.addItems(list(SECURITY_CHOICES))
        self.security.setCurrentText("sign-encrypt")
        self.security.setToolTip("Basic256Sha256 with sign-encrypt or sign; none only for a "
                                 "server that offers no security (docs/live-opcua.md)")
        self.certificate = QLineEdit()
        self.certificate.setPlaceholderText("blank: twinbench's own, made on first use")
        self.private_key = QLineEdit()
        self.private_key.setPlaceholderText("blank with a blank certificate")
        self.trust_dir = QLineEdit()
        self.trust_dir.setPlaceholderText("blank: trusted/ beside twinbench's own certificate")
        self.record = QLineEdit(str(default_recording(project_path,
                                                      elsewhere=documents_folder())))
        self.record_note = QLabel(self._record_note())
        self.record_note.setWordWrap(True)
        self.record_note.setStyleSheet("color: palette(mid)")
        self.protocol = QComboBox()
        self.protocol.addItems(list(MQTT_PROTOCOLS))
        self.protocol.setToolTip("5: session expiry, flow control, message ids as a property; "
                                 "3.1.1: for brokers without MQTT 5, and about a quarter less "
                                 "CPU a message (docs/live.md)")
        form.addRow("Source", self.kind)
        form.addRow("Address", self.address)
        form.addRow("MQTT version", self.protocol)
        form.addRow("Mapping file", _with_browse(self.mapping, self._pick_mapping))
        # OPC UA only: shown for an opc.tcp:// source
        self.security_rows = [
            self.security,
            _with_browse(self.certificate, lambda: self._pick_file(
                self.certificate, "Client certificate", "Certificates (*.der *.pem *.crt)")),
            _with_browse(self.private_key, lambda: self._pick_file(
                self.private_key, "Private key", "Private keys (*.pem *.key)")),
            _with_browse(self.trust_dir, self._pick_trust_dir)]
        for label, row in zip(("OPC UA security", "Client certificate", "Private key",
                               "Trusted servers"), self.security_rows, strict=True):
            form.addRow(label, row)
        form.addRow("Record to", _with_browse(self.record, self._pick_record))
        form.addRow("", self.record_note)
        self.form = form
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c0392b")
        form.addRow(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.button(QDialogButtonBox.Ok).setText("Connect")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self.kind.currentTextChanged.connect(self._kind_changed)
        self.settings = getattr(parent, "settings", None) or QSettings()
        self._restore()
        self._kind_changed(self.kind.currentText())

    def _remembered(self) -> dict:
        """The fields the dialog remembers: settings key -> (widget, its current text)."""
        return {"kind": self.kind, "address": self.address, "protocol": self.protocol,
                "mapping": self.mapping, "security": self.security,
                "certificate": self.certificate, "private_key": self.private_key,
                "trust_dir": self.trust_dir}

    def _restore(self) -> None:
        for key, w in self._remembered().items():
            value = self.settings.value(f"{SETTINGS_GROUP}/{key}")
            if value is None:
                continue
            if isinstance(w, QComboBox):
                if w.findText(str(value)) >= 0:  # a choice a later version dropped: default
                    w.setCurrentText(str(value))
            else:
                w.setText(str(value))

    def _remember(self) -> None:
        for key, w in self._remembered().items():
            text = w.currentText() if isinstance(w, QComboBox) else w.text()
            self.settings.setValue(f"{SETTINGS_GROUP}/{key}", text)

    def _record_note(self) -> str:
        folder = recordings_folder(self.project_path, documents_folder())
        where = ("in recordings/ inside the project's folder, made when you connect"
                 if self.project_path else
                 "in your documents folder (the project is not saved yet)")
        return f"A new file each time, {where}: {folder}"

    def _kind_changed(self, kind: str) -> None:
        if self.address.text().strip() in ("", *DEFAULT_ADDRESS.values()):
            self.address.setText(DEFAULT_ADDRESS[kind])
        self.address.setPlaceholderText(ADDRESSES[KINDS[kind]].form)
        opcua = KINDS[kind] == "opcua"
        self.security.setEnabled(opcua)
        for row in self.security_rows:
            self.form.setRowVisible(row, opcua)
        self.form.setRowVisible(self.protocol, not opcua)
        self.adjustSize()

    def _pick_mapping(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Mapping file", "",
                                              "Mapping (*.json);;All files (*)")
        if path:
            self.mapping.setText(path)

    def _pick_file(self, edit: QLineEdit, title: str, kinds: str) -> None:
        path, _ = QFileDialog.getOpenFileName(self, title, edit.text(), f"{kinds};;All files (*)")
        if path:
            edit.setText(path)

    def _pick_trust_dir(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder of trusted server certificates",
                                                self.trust_dir.text())
        if path:
            self.trust_dir.setText(path)

    def _pick_record(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Record to", self.record.text(),
                                              "Recordings (*.h5)")
        if path:
            self.record.setText(path)

    def accept(self) -> None:
        """Make the session; a user's mistake stays in the dialog with its fix."""
        kind = self.kind.currentText()
        opcua = KINDS[kind] == "opcua"
        try:
            self.session = open_session(
                self.project, self.project_path, kind, self.address.text(),
                self.mapping.text(), self.security.currentText() if opcua else "none",
                self.record.text(), *((self.certificate.text(), self.private_key.text(),
                                       self.trust_dir.text()) if opcua else ()),
                protocol=None if opcua else self.protocol.currentText())
        except InputError as e:
            self.error.setText(str(e))
            self.adjustSize()  # a message of several lines: the dialog grows to show it all
            return
        self.error.setText("")
        self._remember()
        super().accept()
        self.connected.emit(self.session)
