"""The shifts live mode measures "this shift so far" in: the project's calendar, or Replay's
default shifts when the project has none.

A project's calendar (``$.calendar``, docs/project-format.md §5) names working periods
within a cycle of ``period`` (a day by default). In the plant's time zone a daily cycle
starts at local midnight; a cycle of several days (``"1w"``) starts at midnight of a Monday,
and a cycle shorter than a day at midnight and every ``period`` after it (cycles are laid
from Monday 2024-01-01 00:00 local, in wall-clock time, so that a daylight-saving change
moves no shift). Without a calendar, the shifts are Replay's defaults
(``twin.recording.mapping.DEFAULT_SHIFTS_JSON``: 06:00, 14:00 and 22:00), each lasting until
the next one begins.

:meth:`LiveShifts.at` gives the shift a plant time falls in: the latest shift that began at
or before it, counted from its start to its end (``end``), and shown until the next shift
begins (``until``): between the late shift's end and the next morning the dock still shows
the late shift's figures, which no longer grow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from twin.recording.format import zone
from twin.recording.mapping import DEFAULT_SHIFTS_JSON, parse_shifts

#: Where cycles are laid from: a Monday, local midnight.
ANCHOR = datetime(2024, 1, 1)
DAY_S = 86400.0


@dataclass(frozen=True)
class ShiftWindow:
    """One shift: ``[start, end)`` is counted, the dock shows it until ``until``; times in
    seconds since 1970 (UTC). ``label``: ``YYYY-MM-DD name`` (the local day it began)."""

    start: float
    end: float
    until: float
    label: str


class LiveShifts:
    """Shifts as ``(start, end, name)`` offsets in seconds within a cycle of ``period_s``
    seconds, in the time zone ``time_zone``; ``origin`` says where they come from."""

    def __init__(self, shifts: list[tuple[float, float, str]], period_s: float,
                 time_zone: str = "UTC", origin: str = "") -> None:
        if not shifts:
            raise ValueError("no shifts")
        self.shifts = sorted(shifts)
        self.period_s = float(period_s)
        self.tz = zone(time_zone)
        self.origin = origin

    @classmethod
    def default(cls, time_zone: str = "UTC") -> LiveShifts:
        """Replay's default shifts, each until the next begins."""
        starts = [60.0 * s.start_min for s in parse_shifts(list(DEFAULT_SHIFTS_JSON))]
        names = [s["name"] for s in DEFAULT_SHIFTS_JSON]
        ends = starts[1:] + [starts[0] + DAY_S]
        times = ", ".join(f"{int(s // 3600):02d}:{int(s % 3600 // 60):02d}" for s in starts)
        return cls(list(zip(starts, ends, names, strict=True)), DAY_S, time_zone,
                   f"default shifts ({times} {time_zone}): the project has no calendar")

    @classmethod
    def of_project(cls, project, time_zone: str = "UTC") -> LiveShifts:
        """The project's calendar shifts (unnamed ones are called ``shift 1``, ``shift 2``,
        ... in order of their start), or :meth:`default` without a calendar."""
        cal = getattr(project, "calendar", None)
        if cal is None or not cal.shifts:
            return cls.default(time_zone)
        ordered = sorted(cal.shifts, key=lambda p: (p.start, p.end))
        shifts = [(float(p.start), float(p.end), p.name or f"shift {i + 1}")
                  for i, p in enumerate(ordered)]
        return cls(shifts, cal.period, time_zone,
                   f"the project's calendar ({len(shifts)} shift"
                   f"{'s' if len(shifts) != 1 else ''} every {_duration(cal.period)}, "
                   f"{time_zone})")

    def _local(self, wall_s: float) -> datetime:
        """The aware datetime ``wall_s`` wall-clock seconds after :data:`ANCHOR`."""
        naive = ANCHOR + timedelta(seconds=wall_s)
        return naive.replace(tzinfo=self.tz)

    def at(self, t: float) -> ShiftWindow:
        """The shift plant time ``t`` (seconds since 1970) falls in (see the module)."""
        local = datetime.fromtimestamp(t, self.tz).replace(tzinfo=None)
        wall = (local - ANCHOR).total_seconds()
        k = math.floor(wall / self.period_s)
        starts = []  # (start, end, name) in wall seconds, over three cycles around t
        for c in (k - 1, k, k + 1):
            base = c * self.period_s
            starts += [(base + a, base + b, name) for a, b, name in self.shifts]
        starts.sort()
        # the cycle before t's always holds a start at or before it
        i = max(j for j, s in enumerate(starts) if s[0] <= wall)
        a, b, name = starts[i]
        nxt = starts[i + 1][0]  # the cycle after t's always holds one after it
        start_dt = self._local(a)
        return ShiftWindow(start_dt.timestamp(), self._local(min(b, nxt)).timestamp(),
                           self._local(nxt).timestamp(),
                           f"{start_dt.date().isoformat()} {name}")


def _duration(seconds: float) -> str:
    if seconds % (7 * DAY_S) == 0:
        return f"{seconds / (7 * DAY_S):g} w"
    return f"{seconds / 3600:g} h"
