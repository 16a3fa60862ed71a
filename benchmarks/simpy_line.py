"""The standard line of ``projects/standard-line`` in idiomatic SimPy: the benchmark's peer.

Ten stations in series, each a SimPy process; ``simpy.Store`` buffers of capacity 5 between
them; unlimited raw material before the first station and unlimited space after the last.
A station takes a part from its input store, processes it (exponential time) and then
offers it with ``yield store.put(part)``, holding it while the store is full (blocking after
service). Failures run on operating time: each station has a failure process whose clock
runs only while the station processes; when it runs out, the failure process interrupts the
station (``Process.interrupt``), which keeps the work left, waits for the repair and resumes
(preempt-resume). The station interrupts the failure process in turn when it stops
processing, so that the failure clock stops with it.

Model events, counted after the warm-up as ``kernels.types.L_EVENTS`` counts them in the
twin kernel: end of processing, failure, end of repair.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import simpy

PROCESS_MEANS = (1.0, 1.0, 1.0, 1.0, 1.1, 1.0, 1.0, 1.0, 1.0, 1.0)
BUFFER_CAPACITY = 5
TTF_MEAN = 100.0
TTR_MEAN = 5.0


@dataclass
class LineStats:
    """What one replication observed after the warm-up."""

    warmup: float
    good: int = 0
    events: int = 0
    failures: list[int] = field(default_factory=list)

    def event(self, now: float) -> None:
        if now >= self.warmup:
            self.events += 1


class Station:
    """One machine: a working process and a failure process (operating-time basis)."""

    def __init__(self, env: simpy.Environment, index: int, mean: float,
                 inbox: simpy.Store | None, outbox: simpy.Store | None, stats: LineStats,
                 seed: str):
        self.env, self.index, self.mean = env, index, mean
        self.inbox, self.outbox, self.stats = inbox, outbox, stats
        self.rng_process = random.Random(f"{seed}/process")
        self.rng_failure = random.Random(f"{seed}/failure")
        self.rng_repair = random.Random(f"{seed}/repair")
        self.processing = False  # the failure clock runs only while this is True
        self.clock_timing = False  # the failure process is counting down
        self.clock_started: simpy.Event | None = None
        self.repaired: simpy.Event | None = None
        self.worker = env.process(self.work())
        self.breaker = env.process(self.break_down())

    def work(self):
        env = self.env
        while True:
            part = env.now if self.inbox is None else (yield self.inbox.get())
            left = self.rng_process.expovariate(1.0 / self.mean)
            while left > 0.0:
                self._start_clock()
                start = env.now
                try:
                    yield env.timeout(left)
                    left = 0.0
                except simpy.Interrupt:
                    left -= env.now - start
                    yield self.repaired
            self._stop_clock()
            self.stats.event(env.now)  # end of processing
            if self.outbox is None:
                if env.now >= self.stats.warmup:
                    self.stats.good += 1
            else:
                yield self.outbox.put(part)  # blocked until the next buffer has room

    def _start_clock(self) -> None:
        self.processing = True
        if self.clock_started is not None and not self.clock_started.triggered:
            self.clock_started.succeed()

    def _stop_clock(self) -> None:
        self.processing = False
        if self.clock_timing:
            self.breaker.interrupt()

    def break_down(self):
        env = self.env
        while True:
            ttf = self.rng_failure.expovariate(1.0 / TTF_MEAN)
            while True:
                if not self.processing:
                    self.clock_started = env.event()
                    yield self.clock_started
                start = env.now
                self.clock_timing = True
                try:
                    yield env.timeout(ttf)
                    break
                except simpy.Interrupt:  # processing stopped: the clock stops too
                    ttf -= env.now - start
                finally:
                    self.clock_timing = False
            self.repaired = env.event()
            self.processing = False
            self.worker.interrupt()
            self.stats.event(env.now)  # failure
            if env.now >= self.stats.warmup:
                self.stats.failures[self.index] += 1
            yield env.timeout(self.rng_repair.expovariate(1.0 / TTR_MEAN))
            self.stats.event(env.now)  # end of repair
            self.repaired.succeed()


def run_line(horizon: float, warmup: float, seed: int, replication: int) -> LineStats:
    """Simulate one replication of the standard line up to ``horizon`` time units."""
    env = simpy.Environment()
    stats = LineStats(warmup, failures=[0] * len(PROCESS_MEANS))
    stores = [simpy.Store(env, capacity=BUFFER_CAPACITY) for _ in PROCESS_MEANS[:-1]]
    for i, mean in enumerate(PROCESS_MEANS):
        inbox = stores[i - 1] if i > 0 else None
        outbox = stores[i] if i < len(stores) else None
        Station(env, i, mean, inbox, outbox, stats, f"{seed}/{replication}/s{i + 1}")
    env.run(until=horizon)
    return stats
