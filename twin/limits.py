"""Limits of a project and of a run: every count, size, time and rate twinbench accepts.

Each number follows from what the kernel and the machine can do (``docs/limits.md`` gives
them in one table with the reason for each); this module holds them and the checks that
need the whole plant or the run settings:

- :func:`check_document` counts elements, connections, scenarios and overrides before
  anything is read, so that a 50 MB file of 140,000 stations is refused in milliseconds
  instead of being read for minutes;
- :func:`check_run_settings` checks horizon, warm-up, replications, seed and sample
  interval, for the project's ``run`` block and for :class:`twin.runner.RunSpec`;
- :func:`check_project` checks what only the whole plant tells: servers in total, the
  parts a conveyor holds, and the clocks (arrivals, failures, maintenance, calendar,
  delivery schedule) that would fire without end or too often for the horizon;
- :func:`estimate_run` estimates events, time-series samples, state-log rows and memory
  of a run before it starts and refuses (:class:`RunTooLarge`) what is beyond the limits.

Field-level bounds (servers of a station, a buffer's capacity, distribution parameters,
lengths of ids and names) are checked where the field is read (``twin.project``,
``twin.distributions``) with these constants.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from twin.errors import Problems, ProjectError

# --- counts -----------------------------------------------------------------------------------
#: Elements of a project. Checking is linear in them (10,000 elements check in about a
#: second); the kernel keeps three time series per element and replication.
MAX_ELEMENTS = 10_000
#: Connections of a project (five per element on average).
MAX_CONNECTIONS = 50_000
#: Parallel servers of one station, and of all stations together (each is a row of the
#: kernel's server arrays and a slot of its event queue).
MAX_SERVERS = 1_000
MAX_SERVERS_TOTAL = 100_000
#: Parts a buffer holds (``null``: unlimited), and parts a conveyor holds (length / spacing).
MAX_CAPACITY = 1_000_000
MAX_CONVEYOR_PARTS = 1_000_000
#: Products (kernel tables are elements x products).
MAX_PRODUCTS = 1_000
#: Scenarios of a project (``check`` reads each scenario's variant as a whole project) and
#: overrides of one scenario.
MAX_SCENARIOS = 100
MAX_OVERRIDES = 1_000
#: Rows of a source's delivery schedule, and parts of one delivery (the kernel keeps room
#: for one delivery's parts before each event).
MAX_SCHEDULE_ROWS = 10_000
MAX_QUANTITY = 100_000
#: Observed values of one empirical distribution.
MAX_EMPIRICAL_VALUES = 100_000
#: Shifts, and breaks, of a calendar.
MAX_PERIODS = 100
#: Operations between two maintenances (``every_operations``).
MAX_OPERATIONS = 1_000_000_000

# --- text -------------------------------------------------------------------------------------
MAX_ID_CHARS = 100  # element ids, product names
MAX_NAME_CHARS = 200  # display names, scenario names, currency, override paths
MAX_TEXT_CHARS = 100_000  # descriptions

# --- space (metres, degrees, m/s) ------------------------------------------------------------
MAX_COORDINATE_M = 100_000.0  # |x|, |y|, |z| of a position: 100 km
MAX_SIZE_M = 1_000.0  # width and depth of a footprint, > 0
MAX_ROTATION_DEG = 3_600.0  # ten turns either way
MAX_LENGTH_M = 100_000.0  # a conveyor's set length
MIN_SPACING_M = 0.001
MIN_SPEED_M_S = 1e-4
MAX_SPEED_M_S = 100.0

# --- magnitudes -------------------------------------------------------------------------------
#: Largest time parameter of a distribution (s) and largest mean: about 317 years, 30 times
#: the longest horizon; anything longer means "never" and only risks overflow.
MAX_TIME_S = 1e10
#: Connection and product-mix weights, power per server (kW), price per kWh, wear rates and
#: gains.
MAX_WEIGHT = 1e9
MAX_POWER_KW = 1e6
MAX_PRICE = 1e6
MAX_WEAR = 1e3
#: Shapes of gamma and Weibull distributions: below them draws are 0 or overflow.
GAMMA_SHAPE = (1e-3, 1e6)
WEIBULL_SHAPE = (0.05, 1e3)
#: Largest coefficient of variation (sd / mean) of a lognormal given by mean and sd.
MAX_CV = 1e3

# --- run settings -----------------------------------------------------------------------------
MAX_HORIZON_S = 10 * 365 * 86400.0  # ten years
MAX_REPLICATIONS = 10_000
MAX_SEED = 2**63 - 1  # results files store it as a 64-bit integer
#: Time-series samples per replication (horizon / sample interval).
MAX_SAMPLES = 100_000
#: Events of one replication (as :func:`estimate_run` counts them: an operation, a part
#: moved, an arrival, a failure and its repair...): the kernel handles about 5 million a
#: second on the project's machine class (the standard line: 19 million in about 4 s), so
#: 10^9 is some three minutes per replication. It also
#: bounds each clock: a mean time between arrivals, failures or maintenances, a calendar
#: or schedule period must be at least horizon / MAX_EVENTS.
MAX_EVENTS = 1_000_000_000
EVENTS_PER_SECOND = 5e6
#: Memory a run may keep (time series of every replication, state logs kept).
MAX_RUN_BYTES = 8 * 2**30
#: Absolute minimum mean time between arrivals and between failures (s), and of a
#: calendar period, a schedule period and a maintenance interval (s).
MIN_INTERVAL_S = 1e-3
MIN_PERIOD_S = 1.0
MIN_CALENDAR_PERIOD_S = 60.0
#: Calendar cycles within the horizon (the calendar is unrolled into toggles before a run).
MAX_CALENDAR_CYCLES = 100_000

#: Kernel's state-log record (``kernels.types.LOG_DTYPE``), bytes.
LOG_ROW_BYTES = 24


class RunTooLarge(ProjectError):
    """A run beyond the limits: too many events, samples or bytes. Its problems say how
    big the run would be and what to lower."""


def who(el) -> str:
    """``station 'm1' (Press)``: an element by kind, id and name, for messages."""
    name = getattr(el, "name", "") or ""
    return f"{el.kind} {el.id!r}" + (f" ({name})" if name and name != el.id else "")


def big(n: float) -> str:
    """A count as people read it: 950, 12,000, 3.2 million, 2.1 billion."""
    if not math.isfinite(n):
        return "unboundedly many"
    for size, word in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million")):
        if n >= size:
            return f"{float(f'{n / size:.2g}'):g} {word}"
    return f"{float(f'{n:.2g}'):,.0f}"  # 832,387 -> 830,000: an estimate, not a count


def nbytes(n: float) -> str:
    """Bytes as 12 MB, 3.4 GB, 4.4 TB (powers of 10, as a user reads a disk)."""
    for size, unit in ((1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if n >= size:
            return f"{n / size:.2g} {unit}" if n / size < 100 else f"{n / size:,.0f} {unit}"
    return f"{n:.0f} bytes"


def duration(seconds: float) -> str:
    """A duration for messages: 8 h, 30 min, 2.5 s, 1e-09 s."""
    for size, unit in ((86400.0 * 365, "years"), (86400.0, "d"), (3600.0, "h"), (60.0, "min")):
        if seconds >= size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.3g} s"


# --- the document before it is read -----------------------------------------------------------
def check_document(doc: dict, problems: Problems) -> bool:
    """Count what a document holds before reading it. Returns False when it is too large to
    read any further (the problems say why)."""
    ok = True
    for key, limit in (("elements", MAX_ELEMENTS), ("connections", MAX_CONNECTIONS),
                       ("scenarios", MAX_SCENARIOS)):
        v = doc.get(key)
        if isinstance(v, list) and len(v) > limit:
            problems.add(f"$.{key}", f"{len(v):,} {key}: at most {limit:,} are allowed "
                         "(docs/limits.md); split the plant into several projects", len(v))
            ok = False
    for i, s in enumerate(doc.get("scenarios") or []):
        ovs = s.get("overrides") if isinstance(s, dict) else None
        if isinstance(ovs, list) and len(ovs) > MAX_OVERRIDES:
            problems.add(f"$.scenarios[{i}].overrides", f"{len(ovs):,} overrides: at most "
                         f"{MAX_OVERRIDES:,} per scenario are allowed", len(ovs))
            ok = False
    return ok


def check_text(problems: Problems, path: str, value, limit: int, what: str = "text") -> None:
    """A string at most ``limit`` characters long."""
    if isinstance(value, str) and len(value) > limit:
        problems.add(path, f"{what} of {len(value):,} characters: at most {limit:,}",
                     value[:40] + "...")


# --- run settings -----------------------------------------------------------------------------
def check_run_settings(horizon, warmup, replications, seed, sample_interval,
                       problems: Problems, prefix: str = "") -> None:
    """Horizon, warm-up, replications, seed and sample interval within their ranges.

    ``prefix`` is prepended to the field names in the problems' paths (``$.run.``)."""
    def bad(key, msg, value):
        problems.add(f"{prefix}{key}", msg, value)

    if horizon is not None:
        if not 0 < horizon <= MAX_HORIZON_S:
            bad("horizon", f"must be > 0 and at most {MAX_HORIZON_S:g} s (ten years)", horizon)
        elif warmup is not None and not 0 <= warmup < horizon:
            bad("warmup", f"must be >= 0 and shorter than the horizon ({horizon:g} s)",
                warmup)
    if replications is not None and (isinstance(replications, bool) or not isinstance(
            replications, int) or not 1 <= replications <= MAX_REPLICATIONS):
        bad("replications", f"must be a whole number from 1 to {MAX_REPLICATIONS:,}",
            replications)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)
                             or not 0 <= seed <= MAX_SEED):
        bad("seed", f"must be a whole number from 0 to {MAX_SEED} (2**63 - 1)", seed)
    if sample_interval is not None and horizon is not None and 0 < horizon <= MAX_HORIZON_S:
        if not sample_interval >= 0:
            bad("sample_interval", "must be >= 0 (0: horizon / 200)", sample_interval)
        elif sample_interval > 0 and horizon / sample_interval > MAX_SAMPLES:
            bad("sample_interval", f"gives {big(horizon / sample_interval)} samples over the "
                f"horizon of {duration(horizon)}; at most {MAX_SAMPLES:,} per replication: "
                f"use at least {horizon / MAX_SAMPLES:.3g} s", sample_interval)


# --- the whole plant --------------------------------------------------------------------------
def check_project(project, problems: Problems, index: dict[str, int] | None = None) -> None:
    """What only the whole plant tells: servers in total, parts on a conveyor, and clocks
    that would fire without end or more than ``MAX_EVENTS`` times within the project's
    horizon. ``index`` maps element ids to their position in the file."""
    from twin import model as m

    index = index or {el.id: i for i, el in enumerate(project.elements)}
    horizon = project.run.horizon
    succ, pred = project.adjacency()
    pos = {el.id: el.position for el in project.elements}

    def clock(path, el, what, mean, minimum, field_value):
        """A clock firing every ``mean`` seconds on average."""
        if mean < minimum:
            problems.add(path, f"{who(el)}: {what} of {mean:g} s on average; the least is "
                         f"{minimum:g} s (docs/limits.md)", field_value)
        elif horizon / mean > MAX_EVENTS:
            problems.add(path, f"{who(el)}: {what} of {mean:g} s on average fires about "
                         f"{big(horizon / mean)} times in the horizon of {duration(horizon)}; "
                         f"at most {big(MAX_EVENTS)} events are allowed per replication: "
                         f"lengthen it to at least {horizon / MAX_EVENTS:.3g} s or shorten "
                         "the horizon", field_value)

    servers = 0
    for el in project.elements:
        ep = f"$.elements[{index[el.id]}]"
        if isinstance(el, m.Source):
            if el.arrival is not None:
                mean = el.arrival.mean
                if mean <= 0:
                    problems.add(f"{ep}.arrival", f"{who(el)}: arrivals every 0 s would bring "
                                 "parts without end at one instant; remove 'arrival' for an "
                                 "unlimited source (a part whenever the line takes one)",
                                 el.arrival.to_json())
                else:
                    clock(f"{ep}.arrival", el, "a time between arrivals", mean,
                          MIN_INTERVAL_S, el.arrival.to_json())
            if el.schedule and el.schedule_period:
                clock(f"{ep}.schedule_period", el, "a schedule period",
                      el.schedule_period / len(el.schedule), MIN_PERIOD_S / len(el.schedule),
                      el.schedule_period)
        elif isinstance(el, m.Station):
            servers += el.servers
            f = el.failures
            if f is not None and f.basis != "operations":
                clock(f"{ep}.failures.time_to_failure", el, "a time to failure",
                      f.time_to_failure.mean, MIN_INTERVAL_S, f.time_to_failure.to_json())
            pm = el.maintenance
            if pm is not None and pm.every_hours:
                clock(f"{ep}.maintenance.every_hours", el, "a maintenance interval",
                      pm.every_hours * 3600.0, MIN_PERIOD_S, pm.every_hours)
        elif isinstance(el, m.Conveyor):
            length = el.length
            if length is None:  # the floor distance, as Project.conveyor_length computes it
                ends = [pos.get(c.source) for c in pred.get(el.id, [])[:1]]
                ends += [pos.get(c.target) for c in succ.get(el.id, [])[:1]]
                length = (max(math.hypot(ends[1][0] - ends[0][0], ends[1][1] - ends[0][1]), 0.1)
                          if len(ends) == 2 and None not in ends else 1.0)
            parts = length / el.spacing
            if parts > MAX_CONVEYOR_PARTS:
                problems.add(ep, f"{who(el)}: {length:g} m at a spacing of {el.spacing:g} m "
                             f"holds {big(parts)} parts; at most {MAX_CONVEYOR_PARTS:,}: "
                             "shorten it or widen the spacing", length)
    products = {name for el in project.elements if isinstance(el, m.Source)
                for name in ([row[1] for row in el.schedule] if el.schedule else el.product_mix)}
    if len(products) > MAX_PRODUCTS:
        problems.add("$.elements", f"the sources make {len(products):,} products; at most "
                     f"{MAX_PRODUCTS:,}", len(products))
    if servers > MAX_SERVERS_TOTAL:
        problems.add("$.elements", f"{servers:,} servers in all stations together; at most "
                     f"{MAX_SERVERS_TOTAL:,}", servers)
    cal = project.calendar
    if cal is not None:
        if cal.period < MIN_CALENDAR_PERIOD_S:
            problems.add("$.calendar.period", f"a calendar period of {cal.period:g} s; the "
                         f"least is {MIN_CALENDAR_PERIOD_S:g} s", cal.period)
        elif horizon / cal.period > MAX_CALENDAR_CYCLES:
            problems.add("$.calendar.period", f"{big(horizon / cal.period)} calendar cycles in "
                         f"the horizon of {duration(horizon)}; at most "
                         f"{MAX_CALENDAR_CYCLES:,}: lengthen the period to at least "
                         f"{horizon / MAX_CALENDAR_CYCLES:.3g} s", cal.period)


# --- the size of a run ------------------------------------------------------------------------
@dataclass
class RunEstimate:
    """How big a run would be, per replication and in all.

    Attributes
    ----------
    events : float
        Events of one replication (of the largest scenario).
    samples : int
        Time-series samples per replication.
    log_rows : float
        State-log rows of one replication (0 with the log off).
    logs_kept : int
        Replications whose state log the run keeps in memory.
    memory_bytes : float
        Time series of every replication plus the state logs kept.
    seconds : float
        A rough running time on one core (``EVENTS_PER_SECOND``).
    runs : int
        Replications in all (scenarios x replications).
    busiest : str
        The element and field with the most events.
    """

    events: float
    samples: int
    log_rows: float
    logs_kept: int
    memory_bytes: float
    seconds: float
    runs: int
    busiest: str = ""

    def __str__(self) -> str:
        log = (f"about {big(self.log_rows)} state changes logged per replication"
               if self.log_rows else "state log off")
        busiest = f" (most at {self.busiest})" if self.busiest else ""
        return (f"about {big(self.events)} events per replication{busiest}, "
                f"{self.samples:,} time-series samples, {log}; {self.runs} replication"
                f"{'' if self.runs == 1 else 's'} in all, about {nbytes(self.memory_bytes)} of "
                f"results, about {duration(max(self.seconds, 0.1))} of simulation on one core")


def _share(conns) -> list[float]:
    w = [c.weight for c in conns]
    total = sum(w)
    return [x / total for x in w] if total > 0 else [1.0 / len(w)] * len(w)


def _rates(project, horizon: float):
    """Parts per second through each element: a flow estimate of the plant.

    Each element passes at most what reaches it and at most its own capacity (servers over
    the fastest mean process time, one part per spacing of a conveyor, a source's arrival
    rate); rates are carried along the connections in flow order, split by the weights.
    Loops are cut where they close. Returns the rates and the index of an element fed at an
    unbounded rate (or None)."""
    from twin import model as m

    els = project.elements
    index = {el.id: i for i, el in enumerate(els)}
    succ, pred = project.adjacency()
    cap = [math.inf] * len(els)
    for i, el in enumerate(els):
        if isinstance(el, m.Source):
            if el.arrival is not None:
                mean = el.arrival.mean
                cap[i] = 1.0 / mean if mean > 0 else math.inf
            elif el.schedule:
                parts = sum(q for _, _, q in el.schedule)
                cap[i] = parts / el.schedule_period if el.schedule_period else parts / horizon
        elif isinstance(el, m.Station):
            pt = el.process_time
            means = [d.mean for d in (pt.values() if isinstance(pt, dict) else [pt]) if d]
            fastest = min(means, default=0.0)
            cap[i] = el.servers / fastest if fastest > 0 else math.inf
        elif isinstance(el, m.Conveyor):
            cap[i] = el.speed / el.spacing
    inflow = [0.0] * len(els)
    rate = [0.0] * len(els)
    waiting = [len(pred.get(el.id, [])) for el in els]
    ready = [i for i, n in enumerate(waiting) if n == 0]
    done = [False] * len(els)
    scan = 0
    for _ in range(len(els)):
        if ready:
            i = ready.pop()
        else:  # the rest lies on loops: cut the loop at the first element in file order
            while done[scan]:
                scan += 1
            i = scan
        done[i] = True
        el = els[i]
        rate[i] = cap[i] if isinstance(el, m.Source) else min(inflow[i], cap[i])
        outs = succ.get(el.id, [])
        for c, share in zip(outs, _share(outs) if outs else [], strict=True):
            j = index[c.target]
            if share > 0:
                inflow[j] += rate[i] * share
            waiting[j] -= 1
            if waiting[j] == 0 and not done[j]:
                ready.append(j)
    unbounded = next((i for i, r in enumerate(rate)
                      if math.isinf(r) and not isinstance(els[i], m.Source)), None)
    return rate, unbounded


def _scenario_size(project, spec, index: dict[str, int]):
    """Events and log rows per replication of one variant, the busiest element, problems."""
    from twin import model as m

    horizon = spec.horizon
    rate, unbounded = _rates(project, horizon)
    problems = Problems()
    if unbounded is not None:
        el = project.elements[unbounded]
        problems.add(f"$.elements[{index.get(el.id, unbounded)}]", f"{who(el)}: parts would "
                     "reach it at an unbounded rate: every element between an unlimited "
                     "source and here takes no time. Give one of them a process time > 0, "
                     "or the source an 'arrival'", el.id)
        return math.inf, math.inf, "", problems
    events: list[tuple[float, str, str]] = []  # (per second, path, what)
    log = 0.0
    cal_servers = 0
    for i, el in enumerate(project.elements):
        ep = f"$.elements[{index.get(el.id, i)}]"
        r = rate[i]
        if isinstance(el, m.Source):
            if el.arrival is not None or el.schedule:
                events.append((r, f"{ep}.arrival" if el.arrival else f"{ep}.schedule",
                               f"{who(el)}, arrivals"))
        elif isinstance(el, m.Station):
            per_part = 2.0 if el.setup_time else 1.0
            events.append((r * per_part, f"{ep}.process_time", f"{who(el)}, operations"))
            log += 1.5 * r * per_part
            f = el.failures
            if f is not None:
                ttf = f.time_to_failure.mean
                fails = (r / max(ttf, 1.0) if f.basis == "operations"
                         else el.servers / max(ttf + (f.time_to_repair.mean
                                                      if f.basis == "calendar" else 0.0),
                                               1e-300))
                events.append((2 * fails, f"{ep}.failures.time_to_failure",
                               f"{who(el)}, failures"))
                log += 2 * fails
            pm = el.maintenance
            if pm is not None:
                pms = (el.servers / (pm.every_hours * 3600.0) if pm.every_hours else 0.0) + (
                    r / pm.every_operations if pm.every_operations else 0.0)
                events.append((2 * pms, f"{ep}.maintenance", f"{who(el)}, maintenance"))
                log += 2 * pms
            if el.follows_calendar:
                cal_servers += el.servers
        elif isinstance(el, m.Conveyor):
            events.append((2 * r, ep, f"{who(el)}, parts carried"))
            log += r
        else:
            events.append((r, ep, f"{who(el)}, parts"))
            log += r if isinstance(el, m.Buffer) else 0.0
    cal = project.calendar
    if cal is not None:
        toggles = 2 * len(cal.shifts) / cal.period
        events.append((toggles * (1 + cal_servers), "$.calendar", "the calendar's shifts"))
        log += toggles * cal_servers
    total = sum(e[0] for e in events) * horizon
    top = max(events, key=lambda e: e[0], default=(0.0, "", ""))
    busiest = f"{top[1]}: {top[2]}" if top[1] else ""
    if total > MAX_EVENTS:
        problems.add(top[1] or "$", f"this run would take about {big(total)} events per "
                     f"replication, {big(top[0] * horizon)} of them at {top[2]} (about "
                     f"{duration(total / EVENTS_PER_SECOND)} per replication); at most "
                     f"{big(MAX_EVENTS)} are allowed: shorten the horizon "
                     f"({duration(horizon)}) or lengthen the times that fire so often",
                     round(total))
    return total, log * horizon if spec.log else 0.0, busiest, problems


def estimate_run(project, spec, scenarios: list[str] | None = None) -> RunEstimate:
    """Estimate the size of a run and refuse one beyond the limits, before it starts.

    Parameters
    ----------
    project : twin.model.Project
    spec : twin.runner.RunSpec
        Horizon, warm-up, replications, seed, sample interval and state log of the run.
    scenarios : list of str, optional
        The scenarios run (default: the base project).

    Returns
    -------
    RunEstimate
        Events, samples, state-log rows per replication and the memory of the results.

    Raises
    ------
    RunTooLarge
        A ``ProjectError`` whose problems say how big the run would be and what to lower:
        more than ``MAX_EVENTS`` events per replication, more than ``MAX_SAMPLES`` samples,
        results beyond ``MAX_RUN_BYTES``, parts at an unbounded rate.
    ProjectError
        Run settings out of range, an unknown scenario's problems.
    """
    from twin.project import with_scenario

    p = Problems()
    check_run_settings(spec.horizon, spec.warmup, spec.replications, spec.seed,
                       spec.sample_interval, p)
    p.raise_if_any("the run settings")
    names = list(scenarios or ["base"])
    horizon = spec.horizon
    dt = spec.sample_interval if spec.sample_interval > 0 else horizon / 200.0
    samples = int(horizon / dt) + 3
    tariff = project.tariff
    if tariff is not None and tariff.hourly:
        samples += int(horizon / 3600.0) + 1
    index = {el.id: i for i, el in enumerate(project.elements)}
    events, log_rows, busiest, problems = 0.0, 0.0, "", Problems()
    for name in names:
        variant = with_scenario(project, name)
        ev, rows, top, found = _scenario_size(variant, spec, index)
        for q in found.items:
            where = q.path if name in (None, "", "base") else f"scenario {name!r} -> {q.path}"
            problems.add(where, q.message, q.value)
        if ev >= events:
            events, busiest = ev, top
        log_rows = max(log_rows, rows)
    n_el = len(project.elements)
    runs = len(names) * spec.replications
    logs_kept = 0
    if spec.log:
        logs_kept = runs if spec.log_only is None else min(len(spec.log_only), runs)
    series = samples * (3 + 3 * n_el) * 8.0 * runs
    log_bytes = log_rows * LOG_ROW_BYTES * logs_kept
    memory = series + log_bytes
    if horizon / dt > MAX_SAMPLES:  # as check_run_settings counts them
        problems.add("sample_interval", f"this run would take {big(samples)} time-series "
                     f"samples per replication; at most {MAX_SAMPLES:,}: raise the sample "
                     f"interval to at least {horizon / MAX_SAMPLES:.3g} s", spec.sample_interval)
    elif memory > MAX_RUN_BYTES and math.isfinite(memory):
        if log_bytes >= series:
            problems.add("state_log", f"this run would log about {big(log_rows * logs_kept)} "
                         f"state changes, about {nbytes(log_bytes)}, beyond the "
                         f"{nbytes(MAX_RUN_BYTES)} a run may keep; lower the horizon or "
                         "switch off the state log", round(log_rows * logs_kept))
        else:
            problems.add("sample_interval", f"this run would keep about {nbytes(series)} of "
                         f"time series ({samples:,} samples x {n_el:,} elements x {runs:,} "
                         f"replications), beyond the {nbytes(MAX_RUN_BYTES)} a run may keep; "
                         "raise the sample interval or run fewer replications",
                         spec.sample_interval)
    if problems:
        raise RunTooLarge(problems.items, "the run")
    return RunEstimate(events, samples, log_rows, logs_kept, memory,
                       events * runs / EVENTS_PER_SECOND, runs, busiest)
