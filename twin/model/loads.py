"""Where a load that travels as one unit can go (issue 18 §2).

A batch station whose ``batch.release`` is "load" lets each done load leave as one unit (a
basket); conveyors, buffers and plain stations carry, store and process it as one, until an
unbatch station (``Station.unbatch``) releases its parts (never a sink). This finds,
for each such batch station, the elements its loads can reach, so the reader can refuse
what cannot hold a load (``twin.projectfile.structure``) and calibration and forks can say
which stations see loads. See docs/semantics.md, "A load that travels as one unit".
"""

from __future__ import annotations

from collections import deque

from twin.model import elements as m


def releases_loads(el: m.Element) -> bool:
    """Whether ``el`` is a batch station whose loads leave as one unit."""
    return isinstance(el, m.Station) and el.batch is not None and el.batch.release == "load"


def load_reach(project: m.Project) -> dict[str, list[str]]:
    """For each batch station releasing whole loads, the ids of the elements its loads can
    reach (in the order a walk along the connections meets them), up to and including the
    first unbatch station or sink on each path; {} when no station releases loads."""
    starts = [el.id for el in project.elements if releases_loads(el)]
    if not starts:
        return {}
    by_id = {el.id: el for el in project.elements}
    succ, _ = project.adjacency()
    out: dict[str, list[str]] = {}
    for start in starts:
        seen: dict[str, None] = {}  # in the order met (a dict: linear in a large line)
        todo = deque(c.target for c in succ.get(start, []))
        while todo:
            x = todo.popleft()
            if x in seen:
                continue
            seen[x] = None  # the station itself too, when a loop leads back to it
            el = by_id.get(x)
            if (el is None or x == start or el.kind == "sink"
                    or (isinstance(el, m.Station) and el.unbatch)):
                continue
            todo.extend(c.target for c in succ.get(x, []))
        out[start] = list(seen)
    return out


def stations_seeing_loads(project: m.Project) -> list[str]:
    """The stations that process whole loads: batch stations releasing them, the stations
    their loads reach, and unbatch stations (in project order)."""
    reach = load_reach(project)
    reached = {x for xs in reach.values() for x in xs} | set(reach)
    return [s.id for s in project.stations() if s.id in reached or s.unbatch]
