"""Calibration and validation of a multi-server station: one recorded asset per server,
pooled into one fit per station.

The recording is written by twinbench from a line with known parameters (levels included,
as by default), so the buffer's level channel is in it too and must be skipped. Parameters
are checked against their confidence intervals at a Bonferroni level, so that the whole set
of checks fails with at most 5% chance for a correct implementation (fixed seeds: the
outcome is reproducible).
"""

from __future__ import annotations

import collections
import copy
import math

import pytest
from oracles.lines import exp, operating_failures, serial_line, station, wrong_copy

from kernels import types as kt
from twin.projectfile.reader import project_from_json, project_to_json
from twin.recording import Recording, recording_kpis
from twin.sim.runner import RunSpec, run_project
from twin.whatif.calibration import CalibrationError, calibrate, calibration_scenario
from twin.whatif.simulated import write_run_as_recording
from twin.whatif.validation import validate

HORIZON = 10 * 24 * 3600.0
SEED = 23
TTR = {"dist": "lognormal", "mean": 300.0, "sd": 150.0}
MU = math.log(300.0) - 0.5 * math.log(1.25)
SIGMA = math.sqrt(math.log(1.25))
POWER = {"busy": 6.0, "blocked": 2.0, "starved": 1.0, "down": 0.4}
POWER2 = {"busy": 3.0, "blocked": 1.0, "starved": 0.8, "down": 0.3}
N_PARAMS = 8


def line_doc() -> dict:
    """Two parallel servers (m), a buffer, one server (m2): m2 is the bottleneck, so m is
    blocked at times and m2 starved at times; both fail."""
    m = station("m", {"dist": "gamma", "shape": 3.0, "scale": 40.0}, servers=2,
                failures=operating_failures(exp(2400.0), TTR), power_kw=POWER)
    m2 = station("m2", exp(70.0), failures=operating_failures(exp(3000.0), exp(200.0)),
                 power_kw=POWER2)
    return serial_line([m, m2], [4], name="parallel line")


def wrong_doc() -> dict:
    return wrong_copy(line_doc(), process_mean=30.0)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, kernel):
    """A 10-day recording of the known line (per-server assets and the buffer's level)."""
    path = tmp_path_factory.mktemp("servers") / "line.h5"
    res = run_project(project_from_json(line_doc()),
                      spec=RunSpec(horizon=HORIZON, replications=1, seed=SEED, log=True))
    write_run_as_recording(res.scenarios["base"], 0, path, seed=SEED)
    return path, res.scenarios["base"]


@pytest.fixture(scope="module")
def calibrated(recorded):
    path, _ = recorded
    wrong = project_from_json(wrong_doc())
    with Recording.open(path) as r:
        report = calibrate(wrong, r, level=1 - 0.05 / N_PARAMS)
        rk = recording_kpis(r)
    return wrong, report, rk


def test_the_recording_has_an_asset_per_server_and_the_level(recorded):
    path, sr = recorded
    with Recording.open(path) as r:
        assert r.asset_ids == ("m#0", "m#1", "m2", "b1")
        assert [r.asset(a).server for a in r.asset_ids] == [0, 1, None, None]
        rk = recording_kpis(r)
    e = sr.lowered.element_ids.index("m")
    rep = sr.replications[0]
    assert rk["m#0"].parts_out + rk["m#1"].parts_out == rep.el_out[e, kt.O_OUT]
    assert min(rk["m#0"].failures, rk["m#1"].failures) > 100
    assert rk["m#0"].state_time_s["blocked"] > 0 and rk["m2"].state_time_s["starved"] > 0


def test_one_fit_per_station_recovers_the_known_parameters(calibrated):
    _, report, rk = calibrated
    assert [s.element for s in report.stations] == ["m", "m2"]
    m, m2 = report.station("m"), report.station("m2")
    assert (m.assets, m.servers, m.station_servers) == (["m#0", "m#1"], [0, 1], 2)
    assert (m2.assets, m2.servers, m2.station_servers) == (["m2"], [None], 1)
    truth = [
        (m.process_time.fit("gamma").params["shape"], 3.0),
        (m.process_time.fit("gamma").params["scale"], 40.0),
        (m.time_to_failure.fit("exponential").params["mean"], 2400.0),
        (m.time_to_repair.fit("lognormal").params["mu"], MU),
        (m.time_to_repair.fit("lognormal").params["sigma"], SIGMA),
        (m2.process_time.fit("exponential").params["mean"], 70.0),
        (m2.time_to_failure.fit("exponential").params["mean"], 3000.0),
        (m2.time_to_repair.fit("exponential").params["mean"], 200.0),
    ]
    assert len(truth) == N_PARAMS
    for est, x in truth:
        assert est.covers(x), (est, x)
    assert m.process_time.best.family == "gamma"
    # pooled: every part of both servers but each server's first (started before the
    # recording), every failure interval of both servers (the first of each is left out),
    # and each server's run since its last repair, censored
    both = [rk["m#0"], rk["m#1"]]
    assert m.process_time.n == sum(k.produced for k in both) - 2
    assert m.time_to_failure.n == sum(k.failures for k in both) - 2
    assert m.time_to_failure.n_censored <= 2
    assert m.time_to_repair.n >= sum(k.failures for k in both) - 2
    # power per state is per server and constant in the simulation: recovered exactly
    for cal, power in ((m, POWER), (m2, POWER2)):
        assert set(cal.power) <= set(power)
        for state, est in cal.power.items():
            assert est.mean_kw.value == pytest.approx(power[state], rel=1e-12)


def test_the_report_says_what_was_pooled_and_skipped(calibrated):
    _, report, _ = calibrated
    text = str(report)
    assert "station m (2 assets pooled: m#0 (server 0), m#1 (server 1); 2 of 2 servers)" in text
    assert "station m2 (asset m2; 1 server(s))" in text
    assert "pooled over 2 assets" in report.station("m").process_time.how
    assert "per server, pooled over 2 assets" in report.station("m").time_to_failure.how
    skipped = [n for n in report.notes if n.startswith("level channels skipped")]
    assert len(skipped) == 1 and "'b1' (buffer 'b1')" in skipped[0]
    assert "not a calibration or validation input" in skipped[0]
    assert skipped[0] in text
    doc = report.to_dict()
    assert doc["stations"][0]["assets"] == ["m#0", "m#1"]
    assert doc["stations"][0]["servers"] == [0, 1]
    assert doc["stations"][0]["station_servers"] == 2


def test_exactly_one_override_per_station_and_parameter(calibrated):
    wrong, report, _ = calibrated
    sc = calibration_scenario(report, "calibrated", wrong)
    count = collections.Counter((o.element, o.path) for o in sc.overrides)
    assert set(count) == {(el, p) for el in ("m", "m2")
                          for p in ("process_time", "failures", "power_kw")}
    assert set(count.values()) == {1}


def test_validation_pools_the_servers(recorded, calibrated):
    path, _ = recorded
    wrong, report, _ = calibrated
    project = project_from_json(copy.deepcopy(project_to_json(wrong)))
    project.scenarios.append(calibration_scenario(report, "calibrated", project))
    with Recording.open(path) as r:
        good = validate(project, r, "calibrated", replications=20, seed=5)
        level = 1 - 0.05 / len(good.checks)
        good = validate(project, r, "calibrated", replications=20, seed=5, level=level)
        bad = validate(project, r, None, replications=20, seed=5, level=level)
    # one check per station and KPI: the servers' assets are one station
    keys = collections.Counter((c.station, c.kpi) for c in good.checks)
    assert {s for s, _ in keys} == {"m", "m2"} and set(keys.values()) == {1}
    assert good.flagged == [], str(good)
    rec = good.check("m", "parts_out").recorded
    assert rec == pytest.approx(good.check("m", "parts_out").sim_mean, rel=0.05)
    assert any("level channels skipped" in n for n in good.notes)
    assert not any("servers recorded" in n for n in good.notes)
    flagged = {(c.station, c.kpi) for c in bad.flagged}
    assert ("m", "energy_kwh") in flagged and ("m2", "energy_kwh") in flagged


def test_mappings_that_contradict_the_servers(recorded):
    path, _ = recorded
    project = project_from_json(line_doc())
    with Recording.open(path) as r:
        with pytest.raises(CalibrationError, match="server 5 of station 'm'"):
            calibrate(project, r, assets={"m#0": ("m", 5)})
        with pytest.raises(CalibrationError, match="both server 0 of station 'm'"):
            calibrate(project, r, assets={"m#0": ("m", 0), "m#1": ("m", 0)})
        with pytest.raises(CalibrationError, match="1 server.* but 2 assets"):
            calibrate(project, r, assets={"m#0": "m2", "m#1": "m2"})
        with pytest.raises(CalibrationError, match="'b1', a buffer, not a station"):
            calibrate(project, r, assets={"m2": "b1"})
        with pytest.raises(CalibrationError, match="no recorded asset maps to a station"):
            calibrate(project, r, assets={"b1": "b1"})
        # one server recorded: its fit stands for the station, nothing is mixed
        one = calibrate(project, r, assets={"m#1": "m", "b1": "b1"})
        assert one.station("m").servers == [1] and one.station("m").notes == []
        assert any("'b1' (buffer 'b1')" in n for n in one.notes)
        # an asset without a server index alone on a 2-server station may be the whole
        # station: the report says that its samples would mix the servers
        whole = calibrate(project, r, assets={"m2": "m"})
        assert whole.station("m").servers == [None]
        assert "mix the servers" in whole.station("m").notes[0]
