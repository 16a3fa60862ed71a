"""A source's ``orders`` and ``sequencing`` fields in ``project.json`` (issue 18 §4).

``orders`` is a list of order objects, or the name of a CSV file beside the project (a
header row ``id,product,quantity,release,due[,priority]``). Every problem names its JSON
path (``$.elements[0].orders[2].due``) or, for the CSV, the file, row and column; the
format is in docs/project-format.md ("orders") and the rules in docs/orders.md.
"""

from __future__ import annotations

import csv
from pathlib import Path

from twin import limits
from twin.errors import Problems
from twin.model.orders import SEQUENCING_RULES, Order
from twin.projectfile.fields import FieldReader
from twin.projectfile.files import ORDERS_FIX, link_problem, relative_problem

_FIELDS = ("id", "product", "quantity", "release", "due", "priority")
_REQUIRED = _FIELDS[:5]
_EXAMPLE = ('{"id": "A-1", "product": "widget", "quantity": 10, "release": 0, '
            '"due": "8h"}')


def read_orders(v, path: str, problems: Problems,
                folder: Path | None) -> tuple[list[Order] | None, str]:
    """The orders of a source's ``orders`` field (``path``), and the CSV name they came
    from ("" when inline); ``(None, "")`` when the field is absent."""
    if v is None:
        return None, ""
    if isinstance(v, str):
        return _read_csv(v, path, problems, folder), v
    if not isinstance(v, list) or not v:
        problems.add(path, "must be a non-empty list of orders, e.g. [" + _EXAMPLE + "], or "
                     "the name of a CSV file beside the project", v)
        return None, ""
    if len(v) > limits.MAX_SCHEDULE_ROWS:
        problems.add(path, f"{len(v):,} orders: at most {limits.MAX_SCHEDULE_ROWS:,}", len(v))
        return None, ""
    rows = []
    for i, obj in enumerate(v):
        p = f"{path}[{i}]"
        if not isinstance(obj, dict):
            problems.add(p, "expected an order object, e.g. " + _EXAMPLE, obj)
            continue
        rows.append((p, obj))
    return _orders(rows, problems), ""


def _read_csv(name: str, path: str, problems: Problems, folder: Path | None) -> list[Order]:
    if folder is None:
        problems.add(path, "names a CSV file, but the project has no folder to find it in "
                     "(save the project first, or list the orders inline)", name)
        return []
    why = relative_problem(name, ORDERS_FIX) or link_problem(folder, name, "the orders file",
                                                             ORDERS_FIX)
    if why is not None:
        problems.add(path, why, name)
        return []
    f = folder / name
    try:
        with open(f, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in reader.fieldnames or []]
            missing = [c for c in _REQUIRED if c not in header]
            if missing:
                problems.add(path, f"{name}: the header row lacks the columns {missing}; it "
                             f"needs {list(_REQUIRED)} (and optionally 'priority')", header)
                return []
            rows = []
            for k, row in enumerate(reader):
                obj = {(h or "").strip(): (x or "").strip() for h, x in row.items()
                       if h and h.strip() in _FIELDS and (x or "").strip() != ""}
                rows.append((f"{path} ({name}, row {k + 2})", _typed(obj)))
                if len(rows) > limits.MAX_SCHEDULE_ROWS:
                    problems.add(path, f"{name}: more than {limits.MAX_SCHEDULE_ROWS:,} orders",
                                 len(rows))
                    return []
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        problems.add(path, f"cannot read the orders file {name!r} beside the project: {e}; "
                     "put the CSV in the project's folder or list the orders inline", name)
        return []
    if not rows:
        problems.add(path, f"{name}: no orders below the header row", name)
    return _orders(rows, problems)


def _typed(obj: dict) -> dict:
    """A CSV row's numbers as numbers (durations such as '8h' stay strings)."""
    out = dict(obj)
    for k in ("quantity", "release", "due", "priority"):
        if k in out:
            try:
                x = float(out[k])
                out[k] = int(x) if x == int(x) else x
            except ValueError:
                pass
    return out


def _orders(rows: list[tuple[str, dict]], problems: Problems) -> list[Order]:
    out, seen = [], {}
    for p, obj in rows:
        r = FieldReader(obj, p, problems, set(_FIELDS))
        oid = obj.get("id")
        oid = str(oid) if isinstance(oid, int | str) and not isinstance(oid, bool) else ""
        if not oid or len(oid) > limits.MAX_ID_CHARS:
            problems.add(f"{p}.id", "every order needs an id (a non-empty string of at most "
                         f"{limits.MAX_ID_CHARS} characters)", obj.get("id"))
            continue
        if oid in seen:
            problems.add(f"{p}.id", f"duplicate order id (first used at {seen[oid]})", oid)
            continue
        seen[oid] = p
        prod = r.string("product", "", limit=limits.MAX_ID_CHARS)
        if not prod:
            problems.add(f"{p}.product", "every order names the product it asks for",
                         obj.get("product"))
        qty = r.number("quantity", None, lo=1, hi=limits.MAX_QUANTITY, integer=True)
        if "quantity" not in obj:
            problems.add(f"{p}.quantity", "every order needs a quantity (a whole number >= 1)")
        release = r.duration("release", None)
        due = r.duration("due", None)
        for key, val in (("release", release), ("due", due)):
            if key not in obj:
                problems.add(f"{p}.{key}", f"every order needs a {key} time (seconds, or a "
                             "duration such as '8h')")
            elif val is not None and not 0 <= val <= limits.MAX_TIME_S:
                problems.add(f"{p}.{key}", f"must be >= 0 and <= {limits.MAX_TIME_S:g} s", val)
                val = None
        if release is not None and due is not None and due < release:
            problems.add(f"{p}.due", f"is before the order's release ({release:g} s); give "
                         "a due date at or after the release", due)
            continue
        prio = r.number("priority", 0.0, lo=-1e9, hi=1e9)
        if not prod or qty is None or release is None or due is None:
            continue
        out.append(Order(oid, prod, qty, float(release), float(due), float(prio)))
    return out


def source_orders(r: FieldReader, path: str, problems: Problems, folder: Path | None,
                  arrives: object) -> tuple[list[Order] | None, str, str]:
    """A source's ``orders`` (None: not an order source), the CSV they came from and its
    ``sequencing`` rule (default ``fifo``); ``arrives``: it has an arrival or a schedule,
    which an order source must not have."""
    orders, name = read_orders(r.obj.get("orders"), f"{path}.orders", problems, folder)
    if orders is not None and arrives:
        problems.add(f"{path}.orders", "an order source releases its orders: remove its "
                     "'arrival' and 'schedule', or its 'orders'")
    if orders is not None and "product_mix" in r.obj:
        problems.add(f"{path}.product_mix", "an order source's orders name their products: "
                     "remove 'product_mix' (to change the mix, change the orders, e.g. a "
                     "scenario that overrides 'orders' with another CSV)", r.obj["product_mix"])
    return orders, name, r.string("sequencing", "fifo", SEQUENCING_RULES)


def orders_to_json(orders: list[Order]) -> list[dict]:
    """The inline JSON form of ``orders`` (priority only when set)."""
    out = []
    for o in orders:
        d = {"id": o.id, "product": o.product, "quantity": o.quantity, "release": o.release,
             "due": o.due}
        if o.priority:
            d["priority"] = o.priority
        out.append(d)
    return out
