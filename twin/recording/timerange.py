"""The span of time a recording can hold, and the checks every reader of a time applies.

Recordings store times as float64 seconds since an epoch (``docs/recording-format.md``).
Absolute instants must lie in ``[1970-01-01, 2200-01-01)`` UTC: after the Unix epoch, so
that every stamp is a non-negative int64 of nanoseconds, and early enough that a float64
offset from any epoch in the range keeps sub-microsecond resolution (the range spans 7.3e9 s;
float64 steps there are 2**-20 s, about 0.95 µs). Durations (bucket lengths, cycle times,
silences) are bounded by the same span. A time beyond the range is refused with the range
in the message, never wrapped, clipped or overflowed.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

#: First supported instant (inclusive).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
#: End of the supported range (exclusive).
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
#: The range as users read it in messages.
RANGE_TEXT = "1970-01-01T00:00:00Z to 2200-01-01T00:00:00Z"
EARLIEST_NS = 0
LATEST_NS = int((LATEST - EARLIEST).total_seconds()) * 1_000_000_000
#: Longest duration and largest offset from an epoch, seconds (the span of the range).
MAX_SPAN_S = (LATEST - EARLIEST).total_seconds()


def in_range(value: datetime) -> bool:
    """Whether an aware datetime lies in the supported range."""
    return EARLIEST <= value < LATEST


def naive_in_range(value: datetime) -> bool:
    """Whether a datetime (naive or aware) is near enough the range to convert safely.

    Time-zone arithmetic on years such as 1 or 9999 overflows ``datetime``; a day of margin
    covers every UTC offset, and the exact check follows once the instant is known.
    """
    return datetime(1969, 12, 30) <= value.replace(tzinfo=None) <= datetime(2200, 1, 2)


def offset_in_range(epoch: datetime, t: float) -> bool:
    """Whether ``t`` seconds after ``epoch`` (aware) is a finite instant in the range."""
    if not math.isfinite(t):
        return False
    lo = (EARLIEST - epoch).total_seconds()
    hi = (LATEST - epoch).total_seconds()
    return lo <= t < hi
