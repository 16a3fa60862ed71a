"""The energy of the open recording under the project's energy context (issue 19 §3, §4):
cost (energy and demand parts), 15-minute peak and CO2, exactly from the power channels,
with PV and a battery the grid's figures with and without it, and the Grid and battery
chart. Computed on a worker (``app.worker.Job``) from the recording's file, as
``twinbench replay FILE --project P`` computes it."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
)

from app.energy_breakdown import EnergyBreakdownChart
from app.energy_chart import EnergyDayChart
from app.worker import Job
from twin.energy import EnergyError
from twin.model import elements as m

#: The rows of the table: (key of ``EnergyKpis.to_dict`` or of the site figures, label,
#: digits); a unit of ``"$"`` is the tariff's currency.
LINE_ROWS = (("energy_kwh", "energy, kWh", 1), ("energy_cost", "energy cost, $", 2),
             ("energy_cost_energy", "  energy part, $", 2),
             ("energy_cost_demand", "  demand part, $", 2),
             ("energy_cost_per_part", "energy cost per good part, $", 4),
             ("peak_kw_15min", "peak 15-min power, kW", 2), ("co2_kg", "CO2, kg", 1),
             ("co2_kg_per_part", "CO2 per good part, kg", 4))
SITE_ROWS = (("pv_kwh", "PV produced, kWh", 1), ("pv_self_kwh", "PV self-consumed, kWh", 1),
             ("pv_self_share", "PV self-consumed, share", 3),
             ("pv_export_kwh", "PV exported, kWh", 1),
             ("battery_throughput_kwh", "battery throughput, kWh", 1),
             ("battery_cycles", "battery full cycles", 2),
             ("grid_peak_kw_15min_no_battery", "grid peak 15-min, no battery, kW", 2),
             ("grid_peak_kw_15min", "grid peak 15-min, kW", 2),
             ("peak_shaved_kw", "peak shaved, kW", 2),
             ("grid_cost_no_battery", "grid bill, no battery, $", 2),
             ("grid_cost", "grid bill, $", 2), ("battery_saving", "saved by the battery, $", 2),
             ("grid_co2_kg", "grid CO2, kg", 1))


def recording_figures(path: str, tariff: m.Tariff) -> dict:
    """Qt-free: the figures and the chart of the recording at ``path`` (the job's work)."""
    from twin.recording import Recording
    from twin.recording.energy import (
        recording_breakdown,
        recording_day_chart,
        recording_energy,
        recording_site,
    )

    with Recording.open(path) as rec:
        return {"line": recording_energy(rec, tariff)["total"].to_dict(),
                "site": recording_site(rec, tariff), "chart": recording_day_chart(rec, tariff),
                "breakdown": recording_breakdown(rec, tariff)}


class RecordingEnergyDialog(QDialog):
    """Non-modal; :meth:`start` computes the figures of a recording under a tariff."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Energy of the recording")
        self.job: Job | None = None
        self.figures: dict | None = None
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["figure", "value"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.chart = EnergyDayChart()
        self.breakdown = EnergyBreakdownChart()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.chart, "Grid and battery")
        self.tabs.addTab(self.breakdown, "Cost breakdown")
        split = QSplitter(Qt.Horizontal)
        split.addWidget(self.table)
        split.addWidget(self.tabs)
        split.setSizes([320, 780])
        lay = QVBoxLayout(self)
        lay.addWidget(self.status)
        lay.addWidget(split, 1)
        self.resize(1100, 560)

    def start(self, path: str | None, tariff: m.Tariff | None) -> bool:
        """Compute the figures of the recording at ``path``; a word on what is missing
        instead when there is no recording or no energy context."""
        self.table.setRowCount(0)
        self.figures = None
        if path is None:
            self.status.setText("No recording is open: File > Open recording… first.")
            self.chart.clear("")
            self.breakdown.clear("")
            return False
        if tariff is None:
            self.status.setText("The project has no energy context: give it prices (and PV "
                                "or a battery) under Edit > Calendar and energy….")
            self.chart.clear()
            self.breakdown.clear()
            return False
        if self.job is not None and self.job.is_running():
            self.job.cancel()
        self.currency = tariff.currency
        self.status.setText(f"Pricing {path} …")
        job = self.job = Job(lambda _task: recording_figures(path, tariff),
                             user_errors=(EnergyError,), parent=self)
        # only the last job's figures are shown: an earlier one may end after it
        job.finished.connect(lambda f: job is self.job and self._show(f))
        job.failed.connect(lambda msg, _tb: job is self.job and self.status.setText(msg))
        self.job.start()
        return True

    def is_running(self) -> bool:
        return self.job is not None and self.job.is_running()

    def _show(self, figures: dict) -> None:
        self.figures = figures
        rows = [(label, figures["line"].get(k), d) for k, label, d in LINE_ROWS]
        rows += [(label, figures["site"][k], d) for k, label, d in SITE_ROWS
                 if k in figures["site"]]
        self.table.setRowCount(len(rows))
        for i, (label, v, d) in enumerate(rows):
            text = "-" if v is None or (isinstance(v, float) and not math.isfinite(v)) \
                else f"{v:,.{d}f}"
            self.table.setItem(i, 0, QTableWidgetItem(label.replace("$", self.currency)))
            self.table.setItem(i, 1, QTableWidgetItem(text))
        self.table.resizeColumnToContents(0)
        self.status.setText("The recorded line under the project's energy context, exactly "
                            "from its power channels (docs/energy.md).")
        self.chart.draw(figures["chart"])
        self.breakdown.draw(figures["breakdown"])

    def value_of(self, label_start: str) -> str:
        """The text of the row whose label starts with ``label_start`` (tests, scripts)."""
        for i in range(self.table.rowCount()):
            if self.table.item(i, 0).text().startswith(label_start):
                return self.table.item(i, 1).text()
        raise KeyError(label_start)

    def closeEvent(self, event):
        if self.job is not None and self.job.is_running():
            self.job.cancel()
        super().closeEvent(event)


def show_recording_energy(window) -> RecordingEnergyDialog:
    """Show ``window``'s energy-of-the-recording dialog for its open recording."""
    dlg = getattr(window, "recording_energy_dialog", None)
    if dlg is None:
        dlg = window.recording_energy_dialog = RecordingEnergyDialog(window)
    rec = window.replay.recording
    dlg.start(str(rec.path) if rec is not None else None, window.project.tariff)
    dlg.show()
    dlg.raise_()
    return dlg
