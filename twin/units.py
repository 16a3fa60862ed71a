"""Durations as users write them: ``8h``, ``30min``, ``90s``, ``1h30min``, ``3600``."""

from __future__ import annotations

import re

_UNITS = {
    "ms": 0.001, "s": 1.0, "sec": 1.0, "min": 60.0, "m": 60.0, "h": 3600.0,
    "hr": 3600.0, "d": 86400.0, "day": 86400.0, "days": 86400.0, "w": 604800.0,
}
_PART = re.compile(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-z]*)\s*")


def parse_duration(text: str | float | int) -> float:
    """Return a duration in seconds.

    Parameters
    ----------
    text : str or number
        A number of seconds, or a sum of number-unit parts such as ``"1h30min"``; units are
        ms, s, min (or m), h, d, w.

    Raises
    ------
    ValueError
        If the text is not a duration, with the accepted forms in the message.
    """
    if isinstance(text, bool):
        raise ValueError(f"expected a duration such as 3600, '8h' or '30min', got {text!r}")
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        s = str(text).strip().lower()
        pos, seconds, parts = 0, 0.0, 0
        while pos < len(s):
            m = _PART.match(s, pos)
            if not m or m.end() == pos or (m.group(2) and m.group(2) not in _UNITS):
                raise ValueError(
                    f"expected a duration such as 3600, '8h', '30min' or '1h30min', got {text!r}"
                )
            seconds += float(m.group(1)) * _UNITS[m.group(2) or "s"]
            pos, parts = m.end(), parts + 1
        if parts == 0:
            raise ValueError(f"expected a duration such as 3600, '8h' or '30min', got {text!r}")
    if seconds != seconds or seconds < 0 or seconds == float("inf"):
        raise ValueError(f"a duration must be a finite number of seconds >= 0, got {text!r}")
    return seconds


def format_duration(seconds: float) -> str:
    """Write seconds back in the largest unit that divides them (``28800 -> '8h'``)."""
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s" if seconds != int(seconds) else f"{int(seconds)}s"


def seconds_text(s: float) -> str:
    """A time in seconds for a person to read, with its unit: ``10 s``, ``12.25 s``, and for a
    minute or more a readable form beside it, ``108000 s = 30 h`` (``= 5 days`` from four
    days on). The one formatter of messages, limits and the distribution editor's statistics
    (three had grown apart: ``8 h``, ``108000 s = 30 h``, ``60 s (1min)``).

    A whole number of seconds is shown as it is (``172800 s``: the value the file holds), a
    fraction to four digits (``sd 12.25 s``); an infinite time is ``∞``.

    Parameters
    ----------
    s : float
        Seconds.
    """
    if s in (float("inf"), float("-inf")):
        return "∞" if s > 0 else "-∞"
    text = f"{s:g} s" if s == round(s) else f"{s:.4g} s"
    # from four days on in days (48 h reads better than 2 days); errors.seconds_text divided
    # by the four days it starts at, so that five days read "1.25 days"
    for start, size, unit in ((4 * 86400.0, 86400.0, "days"), (3600.0, 3600.0, "h"),
                              (60.0, 60.0, "min")):
        if abs(s) >= start:
            return f"{text} = {s / size:.4g} {unit}"
    return text
