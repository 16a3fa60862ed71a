"""Messages that never arrived: the holes in a publisher's numbering of its messages.

A broker may drop messages without telling anyone: mosquitto drops what a subscriber has not
taken once ``max_queued_messages`` (1000 by default) wait for it, also for a connected
subscriber that falls behind. Where the publisher numbers its messages (the emulator does:
JSON ``id`` from 1, docs/emulator.md; an MQTT 5 ``msg-id`` user property), the numbers that
never came are the messages lost. :class:`MessageIds` counts them from the readings' keys
(``<topic>|id:<n>``, ``twin.live.mqtt.MessageReader``):

* a **publisher** is the topic prefix, the topic without its ``<asset>/<channel>`` levels;
  its sequence starts at the first number received (a follower started late has not lost
  what was sent before it subscribed);
* a number above the highest so far opens a hole below it; a number that arrives later
  (redelivered after a reconnect) fills its place;
* a publisher that numbers each topic on its own (the same number on two topics, or most
  numbers one above the previous on their topic: a device's ``seq``) has no single
  sequence: it is left out (:attr:`MessageIds.per_topic`), nothing is counted lost;
* number 1 again (not a redelivery: those are dropped before) is a publisher that started
  over (a new emulator run): a new sequence begins, the old one's holes stay lost.

Each hole keeps the plant times of the readings on either side of it, so that it can be
recorded as a gap (``/gaps``): replay then shows no data where data is missing. The holes
are also told as they open (:attr:`MessageIds.opened`), for what follows the plant while it
runs: the live shift's figures take the span as no data, and a cumulative counter's rise
across it is not parts made at its end (``twin.live.recorder``).
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass, field

#: The problem kind of the live report (``twin.live.recorder``) for the messages lost.
LOST = "messages never arrived"
#: Hole intervals kept per publisher; beyond, holes are only counted.
MAX_HOLES = 100_000
#: Recent numbers whose topics are kept, to tell a publisher that numbers each topic apart.
RECENT = 64
#: Numbers that followed an earlier one on their topic before a publisher can be judged.
MIN_STEPS = 20
#: A publisher whose numbers clash across topics more often than this is numbered per topic.
MAX_CLASHES = 10


def _split_key(key: str) -> tuple[str, int] | None:
    """``(topic, n)`` of a key ``<topic>|id:<n>[|<channel>]`` with an integer ``n``."""
    at = key.find("|id:")
    if at < 0:
        return None
    rest = key[at + 4:]
    bar = rest.find("|")
    try:
        n = int(rest if bar < 0 else rest[:bar])
    except ValueError:
        return None
    return key[:at], n


@dataclass
class _Sequence:
    """One publisher's numbers: the highest so far and the holes below it."""

    top: int
    top_t: float | None
    low: int
    # sorted, disjoint [first, last] number ranges not received, with the plant times before
    # and after them
    holes: list[list] = field(default_factory=list)
    lost: int = 0  # numbers in holes (also those beyond MAX_HOLES)
    clashes: int = 0
    # the topics of the latest RECENT numbers, at n % RECENT: (n, topic)
    recent: list = field(default_factory=lambda: [(None, "")] * RECENT)
    last: dict[str, int] = field(default_factory=dict)  # topic -> its latest number
    steps: int = 0  # numbers that followed an earlier one on their topic
    ones: int = 0  # of them, those one above it (every one, for a topic numbered apart)

    @property
    def per_topic(self) -> bool:
        """Numbered each topic apart: the same numbers on several topics, or (several
        topics) most numbers one above the topic's previous (one sequence spread over many
        topics seldom gives a topic two numbers in a row)."""
        return self.clashes > MAX_CLASHES or (
            len(self.last) > 1 and self.steps >= MIN_STEPS and 2 * self.ones > self.steps)

    def see(self, n: int, t: float | None, topic: str) -> None:
        before = self.last.get(topic)
        if before is not None:
            self.steps += 1
            self.ones += n == before + 1
        self.last[topic] = n
        if n > self.top:
            if n > self.top + 1:
                self.lost += n - self.top - 1
                if len(self.holes) < MAX_HOLES:
                    self.holes.append([self.top + 1, n - 1, self.top_t, t])
            self.top, self.top_t = n, t
        elif n < self.low:  # older than the first number seen: before it, nothing is lost
            self.low = n
        elif not self._fill(n):
            seen, where = self.recent[n % RECENT]
            if seen == n and where != topic:
                # a number already received on another topic: a publisher numbering each
                # topic apart (the same number comes on many topics)
                self.clashes += 1
        self.recent[n % RECENT] = (n, topic)

    def _fill(self, n: int) -> bool:
        """Take ``n`` out of its hole; whether it was in one."""
        i = bisect.bisect_right(self.holes, n, key=lambda h: h[0]) - 1
        if i < 0 or self.holes[i][1] < n:
            return False
        first, last, t0, t1 = self.holes[i]
        pieces = [p for p in ([first, n - 1, t0, t1], [n + 1, last, t0, t1]) if p[0] <= p[1]]
        self.holes[i:i + 1] = pieces
        self.lost -= 1
        return True


class MessageIds:
    """The numbered messages of every publisher seen, and the holes in their numbering."""

    def __init__(self) -> None:
        self._pubs: dict[str, _Sequence] = {}
        self._done: list[_Sequence] = []  # sequences of publishers that restarted
        self._pub_of: dict[str, str] = {}  # topic -> its publisher (a plant has few topics)
        #: ``(start, end)`` plant times of each hole as it opened (``None``: a reading without
        #: a time stamp), of publishers not numbering each topic apart; the caller empties it
        self.opened: list[tuple[float | None, float | None]] = []

    def see(self, key: str, t: object) -> None:
        """A reading arrived with ``key`` at plant time ``t`` (s since 1970)."""
        at = key.find("|id:")
        if at < 0:
            return
        rest = key[at + 4:]
        try:  # the usual key ends with the number; a multi-channel one has "|<channel>"
            n = int(rest)
        except ValueError:
            got = _split_key(key)
            if got is None:
                return
            n = got[1]
        topic = key[:at]
        pub = self._pub_of.get(topic)
        if pub is None:
            pub = self._pub_of[topic] = topic.rsplit("/", 2)[0] if topic.count("/") >= 2 \
                else ""
        if type(t) is float and t - t == 0.0:  # noqa: E721 - finite float, the usual case
            tt = t
        else:
            tt = float(t) if isinstance(t, int | float) and not isinstance(t, bool) \
                and math.isfinite(t) else None
        s = self._pubs.get(pub)
        if s is not None and n == 1 and s.last.get(topic, 1) > 1:
            # number 1 again on a topic that had later ones (the de-duplication let it
            # through: not a redelivery): the publisher restarted, a new sequence; the old
            # one's holes stay lost
            self._done.append(s)
            s = None
        if s is None:
            s = self._pubs[pub] = _Sequence(top=n, top_t=tt, low=n)
            s.recent[n % RECENT] = (n, topic)
            s.last[topic] = n
        else:
            top, top_t = s.top, s.top_t
            s.see(n, tt, topic)
            if n > top + 1 and not s.per_topic:
                self.opened.append((top_t, tt))

    def hole(self, key: str, count: object, t: object) -> bool:
        """A hole a source found in a numbering it follows itself (Sparkplug B's ``seq``,
        which wraps at 255: ``twin.live.sparkplug.SeqWatch``): ``key`` is ``<publisher>|seq:
        <first>-<last>|<plant time before>``, ``count`` the numbers lost, ``t`` the plant
        time after. False for a key or count it cannot read."""
        try:
            pub, numbers, before = key.split("|")
            first, last = (int(x) for x in numbers.removeprefix("seq:").split("-"))
            t0, t1, n = float(before), float(t), int(count)
        except (TypeError, ValueError):
            return False
        if not (math.isfinite(t0) and math.isfinite(t1) and n > 0):
            return False
        s = self._pubs.setdefault(pub, _Sequence(top=0, top_t=None, low=0))
        s.lost += n
        if len(s.holes) < MAX_HOLES:
            s.holes.append([first, last, t0, t1])
        self.opened.append((t0, t1))
        return True

    @property
    def per_topic(self) -> list[str]:
        """Publishers left out: they number each topic apart."""
        return [p for p, s in self._pubs.items() if s.per_topic]

    def _counted(self) -> list[_Sequence]:
        return [s for s in (*self._done, *self._pubs.values()) if not s.per_topic]

    @property
    def lost(self) -> int:
        """Messages never received, over every publisher with one sequence."""
        return sum(s.lost for s in self._counted())

    @property
    def holes(self) -> int:
        """Runs of numbers never received (a hole partly filled later counts as its pieces),
        over every publisher with one sequence."""
        return sum(len(s.holes) for s in self._counted())

    def ranges(self, most: int | None = None) -> list[tuple[int, int]]:
        """The number ranges never received (first, last), in order per publisher; the
        first ``most`` of them (all: ``None``)."""
        every = ((h[0], h[1]) for s in self._counted() for h in s.holes)
        return list(itertools.islice(every, most))

    def gaps(self) -> list[tuple[float, float, int]]:
        """``(start, end, messages)``: the plant time between the readings on either side of
        each hole, overlapping ones merged (the numbers interleave the assets, so a hole's
        times bound it only roughly)."""
        spans = sorted((min(a, b), max(a, b), last - first + 1)
                       for s in self._counted() for first, last, a, b in s.holes
                       if a is not None and b is not None)
        out: list[list] = []
        for a, b, k in spans:
            if out and a <= out[-1][1]:
                out[-1][1] = max(out[-1][1], b)
                out[-1][2] += k
            else:
                out.append([a, b, k])
        return [(a, b, k) for a, b, k in out]


def describe_ranges(ranges: list[tuple[int, int]], most: int = 5) -> str:
    """``"1,001-1,187, 2,300, …"``: the first ``most`` ranges of numbers."""
    parts = [f"{a:,}" if a == b else f"{a:,}-{b:,}" for a, b in ranges[:most]]
    return ", ".join(parts) + (", …" if len(ranges) > most else "")
