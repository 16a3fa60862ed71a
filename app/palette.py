"""The palette dock: element kinds to drag onto the floor, and what a new element starts as."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt
from PySide6.QtGui import QDrag
from PySide6.QtWidgets import QListWidget, QListWidgetItem

from twin.model import elements as m
from twin.model.distributions import constant

MIME_KIND = "application/x-twinbench-element-kind"

KIND_HELP = {
    "source": "Source: raw material enters the line here",
    "station": "Station: a machine that processes parts",
    "assembly": "Assembly: a station that joins parts from its inputs into one (bill of "
                "materials in the inspector)",
    "oven": "Oven: a station that processes its parts in loads (batch size, timeout and "
            "minimum fill in the inspector's batch field)",
    "unbatch": "Unbatch: a station that empties each load that travelled as one unit (an "
               "oven's with release 'load') and hands its parts on one by one",
    "buffer": "Buffer: a FIFO store between machines",
    "conveyor": "Conveyor: an accumulating belt joining two elements",
    "sink": "Sink: finished parts leave the line here",
}

# id stems of new elements, e.g. station -> M1, M2, ...
STEMS = {"source": "src", "station": "M", "assembly": "A", "oven": "O", "unbatch": "U",
         "buffer": "B", "conveyor": "C", "sink": "out"}
# what the palette offers: the element kinds, and an assembly (a station with a bill of
# materials, issue 18), an oven (a station with a batch, issue 18 §2) and an unbatch station
# (it empties loads that travel as one unit) after the station
KINDS = ("source", "station", "assembly", "oven", "unbatch", "buffer", "conveyor", "sink")


def new_element(kind: str, element_id: str, position: tuple[float, float, float]) -> m.Element:
    """A new element of ``kind`` (an element kind, ``assembly`` or ``oven``) with the
    parameters a user starts editing from. An assembly starts with an empty bill: connecting
    its inputs lists them in the inspector. An oven hardens loads of 8 parts for 45 min; an
    unbatch station empties a load in a minute."""
    if kind == "assembly":
        return m.Station(element_id, position=position, process_time=constant(60.0),
                         footprint=(2.0, 1.5), assembly=m.Assembly(()))
    if kind == "oven":
        return m.Station(element_id, position=position, process_time=constant(2700.0),
                         footprint=(2.5, 2.5), batch=m.Batch(8, timeout=3600.0))
    if kind == "unbatch":
        return m.Station(element_id, position=position, process_time=constant(60.0),
                         footprint=(1.5, 1.5), unbatch=True)
    cls = m.ELEMENT_TYPES[kind]
    if cls is m.Station:
        return m.Station(element_id, position=position, process_time=constant(60.0),
                         footprint=(1.5, 1.5))
    if cls is m.Conveyor:
        return m.Conveyor(element_id, position=position, footprint=(2.0, 0.6))
    return cls(element_id, position=position)


class PaletteList(QListWidget):
    """A list of element kinds; dragging one out carries its kind as MIME data."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setDragEnabled(True)
        self.setSelectionMode(QListWidget.SingleSelection)
        for kind in KINDS:
            item = QListWidgetItem(kind.capitalize())
            item.setData(Qt.UserRole, kind)
            item.setToolTip(KIND_HELP[kind] + " (drag it onto the floor)")
            self.addItem(item)

    def startDrag(self, supported_actions):  # noqa: N802 - Qt override
        item = self.currentItem()
        if item is None:
            return
        mime = QMimeData()
        mime.setData(MIME_KIND, item.data(Qt.UserRole).encode())
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.exec(Qt.CopyAction)
