"""The forecast's bands are honest on shifts simulated with known parameters (issue 16 §2).

Each shift is a fresh simulated run of the line written as a recording (with its buffer's
level, so the fork knows the work in process); the forecast forks from it at mid-shift with
the very parameters that made it. The actual end-of-shift output then falls below P10,
inside P10-P90 and above P90 with probabilities 0.1, 0.8, 0.1 (ties randomised,
``twin.shadow.scoring``): each share's 99% Clopper-Pearson interval must hold its nominal
value, and the twin's CRPS must beat the run rate's.
"""

from __future__ import annotations

import numpy as np
import pytest

from twin.projectfile.reader import project_from_json
from twin.recording import Recording
from twin.shadow.forecast import forecast_at
from twin.shadow.scoring import (
    ABOVE,
    BELOW,
    INSIDE,
    actual_good,
    coverage,
    crps_ensemble,
    score,
    simulated_shifts,
)

SHIFT = 2 * 3600.0
SHIFTS = 60


def line_doc() -> dict:
    return {"schema_version": 1, "name": "known line", "elements": [
        {"id": "src", "kind": "source"},
        {"id": "m1", "kind": "station",
         "process_time": {"dist": "gamma", "shape": 4.0, "scale": 12.0},
         "failures": {"basis": "operating",
                      "time_to_failure": {"dist": "exponential", "mean": 900.0},
                      "time_to_repair": {"dist": "lognormal", "mean": 400.0, "sd": 300.0}},
         "power_kw": {"busy": 4.0, "blocked": 1.0, "starved": 0.5, "down": 0.2}},
        {"id": "b1", "kind": "buffer", "capacity": 6},
        {"id": "m2", "kind": "station", "process_time": {"dist": "exponential", "mean": 45.0},
         "failures": {"basis": "operating",
                      "time_to_failure": {"dist": "exponential", "mean": 1500.0},
                      "time_to_repair": {"dist": "exponential", "mean": 240.0}},
         "power_kw": {"busy": 2.0, "blocked": 1.0, "starved": 0.5, "down": 0.2}},
        {"id": "sink", "kind": "sink"}],
        "connections": [["src", "m1"], ["m1", "b1"], ["b1", "m2"], ["m2", "sink"]]}


def test_crps_of_an_ensemble_matches_its_definition():
    rng = np.random.default_rng(1)
    x = rng.normal(size=50)
    y = 0.3
    pairs = np.abs(x[:, None] - x[None, :]).mean()
    assert crps_ensemble(x, y) == pytest.approx(np.abs(x - y).mean() - 0.5 * pairs, rel=1e-12)
    assert crps_ensemble(np.full(7, 2.0), 5.0) == pytest.approx(3.0)


def test_bands_are_calibrated_on_simulated_shifts(tmp_path, kernel):
    project = project_from_json(line_doc())
    paths = simulated_shifts(project, SHIFTS, SHIFT, tmp_path, seed=5)
    scores = []
    rng = np.random.default_rng(2)
    for k, path in enumerate(paths):
        with Recording.open(path) as r:
            f = forecast_at(project, r, SHIFT / 2, replications=99, seed=1000 + k,
                            shift=(0.0, SHIFT), workers=1)
            actual = actual_good(project, r, 0.0, SHIFT)
        assert f.good.shape == (99, len(f.times)) and f.times[-1] == SHIFT
        assert np.all(f.good[:, 0] >= f.good_so_far)
        scores.append(score(f, actual, rng))
    cov = coverage(scores)
    assert cov.n == SHIFTS
    for where, nominal in ((BELOW, 0.1), (INSIDE, 0.8), (ABOVE, 0.1)):
        lo, hi = cov.interval(where, 0.99)
        assert lo <= nominal <= hi, (where, cov.counts)
    # the twin knows the machines' states and the buffer at mid-shift; the run rate does not
    assert cov.crps < cov.crps_naive, cov.row()
