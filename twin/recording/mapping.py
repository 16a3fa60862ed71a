"""Mapping files: how the columns of a data file become a twinbench recording.

A mapping is a JSON document (see ``docs/recording-format.md``) naming the data's shape
(event log or buckets), which column holds what, how to read the time stamps, how raw state
codes map onto the machine states of :mod:`kernels.types`, and where the data came from.
:func:`load_mapping` checks all of it and raises :class:`MappingError` naming the file, the
JSON path, the value and what was expected.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kernels.types import STATE_NAMES
from twin import jsonfile
from twin.recording.errors import MappingError, RecordingError
from twin.recording.format import LABEL_DTYPE, SHAPES, zone
from twin.recording.timerange import MAX_SPAN_S

MAPPING_VERSION = 1
ROLES = ("time", "asset", "state", "parts", "scrap", "power", "product", "length", "level")
#: Roles of which a mapping needs at least one (what a row can record).
RECORD_ROLES = ("state", "parts", "power", "level")
TIME_FORMATS = ("iso", "epoch_s", "epoch_ms")
BAD_ROW_POLICIES = ("report", "fail")
#: What to do with bucket rows of one asset that share a start: keep the first or the last
#: in file order and report the others as not stored, or stop the import.
DUPLICATE_POLICIES = ("first", "last", "fail")
#: Highest server index an asset may name (stations have far fewer servers; the project
#: checks the real count when the recording is used).
MAX_SERVER = 9_999
#: Most entries of the mapping's lists of values (scrap_values, csv.null_values).
MAX_VALUES = 1_000

_TOP_KEYS = {
    "mapping_version", "shape", "source", "notes", "csv", "columns", "time", "bucket_length_s",
    "parts_include_scrap", "states", "scrap_values", "assets", "asset_id",
    "ideal_cycle_time_s", "max_silence_s", "shifts", "on_bad_rows", "duplicate_buckets",
    "live",  # the plant's live feed: read and checked by twin.live.mapping, not by importers
}
_INT_LABEL = re.compile(r"^[+-]?\d+(\.0*)?$")

#: Shift starts used when neither the mapping nor the caller gives any: three 8 h shifts.
DEFAULT_SHIFTS_JSON = (
    {"name": "early", "start": "06:00"},
    {"name": "late", "start": "14:00"},
    {"name": "night", "start": "22:00"},
)


def normalize_label(value: Any) -> str:
    """Return the canonical text of a raw label (state code, asset id, product id).

    Surrounding spaces are stripped and integral numbers lose their decimals, so that the
    mapping key ``"2"`` matches ``2``, ``"2.0"`` and ``" 2 "`` in the data. Other values are
    compared as text.
    """
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return repr(value)
    text = str(value).strip()
    if _INT_LABEL.match(text):
        # by text, not int(): a cell of 5,000 digits is a label, not a ValueError
        digits = text.lstrip("+-").split(".")[0].lstrip("0") or "0"
        return "-" + digits if text.startswith("-") and digits != "0" else digits
    return text


@dataclass(frozen=True)
class Shift:
    """A shift of the plant calendar: it starts at ``start_min`` and runs to the next shift.

    Parameters
    ----------
    name : str
    start_min : int
        Minutes after local midnight.
    """

    name: str
    start_min: int

    def to_json(self) -> dict:
        """Return ``{"name", "start": "HH:MM"}``."""
        return {"name": self.name, "start": f"{self.start_min // 60:02d}:{self.start_min % 60:02d}"}


@dataclass(frozen=True)
class AssetMapping:
    """What the mapping says about one recorded asset.

    Parameters
    ----------
    element : str
        Id of the project element, ``""`` when unmapped.
    name : str
        Display name.
    ideal_cycle_time_s : float, optional
        Ideal cycle time, seconds per part.
    server : int, optional
        The parallel server (0-based) of a multi-server station that the asset is.
    """

    element: str = ""
    name: str = ""
    ideal_cycle_time_s: float | None = None
    server: int | None = None


@dataclass(frozen=True)
class CsvOptions:
    """How to read CSV text.

    Attributes
    ----------
    delimiter, quote_char : str
        One character each.
    encoding : str
        An ASCII-compatible text encoding (lines are cut at ``\\n`` bytes).
    null_values : tuple of str
        Cell texts that mean "empty". Only ``""`` by default, so that a literal ``nan`` or
        ``NULL`` is reported as an impossible value instead of passing as missing.
    """

    delimiter: str = ","
    encoding: str = "utf-8"
    quote_char: str = '"'
    null_values: tuple[str, ...] = ("",)


@dataclass(frozen=True)
class Mapping:
    """A checked mapping file. Build with :func:`load_mapping` or :func:`mapping_from_dict`.

    Attributes
    ----------
    file : str
        The mapping file, for messages (``"<mapping>"`` when built from a dict).
    shape : {"event_log", "buckets"}
    columns : dict
        Role (one of :data:`ROLES`) to column name, only for the roles the data has.
    time_format : str
        ``"iso"``, ``"epoch_s"``, ``"epoch_ms"`` or a ``strptime`` pattern.
    time_zone : str
        IANA zone of naive time stamps; also the recording's time zone for days and shifts.
    bucket_length_s : float or None
        Length of every bucket when there is no ``length`` column.
    states : dict
        Normalized raw state label to :mod:`kernels.types` state code.
    state_labels : dict
        Normalized raw state label to its description (may be empty).
    assets : dict
        Normalized asset id to :class:`AssetMapping`.
    asset_id : str or None
        The asset of every row when there is no asset column.
    source : str
        Origin of the data, stored in the recording.
    on_bad_rows : {"report", "fail"}
    parts_include_scrap : bool
        Buckets: the parts column counts scrap too (otherwise it counts good parts only).
    scrap_values : frozenset of str
        Event logs: values of the scrap column that mark a scrap part.
    ideal_cycle_time_s : float or None
        Default ideal cycle time of every asset.
    max_silence_s : float or None
        Event logs: a silence longer than this between an asset's rows is reported as a gap.
    shifts : tuple of Shift
    csv : CsvOptions
    duplicate_buckets : {"first", "last", "fail"}
        Buckets of one asset with the same start: which one is stored (the others are
        counted as not stored), or ``"fail"`` to stop the import.
    document : dict
        The JSON document as loaded, stored in recordings for provenance.
    """

    file: str
    shape: str
    columns: dict[str, str]
    time_format: str
    time_zone: str
    bucket_length_s: float | None
    states: dict[str, int]
    state_labels: dict[str, str]
    assets: dict[str, AssetMapping]
    asset_id: str | None
    source: str
    on_bad_rows: str
    parts_include_scrap: bool
    scrap_values: frozenset[str]
    ideal_cycle_time_s: float | None
    max_silence_s: float | None
    shifts: tuple[Shift, ...]
    csv: CsvOptions = field(default_factory=CsvOptions)
    duplicate_buckets: str = "first"
    document: dict = field(default_factory=dict)

    def asset(self, asset_id: str) -> AssetMapping:
        """Return the mapping of an asset (an empty one for assets the mapping doesn't name)."""
        return self.assets.get(asset_id, AssetMapping())


def load_mapping(path: str | os.PathLike) -> Mapping:
    """Load and check a mapping file.

    Raises
    ------
    MappingError
        For a missing file, invalid JSON or any bad value, naming the file, the JSON path, the
        value and what was expected.
    """
    return mapping_from_dict(read_mapping_file(path), file=str(path))


def read_mapping_file(path: str | os.PathLike) -> Any:
    """The JSON document of a mapping file, unchecked; raises ``MappingError`` for a missing
    file or invalid JSON, naming where."""
    path = Path(path)
    if not path.exists():
        raise MappingError(str(path), "$", ..., "an existing mapping file (check the path)")
    try:
        return jsonfile.read(path)
    except jsonfile.JsonInputError as exc:
        if exc.path.startswith("line "):  # a syntax error: where it is, and what it is
            raise MappingError(str(path), "$", f"{exc.path.replace(',', '')}: "
                               f"{exc.message.removeprefix('invalid JSON: ')}",
                               "valid JSON") from None
        raise MappingError.from_json(exc) from None


def mapping_from_dict(data: Any, *, file: str = "<mapping>") -> Mapping:
    """Check a mapping given as a dict (the parsed JSON document).

    Raises
    ------
    MappingError
        As :func:`load_mapping`.
    """
    r = FieldReader(file)
    try:  # a dict built in code gets the checks a file gets from jsonfile.read
        jsonfile.check_tree(data, file)
    except jsonfile.JsonInputError as exc:
        raise MappingError.from_json(exc) from None
    if not isinstance(data, dict):
        r.fail("$", data, "a JSON object")
    if "schema_version" in data and "elements" in data:  # a project.json given by mistake
        r.fail("$", f"project {data.get('name', '')!r}",
               "a mapping file, not a twinbench project: give the file that maps the data's "
               "columns, states and assets (e.g. resources/mappings/sme_retrofit_mapping.json; "
               "docs/recording-format.md)")
    for key in data:
        if key not in _TOP_KEYS:
            r.unknown_key("$", key, _TOP_KEYS)
    version = data.get("mapping_version", MAPPING_VERSION)
    if isinstance(version, bool) or version != MAPPING_VERSION:
        r.fail("$.mapping_version", version,
               f"{MAPPING_VERSION} (the mapping version this twinbench reads)")
    shape = r.choice("$.shape", data.get("shape", ...), SHAPES)
    source = r.text("$.source", data.get("source", ...), "where the data comes from (a citation)")
    columns = _columns(r, data.get("columns", ...), shape)
    time = data.get("time", {})
    if not isinstance(time, dict):
        r.fail("$.time", time, 'an object like {"format": "iso", "time_zone": "UTC"}')
    for key in time:
        if key not in ("format", "time_zone"):
            r.unknown_key("$.time", key, ("format", "time_zone"))
    time_format = time.get("format", "iso")
    if not isinstance(time_format, str) or (
        time_format not in TIME_FORMATS and "%" not in time_format
    ):
        r.fail("$.time.format", time_format,
               f"one of {', '.join(TIME_FORMATS)} or a strptime pattern such as '%d.%m.%Y %H:%M'")
    time_zone = time.get("time_zone", "UTC")
    tz_expected = "an IANA time zone name such as 'UTC' or 'Europe/Rome'"
    if not isinstance(time_zone, str):
        r.fail("$.time.time_zone", time_zone, tz_expected)
    try:
        zone(time_zone)
    except RecordingError:
        r.fail("$.time.time_zone", time_zone, tz_expected)

    bucket_length = r.positive("$.bucket_length_s", data.get("bucket_length_s"), optional=True)
    if shape == "buckets" and bucket_length is None and "length" not in columns:
        r.fail("$.bucket_length_s", ...,
               "the bucket length in seconds (or a columns.length column)")

    states, state_labels = _states(r, data.get("states", {}), "state" in columns)
    assets = _assets(r, data.get("assets", {}))
    asset_id = data.get("asset_id")
    if "asset" not in columns:
        if asset_id is None:
            r.fail("$.asset_id", ..., "the id of the single asset when columns.asset is not given")
        asset_id = normalize_label(r.text("$.asset_id", asset_id, "an asset id"))
    elif asset_id is not None:
        r.fail("$.asset_id", asset_id, "no asset_id when columns.asset names an asset column")

    on_bad = r.choice("$.on_bad_rows", data.get("on_bad_rows", "report"), BAD_ROW_POLICIES)
    duplicates = r.choice("$.duplicate_buckets", data.get("duplicate_buckets", "first"),
                          DUPLICATE_POLICIES)
    if "duplicate_buckets" in data and shape != "buckets":
        r.fail("$.duplicate_buckets", duplicates, "no duplicate_buckets for an event log "
               "(events at the same time are all stored)")
    pis = data.get("parts_include_scrap", True)
    if not isinstance(pis, bool):
        r.fail("$.parts_include_scrap", pis, "true or false")
    scrap_values = data.get("scrap_values", ["1", "true", "yes", "scrap", "nok"])
    if not isinstance(scrap_values, list) or len(scrap_values) > MAX_VALUES or not all(
        isinstance(v, str | int) and not isinstance(v, bool) for v in scrap_values
    ):
        r.fail("$.scrap_values", scrap_values,
               f"a list of at most {MAX_VALUES} strings or integers")
    ict = r.positive("$.ideal_cycle_time_s", data.get("ideal_cycle_time_s"), optional=True)
    silence = r.positive("$.max_silence_s", data.get("max_silence_s"), optional=True)
    shifts = parse_shifts(data.get("shifts", list(DEFAULT_SHIFTS_JSON)), file=file)
    csv = _csv(r, data.get("csv", {}))
    return Mapping(
        file=file, shape=shape, columns=columns, time_format=time_format, time_zone=time_zone,
        bucket_length_s=bucket_length, states=states, state_labels=state_labels, assets=assets,
        asset_id=asset_id, source=source, on_bad_rows=on_bad, parts_include_scrap=pis,
        scrap_values=frozenset(normalize_label(v).lower() for v in scrap_values),
        ideal_cycle_time_s=ict, max_silence_s=silence, shifts=shifts, csv=csv,
        duplicate_buckets=duplicates, document=json.loads(json.dumps(data)),
    )


def parse_shifts(
    value: Any, *, file: str = "<mapping>", path: str = "$.shifts"
) -> tuple[Shift, ...]:
    """Check shift definitions ``[{"name": str, "start": "HH:MM"}, ...]``.

    Starts must rise strictly within the day; each shift lasts until the next one starts and
    the last until the first one of the next day.

    Raises
    ------
    MappingError
    """
    r = FieldReader(file)
    if not isinstance(value, list) or not value:
        r.fail(path, value, 'a non-empty list like [{"name": "early", "start": "06:00"}, ...]')
    shifts = []
    for i, item in enumerate(value):
        p = f"{path}[{i}]"
        if not isinstance(item, dict) or set(item) != {"name", "start"}:
            r.fail(p, item, 'an object {"name": ..., "start": "HH:MM"}')
        name = r.text(f"{p}.name", item["name"], "a shift name")
        m = re.fullmatch(r"(\d{1,2}):(\d{2})", str(item["start"]))
        if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
            r.fail(f"{p}.start", item["start"], "a local time 'HH:MM' between 00:00 and 23:59")
        start = int(m.group(1)) * 60 + int(m.group(2))
        if shifts and start <= shifts[-1].start_min:
            r.fail(f"{p}.start", item["start"], f"a time after the previous shift's start "
                   f"({shifts[-1].to_json()['start']}); list shifts in order of the day")
        shifts.append(Shift(name, start))
    names = [s.name for s in shifts]
    if len(set(names)) != len(names):
        r.fail(path, names, "distinct shift names")
    return tuple(shifts)


def states_and_assets(
    data: dict, *, file: str = "<mapping>"
) -> tuple[dict[str, str], dict[str, AssetMapping]]:
    """The ``states`` and ``assets`` sections of a mapping document, checked as an import
    checks them, for a reader that needs only those (the live sources, ``twin.live.mapping``).

    Returns
    -------
    states : dict
        Normalized raw state label to state name (one of ``kernels.types.STATE_NAMES``).
    assets : dict
        Normalized asset id to :class:`AssetMapping`.

    Raises
    ------
    MappingError
    """
    r = FieldReader(file)
    states, _labels = _states(r, data.get("states", {}), False)
    assets = _assets(r, data.get("assets", {}))
    return {raw: STATE_NAMES[code] for raw, code in states.items()}, assets


def shipped_mapping(name: str) -> Path:
    """Return the path of a mapping shipped in ``resources/mappings``.

    Raises
    ------
    FileNotFoundError
        Naming the directory and the mappings it holds.
    """
    folder = Path(__file__).resolve().parents[2] / "resources" / "mappings"
    path = folder / name
    if not path.is_file():
        have = sorted(p.name for p in folder.glob("*.json")) if folder.is_dir() else []
        raise FileNotFoundError(f"no shipped mapping {name!r} in {folder}; available: {have}")
    return path


# --- helpers ------------------------------------------------------------------------------


class FieldReader:
    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, path: str, value: Any, expected: str):
        raise MappingError(self.file, path, value, expected)

    def unknown_key(self, path: str, key: str, allowed) -> None:
        close = difflib.get_close_matches(key, list(allowed), n=1)
        # the hint after the keys: "expected did you mean ...? one of" read as garbled
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        self.fail(f"{path}.{key}", key, f"one of the keys {sorted(allowed)}{hint}")

    def choice(self, path: str, value: Any, allowed) -> str:
        if value not in allowed:
            self.fail(path, value, f"one of {', '.join(repr(a) for a in allowed)}")
        return value

    def text(self, path: str, value: Any, expected: str) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int) or str(value).strip() == "":
            self.fail(path, value, expected)
        self.no_nul(path, str(value))
        return str(value)

    def no_nul(self, path: str, value: str) -> None:
        # HDF5 stores these texts as attributes, which cannot hold a NUL character
        if "\x00" in value:
            self.fail(path, value, "text without NUL characters (\\u0000)")

    def positive(self, path: str, value: Any, *, optional: bool = False) -> float | None:
        if value is None and optional:
            return None
        if (isinstance(value, bool) or not isinstance(value, int | float)
                or not math.isfinite(value) or not 0 < value <= MAX_SPAN_S):
            expected = (f"a positive number of seconds up to {MAX_SPAN_S:.0f} (the span of "
                        "1970-2200)" + (" or null" if optional else ""))
            self.fail(path, value, expected)
        return float(value)


def _columns(r: FieldReader, value: Any, shape: str) -> dict[str, str]:
    if not isinstance(value, dict):
        r.fail("$.columns", value, 'an object mapping roles to column names, e.g. {"time": "ts"}')
    columns = {}
    for role, name in value.items():
        if role not in ROLES:
            r.unknown_key("$.columns", role, ROLES)
        if name is None:
            continue
        columns[role] = r.text(f"$.columns.{role}", name, "a column name or null")
    if "time" not in columns:
        r.fail("$.columns.time", ..., "the name of the time stamp column")
    if not set(RECORD_ROLES) & set(columns):
        r.fail("$.columns", sorted(columns),
               f"at least one of the roles {', '.join(RECORD_ROLES)}")
    if shape == "event_log" and "length" in columns:
        r.fail("$.columns.length", columns["length"], "no length column for an event log")
    used = [c for c in columns.values()]
    dup = sorted({c for c in used if used.count(c) > 1})
    if dup:
        r.fail("$.columns", dup, "each column in one role only")
    return columns


def _states(r: FieldReader, value: Any, has_state: bool) -> tuple[dict[str, int], dict[str, str]]:
    if not isinstance(value, dict):
        r.fail("$.states", value, 'an object mapping raw codes to states, e.g. {"3": "down"}')
    if has_state and not value:
        r.fail("$.states", value, "at least one raw state code mapped to a machine state")
    states, labels = {}, {}
    for raw, target in value.items():
        p = f"$.states[{raw!r}]"
        label = ""
        if isinstance(target, dict):
            for key in target:
                if key not in ("state", "label"):
                    r.unknown_key(p, key, ("state", "label"))
            label = r.text(f"{p}.label", target.get("label", "-"), "a description") if (
                "label" in target) else ""
            target = target.get("state", ...)
        if target not in STATE_NAMES:
            close = difflib.get_close_matches(str(target), STATE_NAMES, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            r.fail(p, target, f"one of the machine states {', '.join(STATE_NAMES)}{hint}")
        key = normalize_label(raw)
        r.no_nul(p, key)
        if len(key.encode("utf-8")) > LABEL_DTYPE.itemsize:
            r.fail(p, raw, f"a raw code of at most {LABEL_DTYPE.itemsize} bytes (UTF-8)")
        if key in states:
            r.fail(p, raw, f"a raw code listed once (it is the same code as {key!r})")
        states[key] = STATE_NAMES.index(target)
        if label:
            labels[key] = label
    return states, labels


def _assets(r: FieldReader, value: Any) -> dict[str, AssetMapping]:
    if not isinstance(value, dict):
        r.fail("$.assets", value, 'an object like {"M1": {"element": "lathe1", "name": "Lathe"}}')
    out = {}
    for raw, item in value.items():
        p = f"$.assets[{raw!r}]"
        if isinstance(item, str):
            item = {"element": item}
        keys = ("element", "name", "ideal_cycle_time_s", "server")
        if not isinstance(item, dict):
            r.fail(p, item, 'an element id or {"element", "name", "ideal_cycle_time_s", '
                            '"server"}')
        for key in item:
            if key not in keys:
                r.unknown_key(p, key, keys)
        element = item.get("element", "")
        name = item.get("name", "")
        if not isinstance(element, str):
            r.fail(f"{p}.element", element, "an element id (string), '' when unmapped")
        if not isinstance(name, str):
            r.fail(f"{p}.name", name, "a display name (string)")
        r.no_nul(p, raw)
        r.no_nul(f"{p}.element", element)
        r.no_nul(f"{p}.name", name)
        ict = r.positive(f"{p}.ideal_cycle_time_s", item.get("ideal_cycle_time_s"), optional=True)
        server = item.get("server")
        if server is not None and (isinstance(server, bool) or not isinstance(server, int)
                                   or not 0 <= server <= MAX_SERVER):
            r.fail(f"{p}.server", server, "the 0-based index of the station's parallel server "
                                          "this asset is (0, 1, ...) or null")
        if server is not None and not element:
            r.fail(f"{p}.server", server, "no server index for an asset without an element")
        out[normalize_label(raw)] = AssetMapping(element, name, ict, server)
    return out


def _csv(r: FieldReader, value: Any) -> CsvOptions:
    if not isinstance(value, MappingABC):
        r.fail("$.csv", value, 'an object like {"delimiter": ";", "encoding": "utf-8"}')
    keys = ("delimiter", "encoding", "quote_char", "null_values")
    for key in value:
        if key not in keys:
            r.unknown_key("$.csv", key, keys)
    nulls = value.get("null_values", [""])
    if not isinstance(nulls, list) or len(nulls) > MAX_VALUES or not all(
            isinstance(v, str) for v in nulls):
        r.fail("$.csv.null_values", nulls,
               f'a list of at most {MAX_VALUES} strings such as ["", "NA"]')
    opts = CsvOptions(**{**value, "null_values": tuple(nulls)})
    for key in ("delimiter", "quote_char"):
        v = getattr(opts, key)
        if not isinstance(v, str) or len(v) != 1:
            r.fail(f"$.csv.{key}", v, "a single character")
        if v in "\r\n":
            r.fail(f"$.csv.{key}", v, "a character other than a line end")
    if opts.delimiter == opts.quote_char:
        r.fail("$.csv.quote_char", opts.quote_char, "a character other than the delimiter")
    probe = 'ts,a;b\t"x"\n'
    try:
        ascii_compatible = probe.encode(opts.encoding) == probe.encode("ascii")
    except (LookupError, TypeError):
        ascii_compatible = None
    if not ascii_compatible:
        r.fail("$.csv.encoding", opts.encoding, "an ASCII-compatible text encoding such as "
               "'utf-8', 'latin-1' or 'cp1252' (lines are cut at newline bytes)")
    return opts
