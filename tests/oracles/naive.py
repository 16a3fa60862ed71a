"""A slow, obviously-correct event simulation of a serial line, for exact traces.

It reads the same project document the kernel runs (a subset: one unlimited source, then
stations in series, each pair joined straight or through a buffer, then one sink) and
simulates it with plain Python lists, one event at a time, re-scanning the whole line after
every event. Supported: constant and exponential times, parallel servers (a part goes to the
free server with the lowest index; a successor takes the finished part that has waited
longest), operating-time failures (the clock runs only while processing; preempt-resume),
scrap, blocking after service; per-product process times (a map of product names, ``"*"``
for the rest); batch stations (``batch``): parts wait in a place, a free server starts a
full load, or, once ``timeout`` has passed since the first waiting part entered the place,
a load of at least ``min_fill`` of the waiting parts, processes it in one process time (for
the product of its first part) and hands its parts on one by one, oldest first;
disassembly stations with one output (the next stage): a place of one part, and each part
started becomes ``quantity`` parts as one load (the new ones with the part's line entry),
of the output's ``product`` if it names one. A batch station with ``release: load`` hands
its load on as one unit (a tuple of parts; it counts the parts out): buffers and stations
hold and process it as one (its first part's product), an unbatch station (``unbatch``, a
place of one unit) makes it a load again and hands its parts on one by one (a load never
reaches the sink whole: the reader refuses it). The oracle fills a place after the instant's
other moves, the kernel as parts come: with a timeout, parts that reach a due load at one
instant (from a load or a disassembly just before it) may join it on one side only, so
compare the two where none can.

Random numbers: each element draws from its own xoshiro256** stream per purpose, seeded
exactly as the kernel's streams (``twin.sim.lowering.stream_seeds`` documents the recipe), and
turned into variates by the textbook formulas written out below (the servers of a station
share its streams, drawing in the order they need numbers), so that with the same seed
the oracle and the kernel see the same process times, failures and scrap decisions and must
produce the same trace. Nothing of the kernel's event logic is reused.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

from kernels import types as kt
from twin.sim.lowering import stream_seeds
from twin.units import parse_duration

MASK = (1 << 64) - 1


class Xoshiro256:
    """xoshiro256** (Blackman and Vigna, ACM TOMS 47(4), 2021), written from the paper."""

    def __init__(self, state):
        self.s = [int(x) & MASK for x in state]

    @staticmethod
    def _rotl(x: int, k: int) -> int:
        return ((x << k) | (x >> (64 - k))) & MASK

    def next_u64(self) -> int:
        s = self.s
        result = (self._rotl((s[1] * 5) & MASK, 7) * 9) & MASK
        t = (s[1] << 17) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = self._rotl(s[3], 45)
        return result

    def uniform(self) -> float:
        """Uniform on the open interval (0, 1): the top 53 bits, centred in their cell."""
        return ((self.next_u64() >> 11) + 0.5) / 9007199254740992.0


def process_for(process, product: str):
    """The distribution of ``process`` (one distribution, or a map of products) for ``product``."""
    if isinstance(process, dict) and "dist" not in process:
        return process[product] if product in process else process["*"]
    return process


def draw(dist, stream: Xoshiro256) -> float:
    """A constant (bare number or ``{"dist": "constant"}``) or an exponential time."""
    if isinstance(dist, int | float):
        return float(dist)
    if dist["dist"] == "constant":
        return float(dist["value"])
    if dist["dist"] == "exponential":
        mean = dist["mean"] if "mean" in dist else 1.0 / dist["rate"]
        return -mean * math.log(stream.uniform())
    raise NotImplementedError(f"the naive oracle has no {dist['dist']} distribution")


@dataclass
class _Server:
    """One server of a station; the servers of a station share its random streams."""

    id: str  # name in the trace: the station id, or ``id[k]`` for server k > 0
    station: str
    process: object
    failures: dict | None
    scrap: float
    streams: dict
    index: int = 0
    part: int | None = None  # id of the part held
    phase: str = "empty"  # empty, work, done
    down: bool = False
    rem: float = 0.0  # work left on the part
    seg_start: float = 0.0  # start of the current uninterrupted stretch of work
    done_t: float = 0.0  # when the part held became finished
    ttf: float = math.inf  # processing time left until the next failure
    version: int = 0  # bumped to cancel the pending event
    state: str = "starved"
    since: float = 0.0
    time_in: dict = field(default_factory=dict)
    parts_in: int = 0
    parts_out: int = 0
    scrapped: int = 0
    failures_n: int = 0
    load: list = field(default_factory=list)  # a batch station's other parts of the load
    whole: bool = False  # a batch station whose load leaves as one unit (release: load)

    def derived(self) -> str:
        if self.down:
            return "down"
        return {"empty": "starved", "work": "busy", "done": "blocked"}[self.phase]


@dataclass
class _Place:
    """The place of a batch (or disassembly) station: waiting ``(part, entry time)`` pairs."""

    size: int
    capacity: int
    timeout: float  # inf: only full loads
    min_fill: int
    split: int = 1  # disassembly: parts made of each part
    product: str | None = None  # disassembly: the product they become
    whole: bool = False  # release: load: the load leaves as one unit (a tuple)
    parts: list = field(default_factory=list)


@dataclass
class Result:
    """What the oracle observed: the trace and the totals the kernel also reports."""

    trace: list[tuple[float, str, str | int]]  # (time, element id, state or buffer content)
    good: int
    lead_sum: float
    state_time: dict[str, dict[str, float]]
    parts_in: dict[str, int]
    parts_out: dict[str, int]
    scrapped: dict[str, int]
    failures: dict[str, int]


def serial_layout(doc: dict) -> list[dict]:
    """The elements of a serial line in flow order; refuses anything else."""
    by_id = {e["id"]: e for e in doc["elements"]}
    succ: dict[str, str] = {}
    for c in doc["connections"]:
        a, b = (c[0], c[1]) if isinstance(c, list) else (c["from"], c["to"])
        if a in succ:
            raise NotImplementedError("the naive oracle simulates serial lines only")
        succ[a] = b
    sources = [e for e in doc["elements"] if e["kind"] == "source"]
    if len(sources) != 1 or "arrival" in sources[0] or "schedule" in sources[0]:
        raise NotImplementedError("the naive oracle needs one unlimited source")
    if len(sources[0].get("product_mix", {"part": 1})) != 1:
        raise NotImplementedError("the naive oracle's source makes one product")
    order = [sources[0]]
    while order[-1]["kind"] != "sink":
        order.append(by_id[succ[order[-1]["id"]]])
    if len(order) != len(doc["elements"]):
        raise NotImplementedError("every element must lie on the one path source -> sink")
    kinds = [e["kind"] for e in order[1:-1]]
    if kinds[0] != "station" or kinds[-1] != "station" or any(
            a == b == "buffer" for a, b in zip(kinds, kinds[1:], strict=False)):
        raise NotImplementedError("stations at both ends, at most one buffer between two")
    for e in order[1:-1]:
        f = e.get("failures")
        if f is not None and f.get("basis", "operating") != "operating":
            raise NotImplementedError("the naive oracle has operating-time failures only")
        if e["kind"] == "station" and ("setup_time" in e or "maintenance" in e
                                       or "wear" in e):
            raise NotImplementedError("stations without setups, maintenance or wear")
        if (e.get("batch") or e.get("disassembly")) and (
                e.get("scrap") or e.get("assembly") or (e.get("batch") and e.get("disassembly"))):
            raise NotImplementedError("batch or disassembly stations without scrap or assembly")
        if e.get("unbatch") and (e.get("batch") or e.get("disassembly") or e.get("scrap")):
            raise NotImplementedError("an unbatch station that only unbatches")
        if e.get("disassembly") and (len(e["disassembly"]["outputs"]) != 1
                                     or e.get("servers", 1) != 1):
            raise NotImplementedError("a serial line's disassembly has one output and server")
    return order


def _longest_waiting(servers: list[_Server]) -> _Server | None:
    """The server whose finished part has waited longest (ties: the lowest index)."""
    done = [st for st in servers if st.phase == "done"]
    return min(done, key=lambda st: (st.done_t, st.index)) if done else None


def simulate(doc: dict, horizon: float, seed: int = 1, replication: int = 0) -> Result:
    """Simulate ``doc`` from an empty line at time 0 up to and including ``horizon``."""
    order = serial_layout(doc)
    ids = tuple(e["id"] for e in doc["elements"])
    first_product = next(iter(order[0].get("product_mix", {"part": 1})))
    seeds = stream_seeds(ids, seed, replication)

    def streams(eid):
        e = ids.index(eid)
        return {p: Xoshiro256(seeds[e * kt.N_STREAMS + p]) for p in range(kt.N_STREAMS)}

    # the line as a list of stages: ("station", [_Server, ...]) or
    # ("buffer", [id, capacity, parts])
    stages = []
    # batch and disassembly stations: stage -> _Place
    places: dict[int, _Place] = {}
    for e in order[1:-1]:
        if e.get("batch"):
            b = e["batch"]
            places[len(stages)] = _Place(b["size"], b.get("capacity") or b["size"],
                                         math.inf if b.get("timeout") is None
                                         else parse_duration(b["timeout"]),
                                         b.get("min_fill", 1),
                                         whole=b.get("release", "parts") == "load")
        if e.get("unbatch"):  # a place of one unit, the load it holds made a load again
            places[len(stages)] = _Place(1, 1, math.inf, 1)
        if e.get("disassembly"):
            out = e["disassembly"]["outputs"][0]
            places[len(stages)] = _Place(1, 1, math.inf, 1, out.get("quantity", 1),
                                         out.get("product"))
        if e["kind"] == "station":
            shared = streams(e["id"])
            stages.append(("station", [
                _Server(e["id"] if k == 0 else f"{e['id']}[{k}]", e["id"], e["process_time"],
                        e.get("failures"), float(e.get("scrap", 0.0)), shared, k,
                        whole=(e.get("batch") or {}).get("release", "parts") == "load")
                for k in range(e.get("servers", 1))]))
        else:
            cap = e.get("capacity", 10)
            stages.append(("buffer", [e["id"], math.inf if cap is None else cap, []]))
    servers = [st for k, x in stages if k == "station" for st in x]
    now = 0.0
    seq = 0
    events: list[tuple[float, int, str, _Server, int]] = []  # a heap on (time, seq)
    trace: list[tuple[float, str, str | int]] = []
    born: dict[int, float] = {}
    product: dict[int, str] = {}
    next_part = 0
    good = 0
    lead_sum = 0.0

    def schedule(t, kind, st):
        nonlocal seq
        heapq.heappush(events, (t, seq, kind, st, st.version))
        seq += 1

    def run_segment(st):
        """Start (or resume) work: the part ends, or the machine fails first."""
        st.version += 1
        st.seg_start = now
        if st.failures is not None and st.ttf < st.rem:
            schedule(now + st.ttf, "fail", st)
        else:
            schedule(now + st.rem, "end", st)

    def start_part(st, part):
        st.part = part
        st.phase = "work"
        st.parts_in += 1
        first = part[0] if isinstance(part, tuple) else part  # a load: its first part's
        st.rem = draw(process_for(st.process, product[first]), st.streams[kt.RS_PROCESS])
        run_segment(st)

    def hand_on(st):
        """``st`` gives its finished part away (of a load: the first; the server stays done
        until the last has gone); returns the part."""
        part = st.part
        st.part, st.phase = None, "empty"
        if st.load:
            st.part, st.phase = st.load.pop(0), "done"
        # a batch station counts the parts of the load it lets go whole; others count units
        st.parts_out += len(part) if st.whole and isinstance(part, tuple) else 1
        return part

    def upstream_part(k):
        """A part for stage ``k`` from the stage before it (the source for the first), or
        None."""
        nonlocal next_part
        if k == 0:
            return make_part(now, first_product)
        if stages[k - 1][0] == "buffer":
            return stages[k - 1][1][2].pop(0) if stages[k - 1][1][2] else None
        up = _longest_waiting(stages[k - 1][1])
        return None if up is None else hand_on(up)

    def make_part(t0, prod):
        nonlocal next_part
        born[next_part], product[next_part] = t0, prod
        next_part += 1
        return next_part - 1

    def fill_and_start(k, x):
        """A batch station's place takes parts while it has room; free servers start loads,
        the lowest index first: a full one, or once the first waiting part's timeout is due
        one of all the waiting parts if they are at least ``min_fill``. Returns whether
        anything moved."""
        pl = places[k]
        moved = False
        while True:
            while len(pl.parts) < pl.capacity and (part := upstream_part(k)) is not None:
                pl.parts.append((part, now))
                if pl.timeout < math.inf:  # a wake that finds nothing to start is harmless
                    schedule(now + pl.timeout, "wake", x[0])
                x[0].parts_in += 1
                moved = True
            st = next((s for s in x if s.phase == "empty" and not s.down), None)
            full = len(pl.parts) >= pl.size
            due = pl.parts and now >= pl.parts[0][1] + pl.timeout
            if st is None or not (full or (due and len(pl.parts) >= pl.min_fill)):
                return moved
            load = [pl.parts.pop(0)[0] for _ in range(min(len(pl.parts), pl.size))]
            if isinstance(load[0], tuple):  # an unbatch: the unit is a load
                load = list(load[0])
            start_part(st, load[0])
            st.parts_in -= 1  # counted as they entered the place
            for _ in range(pl.split - 1):  # disassembly: the part's siblings
                load.append(make_part(born[load[0]], product[load[0]]))
            if pl.product is not None:  # they become the output's product
                for part in load:
                    product[part] = pl.product
            st.load = load[1:]
            if pl.whole and len(load) > 1:  # the load leaves as one unit
                st.part, st.load = tuple(load), []
            moved = True

    def new_ttf(st):
        st.ttf = draw(st.failures["time_to_failure"], st.streams[kt.RS_FAILURE])

    for st in servers:
        st.time_in = {s: 0.0 for s in kt.STATE_NAMES}
        if st.failures is not None:
            new_ttf(st)

    def settle():
        """Move every part that can move, re-scanning the line until nothing moves."""
        nonlocal next_part, good, lead_sum
        moved = True
        while moved:
            moved = False
            for k, (kind, x) in enumerate(stages):
                if kind == "buffer":
                    while len(x[2]) < x[1]:
                        up = _longest_waiting(stages[k - 1][1])
                        if up is None:
                            break
                        x[2].append(hand_on(up))
                        moved = True
                    continue
                if k == len(stages) - 1:  # the sink takes every finished part
                    while (up := _longest_waiting(x)) is not None:
                        good += 1
                        lead_sum += now - born.pop(hand_on(up))
                        moved = True
                if k in places:
                    moved = fill_and_start(k, x) or moved
                    continue
                for st in x:  # free servers take parts, the lowest index first
                    if st.phase != "empty" or st.down:
                        continue
                    if k == 0:
                        start_part(st, make_part(now, first_product))
                    elif stages[k - 1][0] == "buffer" and stages[k - 1][1][2]:
                        start_part(st, stages[k - 1][1][2].pop(0))
                    elif (stages[k - 1][0] == "station"
                          and (up := _longest_waiting(stages[k - 1][1])) is not None):
                        start_part(st, hand_on(up))
                    else:
                        break
                    moved = True

    def record(contents_before):
        for st in servers:
            new = st.derived()
            if new != st.state:
                st.time_in[st.state] += now - st.since
                st.state, st.since = new, now
                trace.append((now, st.id, new))
        for kind, x in stages:
            if kind == "buffer" and len(x[2]) != contents_before[x[0]]:
                trace.append((now, x[0], len(x[2])))

    def contents():
        return {x[0]: len(x[2]) for kind, x in stages if kind == "buffer"}

    before = contents()
    settle()
    record(before)
    while events:
        t, _, kind, st, version = events[0]
        if t > horizon:
            break
        heapq.heappop(events)
        if version != st.version and kind != "wake":
            continue
        now = t
        before = contents()
        elapsed = now - st.seg_start
        if kind == "end":
            st.ttf -= elapsed
            st.rem = 0.0
            stream = st.streams[kt.RS_SCRAP]
            if st.scrap > 0.0 and stream.uniform() < st.scrap:
                born.pop(st.part)
                st.part, st.phase = None, "empty"
                st.scrapped += 1
            else:
                st.phase = "done"
                st.done_t = now
        elif kind == "fail":
            st.rem = max(st.rem - elapsed, 0.0)
            st.ttf = 0.0
            st.down = True
            st.failures_n += 1
            st.version += 1
            repair = draw(st.failures["time_to_repair"], st.streams[kt.RS_REPAIR])
            schedule(now + repair, "repair", st)
        elif kind == "wake":  # a batch's timeout: only the settling below
            pass
        elif kind == "repair":
            st.down = False
            new_ttf(st)
            run_segment(st)
        settle()
        record(before)
    now = horizon

    def total(attr):
        out: dict[str, int] = {}
        for st in servers:
            out[st.station] = out.get(st.station, 0) + getattr(st, attr)
        return out

    state_time: dict[str, dict[str, float]] = {}
    for st in servers:
        st.time_in[st.state] += now - st.since
        into = state_time.setdefault(st.station, {s: 0.0 for s in kt.STATE_NAMES})
        for s, v in st.time_in.items():
            into[s] += v
    return Result(trace, good, lead_sum, state_time, total("parts_in"), total("parts_out"),
                  total("scrapped"), total("failures_n"))
