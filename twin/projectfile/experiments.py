"""The ``experiments`` section of ``project.json`` (issue 17): read, checked, written.

A factor addresses a parameter as a scenario's override does (``element`` + dotted
``path``, ``docs/project-format.md`` §8), and is checked the way a scenario is: each bound
(or level) is applied as an override and the element read by the project reader, so a
factor accepts the values a scenario would. Problems carry their JSON path
(``$.experiments[0].factors[1].high``). Limits only the whole plant tells (servers in
total, clocks against the horizon) are checked for each design point when a study starts
(``twin.experiments.evaluate.point_project``). Which KPI names a response may use depends
on the simulation's summary and is checked by ``twin.experiments.spec.check_responses``;
this module checks each response's form and the element it names.
"""

from __future__ import annotations

import math
from dataclasses import replace

from twin import limits
from twin.errors import Problems
from twin.model import elements as m
from twin.model.experiments import (
    DERIVED_RESPONSES,
    DESIGNS,
    Constraint,
    Experiment,
    Factor,
    Objective,
)
from twin.projectfile.fields import FieldReader
from twin.projectfile.lists import objects
from twin.projectfile.reader import _read_element, apply_overrides
from twin.projectfile.scenarios import MISSING, value_at
from twin.projectfile.structure import experiment_responses, experiments_naming_gone_elements

_EXPERIMENT_KEYS = {"name", "description", "factors", "design", "points", "responses",
                    "replications", "precision", "seed", "margin_per_good_part", "horizon",
                    "warmup", "objectives", "constraints", "trials"}
#: A factor without an element varies the energy context: its path starts so.
TARIFF_PREFIX = "tariff."
#: The battery's numbers a factor can vary, given or at their defaults.
BATTERY_NUMBERS = ("capacity_kwh", "power_kw", "efficiency", "initial_soc", "threshold_kw")
_FACTOR_KEYS = {"element", "path", "low", "high", "levels", "integer", "cost_per_unit"}
MAX_FACTORS = 64
MAX_EXPERIMENTS = 100
_LAYOUT = ("rotation",)  # numbers of the layout, not of the process: not suggested
MAX_POINTS = 100_000


def read_experiments(raw, path: str, problems: Problems) -> list[Experiment]:
    """The experiments of ``$.experiments`` (a list), each problem added with its path."""
    out: list[Experiment] = []
    for _i, ep, e in objects(raw, path, problems, not_list="must be a list of experiments",
                             not_object='expected {"name": ..., "factors": [...], '
                             '"responses": [...]}', limit=MAX_EXPERIMENTS, what="experiments"):
        n0 = len(problems.items)
        exp = _read_experiment(e, ep, problems)
        if exp is None or len(problems.items) > n0:
            continue
        if exp.name in {x.name for x in out}:
            problems.add(f"{ep}.name", "another experiment has this name already; names must "
                         "be unique", exp.name)
            continue
        out.append(exp)
    return out


def _read_experiment(e: dict, ep: str, problems: Problems) -> Experiment | None:
    r = FieldReader(e, ep, problems, _EXPERIMENT_KEYS)
    name = r.string("name")
    if not name:
        problems.add(f"{ep}.name", "every experiment needs a name")
        return None
    raw_f = e.get("factors")
    if not isinstance(raw_f, list) or not raw_f:
        problems.add(f"{ep}.factors", 'needs a list of at least one factor {"element": id, '
                     '"path": "capacity", "low": 1, "high": 10}', raw_f)
        raw_f = []
    elif len(raw_f) > MAX_FACTORS:
        problems.add(f"{ep}.factors", f"{len(raw_f)} factors: at most {MAX_FACTORS}",
                     len(raw_f))
        raw_f = []
    factors = [f for j, x in enumerate(raw_f)
               if (f := _read_factor(x, f"{ep}.factors[{j}]", problems)) is not None]
    seen: dict[str, int] = {}
    for j, f in enumerate(factors):
        if f.name in seen:
            problems.add(f"{ep}.factors[{j}]", f"varies {f.name} as factors[{seen[f.name]}] "
                         "does already; give each parameter once", f.name)
        seen.setdefault(f.name, j)
    design = r.string("design", "full_factorial", choices=DESIGNS)
    points = r.number("points", None, lo=1, hi=MAX_POINTS, integer=True)
    if design in ("latin_hypercube", "sobol") and points is None and "points" not in e:
        problems.add(f"{ep}.points", f"a {design} design needs the number of design points "
                     "(\"points\": 50)")
    responses = _read_names(e, "responses", ep, problems)
    if "responses" in e and not responses and isinstance(e["responses"], list):
        problems.add(f"{ep}.responses", "name at least one response "
                     "(\"line.throughput_per_hour\")", e["responses"])
    reps = r.number("replications", 5, lo=1, hi=limits.MAX_REPLICATIONS, integer=True)
    precision = r.number("precision", None, lo=0.0, lo_open=True, hi=1.0)
    if precision is not None and (reps or 0) < 3:
        problems.add(f"{ep}.replications", "with a precision, replications is the cap of "
                     "sequential replications and must be at least 3", e.get("replications"))
    margin = r.number("margin_per_good_part", None, lo=-limits.MAX_PRICE, hi=limits.MAX_PRICE)
    objectives = _read_objectives(e.get("objectives"), f"{ep}.objectives", problems)
    constraints = _read_constraints(e.get("constraints"), f"{ep}.constraints", problems)
    return Experiment(
        name=name, factors=tuple(factors), design=design or "full_factorial", points=points,
        responses=tuple(responses) or ("line.throughput_per_hour",),
        replications=reps or 5, precision=precision,
        seed=r.number("seed", 1, lo=0, hi=2.0**63 - 1, integer=True) or 0, margin=margin,
        horizon=r.duration("horizon"), warmup=r.duration("warmup"),
        objectives=tuple(objectives), constraints=tuple(constraints),
        trials=r.number("trials", None, lo=1, hi=MAX_POINTS, integer=True),
        description=r.string("description", "", limit=limits.MAX_TEXT_CHARS))


def _read_names(e: dict, key: str, ep: str, problems: Problems) -> list[str]:
    raw = e.get(key, [])
    if not isinstance(raw, list) or any(not isinstance(x, str) or not x for x in raw):
        problems.add(f"{ep}.{key}", "must be a list of response names, e.g. "
                     "[\"line.throughput_per_hour\", \"cost\"]", raw)
        return []
    return list(dict.fromkeys(raw))


def factor_from_json(x) -> Factor | None:
    """A factor as ``factor_to_json`` wrote it (the workbench keeps its what-if sliders'
    factors so, in ``meta.whatif``), or None where it does not read as one."""
    problems = Problems()
    factor = _read_factor(x, "$", problems)
    return None if problems else factor


def _read_factor(x, fp: str, problems: Problems) -> Factor | None:
    if not isinstance(x, dict):
        problems.add(fp, 'expected {"element": id, "path": "capacity", "low": 1, "high": 10}',
                     x)
        return None
    n0 = len(problems.items)
    r = FieldReader(x, fp, problems, _FACTOR_KEYS)
    element, path = r.string("element"), r.string("path")
    if not element and "element" in x:
        problems.add(f"{fp}.element", "name the element whose parameter varies (its id)")
    elif not element and path and not path.startswith(TARIFF_PREFIX):
        problems.add(f"{fp}.element", "name the element whose parameter varies (its id), or "
                     "vary the energy context with a path under tariff "
                     "(\"tariff.battery.capacity_kwh\", \"tariff.pv.scale\")", path)
    if not path:
        problems.add(f"{fp}.path", "name the parameter (\"capacity\", \"servers\", "
                     "\"process_time.mean\")")
    integer = r.boolean("integer", False)
    low, high = r.number("low"), r.number("high")
    levels = None
    if "levels" in x:
        raw = x["levels"]
        if (not isinstance(raw, list) or not raw or any(
                isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v)
                for v in raw)):
            problems.add(f"{fp}.levels", "must be a list of at least one finite number", raw)
        elif len(set(raw)) != len(raw):
            problems.add(f"{fp}.levels", "lists a level twice; give each once", raw)
        else:
            levels = tuple(float(v) for v in raw)
        if "low" in x or "high" in x:
            problems.add(fp, "give either levels or a range (low and high), not both")
    elif low is None or high is None:
        if len(problems.items) == n0:
            problems.add(fp, "give a range (\"low\" and \"high\") or explicit \"levels\"")
    elif low > high:
        problems.add(f"{fp}.high", f"must be >= low ({low:g}); swap them", x.get("high"))
    if integer:
        bad = [v for v in (levels or (low, high)) if v is not None and v != int(v)]
        if bad:
            problems.add(fp, f"an integer factor takes whole numbers; {bad[0]:g} is not one",
                         bad[0])
    cost = r.number("cost_per_unit", 0.0, lo=-limits.MAX_PRICE, hi=limits.MAX_PRICE)
    if len(problems.items) > n0:
        return None
    return Factor(element or None, path, None if levels else low, None if levels else high, levels,
                  integer, cost)


def _read_objectives(raw, path: str, problems: Problems) -> list[Objective]:
    out: list[Objective] = []
    for _i, op, o in objects(raw, path, problems,
                             not_list='must be a list of {"response": ..., "sense": "max"}',
                             not_object='expected {"response": "profit", "sense": "max"}'):
        r = FieldReader(o, op, problems, {"response", "sense"})
        resp, sense = r.string("response"), r.string("sense", "max", choices=("min", "max"))
        if not resp:
            problems.add(f"{op}.response", "name the response to optimise")
            continue
        out.append(Objective(resp, sense or "max"))
    return out


def _read_constraints(raw, path: str, problems: Problems) -> list[Constraint]:
    out: list[Constraint] = []
    for _i, cp, c in objects(raw, path, problems, not_list='must be a list of {"response": '
                             '..., "min": ..., "max": ...}',
                             not_object='expected {"response": "budget", "max": 100000}'):
        r = FieldReader(c, cp, problems, {"response", "min", "max"})
        resp, lo, hi = r.string("response"), r.number("min"), r.number("max")
        if not resp:
            problems.add(f"{cp}.response", "name the response (or \"budget\") it bounds")
        elif lo is None and hi is None:
            problems.add(cp, "give a bound: \"min\", \"max\" or both")
        elif lo is not None and hi is not None and lo > hi:
            problems.add(f"{cp}.max", f"must be >= min ({lo:g})", c.get("max"))
        else:
            out.append(Constraint(resp, lo, hi))
    return out


# --- checks against the project ---------------------------------------------------------------
def check_experiments(project: m.Project, doc: dict, problems: Problems,
                      structure: Problems | None = None,
                      ranges: Problems | None = None) -> None:
    """Check each experiment against the project: its factors address existing numeric
    parameters and every value they take gives a valid element (read as a scenario's would
    be); responses have a known form; ``profit`` has a margin.

    A factor or response naming an element that is gone (deleted in the editor) is a fault
    of the layout, as a scenario's override of one is (``structure_problems``): it goes to
    ``structure`` when given (a project opened for editing), to ``problems`` otherwise.

    A value of a factor's range that does not give a valid element goes to ``ranges`` when
    given: the reader keeps them as warnings, since a stored study must never stop a run of
    the base or its scenarios (a "Vary this…" range once made every Run fail, newfix3 §1);
    the study refuses them when it starts (:func:`factor_range_problems`)."""
    base = {k: v for k, v in doc.items() if k not in ("scenarios", "experiments")}
    index = {el.id: i for i, el in enumerate(project.elements)}
    experiments_naming_gone_elements(project, problems if structure is None else structure,
                                     index)
    for i, exp in enumerate(project.experiments):
        ep = f"$.experiments[{i}]"
        for j, f in enumerate(exp.factors):
            if f.element is None:  # its range a warning too: an energy study stored with a
                # bad range stopped the whole project loading (twinfix4 §4)
                _check_tariff_factor(base, f, f"{ep}.factors[{j}]", problems,
                                     problems if ranges is None else ranges)
            elif f.element in index:
                _check_factor(project, base, f, f"{ep}.factors[{j}]", problems,
                              problems if ranges is None else ranges)
        for rp, resp in experiment_responses(exp, ep):
            why = response_form_problem(resp, exp)
            if why:
                problems.add(rp, why, resp)


def response_form_problem(resp: str, exp: Experiment) -> str | None:
    """Why ``resp`` cannot be a response of ``exp`` by its form alone, or None (whether
    its element exists is ``experiments_naming_gone_elements``'s question)."""
    if resp in DERIVED_RESPONSES:
        if resp == "profit" and exp.margin is None:
            return ("profit needs the margin per good part: set "
                    "\"margin_per_good_part\" in the experiment")
        return None
    parts = resp.split(".")
    if (parts[0] == "line" and len(parts) == 2) or (parts[0] == "elements" and len(parts) >= 3):
        return None
    return ("unknown response: name a KPI as `twinbench run --json` does "
            "(\"line.throughput_per_hour\", \"elements.s1.utilization\"), or cost, profit, "
            "budget")


def _check_factor(project: m.Project, base: dict, f: Factor, fp: str,
                  problems: Problems, ranges: Problems) -> None:
    el = project.element(f.element)
    value = value_at(base, f.element, f.path)
    if value is MISSING and "." not in f.path and hasattr(el, f.path):
        value = getattr(el, f.path)  # a field the writer leaves out at its default
    if value is MISSING:
        problems.add(f"{fp}.path", f"{el.kind} {f.element!r} has no parameter {f.path!r}; "
                     f"its numeric parameters are {', '.join(numeric_paths(el))}", f.path)
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.add(f"{fp}.path", f"{f.element}.{f.path} is not a numeric parameter (it holds "
                     f"{str(value)[:60]}); vary a number such as "
                     f"{', '.join(numeric_paths(el)[:6])}", f.path)
        return
    probes = list(f.levels or (f.low, f.high))
    if not f.integer and f.levels is None and f.high > f.low:  # type: ignore[operator]
        probes.append((f.low + f.high) / 2)  # type: ignore[operator]
    raw = next(e for e in base["elements"] if e.get("id") == f.element)
    for v in probes:
        why = value_problem(raw, f, v)
        if why:
            ranges.add(fp, f"{f.name} = {v:g} does not give a valid project: {why}", v)
            return


def value_problem(raw: dict, f: Factor, v: float) -> str | None:
    """Why the element ``raw`` (its file form) with ``f``'s parameter set to ``v`` is not
    valid, or None: the element alone, read as the file reader reads it, fast enough for
    every load and for a search of the valid range (:func:`valid_range`); the whole
    plant's limits are checked for each point when a study starts."""
    ov = m.Override(f.path, int(v) if f.integer else float(v), f.element)
    found = Problems()
    try:
        changed = apply_overrides({"elements": [raw]}, m.Scenario("probe", (ov,)))
    except KeyError as e:
        found.add("$", str(e.args[0]))
    else:
        _read_element(changed["elements"][0], "$", found, None, [])
    if not found:
        return None
    msgs = [p.message for p in found.items]
    hint = ("; it takes whole numbers only: set \"integer\": true"
            if any("whole number" in s for s in msgs) and not f.integer else "")
    return msgs[0] + hint


def valid_range(raw: dict, f: Factor, value: float) -> tuple[Factor, str | None]:
    """``f`` with each bound drawn in towards ``value`` (the parameter's valid value now) as
    far as the element stays valid, and why it was drawn in (None: it was not).

    Found by bisection with the reader's own check (:func:`value_problem`), so it holds for
    any field (a triangular's mode between its low and high, a positive time, a capacity of
    one at least), not for one kind of distribution only."""
    if value_problem(raw, f, value) is not None:
        return f, None
    bounds, reason = [], None
    for b in (f.low, f.high):
        why = value_problem(raw, f, b)
        if why is None:
            bounds.append(b)
            continue
        reason = reason or f"{f.name} = {b:g} would not be valid: {why}"
        good, bad = value, b
        for _ in range(60):
            mid = (good + bad) / 2
            if f.integer:
                mid = math.floor(mid) if bad > good else math.ceil(mid)
                if mid in (good, bad):
                    break
            if value_problem(raw, f, mid) is None:
                good = mid
            else:
                bad = mid
        bounds.append(_round_within(raw, f, good, bad))
    return replace(f, low=float(bounds[0]), high=float(bounds[1])), reason


def _round_within(raw: dict, f: Factor, good: float, bad: float) -> float:
    """The shortest number near ``good`` that is still valid (2.3, not 2.3000000000000003)."""
    if f.integer:
        return good
    for digits in range(1, 16):
        r = float(f"{good:.{digits}g}")
        if abs(r - good) <= 1e-9 * max(1.0, abs(good)) + abs(bad - good) \
                and value_problem(raw, f, r) is None:
            return r
    return good


def factor_range_problems(project: m.Project, exp: Experiment, ep: str = "$.experiment"
                          ) -> list:
    """The values of ``exp``'s factors that do not give a valid project (the problems a
    study refuses to start with), with their paths under ``ep``."""
    from twin.projectfile.writer import project_to_json

    doc = project_to_json(project)
    base = {k: v for k, v in doc.items() if k not in ("scenarios", "experiments")}
    found = Problems()
    for j, f in enumerate(exp.factors):
        fp = f"{ep}.factors[{j}]"
        if f.element is None:
            _check_tariff_factor(base, f, fp, found, found)
        elif f.element in project:
            _check_factor(project, base, f, fp, found, found)
    return found.items


def _check_tariff_factor(base: dict, f: Factor, fp: str, problems: Problems,
                         ranges: Problems) -> None:
    """A factor of the energy context: its path names a number of ``$.tariff`` and every
    value it takes gives an energy context the reader accepts (the message it would get,
    with its JSON path)."""
    from twin.projectfile.energy import read_energy

    tariff = base.get("tariff")
    numeric = tariff_paths(tariff) if isinstance(tariff, dict) else []
    node: object = base
    for k in f.path.split("."):
        node = node.get(k, MISSING) if isinstance(node, dict) else MISSING
    if node is MISSING and isinstance(tariff, dict):  # a field left out at its default
        node = read_energy(tariff, Problems())
        for k in f.path.split(".")[1:]:
            node = MISSING if node is None else getattr(node, k, MISSING)
    if isinstance(node, bool) or not isinstance(node, int | float):
        what = ("the project has no energy context: add a tariff (docs/energy.md)"
                if not isinstance(tariff, dict) else
                f"{f.path} is not a number of the energy context; vary one of "
                f"{', '.join(numeric) or 'none: it has no numbers'}")
        problems.add(f"{fp}.path", what, f.path)
        return
    probes = list(f.levels or (f.low, f.high))
    for v in probes:
        ov = m.Override(f.path, int(v) if f.integer else float(v))
        found = Problems()
        read_energy(apply_overrides({"tariff": tariff}, m.Scenario("probe", (ov,)))["tariff"],
                    found)
        # its own field only: series files are read when the study starts, beside the project
        mine = [p for p in found.items if p.path == f"$.{f.path}"]
        if mine:
            ranges.add(fp, f"{f.name} = {v:g} does not give a valid energy context: "
                         f"{mine[0].path} {mine[0].message}", v)
            return


def tariff_paths(tariff: dict, prefix: str = "tariff") -> list[str]:
    """The dotted paths of the numbers in a ``$.tariff`` document (what a factor of the
    energy context can vary), with the PV's and the battery's left out at their
    defaults."""
    out = []
    for k, v in tariff.items():
        p = f"{prefix}.{k}"
        if isinstance(v, dict):
            out += tariff_paths(v, p)
        elif not isinstance(v, bool) and isinstance(v, int | float):
            out.append(p)
    for key, fields in (("pv", ("scale",)), ("battery", BATTERY_NUMBERS)):
        if prefix == "tariff" and isinstance(tariff.get(key), dict):
            out += [p for k in fields if (p := f"tariff.{key}.{k}") not in out]
    return out


def numeric_paths(el: m.Element) -> list[str]:
    """The override paths of ``el`` that hold a number (what a factor can vary), but its
    rotation in the layout."""
    from twin.projectfile.scenarios import field_paths
    from twin.projectfile.writer import element_to_json

    doc = {"elements": [element_to_json(el)]}
    out = []
    for p in field_paths(el):
        if p in _LAYOUT:
            continue
        v = value_at(doc, el.id, p)
        if v is MISSING and "." not in p:
            v = getattr(el, p, MISSING)
        if not isinstance(v, bool) and isinstance(v, int | float):
            out.append(p)
    return out


# --- writing ------------------------------------------------------------------------------------
def experiment_to_json(exp: Experiment) -> dict:
    """The file form of one experiment (what :func:`read_experiments` reads back)."""
    out: dict = {"name": exp.name}
    if exp.description:
        out["description"] = exp.description
    out["factors"] = [factor_to_json(f) for f in exp.factors]
    out["design"] = exp.design
    if exp.points is not None:
        out["points"] = exp.points
    out["responses"] = list(exp.responses)
    out["replications"] = exp.replications
    for key, value in (("precision", exp.precision), ("margin_per_good_part", exp.margin),
                       ("horizon", exp.horizon), ("warmup", exp.warmup),
                       ("trials", exp.trials)):
        if value is not None:
            out[key] = value
    out["seed"] = exp.seed
    if exp.objectives:
        out["objectives"] = [{"response": o.response, "sense": o.sense}
                             for o in exp.objectives]
    if exp.constraints:
        out["constraints"] = [{"response": c.response,
                               **({"min": c.min} if c.min is not None else {}),
                               **({"max": c.max} if c.max is not None else {})}
                              for c in exp.constraints]
    return out


def factor_to_json(f: Factor) -> dict:
    out: dict = {"path": f.path} if f.element is None else {"element": f.element,
                                                            "path": f.path}
    num = (lambda v: int(v)) if f.integer else (lambda v: v)
    if f.levels is not None:
        out["levels"] = [num(v) for v in f.levels]
    else:
        out["low"], out["high"] = num(f.low), num(f.high)
    if f.integer:
        out["integer"] = True
    if f.cost_per_unit:
        out["cost_per_unit"] = f.cost_per_unit
    return out
