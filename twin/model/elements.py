"""The plant model: elements, the flow between them, the shift calendar and scenarios.

Plain evented dataclasses (psygnal): the workbench subscribes to ``element.events`` and
``Project`` signals; the model never calls the view. Units: seconds, metres, kW, degrees.
Reading and writing the JSON form lives in ``twin.projectfile.reader``.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field
from typing import ClassVar

from psygnal import Signal, evented

from kernels import types as kt
from twin.errors import NotFoundError, Problem
from twin.model.distributions import Distribution
from twin.model.orders import Order
from twin.model.workers import StationWorkers, WorkerPool

# The names of what the kernel codes are defined once, in kernels.types, in code order.
STATION_STATES = kt.STATE_NAMES
MESH_FORMATS = (".stl", ".obj")  # custom station bodies twinbench reads (twin.projectfile.meshes)
ROUTINGS = kt.ROUTING_NAMES
FAILURE_BASES = kt.FAILURE_BASIS_NAMES[kt.FB_OPERATING:]  # a project names no "none" basis


@dataclass(frozen=True)
class Failures:
    """Breakdowns of each server of a station.

    ``basis`` is ``operating`` (the clock runs only while processing), ``calendar`` (it runs
    always) or ``operations`` (time to failure counts operations). A failure interrupts the
    part in work, which resumes where it stopped after the repair (preempt-resume).
    """

    basis: str
    time_to_failure: Distribution
    time_to_repair: Distribution


@dataclass(frozen=True)
class Wear:
    """Wear grows with every operation and busy hour; it raises hazard and scrap.

    Failure hazard is multiplied by ``1 + failure_gain * wear``; scrap probability grows by
    ``scrap_gain * wear``. Preventive maintenance resets wear to 0.
    """

    per_operation: float = 0.0
    per_busy_hour: float = 0.0
    failure_gain: float = 0.0
    scrap_gain: float = 0.0


@dataclass(frozen=True)
class Maintenance:
    """Preventive maintenance every N operations and/or every H calendar hours."""

    duration: Distribution
    every_operations: int = 0
    every_hours: float = 0.0


ENERGY_SAVING_MODES = ("standby", "off")
ENERGY_SAVING_WHEN = ("starved", "blocked", "both")


@dataclass(frozen=True)
class EnergySaving:
    """A station's energy-saving policy (issue 19 §2, ``kernels.standby``): after being
    starved (``when``: or blocked, or either) for ``after_s`` seconds of working time, each
    server goes to ``standby`` or switches ``off`` (the states ``standby`` and
    ``switched_off``, with their own ``power_kw``); before it can start its next part it warms
    up (state ``warming_up``) for ``restart`` seconds (a distribution), using ``restart_kwh``
    on top of the warm-up's power."""

    after_s: float
    mode: str = "standby"
    when: str = "starved"
    restart: Distribution | None = None  # None: no warm-up time
    restart_kwh: float = 0.0


@dataclass(frozen=True)
class Mesh:
    """A custom 3D body for a station: an STL or OBJ file in the project folder.

    ``file`` is relative to the project folder (``meshes/press.stl``); ``scale`` converts the
    file's units to metres (0.001 for a model drawn in millimetres). The workbench centres
    the body's bounding box on the element's position, stands it on the floor and turns it
    with the element; the footprint stays what the element declares.
    """

    file: str
    scale: float = 1.0


@dataclass(frozen=True)
class AssemblyInput:
    """One line of an assembly's bill of materials: each assembled part consumes
    ``quantity`` parts from the predecessor ``source``. They wait at the assembly in a FIFO
    place of their own holding up to ``capacity`` parts (None: one set, ``quantity``); a
    full place blocks the predecessor."""

    source: str
    quantity: int = 1
    capacity: int | None = None

    @property
    def place_capacity(self) -> int:
        return self.quantity if self.capacity is None else self.capacity


@dataclass(frozen=True)
class Assembly:
    """A station's bill of materials (issue 18): a server starts when every input's place
    holds its quantity, consumes them all and works on one part, the main part (the first
    part of the first input), which becomes ``product`` (None: keeps its own product).
    Its lead time counts from the earliest line entry of its components."""

    inputs: tuple[AssemblyInput, ...]
    product: str | None = None


@dataclass(frozen=True)
class Batch:
    """A station that processes parts in loads (issue 18 §2, an oven): parts wait in a
    FIFO place of ``capacity`` parts (None: one load, ``size``) before the station, which
    blocks its one predecessor when full. A free server starts a load of ``size`` parts, or,
    ``timeout`` seconds after the first part of the load entered the place (None: never),
    of the ``min_fill`` or more parts there. The load takes one setup and one process time
    (the station's, for the product of its first part); then, with ``release`` "parts",
    its parts leave one by one, each with its own identity and lead time, the server
    blocked until the last has left; with ``release`` "load", the load leaves as one unit
    (a basket), carried, stored and processed as one until an unbatch station
    (``Station.unbatch``; docs/semantics.md, "A load that travels as one unit")."""

    size: int
    timeout: float | None = None
    min_fill: int = 1
    capacity: int | None = None
    release: str = "parts"  # "parts" or "load"

    @property
    def place_capacity(self) -> int:
        return self.size if self.capacity is None else self.capacity


@dataclass(frozen=True)
class Disassembly:
    """A station that separates each part it processes into several (issue 18 §1): ``outputs``
    are ``(successor id, k_j, product)``: the parts one part makes for that successor, and
    the product they become (None: the part's own). The part and its K - 1 new siblings (K
    the sum of the k_j) keep the part's line entry and leave one by one, k_j of them to
    successor j, the successors in the order of the station's connections (two outputs to
    one successor, of different products, in the order of ``outputs``)."""

    outputs: tuple[tuple[str, int, str | None], ...]

    @property
    def total(self) -> int:
        return sum(k for _, k, _ in self.outputs)

    @property
    def products(self) -> tuple[str, ...]:
        """The products the outputs name, each once."""
        return tuple(dict.fromkeys(p for _, _, p in self.outputs if p is not None))


@dataclass(eq=False)
class Element:
    """Common to every element: identity and placement on the floor (metres, degrees)."""

    id: str
    name: str = ""
    position: tuple[float, float, float] = (0.0, 0.0, 0.0)
    rotation: float = 0.0
    footprint: tuple[float, float] = (1.0, 1.0)
    extra: dict = field(default_factory=dict)  # custom "x-" fields, kept as written

    kind: ClassVar[str] = ""

    @property
    def label(self) -> str:
        return self.name or self.id


@evented
@dataclass(eq=False)
class Source(Element):
    """Raw material: unlimited (``arrival`` and ``schedule`` None) or arriving over time.

    ``schedule`` is a list of ``(time_s, product, quantity)``, repeated every
    ``schedule_period`` seconds if that is > 0. Arrivals that cannot enter the line wait at
    the source (``when_blocked="queue"``) or are lost (``"lose"``).

    ``orders`` (issue 18 §4, ``twin.model.orders``) makes it an order source: each order
    releases its parts once, and ``sequencing`` orders the parts waiting at the source;
    ``orders_file`` is the CSV beside the project they were read from ("" : inline).
    """

    arrival: Distribution | None = None
    schedule: list[tuple[float, str, int]] | None = None
    schedule_period: float = 0.0
    product_mix: dict[str, float] = field(default_factory=lambda: {"part": 1.0})
    when_blocked: str = "queue"
    follows_calendar: bool = False
    routing: str = "probability"
    orders: list[Order] | None = None
    orders_file: str = ""
    sequencing: str = "fifo"
    kind: ClassVar[str] = "source"


@evented
@dataclass(eq=False)
class Station(Element):
    """A machine with ``servers`` identical parallel servers."""

    servers: int = 1
    process_time: Distribution | dict[str, Distribution] | None = None
    setup_time: Distribution | dict[str, Distribution] | None = None
    failures: Failures | None = None
    scrap: float = 0.0
    power_kw: dict[str, float] = field(default_factory=dict)
    wear: Wear | None = None
    maintenance: Maintenance | None = None
    follows_calendar: bool = True
    off_shift: str = "off"
    routing: str = "probability"
    mesh: Mesh | None = None
    workers: StationWorkers | None = None  # issue 18: workers its tasks need
    assembly: Assembly | None = None  # a bill of materials makes the station an assembly
    energy_saving: EnergySaving | None = None  # issue 19: standby or switch-off when idle
    batch: Batch | None = None  # issue 18 §2: processes its parts in loads (an oven)
    disassembly: Disassembly | None = None  # issue 18 §1: one part in, several out
    unbatch: bool = False  # issue 18 §2: releases the parts of each load it processed
    kind: ClassVar[str] = "station"

    def process_time_for(self, product: str) -> Distribution | None:
        pt = self.process_time
        if isinstance(pt, dict):
            return pt.get(product, pt.get("*"))
        return pt

    def setup_time_for(self, product: str) -> Distribution | None:
        st = self.setup_time
        if isinstance(st, dict):
            return st.get(product, st.get("*"))
        return st


@evented
@dataclass(eq=False)
class Buffer(Element):
    """A store of waiting parts; ``capacity`` counts them (None: unlimited).

    ``sequencing`` (issue 18 §4, ``twin.model.orders.SEQUENCING_RULES``) is the order its
    successor takes them in: ``fifo`` (default), or the rules of an order source applied
    to the parts waiting here (docs/orders.md).
    """

    capacity: int | None = 10
    routing: str = "probability"
    sequencing: str = "fifo"
    kind: ClassVar[str] = "buffer"


@evented
@dataclass(eq=False)
class Conveyor(Element):
    """An accumulating conveyor; its length follows the layout unless ``length`` is set."""

    length: float | None = None
    speed: float = 0.5
    spacing: float = 0.5
    routing: str = "probability"
    kind: ClassVar[str] = "conveyor"


@evented
@dataclass(eq=False)
class Sink(Element):
    """Takes every part; good parts arriving here count as output."""

    kind: ClassVar[str] = "sink"


ELEMENT_TYPES: dict[str, type[Element]] = {
    cls.kind: cls for cls in (Source, Station, Buffer, Conveyor, Sink)
}


@dataclass(frozen=True)
class Connection:
    """Material flows from ``source`` to ``target``; ``weight`` is the split probability."""

    source: str
    target: str
    weight: float = 1.0


@dataclass(frozen=True)
class Period:
    start: float
    end: float
    name: str = ""


@dataclass(frozen=True)
class DemandResponse:
    """A demand-response entry (issue 19 §2, ``$.demand_response[i]``, ``kernels.demand``):
    during each window ``(start_s, end_s)`` (seconds from time 0) the ``stations`` pause
    after their current part (``action`` ``pause``) or process at ``speed`` (``slow``);
    with ``repeat`` (s, > 0) the windows come back every ``repeat`` seconds (a daily peak:
    86400), 0 for once."""

    stations: tuple[str, ...]
    windows: tuple[tuple[float, float], ...]
    action: str = "pause"
    speed: float = 1.0
    repeat: float = 0.0


DEMAND_ACTIONS = ("pause", "slow")


@dataclass(frozen=True)
class Calendar:
    """Working periods and breaks repeating every ``period`` seconds (a day by default)."""

    shifts: tuple[Period, ...]
    breaks: tuple[Period, ...] = ()
    period: float = 86400.0

    def working_intervals(self, t0: float, t1: float) -> list[tuple[float, float]]:
        """Merged working intervals (shifts less breaks) intersecting ``[t0, t1)``."""
        out: list[tuple[float, float]] = []
        k0 = math.floor(t0 / self.period) - 1
        k1 = math.ceil(t1 / self.period) + 1
        for k in range(k0, k1):
            base = k * self.period
            spans = sorted((base + p.start, base + p.end) for p in self.shifts)
            cuts = sorted((base + b.start, base + b.end) for b in self.breaks)
            for a, b in spans:
                pieces = [(a, b)]
                for c, d in cuts:
                    nxt = []
                    for x, y in pieces:
                        if d <= x or c >= y:
                            nxt.append((x, y))
                            continue
                        if c > x:
                            nxt.append((x, c))
                        if d < y:
                            nxt.append((d, y))
                    pieces = nxt
                out.extend(pieces)
        out.sort()
        merged: list[tuple[float, float]] = []
        for a, b in out:
            a, b = max(a, t0), min(b, t1)
            if b <= a:
                continue
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
            else:
                merged.append((a, b))
        return merged


@dataclass(frozen=True)
class Override:
    """Set ``path`` (dotted, inside ``element`` or at the project root) to ``value``."""

    path: str
    value: object
    element: str | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    overrides: tuple[Override, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class RunSettings:
    """Defaults for runs of this project (the CLI and the run panel may override them)."""

    horizon: float = 8 * 3600.0
    warmup: float = 0.0
    replications: int = 5
    seed: int = 1
    sample_interval: float = 0.0  # 0: horizon / 200


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class TouPeriod:
    """A time-of-use period of the weekly price profile: from ``start`` to ``end`` (seconds
    after midnight) on each of ``days`` (0 = Monday); ``end <= start`` runs past midnight
    into the next day (Sunday into Monday)."""

    start: float
    end: float
    price_per_kwh: float
    days: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)
    name: str = ""


@dataclass(frozen=True)
class EnergySeries:
    """A time series read from a CSV beside the project: ``values[i]`` holds from
    ``times[i]`` (POSIX seconds, UTC) for ``step`` seconds (900 or 3600)."""

    file: str
    step: float
    times: tuple[float, ...]
    values: tuple[float, ...]


@dataclass(frozen=True)
class Pv:
    """On-site photovoltaic power (``$.tariff.pv``): a daily profile (24 or 96 kW values,
    each held over its hour or quarter hour) or a kW series; exported power earns
    ``feed_in_per_kwh``. ``scale`` multiplies the profile or series (2: twice the panels;
    what an experiment varies to size the PV). Dispatched by twin.energy_site."""

    profile_kw: tuple[float, ...] = ()
    series: EnergySeries | None = None
    feed_in_per_kwh: float = 0.0
    scale: float = 1.0


@dataclass(frozen=True)
class Battery:
    """An on-site battery (``$.tariff.battery``; the dispatch rule is twin.energy_site's):
    ``efficiency`` is round trip, ``initial_soc`` a fraction of ``capacity_kwh``; it shaves
    the grid draw above ``threshold_kw`` and, with ``charge_in_cheapest``, charges from the
    grid at the lowest price of the span."""

    capacity_kwh: float
    power_kw: float
    efficiency: float = 0.9
    initial_soc: float = 0.5
    threshold_kw: float = 0.0
    charge_in_cheapest: bool = False


@dataclass(frozen=True)
class Tariff:
    """The energy context (``$.tariff``, read by twin.projectfile.energy, used by
    twin.energy): a price (flat, 24 hourly prices, weekly time-of-use periods over the flat
    base price, or a price series), a demand charge on the highest 15-minute mean power of
    each billing period, and the CO2 intensity (constant or a series)."""

    price_per_kwh: float = 0.0
    hourly: tuple[float, ...] = ()
    currency: str = "EUR"
    periods: tuple[TouPeriod, ...] = ()
    price_series: EnergySeries | None = None
    demand_charge_per_kw: float = 0.0
    billing_period: float = 30 * 86400.0
    co2_g_per_kwh: float = 0.0
    co2_series: EnergySeries | None = None
    timezone: str = ""  # the wall clock of recordings ("": the recording's own time zone)
    pv: Pv | None = None  # on-site generation and storage (issue 19 §1; twin.energy_site)
    battery: Battery | None = None


# --- alert rules (issue 16): read and written by twin.projectfile.alerts ---------------------
#: Kinds of alert rule (docs/project-format.md, "alerts"; evaluated by twin.shadow.alerts).
ALERT_KINDS = ("state", "shift_target", "peak_power", "drift", "no_data")
ALERT_SEVERITIES = ("info", "warning", "critical")


@dataclass(frozen=True)
class AlertRule:
    """One rule of the project's ``alerts`` section; fields a kind does not use keep their
    defaults. Times in seconds, power in kW, probabilities in 0..1."""

    kind: str
    id: str = ""
    severity: str = "warning"
    elements: tuple[str, ...] = ()  # stations (state, drift) or assets (no_data); (): all
    states: tuple[str, ...] = ("down",)  # state: which states
    longer_than: float = 0.0  # state, no_data: the limit
    above: float = 0.5  # shift_target, peak_power (forecast): the probability limit
    clear_below: float | None = None  # hysteresis: clears below this (default per kind)
    limit_kw: float = 0.0  # peak_power
    within: float = 0.0  # peak_power: forecast horizon (0: now only)
    scope: str = "source"  # no_data: "source" (any reading) or "asset" (each asset)
    ratio: float = 2.0  # drift: the change of a time to detect soonest
    arl: float = 10000.0  # drift: in-control average run length, observations
    quantities: tuple[str, ...] = ()  # drift: which quantities (): all
    min_change: tuple[tuple[str, float], ...] = ()  # drift: (quantity, fraction) overrides
    extra: dict = field(default_factory=dict, compare=False)  # "x-" fields, kept


@dataclass(frozen=True)
class AlertSettings:
    """The ``alerts`` section: the rules and the shift's target of good parts."""

    rules: tuple[AlertRule, ...] = ()
    shift_target: float | None = None


class Project:
    """A plant: its elements, connections, calendar, scenarios and run defaults."""

    element_added = Signal(object)
    element_removed = Signal(object)
    connections_changed = Signal()
    scenarios_changed = Signal()  # a scenario added, removed, renamed or its overrides edited
    changed = Signal()

    def __init__(
        self,
        name: str = "Untitled",
        elements: list[Element] | None = None,
        connections: list[Connection] | None = None,
        calendar: Calendar | None = None,
        scenarios: list[Scenario] | None = None,
        run: RunSettings | None = None,
        tariff: Tariff | None = None,
        description: str = "",
        meta: dict | None = None,
        extra: dict | None = None,
        alerts: AlertSettings | None = None,
    ):
        self.name = name
        self.description = description
        self.elements: list[Element] = list(elements or [])
        self.connections: list[Connection] = list(connections or [])
        self.calendar = calendar
        self.scenarios: list[Scenario] = list(scenarios or [])
        self.run = run or RunSettings()
        self.tariff = tariff
        self.meta = dict(meta or {})
        self.extra = dict(extra or {})  # custom top-level "x-" fields, kept as written
        self.alerts = alerts  # the alert rules (issue 16); None: the file has no section
        # what the file reader found that did not stop it (twin.errors.Problem), e.g. a
        # station's mesh file missing from the folder; shown once when the project opens
        self.warnings: list[Problem] = []
        # faults of the flow a project opened for editing has (a half-built line): they stop
        # a run, not the editor (twin.projectfile.reader.structure_problems says what they
        # are now, after edits)
        self.problems: list[Problem] = []
        # --- experiments (issue 17): twin.model.experiments.Experiment, in file order
        self.experiments: list = []
        # --- end experiments
        self.workers: list[WorkerPool] = []  # worker pools (issue 18 §3), in file order
        # demand-response windows (issue 19 §2, twin.projectfile.demand), in file order
        self.demand_response: list[DemandResponse] = []
        self._relay = _changed_relay(self)
        for el in self.elements:
            self._watch(el)

    # --- queries ---------------------------------------------------------------------------
    def element(self, element_id: str) -> Element:
        for el in self.elements:
            if el.id == element_id:
                return el
        raise KeyError(f"no element with id {element_id!r} in project {self.name!r}")

    def __contains__(self, element_id: str) -> bool:
        return any(el.id == element_id for el in self.elements)

    def successors(self, element_id: str) -> list[Connection]:
        return [c for c in self.connections if c.source == element_id]

    def predecessors(self, element_id: str) -> list[Connection]:
        return [c for c in self.connections if c.target == element_id]

    def adjacency(self) -> tuple[dict[str, list[Connection]], dict[str, list[Connection]]]:
        """Successors and predecessors of every element (id -> connections, in the order of
        the connections), in one pass: what :meth:`successors` and :meth:`predecessors` give
        for one element each, without a pass over all connections per element."""
        succ: dict[str, list[Connection]] = {}
        pred: dict[str, list[Connection]] = {}
        for c in self.connections:
            succ.setdefault(c.source, []).append(c)
            pred.setdefault(c.target, []).append(c)
        return succ, pred

    def scenario(self, name: str) -> Scenario:
        for s in self.scenarios:
            if s.name == name:
                return s
        known = ", ".join(["base (the project as it is)", *(s.name for s in self.scenarios)])
        raise NotFoundError(f"no scenario {name!r} in project {self.name!r}; known: {known}")

    def stations(self) -> list[Station]:
        return [el for el in self.elements if isinstance(el, Station)]

    def conveyor_length(self, conveyor: Conveyor) -> float:
        """The set length, or the floor distance between the elements the conveyor joins."""
        if conveyor.length is not None:
            return conveyor.length
        ends = [c.source for c in self.predecessors(conveyor.id)][:1]
        ends += [c.target for c in self.successors(conveyor.id)][:1]
        pts = [self.element(e).position for e in ends if e in self]
        if len(pts) < 2:
            return 1.0
        (x0, y0, _), (x1, y1, _) = pts
        return max(math.hypot(x1 - x0, y1 - y0), 0.1)

    def unique_id(self, stem: str) -> str:
        taken = {el.id for el in self.elements}
        i = 1
        while f"{stem}{i}" in taken:
            i += 1
        return f"{stem}{i}"

    # --- edits (the workbench wraps each in an undoable command) ----------------------------
    def add_element(self, element: Element, index: int | None = None) -> None:
        if element.id in self:
            raise ValueError(f"an element with id {element.id!r} exists already; pick another id")
        self.elements.insert(len(self.elements) if index is None else index, element)
        self._watch(element)
        self.element_added.emit(element)
        self.changed.emit()

    def remove_element(self, element_id: str) -> tuple[Element, int, list[Connection]]:
        """Remove an element and its connections; returns what an undo needs."""
        el = self.element(element_id)
        index = self.elements.index(el)
        dropped = [c for c in self.connections if element_id in (c.source, c.target)]
        self.connections = [c for c in self.connections if c not in dropped]
        self.elements.remove(el)
        el.events.disconnect(self._relay)
        self.element_removed.emit(el)
        if dropped:
            self.connections_changed.emit()
        self.changed.emit()
        return el, index, dropped

    def connect(self, source: str, target: str, weight: float = 1.0) -> Connection:
        for end in (source, target):
            if end not in self:
                raise KeyError(f"cannot connect: no element with id {end!r}")
        if source == target:
            raise ValueError(f"cannot connect {source!r} to itself")
        if any(c.source == source and c.target == target for c in self.connections):
            raise ValueError(f"{source!r} is connected to {target!r} already")
        conn = Connection(source, target, weight)
        self.connections.append(conn)
        self.connections_changed.emit()
        self.changed.emit()
        return conn

    def disconnect(self, connection: Connection) -> None:
        self.connections.remove(connection)
        self.connections_changed.emit()
        self.changed.emit()

    def set_connections(self, connections: list[Connection]) -> None:
        self.connections = list(connections)
        self.connections_changed.emit()
        self.changed.emit()

    def _watch(self, el: Element) -> None:
        el.events.connect(self._relay, check_nargs=False)


def _changed_relay(project: Project):
    """A plain function that emits ``project.changed``, holding the project weakly.

    Every element's events connect to it. psygnal connects a bound method through a
    ``weakref.finalize`` and a signature check, about 1 ms per element: 10 s of a 10,000-
    element project's loading went there. A function costs a few microseconds; its weak
    reference keeps an element from keeping its project alive, as the bound method did."""
    ref = weakref.ref(project)

    def relay(*_args) -> None:
        p = ref()
        if p is not None:
            p.changed.emit()

    return relay
