"""Record a live feed: a :class:`~twin.live.feed.Feed` that appends to a twinbench recording.

:class:`LiveRecorder` takes the readings a source hands over (on the source's thread) and
appends them to an event-log recording in SWMR mode (``docs/recording-format.md``), so that
the workbench and ``twinbench replay`` can read the file while it grows, and a recorder killed
with ``kill -9`` leaves a readable file holding everything up to its last flush. The rules
(also in ``docs/live-recording.md``):

* **Assets** are declared when the file is created (HDF5 cannot add groups in SWMR mode):
  :func:`project_assets` (every station server, ``<station>#<k>`` for a multi-server
  station, and a level asset per buffer, conveyor and queuing source, as simulated
  recordings name them) plus the mapping's ``assets``. A reading for another asset is
  counted (``unknown asset``, with examples) and not stored.
* **Channels**: ``state`` -> a state record (a value that is no state name is stored as
  ``unknown`` with its raw text kept as the raw state); ``parts``/``scrap`` -> a part record
  (count = the value, good 1/0); ``count`` (a cumulative good-part counter) -> a part record
  per increase (a drop is a reset: the value is the new base, no parts; a rise across lost
  data, a hole in the numbering or a link gap that lost the broker's session, is no parts
  either: ``count across a gap``); ``power_kw`` -> a power sample; ``level`` -> a level
  sample (level assets only). A quantity that is not a number >= 0 is stored as recorded
  (text as NaN) and counted, as the importers do; replay counts it as 0.
* **Time**: the file is created when the first reading arrives (or before, by
  :meth:`LiveRecorder.prepare`, and made anew if the reading is of another day); its
  ``epoch_utc`` is the UTC midnight of that reading's day (or the epoch given), and times are
  stored as seconds since it. Out-of-order readings (earlier than the asset's previous
  reading on that channel) are stored in arrival order and counted: the format stores
  arrival order and replay sorts (stably). A late ``count`` reading is not stored: the
  later counter value includes it.
* **Duplicates**: a reading whose ``(asset, channel, key)`` was seen among the last
  ``dedup_window`` keyed readings is dropped (redelivery); memory stays bounded. This is
  the one de-duplication of the process that records: :meth:`LiveRecorder.readings`
  returns the readings it kept, and a feed that shows them (the workbench's live state)
  takes those instead of de-duplicating again.
* **Gaps**: ``link("reconnecting")`` .. ``link("connected")`` is a gap, stored in ``/gaps``
  (schema 3) from the latest plant time seen before the link came back (readings still
  handed over while reconnecting count) to the earliest time stamp of the first batch after
  it came back (a zero-length gap when redelivered or back-filled data covers it). Replay
  shows no data over a gap.
* **Flushing**: the source's thread only checks readings and buffers rows; a writer thread
  of the recorder appends them (once ``max_buffered`` rows wait) and flushes the file at
  least every ``flush_interval_s`` seconds while records wait, so HDF5 work never holds a
  source up. When the writer falls behind, :meth:`LiveRecorder.readings` waits once
  ``max_backlog`` rows are held: memory does not grow with the length of the recording.
  A failure to write is raised by :meth:`LiveRecorder.tick` on the caller's thread. The
  writer rests between pieces of its work, and :meth:`LiveRecorder.hold` keeps it and the
  source's next batch back while a GUI thread redraws (HDF5 calls hold the interpreter lock).
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from kernels.types import STATE_NAMES
from twin.live.assets import mapping_assets, project_assets  # noqa: F401 - their old home
from twin.live.feed import CHANNELS, LINK_STATES, Reading
from twin.live.pace import MAX_HOLD_S, PACE_REST_S, PACE_WORK_S, _Pace  # noqa: F401
from twin.live.report import (  # noqa: F401 - PROBLEMS as before
    ACROSS_GAP,
    NOTHING_HERE,
    PROBLEMS,
    TIME_BACK,
    TIME_BACK_S,
    LiveReport,
    Problem,
    _iso,
)
from twin.live.sequence import LOST, MessageIds, describe_ranges
from twin.live.sparkplug import SEQ_HOLE
from twin.recording import AssetInfo, RecordingError, RecordingWriter
from twin.recording.format import (
    LABEL_DTYPE,
    LEVEL_DTYPE,
    PARTS_DTYPE,
    POWER_DTYPE,
    STATES_DTYPE,
    UNKNOWN,
    parse_epoch,
    zone,
)
from twin.recording.timerange import EARLIEST, LATEST

#: Spans of lost data remembered, for a counter's rise across one (:meth:`_across_loss`).
LOSS_SPANS = 1024
#: Problem kinds counted apart; more are counted as ``other``.
MAX_KINDS = 64
#: Raw state texts kept (vocabulary entries); beyond, an unknown state keeps no raw text.
MAX_RAW_STATES = 1024

_STATE_CODES = {name: i for i, name in enumerate(STATE_NAMES)}
_CHANNELS = frozenset(CHANNELS)
_DTYPES = {"states": STATES_DTYPE, "parts": PARTS_DTYPE, "power": POWER_DTYPE,
           "level": LEVEL_DTYPE}
_EARLIEST_S = (EARLIEST - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()
_LATEST_S = (LATEST - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()


class _Asset:
    """What the recorder keeps per declared asset: bounded, whatever the recording's length."""

    __slots__ = ("info", "last_t", "base", "base_t", "state")

    def __init__(self, info: AssetInfo) -> None:
        self.info = info
        self.last_t: dict[str, float] = {}
        self.base: float | None = None  # the counter's last value
        self.base_t = -math.inf  # its plant time, s since 1970
        self.state = ""  # the last state name received


class LiveRecorder:
    """A :class:`~twin.live.feed.Feed` that writes a twinbench recording as readings arrive.

    Parameters
    ----------
    path : path-like
        The recording to create (``.h5``); created when the first reading arrives.
    assets : iterable of AssetInfo or str
        Every asset the recording may hold (:func:`project_assets`, :func:`mapping_assets`).
    source : str
        Where the data comes from (the source's URL), stored in the ``source`` attribute.
    time_zone : str
        The plant's IANA time zone (days and shifts are cut in it).
    epoch_utc : datetime or str, optional
        Time zero of the stored times; default the UTC midnight of the first reading's day.
    overwrite : bool
        Replace an existing file; otherwise an existing file is an error, raised here.
    flush_interval_s : float
        Longest time between two flushes while records wait (wall-clock seconds).
    max_buffered : int
        Rows held in memory before the writer thread appends them to the datasets (sooner
        than the flush interval). Each append costs per dataset, not per row: at 20,000
        readings/s the default appends about once a flush interval, not several times.
    max_backlog : int
        Rows held in memory at most: when the writer falls behind, :meth:`readings` waits
        (the source slows down; an MQTT broker keeps the messages) rather than growing.
    dedup_window : int
        Keys remembered to drop redelivered readings.
    on_flush : callable, optional
        Called with the number of records on disk after each flush (on the writer thread).
    clock : callable
        Wall-clock seconds (monotonic), for the flush interval.

    Raises
    ------
    RecordingError
        For an existing file without ``overwrite``, a missing folder, a bad epoch or time
        zone, or no assets.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        assets: Iterable[AssetInfo | str],
        *,
        source: str = "live",
        time_zone: str = "UTC",
        epoch_utc: datetime | str | None = None,
        overwrite: bool = False,
        shifts: list[dict] | None = None,
        mapping: dict | None = None,
        flush_interval_s: float = 1.0,
        max_buffered: int = 65536,
        max_backlog: int = 200_000,
        dedup_window: int = 65536,
        on_flush: Callable[[int], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        infos = [a if isinstance(a, AssetInfo) else AssetInfo(str(a)) for a in assets]
        if not infos:
            raise RecordingError("a live recording needs at least one asset: the project has "
                                 "no station, buffer, conveyor or queue, and the mapping "
                                 "names none")
        self._assets: dict[str, _Asset] = {}
        for info in infos:
            if info.asset_id in self._assets:
                raise RecordingError(f"asset {info.asset_id!r} is declared twice (project "
                                     "and mapping?); name it once")
            self._assets[info.asset_id] = _Asset(info)
        if os.path.lexists(self.path) and not overwrite:
            raise RecordingError(f"{self.path}: exists; choose another file or overwrite it "
                                 "(--force)")
        if not self.path.parent.is_dir():
            raise RecordingError(f"{self.path}: folder {self.path.parent} does not exist; "
                                 "create it or choose another path")
        zone(time_zone)
        if isinstance(epoch_utc, str):
            epoch_utc = parse_epoch(epoch_utc)
        elif epoch_utc is not None:
            if epoch_utc.tzinfo is None:
                raise RecordingError(f"epoch {epoch_utc!r} must say its UTC offset")
            epoch_utc = epoch_utc.astimezone(UTC)
        self._epoch_given = epoch_utc
        self._create = dict(source=source, time_zone=time_zone, overwrite=overwrite,
                            shifts=shifts, mapping=mapping)
        self.flush_interval_s = float(flush_interval_s)
        self.max_buffered = int(max_buffered)
        self.max_backlog = max(int(max_backlog), self.max_buffered)
        self.dedup_window = int(dedup_window)
        self.on_flush = on_flush
        self._clock = clock
        self._held_until = 0.0  # time.perf_counter(): hold_writes
        #: Makes the writer's pacing for one write (:class:`_Pace`; tests count its rests).
        self.pace: Callable[[], Callable[[], None]] = lambda: _Pace(lambda: self._held_until)
        # Lock order: _io (the HDF5 file), then _lock (everything else). The source's thread
        # takes _lock only, so HDF5 work never holds it up for longer than a swap of buffers.
        self._io = threading.Lock()
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._closing = False
        self._writer: RecordingWriter | None = None
        self._prepared: RecordingWriter | None = None  # made before the first reading
        self._epoch_s = 0.0
        self._buffers: dict[tuple[str, str], list[tuple]] = {}
        self._buffered = 0
        self._gap_rows: list[tuple[float, float, str]] = []
        self._unflushed = False
        self._last_flush = clock()
        # the keys of the last dedup_window keyed readings: a set to look them up, a queue
        # for the order they came in (the oldest leave, a batch at a time)
        self._seen: set[tuple[str, str, str]] = set()
        self._seen_order: deque[tuple[str, str, str]] = deque()
        self._raw_states: set[str] = set()
        self._gap: list | None = None  # [start, reason] while the link is down
        self._gap_waits_end = False
        self._connected_once = False  # a later new session lost the broker's queue
        self.report = LiveReport(path=str(self.path))
        self._ids = MessageIds()  # the holes in publishers' numbering: messages lost
        # plant time whose data was lost (a hole in the numbering, a link gap that lost the
        # session): a counter's rise across one is not parts made at its end (recent ones)
        self._loss: deque[tuple[float, float]] = deque(maxlen=LOSS_SPANS)
        self._loss_top = -math.inf  # the latest start among them
        self._gap_lossy = False  # the link gap under way lost the broker's queue
        self._lossy_from: float | None = None  # its start, in the batch that ends it
        self._holes_new: list[tuple[float, float, int]] = []  # for take_holes()
        #: ``id()`` of the latest batch's count readings whose rise was not parts
        self.rebased: set[int] = set()
        self.link_state = "connecting"
        self.link_detail = ""
        self.failure: BaseException | None = None
        self.closed = False

    # -- the Feed protocol ------------------------------------------------------------------

    def readings(self, batch: list[Reading]) -> list[Reading]:
        """Store a batch (from the source's thread). Never raises for bad readings: each is
        counted; a failure to write is kept in :attr:`failure` and raised by :meth:`tick`.
        Returns the readings that are not redeliveries (in order), for a feed beside the
        recorder that must not count one twice; after :meth:`close` or a failure to write,
        nothing is checked and ``batch`` comes back as it is."""
        self.rest()
        self.rebased = set() if self.rebased else self.rebased  # ids of this batch's only
        with self._lock:
            while (self._buffered >= self.max_backlog and self.failure is None
                   and not self._closing):
                self._wake.wait(0.5)  # the writer is behind: hold the source back
            if self._closing:  # a source still running after close(): nothing is stored
                self.report.received += len(batch)
                self._problem("after close", f"{len(batch)} readings")
                return batch
            if self.failure is not None:
                return batch
            waited = self._unflushed
            try:
                kept = self._take(batch)
            except Exception as exc:  # creating the file failed: the main thread raises it
                self.failure = exc
                return batch
            if self._buffered >= self.max_buffered or (self._unflushed and not waited):
                self._wake.notify_all()  # the writer thread counts the interval from now
        return kept

    def bad(self, kind: str, example: str) -> None:
        """A message the source could not read: counted under ``kind`` with its example."""
        with self._lock:
            self._problem(str(kind), str(example)[:200])
            p = self.report.problems.get(str(kind))
            if kind == NOTHING_HERE and p is not None:  # what the latest probe found, which
                p.examples[:] = [str(example)[:200]]  # the Live dock shows, not the first

    def link(self, state: str, detail: str = "") -> None:
        """The source's connection changed; ``reconnecting`` .. ``connected`` is a gap."""
        with self._lock:
            if state not in LINK_STATES:
                self._problem("unknown link state", f"{state!r} ({detail})"[:200])
                return
            self.link_state, self.link_detail = state, str(detail)
            if state == "reconnecting":
                if self._gap is None:  # the link went down (retries are the same gap)
                    self.report.reconnects += 1
                    reason = f"reconnecting: {detail}" if detail else "reconnecting"
                    self._gap = [self.report.last, _label(reason)]
                    self._gap_waits_end = False
            elif state == "connected":
                if self._connected_once and str(detail) == "new session":
                    self.report.sessions_lost += 1
                self._connected_once = True
                if self._gap is not None:
                    self._gap_waits_end = True  # ends at the first time stamp that comes in
                    # a resumed MQTT session or OPC UA history handed over what was sent
                    # meanwhile; a new session or OPC UA nodes without history lost it
                    said = str(detail)
                    self._gap_lossy = said == "new session" or "not back-filled" in said

    # -- driving it -------------------------------------------------------------------------

    def hold(self, seconds: float) -> None:
        """Keep the writer thread's HDF5 work and the source's next :meth:`readings` back
        for the next ``seconds`` (at most :data:`MAX_HOLD_S`), from any thread. The
        workbench's GUI thread calls it as it redraws the Live dock: each Python call of a
        redraw needs the interpreter lock, and won it only every millisecond or more from
        the writer and the source's thread, so a redraw of 2-3 ms of CPU took 30-50 ms
        (issue 15). Work already begun (an append, a dataset's flush, a batch) ends first;
        the source's readings wait in its queue meanwhile."""
        self._held_until = max(self._held_until,
                               time.perf_counter() + min(float(seconds), MAX_HOLD_S))

    def rest(self) -> None:
        """Sleep while :meth:`hold` holds (a source's thread, before its next batch)."""
        wait = self._held_until - time.perf_counter()
        if wait > 0:
            time.sleep(min(wait, MAX_HOLD_S))

    def tick(self) -> None:
        """Raise a failure to write that happened on the writer thread (call it from the
        command's loop or a timer); the writer thread flushes on its own."""
        with self._lock:
            if self.failure is not None:
                raise self.failure

    def flush(self) -> None:
        """Append every buffered record and flush the file now (SWMR readers see them)."""
        self._write(flush=True)

    def close(self) -> LiveReport:
        """End the recording: close an open gap at the latest time seen, stop the writer
        thread, flush, close the file. Returns the report."""
        with self._lock:
            if self.closed:
                return self.report
            if self._gap is not None and self._writer is not None:
                start, reason = self._gap
                if start is not None:
                    self._add_gap(start, max(start, self.report.last or start), reason)
                self._gap = None
            if self._writer is not None:  # where messages were lost, replay shows no data
                for start, end, _ in self._ids.gaps():
                    self._add_gap(start, end, _label(f"{LOST}: the broker dropped them"))
            self._closing = True
            self._wake.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()
        try:
            if self.failure is None:
                self.flush()
        finally:
            with self._io, self._lock:
                self.closed = True
                self._wake.notify_all()
                self._drop_prepared()  # no reading came: no recording made
                if self._writer is not None:
                    try:
                        self._writer.close()
                    except Exception:
                        if self.failure is None:
                            raise
        return self.report

    def __enter__(self) -> LiveRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what the status line shows -------------------------------------------------------

    @property
    def epoch_utc(self) -> datetime | None:
        """The recording's epoch, once the file exists (or the epoch given)."""
        return self._writer.epoch_utc if self._writer is not None else self._epoch_given

    def states(self) -> dict[str, str]:
        """Each asset's last state name (``""``: none yet)."""
        with self._lock:
            return {aid: a.state for aid, a in self._assets.items()}

    @property
    def span_s(self) -> float:
        """Plant time from the first to the latest reading stored, s."""
        r = self.report
        return 0.0 if r.first is None else r.last - r.first

    # -- inside -----------------------------------------------------------------------------

    def _problem(self, kind: str, example: str) -> None:
        p = self.report.problems.get(kind)
        if p is None:
            if len(self.report.problems) >= MAX_KINDS:  # a source naming kinds by value
                kind = "other"
                p = self.report.problems.get(kind)
            if p is None:
                p = self.report.problems[kind] = Problem()
        p.add(example)

    def prepare(self, now: float | None = None) -> None:
        """Create the file before the first reading, for the epoch that reading will most
        likely give (the UTC midnight of ``now``, wall clock, unless an epoch is given).
        Creating a file of 300 datasets is 150-360 ms of CPU in HDF5 calls that hold the
        interpreter lock: at the first reading of a flood it stalled the workbench's GUI
        thread (issue 15). A first reading of another day makes the file anew, as without
        this; a recorder closed with no reading removes it (no recording made)."""
        with self._io, self._lock:
            if self._writer is None and self._prepared is None and not self.closed:
                self._prepared = self._create_file(self._epoch(time.time() if now is None
                                                               else now))

    def _epoch(self, t: float) -> datetime:
        """UTC midnight of ``t``'s day, unless an epoch was given."""
        if self._epoch_given is not None:
            return self._epoch_given
        day = datetime.fromtimestamp(t, UTC)
        return datetime(day.year, day.month, day.day, tzinfo=UTC)

    def _drop_prepared(self) -> None:
        if self._prepared is not None:
            self._prepared.close()
            self._prepared = None
            os.unlink(self.path)

    def _start(self, t: float) -> None:
        """Create the file (or take the prepared one): epoch = UTC midnight of the first
        reading's day unless given."""
        epoch = self._epoch(t)
        if self._prepared is not None and self._prepared.epoch_utc == epoch:
            self._writer, self._prepared = self._prepared, None
        else:
            self._drop_prepared()
            self._writer = self._create_file(epoch)
        self._epoch_s = (epoch - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(seconds=1)
        self.report.epoch_utc = epoch.isoformat()
        self._last_flush = self._clock()
        self._thread = threading.Thread(target=self._run_writer, name="live-recorder-writer",
                                        daemon=True)
        self._thread.start()

    def _create_file(self, epoch: datetime) -> RecordingWriter:
        c = self._create
        return RecordingWriter.create(
            self.path, shape="event_log", source=c["source"], time_zone=c["time_zone"],
            epoch_utc=epoch, assets=[a.info for a in self._assets.values()],
            mapping=c["mapping"], shifts=c["shifts"], swmr=True, overwrite=c["overwrite"],
            # small chunks and a cache of about one chunk per dataset: records are only
            # appended, and memory then grows with the assets, never with the recording
            chunk_rows=1024, chunk_cache_bytes=64 * 1024)

    def _take(self, batch: list[Reading]) -> list[Reading]:
        """Check and buffer a batch; the readings that are not redeliveries.

        One pass, its lookups bound to locals: at 20,000 readings/s every attribute and
        call of a reading's path is a measurable share of the workbench's CPU (issue 15).
        """
        rep = self.report
        rep.received += len(batch)
        seen, fresh = self._seen, []
        kept: list[Reading] = []
        assets, see_id, problem = self._assets, self._ids.see, self._problem
        record = self._record
        gap_open = self._gap is not None and not self._gap_waits_end
        self._lossy_from = self._gap[0] if self._gap is not None and self._gap_waits_end \
            and self._gap_lossy else None
        opened = self._ids.opened
        epoch_s = self._epoch_s
        first_t = None  # earliest valid time stamp of this batch, to end a gap
        lo = hi = None  # plant times stored, earliest and latest
        latest = rep.last  # the latest plant time stored so far (time stamps going back)
        duplicates = 0
        for r in batch:
            if not (isinstance(r, Reading) and isinstance(r.asset, str)
                    and isinstance(r.channel, str) and isinstance(r.key, str)):
                problem("malformed reading", repr(r)[:200])
                continue
            key, ch = r.key, r.channel
            if key:
                k = (r.asset, ch, key)
                if k in seen:  # a redelivery, also of one earlier in this batch
                    duplicates += 1
                    continue
                seen.add(k)
                fresh.append(k)
                see_id(key, r.t)
                if opened:  # this reading showed a hole before it
                    self._lost_spans(opened, id(r))
            kept.append(r)
            if ch == SEQ_HOLE:  # a Sparkplug node's numbering skipped: messages lost
                if not self._ids.hole(key, r.value, r.t):
                    problem("malformed reading", repr(r)[:200])
                self._lost_spans(opened, id(r))
                continue
            a = assets.get(r.asset)
            if a is None:
                problem("unknown asset", _show(r))
                continue
            if ch not in _CHANNELS:
                problem("unknown channel", _show(r))
                continue
            t = r.t
            if type(t) is not float:  # noqa: E721 - the usual case first, exactly float
                if isinstance(t, bool) or not isinstance(t, int | float):
                    problem("bad time stamp", _show(r))
                    continue
                t = float(t)
            if not _EARLIEST_S <= t < _LATEST_S:  # also NaN and infinities
                problem("bad time stamp", _show(r))
                continue
            if ch == "level" and not a.info.level:
                problem("level of a machine", _show(r))
                continue
            if self._writer is None:
                self._start(t)
                epoch_s = self._epoch_s
            if gap_open:
                # still reporting while reconnecting: data the source had before the cut
                if self._gap[0] is None or t > self._gap[0]:
                    self._gap[0] = t
            elif first_t is None or t < first_t:
                first_t = t
            if latest is not None and t < latest - TIME_BACK_S:
                problem(TIME_BACK, f"{_show(r)} ({latest - t:,.0f} s before {_iso(latest)})")
            ts = t - epoch_s
            last = a.last_t.get(ch)
            late = last is not None and ts < last
            if late:
                problem("out of order", _show(r))
            else:
                a.last_t[ch] = ts
            if not record(a, r, ts, late):
                continue
            if lo is None:
                lo = hi = t
            elif t < lo:
                lo = t
            elif t > hi:
                hi = t
            if latest is None or t > latest:
                latest = t
        rep.duplicates += duplicates
        if fresh:  # forget the oldest keys beyond the window, a batch at a time
            order = self._seen_order
            order.extend(fresh)
            for _ in range(len(order) - self.dedup_window):
                seen.discard(order.popleft())
        if lo is not None:
            rep.first = lo if rep.first is None else min(rep.first, lo)
            rep.last = hi if rep.last is None else max(rep.last, hi)
        lost = self._ids.lost
        if lost or LOST in rep.problems:
            p = rep.problems.setdefault(LOST, Problem())
            if p.count != lost:
                p.count = lost
                p.examples = [describe_ranges(self._ids.ranges(6))]  # 5 and '…'
        if first_t is not None and self._gap_waits_end:
            start, reason = self._gap
            if start is not None:
                self._add_gap(start, max(start, first_t), reason)
                if self._gap_lossy:
                    self._loss.append((start, max(start, first_t)))
                    self._loss_top = max(self._loss_top, start)
            self._gap, self._gap_waits_end = None, False
        self._lossy_from = None
        return kept

    def _lost_spans(self, opened: list, rid: int) -> None:  # the holes MessageIds found
        for start, end in opened:
            if start is not None and end is not None:
                span = (min(start, end), max(start, end))
                self._loss.append(span)
                self._loss_top = max(self._loss_top, span[0])
                if len(self._holes_new) < LOSS_SPANS:
                    self._holes_new.append((*span, rid))
        opened.clear()

    def _across_loss(self, t0: float, t1: float) -> bool:
        """A span of lost data began in plant time ``[t0, t1)``."""
        lossy = self._lossy_from
        if lossy is not None and t0 <= lossy < t1:
            return True  # the usual case next: nothing lost since t0
        return self._loss_top >= t0 and any(t0 <= a < t1 for a, _ in self._loss)

    def take_holes(self) -> list[tuple[float, float, int]]:
        """Holes found since the last call: ``(start, end, id(the reading showing it))``."""
        with self._lock:
            out, self._holes_new = self._holes_new, []
        return out

    @property
    def holes(self) -> int:
        """Holes in the publishers' numbering so far (runs of messages that never came)."""
        with self._lock:  # the source's thread may add a publisher meanwhile
            return self._ids.holes

    def _number(self, r: Reading) -> float:
        """A quantity as recorded: a bad one is counted and kept (text as NaN)."""
        value = r.value
        if type(value) is float and 0.0 <= value < math.inf:  # noqa: E721 - usual case
            return value
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            x = math.nan
        else:
            try:
                x = float(value)
            except ValueError:
                x = math.nan
        if not (math.isfinite(x) and x >= 0):
            self._problem("bad value", _show(r))
        return x

    def _record(self, a: _Asset, r: Reading, ts: float, late: bool) -> bool:
        """Buffer the record(s) of one reading; False when nothing is stored."""
        ch, aid = r.channel, a.info.asset_id
        if ch == "state":
            raw = r.value.strip() if isinstance(r.value, str) else str(r.value)
            code = _STATE_CODES.get(raw.lower())
            label = None
            if code is None:
                self._problem("unknown state", _show(r))
                code = UNKNOWN
                label = _label(raw)
                if label not in self._raw_states:
                    if len(self._raw_states) >= MAX_RAW_STATES:
                        label = None
                    else:
                        self._raw_states.add(label)
            if not late:
                a.state = STATE_NAMES[code] if code >= 0 else "unknown"
            self._buffer(aid, "states", (ts, code, label))
        elif ch in ("parts", "scrap"):
            self._buffer(aid, "parts", (ts, self._number(r), int(ch == "parts")))
        elif ch == "count":
            x = self._number(r)
            if late or not (math.isfinite(x) and x >= 0):
                return False
            t0, a.base_t = a.base_t, ts + self._epoch_s
            if a.base is None or x == a.base:
                a.base = x
                return True
            if x < a.base:
                self._problem("counter reset", f"{_show(r)} (was {a.base:g})")
                a.base = x
                return True
            if self._across_loss(t0, a.base_t):
                self._problem(ACROSS_GAP, f"{_show(r)}: {x - a.base:g} parts since {a.base:g} "
                                          f"at {_iso(t0)}")
                self.rebased.add(id(r))
                a.base = x
                return True
            self._buffer(aid, "parts", (ts, x - a.base, 1))
            a.base = x
        elif ch == "power_kw":
            self._buffer(aid, "power", (ts, self._number(r)))
        else:  # level
            self._buffer(aid, "level", (ts, self._number(r)))
        return True

    def _buffer(self, asset_id: str, kind: str, row: tuple) -> None:
        self._buffers.setdefault((asset_id, kind), []).append(row)
        self._buffered += 1
        self.report.stored[kind] += 1
        self._unflushed = True

    def _run_writer(self) -> None:
        """The writer thread: appends buffered rows when there are ``max_buffered`` of them
        and flushes the file at least every ``flush_interval_s`` while records wait."""
        while True:
            with self._lock:
                while not self._closing and self.failure is None:
                    wait = self.flush_interval_s - (self._clock() - self._last_flush)
                    if self._buffered >= self.max_buffered or (self._unflushed and wait <= 0):
                        break
                    self._wake.wait(max(wait, 0.05) if self._unflushed else 0.5)
                if self._closing or self.failure is not None:
                    return
                due = self._unflushed and \
                    self._clock() - self._last_flush >= self.flush_interval_s
            self._write(flush=due)

    def _write(self, flush: bool) -> None:
        """Take the buffered rows (under the lock) and append them (outside it); with
        ``flush``, flush the file. A failure is kept for :meth:`tick` to raise."""
        with self._io:
            with self._lock:
                if self._writer is None or self.closed or self.failure is not None:
                    return
                buffers, self._buffers = self._buffers, {}
                gaps, self._gap_rows = self._gap_rows, []
                self._buffered = 0
                if flush:
                    self._unflushed = False
                    on_disk = sum(self.report.stored.values())
                self._wake.notify_all()  # room again for a source held back
            pace = self.pace()
            try:
                self._write_buffers(buffers, pace)
                for start, end, reason in gaps:
                    self._writer.append_gaps(start - self._epoch_s, end - self._epoch_s,
                                             [reason])
                if flush:  # a dataset at a time: no HDF5 call holds the GIL for long
                    self._writer.flush(each=True, between=pace)
            except Exception as exc:  # a disk error: the main thread raises it (tick)
                with self._lock:
                    self.failure = exc
                    self._wake.notify_all()
                return
            if flush:
                with self._lock:
                    self._last_flush = self._clock()
                    self.report.flushed = on_disk
                if self.on_flush is not None:
                    self.on_flush(on_disk)

    def _write_buffers(self, buffers: dict[tuple[str, str], list[tuple]],
                       pace: Callable[[], None] = lambda: None) -> None:
        w = self._writer
        for (aid, kind), rows in buffers.items():
            if not rows:
                continue
            pace()
            if kind == "states":
                rec = np.empty(len(rows), STATES_DTYPE)
                rec["time"] = [x[0] for x in rows]
                rec["state"] = [x[1] for x in rows]
                labels = [x[2] for x in rows]
                named = [i for i, x in enumerate(labels) if x is not None]
                raw = np.full(len(rows), -1, np.int32)
                if named:
                    raw[named] = w.label_codes("raw_state", [labels[i] for i in named])
                rec["raw_state"] = raw
            else:
                rec = np.array(rows, dtype=_DTYPES[kind])
            w.append_records(aid, kind, rec)

    def _add_gap(self, start: float, end: float, reason: str) -> None:
        self._gap_rows.append((start, end, reason))
        self.report.gaps += 1
        self._unflushed = True


def _show(r: Reading) -> str:
    """A reading as a problem's example, shortened."""
    return f"asset {r.asset!s:.60}, {r.channel!s:.20} = {r.value!s:.60} at {r.t!s:.30}"


def _label(raw: str) -> str:
    """A raw state as a label: at most :data:`LABEL_DTYPE`'s bytes of UTF-8, no NUL."""
    text = raw.replace("\x00", "")
    data = text.encode("utf-8")[:LABEL_DTYPE.itemsize]
    return data.decode("utf-8", errors="ignore")
