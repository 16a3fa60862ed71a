"""Write twinbench recordings, in one go (imports) or record by record (live data).

:class:`RecordingWriter` appends to resizable, chunked datasets. In SWMR mode
(single writer, multiple readers) other processes can open the file with
``Recording.open(path, swmr=True)`` while it is written and see every record up to the last
:meth:`RecordingWriter.flush`; the file stays readable if the writer dies.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import h5py
import numpy as np

from kernels.types import N_STATES, STATE_NAMES
from twin import safeio
from twin.recording.errors import RecordingError
from twin.recording.format import (
    BUCKETS_DTYPE,
    DATASET_DTYPES,
    FIELD_UNITS,
    FORMAT_NAME,
    GAPS_DTYPE,
    LABEL_DTYPE,
    LABEL_SETS,
    LEVEL_DTYPE,
    OPTIONAL_DATASETS,
    PARTS_DTYPE,
    POWER_DTYPE,
    SCHEMA_VERSION,
    SHAPE_DATASETS,
    SHAPES,
    STATES_DTYPE,
    UNKNOWN,
    _ns,
    create_gaps,
    group_name,
    parse_epoch,
    zone,
)

#: HDF5 chunk cache per dataset while writing, bytes.
CHUNK_CACHE_BYTES = 1 << 20


@dataclass(frozen=True)
class AssetInfo:
    """What a recording stores about an asset besides its records.

    Parameters
    ----------
    asset_id : str
        The id as recorded in the source data.
    name : str
        Display name; the id when empty.
    element : str
        Id of the mapped project element, ``""`` when unmapped.
    ideal_cycle_time_s : float, optional
        Ideal cycle time in seconds, used for the OEE performance.
    server : int, optional
        0-based index of the parallel server of a multi-server station whose states this
        asset records (one asset per server); None for a whole element.
    level : bool
        Create the asset's ``level`` dataset now (needed in SWMR mode; otherwise it is
        created by the first :meth:`RecordingWriter.append_level`).
    """

    asset_id: str
    name: str = ""
    element: str = ""
    ideal_cycle_time_s: float | None = None
    server: int | None = None
    level: bool = False


def _as_infos(assets: Iterable[str | AssetInfo] | Mapping[str, Mapping]) -> list[AssetInfo]:
    if isinstance(assets, Mapping):
        return [AssetInfo(str(k), **dict(v)) for k, v in assets.items()]
    return [a if isinstance(a, AssetInfo) else AssetInfo(str(a)) for a in assets]


class RecordingWriter:
    """Appends records to a twinbench recording.

    Create with :meth:`create`. Times are float seconds since :attr:`epoch_utc` (use
    :meth:`time_of` to convert datetimes); states are :mod:`kernels.types` codes or names.

    Notes
    -----
    HDF5 cannot create groups, datasets or attributes while in SWMR mode, so a live recording
    declares all its assets up front (``create(..., assets=[...], swmr=True)``). Label
    vocabularies (raw states, products) are datasets and may still grow.
    """

    def __init__(
        self, f: h5py.File, path: Path, shape: str, epoch_utc: datetime, chunk_rows: int
    ) -> None:
        self._f = f
        self.path = path
        self.shape = shape
        self.epoch_utc = epoch_utc
        self._epoch_ns = _ns(epoch_utc)
        self._chunk_rows = int(chunk_rows)
        self._datasets: dict[tuple[str, str], h5py.Dataset] = {}
        self._labels: dict[str, dict[str, int]] = {name: {} for name in LABEL_SETS}
        self._order = 0

    @classmethod
    def create(
        cls,
        path: str | os.PathLike,
        *,
        shape: str = "event_log",
        source: str,
        time_zone: str = "UTC",
        epoch_utc: datetime | str | None = None,
        assets: Iterable[str | AssetInfo] | Mapping[str, Mapping] = (),
        raw_state_labels: Sequence[str] = (),
        product_labels: Sequence[str] = (),
        bucket_length_s: float | None = None,
        mapping: Mapping | None = None,
        shifts: Sequence[Mapping] | None = None,
        swmr: bool = False,
        overwrite: bool = False,
        chunk_rows: int = 8192,
        chunk_cache_bytes: int = CHUNK_CACHE_BYTES,
    ) -> RecordingWriter:
        """Create a new recording file.

        Parameters
        ----------
        path : path-like
            File to create.
        shape : {"event_log", "buckets"}
            Event logs store ``states``, ``parts`` and ``power``; bucketed data ``buckets``.
        source : str
            Where the data comes from (citation, system, data file); stored in ``source``.
        time_zone : str
            IANA name of the plant's time zone (days and shifts are cut in it).
        epoch_utc : datetime or str, optional
            Time zero of the stored times; defaults to today's UTC midnight.
        assets : iterable of str or AssetInfo, or mapping of id to AssetInfo fields
            Assets to create now (required for SWMR; otherwise created on first append).
        raw_state_labels, product_labels : sequence of str
            Initial label vocabularies, e.g. the raw state codes of the mapping.
        bucket_length_s : float, optional
            Nominal bucket length of bucketed data, seconds.
        mapping : mapping, optional
            The mapping used, stored as JSON for provenance.
        shifts : sequence of mapping, optional
            Shift definitions ``[{"name": ..., "start": "HH:MM"}]`` stored for the KPIs.
        swmr : bool
            Switch to single-writer/multiple-reader mode after creating the assets.
        overwrite : bool
            Replace an existing file; otherwise an existing file is an error.
        chunk_rows : int
            HDF5 chunk length of the record datasets.
        chunk_cache_bytes : int
            HDF5 chunk cache per dataset; a live recorder that only appends needs one chunk.

        Raises
        ------
        RecordingError
            For an existing file without ``overwrite``, an unknown shape or time zone.
        """
        path = Path(path)
        if shape not in SHAPES:
            raise RecordingError(f"shape {shape!r} is not one of {SHAPES}")
        zone(time_zone)
        if os.path.lexists(path) and not overwrite:  # a dangling link is there too
            raise RecordingError(f"{path}: exists; choose another file or overwrite it")
        if epoch_utc is None:
            now = datetime.now(UTC)
            epoch = datetime(now.year, now.month, now.day, tzinfo=UTC)
        elif isinstance(epoch_utc, str):
            epoch = parse_epoch(epoch_utc)
        else:
            if epoch_utc.tzinfo is None:
                raise RecordingError(f"epoch_utc {epoch_utc!r} must be timezone-aware")
            epoch = epoch_utc.astimezone(UTC)
        # A small chunk cache: records are only appended, so one or two chunks per dataset is
        # all the cache does any good for; HDF5 2.0's default (8 MiB per dataset) would cost
        # hundreds of MiB for a recording with many assets.
        # created with O_EXCL | O_NOFOLLOW, never through a link planted at ``path``
        f = safeio.open_hdf5(path, replace=overwrite, libver="latest",
                             rdcc_nbytes=int(chunk_cache_bytes), rdcc_w0=1.0)
        try:
            f.attrs["format"] = FORMAT_NAME
            f.attrs["schema_version"] = SCHEMA_VERSION
            f.attrs["shape"] = shape
            f.attrs["time_zone"] = time_zone
            f.attrs["source"] = str(source)
            f.attrs["created"] = datetime.now(UTC).isoformat(timespec="seconds")
            f.attrs["epoch_utc"] = epoch.isoformat()
            f.attrs["state_names"] = json.dumps(
                {**{name: i for i, name in enumerate(STATE_NAMES)}, "unknown": UNKNOWN}
            )
            f.attrs["bucket_length_s"] = np.nan if bucket_length_s is None else bucket_length_s
            if mapping is not None:
                f.attrs["mapping"] = json.dumps(mapping)
            if shifts is not None:
                f.attrs["shifts"] = json.dumps(list(shifts))
            f.create_group("assets")
            labels = f.create_group("labels")
            for name in LABEL_SETS:
                labels.create_dataset(
                    name, shape=(0,), maxshape=(None,), chunks=(256,), dtype=LABEL_DTYPE
                )
            create_gaps(f)
            writer = cls(f, path, shape, epoch, chunk_rows)
            writer.label_codes("raw_state", raw_state_labels)
            writer.label_codes("product", product_labels)
            for info in _as_infos(assets):
                writer.add_asset(info)
            if swmr:
                writer.start_swmr()
            return writer
        except BaseException:
            f.close()
            raise

    # -- structure ------------------------------------------------------------------------

    @property
    def swmr(self) -> bool:
        """True once the file is in single-writer/multiple-reader mode."""
        return bool(self._f.swmr_mode)

    def start_swmr(self) -> None:
        """Switch to SWMR mode: readers may now open the file; no new assets or attributes."""
        self.flush(each=True)
        # HDF5 closes and reopens every open object as SWMR starts: with the 300 datasets of
        # a 100-station line open, one call of ~15 ms of CPU that holds the interpreter lock
        # (h5py), ~3 ms with them closed; reopened here, one small call each, and not at
        # their first appends (a live recorder's first flush, in the feed)
        opened = list(self._datasets)
        self._datasets.clear()
        self._f.swmr_mode = True
        for asset_id, kind in opened:
            self._dataset(asset_id, kind)

    def add_asset(self, info: AssetInfo | str) -> None:
        """Create an asset's group and its (empty) datasets.

        Raises
        ------
        RecordingError
            If the asset exists, or the file is in SWMR mode.
        """
        if isinstance(info, str):
            info = AssetInfo(info)
        if self.swmr:
            raise RecordingError(
                f"{self.path}: asset {info.asset_id!r} was not declared when the recording was "
                "created; HDF5 cannot add groups in SWMR mode: pass every asset to "
                "RecordingWriter.create(assets=...)"
            )
        name = group_name(info.asset_id)
        if name in self._f["assets"]:
            raise RecordingError(f"{self.path}: asset {info.asset_id!r} exists already")
        server = info.server
        if server is not None and (isinstance(server, bool) or int(server) != server
                                   or server < 0):
            raise RecordingError(
                f"asset {info.asset_id!r}: server {server!r} is not a server index; expected "
                "0, 1, ... (the parallel server of its station) or None")
        group = self._f["assets"].create_group(name)
        group.attrs["asset_id"] = info.asset_id
        group.attrs["name"] = info.name or info.asset_id
        group.attrs["element"] = info.element
        ict = info.ideal_cycle_time_s
        group.attrs["ideal_cycle_time_s"] = np.nan if ict is None else float(ict)
        group.attrs["server"] = -1 if server is None else int(server)
        group.attrs["order"] = self._order
        self._order += 1
        kinds = SHAPE_DATASETS[self.shape] + (("level",) if info.level else ())
        for kind in kinds:
            self._create_dataset(group, info.asset_id, kind)

    def _create_dataset(self, group: h5py.Group, asset_id: str, kind: str) -> h5py.Dataset:
        ds = group.create_dataset(
            kind, shape=(0,), maxshape=(None,), chunks=(self._chunk_rows,),
            dtype=DATASET_DTYPES[kind],
        )
        for fld, unit in FIELD_UNITS[kind].items():
            ds.attrs[f"units.{fld}"] = unit
        self._datasets[(asset_id, kind)] = ds
        return ds

    def has_asset(self, asset_id: str) -> bool:
        """Return True if the recording has this asset."""
        return group_name(str(asset_id)) in self._f["assets"]

    def set_attr(self, key: str, value: str | float | int) -> None:
        """Store a root attribute (not possible in SWMR mode)."""
        if self.swmr:
            raise RecordingError(f"{self.path}: cannot write attribute {key!r} in SWMR mode")
        self._f.attrs[key] = value

    def set_json_attr(self, key: str, value: object) -> None:
        """Store a JSON document as a root attribute (not possible in SWMR mode)."""
        self.set_attr(key, json.dumps(value))

    def label_codes(self, which: str, labels: Iterable[str]) -> np.ndarray:
        """Return the vocabulary index of each label, adding new labels to the vocabulary.

        Parameters
        ----------
        which : {"raw_state", "product"}
        labels : iterable of str

        Returns
        -------
        numpy.ndarray of int32
        """
        vocab = self._labels[which]
        ds = self._f["labels"][which]
        out = []
        new = []
        for label in labels:
            label = str(label)
            code = vocab.get(label)
            if code is None:
                encoded = label.encode("utf-8")
                if len(encoded) > LABEL_DTYPE.itemsize:
                    raise RecordingError(
                        f"{which} label {label[:40]!r}... is {len(encoded)} bytes long; labels "
                        f"are limited to {LABEL_DTYPE.itemsize} bytes: shorten it in the source"
                    )
                code = vocab[label] = len(vocab)
                new.append(encoded)
            out.append(code)
        if new:
            n = ds.shape[0]
            ds.resize((n + len(new),))
            ds[n:] = np.array(new, dtype=LABEL_DTYPE)
        return np.asarray(out, dtype=np.int32)

    # -- appending ------------------------------------------------------------------------

    def time_of(self, value: datetime | np.ndarray) -> float | np.ndarray:
        """Seconds since the epoch of an aware datetime or a ``datetime64`` array (UTC)."""
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise RecordingError(f"time {value!r} must be timezone-aware")
            return (value - self.epoch_utc) / timedelta(seconds=1)
        ns = np.asarray(value).astype("datetime64[ns]").astype(np.int64)
        return (ns - self._epoch_ns) / 1e9

    def _times(self, time: object) -> np.ndarray:
        arr = np.atleast_1d(np.asarray(time))
        if arr.dtype.kind == "M":
            return self.time_of(arr)
        return arr.astype(np.float64)

    def _dataset(self, asset_id: str, kind: str) -> h5py.Dataset:
        ds = self._datasets.get((asset_id, kind))
        if ds is None:
            if not self.has_asset(asset_id):
                self.add_asset(AssetInfo(asset_id))
            group = self._f["assets"][group_name(asset_id)]
            if kind not in group and kind in OPTIONAL_DATASETS:
                if self.swmr:
                    raise RecordingError(
                        f"{self.path}: asset {asset_id!r} has no {kind!r} dataset and HDF5 "
                        "cannot add one in SWMR mode: declare it when creating the recording "
                        f"(AssetInfo({asset_id!r}, {kind}=True))")
                return self._create_dataset(group, asset_id, kind)
            if kind not in group:
                raise RecordingError(
                    f"{self.path}: a {self.shape} recording has no {kind!r} records; "
                    f"use {', '.join(f'append_{k}' for k in SHAPE_DATASETS[self.shape])}"
                )
            ds = self._datasets[(asset_id, kind)] = group[kind]
        return ds

    def append_records(self, asset_id: str, kind: str, records: np.ndarray) -> None:
        """Append ready-made records (a structured array of the dataset's dtype).

        Parameters
        ----------
        asset_id : str
        kind : {"states", "parts", "buckets", "power", "level"}
        records : numpy.ndarray
            Structured array with dtype ``DATASET_DTYPES[kind]``.
        """
        if records.dtype != DATASET_DTYPES[kind]:
            raise RecordingError(f"{kind} records need dtype {DATASET_DTYPES[kind]}")
        if len(records) == 0:
            return
        ds = self._dataset(str(asset_id), kind).id
        # through h5py's low-level calls: ds.resize and ds[n:] = ... cost ~200 µs of Python
        # an append, which a live recorder appending to a thousand datasets a second pays
        # on a thread that shares the interpreter with the workbench's GUI (issue 15)
        n, m = ds.shape[0], len(records)
        ds.set_extent((n + m,))
        space = ds.get_space()
        space.select_hyperslab((n,), (m,))
        ds.write(h5py.h5s.create_simple((m,)), space, np.ascontiguousarray(records))

    def _state_codes(self, state: object, n: int) -> np.ndarray:
        arr = np.atleast_1d(np.asarray(state))
        if arr.dtype.kind in "USO":
            lookup = {name: i for i, name in enumerate(STATE_NAMES)}
            lookup["unknown"] = UNKNOWN
            bad = [s for s in arr.tolist() if s not in lookup]
            if bad:
                raise RecordingError(
                    f"state {bad[0]!r} is not a machine state; expected one of {STATE_NAMES}"
                )
            arr = np.array([lookup[s] for s in arr.tolist()], dtype=np.int8)
        codes = np.broadcast_to(arr.astype(np.int64), (n,))
        bad = (codes < UNKNOWN) | (codes >= N_STATES) | (codes == -1)
        if bad.any():
            raise RecordingError(
                f"state code {int(codes[bad][0])} is not a machine state; expected 0..{N_STATES-1}"
                f" (kernels.types) or {UNKNOWN} (unknown)"
            )
        return codes.astype(np.int8)

    def _raw_codes(self, raw_state: object, n: int) -> np.ndarray:
        if raw_state is None:
            return np.full(n, -1, np.int32)
        arr = np.atleast_1d(np.asarray(raw_state))
        if arr.dtype.kind in "USO":
            arr = self.label_codes("raw_state", arr.tolist())
        return np.broadcast_to(arr.astype(np.int32), (n,))

    def append_states(
        self, asset_id: str, time: object, state: object, raw_state: object = None
    ) -> None:
        """Append state changes: from ``time[i]`` on the asset is in ``state[i]``.

        Parameters
        ----------
        asset_id : str
        time : array_like of float (s since epoch) or datetime64
        state : array_like of int codes or state names
        raw_state : array_like of str labels or int vocabulary codes, optional
            The state as the source reported it.
        """
        t = self._times(time)
        rec = np.empty(len(t), STATES_DTYPE)
        rec["time"] = t
        rec["state"] = self._state_codes(state, len(t))
        rec["raw_state"] = self._raw_codes(raw_state, len(t))
        self.append_records(asset_id, "states", rec)

    def append_parts(
        self, asset_id: str, time: object, count: object = 1.0, good: object = True
    ) -> None:
        """Append part events: ``count[i]`` parts left the asset at ``time[i]``.

        Parameters
        ----------
        good : array_like of bool
            False for scrap.
        """
        t = self._times(time)
        rec = np.empty(len(t), PARTS_DTYPE)
        rec["time"] = t
        rec["count"] = np.broadcast_to(np.asarray(count, np.float64), (len(t),))
        rec["good"] = np.broadcast_to(np.asarray(good).astype(np.int8), (len(t),))
        self.append_records(asset_id, "parts", rec)

    def append_power(self, asset_id: str, time: object, power_kw: object) -> None:
        """Append power samples (kW); each holds until the next sample."""
        t = self._times(time)
        rec = np.empty(len(t), POWER_DTYPE)
        rec["time"] = t
        rec["power_kw"] = np.broadcast_to(np.asarray(power_kw, np.float64), (len(t),))
        self.append_records(asset_id, "power", rec)

    def append_level(self, asset_id: str, time: object, level: object) -> None:
        """Append level samples: from ``time[i]`` on, ``level[i]`` parts are inside the asset.

        The level of a buffer, conveyor or source queue (work in process); it holds until
        the next sample. Either shape may carry it; forks start from it.
        """
        t = self._times(time)
        rec = np.empty(len(t), LEVEL_DTYPE)
        rec["time"] = t
        rec["level"] = np.broadcast_to(np.asarray(level, np.float64), (len(t),))
        self.append_records(asset_id, "level", rec)

    def append_buckets(
        self,
        asset_id: str,
        start: object,
        length: object,
        *,
        parts: object = 0.0,
        scrap: object = 0.0,
        state: object = UNKNOWN,
        power_kw: object = np.nan,
        raw_state: object = None,
        product: object = -1,
    ) -> None:
        """Append buckets of aggregated data.

        Parameters
        ----------
        start : array_like of float or datetime64
            Bucket starts.
        length : array_like of float
            Bucket lengths, seconds.
        parts, scrap : array_like of float
            Parts produced in the bucket (including scrap) and scrap among them.
        state : array_like of int codes or names
            The bucket's state.
        power_kw : array_like of float
            Average power over the bucket, kW.
        raw_state : array_like of str or int, optional
        product : array_like of str labels or int vocabulary codes
        """
        t = self._times(start)
        n = len(t)
        rec = np.empty(n, BUCKETS_DTYPE)
        rec["start"] = t
        for key, value in (("length", length), ("parts", parts), ("scrap", scrap),
                           ("power_kw", power_kw)):
            rec[key] = np.broadcast_to(np.asarray(value, np.float64), (n,))
        rec["state"] = self._state_codes(state, n)
        rec["raw_state"] = self._raw_codes(raw_state, n)
        prod = np.atleast_1d(np.asarray(product))
        if prod.dtype.kind in "USO":
            prod = self.label_codes("product", prod.tolist())
        rec["product"] = np.broadcast_to(prod.astype(np.int32), (n,))
        self.append_records(asset_id, "buckets", rec)

    def append_gaps(self, start: object, end: object, reason: object = None) -> None:
        """Append gaps in the data (schema 3): from ``start[i]`` to ``end[i]`` nothing is
        known of any asset (a live source was disconnected); replay shows no data there.

        Parameters
        ----------
        start, end : array_like of float (s since epoch) or datetime64
        reason : array_like of str labels or int vocabulary codes, optional
            Why (``"reconnecting: broker closed the connection"``).
        """
        t0 = self._times(start)
        t1 = np.broadcast_to(self._times(end), t0.shape)
        if (t1 < t0).any():
            raise RecordingError("a gap cannot end before it starts")
        rec = np.empty(len(t0), GAPS_DTYPE)
        rec["start"] = t0
        rec["end"] = t1
        if reason is None:
            rec["reason"] = -1
        else:
            arr = np.atleast_1d(np.asarray(reason))
            if arr.dtype.kind in "USO":
                arr = self.label_codes("gap_reason", arr.tolist())
            rec["reason"] = np.broadcast_to(arr.astype(np.int32), (len(t0),))
        if len(rec):
            ds = self._f["gaps"]
            n = ds.shape[0]
            ds.resize((n + len(rec),))
            ds[n:] = rec

    def flush(self, each: bool = False, between: Callable[[], None] | None = None) -> None:
        """Write buffered records to disk; SWMR readers see them after their next refresh.

        With ``each``, the datasets appended to are flushed one at a time first, and the
        file's flush then has only what is left (the labels, the gaps, the superblock).
        h5py keeps the interpreter lock through every HDF5 call: a file of 300 datasets
        flushed at once is one call of 3-27 ms of CPU (longer in wall time on a loaded
        machine), during which no other thread of the process runs Python; flushed one
        dataset at a time, no call takes more than about 0.4 ms (``bench_live_gui.py``,
        issue 15). SWMR keeps the file readable whatever the order of the flushes.
        ``between`` (with ``each``) is called before each dataset's flush: a live recorder
        rests there so that other threads get the interpreter lock."""
        if each:
            for ds in self._datasets.values():
                if between is not None:
                    between()
                ds.id.flush()
        self._f.flush()

    def close(self) -> None:
        """Flush and close the file."""
        if self._f.id.valid:
            self._f.flush()
            self._f.close()

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
