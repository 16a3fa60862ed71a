"""Energy: power (kW per server, by state) times the time spent in each state.

Each station's kWh is recomputed here from its state times and from the state fractions
the KPIs report, and the cumulative energy time series must end at the same total.
"""

from __future__ import annotations

import numpy as np
import pytest
from oracles.lines import RICH, serial_line, station

from kernels import types as kt
from twin.model.elements import STATION_STATES
from twin.sim.summary import replication_kpis


def power_of(doc, sid):
    el = next(e for e in doc["elements"] if e["id"] == sid)
    return np.array([el.get("power_kw", {}).get(s, 0.0) for s in STATION_STATES])


def test_energy_of_the_blocking_line_by_hand(run_doc):
    # m1 is busy 7 s and blocked 3 s, m2 starved 1 s and busy 9 s (tests/twin/test_traces.py)
    doc = serial_line([station("m1", 1, power_kw={"busy": 5.0, "blocked": 1.0, "starved": 0.5}),
                       station("m2", 2, power_kw={"busy": 3.0, "starved": 0.2})], [1])
    sr = run_doc(doc, 10.0, replications=1, sample_interval=1.0)
    k = replication_kpis(sr, sr.replications[0])
    assert k["elements.m1.energy_kwh"] == pytest.approx((7 * 5.0 + 3 * 1.0) / 3600, rel=1e-12)
    assert k["elements.m2.energy_kwh"] == pytest.approx((1 * 0.2 + 9 * 3.0) / 3600, rel=1e-12)
    assert k["line.energy_kwh"] == pytest.approx((38 + 27.2) / 3600, rel=1e-12)
    ts = sr.replications[0].ts_energy
    e1 = sr.lowered.element_ids.index("m1")
    # m1: busy at 5 kW for 4 s, then blocked at 1 kW from 4 to 5, busy 5-6, ...
    assert ts[:, e1] * 3600 == pytest.approx([0, 5, 10, 15, 20, 21, 26, 27, 32, 33, 38])


@pytest.fixture(scope="module")
def rich_runs(kernel):
    from twin.projectfile.reader import project_from_json
    from twin.sim.runner import RunSpec, run_project

    project = project_from_json(RICH)
    plain = RunSpec(horizon=3 * 3600.0, replications=3, seed=5, sample_interval=60.0)
    warm = RunSpec(horizon=3 * 3600.0, warmup=1800.0, replications=3, seed=5,
                   sample_interval=60.0)
    return (run_project(project, None, plain).scenarios["base"],
            run_project(project, None, warm).scenarios["base"])


def test_station_energy_is_power_times_state_time(rich_runs):
    for sr in rich_runs:
        for rep in sr.replications:
            k = replication_kpis(sr, rep)
            obs = rep.line_out[kt.L_OBSERVED]
            total = 0.0
            for e, (sid, kind) in enumerate(zip(sr.lowered.element_ids,
                                                sr.lowered.element_kinds, strict=True)):
                if kind != "station":
                    continue
                power = power_of(RICH, sid)
                by_time = float(rep.st_time[e] @ power) / 3600.0
                servers = k[f"elements.{sid}.servers"]
                fractions = np.array([k[f"elements.{sid}.state_fraction.{s}"]
                                      for s in STATION_STATES])
                by_fraction = float(fractions @ power) * servers * obs / 3600.0
                assert k[f"elements.{sid}.energy_kwh"] == pytest.approx(by_time, rel=1e-12)
                assert k[f"elements.{sid}.energy_kwh"] == pytest.approx(by_fraction, rel=1e-9)
                assert by_time > 0
                total += by_time
            assert k["line.energy_kwh"] == pytest.approx(total, rel=1e-12)
            assert k["line.energy_kwh_per_part"] == pytest.approx(total / k["line.good_parts"])


def test_energy_time_series_ends_at_the_total(rich_runs):
    plain, warm = rich_runs
    stations = [e for e, kind in enumerate(plain.lowered.element_kinds) if kind == "station"]
    k_warm = int(1800.0 / 60.0)
    assert plain.ts_t[-1] == 3 * 3600.0 and plain.ts_t[k_warm] == 1800.0
    for rp, rw in zip(plain.replications, warm.replications, strict=True):
        kp, kw = replication_kpis(plain, rp), replication_kpis(warm, rw)
        for e in stations:
            sid = plain.lowered.element_ids[e]
            # the series counts from time 0; without warm-up it ends at the KPI total
            assert rp.ts_energy[-1, e] == pytest.approx(kp[f"elements.{sid}.energy_kwh"],
                                                        rel=1e-9)
            assert np.all(np.diff(rp.ts_energy[:, e]) >= -1e-12)
            # with a warm-up the KPI is the rise of the same series after the warm-up
            rise = rw.ts_energy[-1, e] - rw.ts_energy[k_warm, e]
            assert rise == pytest.approx(kw[f"elements.{sid}.energy_kwh"], rel=1e-9)
        assert rp.ts_energy[-1, stations].sum() == pytest.approx(kp["line.energy_kwh"],
                                                                 rel=1e-9)


def test_flat_tariff_prices_the_energy(run_doc):
    doc = serial_line([station("m1", 1, power_kw={"busy": 5.0, "blocked": 1.0}),
                       station("m2", 2, power_kw={"busy": 3.0, "starved": 0.2})], [1],
                      tariff={"price_per_kwh": 0.25})
    sr = run_doc(doc, 100.0, replications=1)
    k = replication_kpis(sr, sr.replications[0])
    assert k["line.energy_cost"] == pytest.approx(0.25 * k["line.energy_kwh"], rel=1e-12)


def test_hourly_tariff_prices_each_hour(run_doc):
    # one station always busy at 5 kW: 5 kWh in each hour, priced 1, 2 and 3
    doc = serial_line([station("m1", 1, power_kw={"busy": 5.0})], [],
                      tariff={"hourly": [1.0, 2.0, 3.0] + [0.0] * 21})
    sr = run_doc(doc, 3 * 3600.0, replications=1, sample_interval=60.0)
    k = replication_kpis(sr, sr.replications[0])
    assert k["line.energy_kwh"] == pytest.approx(15.0, rel=1e-12)
    assert k["line.energy_cost"] == pytest.approx(5 * 1 + 5 * 2 + 5 * 3, rel=1e-9)


@pytest.mark.parametrize("warmup, dt", [(90.0, 60.0), (0.0, 7.0)])
def test_uniform_hourly_tariff_costs_the_same_as_a_flat_one(run_doc, warmup, dt):
    doc = serial_line([station("m1", 1, power_kw={"busy": 3.6})], [],
                      tariff={"hourly": [1.0] * 24})
    sr = run_doc(doc, 3600.0, warmup=warmup, replications=1, sample_interval=dt)
    k = replication_kpis(sr, sr.replications[0])
    assert k["line.energy_cost"] == pytest.approx(k["line.energy_kwh"], rel=1e-9)
