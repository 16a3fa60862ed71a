"""Calibrate a project's stations from a recording: process times, failures, repairs, power.

Recorded assets map to stations by the recording's ``element`` and ``server`` attributes, or
the ``assets`` argument (:func:`station_assets`). A station with N parallel servers is
recorded as one asset per server (as a plant's export gives each machine its own state
signal); the servers share one process-time, failure and power model, so :func:`calibrate`
**pools** the samples of all assets of a station into one fit per station. Assets mapped to
buffers, conveyors or sources carry a level (work in process): a fork starts from it, but it
is not a calibration input, so they are skipped and the report says so.

Per asset, samples are taken from the replayed timeline (``twin.recording.replay``) and the
pooled samples fitted by maximum likelihood:

* **process time** — event logs: the busy time between consecutive part events (divided by
  the later event's count). For an asset that records one server this is exactly the
  processing time of the part that left, whatever blocking, starving and repairs happened in
  between: the server is busy only while processing, and the next part starts at or after
  the previous one left. One state channel for several servers mixes them (the report
  notes it). The first part of a recording (started before it) and intervals that touch a
  gap are left out. Buckets: busy length / parts of each whole busy bucket — averages of
  several cycles, so the fitted spread is that of a bucket mean, not of one cycle.
* **time to failure** — operating basis: busy time between the end of one down run and the
  start of the next (calendar basis: elapsed time; operations basis: parts). The interval
  from the last repair to the end of the recording is right-censored and enters the
  likelihood through the survival function. The interval before the first failure is left
  out (its start is unknown in real data).
* **time to repair** — lengths of maximal down runs that do not touch the recording's ends.
* **power per state** — time-weighted mean power in each state (per server), with a 95%
  interval from the variation between state intervals of all pooled assets (ratio estimator).

Each server has its own failure clock in the twin (``kernels.engine``), so the time-to-failure
samples of the servers are independent draws of one distribution and pool like the others.

Candidates (exponential, gamma, lognormal, weibull, normal) are fitted by maximum likelihood
and ranked by AIC (:mod:`twin.whatif.fitting`: log-likelihood, Kolmogorov-Smirnov test, parameters
and mean with confidence intervals).

:func:`calibration_scenario` turns a report into a :class:`twin.model.elements.Scenario` of
overrides, and :func:`add_calibrated_scenario` adds it to a project without applying it, so the user
reviews it first. Needs SciPy at run time.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import stats

from kernels.types import BUSY, DOWN, N_STATES, STATE_NAMES
from twin.errors import InputError
from twin.model import elements as m
from twin.model.loads import stations_seeing_loads
from twin.recording import Recording, replay_asset
from twin.recording.format import NO_DATA, UNKNOWN
from twin.whatif.fitting import CANDIDATES, MIN_SAMPLES, DistFit, Estimate, fit_candidates


class CalibrationError(InputError):
    """A recording or project that cannot be calibrated (message names the fix)."""


# --- samples from a replay -----------------------------------------------------------------
@dataclass
class QuantityFit:
    """The fits of one quantity (process time, time to failure, time to repair) of a station.

    Attributes
    ----------
    quantity : str
    how : str
        How the samples were taken from the recording.
    n, n_censored : int
    sample_mean : float
    fits : list of DistFit
        Best (lowest AIC) first; empty when there were too few samples.
    note : str
    """

    quantity: str
    how: str
    n: int
    n_censored: int
    sample_mean: float
    fits: list[DistFit] = field(default_factory=list)
    note: str = ""

    @property
    def best(self) -> DistFit | None:
        """The fit with the lowest AIC, or None."""
        return self.fits[0] if self.fits else None

    def fit(self, family: str) -> DistFit:
        """The fit of a given family."""
        for f in self.fits:
            if f.family == family:
                return f
        raise KeyError(f"no {family} fit for {self.quantity}; have {[f.family for f in self.fits]}")


@dataclass
class PowerEstimate:
    """Mean power in one state (kW) with its interval, from ``n`` intervals totalling
    ``time_s`` seconds."""

    state: str
    mean_kw: Estimate
    n: int
    time_s: float


@dataclass
class StationCalibration:
    """Everything fitted for one station, from the pooled samples of its assets.

    Attributes
    ----------
    element : str
        Station id.
    assets : list of str
        The recorded assets pooled, one per server (or one channel for the station).
    servers : list of int or None
        The server each asset records (None: no server index recorded or given).
    station_servers : int
        Parallel servers of the station in the project.
    process_time, time_to_failure, time_to_repair : QuantityFit or None
    failure_basis : str
    power : dict of str to PowerEstimate
    notes : list of str
    """

    element: str
    assets: list[str]
    servers: list[int | None]
    station_servers: int
    process_time: QuantityFit | None
    time_to_failure: QuantityFit | None
    time_to_repair: QuantityFit | None
    failure_basis: str
    power: dict[str, PowerEstimate]
    notes: list[str] = field(default_factory=list)

    @property
    def pooled(self) -> str:
        """What was pooled, e.g. ``"2 assets pooled: a#0 (server 0), a#1 (server 1); 2 of 2
        servers"``."""
        names = ", ".join(a if k is None else f"{a} (server {k})"
                          for a, k in zip(self.assets, self.servers, strict=True))
        if len(self.assets) == 1:
            return f"asset {names}; {self.station_servers} server(s)"
        return (f"{len(self.assets)} assets pooled: {names}; {len(self.assets)} of "
                f"{self.station_servers} servers")


@dataclass
class CalibrationReport:
    """What :func:`calibrate` found; ``str()`` prints a table, :meth:`to_dict` gives JSON."""

    recording: str
    shape: str
    window: tuple[float, float]
    level: float
    stations: list[StationCalibration]
    notes: list[str] = field(default_factory=list)

    def station(self, element: str) -> StationCalibration:
        """The calibration of one station (by element id)."""
        for s in self.stations:
            if s.element == element:
                return s
        raise KeyError(f"no calibration for station {element!r}; "
                       f"have {[s.element for s in self.stations]}")

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return json.loads(json.dumps(asdict(self), default=float))

    def __str__(self) -> str:
        pct = f"{100 * self.level:g}%"
        lines = [f"Calibration from {self.recording} ({self.shape}), "
                 f"window {self.window[0]:g}..{self.window[1]:g} s, {pct} intervals"]
        for s in self.stations:
            lines.append(f"\nstation {s.element} ({s.pooled})")
            for q in (s.process_time, s.time_to_failure, s.time_to_repair):
                if q is None:
                    continue
                lines.append(f"  {q.quantity}: n={q.n} (+{q.n_censored} censored), "
                             f"sample mean {q.sample_mean:.4g} — {q.how}")
                for i, f in enumerate(q.fits):
                    ps = ", ".join(f"{k}={v.value:.4g} [{v.ci_low:.4g}, {v.ci_high:.4g}]"
                                   for k, v in f.params.items())
                    lines.append(f"    {'*' if i == 0 else ' '} {f.family:<11} AIC {f.aic:10.1f}"
                                 f"  KS {f.ks_statistic:.3f} (p={f.ks_pvalue:.3f})  {ps}")
                if q.note:
                    lines.append(f"    note: {q.note}")
            for p in s.power.values():
                e = p.mean_kw
                lines.append(f"  power {p.state:<8} {e.value:8.3f} kW [{e.ci_low:.3f}, "
                             f"{e.ci_high:.3f}] over {p.time_s / 3600:.1f} h ({p.n} intervals)")
            lines += [f"  note: {n}" for n in s.notes]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def _known_cum(tl):
    """Cumulative time covered by known states (not unknown or gaps)."""
    sel = (tl.state != UNKNOWN) & (tl.state != NO_DATA)
    s, e = tl.start[sel], tl.end[sel]
    before = np.concatenate(([0.0], np.cumsum(e - s)))

    def at(t):
        t = np.asarray(t, float)
        i = np.searchsorted(s, t, side="right") - 1
        j = np.maximum(i, 0)
        part = np.clip(t - s[j], 0.0, (e - s)[j]) if len(s) else np.zeros_like(t)
        return np.where(i >= 0, before[j] + part, 0.0) if len(s) else np.zeros_like(t)
    return at


def _cum(tl, code):
    c = tl.time_in(code)
    return lambda t: np.asarray(c.at(np.asarray(t, float)), float)


def _whole(known, a, b):
    """True where ``[a, b]`` is covered by known states (no gap, no unknown)."""
    return np.abs((known(b) - known(a)) - (np.asarray(b) - np.asarray(a))) <= 1e-6 * (
        1.0 + np.abs(np.asarray(b)))


def process_samples(recording: Recording, replay) -> tuple[np.ndarray, str]:
    """Process-time samples of one asset and how they were taken (module docstring)."""
    if recording.shape == "buckets":
        ct = replay.cycle_times
        return ct[np.isfinite(ct) & (ct > 0)], "busy length / parts of whole busy buckets"
    data = recording.asset(replay.asset_id)
    parts = data.parts[np.argsort(data.parts["time"], kind="stable")]
    pt, cnt = parts["time"], np.nan_to_num(parts["count"])
    keep = cnt > 0
    pt, cnt = pt[keep], cnt[keep]
    if len(pt) < 2:
        return np.empty(0), "busy time between consecutive part events"
    tl = replay.timeline
    busy, known = _cum(tl, BUSY), _known_cum(tl)
    b = busy(pt)
    x = np.diff(b) / cnt[1:]
    ok = _whole(known, pt[:-1], pt[1:]) & (x > 0)
    return x[ok], "busy time between consecutive part events (first part left out)"


def failure_samples(replay, basis: str, t0: float, t1: float):
    """(ttf complete, ttf censored, ttr) samples of one asset (module docstring)."""
    tl = replay.timeline
    rs, re_ = tl.runs(DOWN)
    known = _known_cum(tl)
    ttr = (re_ - rs)[(rs > t0) & (re_ < t1)]
    if basis == "calendar":
        def clock(t):
            return np.asarray(t, float)
    elif basis == "operations":
        def clock(t):
            return np.asarray(replay.produced.at(np.asarray(t, float)), float)
    else:
        clock = _cum(tl, BUSY)
    if len(rs) == 0:
        return np.empty(0), np.empty(0), ttr
    a, b = re_[:-1], rs[1:]
    ok = _whole(known, a, b)
    ttf = (clock(b) - clock(a))[ok]
    cens = np.empty(0)
    if re_[-1] < t1 and _whole(known, np.array([re_[-1]]), np.array([t1]))[0]:
        cens = clock(np.array([t1])) - clock(np.array([re_[-1]]))
    return ttf[ttf > 0], cens, ttr


def _power_pieces(recording: Recording, replay) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(length s, power kW, state) of each piece of constant state and power of one asset
    (buckets: of each bucket)."""
    tl = replay.timeline
    if recording.shape == "buckets":
        bk = recording.asset(replay.asset_id).buckets
        ok = np.isfinite(bk["power_kw"]) & (bk["length"] > 0)
        dur, pw, st = bk["length"][ok], bk["power_kw"][ok], bk["state"][ok].astype(int)
    else:
        power = recording.asset(replay.asset_id).power
        if not len(power) or not len(tl.start):
            return np.empty(0), np.empty(0), np.empty(0, int)
        power = power[np.argsort(power["time"], kind="stable")]
        wt = power["time"]
        cuts = np.unique(np.concatenate((tl.start, tl.end, wt)))
        cuts = cuts[(cuts >= tl.start[0]) & (cuts <= tl.end[-1])]
        mid = 0.5 * (cuts[1:] + cuts[:-1])
        k = np.searchsorted(wt, mid, side="right") - 1
        st = np.asarray(tl.state_at(mid), int)
        has = (k >= 0) & (st >= 0)
        dur = np.diff(cuts)[has]
        pw = power["power_kw"][np.maximum(k, 0)][has]
        st = st[has]
        ok = np.isfinite(pw)
        dur, pw, st = dur[ok], pw[ok], st[ok]
    return dur, pw, st


def power_by_state(recording: Recording, replays, level: float = 0.95) -> dict[str, PowerEstimate]:
    """Time-weighted mean power in each state, with an interval from the spread between state
    intervals (buckets: between buckets).

    ``replays`` is one asset's replay or a list of them (the servers of a station, pooled:
    the mean is then per server).
    """
    pieces = [_power_pieces(recording, r) for r in
              (replays if isinstance(replays, list | tuple) else [replays])]
    dur, pw, st = (np.concatenate(x) for x in zip(*pieces, strict=True))
    z = stats.norm.ppf(0.5 + level / 2)
    out = {}
    for code in range(N_STATES):
        sel = st == code
        n = int(sel.sum())
        if n == 0:
            continue
        d, p = dur[sel], pw[sel]
        total = d.sum()
        mean = float(d @ p / total)
        se = math.sqrt(n / (n - 1) * float(np.sum((d * (p - mean)) ** 2)) / total**2) if n > 1 \
            else math.nan
        out[STATE_NAMES[code]] = PowerEstimate(STATE_NAMES[code],
                                               Estimate(mean, mean - z * se, mean + z * se),
                                               n, float(total))
    return out


def _quantity(name, how, x, cens=(), level=0.95, families=CANDIDATES, note=""):
    x = np.asarray(x, float)
    cens = np.asarray(cens, float)
    mean = float(x.mean()) if len(x) else math.nan
    if len(x) < MIN_SAMPLES:
        return QuantityFit(name, how, len(x), len(cens), mean, [],
                           note or f"too few samples to fit (need {MIN_SAMPLES})")
    return QuantityFit(name, how, len(x), len(cens), mean,
                       fit_candidates(x, cens, families, level), note)


def station_assets(project: m.Project, recording: Recording, replays: dict,
                   assets: dict | None = None) -> tuple[dict[str, list], list[str]]:
    """Group the recorded assets by the station they map to.

    Parameters
    ----------
    project : twin.model.elements.Project
    recording : twin.recording.Recording
    replays : dict of str to AssetReplay
        Every recorded asset (``twin.recording.replay_recording``).
    assets : dict, optional
        Recorded asset id -> station id or ``(station id, server)``; defaults to each
        asset's ``element`` and ``server`` attributes. A recorded server index holds only on
        the station the asset was recorded for (as in ``twin.whatif.fork``).

    Returns
    -------
    (dict, list of str)
        Station id -> ``[(asset id, server index or None), ...]`` in mapping order, and notes
        on the assets left out: unmapped ones, and level channels of buffers, conveyors and
        sources (work in process: a fork input, not a calibration input).

    Raises
    ------
    CalibrationError
        For an asset that is not recorded, an element the project lacks, an asset without a
        level mapped to an element that is not a station, server indices that contradict
        the station (out of range, one server twice, more assets than servers), or no
        asset mapped to a station.
    """
    from twin.recording.snapshot import (
        ChannelError,
        asset_targets,
        assign_servers,
        no_station_mapped,
    )

    try:
        pairs = asset_targets(recording, replays, assets)
    except ChannelError as e:
        raise CalibrationError(str(e)) from None
    notes = []
    unmapped = [a for a in recording.asset_ids if a not in pairs]
    if unmapped:
        notes.append(f"assets without a station, skipped: {unmapped}")
    stations = {s.id: s for s in project.stations()}
    channels, levels = {}, []
    for a, (el, k) in pairs.items():
        if el in stations:
            channels[a] = (el, k)
        elif el in project and replays[a].has_level:
            levels.append(f"{a!r} ({project.element(el).kind} {el!r})")
        else:
            what = (f"a {project.element(el).kind}, not a station, and the asset records no "
                    "level" if el in project else f"which is not a station of project "
                    f"{project.name!r}")
            raise CalibrationError(f"asset {a!r} maps to {el!r}, {what}; stations: "
                                   f"{sorted(stations)}; fix the mapping's assets")
    if levels:
        notes.append(f"level channels skipped: {', '.join(levels)}: a recorded level is the "
                     "work in process a fork starts from, not a calibration or validation "
                     "input")
    if not channels:
        raise CalibrationError(no_station_mapped(recording, sorted(stations), project.name))
    try:  # the fork's checks: indices in range, one asset per server
        assign_servers(channels, {el: st.servers for el, st in stations.items()})
    except ChannelError as e:
        raise CalibrationError(str(e)) from None
    groups: dict[str, list] = {}
    for a, (el, k) in channels.items():
        groups.setdefault(el, []).append((a, k))
    return groups, notes


def calibrate(project: m.Project, recording: Recording, *, assets: dict | None = None,
              window: tuple[float, float] | None = None, level: float = 0.95,
              families: tuple[str, ...] = CANDIDATES) -> CalibrationReport:
    """Fit process times, failures, repairs and power per state of each mapped station.

    The samples of all assets of one station (one per server) are pooled into one fit per
    station (module docstring).

    Parameters
    ----------
    project : twin.model.elements.Project
        The project whose stations the recorded assets map to.
    recording : twin.recording.Recording
    assets : dict, optional
        Recorded asset id -> station id or ``(station id, server)``; defaults to each asset's
        ``element`` (and ``server``) attribute. Unmapped assets and level channels of
        buffers, conveyors and sources are skipped (listed in the report's notes).
    window : (t0, t1), optional
        Only use ``[t0, t1)`` (s since the recording epoch); default the whole recording.
    level : float
        Confidence level of every interval.
    families : tuple of str
        Candidate families.

    Returns
    -------
    CalibrationReport

    Raises
    ------
    CalibrationError
        See :func:`station_assets`; also for a bad ``level`` or ``families``.
    """
    from twin.recording import extent, replay_recording

    if not 0 < level < 1:
        raise CalibrationError(f"level {level!r} must lie between 0 and 1, e.g. 0.95")
    bad = [f for f in families if f not in CANDIDATES]
    if bad:
        raise CalibrationError(f"families {bad} are not among {CANDIDATES}")
    batches = [s.id for s in project.stations() if s.batch or s.disassembly]
    loads = [x for x in stations_seeing_loads(project) if x not in batches]
    if batches or loads:  # issue 18 §2: a recorded cycle is a load's, not a part's
        also = f" and stations {loads} that process loads as one unit" if loads else ""
        raise CalibrationError(
            f"project {project.name!r} has batch or disassembly stations {batches}{also}: "
            "their recorded cycles are loads of varying size, which a fit per part would "
            "misread; calibrate a copy of the project without their batch and disassembly "
            "fields" + (" (and without 'unbatch')" if loads else ""))
    replays = replay_recording(recording)
    if window is None:
        t0, t1 = extent(replays)
    else:
        t0, t1 = (recording.time_of(w) for w in window)
    groups, notes = station_assets(project, recording, replays, assets)
    stations = {s.id: s for s in project.stations()}
    out = []
    for el, members in groups.items():
        rs = [replay_asset(recording, a, (t0, t1)) for a, _ in members]
        st = stations[el]
        basis = st.failures.basis if st.failures is not None else "operating"
        snotes = []
        if st.servers > 1 and len(members) == 1 and members[0][1] is None:
            snotes.append(f"one state channel for {st.servers} servers: if it records the "
                          "whole station rather than one machine, its process times, failure "
                          "clocks and power mix the servers")
        if st.workers is not None and st.workers.repair is not None:  # issue 18
            snotes.append("its repairs need a technician: time_to_repair is fitted to the "
                          "recorded down runs, which is right when the wait for a technician "
                          "is recorded as waiting_for_worker; where the plant records that "
                          "wait as down, the fitted repairs are too long by the mean wait")
        samples = [process_samples(recording, r) for r in rs]
        x = np.concatenate([s[0] for s in samples])
        how = samples[0][1] + (f", pooled over {len(rs)} assets" if len(rs) > 1 else "")
        pnote = ("bucket averages: the fitted spread is that of a bucket's mean cycle time, "
                 "narrower than single cycles" if recording.shape == "buckets" else "")
        proc = _quantity("process_time", how, x[x > 0], (), level, families, pnote)
        ttf, cens, ttr = (np.concatenate(v) for v in
                          zip(*(failure_samples(r, basis, t0, t1) for r in rs), strict=True))
        clock = {"operating": "busy time", "calendar": "elapsed time",
                 "operations": "parts"}[basis]
        pooled = f", per server, pooled over {len(rs)} assets" if len(rs) > 1 else ""
        tnote = ("bucketed data: down runs are whole buckets, so repair times are rounded up "
                 "to the bucket length" if recording.shape == "buckets" else "")
        q_ttf = _quantity("time_to_failure", f"{clock} from a repair end to the next failure "
                          f"({basis} basis){pooled}", ttf, cens, level, families)
        q_ttr = _quantity("time_to_repair", f"length of down runs inside the recording{pooled}",
                          ttr, (), level, families, tnote)
        out.append(StationCalibration(el, [a for a, _ in members], [k for _, k in members],
                                      st.servers, proc, q_ttf, q_ttr, basis,
                                      power_by_state(recording, rs, level), snotes))
    return CalibrationReport(str(recording.path), recording.shape, (float(t0), float(t1)),
                             level, out, notes)


def calibration_scenario(report: CalibrationReport, name: str, project: m.Project | None = None,
                         choose: dict | None = None) -> m.Scenario:
    """The fitted parameters as a scenario of overrides (not applied).

    Parameters
    ----------
    report : CalibrationReport
    name : str
        Scenario name.
    project : Project, optional
        Used to keep a station's failure basis and power of states the recording lacks.
    choose : dict, optional
        ``{(station, quantity): family}`` to use another family than the best by AIC.

    Returns
    -------
    twin.model.elements.Scenario
        Overrides ``process_time``, ``failures`` and ``power_kw`` of each calibrated station.
    """
    choose = choose or {}
    ovs = []
    for s in report.stations:
        def pick(q, s=s):
            if q is None or not q.fits:
                return None
            fam = choose.get((s.element, q.quantity))
            return (q.fit(fam) if fam else q.best).distribution()

        pt = pick(s.process_time)
        if pt is not None:
            ovs.append(m.Override("process_time", pt.to_json(), s.element))
        ttf, ttr = pick(s.time_to_failure), pick(s.time_to_repair)
        if ttf is not None and ttr is not None:
            ovs.append(m.Override("failures", {"basis": s.failure_basis,
                                               "time_to_failure": ttf.to_json(),
                                               "time_to_repair": ttr.to_json()}, s.element))
        if s.power:
            power = {}
            if project is not None and s.element in project:
                power.update(getattr(project.element(s.element), "power_kw", {}) or {})
            power.update({k: round(v.mean_kw.value, 6) for k, v in s.power.items()})
            ovs.append(m.Override("power_kw", power, s.element))
    return m.Scenario(name, tuple(ovs), f"calibrated from {report.recording}")


def add_calibrated_scenario(project: m.Project, report: CalibrationReport, name: str,
                            **kwargs) -> m.Scenario:
    """Add the calibrated scenario to ``project.scenarios`` (not applied) and return it.

    Raises
    ------
    CalibrationError
        If the project already has a scenario of that name.
    """
    if any(s.name == name for s in project.scenarios):
        raise CalibrationError(f"project {project.name!r} has a scenario {name!r} already; "
                               "choose another name (--scenario-name)")
    sc = calibration_scenario(report, name, project, **kwargs)
    project.scenarios.append(sc)
    project.changed.emit()
    return sc
