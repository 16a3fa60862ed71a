"""The one reading of a list of objects in a project file (scenarios, experiments and their
objectives and constraints, alert rules, calendar periods): a list, not too long, of
objects, each problem added with its JSON path."""

from __future__ import annotations

from twin.errors import Problems


def objects(raw, path: str, problems: Problems, *, not_list: str, not_object: str,
            limit: int | None = None, what: str = "items", none_is_empty: bool = True
            ) -> list[tuple[int, str, dict]]:
    """``(index, JSON path, object)`` of each object of the list ``raw`` found at ``path``.

    ``None`` is an empty list when ``none_is_empty`` (the section is optional). A value that
    is not a list is the problem ``not_list``; a list longer than ``limit`` is named with
    its length (``what``: the plural of its items) and read as empty; an item that is not an
    object is the problem ``not_object`` at its own path and is left out.
    """
    if raw is None and none_is_empty:
        return []
    if not isinstance(raw, list):
        problems.add(path, not_list, raw)
        return []
    if limit is not None and len(raw) > limit:
        problems.add(path, f"{len(raw):,} {what}: at most {limit}", len(raw))
        return []
    out = []
    for i, item in enumerate(raw):
        if isinstance(item, dict):
            out.append((i, f"{path}[{i}]", item))
        else:
            problems.add(f"{path}[{i}]", not_object, item)
    return out
