"""The kernel state a fork from a recording starts from (``twin.whatif.fork``).

:class:`StartPlan` places the recorded situation at the fork time ``t`` (each station
server's state and part, the work in process) in a kernel state once; every replication
copies that state and draws its own values of what is under way at ``t`` from its own random
stream: the work left on a part in process, the repair left, the time to the next failure,
each conditioned on the time already elapsed (``X - a | X > a``). Workers (issue 18): the
technician of a repair under way and the operator of a manual processing under way stay
with it (:func:`_place_workers`); the others are free at their pools' homes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from kernels import fork as kf
from kernels import types as kt
from kernels import workers as kw
from kernels.warmup import compiled_kernels
from twin.errors import InputError
from twin.model import elements as m
from twin.sim.lowering import Lowered, grow, new_state, stream_seeds
from twin.whatif.fitting import scipy_of

if TYPE_CHECKING:
    from twin.whatif.fork import ServerStart


class ForkError(InputError):
    """A fork that cannot be built (message names the field, the value and the fix)."""


_FROZEN: dict[int, tuple] = {}


def _frozen(d):
    """``scipy_of(d)``, made once per distribution object: freezing a SciPy distribution
    costs about 2 ms (it builds its docstring), which 200 replications x a few stations of
    every rolling forecast would pay again and again. Frozen distributions are only read;
    the cache keeps ``d`` itself, so that its ``id`` is not reused while cached."""
    hit = _FROZEN.get(id(d))
    if hit is None or hit[0] is not d:
        if len(_FROZEN) > 1024:  # a long session of edits and calibrations: start afresh
            _FROZEN.clear()
        hit = _FROZEN[id(d)] = (d, scipy_of(d), {})
    return hit[1], hit[2]


def _survival(d, a: float) -> float:
    """``P(X > a)``, once per distribution and elapsed time: every replication of a fork
    conditions the same server on the same elapsed time."""
    f, sf = _frozen(d)
    s = sf.get(a)
    if s is None:
        if len(sf) > 4096:
            sf.clear()
        s = sf[a] = float(f.sf(a)) if a > 0 else 1.0
    return s


def _conditional(d, a: float, raw: np.ndarray) -> np.ndarray:
    """``X - a`` given ``X > a`` for a project distribution ``d``, from each replication's
    own random number (:func:`_raw`): one SciPy call for all replications of a fork, not
    one each (600 calls were a sixth of a forecast of a small line)."""
    if d.dist == "exponential":
        return raw  # memoryless: the draw itself
    if d.dist == "constant":
        return np.full(raw.shape, max(d.params["value"] - a, 0.0))
    f, _ = _frozen(d)
    s = _survival(d, a)
    if not s > 1e-12:
        return np.zeros(raw.shape)  # already beyond any plausible value: it ends now
    return np.maximum(np.asarray(f.isf(s * (1.0 - raw)), float) - a, 0.0)


@dataclass(frozen=True)
class _Draw:
    """A random quantity of the state at ``t``: ``dist`` conditioned on ``elapsed``."""

    dist: object
    elapsed: float
    mean: float  # of an exponential, read once (a Distribution computes it on each ask)

    @classmethod
    def of(cls, d, elapsed: float) -> _Draw:
        return cls(d, float(elapsed), float(d.mean) if d.dist == "exponential" else 0.0)

    def raw(self, rng: np.random.Generator) -> float:
        """The replication's own random number: the exponential draw, else a uniform (a
        constant takes none)."""
        if self.dist.dist == "exponential":
            return float(rng.exponential(self.mean))
        if self.dist.dist == "constant":
            return 0.0
        return float(rng.random())


class StartPlan:
    """The recorded situation at ``t`` (module docstring), as each replication starts it.

    What all replications share is made once: the kernel state at ``t`` before ``start``,
    with the recorded work in process and every recorded server placed. A replication
    copies it, takes its own random streams and its own draws of what is under way (work
    left on a part in process, repair left, time to the next failure, :meth:`draws`), and
    starts. Building the state afresh for each replication cost 1-4 ms of Python and
    kernel calls, more than a small line's whole replication.
    """

    def __init__(self, low: Lowered, project: m.Project, starts: list[ServerStart], t: float,
                 recorded_repair_end: bool = True, log_rows: int = 0,
                 wip: dict[str, int] | None = None):
        a = low.arrays
        s = new_state(low, 0, 0, log_rows=log_rows)  # streams: each replication's own
        wip = wip or {}
        loads = [_load_size(project.element(ss.element)) for ss in starts]
        need = sum(wip.values()) + sum(loads) + int(a.params[kt.P_RESERVE_PARTS])
        while s.si[kt.S_NFREE] < need:
            s = grow(s, kt.K_NEED_PARTS)
        # one queued event per part on a conveyor, on top of what start() schedules
        belt = sum(n for el, n in wip.items()
                   if a.el_i[low.element_ids.index(el), kt.I_KIND] == kt.CONVEYOR)
        while s.heap_t.shape[0] < belt + 4 * (low.n_servers + a.el_i.shape[0]) + 64:
            s = grow(s, kt.K_NEED_HEAP)
        kf.fork_clock(a, s, float(t))
        for el, n in wip.items():
            kf.fork_fill(a, s, low.element_ids.index(el), int(n), 0)
        self.under_way: list[_Draw] = []
        self.process: list[tuple[int, float]] = []  # (server, work done on its part)
        plan = {}
        for ss, load in zip(starts, loads, strict=True):
            e = low.element_ids.index(ss.element)
            srv = int(a.el_i[e, kt.I_SERVER0]) + ss.server
            st = project.element(ss.element)
            # an assembly holds what it assembles (issue 18); other stations the first product
            prod = max(int(a.el_i[e, kt.I_OUT_PROD]), 0) if a.el_i[e, kt.I_BOM_N] else 0
            phase, done_t = kt.P_EMPTY, 0.0
            if ss.holds == "process":
                phase = kt.P_PROCESS
                self.process.append((srv, float(ss.elapsed_work)))
                self.under_way.append(_Draw.of(st.process_time_for(low.products[prod]),
                                            ss.elapsed_work))
            elif ss.holds != "none":
                phase, done_t = kt.P_DONE, float(ss.since)
            # the work left and the part's whole work are each replication's draw: written
            # where fork_server puts them (SF_REM, SF_WORK) by state_of
            kf.fork_server(a, s, srv, phase, prod, 0.0, 0.0, done_t, int(ss.state == kt.DOWN))
            if phase != kt.P_EMPTY and load > 1:
                kf.fork_load(a, s, srv, load)
            plan[srv] = (ss, st)
        self.idle_tasks = _place_workers(a, s, plan)
        self.after: list[tuple[int, bool, float | None]] = []  # (server, down, fixed time)
        self.waits: list[int] = []  # failed servers waiting for a technician
        for srv, (ss, st) in plan.items():
            basis = a.el_i[s.srv_i[srv, kt.SI_EL], kt.I_FAIL_BASIS]
            if s.srv_i[srv, kt.SI_DOWN] == 2:
                self.waits.append(srv)
            elif s.srv_i[srv, kt.SI_DOWN]:
                if ss.repair_end is not None and recorded_repair_end:
                    self.after.append((srv, True, ss.repair_end - t))
                    continue
                if st.failures is None:
                    raise ForkError(
                        f"asset {ss.asset!r} shows station {ss.element!r} down at t={t:g} s and "
                        "the recording does not say when the repair ended, but the station "
                        "has no failures (no time to repair) in the project: add failures to "
                        "it, or fork at another time")
                self.under_way.append(_Draw.of(st.failures.time_to_repair, ss.down_elapsed))
                self.after.append((srv, True, None))
            elif basis != kt.FB_NONE:
                self.under_way.append(_Draw.of(st.failures.time_to_failure, ss.exposure))
                self.after.append((srv, False, None))
            else:
                self.after.append((srv, False, 0.0))
        self.low, self.state = low, s

    def draws(self, seed: int, replications, rng: np.random.Generator | None = None
              ) -> np.ndarray:
        """``(len(replications), n)``: each replication's draws, from its own stream
        (``rng``, else ``default_rng([seed, r, 0x5EED])``), in the order of :attr:`under_way`."""
        raw = np.empty((len(replications), len(self.under_way)))
        for i, r in enumerate(replications):
            g = rng if rng is not None else np.random.default_rng([seed, r, 0x5EED])
            raw[i] = [d.raw(g) for d in self.under_way]
        for j, d in enumerate(self.under_way):
            raw[:, j] = _conditional(d.dist, d.elapsed, raw[:, j])
        return raw

    def state_of(self, streams: np.ndarray, drawn: np.ndarray) -> kt.KernelState:
        """One replication's state at ``t``, started: the shared state copied, with the
        replication's random ``streams`` (``stream_seeds``) and ``drawn`` (a row of
        :meth:`draws`)."""
        start, _ = compiled_kernels(self.low.arrays)
        a = self.low.arrays
        s = kt.KernelState(*(x.copy() for x in self.state))
        s.rng[:] = streams
        j = 0
        for srv, elapsed in self.process:
            s.srv_f[srv, kt.SF_REM] = drawn[j]
            s.srv_f[srv, kt.SF_WORK] = drawn[j] + elapsed
            j += 1
        start(a, s)
        for srv in self.waits:
            kw.fork_repair_waits(a, s, srv)
        for srv, down, fixed in self.after:
            if fixed is None:
                left, j = float(drawn[j]), j + 1
            else:
                left = float(fixed)
            if down:
                kf.fork_repair(a, s, srv, left)
            else:
                kf.fork_resume(a, s, srv, left)
        return s


def _load_size(st) -> int:
    """The parts a server of station ``st`` holds when the recording shows it working or
    holding its work: a batch station's full load (a recording does not say how many parts
    a load had: docs/semantics.md, "Batching"), the parts a disassembly makes of one, else 1."""
    if isinstance(st, m.Station) and st.batch is not None:
        return st.batch.size
    if isinstance(st, m.Station) and st.disassembly is not None:
        return st.disassembly.total
    return 1


def _place_workers(a: kt.ModelArrays, s: kt.KernelState, plan: dict) -> list[tuple[int, str]]:
    """The workers at the fork (issue 18): a failed server whose repair needs a technician
    keeps one (first, in the order of ``plan``), then a server processing a part on a manual
    station keeps its operator (``kernels.workers.fork_task``); every other worker is free
    at its pool's home. Returns the ``(server, task)`` pairs that found no free worker: a
    repair then waits for one, a processing goes on without one."""
    if a.params[kt.P_POOLS] == 0:
        return []
    missing = []
    for srv in plan:  # repairs first: a failed station stops, a manual one only slows
        e = s.srv_i[srv, kt.SI_EL]
        if (s.srv_i[srv, kt.SI_DOWN] and a.el_i[e, kt.I_CREW_REPAIR]
                and not kw.fork_task(a, s, srv, kt.W_REPAIR)):
            missing.append((srv, "repair"))
    for srv in plan:
        e = s.srv_i[srv, kt.SI_EL]
        if (s.srv_i[srv, kt.SI_PHASE] == kt.P_PROCESS and a.el_i[e, kt.I_CREW_PROCESS]
                and not kw.fork_task(a, s, srv, kt.W_OP)):
            missing.append((srv, "process"))
    return missing


def build_state(low: Lowered, project: m.Project, starts: list[ServerStart], t: float,
                seed: int, replication: int, rng: np.random.Generator,
                recorded_repair_end: bool = True, log_rows: int = 0,
                wip: dict[str, int] | None = None):
    """A kernel state at time ``t`` holding the recorded situation (module docstring).

    ``wip`` gives the parts to place in buffers, conveyors and source queues (element id ->
    count); every station server in ``starts`` is put in its recorded state; what is under
    way is drawn from ``rng``.
    """
    plan = StartPlan(low, project, starts, t, recorded_repair_end, log_rows, wip)
    return plan.state_of(stream_seeds(low.element_ids, seed, replication),
                         plan.draws(seed, [replication], rng)[0])
