"""What an experiment is, and the names it uses: factors, responses, costs.

The dataclasses live with the plant model (``twin.model.experiments``: the project carries
them, ``twin.projectfile.experiments`` reads and writes them) and are re-exported here, the
place the rest of ``twin.experiments`` and the workbench import them from. What needs a
simulation to be known is checked here: a response must be a KPI the summary of a run
reports (``twin.sim.summary.replication_kpis``) or one of ``cost``, ``profit``, ``budget``.

Responses
---------
- any flat KPI name of ``twinbench run --json``: ``line.throughput_per_hour``,
  ``line.wip``, ``line.lead_time_s``, ``line.energy_kwh``, ``elements.s1.utilization``...
- ``budget``: the factors' cost, ``sum(cost_per_unit * value)`` (the capital spent);
- ``cost``: the energy cost of the run (the project's tariff; 0 without one) plus ``budget``;
- ``profit``: ``margin_per_good_part * line.good_parts - cost``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from twin.errors import NotFoundError, Problems
from twin.model import elements as m
from twin.model.experiments import (  # noqa: F401  (re-exported: the public names)
    DERIVED_RESPONSES,
    DESIGNS,
    Constraint,
    Experiment,
    Factor,
    Objective,
)
from twin.projectfile.structure import experiment_responses

__all__ = ["Constraint", "DERIVED_RESPONSES", "DESIGNS", "Experiment", "Factor", "Objective",
           "budget_of", "check_responses", "experiment", "experiments_of", "kpi_names"]


def kpi_names(project: m.Project) -> list[str]:
    """The flat KPI names one replication of ``project`` reports, in the summary's order.

    Read off the summary itself (``replication_kpis`` of an empty replication), so the
    names cannot drift from what a run reports.
    """
    from twin.sim.lowering import lower, new_state
    from twin.sim.runner import Replication
    from twin.sim.summary import replication_kpis

    low = lower(project, 3600.0, 0.0, 0.0, False)
    s = new_state(low, 0, 0)
    rep = Replication(s.el_out, s.st_time, s.line_out, s.ts_line, s.ts_energy, s.ts_wear,
                      s.ts_content)
    return list(replication_kpis(_NamesOnly(low, project.tariff, project.calendar), rep))


class _NamesOnly:
    """What ``replication_kpis`` reads of a scenario result: the lowered model and tariff."""

    def __init__(self, lowered, tariff, calendar=None):
        self.lowered, self.tariff, self.calendar = lowered, tariff, calendar

    @property
    def project(self):
        return self

    @property
    def ts_t(self):
        return self.lowered.arrays.ts_t


def check_responses(project: m.Project, names: Sequence[str] | None = None) -> None:
    """Raise ``ProjectError`` naming each response, objective or constraint of the project's
    experiments that is not a KPI of a run of it (with its JSON path and the close names),
    and each factor's value the reader found not to give a valid project."""
    import difflib

    known = set(kpi_names(project)) if project.experiments else set()
    problems = Problems()
    for i, exp in enumerate(project.experiments):
        if names is not None and exp.name not in names:
            continue
        for path, resp in experiment_responses(exp, f"$.experiments[{i}]"):
            if resp in DERIVED_RESPONSES or resp in known:
                continue
            close = difflib.get_close_matches(resp, sorted(known), 3, 0.6)
            hint = f"; did you mean {', '.join(close)}?" if close else (
                "; `twinbench run --json` lists the KPIs of this project")
            energy = resp.rsplit(".", 1)[-1].startswith(("energy_cost", "peak_kw", "co2_kg"))
            why = ("this run reports no such KPI" if not energy or project.tariff is not None
                   else "the project has no tariff: add one, or use line.energy_kwh")
            problems.add(path, why + hint, resp)
        # a range the reader let through, as a warning (newfix3 §1): refused here, where a
        # study of the experiment as read starts
        problems.items += [w for w in project.warnings
                           if w.path.startswith(f"$.experiments[{i}].")]
    problems.raise_if_any(str(getattr(project, "path", "")) or None)


def experiments_of(project: m.Project) -> dict[str, Experiment]:
    """The project's experiments by name, their responses checked against its KPIs.

    Raises
    ------
    ProjectError
        A response, objective or constraint names a KPI the project's runs do not report.
    """
    check_responses(project)
    return {e.name: e for e in project.experiments}


def experiment(project: m.Project, name: str) -> Experiment:
    """The experiment called ``name``, checked (:func:`experiments_of`).

    Raises
    ------
    NotFoundError
        No experiment of that name; the message lists those the project has.
    """
    found = {e.name: e for e in project.experiments}
    if name not in found:
        known = ", ".join(found) or "none: add an \"experiments\" section (docs/experiments.md)"
        raise NotFoundError(f"no experiment {name!r} in project {project.name!r}; "
                            f"known: {known}")
    check_responses(project, [name])
    return found[name]


def budget_of(factors: Sequence[Factor], point: Mapping[str, float]) -> float:
    """The factors' cost at ``point``: ``sum(cost_per_unit * value)``."""
    return float(sum(f.cost_per_unit * point[f.name] for f in factors if f.cost_per_unit))
