"""The ``alerts`` section of ``project.json``: the shadow twin's alert rules.

Optional (a project without it has no rules; no migration). Read into
:class:`twin.model.elements.AlertSettings`, every problem named with its JSON path
(``$.alerts.rules[2].longer_than``), and written back as it was read, so that the
workbench's save keeps it. The rules are evaluated by :mod:`twin.shadow.alerts`; the format
is documented in ``docs/project-format.md`` ("alerts").
"""

from __future__ import annotations

import math

from twin import limits
from twin.errors import Problems
from twin.model import elements as m
from twin.projectfile.lists import objects
from twin.units import parse_duration

#: Fields of each kind of rule (besides ``kind``, ``id``, ``severity``, and ``x-`` fields).
FIELDS = {
    "state": {"elements", "states", "longer_than"},
    "shift_target": {"above", "clear_below"},
    "peak_power": {"limit_kw", "clear_below_kw", "within", "above"},
    "drift": {"elements", "quantities", "ratio", "arl", "min_change"},
    "no_data": {"elements", "scope", "longer_than"},
}
#: The quantities a drift rule may name (twin.shadow.drift.QUANTITIES).
DRIFT_QUANTITIES = ("time_to_failure", "time_to_repair", "cycle_time", "power")
#: Most rules a project may hold.
MAX_RULES = 200
#: Highest in-control run length a drift rule may ask (observations).
MAX_ARL = 1e6
#: Widest indifference zone of a drift rule: a half is a change from 1x to 1.5x or 0.5x.
MAX_MIN_CHANGE = 0.5


def _duration(obj: dict, key: str, path: str, problems: Problems, default: float,
              required: bool = False) -> float:
    if key not in obj:
        if required:
            problems.add(f"{path}.{key}", 'is required: a time such as "10min" or 600 '
                         "(seconds)")
        return default
    try:
        v = parse_duration(obj[key])
    except ValueError as e:
        problems.add(f"{path}.{key}", str(e), obj[key])
        return default
    if not 0 <= v <= limits.MAX_TIME_S:
        problems.add(f"{path}.{key}", f"must be >= 0 and <= {limits.MAX_TIME_S:g} s", obj[key])
        return default
    return v


def _number(obj: dict, key: str, path: str, problems: Problems, default, lo: float,
            hi: float, what: str, lo_open: bool = False, required: bool = False):
    if key not in obj or obj[key] is None:
        if required:
            problems.add(f"{path}.{key}", f"is required: {what}")
        return default
    v = obj[key]
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or \
            v < lo or v > hi or (lo_open and v == lo):
        problems.add(f"{path}.{key}", f"must be {what} ({'>' if lo_open else '>='} {lo:g} and "
                     f"<= {hi:g})", v)
        return default
    return float(v)


def _names(obj: dict, key: str, path: str, problems: Problems, choices=None,
           known=None, what: str = "", stale: Problems | None = None) -> tuple[str, ...]:
    if key not in obj:
        return ()
    v = obj[key]
    if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
        problems.add(f"{path}.{key}", "must be a list of names", v)
        return ()
    for i, x in enumerate(v):
        if choices is not None and x not in choices:
            problems.add(f"{path}.{key}[{i}]", f"expected one of {list(choices)}", x)
        elif known is not None and x not in known:
            (problems if stale is None else stale).add(
                f"{path}.{key}[{i}]", f"is not {what} of this project (deleted?); known: "
                f"{', '.join(sorted(known)[:20]) or 'none'}; remove it from the rule", x)
    return tuple(v)


def _min_change(r: dict, path: str, problems: Problems) -> tuple[tuple[str, float], ...]:
    """A drift rule's ``min_change``: one fraction for every quantity, or one per quantity."""
    if "min_change" not in r:
        return ()
    v = r["min_change"]
    what = "the smallest change worth an alarm, a fraction such as 0.05 (5%)"
    if isinstance(v, dict):
        out = []
        for q in v:
            if q not in DRIFT_QUANTITIES:
                problems.add(f"{path}.min_change.{q}", f"unknown quantity; expected one of "
                             f"{list(DRIFT_QUANTITIES)}")
                continue
            k = _number(v, q, f"{path}.min_change", problems, None, 0.0, MAX_MIN_CHANGE,
                        what)
            if k is not None:
                out.append((q, k))
        return tuple(out)
    k = _number(r, "min_change", path, problems, None, 0.0, MAX_MIN_CHANGE,
                what + ', or an object such as {"cycle_time": 0.05}')
    return () if k is None else tuple((q, k) for q in DRIFT_QUANTITIES)


def read_alerts(obj, problems: Problems, project: m.Project | None = None,
                path: str = "$.alerts", stale: Problems | None = None
                ) -> m.AlertSettings | None:
    """Read the ``alerts`` section (``None``: none); problems are added with their paths.

    ``project`` gives the station and element ids a rule may name (without it names are not
    checked). A rule naming an element the project lacks (deleted in the workbench) is
    added to ``stale`` when given (the reader's faults of the flow, which the workbench
    keeps rather than refusing the project) and the rule is kept: it watches nothing there.
    """
    if obj is None:
        return None
    if not isinstance(obj, dict):
        problems.add(path, 'must be an object: {"shift_target": ..., "rules": [...]}', obj)
        return None
    for key in obj:
        if key not in ("shift_target", "rules") and not key.startswith("x-"):
            problems.add(f"{path}.{key}", "unknown field; expected one of ['rules', "
                         "'shift_target'] (prefix custom fields with 'x-')")
    target = _number(obj, "shift_target", path, problems, None, 0.0, 1e12,
                     "the good parts a shift should make", lo_open=True)
    raw = objects(obj.get("rules", []), f"{path}.rules", problems,
                  not_list="must be a list of rules", none_is_empty=False,
                  not_object='expected a rule object with a "kind"', limit=MAX_RULES,
                  what="rules")
    stations = elements = None
    if project is not None:
        stations = {s.id for s in project.stations()}
        elements = {e.id for e in project.elements}
        elements |= {f"{s.id}#{k}" for s in project.stations() for k in range(s.servers)}
    rules, ids = [], {}
    for i, rp, r in raw:
        rule = _read_rule(r, rp, problems, stations, elements, stale)
        if rule is None:
            continue
        rid = rule.id or f"{rule.kind}-{i + 1}"
        if rid in ids:
            problems.add(f"{path}.rules[{i}].id", f"duplicate id (first used by "
                         f"{path}.rules[{ids[rid]}]); give each rule its own id", rid)
            continue
        ids[rid] = i
        rules.append(rule)
    if any(r.kind == "shift_target" for r in rules) and target is None:
        problems.add(f"{path}.shift_target", "a shift_target rule needs the shift's target: "
                     "give the good parts a shift should make, e.g. 2400")
    return m.AlertSettings(tuple(rules), target)


def _read_rule(r, path: str, problems: Problems, stations, elements,
               stale: Problems | None = None) -> m.AlertRule | None:
    kind = r.get("kind")
    if kind not in m.ALERT_KINDS:
        problems.add(f"{path}.kind", f"expected one of {list(m.ALERT_KINDS)}", kind)
        return None
    n0 = len(problems.items)
    allowed = FIELDS[kind] | {"kind", "id", "severity"}
    for key in r:
        if key not in allowed and not key.startswith("x-"):
            problems.add(f"{path}.{key}", f"unknown field for a {kind} rule; expected one of "
                         f"{sorted(allowed)}")
    rid = r.get("id", "")
    if not isinstance(rid, str) or len(rid) > limits.MAX_ID_CHARS:
        problems.add(f"{path}.id", f"must be a text of at most {limits.MAX_ID_CHARS} "
                     "characters", rid)
        rid = ""
    sev = r.get("severity", "warning")
    if sev not in m.ALERT_SEVERITIES:
        problems.add(f"{path}.severity", f"expected one of {list(m.ALERT_SEVERITIES)}", sev)
    kw: dict = {"kind": kind, "id": rid, "severity": sev,
                "extra": {k: v for k, v in r.items() if k.startswith("x-")}}
    if kind == "state":
        kw["elements"] = _names(r, "elements", path, problems, known=stations,
                                what="a station", stale=stale)
        kw["states"] = _names(r, "states", path, problems, choices=m.STATION_STATES) \
            or ("down",)
        kw["longer_than"] = _duration(r, "longer_than", path, problems, 0.0, required=True)
    elif kind == "shift_target":
        kw["above"] = _number(r, "above", path, problems, 0.5, 0.0, 1.0,
                              "a probability", lo_open=True, required=True)
        kw["clear_below"] = _number(r, "clear_below", path, problems, None, 0.0, 1.0,
                                    "a probability")
        if kw["clear_below"] is not None and kw["clear_below"] > kw["above"]:
            problems.add(f"{path}.clear_below", f"must not exceed above ({kw['above']:g}): "
                         "an alert clears below what raised it", kw["clear_below"])
    elif kind == "peak_power":
        kw["limit_kw"] = _number(r, "limit_kw", path, problems, 0.0, 0.0, 1e9,
                                 "the contracted 15-minute peak in kW", lo_open=True,
                                 required=True)
        kw["clear_below"] = _number(r, "clear_below_kw", path, problems, None, 0.0, 1e9,
                                    "a power in kW")
        if kw["clear_below"] is not None and kw["clear_below"] > kw["limit_kw"]:
            problems.add(f"{path}.clear_below_kw", f"must not exceed limit_kw "
                         f"({kw['limit_kw']:g})", kw["clear_below"])
        kw["within"] = _duration(r, "within", path, problems, 0.0)
        kw["above"] = _number(r, "above", path, problems, 0.5, 0.0, 1.0, "a probability",
                              lo_open=True)
    elif kind == "drift":
        kw["elements"] = _names(r, "elements", path, problems, known=stations,
                                what="a station", stale=stale)
        kw["quantities"] = _names(r, "quantities", path, problems, choices=DRIFT_QUANTITIES)
        kw["ratio"] = _number(r, "ratio", path, problems, 2.0, 1.0, 100.0,
                              "the change to detect, e.g. 2 (twice as long)", lo_open=True)
        kw["arl"] = _number(r, "arl", path, problems, 10000.0, 10.0, MAX_ARL,
                            "observations to a false alarm on average")
        kw["min_change"] = _min_change(r, path, problems)
    else:  # no_data
        kw["elements"] = _names(r, "elements", path, problems, known=elements,
                                what="an element (or <station>#<server>)", stale=stale)
        scope = r.get("scope", "asset" if kw["elements"] else "source")
        if scope not in ("source", "asset"):
            problems.add(f"{path}.scope", "expected 'source' (no reading at all) or 'asset' "
                         "(no reading from an asset)", scope)
            scope = "source"
        kw["scope"] = scope
        kw["longer_than"] = _duration(r, "longer_than", path, problems, 0.0, required=True)
    if kind in ("state", "no_data") and kw["longer_than"] <= 0 and "longer_than" in r \
            and len(problems.items) == n0:
        problems.add(f"{path}.longer_than", "must be longer than 0 s", r["longer_than"])
    if len(problems.items) > n0:
        return None
    return m.AlertRule(**kw)


def alerts_to_json(a: m.AlertSettings) -> dict:
    """The ``alerts`` section as :func:`read_alerts` reads it back."""
    d = m.AlertRule("state")
    out: dict = {}
    if a.shift_target is not None:
        out["shift_target"] = a.shift_target
    rules = []
    for r in a.rules:
        j: dict = {"kind": r.kind}
        if r.id:
            j["id"] = r.id
        if r.severity != d.severity:
            j["severity"] = r.severity
        fields = FIELDS[r.kind]
        for key in ("elements", "states", "quantities"):
            if key in fields and getattr(r, key) and (key != "states" or r.states != d.states):
                j[key] = list(getattr(r, key))
        for key in ("longer_than", "above", "limit_kw", "within", "ratio", "arl"):
            if key in fields and (getattr(r, key) != getattr(d, key) or key in
                                  ("longer_than", "limit_kw")):
                j[key] = getattr(r, key)
        if r.clear_below is not None:
            j["clear_below_kw" if r.kind == "peak_power" else "clear_below"] = r.clear_below
        if r.kind == "drift" and r.min_change:
            j["min_change"] = dict(r.min_change)
        if r.kind == "no_data":
            j["scope"] = r.scope
        if r.kind == "shift_target":
            j["above"] = r.above
        j.update(r.extra)
        rules.append(j)
    out["rules"] = rules
    return out
