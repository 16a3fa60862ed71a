"""The project's ``demand_response`` list (issue 19 §2): windows in which chosen stations
pause after their current part or run slower (``kernels/demand.py``).

Optional (a project without it has no windows; no migration). Every problem names its JSON
path (``$.demand_response[0].windows[1]``); the format is in docs/project-format.md
("Demand response") and the behaviour in docs/semantics.md.
"""

from __future__ import annotations

import math

from twin import limits
from twin.errors import Problems
from twin.model import elements as m
from twin.projectfile.fields import FieldReader

FIELDS = {"stations", "windows", "action", "speed", "repeat"}
#: The most boundaries (two per window and station) a project may have in all.
MAX_BOUNDARIES = 100_000
_EXAMPLE = ('e.g. [{"stations": ["press"], "windows": [[3600, 7200]], "action": "pause"}]')


def read_demand_response(obj, problems: Problems, station_ids: set[str]
                         ) -> list[m.DemandResponse]:
    """The entries of ``$.demand_response`` (those with problems left out, their problems
    added); ``station_ids``: the ids of the project's stations."""
    if obj is None:
        return []
    if not isinstance(obj, list):
        problems.add("$.demand_response", f"must be a list, {_EXAMPLE}", obj)
        return []
    out = []
    for i, entry in enumerate(obj):
        dr = _read_entry(entry, f"$.demand_response[{i}]", problems, station_ids)
        if dr is not None:
            out.append(dr)
    check_overlap(out, problems)
    n = 2 * sum(len(d.windows) * len(d.stations) for d in out)
    if n > MAX_BOUNDARIES:
        problems.add("$.demand_response", f"has {n:,} window boundaries over its stations, "
                     f"more than {MAX_BOUNDARIES:,}; use fewer windows", len(obj))
    return out


def _read_entry(obj, path: str, problems: Problems, station_ids: set[str]):
    if not isinstance(obj, dict):
        problems.add(path, f"must be an object, {_EXAMPLE}", obj)
        return None
    n = len(problems.items)
    r = FieldReader(obj, path, problems, FIELDS)
    action = r.string("action", "pause", m.DEMAND_ACTIONS)
    speed = r.number("speed", 1.0, lo=0.0, hi=1.0, lo_open=True)
    if action == "slow" and obj.get("speed") is None:
        problems.add(f"{path}.speed", "is required with action 'slow': the fraction of the "
                     "normal speed, > 0 and <= 1, e.g. 0.7")
    repeat = r.duration("repeat", 0.0)
    stations = _stations(obj.get("stations"), f"{path}.stations", problems, station_ids)
    windows = _windows(obj.get("windows"), f"{path}.windows", problems)
    if repeat and windows and windows[-1][1] - windows[0][0] > repeat:
        problems.add(f"{path}.repeat", f"is shorter than the windows it repeats (from "
                     f"{windows[0][0]:g} s to {windows[-1][1]:g} s): they would overlap their "
                     f"next occurrence; repeat every {windows[-1][1] - windows[0][0]:g} s or "
                     "more, e.g. \"1d\"", obj.get("repeat"))
    elif 0 < repeat < 1.0:
        problems.add(f"{path}.repeat", "must be at least 1 s (0 or none: the windows come "
                     "once)", obj.get("repeat"))
    if len(problems.items) > n:
        return None
    return m.DemandResponse(stations, windows, action, speed, repeat)


def _stations(raw, path: str, problems: Problems, station_ids: set[str]) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw:
        problems.add(path, 'must be a non-empty list of station ids, e.g. ["press"]', raw)
        return ()
    for j, sid in enumerate(raw):
        if not isinstance(sid, str) or sid not in station_ids:
            problems.add(f"{path}[{j}]", "is not the id of a station of this project; "
                         f"expected one of {sorted(station_ids)}", sid)
        elif sid in raw[:j]:
            problems.add(f"{path}[{j}]", "is listed twice; list each station once", sid)
    return tuple(raw)


def _windows(raw, path: str, problems: Problems) -> tuple[tuple[float, float], ...]:
    if not isinstance(raw, list) or not raw:
        problems.add(path, "must be a non-empty list of [start, end] pairs in seconds from "
                     "time 0, e.g. [[3600, 7200]]", raw)
        return ()
    out = []
    for j, w in enumerate(raw):
        p = f"{path}[{j}]"
        if (not isinstance(w, list) or len(w) != 2
                or any(isinstance(v, bool) or not isinstance(v, int | float)
                       or not math.isfinite(v) for v in w)):
            problems.add(p, "must be a [start, end] pair of numbers (seconds from time 0), "
                         "e.g. [3600, 7200]", w)
            continue
        a, b = float(w[0]), float(w[1])
        if a < 0.0 or b > limits.MAX_TIME_S:
            problems.add(p, f"must lie between 0 and {limits.MAX_TIME_S:g} s", w)
        elif b <= a:
            problems.add(p, "ends before it starts: the end must be after the start, "
                         f"e.g. [{a:g}, {a + 3600:g}]", w)
        else:
            out.append((a, b, j))
    out.sort()
    for (_, b, j), (c, _, k) in zip(out, out[1:], strict=False):
        if c < b:
            problems.add(f"{path}[{max(j, k)}]", f"overlaps {path}[{min(j, k)}]; merge the "
                         "two windows or make one end before the other starts", raw[max(j, k)])
    return tuple((a, b) for a, b, _ in out)


def occurrences(dr: m.DemandResponse, until: float) -> list[tuple[float, float]]:
    """The windows of ``dr``; with ``dr.repeat``, every occurrence that starts before
    ``until``."""
    if not dr.repeat:
        return list(dr.windows)
    n = max(math.ceil((until - dr.windows[0][0]) / dr.repeat), 0)
    return [(a + k * dr.repeat, b + k * dr.repeat) for k in range(n) for a, b in dr.windows
            if a + k * dr.repeat < until]


def count_boundaries(entries: list[m.DemandResponse], until: float) -> int:
    """The window boundaries (two per window and station) the entries have before
    ``until``, without listing them."""
    n = 0
    for dr in entries:
        reps = (max(math.ceil((until - dr.windows[0][0]) / dr.repeat), 0) if dr.repeat
                else 1)
        n += 2 * len(dr.stations) * len(dr.windows) * reps
    return n


def check_overlap(entries: list[m.DemandResponse], problems: Problems,
                  until: float | None = None) -> None:
    """A station's windows of different entries must not overlap either: their first
    occurrences (the reader), or every occurrence before ``until`` (a run's horizon, for
    entries that repeat)."""
    seen: dict[str, list[tuple[float, float, int]]] = {}
    for i, dr in enumerate(entries):
        windows = dr.windows if until is None else occurrences(dr, until)
        for sid in dr.stations:
            for a, b in windows:
                for c, d, k in seen.get(sid, []):
                    if a < d and c < b:
                        problems.add(f"$.demand_response[{i}].windows", f"a window of station "
                                     f"{sid!r} overlaps one of $.demand_response[{k}]; a "
                                     "station follows one window at a time", [a, b])
                        return
                seen.setdefault(sid, []).append((a, b, i))


def demand_response_to_json(dr: m.DemandResponse) -> dict:
    """An entry as written in ``project.json`` (defaults left out)."""
    out: dict = {"stations": list(dr.stations), "windows": [[a, b] for a, b in dr.windows]}
    if dr.action != "pause":
        out["action"] = dr.action
    if dr.action == "slow":
        out["speed"] = dr.speed
    if dr.repeat:
        out["repeat"] = dr.repeat
    return out
