"""Exact throughput of short serial lines under blocking after service (a CTMC, solved).

The line: an unlimited supply of raw material in front of machine 0, machines ``0..n-1``
with exponential processing (rate ``1 / mean``), finite buffers between them (capacity
counts waiting parts; 0 means the machines are connected straight), and a sink that takes
every part. Optional operation-dependent failures: a machine fails only while it
processes (exponential time to failure counted in processing time), is repaired after an
exponential time, and then resumes the part it holds (preempt-resume; with exponential
processing the remaining work is again exponential, so resume and restart coincide).
A machine that has finished a part keeps it until there is room downstream (blocking after
service).

State of the chain: the status of every machine (starved, working, down, blocked) and the
level of every buffer. The chain is built by breadth-first search from the empty line,
its generator ``Q`` assembled as a sparse matrix and ``pi Q = 0, sum(pi) = 1`` solved
directly. Nothing here is shared with the kernel.

For two machines with buffer ``C`` the line is the M/M/1/K queue with ``K = C + 2``
(the blocked part of machine 0 counts as the K-th place), which the oracle's own test
checks, together with the values published for the exponential two-machine line with
failures (Gershwin, "Manufacturing Systems Engineering", 1994, ch. 3).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

STARVED, WORKING, DOWN, BLOCKED = "S", "W", "D", "B"


@dataclass(frozen=True)
class Machine:
    """Mean processing time; ``mttf``/``mttr`` of operation-dependent failures (None: none)."""

    mean: float
    mttf: float | None = None
    mttr: float | None = None


@dataclass(frozen=True)
class LineSolution:
    """Steady state of a line.

    ``throughput`` is parts per time unit; ``state_prob[i][s]`` the probability that machine
    ``i`` is starved, working (busy), down or blocked; ``buffer_mean[j]`` the mean number of
    parts waiting in buffer ``j``; ``states`` the number of states of the chain.
    """

    throughput: float
    state_prob: tuple[dict[str, float], ...]
    buffer_mean: tuple[float, ...]
    states: int


def _settle(status: list[str], level: list[int], caps: tuple[int, ...]) -> None:
    """Move parts downstream until nothing can move (instantaneous transfers).

    Machine 0 never starves (unlimited raw material); a finished part of the last machine
    leaves at once (the sink takes everything).
    """
    n = len(status)
    moved = True
    while moved:
        moved = False
        for i in range(n):
            if status[i] == BLOCKED and i == n - 1:
                status[i] = STARVED
                moved = True
            if status[i] == STARVED:
                if i == 0:
                    status[i] = WORKING
                    moved = True
                elif level[i - 1] > 0:
                    level[i - 1] -= 1
                    status[i] = WORKING
                    moved = True
                elif status[i - 1] == BLOCKED:
                    status[i - 1] = STARVED
                    status[i] = WORKING
                    moved = True
            if i < n - 1 and status[i] == BLOCKED and level[i] < caps[i]:
                level[i] += 1
                status[i] = STARVED
                moved = True


def _transitions(state, machines, caps):
    """Yield ``(rate, next_state)`` for every event possible in ``state``."""
    status, level = list(state[0]), list(state[1])
    for i, mc in enumerate(machines):
        if status[i] == WORKING:
            st, lv = status.copy(), level.copy()
            st[i] = BLOCKED
            _settle(st, lv, caps)
            yield 1.0 / mc.mean, (tuple(st), tuple(lv))
            if mc.mttf is not None:
                st = status.copy()
                st[i] = DOWN
                yield 1.0 / mc.mttf, (tuple(st), tuple(level))
        elif status[i] == DOWN:
            st = status.copy()
            st[i] = WORKING
            yield 1.0 / mc.mttr, (tuple(st), tuple(level))


def stationary(start, transitions) -> tuple[list, np.ndarray]:
    """The states reachable from ``start`` (breadth-first) and their stationary probabilities.

    ``transitions(state)`` yields ``(rate, next_state)`` pairs; the generator ``Q`` is built as
    a sparse matrix and ``pi Q = 0, sum(pi) = 1`` solved directly (one balance equation is
    replaced by the normalisation). Returns the states in discovery order and ``pi``.
    """
    index = {start: 0}
    order = [start]
    rows, cols, vals = [], [], []
    todo = deque([start])
    while todo:
        s = todo.popleft()
        a = index[s]
        for rate, nxt in transitions(s):
            if nxt not in index:
                index[nxt] = len(order)
                order.append(nxt)
                todo.append(nxt)
            b = index[nxt]
            if a != b:
                rows += [a, a]
                cols += [b, a]
                vals += [rate, -rate]
    n = len(order)
    q = sp.csr_matrix((vals, (rows, cols)), shape=(n, n))
    a = q.T.tolil()
    a[0, :] = np.ones(n)
    rhs = np.zeros(n)
    rhs[0] = 1.0
    pi = spla.spsolve(a.tocsc(), rhs)
    if not np.all(pi > -1e-12) or abs(pi.sum() - 1.0) > 1e-9:
        raise ArithmeticError("the balance equations gave no probability vector")
    return order, pi


def solve_line(machines: list[Machine], buffers: list[int]) -> LineSolution:
    """Exact steady state of the line; ``buffers[j]`` sits between machines j and j+1."""
    if len(buffers) != len(machines) - 1:
        raise ValueError("a line of n machines has n - 1 buffers (0: connected straight)")
    caps = tuple(int(c) for c in buffers)
    status0 = [STARVED] * len(machines)
    level0 = [0] * len(caps)
    _settle(status0, level0, caps)
    order, pi = stationary((tuple(status0), tuple(level0)),
                           lambda st: _transitions(st, machines, caps))
    n = len(order)
    last = len(machines) - 1
    tp = sum(p / machines[last].mean for p, (st, _) in zip(pi, order, strict=True)
             if st[last] == WORKING)
    probs = tuple(
        {k: float(sum(p for p, (st, _) in zip(pi, order, strict=True) if st[i] == k))
         for k in (STARVED, WORKING, DOWN, BLOCKED)}
        for i in range(len(machines)))
    bmean = tuple(float(sum(p * lv[j] for p, (_, lv) in zip(pi, order, strict=True)))
                  for j in range(len(caps)))
    return LineSolution(float(tp), probs, bmean, n)


def two_machine_throughput(mean1: float, mean2: float, capacity: int,
                           mttf: float | None = None, mttr: float | None = None) -> float:
    """Throughput of the two-machine line (the same failures on both machines, if any)."""
    return solve_line([Machine(mean1, mttf, mttr), Machine(mean2, mttf, mttr)],
                      [capacity]).throughput


def mm1k(lam: float, mu: float, k: int) -> tuple[np.ndarray, float, float]:
    """M/M/1/K: probabilities of 0..K in the system, throughput, mean number in system."""
    rho = lam / mu
    p = rho ** np.arange(k + 1, dtype=float)
    p /= p.sum()
    return p, lam * (1.0 - p[-1]), float(np.arange(k + 1) @ p)


# Published two-machine line throughputs the oracle must reproduce and the kernel must match:
# (mean1, mean2, buffer capacity, mttf, mttr, throughput); Gershwin (1994) ch. 3, 6 digits.
PUBLISHED = [
    (1.0, 1.0, 5, None, None, 0.875),
    (1.0, 1.1, 5, None, None, 0.829596),
    (1.0, 1.0, 0, 100.0, 5.0, 0.626699),
    (1.0, 1.0, 5, 100.0, 5.0, 0.815225),
    (1.0, 1.1, 5, 100.0, 5.0, 0.773626),
    (1.0, 1.0, 20, 100.0, 5.0, 0.897973),
]


# --- assembly of two Poisson streams (issue 18) ----------------------------------------------
@dataclass(frozen=True)
class AssemblySolution:
    """Steady state of an assembly fed by two Poisson streams that lose what finds the
    input's place full: ``busy`` is P(server busy), ``starved_short[i]`` P(server starved
    and input i short of a set), ``mean_place[i]`` E[parts waiting at input i], ``lost[i]``
    the rate of parts lost at input i, ``wip`` E[parts in places and server]."""

    throughput: float
    busy: float
    starved_short: tuple[float, float]
    mean_place: tuple[float, float]
    lost: tuple[float, float]
    wip: float
    states: int


def solve_assembly(lam: tuple[float, float], mu: float, k: tuple[int, int],
                   caps: tuple[int, int]) -> AssemblySolution:
    """Exact steady state of a single-server assembly (fork-join station) needing ``k[i]``
    parts of stream ``i`` (rate ``lam[i]``, places of ``caps[i]`` parts), exponential
    service of rate ``mu``. State: parts waiting at each input and whether the server is
    busy; an idle server starts at once when both inputs hold a set (a vanishing state)."""

    def settle(n0, n1, busy):
        if not busy and n0 >= k[0] and n1 >= k[1]:
            return n0 - k[0], n1 - k[1], 1
        return n0, n1, busy

    def moves(s):
        n0, n1, busy = s
        if n0 < caps[0]:
            yield lam[0], settle(n0 + 1, n1, busy)
        if n1 < caps[1]:
            yield lam[1], settle(n0, n1 + 1, busy)
        if busy:
            yield mu, settle(n0, n1, 0)

    order, pi = stationary((0, 0, 0), moves)
    n = len(order)
    st = np.array(order)
    busy = float(pi @ st[:, 2])
    short = tuple(float(pi[(st[:, 2] == 0) & (st[:, i] < k[i])].sum()) for i in (0, 1))
    mean = tuple(float(pi @ st[:, i]) for i in (0, 1))
    lost = tuple(float(lam[i] * pi[st[:, i] == caps[i]].sum()) for i in (0, 1))
    wip = float(pi @ st.sum(axis=1))
    return AssemblySolution(mu * busy, busy, short, mean, lost, wip, n)


# --- batch service: the bulk queue M/M^[a,B]/1 (issue 18) -----------------------------------
@dataclass(frozen=True)
class BulkSolution:
    """Steady state of the bulk-service queue: ``in_system`` E[parts waiting or in the load
    in service], ``waiting`` E[parts waiting], ``busy`` P(a load in service), ``throughput``
    parts per time unit, ``sojourn`` the mean time in system (Little), ``load_sizes[j - 1]``
    the fraction of loads of j parts, ``tail`` the probability of the truncation level."""

    in_system: float
    waiting: float
    busy: float
    throughput: float
    sojourn: float
    load_sizes: tuple[float, ...]
    tail: float
    states: int


def solve_bulk_service(lam: float, mu: float, size: int, min_fill: int = 1,
                       levels: int = 400) -> BulkSolution:
    """Exact steady state of Poisson arrivals (rate ``lam``) into an unlimited queue before a
    server that serves loads: whenever it is free and at least ``min_fill`` parts wait, it
    starts a load of ``min(waiting, size)`` parts at once (Neuts' general bulk service rule
    (a, B); "A general class of bulk queues with Poisson input", Ann. Math. Stat. 38, 1967),
    whose service takes an exponential time of rate ``mu`` whatever its size.

    State: (parts waiting, parts of the load in service; 0: the server is free). The queue is
    cut at ``levels`` waiting parts (an arrival there is refused); the result is exact when
    ``tail``, the probability of that level, is negligible (the caller checks it)."""

    def settle(q, j):
        if j == 0 and q >= min_fill:
            return q - min(q, size), min(q, size)
        return q, j

    def moves(s):
        """``(rate, next state, size of the load it starts or 0)``."""
        q, j = s
        if q < levels:
            q2, j2 = settle(q + 1, j)
            yield lam, (q2, j2), j2 if j == 0 else 0
        if j:
            q2, j2 = settle(q, 0)
            yield mu, (q2, j2), j2

    order, pi = stationary((0, 0), lambda s: ((r, n) for r, n, _ in moves(s)))
    st = np.array(order)
    starts = np.zeros(size + 1)  # rate at which loads of each size start
    for p, s in zip(pi, order, strict=True):
        for rate, _, started in moves(s):
            starts[started] += p * rate
    starts[0] = 0.0
    waiting = float(pi @ st[:, 0])
    in_system = waiting + float(pi @ st[:, 1])
    tail = float(pi[st[:, 0] == levels].sum())
    tp = lam * (1.0 - tail)
    return BulkSolution(in_system, waiting, float(pi[st[:, 1] > 0].sum()), tp,
                        in_system / tp, tuple(starts[1:] / starts.sum()), tail, len(order))
