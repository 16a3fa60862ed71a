"""The first rows of a data file and what a mapping makes of each column, before an import.

The workbench's import dialog shows these while the user picks or builds a mapping; they read
only the head of the file (a few kilobytes), so they are cheap enough for every keystroke.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from kernels.types import STATE_NAMES
from twin.recording.errors import RecordingImportError
from twin.recording.importers import find_importer
from twin.recording.mapping import CsvOptions, Mapping, normalize_label

#: Bytes read at most for a CSV preview (a header line of a wide file fits).
HEAD_BYTES = 4 << 20

#: Column names that suggest a role, in order of preference (lower case).
ROLE_HINTS = {
    "time": ("ts", "time", "timestamp", "datetime", "date_time", "t"),
    "asset": ("asset", "machine", "machine_id", "asset_id", "station", "device"),
    "state": ("state", "status", "machine_state", "mode"),
    "parts": ("parts", "items", "count", "pieces", "good"),
    "scrap": ("scrap", "nok", "reject"),
    "power": ("power", "power_kw", "power_avg", "kw"),
    "product": ("product", "article", "sku"),
}


@dataclass(frozen=True)
class Head:
    """The first rows of a data file.

    Attributes
    ----------
    kind : str
        The importer that would read it (``"csv"``, ``"parquet"``).
    columns : list of str
    rows : list of list of str
        Cells as text (``""`` for empty), at most the number asked for.
    """

    kind: str
    columns: list[str]
    rows: list[list[str]]

    def column(self, name: str) -> list[str]:
        """The cells of column ``name`` in the rows read."""
        i = self.columns.index(name)
        return [r[i] if i < len(r) else "" for r in self.rows]


def head_bytes(path: str | os.PathLike) -> bytes | None:
    """The first ``HEAD_BYTES`` of a CSV file's text (un-gzipped), for :func:`read_head` to
    parse with one set of options after another without reading the file again; None for a
    Parquet file, whose head needs no options.

    Raises
    ------
    RecordingImportError
        For a missing or unreadable file, naming it and the fix.
    """
    path = Path(path)
    if not path.is_file():
        raise RecordingImportError(f"{path}: no such data file; check the path")
    if find_importer(path).identifier == "parquet":
        return None
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as raw:
            return raw.read(HEAD_BYTES)
    except (OSError, EOFError) as exc:
        raise RecordingImportError(f"{path}: cannot be read ({exc}); check the file") from None


def read_head(path: str | os.PathLike, rows: int = 20, options: CsvOptions | None = None,
              raw: bytes | None = None) -> Head:
    """Read the header and the first ``rows`` rows of a CSV (optionally gzipped) or Parquet file.

    ``raw``: the file's :func:`head_bytes`, read before; the file is not read again.

    Raises
    ------
    RecordingImportError
        For a missing or unreadable file, naming it and the fix.
    """
    path = Path(path)
    if raw is None:
        raw = head_bytes(path)
    if raw is None:
        return _parquet_head(path, rows)
    opts = options or CsvOptions()
    encoding = "utf-8-sig" if opts.encoding.lower() in ("utf-8", "utf8") else opts.encoding
    try:
        text = raw.decode(encoding, errors="replace")
    except LookupError as exc:
        raise RecordingImportError(f"{path}: cannot be read ({exc}); check the file") from None
    lines = text.splitlines()[: rows + 1]
    if not lines or not lines[0].strip():
        raise RecordingImportError(f"{path}: the file is empty; expected a header line "
                                   "naming the columns")
    try:
        table = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=opts.delimiter,
                                quotechar=opts.quote_char))
    except csv.Error as exc:
        raise RecordingImportError(f"{path}: the first lines cannot be read as CSV ({exc}); "
                                   "check the delimiter and the quote character") from None
    header = [h.strip() for h in table[0]]
    # the importer by the file's name (read again only when the name does not tell)
    return Head(find_importer(path).identifier, header, [[c.strip() for c in r] for r in table[1:]])


def _parquet_head(path: Path, rows: int) -> Head:
    import pyarrow.parquet as pq

    try:
        f = pq.ParquetFile(path)
        names = list(f.schema_arrow.names)
        batch = next(f.iter_batches(batch_size=max(rows, 1)), None)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise RecordingImportError(f"{path}: cannot be read as Parquet ({exc})") from None
    out: list[list[str]] = []
    if batch is not None:
        cols = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
        for r in range(min(rows, batch.num_rows)):
            out.append(["" if c[r] is None else str(c[r]) for c in cols])
    return Head("parquet", names, out)


def guess_roles(columns: list[str]) -> dict[str, str]:
    """Role to column for the columns whose names suggest a role (:data:`ROLE_HINTS`)."""
    lower = {c.lower(): c for c in columns}
    out: dict[str, str] = {}
    for role, hints in ROLE_HINTS.items():
        for h in hints:
            if h in lower and lower[h] not in out.values():
                out[role] = lower[h]
                break
    return out


def state_codes(head: Head, column: str) -> list[str]:
    """The distinct raw state codes of ``column`` in ``head``, normalized, most common first."""
    counts = Counter(normalize_label(v) for v in head.column(column) if v != "")
    return [code for code, _ in counts.most_common()]


def column_roles(mapping: Mapping) -> dict[str, str]:
    """Column name to the role the mapping gives it."""
    return {col: role for role, col in mapping.columns.items()}


def explain_cell(mapping: Mapping, role: str, value: str) -> str:
    """What ``value`` of a column of ``role`` becomes: a state code's machine state, else
    ``""`` (the value is taken as it is)."""
    if role != "state" or value in mapping.csv.null_values:
        return ""
    code = mapping.states.get(normalize_label(value))
    return "unknown code: add it to the states" if code is None else STATE_NAMES[code]
