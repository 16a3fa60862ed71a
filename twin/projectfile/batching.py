"""A station's ``batch`` field (issue 18 §2): the station processes its parts in loads; and
its ``disassembly`` (issue 18 §1): it separates each part into several.

``{"size": 8, "timeout": "30min", "min_fill": 4, "capacity": 16, "release": "load"}``: the
format is in docs/project-format.md ("batch"), the behaviour in docs/semantics.md
("Batching"). Every problem is named with its JSON path (``$.elements[2].batch.min_fill``).
"""

from __future__ import annotations

from twin import limits
from twin.errors import Problems
from twin.model.elements import Batch, Disassembly
from twin.projectfile.fields import FieldReader

_FIELDS = {"size", "timeout", "min_fill", "capacity", "release"}
RELEASES = ("parts", "load")


def read_batch(obj, path: str, problems: Problems) -> Batch | None:
    """The ``batch`` object of a station (None: the station takes one part at a time)."""
    if obj is None:
        return None
    if not isinstance(obj, dict):
        problems.add(path, 'must be an object, e.g. {"size": 8, "timeout": "30min"}', obj)
        return None
    r = FieldReader(obj, path, problems, _FIELDS)
    if obj.get("size") is None:
        problems.add(f"{path}.size", "a batch needs its size: the parts of a full load, e.g. 8")
        return None
    n = len(problems.items)
    size = r.number("size", None, lo=1, hi=limits.MAX_QUANTITY, integer=True)
    timeout = r.duration("timeout", None) if obj.get("timeout") is not None else None
    min_fill = r.number("min_fill", 1, lo=1, hi=limits.MAX_QUANTITY, integer=True)
    cap = r.number("capacity", None, lo=1, hi=limits.MAX_CAPACITY, integer=True)
    release = r.string("release", "parts", RELEASES)
    if len(problems.items) > n:
        return None
    if min_fill > size:
        problems.add(f"{path}.min_fill", f"must be at most the size ({size}): a load never "
                     "holds more", min_fill)
        return None
    if cap is not None and cap < size:
        problems.add(f"{path}.capacity", f"must hold at least one load ({size} parts): a "
                     "smaller place could never fill one", cap)
        return None
    return Batch(int(size), None if timeout is None else float(timeout), int(min_fill),
                 None if cap is None else int(cap), release)


def batch_to_json(b: Batch) -> dict:
    """A ``batch`` as ``project.json`` holds it (defaults left out)."""
    out: dict = {"size": b.size}
    if b.timeout is not None:
        out["timeout"] = b.timeout
    if b.min_fill != 1:
        out["min_fill"] = b.min_fill
    if b.capacity is not None:
        out["capacity"] = b.capacity
    if b.release != "parts":
        out["release"] = b.release
    return out


def read_disassembly(obj, path: str, problems: Problems) -> Disassembly | None:
    """The ``disassembly`` object of a station: ``{"outputs": [{"to": id, "quantity": k,
    "product": name}]}`` (``product`` optional: the parts keep the separated part's);
    whether each output is a successor is a fault of the flow (``structure``)."""
    if obj is None:
        return None
    example = '{"outputs": [{"to": "frames", "quantity": 1}, {"to": "screws", "quantity": 4}]}'
    rows = obj.get("outputs") if isinstance(obj, dict) else None
    if not isinstance(rows, list) or not rows:
        problems.add(f"{path}.outputs" if isinstance(obj, dict) else path,
                     f"must list the outputs, e.g. {example}", rows if isinstance(obj, dict)
                     else obj)
        return None
    FieldReader(obj, path, problems, {"outputs"})
    outputs, seen = [], set()
    for k, row in enumerate(rows):
        rp = f"{path}.outputs[{k}]"
        if not isinstance(row, dict):
            problems.add(rp, 'expected {"to": "<successor id>", "quantity": 1}', row)
            continue
        r = FieldReader(row, rp, problems, {"to", "quantity", "product"})
        to = r.string("to", limit=limits.MAX_ID_CHARS)
        n = len(problems.items)
        product = r.string("product")
        if len(problems.items) > n:
            continue
        if product is not None and not product.strip():
            problems.add(f"{rp}.product", "names the product the parts become, e.g. "
                         '"screw" (leave it out to keep the part\'s product)', product)
            continue
        if not to or (to, product) in seen:
            problems.add(f"{rp}.to", "names a successor of the station, each once per "
                         "product (give it the total quantity)", row.get("to"))
            continue
        seen.add((to, product))
        q = r.number("quantity", 1, lo=1, hi=limits.MAX_QUANTITY, integer=True)
        if q is not None:
            outputs.append((to, int(q), product))
    if len(outputs) != len(rows):
        return None
    total = sum(q for _, q, _ in outputs)
    if total > limits.MAX_QUANTITY:
        problems.add(f"{path}.outputs", f"makes more than {limits.MAX_QUANTITY:,} parts of "
                     "one", total)
        return None
    if total == 1 and outputs[0][2] is not None:
        problems.add(f"{path}.outputs[0].product", "a disassembly that makes one part of "
                     "each cannot change its product; give it two parts or more, or model "
                     "the change as a new product downstream", outputs[0][2])
        return None
    return Disassembly(tuple(outputs))


def disassembly_to_json(d: Disassembly) -> dict:
    return {"outputs": [{"to": to, "quantity": q, **({"product": p} if p else {})}
                        for to, q, p in d.outputs]}
