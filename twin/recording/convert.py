"""Vectorised conversion of Arrow columns into the arrays a recording stores.

Each function turns one column of one chunk into NumPy arrays plus masks saying which cells
were missing or could not be read, so that the importer can count them. Arrow's compute
kernels do the work; a chunk falls back to Python parsing only for the cells Arrow rejects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from twin.recording.format import _ns, zone
from twin.recording.mapping import normalize_label
from twin.recording.timerange import EARLIEST_NS, LATEST_NS, naive_in_range

# Time status codes of :class:`Times`.
T_OK = 0
T_MISSING = 1
T_BAD = 2
T_NONEXISTENT = 3
#: A readable stamp outside the supported range (:mod:`twin.recording.timerange`).
T_RANGE = 4
#: Nanoseconds per unit of Arrow timestamps, and of date32 (days) / date64 (ms).
_UNIT_NS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_DAY_NS = 86_400 * 1_000_000_000


@dataclass
class Times:
    """Parsed time stamps of one chunk.

    Attributes
    ----------
    ns : numpy.ndarray of int64
        Nanoseconds since 1970-01-01 UTC (0 where ``status != T_OK``).
    status : numpy.ndarray of int8
        :data:`T_OK`, :data:`T_MISSING`, :data:`T_BAD`, :data:`T_NONEXISTENT` or
        :data:`T_RANGE`.
    ambiguous : numpy.ndarray of bool
        Naive local times that occur twice; the earlier instant was taken.
    """

    ns: np.ndarray
    status: np.ndarray
    ambiguous: np.ndarray


class ColumnTypeError(ValueError):
    """A column whose Arrow type cannot hold what the mapping says it holds."""


def _np(arr: pa.Array) -> np.ndarray:
    """A writable NumPy copy of an Arrow array without nulls."""
    return arr.to_numpy(zero_copy_only=False, writable=True)


def _mask(arr: pa.Array) -> np.ndarray:
    return _np(arr.is_null())


def _int64(arr: pa.Array) -> np.ndarray:
    return _np(pc.fill_null(pc.cast(arr, pa.int64()), 0))


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def bad_label(text: str, max_bytes: int | None = None) -> str | None:
    """Why a label cannot be stored (a NUL character, too long), or None."""
    if "\x00" in text:
        return "contains a NUL character"
    if max_bytes is not None and len(text.encode("utf-8")) > max_bytes:
        return f"is longer than {max_bytes} bytes"
    return None


def to_labels(arr: pa.Array, max_bytes: int | None = None
              ) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Encode a column of labels (state codes, asset or product ids).

    Parameters
    ----------
    arr : pyarrow.Array
    max_bytes : int, optional
        Longest label (UTF-8) the recording stores for this column.

    Returns
    -------
    index : numpy.ndarray of int32
        Index into ``labels``, -1 for empty and bad cells.
    labels : list of str
        Distinct labels of the chunk, normalized with :func:`normalize_label`.
    bad : numpy.ndarray of bool
        Cells whose text cannot be stored (:func:`bad_label`).
    """
    enc = arr if pa.types.is_dictionary(arr.type) else pc.dictionary_encode(arr)
    raw = enc.dictionary.to_pylist()
    labels: list[str] = []
    seen: dict[str, int] = {}
    remap = np.full(len(raw) + 1, -1, np.int32)
    refused = np.zeros(len(raw) + 1, bool)
    for i, value in enumerate(raw):
        key = None if value is None else normalize_label(value)
        if not key:
            continue  # blank cells count as empty, like in numeric columns
        if bad_label(key, max_bytes):
            refused[i] = True
            continue
        remap[i] = seen.setdefault(key, len(labels))
        if remap[i] == len(labels):
            labels.append(key)
    idx = _np(pc.fill_null(enc.indices, -1)).astype(np.int64)
    return remap[idx], labels, refused[idx]


def to_float(arr: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read a numeric column.

    Returns
    -------
    values : numpy.ndarray of float64
        NaN where the cell is empty or not a number.
    missing : numpy.ndarray of bool
        Empty cells.
    unreadable : numpy.ndarray of bool
        Cells holding text that is not a number.
    """
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    missing = _mask(arr)
    unreadable = np.zeros(len(arr), bool)
    if _is_text(arr.type):
        try:
            num = pc.cast(arr, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            values = np.full(len(arr), np.nan)
            for i, text in enumerate(arr.to_pylist()):
                if text is None:
                    continue
                text = text.strip()
                if not text:
                    missing[i] = True
                    continue
                try:
                    values[i] = float(text)
                except ValueError:
                    unreadable[i] = True
            return values, missing, unreadable
    elif (pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type)
          or pa.types.is_boolean(arr.type) or pa.types.is_decimal(arr.type)):
        try:
            num = pc.cast(arr, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise ColumnTypeError(f"holds {arr.type} values that are not numbers a recording "
                                  f"can store ({exc})") from None
    elif pa.types.is_null(arr.type):
        return np.full(len(arr), np.nan), np.ones(len(arr), bool), unreadable
    else:
        raise ColumnTypeError(f"holds {arr.type} values, expected numbers")
    values = _np(pc.fill_null(num, np.nan)).astype(np.float64)
    return values, missing, unreadable


def _localize(naive: pa.Array, tz: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Naive local timestamps -> (UTC ns, nonexistent mask, ambiguous mask)."""
    if tz == "UTC":
        n = len(naive)
        return _int64(naive), np.zeros(n, bool), np.zeros(n, bool)
    early = pc.assume_timezone(naive, tz, ambiguous="earliest", nonexistent="earliest")
    late = pc.assume_timezone(naive, tz, ambiguous="latest", nonexistent="latest")
    back = pc.local_timestamp(early)
    nonexistent = _np(pc.fill_null(pc.not_equal(back, naive), False))
    differ = _np(pc.fill_null(pc.not_equal(early, late), False))
    return _int64(early), nonexistent, differ & ~nonexistent


def _py_time(text: str, fmt: str, tz: str) -> tuple[int, int, bool]:
    """Parse one stamp in Python: (ns, status, ambiguous)."""
    try:
        value = datetime.fromisoformat(text) if fmt == "iso" else datetime.strptime(text, fmt)
    except ValueError:
        return 0, T_BAD, False
    if not naive_in_range(value):  # time-zone arithmetic on year 9999 overflows
        return 0, T_RANGE, False
    if value.tzinfo is not None:
        return _ns(value), T_OK, False
    zi = zone(tz)
    early = value.replace(tzinfo=zi, fold=0)
    late = value.replace(tzinfo=zi, fold=1)
    if early.astimezone(UTC).astimezone(zi).replace(tzinfo=None) != value:
        return 0, T_NONEXISTENT, False
    return _ns(early), T_OK, early.utcoffset() != late.utcoffset()


def _stamps_ns(arr: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """A timestamp or date column as ``timestamp[ns]`` (time zone kept), with the cells whose
    instant lies far outside the supported range nulled and flagged.

    Arrow refuses to cast a whole column to nanoseconds when one cell (year 9999 in
    seconds) does not fit int64; the range check on the column's own unit comes first.
    """
    t = arr.type
    if pa.types.is_date32(t):
        ints, per = _np(pc.fill_null(arr.view(pa.int32()), 0)).astype(np.int64), _DAY_NS
    elif pa.types.is_date64(t):
        ints, per = _np(pc.fill_null(arr.view(pa.int64()), 0)), _UNIT_NS["ms"]
    else:
        ints, per = _np(pc.fill_null(arr.view(pa.int64()), 0)), _UNIT_NS[t.unit]
    margin = 2 * _DAY_NS  # any UTC offset; the exact range check follows localisation
    far = (ints < (EARLIEST_NS - margin) // per) | (ints > (LATEST_NS + margin) // per)
    ns = np.where(far, 0, ints) * per
    mask = _mask(arr) | far
    tz = t.tz if pa.types.is_timestamp(t) else None
    return pa.array(ns, pa.timestamp("ns", tz=tz), mask=mask), far & ~_mask(arr)


def to_time_ns(arr: pa.Array, fmt: str, tz: str) -> Times:
    """Parse a time column.

    Parameters
    ----------
    arr : pyarrow.Array
        Text, timestamp, date or numeric column.
    fmt : str
        ``"iso"`` (ISO 8601, with or without offset), ``"epoch_s"``, ``"epoch_ms"`` or a
        ``strptime`` pattern.
    tz : str
        IANA zone of naive stamps.

    Raises
    ------
    ColumnTypeError
        If the column's type does not fit the format (numbers with ``"iso"``).
    """
    n = len(arr)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    status = np.zeros(n, np.int8)
    ambiguous = np.zeros(n, bool)
    t = arr.type
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        missing = _mask(arr)
        stamps, far = _stamps_ns(arr)
        if pa.types.is_timestamp(t) and t.tz is not None:
            ns = _int64(stamps)
        else:
            ns, nonexistent, ambiguous = _localize(stamps, tz)
            status[nonexistent] = T_NONEXISTENT
        status[far] = T_RANGE
        status[missing] = T_MISSING
        return _in_range(Times(ns, status, ambiguous))
    if fmt in ("epoch_s", "epoch_ms"):
        values, missing, unreadable = to_float(arr)
        scale = 1e9 if fmt == "epoch_s" else 1e6
        finite = np.isfinite(values)
        with np.errstate(invalid="ignore", over="ignore"):
            inside = finite & (values * scale >= EARLIEST_NS) & (values * scale < LATEST_NS)
        ns = np.zeros(n, np.int64)
        ns[inside] = np.round(values[inside] * scale).astype(np.int64)
        status[finite & ~inside] = T_RANGE
        status[~finite] = T_BAD
        status[missing] = T_MISSING
        return _in_range(Times(ns, status, ambiguous))
    if not _is_text(t):
        raise ColumnTypeError(
            f"holds {t} values but time.format is {fmt!r}; use 'epoch_s' or 'epoch_ms' for "
            "numeric time stamps"
        )
    missing = _mask(arr)
    ns = np.zeros(n, np.int64)
    retry = np.zeros(n, bool)
    if fmt == "iso":
        try:
            ns = _int64(pc.cast(arr, pa.timestamp("ns", tz="UTC")))
        except pa.ArrowInvalid:
            try:
                ns, nonexistent, ambiguous = _localize(pc.cast(arr, pa.timestamp("ns")), tz)
                status[nonexistent] = T_NONEXISTENT
            except pa.ArrowInvalid:
                retry = ~missing
    else:
        parsed = pc.strptime(arr, format=fmt, unit="ns", error_is_null=True)
        if parsed.type.tz is None:
            ns, nonexistent, ambiguous = _localize(parsed, tz)
            status[nonexistent] = T_NONEXISTENT
        else:
            ns = _int64(parsed)
        retry = _mask(parsed) & ~missing
    if retry.any():
        # Mixed or broken stamps: Arrow rejects the whole chunk (ISO) or the cell (strptime);
        # parse the rejected cells one by one so that each bad one is counted, not the chunk.
        texts = arr.to_pylist()
        for i in np.flatnonzero(retry):
            text = texts[i].strip()
            if not text:
                missing[i] = True
                continue
            ns[i], status[i], ambiguous[i] = _py_time(text, fmt, tz)
    status[missing] = T_MISSING
    return _in_range(Times(ns, status, ambiguous))


def _in_range(times: Times) -> Times:
    """Flag stamps outside the supported range; zero the time of every stamp not T_OK."""
    ok = times.status == T_OK
    times.status[ok & ((times.ns < EARLIEST_NS) | (times.ns >= LATEST_NS))] = T_RANGE
    times.ns[times.status != T_OK] = 0
    times.ambiguous &= times.status == T_OK
    return times


def is_bad_quantity(values: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Cells present but impossible as a count or power: NaN, infinite or negative."""
    with np.errstate(invalid="ignore"):
        return ~missing & ~(np.isfinite(values) & (values >= 0))


def describe(value: float) -> str:
    """Text of a number for a report example."""
    if math.isnan(value):
        return "NaN"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))
