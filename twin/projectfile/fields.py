"""Typed field access on a JSON object of the project file, recording problems instead of
stopping: the one way every reader in ``twin.projectfile`` takes a number, a duration, a
string, a vector or a distribution out of an object, with the JSON path, the value and the
limit in each message (docs/limits.md)."""

from __future__ import annotations

import math

from twin import limits
from twin.errors import Problems
from twin.model.distributions import parse_distribution
from twin.units import parse_duration


class FieldReader:
    """Typed field access on a JSON object that records problems instead of stopping."""

    def __init__(self, obj: dict, path: str, problems: Problems, allowed: set[str]):
        self.obj, self.path, self.problems = obj, path, problems
        for key in obj:
            if key not in allowed and not key.startswith("x-"):
                problems.add(f"{path}.{key}", f"unknown field; expected one of {sorted(allowed)}"
                             " (prefix custom fields with 'x-')")

    def _bad(self, key, msg):
        self.problems.add(f"{self.path}.{key}", msg, self.obj[key])

    def number(self, key, default=None, lo=-math.inf, hi=math.inf, lo_open=False, integer=False):
        if key not in self.obj or self.obj[key] is None:
            return default
        v = self.obj[key]
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            self._bad(key, "must be a whole number" if integer else "must be a finite number")
            return default
        if integer and v != int(v):
            self._bad(key, "must be a whole number")
            return default
        if v < lo or (lo_open and v == lo) or v > hi:
            rng = f"{'>' if lo_open else '>='} {lo:g}"
            rng += f" and <= {hi:g}" if hi < math.inf else ""
            self._bad(key, f"must be {rng}")
            return default
        return int(v) if integer else float(v)

    def duration(self, key, default=None):
        if key not in self.obj:
            return default
        try:
            return parse_duration(self.obj[key])
        except ValueError as e:
            self._bad(key, str(e))
            return default

    def string(self, key, default=None, choices=None, limit=limits.MAX_NAME_CHARS):
        if key not in self.obj:
            return default
        v = self.obj[key]
        if not isinstance(v, str):
            self._bad(key, "must be a string")
            return default
        if choices and v not in choices:
            self._bad(key, f"expected one of {list(choices)}")
            return default
        if len(v) > limit:
            self.problems.add(f"{self.path}.{key}", f"{len(v):,} characters: at most "
                              f"{limit:,} (docs/limits.md)", v[:40] + "...")
            return default
        return v

    def boolean(self, key, default):
        if key not in self.obj:
            return default
        v = self.obj[key]
        if not isinstance(v, bool):
            self._bad(key, "must be true or false")
            return default
        return v

    def vector(self, key, n, default, lo=-math.inf, hi=math.inf, lo_open=False):
        if key not in self.obj:
            return default
        v = self.obj[key]
        if (not isinstance(v, list) or len(v) != n
                or any(isinstance(x, bool) or not isinstance(x, int | float)
                       or not math.isfinite(x) for x in v)):
            self._bad(key, f"must be a list of {n} numbers (metres)")
            return default
        if any(x < lo or (lo_open and x == lo) or x > hi for x in v):
            self._bad(key, f"each of its {n} numbers must be {'>' if lo_open else '>='} {lo:g}"
                      f" and <= {hi:g} metres (docs/limits.md)")
            return default
        return tuple(float(x) for x in v)

    def dist(self, key, default=None, per_product=False):
        if key not in self.obj or self.obj[key] is None:
            return default
        v, path = self.obj[key], f"{self.path}.{key}"
        if per_product and isinstance(v, dict) and "dist" not in v:
            out = {}
            for prod, d in v.items():
                parsed = parse_distribution(d, f"{path}.{prod}", self.problems)
                if parsed is not None:
                    out[prod] = parsed
            return out
        return parse_distribution(v, path, self.problems)

    def obj_at(self, key):
        v = self.obj.get(key)
        if v is None:
            return None
        if not isinstance(v, dict):
            self._bad(key, "must be an object")
            return None
        return v
