"""Faults of a project's flow: elements parts cannot leave or reach, wrong fan-in and
fan-out, no source, no elements, a scenario naming a deleted element.

They stop a run but not an editor (issue 14): the reader raises them when strict (the
command line) and keeps them in ``Project.problems`` when a project is opened for editing;
``structure_problems`` says what they are after edits, ``require_runnable`` raises them
before a run.
"""

from __future__ import annotations

from twin.errors import Problem, Problems, ProjectError
from twin.model import elements as m
from twin.model.loads import load_reach


def check_structure(project: m.Project, problems: Problems,
                    index: dict[str, int] | None = None) -> None:
    """Faults of the flow: elements parts cannot leave or reach, wrong fan-in and fan-out.

    ``index`` maps element ids to their position in the file, for the JSON paths.
    """
    index = index or {el.id: i for i, el in enumerate(project.elements)}
    succ, pred = project.adjacency()  # once: asking per element is quadratic
    prods = _products(project)
    seen_pairs = set()
    for i, c in enumerate(project.connections):
        if c.source == c.target:
            problems.add(f"$.connections[{i}]", "connects an element to itself", c.source)
        if (c.source, c.target) in seen_pairs:
            problems.add(f"$.connections[{i}]", "repeats an earlier connection",
                         [c.source, c.target])
        seen_pairs.add((c.source, c.target))
    for el in project.elements:
        ep = f"$.elements[{index[el.id]}]"
        outs, ins = succ.get(el.id, []), pred.get(el.id, [])
        if el.kind == "sink":
            if outs:
                problems.add(ep, "a sink takes parts out of the line; it cannot have successors",
                             el.id)
        elif not outs:
            problems.add(ep, "parts cannot leave this element: connect it to a successor "
                         "(a sink ends the line)", el.id)
        if el.kind == "source" and ins:
            problems.add(ep, "a source cannot have predecessors", el.id)
        if el.kind not in ("source",) and not ins:
            problems.add(ep, "no part can reach this element: connect a predecessor to it",
                         el.id)
        if el.kind == "conveyor" and (len(ins) > 1 or len(outs) > 1):
            problems.add(ep, "a conveyor joins one predecessor to one successor; put a buffer "
                         "before or after it to merge or split", el.id)
        if getattr(el, "routing", None) == "probability" and len(outs) > 1 and sum(
                c.weight for c in outs) <= 0:
            problems.add(ep, "the split probabilities of its connections sum to 0", el.id)
        if isinstance(el, m.Station) and el.assembly is not None:
            _check_assembly(el, ep, ins, problems)
        if isinstance(el, m.Station) and ((el.batch or el.disassembly) is not None
                                          or el.unbatch):
            _check_batch(el, ep, ins, outs, problems)
        if isinstance(el, m.Station) and isinstance(el.process_time, dict):
            for prod in prods:
                if el.process_time_for(prod) is None:
                    problems.add(f"{ep}.process_time", f"has no time for product {prod!r}; "
                                 "add it or a '*' entry for all others", sorted(el.process_time))
    # every element must be able to reach a sink: walk the connections backwards from the
    # sinks, each connection once (a pass over all connections until nothing changes was
    # quadratic in a long line)
    reach = {el.id for el in project.elements if el.kind == "sink"}
    todo = list(reach)
    while todo:
        for c in pred.get(todo.pop(), []):
            if c.source not in reach:
                reach.add(c.source)
                todo.append(c.source)
    for el in project.elements:
        if el.id not in reach and el.kind != "sink" and succ.get(el.id):
            # a loop without a way out, or a line cut further on (an element deleted)
            problems.add(f"$.elements[{index[el.id]}]", "parts entering here can never reach a "
                         "sink: the flow further on is cut or only cycles; connect it to a sink",
                         el.id)
    if not any(el.kind == "source" for el in project.elements):
        problems.add("$.elements", "the line needs at least one source")
    _check_loads(project, index, problems)


def _check_loads(project: m.Project, index: dict[str, int], problems: Problems) -> None:
    """A load that travels as one unit (issue 18 §2) may reach conveyors, buffers, plain
    stations and unbatch stations: not a station that assembles, batches, separates or
    scraps, nor a sink (each would take the load for one part)."""
    by_id = {el.id: el for el in project.elements}
    for start, reached in load_reach(project).items():
        for x in reached:
            el = by_id.get(x)
            if el is not None and el.kind == "sink":
                problems.add(f"$.elements[{index[x]}]", f"the loads of batch station {start!r} "
                             "(release 'load') reach this sink whole, which would count each "
                             "load as one part; put an unbatch station (\"unbatch\": true, "
                             f"process time 0 if emptying takes no time) before it, or let "
                             f"{start!r} release its loads by parts", x)
            if not isinstance(el, m.Station) or el.unbatch:
                continue
            what = _load_breaker(el)
            if what is not None:
                problems.add(f"$.elements[{index[x]}]", f"the loads of batch station {start!r} "
                             f"(release 'load') reach this station, which {what} and cannot "
                             "take a load as one part; put an unbatch station (\"unbatch\": "
                             f"true) before it, or let {start!r} release its loads by parts",
                             x)


def _load_breaker(el: m.Station) -> str | None:
    """What station ``el`` does that a load cannot go through as one part, or None."""
    scraps = el.scrap > 0 or (el.wear is not None and el.wear.scrap_gain > 0)
    for what, does in (("assembles", el.assembly is not None),
                       ("processes loads", el.batch is not None),
                       ("disassembles", el.disassembly is not None),
                       ("scraps parts", scraps)):
        if does:
            return what
    return None


def _check_assembly(el: m.Station, ep: str, ins: list[m.Connection],
                    problems: Problems) -> None:
    """An assembly's bill of materials names each of its predecessors once, and only them."""
    preds = [c.source for c in ins]
    named = [i.source for i in el.assembly.inputs]
    if not named:
        problems.add(f"{ep}.assembly.inputs", "an assembly needs at least one input: connect "
                     "its predecessors and give each a quantity", [])
        return
    for k, inp in enumerate(el.assembly.inputs):
        if inp.source not in preds:
            problems.add(f"{ep}.assembly.inputs[{k}].from", f"{inp.source!r} is not connected "
                         f"into this station; connect it to {el.id!r}, or remove this input "
                         f"(its predecessors: {preds})", inp.source)
    for p in preds:
        if p not in named:
            problems.add(f"{ep}.assembly.inputs", f"predecessor {p!r} is not in the bill of "
                         "materials, so its parts could never be used; add an input from it "
                         "or disconnect it", p)


def _check_batch(el: m.Station, ep: str, ins: list[m.Connection], outs: list[m.Connection],
                 problems: Problems) -> None:
    """A batch or disassembly station (issue 18) takes its parts from one predecessor, is no
    assembly (and not both), and scraps no parts (a load is processed as one); a
    disassembly's outputs name each of its successors once."""
    field = ("batch" if el.batch is not None else "disassembly"
             if el.disassembly is not None else "unbatch")
    if sum(x is not None for x in (el.assembly, el.batch, el.disassembly)) + el.unbatch > 1:
        problems.add(f"{ep}.{field}", "a station either assembles, processes loads, "
                     "disassembles or unbatches; keep one of 'assembly', 'batch', "
                     "'disassembly' and 'unbatch'", el.id)
    if len(ins) > 1:
        problems.add(f"{ep}.{field}", f"a station with a {field} takes its parts from one "
                     "predecessor; merge its feeders in a buffer before it",
                     [c.source for c in ins])
    if el.scrap > 0 or (el.wear is not None and el.wear.scrap_gain > 0):
        problems.add(f"{ep}.scrap", f"a station with a {field} scraps no parts (a load is "
                     "processed as one); put the scrap on a station after it", el.scrap)
    if el.disassembly is not None:
        succ = [c.target for c in outs]
        named = [to for to, _, _ in el.disassembly.outputs]
        for k, to in enumerate(named):
            if to not in succ:
                problems.add(f"{ep}.disassembly.outputs[{k}].to", f"{to!r} is not a successor "
                             f"of this station; connect {el.id!r} to it, or remove this output "
                             f"(its successors: {succ})", to)
        for to in succ:
            if to not in named:
                problems.add(f"{ep}.disassembly.outputs", f"successor {to!r} is in no output, "
                             "so no part could go there; add an output to it or disconnect "
                             "it", to)
        if el.servers > 1:
            problems.add(f"{ep}.servers", "a disassembly has one server: it hands out the "
                         "parts of one part in turn (for more, put separators in parallel "
                         "after a buffer)", el.servers)


def _products(project: m.Project) -> list[str]:
    out: list[str] = []
    for el in project.elements:
        if isinstance(el, m.Source):
            names = [row[1] for row in el.schedule] if el.schedule else list(el.product_mix)
            if el.orders is not None:  # an order source makes what its orders ask for
                names = [o.product for o in el.orders]
            out.extend(n for n in names if n not in out)
    for el in project.elements:  # what assemblies and disassemblies make (issue 18)
        if not isinstance(el, m.Station):
            continue
        made = (el.assembly.product,) if el.assembly else ()
        made += el.disassembly.products if el.disassembly else ()
        out.extend(p for p in made if p and p not in out)
    return out or ["part"]


def products(project: m.Project) -> list[str]:
    """Every product name the sources make, in a stable order."""
    return _products(project)


_EMPTY = "a project needs a non-empty list of elements"


def structure_problems(project: m.Project) -> list[Problem]:
    """The faults of ``project``'s flow as it is now (``check_structure``, no elements at all,
    a scenario overriding a deleted element), each naming its element by kind, id and name:
    what stops a run of a layout that still opens for editing. Empty when it can run."""
    problems = Problems()
    if not project.elements:
        problems.add("$.elements", _EMPTY, [])
    index = {el.id: i for i, el in enumerate(project.elements)}
    check_structure(project, problems, index)
    for i, s in enumerate(project.scenarios):  # as check_scenarios finds them in a file
        gone = next((o.element for o in s.overrides
                     if o.element is not None and o.element not in index), None)
        if gone is not None:
            problems.add(f"$.scenarios[{i}]", f"scenario {s.name!r}: override names element "
                         f"{gone!r}, which does not exist", s.name)
    experiments_naming_gone_elements(project, problems, index)
    return [_named(project, p) for p in problems.items]


def experiments_naming_gone_elements(project: m.Project, problems: Problems,
                                     index: dict[str, int]) -> None:
    """An experiment's factor or response naming an element that does not exist (deleted in
    the editor), as a scenario's override of one is a fault (issue 17)."""
    for i, exp in enumerate(getattr(project, "experiments", ())):
        ep = f"$.experiments[{i}]"
        for j, f in enumerate(exp.factors):
            if f.element is not None and f.element not in index:
                problems.add(f"{ep}.factors[{j}].element", f"experiment {exp.name!r}: factor "
                             f"{f.name} names element {f.element!r}, which does not exist",
                             f.element)
        for path, resp in experiment_responses(exp, ep):
            parts = resp.split(".")
            if parts[0] == "elements" and len(parts) >= 3 and parts[1] not in index:
                problems.add(path, f"experiment {exp.name!r}: response {resp} names element "
                             f"{parts[1]!r}, which does not exist", resp)


def experiment_responses(exp, ep: str) -> list[tuple[str, str]]:
    """``(JSON path, name)`` of every response an experiment uses: its responses, its
    objectives' and its constraints'."""
    out = [(f"{ep}.responses[{k}]", r) for k, r in enumerate(exp.responses)]
    out += [(f"{ep}.objectives[{k}].response", o.response)
            for k, o in enumerate(exp.objectives)]
    out += [(f"{ep}.constraints[{k}].response", c.response)
            for k, c in enumerate(exp.constraints)]
    return out


def _named(project: m.Project, p: Problem) -> Problem:
    """``p`` with its message led by the element its path points at (as the reader does)."""
    el = problem_element(project, p)
    if el is None:
        return p
    who = f"{el.kind} {el.id!r}" + (f" ({el.name})" if el.name and el.name != el.id else "")
    return Problem(p.path, f"{who}: {p.message}", p.value)


def problem_element(project: m.Project, p: Problem) -> m.Element | None:
    """The element a structural problem of ``project`` is about (from the index in its JSON
    path; a connection's problem: the connection's source), or None (the whole line)."""
    for prefix, pick in (("$.elements[", lambda i: project.elements[i]),
                         ("$.connections[", lambda i: project.element(
                             project.connections[i].source))):
        if p.path.startswith(prefix):
            try:
                return pick(int(p.path[len(prefix):].split("]")[0]))
            except (ValueError, IndexError, KeyError):
                return None
    return None


def require_runnable(project: m.Project, where: str | None = None) -> None:
    """Raise ``ProjectError`` listing the faults of the flow that stop ``project`` from
    running (:func:`structure_problems`); ``where`` names it in the message."""
    found = structure_problems(project)
    if found:
        raise ProjectError(found, where or f"project {project.name!r}")
