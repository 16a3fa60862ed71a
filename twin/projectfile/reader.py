"""The project file: ``project.json`` in a project folder, human-diffable and versioned.

Reading collects every problem (bad JSON, unknown kinds, bad parameters, structural faults)
with its JSON path before raising one ``ProjectError``. What does not stop a project from
opening (a station's mesh file missing from the folder) is collected the same way into
``Project.warnings``, for the workbench's log and ``twinbench check`` to show. Faults of the
flow (``check_structure``: a half-built line, an empty project) stop a run but not an editor:
read with ``strict=False`` they are kept in ``Project.problems`` instead of raised, so that
every layout the workbench can save opens again (``require_runnable`` raises them). Old schema
versions migrate forward through ``MIGRATIONS``. Writing lives in ``twin.projectfile.writer``
(re-exported here). The format is documented in ``docs/project-format.md`` and
``twin/projectfile/project.schema.json``.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from pathlib import Path

from twin import jsonfile, limits
from twin.errors import Problem, Problems, ProjectError, as_seconds, seconds_text
from twin.model import elements as m
from twin.model.orders import SEQUENCING_RULES
from twin.projectfile import batching
from twin.projectfile.alerts import read_alerts
from twin.projectfile.demand import read_demand_response
from twin.projectfile.energy import absolute_files, read_energy  # noqa: F401
from twin.projectfile.fields import FieldReader
from twin.projectfile.lists import objects
from twin.projectfile.meshes import read_mesh
from twin.projectfile.orders import source_orders
from twin.projectfile.plantlimits import check_project
from twin.projectfile.standby import read_energy_saving
from twin.projectfile.structure import (  # noqa: F401  (re-exported)
    _EMPTY,
    _named,
    _products,
    check_structure,
    problem_element,
    products,
    require_runnable,
    structure_problems,
)
from twin.projectfile.workers import check_workers, read_station_workers, read_worker_pools
from twin.projectfile.writer import (  # noqa: F401  (re-exported: one import for callers)
    PROJECT_FILE,
    SCHEMA_VERSION,
    atomic_write_text,
    dumps,
    element_to_json,
    project_file,
    project_to_json,
    save_project,
)
from twin.units import parse_duration

# schema_version N -> function turning a version-N document into version N+1
MIGRATIONS: dict[int, Callable[[dict], dict]] = {}


def migrator(from_version: int):
    """Register a migration from ``from_version`` to ``from_version + 1`` (napari style)."""

    def deco(fn):
        MIGRATIONS[from_version] = fn
        return fn

    return deco


def migrate(doc: dict, file: str | None = None) -> dict:
    version = doc.get("schema_version", SCHEMA_VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ProjectError([Problem("$.schema_version", "must be a whole number >= 1", version)],
                           file)
    if version > SCHEMA_VERSION:
        raise ProjectError([Problem(
            "$.schema_version",
            f"the file was written by a newer twinbench (schema {version}); this one reads up to "
            f"{SCHEMA_VERSION}: update twinbench to open it", version)], file)
    while version < SCHEMA_VERSION:
        doc = MIGRATIONS[version](copy.deepcopy(doc))
        version += 1
        doc["schema_version"] = version
    return doc


# --- reading ---------------------------------------------------------------------------------
_COMMON = {"id", "kind", "name", "position", "rotation", "footprint"}
_FIELDS = {
    "source": {"arrival", "schedule", "schedule_period", "product_mix", "when_blocked",
               "follows_calendar", "routing", "orders", "sequencing"},
    "station": {"servers", "process_time", "setup_time", "failures", "scrap", "power_kw", "wear",
                "maintenance", "follows_calendar", "off_shift", "routing", "mesh", "workers",
                "assembly", "energy_saving", "batch", "disassembly", "unbatch"},
    "buffer": {"capacity", "routing", "sequencing"},
    "conveyor": {"length", "speed", "spacing", "routing"},
    "sink": set(),
}


def _read_element(obj, path: str, problems: Problems, folder: Path | None = None,
                  warnings: list[Problem] | None = None) -> m.Element | None:
    if not isinstance(obj, dict):
        problems.add(path, "expected an element object with an 'id' and a 'kind'", obj)
        return None
    kind = obj.get("kind")
    if not isinstance(kind, str) or kind not in m.ELEMENT_TYPES:
        problems.add(f"{path}.kind", f"unknown element kind; expected one of "
                     f"{sorted(m.ELEMENT_TYPES)}", kind)
        return None
    r = FieldReader(obj, path, problems, _COMMON | _FIELDS[kind])
    eid = r.string("id", limit=limits.MAX_ID_CHARS)
    if not eid:
        problems.add(f"{path}.id", "every element needs a non-empty string id", obj.get("id"))
        eid = f"<element {path}>"
    common = dict(
        id=eid, name=r.string("name", ""),
        extra={k: v for k, v in obj.items() if k.startswith("x-")},
        position=r.vector("position", 3, (0.0, 0.0, 0.0), -limits.MAX_COORDINATE_M,
                          limits.MAX_COORDINATE_M),
        rotation=r.number("rotation", 0.0, -limits.MAX_ROTATION_DEG, limits.MAX_ROTATION_DEG),
        footprint=r.vector("footprint", 2, (1.0, 1.0), 0.0, limits.MAX_SIZE_M, lo_open=True),
    )
    routing = r.string("routing", "probability", m.ROUTINGS)
    if kind == "source":
        mix = obj.get("product_mix", {"part": 1.0})
        if (not isinstance(mix, dict) or not mix or any(
                isinstance(w, bool) or not isinstance(w, int | float)
                or not 0 <= w <= limits.MAX_WEIGHT for w in mix.values())
                or sum(mix.values()) <= 0):
            problems.add(f"{path}.product_mix", "must map product names to weights >= 0 "
                         f"and <= {limits.MAX_WEIGHT:g} (at least one > 0)", mix)
            mix = {"part": 1.0}
        elif len(mix) > limits.MAX_PRODUCTS or any(len(k) > limits.MAX_ID_CHARS for k in mix):
            problems.add(f"{path}.product_mix", f"at most {limits.MAX_PRODUCTS:,} products, "
                         f"each named in at most {limits.MAX_ID_CHARS} characters", len(mix))
            mix = {"part": 1.0}
        schedule = _read_schedule(obj.get("schedule"), f"{path}.schedule", problems)
        arrival = r.dist("arrival")
        if arrival is not None and schedule is not None:
            problems.add(path, "a source has either an 'arrival' distribution or a 'schedule',"
                         " not both")

        orders, orders_file, sequencing = source_orders(r, path, problems, folder,
                                                        arrival or schedule)
        return m.Source(**common, arrival=arrival, schedule=schedule,
                        orders=orders, orders_file=orders_file, sequencing=sequencing,
                        schedule_period=r.duration("schedule_period", 0.0),
                        product_mix={str(k): float(v) for k, v in mix.items()},
                        when_blocked=r.string("when_blocked", "queue", ("queue", "lose")),
                        follows_calendar=r.boolean("follows_calendar", False), routing=routing)
    if kind == "station":

        pt = r.dist("process_time", per_product=True)
        if obj.get("process_time") is None:
            problems.add(f"{path}.process_time", "a station needs a process time, e.g. "
                         '{"dist": "exponential", "mean": 60}')
        power = obj.get("power_kw", {})
        if not isinstance(power, dict) or any(
                k not in m.STATION_STATES or isinstance(v, bool) or not isinstance(v, int | float)
                or not 0 <= v <= limits.MAX_POWER_KW for k, v in power.items()):
            problems.add(f"{path}.power_kw", f"must map states {list(m.STATION_STATES)} to "
                         f"kW >= 0 and <= {limits.MAX_POWER_KW:g}", power)
            power = {}
        return m.Station(
            **common, servers=r.number("servers", 1, lo=1, hi=limits.MAX_SERVERS, integer=True),
            process_time=pt,
            setup_time=r.dist("setup_time", per_product=True),
            failures=_read_failures(r.obj_at("failures"), f"{path}.failures", problems),
            scrap=r.number("scrap", 0.0, lo=0.0, hi=1.0),
            power_kw={k: float(v) for k, v in power.items()},
            wear=_read_wear(r.obj_at("wear"), f"{path}.wear", problems),
            maintenance=_read_maintenance(r.obj_at("maintenance"), f"{path}.maintenance",
                                          problems),
            follows_calendar=r.boolean("follows_calendar", True),
            off_shift=r.string("off_shift", "off", ("off", "standby")), routing=routing,
            mesh=read_mesh(obj.get("mesh"), f"{path}.mesh", problems, folder, warnings, eid),
            workers=read_station_workers(obj.get("workers"), f"{path}.workers", problems),
            assembly=_read_assembly(r.obj_at("assembly"), f"{path}.assembly", problems),
            energy_saving=read_energy_saving(obj.get("energy_saving"), f"{path}.energy_saving",
                                         problems),
            batch=batching.read_batch(obj.get("batch"), f"{path}.batch", problems),
            disassembly=batching.read_disassembly(obj.get("disassembly"),
                                                  f"{path}.disassembly", problems),
            unbatch=r.boolean("unbatch", False),
        )
    if kind == "buffer":
        cap = obj.get("capacity", 10)
        cap = None if cap is None else r.number("capacity", 10, lo=1, hi=limits.MAX_CAPACITY,
                                                 integer=True)
        return m.Buffer(**common, capacity=cap, routing=routing,
                        sequencing=r.string("sequencing", "fifo", SEQUENCING_RULES))
    if kind == "conveyor":
        return m.Conveyor(**common, length=r.number("length", None, lo=0.0, lo_open=True,
                                                    hi=limits.MAX_LENGTH_M),
                          speed=r.number("speed", 0.5, lo=limits.MIN_SPEED_M_S,
                                         hi=limits.MAX_SPEED_M_S),
                          spacing=r.number("spacing", 0.5, lo=limits.MIN_SPACING_M,
                                           hi=limits.MAX_LENGTH_M),
                          routing=routing)
    return m.Sink(**common)


def element_from_json(obj: dict, path: str = "$", folder: Path | None = None,
                      warnings: list[Problem] | None = None) -> m.Element:
    """Read one element from its JSON form (as in a project file); raises ``ProjectError``
    listing every problem, so an editor can refuse a bad value with the file reader's reason.
    ``folder`` is the project folder, where a station's mesh file must exist: a missing one
    is a problem, or a warning appended to ``warnings`` when that list is given.
    """
    problems = Problems()
    el = _read_element(obj, path, problems, folder, warnings)
    problems.raise_if_any()
    return el


def _read_schedule(v, path, problems):
    if v is None:
        return None
    if not isinstance(v, list) or not v:
        problems.add(path, "must be a non-empty list of [time, product, quantity] rows", v)
        return None
    if len(v) > limits.MAX_SCHEDULE_ROWS:
        problems.add(path, f"{len(v):,} rows: at most {limits.MAX_SCHEDULE_ROWS:,}; repeat a "
                     "shorter schedule with 'schedule_period'", len(v))
        return None
    rows = []
    for i, row in enumerate(v):
        ok = (isinstance(row, list) and len(row) == 3 and isinstance(row[1], str)
              and 0 < len(row[1]) <= limits.MAX_ID_CHARS and isinstance(row[2], int)
              and not isinstance(row[2], bool) and 1 <= row[2] <= limits.MAX_QUANTITY)
        try:
            t = parse_duration(row[0]) if ok else None
            ok = ok and t <= limits.MAX_TIME_S
        except ValueError:
            ok = False
        if not ok:
            problems.add(f"{path}[{i}]", f"expected [time (at most {limits.MAX_TIME_S:g} s), "
                         f"product (1 to {limits.MAX_ID_CHARS} characters), quantity from 1 to "
                         f"{limits.MAX_QUANTITY:,}]", row)
            continue
        rows.append((t, row[1], row[2]))
    return sorted(rows, key=lambda r: r[0]) if rows else None


def _read_failures(obj, path, problems):
    if obj is None:
        return None
    r = FieldReader(obj, path, problems, {"basis", "time_to_failure", "time_to_repair"})
    basis = r.string("basis", "operating", m.FAILURE_BASES)
    ttf, ttr = r.dist("time_to_failure"), r.dist("time_to_repair")
    for key in ("time_to_failure", "time_to_repair"):
        if obj.get(key) is None:
            problems.add(f"{path}.{key}", "is required")
    if ttf is None or ttr is None:
        return None
    if ttf.mean <= 0:
        problems.add(f"{path}.time_to_failure", "must have a mean > 0", ttf.to_json())
    return m.Failures(basis, ttf, ttr)


def _read_assembly(obj, path, problems):
    """A station's bill of materials (issue 18); whether each input is a predecessor, and a
    bill without inputs (an assembly just placed), are faults of the flow
    (``structure.check_structure``), not of the file."""
    if obj is None:
        return None
    r = FieldReader(obj, path, problems, {"inputs", "product"})
    product = r.string("product", None, limit=limits.MAX_ID_CHARS) if "product" in obj else None
    rows = obj.get("inputs", [])
    if not isinstance(rows, list):
        problems.add(f"{path}.inputs", 'must be a list of inputs, e.g. [{"from": "housings", '
                     '"quantity": 1}, {"from": "screws", "quantity": 4}]', rows)
        return None
    inputs, seen = [], set()
    for k, row in enumerate(rows):
        rp = f"{path}.inputs[{k}]"
        if not isinstance(row, dict):
            problems.add(rp, 'expected {"from": "<predecessor id>", "quantity": 1}', row)
            continue
        ri = FieldReader(row, rp, problems, {"from", "quantity", "capacity"})
        src = ri.string("from")
        if not src:
            problems.add(f"{rp}.from", "names the predecessor element this input takes parts "
                         "from (its id)", row.get("from"))
            continue
        if src in seen:
            problems.add(f"{rp}.from", f"{src!r} is an input already; give that input the "
                         "total quantity", src)
            continue
        seen.add(src)
        qty = ri.number("quantity", 1, lo=1, hi=limits.MAX_QUANTITY, integer=True)
        cap = ri.number("capacity", None, lo=1, hi=limits.MAX_CAPACITY, integer=True)
        if qty is None:
            continue
        if cap is not None and cap < qty:
            problems.add(f"{rp}.capacity", f"must hold at least one set ({qty} parts): a "
                         "smaller place could never start an assembly", cap)
            continue
        inputs.append(m.AssemblyInput(src, int(qty), None if cap is None else int(cap)))
    if len(inputs) != len(rows):
        return None
    return m.Assembly(tuple(inputs), product or None)


def _read_wear(obj, path, problems):
    if obj is None:
        return None
    r = FieldReader(obj, path, problems, {"per_operation", "per_busy_hour", "failure_gain",
                                      "scrap_gain"})
    return m.Wear(*(r.number(k, 0.0, lo=0.0, hi=limits.MAX_WEAR) for k in
                    ("per_operation", "per_busy_hour", "failure_gain", "scrap_gain")))


def _read_maintenance(obj, path, problems):
    if obj is None:
        return None
    r = FieldReader(obj, path, problems, {"duration", "every_operations", "every_hours"})
    dur = r.dist("duration")
    ops = r.number("every_operations", 0, lo=0, hi=limits.MAX_OPERATIONS, integer=True)
    hours = r.number("every_hours", 0.0, lo=0.0, hi=limits.MAX_TIME_S / 3600.0)
    if obj.get("duration") is None:
        problems.add(f"{path}.duration", "is required")
    if not ops and not hours:
        problems.add(path, "set every_operations or every_hours (or both)")
    return m.Maintenance(dur, ops, hours) if dur is not None else None


def _read_connection(v, path, problems):
    if isinstance(v, list) and len(v) in (2, 3) and all(isinstance(x, str) for x in v[:2]):
        weight = v[2] if len(v) == 3 else 1.0
        src, dst = v[0], v[1]
    elif isinstance(v, dict):
        r = FieldReader(v, path, problems, {"from", "to", "probability", "weight"})
        src, dst = r.string("from"), r.string("to")
        weight = v.get("probability", v.get("weight", 1.0))
    else:
        problems.add(path, 'expected ["from", "to"] or {"from": ..., "to": ..., '
                     '"probability": ...}', v)
        return None
    if (isinstance(weight, bool) or not isinstance(weight, int | float)
            or not 0 <= weight <= limits.MAX_WEIGHT):
        problems.add(path, f"the split probability must be a number >= 0 and <= "
                     f"{limits.MAX_WEIGHT:g}", weight)
        return None
    if not src or not dst:
        problems.add(path, "needs both 'from' and 'to' element ids", v)
        return None
    return m.Connection(src, dst, float(weight))


def _read_periods(v, path, problems, within: float | None = None):
    """The periods of list ``v``; with ``within`` (the calendar's period, s) each must end
    within it, a fault named by the period's own index in ``v``."""
    out = []
    for _i, pp, p in objects(v, path, problems, none_is_empty=False,
                             not_list="must be a list of {\"start\": ..., \"end\": ...}",
                             not_object="expected {\"start\": \"6h\", \"end\": \"14h\"}",
                             limit=limits.MAX_PERIODS, what="periods"):
        r = FieldReader(p, pp, problems, {"start", "end", "name"})
        a, b = r.duration("start"), r.duration("end")
        if a is None or b is None:
            if "start" not in p or "end" not in p:  # a bad one was named by r.duration
                problems.add(pp, "needs 'start' and 'end'")
            continue
        if b <= a:
            problems.add(f"{pp}.end", f"must be after start ({seconds_text(a)}); split a "
                         "shift that crosses midnight in two", as_seconds(p.get("end")))
            continue
        if within and b > within:
            problems.add(f"{pp}.end", f"must lie within the period ({seconds_text(within)})",
                         as_seconds(p.get("end")))
        out.append(m.Period(a, b, r.string("name", "")))
    return out


def _read_calendar(obj, path, problems):
    if obj is None:
        return None
    r = FieldReader(obj, path, problems, {"period", "shifts", "breaks"})
    period = r.duration("period", 86400.0)
    if period is not None and period <= 0:
        problems.add(f"{path}.period", "must be > 0")
        period = None
    shifts = _read_periods(obj.get("shifts", []), f"{path}.shifts", problems, within=period)
    breaks = _read_periods(obj.get("breaks", []), f"{path}.breaks", problems)
    if not shifts:
        problems.add(f"{path}.shifts", "a calendar needs at least one working period")
    return m.Calendar(tuple(shifts), tuple(breaks), period or 86400.0)


def _read_scenarios(v, path, problems):
    out = []
    for _i, sp, s in objects(v, path, problems, not_list="must be a list of scenarios",
                             not_object="expected {\"name\": ..., \"overrides\": [...]}"):
        r = FieldReader(s, sp, problems, {"name", "description", "overrides"})
        name = r.string("name")
        if not name:
            problems.add(f"{sp}.name", "every scenario needs a name")
            continue
        if name == "base" or name in {sc.name for sc in out}:
            problems.add(f"{sp}.name", "'base' names the project itself" if name == "base"
                         else "another scenario has this name already; names must be unique",
                         name)
            continue
        raw_ovs = s.get("overrides", [])
        if not isinstance(raw_ovs, list):
            problems.add(f"{sp}.overrides", "must be a list of overrides", raw_ovs)
            raw_ovs = []
        ovs = []
        for j, o in enumerate(raw_ovs):
            op = f"{sp}.overrides[{j}]"
            if not isinstance(o, dict) or "path" not in o or "value" not in o:
                problems.add(op, 'expected {"element": id, "path": "a.b", "value": ...}', o)
                continue
            FieldReader(o, op, problems, {"element", "path", "value"}).string("path")
            if o.get("element") is None and str(o["path"]).split(".")[0] == "run":
                problems.add(f"{op}.path", "a scenario cannot change the run settings (all "
                             "scenarios of a comparison share horizon, warm-up, replications "
                             "and seed); set them in 'run' or on the command line", o["path"])
                continue
            ovs.append(m.Override(str(o["path"]), o["value"], o.get("element")))
        out.append(m.Scenario(name, tuple(ovs),
                              r.string("description", "", limit=limits.MAX_TEXT_CHARS)))
    return out


def project_from_json(doc, file: str | None = None, folder: Path | None = None,
                      strict: bool = True) -> m.Project:
    """Build a project from its JSON document; raises ``ProjectError`` listing every problem.

    ``file`` names the document in messages; ``folder`` is the project folder, where mesh
    files should exist (without it only their names are checked). A mesh file missing from
    ``folder`` does not stop the reading: it is listed in the project's ``warnings`` (the
    station keeps its ``mesh`` and is drawn as a box).

    ``strict=False`` is for opening a project to edit it: the faults of its flow
    (:func:`structure_problems`: loose ends, no source, no elements at all) are listed in the
    project's ``problems`` instead of raised, since the workbench saves layouts half built.
    Malformed values (a negative time, NaN, a wrong type) are raised either way.
    """
    problems = Problems()
    warnings: list[Problem] = []
    if not isinstance(doc, dict):
        raise ProjectError([Problem("$", "a project file holds one JSON object",
                                      type(doc).__name__)], file)
    try:  # a document from the workbench or an override holds what a file reader refuses
        jsonfile.check_tree(doc, file)
    except jsonfile.JsonInputError as e:
        raise ProjectError([Problem(e.path, e.message, e.value)], file) from None
    if not limits.check_document(doc, problems):
        problems.raise_if_any(file)
    doc = migrate(doc, file)
    r = FieldReader(doc, "$", problems, {"schema_version", "name", "description", "elements",
                                     "connections", "calendar", "scenarios", "run", "tariff",
                                     "meta", "alerts", "experiments", "workers",
                                     "demand_response"})
    elements: list[m.Element] = []
    raw = doc.get("elements")
    structure = Problems()  # faults of the flow: raised when strict, kept when editing
    if isinstance(raw, list) and not raw:
        structure.add("$.elements", _EMPTY, raw)
    elif not isinstance(raw, list):
        problems.add("$.elements", _EMPTY, raw)
        raw = []
    seen: dict[str, int] = {}
    unread: dict[str, int] = {}  # ids of elements too broken to read (reported already)
    for i, e in enumerate(raw):
        n0 = len(problems.items)
        el = _read_element(e, f"$.elements[{i}]", problems, folder, warnings)
        _name_element(problems, n0, e)
        if el is None:
            if isinstance(e, dict) and isinstance(e.get("id"), str):
                unread.setdefault(e["id"], i)
            continue
        if el.id in seen:
            problems.add(f"$.elements[{i}].id", f"duplicate id (first used by "
                         f"$.elements[{seen[el.id]}])", el.id)
            continue
        seen[el.id] = i
        elements.append(el)
    conns = []
    raw_conns = doc.get("connections", [])
    if not isinstance(raw_conns, list):
        problems.add("$.connections", "must be a list", raw_conns)
        raw_conns = []
    for i, c in enumerate(raw_conns):
        conn = _read_connection(c, f"$.connections[{i}]", problems)
        if conn is None:
            continue
        for end in (conn.source, conn.target):
            if end in unread and end not in seen:
                problems.add(f"$.connections[{i}]", f"connects to {end!r}, which could not be "
                             f"read: see $.elements[{unread[end]}]", c)
            elif end not in seen:
                problems.add(f"$.connections[{i}]", f"connects to {end!r}, which is not an "
                             "element of this project", c)
        conns.append(conn)
    run = _read_run(r.obj_at("run"), problems)
    tariff = _read_tariff(doc.get("tariff"), problems, folder)
    project = m.Project(
        name=r.string("name", Path(file).parent.name if file else "Untitled"),
        description=r.string("description", "", limit=limits.MAX_TEXT_CHARS),
        elements=elements, connections=conns,
        calendar=_read_calendar(r.obj_at("calendar"), "$.calendar", problems),
        scenarios=_read_scenarios(doc.get("scenarios"), "$.scenarios", problems), run=run,
        tariff=tariff, meta=r.obj_at("meta") or {},
        extra={k: v for k, v in doc.items() if k.startswith("x-")},
    )
    # the alert rules (issue 16) name stations, so they are read once the elements are
    project.alerts = read_alerts(doc.get("alerts"), problems, project, stale=structure)

    project.workers = read_worker_pools(doc.get("workers"), problems)

    project.demand_response = read_demand_response(
        doc.get("demand_response"), problems,
        {el.id for el in elements if isinstance(el, m.Station)})
    # --- experiments (issue 17): read here, checked against the project below
    from twin.projectfile.experiments import check_experiments, read_experiments

    project.experiments = read_experiments(doc.get("experiments"), "$.experiments", problems)
    # --- end experiments
    check_structure(project, structure, {eid: i for eid, i in seen.items()})
    if problems or strict:  # every problem at once, as a strict reading always gave them
        problems.items += structure.items
        structure.items = []
    if not problems:
        check_project(project, problems, seen)
        check_workers(project, problems, seen)
    if not problems:
        check_scenarios(project, doc, problems, folder, warnings,
                        None if strict else structure)
    ranges = Problems()  # a factor's value out of its range: a warning (newfix3 §1)
    if not problems and project.experiments:  # experiments (issue 17)
        check_experiments(project, doc, problems, None if strict else structure, ranges)
    problems.raise_if_any(file)
    warnings += ranges.items
    project.warnings = warnings
    project.problems = [_named(project, p) for p in structure.items]
    return project


def _name_element(problems: Problems, n0: int, obj) -> None:
    """Name the element (kind, id and name) in the problems its reading added from ``n0``
    on: a path alone does not tell a user which machine of a hundred is meant."""
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str) or not obj["id"]:
        return
    eid, name = obj["id"][:limits.MAX_ID_CHARS], obj.get("name")
    kind = obj.get("kind") if isinstance(obj.get("kind"), str) else "element"
    who = f"{kind[:20]} {eid!r}"
    if isinstance(name, str) and name and name != eid:
        who += f" ({name[:limits.MAX_NAME_CHARS]})"
    problems.items[n0:] = [Problem(p.path, f"{who}: {p.message}", p.value)
                           for p in problems.items[n0:]]


def _read_run(obj, problems):
    if obj is None:
        return m.RunSettings()
    r = FieldReader(obj, "$.run", problems, {"horizon", "warmup", "replications", "seed",
                                         "sample_interval"})
    d = m.RunSettings()
    n0 = len(problems.items)
    run = m.RunSettings(r.duration("horizon", d.horizon), r.duration("warmup", d.warmup),
                        r.number("replications", d.replications, lo=1, integer=True),
                        r.number("seed", d.seed, lo=0, integer=True),
                        r.duration("sample_interval", d.sample_interval))
    if len(problems.items) == n0:
        limits.check_run_settings(run.horizon, run.warmup, run.replications, run.seed,
                                  run.sample_interval, problems, "$.run.")
    return run if len(problems.items) == n0 else d


def _read_tariff(obj, problems, folder=None):
    return read_energy(obj, problems, folder)  # the energy context: twin.projectfile.energy


# --- one part of a document, read as the file reader reads it (the workbench's editors) -------
def _read_part(read, *args) -> tuple:
    problems = Problems()
    value = read(*args, problems)
    msgs = [p.format() for p in problems.items]
    return (None if msgs else value), msgs


def read_calendar(obj: dict | None) -> tuple[m.Calendar | None, list[str]]:
    """The calendar ``$.calendar`` reads as, or ``None`` and the problems as text."""
    return _read_part(_read_calendar, obj, "$.calendar")


def read_tariff(obj: dict | None) -> tuple[m.Tariff | None, list[str]]:
    """The tariff ``$.tariff`` reads as, or ``None`` and the problems as text."""
    return _read_part(_read_tariff, obj)


def read_connection(source: str, target: str, weight: float
                    ) -> tuple[m.Connection | None, list[str]]:
    """The connection ``[source, target, weight]`` reads as, or ``None`` and the problems."""
    return _read_part(_read_connection, [source, target, weight],
                      f"connection {source} -> {target}")


def check_scenarios(project: m.Project, doc: dict, problems: Problems,
                    folder: Path | None = None, warnings: list[Problem] | None = None,
                    structure: Problems | None = None) -> None:
    """Every scenario must give a valid project: its problems are reported under its path,
    and so are the warnings it adds to the base project's ``warnings`` (when given).

    An override naming an element that is gone (deleted in the editor) is a fault of the
    layout like a loose end: it goes to ``structure`` when given (a project opened for
    editing), to ``problems`` otherwise."""
    base = {(w.path, w.value) for w in warnings or ()}
    for i, s in enumerate(project.scenarios):
        try:
            variant = apply_overrides(doc, s, validate=False)
            variant.pop("scenarios", None)
            variant.pop("experiments", None)  # checked once, on the base (issue 17)
            # not strict: the base's faults of the flow are its own, reported once
            found = project_from_json(variant, folder=folder, strict=False).warnings
        except KeyError as e:
            (problems if structure is None else structure).add(
                f"$.scenarios[{i}]", f"scenario {s.name!r}: {e.args[0]}", s.name)
        except ProjectError as e:
            for p in e.problems:
                problems.add(f"$.scenarios[{i}] ({s.name}) -> {p.path}", p.message, p.value)
        else:
            if warnings is not None:
                warnings.extend(Problem(f"$.scenarios[{i}] ({s.name}) -> {w.path}", w.message,
                                        w.value)
                                for w in found if (w.path, w.value) not in base)


# --- scenarios -------------------------------------------------------------------------------
def apply_overrides(doc: dict, scenario: m.Scenario, validate: bool = True) -> dict:
    """Return a copy of the project document with the scenario's overrides applied."""
    out = copy.deepcopy(doc)
    for o in scenario.overrides:
        if o.element is not None:
            target = next((e for e in out["elements"] if e.get("id") == o.element), None)
            if target is None:
                raise KeyError(f"override names element {o.element!r}, which does not exist")
        else:
            target = out
        keys = o.path.split(".")
        for k in keys[:-1]:
            nxt = target.get(k) if isinstance(target, dict) else None
            if nxt is None:
                nxt = target[k] = {}
            if not isinstance(nxt, dict):
                raise KeyError(f"override path {o.path!r} goes through {k!r}, which is not an "
                               "object")
            target = nxt
        target[keys[-1]] = copy.deepcopy(o.value)
    return out


def with_scenario(project: m.Project, name: str | None) -> m.Project:
    """The project as the named scenario changes it (``None``: the base)."""
    if name in (None, "", "base"):
        return project
    scenario = project.scenario(name)
    try:
        return project_from_json(apply_overrides(project_to_json(project), scenario),
                                 folder=getattr(project, "path", None))  # CSVs of its tariff
    except KeyError as e:  # an element it overrides was deleted in the editor
        raise ProjectError([Problem("$.scenarios", str(e.args[0]), name)],
                           f"scenario {name!r}") from None
    except ProjectError as e:
        raise ProjectError(e.problems, f"scenario {name!r}") from None


def copy_project(project: m.Project) -> m.Project:
    """A copy of ``project`` read from its document (a worker's snapshot: editing goes on
    with the original), that still finds the files beside its project.json."""
    copy_ = project_from_json(project_to_json(project), folder=getattr(project, "path", None))
    if hasattr(project, "path"):
        copy_.path = project.path  # type: ignore[attr-defined]
    return copy_


def scenario_variants(project: m.Project, names) -> dict:
    """Each named scenario applied to the project, by name (``None`` or ``"base"``: the
    project itself).

    Build them on the thread that owns the project and hand them to a worker thread, which
    only reads them: models are evented (psygnal), and building them on a worker while the
    GUI thread collected garbage crashed Python inside psygnal's compiled code."""
    return {name: with_scenario(project, name) for name in names}


# --- loading ----------------------------------------------------------------------------------
def load_project(path: str | os.PathLike, folder: str | os.PathLike | None = None,
                 strict: bool = True) -> m.Project:
    """Read a project folder (or its ``project.json``); raises ``ProjectError``. What did not
    stop the reading is listed in the project's ``warnings``.

    ``folder`` is the project's folder when the file lies elsewhere (an autosaved recovery
    copy): mesh files are looked up there and it becomes ``project.path``. ``strict=False``
    (the workbench) opens a layout with faults of its flow and lists them in its
    ``problems`` (see :func:`project_from_json`).
    """
    file = project_file(path)
    if not file.exists():
        given = Path(path)  # README.md is named so, not as README.md/project.json
        where, what = (given, "not a project") if given.is_file() else (file, "no such project")
        raise ProjectError([Problem("$", f"{what}: give a project folder holding "
                                      "project.json, or the path of a .json file")], str(where))
    try:
        doc = jsonfile.read(file)
    except jsonfile.JsonInputError as e:
        raise ProjectError([Problem(e.path, e.message, e.value)], str(file)) from None
    if isinstance(doc, dict) and "mapping_version" in doc and "elements" not in doc:
        raise ProjectError([Problem("$", "this is a mapping file (for twinbench import "
                                         "--mapping), not a project: give a project folder "
                                         "holding project.json")], str(file))
    home = Path(folder) if folder else file.parent
    project = project_from_json(doc, str(file), home, strict)
    project.path = home  # type: ignore[attr-defined]
    return project


