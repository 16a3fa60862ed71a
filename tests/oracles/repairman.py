"""The machine-repairman model, exactly: the finite-source queue M/M/R//N.

``N`` machines each fail after an exponential up time (rate ``lam``), ``R`` technicians repair
them one at a time after an exponential repair (rate ``mu``), first come first served, with
no walking. The number of machines down is a birth-death chain with birth rate
``(N - n) lam`` and death rate ``min(n, R) mu``, whose stationary probabilities are, with
``rho = lam / mu`` (Gross and Harris, "Fundamentals of Queueing Theory", §2.8):

    p_n ∝ C(N, n) rho^n                          for n <= R
    p_n ∝ C(N, n) n! / (R! R^(n-R)) rho^n        for n > R

Nothing here is shared with the kernel.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb, factorial


@dataclass(frozen=True)
class Repairman:
    """Steady-state values: ``down`` the mean number of machines down (waiting or under
    repair), ``queue`` the mean number waiting for a technician, ``availability`` the
    fraction of machine time up, ``tech_utilization`` the fraction of technician time
    repairing, ``wait`` the mean wait of a failure for a technician (Little's law)."""

    down: float
    queue: float
    availability: float
    tech_utilization: float
    wait: float


def repairman(n_machines: int, n_techs: int, mttf: float, mttr: float) -> Repairman:
    n, r, rho = n_machines, n_techs, mttr / mttf
    w = [comb(n, k) * rho**k if k <= r else
         comb(n, k) * factorial(k) / (factorial(r) * r ** (k - r)) * rho**k
         for k in range(n + 1)]
    total = sum(w)
    p = [x / total for x in w]
    down = sum(k * pk for k, pk in enumerate(p))
    queue = sum(max(k - r, 0) * pk for k, pk in enumerate(p))
    failures_per_time = (n - down) / mttf
    return Repairman(down=down, queue=queue, availability=1.0 - down / n,
                     tech_utilization=(down - queue) / r, wait=queue / failures_per_time)
