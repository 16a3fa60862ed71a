"""What a project says about one element beyond the element itself, and that project without it.

A project names its elements by id in places other than ``elements`` and ``connections``:
scenarios' overrides, experiments' factors and ``elements.<id>.<kpi>`` responses (with the
objectives and constraints over them), alert rules' ``elements`` (a station, or one of its
servers as ``<id>#<k>``), the replay panel's asset mapping in
``meta["recording_assets"]``, worker pools' ``home``, assemblies' bills of materials (an
input taken from the element), disassemblies' outputs (to the element) and the
demand-response entries' ``stations``. When the element is deleted each of these is left
pointing at nothing: the file is then refused on reopening and every run stops on it (issue:
dangling references). :func:`without_element` gives what the project holds in those places
once the element is gone, with a line for each thing that went, so that
``twin.model.commands.RemoveElement`` removes them in the same undo step and the workbench
can say what went with the element.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field

from twin.model import elements as m

#: The response every experiment falls back to when none is named (as the file reader does).
DEFAULT_RESPONSE = "line.throughput_per_hour"


@dataclass
class Dependents:
    """The parts of a project that name elements: a snapshot a command can put back."""

    scenarios: list
    experiments: list
    alerts: m.AlertSettings | None
    recording_assets: object = None
    notes: list[str] = field(default_factory=list)
    workers: list = field(default_factory=list)  # worker pools (their ``home``)
    assemblies: dict = field(default_factory=dict)  # assembly station id -> its bill
    disassemblies: dict = field(default_factory=dict)  # disassembly station id -> its outputs
    demand_response: list = field(default_factory=list)  # the entries (their ``stations``)

    @classmethod
    def of(cls, project: m.Project) -> Dependents:
        return cls(list(project.scenarios), list(project.experiments), project.alerts,
                   copy.deepcopy(project.meta.get("recording_assets")),
                   workers=list(project.workers), assemblies=_bills(project),
                   disassemblies=_separations(project),
                   demand_response=list(project.demand_response))

    def put(self, project: m.Project) -> None:
        """Set these parts on ``project`` and tell its listeners."""
        scenarios_changed = project.scenarios != self.scenarios
        project.scenarios = list(self.scenarios)
        project.experiments = list(self.experiments)
        project.alerts = self.alerts
        project.workers = list(self.workers)
        project.demand_response = list(self.demand_response)
        for sid, bill in self.assemblies.items():
            if sid in project and project.element(sid).assembly != bill:
                project.element(sid).assembly = bill
        for sid, outputs in self.disassemblies.items():
            if sid in project and project.element(sid).disassembly != outputs:
                project.element(sid).disassembly = outputs
        if self.recording_assets is None:
            project.meta.pop("recording_assets", None)
        else:
            project.meta["recording_assets"] = copy.deepcopy(self.recording_assets)
        if scenarios_changed:
            project.scenarios_changed.emit()
        project.changed.emit()


def _bills(project: m.Project) -> dict:
    """Each assembly's bill of materials, by station id."""
    return {el.id: el.assembly for el in project.stations() if el.assembly is not None}


def _separations(project: m.Project) -> dict:
    """Each disassembly's outputs, by station id."""
    return {el.id: el.disassembly for el in project.stations() if el.disassembly is not None}


def names_element(name: str, element_id: str) -> bool:
    """True when the alert rule's element name ``name`` is ``element_id`` or one of its
    servers (``<id>#<k>``)."""
    return name == element_id or (name.startswith(f"{element_id}#")
                                  and name[len(element_id) + 1:].isdigit())


def response_names_element(response: str, element_id: str) -> bool:
    """True for a KPI of the element: ``elements.<id>.<kpi>``."""
    parts = response.split(".")
    return parts[0] == "elements" and len(parts) >= 3 and parts[1] == element_id


def without_element(project: m.Project, element_id: str) -> Dependents:
    """The scenarios, experiments, alert rules and asset mapping of ``project`` with every
    reference to ``element_id`` taken out, and ``notes``: one line per thing that went.

    Overrides of the element leave their scenario (a scenario left with none is kept: it
    then runs as the base); factors and responses of the element leave their experiment
    (with the objectives and constraints over those responses), and an experiment left
    without a factor goes; an alert rule loses the element from its ``elements``, and a rule
    that named nothing else goes (an empty list would mean every element); an asset shown
    on the element is shown on none; a worker pool at home there gets no home; an
    assembly's bill loses the input taken from the element (a bill left without inputs
    stays, as an assembly just placed: the check asks for its inputs); a disassembly loses
    its outputs to the element (one left without outputs stays: the check asks for them); a
    demand-response entry loses the station, and an entry left without stations goes.
    """
    notes: list[str] = []
    scenarios = []
    for s in project.scenarios:
        keep = tuple(o for o in s.overrides if o.element != element_id)
        gone = [o.path for o in s.overrides if o.element == element_id]
        if gone:
            notes.append(f"scenario {s.name!r}: override of {', '.join(gone)}"
                         + (" (it now runs as the base)" if not keep else ""))
            s = dataclasses.replace(s, overrides=keep)
        scenarios.append(s)

    experiments = []
    for exp in project.experiments:
        exp, what = _experiment_without(exp, element_id)
        if what:
            notes.append(f"experiment {exp.name!r}: {what}")
        if exp.factors:
            experiments.append(exp)

    alerts = project.alerts
    if alerts is not None:
        rules = []
        for r in alerts.rules:
            left = tuple(x for x in r.elements if not names_element(x, element_id))
            if len(left) == len(r.elements):
                rules.append(r)
            elif left:
                notes.append(f"alert rule {r.id or r.kind!r}: no longer watches {element_id}")
                rules.append(dataclasses.replace(r, elements=left))
            else:
                notes.append(f"alert rule {r.id or r.kind!r} (it watched only {element_id})")
        if rules != list(alerts.rules):
            alerts = dataclasses.replace(alerts, rules=tuple(rules))

    table = copy.deepcopy(project.meta.get("recording_assets"))
    if isinstance(table, dict):
        for rec, assets in table.items():
            if isinstance(assets, dict):
                for asset in [a for a, e in assets.items() if e == element_id]:
                    del assets[asset]
                    notes.append(f"recording {rec}: asset {asset} is shown on no element")

    workers = []
    for pool in project.workers:
        if pool.home == element_id:
            notes.append(f"worker pool {pool.id!r}: home {element_id} (its workers now start "
                         "where their first task is)")
            pool = dataclasses.replace(pool, home="")
        workers.append(pool)

    bills = _bills(project)
    for sid, bill in bills.items():
        keep = tuple(i for i in bill.inputs if i.source != element_id)
        if sid != element_id and len(keep) < len(bill.inputs):
            notes.append(f"assembly {sid!r}: its input from {element_id} (bill of materials)")
            bills[sid] = dataclasses.replace(bill, inputs=keep)
    separations = _separations(project)
    for sid, dis in separations.items():
        keep = tuple(o for o in dis.outputs if o[0] != element_id)
        if sid != element_id and len(keep) < len(dis.outputs):
            notes.append(f"disassembly {sid!r}: its output to {element_id}")
            separations[sid] = dataclasses.replace(dis, outputs=keep)
    demand = []
    for i, dr in enumerate(project.demand_response):
        left = tuple(s for s in dr.stations if s != element_id)
        if len(left) < len(dr.stations):
            notes.append(f"demand response {i + 1}: {element_id} no longer "
                         f"{'pauses' if dr.action == 'pause' else 'slows'} in its windows"
                         + ("" if left else " (the whole entry: it named no other station)"))
            if not left:
                continue
            dr = dataclasses.replace(dr, stations=left)
        demand.append(dr)
    return Dependents(scenarios, experiments, alerts, table, notes, workers, bills,
                      separations, demand)


def _experiment_without(exp, element_id: str):
    """``exp`` without the element's factors and responses, and a phrase saying what went
    (``""``: nothing)."""
    factors = tuple(f for f in exp.factors if f.element != element_id)
    gone = [f.name for f in exp.factors if f.element == element_id]
    responses = tuple(r for r in exp.responses if not response_names_element(r, element_id))
    gone += [r for r in exp.responses if response_names_element(r, element_id)]
    objectives = tuple(o for o in exp.objectives
                       if not response_names_element(o.response, element_id))
    constraints = tuple(c for c in exp.constraints
                        if not response_names_element(c.response, element_id))
    gone += [f"objective {o.response}" for o in exp.objectives if o not in objectives]
    gone += [f"constraint on {c.response}" for c in exp.constraints if c not in constraints]
    if not gone:
        return exp, ""
    exp = dataclasses.replace(exp, factors=factors, responses=responses or (DEFAULT_RESPONSE,),
                              objectives=objectives, constraints=constraints)
    what = ", ".join(gone)
    if not factors:
        what += " (the whole experiment: it varied nothing else)"
    return exp, what
