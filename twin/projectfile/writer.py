"""Writing a project: ``project.json`` as twinbench writes it, saved atomically.

The reader, its checks and the migrations live in ``twin.projectfile.reader``; this module
turns a ``twin.model.elements.Project`` back into the documented JSON (``docs/project-
format.md``), with short lists on one line so that diffs stay readable, and saves it through
a temporary file and a rename, so a crash leaves the old file or the new one, never a broken
one."""

from __future__ import annotations

import json
import os
from pathlib import Path

from twin import safeio
from twin.model import elements as m
from twin.projectfile.files import copy_project_files
from twin.projectfile.meshes import mesh_to_json

SCHEMA_VERSION = 1
PROJECT_FILE = "project.json"


def project_file(path: str | os.PathLike) -> Path:
    p = Path(path)
    return p / PROJECT_FILE if p.is_dir() or p.suffix != ".json" else p


def _dist_json(d):
    if d is None:
        return None
    if isinstance(d, dict):
        return {k: v.to_json() for k, v in d.items()}
    return d.to_json()


def assembly_to_json(asm: m.Assembly) -> dict:
    """A bill of materials as ``project.json`` holds it (``docs/project-format.md``)."""
    inputs = []
    for i in asm.inputs:
        row: dict = {"from": i.source, "quantity": i.quantity}
        if i.capacity is not None:
            row["capacity"] = i.capacity
        inputs.append(row)
    out: dict = {"inputs": inputs}
    if asm.product:
        out["product"] = asm.product
    return out


def element_to_json(el: m.Element) -> dict:
    out: dict = {"id": el.id, "kind": el.kind}
    if el.name:
        out["name"] = el.name
    out.update(el.extra)
    out["position"] = list(el.position)
    if el.rotation:
        out["rotation"] = el.rotation
    if tuple(el.footprint) != (1.0, 1.0):
        out["footprint"] = list(el.footprint)
    if isinstance(el, m.Source):
        if el.arrival is not None:
            out["arrival"] = el.arrival.to_json()
        if el.schedule:
            out["schedule"] = [list(r) for r in el.schedule]
        if el.schedule_period:
            out["schedule_period"] = el.schedule_period
        if el.product_mix != {"part": 1.0}:
            out["product_mix"] = dict(el.product_mix)
        if el.when_blocked != "queue":
            out["when_blocked"] = el.when_blocked
        if el.follows_calendar:
            out["follows_calendar"] = True
        if el.orders is not None:  # issue 18 §4: the CSV's name, or the orders inline
            from twin.projectfile.orders import orders_to_json

            out["orders"] = el.orders_file or orders_to_json(el.orders)
        if el.sequencing != "fifo":
            out["sequencing"] = el.sequencing
    elif isinstance(el, m.Station):
        if el.servers != 1:
            out["servers"] = el.servers
        out["process_time"] = _dist_json(el.process_time)
        if el.setup_time is not None:
            out["setup_time"] = _dist_json(el.setup_time)
        if el.failures is not None:
            f = el.failures
            out["failures"] = {"basis": f.basis, "time_to_failure": f.time_to_failure.to_json(),
                               "time_to_repair": f.time_to_repair.to_json()}
        if el.scrap:
            out["scrap"] = el.scrap
        if el.power_kw:
            out["power_kw"] = dict(el.power_kw)
        if el.wear is not None:
            out["wear"] = {k: v for k, v in vars(el.wear).items() if v}
        if el.maintenance is not None:
            mt = el.maintenance
            out["maintenance"] = {"duration": mt.duration.to_json()}
            if mt.every_operations:
                out["maintenance"]["every_operations"] = mt.every_operations
            if mt.every_hours:
                out["maintenance"]["every_hours"] = mt.every_hours
        if not el.follows_calendar:
            out["follows_calendar"] = False
        if el.off_shift != "off":
            out["off_shift"] = el.off_shift
        if el.mesh:
            out["mesh"] = mesh_to_json(el.mesh)
        if el.workers is not None:
            from twin.projectfile.workers import station_workers_to_json

            out["workers"] = station_workers_to_json(el.workers)
        if el.assembly is not None:
            out["assembly"] = assembly_to_json(el.assembly)
        if el.energy_saving is not None:
            from twin.projectfile.standby import energy_saving_to_json

            out["energy_saving"] = energy_saving_to_json(el.energy_saving)
        if el.batch is not None:
            from twin.projectfile.batching import batch_to_json

            out["batch"] = batch_to_json(el.batch)
        if el.disassembly is not None:
            from twin.projectfile.batching import disassembly_to_json

            out["disassembly"] = disassembly_to_json(el.disassembly)
        if el.unbatch:
            out["unbatch"] = True
    elif isinstance(el, m.Buffer):
        out["capacity"] = el.capacity
        if el.sequencing != "fifo":
            out["sequencing"] = el.sequencing
    elif isinstance(el, m.Conveyor):
        if el.length is not None:
            out["length"] = el.length
        out["speed"] = el.speed
        out["spacing"] = el.spacing
    if getattr(el, "routing", "probability") != "probability":
        out["routing"] = el.routing
    return out


def project_to_json(project: m.Project) -> dict:
    doc: dict = {"schema_version": SCHEMA_VERSION, "name": project.name}
    if project.description:
        doc["description"] = project.description
    doc["elements"] = [element_to_json(el) for el in project.elements]
    doc["connections"] = [
        [c.source, c.target] if c.weight == 1.0 else [c.source, c.target, c.weight]
        for c in project.connections
    ]
    if project.calendar is not None:
        cal = project.calendar

        def per(p):
            d = {"start": p.start, "end": p.end}
            if p.name:
                d["name"] = p.name
            return d

        doc["calendar"] = {"period": cal.period, "shifts": [per(p) for p in cal.shifts]}
        if cal.breaks:
            doc["calendar"]["breaks"] = [per(p) for p in cal.breaks]
    rs = project.run
    doc["run"] = {"horizon": rs.horizon, "warmup": rs.warmup, "replications": rs.replications,
                  "seed": rs.seed}
    if rs.sample_interval:
        doc["run"]["sample_interval"] = rs.sample_interval
    if project.tariff is not None:
        from twin.projectfile.energy import energy_to_json

        doc["tariff"] = energy_to_json(project.tariff)
    if project.scenarios:
        doc["scenarios"] = [
            {"name": s.name, **({"description": s.description} if s.description else {}),
             "overrides": [{**({"element": o.element} if o.element else {}), "path": o.path,
                            "value": o.value} for o in s.overrides]}
            for s in project.scenarios
        ]
    if project.workers:  # worker pools (issue 18)
        from twin.projectfile.workers import pools_to_json

        doc["workers"] = pools_to_json(project.workers)
    if project.demand_response:  # issue 19 §2
        from twin.projectfile.demand import demand_response_to_json

        doc["demand_response"] = [demand_response_to_json(d) for d in project.demand_response]
    if project.alerts is not None:  # the alert rules (issue 16)
        from twin.projectfile.alerts import alerts_to_json

        doc["alerts"] = alerts_to_json(project.alerts)
    if project.experiments:  # issue 17
        from twin.projectfile.experiments import experiment_to_json

        doc["experiments"] = [experiment_to_json(e) for e in project.experiments]
    if project.meta:
        doc["meta"] = project.meta
    doc.update(project.extra)
    return doc


def dumps(project: m.Project) -> str:
    """Indented JSON with short lists on one line, so that diffs stay readable.

    A list that holds no list or object is written on one line (``[1, 2, 0]``), every
    other value as ``json.dumps(indent=2)`` writes it. The layout is built while walking
    the document, in time linear in its size, and never looks inside strings.
    """
    return _layout(project_to_json(project), "") + "\n"


def _scalar(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _key(key) -> str:
    # json.dumps turns keys that are not strings (numbers, true, null) into strings
    return _scalar(key) if isinstance(key, str) else _scalar({key: 0})[1:-4]


def _layout(value, indent: str) -> str:
    if isinstance(value, dict):
        if not value:
            return "{}"
        inner = indent + "  "
        return "{\n" + ",\n".join(f"{inner}{_key(k)}: {_layout(v, inner)}"
                                   for k, v in value.items()) + f"\n{indent}}}"
    if isinstance(value, list | tuple):
        if not any(isinstance(v, dict | list | tuple) for v in value):
            return "[" + ", ".join(_scalar(v) for v in value) + "]"
        inner = indent + "  "
        return "[\n" + ",\n".join(inner + _layout(v, inner) for v in value) + f"\n{indent}]"
    return _scalar(value)


def atomic_write_text(file: Path, text: str) -> None:
    """Write ``text`` to ``file`` whole, through a temporary file renamed over it
    (``twin.safeio``: no file left half written, none written through a link)."""
    file.parent.mkdir(parents=True, exist_ok=True)
    safeio.write_text(file, text)


def save_project(project: m.Project, path: str | os.PathLike) -> Path:
    """Save atomically to a project folder (created if needed); returns the file written.

    Saving into another folder than the project's takes the files it refers to along (its
    meshes, order lists and tariff series: ``twin.projectfile.files``), before the project
    file, so that it never names a file the folder lacks.
    """
    file = project_file(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    copy_project_files(project, getattr(project, "path", None), file.parent)
    atomic_write_text(file, dumps(project))
    project.path = file.parent  # type: ignore[attr-defined]
    return file
