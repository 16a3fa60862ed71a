"""The ``workers`` section of ``project.json`` and a station's ``workers`` field (issue 18 §3).

``$.workers`` lists the worker pools; a station's ``workers`` names, per task, the pool (or
the skill) it takes a worker from. Both are optional (a project without them has no workers;
no migration). Every problem is named with its JSON path (``$.workers[1].speed``,
``$.elements[3].workers.repair.pool``); the format is in docs/project-format.md ("workers").
"""

from __future__ import annotations

from twin import limits
from twin.errors import Problems
from twin.model.workers import TASKS, StationWorkers, WorkerNeed, WorkerPool
from twin.projectfile.fields import FieldReader

_POOL_FIELDS = {"id", "name", "count", "skills", "speed", "follows_calendar", "home"}
_STATION_FIELDS = {*TASKS, "priority"}
#: Most people in one pool, and pools in one project (a task's pools are a 62-bit mask).
MAX_WORKERS = 10_000
MAX_POOLS = 62


def _skills(v, path: str, problems: Problems) -> tuple[str, ...]:
    if v is None:
        return ()
    if not isinstance(v, list) or any(not isinstance(x, str) or not x
                                      or len(x) > limits.MAX_ID_CHARS for x in v):
        problems.add(path, f"must be a list of skill names (non-empty strings of at most "
                     f"{limits.MAX_ID_CHARS} characters)", v)
        return ()
    return tuple(v)


def read_worker_pools(v, problems: Problems) -> list[WorkerPool]:
    """The pools of ``$.workers`` (None: no pools)."""
    if v is None:
        return []
    if not isinstance(v, list):
        problems.add("$.workers", "must be a list of worker pools, e.g. "
                     '[{"id": "technicians", "count": 2}]', v)
        return []
    if len(v) > MAX_POOLS:
        problems.add("$.workers", f"at most {MAX_POOLS} worker pools", len(v))
        return []
    pools, seen = [], {}
    for i, obj in enumerate(v):
        path = f"$.workers[{i}]"
        if not isinstance(obj, dict):
            problems.add(path, 'expected a pool object, e.g. {"id": "operators", "count": 2}',
                         obj)
            continue
        r = FieldReader(obj, path, problems, _POOL_FIELDS)
        pid = r.string("id", limit=limits.MAX_ID_CHARS)
        if not pid:
            problems.add(f"{path}.id", "every worker pool needs a non-empty string id",
                         obj.get("id"))
            continue
        if pid in seen:
            problems.add(f"{path}.id", f"duplicate pool id (first used by $.workers"
                         f"[{seen[pid]}])", pid)
            continue
        seen[pid] = i
        pools.append(WorkerPool(
            id=pid, name=r.string("name", ""),
            count=r.number("count", 1, lo=1, hi=MAX_WORKERS, integer=True),
            skills=_skills(obj.get("skills"), f"{path}.skills", problems),
            speed=r.number("speed", 1.0, lo=limits.MIN_SPEED_M_S, hi=limits.MAX_SPEED_M_S),
            follows_calendar=r.boolean("follows_calendar", False),
            home=r.string("home", "", limit=limits.MAX_ID_CHARS)))
    return pools


def _need(v, path: str, problems: Problems) -> WorkerNeed | None:
    if v is None:
        return None
    if isinstance(v, str):  # the short form: a pool id
        v = {"pool": v}
    if not isinstance(v, dict):
        problems.add(path, 'expected a pool id or {"pool": ..., "skill": ...}', v)
        return None
    r = FieldReader(v, path, problems, {"pool", "skill"})
    need = WorkerNeed(pool=r.string("pool", "", limit=limits.MAX_ID_CHARS),
                      skill=r.string("skill", "", limit=limits.MAX_ID_CHARS))
    if not need.pool and not need.skill:
        problems.add(path, "names no 'pool' and no 'skill': give the pool a worker comes "
                     "from, or a skill any pool with it may send", v)
        return None
    return need


def read_station_workers(obj, path: str, problems: Problems) -> StationWorkers | None:
    """A station's ``workers`` field (None: its tasks need nobody)."""
    if obj is None:
        return None
    if not isinstance(obj, dict):
        problems.add(path, 'must be an object such as {"repair": "technicians"}', obj)
        return None
    r = FieldReader(obj, path, problems, _STATION_FIELDS)
    return StationWorkers(**{t: _need(obj.get(t), f"{path}.{t}", problems) for t in TASKS},
                          priority=r.number("priority", 0, lo=-1000, hi=1000, integer=True))


def check_workers(project, problems: Problems, index: dict[str, int]) -> None:
    """What only the whole project tells: each need names a pool that exists (or a skill
    some pool has, or that its pool has), each home an element of the project."""
    for i, p in enumerate(project.workers):
        if p.home and p.home not in index:
            problems.add(f"$.workers[{i}].home", "is not an element of this project", p.home)
    for el in project.elements:
        check_station_workers(project.workers, el, f"$.elements[{index[el.id]}]", problems)


def check_station_workers(pools: list[WorkerPool], el, path: str, problems: Problems) -> None:
    """What station ``el`` (at ``path``) needs of the pools ``pools``: each need names a pool
    that exists, a skill some pool has, or a skill its pool has (the inspector checks a
    typed ``workers`` field with it, the file reader every station)."""
    needs = getattr(el, "workers", None)
    if needs is None:
        return
    by_id = {p.id: p for p in pools}
    for task in TASKS:
        need = needs.need(task)
        if need is None:
            continue
        where = f"{path}.workers.{task}"
        if need.pool and need.pool not in by_id:
            known = ", ".join(by_id) or "none: add one to $.workers"
            problems.add(f"{where}.pool", f"station {el.id!r}: no worker pool with this id "
                         f"(pools: {known})", need.pool)
        elif need.pool and need.skill and need.skill not in by_id[need.pool].skills:
            problems.add(f"{where}.skill", f"station {el.id!r}: pool {need.pool!r} has not "
                         f"this skill (it has {list(by_id[need.pool].skills)})", need.skill)
        elif not need.pool and not need.pools(pools):
            problems.add(f"{where}.skill", f"station {el.id!r}: no worker pool has this "
                         "skill; list it in a pool's skills", need.skill)
        if task == "repair" and el.failures is None:
            problems.add(where, f"station {el.id!r} never fails (it has no failures), so "
                         "no repair needs a worker: remove it or give the station failures")


def pools_to_json(pools: list[WorkerPool]) -> list[dict]:
    out = []
    for p in pools:
        d: dict = {"id": p.id}
        if p.name:
            d["name"] = p.name
        d["count"] = p.count
        if p.skills:
            d["skills"] = list(p.skills)
        d["speed"] = p.speed
        if p.follows_calendar:
            d["follows_calendar"] = True
        if p.home:
            d["home"] = p.home
        out.append(d)
    return out


def station_workers_to_json(w: StationWorkers) -> dict:
    out: dict = {}
    for task in TASKS:
        need = w.need(task)
        if need is None:
            continue
        out[task] = (need.pool if not need.skill else
                     {**({"pool": need.pool} if need.pool else {}), "skill": need.skill})
    if w.priority:
        out["priority"] = w.priority
    return out
