"""Score forecasts against what the shift then did: coverage of the bands and CRPS.

For each forecast and the actual good parts of its shift (from the recording):

* **where the actual fell**: below P10, inside P10-P90, above P90 of the ensemble of
  end-of-shift good parts. Counts are whole numbers, so the actual often equals an order
  statistic; ties are broken at random (the randomised probability integral transform
  ``u = (#below + U (#equal + 1)) / (n + 1)``, below P10 when ``u < 0.1``, above P90 when
  ``u > 0.9``), which makes the three shares 10/80/10 in expectation for an honest forecast.
* **CRPS**, the continuous ranked probability score of the ensemble
  (``E|X - y| - E|X - X'| / 2``, Gneiting & Raftery 2007, eq. 21), in parts, and the same of
  the **naive forecast**: the run rate so far carried to the end of the shift
  (``good_so_far / elapsed * shift length``), a point whose CRPS is its absolute error.
  Skill ``1 - CRPS / CRPS_naive`` > 0 means the twin beats the run rate.

:func:`coverage` tallies the shares with Clopper-Pearson intervals; :func:`simulated_shifts`
writes shifts simulated with known parameters as recordings (``twin.whatif.simulated``), the
cheap stand-in for the emulator (which plays the same twin in real time).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from twin.model import elements as m
from twin.recording import Recording, extent, replay_recording
from twin.shadow.forecast import Forecast, StoredForecast
from twin.sim.runner import RunSpec, run_project
from twin.whatif.fork import recorded_since, station_channels
from twin.whatif.simulated import write_run_as_recording

#: Where the actual may fall, as :attr:`Score.where` says it.
BELOW, INSIDE, ABOVE = -1, 0, 1


@dataclass(frozen=True)
class Score:
    """One forecast scored against its shift's actual output (module docstring)."""

    made_at: float
    shift_start: float
    shift_end: float
    actual: float
    pit: float
    where: int
    crps: float
    naive: float
    crps_naive: float

    @property
    def elapsed(self) -> float:
        """Share of the shift gone when the forecast was made (0-1)."""
        return (self.made_at - self.shift_start) / (self.shift_end - self.shift_start)


def crps_ensemble(x: np.ndarray, y: float) -> float:
    """CRPS of the ensemble ``x`` for the outcome ``y`` (same units as ``x``)."""
    x = np.sort(np.asarray(x, float))
    n = len(x)
    spread = 2.0 * np.sum((2.0 * np.arange(1, n + 1) - n - 1) * x) / n**2  # E|X - X'|
    return float(np.mean(np.abs(x - y)) - 0.5 * spread)


def naive_run_rate(f: StoredForecast) -> float:
    """The run rate so far carried to the end of the shift (NaN before any time elapsed
    or when the output so far is unknown)."""
    elapsed = f.made_at - f.shift_start
    if not elapsed > 0 or not math.isfinite(f.good_so_far):
        return math.nan
    return f.good_so_far / elapsed * (f.shift_end - f.shift_start)


def score(f: Forecast | StoredForecast, actual: float,
          rng: np.random.Generator | None = None) -> Score:
    """Score one forecast against the actual good parts of its shift."""
    f = StoredForecast.of(f)
    rng = rng or np.random.default_rng(0)
    x = f.final_good
    below, equal = np.sum(x < actual), np.sum(x == actual)
    u = float((below + rng.random() * (equal + 1)) / (len(x) + 1))
    where = BELOW if u < 0.1 else ABOVE if u > 0.9 else INSIDE
    naive = naive_run_rate(f)
    return Score(f.made_at, f.shift_start, f.shift_end, float(actual), u, where,
                 crps_ensemble(x, actual), naive, abs(naive - actual))


def actual_good(project: m.Project, recording: Recording, shift_start: float,
                shift_end: float, assets: dict | None = None,
                replays: dict | None = None) -> float:
    """Good parts the recording shows in ``[shift_start, shift_end]`` (NaN when the recording
    ends before the shift does or no recorded station feeds a sink)."""
    replays = replay_recording(recording) if replays is None else replays
    servers = station_channels(project, recording, replays, assets)
    t0 = max(shift_start, extent(replays)[0])
    good, _ = recorded_since(project, replays, servers, t0, np.array([shift_end]))
    return float(good[0])


@dataclass(frozen=True)
class Coverage:
    """Shares of actuals below P10, inside P10-P90, above P90, with 95% Clopper-Pearson
    intervals, and the mean CRPS of the twin and of the naive run rate."""

    n: int
    counts: tuple[int, int, int]
    crps: float
    crps_naive: float

    def share(self, where: int) -> float:
        return self.counts[where + 1] / self.n if self.n else math.nan

    def interval(self, where: int, level: float = 0.95) -> tuple[float, float]:
        ci = stats.binomtest(self.counts[where + 1], self.n).proportion_ci(level, "exact")
        return float(ci.low), float(ci.high)

    @property
    def skill(self) -> float:
        """``1 - CRPS / CRPS_naive``: > 0 when the twin beats the run rate."""
        return 1.0 - self.crps / self.crps_naive if self.crps_naive > 0 else math.nan

    def row(self) -> str:
        def pc(w):
            lo, hi = self.interval(w)
            return f"{100 * self.share(w):5.1f}% [{100 * lo:4.1f}, {100 * hi:4.1f}]"
        return (f"{self.n:5d}  {pc(BELOW)}  {pc(INSIDE)}  {pc(ABOVE)}  "
                f"{self.crps:9.2f}  {self.crps_naive:9.2f}  {self.skill:+6.2f}")

    HEADER = ("    n  below P10              inside P10-P90         above P90              "
              "     CRPS  CRPS naive  skill")


def coverage(scores: list[Score]) -> Coverage:
    """Tally scores (those with a naive forecast count in the CRPS means)."""
    counts = tuple(sum(s.where == w for s in scores) for w in (BELOW, INSIDE, ABOVE))
    paired = [s for s in scores if math.isfinite(s.crps_naive)]
    return Coverage(len(scores), counts,
                    float(np.mean([s.crps for s in paired])) if paired else math.nan,
                    float(np.mean([s.crps_naive for s in paired])) if paired else math.nan)


def simulated_shifts(project: m.Project, n: int, shift_length: float,
                     folder: str | os.PathLike, seed: int = 1) -> list[Path]:
    """``n`` independent shifts of ``project`` simulated from an empty line, each written as a
    recording ``folder/shift<k>.h5`` (with its buffer levels) whose time 0 is the shift's
    start. The parameters the forecasts use are the ones that made the data."""
    res = run_project(project, spec=RunSpec(horizon=shift_length, warmup=0.0, replications=n,
                                            seed=seed, log=True))
    sr = res.scenarios["base"]
    folder = Path(folder)
    paths = []
    for k in range(n):
        p = folder / f"shift{k}.h5"
        write_run_as_recording(sr, k, p, seed=seed, overwrite=True)
        paths.append(p)
    return paths
