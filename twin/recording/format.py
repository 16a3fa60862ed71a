"""The twinbench recording: an HDF5 file of per-asset state, part, bucket and power records.

The layout is documented for users in ``docs/recording-format.md``; this module is the one
place that knows it. :class:`Recording` reads a recording, :mod:`twin.recording.writer` writes
one. Time is stored as float64 seconds since the recording's epoch (root attribute
``epoch_utc``); machine states use the codes of :mod:`kernels.types`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import h5py
import numpy as np

from kernels.types import N_STATES, STATE_NAMES
from twin import safeio
from twin.recording.errors import NeedsImportError, RecordingError
from twin.recording.h5read import H5Reader
from twin.recording.timerange import (
    EARLIEST,
    LATEST,
    MAX_SPAN_S,
    RANGE_TEXT,
    in_range,
    naive_in_range,
    offset_in_range,
)

FORMAT_NAME = "twinbench-recording"
SCHEMA_VERSION = 3
#: Older schema versions this reader opens as they are. Versions 2 and 3 only added optional
#: parts (2: the ``level`` dataset and the ``server`` asset attribute; 3: the ``/gaps``
#: dataset and its ``/labels/gap_reason`` vocabulary), so a version-1 or -2 file is a valid
#: version-3 file without them; :func:`migrate_recording` still upgrades it on request.
COMPATIBLE_VERSIONS = (1, 2)

#: State code of a stored record whose raw state is not in the mapping (the raw value is kept).
UNKNOWN = -2
#: State code of replay time not covered by any record (a gap in the data). Never stored.
NO_DATA = -1

SHAPES = ("event_log", "buckets")

# Aligned record dtypes: append-only logs, one row per record (style rule 2).
STATES_DTYPE = np.dtype([("time", "f8"), ("state", "i1"), ("raw_state", "i4")], align=True)
PARTS_DTYPE = np.dtype([("time", "f8"), ("count", "f8"), ("good", "i1")], align=True)
BUCKETS_DTYPE = np.dtype(
    [
        ("start", "f8"), ("length", "f8"), ("parts", "f8"), ("scrap", "f8"),
        ("power_kw", "f8"), ("state", "i1"), ("raw_state", "i4"), ("product", "i4"),
    ],
    align=True,
)
POWER_DTYPE = np.dtype([("time", "f8"), ("power_kw", "f8")], align=True)
#: Parts inside the asset (buffer, conveyor or queue content) from ``time`` on (schema 2).
LEVEL_DTYPE = np.dtype([("time", "f8"), ("level", "f8")], align=True)

DATASET_DTYPES = {
    "states": STATES_DTYPE, "parts": PARTS_DTYPE, "buckets": BUCKETS_DTYPE, "power": POWER_DTYPE,
    "level": LEVEL_DTYPE,
}
#: Units of each field, stored as dataset attributes ``units.<field>``.
FIELD_UNITS = {
    "states": {"time": "s", "state": "1", "raw_state": "1"},
    "parts": {"time": "s", "count": "1", "good": "1"},
    "buckets": {
        "start": "s", "length": "s", "parts": "1", "scrap": "1", "power_kw": "kW",
        "state": "1", "raw_state": "1", "product": "1",
    },
    "power": {"time": "s", "power_kw": "kW"},
    "level": {"time": "s", "level": "1"},
}
#: Datasets each shape creates for every asset.
SHAPE_DATASETS = {"event_log": ("states", "parts", "power"), "buckets": ("buckets",)}
#: Datasets an asset of either shape may have in addition (created when first written).
OPTIONAL_DATASETS = ("level",)

#: Gaps in the data (schema 3): from ``start`` to ``end`` (s since the epoch) the source was
#: not connected, so nothing is known of any asset; ``reason`` indexes ``/labels/gap_reason``.
GAPS_DTYPE = np.dtype([("start", "f8"), ("end", "f8"), ("reason", "i4")], align=True)
GAPS_UNITS = {"start": "s", "end": "s", "reason": "1"}

LABEL_DTYPE = np.dtype("S128")
LABEL_SETS = ("raw_state", "product", "gap_reason")

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_PARQUET_MAGIC = b"PAR1"


def state_name(code: int) -> str:
    """Return the name of a stored or replayed state code.

    Parameters
    ----------
    code : int
        One of the :mod:`kernels.types` state codes, :data:`UNKNOWN` or :data:`NO_DATA`.
    """
    code = int(code)
    if 0 <= code < N_STATES:
        return STATE_NAMES[code]
    if code == UNKNOWN:
        return "unknown"
    if code == NO_DATA:
        return "no_data"
    raise ValueError(f"state code {code} is not a machine state (expected -2..{N_STATES - 1})")


def group_name(asset_id: str) -> str:
    """Return the HDF5 group name of an asset: the id with ``/``, ``%`` and a lone ``.`` escaped.

    The recorded id itself is kept in the group's ``asset_id`` attribute.
    """
    name = quote(asset_id, safe=" !#$&'()*+,-.:;<=>?@[]^_`{|}~")
    return "%2E" if name in (".", "") else name


# --- sniffing ------------------------------------------------------------------------------


def sniff(path: str | os.PathLike) -> str:
    """Guess what a file is from its first bytes.

    Returns
    -------
    str
        ``"hdf5"`` (the HDF5 signature at offset 0 or at a user-block offset 512, 1024, ...),
        ``"parquet"``, ``"text"`` (looks like CSV or other text) or ``"binary"``.
    """
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(8)
        if head == _HDF5_MAGIC:
            return "hdf5"
        offset = 512
        while offset + 8 <= size:
            fh.seek(offset)
            if fh.read(8) == _HDF5_MAGIC:
                return "hdf5"
            offset *= 2
        fh.seek(0)
        sample = fh.read(4096)
    if sample.startswith(_PARQUET_MAGIC):
        return "parquet"
    if b"\x00" in sample:
        return "binary"
    return "text"


def _text_hint(path: Path) -> str:
    """What a text file given as a recording most likely is: a report or a project is not
    data to import (a newcomer gave ``replay`` the exported report.html and was told to
    import it)."""
    with open(path, "rb") as fh:
        start = fh.read(512).lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith((b"<!doctype html", b"<html")):
        return "it is an HTML page (an exported report?), not a recording; give the .h5 file"
    if start.startswith((b"{", b"[")):
        return "it is a JSON file (a project or a mapping?), not a recording; give the .h5 file"
    return "it looks like a text/CSV file: import it first"


def is_hdf5(path: str | os.PathLike) -> bool:
    """Return True if the file carries the HDF5 signature."""
    return sniff(path) == "hdf5"


# --- time ---------------------------------------------------------------------------------


def parse_epoch(text: str) -> datetime:
    """Parse the ``epoch_utc`` attribute (ISO 8601 with offset) into an aware UTC datetime."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise RecordingError(
            f"epoch_utc {text!r} is not an ISO 8601 date-time with offset "
            "(expected e.g. '2022-08-31T00:00:00+00:00')"
        ) from None
    if value.tzinfo is None:
        raise RecordingError(f"epoch_utc {text!r} has no UTC offset; expected e.g. '...+00:00'")
    if not naive_in_range(value) or not in_range(value.astimezone(UTC)):
        raise RecordingError(f"epoch_utc {text!r} is outside the supported range {RANGE_TEXT}; "
                             "the file is damaged: re-import the data")
    return value.astimezone(UTC)


def zone(name: str) -> ZoneInfo:
    """Return the IANA time zone ``name`` or raise :class:`RecordingError` naming it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a path
        raise RecordingError(
            f"time zone {name!r} is not an IANA time zone name "
            "(expected e.g. 'UTC' or 'Europe/Rome')"
        ) from None


# --- migrations ---------------------------------------------------------------------------

Migration = Callable[[h5py.File], None]
_MIGRATIONS: dict[int, Migration] = {}


def migration(from_version: int) -> Callable[[Migration], Migration]:
    """Register a function that upgrades a recording from ``from_version`` to the next version.

    The function receives the file opened for writing (a temporary copy of the recording) and
    changes it in place; :func:`migrate_recording` then sets ``schema_version`` and renames the
    copy over the original. Chained migrations run in order, one version at a time.
    """

    def register(func: Migration) -> Migration:
        if from_version in _MIGRATIONS:
            raise ValueError(f"a migration from schema_version {from_version} is registered")
        _MIGRATIONS[from_version] = func
        return func

    return register


def migrate_recording(path: str | os.PathLike) -> int:
    """Upgrade a recording to :data:`SCHEMA_VERSION` in place (via a copy and a rename).

    Returns
    -------
    int
        The schema version the file had before.

    Raises
    ------
    RecordingError
        If the file is newer than this twinbench or no migration chain reaches the current
        version.
    """
    path = Path(path)
    with h5py.File(path, "r") as f:
        version = _check_format(f, path)
    if version == SCHEMA_VERSION:
        return version
    missing = [v for v in range(version, SCHEMA_VERSION) if v not in _MIGRATIONS]
    if missing:
        raise RecordingError(
            f"{path}: schema_version {version} cannot be upgraded: no migration from version "
            f"{missing[0]}; re-import the data with `twinbench import`"
        )
    with safeio.replacing_path(path) as tmp:  # a copy beside it, never through a link
        shutil.copyfile(path, tmp)  # tmp: made by this process with O_EXCL, not a link
        with h5py.File(tmp, "r+") as f:
            for v in range(version, SCHEMA_VERSION):
                _MIGRATIONS[v](f)
                f.attrs["schema_version"] = v + 1
    return version


@migration(1)
def _add_optional_parts(f: h5py.File) -> None:
    """Version 2 only added optional parts (``level``, ``server``): nothing to change."""


@migration(2)
def _add_gaps(f: h5py.File) -> None:
    """Version 3 added the ``/gaps`` dataset (empty: an imported file knows no link gaps) and
    its reason vocabulary, so that a migrated file has every dataset a live writer makes."""
    create_gaps(f)


def create_gaps(f: h5py.File) -> None:
    """Create the empty ``/gaps`` dataset and ``/labels/gap_reason`` if missing."""
    if "gaps" not in f:
        ds = f.create_dataset("gaps", shape=(0,), maxshape=(None,), chunks=(256,),
                              dtype=GAPS_DTYPE)
        for fld, unit in GAPS_UNITS.items():
            ds.attrs[f"units.{fld}"] = unit
    labels = f.require_group("labels")
    if "gap_reason" not in labels:
        labels.create_dataset("gap_reason", shape=(0,), maxshape=(None,), chunks=(256,),
                              dtype=LABEL_DTYPE)


def _check_format(f: h5py.File, path: Path) -> int:
    reader = H5Reader(f, path)
    fmt = reader.text(f, "format", default="\x00")
    if fmt != FORMAT_NAME:
        shown = "missing" if fmt == "\x00" else repr(fmt)
        raise RecordingError(
            f"{path}: is an HDF5 file but not a twinbench recording (root attribute 'format' is "
            f"{shown}, expected {FORMAT_NAME!r}); create recordings with `twinbench import`"
        )
    version = reader.number(f, "schema_version", None, integer=True, lo=-2**31, hi=2**31,
                            meaning="the recording's schema version")
    if version is None:
        raise RecordingError(
            f"{path}: root attribute 'schema_version' is missing; the file is damaged, "
            "re-import the data"
        )
    if version > SCHEMA_VERSION:
        raise RecordingError(
            f"{path}: schema_version {version} was written by a newer twinbench; this version "
            f"reads recordings up to schema_version {SCHEMA_VERSION}; upgrade twinbench"
        )
    if version < 1:
        raise RecordingError(f"{path}: schema_version {version} is not a valid version (>= 1)")
    return version


# --- reading ------------------------------------------------------------------------------


@dataclass
class AssetData:
    """The stored records of one asset, as structured arrays (see the ``*_DTYPE`` constants).

    Attributes
    ----------
    asset_id : str
        The id as recorded in the source data.
    name : str
        Display name.
    element : str
        Id of the project element this asset maps to, ``""`` when unmapped.
    ideal_cycle_time_s : float or None
        Ideal cycle time from the mapping, seconds; None when not given.
    states, parts, buckets, power, level : numpy.ndarray
        Records in stored (arrival) order; empty arrays when the asset has none.
    server : int or None
        Which parallel server of a multi-server station the asset's states describe
        (0-based); None when the asset is a whole element.
    """

    asset_id: str
    name: str
    element: str
    ideal_cycle_time_s: float | None
    states: np.ndarray = field(default_factory=lambda: np.empty(0, STATES_DTYPE))
    parts: np.ndarray = field(default_factory=lambda: np.empty(0, PARTS_DTYPE))
    buckets: np.ndarray = field(default_factory=lambda: np.empty(0, BUCKETS_DTYPE))
    power: np.ndarray = field(default_factory=lambda: np.empty(0, POWER_DTYPE))
    level: np.ndarray = field(default_factory=lambda: np.empty(0, LEVEL_DTYPE))
    server: int | None = None


#: Fields holding times, per dataset kind (finite, inside the supported range).
_TIME_FIELDS = {"states": "time", "parts": "time", "buckets": "start", "power": "time",
                "level": "time"}
#: Fields holding a vocabulary index, per dataset kind (-1: none).
_LABEL_FIELDS = {"states": {"raw_state": "raw_state"},
                 "buckets": {"raw_state": "raw_state", "product": "product"}}


class Recording:
    """A twinbench recording opened for reading.

    Open with :meth:`open`; use as a context manager or call :meth:`close`.

    Attributes
    ----------
    path : pathlib.Path
    schema_version : int
    shape : str
        ``"event_log"`` or ``"buckets"``.
    time_zone : str
        IANA name of the plant's time zone, used for days and shifts.
    source : str
        Where the data came from (citation, system, file).
    created : str
        ISO 8601 time the recording was created.
    epoch_utc : datetime.datetime
        Time zero of the stored float times.
    swmr : bool
        Whether the file was opened as a single-writer/multiple-reader reader.
    """

    def __init__(self, f: h5py.File, path: Path, swmr: bool, version: int | None = None) -> None:
        self._f = f
        self.path = path
        self.swmr = swmr
        r = self._r = H5Reader(f, path)
        self.schema_version = _check_format(f, path) if version is None else version
        self.shape = r.text(f, "shape", "event_log")
        if self.shape not in SHAPES:
            r.fail("/ attribute shape", self.shape, f"one of {SHAPES}; re-import the data")
        self.time_zone = r.text(f, "time_zone", "UTC")
        self.source = r.text(f, "source", "")
        self.created = r.text(f, "created", "")
        try:
            self.epoch_utc = parse_epoch(r.text(f, "epoch_utc"))
            zone(self.time_zone)
        except RecordingError as exc:
            raise RecordingError(f"{path}: {exc}") from None
        self.bucket_length_s = r.number(f, "bucket_length_s", np.nan, lo=0.0, hi=MAX_SPAN_S,
                                        nan=True, meaning="seconds")
        self._groups = self._read_assets()
        self._labels: dict[str, tuple[str, ...]] = {}

    @classmethod
    def open(
        cls, path: str | os.PathLike, *, swmr: bool = False, migrate: bool = False
    ) -> Recording:
        """Open a recording for reading.

        Parameters
        ----------
        path : path-like
            The ``.h5`` file.
        swmr : bool
            Open as a single-writer/multiple-reader reader, to follow a recording that another
            process is still writing (call :meth:`refresh` to see new records).
        migrate : bool
            Upgrade a recording with an older schema version in place before opening it.

        Raises
        ------
        RecordingError
            If the file is missing, is not HDF5, is not a twinbench recording, or has an
            unsupported schema version; the message names the file and the fix.
        """
        path = Path(path)
        if not path.is_file():
            raise RecordingError(f"{path}: no such recording file; check the path")
        kind = sniff(path)
        if kind != "hdf5":
            hint = {"parquet": "it is a Parquet file: import it first",
                    "text": _text_hint(path)}.get(kind, "it is not a recording")
            said = f"{path}: not an HDF5 file (no HDF5 signature); {hint}"
            if hint.endswith("first"):
                raise NeedsImportError(said, "with `twinbench import DATA --mapping MAPPING "
                                             "--out RECORDING.h5`")
            raise RecordingError(said)
        f = cls._open_h5(path, swmr)
        try:
            version = _check_format(f, path)
            if version < SCHEMA_VERSION and version not in COMPATIBLE_VERSIONS:
                f.close()
                if not migrate:
                    raise RecordingError(
                        f"{path}: schema_version {version} is older than {SCHEMA_VERSION}; "
                        "open it with migrate=True (upgrades the file in place) or run "
                        "twin.recording.migrate_recording(path)"
                    )
                migrate_recording(path)
                f = cls._open_h5(path, swmr)
                version = None
            return cls(f, path, swmr, version)
        except BaseException:
            f.close()
            raise

    @staticmethod
    def _open_h5(path: Path, swmr: bool) -> h5py.File:
        try:
            return h5py.File(path, "r", libver="latest", swmr=swmr)
        except OSError as exc:
            if not swmr and "already open for write" in str(exc):
                # A live writer holds the file (or died holding it): SWMR readers may still
                # read everything it flushed.
                try:
                    return h5py.File(path, "r", libver="latest", swmr=True)
                except OSError:
                    pass
            raise RecordingError(
                f"{path}: cannot be opened as HDF5 ({exc}); if a writer crashed, clear the flag "
                "with `h5clear -s FILE`, otherwise the file is damaged: re-import the data"
            ) from None

    # -- context manager ----------------------------------------------------------------

    def close(self) -> None:
        """Close the file."""
        self._f.close()

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Recording({str(self.path)!r}, shape={self.shape!r}, assets={self.asset_ids!r})"

    # -- contents -------------------------------------------------------------------------

    def refresh(self) -> None:
        """Make records appended by a SWMR writer since opening visible (no-op otherwise)."""
        if not self.swmr:
            return
        labels = self._r.group(self._f, "labels")
        for name in LABEL_SETS:
            ds = None if labels is None else self._r.dataset(labels, name)
            if ds is not None:
                ds.refresh()
        self._labels.clear()
        for group, _ in self._groups.values():
            for key in DATASET_DTYPES:
                ds = self._r.dataset(group, key)
                if ds is not None:
                    ds.refresh()

    @property
    def gaps(self) -> np.ndarray:
        """Gaps in the data (schema 3): a structured array of :data:`GAPS_DTYPE` in stored
        order, empty for a file that has none (every version-1 or -2 file).

        From ``start`` to ``end`` the live source was not connected: nothing is known of any
        asset then, and replay shows no data (``docs/recording-format.md``). The reason of
        gap ``i`` is ``labels("gap_reason")[reason[i]]`` (-1: none given).
        """
        r = self._r
        ds = r.dataset(self._f, "gaps", place="/")
        if ds is None:
            return np.empty(0, GAPS_DTYPE)
        if self.swmr:
            ds.refresh()
        values = r.records(ds, GAPS_DTYPE)
        lo = (EARLIEST - self.epoch_utc).total_seconds()
        hi = (LATEST - self.epoch_utc).total_seconds()
        what = (f"seconds since epoch_utc {self.epoch_utc.isoformat()} inside the supported "
                f"range {RANGE_TEXT}, i.e. from {lo:.0f} to {hi:.0f}")
        for fld in ("start", "end"):
            t = values[fld]
            with np.errstate(invalid="ignore"):
                ok = np.isfinite(t) & (t >= lo) & (t < hi)
            r.check(ds.name, fld, t, ok, what)
        r.check(ds.name, "end", values["end"], values["end"] >= values["start"],
                "a time at or after the gap's start")
        n = len(self.labels("gap_reason"))
        v = values["reason"]
        r.check(ds.name, "reason", v, (v >= -1) & (v < n),
                f"-1 (none) or an index into /labels/gap_reason (0..{n - 1})")
        return values

    def _read_assets(self) -> dict[str, tuple[h5py.Group, AssetData]]:
        """Asset id -> (group, its attributes as an empty AssetData), in the order the assets
        first appeared; attributes checked once, here (SWMR writers cannot change them)."""
        r = self._r
        assets = r.group(self._f, "assets", place="/")
        if assets is None:
            return {}
        found = []
        for name in r.names(assets):
            g = r.group(assets, name, place=assets.name)
            order = r.number(g, "order", 0, integer=True, lo=0, hi=2**62,
                             meaning="the asset's position in the data")
            asset_id = r.text(g, "asset_id", name)
            ict = r.number(g, "ideal_cycle_time_s", np.nan, lo=0.0, hi=MAX_SPAN_S, nan=True,
                           meaning="seconds per part")
            server = r.number(g, "server", -1, integer=True, lo=-1, hi=2**31 - 1,
                              meaning="0-based server of a multi-server station, -1 for none")
            info = AssetData(
                asset_id=asset_id, name=r.text(g, "name", "") or asset_id,
                element=r.text(g, "element", ""), ideal_cycle_time_s=ict if ict > 0 else None,
                server=server if server >= 0 else None,
            )
            found.append((order, asset_id, g, info))
        found.sort(key=lambda x: x[0])
        return {asset_id: (g, info) for _, asset_id, g, info in found}

    @property
    def asset_ids(self) -> tuple[str, ...]:
        """Recorded asset ids, in the order the assets first appeared."""
        return tuple(self._groups)

    def asset(self, asset_id: str) -> AssetData:
        """Read all records of one asset.

        Raises
        ------
        KeyError
            If the recording has no such asset; the message lists the recorded ids.
        """
        found = self._groups.get(str(asset_id))
        if found is None:
            raise KeyError(
                f"{self.path}: no asset {asset_id!r}; recorded assets: {list(self.asset_ids)}"
            )
        r = self._r
        group, info = found
        data = replace(info)
        for key, dtype in DATASET_DTYPES.items():
            ds = r.dataset(group, key)
            if ds is None:
                continue
            if self.swmr:
                ds.refresh()
            values = r.records(ds, dtype)
            self._check_values(ds.name, key, values)
            setattr(data, key, values)
        return data

    def _check_values(self, where: str, kind: str, values: np.ndarray) -> None:
        """Refuse times outside the supported range, unknown state codes and label indices
        outside the vocabularies (quantities may be NaN or negative: replay counts them)."""
        r = self._r
        tf = _TIME_FIELDS[kind]
        t = values[tf]
        lo = (EARLIEST - self.epoch_utc).total_seconds()
        hi = (LATEST - self.epoch_utc).total_seconds()
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(t) & (t >= lo) & (t < hi)
        r.check(where, tf, t, ok, f"seconds since epoch_utc {self.epoch_utc.isoformat()} "
                f"inside the supported range {RANGE_TEXT}, i.e. from {lo:.0f} to {hi:.0f}")
        if "state" in values.dtype.names:
            s = values["state"]
            r.check(where, "state", s, (s == UNKNOWN) | ((s >= 0) & (s < N_STATES)),
                    f"a state code: {UNKNOWN} (unknown) or 0..{N_STATES - 1}")
        if "good" in values.dtype.names:
            g = values["good"]
            r.check(where, "good", g, (g == 0) | (g == 1), "1 (good) or 0 (scrap)")
        for fld, which in _LABEL_FIELDS.get(kind, {}).items():
            n = len(self.labels(which))
            v = values[fld]
            r.check(where, fld, v, (v >= -1) & (v < n),
                    f"-1 (none) or an index into /labels/{which} (0..{n - 1})")

    def labels(self, which: str) -> tuple[str, ...]:
        """Return a label vocabulary: ``"raw_state"`` or ``"product"``.

        Stored ``raw_state`` and ``product`` fields are indices into these (-1: none).
        """
        if which not in LABEL_SETS:
            raise ValueError(f"which must be one of {LABEL_SETS}, got {which!r}")
        if which in self._labels and not self.swmr:  # read and checked once
            return self._labels[which]
        labels = self._r.group(self._f, "labels", place="/")
        ds = None if labels is None else self._r.dataset(labels, which)
        if ds is None:
            return ()
        if self.swmr:
            ds.refresh()
        self._labels[which] = self._r.labels(ds)
        return self._labels[which]

    def _json_attr(self, key: str) -> Any:
        return self._r.json(self._f, key)

    @property
    def mapping(self) -> dict | None:
        """The mapping the data was imported with (provenance), or None."""
        return self._json_attr("mapping")

    @property
    def import_report(self):
        """The :class:`~twin.recording.report.ImportReport` stored at import time, or None."""
        from twin.recording.report import ImportReport

        data = self._json_attr("import_report")
        if data is None:
            return None
        try:
            return ImportReport.from_dict(data)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            self._r.fail("/ attribute import_report", ..., f"an import report as twinbench "
                         f"writes it ({type(exc).__name__}: {exc}); re-import the data")

    @property
    def shifts(self) -> list[dict] | None:
        """Shift definitions stored with the recording (``[{"name", "start"}]``), or None."""
        from twin.recording.mapping import parse_shifts

        shifts = self._json_attr("shifts")
        if shifts is not None:
            parse_shifts(shifts, file=str(self.path), path="/ attribute shifts: $")
        return shifts

    # -- time -----------------------------------------------------------------------------

    def time_of(self, value: float | int | str | datetime | np.datetime64) -> float:
        """Convert a time to seconds since the recording's epoch.

        Parameters
        ----------
        value : float, str, datetime or numpy.datetime64
            A number is already seconds since the epoch. A string is ISO 8601; a naive string
            or datetime is local time in the recording's time zone. ``datetime64`` is UTC.

        Raises
        ------
        RecordingError
            For text that is not a time, and for a time outside the supported range
            (:data:`~twin.recording.timerange.RANGE_TEXT`), naming the value and the range.
        """
        shown = value
        if isinstance(value, bool):
            raise RecordingError(f"time {value!r} is not a time")
        if isinstance(value, int | float | np.integer | np.floating):
            t = float(value)
        elif isinstance(value, np.datetime64):
            sec = value.astype("datetime64[s]").astype(np.int64)
            if np.isnat(value) or not 0 <= sec < int(MAX_SPAN_S):
                raise self._out_of_range(value)
            ns = value.astype("datetime64[ns]").astype(np.int64)
            t = (int(ns) - _ns(self.epoch_utc)) / 1e9
        else:
            if isinstance(value, str):
                try:
                    value = datetime.fromisoformat(value.strip())
                except ValueError:
                    raise RecordingError(
                        f"time {value!r} is not ISO 8601 (expected e.g. '2022-09-01T06:00' or "
                        "'2022-09-01T06:00:00+02:00') nor a number of seconds"
                    ) from None
            if not isinstance(value, datetime):
                raise RecordingError(f"time {value!r} is not a time")
            if not naive_in_range(value):
                raise self._out_of_range(shown)
            if value.tzinfo is None:
                value = value.replace(tzinfo=zone(self.time_zone))
            t = (value - self.epoch_utc).total_seconds()
        if not offset_in_range(self.epoch_utc, t):
            raise self._out_of_range(shown)
        return t

    def _out_of_range(self, value: object) -> RecordingError:
        lo = (EARLIEST - self.epoch_utc).total_seconds()
        hi = (LATEST - self.epoch_utc).total_seconds()
        return RecordingError(
            f"time {value!r} is outside the supported range {RANGE_TEXT} (in seconds since "
            f"the recording's epoch {self.epoch_utc.isoformat()}: {lo:.0f} to {hi:.0f}); "
            "choose a time inside it"
        )

    def datetime_of(self, t: float) -> datetime:
        """Return the aware local datetime (recording time zone) of ``t`` seconds since epoch.

        Raises
        ------
        RecordingError
            For ``t`` outside the supported range.
        """
        if not offset_in_range(self.epoch_utc, float(t)):
            raise self._out_of_range(t)
        return (self.epoch_utc + timedelta(seconds=float(t))).astimezone(zone(self.time_zone))


def _ns(value: datetime) -> int:
    """Nanoseconds since the Unix epoch of an aware datetime, exactly."""
    delta = value - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
