"""The restarts' own energy in the priced power series (issue 19 §3, twin.sim.restart_energy):
each restart's ``restart_kwh`` spread over its warm-up, so the tariff's cost, 15-minute peak
and CO2 hold it; checked against a by-hand pricing of an exact deterministic trace."""

from __future__ import annotations

import numpy as np
import pytest
from oracles.lines import exp, serial_line, station

from kernels import types as kt
from twin.sim.summary import replication_kpis

H = 3600.0
POWER = {"busy": 10.0, "starved": 4.0, "blocked": 4.0, "standby": 1.0, "warming_up": 6.0}
NIGHT, DAY = 0.10, 0.30  # 22h-6h, 6h-22h
TARIFF = {"price_per_kwh": NIGHT, "periods": [
    {"name": "day", "start": "6h", "end": "22h", "price_per_kwh": DAY,
     "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}],
    "demand_charge": {"per_kw": 10.0, "billing_period": "1d"}, "co2_g_per_kwh": 400.0}
HORIZON = 7 * H


def _doc(restart_kwh: float) -> dict:
    """src (a part at 0 and at 6h - 3 s) -> m (10 s, standby after 20 s starved, a 5 s
    warm-up that straddles the 6h price change) -> sink."""
    m = station("m", 10.0, power_kw=POWER, energy_saving={
        "after_s": 20, "restart_s": 5, "restart_kwh": restart_kwh})
    return {"schema_version": 1, "name": "restart", "tariff": TARIFF, "elements": [
        {"id": "src", "kind": "source", "schedule": [[0, "part", 1], [6 * H - 3, "part", 1]]},
        m, {"id": "sink", "kind": "sink"}], "connections": [["src", "m"], ["m", "sink"]]}


def _by_hand(restart_kwh: float) -> dict:
    """The trace's spans (start, end, kW with the warm-up's restart power), priced piece
    by piece at the price change and the quarter hours."""
    t6 = 6 * H
    warm = POWER["warming_up"] + restart_kwh * H / 5.0
    spans = [(0, 10, 10.0), (10, 30, 4.0), (30, t6 - 3, 1.0), (t6 - 3, t6 + 2, warm),
             (t6 + 2, t6 + 12, 10.0), (t6 + 12, t6 + 32, 4.0), (t6 + 32, HORIZON, 1.0)]
    cuts = np.unique(np.concatenate([[a for a, _, _ in spans], [HORIZON],
                                     np.arange(0, HORIZON + 1, 900.0)]))
    kw = np.array([next(p for a, b, p in spans if a <= x < b) for x in cuts[:-1]])
    kwh = kw * np.diff(cuts) / H
    price = np.where((cuts[:-1] >= t6) & (cuts[:-1] < 22 * H), DAY, NIGHT)
    quarter = np.floor(cuts[:-1] / 900.0)
    peak = max(kwh[quarter == q].sum() / 0.25 for q in np.unique(quarter))
    return {"kwh": kwh.sum(), "energy_cost": float(kwh @ price), "peak": peak,
            "co2": 0.4 * kwh.sum()}


@pytest.mark.parametrize("restart_kwh", [0.0, 0.05])
def test_cost_peak_and_co2_hold_the_restarts_energy(run_doc, restart_kwh):
    sr = run_doc(_doc(restart_kwh), HORIZON, replications=1, log=True, sample_interval=600.0)
    rep = sr.replications[0]
    e = sr.lowered.element_ids.index("m")
    assert rep.el_out[e, kt.O_RESTARTS] == 1
    assert rep.st_time[e, kt.WARMING_UP] == 5.0
    k = replication_kpis(sr, rep)
    want = _by_hand(restart_kwh)
    # energy_kwh (state times x powers + restarts x restart_kwh) and the series agree
    assert k["elements.m.energy_kwh"] == pytest.approx(want["kwh"], rel=1e-12)
    assert rep.ts_energy[-1, e] == pytest.approx(want["kwh"], rel=1e-12)
    assert k["line.energy_cost_energy"] == pytest.approx(want["energy_cost"], rel=1e-12)
    assert k["line.peak_kw_15min"] == pytest.approx(want["peak"], rel=1e-12)
    assert k["line.energy_cost_demand"] == pytest.approx(10.0 * want["peak"], rel=1e-12)
    assert k["line.co2_kg"] == pytest.approx(want["co2"], rel=1e-12)
    assert k["elements.m.co2_kg"] == pytest.approx(want["co2"], rel=1e-12)
    # the states' powers stay the states' own: energy_kwh does not count the restart twice
    assert sr.lowered.arrays.power[e, kt.WARMING_UP] == POWER["warming_up"]


def test_the_restart_energy_moves_cost_into_its_warm_up(run_doc):
    """Same trajectory with and without restart energy: the difference of the bills is
    the restart's 0.05 kWh priced where its warm-up lay (3 s at night, 2 s by day)."""
    a, b = (replication_kpis(sr, sr.replications[0]) for sr in (
        run_doc(_doc(x), HORIZON, replications=1, sample_interval=600.0) for x in (0.0, 0.05)))
    assert b["line.energy_cost_energy"] - a["line.energy_cost_energy"] == pytest.approx(
        0.05 * (3 * NIGHT + 2 * DAY) / 5, rel=1e-9)
    assert b["line.energy_kwh"] - a["line.energy_kwh"] == pytest.approx(0.05, rel=1e-9)


def test_a_random_warm_up_carries_the_restarts_on_average(run_doc):
    """restart_s uniform(2, 8): the series holds restart_kwh / 5 s over every warm-up second
    (an exact identity), and that is restarts x restart_kwh within its 95% interval."""
    m = station("m", exp(60.0), power_kw=POWER, energy_saving={
        "after_s": 30, "restart_s": {"dist": "uniform", "low": 2, "high": 8},
        "restart_kwh": 0.05})
    doc = serial_line([m], [], tariff={"price_per_kwh": 0.2})
    doc["elements"][0]["arrival"] = exp(120.0)
    sr = run_doc(doc, 100 * H, replications=5, warmup=H, sample_interval=900.0)
    e = sr.lowered.element_ids.index("m")
    power = sr.lowered.arrays.power[e]
    gap = []
    for rep in sr.replications:
        k = replication_kpis(sr, rep)
        series = np.interp([H, 100 * H], sr.ts_t, rep.ts_energy[:, e])
        plain = rep.st_time[e] @ power / H
        warm = rep.st_time[e, kt.WARMING_UP]
        assert series[1] - series[0] == pytest.approx(plain + 0.05 * warm / 5.0, rel=1e-9)
        assert k["line.energy_cost_energy"] == pytest.approx(0.2 * (series[1] - series[0]),
                                                             rel=1e-9)
        assert rep.el_out[e, kt.O_RESTARTS] > 500
        gap.append(warm / 5.0 - rep.el_out[e, kt.O_RESTARTS])  # warm-ups' time in means
    # E[warm-up] = 5 s: the warm-up seconds / 5 estimate the restarts
    half = 2.776 * np.std(gap, ddof=1) / np.sqrt(len(gap))
    assert abs(np.mean(gap)) <= half + 1.0  # + 1: a warm-up cut by the warm-up's end


def test_a_simulated_recording_replays_to_the_runs_energy_and_cost(run_doc, tmp_path):
    """The run written as a recording (twin.whatif.simulated): its power channel carries the
    restart's energy over the warm-up, so replaying it under the same tariff gives the run's
    kWh (state times x powers + restarts x restart_kwh), cost with its demand part, peak
    and CO2, and the by-hand figures; without it the replay would miss the 0.05 kWh."""
    from twin.recording import Recording, recording_kpis
    from twin.recording.energy import recording_energy
    from twin.whatif.simulated import write_run_as_recording

    sr = run_doc(_doc(0.05), HORIZON, replications=1, log=True, seed=7, sample_interval=600.0)
    k = replication_kpis(sr, sr.replications[0])
    path = tmp_path / "run.h5"
    write_run_as_recording(sr, 0, path, seed=7)
    with Recording.open(path) as r:
        got = recording_energy(r, sr.project.tariff)
        state_kwh = recording_kpis(r)["m"].energy_kwh
    want = _by_hand(0.05)
    line = got["total"]
    assert line.energy_kwh == pytest.approx(k["line.energy_kwh"], rel=1e-12)
    assert line.energy_kwh == pytest.approx(want["kwh"], rel=1e-12)
    assert got["m"].energy_kwh == pytest.approx(k["elements.m.energy_kwh"], rel=1e-12)
    assert state_kwh == pytest.approx(k["elements.m.energy_kwh"], rel=1e-12)
    assert line.energy_cost == pytest.approx(k["line.energy_cost_energy"], rel=1e-12)
    assert line.demand_cost == pytest.approx(k["line.energy_cost_demand"], rel=1e-12)
    assert line.cost == pytest.approx(k["line.energy_cost"], rel=1e-12)
    assert line.energy_cost == pytest.approx(want["energy_cost"], rel=1e-12)
    assert line.peak_kw_15min == pytest.approx(want["peak"], rel=1e-12)
    assert line.co2_kg == pytest.approx(k["line.co2_kg"], rel=1e-12)
    assert got["m"].co2_kg == pytest.approx(k["elements.m.co2_kg"], rel=1e-12)


def test_validation_and_the_emulator_count_the_restarts_energy_as_the_recording_does(
        run_doc, tmp_path):
    """Validating the recording of a run against its own project finds the same kWh on
    both sides; the emulator's twin figures hold the restart's energy too."""
    from twin.live.emulator import plan_run
    from twin.projectfile.reader import project_from_json
    from twin.recording import Recording
    from twin.whatif.simulated import write_run_as_recording
    from twin.whatif.validation import validate

    sr = run_doc(_doc(0.05), HORIZON, replications=1, log=True, seed=7, sample_interval=600.0)
    path = tmp_path / "run.h5"
    write_run_as_recording(sr, 0, path, seed=7)
    want = _by_hand(0.05)["kwh"]
    with Recording.open(path) as r:
        report = validate(project_from_json(_doc(0.05)), r, replications=2, seed=7,
                          states=False)
    check = next(c for c in report.checks if c.station == "m" and c.kpi == "energy_kwh")
    assert check.recorded == pytest.approx(want, rel=1e-12)
    assert check.sim_mean == pytest.approx(want, rel=1e-12) and not check.flagged
    plan = plan_run(project_from_json(_doc(0.05)), duration=HORIZON, seed=7)
    assert plan.twin["m"]["energy_kwh"] == pytest.approx(want, rel=1e-12)


def test_the_cost_breakdown_puts_the_restarts_energy_in_the_warm_up(run_doc, tmp_path):
    """Per station and state, the warm-up holds its 5 s at 6 kW plus the restart's 0.05
    kWh, so the station's kWh is its energy_kwh and the breakdown of the run's recording
    (exact from its channels) says the same."""
    from twin.recording import Recording
    from twin.recording.energy import recording_breakdown
    from twin.sim.energy import scenario_breakdown
    from twin.whatif.simulated import write_run_as_recording

    sr = run_doc(_doc(0.05), HORIZON, replications=1, log=True, seed=7, sample_interval=600.0)
    b = scenario_breakdown(sr)
    m = b.stations.index("m")
    warm = b.kwh[m, b.states.index("warming_up")]
    assert warm == pytest.approx(5.0 * POWER["warming_up"] / H + 0.05, rel=1e-12)
    assert b.station_kwh()[m] == pytest.approx(_by_hand(0.05)["kwh"], rel=1e-12)
    assert b.station_cost()[m] == pytest.approx(_by_hand(0.05)["energy_cost"], rel=1e-12)
    write_run_as_recording(sr, 0, tmp_path / "run.h5", seed=7)
    with Recording.open(tmp_path / "run.h5") as r:
        rb = recording_breakdown(r, sr.project.tariff)
    k = rb.stations.index("m")
    assert rb.kwh[k, rb.states.index("warming_up")] == pytest.approx(warm, rel=1e-12)
