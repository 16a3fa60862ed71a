"""Feeds for the drift and alert tests: the emulator's plant (the twin run with known
parameters) as live readings, spliced so that a machine changes at a known time, and small
hand-built feeds for the rules. Also a forecast with the ``twin.shadow.forecast.Forecast``
interface, built from given arrays (the forecast helper's class when it is there)."""

from __future__ import annotations

import numpy as np

from twin.live.emulator import plan_run
from twin.live.feed import Reading
from twin.projectfile.reader import project_from_json
from twin.shadow.forecast import Forecast

EPOCH = 1_764_633_600.0  # 2025-12-02 00:00 UTC


def line_doc(repair_factor: float = 1.0) -> dict:
    """A short line whose filler fails often (operating basis, exponential times to failure,
    lognormal repairs as the bottling line's); ``repair_factor`` scales its repair times
    (a scenario ``slow-repairs`` does it by 3 too)."""
    ttr = {"dist": "lognormal", "mean": 180.0 * repair_factor, "sd": 120.0 * repair_factor}
    return {
        "schema_version": 1, "name": "drift line",
        "elements": [
            {"id": "src", "kind": "source", "arrival": {"dist": "exponential", "mean": 5.0}},
            {"id": "filler", "kind": "station", "name": "Filler",
             "process_time": {"dist": "triangular", "low": 3.0, "mode": 3.5, "high": 4.5},
             "failures": {"basis": "operating",
                          "time_to_failure": {"dist": "exponential", "mean": 600.0},
                          "time_to_repair": ttr},
             "power_kw": {"busy": 45.0, "idle": 10.0, "starved": 10.0, "blocked": 30.0,
                          "down": 12.0}},
            {"id": "buf", "kind": "buffer", "capacity": 20},
            {"id": "capper", "kind": "station", "name": "Capper",
             "process_time": {"dist": "exponential", "mean": 2.5},
             "failures": {"basis": "operating",
                          "time_to_failure": {"dist": "exponential", "mean": 3600.0},
                          "time_to_repair": {"dist": "exponential", "mean": 90.0}},
             "power_kw": {"busy": 6.0, "starved": 3.0, "blocked": 3.0, "down": 0.8}},
            {"id": "sink", "kind": "sink"}],
        "connections": [["src", "filler"], ["filler", "buf"], ["buf", "capper"],
                        ["capper", "sink"]],
        "scenarios": [{"name": "slow-repairs", "overrides": [
            {"element": "filler", "path": "failures.time_to_repair",
             "value": {"dist": "lognormal", "mean": 540.0, "sd": 360.0}}]}],
    }


def project(repair_factor: float = 1.0):
    return project_from_json(line_doc(repair_factor))


def emulated(proj, pieces, epoch: float = EPOCH) -> list[Reading]:
    """The emulator's messages of ``pieces`` (``(scenario, hours, seed)``) played one after
    the other as one plant's readings (each piece starts where the last ended, as after a
    restart), time stamps ``epoch + t``."""
    out: list[Reading] = []
    t0 = 0.0
    for scenario, hours, seed in pieces:
        plan = plan_run(proj, scenario, duration=hours * 3600.0, seed=seed, levels=False)
        out.extend(Reading(a, c, t, v) for a, c, t, v in plan.messages(0, len(plan),
                                                                       epoch + t0))
        t0 += plan.horizon
    return out


def in_batches(readings: list[Reading], seconds: float = 60.0):
    """``(t_end, batch)`` per ``seconds`` of plant time, as a live source hands them over."""
    if not readings:
        return
    t = np.array([r.t for r in readings])
    start = t[0]
    edges = np.arange(start + seconds, t[-1] + 2 * seconds, seconds)
    cuts = np.searchsorted(t, edges, side="left")
    lo = 0
    for edge, hi in zip(edges, cuts, strict=True):
        yield float(edge), readings[lo:hi]
        lo = hi


def states(asset: str, spans, t0: float = EPOCH) -> list[Reading]:
    """State readings of one asset: ``spans`` is ``[(state, seconds), ...]`` from ``t0``."""
    out, t = [], t0
    for state, seconds in spans:
        out.append(Reading(asset, "state", t, state))
        t += seconds
    return out


def forecast(made_at: float, finals, target: float | None = None, peaks_kw=None,
             shift=(6 * 3600.0, 14 * 3600.0)) -> Forecast:
    """A forecast whose replications end the shift with ``finals`` good parts, and whose line
    power is flat at ``peaks_kw`` (one value per replication) over the next hour."""
    finals = np.asarray(finals, float)
    times = np.arange(made_at, shift[1] + 1.0, 60.0)
    frac = (times - made_at) / max(shift[1] - made_at, 1.0)
    good = finals[:, None] * frac[None, :]
    peaks = np.zeros(len(finals)) if peaks_kw is None else np.asarray(peaks_kw, float)
    power = np.repeat(peaks[:, None], len(times), axis=1)
    return Forecast(made_at, shift[0], shift[1], target, times, good, power,
                    np.full(len(finals), 100.0), 0.0)
