"""A virtual plant: the twin run once and played in scaled real time to MQTT and OPC UA.

The emulator runs one replication of a scenario with the state log on
(:func:`twin.sim.runner.run_project`) and turns it into per-asset events with the machinery
that writes simulated recordings (:func:`twin.whatif.simulated.replication_events`), so that
what it publishes is, record for record, what ``write_run_as_recording`` would write:

* a station server (``<station>`` or ``<station>#<k>``): ``state`` at every state record,
  ``power_kw`` whenever the power changes (and at time 0), ``parts`` and ``scrap`` per
  instant with the number of parts as the value;
* a buffer, conveyor or queuing source: ``level`` at every change (and at time 0);
* at the horizon, a last ``power_kw`` and ``level`` of each asset (the value it holds), so
  that a receiver integrating power or level knows the span ends there.

Plant time ``t`` (seconds since the run's time 0) is sent at wall time
``start + t / speed`` with the time stamp ``epoch + t`` (seconds since 1970, UTC).
Events of one instant go out together, in asset order, and per asset in channel order
(``state``, ``power_kw``, ``parts``, ``scrap``, ``level``).

Memory: the events are kept as NumPy columns (21 bytes each: time, asset, channel, value),
not as Python objects; messages are made batch by batch while playing. The whole run is
prepared before the play (``trace_replication`` reads part events by re-running it), so a
plan holds at most :data:`MAX_PLAN_EVENTS` events: an 8-hour shift of the busiest example
(the standard line) is 700,000.

Publishers (``twin.live.publish_mqtt``, ``twin.live.publish_opcua``) take the batches;
:class:`Truth` sums what was sent (parts, scrap, energy per asset) for the tests and the
closing summary.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from kernels import types as kt
from kernels.types import STATE_NAMES
from twin.live.feed import LiveError

#: Channels in the order one asset's events of one instant are sent.
ORDER = ("state", "power_kw", "parts", "scrap", "level")
_CH = {name: k for k, name in enumerate(ORDER)}

#: One message: asset id, channel, time stamp (s since 1970, UTC), value (a state name for
#: ``state``, a number otherwise).
Message = tuple[str, str, float, "float | int | str"]


class EmulatorError(LiveError):
    """The emulator cannot run as asked (a bad scenario, speed, duration or address)."""


@dataclass(frozen=True)
class Plan:
    """The events of one replication, in the order they are sent.

    Attributes
    ----------
    assets : tuple of str
        Asset ids (``docs/live.md``), stations' servers first, then the level assets.
    kinds : tuple of str
        ``"server"`` or ``"level"`` for each asset.
    t : numpy.ndarray of float64
        Plant time of each event, s since the run's time 0 (sorted).
    asset : numpy.ndarray of int32
        Index into ``assets``.
    channel : numpy.ndarray of int8
        Index into :data:`ORDER`.
    value : numpy.ndarray of float64
        The value (a state code of ``kernels.types`` for ``state``).
    horizon : float
        The plant time the run ends, s.
    twin : dict
        The twin's own figures for the replication, per station element id:
        ``{"parts": good parts out, "scrap": scrapped parts, "energy_kwh": energy}``.
    """

    assets: tuple[str, ...]
    kinds: tuple[str, ...]
    t: np.ndarray
    asset: np.ndarray
    channel: np.ndarray
    value: np.ndarray
    horizon: float
    twin: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.t)

    def messages(self, i: int, j: int, epoch: float) -> list[Message]:
        """Events ``i`` to ``j - 1`` as messages, time stamped ``epoch + t``."""
        out = []
        assets = self.assets
        for t, a, c, v in zip(self.t[i:j].tolist(), self.asset[i:j].tolist(),
                              self.channel[i:j].tolist(), self.value[i:j].tolist(), strict=True):
            ch = ORDER[c]
            if ch == "state":
                value = STATE_NAMES[int(v)]
            elif ch == "power_kw":
                value = v
            else:
                value = int(v) if float(v).is_integer() else v
            out.append((assets[a], ch, epoch + t, value))
        return out


def plan_run(project, scenario: str | None = None, duration: float | None = None,
             seed: int | None = None, levels: bool = True) -> Plan:
    """Run one replication of ``scenario`` of ``project`` for ``duration`` seconds (default:
    the project's horizon) and collect what the emulator sends, in order.

    Raises ``ProjectError`` (a bad project or scenario) or :class:`EmulatorError`.
    """
    from twin.sim.restart_energy import station_energy_kwh
    from twin.sim.runner import RunSpec, run_project
    from twin.whatif.simulated import power_of, replication_events

    name = scenario or "base"
    known = ["base", *[s.name for s in project.scenarios]]
    if name not in known:
        raise EmulatorError(f"--scenario {name!r}: the project has no such scenario; choose "
                            f"one of {', '.join(known)}")
    spec = RunSpec.from_project(project, horizon=duration, seed=seed)
    horizon = fitting_horizon(project, name, spec.horizon, capped=duration is None)
    spec = RunSpec.from_project(project, horizon=horizon, seed=seed)
    # lowered with the log on (the trace needs it), run with it off (log_only=()): the run
    # gives the KPIs the trace is checked against, and keeps no log of its own
    spec = RunSpec(horizon=spec.horizon, warmup=0.0, replications=1, seed=spec.seed, log=True,
                   log_only=())
    result = run_project(project, [name], spec, workers=1)
    sr = result.scenarios[name]
    low = sr.lowered
    events, level_events = replication_events(sr, 0, seed=spec.seed, levels=levels)
    horizon = float(low.horizon)

    cols: list[tuple[np.ndarray, int, int, np.ndarray]] = []  # (t, asset, channel, value)
    assets, kinds = [], []
    for ev in events:
        a = len(assets)
        assets.append(ev.asset_id)
        kinds.append("server")
        cols.append((ev.state_t, a, _CH["state"], ev.state.astype(float)))
        power = power_of(low, ev).astype(float)
        change = np.ones(len(power), bool)
        change[1:] = power[1:] != power[:-1]
        cols.append((np.append(ev.state_t[change], horizon), a, _CH["power_kw"],
                     np.append(power[change], power[-1])))
        for good, ch in ((True, "parts"), (False, "scrap")):
            times = ev.part_t[ev.part_good == good]
            if len(times):
                at, n = np.unique(times, return_counts=True)
                cols.append((at, a, _CH[ch], n.astype(float)))
    for lv in level_events:
        a = len(assets)
        assets.append(lv.element)
        kinds.append("level")
        cols.append((lv.time, a, _CH["level"], lv.level.astype(float)))
    if cols:
        t = np.concatenate([c[0] for c in cols]).astype(np.float64)
        asset = np.concatenate([np.full(len(c[0]), c[1], np.int32) for c in cols])
        channel = np.concatenate([np.full(len(c[0]), c[2], np.int8) for c in cols])
        value = np.concatenate([c[3] for c in cols]).astype(np.float64)
        order = np.lexsort((channel, asset, t))
        t, asset, channel, value = t[order], asset[order], channel[order], value[order]
    else:
        t = value = np.zeros(0)
        asset, channel = np.zeros(0, np.int32), np.zeros(0, np.int8)

    rep = sr.replications[0]
    twin = {}  # as twin.sim.summary reads them (warm-up 0: the whole run)
    for e, kind in enumerate(low.element_kinds):
        if kind == "station":
            twin[low.element_ids[e]] = {
                "parts": int(rep.el_out[e, kt.O_OUT]), "scrap": int(rep.el_out[e, kt.O_SCRAP]),
                "energy_kwh": station_energy_kwh(low.arrays, rep, e)}
    return Plan(tuple(assets), tuple(kinds), t, asset, channel, value, horizon, twin)


#: The most events a plan holds: a longer run is refused, or, when the duration is the
#: project's horizon, cut short. 10.7 million events of the standard line (121 plant hours)
#: peaked at 1.0 GB while preparing and held 0.71 GB while playing (0.23 GB without them).
MAX_PLAN_EVENTS = 5_000_000


def fitting_horizon(project, scenario: str, horizon: float, capped: bool) -> float:
    """``horizon``, or with ``capped`` the longest part of it whose events fit in
    :data:`MAX_PLAN_EVENTS` (by ``twin.sim.estimate``'s count of state-log rows, which runs
    close to the events sent). Raises :class:`EmulatorError` for an explicit duration that
    does not fit, and ``RunTooLarge`` for a run beyond the twin's limits."""
    from twin.sim.estimate import estimate_run
    from twin.sim.runner import RunSpec
    from twin.units import format_duration

    spec = RunSpec(horizon=horizon, replications=1, log=True)
    rows = estimate_run(project, spec, [scenario]).log_rows
    if rows <= MAX_PLAN_EVENTS:
        return horizon
    fits = horizon * MAX_PLAN_EVENTS / rows
    unit = 3600.0 if fits >= 3600.0 else 60.0 if fits >= 60.0 else 1.0
    fits = unit * int(fits // unit)  # whole hours (minutes, seconds) of plant time
    if capped:
        return fits
    raise EmulatorError(
        f"--duration {format_duration(horizon)}: about {rows / 1e6:.0f} million events, more "
        f"than the emulator holds ({MAX_PLAN_EVENTS / 1e6:.0f} million); emulate at most "
        f"--duration {format_duration(fits)}")


class Truth:
    """What the emulator sent, per asset: good parts, scrap and energy (kWh, the integral
    of the ``power_kw`` it sent up to the plant time reached)."""

    def __init__(self, plan: Plan) -> None:
        n = len(plan.assets)
        self.assets = plan.assets
        self.parts = np.zeros(n, np.int64)
        self.scrap = np.zeros(n, np.int64)
        self.kwh = np.zeros(n)
        self._p = np.full(n, np.nan)  # last power sent, kW
        self._t = np.zeros(n)  # its plant time, s

    def add(self, plan: Plan, i: int, j: int) -> None:
        """Count events ``i`` to ``j - 1`` of ``plan``."""
        ch, a, v, t = plan.channel[i:j], plan.asset[i:j], plan.value[i:j], plan.t[i:j]
        for code, into in ((_CH["parts"], self.parts), (_CH["scrap"], self.scrap)):
            m = ch == code
            np.add.at(into, a[m], v[m].astype(np.int64))
        for k in np.flatnonzero(ch == _CH["power_kw"]):
            self._close(a[k], t[k])
            self._p[a[k]] = v[k]

    def _close(self, a: int, t: float) -> None:
        if not math.isnan(self._p[a]):
            self.kwh[a] += self._p[a] * (t - self._t[a]) / 3600.0
        self._t[a] = t

    def finish(self, t: float) -> None:
        """Close every asset's energy at plant time ``t`` (where the play stopped)."""
        for a in np.flatnonzero(~np.isnan(self._p)):
            if t > self._t[a]:
                self._close(a, t)

    def per_asset(self) -> dict[str, dict[str, float]]:
        """``{asset: {"parts", "scrap", "energy_kwh"}}`` of the assets that draw power or
        make parts (the station servers)."""
        return {asset: {"parts": int(self.parts[a]), "scrap": int(self.scrap[a]),
                        "energy_kwh": float(self.kwh[a])}
                for a, asset in enumerate(self.assets) if not math.isnan(self._p[a])}


class Publisher:
    """Where the emulator sends: an MQTT broker, an OPC UA server. ``open`` before the play
    (raises :class:`EmulatorError` when it cannot start), ``send`` per batch, ``close``
    after it (delivering what is still in flight)."""

    name = "publisher"
    sent = 0
    #: The play's stop (set by :func:`play`): a publisher waiting for its broker gives up
    #: waiting when it is set.
    stop: threading.Event | None = None

    def open(self, plan: Plan, epoch: float) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def send(self, batch: Sequence[Message]) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    #: Wall time (s since 1970) the publisher lost its server, None while it has it.
    away_since: float | None = None

    def report(self) -> list[str]:
        """What could not be delivered (lines for the closing table; none: nothing)."""
        return []


@dataclass
class Status:
    """How the play goes: the plant time reached (s since the run's time 0), messages sent."""

    plant_t: float = 0.0
    sent: int = 0
    done: bool = False


#: Most events handed to the publishers at once (a stop is seen between batches).
BATCH = 2000


def play(plan: Plan, publishers: Sequence[Publisher], *, speed: float, epoch: float,
         stop: threading.Event | None = None, status: Status | None = None,
         on_batch: Callable[[Status], None] | None = None,
         clock: Callable[[], float] = time.monotonic) -> Truth:
    """Send ``plan``'s events to every publisher in scaled real time.

    Parameters
    ----------
    speed : float
        Plant seconds per wall second; ``0`` or ``inf``: as fast as possible.
    epoch : float
        Seconds since 1970 (UTC) of plant time 0.
    stop : threading.Event, optional
        Set it to end the play early (between two batches).
    status : Status, optional
        Updated after each batch (read by a status line on another thread).

    Returns
    -------
    Truth
        What was sent.
    """
    stop = stop or threading.Event()
    status = status or Status()
    truth = Truth(plan)
    for pub in publishers:
        pub.stop = stop
    fast = speed <= 0 or math.isinf(speed)
    t0 = clock()
    n = len(plan)
    i = 0
    while i < n and not stop.is_set():
        due = plan.t[i]
        if not fast:
            wait = t0 + due / speed - clock()
            if wait > 0:
                # plant time runs on while nothing happens
                status.plant_t = max(status.plant_t, (clock() - t0) * speed)
                if stop.wait(min(wait, 0.25)):
                    break
                continue
            reached = (clock() - t0) * speed
            j = int(np.searchsorted(plan.t, reached, side="right"))
        else:
            j = n
        j = max(min(j, i + BATCH), i + 1)
        batch = plan.messages(i, j, epoch)
        for pub in publishers:
            pub.send(batch)
        truth.add(plan, i, j)
        status.sent += len(batch)
        status.plant_t = max(status.plant_t, float(plan.t[j - 1]))
        if on_batch is not None:
            on_batch(status)
        i = j
    end = plan.horizon if i >= n else status.plant_t
    truth.finish(end)
    status.plant_t = end
    status.done = i >= n
    return truth


def default_epoch(horizon: float = 0.0, now: datetime | None = None) -> float:
    """Plant time 0 by default: a UTC midnight (the twin's calendar starts at its time 0, so
    shifts fall on the hours the project gives them), the last one at least ``horizon``
    seconds before ``now``. So the plant clock never runs past the wall clock, even sped
    up: a receiver that refuses time stamps in the future (``twinbench live`` does, a
    minute ahead) takes every one."""
    day = (now or datetime.now(UTC)) - timedelta(seconds=horizon)
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def batches(plan: Plan, epoch: float, size: int = BATCH) -> Iterator[list[Message]]:
    """Every message of ``plan`` in batches of ``size`` (for tests and tools)."""
    for i in range(0, len(plan), size):
        yield plan.messages(i, min(i + size, len(plan)), epoch)
