"""Alerts: the project's rules evaluated on the plant's readings, forecasts and drift tests.

An :class:`AlertEngine` is fed the plant's readings (live ``Reading`` batches, or a recording
played back as the same readings, :mod:`twin.shadow.playback`), the shadow twin's forecasts
(``twin.shadow.forecast.Forecast``) and is advanced in time (:meth:`AlertEngine.advance`).
It evaluates the rules of the project's ``alerts`` section (``twin.model.elements.AlertRule``,
docs/project-format.md) and reports every change of an :class:`Alert` to its listeners and
in the lists it returns: an alert is **raised** once when its condition begins, may be
**acknowledged** by the user, and is **cleared** when the condition ends (with hysteresis
where a value wavers about its limit). Qt-free: the workbench, ``twinbench live
--alerts-only``, ``twinbench replay --alerts`` and the sinks (:mod:`twin.shadow.sinks`) take
the same alerts.

Times: plant times are seconds since the Unix epoch, as ``Reading.t``; a forecast's times
are seconds since the recording's epoch (``epoch_s`` converts). The ``no_data`` rule counts
wall-clock time (``clock``); on a replay there is no wall clock, and the readings' own time
stands in for it (a gap in the recording raises it).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np

from twin.model import elements as m
from twin.shadow.drift import Drift, DriftMonitor, DriftSettings

#: States of an alert, in order.
ALERT_STATES = ("raised", "acknowledged", "cleared")
#: The window of the mean power a peak is measured on, s (a quarter hour, as utilities bill).
PEAK_WINDOW_S = 900.0
#: Default hysteresis of the probability rules: clears once the probability fell to this
#: share of the limit that raised it.
CLEAR_SHARE = 0.75
#: Default hysteresis of the power rule: clears below this share of the limit.
CLEAR_SHARE_KW = 0.95


@dataclass(frozen=True)
class Alert:
    """One alert as it stands after a change.

    Attributes
    ----------
    id : str
        Unique in an engine: ``<rule>/<asset or line>/<n>``.
    rule, kind, severity : str
        The rule's id and kind, and its severity (``info``, ``warning``, ``critical``).
    asset : str
        The recorded asset (``<station>#<k>`` for a server), ``""`` for the line or source.
    element : str
        The project element to show (the station of a server), ``""`` when none.
    time : float
        Plant time the condition began to break the rule (s since the Unix epoch).
    message : str
        What a shift supervisor reads.
    state : str
        One of :data:`ALERT_STATES`.
    changed_at : float
        Plant time of the latest change.
    acknowledged : bool
        Acknowledged (stays true once cleared).
    details : dict
        Figures behind the message (JSON-ready).
    """

    id: str
    rule: str
    kind: str
    severity: str
    asset: str
    element: str
    time: float
    message: str
    state: str = "raised"
    changed_at: float = 0.0
    acknowledged: bool = False
    details: dict = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict:
        """JSON-ready (``time`` also as ISO 8601 UTC; a figure not known is null)."""
        d = _json_ready(asdict(self))
        d["time_utc"] = _iso(self.time)
        return d

    def line(self, time_zone: str = "UTC") -> str:
        """One line for a terminal: time, severity, state, asset, message."""
        when = _clock(self.changed_at or self.time, time_zone, seconds=True)
        who = self.asset or "line"
        return f"{when} {self.severity.upper():8} {self.state:12} {who:14} {self.message}"


def _json_ready(x):
    """Plain JSON values: NumPy numbers as Python's, NaN and infinities as None."""
    if isinstance(x, dict):
        return {str(k): _json_ready(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_json_ready(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _clock(t: float, time_zone: str = "UTC", seconds: bool = False) -> str:
    d = datetime.fromtimestamp(t, ZoneInfo(time_zone))
    return d.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%H:%M")


def _minutes(s: float) -> str:
    """A span as a supervisor says it: 45 s, 2 min 10 s, 25 min, 1.5 h."""
    if s < 90:
        return f"{s:.0f} s"
    if s < 600 and round(s) % 60:
        return f"{int(round(s)) // 60} min {int(round(s)) % 60} s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


def asset_elements(project: m.Project) -> dict[str, str]:
    """Recorded asset id -> project element: every element's own id, and ``<station>#<k>``
    for each server of a station (as live recordings name them)."""
    out = {e.id: e.id for e in project.elements}
    for s in project.stations():
        for k in range(s.servers):
            out[f"{s.id}#{k}"] = s.id
    return out


def stale_rules(project: m.Project, settings: m.AlertSettings | None = None) -> list[str]:
    """One line per name a rule gives that the project lacks (an element deleted in the
    workbench after the rule was written; the reader keeps such a rule): the rule watches
    nothing there, which the user should hear rather than see no alerts."""
    settings = settings if settings is not None else (project.alerts or m.AlertSettings())
    stations = {s.id for s in project.stations()}
    assets = set(asset_elements(project))
    out = []
    for i, r in enumerate(settings.rules):
        known = assets if r.kind == "no_data" else stations
        for name in r.elements:
            if name not in known:
                out.append(f"rule {r.id or f'{r.kind}-{i + 1}'!r} names {name!r}, which is "
                           "not a station of the project (deleted?): it watches nothing "
                           "there; undo the deletion or take it out of the rule "
                           "(`alerts` in project.json)")
    return out


@dataclass
class _Asset:
    element: str
    state: str = ""
    since: float | None = None
    power: float = 0.0
    last_t: float | None = None  # plant time of its latest reading
    last_wall: float | None = None
    run: dict = field(default_factory=dict)  # state rule id -> since when in its states


class AlertEngine:
    """Evaluates a project's alert rules (module docstring).

    Parameters
    ----------
    project : twin.model.elements.Project
    settings : AlertSettings, optional
        Default ``project.alerts`` (no rules when the project has none).
    assets : dict of str to str, optional
        Asset id -> element id (default :func:`asset_elements`); readings of other assets
        count for the source's ``no_data`` rule only.
    epoch_s : float
        The recording's epoch, s since the Unix epoch: forecasts' times are counted from it.
    clock : callable, optional
        Wall-clock seconds (``time.time``) for the ``no_data`` rule and the plant time "now"
        while no reading comes in; None on a replay (plant time stands in).
    time_zone : str
        The plant's IANA zone, for the times in messages.
    """

    def __init__(self, project: m.Project, settings: m.AlertSettings | None = None, *,
                 assets: dict[str, str] | None = None, epoch_s: float = 0.0,
                 clock: Callable[[], float] | None = None, time_zone: str = "UTC") -> None:
        self.project = project
        self.settings = settings if settings is not None else (project.alerts
                                                              or m.AlertSettings())
        self.rules = list(self.settings.rules)
        self.names = {e.id: (e.name or e.id) for e in project.elements}
        self.assets = dict(assets) if assets is not None else asset_elements(project)
        self.epoch_s = float(epoch_s)
        self.clock = clock
        self.time_zone = time_zone
        self.listeners: list[Callable[[Alert], None]] = []
        self.alerts: dict[str, Alert] = {}  # every alert by id, as it stands
        self.history: list[Alert] = []  # every change, in order
        self._open: dict[tuple, str] = {}  # condition key -> id of its alert not cleared
        self._count = 0
        self._state: dict[str, _Asset] = {}
        self._now: float | None = None  # latest plant time seen
        self._now_wall: float | None = None
        self._started_wall = clock() if clock else None
        self._first_t: float | None = None
        # the line's power as steps: (t, kW from t on, kWs from the first step to t), the
        # steps of the last quarter hour and the one before it
        self._line: list[tuple[float, float, float]] = []
        self._line_t: list[float] = []
        self._power_start: float | None = None
        self._checked = -math.inf  # plant time the timed rules were last evaluated at
        self._p_miss: list[tuple[float, float]] = []  # (plant time, P(target missed))
        self._mttr = {}
        for s in project.stations():
            if s.failures is not None:
                self._mttr[s.id] = s.failures.time_to_repair.mean
        self._drift: dict[str, DriftMonitor] = {}
        for r in self.rules:
            if r.kind == "drift":
                ds = DriftSettings(ratio=r.ratio, arl=r.arl, min_change=r.min_change,
                                   quantities=r.quantities or DriftSettings().quantities)
                self._drift[self._rid(r)] = DriftMonitor(
                    project, {a: e for a, e in self.assets.items()}, ds,
                    r.elements or None)

    # --- what feeds it -----------------------------------------------------------------------
    def readings(self, batch: Iterable) -> list[Alert]:
        """Take a batch of :class:`twin.live.feed.Reading`; return the alerts that changed."""
        batch = sorted(batch, key=lambda r: r.t)
        if not batch:
            return []
        changes: list[Alert] = []
        wall = self.clock() if self.clock else None
        for r in batch:
            t = float(r.t)
            # what a rule that waited for time to pass sees just before this reading (an
            # asset heard for the first time joins after: it has no reading before it)
            if self._now is not None and t > self._now and t - self._checked >= 1.0:
                changes += self._timed(t, wall)
            a = self._asset(r.asset)
            if r.channel == "state" and a.since is not None:
                changes += self._state_rules(r.asset, a, t)
            # a reading from the past (a backlog replayed) is not news of the asset now
            a.last_t, a.last_wall = t if a.last_t is None else max(a.last_t, t), wall
            if self._first_t is None:
                self._first_t = t
            self._now = t if self._now is None else max(self._now, t)
            if r.channel == "state" and isinstance(r.value, str):
                changes += self._state_change(r.asset, a, r.value.lower(), t)
            elif r.channel == "power_kw":
                try:
                    kw = float(r.value)
                except (TypeError, ValueError):
                    continue
                if math.isfinite(kw) and kw >= 0:
                    self._step(t, self._line_now() - a.power + kw)
                    a.power = kw
                    changes += self._peak_now(t)
        self._now_wall = wall
        for rid, mon in self._drift.items():
            for d in mon.readings(batch):
                changes += self._on_drift(rid, d)
        changes += self._timed(self._now, wall)
        return changes

    def advance(self, now: float | None = None) -> list[Alert]:
        """Let time pass: plant time ``now`` (a replay), or the clock's (live: the plant time
        of the latest reading plus the wall-clock time since). Returns the changes."""
        wall = self.clock() if self.clock else None
        if now is None:
            if self._now is None or wall is None:
                now = self._now
            else:
                now = self._now + max(0.0, wall - (self._now_wall or wall))
        if now is None:
            return self._no_data(None, wall)
        return self._timed(now, wall)

    def forecast(self, f) -> list[Alert]:
        """Take a ``twin.shadow.forecast.Forecast``; return the alerts that changed."""
        t = self.epoch_s + float(f.made_at)
        changes: list[Alert] = []
        target = f.target if f.target is not None else self.settings.shift_target
        if target is not None:
            p = float(f.p_below(target))
            self._p_miss.append((t, p))
            for r in self.rules:
                if r.kind != "shift_target":
                    continue
                key = (self._rid(r), "")
                p50 = float(np.asarray(f.quantiles((0.5,))[0.5])[-1])  # at the shift's end
                clear = r.clear_below if r.clear_below is not None else r.above * CLEAR_SHARE
                if p > r.above and key not in self._open:
                    base = self._p_before(t)
                    rose = (f"rose from {base:.0%} to {p:.0%}" if base is not None
                            and base < p else f"is {p:.0%}")
                    end = _clock(self.epoch_s + float(f.shift_end), self.time_zone)
                    msg = (f"Shift target of {target:,.0f} good parts at risk: P(shift target "
                           f"missed) {rose}; median forecast {p50:,.0f} by {end}")
                    unseen_s = getattr(f, "unseen_s", 0.0)
                    if unseen_s > 0:  # what it assumed before the first reading
                        msg += (f" (counting about {f.good_before_first:,.0f} parts for the "
                                f"{_minutes(unseen_s)} of the shift before the first reading)")
                    gap_s = getattr(f, "gap_s", 0.0)
                    if gap_s > 0:  # what the forecast assumed where it saw nothing
                        msg += (f" (counting about {f.good_in_gaps:,.0f} parts for "
                                f"{_minutes(gap_s)} without data)")
                    changes.append(self._raise(r, key, "", t, msg, {
                        "p_missed": p, "p_before": base, "target": target, "p50": p50,
                        "shift_end": self.epoch_s + float(f.shift_end)}))
                elif key in self._open and p < clear:
                    changes.append(self._clear(key, t, f"P(shift target missed) fell to "
                                                     f"{p:.0%}"))
        for r in self.rules:
            if r.kind != "peak_power" or r.within <= 0:
                continue
            peaks = np.asarray(f.peak_15min_within(r.within / 60.0), float)
            if not len(peaks):
                continue
            p = float(np.mean(peaks > r.limit_kw))
            key = (self._rid(r), "forecast")
            if p > r.above and key not in self._open:
                msg = (f"Line power forecast: P(15-min mean above {r.limit_kw:,.0f} kW within "
                       f"the next {_minutes(r.within)}) = {p:.0%}; median peak "
                       f"{np.median(peaks):,.0f} kW, P90 {np.quantile(peaks, 0.9):,.0f} kW")
                changes.append(self._raise(r, key, "", t, msg, {
                    "p_above": p, "limit_kw": r.limit_kw, "within_s": r.within,
                    "p50_kw": float(np.median(peaks)),
                    "p90_kw": float(np.quantile(peaks, 0.9))}))
            elif key in self._open and p <= r.above * CLEAR_SHARE:
                changes.append(self._clear(key, t, f"peak forecast eased: P(above limit) "
                                                   f"{p:.0%}"))
        return changes

    def gap(self) -> None:
        """The data were cut (the link went down): the drift tests forget the observations
        under way (:meth:`twin.shadow.drift.DriftMonitor.gap`)."""
        for mon in self._drift.values():
            mon.gap()

    def acknowledge(self, alert_id: str, at: float | None = None) -> Alert:
        """The user has seen it: ``raised`` -> ``acknowledged`` (a cleared one stays cleared
        and is marked acknowledged). Raises ``KeyError`` for an unknown id."""
        a = self.alerts[alert_id]
        if a.acknowledged:
            return a
        when = at if at is not None else (self._now if self._now is not None else a.time)
        new = replace(a, acknowledged=True, changed_at=when,
                      state="acknowledged" if a.state == "raised" else a.state)
        self._emit(new)
        return new

    # --- what the views read ----------------------------------------------------------------
    def active(self) -> list[Alert]:
        """Alerts not cleared, newest first."""
        return sorted((a for a in self.alerts.values() if a.state != "cleared"),
                      key=lambda a: -a.time)

    @property
    def now(self) -> float | None:
        """The latest plant time seen."""
        return self._now

    def line_power_15min(self, now: float | None = None) -> float | None:
        """The line's mean power over the quarter hour before ``now`` (kW; the sum of each
        asset's latest power reading, held until the next), or None before a whole quarter
        hour of power readings."""
        now = self._now if now is None else now
        if now is None or self._power_start is None or now - self._power_start < \
                PEAK_WINDOW_S:
            return None
        t0 = now - PEAK_WINDOW_S
        return (self._energy_at(now) - self._energy_at(t0)) / PEAK_WINDOW_S

    # --- inside ------------------------------------------------------------------------------
    def _rid(self, r: m.AlertRule) -> str:
        return r.id or f"{r.kind}-{self.rules.index(r) + 1}"

    def _asset(self, asset: str) -> _Asset:
        a = self._state.get(asset)
        if a is None:
            a = self._state[asset] = _Asset(self.assets.get(asset, ""))
        return a

    def _who(self, asset: str) -> str:
        el = self.assets.get(asset, asset)
        name = self.names.get(el, asset)
        if "#" in asset and asset != el:
            name += f" (server {int(asset.rsplit('#', 1)[1]) + 1})"
        return name

    def _emit(self, a: Alert) -> Alert:
        self.alerts[a.id] = a
        self.history.append(a)
        for fn in list(self.listeners):
            fn(a)
        return a

    def _raise(self, r: m.AlertRule, key: tuple, asset: str, t: float, message: str,
               details: dict) -> Alert:
        self._count += 1
        aid = f"{self._rid(r)}/{asset or 'line'}/{self._count}"
        self._open[key] = aid
        el = self.assets.get(asset, "") if asset else ""
        return self._emit(Alert(aid, self._rid(r), r.kind, r.severity, asset, el, t, message,
                                "raised", t, False, details))

    def _clear(self, key: tuple, t: float, why: str) -> Alert:
        aid = self._open.pop(key)
        a = self.alerts[aid]
        return self._emit(replace(a, state="cleared", changed_at=t,
                                  message=f"{a.message} - cleared: {why}",
                                  details={**a.details, "cleared_at": t}))

    def _p_before(self, t: float) -> float | None:
        """P(target missed) of the latest forecast made before ``t`` (the base a rise is
        measured from): the last one under every shift_target limit if there is one."""
        limits_ = [r.above for r in self.rules if r.kind == "shift_target"]
        lim = min(limits_) if limits_ else 1.0
        for when, p in reversed(self._p_miss[:-1]):
            if when <= t and p <= lim:
                return p
        return self._p_miss[-2][1] if len(self._p_miss) >= 2 else None

    def _state_change(self, asset: str, a: _Asset, new: str, t: float) -> list[Alert]:
        if new == a.state:
            return []
        changes = []
        for r in self.rules:
            if r.kind != "state":
                continue
            rid = self._rid(r)
            key = (rid, asset)
            if new in r.states:  # a run of the rule's states goes on, or begins
                if a.state not in r.states or rid not in a.run:
                    a.run[rid] = t
                continue
            began = a.run.pop(rid, None)
            if key in self._open:
                changes.append(self._clear(key, t, f"{new} after {_minutes(t - began)}"
                                           if began is not None else new))
        a.state, a.since = new, t
        return changes

    def _timed(self, now: float, wall: float | None) -> list[Alert]:
        """The rules that fire when time passes, evaluated at plant time ``now``."""
        self._checked = now
        changes = []
        for asset, a in self._state.items():
            changes += self._state_rules(asset, a, now)
        if self._line and any(r.kind == "peak_power" for r in self.rules):
            changes += self._peak_now(max(now, self._line[-1][0]))
        changes += self._no_data(now, wall)
        return changes

    def _state_rules(self, asset: str, a: _Asset, now: float) -> list[Alert]:
        """Raise the state rules ``asset``'s present state broke by ``now``; the alert's
        time is the moment the limit passed, however late this is called."""
        changes = []
        if not a.element or a.since is None:
            return changes
        for r in self.rules:
            if r.kind != "state" or a.state not in r.states or (
                    r.elements and a.element not in r.elements):
                continue
            rid = self._rid(r)
            key = (rid, asset)
            run = a.run.get(rid, a.since)
            began = run + r.longer_than
            if now >= began and key not in self._open:
                changes.append(self._raise(r, key, asset, began,
                                           self._state_message(asset, a, r, run, began),
                                           self._state_details(a, r, run)))
        return changes

    def _state_message(self, asset: str, a: _Asset, r: m.AlertRule, run: float,
                       t: float) -> str:
        long = t - run
        what = a.state if a.since == run else " or ".join(r.states)
        msg = f"{self._who(asset)} {what} for {_minutes(long)}"
        mttr = self._mttr.get(a.element)
        if a.state == "down" and mttr:
            msg += (f", {long / mttr:.1f}x its usual repair ({_minutes(mttr)})"
                    if long >= mttr else f"; its usual repair takes {_minutes(mttr)}")
        msg += f" (since {_clock(run, self.time_zone)})"
        if self._p_miss:
            now_p = self._p_miss[-1][1]
            before = [p for when, p in self._p_miss if when <= run]
            if before and abs(before[-1] - now_p) >= 0.005:
                verb = "rose" if now_p > before[-1] else "fell"
                msg += f"; P(shift target missed) {verb} from {before[-1]:.0%} to {now_p:.0%}"
            else:
                msg += f"; P(shift target missed) {now_p:.0%}"
        return msg

    def _state_details(self, a: _Asset, r: m.AlertRule, run: float) -> dict:
        d = {"state": a.state, "since": run, "limit_s": r.longer_than}
        if a.element in self._mttr:
            d["usual_repair_s"] = self._mttr[a.element]
        if self._p_miss:
            d["p_missed"] = self._p_miss[-1][1]
        return d

    def _line_now(self) -> float:
        return self._line[-1][1] if self._line else 0.0

    def _step(self, t: float, kw: float) -> None:
        if not self._line:
            self._power_start = t
            self._line.append((t, kw, 0.0))
            self._line_t.append(t)
            return
        t1, kw1, e1 = self._line[-1]
        t = max(t, t1)  # a late reading of one asset counts from the latest time
        self._line.append((t, kw, e1 + kw1 * (t - t1)))
        self._line_t.append(t)

    def _trim(self, t0: float) -> None:
        """Drop the steps that ended before ``t0`` (one step at or before it stays), in
        chunks (amortised: a list shifts once per many steps)."""
        i = bisect.bisect_right(self._line_t, t0) - 1
        if i > 256 and 2 * i > len(self._line):
            del self._line[:i], self._line_t[:i]

    def _energy_at(self, t: float) -> float:
        """kWs from the first step kept's reference to ``t``: the steps kept reach a quarter
        hour before the latest evaluation (:meth:`_trim`), and before the first power
        reading the line drew nothing."""
        i = bisect.bisect_right(self._line_t, t) - 1
        if i < 0:
            return self._line[0][2]
        t1, kw1, e1 = self._line[i]
        return e1 + kw1 * (t - t1)

    def _peak_now(self, t: float) -> list[Alert]:
        self._trim(t - 2 * PEAK_WINDOW_S)  # memory stays bounded, queries of a window back
        mean = self.line_power_15min(t)
        if mean is None:
            return []
        changes = []
        for r in self.rules:
            if r.kind != "peak_power":
                continue
            key = (self._rid(r), "now")
            clear = r.clear_below if r.clear_below is not None else r.limit_kw * CLEAR_SHARE_KW
            if mean > r.limit_kw and key not in self._open:
                msg = (f"Line power: 15-min mean {mean:,.0f} kW is above the {r.limit_kw:,.0f} "
                       f"kW peak limit (now {self._line_now():,.0f} kW)")
                changes.append(self._raise(r, key, "", t, msg, {
                    "mean_15min_kw": mean, "limit_kw": r.limit_kw}))
            elif key in self._open and mean < clear:
                changes.append(self._clear(key, t, f"15-min mean {mean:,.0f} kW"))
        return changes

    def _on_drift(self, rid: str, d: Drift) -> list[Alert]:
        r = next(x for x in self.rules if self._rid(x) == rid)
        key = (rid, d.element, d.quantity, d.state, d.direction)
        if key in self._open:  # raised already (drift alerts stay until acknowledged)
            return []
        msg = d.message(lambda t: _clock(t, self.time_zone))
        # the alert belongs to the station, named by its id (the 3D view selects it)
        self.assets.setdefault(d.element, d.element)
        return [self._raise(r, key, d.element, d.detected_at, msg, d.to_dict())]

    def _no_data(self, now: float | None, wall: float | None) -> list[Alert]:
        changes = []
        clock_now = wall if wall is not None else now
        if clock_now is None:
            return changes
        for r in self.rules:
            if r.kind != "no_data":
                continue
            if r.scope == "source":
                targets = [("", _latest(self._state.values(), wall))]
            else:
                names = r.elements or [x for x in self._state if x in self.assets]
                targets = []
                for x in names:
                    a = self._state.get(x)
                    if a is None and x in self.assets and not any(
                            s.element == x for s in self._state.values()):
                        targets.append((x, None))
                        continue
                    targets.append((x, _latest((s for aid, s in self._state.items()
                                                if aid == x or s.element == x), wall)))
            for asset, last in targets:
                key = (self._rid(r), asset)
                start = last if last is not None else (
                    self._started_wall if wall is not None else self._first_t)
                if start is None:
                    continue
                quiet = clock_now - start
                if quiet >= r.longer_than and key not in self._open:
                    who = f"{self._who(asset)}" if asset else "the plant (the source)"
                    # live: the plant's time now (the wall clock before any reading); a
                    # replay: the moment the limit passed
                    plant_t = (start + r.longer_than if wall is None
                               else now if now is not None else wall)
                    msg = (f"No data from {who} for {_minutes(quiet)} (limit "
                           f"{_minutes(r.longer_than)})" + ("" if last is not None else
                                                            ": nothing received yet"))
                    changes.append(self._raise(r, key, asset, plant_t, msg,
                                               {"quiet_s": quiet, "limit_s": r.longer_than}))
                elif quiet < r.longer_than and key in self._open:
                    changes.append(self._clear(key, now if now is not None else clock_now,
                                               "data again"))
        return changes


def _latest(assets: Iterable[_Asset], wall: float | None) -> float | None:
    """When the latest of ``assets`` was heard (wall clock when there is one, else plant
    time), None when none has a reading yet: an asset's state may exist before its first
    reading is stored, and that one was not heard (the rule counts from the start then)."""
    times = [a.last_wall if wall is not None else a.last_t for a in assets]
    times = [t for t in times if t is not None]
    return max(times) if times else None


def run_rules(engine: AlertEngine, batches) -> list[Alert]:
    """Feed ``batches`` (``(t_end, readings)`` pairs from :func:`twin.shadow.playback.
    playback`; ``readings`` None: a link gap) to ``engine`` and advance it to each batch's
    end; the changes, in order."""
    out = []
    for t_end, batch in batches:
        if batch is None:  # a link gap of the recording
            engine.gap()
            continue
        out += engine.readings(batch)
        out += engine.advance(t_end)
    return out


def alert_clock(time_zone: str = "UTC"):
    """A formatter of plant times in ``time_zone`` (HH:MM)."""
    return lambda t: _clock(t, time_zone)

