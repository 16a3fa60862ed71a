"""What a live recording received, stored and found: the report of
:class:`twin.live.recorder.LiveRecorder`, the kinds of problem it counts and what each means
(its lines are what ``twinbench live`` prints at the end and the workbench's Live dock shows)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from twin.errors import printable
from twin.live.feed import CHANNELS
from twin.live.sequence import LOST
from twin.recording.timerange import RANGE_TEXT

#: Record kinds stored, as the report counts them.
KINDS = ("states", "parts", "power", "level")

#: A time stamp this much earlier than the source's latest (s) is not lateness of one
#: message (a batch, a redelivery, a slow asset: seconds to a minute or two) but another
#: stream blended into this one.
TIME_BACK_S = 300.0
TIME_BACK = "time stamps went back"
#: What the MQTT source reports when nothing comes under its prefix but messages come under
#: others (``twin.live.mqtt``).
NOTHING_HERE = "nothing under the prefix"
#: A cumulative counter that rose across a span of lost data (``twin.live.recorder``).
ACROSS_GAP = "count across a gap"
#: Problem kinds the recorder finds itself, with what it did about them. Kinds a source
#: reports through :meth:`LiveRecorder.bad` are counted under their own names.
PROBLEMS = {
    "unknown asset": "readings for an asset the recording did not declare (neither in the "
                     "project nor in the mapping): not stored",
    "unknown channel": f"readings on a channel other than {', '.join(CHANNELS)}: not stored",
    "level of a machine": "level readings for an asset that is not a buffer, conveyor or "
                          "queue: not stored",
    "unknown state": "state values that are not a twinbench state: stored as 'unknown' with "
                     "the raw value kept",
    "bad value": "quantities that are not a number >= 0: stored as recorded (text as NaN), "
                 "replay counts them as 0; a bad counter value is not stored",
    "bad time stamp": f"time stamps outside {RANGE_TEXT} or not a number: not stored",
    "counter reset": "cumulative counters that went down: the value is the new base, no "
                     "parts stored for it",
    ACROSS_GAP: "cumulative counters that rose across lost data (a hole in the publisher's "
                "numbering, a link gap after which the broker had not kept the session): those "
                "parts were made at unknown times in a span that is no data; not stored as "
                "parts, the value is the new base",
    "malformed reading": "readings that are not a Reading of text asset, channel and key "
                         "(a bug in the source): not stored",
    "after close": "batches handed over after the recording was closed: not stored",
    LOST: "the broker dropped them (numbers missing in the publisher's numbering of its "
          "messages; mosquitto drops a subscriber's messages beyond max_queued_messages, "
          "1000 by default, also for one that is connected but slow): raise "
          "max_queued_messages (0: no limit) in the broker's configuration; recorded as gaps",
    TIME_BACK: f"time stamps more than {TIME_BACK_S:g} s earlier than the latest the source "
               "sent (a second stream on the same topics, or another follower's backlog "
               "handed over with a shared client id): stored in arrival order (replay "
               "sorts), the plant clock stays at the latest; check that one publisher feeds "
               "the prefix and that no other follower uses this client id",
    NOTHING_HERE: "nothing came under the address's prefix, but messages came under others "
                  "(the source listened to every topic for a few seconds): the prefix is "
                  "likely wrong; connect again with the one named",
    "out of order": "readings earlier than the asset's previous reading on that channel: "
                    "stored in arrival order (replay sorts); a late counter value is not "
                    "stored (the later value includes it)",
}
#: What the lost messages mean when a reconnection found no session at the broker
#: (``session_present`` false after a first connection): its queue went with the session.
LOST_NEW_SESSION = (
    "the broker lost them: on reconnecting it had no session for twinbench (a new session, "
    "not the one it had kept), so the messages it had queued for it were gone - the broker "
    "restarted without persistence (mosquitto's default, `persistence false`) or the session "
    "expired; set `persistence true` (and a `persistence_location`) in the broker's "
    "configuration so that a restart keeps sessions and queued messages; recorded as gaps")
#: Examples kept per problem kind.
MAX_EXAMPLES = 5
@dataclass
class Problem:
    """Count and first examples of one kind of problem."""

    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, example: str) -> None:
        self.count += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(example)


@dataclass
class LiveReport:
    """What a live recording received, stored and found.

    Attributes
    ----------
    path : str
    received : int
        Readings handed over by the source.
    duplicates : int
        Readings dropped as redeliveries of one already received.
    stored : dict of str to int
        Records stored per dataset kind (``states``, ``parts``, ``power``, ``level``).
    flushed : int
        Records on disk at the last flush.
    problems : dict of str to Problem
        Per kind (:data:`PROBLEMS`, and what the source reported).
    gaps : int
        Gaps written (disconnections).
    reconnects : int
        Times the link went down (a source's ``reconnecting``; retries while down count
        once).
    sessions_lost : int
        Reconnections that found no session at the broker (``connected`` with ``new
        session`` after a first connection): what it had queued was lost with it.
    first, last : float or None
        Plant time of the first and latest reading stored, s since the Unix epoch.
    epoch_utc : str
        The recording's epoch ("" before the file exists).
    """

    path: str = ""
    received: int = 0
    duplicates: int = 0
    stored: dict[str, int] = field(default_factory=lambda: {k: 0 for k in KINDS})
    flushed: int = 0
    problems: dict[str, Problem] = field(default_factory=dict)
    gaps: int = 0
    reconnects: int = 0
    sessions_lost: int = 0
    first: float | None = None
    last: float | None = None
    epoch_utc: str = ""

    @property
    def problem_count(self) -> int:
        """All problems found, every kind."""
        return sum(p.count for p in self.problems.values())

    def format(self) -> str:
        """The report as text for a terminal or a log pane."""
        total = sum(self.stored.values())
        if self.first is None:  # the first line is what a status bar shows: say it there
            lines = [f"Live recording {self.path} not made: no reading was stored"]
        else:
            lines = [f"Live recording {self.path}"]
            lines.append(f"  plant time {_iso(self.first)} .. {_iso(self.last)}")
        recs = ", ".join(f"{k} {v:,}" for k, v in self.stored.items())
        lines.append(f"  readings received {self.received:,}, duplicates dropped "
                     f"{self.duplicates:,}; records stored {total:,} ({recs}), "
                     f"flushed {self.flushed:,}")
        lines.append(f"  reconnects {self.reconnects}, gaps recorded {self.gaps}")
        found = [(k, v) for k, v in self.problems.items() if v.count]
        if not found:
            lines.append("  no problems found")
        for kind, p in found:
            if kind == LOST:  # its examples are the numbers missing
                lines.append(f"  {p.count:,} {LOST} (ids {', '.join(p.examples)}): "
                             f"{self.lost_meaning}")
                continue
            meaning = PROBLEMS.get(kind, "reported by the source: not stored")
            lines.append(f"  {printable(kind)}: {p.count:,} - {meaning}")
            lines.extend(f"      {printable(e)}" for e in p.examples)
        return "\n".join(lines)

    __str__ = format

    @property
    def lost_meaning(self) -> str:
        """Why messages never arrived: a broker that lost the session on a reconnection
        lost its queue with it (queue limits are then not the cause)."""
        return LOST_NEW_SESSION if self.sessions_lost else PROBLEMS[LOST]


def _iso(t: float | None) -> str:
    if t is None:
        return "-"
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


# --- the MQTT source's probe: nothing under the prefix, messages elsewhere ----------------
#: How long the probe listens to every topic, s.
PROBE_S = 5.0
#: The same prefixes found again are told again only after this long, s (a flapping link
#: reconnects every minute or so; each connection that receives nothing is probed).
PROBE_REPEAT_S = 600.0


def topic_prefix(topic: str) -> str:
    """The prefix of a ``<prefix>/<asset>/<channel>`` topic."""
    return "/".join(topic.split("/")[:-2])


def probe_prefixes(counts: dict[str, int]) -> set[str]:
    """The prefixes of the topics the probe saw."""
    return {topic_prefix(topic) for topic in counts}


def elsewhere(prefix: str, counts: dict[str, int]) -> str:
    """Which prefixes carry the messages (``<prefix>/<asset>/<channel>``), most first."""
    by: dict[str, list] = {}
    for topic, n in counts.items():
        head = topic_prefix(topic)
        entry = by.setdefault(head, [0, topic])
        entry[0] += n
    top = sorted(by.items(), key=lambda kv: -kv[1][0])[:3]
    said = "; ".join(f"{n:,} under {head or '(no prefix)'!r} (e.g. {ex})"
                     for head, (n, ex) in top)
    return (f"nothing arrives under {prefix or '(no prefix)'!r}, but in {PROBE_S:g} s the "
            f"broker carried {sum(counts.values()):,} messages elsewhere: {said}; give that "
            "prefix in the address (mqtt://HOST:PORT/PREFIX)")
