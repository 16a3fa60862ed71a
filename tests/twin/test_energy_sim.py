"""Energy KPIs of simulated runs (issue 19 §3) against an independent computation.

The oracle here prices the run's power time series window by window with its own
reading of the weekly time-of-use profile (a night from 22:00 to 6:00 that crosses
midnight, and Sunday's night that crosses the end of the week), the hourly CO2 series and
the demand charge on each billing period's highest 15-minute mean power. Time 0 is Monday
00:00. A flat price and a constant intensity are checked against the per-state times.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pytest
from oracles.lines import exp, operating_failures, serial_line, station

from kernels import types as kt
from twin.model.elements import STATION_STATES
from twin.projectfile.reader import project_from_json
from twin.sim.runner import RunSpec, run_project
from twin.sim.summary import replication_kpis, summarize

DAY, H = 86400.0, 3600.0
HORIZON, WARMUP = 8 * DAY, 1000.0  # Monday 0:00 to the next Tuesday 0:00; warm-up off-grid
NIGHT, WEEKEND, BASE = 0.12, 0.08, 0.30
POWER = {"m1": {"busy": 20.0, "starved": 2.0, "down": 0.5},
         "m2": {"busy": 15.0, "starved": 1.0, "blocked": 3.0, "down": 0.5}}


def _doc(tariff):
    fail = operating_failures(exp(3 * H), exp(1800.0))
    doc = serial_line([station("m1", exp(300.0), power_kw=POWER["m1"], failures=fail),
                       station("m2", exp(250.0), power_kw=POWER["m2"], failures=fail)], [3])
    doc["tariff"] = tariff
    return doc


TOU = {"price_per_kwh": BASE, "periods": [
    {"name": "night", "start": "22h", "end": "6h", "price_per_kwh": NIGHT,
     "days": ["mon", "tue", "wed", "thu", "fri", "sun"]},
    {"name": "saturday", "start": "6h", "end": "24h", "price_per_kwh": WEEKEND, "days": ["sat"]},
    {"name": "sunday", "start": "0h", "end": "22h", "price_per_kwh": WEEKEND, "days": ["sun"]}],
    "demand_charge": {"per_kw": 15.0, "billing_period": "2d"}, "co2_g_per_kwh": "co2.csv"}
CO2 = 300 + 200 * np.sin(np.arange(int(HORIZON / H) + 1) / 5.0) ** 2


def price_at(t: float) -> float:
    """The profile read by hand: weekday 0 = Monday, hour of the day."""
    day, hour = int(t // DAY) % 7, (t % DAY) / H
    if day == 5:  # Saturday: Friday's night until 6, then the weekend price
        return NIGHT if hour < 6 else WEEKEND
    if day == 6:
        return NIGHT if hour >= 22 else WEEKEND
    return NIGHT if hour < 6 or hour >= 22 else BASE  # Monday's early night is Sunday's


@pytest.fixture(scope="module")
def tou_runs(kernel, tmp_path_factory):
    folder = tmp_path_factory.mktemp("energy")
    t0 = datetime.fromisoformat("2030-01-01T00:00:00+00:00")  # any date: time 0 is row 1
    (folder / "co2.csv").write_text("".join(f"{(t0 + timedelta(hours=i)).isoformat()},{v}\n"
                                            for i, v in enumerate(CO2)))
    project = project_from_json(_doc(TOU), folder=folder)
    out = []
    for dt in (700.0, 60.0):  # 700 s does not divide 15 min: the grid still holds each quarter
        spec = RunSpec(horizon=HORIZON, warmup=WARMUP, replications=3, seed=11,
                       sample_interval=dt)
        out.append(run_project(project, None, spec).scenarios["base"])
    return out


def _oracle(sr, rep):
    stations = [e for e, k in enumerate(sr.lowered.element_kinds) if k == "station"]
    t = sr.ts_t
    quarters = np.arange(0.0, HORIZON + 1, 900.0)
    assert np.isin(quarters, t).all()  # so the cumulative energy is known at each quarter
    edges = np.concatenate([[WARMUP], quarters[quarters > WARMUP]])
    cum = np.column_stack([np.interp(edges, t, rep.ts_energy[:, e]) for e in stations])
    kwh = np.diff(cum, axis=0)  # per window, per station
    line = kwh.sum(axis=1)
    left = edges[:-1]
    price = np.array([price_at(x) for x in left])
    co2 = CO2[(left // H).astype(int)]
    kw = line / (np.diff(edges) / H)
    billing = (left // (2 * DAY)).astype(int)
    demand = 15.0 * sum(kw[billing == b].max() for b in np.unique(billing))
    return {"energy": float(line @ price), "demand": demand, "peak": float(kw.max()),
            "co2": float(line @ co2) / 1000.0, "kwh": line.sum(),
            "el_cost": kwh.T @ price, "el_co2": kwh.T @ co2 / 1000.0,
            "el_peak": (kwh / (np.diff(edges) / H)[:, None]).max(axis=0)}


def test_tou_cost_demand_peak_and_co2_equal_the_oracle(tou_runs):
    for sr in tou_runs:
        for rep in sr.replications:
            k = replication_kpis(sr, rep)
            o = _oracle(sr, rep)
            assert o["kwh"] == pytest.approx(k["line.energy_kwh"], rel=1e-9)
            assert k["line.energy_cost_energy"] == pytest.approx(o["energy"], rel=1e-9)
            assert k["line.energy_cost_demand"] == pytest.approx(o["demand"], rel=1e-9)
            assert k["line.energy_cost"] == pytest.approx(o["energy"] + o["demand"], rel=1e-9)
            assert k["line.peak_kw_15min"] == pytest.approx(o["peak"], rel=1e-9)
            assert k["line.co2_kg"] == pytest.approx(o["co2"], rel=1e-9)
            good = k["line.good_parts"]
            assert k["line.energy_cost_per_part"] == pytest.approx(k["line.energy_cost"] / good)
            assert k["line.co2_kg_per_part"] == pytest.approx(k["line.co2_kg"] / good)
            for j, sid in enumerate(("m1", "m2")):
                assert k[f"elements.{sid}.energy_cost"] == pytest.approx(o["el_cost"][j],
                                                                         rel=1e-9)
                assert k[f"elements.{sid}.co2_kg"] == pytest.approx(o["el_co2"][j], rel=1e-9)
                assert k[f"elements.{sid}.peak_kw_15min"] == pytest.approx(o["el_peak"][j],
                                                                           rel=1e-9)
            # the profile really was exercised: the peak is a real power level
            assert 0 < k["line.peak_kw_15min"] <= 35.0 + 1e-9


def test_the_sample_interval_does_not_change_the_figures(tou_runs):
    coarse, fine = tou_runs
    for a, b in zip(coarse.replications, fine.replications, strict=True):
        ka, kb = replication_kpis(coarse, a), replication_kpis(fine, b)
        for key in ("line.energy_cost", "line.peak_kw_15min", "line.co2_kg"):
            assert ka[key] == pytest.approx(kb[key], rel=1e-9)


def test_run_json_has_means_and_intervals_of_the_new_kpis(tou_runs):
    doc = summarize(tou_runs[0])
    rows = [replication_kpis(tou_runs[0], r) for r in tou_runs[0].replications]
    for key in ("energy_cost", "energy_cost_energy", "energy_cost_demand", "peak_kw_15min",
                "co2_kg", "energy_cost_per_part", "co2_kg_per_part"):
        stat = doc["line"][key]
        x = np.array([r[f"line.{key}"] for r in rows])
        assert stat["mean"] == pytest.approx(x.mean())
        assert stat["ci95_halfwidth"] == pytest.approx(4.303 * x.std(ddof=1) / math.sqrt(3),
                                                       abs=1e-9)  # spread of rounding: 0
    assert set(doc["elements"]["m1"]) >= {"energy_cost", "peak_kw_15min", "co2_kg"}
    assert "energy_cost" not in doc["elements"]["src"]  # no power: no energy KPIs


def test_flat_price_and_constant_co2_equal_the_per_state_times(kernel):
    project = project_from_json(_doc({"price_per_kwh": 0.25, "co2_g_per_kwh": 420.0}))
    sr = run_project(project, None, RunSpec(horizon=2 * DAY, warmup=WARMUP, replications=2,
                                            seed=3)).scenarios["base"]
    for rep in sr.replications:
        k = replication_kpis(sr, rep)
        kwh = 0.0
        for e, sid in enumerate(sr.lowered.element_ids):
            if sid in POWER:
                power = np.array([POWER[sid].get(s, 0.0) for s in STATION_STATES])
                assert rep.st_time[e, kt.DOWN] > 0  # failures happened: power varies
                kwh += float(rep.st_time[e] @ power) / H
        assert k["line.energy_cost"] == pytest.approx(0.25 * kwh, rel=1e-9)
        assert k["line.energy_cost_demand"] == 0.0
        assert k["line.co2_kg"] == pytest.approx(0.420 * kwh, rel=1e-9)


def test_an_hourly_tariff_costs_what_it_cost_before(kernel):
    hourly = [0.1 + 0.01 * h for h in range(24)]
    project = project_from_json(_doc({"hourly": hourly}))
    sr = run_project(project, None, RunSpec(horizon=1.5 * DAY, warmup=WARMUP, replications=1,
                                            seed=3, sample_interval=600.0)).scenarios["base"]
    rep = sr.replications[0]
    keep = sr.ts_t >= WARMUP  # the formula of the twin core before the energy context
    kwh = np.diff(rep.ts_energy.sum(axis=1)[keep])
    hour = (sr.ts_t[keep][:-1] // 3600 % 24).astype(int)
    before = float(np.sum(kwh * np.asarray(hourly)[hour]))
    assert replication_kpis(sr, rep)["line.energy_cost"] == pytest.approx(before, rel=1e-12)
