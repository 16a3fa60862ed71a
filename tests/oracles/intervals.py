"""Student-t confidence intervals over independent replications, computed with SciPy.

A statistical test states its confidence level once for the whole test; when a test checks
``k`` quantities, each interval gets level ``1 - (1 - level) / k`` (Bonferroni), so the
chance that a correct kernel fails the test is at most ``1 - level``. Seeds are fixed, so a
passing test passes on every run; a different seed would fail a correct kernel with that
probability, which is why no test may be "fixed" by changing its seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Interval:
    mean: float
    half: float
    n: int
    level: float

    @property
    def lo(self) -> float:
        return self.mean - self.half

    @property
    def hi(self) -> float:
        return self.mean + self.half

    def __contains__(self, x: float) -> bool:
        return self.lo <= x <= self.hi

    def __str__(self) -> str:
        return (f"{self.mean:.6g} ± {self.half:.3g} ({100 * self.level:.3g}% interval, "
                f"n={self.n})")


def t_interval(values, level: float) -> Interval:
    x = np.asarray(values, float)
    if x.size < 2 or np.isnan(x).any():
        raise ValueError(f"need at least two finite replications, got {x!r}")
    q = stats.t.ppf(0.5 + level / 2.0, x.size - 1)
    return Interval(float(x.mean()), float(q * x.std(ddof=1) / math.sqrt(x.size)), x.size,
                    level)


def check_all(samples: dict[str, tuple[np.ndarray, float | tuple[float, ...]]],
              level: float = 0.99, max_rel_half: float | None = None) -> dict[str, Interval]:
    """Each named sample's interval (Bonferroni share of ``level``) must cover its target(s).

    ``max_rel_half`` guards against a test that passes because it learns nothing: every
    interval must then be narrower than that fraction of its target.
    """
    each = 1.0 - (1.0 - level) / len(samples)
    out, bad = {}, []
    for name, (values, targets) in samples.items():
        iv = t_interval(values, each)
        out[name] = iv
        for target in targets if isinstance(targets, tuple) else (targets,):
            if target not in iv:
                bad.append(f"{name}: {iv} does not cover {target:.6g}")
            if max_rel_half is not None and target != 0 and iv.half > max_rel_half * abs(target):
                bad.append(f"{name}: {iv} is too wide to tell anything about {target:.6g}")
    assert not bad, "\n".join(bad)
    return out
