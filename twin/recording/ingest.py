"""The per-chunk work of an import: convert, check, count, append.

:class:`Ingest` receives the chunks an importer streams (see :mod:`twin.recording.importers`)
and writes them into a recording through a :class:`~twin.recording.writer.RecordingWriter`.
Every row is either stored or counted in the report under the reason it was not; every
doubtful value is counted with examples. Sequence checks (order, duplicates, gaps, overlaps)
run per asset with a running maximum carried from chunk to chunk, so they see the whole file
while holding one chunk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import zip_longest
from pathlib import Path

import numpy as np
import pyarrow as pa

from twin.recording.convert import (
    T_BAD,
    T_MISSING,
    T_NONEXISTENT,
    T_OK,
    T_RANGE,
    ColumnTypeError,
    describe,
    is_bad_quantity,
    to_float,
    to_labels,
    to_time_ns,
)
from twin.recording.errors import RecordingImportError
from twin.recording.format import DATASET_DTYPES, LABEL_DTYPE, UNKNOWN
from twin.recording.importers import Chunk
from twin.recording.mapping import RECORD_ROLES, Mapping
from twin.recording.report import (
    BAD_ROW_ISSUES,
    ISSUES,
    MAX_EXAMPLES,
    AssetSummary,
    Example,
    ImportReport,
)
from twin.recording.timerange import RANGE_TEXT
from twin.recording.writer import AssetInfo, RecordingWriter

_SEQ_KINDS = ("out_of_order", "duplicates", "gaps", "overlaps")
_DAY_NS = 86_400 * 1_000_000_000

_FIXES = {
    "malformed_rows": "fix the row's fields (delimiter, quotes) or the mapping's csv options",
    "bad_timestamps": "fix the stamp or the mapping's $.time.format / $.time.time_zone",
    "missing_values": "fill the cell or drop the row",
    "unknown_states": "add the raw code to the mapping's $.states",
    "impossible_values": "correct the value in the data",
    "bad_text": "correct the cell (or the mapping's $.csv.encoding)",
}


@dataclass
class _Seq:
    """Running sequence state and per-asset issue counts of one asset."""

    last_t: float = -math.inf
    last_end: float = -math.inf
    rows: int = 0
    first: float = math.inf
    last: float = -math.inf
    shuffled: bool = False
    gap_time: float = 0.0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_SEQ_KINDS, 0))
    examples: dict[str, list[Example]] = field(
        default_factory=lambda: {k: [] for k in _SEQ_KINDS}
    )

    def add(self, kind: str, count: int, examples: list[Example]) -> None:
        self.counts[kind] += int(count)
        room = MAX_EXAMPLES - len(self.examples[kind])
        self.examples[kind].extend(examples[:max(room, 0)])


class Ingest:
    """Writes the chunks of one data file into a new recording at ``tmp``.

    Parameters
    ----------
    data : pathlib.Path
        The data file (for messages and the report).
    mapping : Mapping
    tmp : pathlib.Path
        The file to write (renamed by the caller when the import succeeds).
    importer : str
        Identifier of the importer, for the report.
    """

    def __init__(self, data: Path, mapping: Mapping, tmp: Path, importer: str) -> None:
        self.data = data
        self.mapping = mapping
        self.tmp = tmp
        self.report = ImportReport(
            data_file=str(data), mapping_file=mapping.file, shape=mapping.shape,
            importer=importer,
        )
        self.writer: RecordingWriter | None = None
        self._epoch_ns = 0
        self._seq: dict[str, _Seq] = {}
        self._records = {"states": 0, "parts": 0, "buckets": 0, "power": 0, "level": 0}

    # -- plumbing -------------------------------------------------------------------------

    def _start(self, first_ns: int) -> RecordingWriter:
        m = self.mapping
        self._epoch_ns = first_ns - first_ns % _DAY_NS  # UTC midnight before the first stamp
        epoch = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=self._epoch_ns // 1000)
        self.report.epoch_utc = epoch.isoformat()
        self.writer = RecordingWriter.create(
            self.tmp, shape=m.shape, source=m.source, time_zone=m.time_zone, epoch_utc=epoch,
            raw_state_labels=list(m.states), bucket_length_s=m.bucket_length_s,
            mapping=m.document, shifts=[s.to_json() for s in m.shifts], overwrite=True,
        )
        self.writer.set_attr("data_file", self.data.name)
        return self.writer

    def _seq_for(self, asset: str) -> _Seq:
        seq = self._seq.get(asset)
        if seq is None:
            am = self.mapping.asset(asset)
            ict = am.ideal_cycle_time_s or self.mapping.ideal_cycle_time_s
            self.writer.add_asset(AssetInfo(asset, am.name, am.element, ict, am.server))
            seq = self._seq[asset] = _Seq()
        return seq

    def _stamp(self, t: float) -> str:
        epoch = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=self._epoch_ns // 1000)
        return (epoch + timedelta(seconds=float(t))).isoformat()

    def _issue(self, kind: str, mask: np.ndarray, chunk: Chunk, assets: list[str],
               aidx: np.ndarray, column: str, value) -> None:
        """Count the rows in ``mask`` under ``kind``; ``value(i)`` gives an example's text."""
        idx = np.flatnonzero(mask)
        if not len(idx):
            return
        some = idx[:MAX_EXAMPLES]
        rows = chunk.row_of(some)
        examples = [
            Example(int(r), assets[aidx[i]] if aidx[i] >= 0 else "", value(i), column)
            for r, i in zip(rows, some, strict=True)
        ]
        self.report.issues[kind].add(len(idx), examples)
        if self.mapping.on_bad_rows == "fail" and kind in BAD_ROW_ISSUES:
            self._fail(kind, examples[0])

    def _fail(self, kind: str, example: Example) -> None:
        raise RecordingImportError(
            f"{self.data}: {example.format()}: {ISSUES[kind].split(':')[0]}. "
            f"Fix: {_FIXES[kind]}, or set \"on_bad_rows\": \"report\" in {self.mapping.file} "
            "to import the rest with a report.",
            self.report,
        )

    # -- one chunk ------------------------------------------------------------------------

    def add(self, chunk: Chunk) -> None:
        """Convert, check and append one chunk."""
        m = self.mapping
        rep = self.report
        batch = chunk.batch
        n = batch.num_rows
        rep.rows_read += n + len(chunk.malformed)
        if chunk.malformed:
            rep.not_stored_add("malformed (wrong number of fields)", len(chunk.malformed))
            examples = [Example(r, "", text) for r, text in chunk.malformed[:MAX_EXAMPLES]]
            rep.issues["malformed_rows"].add(len(chunk.malformed), examples)
            if m.on_bad_rows == "fail":
                self._fail("malformed_rows", examples[0])
        if n == 0:
            return
        self._check_types(batch)
        cols = {role: batch.column(name) for role, name in m.columns.items()}
        none = np.zeros(n, bool)
        # cells that are not valid text (the importer left them empty), per role
        inv = {role: chunk.invalid_text.get(name, none) for role, name in m.columns.items()}

        def text(role: str):
            column = cols[role]
            return lambda i: _cell(column, i)

        try:
            times = to_time_ns(cols["time"], m.time_format, m.time_zone)
        except ColumnTypeError as exc:
            raise RecordingImportError(
                f"{self.data}: column {m.columns['time']!r} (time) {exc}; fix $.time.format in "
                f"{m.file}"
            ) from None
        if "asset" in cols:
            aidx, assets, abad = to_labels(cols["asset"])
            abad = abad | inv["asset"]
        else:
            aidx, assets, abad = np.zeros(n, np.int32), [m.asset_id], none
        st = times.status
        tcol, acol = m.columns["time"], m.columns.get("asset", "")
        tbad = (st == T_MISSING) & inv["time"]
        no_time = (st == T_MISSING) & ~tbad
        self._issue("missing_values", no_time, chunk, assets, aidx, tcol, lambda i: "''")
        self._issue("bad_text", tbad, chunk, assets, aidx, tcol, lambda i: _NOT_TEXT)
        self._issue("bad_timestamps", st == T_BAD, chunk, assets, aidx, tcol, text("time"))
        self._issue("bad_timestamps", st == T_NONEXISTENT, chunk, assets, aidx, tcol,
                    lambda i: f"{_cell(cols['time'], i)} does not exist in {m.time_zone} (DST)")
        self._issue("bad_timestamps", st == T_RANGE, chunk, assets, aidx, tcol,
                    lambda i: f"{_cell(cols['time'], i)} is outside the supported range "
                              f"{RANGE_TEXT}")
        abad = (st == T_OK) & abad
        no_asset = (st == T_OK) & (aidx < 0) & ~abad
        self._issue("missing_values", no_asset, chunk, assets, aidx, acol, lambda i: "''")
        self._issue("bad_text", abad, chunk, assets, aidx, acol, lambda i: _label_text(
            cols["asset"], i, inv["asset"]))
        rep.not_stored_add("no time stamp", int(no_time.sum()))
        rep.not_stored_add("time stamp is not valid text", int(tbad.sum()))
        rep.not_stored_add("unreadable time stamp", int((st == T_BAD).sum()))
        rep.not_stored_add("time does not exist in the time zone", int((st == T_NONEXISTENT).sum()))
        rep.not_stored_add("time outside 1970-2200", int((st == T_RANGE).sum()))
        rep.not_stored_add("no asset id", int(no_asset.sum()))
        rep.not_stored_add("asset id that cannot be stored", int(abad.sum()))
        keep = (st == T_OK) & (aidx >= 0)
        for role in cols:
            if role not in ("time", "asset"):
                self._issue("bad_text", keep & inv[role], chunk, assets, aidx, m.columns[role],
                            lambda i: _NOT_TEXT)
        if not keep.any():
            return
        self._issue("ambiguous_times", keep & times.ambiguous, chunk, assets, aidx, tcol,
                    text("time"))
        writer = self.writer or self._start(int(times.ns[np.argmax(keep)]))
        t = (times.ns - self._epoch_ns).astype(np.float64) / 1e9

        # states: raw label -> machine state code, raw label -> vocabulary code
        state = np.full(n, UNKNOWN, np.int8)
        raw = np.full(n, -1, np.int32)
        has_state = np.zeros(n, bool)
        if "state" in cols:
            sidx, slabels, sbad = to_labels(cols["state"], LABEL_DTYPE.itemsize)
            codes = np.array([m.states.get(s, UNKNOWN) for s in slabels] + [UNKNOWN], np.int8)
            vocab = np.append(writer.label_codes("raw_state", slabels), -1).astype(np.int32)
            state, raw, has_state = codes[sidx], vocab[sidx], sidx >= 0
            self._issue("unknown_states", keep & has_state & (state == UNKNOWN), chunk, assets,
                        aidx, m.columns["state"], text("state"))
            self._issue("bad_text", keep & sbad, chunk, assets, aidx, m.columns["state"],
                        lambda i: _label_text(cols["state"], i, inv["state"]))
            inv["state"] = inv["state"] | sbad
        product = np.full(n, -1, np.int32)
        if "product" in cols:
            pidx, plabels, pbad = to_labels(cols["product"], LABEL_DTYPE.itemsize)
            product = np.append(writer.label_codes("product", plabels), -1).astype(np.int32)[pidx]
            self._issue("bad_text", keep & pbad, chunk, assets, aidx, m.columns["product"],
                        lambda i: _label_text(cols["product"], i, inv["product"]))

        quantities = {}
        for role in ("parts", "scrap", "power", "length", "level"):
            if role not in cols or (role == "scrap" and m.shape == "event_log"):
                continue
            try:
                values, missing, unreadable = to_float(cols[role])
            except ColumnTypeError as exc:
                raise RecordingImportError(
                    f"{self.data}: column {m.columns[role]!r} ({role}) {exc}; convert the "
                    f"column in the source or map another one in {m.file} $.columns.{role}"
                ) from None
            bad = unreadable | is_bad_quantity(values, missing)
            if role == "length":
                bad |= ~missing & (values == 0)
            self._issue("impossible_values", keep & bad, chunk, assets, aidx, m.columns[role],
                        text(role))
            quantities[role] = (values, missing)
            if m.shape == "buckets" and role != "level":  # a level is a sample, when known
                self._issue("missing_values", keep & missing & ~inv[role], chunk, assets, aidx,
                            m.columns[role], lambda i: "''")
        if m.shape == "buckets":
            if "state" in cols:
                self._issue("missing_values", keep & ~has_state & ~inv["state"], chunk, assets,
                            aidx, m.columns["state"], lambda i: "''")
            stored = keep
            records = self._buckets(n, t, state, raw, product, quantities)
            if "level" in quantities:
                level, missing = quantities["level"]
                records["level"] = ({"time": t, "level": level}, keep & ~missing)
        else:
            stored, records = self._events(chunk, n, t, keep, state, raw, has_state,
                                           quantities, cols, assets, aidx)
        rep.rows_stored += int(stored.sum())
        self._append(chunk, stored, aidx, assets, t, records)

    def _check_types(self, batch: pa.RecordBatch) -> None:
        """Refuse mapped columns of types a recording cannot read (lists, structs, bytes)."""
        m = self.mapping
        for role, name in m.columns.items():
            t = batch.schema.field(name).type
            if not _type_ok(t, role):
                kinds = "text, numbers" + (", time stamps or dates" if role == "time" else "")
                raise RecordingImportError(
                    f"{self.data}: column {name!r} ({role}) holds {t} values; a recording "
                    f"reads {kinds} there. Convert the column in the source or map another "
                    f"one in {m.file} $.columns.{role}"
                )

    def _buckets(self, n, t, state, raw, product, q) -> dict:
        m = self.mapping
        default = np.nan if m.bucket_length_s is None else m.bucket_length_s
        if "length" in q:
            length, missing = q["length"]
            length = np.where(missing, default, length)
        else:
            length = np.full(n, default)
        parts = q["parts"][0] if "parts" in q else np.zeros(n)
        scrap = q["scrap"][0] if "scrap" in q else np.zeros(n)
        fields = {
            "start": t, "length": length,
            "parts": parts if m.parts_include_scrap else parts + scrap, "scrap": scrap,
            "power_kw": q["power"][0] if "power" in q else np.full(n, np.nan),
            "state": state, "raw_state": raw, "product": product,
        }
        return {"buckets": (fields, np.ones(n, bool))}

    def _events(self, chunk, n, t, keep, state, raw, has_state, q, cols, assets, aidx):
        m = self.mapping
        has_state = keep & has_state
        has_parts = np.zeros(n, bool)
        has_power = np.zeros(n, bool)
        records = {}
        if "parts" in q:
            count, missing = q["parts"]
            has_parts = keep & ~missing & (count != 0)  # NaN != 0: kept, as recorded
            good = np.ones(n, np.int8)
            if "scrap" in cols:
                sidx, labels, _ = to_labels(cols["scrap"])
                flags = np.array([s.lower() in m.scrap_values for s in labels] + [False])
                good = (~flags[sidx]).astype(np.int8)
            records["parts"] = ({"time": t, "count": count, "good": good}, has_parts)
        if "power" in q:
            power, missing = q["power"]
            has_power = keep & ~missing
            records["power"] = ({"time": t, "power_kw": power}, has_power)
        has_level = np.zeros(n, bool)
        if "level" in q:
            level, missing = q["level"]
            has_level = keep & ~missing
            records["level"] = ({"time": t, "level": level}, has_level)
        if "state" in cols:
            records["states"] = ({"time": t, "state": state, "raw_state": raw}, has_state)
        stored = has_state | has_parts | has_power | has_level
        empty = keep & ~stored
        roles = "/".join(m.columns[r] for r in RECORD_ROLES if r in m.columns)
        self._issue("missing_values", empty, chunk, assets, aidx, roles, lambda i: "''")
        reason = ("carries no state, parts, power or level" if "level" in m.columns
                  else "carries no state, parts or power")
        self.report.not_stored_add(reason, int(empty.sum()))
        return stored, records

    def _append(self, chunk, stored, aidx, assets, t, records) -> None:
        rows = np.flatnonzero(stored)
        if not len(rows):
            return
        # One stable sort by asset; every record kind is then a run of contiguous slices.
        rows = rows[np.argsort(aidx[rows], kind="stable")]
        cuts = np.flatnonzero(np.diff(aidx[rows])) + 1
        firsts = np.concatenate(([0], cuts))
        seg_assets = [assets[aidx[rows[i]]] for i in firsts]
        ends = None
        if "buckets" in records:
            length = records["buckets"][0]["length"]
            ends = t + np.where(np.isfinite(length) & (length > 0), length, 0.0)
        for asset, seg in zip(seg_assets, np.split(rows, cuts), strict=True):
            seq = self._seq_for(asset)
            tt = t[seg]
            seq.rows += len(seg)
            seq.first = min(seq.first, float(tt.min()))
            seq.last = max(seq.last, float(tt.max()))
            self._check_sequence(seq, tt, None if ends is None else ends[seg], seg, chunk, asset)
        for kind, (fields, mask) in records.items():
            sel = rows[mask[rows]]
            if not len(sel):
                continue
            rec = np.empty(len(sel), DATASET_DTYPES[kind])
            for name, values in fields.items():
                rec[name] = values[sel]
            bounds = np.flatnonzero(np.diff(aidx[sel])) + 1
            for lo, hi in zip(np.concatenate(([0], bounds)), np.append(bounds, len(sel)),
                              strict=True):
                self.writer.append_records(assets[aidx[sel[lo]]], kind, rec[lo:hi])
            self._records[kind] += len(sel)

    def _check_sequence(self, seq: _Seq, tt, ends, seg, chunk: Chunk, asset: str) -> None:
        prev = np.maximum.accumulate(np.concatenate(([seq.last_t], tt)))[:-1]
        later = tt > prev

        def examples(mask, value):
            idx = np.flatnonzero(mask)[:MAX_EXAMPLES]
            rows = chunk.row_of(seg[idx])
            return [Example(int(r), asset, value(i)) for r, i in zip(rows, idx, strict=True)]

        ooo = tt < prev
        if ooo.any():
            seq.shuffled = True
            seq.add("out_of_order", ooo.sum(), examples(
                ooo, lambda i: f"{self._stamp(tt[i])} after {self._stamp(prev[i])}"))
        dup = tt == prev
        dup_examples = examples(dup, lambda i: self._stamp(tt[i]))
        seq.add("duplicates", dup.sum(), dup_examples)
        if dup_examples and ends is not None and self.mapping.duplicate_buckets == "fail":
            self._duplicate_fail(dup_examples[0])
        if ends is not None:
            prev_end = np.maximum.accumulate(np.concatenate(([seq.last_end], ends)))[:-1]
            seen = np.isfinite(prev_end)
            gap = later & seen & (tt > prev_end)
            overlap = later & seen & (tt < prev_end)
            seq.last_end = max(seq.last_end, float(ends.max()))
            seq.add("overlaps", overlap.sum(), examples(
                overlap, lambda i: f"starts {self._stamp(tt[i])}, "
                                   f"{prev_end[i] - tt[i]:g} s before the previous bucket ended"))
            lengths = tt - prev_end
        elif self.mapping.max_silence_s is not None:
            gap = later & np.isfinite(prev) & (tt - prev > self.mapping.max_silence_s)
            lengths = tt - prev
        else:
            gap = np.zeros(len(tt), bool)
            lengths = np.zeros(len(tt))
        if gap.any():
            seq.gap_time += float(lengths[gap].sum())
            seq.add("gaps", gap.sum(), examples(
                gap, lambda i: f"{lengths[i]:g} s without data before {self._stamp(tt[i])}"))
        seq.last_t = max(seq.last_t, float(tt.max()))

    # -- the end --------------------------------------------------------------------------

    def _resequence(self, asset: str, seq: _Seq) -> None:
        """Recount duplicates, gaps and overlaps of a bucket series in time order."""
        ds = self.writer._dataset(asset, "buckets")
        start = ds.fields("start")[()]
        length = ds.fields("length")[()]
        order = np.argsort(start, kind="stable")
        s = start[order]
        length = length[order]
        e = s + np.where(np.isfinite(length) & (length > 0), length, 0.0)
        prev_end = np.maximum.accumulate(e)[:-1]
        nxt = s[1:]
        later = nxt > s[:-1]
        found = {
            "duplicates": nxt == s[:-1],
            "gaps": later & (nxt > prev_end),
            "overlaps": later & (nxt < prev_end),
        }
        for kind, mask in found.items():
            seq.counts[kind] = int(mask.sum())
            seq.examples[kind] = [
                Example(None, asset, f"{self._stamp(nxt[i])} (found after sorting)")
                for i in np.flatnonzero(mask)[:MAX_EXAMPLES]
            ]
        seq.gap_time = float((nxt - prev_end)[found["gaps"]].sum())

    def _duplicate_fail(self, example: Example) -> None:
        raise RecordingImportError(
            f"{self.data}: {example.format()}: a second bucket of this asset with the same "
            "start (duplicate_buckets is \"fail\"). Fix: remove the repeated row, or set "
            f"\"duplicate_buckets\": \"first\" or \"last\" in {self.mapping.file} to keep "
            "one of them and report the others.",
            self.report,
        )

    def _drop_duplicates(self, asset: str, seq: _Seq) -> None:
        """Keep one bucket per start (the first or the last in file order, as the mapping
        says) so that replay does not count a repeated bucket's parts and energy twice."""
        keep_last = self.mapping.duplicate_buckets == "last"
        ds = self.writer._dataset(asset, "buckets")
        rows = ds[()]
        order = np.argsort(rows["start"], kind="stable")
        s = rows["start"][order]
        same_as_next = np.append(s[1:] == s[:-1], False)
        same_as_prev = np.insert(s[1:] == s[:-1], 0, False)
        drop = np.zeros(len(rows), bool)
        drop[order] = same_as_next if keep_last else same_as_prev
        dropped = int(drop.sum())
        if not dropped:
            return
        kept = rows[~drop]  # file order of the kept rows is preserved
        ds.resize((len(kept),))
        ds[...] = kept
        seq.rows -= dropped
        self.report.rows_stored -= dropped
        self._records["buckets"] -= dropped
        self.report.not_stored_add(
            f"duplicate bucket (same asset and start; the {'last' if keep_last else 'first'} "
            "was kept)", dropped)

    def finish(self, seconds: float) -> ImportReport:
        """Write the report into the recording and close it; return the report."""
        rep = self.report
        m = self.mapping
        if self.writer is None:
            raise RecordingImportError(
                f"{self.data}: no row could be stored ({rep.rows_read} rows read); check the "
                f"data against {m.file} (time format, columns)\n{rep.format()}",
                rep,
            )
        for asset, seq in self._seq.items():
            if seq.shuffled and m.shape == "buckets":
                self._resequence(asset, seq)
                if seq.examples["duplicates"] and m.duplicate_buckets == "fail":
                    self._duplicate_fail(seq.examples["duplicates"][0])
            if m.shape == "buckets" and seq.counts["duplicates"]:
                self._drop_duplicates(asset, seq)
            elif seq.shuffled and m.shape != "buckets":
                rep.notes.append(
                    f"asset {asset} has rows out of order: its duplicates were counted among "
                    "consecutive rows of the file only"
                )
        for kind in _SEQ_KINDS:
            # examples taken in turn from each asset, so that every asset shows up
            lists = [seq.examples[kind] for seq in self._seq.values()]
            mixed = [ex for group in zip_longest(*lists) for ex in group if ex is not None]
            rep.issues[kind].add(sum(seq.counts[kind] for seq in self._seq.values()), mixed)
        rep.gap_time_s = float(sum(seq.gap_time for seq in self._seq.values()))
        rep.assets = {
            a: AssetSummary(s.rows, s.first, s.last, s.counts["gaps"], s.gap_time)
            for a, s in self._seq.items()
        }
        rep.records = {k: v for k, v in self._records.items() if v or k in _kinds(m)}
        absent = [a for a in m.assets if a not in self._seq]
        if absent:
            rep.notes.append(f"the mapping names assets without rows in the data: {absent}")
        rep.seconds = seconds
        self.writer.set_json_attr("import_report", rep.to_dict())
        self.writer.close()
        return rep

    def abort(self) -> None:
        """Close the file after a failure (the caller deletes it)."""
        if self.writer is not None:
            self.writer.close()


_NOT_TEXT = "not valid text"
#: Arrow types a mapped column may hold: text, numbers, booleans, empty; time stamps and
#: dates for the time column.
_PLAIN = (pa.types.is_string, pa.types.is_large_string, pa.types.is_integer,
          pa.types.is_floating, pa.types.is_boolean, pa.types.is_decimal, pa.types.is_null)
_TIMES = (pa.types.is_timestamp, pa.types.is_date32, pa.types.is_date64)


def _type_ok(t: pa.DataType, role: str) -> bool:
    if pa.types.is_dictionary(t):
        t = t.value_type
    return any(f(t) for f in _PLAIN) or (role == "time" and any(f(t) for f in _TIMES))


def _label_text(column: pa.Array, i: int, invalid: np.ndarray) -> str:
    if invalid[int(i)]:
        return _NOT_TEXT
    value = str(column[int(i)].as_py())
    why = "contains a NUL character" if "\x00" in value else (
        f"is longer than {LABEL_DTYPE.itemsize} bytes")
    return f"{value[:40]!r}{'...' if len(value) > 40 else ''} {why}"


def _kinds(m: Mapping) -> tuple[str, ...]:
    kinds = ("buckets",) if m.shape == "buckets" else ("states", "parts", "power")
    return kinds + (("level",) if "level" in m.columns else ())


def _cell(column: pa.Array, i: int) -> str:
    value = column[int(i)].as_py()
    if value is None:
        return "''"
    if isinstance(value, float):
        return describe(value)
    return repr(value) if isinstance(value, str) else str(value)
