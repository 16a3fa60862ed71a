"""Energy figures per shift (issue 19 §3), for simulated runs and recordings alike.

A *shift* is one of the calendar's ``shifts`` (``$.calendar.shifts[i]``), named by its
``name`` or, unnamed, ``shift<i+1>``; a dot in a name becomes ``_`` (KPI names nest on
dots). Its *occurrences* are the spans ``[k * period + start, k * period + end)`` of each
cycle ``k`` of the calendar, breaks included (a break is part of the shift it cuts).
Cycles count from the simulation's time 0, Monday 00:00; for a recording from local
Monday 00:00 on the wall clock of the tariff's time zone (so a daily calendar's cycles
are local days, a weekly one's local weeks).

Per shift, over its occurrences inside ``[t0, t1]`` (an occurrence cut by ``t0`` or
``t1`` counts for the share of it inside):

- ``energy_kwh``, ``energy_cost_energy`` (the energy part: kWh times the price), ``co2_kg``
  and ``good_parts``, each per occurrence (their sums over the occurrences divided by
  the number of occurrences);
- ``peak_kw_15min``: the highest 15-minute mean power in any of its occurrences (a window
  cut by the shift's start or end is averaged over the part inside the shift);
- ``energy_cost_per_part`` and ``co2_kg_per_part``: its energy part and CO2 per good part
  made in it.

Each station (each asset of a recording) gets its own ``energy_kwh``,
``energy_cost_energy`` and ``co2_kg`` per occurrence of each shift the same way
(``elements.<id>.shifts.<name>.*``); they add up to the line's.

The demand part is not split into shifts: it bills the billing period's highest 15-minute
mean, whichever shift drew it. :func:`per_shift` gives the line's cost with it and its
CO2 divided by all occurrences of all shifts (``energy_cost_per_shift``,
``co2_kg_per_shift``), which counts the energy drawn outside the shifts too.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np

from twin.energy import Clock, figures
from twin.model import elements as m


def shift_names(calendar: m.Calendar) -> list[str]:
    """The KPI name of each of the calendar's shifts, in its order; a name used twice gets
    its index (``early``, ``early_2``)."""
    out: list[str] = []
    for i, p in enumerate(calendar.shifts):
        name = (p.name or f"shift{i + 1}").replace(".", "_")
        out.append(name if name not in out else f"{name}_{i + 1}")
    return out


def shift_spans(calendar: m.Calendar, clock: Clock, t0: float, t1: float
                ) -> list[tuple[str, float, float]]:
    """``(shift name, start, end)`` of each occurrence that overlaps ``[t0, t1]``, not
    clipped, in order of start."""
    names = shift_names(calendar)
    period = calendar.period
    if clock.series_from_origin:  # a simulation: cycles from time 0
        def at(k: int, s: float) -> float:
            return k * period + s
        k0 = math.floor(t0 / period) - 1
    else:  # a recording: cycles from local Monday 00:00 on or before the day before t0
        day = datetime.fromtimestamp(clock.origin + t0, clock.tz).date() - timedelta(days=1)
        anchor = day - timedelta(days=day.weekday())
        def at(k: int, s: float) -> float:  # noqa: E306  (wall time: clock changes count)
            return clock.wall(anchor, k * period + s)
        k0 = 0
    out = []
    k = k0
    while at(k, 0.0) <= t1:
        for name, p in zip(names, calendar.shifts, strict=True):
            a, b = at(k, p.start), at(k, p.end)
            if b > t0 and a < t1:
                out.append((name, a, b))
        k += 1
    return sorted(out, key=lambda x: x[1])


def shift_edges(calendar: m.Calendar | None, horizon: float) -> np.ndarray:
    """The starts and ends of the shifts' occurrences in ``[0, horizon]`` of a simulation
    (the sample grid holds them, so the figures per shift are exact)."""
    if calendar is None:
        return np.empty(0)
    spans = shift_spans(calendar, Clock.simulation(), 0.0, horizon)
    t = np.asarray([x for _, a, b in spans for x in (a, b)], float)
    return t[(t >= 0.0) & (t <= horizon)]


def per_shift(tariff: m.Tariff, calendar: m.Calendar, clock: Clock, t: np.ndarray,
              e_kwh: np.ndarray, good: np.ndarray, t0: float, t1: float,
              line_cost: float, line_co2: float) -> dict[str, float]:
    """The figures of each shift of ``calendar`` (``shifts.<name>.<figure>``, see the
    module) and the line's ``energy_cost_per_shift`` and ``co2_kg_per_shift``, from the
    line's cumulative kWh ``e_kwh`` and good parts ``good`` at times ``t`` (both linear in
    between; exact when ``t`` holds the shifts' edges) over ``[t0, t1]``.

    ``e_kwh`` may have more columns (the line in column 0, then one per station or asset):
    ``shifts.<name>.<j>.<figure>`` then gives column ``j``'s (1, 2, ...) ``energy_kwh``,
    ``energy_cost_energy`` and ``co2_kg`` per occurrence (:func:`element_shifts` names
    them)."""
    t, good = np.asarray(t, float), np.asarray(good, float)
    e = np.asarray(e_kwh, float)
    e = e[:, None] if e.ndim == 1 else e
    cols = e.shape[1]
    acc: dict[str, dict] = {n: {"n": 0.0, "energy_kwh": np.zeros(cols),
                                "energy_cost_energy": np.zeros(cols),
                                "co2_kg": np.zeros(cols), "good_parts": 0.0,
                                "peak_kw_15min": 0.0}
                            for n in shift_names(calendar)}
    for name, a, b in shift_spans(calendar, clock, t0, t1):
        lo, hi = max(a, t0), min(b, t1)
        if hi <= lo:
            continue
        # the samples around the occurrence only: the same interpolation, without the rest
        i0 = max(int(np.searchsorted(t, lo, side="right")) - 1, 0)
        i1 = int(np.searchsorted(t, hi, side="left")) + 1
        ts, es, gs = t[i0:i1], e[i0:i1], good[i0:i1]
        f = figures(tariff, clock, ts, es, lo, hi)
        s = acc[name]
        s["n"] += (hi - lo) / (b - a)
        s["energy_kwh"] += f.energy_kwh
        s["energy_cost_energy"] += f.energy_cost
        s["co2_kg"] += f.co2_kg
        s["good_parts"] += float(np.interp(hi, ts, gs) - np.interp(lo, ts, gs))
        s["peak_kw_15min"] = max(s["peak_kw_15min"], float(f.peak_kw_15min[0]))
    out: dict[str, float] = {}
    total = sum(s["n"] for s in acc.values())
    out["energy_cost_per_shift"] = line_cost / total if total > 0 else math.nan
    out["co2_kg_per_shift"] = line_co2 / total if total > 0 else math.nan
    for name, s in acc.items():
        n = s.pop("n")
        p = f"shifts.{name}."
        for k in ("energy_kwh", "energy_cost_energy", "co2_kg"):
            for j in range(cols):
                out[p + (f"{j}." if j else "") + k] = float(s[k][j]) / n if n > 0 else math.nan
        out[p + "good_parts"] = s["good_parts"] / n if n > 0 else math.nan
        out[p + "peak_kw_15min"] = s["peak_kw_15min"] if n > 0 else math.nan
        g = s["good_parts"]
        out[p + "energy_cost_per_part"] = (float(s["energy_cost_energy"][0]) / g if g > 0
                                           else math.nan)
        out[p + "co2_kg_per_part"] = float(s["co2_kg"][0]) / g if g > 0 else math.nan
    return out


#: The figures :func:`element_shifts` gives each station or asset per shift.
ELEMENT_FIGURES = ("energy_kwh", "energy_cost_energy", "co2_kg")


def element_shifts(figs: dict[str, float], ids: list[str]
                   ) -> tuple[dict[str, float], dict[str, dict[str, dict[str, float]]]]:
    """Split the output of :func:`per_shift` with station (asset) columns ``ids`` (in
    column order, 1, 2, ...) into the line's figures and, per id, ``{shift: {figure:
    value}}`` (energy, energy part of the cost and CO2 per occurrence of the shift)."""
    line: dict[str, float] = {}
    per: dict[str, dict[str, dict[str, float]]] = {i: {} for i in ids}
    for key, v in figs.items():
        parts = key.split(".")
        if len(parts) == 4:  # shifts.<name>.<column>.<figure>
            per[ids[int(parts[2]) - 1]].setdefault(parts[1], {})[parts[3]] = v
        else:
            line[key] = v
    return line, per
