"""Scenarios as the workbench edits them: which fields an override can set, what a scenario
changes of an element, whether a scenario gives a valid project, and a scenario made of the
edits since the last save (issue 14, §3).

Overrides hold values in the file's JSON form (``docs/project-format.md`` §8), so every
function here works on ``project_to_json`` documents and judges with the project reader.
"""

from __future__ import annotations

import copy
import dataclasses

from twin.errors import Problem, ProjectError
from twin.model import commands as cmd
from twin.model import elements as m
from twin.projectfile.reader import apply_overrides, project_from_json, project_to_json
from twin.projectfile.writer import element_to_json

#: Shown for a field the base leaves out (an optional block not set, a default value).
MISSING = object()
_FIXED = ("id", "kind", "extra")


def field_paths(el: m.Element) -> list[str]:
    """The dotted paths an override of ``el`` can set: every field of its kind, then the
    keys inside the objects it has (``failures.time_to_repair``, ``process_time.mean``).

    Parameters
    ----------
    el : Element
        The element as it is in the base project.
    """
    out = [f.name for f in dataclasses.fields(el) if f.name not in _FIXED]
    doc = element_to_json(el)

    def nested(prefix: str, value, depth: int) -> None:
        if not isinstance(value, dict) or depth == 0:
            return
        for k, v in value.items():
            if k == "dist":  # a distribution's kind is set with the whole distribution
                continue
            out.append(f"{prefix}.{k}")
            nested(f"{prefix}.{k}", v, depth - 1)

    for key in list(out):
        nested(key, doc.get(key), 2)
    return out


def value_at(doc: dict, element: str | None, path: str):
    """The value at ``path`` of ``element`` (None: the root) in a project document, or
    ``MISSING`` when the document leaves it out."""
    target = doc if element is None else next(
        (e for e in doc.get("elements", ()) if e.get("id") == element), None)
    for key in path.split("."):
        if not isinstance(target, dict) or key not in target:
            return MISSING
        target = target[key]
    return target


def overridden_fields(project: m.Project, scenario_name: str,
                      element_id: str | None) -> dict[str, tuple[object, object]]:
    """What scenario ``scenario_name`` changes of one element: ``{path: (base, value)}``.

    ``base`` is the value in the base project's file form (a field's default when the file
    leaves it out; ``MISSING`` inside a block that is not set); ``value`` is the scenario's. An
    element id of None gives the overrides at the document root. ``base`` (the project
    itself) changes nothing: ``{}``. The inspector shows these side by side, changed
    fields highlighted.

    Raises
    ------
    KeyError
        No scenario of that name.
    """
    if scenario_name in (None, "", "base"):
        return {}
    scenario = project.scenario(scenario_name)
    el = project.element(element_id) if element_id is not None and element_id in project \
        else None
    # one element's file form, not the whole project's: this runs on every click
    doc = project_to_json(project) if el is None else {"elements": [element_to_json(el)]}
    out: dict[str, tuple[object, object]] = {}
    for o in scenario.overrides:
        if o.element == element_id:
            base = value_at(doc, element_id, o.path)
            if base is MISSING and el is not None and hasattr(el, o.path):
                base = _file_value(getattr(el, o.path))  # a default the writer leaves out
            out[o.path] = (base, o.value)
    return out


def check_scenario(project: m.Project, scenario: m.Scenario) -> None:
    """Raise ``ProjectError`` (the reader's problems, under the scenario's name) unless
    ``scenario`` applied to ``project`` gives a valid project.

    The same test as reading the file (``check_scenarios``), so the window refuses exactly
    the overrides a file would refuse, with the same reason.
    """
    doc = project_to_json(project)
    doc.pop("scenarios", None)
    try:
        variant = apply_overrides(doc, scenario, validate=False)
    except KeyError as e:
        raise ProjectError([Problem("$", str(e.args[0]), ...)],
                           f"scenario {scenario.name!r}") from None
    try:
        project_from_json(variant)
    except ProjectError as e:
        raise ProjectError(e.problems, f"scenario {scenario.name!r}") from None


def _file_value(value):
    """A model value in the file's JSON form (for a field the writer leaves out)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "to_json"):
        return value.to_json()
    if isinstance(value, (tuple, list)):
        return [_file_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _file_value(v) for k, v in value.items()}
    raise TypeError(f"no file form for {value!r}")


def save_as_scenario(project: m.Project, saved_doc: dict, name: str
                     ) -> tuple[cmd.Command, list[str]]:
    """"Save current values as scenario": the edits since the last save become scenario
    ``name`` and the base goes back to its saved values, as one undo step.

    The choice (issue 14): a scenario is a *difference* from the base, and the base the
    engineer trusts is the saved file. So every field of an element that differs between
    ``saved_doc`` (the project document as last saved or opened) and the project now
    becomes an override with the present value, and the element gets its saved value
    back; so do the demand-response windows (a project-level override of
    ``demand_response``). Elements added or removed since the save, and other changes
    outside elements (calendar, tariff), cannot be an override: they stay as they are and
    are listed in the second item returned, for the window to say so.

    Parameters
    ----------
    project : Project
        The project as edited.
    saved_doc : dict
        ``project_to_json`` of the project as last saved.
    name : str
        The new scenario's name (``check_scenario_name`` rules).

    Returns
    -------
    (Command, list of str)
        The command to push on the undo stack, and what was left out.

    Raises
    ------
    ValueError
        A bad name, or nothing changed since the save.
    """
    name = cmd.check_scenario_name(project, name)
    saved = {e["id"]: e for e in saved_doc.get("elements", ())}
    if not saved:
        # a new project not saved yet: every element is new, so no field of one can be
        # told from its saved value (reading the empty document said "a project needs a
        # non-empty list of elements", about a project that had five)
        raise ValueError("the project has not been saved with its elements yet, so no field "
                         "has a saved value to go back to: save the project (File > Save), "
                         "edit the fields the scenario should change, then save them as a "
                         "scenario")
    # not strict: a layout saved half built (loose ends, no source yet) has saved values too
    saved_project = project_from_json({k: v for k, v in saved_doc.items() if k != "scenarios"},
                                      strict=False)
    overrides: list[m.Override] = []
    reverts: list[cmd.Command] = []
    left_out = [f"element {el.id} (added since the save)"
                for el in project.elements if el.id not in saved]
    left_out += [f"element {eid} (deleted since the save)"
                 for eid in saved if eid not in project]
    for el in project.elements:
        if el.id not in saved:
            continue
        now, was = element_to_json(el), saved[el.id]
        for key in dict.fromkeys([*now, *was]):
            if key in _FIXED or key.startswith("x-"):
                continue
            if now.get(key, MISSING) == was.get(key, MISSING):
                continue
            value = now[key] if key in now else _file_value(getattr(el, key))
            overrides.append(m.Override(key, copy.deepcopy(value), el.id))
            reverts.append(cmd.SetField(el.id, key,
                                        getattr(saved_project.element(el.id), key)))
    doc = project_to_json(project)
    for key in ("calendar", "tariff", "connections"):
        if doc.get(key) != saved_doc.get(key):
            left_out.append(f"{key} (not an element field)")
    if doc.get("demand_response") != saved_doc.get("demand_response"):
        # the demand-response windows are a project-level override (issue 19 §2): the
        # scenario pauses with them, the base without
        overrides.append(m.Override("demand_response",
                                    copy.deepcopy(doc.get("demand_response", []))))
        reverts.append(cmd.SetProjectField("demand_response",
                                           list(saved_project.demand_response)))
    if not overrides:
        raise ValueError("no element field or demand-response window changed since the last "
                         "save: edit fields in the inspector (or the windows in Calendar, "
                         "energy and workers) first, then save them as a scenario")
    macro = cmd.Macro([*reverts, cmd.AddScenario(name, overrides)],
                      f"save current values as scenario {cmd.named(name)}")
    return macro, left_out
