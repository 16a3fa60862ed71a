"""The import report: what an import stored, and every problem it found in the data.

Nothing is dropped silently: each row that could not be stored is counted under its reason,
and every doubtful value is counted with up to :data:`MAX_EXAMPLES` examples (row, asset,
value). The report is printed by the CLI, shown by the GUI and stored as JSON in the
recording's ``import_report`` root attribute.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

MAX_EXAMPLES = 5

#: Issue kinds, each with what it means and what the import did about it.
ISSUES = {
    "malformed_rows": "rows with the wrong number of fields: not stored",
    "bad_timestamps": "time stamps that cannot be read, do not exist in the time zone or lie "
                      "outside 1970-01-01 to 2200-01-01 UTC: not stored",
    "missing_values": "empty cells in mapped columns (rows without time or asset are not "
                      "stored; other empty quantities are stored as NaN)",
    "unknown_states": "raw states the mapping does not name: stored as state 'unknown' with "
                      "the raw value kept",
    "impossible_values": "negative, NaN, infinite or non-numeric quantities, unknown scrap "
                         "flags: stored as recorded (text as NaN); replay counts them as 0",
    "bad_text": "cells that are not valid text (invalid bytes for the encoding, a NUL "
                "character, a label over 128 bytes): rows without a readable time or asset "
                "are not stored, other such cells are stored as empty",
    "out_of_order": "rows earlier than an earlier row of the same asset: stored, replay sorts",
    "duplicates": "rows with the same asset and time as the previous one: event logs "
                  "store them; buckets keep one per asset and start, as the mapping's "
                  "duplicate_buckets says (default: the first), and do not store the others",
    "gaps": "stretches without data between an asset's buckets (or longer than "
            "max_silence_s in event logs): replay shows them as no data",
    "overlaps": "buckets that start before the asset's previous bucket ended: stored; replay "
                "ends the earlier bucket where the later one starts",
    "ambiguous_times": "naive local times that occur twice (DST change): the earlier reading "
                       "is stored",
}
#: Issue kinds that stop the import when the mapping says ``on_bad_rows: "fail"``.
BAD_ROW_ISSUES = (
    "malformed_rows", "bad_timestamps", "missing_values", "unknown_states", "impossible_values",
    "bad_text",
)


@dataclass
class Example:
    """One occurrence of an issue.

    Attributes
    ----------
    row : int or None
        1-based data row (the header is not counted; in a CSV file with one header line the
        file line is ``row + 1``). None when the row is not known (found after sorting).
    asset : str
        Asset id, ``""`` when not known.
    value : str
        The offending value, as text.
    column : str
        The data column, ``""`` when the issue concerns a whole row.
    """

    row: int | None
    asset: str
    value: str
    column: str = ""

    def format(self) -> str:
        """Return ``row N, asset A, column C: value``."""
        parts = [f"row {self.row}" if self.row is not None else "row ?"]
        if self.asset:
            parts.append(f"asset {self.asset}")
        if self.column:
            parts.append(f"column {self.column}")
        return ", ".join(parts) + f": {self.value}"


@dataclass
class Issue:
    """Count and first examples of one kind of issue."""

    count: int = 0
    examples: list[Example] = field(default_factory=list)

    def add(self, count: int, examples: Iterable[Example] = ()) -> None:
        """Add ``count`` occurrences, keeping examples up to :data:`MAX_EXAMPLES`."""
        self.count += int(count)
        for example in examples:
            if len(self.examples) >= MAX_EXAMPLES:
                break
            self.examples.append(example)


@dataclass
class AssetSummary:
    """Per-asset figures of an import (times in seconds since the recording epoch)."""

    rows: int = 0
    first: float | None = None
    last: float | None = None
    gaps: int = 0
    gap_time_s: float = 0.0


@dataclass
class ImportReport:
    """What an import read, stored and found.

    Attributes
    ----------
    data_file, mapping_file : str
    shape : str
        ``"event_log"`` or ``"buckets"``.
    importer : str
        Identifier of the importer used (``"csv"``, ``"parquet"``).
    rows_read : int
        Data rows seen, malformed ones included.
    rows_stored : int
        Rows that produced at least one record.
    not_stored : dict of str to int
        Reason to number of rows not stored; ``rows_read == rows_stored + sum(not_stored)``.
    records : dict of str to int
        Records written per dataset kind (``states``, ``parts``, ``buckets``, ``power``).
    issues : dict of str to Issue
        One entry per kind in :data:`ISSUES`.
    gap_time_s : float
        Total time of the gaps, seconds.
    assets : dict of str to AssetSummary
    epoch_utc : str
        Epoch of the recording's times.
    seconds : float
        Wall time of the import.
    notes : list of str
        Remarks on how the data was read.
    """

    data_file: str = ""
    mapping_file: str = ""
    shape: str = ""
    importer: str = ""
    rows_read: int = 0
    rows_stored: int = 0
    not_stored: dict[str, int] = field(default_factory=dict)
    records: dict[str, int] = field(default_factory=dict)
    issues: dict[str, Issue] = field(default_factory=lambda: {k: Issue() for k in ISSUES})
    gap_time_s: float = 0.0
    assets: dict[str, AssetSummary] = field(default_factory=dict)
    epoch_utc: str = ""
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def rows_not_stored(self) -> int:
        """Rows that produced no record."""
        return sum(self.not_stored.values())

    @property
    def clean(self) -> bool:
        """True when no issue of any kind was found."""
        return all(issue.count == 0 for issue in self.issues.values())

    def count(self, kind: str) -> int:
        """Number of occurrences of an issue kind."""
        return self.issues[kind].count

    def not_stored_add(self, reason: str, count: int) -> None:
        """Count ``count`` rows not stored for ``reason``."""
        if count:
            self.not_stored[reason] = self.not_stored.get(reason, 0) + int(count)

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ImportReport:
        """Rebuild a report from :meth:`to_dict` output."""
        data = dict(data)
        issues = {k: Issue() for k in ISSUES}
        for kind, item in data.pop("issues", {}).items():
            issues[kind] = Issue(item["count"], [Example(**e) for e in item["examples"]])
        assets = {k: AssetSummary(**v) for k, v in data.pop("assets", {}).items()}
        return cls(issues=issues, assets=assets, **data)

    def format(self) -> str:
        """Return the report as text for a terminal or a log pane."""
        lines = [
            f"Import of {self.data_file} with {self.mapping_file} "
            f"({self.shape}, {self.importer} importer, {self.seconds:.2f} s)",
            f"  rows read {self.rows_read:,}, stored {self.rows_stored:,}, "
            f"not stored {self.rows_not_stored:,}",
        ]
        for reason, n in sorted(self.not_stored.items()):
            lines.append(f"    not stored: {n:,} {reason}")
        if self.records:
            recs = ", ".join(f"{k} {v:,}" for k, v in self.records.items())
            lines.append(f"  records written: {recs}")
        for asset_id, s in self.assets.items():
            span = "" if s.first is None else f", {self._when(s.first)} .. {self._when(s.last)}"
            gaps = f", {s.gaps} gaps ({s.gap_time_s:,.0f} s)" if s.gaps else ""
            lines.append(f"  asset {asset_id}: {s.rows:,} rows{span}{gaps}")
        found = [(k, v) for k, v in self.issues.items() if v.count]
        if not found:
            lines.append("  no issues found")
        for kind, issue in found:
            extra = f", total {self.gap_time_s:,.0f} s" if kind == "gaps" else ""
            lines.append(f"  {kind}: {issue.count:,}{extra} - {ISSUES[kind]}")
            for example in issue.examples:
                lines.append(f"      {example.format()}")
        for note in self.notes:
            lines.append(f"  note: {note}")
        return "\n".join(lines)

    __str__ = format

    def _when(self, t: float) -> str:
        """ISO UTC text of ``t`` seconds since the epoch (seconds when there is no epoch)."""
        try:
            epoch = datetime.fromisoformat(self.epoch_utc)
        except ValueError:
            return f"{t:.0f} s"
        return (epoch + timedelta(seconds=t)).isoformat().replace("+00:00", "Z")
