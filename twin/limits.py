"""Limits of a project and of a run: every count, size, time and rate twinbench accepts.

Each number follows from what the kernel and the machine can do (``docs/limits.md`` gives
them in one table with the reason for each); this module holds them, the checks of a
document's size and of the run settings, and the wording of the messages:

- :func:`check_document` counts elements, connections, scenarios and overrides before
  anything is read, so that a 50 MB file of 140,000 stations is refused in milliseconds
  instead of being read for minutes;
- :func:`check_run_settings` checks horizon, warm-up, replications, seed and sample
  interval, for the project's ``run`` block and for :class:`twin.sim.runner.RunSpec`;
- ``twin.projectfile.plantlimits.check_project`` checks what only the whole plant tells:
  servers in total, the parts a conveyor holds, and the clocks (arrivals, failures,
  maintenance, calendar, delivery schedule) that would fire without end or too often;
- ``twin.sim.estimate.estimate_run`` estimates events, time-series samples, state-log rows
  and memory of a run before it starts and refuses (:class:`RunTooLarge`) what is beyond
  the limits.

Field-level bounds (servers of a station, a buffer's capacity, distribution parameters,
lengths of ids and names) are checked where the field is read (``twin.projectfile.reader``,
``twin.model.distributions``) with these constants.
"""

from __future__ import annotations

import math

from twin.errors import Problems, ProjectError, as_seconds, seconds_text

# --- counts -----------------------------------------------------------------------------------
#: Elements of a project. Checking is linear in them (10,000 elements check in about a
#: second); the kernel keeps three time series per element and replication.
MAX_ELEMENTS = 10_000
#: Connections of a project (five per element on average).
MAX_CONNECTIONS = 50_000
#: Parallel servers of one station, and of all stations together (each is a row of the
#: kernel's server arrays and a slot of its event queue). 3,000 is the largest station
#: checked event by event against the naive oracle (tests/kernels/test_extremes.py).
MAX_SERVERS = 3_000
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
MAX_TEXT_CHARS = 1_000_000  # descriptions

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
MIN_CALENDAR_PERIOD_S = 1.0  # tiny test models cycle every 50 s (tests/twin/test_traces.py)
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
    scenarios = doc.get("scenarios")
    for i, s in enumerate(scenarios if isinstance(scenarios, list) else []):
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
            bad("warmup", f"must be >= 0 and shorter than the horizon "
                f"({seconds_text(horizon)})", as_seconds(warmup))
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
                f"horizon of {seconds_text(horizon)}; at most {MAX_SAMPLES:,} per replication: "
                f"use at least {horizon / MAX_SAMPLES:.3g} s", sample_interval)
