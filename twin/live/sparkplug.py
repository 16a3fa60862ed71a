"""Sparkplug B payloads: a minimal decoder (and encoder, for tests and the emulator) of the
``Payload`` message of Eclipse Sparkplug B (``sparkplug_b.proto``, spec 3.0, section 6.4).

Written by hand from the protobuf wire format because no well-kept Python library decodes
Sparkplug B without generated code (Eclipse Tahu's Python client is not maintained on PyPI):
only what twinbench reads is decoded: the payload's ``timestamp`` (1) and ``seq`` (3), and of
each metric (2) its ``name`` (1), ``alias`` (2), ``timestamp`` (3), ``datatype`` (4),
``is_null`` (7) and the scalar values ``int_value`` (10), ``long_value`` (11), ``float_value``
(12), ``double_value`` (13), ``boolean_value`` (14), ``string_value`` (15). Data sets,
templates, properties and metadata are skipped.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

#: Sparkplug B data types (spec 6.4.16) that hold a signed integer in int_value / long_value.
_SIGNED32 = {1: 8, 2: 16, 3: 32}  # Int8, Int16, Int32: bits
_SIGNED64 = {4}                   # Int64
MAX_PAYLOAD_BYTES = 1 << 20


class SparkplugError(ValueError):
    """A payload that is not a Sparkplug B payload."""


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    alias: int | None
    timestamp_ms: int | None
    datatype: int
    value: int | float | bool | str | None


@dataclass(frozen=True, slots=True)
class Payload:
    timestamp_ms: int | None
    seq: int | None
    metrics: tuple[Metric, ...]


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if i >= len(buf) or shift > 63:
            raise SparkplugError("truncated or overlong varint")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def _fields(buf: bytes):
    """(field number, wire type, value) of a protobuf message; bytes for length-delimited."""
    i, n = 0, len(buf)
    while i < n:
        key, i = _varint(buf, i)
        num, wt = key >> 3, key & 7
        if num == 0:
            raise SparkplugError("field number 0")
        if wt == 0:
            v, i = _varint(buf, i)
        elif wt == 1:
            if i + 8 > n:
                raise SparkplugError("truncated 64-bit field")
            v, i = buf[i:i + 8], i + 8
        elif wt == 2:
            length, i = _varint(buf, i)
            if i + length > n:
                raise SparkplugError("truncated length-delimited field")
            v, i = buf[i:i + length], i + length
        elif wt == 5:
            if i + 4 > n:
                raise SparkplugError("truncated 32-bit field")
            v, i = buf[i:i + 4], i + 4
        else:
            raise SparkplugError(f"wire type {wt} is not used by Sparkplug B")
        yield num, wt, v


def _metric(buf: bytes) -> Metric:
    name, alias, ts, datatype, is_null, value = "", None, None, 0, False, None
    raw_int = None
    for num, wt, v in _fields(buf):
        if num == 1 and wt == 2:
            try:
                name = v.decode("utf-8")
            except UnicodeDecodeError:
                raise SparkplugError("metric name is not UTF-8") from None
        elif num == 2 and wt == 0:
            alias = v
        elif num == 3 and wt == 0:
            ts = v
        elif num == 4 and wt == 0:
            datatype = v
        elif num == 7 and wt == 0:
            is_null = bool(v)
        elif num in (10, 11) and wt == 0:
            raw_int = (num, v)
        elif num == 12 and wt == 5:
            value = struct.unpack("<f", v)[0]
        elif num == 13 and wt == 1:
            value = struct.unpack("<d", v)[0]
        elif num == 14 and wt == 0:
            value = bool(v)
        elif num == 15 and wt == 2:
            try:
                value = v.decode("utf-8")
            except UnicodeDecodeError:
                raise SparkplugError("string value is not UTF-8") from None
    if raw_int is not None:
        num, v = raw_int
        if num == 10:
            v &= 0xFFFFFFFF
            bits = _SIGNED32.get(datatype)
            if bits:
                v &= (1 << bits) - 1
                if v >= 1 << (bits - 1):
                    v -= 1 << bits
        elif datatype in _SIGNED64 and v >= 1 << 63:
            v -= 1 << 64
        value = v
    return Metric(name, alias, ts, datatype, None if is_null else value)


def decode(buf: bytes) -> Payload:
    """Decode a Sparkplug B ``Payload``. Raises :class:`SparkplugError`."""
    if len(buf) > MAX_PAYLOAD_BYTES:
        raise SparkplugError("payload larger than 1 MiB")
    ts = seq = None
    metrics = []
    for num, wt, v in _fields(buf):
        if num == 1 and wt == 0:
            ts = v
        elif num == 2 and wt == 2:
            metrics.append(_metric(v))
        elif num == 3 and wt == 0:
            seq = v
    return Payload(ts, seq, tuple(metrics))


#: The channel of the reading that tells of a hole in a node's ``seq`` (:class:`SeqWatch`):
#: its value the messages lost, its key ``<node's topic>|seq:<first>-<last>|<time before>``.
SEQ_HOLE = "seq hole"


class SeqWatch:
    """The holes in each edge node's ``seq`` (spec 3.0, 7.3): a node numbers every message
    it sends after its NBIRTH (which is 0, 1, ... again: a new sequence), NDATA, DBIRTH,
    DDATA and DDEATH alike, 0-255 and round again. A number more than one above the
    previous (modulo 256) means the messages between were lost; one at or just below the
    previous (at most half the circle back) is a redelivery and changes nothing."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, str], tuple[int, float]] = {}  # node -> (seq, time)

    def see(self, group: str, node: str, kind: str, seq: int | None, t: float) -> list:
        """A message of ``kind`` numbered ``seq`` at plant time ``t``: a :data:`SEQ_HOLE`
        reading of the node when numbers before it never came, else nothing."""
        from twin.live.feed import Reading

        if seq is None or not 0 <= seq <= 255:
            return []
        last = self._last.get((group, node))
        step = None if last is None else (seq - last[0]) % 256
        if kind != "NBIRTH" and step is not None and (step == 0 or step > 128):
            return []  # a redelivery: the node's numbering stays where it was
        self._last[(group, node)] = (seq, t)
        if kind == "NBIRTH" or step is None or step == 1:
            return []
        first, end = (last[0] + 1) % 256, (seq - 1) % 256
        return [Reading(node, SEQ_HOLE, t, step - 1,
                        f"spBv1.0/{group}/{node}|seq:{first}-{end}|{last[1]!r}")]


# --- encoding (tests, the emulator) ------------------------------------------------------------
def _enc_varint(v: int) -> bytes:
    v &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(num: int, wt: int) -> bytes:
    return _enc_varint(num << 3 | wt)


def _ld(num: int, data: bytes) -> bytes:
    return _key(num, 2) + _enc_varint(len(data)) + data


#: datatype codes used by :func:`encode`: Int64, Double, Boolean, String
INT64, DOUBLE, BOOLEAN, STRING = 4, 10, 11, 12


def encode(metrics: list[tuple[str | None, int | None, int | None, object]],
           timestamp_ms: int | None = None, seq: int | None = None) -> bytes:
    """A ``Payload`` of ``(name, alias, timestamp_ms, value)`` metrics (int -> Int64,
    float -> Double, bool -> Boolean, str -> String)."""
    out = bytearray()
    if timestamp_ms is not None:
        out += _key(1, 0) + _enc_varint(timestamp_ms)
    for name, alias, ts, value in metrics:
        m = bytearray()
        if name is not None:
            m += _ld(1, name.encode())
        if alias is not None:
            m += _key(2, 0) + _enc_varint(alias)
        if ts is not None:
            m += _key(3, 0) + _enc_varint(ts)
        if isinstance(value, bool):
            m += _key(4, 0) + _enc_varint(BOOLEAN) + _key(14, 0) + _enc_varint(int(value))
        elif isinstance(value, int):
            m += _key(4, 0) + _enc_varint(INT64) + _key(11, 0) + _enc_varint(value)
        elif isinstance(value, float):
            m += _key(4, 0) + _enc_varint(DOUBLE) + _key(13, 1) + struct.pack("<d", value)
        else:
            m += _key(4, 0) + _enc_varint(STRING) + _ld(15, str(value).encode())
        out += _ld(2, bytes(m))
    if seq is not None:
        out += _key(3, 0) + _enc_varint(seq)
    return bytes(out)
