"""Validate a scenario against a recording: recorded KPIs beside simulated ones.

:func:`validate` replays the recording (``twin.recording.recording_kpis``) and simulates the
scenario over the same length of time (from an empty line at time 0, no warm-up) for a number
of replications, then puts each KPI of each mapped station side by side: parts out,
throughput, availability, energy, energy per part and the state fractions.

A recording is **one** realisation, so the recorded value is compared with a **prediction
interval** for one replication, ``mean ± t(0.975, R-1) · s · sqrt(1 + 1/R)``, not with the
(much narrower) confidence interval of the simulated mean, which is reported as well. A KPI is
flagged when the recorded value lies outside the prediction interval; ``deviation`` gives how
far outside, relative to the simulated mean.

Assets map to stations as in calibration (``twin.whatif.calibration.station_assets``): the assets
of one station's servers are **pooled** into the station's recorded KPIs (parts and energy
summed, time fractions over the summed observed time, throughput per hour of the station),
which is what the simulation reports per station. Level channels of buffers, conveyors and
sources are skipped (they say where work in process was, not what a station did); the report
notes them.

Checking many KPIs at 95% flags about one in twenty by chance; pass ``level=1 - 0.05 / k`` for
a family-wise 5% over ``k`` KPIs (Bonferroni). The simulation starts empty and the recording
may not: for short recordings of a real plant the first hour may bias the comparison.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import stats

from kernels import types as kt
from twin.model import elements as m
from twin.recording import Recording, recording_kpis, replay_recording
from twin.sim.restart_energy import station_energy_kwh
from twin.sim.runner import RunSpec, run_project

#: The KPIs compared, per station.
KPIS = ("parts_out", "throughput_per_hour", "availability", "energy_kwh", "energy_per_part_kwh")


@dataclass
class KpiCheck:
    """One KPI of one station: recorded value, simulated mean with intervals, flag.

    Attributes
    ----------
    station, kpi : str
    recorded : float or None
    sim_mean, ci_halfwidth : float
        Mean over replications and the half-width of its confidence interval.
    pi_low, pi_high : float
        Prediction interval for a single replication.
    flagged : bool
        The recorded value lies outside ``[pi_low, pi_high]``.
    deviation : float
        Distance from the interval relative to ``|sim_mean|`` (0 inside).
    """

    station: str
    kpi: str
    recorded: float | None
    sim_mean: float
    ci_halfwidth: float
    pi_low: float
    pi_high: float
    flagged: bool
    deviation: float


@dataclass
class ValidationReport:
    """Every :class:`KpiCheck`; ``str()`` prints a table, :meth:`to_dict` gives JSON."""

    recording: str
    scenario: str
    horizon: float
    replications: int
    level: float
    checks: list[KpiCheck] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> list[KpiCheck]:
        """The checks whose recorded value lies outside the prediction interval."""
        return [c for c in self.checks if c.flagged]

    def check(self, station: str, kpi: str) -> KpiCheck:
        """The check of one KPI of one station."""
        for c in self.checks:
            if c.station == station and c.kpi == kpi:
                return c
        raise KeyError(f"no check of {kpi!r} for station {station!r}")

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return json.loads(json.dumps(asdict(self), default=float))

    def __str__(self) -> str:
        pct = f"{100 * self.level:g}%"
        lines = [f"Validation of scenario {self.scenario!r} against {self.recording}: "
                 f"{self.replications} replications of {self.horizon / 3600:.2f} h, "
                 f"{pct} prediction intervals",
                 f"{'station':<12} {'kpi':<34} {'recorded':>12} {'simulated':>12} "
                 f"{'interval':>25}  flag"]
        for c in self.checks:
            rec = "-" if c.recorded is None else f"{c.recorded:.4g}"
            flag = f"OUTSIDE by {100 * c.deviation:.1f}%" if c.flagged else ""
            band = f"[{c.pi_low:.4g}, {c.pi_high:.4g}]"
            lines.append(f"{c.station:<12} {c.kpi:<34} {rec:>12} {c.sim_mean:>12.4g} "
                         f"{band:>25}  {flag}")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def _sim_values(sr, e: int) -> dict[str, np.ndarray]:
    a = sr.lowered.arrays
    n_servers = max(int(a.el_i[e, kt.I_SERVERS]), 1)
    rows: dict[str, list[float]] = {}
    for rep in sr.replications:
        st = rep.st_time[e]  # summed over the station's servers
        total = st.sum()
        obs = total  # a simulation has no gaps: observed time is all of it
        pbt = obs - st[kt.OFF] - st[kt.MAINTENANCE]
        out = rep.el_out[e, kt.O_OUT]
        energy = station_energy_kwh(a, rep, e)  # the restarts' energy too, as recorded
        vals = {
            "parts_out": out,
            "throughput_per_hour": out / obs * n_servers * 3600.0 if obs > 0 else math.nan,
            "availability": st[kt.BUSY] / pbt if pbt > 0 else math.nan,
            "energy_kwh": energy,
            "energy_per_part_kwh": energy / out if out > 0 else math.nan,
        }
        for code, name in enumerate(kt.STATE_NAMES):
            vals[f"state_fraction.{name}"] = st[code] / obs if obs > 0 else math.nan
        for k, v in vals.items():
            rows.setdefault(k, []).append(float(v))
    return {k: np.asarray(v) for k, v in rows.items()}


def _rec_values(ks: list) -> dict[str, float | None]:
    """The recorded KPIs of a station from the KPIs of its assets (one per server)."""
    obs = sum(k.observed_s for k in ks)
    out = sum(k.parts_out for k in ks)
    pbt = sum(k.planned_busy_s for k in ks)
    energy = None if any(k.energy_kwh is None for k in ks) else sum(k.energy_kwh for k in ks)
    vals = {
        "parts_out": out,
        # per hour of the station: its servers' mean observed time
        "throughput_per_hour": out / obs * len(ks) * 3600.0 if obs > 0 else None,
        "availability": sum(k.actual_production_s for k in ks) / pbt if pbt > 0 else None,
        "energy_kwh": energy,
        "energy_per_part_kwh": energy / out if energy is not None and out > 0 else None,
    }
    for name in kt.STATE_NAMES:
        vals[f"state_fraction.{name}"] = (sum(k.state_time_s[name] for k in ks) / obs
                                          if obs > 0 else None)
    return vals


def compare(station: str, kpi: str, recorded: float | None, sims: np.ndarray,
            level: float) -> KpiCheck:
    """Compare one recorded value with simulated replications (see the module docstring)."""
    x = sims[np.isfinite(sims)]
    r = len(x)
    mean = float(x.mean()) if r else math.nan
    if r >= 2:
        s = float(x.std(ddof=1))
        t = float(stats.t.ppf(0.5 + level / 2, r - 1))
        ci, half = t * s / math.sqrt(r), t * s * math.sqrt(1 + 1 / r)
    else:
        ci = half = math.nan
    lo, hi = mean - half, mean + half
    flagged, dev = False, 0.0
    if recorded is not None and math.isfinite(recorded) and r >= 2:
        tol = 1e-9 * max(abs(mean), 1.0)  # a KPI that never varies (e.g. 0) may match exactly
        if recorded < lo - tol or recorded > hi + tol:
            flagged = True
            gap = lo - recorded if recorded < lo else recorded - hi
            dev = gap / abs(mean) if mean != 0 else math.inf
    return KpiCheck(station, kpi, recorded, mean, ci, lo, hi, flagged, dev)


def validate(project: m.Project, recording: Recording, scenario: str | None = None, *,
             replications: int = 10, seed: int = 1, level: float = 0.95,
             assets: dict[str, str] | None = None, states: bool = True) -> ValidationReport:
    """Recorded KPIs beside a scenario's simulated KPIs over the same horizon.

    Parameters
    ----------
    project : twin.model.elements.Project
    recording : twin.recording.Recording
    scenario : str, optional
        Scenario to simulate (None: the project as it is).
    replications, seed : int
        Of the simulation.
    level : float
        Level of the prediction (and confidence) intervals.
    assets : dict, optional
        Recorded asset id -> station id or ``(station id, server)``; default each asset's
        ``element`` and ``server`` attributes. The assets of one station are pooled.
    states : bool
        Also compare the fraction of time in each state that occurs in either.

    Returns
    -------
    ValidationReport

    Raises
    ------
    ValueError
        If no asset maps to a station of the project, the mapping contradicts the project
        (``twin.whatif.calibration.CalibrationError``, see ``station_assets``), or fewer than 2
        replications.
    """
    from twin.whatif.calibration import station_assets

    if replications < 2:
        raise ValueError(f"replications={replications}: need at least 2 for an interval")
    groups, notes = station_assets(project, recording, replay_recording(recording), assets)
    rk = recording_kpis(recording)
    k0 = next(iter(rk.values()))
    horizon = k0.t1 - k0.t0
    name = scenario or "base"
    res = run_project(project, [name], RunSpec(horizon=horizon, warmup=0.0,
                                               replications=replications, seed=seed))
    sr = res.scenarios[name]
    rep = ValidationReport(str(recording.path), name, horizon, replications, level,
                           notes=notes)
    for el, members in groups.items():
        e = sr.lowered.element_ids.index(el)
        sims = _sim_values(sr, e)
        ks = [rk[a] for a, _ in members]
        rec = _rec_values(ks)
        keys = list(KPIS)
        if states:
            keys += [k for k in sims if k.startswith("state_fraction.")
                     and (np.any(sims[k] > 0) or (rec[k] or 0) > 0)]
        for key in keys:
            rep.checks.append(compare(el, key, rec[key], sims[key], level))
        n_srv = int(sr.lowered.arrays.el_i[e, kt.I_SERVERS])  # the scenario's
        if 1 < len(members) < n_srv or (len(members) == 1 < n_srv and members[0][1] is not None):
            rep.notes.append(f"station {el!r}: {len(members)} of its {n_srv} servers recorded "
                             f"({[a for a, _ in members]}): its recorded parts and energy "
                             "cover those only, the simulated ones the whole station")
        for k in ks:
            if k.observed_s < horizon * (1 - 1e-9):
                rep.notes.append(f"asset {k.asset_id!r}: {horizon - k.observed_s:.0f} s "
                                 "without data (gaps, unknown states) are left out of its "
                                 "recorded KPIs")
    rep.notes.append("the simulation starts with an empty line at the recording's start")
    return rep
