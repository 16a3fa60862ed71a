"""On-site PV and a battery (issue 19 §1, §3; twin.energy_site): the dispatch rule against
hand-computed examples, an energy balance that closes on every piece, the project file's
``pv`` and ``battery`` (paths of bad inputs, round trip), and the KPIs of simulated runs
(per replication against closed forms, intervals over replications) and of the SME
recording (exact from its power channels)."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from oracles.lines import exp, serial_line, station
from scipy import stats

from twin.energy import Clock
from twin.energy_site import dispatch, site_curve
from twin.errors import ProjectError
from twin.model import elements as m
from twin.projectfile.reader import project_from_json, project_to_json
from twin.sim.runner import RunSpec, run_project
from twin.sim.summary import replication_kpis, summarize

H = 3600.0


def _balance(d):
    """grid + PV + discharge = load + charge + export, and the store: what went in times
    sqrt(eff) less what came out over sqrt(eff) is the change of the state of charge."""
    lhs = d.grid + d.pv + d.discharge
    rhs = d.load + d.charge + d.export
    np.testing.assert_allclose(lhs, rhs, rtol=0, atol=1e-9)
    # the brief's form: load = PV to the load + battery discharge + grid to the load
    grid_to_load = d.grid - (d.charge - d.charge_pv)
    np.testing.assert_allclose(d.load, d.pv_load + d.discharge + grid_to_load, atol=1e-9)
    assert (d.grid >= -1e-12).all() and (d.export >= -1e-12).all()


def test_hand_computed_dispatch_with_a_peak_the_battery_cannot_cover():
    # 1-h pieces; 10 kWh, 8 kW, 81 % round trip (90 % each way), empty at the start,
    # shaving above 20 kW
    b = m.Battery(10.0, 8.0, 0.81, 0.0, 20.0)
    d = dispatch(np.arange(6) * H, [10, 10, 30, 30, 5], [20, 0, 0, 0, 0], b)
    # hour 0: PV 20 covers the load 10; 8 kW of the surplus 10 charge (the power limit),
    #         storing 8 * 0.9 = 7.2 kWh; 2 kW are exported
    # hour 1: 10 kW <= 20 kW: the battery waits
    # hour 2: 30 kW, 10 above the threshold; the battery gives what it holds,
    #         7.2 * 0.9 = 6.48 kW over the hour: the peak is only partly shaved
    # hour 3: the battery is empty: the whole 30 kW come from the grid
    np.testing.assert_allclose(d.pv_load, [10, 0, 0, 0, 0])
    np.testing.assert_allclose(d.charge, [8, 0, 0, 0, 0])
    np.testing.assert_allclose(d.export, [2, 0, 0, 0, 0])
    np.testing.assert_allclose(d.discharge, [0, 0, 6.48, 0, 0])
    np.testing.assert_allclose(d.grid, [0, 10, 23.52, 30, 5])
    np.testing.assert_allclose(d.soc, [0, 7.2, 7.2, 0, 0, 0], atol=1e-12)
    _balance(d)
    # the losses: 8 kWh charged, 6.48 delivered
    assert d.kwh(d.charge) - d.kwh(d.discharge) == pytest.approx(8 - 6.48)


def test_an_empty_battery_and_a_full_one():
    empty = dispatch(np.arange(3) * H, [5, 5], [0, 0], m.Battery(10, 5, 1.0, 0.0))
    np.testing.assert_allclose(empty.grid, [5, 5])
    np.testing.assert_allclose(empty.discharge, [0, 0])
    # full at the start: 8 kWh, 5 kW: covers the first hour, then what is left (3 kWh)
    full = dispatch(np.arange(3) * H, [5, 5], [9, 0], m.Battery(8, 5, 1.0, 1.0))
    np.testing.assert_allclose(full.export, [4, 0])  # no room for the surplus: exported
    np.testing.assert_allclose(full.discharge, [0, 5])
    # half-hour pieces: the power is the energy over the piece
    half = dispatch(np.array([0, 1800, 3600.0]), [10, 10], [0, 0], m.Battery(4, 10, 1, 1))
    np.testing.assert_allclose(half.discharge, [8, 0])
    np.testing.assert_allclose(half.grid, [2, 10])
    for d in (empty, full, half):
        _balance(d)


def test_charging_in_the_cheapest_period():
    cheap = np.array([True, False])
    b = m.Battery(10, 4, 1.0, 0.0, 0.0, True)
    d = dispatch(np.arange(3) * H, [5, 5], [0, 0], b, cheap)
    # cheap hour: no discharge for the load, 4 kW (its power) bought for the battery
    np.testing.assert_allclose(d.grid, [9, 1])
    np.testing.assert_allclose(d.discharge, [0, 4])
    # with a threshold of 7 kW the grid charging stops at it: 2 kW
    d = dispatch(np.arange(3) * H, [5, 5], [0, 0], m.Battery(10, 4, 1.0, 0.0, 7.0, True),
                 cheap)
    np.testing.assert_allclose(d.grid, [7, 5])
    _balance(d)


def test_the_balance_closes_on_random_curves():
    rng = np.random.default_rng(3)
    for _ in range(50):
        n = 200
        t = np.concatenate([[0.0], np.cumsum(rng.uniform(1, 900, n))])
        load, pv = rng.uniform(0, 50, n), rng.uniform(0, 40, n) * (rng.random(n) < 0.5)
        b = m.Battery(rng.uniform(1, 50), rng.uniform(1, 30), rng.uniform(0.5, 1),
                      rng.uniform(0, 1), rng.uniform(0, 30), bool(rng.random() < 0.5))
        d = dispatch(t, load, pv, b, rng.random(n) < 0.3)
        _balance(d)
        eta = math.sqrt(b.efficiency)
        stored = np.diff(d.soc)
        np.testing.assert_allclose(stored, (d.charge * eta - d.discharge / eta) * d.hours,
                                   atol=1e-9)
        assert (d.soc >= -1e-12).all() and (d.soc <= b.capacity_kwh + 1e-9).all()
        assert (d.charge <= b.power_kw + 1e-9).all() and (d.discharge <= b.power_kw + 1e-9).all()


# --- the project file ------------------------------------------------------------------------
DOC = serial_line([station("m1", exp(60.0), power_kw={"busy": 10.0, "starved": 2.0})], [])
SITE = {"price_per_kwh": 0.3, "demand_charge": {"per_kw": 10.0},
        "pv": {"profile_kw": [0.0] * 6 + [4.0] * 12 + [0.0] * 6, "feed_in_per_kwh": 0.05},
        "battery": {"capacity_kwh": 5.0, "power_kw": 3.0, "efficiency": 0.81,
                    "initial_soc": 0.2, "threshold_kw": 6.0}}


def _with(tariff):
    doc = copy.deepcopy(DOC)
    doc["tariff"] = tariff
    return doc


def test_pv_and_battery_round_trip_and_old_files_have_neither(tmp_path):
    t = project_from_json(_with(SITE)).tariff
    assert t.pv == m.Pv(tuple(SITE["pv"]["profile_kw"]), None, 0.05)
    assert t.battery == m.Battery(5.0, 3.0, 0.81, 0.2, 6.0, False)
    again = project_from_json(project_to_json(project_from_json(_with(SITE)))).tariff
    assert again == t
    old = project_from_json(_with({"price_per_kwh": 0.2})).tariff
    assert old.pv is None and old.battery is None
    assert "pv" not in project_to_json(project_from_json(_with({"price_per_kwh": 0.2})))[
        "tariff"]
    # defaults
    b = project_from_json(_with({"battery": {"capacity_kwh": 1, "power_kw": 1}})).tariff.battery
    assert b == m.Battery(1.0, 1.0, 0.9, 0.5, 0.0, False)
    # a PV series beside the project
    (tmp_path / "pv.csv").write_text("time,kw\n2024-01-01T00:00:00+00:00,0\n"
                                     "2024-01-01T01:00:00+00:00,3.5\n")
    s = project_from_json(_with({"pv": {"series": "pv.csv"}}), folder=tmp_path).tariff.pv
    assert s.series.values == (0.0, 3.5) and s.series.step == 3600.0


@pytest.mark.parametrize("tariff, path, words", [
    ({"pv": {}}, "$.tariff.pv", "give one of profile_kw"),
    ({"pv": {"profile_kw": [1] * 24, "series": "x.csv"}}, "$.tariff.pv", "not both"),
    ({"pv": {"profile_kw": [1] * 23}}, "$.tariff.pv.profile_kw", "24 (one per hour)"),
    ({"pv": {"profile_kw": [-1] + [1] * 23}}, "$.tariff.pv.profile_kw", ">= 0"),
    ({"pv": {"profile_kw": [1] * 24, "sun": 1}}, "$.tariff.pv.sun", "unknown field"),
    ({"battery": {"power_kw": 1}}, "$.tariff.battery.capacity_kwh", "is required"),
    ({"battery": {"capacity_kwh": -5, "power_kw": 1}}, "$.tariff.battery.capacity_kwh",
     ">= 0"),
    ({"battery": {"capacity_kwh": 0, "power_kw": 1}}, "$.tariff.battery.capacity_kwh",
     "more than 0"),
    ({"battery": {"capacity_kwh": 1, "power_kw": 1, "efficiency": 1.2}},
     "$.tariff.battery.efficiency", "<= 1"),
    ({"battery": {"capacity_kwh": 1, "power_kw": 1, "efficiency": 0}},
     "$.tariff.battery.efficiency", "more than 0"),
    ({"battery": {"capacity_kwh": 1, "power_kw": 1, "initial_soc": 2}},
     "$.tariff.battery.initial_soc", "state of charge"),
    ({"battery": {"capacity_kwh": 1, "power_kw": 1, "charge_in_cheapest": "yes"}},
     "$.tariff.battery.charge_in_cheapest", "true or false"),
    ({"battery": [1]}, "$.tariff.battery", "must be an object"),
])
def test_bad_pv_and_battery_name_their_path(tariff, path, words):
    with pytest.raises(ProjectError) as e:
        project_from_json(_with(tariff))
    found = [(p.path, p.format()) for p in e.value.problems]
    assert any(p == path and words in text for p, text in found), found


def test_a_pv_series_with_a_gap_names_the_row(tmp_path):
    (tmp_path / "pv.csv").write_text("2024-01-01T00:00:00+00:00,0\n2024-01-01T01:00:00+00:00,1\n"
                                     "2024-01-01T03:00:00+00:00,1\n")
    with pytest.raises(ProjectError) as e:
        project_from_json(_with({"pv": {"series": "pv.csv"}}), folder=tmp_path)
    (p,) = e.value.problems
    assert p.path == "$.tariff.pv.series" and "a gap of 7200 s" in p.message


# --- simulated runs ----------------------------------------------------------------------------
HORIZON, WARMUP = 2 * 86400.0, 1000.0


def _run(tariff, kernel_fixture=None, reps=5, dt=600.0):
    project = project_from_json(_with(tariff))
    spec = RunSpec(horizon=HORIZON, warmup=WARMUP, replications=reps, seed=5,
                   sample_interval=dt)
    return run_project(project, None, spec).scenarios["base"]


def _load_kwh(sr, rep):
    e = rep.ts_energy[:, [i for i, k in enumerate(sr.lowered.element_kinds)
                          if k == "station"]].sum(axis=1)
    return float(np.interp(HORIZON, sr.ts_t, e) - np.interp(WARMUP, sr.ts_t, e))


def test_a_full_battery_without_pv_covers_its_energy_first(kernel):
    # no threshold, power above any load: the battery delivers cap * soc0 * sqrt(eff)
    # (4.5 kWh) before the grid gives anything
    tariff = {"price_per_kwh": 0.3, "battery": {"capacity_kwh": 10, "power_kw": 100,
                                                "efficiency": 0.81, "initial_soc": 0.5}}
    sr = _run(tariff)
    for rep in sr.replications:
        k = replication_kpis(sr, rep)
        load = _load_kwh(sr, rep)
        assert k["line.battery_throughput_kwh"] == pytest.approx(4.5, rel=1e-9)
        assert k["line.grid_kwh"] == pytest.approx(load - 4.5, rel=1e-9)
        assert k["line.grid_kwh_no_battery"] == pytest.approx(load, rel=1e-9)
        assert k["line.grid_cost_energy"] == pytest.approx(0.3 * (load - 4.5), rel=1e-9)
        assert k["line.battery_saving"] == pytest.approx(0.3 * 4.5, rel=1e-9)
        assert k["line.battery_cycles"] == pytest.approx(0.45)
        assert k["line.battery_soc_end_kwh"] == pytest.approx(0.0, abs=1e-9)


def test_pv_alone_against_the_sample_grid(kernel):
    # 4 kW from 6:00 to 18:00, the line draws 2 to 10 kW: grid = max(load - pv, 0), exported
    # = max(pv - load, 0), piece by piece of the run's grid (every hour is on it)
    tariff = {k: v for k, v in SITE.items() if k != "battery"}
    sr = _run(tariff, reps=3)
    t = sr.ts_t
    assert np.isin(np.arange(0, HORIZON + 1, H), t).all()
    for rep in sr.replications:
        k = replication_kpis(sr, rep)
        e = rep.ts_energy[:, [i for i, kk in enumerate(sr.lowered.element_kinds)
                              if kk == "station"]].sum(axis=1)
        tt = np.union1d(t[(t > WARMUP) & (t < HORIZON)], [WARMUP, HORIZON])
        ee = np.interp(tt, t, e)
        hours = np.diff(tt) / H
        load = np.diff(ee) / hours
        hour_of_day = (tt[:-1] % 86400.0) // H
        pv = np.where((hour_of_day >= 6) & (hour_of_day < 18), 4.0, 0.0)
        grid = np.maximum(load - pv, 0) @ hours
        export = np.maximum(pv - load, 0) @ hours
        assert k["line.grid_kwh"] == pytest.approx(grid, rel=1e-9)
        assert k["line.pv_export_kwh"] == pytest.approx(export, rel=1e-9, abs=1e-9)
        assert k["line.pv_kwh"] == pytest.approx(pv @ hours, rel=1e-9)
        assert k["line.pv_self_kwh"] + k["line.pv_export_kwh"] == pytest.approx(k["line.pv_kwh"])
        assert k["line.grid_cost_energy"] == pytest.approx(0.3 * grid, rel=1e-9)
        assert k["line.grid_cost"] == pytest.approx(
            0.3 * grid + k["line.grid_cost_demand"] - 0.05 * export, rel=1e-9)
        assert "line.battery_cycles" not in k
        # the line's own bill is unchanged by the PV
        assert k["line.energy_cost_energy"] == pytest.approx(0.3 * _load_kwh(sr, rep), rel=1e-9)


def test_run_kpis_have_student_t_intervals_and_the_battery_shaves(kernel):
    sr = _run(SITE, reps=6)
    rows = [replication_kpis(sr, rep) for rep in sr.replications]
    doc = summarize(sr)
    for key in ("grid_cost", "grid_peak_kw_15min", "peak_shaved_kw", "battery_cycles",
                "pv_self_share", "battery_saving", "grid_cost_per_part"):
        x = np.array([r[f"line.{key}"] for r in rows])
        half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
        assert doc["line"][key]["mean"] == pytest.approx(x.mean(), rel=1e-12)
        # twin.sim.stats.t975 holds the quantile to 4 significant digits (2.571 for 5 df)
        assert doc["line"][key]["ci95_halfwidth"] == pytest.approx(half, rel=2e-4)
    # the CSV export and the HTML report list them with their units
    from twin.sim.report import kpi_records

    records = {(r["element"], r["kpi"]): r for r in kpi_records({"base": doc})}
    assert records["line", "battery_cycles"]["unit"] == "cycles"
    assert records["line", "grid_cost"]["mean"] == doc["line"]["grid_cost"]["mean"]
    for r in rows:
        assert r["line.peak_shaved_kw"] >= -1e-9
        assert r["line.grid_peak_kw_15min"] <= r["line.grid_peak_kw_15min_no_battery"] + 1e-9
        assert 0 <= r["line.pv_self_share"] <= 1
    # the balance closes in every replication
    tariff = sr.project.tariff
    for rep in sr.replications:
        d = site_curve(tariff, Clock.simulation(), sr.ts_t, rep.ts_energy[:, [
            i for i, k in enumerate(sr.lowered.element_kinds) if k == "station"]].sum(axis=1),
            WARMUP, HORIZON, tariff.battery)
        _balance(d)
        assert d.kwh(d.load) == pytest.approx(_load_kwh(sr, rep), rel=1e-9)


# --- the SME recording -----------------------------------------------------------------------
def test_recorded_shift_with_a_battery_and_pv_exactly(sme_recording):
    from twin.recording import Recording
    from twin.recording.energy import recording_dispatch, recording_energy, recording_site

    flat = m.Tariff(0.25)
    with Recording.open(sme_recording) as rec:
        line = recording_energy(rec, flat)["total"]
        # a full battery that may give all it holds: the grid buys the rest (closed form)
        b = m.Battery(20.0, 1e5, 0.64, 1.0)
        k = recording_site(rec, m.Tariff(0.25, battery=b))
        assert k["battery_throughput_kwh"] == pytest.approx(20 * 0.8, rel=1e-12)
        assert k["grid_kwh"] == pytest.approx(line.energy_kwh - 16.0, rel=1e-12)
        assert k["grid_kwh_no_battery"] == pytest.approx(line.energy_kwh, rel=1e-12)
        assert k["grid_peak_kw_15min_no_battery"] == pytest.approx(line.peak_kw_15min,
                                                                   rel=1e-12)
        assert k["battery_saving"] == pytest.approx(0.25 * 16.0, rel=1e-9)
        # with PV and a threshold: the balance closes on every piece of the recording
        tariff = m.Tariff(0.25, pv=m.Pv((0.0,) * 8 + (3.0,) * 8 + (0.0,) * 8),
                          battery=m.Battery(10.0, 2.0, 0.9, 0.0, 2.5))
        d = recording_dispatch(rec, tariff)
        _balance(d)
        assert d.kwh(d.load) == pytest.approx(line.energy_kwh, rel=1e-12)
        k = recording_site(rec, tariff)
        assert k["pv_self_kwh"] + k["pv_export_kwh"] == pytest.approx(k["pv_kwh"], rel=1e-12)
        assert k["peak_shaved_kw"] >= 0 and k["battery_cycles"] > 0
        assert recording_site(rec, flat) == {}


# --- scenario comparison in money and CO2, and the command line -------------------------------
def test_scenarios_compare_in_money_and_co2(kernel, make_project, capsys):
    import json

    from app.cli import main
    from twin.sim.energy import energy_comparison

    doc = _with(SITE)
    doc["scenarios"] = [{"name": "bigger battery", "overrides": [
        {"path": "tariff.battery.capacity_kwh", "value": 20.0}]}]
    project = project_from_json(doc)
    spec = RunSpec(horizon=HORIZON, warmup=WARMUP, replications=4, seed=5,
                   sample_interval=600.0)
    result = run_project(project, ["base", "bigger battery"], spec)
    rows = {r["key"]: r for r in energy_comparison(result)}
    assert {"energy_cost", "energy_cost_energy", "energy_cost_demand", "co2_kg",
            "energy_cost_per_part", "grid_cost", "peak_shaved_kw"} <= set(rows)
    reps = {n: [replication_kpis(sr, r) for r in sr.replications]
            for n, sr in result.scenarios.items()}
    for key in ("grid_cost", "energy_cost"):
        d = [a[f"line.{key}"] - b[f"line.{key}"]
             for a, b in zip(reps["bigger battery"], reps["base"], strict=True)]
        got = rows[key]["vs_base"]["bigger battery"]
        assert got["difference"]["mean"] == pytest.approx(np.mean(d), rel=1e-9, abs=1e-12)
        base = np.mean([r[f"line.{key}"] for r in reps["base"]])
        assert got["percent"]["mean"] == pytest.approx(100 * np.mean(d) / base, rel=1e-9,
                                                       abs=1e-12)
    # the line's own bill does not see the battery (common random numbers: the same runs)
    assert rows["energy_cost"]["vs_base"]["bigger battery"]["difference"]["mean"] == 0.0
    # a bigger battery saves, and never costs
    assert rows["grid_cost"]["vs_base"]["bigger battery"]["difference"]["mean"] <= 0.0
    folder = make_project(doc)
    args = ["run", str(folder), "--horizon", "2d", "--warmup", "1000s", "--replications", "3",
            "--quiet", "--scenario", "base", "--scenario", "bigger battery"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "Energy by scenario" in text and "bigger battery - base" in text
    assert "grid bill per good part" in text and "CO2 per good part" in text
    assert main([*args, "--json"]) == 0
    line = json.loads(capsys.readouterr().out)["bigger battery"]["line"]
    assert set(line["battery_cycles"]) == {"mean", "ci95_halfwidth"}


def test_replay_prints_pv_and_battery(sme_recording, make_project, capsys):
    import json

    from app.cli import main

    doc = _with({"price_per_kwh": 0.25, "battery": {"capacity_kwh": 20, "power_kw": 1e5,
                                                    "efficiency": 0.64, "initial_soc": 1}})
    folder = make_project(doc)
    assert main(["replay", str(sme_recording), "--project", str(folder), "--json"]) == 0
    site = json.loads(capsys.readouterr().out)["energy"]["site"]
    assert site["battery_throughput_kwh"] == pytest.approx(16.0)
    assert "pv_self_share" not in site  # no PV: no PV figures
    assert main(["replay", str(sme_recording), "--project", str(folder)]) == 0
    assert "peak shaved kW" in capsys.readouterr().out


def test_the_day_grid_equals_the_wall_clock_across_a_clock_change():
    from datetime import UTC, datetime

    # Europe/Berlin: 2024-03-31 has 23 hours, 2024-10-27 has 25
    for start in ("2024-03-29", "2024-10-25"):
        clock = Clock.recording(datetime.fromisoformat(start).replace(tzinfo=UTC),
                                "Europe/Berlin")
        sec = 900.0 * np.arange(96)
        got, n = clock.day_grid(0.0, 4 * 86400.0, sec)
        want = [clock.wall(d, x) for d in clock.days(0.0, 4 * 86400.0) for x in sec]
        assert n == len(list(clock.days(0.0, 4 * 86400.0)))
        np.testing.assert_array_equal(got, want)
        mids = got[::96]
        assert {float(b - a) for a, b in zip(mids, mids[1:], strict=False)} == {
            86400.0, 86400.0 + (-3600.0 if start.endswith("03-29") else 3600.0)}
