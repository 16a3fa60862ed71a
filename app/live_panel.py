"""The live dashboard dock and live mode's place in the window (issue 15 §4).

:func:`install_live` adds the *Plant* menu (*Connect to plant…*, *Disconnect*) and the *Live*
dock to a ``MainWindow``. While connected, a timer (every :data:`POLL_MS`) reads the session's
:class:`~app.live_session.LiveState`: the connection indicator, messages per second, plant
time, parts and scrap per station and in total, the busy share since connecting, power now
and the total power over the last hour, the recording's path and size; and it colours the 3D
view by each station's live state (``app.live_session.element_states``); each read refreshes
one of the heavier parts (:data:`PARTS`) in turn, so a read's work is bounded. The GUI thread
never waits on the network: *Disconnect* asks the source to stop and the timer finishes the
session (final flush of the recording) once its thread has ended.
"""

from __future__ import annotations

import math
import os
import time
from collections import deque
from datetime import UTC, datetime

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.live_session import POWER_STEP_S, LiveSession, Snapshot, element_states
from app.menus import list_in_panels
from app.theme import STATE_COLORS, chart
from twin.errors import printable
from twin.live.report import TIME_BACK, TIME_BACK_S
from twin.live.sequence import LOST
from twin.oee import FIGURE_HELP

#: Milliseconds between two reads of the live state (charts redraw at most this often).
POLL_MS = 150
#: Seconds the recorder's writer and the source's thread are held back at each read (the
#: redraw and its repaint: a few ms of CPU, 30-50 ms of wall time beside them; issue 15).
REDRAW_HOLD_S = 0.04
LINK_COLORS = {"connected": "#2a9d3a", "connecting": "#888888", "reconnecting": "#d08a00",
               "closed": "#c0392b"}
#: The dock's heavier parts: each poll refreshes one of them, in turn (each about every
#: 0.6 s), and only while the dock is seen. A poll that refreshed all of them, after which Qt
#: repainted all, held the event loop up for 50-90 ms in a 20,000 msg/s flood (issue 15).
PARTS = ("table", "power", "throughput", "state bars")
#: Table rows refreshed per turn beyond those in view (which are refreshed every turn).
ROWS_PER_TURN = 20
COLUMNS = ("asset", "state", "good", "scrap", "busy", "OEE (shift)", "kW")
#: The rolling throughput: good parts out per hour over this much plant time before each point.
THROUGHPUT_WINDOW_S = 600.0


def steady_top(top: float | None, high: float) -> float:
    """The top of a chart's y range (from 0) for data up to ``high``: kept while the data
    fills 35-100 % of it, else a round number above ``high`` (1, 2 or 5 x 10^k). A range that
    followed every new point made pyqtgraph lay its axes and grid out anew at each redraw."""
    if not math.isfinite(high) or high <= 0:
        high = 1.0
    if top is not None and 0.35 * top <= high <= top:
        return top
    step = 10.0 ** math.floor(math.log10(high * 1.15))
    return next(m * step for m in (1, 2, 5, 10) if m * step >= high * 1.15)


def _hms(wall: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(wall))


def _size(path) -> str:
    try:
        n = os.path.getsize(path)
    except OSError:
        return "not created yet (it is created with the first reading)"
    return f"{n / 1e6:.2f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def link_text(s: Snapshot) -> str:
    """The connection indicator's words."""
    if s.link == "reconnecting":
        text = f"reconnecting since {_hms(s.link_since)}"
    elif s.link == "connected":
        text = "connected" + (f" (last gap {s.last_gap_s:.0f} s)" if s.last_gap_s is not None
                              else "")
        if not s.messages:
            # the most common surprise: a plant off shift sends nothing, and a wrong topic
            # prefix receives nothing (docs/live.md, "In the workbench")
            text += ", nothing received yet"
            if s.elsewhere:  # a wrong prefix: the source found where the messages go
                text += f" - {s.elsewhere}"
    else:
        text = s.link
    if s.link_detail and s.link != "connected":
        text += f": {s.link_detail}"
    return text


class StateBars(pg.BarGraphItem):
    """Bars without an outline, so with nothing to pad their bounds by.

    pyqtgraph pads a bar set's bounds by half a pen width even without a pen, and measures
    a pixel for it (``pixelVectors``) in every ``boundingRect``, which Qt asks for several
    times a repaint: 17 ms of the GUI thread's CPU and 1,344 Python calls for a repaint of
    the state chart of 100 stations, each call a wait for the interpreter lock while the
    source's thread runs (the chart's repaints were inside 50-170 ms gaps, issue 15).
    """

    def pixelPadding(self):  # noqa: N802 - pyqtgraph's name
        return 0.0


class LivePanel(QWidget):
    """The *Live* dock: shows a :class:`LiveSession` until it ends."""

    #: element id -> RGB of its live state
    states_changed = Signal(dict)
    #: the session ended: the recording's path ("" when nothing was recorded)
    ended = Signal(str)
    #: a line for the log pane
    message = Signal(str)
    #: a session is about to start its source (the Alerts dock hooks its rules in)
    started = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.session: LiveSession | None = None
        self.recording: str = ""
        self.elements: dict[str, str] = {}
        self._last: tuple[float, int] | None = None  # (wall, messages) of the last poll
        self._rate = 0.0
        self._tints: dict | None = None
        self._stopping = False
        self.ends: set[str] | None = None
        self.ideal: dict[str, float] = {}  # element id -> ideal cycle time (s), for OEE
        self._out: deque[tuple[float, float]] = deque()  # (plant time, good parts out)
        self.closing = False  # the window closes: no questions
        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        self.indicator = "not connected"  # the connection indicator's words
        self.link_label = QLabel(self.indicator)
        self.rate_label = QLabel("")
        self.plant_label = QLabel("")
        for w in (self.link_label, self.rate_label, self.plant_label):
            top.addWidget(w)
        top.addStretch(1)
        self.disconnect_button = QPushButton("Disconnect")
        self.disconnect_button.setEnabled(False)
        self.disconnect_button.clicked.connect(self.disconnect)
        self.replay_button = QPushButton("Open in Replay")
        self.replay_button.setEnabled(False)
        top.addWidget(self.disconnect_button)
        top.addWidget(self.replay_button)
        lay.addLayout(top)
        self.totals_label = QLabel("")
        # which shifts "this shift" is cut by: the project's calendar or the defaults
        self.shifts_label = QLabel("")
        self.shifts_label.setStyleSheet("color: palette(mid)")
        self.record_label = QLabel("")
        self.record_label.setWordWrap(True)
        lay.addWidget(self.totals_label)
        lay.addWidget(self.shifts_label)
        lay.addWidget(self.record_label)
        # messages a broker dropped (holes in the publishers' numbering, twin.live.sequence)
        self.lost_label = QLabel("")
        self.lost_label.setWordWrap(True)
        self.lost_label.setStyleSheet("color: #c0392b")
        self.lost_label.hide()
        lay.addWidget(self.lost_label)
        # the recorder's other problem count a follower must hear of while it goes on: a
        # second stream blended into this one (newfix4 §6)
        self.time_back_label = QLabel("")
        self.time_back_label.setWordWrap(True)
        self.time_back_label.setStyleSheet("color: #c0392b")
        self.time_back_label.setToolTip(
            f"Readings stamped more than {TIME_BACK_S:g} s before the latest time stamp the "
            "plant sent. They are stored in arrival order (replay sorts them) and the plant "
            "clock stays at the latest. Check the publisher's clock (one set back, or two "
            "publishers with different clocks on the same prefix) and whether a backlog is "
            "being replayed into the live feed (another follower's queued messages handed "
            "over under a shared client id, or an old recording published again)")
        self.time_back_label.hide()
        lay.addWidget(self.time_back_label)
        row = QHBoxLayout()
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeaderItem(COLUMNS.index("OEE (shift)")).setToolTip(
            "in the current shift so far. " + "; ".join(FIGURE_HELP.values()))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        row.addWidget(self.table, 1)
        self.power_chart = chart("total power, last hour", "kW", "plant time (min, 0 = now)",
                                 legend=False)
        self.power_chart.setDownsampling(mode="peak")
        self.power_chart.setClipToView(True)
        self.power_chart.setXRange(-60, 0, padding=0)
        self.power_chart.enableAutoRange(y=False)  # steady_top
        self.power_curve = self.power_chart.plot([], [], pen="#e07b00")
        row.addWidget(self.power_chart, 1)
        self.rate_chart = chart(f"throughput, last hour ({THROUGHPUT_WINDOW_S / 60:.0f}-min "
                                "rolling)", "good parts out / h",
                                "plant time (min, 0 = now)", legend=False)
        self.rate_chart.setXRange(-60, 0, padding=0)
        self.rate_chart.enableAutoRange(y=False)
        self.rate_curve = self.rate_chart.plot([], [], pen="#2a6fdb")
        row.addWidget(self.rate_chart, 1)
        # per station server: the share of the time seen in each state, one stacked bar
        self.state_chart = chart("states since connecting", "", "share of the time",
                                 legend=False)
        self.state_chart.setXRange(0, 1, padding=0)
        self.state_chart.setMouseEnabled(x=False, y=False)
        self.state_chart.invertY(True)  # first row on top, as in the table
        self.state_bars = {}
        for name, rgb in STATE_COLORS.items():
            bar = StateBars(x0=[], y=[], width=[], height=0.8,
                            brush=pg.mkBrush(*(int(255 * v) for v in rgb)), pen=pg.mkPen(None))
            self.state_chart.addItem(bar)
            self.state_bars[name] = bar
        self._bar_rows: list[str] = []  # the state bars' rows, as the axis names them
        self._turn = 0  # the next of PARTS to refresh
        self._next_row = 0  # the first row out of view to refresh next
        row.addWidget(self.state_chart, 1)
        lay.addLayout(row, 1)
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)

    # --- session ------------------------------------------------------------------------------
    def start(self, session: LiveSession, ends: set[str] | None = None,
              ideal: dict[str, float] | None = None) -> None:
        """Show ``session`` and start its source. ``ends``: the element ids whose good parts
        leave the plant (:func:`line_ends`); the total counts theirs (all when ``None``)."""
        self.session = session
        self.recording = str(session.recorder.path)
        self.follow(session.assets, ends, ideal)
        self._last, self._rate, self._tints, self._stopping = None, 0.0, None, False
        self.table.setRowCount(0)
        self._turn = self._next_row = 0
        self.shifts_label.setText(f"shifts: {session.state.shifts.origin}")
        self.replay_button.setEnabled(False)
        self.disconnect_button.setEnabled(True)
        self.started.emit(session)
        session.start()
        self.timer.start()
        self.message.emit(f"live: following {printable(session.url)} into "
                          f"{printable(self.recording)}")
        self.poll()

    def follow(self, assets, ends: set[str] | None = None,
               ideal: dict[str, float] | None = None) -> None:
        """Show the station servers among ``assets`` (``AssetInfo``), counting the good parts
        of those of ``ends`` (element ids) as the line's output."""
        # project order (the recording's), not sorted: s2 comes before s10
        self.elements = {a.asset_id: a.element or a.asset_id.split("#")[0]
                         for a in assets if not a.level}
        # line ends that no asset reports cannot give the output: all stations are summed
        self.ends = (set(ends) & set(self.elements.values()) or None) if ends else None
        self.ideal = dict(ideal or {})
        self._out.clear()
        self._show_lost(0)
        self._show_time_back(0)
        # the rows' names laid out now, at connect time, not in the feed's first second
        self._set_bar_rows(list(self.elements))

    @property
    def connected(self) -> bool:
        return self.session is not None

    def disconnect(self) -> None:
        """Ask the source to stop; the timer finishes the session once its thread ended."""
        if self.session is None or self._stopping:
            return
        self._stopping = True
        self.disconnect_button.setEnabled(False)
        self.link_label.setText("disconnecting…")
        self.session.request_stop()

    def shutdown(self, timeout: float = 15.0) -> None:
        """Disconnect now and wait (closing the window): the recording is flushed."""
        self.closing = True
        if self.session is not None:
            self.session.request_stop()
            self._finish(timeout)

    def poll(self) -> None:
        """Read the live state and show it (the timer's slot, on the GUI thread)."""
        session = self.session
        if session is None:
            return
        # a failure to write (what recorder.tick raises), read without the recorder's lock:
        # the source's thread holds it while it creates the file, and the GUI never waits
        exc = session.recorder.failure
        if exc is not None and not session.stop_event.is_set():
            self.message.emit(f"live: writing {self.recording} failed: {exc}")
            session.failure = session.failure or exc
            session.request_stop()
        if session.ended:
            self._finish(30.0)
            return
        # the recorder's writer and the source's thread rest while this redraw and Qt's
        # repaint after it run: each Python call of a redraw needs the interpreter lock
        session.recorder.hold(REDRAW_HOLD_S)
        self.show_snapshot(session.state.snapshot())

    def show_snapshot(self, s: Snapshot, everything: bool = False) -> None:
        """Show ``s``: the indicator, the totals and the 3D view's colours at once, and one of
        :data:`PARTS` (all of them with ``everything``)."""
        now = time.monotonic()
        if self._last is not None and now > self._last[0]:
            rate = (s.messages - self._last[1]) / (now - self._last[0])
            self._rate = 0.7 * self._rate + 0.3 * rate  # smoothed: polls are short
        self._last = (now, s.messages)
        color = LINK_COLORS.get(s.link, "#888888")
        self.indicator = link_text(s)
        self.link_label.setText(f'<span style="color:{color}">●</span> {self.indicator}')
        self.rate_label.setText(f"{self._rate:,.0f} msg/s")
        self.plant_label.setText("plant time -" if s.plant_t is None else "plant time " +
                                 datetime.fromtimestamp(s.plant_t, UTC).strftime(
                                     "%Y-%m-%d %H:%M:%S UTC"))
        share = s.busy_share()
        ends = [a for a in self.elements if not self.ends or self.elements[a] in self.ends]
        good = sum(s.good.get(a, 0.0) for a in ends)
        what = "good parts out" if self.ends else "good parts (all stations)"
        shift_good = sum(s.shift_good.get(a, 0.0) for a in ends)
        oees = [o for o in (self.oee(s, a) for a in ends) if o is not None]
        oee = f"{sum(oees) / len(oees):.1%}" if oees else "-"
        ended = " (ended)" if s.shift_ended else ""
        self.totals_label.setText(
            f"shift {s.shift or '-'}{ended}: {shift_good:,.0f} "
            f"{'good parts out' if self.ends else 'good parts (all stations)'}, OEE {oee} "
            "(line end) · "
            f"since connecting: {what} {good:,.0f}, scrap {s.total_scrap:,.0f}, busy share "
            f"{'-' if share is None else f'{share:.1%}'} · power now {s.power_now:,.1f} kW")
        # a point a plant second at most (LiveState's power series is as fine): an hour of
        # points stays a few thousand, however often the dock polls
        if s.plant_t is not None and (not self._out or
                                      s.plant_t >= self._out[-1][0] + POWER_STEP_S):
            self._out.append((s.plant_t, good))
            while self._out and self._out[0][0] < s.plant_t - 3600.0 - THROUGHPUT_WINDOW_S:
                self._out.popleft()
        self.record_label.setText(f"recording {self.recording} ({_size(self.recording)})")
        self._show_lost(s.lost, s.lost_sessions, s.holes)
        self._show_time_back(s.time_back)
        if everything:
            parts = PARTS
        elif self.isVisible():  # a dock tabbed away is not drawn for
            parts = (PARTS[self._turn % len(PARTS)],)
            self._turn += 1
        else:
            parts = ()
        if "table" in parts:
            self._fill_table(s, everything)
        if "power" in parts and s.power_t and s.plant_t is not None:
            kw = np.asarray(s.power_kw)
            self.power_curve.setData((np.asarray(s.power_t) - s.plant_t) / 60.0, kw)
            self._steady_y(self.power_chart, float(kw.max()))
        if "throughput" in parts and self._out and s.plant_t is not None:
            self._draw_throughput(s.plant_t)
        if "state bars" in parts:
            self._draw_state_bars(s)
        tints = {eid: STATE_COLORS[st] for eid, st in
                 element_states(s.states, self.elements).items()}
        if tints != self._tints:
            self._tints = tints
            self.states_changed.emit(tints)

    def _draw_throughput(self, now: float) -> None:
        """Good parts out per hour, rolling over :data:`THROUGHPUT_WINDOW_S` (plant time)."""
        t, n = np.array(self._out).T
        back = np.searchsorted(t, t - THROUGHPUT_WINDOW_S)  # first point in the window
        span = t - t[back]
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(span > 0, (n - n[back]) / span * 3600.0, np.nan)
        keep = t >= t[0] + THROUGHPUT_WINDOW_S / 2  # too little history before that
        self.rate_curve.setData((t[keep] - now) / 60.0, rate[keep])
        if keep.any():
            self._steady_y(self.rate_chart, float(np.nanmax(rate[keep], initial=0.0)))

    @staticmethod
    def _steady_y(plot, high: float) -> None:
        """Set ``plot``'s y range to :func:`steady_top` of ``high``, when that changes it."""
        top = plot.getViewBox().viewRange()[1][1]
        new = steady_top(top if top > 0 else None, high)
        if new != top:
            plot.setYRange(0.0, new, padding=0)

    def _show_lost(self, lost: int, sessions_lost: int = 0, holes: int = 0) -> None:
        # how many holes says whether it was one outage or a queue that leaks all along
        marked = (f"{holes:,} hole{'s' if holes != 1 else ''} in the numbering, each no data "
                  "in the recording and the shift's figures" if holes else
                  "the recording marks them as gaps")
        if lost and sessions_lost:  # a queue limit is not the cause then
            self.lost_label.setText(
                f"{lost:,} messages never arrived: the broker restarted without keeping "
                "twinbench's session (it reconnected to a new one), and what it had queued "
                "went with it. Set persistence true in the broker's configuration "
                f"(docs/live.md, \"For broker admins\"); {marked}")
        elif lost:
            self.lost_label.setText(
                f"{lost:,} messages never arrived: the broker dropped them (the publisher's "
                "message ids have holes). Raise the broker's max_queued_messages (0: no "
                f"limit; docs/live.md, \"For broker admins\"); {marked}")
        self.lost_label.setVisible(bool(lost))

    def _show_time_back(self, count: int) -> None:
        if count:
            self.time_back_label.setText(f"{count:,} readings: {TIME_BACK} (more than "
                                         f"{TIME_BACK_S:g} s; hover for what to check)")
        self.time_back_label.setVisible(bool(count))

    def _draw_state_bars(self, s: Snapshot) -> None:
        assets = list(self.elements)
        y = np.arange(len(assets), dtype=float)
        seen = np.array([s.seen_s.get(a, 0.0) for a in assets])
        left = np.zeros(len(assets))
        with np.errstate(invalid="ignore", divide="ignore"):
            for name, bar in self.state_bars.items():
                width = np.array([s.state_s.get(a, {}).get(name, 0.0) for a in assets])
                width = np.where(seen > 0, width / np.where(seen > 0, seen, 1.0), 0.0)
                bar.setOpts(x0=left.copy(), y=y, width=width, height=0.8)
                left += width
        self._set_bar_rows(assets)

    def _set_bar_rows(self, assets: list[str]) -> None:
        """Name the state bars' rows on the axis (laid out anew only when they change)."""
        if assets != self._bar_rows:
            self._bar_rows = assets
            axis = self.state_chart.getAxis("left")
            step = max(1, len(assets) // 25)  # at most about 25 names on the axis
            axis.setTicks([[(i, a) for i, a in enumerate(assets) if i % step == 0]])
            self.state_chart.setYRange(-0.6, max(len(assets), 1) - 0.4, padding=0)

    def _fill_table(self, s: Snapshot, every_row: bool = False) -> None:
        """The rows in view and the next :data:`ROWS_PER_TURN` of the others (all of them
        with ``every_row``): a dock showing ten rows of a thousand assets refreshes ten."""
        assets = list(self.elements)
        if self.table.rowCount() != len(assets):
            self.table.setRowCount(len(assets))
        n = len(assets)
        if every_row or n <= ROWS_PER_TURN:
            rows = range(n)
        else:
            first = max(self.table.rowAt(0), 0)
            last = self.table.rowAt(self.table.viewport().height() - 1)
            last = n - 1 if last < 0 else last
            rest = [(self._next_row + k) % n for k in range(ROWS_PER_TURN)]
            self._next_row = (self._next_row + ROWS_PER_TURN) % n
            rows = sorted(set(range(first, last + 1)).union(rest))
        for i in rows:
            a = assets[i]
            share = s.busy_share(a) if a in s.seen_s else None
            oee = self.oee(s, a)
            values = (a, s.states.get(a, "-") or "-", f"{s.good.get(a, 0):,.0f}",
                      f"{s.scrap.get(a, 0):,.0f}", "-" if share is None else f"{share:.0%}",
                      "-" if oee is None else f"{oee:.0%}",
                      "-" if a not in s.power else f"{s.power[a]:,.1f}")
            for j, v in enumerate(values):
                item = self.table.item(i, j)
                if item is None:
                    self.table.setItem(i, j, QTableWidgetItem(v))
                elif item.text() != v:
                    item.setText(v)

    def oee(self, s: Snapshot, asset: str) -> float | None:
        """``asset``'s OEE in the current shift so far, its ideal cycle time the mean process
        time of its station (per server)."""
        return s.shift_oee(asset, self.ideal.get(self.elements.get(asset, asset)))

    def _finish(self, timeout: float) -> None:
        session = self.session
        last = session.state.snapshot()
        report = session.finish(timeout)
        if report is None:
            self.message.emit("live: the source did not stop in time; the recording stays "
                              "open until it does")
            return
        self.timer.stop()
        self.session = None
        self._stopping = False
        self.show_snapshot(last, everything=True)
        lost = report.problems.get(LOST)  # the final count, after the last batches
        self._show_lost(lost.count if lost is not None else 0, report.sessions_lost,
                        last.holes)
        back = report.problems.get(TIME_BACK)
        self._show_time_back(back.count if back is not None else 0)
        self.disconnect_button.setEnabled(False)
        if session.failure is not None:
            self.message.emit(f"live: the source stopped: {session.failure}")
            self.link_label.setText(f"stopped: {session.failure}")
        else:
            self.indicator = "disconnected"
            self.link_label.setText(self.indicator)
        self.message.emit(report.format())
        recorded = os.path.exists(self.recording)
        self.record_label.setText(f"recording {self.recording} ({_size(self.recording)})"
                                  if recorded else "no reading was stored: no recording made")
        self.replay_button.setEnabled(recorded)
        self.ended.emit(self.recording if recorded else "")


def install_live(win) -> LivePanel:
    """Add the *Live* dock and the *Plant* menu to the ``MainWindow`` ``win``."""
    from PySide6.QtCore import Qt

    panel = LivePanel()
    win.live = panel
    dock = win.docks["live"] = win._dock("Live", panel, Qt.BottomDockWidgetArea)
    win.tabifyDockWidget(win.docks["charts"], dock)
    win.docks["charts"].raise_()
    list_in_panels(win, dock)
    menu = QMenu("&Plant", win)
    # before Help, which stays last
    bar = win.menuBar()
    help_menu = next((a for a in bar.actions() if a.text() == "&Help"), None)
    if help_menu is None:
        bar.addMenu(menu)
    else:
        bar.insertMenu(help_menu, menu)
    win.act_live_connect = win._action(menu, "&Connect to plant…", lambda: connect_dialog(win),
                                       None, "Follow the running plant (MQTT or OPC UA) and "
                                             "record it")
    win.act_live_disconnect = win._action(menu, "&Disconnect", panel.disconnect, None,
                                          "Stop following the plant; the recording is closed")
    win.act_live_disconnect.setEnabled(False)
    panel.message.connect(win.log)

    def tint(colors: dict) -> None:
        if win.colour_mode == "live":
            win.view.set_tints(colors)

    def ended(path: str) -> None:
        win.act_live_connect.setEnabled(True)
        win.act_live_disconnect.setEnabled(False)
        if win.colour_mode == "live":  # the legend said "State (live)" after Disconnect
            win.set_colour_mode("plain")
        if not path or panel.closing or not win.isVisible() or win.testing:
            return
        if QMessageBox.question(win, "Live mode ended", f"Open the recording {path} in "
                                "Replay?") == QMessageBox.Yes:
            win.open_recording(path)

    panel.states_changed.connect(tint)
    # before the session starts its source: the feed's first colours are not the first render
    panel.started.connect(lambda _session: warm_live_colours(win.view, panel.elements.values()))
    panel.ended.connect(ended)
    panel.replay_button.clicked.connect(lambda: win.open_recording(panel.recording))
    return panel



def warm_live_colours(view, element_ids) -> None:
    """Render ``view`` once with the elements of ``element_ids`` in a live state's colour,
    then once as it was, before the feed starts (nothing is timed yet).

    Recolouring a batch rebuilds its vertex buffers with the colour array, and a render is a
    single call that the event loop waits for: on software GL (OSMesa, no GPU) the render of
    the first live colours, in the first tenth of a second of a 20,000 msg/s flood, held the
    event loop 65-75 ms (issue 15). After this, the feed's first colouring is one more render
    of an already coloured view. (Measured alone, that render costs no more CPU than another;
    at the flood's start it mostly waits for the interpreter lock: docs/live.md, "Speed".)"""
    if not view.isVisible():  # a hidden window renders nothing; its first show does
        return
    idle = STATE_COLORS["idle"]
    view.set_tints({eid: idle for eid in element_ids})
    view.render_now()
    view.set_tints(None)
    view.render_now()


def connect_dialog(win):
    """Show the Connect dialog; on success start live mode in ``win``. Returns the dialog
    (tests fill it in)."""
    from app.live_dialog import ConnectDialog

    if win.live.connected:
        win.log("live: already connected; disconnect first")
        return None
    dlg = ConnectDialog(win.project, win.path, win)
    dlg.connected.connect(lambda session: start_live(win, session))
    dlg.open()
    return dlg


def start_live(win, session: LiveSession) -> None:
    """Start ``session`` in ``win``: the 3D view follows the live states."""
    win.colour_mode = "live"
    win.colour_legend.show_mode("live")
    win.act_live_connect.setEnabled(False)
    win.act_live_disconnect.setEnabled(True)
    win.docks["live"].show()
    win.docks["live"].raise_()
    win.live.start(session, line_ends(win.project), ideal_cycle_times(win.project))


def ideal_cycle_times(project) -> dict[str, float]:
    """Station id -> the mean of its process time (per server; for products, the first
    product's), the ideal cycle time the live OEE measures performance against."""
    from twin.model import elements as m

    out = {}
    for el in project.elements:
        if isinstance(el, m.Station):
            pt = el.process_time
            if isinstance(pt, dict):
                pt = pt.get("*") or next(iter(pt.values()), None)
            if pt is not None and pt.mean > 0:
                out[el.id] = pt.mean
    return out


def line_ends(project) -> set[str]:
    """Stations whose good parts leave the plant: those that feed a sink directly or through
    buffers and conveyors only (``twin.whatif.fork.sink_feeders``, the fork's line output; a
    sink is not published by a plant, and a part counted by every station it passes would be
    counted once per station in a plain sum)."""
    from twin.whatif.fork import sink_feeders

    return sink_feeders(project)[0]
