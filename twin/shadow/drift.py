"""Drift: does each machine still behave as the model says?

For every station of the project, the plant's readings (live ``Reading`` batches, or a
recording played back as the same readings, :mod:`twin.shadow.playback`) give observations of
four quantities, compared one by one with the station's model (``twin.model.elements``):

* **time to repair**: the length of each down run;
* **time to failure**: the busy time (``operating`` basis), elapsed time (``calendar``) or parts
  (``operations``) from the end of one repair to the next failure;
* **cycle time**: the busy time between two part events of one server, per part;
* **power per state**: the mean power over each stretch of one state.

Each observation ``x`` is standardised by the model's distribution ``F0`` of that quantity:
``y = -log(1 - F0(x))`` is exactly exponential with mean 1 while the model holds, whatever
``F0`` is (the probability integral transform). A change of scale of ``x`` by a ratio ``r``
becomes (exactly for an exponential model, nearly for others) a change of scale of ``y``, and
the classic test for a scale change of exponential data is Page's CUSUM of the
log-likelihood ratio (Page 1954; Basseville & Nikiforov 1993, ch. 2):

    S_n = max(0, S_{n-1} - log r + y_n (1 - 1/r)),   alarm when S_n > h.

Two such CUSUMs run per quantity, one for "longer" (ratio ``r``) and one for "shorter"
(``1/r``). Cycle times are tested in batches of ``cycle_batch`` parts (the mean of their ``y``
is Gamma(n, 1/n) under the model: the same recursion times ``n``), so that a test's false
alarms are counted per batch rather than per part. A constant model (a fixed cycle time) and
power per state have no spread in the model; they are standardised as ``z = (x/mu0 - 1)/sd``
with a relative spread ``sd`` the rule gives, and tested with the Gaussian CUSUM for a mean
shift ``delta = (r - 1)/sd``: ``S_n = max(0, S_{n-1} + delta z_n - delta^2/2)``.

Each one-sided test ignores changes smaller than the quantity's **minimum relevant change**
``k`` (:data:`MIN_CHANGE`, a project's ``min_change``): the "longer" test standardises by
the model scaled by ``1 + k``, the "shorter" one by ``1 - k``, so that a drift inside that
indifference zone is in control for both.

The threshold ``h`` is chosen so that the in-control **average run length** (ARL: the mean
number of observations to a false alarm) equals the rule's ``arl``; :func:`cusum_arl`
computes the ARL of a CUSUM by the Markov-chain method of Brook & Evans (1972), and
:func:`threshold_for_arl` inverts it. ``tests/twin/test_drift.py`` measures both the in-control
ARL and the detection delay by simulation, with intervals.

On an alarm, :class:`Drift` says what drifted, since when (the CUSUM's change-point
estimate: the last time the statistic left zero before the alarm), by how much (the ratio of
the mean since then to the model's mean, with a 95% interval) and offers a re-calibration of
the station from the recent data (:func:`recalibration_scenario`, through
:mod:`twin.whatif.calibration`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy import special, stats

from twin.model import elements as m

#: The quantities tested per station.
QUANTITIES = ("time_to_failure", "time_to_repair", "cycle_time", "power")
#: How each quantity reads in a message.
QUANTITY_TEXT = {"time_to_failure": "time between failures", "time_to_repair": "repairs",
                 "cycle_time": "cycle time", "power": "power"}
#: Fewest observations since the change point for an estimated ratio to be given.
MIN_FOR_RATIO = 2
#: The smallest change of each quantity worth an alarm (0.05: 5% longer or shorter), the
#: edge of the tests' indifference zone (docs/shadow.md, "Drift"). Without it the cycle test
#: of a narrow model flagged drifts of well under 1% of its cycle time: the probability
#: integral transform magnifies what the model says is impossible. Times to repair and to
#: failure spread widely, and a shift holds a few tens of them: 10% is about what one
#: shift's repairs can tell (their mean's relative error is 20% at 25 repairs).
MIN_CHANGE = {"time_to_failure": 0.10, "time_to_repair": 0.10, "cycle_time": 0.05,
              "power": 0.05}


# --- the CUSUM and its average run length ----------------------------------------------------
@dataclass(frozen=True)
class CusumDesign:
    """A one-sided CUSUM of increments ``a + b*Y``, alarm above ``h``.

    ``family`` is ``"gamma"`` (``Y`` ~ Gamma(shape ``n``, scale ``1/n``), mean 1; ``n = 1`` is
    the exponential) or ``"normal"`` (``Y`` ~ N(0, 1)).
    """

    a: float
    b: float
    h: float
    family: str = "gamma"
    n: int = 1

    def increments(self, y: np.ndarray | float) -> np.ndarray | float:
        return self.a + self.b * y


def scale_design(ratio: float, n: int = 1, h: float = 1.0) -> CusumDesign:
    """The log-likelihood-ratio CUSUM for a change of scale by ``ratio`` of standardised
    data (a mean of ``n`` exponentials of mean 1)."""
    return CusumDesign(-n * math.log(ratio), n * (1.0 - 1.0 / ratio), h, "gamma", n)


def shift_design(delta: float, h: float = 1.0) -> CusumDesign:
    """The Gaussian CUSUM for a shift of the mean by ``delta`` standard deviations."""
    return CusumDesign(-delta * delta / 2.0, delta, h, "normal", 1)


def _y_cdf(family: str, n: int, scale: float, shift: float):
    """CDF of the standardised data (ufuncs: scipy.stats' frozen objects are 50x slower)."""
    if family == "gamma":
        return lambda y: special.gammainc(n, np.maximum(y, 0.0) * (n / scale))
    return lambda y: special.ndtr((y - shift) / scale)


def cusum_arl(design: CusumDesign, scale: float = 1.0, shift: float = 0.0,
              states: int = 96) -> float:
    """Average run length of a CUSUM started at 0 (Brook & Evans 1972).

    Parameters
    ----------
    design : CusumDesign
    scale, shift : float
        The data's change from the model: ``Y`` scaled by ``scale`` (gamma family) or shifted
        by ``shift`` standard deviations (normal). 1 and 0: the in-control ARL.
    states : int
        Cells of the Markov chain over ``[0, h]``: 96 agree with 400 to 0.1% on the designs
        used here (and stay under the size where the BLAS starts threads, which on a loaded
        machine made a solve 500 times slower).

    Returns
    -------
    float
        The mean number of observations to the first alarm.
    """
    h, m_ = design.h, states
    w = h / m_
    cdf_y = _y_cdf(design.family, design.n, scale, shift)
    if design.b > 0:
        def cdf(z):
            return cdf_y((z - design.a) / design.b)
    else:
        def cdf(z):
            return 1.0 - cdf_y((z - design.a) / design.b)
    c = np.concatenate([[0.0], (np.arange(m_) + 0.5) * w])  # state 0: S = 0
    edges = np.arange(m_ + 1) * w  # upper edges of cells 1..m are edges[1:]
    fz = cdf(edges[None, :] - c[:, None])  # P(c_i + Z <= edge_j)
    r = np.empty((m_ + 1, m_ + 1))
    r[:, 0] = fz[:, 0]
    r[:, 1:] = np.diff(fz, axis=1)
    lengths = np.linalg.solve(np.eye(m_ + 1) - r, np.ones(m_ + 1))
    return float(lengths[0])


@lru_cache(maxsize=256)
def threshold_for_arl(arl: float, a: float, b: float, family: str = "gamma",
                      n: int = 1) -> float:
    """The threshold ``h`` whose in-control ARL is ``arl`` (bisection on :func:`cusum_arl`)."""
    lo, hi = 0.0, 1.0
    while cusum_arl(CusumDesign(a, b, hi, family, n)) < arl:
        lo, hi = hi, 2.0 * hi
        if hi > 1e3:
            raise ValueError(f"no CUSUM threshold reaches an ARL of {arl:g}")
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        if cusum_arl(CusumDesign(a, b, mid, family, n)) < arl:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-3 * hi:
            break
    return hi


def designed(design: CusumDesign, arl: float) -> CusumDesign:
    """``design`` with the threshold that gives an in-control ARL of ``arl``."""
    h = threshold_for_arl(float(arl), design.a, design.b, design.family, design.n)
    return CusumDesign(design.a, design.b, h, design.family, design.n)


class Cusum:
    """A running one-sided CUSUM that remembers where its current excursion began."""

    __slots__ = ("design", "s", "start", "count")

    def __init__(self, design: CusumDesign) -> None:
        self.design = design
        self.s = 0.0
        self.start: int | None = None  # index of the first observation of the excursion
        self.count = 0

    def update(self, y: float) -> int | None:
        """Add one observation; returns the change-point index on an alarm (and restarts)."""
        i = self.count
        self.count += 1
        s = max(0.0, self.s + self.design.a + self.design.b * y)
        if s > 0.0 and self.s == 0.0:
            self.start = i
        elif s == 0.0:
            self.start = None
        self.s = s
        if s > self.design.h:
            start = i if self.start is None else self.start
            self.s, self.start = 0.0, None
            return start
        return None


# --- settings and results -------------------------------------------------------------------
@dataclass(frozen=True)
class DriftSettings:
    """How the drift tests are set (the ``drift`` rule of a project, docs/shadow.md).

    ``ratio``: the change of a time to detect soonest (2: twice as long, or half); ``arl``:
    the in-control average run length of each one-sided test, in observations (cycle time:
    in batches of ``cycle_batch`` parts); ``power_ratio`` and ``power_sd``: the change of a
    state's mean power to detect and the relative spread of a state stretch's mean power;
    ``cycle_sd``: the relative spread of a fixed (constant) cycle time; ``min_change``:
    ``(quantity, fraction)`` pairs that replace :data:`MIN_CHANGE`'s, the smallest change
    worth an alarm (each one-sided test is in control up to it: its ARL is ``arl`` at a
    change of exactly that size, longer below).
    """

    ratio: float = 2.0
    arl: float = 10000.0
    cycle_batch: int = 100
    power_ratio: float = 1.25
    power_sd: float = 0.1
    cycle_sd: float = 0.1
    cycle_ratio: float = 1.2
    quantities: tuple[str, ...] = QUANTITIES
    min_power_s: float = 10.0
    min_change: tuple[tuple[str, float], ...] = ()

    def min_change_of(self, quantity: str) -> float:
        """The indifference zone's half-width of ``quantity`` (a fraction of its mean)."""
        return dict(self.min_change).get(quantity, MIN_CHANGE[quantity])


@dataclass(frozen=True)
class Drift:
    """A machine that departs from the model.

    Attributes
    ----------
    element, name : str
        The station's id and display name.
    quantity : str
        One of :data:`QUANTITIES`; ``state`` names the state for ``power``.
    direction : str
        ``"longer"`` or ``"shorter"`` (power: ``"higher"``/``"lower"``).
    since, detected_at : float
        Plant time (s since the Unix epoch) of the first observation after the estimated
        change, and of the alarm.
    ratio, ratio_low, ratio_high : float
        Mean since the change over the model's mean, with a 95% interval (NaN when too few).
    n_since : int
        Observations since the change.
    model_mean, recent_mean : float
    """

    element: str
    name: str
    quantity: str
    direction: str
    since: float
    detected_at: float
    ratio: float
    ratio_low: float
    ratio_high: float
    n_since: int
    model_mean: float
    recent_mean: float
    state: str = ""

    @property
    def what(self) -> str:
        q = QUANTITY_TEXT[self.quantity]
        return f"{q} in {self.state}" if self.state else q

    def message(self, clock=None) -> str:
        """A sentence for a shift supervisor; ``clock`` formats a plant time."""
        if clock is None:
            from datetime import UTC, datetime

            def clock(t):
                return datetime.fromtimestamp(t, UTC).strftime("%H:%M UTC")
        when = clock(self.since)
        # enough decimals that the figures show the drift claimed: a cycle time 0.3% short
        # read "1.0x (95% interval 1.0-1.0x)"
        bounds = [b for b in (self.ratio_low, self.ratio_high) if math.isfinite(b)]
        d = _digits(1, 4, "f", *bounds, 1.0) if bounds else _digits(1, 4, "f", self.ratio,
                                                                    1.0)
        if math.isfinite(self.ratio):
            if self.quantity == "time_to_failure":
                size = (f"fails {1 / self.ratio:.1f}x as often as the model says"
                        if self.ratio < 1 else
                        f"runs {self.ratio:.1f}x as long between failures as the model says")
            else:
                g = _digits(3, 6, "g", self.recent_mean, self.model_mean)
                size = (f"{self.what} {self.ratio:.{d}f}x the model's "
                        f"({self.recent_mean:.{g}g} against {self.model_mean:.{g}g})")
            ci = (f" (95% interval {self.ratio_low:.{d}f}-{self.ratio_high:.{d}f}x)"
                  if math.isfinite(self.ratio_low) else "")
        else:
            size, ci = f"{self.what} {self.direction} than the model says", ""
        n = f"{self.n_since} observation{'s' if self.n_since != 1 else ''}"
        return (f"{self.name}: {size}{ci}, since {when} ({n}); "
                "re-calibrate it from the recent data?")

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _digits(low: int, high: int, kind: str, *values: float) -> int:
    """The fewest digits (``low`` to ``high``) that show ``values`` all different."""
    for k in range(low, high + 1):
        if len({f"{v:.{k}{kind}}" for v in values}) == len(set(values)):
            return k
    return high


def ratio_interval(x: np.ndarray, model_mean: float, exponential: bool,
                   level: float = 0.95) -> tuple[float, float, float]:
    """Mean of ``x`` over ``model_mean`` with an interval: exact (chi-square) for
    exponential data, Student's t otherwise."""
    n = len(x)
    if n < MIN_FOR_RATIO or not model_mean > 0:
        return (float(np.mean(x)) / model_mean if n and model_mean > 0 else math.nan,
                math.nan, math.nan)
    mean = float(np.mean(x))
    alpha = 1.0 - level
    if exponential:
        lo = 2 * n * mean / stats.chi2.ppf(1 - alpha / 2, 2 * n)
        hi = 2 * n * mean / stats.chi2.ppf(alpha / 2, 2 * n)
    else:
        half = stats.t.ppf(1 - alpha / 2, n - 1) * float(np.std(x, ddof=1)) / math.sqrt(n)
        lo, hi = max(mean - half, 0.0), mean + half
    return mean / model_mean, lo / model_mean, hi / model_mean


# --- one test: a quantity of one station ---------------------------------------------------
class _Test:
    """Two one-sided CUSUMs on one quantity, with the raw observations since each began."""

    def __init__(self, element: str, name: str, quantity: str, model, settings: DriftSettings,
                 state: str = "") -> None:
        self.element, self.name, self.quantity, self.state = element, name, quantity, state
        s = settings
        self.batch = 1
        self.model_mean = float(model) if isinstance(model, int | float) else float(model.mean)
        if quantity == "power" or (hasattr(model, "dist") and model.dist == "constant"):
            sd = s.power_sd if quantity == "power" else s.cycle_sd
            r = s.power_ratio if quantity == "power" else s.ratio
            self.sd, self.cdf, self.exponential = sd, None, False
            up, down = shift_design((r - 1.0) / sd), shift_design((1.0 / r - 1.0) / sd)
        else:
            from twin.whatif.fitting import scipy_of

            self.cdf = scipy_of(model).cdf
            self.exponential = model.dist == "exponential"
            r = s.ratio
            if quantity == "cycle_time":
                self.batch, r = max(1, int(s.cycle_batch)), s.cycle_ratio
            up, down = scale_design(r, self.batch), scale_design(1 / r, self.batch)
        self.up, self.down = Cusum(designed(up, s.arl)), Cusum(designed(down, s.arl))
        # the tests' null hypotheses are the edges of the indifference zone, the model
        # scaled by 1 + k (longer) and 1 - k (shorter), not the model itself (Basseville &
        # Nikiforov 1993, 2.4: a composite null); so a drift of at most k alarms no more
        # often than the model itself would under a test without the zone
        k = s.min_change_of(quantity)
        self.scales = (1.0 + k, 1.0 - k)
        self.xs: list[float] = []  # raw observations, kept from the older excursion start on
        self.ts: list[float] = []
        self.pending: list[float] = []  # observations of a batch not yet complete
        self.offset = 0  # index (in observations) of xs[0]

    def standardise(self, x: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """The observations as the test sees them (module docstring), against the model
        scaled by ``scale`` (an edge of the indifference zone)."""
        if self.cdf is None:
            return (x / (scale * self.model_mean) - 1.0) / self.sd
        return -np.log1p(-np.minimum(self.cdf(x / scale), 1.0 - 1e-16))

    def add(self, x: float, t: float) -> Drift | None:
        self.xs.append(x)
        self.ts.append(t)
        self.pending.append(x)  # raw: a batch is standardised at once (SciPy per call)
        if len(self.pending) < self.batch:
            return None
        x = np.asarray(self.pending, float)
        self.pending = []
        out = None
        for cusum, sign, scale in ((self.up, 1, self.scales[0]),
                                   (self.down, -1, self.scales[1])):
            start = cusum.update(float(np.mean(self.standardise(x, scale))))
            if start is not None and out is None:
                out = self._drift(start * self.batch, sign, t)
        self._trim()
        return out

    def _trim(self) -> None:
        """Keep only the observations an excursion may still need (memory stays bounded)."""
        starts = [c.start for c in (self.up, self.down) if c.start is not None]
        keep = min(starts) * self.batch if starts else (self.offset + len(self.xs)
                                                        - len(self.pending))
        cut = keep - self.offset
        if cut > 0:
            del self.xs[:cut], self.ts[:cut]
            self.offset = keep

    def _drift(self, first: int, sign: int, t: float) -> Drift:
        i = max(first - self.offset, 0)
        x = np.asarray(self.xs[i:], float)
        ratio, lo, hi = ratio_interval(x, self.model_mean, self.exponential)
        power = self.quantity == "power"
        direction = ("higher" if sign > 0 else "lower") if power else \
            ("longer" if sign > 0 else "shorter")
        d = Drift(self.element, self.name, self.quantity, direction, self.ts[i], t, ratio, lo,
                  hi, len(x), self.model_mean, float(np.mean(x)) if len(x) else math.nan,
                  self.state)
        # the alarm restarts both tests: the next alarm needs fresh evidence
        self.up.s = self.down.s = 0.0
        self.up.start = self.down.start = None
        return d


# --- the monitor: readings in, drifts out --------------------------------------------------
@dataclass
class _Server:
    """What the monitor keeps per recorded asset (a station's server)."""

    element: str
    state: str = ""
    since: float | None = None  # plant time the state began (None: not seen begin)
    busy: float = 0.0  # busy seconds since the last part event
    busy_from: float = 0.0  # busy time counted up to here
    busy_known: bool = False  # a part event seen: ``busy`` is one whole cycle
    clock: float = 0.0  # failure clock since the last repair ended
    repaired: bool = False  # a repair end seen: ``clock`` is a whole time to failure
    power: float | None = None  # the latest power reading, kW
    power_t: float = 0.0
    energy: float = 0.0  # kW*s since the state began
    energy_known: bool = False
    parts: float = 0.0


@dataclass
class DriftMonitor:
    """Per station and quantity, the sequential tests of the module docstring.

    Parameters
    ----------
    project : twin.model.elements.Project
    assets : dict of str to str
        Recorded asset id -> station id (``<station>#<k>`` for a server: the servers of a
        station feed one test); default every station's id and ``id#k``.
    settings : DriftSettings
    elements : iterable of str, optional
        Only test these stations.
    """

    project: m.Project
    assets: dict[str, str] | None = None
    settings: DriftSettings = field(default_factory=DriftSettings)
    elements: Iterable[str] | None = None

    def __post_init__(self) -> None:
        stations = {s.id: s for s in self.project.stations()}
        if self.elements is not None:
            stations = {k: v for k, v in stations.items() if k in set(self.elements)}
        if self.assets is None:
            self.assets = {}
            for s in stations.values():
                self.assets[s.id] = s.id
                for k in range(s.servers):
                    self.assets[f"{s.id}#{k}"] = s.id
        self._servers = {a: _Server(e) for a, e in self.assets.items() if e in stations}
        self._tests: dict[tuple[str, str, str], _Test] = {}
        q = set(self.settings.quantities)
        for s in stations.values():
            name = s.name or s.id
            f = s.failures
            if f is not None and "time_to_repair" in q:
                self._tests[(s.id, "time_to_repair", "")] = _Test(
                    s.id, name, "time_to_repair", f.time_to_repair, self.settings)
            if f is not None and "time_to_failure" in q:
                self._tests[(s.id, "time_to_failure", "")] = _Test(
                    s.id, name, "time_to_failure", f.time_to_failure, self.settings)
            pt = s.process_time
            if isinstance(pt, dict) and len(pt) == 1:
                pt = next(iter(pt.values()))
            if pt is not None and not isinstance(pt, dict) and pt.mean > 0 \
                    and "cycle_time" in q:
                self._tests[(s.id, "cycle_time", "")] = _Test(
                    s.id, name, "cycle_time", pt, self.settings)
            if "power" in q:
                for state, kw in (s.power_kw or {}).items():
                    if kw > 0:
                        self._tests[(s.id, "power", state)] = _Test(
                            s.id, name, "power", kw, self.settings, state)
        self._basis = {s.id: (s.failures.basis if s.failures else "operating")
                       for s in stations.values()}
        self.drifts: list[Drift] = []

    @property
    def tests(self) -> list[tuple[str, str, str]]:
        """``(station, quantity, state)`` of every test running."""
        return list(self._tests)

    def observe(self, element: str, quantity: str, x: float, t: float,
                state: str = "") -> Drift | None:
        """Feed one observation directly (what :meth:`readings` does for each it derives)."""
        test = self._tests.get((element, quantity, state))
        if test is None or not math.isfinite(x):
            return None
        d = test.add(x, t)
        if d is not None:
            self.drifts.append(d)
        return d

    def gap(self) -> None:
        """The data were cut (the link went down): forget every observation begun before,
        so that none spans the gap (a machine's time to failure over hours without data)."""
        for srv in self._servers.values():
            srv.state, srv.since, srv.busy_known, srv.repaired = "", None, False, False
            srv.busy = srv.clock = srv.parts = srv.energy = 0.0
            srv.power, srv.energy_known = None, False
        for test in self._tests.values():
            test.pending = []

    def readings(self, batch) -> list[Drift]:
        """Take a batch of :class:`twin.live.feed.Reading` and return the drifts found."""
        out = []
        for r in sorted(batch, key=lambda r: r.t):
            srv = self._servers.get(r.asset)
            if srv is None:
                continue
            for d in self._reading(srv, r):
                if d is not None:
                    out.append(d)
        return out

    def _reading(self, srv: _Server, r):
        t = float(r.t)
        if r.channel == "power_kw":
            self._energy_to(srv, t)
            try:
                srv.power = float(r.value)
            except (TypeError, ValueError):
                srv.power = None
            srv.power_t = t
            return
        if r.channel in ("parts", "scrap"):  # a part left: a cycle ended
            try:
                n = float(r.value)
            except (TypeError, ValueError):
                return
            if not (math.isfinite(n) and n > 0):
                return
            if srv.state == "busy" and srv.since is not None:
                srv.busy += t - srv.busy_from
                srv.busy_from = t
            srv.parts += n
            if srv.busy_known:  # the busy time since the last part, per part of this event
                yield self.observe(srv.element, "cycle_time", srv.busy / n, t)
            srv.busy, srv.busy_known = 0.0, srv.since is not None
            return
        if r.channel != "state" or not isinstance(r.value, str):
            return
        new = r.value.lower()
        old, since = srv.state, srv.since
        if new == old:
            return
        if since is not None:
            span = t - since
            if old == "busy":
                srv.busy += t - srv.busy_from
                if self._basis[srv.element] == "operating":
                    srv.clock += span
            if self._basis[srv.element] == "calendar" and old != "down":
                srv.clock += span
            self._energy_to(srv, t)
            if srv.energy_known and span >= self.settings.min_power_s and old:
                yield self.observe(srv.element, "power", srv.energy / span, t, old)
            if old == "down":
                yield self.observe(srv.element, "time_to_repair", span, t)
        if new == "down" and old != "down":
            if srv.repaired:
                x = srv.parts if self._basis[srv.element] == "operations" else srv.clock
                yield self.observe(srv.element, "time_to_failure", x, t)
            srv.repaired = False
        elif old == "down" and since is not None:
            srv.repaired, srv.clock, srv.parts = True, 0.0, 0.0
        srv.state, srv.since, srv.busy_from = new, t, t
        srv.energy, srv.energy_known = 0.0, srv.power is not None
        srv.power_t = t if srv.power is not None else srv.power_t

    @staticmethod
    def _energy_to(srv: _Server, t: float) -> None:
        if srv.power is not None and t > srv.power_t:
            srv.energy += srv.power * (t - srv.power_t)
            srv.power_t = t


def recalibration_scenario(project: m.Project, recording, drift: Drift,
                           name: str | None = None) -> m.Scenario:
    """A scenario that re-calibrates ``drift``'s station from the recording since the change.

    Uses :func:`twin.whatif.calibration.calibrate` on ``[drift.since, end]`` of the recording
    and keeps that station's overrides only (not applied; add it to ``project.scenarios``).

    Parameters
    ----------
    recording : twin.recording.Recording
        The recording of the plant (the live recording, read while it grows).

    Raises
    ------
    twin.whatif.calibration.CalibrationError
        When the recent data hold too little of the station to fit anything.
    """
    from twin.recording import extent, replay_recording
    from twin.whatif.calibration import CalibrationError, calibrate, calibration_scenario

    epoch = recording.epoch_utc.timestamp()
    end = extent(replay_recording(recording))[1]
    t0 = min(max(drift.since - epoch, 0.0), end)
    mine = {}  # the station's own assets only: the others are not re-calibrated
    for aid in recording.asset_ids:
        a = recording.asset(aid)
        if (a.element or aid.split("#")[0]) == drift.element:
            mine[aid] = drift.element if a.server is None else (drift.element, a.server)
    if not mine:
        raise CalibrationError(f"the recording holds no asset of station {drift.element!r}; "
                               "re-calibrate it from a recording of the plant")
    report = calibrate(project, recording, assets=mine, window=(t0, end))
    report.stations = [s for s in report.stations if s.element == drift.element]
    if not report.stations:
        raise CalibrationError(f"the recording holds no data of station {drift.element!r} "
                               "since the drift began; re-calibrate later")
    sc = calibration_scenario(report, name or f"recalibrated {drift.element}", project)
    if not sc.overrides:
        raise CalibrationError(f"too few observations of station {drift.element!r} since the "
                               "drift began to fit a distribution; re-calibrate later")
    return m.Scenario(sc.name, sc.overrides,
                      f"{drift.name}: {drift.what} drifted since {drift.since:.0f}; "
                      f"re-calibrated from the recording since then")
