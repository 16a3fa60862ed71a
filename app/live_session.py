"""Live mode's moving parts, without Qt: a source on its own thread, the recorder, and a
compact live state that the workbench polls (issue 15 §4).

:func:`open_session` checks what the user gave (address, mapping, recording file) and makes
the source and the :class:`~twin.live.recorder.LiveRecorder` the way ``twinbench live`` does
(``app.cli.live``); :class:`LiveSession` runs the source on a thread of its own until
:meth:`LiveSession.request_stop`. The source hands its batches to a :class:`LiveState`, a
:class:`~twin.live.feed.Feed` that passes every batch on to the recorder and keeps what the
dashboard shows (last state per asset, parts and scrap so far, power now, the link) behind a
lock. The GUI thread reads it with :meth:`LiveState.snapshot` on a timer: it never waits on
the network, and no ``twin.model`` object is built on the source's thread.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from twin.live.feed import STATES, LiveError, Reading, check_address
from twin.live.report import NOTHING_HERE, TIME_BACK
from twin.live.sequence import LOST
from twin.live.shifts import LiveShifts
from twin.tasks import pause_collection, resume_collection

#: Source kinds of the Connect dialog: label -> kind of address (``twin.live.feed.ADDRESSES``).
KINDS = {"MQTT": "mqtt", "OPC UA": "opcua"}
#: Plant seconds of total power kept for the rolling chart.
POWER_SPAN_S = 3600.0
#: Shortest plant time between two points of the power chart, s.
POWER_STEP_S = 1.0
#: Readings taken in under the lock at a time (LiveState.readings).
LOCKED_SLICE = 200
#: The interpreter's switch interval while a session runs, s (Python's default: 0.005). The
#: GUI thread takes the interpreter lock anew for each Python call Qt makes (a slot, each
#: chart item's paint); while the source's thread runs Python, each take waits up to the
#: switch interval, so a repaint of ten items could hold the event loop 50 ms (issue 15).
LIVE_SWITCH_S = 0.001
_switch = {"sessions": 0, "before": 0.005}
_switch_lock = threading.Lock()
#: How much lower the source's process runs than the workbench (``os.nice``). On a busy
#: machine the GUI thread, and the software renderer's threads of a 3D render, then get a
#: core before the source's parsing (a flood waits in the broker meanwhile): with the same
#: priority, the first render of a flood took 50-120 ms instead of 30 (issue 15).
SOURCE_NICE = 5
#: A multi-server station ``st#k`` is drawn in the worst state of its servers: the first of
#: this order that any server is in (a station with one server down is shown down).
WORST_FIRST = ("down", "waiting_for_worker", "maintenance", "blocked", "starved", "setup",
               "warming_up", "idle", "standby", "busy", "switched_off", "off")


@dataclass
class Snapshot:
    """What the dashboard shows, copied under the state's lock."""

    link: str = "connecting"
    link_detail: str = ""
    link_since: float = 0.0          # wall clock (time.time) of the last link change
    last_gap_s: float | None = None  # wall seconds the last gap lasted
    messages: int = 0                # readings received
    plant_t: float | None = None     # latest plant time stamp, s since 1970 (UTC)
    states: dict[str, str] = field(default_factory=dict)
    good: dict[str, float] = field(default_factory=dict)
    scrap: dict[str, float] = field(default_factory=dict)
    busy_s: dict[str, float] = field(default_factory=dict)
    seen_s: dict[str, float] = field(default_factory=dict)
    state_s: dict[str, dict[str, float]] = field(default_factory=dict)  # per asset and state
    power: dict[str, float] = field(default_factory=dict)
    power_t: list[float] = field(default_factory=list)
    power_kw: list[float] = field(default_factory=list)
    # the current shift (twin.live.shifts: the project's calendar, or Replay's default
    # shifts): its label, its start and end (s since 1970) and, between them, each asset's
    # time per state and parts; where the shifts come from
    shift: str = ""
    shift_start: float | None = None
    shift_end: float | None = None
    shift_state_s: dict[str, dict[str, float]] = field(default_factory=dict)
    shift_good: dict[str, float] = field(default_factory=dict)
    shift_scrap: dict[str, float] = field(default_factory=dict)
    shifts_origin: str = ""
    # messages the publishers numbered that never arrived (twin.live.sequence): a broker
    # dropped them, or lost with the session when it restarted without persistence
    lost: int = 0
    lost_sessions: int = 0
    holes: int = 0  # runs of them (holes in the numbering), each no data in the recording
    # readings stamped far earlier than the latest (the recorder's TIME_BACK count)
    time_back: int = 0
    # where the messages go when none comes under the prefix (the MQTT source's probe)
    elsewhere: str = ""

    @property
    def shift_ended(self) -> bool:
        """The current shift is over (its figures no longer grow until the next begins)."""
        return self.shift_end is not None and self.plant_t is not None and \
            self.plant_t >= self.shift_end

    @property
    def total_good(self) -> float:
        return sum(self.good.values())

    @property
    def total_scrap(self) -> float:
        return sum(self.scrap.values())

    @property
    def power_now(self) -> float:
        return sum(self.power.values())

    def shift_oee(self, asset: str, ideal_cycle_s: float | None) -> float | None:
        """OEE of ``asset`` in the current shift so far, as Replay defines it
        (``twin.recording.kpi``): availability (busy / planned busy time: observed time
        without off and maintenance) x performance (ideal cycle time x parts made / busy
        time) x quality (good / made). None while a ratio is undefined."""
        st = self.shift_state_s.get(asset, {})
        # link gaps (no_data) and unknown states are not observed time, as in Replay
        observed = sum(v for k, v in st.items() if k not in ("unknown", "no_data"))
        planned = observed - st.get("off", 0.0) - st.get("maintenance", 0.0)
        busy = st.get("busy", 0.0)
        good = self.shift_good.get(asset, 0.0)
        made = good + self.shift_scrap.get(asset, 0.0)
        if planned <= 0 or busy <= 0 or made <= 0 or not ideal_cycle_s:
            return 0.0 if planned > 0 and made == 0 else None
        return (busy / planned) * min(ideal_cycle_s * made / busy, 1.0e9) * (good / made)

    def busy_share(self, asset: str | None = None) -> float | None:
        """Share of the observed time an asset (``None``: all) was busy, since connecting."""
        keys = [asset] if asset is not None else list(self.seen_s)
        seen = sum(self.seen_s.get(a, 0.0) for a in keys)
        return None if seen <= 0 else sum(self.busy_s.get(a, 0.0) for a in keys) / seen


class LiveState:
    """A :class:`~twin.live.feed.Feed`: every call goes on to ``recorder``; what the dashboard
    shows is kept on the side. ``assets``: the recording's :class:`AssetInfo` list (level
    assets keep no state). ``shifts``: where "this shift" begins and ends
    (:class:`~twin.live.shifts.LiveShifts`; Replay's default shifts in ``time_zone`` when
    ``None``)."""

    def __init__(self, recorder, assets, clock=time.time, time_zone: str = "UTC",
                 shifts: LiveShifts | None = None) -> None:
        self.recorder = recorder
        self.shifts = shifts or LiveShifts.default(time_zone)
        self._shift_until: float | None = None
        self._clock = clock
        self._lock = threading.Lock()
        self._servers = {a.asset_id for a in assets if not a.level}
        self._snap = Snapshot(link_since=clock(), shifts_origin=self.shifts.origin)
        self._state_t: dict[str, float] = {}  # plant time the asset's state began
        self._base: dict[str, float] = {}     # cumulative counters' last values
        self._gap_start: float | None = None
        # a link gap in plant time, as the recorder stores it (twin.live.recorder, "Gaps"):
        # it opens at the latest plant time seen when the link went down and closes at the
        # earliest time stamp of the first batch after it came back. Its time is unknown, in
        # no state: Replay leaves it out of the KPIs, and so does the shift's OEE here
        self._link_gap = False
        self._link_gap_waits_end = False
        self._rebased: set[int] = set()  # the recorder's LiveRecorder.rebased, this batch
        self._power_t: deque[float] = deque()
        self._power_kw: deque[float] = deque()

    # -- Feed (the source's thread) ----------------------------------------------------------
    def readings(self, batch: list[Reading]) -> None:
        # the recorder's de-duplication is the only one: what it hands back is what it did
        # not drop as a redelivery (twin.live.recorder), so a message is counted once here
        # as it is stored once there, without a second window of keys
        kept = self.recorder.readings(batch)
        # the recorder's verdicts on this batch, taken on this same thread: the holes in
        # the publishers' numbering it found, and the counters whose rise was no parts
        holes = {rid: (start, end) for start, end, rid in self.recorder.take_holes()}
        self._rebased = self.recorder.rebased
        with self._lock:
            self._snap.messages += len(batch)
            if self._link_gap_waits_end:
                self._end_link_gap(kept)
        # a slice at a time under the lock: the GUI thread's snapshot waits for one slice,
        # never for a whole batch of a flood (a thousand readings)
        for i in range(0, len(kept), LOCKED_SLICE):
            if i:  # the GUI thread redrawing: it has the interpreter lock to itself
                self.recorder.rest()
            with self._lock:
                self._take_all(kept[i:i + LOCKED_SLICE], holes)

    def _take_all(self, batch: list[Reading], holes: dict | None = None) -> None:
        """Take ``batch``; ``holes``: the readings (``id()``) that showed a hole in the
        numbering before them, and its span: no data from there, as a link gap."""
        s = self._snap
        servers, take = self._servers, self._take
        for r in batch:
            if holes and id(r) in holes:
                self._no_data(*holes[id(r)])
            if isinstance(r, Reading) and r.asset in servers:
                take(s, r)
        if s.plant_t is not None and (not self._power_t
                                      or s.plant_t >= self._power_t[-1] + POWER_STEP_S):
            self._power_t.append(s.plant_t)
            self._power_kw.append(sum(s.power.values()))
            while self._power_t and self._power_t[0] < s.plant_t - POWER_SPAN_S:
                self._power_t.popleft()
                self._power_kw.popleft()

    def bad(self, kind: str, example: str) -> None:
        self.recorder.bad(kind, example)

    def link(self, state: str, detail: str = "") -> None:
        self.recorder.link(state, detail)
        now = self._clock()
        with self._lock:
            s = self._snap
            if state == s.link:
                return
            if state == "reconnecting" and not self._link_gap:
                self._link_gap, self._link_gap_waits_end = True, False
            elif state == "connected" and self._link_gap:
                self._link_gap_waits_end = True
            if state == "reconnecting" and self._gap_start is None:
                self._gap_start = now
            elif state == "connected" and self._gap_start is not None:
                s.last_gap_s, self._gap_start = now - self._gap_start, None
            s.link, s.link_detail, s.link_since = state, str(detail), now

    # -- the GUI thread ----------------------------------------------------------------------
    @property
    def messages(self) -> int:
        """Readings received so far (read without the lock: a single int)."""
        return self._snap.messages

    def snapshot(self) -> Snapshot:
        """A copy of the live state; busy and observed times run up to the latest time."""
        with self._lock:
            s = self._snap
            out = Snapshot(s.link, s.link_detail, s.link_since, s.last_gap_s, s.messages,
                           s.plant_t, dict(s.states), dict(s.good), dict(s.scrap),
                           dict(s.busy_s), dict(s.seen_s),
                           {a: dict(d) for a, d in s.state_s.items()}, dict(s.power),
                           list(self._power_t), list(self._power_kw), s.shift,
                           s.shift_start, s.shift_end,
                           {a: dict(d) for a, d in s.shift_state_s.items()},
                           dict(s.shift_good), dict(s.shift_scrap), s.shifts_origin)
            if s.plant_t is not None:  # the states still open count up to now
                for a, t0 in self._state_t.items():
                    dt = max(0.0, s.plant_t - t0)
                    out.seen_s[a] = out.seen_s.get(a, 0.0) + dt
                    mix = out.state_s.setdefault(a, {})
                    mix[s.states[a]] = mix.get(s.states[a], 0.0) + dt
                    if s.states.get(a) == "busy":
                        out.busy_s[a] = out.busy_s.get(a, 0.0) + dt
                    _add_shift_time(out, a, s.states[a], t0, s.plant_t)
        lost = self.recorder.report.problems.get(LOST)  # the recorder counts them
        out.lost = lost.count if lost is not None else 0
        out.lost_sessions = self.recorder.report.sessions_lost
        out.holes = self.recorder.holes
        back = self.recorder.report.problems.get(TIME_BACK)
        out.time_back = back.count if back is not None else 0
        where = self.recorder.report.problems.get(NOTHING_HERE)
        out.elsewhere = where.examples[0] if where is not None and where.examples else ""
        return out

    # -- inside ------------------------------------------------------------------------------
    def _end_link_gap(self, kept: list[Reading]) -> None:
        """Close the link gap at the earliest time stamp of ``kept`` (the first batch after
        the link came back): each asset's state counts up to the gap's start and resumes
        at its end, as Replay cuts a state interval over a gap (``twin.recording.replay``);
        the time between is ``no_data``. A batch without a time stamp leaves it open."""
        s = self._snap
        ts = [r.t for r in kept if isinstance(r, Reading) and _number(r.t) is not None]
        if not ts:
            return
        self._link_gap = self._link_gap_waits_end = False
        start, end = s.plant_t, min(ts)
        if start is None or end <= start:  # redelivered or back-filled data covers it
            return
        self._no_data(start, end)

    def _no_data(self, start: float, end: float) -> None:
        """``[start, end)`` is no data: each asset's state counts up to ``start`` and resumes
        at ``end``; the time between is ``no_data`` in the shift's figures."""
        s = self._snap
        for a, t0 in self._state_t.items():
            if t0 < start:
                self._count_state(s, a, t0, start)
            _add_shift_time(s, a, "no_data", max(t0, start), end)
            self._state_t[a] = max(t0, end)

    def _count_state(self, s: Snapshot, a: str, t0: float, t: float) -> None:
        """``a``'s current state held from ``t0`` to ``t``."""
        s.seen_s[a] = s.seen_s.get(a, 0.0) + (t - t0)
        mix = s.state_s.setdefault(a, {})
        mix[s.states[a]] = mix.get(s.states[a], 0.0) + (t - t0)
        if s.states.get(a) == "busy":
            s.busy_s[a] = s.busy_s.get(a, 0.0) + (t - t0)
        _add_shift_time(s, a, s.states[a], t0, t)

    def _take(self, s: Snapshot, r: Reading) -> None:
        t = r.t
        if type(t) is not float and (isinstance(t, bool) or not isinstance(t, int | float)) \
                or not math.isfinite(t):  # a float, the usual case, checked first
            return
        if s.plant_t is None or t > s.plant_t:
            s.plant_t = float(t)
            if self._shift_until is None or t >= self._shift_until:  # a new shift begins
                w = self.shifts.at(t)
                s.shift, s.shift_start, s.shift_end, self._shift_until = \
                    w.label, w.start, w.end, w.until
                s.shift_state_s, s.shift_good, s.shift_scrap = {}, {}, {}
        ch, a = r.channel, r.asset
        if ch == "state":
            name = str(r.value).strip().lower()
            if name not in STATES:
                name = "unknown"
            t0 = self._state_t.get(a)
            if t0 is not None and t > t0:  # a late state does not turn the clock back
                self._count_state(s, a, t0, t)
            if t0 is None or t >= t0:
                self._state_t[a] = float(t)
                s.states[a] = name
            return
        x = _number(r.value)
        if x is None:
            return
        in_shift = s.shift_start is not None and s.shift_start <= t < s.shift_end
        if ch == "parts":
            s.good[a] = s.good.get(a, 0.0) + x
            if in_shift:
                s.shift_good[a] = s.shift_good.get(a, 0.0) + x
        elif ch == "scrap":
            s.scrap[a] = s.scrap.get(a, 0.0) + x
            if in_shift:
                s.shift_scrap[a] = s.shift_scrap.get(a, 0.0) + x
        elif ch == "count":
            base = self._base.get(a)
            if base is not None and x > base and id(r) not in self._rebased:
                s.good[a] = s.good.get(a, 0.0) + (x - base)
                if in_shift:
                    s.shift_good[a] = s.shift_good.get(a, 0.0) + (x - base)
            self._base[a] = x
        elif ch == "power_kw":
            s.power[a] = x


def _add_shift_time(s: Snapshot, asset: str, state: str, t0: float, t1: float) -> None:
    """The part of ``[t0, t1)`` in the current shift, to ``asset``'s time in ``state``."""
    if s.shift_start is None:
        return
    dt = min(t1, s.shift_end) - max(t0, s.shift_start)
    if dt > 0:
        mix = s.shift_state_s.setdefault(asset, {})
        mix[state] = mix.get(state, 0.0) + dt


def _number(value) -> float | None:
    if type(value) is float and 0.0 <= value < math.inf:  # noqa: E721 - the usual case
        return value
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        x = float(value)
    except ValueError:
        return None
    return x if math.isfinite(x) and x >= 0 else None


def element_states(states: dict[str, str], elements: dict[str, str]) -> dict[str, str]:
    """Each element's state from its assets' (``elements``: asset -> element id): a
    multi-server station takes the worst of its servers' (:data:`WORST_FIRST`)."""
    rank = {name: i for i, name in enumerate(WORST_FIRST)}
    out: dict[str, str] = {}
    for asset, state in states.items():
        eid = elements.get(asset)
        if not eid or state not in rank:
            continue
        if eid not in out or rank[state] < rank[out[eid]]:
            out[eid] = state
    return out


#: The folder, inside the project's, that live recordings go to by default.
RECORDINGS = "recordings"


def recordings_folder(project_path: Path | None, elsewhere: Path | None = None) -> Path:
    """Where a live recording goes by default: ``recordings/`` in the project's folder (a
    project file's folder); for a project never saved, ``elsewhere`` (the user's documents
    folder) or the working folder. It may not exist yet (:func:`default_recording`'s caller
    makes it when connecting)."""
    if project_path:
        folder = Path(project_path)
        if folder.suffix.lower() == ".json" or folder.is_file():
            folder = folder.parent
        return folder / RECORDINGS
    return Path(elsewhere) if elsewhere else Path.cwd()


def default_recording(project_path: Path | None, now: float | None = None,
                      elsewhere: Path | None = None) -> Path:
    """``live-YYYYmmdd-HHMMSS.h5`` in :func:`recordings_folder`: each connection a new file,
    kept apart from the project's own files (and from other projects beside it)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    return recordings_folder(project_path, elsewhere) / f"live-{stamp}.h5"


class LiveSession:
    """A source following the plant on a thread of its own into ``state`` (and its recorder).

    ``failure`` holds what the source raised (a :class:`LiveError` it cannot mend by
    retrying); :attr:`ended` says the thread has returned.
    """

    def __init__(self, source, recorder, state: LiveState, url: str, assets) -> None:
        self.source, self.recorder, self.state, self.url = source, recorder, state, url
        self.assets = list(assets)
        self.stop_event = threading.Event()
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._follow, name="live-source", daemon=True)
        self._collecting_paused = False
        self.report = None

    def start(self) -> None:
        # a thread running Python: automatic collection waits until it has ended (twin.tasks)
        pause_collection()
        self._collecting_paused = True
        _shorter_switch(True)
        self.thread.start()

    def _follow(self) -> None:
        try:
            # the file is made before the source connects, not at the first reading of what
            # may be a flood, while the GUI thread draws it (twin.live.recorder)
            self.recorder.prepare()
            self.source.run(self.state, self.stop_event)
        except BaseException as exc:  # shown by the panel, on the GUI thread
            self.failure = exc

    @property
    def ended(self) -> bool:
        return not self.thread.is_alive()

    def request_stop(self) -> None:
        """Ask the source to stop (it acknowledges what it handed over and disconnects)."""
        self.stop_event.set()

    def finish(self, timeout: float = 30.0):
        """Stop, wait for the thread (at most ``timeout`` s), close the recorder (its final
        flush) and return its report; ``None`` when the thread did not end in time."""
        self.request_stop()
        self.thread.join(timeout)
        if self.thread.is_alive():
            return None
        if self._collecting_paused:
            self._collecting_paused = False
            resume_collection()
            _shorter_switch(False)
        if self.report is None:
            self.report = self.recorder.close()
        return self.report


def _shorter_switch(on: bool) -> None:
    """Hand the interpreter lock over every :data:`LIVE_SWITCH_S` while any session runs
    (``on``: one more session; else one fewer, the last one restoring the interval)."""
    with _switch_lock:
        if on:
            if _switch["sessions"] == 0:
                _switch["before"] = sys.getswitchinterval()
                sys.setswitchinterval(min(LIVE_SWITCH_S, _switch["before"]))
            _switch["sessions"] += 1
        elif _switch["sessions"] > 0:
            _switch["sessions"] -= 1
            if _switch["sessions"] == 0:
                sys.setswitchinterval(_switch["before"])


def open_session(project, project_path: Path | None, kind: str, address: str,
                 mapping_path: str = "", security: str = "none",
                 record: str | Path = "", certificate: str = "", private_key: str = "",
                 trust_dir: str = "", protocol: str | None = None) -> LiveSession:
    """Check the dialog's values and make the source and the recorder (not started).
    ``security``, ``certificate``, ``private_key`` and ``trust_dir`` are OPC UA's (blank:
    twinbench's own certificate and trust store, ``twin.live.options.check_security``).
    ``protocol``: MQTT's version (``"5"``, ``"3.1.1"``; ``None``: 5).

    Raises
    ------
    InputError
        ``LiveError`` for a bad address or mapping, ``RecordingError`` for a bad recording
        file, ``ProjectError`` for a project that cannot be lowered; each names the fix.
    """
    from twin import jsonfile
    from twin.live.feed import open_source
    from twin.live.options import check_security, source_options
    from twin.live.process import ProcessSource
    from twin.live.recorder import LiveRecorder, mapping_assets, project_assets
    from twin.recording import RecordingError

    address = check_address(address, KINDS[kind], "address").url
    if KINDS[kind] == "opcua":
        security_files = check_security(security, certificate, private_key, trust_dir)
    else:
        security_files = {}
    mapping_path = mapping_path.strip()
    mapping = None
    if mapping_path:
        mapping = jsonfile.read(mapping_path)
        if not isinstance(mapping, dict):
            raise LiveError(f"mapping {mapping_path}: a mapping file is a JSON object, not "
                            f"{type(mapping).__name__}")
    record = Path(str(record).strip()) if str(record).strip() else default_recording(
        project_path)
    if record.parent == recordings_folder(project_path) and record.parent.parent.is_dir():
        # the default folder is made on demand; any other folder must exist (a typo in it
        # would otherwise leave a recording somewhere unexpected)
        try:
            record.parent.mkdir(exist_ok=True)
        except OSError as e:
            raise RecordingError(f"recording {record}: cannot make its folder ({e}); choose "
                                 "another place to record to") from None
    if record.suffix.lower() not in (".h5", ".hdf5"):
        raise RecordingError(f"recording {record}: name it .h5 (an HDF5 recording)")
    assets = project_assets(project)
    assets += mapping_assets(mapping, assets)
    options = source_options(KINDS[kind], mapping_path or None, mapping, project.name, security,
                             **security_files,
                             protocol=protocol if KINDS[kind] == "mqtt" else None,
                             program="gui")
    try:
        # in a process of its own: parsing 20,000 messages/s would hold the GUI thread up
        source = ProcessSource(open_source(address, **options), nice=SOURCE_NICE)
    except OSError as e:  # a mapping or certificate file that cannot be read
        raise LiveError(f"{address}: {e}") from None
    recorder = LiveRecorder(record, assets, source=address, mapping=mapping)
    state = LiveState(recorder, assets, shifts=LiveShifts.of_project(project))
    return LiveSession(source, recorder, state, address, assets)
