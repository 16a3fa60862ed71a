"""A station's ``energy_saving`` field (issue 19 §2): standby or switch-off when idle.

Optional (a station without it never saves energy; no migration). Every problem names its
JSON path (``$.elements[2].energy_saving.after_s``); the format is in
docs/project-format.md ("Energy saving") and the behaviour in docs/semantics.md.
"""

from __future__ import annotations

from twin import limits
from twin.errors import Problems
from twin.model import elements as m
from twin.projectfile.fields import FieldReader

FIELDS = {"after_s", "mode", "when", "restart_s", "restart_kwh"}
#: The most energy one restart may use (kWh); more is a typing error (a whole shift's worth).
MAX_RESTART_KWH = 1e4


def read_energy_saving(obj, path: str, problems: Problems) -> m.EnergySaving | None:
    """The policy at ``path`` (None: absent or unreadable, its problems added)."""
    if obj is None:
        return None
    if not isinstance(obj, dict):
        problems.add(path, 'must be an object, e.g. {"after_s": 120, "mode": "standby", '
                     '"restart_s": 30}', obj)
        return None
    n = len(problems.items)
    r = FieldReader(obj, path, problems, FIELDS)
    if obj.get("after_s") is None:
        problems.add(f"{path}.after_s", "is required: the seconds of starving (or blocking) "
                     "after which the station saves energy, e.g. 120")
    after = r.number("after_s", 0.0, lo=0.0, hi=limits.MAX_TIME_S)
    mode = r.string("mode", "standby", m.ENERGY_SAVING_MODES)
    when = r.string("when", "starved", m.ENERGY_SAVING_WHEN)
    restart = r.dist("restart_s")
    kwh = r.number("restart_kwh", 0.0, lo=0.0, hi=MAX_RESTART_KWH)
    if len(problems.items) > n:
        return None
    return m.EnergySaving(after, mode, when, restart, kwh)


def energy_saving_to_json(es: m.EnergySaving) -> dict:
    """The policy as written in ``project.json`` (defaults left out)."""
    out: dict = {"after_s": es.after_s}
    if es.mode != "standby":
        out["mode"] = es.mode
    if es.when != "starved":
        out["when"] = es.when
    if es.restart is not None:
        out["restart_s"] = es.restart.to_json()
    if es.restart_kwh:
        out["restart_kwh"] = es.restart_kwh
    return out
