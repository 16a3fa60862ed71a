"""Importers: stream a data file through a mapping into a twinbench recording.

Importers form a small registry keyed by file type (glue's ``@data_factory``): each turns a
file into a stream of Arrow record batches of the mapped columns. :func:`import_recording`
does the rest, one chunk at a time, so that memory follows the chunk size and not the file:
vectorised conversion (:mod:`twin.recording.convert`), checks counted in an
:class:`~twin.recording.report.ImportReport`, and appends to the resizable datasets of a
temporary file that is renamed over the output only when the import has finished.
"""

from __future__ import annotations

import csv
import difflib
import gzip
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from twin.errors import unwritable
from twin.recording.errors import MappingError, RecordingImportError
from twin.recording.format import sniff
from twin.recording.mapping import Mapping, load_mapping
from twin.recording.report import ImportReport
from twin.safeio import commit, discard, new_temp
from twin.tasks import Cancelled, TaskState

#: Default chunk size of text readers, bytes (whole lines are cut from the file in pieces of
#: about this size; memory use is a small multiple of it).
BLOCK_SIZE = 4 << 20
#: Default chunk size of columnar readers, rows.
BATCH_ROWS = 131_072
#: Longest header line read, bytes.
HEADER_BYTES = 1 << 20

RowMap = Callable[[np.ndarray], np.ndarray]


@dataclass
class Chunk:
    """One chunk of a data file.

    Attributes
    ----------
    batch : pyarrow.RecordBatch
        The mapped columns of the rows that could be parsed.
    row_of : callable
        Maps indices into ``batch`` to 1-based data row numbers of the file.
    malformed : list of (int or None, str)
        Rows of this part of the file that could not be split into fields: (row, text).
    invalid_text : dict of str to numpy.ndarray of bool
        Column name -> cells that are not valid text in the file's encoding; they are empty
        in ``batch``.
    """

    batch: pa.RecordBatch
    row_of: RowMap
    malformed: list[tuple[int | None, str]]
    invalid_text: dict[str, np.ndarray] = field(default_factory=dict)


class BatchSource:
    """What an importer returns: the file's column names, then a stream of :class:`Chunk`.

    Opening reads no more than the header or the schema; :meth:`chunks` streams the data.
    """

    names: list[str]

    def chunks(self, columns: list[str]) -> Iterator[Chunk]:
        """Yield the chunks of the file, reading only ``columns`` (all in :attr:`names`)."""
        raise NotImplementedError

    def fraction_done(self) -> float:
        """Part of the file read so far, 0-1."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the file."""


@dataclass(frozen=True)
class ImporterSpec:
    """A registered importer.

    Attributes
    ----------
    identifier : str
        Short key, e.g. ``"csv"``.
    label : str
        Name shown to users.
    extensions : tuple of str
        File name endings it claims, lower case, with the dot (``".csv.gz"``).
    priority : int
        Higher wins when several importers claim a file.
    sniffed : tuple of str
        :func:`~twin.recording.format.sniff` kinds it can read (for files whose name says
        nothing).
    open : callable
        ``open(path, mapping, chunk) -> BatchSource``; ``chunk`` is the chunk size (bytes or
        rows, or None for the default).
    """

    identifier: str
    label: str
    extensions: tuple[str, ...]
    priority: int
    sniffed: tuple[str, ...]
    open: Callable[[Path, Mapping, int | None], BatchSource]


_IMPORTERS: dict[str, ImporterSpec] = {}


def data_importer(
    label: str,
    *,
    identifier: str,
    extensions: tuple[str, ...] = (),
    priority: int = 0,
    sniffed: tuple[str, ...] = (),
) -> Callable:
    """Register an importer (decorator), like glue's ``@data_factory``.

    The decorated function is ``open(path, mapping, chunk) -> BatchSource``.
    """

    def register(func: Callable) -> Callable:
        if identifier in _IMPORTERS:
            raise ValueError(f"an importer {identifier!r} is registered already")
        _IMPORTERS[identifier] = ImporterSpec(
            identifier, label, tuple(e.lower() for e in extensions), priority, sniffed, func
        )
        return func

    return register


def importers() -> tuple[ImporterSpec, ...]:
    """Registered importers, highest priority first."""
    return tuple(sorted(_IMPORTERS.values(), key=lambda s: -s.priority))


def find_importer(path: str | os.PathLike, identifier: str | None = None) -> ImporterSpec:
    """Pick the importer for a file: by identifier, else by file name, else by content.

    Raises
    ------
    RecordingImportError
        Naming the file and the file types that can be imported.
    """
    path = Path(path)
    if identifier is not None:
        if identifier not in _IMPORTERS:
            raise RecordingImportError(
                f"no importer {identifier!r}; available: {', '.join(sorted(_IMPORTERS))}"
            )
        return _IMPORTERS[identifier]
    name = path.name.lower()
    for spec in importers():
        if any(name.endswith(ext) for ext in spec.extensions):
            return spec
    kind = sniff(path)
    for spec in importers():
        if kind in spec.sniffed:
            return spec
    known = ", ".join(f"{s.label} ({' '.join(s.extensions)})" for s in importers())
    raise RecordingImportError(
        f"{path}: cannot tell the file type from its name or content ({kind}); "
        f"importable types: {known}; rename the file or pick an importer explicitly"
    )


# --- CSV -----------------------------------------------------------------------------------


class _CsvSource(BatchSource):
    """CSV in pieces of whole lines, each parsed by Arrow as a single block.

    Arrow's own streaming reader reads dozens of blocks ahead; cutting the file ourselves at
    line ends bounds memory to a few pieces and gives every row its line number. A newline
    always ends a row (Arrow's ``newlines_in_values=False``), so the cuts agree with Arrow.
    """

    def __init__(self, path: Path, mapping: Mapping, piece: int | None):
        self.path = path
        self._gz = path.name.lower().endswith(".gz")
        self._opts = mapping.csv
        self._piece = piece or BLOCK_SIZE
        self.names = self._header(mapping)
        self._invalid: list[int] = []
        self._new: list[tuple[int | None, str]] = []
        self._valid = 0
        self._lines = 0
        self._raw = pa.OSFile(str(path), "rb")
        self._size = max(self._raw.size(), 1)
        # Bytes of the file read so far. Kept here because a gzip stream closes the file
        # under it when it ends, and progress is asked for after the last piece.
        self._pos = 0

    def _header(self, mapping: Mapping) -> list[str]:
        opener = gzip.open if self._gz else open
        encoding = "utf-8-sig" if mapping.csv.encoding.lower() in ("utf-8", "utf8") else (
            mapping.csv.encoding)
        try:
            with opener(self.path, "rb") as raw:
                # the first line only: a bad byte further down is a bad cell, not a bad header
                line = raw.readline(HEADER_BYTES)
                if len(line) >= HEADER_BYTES and not line.endswith(b"\n"):
                    raise RecordingImportError(
                        f"{self.path}: the first line is longer than {HEADER_BYTES:,} bytes; "
                        "expected a header line naming the columns (check csv.delimiter)")
                header = next(csv.reader(
                    [line.decode(encoding)], delimiter=mapping.csv.delimiter,
                    quotechar=mapping.csv.quote_char,
                ), None)
        except (OSError, EOFError, UnicodeDecodeError, csv.Error, gzip.BadGzipFile) as exc:
            raise RecordingImportError(
                f"{self.path}: the header line cannot be read ({exc}); check the file and the "
                "mapping's csv.encoding / csv.delimiter"
            ) from None
        if not header:
            raise RecordingImportError(
                f"{self.path}: the file is empty; expected a header line naming the columns"
            )
        return [h.strip() for h in header]

    def _pieces(self) -> Iterator[tuple[pa.Buffer, int]]:
        """Yield (whole lines, number of file lines before them)."""
        stream = pa.CompressedInputStream(self._raw, "gzip") if self._gz else self._raw
        carry = b""
        lines = 0
        while True:
            data = stream.read(self._piece)
            self._pos = self._raw.tell()
            buf = carry + data if carry else data
            if lines == 0:  # drop the header line (read separately)
                cut = buf.find(b"\n")
                if cut < 0 and data:
                    carry = buf
                    continue
                buf = buf[cut + 1:] if cut >= 0 else b""
                lines = 1
            if not data:
                if buf.strip():
                    yield pa.py_buffer(buf), lines  # last line without a newline
                return
            cut = buf.rfind(b"\n") + 1
            if cut == 0:
                carry = buf
                continue
            carry = buf[cut:]
            yield pa.py_buffer(buf).slice(0, cut), lines
            lines += buf.count(b"\n", 0, cut)

    def _on_invalid(self, row: pcsv.InvalidRow) -> str:
        data_row = None if row.number is None else self._lines + row.number - 1
        if data_row is not None:
            self._invalid.append(data_row)
        text = row.text if len(row.text) <= 60 else row.text[:57] + "..."
        self._new.append(
            (data_row, f"{text!r} has {row.actual_columns} fields, expected "
                       f"{row.expected_columns}")
        )
        return "skip"

    def _reader(self, buffer: pa.Buffer, columns: list[str]) -> pcsv.CSVStreamingReader:
        opts = self._opts
        return pcsv.open_csv(
            pa.BufferReader(buffer),
            # One block per piece; single-threaded parsing keeps the line numbers of
            # malformed rows (Arrow still parses several million rows per second).
            read_options=pcsv.ReadOptions(
                use_threads=False, block_size=buffer.size + 1, encoding=opts.encoding,
                column_names=self.names,
            ),
            parse_options=pcsv.ParseOptions(
                delimiter=opts.delimiter, quote_char=opts.quote_char,
                invalid_row_handler=self._on_invalid,
            ),
            convert_options=pcsv.ConvertOptions(
                # bytes first: a cell that is not valid text is counted, not the file
                include_columns=columns, column_types={c: pa.binary() for c in columns},
                strings_can_be_null=True, quoted_strings_can_be_null=True,
                null_values=list(opts.null_values),
            ),
        )

    def chunks(self, columns: list[str]) -> Iterator[Chunk]:
        for buffer, lines in self._pieces():
            self._lines = lines
            try:
                with _quiet_undecodable_rows(self._on_invalid):
                    batches = list(self._reader(buffer, columns))
            except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
                raise RecordingImportError(
                    f"{self.path}: the CSV cannot be parsed after line {lines} ({exc}); fix "
                    "the file (quotes, encoding) or the mapping's csv options"
                ) from None
            for batch in batches:
                base = self._valid
                self._valid += batch.num_rows
                malformed, self._new = self._new, []
                inv = np.asarray(self._invalid, np.int64)
                before = inv - 1 - np.arange(len(inv))  # valid rows before each malformed row

                def row_of(idx: np.ndarray, base: int = base, before: np.ndarray = before):
                    k = base + np.asarray(idx, np.int64)
                    return k + 1 + np.searchsorted(before, k, side="right")

                batch, invalid = _as_text(batch)
                yield Chunk(batch, row_of, malformed, invalid)

    def fraction_done(self) -> float:
        return min(1.0, self._pos / self._size)

    def close(self) -> None:
        self._raw.close()


@contextmanager
def _quiet_undecodable_rows(handler) -> Iterator[None]:
    """Keep pyarrow's traceback for a malformed row that is not valid text off stderr.

    pyarrow decodes a malformed row as UTF-8 before it calls ``invalid_row_handler``; when
    that decode fails inside pyarrow, it prints "Exception ignored ..." with a traceback and
    then stops the parse with ``ArrowInvalid``, which :meth:`_CsvSource.chunks` reports with
    the line. The traceback says nothing more, so it is dropped; anything else unraisable
    goes to the hook that was there.
    """
    previous = sys.unraisablehook

    def hook(unraisable):
        if not (isinstance(unraisable.exc_value, UnicodeDecodeError)
                and getattr(unraisable.object, "__func__", None) is handler.__func__):
            previous(unraisable)

    sys.unraisablehook = hook
    try:
        yield
    finally:
        sys.unraisablehook = previous


def _as_text(batch: pa.RecordBatch) -> tuple[pa.RecordBatch, dict[str, np.ndarray]]:
    """Binary CSV columns as text; cells that are not valid UTF-8 become empty and are
    returned per column, so that each is counted where it is."""
    columns, invalid = [], {}
    for name, col in zip(batch.schema.names, batch.columns, strict=True):
        try:
            columns.append(col.cast(pa.string()))
            continue
        except (pa.ArrowInvalid, UnicodeDecodeError):
            pass
        texts, bad = [], np.zeros(len(col), bool)
        for i, value in enumerate(col.to_pylist()):
            try:
                texts.append(None if value is None else value.decode("utf-8"))
            except UnicodeDecodeError:
                texts.append(None)
                bad[i] = True
        columns.append(pa.array(texts, pa.string()))
        invalid[name] = bad
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names), invalid


@data_importer("CSV text", identifier="csv", extensions=(".csv", ".csv.gz", ".txt", ".tsv"),
               priority=10, sniffed=("text",))
def open_csv(path: Path, mapping: Mapping, chunk: int | None) -> BatchSource:
    """Stream a CSV file (optionally gzip-compressed) in blocks of ``chunk`` bytes."""
    return _CsvSource(path, mapping, chunk)


# --- Parquet -------------------------------------------------------------------------------


class _ParquetSource(BatchSource):
    def __init__(self, path: Path, rows: int | None):
        self.path = path
        try:
            self._file = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise RecordingImportError(
                f"{path}: cannot be read as Parquet ({exc}); check the file"
            ) from None
        self.names = list(self._file.schema_arrow.names)
        self._rows = rows or BATCH_ROWS
        self._total = max(self._file.metadata.num_rows, 1)
        self._done = 0

    def chunks(self, columns: list[str]) -> Iterator[Chunk]:
        base = 0
        try:
            for batch in self._file.iter_batches(batch_size=self._rows, columns=columns):
                self._done = base + batch.num_rows

                def row_of(idx: np.ndarray, base: int = base) -> np.ndarray:
                    return base + np.asarray(idx, np.int64) + 1

                yield Chunk(batch, row_of, [])
                base += batch.num_rows
        except (pa.ArrowInvalid, OSError) as exc:
            raise RecordingImportError(
                f"{self.path}: the Parquet data cannot be read after row {base} ({exc})"
            ) from None

    def fraction_done(self) -> float:
        return min(1.0, self._done / self._total)

    def close(self) -> None:
        self._file.close()


@data_importer("Apache Parquet", identifier="parquet", extensions=(".parquet", ".pq"),
               priority=10, sniffed=("parquet",))
def open_parquet(path: Path, mapping: Mapping, chunk: int | None) -> BatchSource:
    """Stream a Parquet file in batches of ``chunk`` rows (row groups are read lazily)."""
    return _ParquetSource(path, chunk)


# --- the import ----------------------------------------------------------------------------


def import_recording(
    data: str | os.PathLike,
    mapping: Mapping | str | os.PathLike,
    out: str | os.PathLike,
    *,
    task: TaskState | None = None,
    importer: str | None = None,
    chunk: int | None = None,
    overwrite: bool = False,
    on_bad_rows: str | None = None,
) -> ImportReport:
    """Import a data file into a new recording.

    The recording is written to a temporary file beside ``out`` and renamed to ``out`` only
    when complete (``twin.safeio``), so an interrupted or failed import leaves no recording
    behind and a killed one leaves the old file whole.

    Parameters
    ----------
    data : path-like
        CSV (optionally ``.gz``) or Parquet file.
    mapping : Mapping or path-like
        The mapping, or the path of a mapping file.
    out : path-like
        The recording to create (``.h5``).
    task : TaskState, optional
        Any object with ``set_progress_value(percent)`` and ``is_interruption_requested()``;
        told the progress (0-100) after each chunk, then asked whether to stop.
    importer : str, optional
        Importer identifier (``"csv"``, ``"parquet"``); guessed from the file otherwise.
    chunk : int, optional
        Chunk size: bytes for text, rows for Parquet.
    overwrite : bool
        Replace an existing ``out``.
    on_bad_rows : {"report", "fail"}, optional
        Overrides the mapping's policy.

    Returns
    -------
    ImportReport
        Also stored in the recording's ``import_report`` attribute.

    Raises
    ------
    MappingError
        For a bad mapping file.
    RecordingImportError
        For data that cannot be imported (missing columns, no storable row, a bad row when
        bad rows must fail), naming the file, row, column, value and fix.
    twin.tasks.Cancelled
        When ``task`` asked for interruption.
    """
    from twin.recording.ingest import Ingest  # the per-chunk work lives beside this module

    started = time.perf_counter()
    data = Path(data)
    out = Path(out)
    if not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping)
    if on_bad_rows is not None:
        if on_bad_rows not in ("report", "fail"):
            raise MappingError("<option>", "on_bad_rows", on_bad_rows, "'report' or 'fail'")
        mapping = _with_policy(mapping, on_bad_rows)
    if not data.is_file():
        raise RecordingImportError(f"{data}: no such data file; check the path")
    if problem := unwritable(out):
        raise RecordingImportError(problem)
    if out.exists() and not overwrite:
        raise RecordingImportError(
            f"{out}: exists; choose another file, or overwrite it (--force)"
        )
    spec = find_importer(data, importer)
    source = spec.open(data, mapping, chunk)
    ingest = tmp = None
    try:
        tmp = new_temp(out)  # beside out, never through a link (twin.safeio)
        _check_header(data, mapping, source.names)
        ingest = Ingest(data, mapping, tmp, spec.identifier)
        for piece in _prefetch(source.chunks(list(dict.fromkeys(mapping.columns.values())))):
            ingest.add(piece)
            if task is not None:
                task.set_progress_value(99.0 * source.fraction_done())
                if task.is_interruption_requested():
                    raise Cancelled(f"import of {data} cancelled; {out} was not written")
        report = ingest.finish(time.perf_counter() - started)
        commit(tmp, out)
    except BaseException:
        if ingest is not None:
            ingest.abort()
        discard(tmp)
        raise
    finally:
        source.close()
    if task is not None:
        task.set_progress_value(100.0)
    return report


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _prefetch(chunks: Iterator[Chunk], depth: int = 1) -> Iterator[Chunk]:
    """Read the next chunk in a background thread while the caller converts this one.

    Arrow parses without holding the GIL, so reading and converting overlap; at most
    ``depth`` chunks wait in the queue, so memory stays proportional to the chunk size.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for piece in chunks:
                if not put(piece):
                    return
            put(done)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(_Failure(exc))

    reader = threading.Thread(target=run, name="twinbench-import-reader", daemon=True)
    reader.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item
    finally:
        stop.set()
        reader.join()


def _with_policy(mapping: Mapping, policy: str) -> Mapping:
    from dataclasses import replace

    return replace(mapping, on_bad_rows=policy)


def _check_header(data: Path, mapping: Mapping, names: list[str]) -> None:
    for role, column in mapping.columns.items():
        if column in names:
            continue
        close = difflib.get_close_matches(column, names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise RecordingImportError(
            f"{data}: column {column!r} (mapping {mapping.file} $.columns.{role}) is not in the "
            f"file; its columns are: {', '.join(names)}.{hint} Fix the column name in the "
            "mapping or pick the right data file."
        )


