"""Energy per shift, the cost breakdown per station and state with its Sankey flows, and the
scenario comparison of ``twinbench run --json`` (issue 19 §3-§4), against independent
computations: the shifts priced window by window from the run's power time series, the
breakdown from the per-state times and the states' powers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from oracles.lines import exp, operating_failures, serial_line, station

from kernels import types as kt
from twin.energy import Clock
from twin.energy_breakdown import node_balance, sankey_flows
from twin.energy_shifts import shift_names, shift_spans
from twin.energy_site import site_curve
from twin.model import elements as m
from twin.projectfile.reader import project_from_json
from twin.sim.energy import scenario_breakdown
from twin.sim.runner import RunSpec, run_project
from twin.sim.summary import replication_kpis, summarize

DAY, H = 86400.0, 3600.0
HORIZON, WARMUP = 3 * DAY, 1000.0
DAYTIME, NIGHT = 0.30, 0.10  # 6h-22h, else
POWER = {"m1": {"busy": 20.0, "starved": 2.0, "down": 0.5, "off": 0.3},
         "m2": {"busy": 15.0, "starved": 1.0, "blocked": 3.0, "down": 0.5, "off": 0.2}}
# an early shift that starts off the quarter-hour grid and a late one with a break
CALENDAR = {"shifts": [{"start": "6h05min", "end": "14h", "name": "early"},
                       {"start": "14h", "end": "21h50min", "name": "late"}],
            "breaks": [{"start": "18h", "end": "18h30min"}]}
TARIFF = {"price_per_kwh": NIGHT, "periods": [
    {"name": "day", "start": "6h", "end": "22h", "price_per_kwh": DAYTIME,
     "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}],
    "demand_charge": {"per_kw": 10.0, "billing_period": "1d"}, "co2_g_per_kwh": 400.0}


def _doc(tariff=TARIFF, calendar=CALENDAR):
    fail = operating_failures(exp(3 * H), exp(1800.0))
    doc = serial_line([station("m1", exp(300.0), power_kw=POWER["m1"], failures=fail),
                       station("m2", exp(250.0), power_kw=POWER["m2"], failures=fail)], [3])
    doc["tariff"] = tariff
    if calendar is not None:
        doc["calendar"] = calendar
    return doc


@pytest.fixture(scope="module")
def run(kernel):
    project = project_from_json(_doc())
    spec = RunSpec(horizon=HORIZON, warmup=WARMUP, replications=3, seed=5,
                   sample_interval=700.0)
    return run_project(project, None, spec).scenarios["base"]


def _price(t: float) -> float:
    return DAYTIME if 6 * H <= t % DAY < 22 * H else NIGHT


def _shift_oracle(sr, rep, a: float, b: float, only: int | None = None) -> dict:
    """The shift ``[a, b]`` priced piece by piece on the run's own samples (the shift's
    edges must be samples), the 15-minute windows cut at its edges; of the line, or of
    station ``only`` (an element index) alone."""
    st = [e for e, k in enumerate(sr.lowered.element_kinds)
          if k == "station" and only in (None, e)]
    t = sr.ts_t
    assert a in t and b in t  # the grid holds the shift's edges
    quarters = np.arange(np.ceil(a / 900) * 900, b, 900.0)
    changes = [c for c in np.concatenate([6 * H + DAY * np.arange(4), 22 * H + DAY * np.arange(4)])
               if a < c < b]  # the price's changes
    edges = np.unique(np.concatenate([[a, b], quarters, changes]))
    line = rep.ts_energy[:, st].sum(axis=1)
    kwh = np.diff(np.interp(edges, t, line))
    left = edges[:-1]
    cost = float(kwh @ np.array([_price(x) for x in left]))
    # 15-minute windows: group the pieces by quarter hour
    q = np.floor(left / 900 + 1e-9)
    kw = [kwh[q == k].sum() / (np.diff(edges)[q == k].sum() / H) for k in np.unique(q)]
    good = np.interp([a, b], t, rep.ts_line[:, kt.TS_GOOD])
    return {"kwh": kwh.sum(), "cost": cost, "co2": 0.4 * kwh.sum(), "peak": max(kw),
            "good": good[1] - good[0]}


def test_shifts_are_named_and_their_occurrences_found():
    cal = project_from_json(_doc()).calendar
    assert shift_names(cal) == ["early", "late"]
    spans = shift_spans(cal, Clock.simulation(), WARMUP, HORIZON)
    assert [(n, a / H, b / H) for n, a, b in spans][:3] == [
        ("early", 6 + 5 / 60, 14.0), ("late", 14.0, 21 + 50 / 60), ("early", 30 + 5 / 60, 38.0)]
    assert len(spans) == 6
    unnamed = m.Calendar((m.Period(0.0, 3600.0), m.Period(7200.0, 9000.0, "a.b")))
    assert shift_names(unnamed) == ["shift1", "a_b"]  # a dot would nest the KPI name


def test_figures_per_shift_equal_the_power_time_series(run):
    spans = shift_spans(run.project.calendar, Clock.simulation(), WARMUP, HORIZON)
    for rep in run.replications:
        k = replication_kpis(run, rep)
        for name in ("early", "late"):
            o = [_shift_oracle(run, rep, a, b) for n, a, b in spans if n == name]
            p = f"line.shifts.{name}."
            assert len(o) == 3  # three days, each shift wholly after the warm-up
            assert k[p + "energy_kwh"] == pytest.approx(np.mean([x["kwh"] for x in o]),
                                                        rel=1e-9)
            assert k[p + "energy_cost_energy"] == pytest.approx(
                np.mean([x["cost"] for x in o]), rel=1e-9)
            assert k[p + "co2_kg"] == pytest.approx(np.mean([x["co2"] for x in o]), rel=1e-9)
            assert k[p + "peak_kw_15min"] == pytest.approx(max(x["peak"] for x in o),
                                                           rel=1e-9)
            good = sum(x["good"] for x in o)
            assert k[p + "good_parts"] == pytest.approx(good / 3)
            assert k[p + "energy_cost_per_part"] == pytest.approx(
                sum(x["cost"] for x in o) / good, rel=1e-9)
        # all six shifts' occurrences share the line's cost and CO2
        assert k["line.energy_cost_per_shift"] == pytest.approx(k["line.energy_cost"] / 6)
        assert k["line.co2_kg_per_shift"] == pytest.approx(k["line.co2_kg"] / 6)
        # the early shift pays the day price throughout: its mean price is the day's
        e = k["line.shifts.early.energy_cost_energy"] / k["line.shifts.early.energy_kwh"]
        assert e == pytest.approx(DAYTIME)


def test_each_station_per_shift_equals_its_power_time_series(run):
    spans = shift_spans(run.project.calendar, Clock.simulation(), WARMUP, HORIZON)
    low = run.lowered
    for rep in run.replications:
        k = replication_kpis(run, rep)
        for name in ("early", "late"):
            total = 0.0
            for sid in ("m1", "m2"):
                e = low.element_ids.index(sid)
                o = [_shift_oracle(run, rep, a, b, e) for n, a, b in spans if n == name]
                p = f"elements.{sid}.shifts.{name}."
                assert k[p + "energy_kwh"] == pytest.approx(np.mean([x["kwh"] for x in o]),
                                                            rel=1e-9)
                assert k[p + "energy_cost_energy"] == pytest.approx(
                    np.mean([x["cost"] for x in o]), rel=1e-9)
                assert k[p + "co2_kg"] == pytest.approx(np.mean([x["co2"] for x in o]),
                                                        rel=1e-9)
                assert k[p + "energy_kwh"] > 0
                total += k[p + "energy_kwh"]
            assert total == pytest.approx(k[f"line.shifts.{name}.energy_kwh"], rel=1e-12)
    doc = summarize(run)  # run --json: elements.<id>.shifts.<shift>.{mean, ci95_halfwidth}
    rows = [replication_kpis(run, r) for r in run.replications]
    stat = doc["elements"]["m2"]["shifts"]["early"]["co2_kg"]
    x = np.array([r["elements.m2.shifts.early.co2_kg"] for r in rows])
    assert stat["mean"] == pytest.approx(x.mean())
    assert stat["ci95_halfwidth"] == pytest.approx(4.303 * x.std(ddof=1) / np.sqrt(3))
    assert set(doc["elements"]["m1"]["shifts"]["late"]) == {
        "energy_kwh", "energy_cost_energy", "co2_kg"}


def test_run_json_has_the_shifts_with_intervals(run):
    doc = summarize(run)
    rows = [replication_kpis(run, r) for r in run.replications]
    stat = doc["line"]["shifts"]["late"]["energy_cost_energy"]
    x = np.array([r["line.shifts.late.energy_cost_energy"] for r in rows])
    assert stat["mean"] == pytest.approx(x.mean())
    assert stat["ci95_halfwidth"] == pytest.approx(4.303 * x.std(ddof=1) / np.sqrt(3))
    assert stat["ci95_halfwidth"] > 0


def test_the_breakdown_is_the_per_state_times_and_its_flows_balance(run):
    b = scenario_breakdown(run)
    low = run.lowered
    st = [e for e, k in enumerate(low.element_kinds) if k == "station"]
    assert b.stations == ("m1", "m2") and b.states == tuple(kt.STATE_NAMES)
    for i, e in enumerate(st):
        sid = low.element_ids[e]
        for j, state in enumerate(kt.STATE_NAMES):
            hours = np.mean([rep.st_time[e, j] for rep in run.replications]) / H
            assert b.kwh[i, j] == pytest.approx(hours * POWER[sid].get(state, 0.0), rel=1e-12)
        cost = np.mean([replication_kpis(run, r)[f"elements.{sid}.energy_cost"]
                        for r in run.replications])
        assert b.cost[i].sum() == pytest.approx(cost, rel=1e-9)
        assert b.kwh[i, kt.STATE_NAMES.index("busy")] > 0
    # each station's kWh over its states is its power time series after the warm-up
    for i, e in enumerate(st):
        cum = [np.interp([WARMUP, HORIZON], run.ts_t, rep.ts_energy[:, e])
               for rep in run.replications]
        assert b.kwh[i].sum() == pytest.approx(np.mean([c[1] - c[0] for c in cum]), rel=1e-9)
    kwh = b.kwh.sum()
    assert b.supplies == pytest.approx({"grid": kwh})  # no PV, no battery
    flows = sankey_flows(b)
    for node, (into, out) in node_balance(flows).items():
        if node.startswith("station:"):
            assert into == pytest.approx(out, rel=1e-12)
        elif node.startswith("supply:"):
            assert into == 0 and out == pytest.approx(b.supplies[node[7:]])
        else:
            assert out == 0
    total_in = sum(f.kwh for f in flows if f.source.startswith("supply:"))
    assert total_in == pytest.approx(sum(f.kwh for f in flows if f.target.startswith("state:")))
    assert sum(f.cost for f in flows if f.source.startswith("supply:")) == pytest.approx(
        b.cost.sum())


def test_pv_and_battery_supplies_are_the_dispatch(kernel):
    tariff = dict(TARIFF, pv={"profile_kw": [0.0] * 8 + [10.0] * 8 + [0.0] * 8},
                  battery={"capacity_kwh": 20, "power_kw": 8, "threshold_kw": 15})
    project = project_from_json(_doc(tariff))
    sr = run_project(project, None, RunSpec(horizon=DAY, warmup=WARMUP, replications=2,
                                            seed=2)).scenarios["base"]
    b = scenario_breakdown(sr)
    st = [e for e, k in enumerate(sr.lowered.element_kinds) if k == "station"]
    ds = [site_curve(sr.project.tariff, Clock.simulation(), sr.ts_t,
                     rep.ts_energy[:, st].sum(axis=1), WARMUP, DAY, sr.project.tariff.battery)
          for rep in sr.replications]
    pv = np.mean([d.kwh(d.pv_load) for d in ds])
    bat = np.mean([d.kwh(d.discharge) for d in ds])
    assert pv > 0 and bat > 0
    assert b.supplies["PV"] == pytest.approx(pv, rel=1e-9)
    assert b.supplies["battery"] == pytest.approx(bat, rel=1e-9)
    assert sum(b.supplies.values()) == pytest.approx(b.kwh.sum(), rel=1e-9)
    for node, (into, out) in node_balance(sankey_flows(b)).items():
        if node.startswith("station:"):
            assert into == pytest.approx(out, rel=1e-12)


def test_run_json_compares_scenarios_paired(kernel, make_project, capsys):
    from app.cli import main

    doc = _doc(calendar=None)
    doc["scenarios"] = [{"name": "slow", "overrides": [
        {"element": "m1", "path": "process_time.mean", "value": 330.0}]}]
    folder = make_project(doc)
    assert main(["run", str(folder), "--scenario", "base", "--scenario", "slow", "--json",
                 "--horizon", "1d", "--warmup", "1000", "--replications", "3",
                 "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    block = out["slow"]["compared_to_base"]
    assert block["base"] == "base" and "common random numbers" in block["pairing"]
    assert "compared_to_base" not in out["base"]
    for key in ("energy_cost", "co2_kg", "peak_kw_15min", "throughput_per_hour"):
        d, pct = block[key]["difference"], block[key]["percent"]
        assert set(d) == {"mean", "ci95_halfwidth"}
        base = out["base"]["line"][key]["mean"]
        assert d["mean"] == pytest.approx(out["slow"]["line"][key]["mean"] - base, abs=1e-9)
        assert pct["mean"] == pytest.approx(100 * d["mean"] / abs(base))
    assert block["throughput_per_hour"]["difference"]["mean"] < 0  # slower: less output


def test_run_prints_the_shifts(kernel, make_project, capsys):
    from app.cli import main

    folder = make_project(_doc())
    assert main(["run", str(folder), "--horizon", "1d", "--warmup", "1000",
                 "--replications", "2", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "per shift" in text
    rows = [r.split() for r in text.splitlines() if r.strip().startswith(("early", "late"))]
    assert [r[0] for r in rows] == ["early", "late"]
