r"""Batch service against its exact values (issue 18 §2, "How we will know it works").

The model: Poisson arrivals (rate :math:`\lambda`) into an unlimited buffer before a batch
station of ``size`` B with ``timeout`` 0 and ``min_fill`` a: whenever its server is free
and at least a parts wait (in the buffer and the station's place), it starts a load of
``min(waiting, B)`` parts at once (docs/semantics.md, "Batching"); the load's process
time is exponential of rate :math:`\mu` whatever its size, and its parts then leave to the
sink. That is Neuts' bulk queue M/M^[a,B]/1, a Markov chain on (parts waiting, parts in
service), solved exactly in ``oracles.markov.solve_bulk_service`` (cut where the
remaining probability is below 1e-12).

The simulated means over independent replications must hold the exact mean number in
system, throughput, mean time in system, busy fraction and the fraction of loads of each
size within their confidence intervals (95% for the whole test, shared out by
Bonferroni; a fixed seed, so the test is deterministic). A load's size is read from the
state log: its parts reach an unlimited buffer before the sink all at the instant the load
ends (one instant per load: process times are continuous), so the number of times that
buffer's content becomes 1 at one instant is the load's size.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from oracles.intervals import check_all
from oracles.lines import exp, station
from oracles.markov import solve_bulk_service

from kernels import types as kt

LAM, MU, SIZE = 1 / 10.0, 1 / 25.0, 4
WARMUP, HORIZON, REPS = 5_000.0, 405_000.0, 20


def bulk_line(min_fill: int) -> dict:
    return {"schema_version": 1, "name": "bulk", "elements": [
        {"id": "src", "kind": "source", "arrival": exp(1 / LAM)},
        {"id": "q", "kind": "buffer", "capacity": None},
        station("oven", exp(1 / MU), batch={"size": SIZE, "timeout": 0, "min_fill": min_fill}),
        {"id": "out", "kind": "buffer", "capacity": None},
        {"id": "sink", "kind": "sink"}],
        "connections": [["src", "q"], ["q", "oven"], ["oven", "out"], ["out", "sink"]]}


def test_the_oracle_meets_the_known_cases():
    # size 1 is the M/M/1: L = rho / (1 - rho)
    one = solve_bulk_service(0.5, 1.0, 1)
    assert one.in_system == pytest.approx(1.0, rel=1e-9) and one.busy == pytest.approx(0.5)
    for a in (1, 2):
        x = solve_bulk_service(LAM, MU, SIZE, a)
        assert x.tail < 1e-12
        # every part is served once: busy * mu * E[load size] = lambda
        mean_load = sum((j + 1) * f for j, f in enumerate(x.load_sizes))
        assert x.busy * MU * mean_load == pytest.approx(LAM, rel=1e-9)
        assert sum(x.load_sizes) == pytest.approx(1.0)
        assert x.load_sizes[:a - 1] == (0.0,) * (a - 1)


def load_sizes(rep, ids) -> np.ndarray:
    """Fraction of the loads ended after the warm-up with 1..SIZE parts."""
    log = rep.log
    out = ids.index("out")
    rows = log[(log["element"] == out) & (log["server"] == -1) & (log["content"] == 1)
               & (log["time"] > WARMUP)]
    sizes = Counter(Counter(rows["time"].tolist()).values())
    n = np.array([sizes.get(j, 0) for j in range(1, SIZE + 1)], float)
    assert sum(sizes.values()) == n.sum()  # no load larger than SIZE
    return n / n.sum()


@pytest.mark.slow
@pytest.mark.parametrize("min_fill", [1, 2])
def test_batch_service_holds_the_exact_values_of_the_bulk_queue(run_doc, min_fill):
    x = solve_bulk_service(LAM, MU, SIZE, min_fill)
    assert x.tail < 1e-12
    sr = run_doc(bulk_line(min_fill), HORIZON, replications=REPS, warmup=WARMUP, seed=18,
                 log=True)
    ids = sr.lowered.element_ids
    e = ids.index("oven")
    reps = sr.replications
    obs = np.array([r.line_out[kt.L_OBSERVED] for r in reps])
    sizes = np.array([load_sizes(r, ids) for r in reps])
    samples = {
        "in system": (np.array([r.line_out[kt.L_WIP_INT] for r in reps]) / obs, x.in_system),
        "throughput": (np.array([r.line_out[kt.L_GOOD] for r in reps]) / obs, x.throughput),
        "sojourn": (np.array([r.line_out[kt.L_LEAD_SUM] / r.line_out[kt.L_GOOD]
                              for r in reps]), x.sojourn),
        "busy": (np.array([r.st_time[e, kt.BUSY] / r.st_time[e].sum() for r in reps]),
                 x.busy),
    }
    for j in range(min_fill, SIZE + 1):
        samples[f"loads of {j}"] = (sizes[:, j - 1], x.load_sizes[j - 1])
    print({k: (float(v.mean()), t) for k, (v, t) in samples.items()})
    check_all(samples, level=0.95, max_rel_half=0.05)
    # below min_fill no load starts
    assert not sizes[:, :min_fill - 1].any()
