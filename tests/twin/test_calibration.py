"""The whole loop: simulate a known line, record it, calibrate a wrong copy, validate.

Parameters are checked against their confidence intervals with a Bonferroni level, so that
the whole set of checks has at most a 5% chance of failing for a correct implementation
(the seeds are fixed, so the outcome is reproducible).
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import pytest
from oracles.lines import exp, operating_failures, serial_line, station, wrong_copy

from twin.projectfile.reader import project_from_json, project_to_json, with_scenario
from twin.recording import Recording, import_recording
from twin.sim.runner import RunSpec, run_project
from twin.whatif.calibration import (
    CalibrationError,
    add_calibrated_scenario,
    calibrate,
    calibration_scenario,
)
from twin.whatif.fitting import FitError, fit_family
from twin.whatif.simulated import SimRecordingError, write_run_as_recording
from twin.whatif.validation import validate

ROOT = Path(__file__).resolve().parents[2]
SME_CSV = ROOT.parent / "shared/data/sme-retrofit/company_A_labelled_subset.csv"  # beside repo
SME_MAPPING = ROOT / "resources" / "mappings" / "sme_retrofit_mapping.json"

HORIZON = 10 * 24 * 3600.0
SEED = 11
TTR1 = {"dist": "lognormal", "mean": 300.0, "sd": 150.0}
MU1 = math.log(300.0) - 0.5 * math.log(1.25)
SIGMA1 = math.sqrt(math.log(1.25))
POWER1 = {"busy": 5.0, "blocked": 1.5, "starved": 1.0, "down": 0.5}
POWER2 = {"busy": 3.0, "blocked": 1.0, "starved": 0.8, "down": 0.3}


def line_doc() -> dict:
    m1 = station("m1", {"dist": "gamma", "shape": 4.0, "scale": 15.0},
                 failures=operating_failures(exp(1800.0), TTR1), power_kw=POWER1)
    m2 = station("m2", exp(50.0), failures=operating_failures(exp(2400.0), exp(240.0)),
                 power_kw=POWER2)
    return serial_line([m1, m2], [3], name="known line")


def wrong_doc() -> dict:
    return wrong_copy(line_doc(), process_mean=90.0)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, kernel):
    """A 10-day recording of the known line (with the buffer's level, as by default), and
    the simulated run it came from."""
    path = tmp_path_factory.mktemp("rec") / "line.h5"
    project = project_from_json(line_doc())
    res = run_project(project, spec=RunSpec(horizon=HORIZON, replications=1, seed=SEED,
                                            log=True))
    write_run_as_recording(res.scenarios["base"], 0, path, seed=SEED)
    return path, res.scenarios["base"]


def test_recording_replays_to_the_simulated_kpis(recorded):
    from kernels import types as kt
    from twin.recording import recording_kpis

    path, sr = recorded
    rep = sr.replications[0]
    with Recording.open(path) as r:
        rk = recording_kpis(r)
    assert set(rk) == {"m1", "m2", "b1"}
    for sid in ("m1", "m2"):
        e = sr.lowered.element_ids.index(sid)
        k = rk[sid]
        assert (k.t0, k.t1) == (0.0, HORIZON)
        assert k.parts_out == rep.el_out[e, kt.O_OUT]
        assert k.scrap == rep.el_out[e, kt.O_SCRAP]
        assert k.failures == rep.el_out[e, kt.O_FAILURES]
        for code, name in enumerate(kt.STATE_NAMES):
            assert k.state_time_s[name] == pytest.approx(rep.st_time[e, code], rel=1e-12,
                                                         abs=1e-6)
        energy = float(rep.st_time[e] @ sr.lowered.arrays.power[e]) / 3600.0
        assert k.energy_kwh == pytest.approx(energy, rel=1e-12)


def test_wrong_seed_is_refused(recorded, tmp_path):
    _, sr = recorded
    with pytest.raises(SimRecordingError, match="seed"):
        write_run_as_recording(sr, 0, tmp_path / "x.h5", seed=SEED + 1)
    with pytest.raises(SimRecordingError, match="replication 3"):
        write_run_as_recording(sr, 3, tmp_path / "x.h5", seed=SEED)


def test_run_without_log_is_refused(kernel, tmp_path):
    project = project_from_json(line_doc())
    res = run_project(project, spec=RunSpec(horizon=3600.0, replications=1, seed=1))
    with pytest.raises(SimRecordingError, match="log=True"):
        write_run_as_recording(res.scenarios["base"], 0, tmp_path / "x.h5", seed=1)


@pytest.fixture(scope="module")
def calibrated(recorded):
    path, _ = recorded
    wrong = project_from_json(wrong_doc())
    n_params = 8
    with Recording.open(path) as r:
        report = calibrate(wrong, r, level=1 - 0.05 / n_params)
    return wrong, report


def test_known_parameters_lie_in_their_intervals(calibrated):
    _, report = calibrated
    m1, m2 = report.station("m1"), report.station("m2")
    truth = [
        (m1.process_time.fit("gamma").params["shape"], 4.0),
        (m1.process_time.fit("gamma").params["scale"], 15.0),
        (m1.time_to_failure.fit("exponential").params["mean"], 1800.0),
        (m1.time_to_repair.fit("lognormal").params["mu"], MU1),
        (m1.time_to_repair.fit("lognormal").params["sigma"], SIGMA1),
        (m2.process_time.fit("exponential").params["mean"], 50.0),
        (m2.time_to_failure.fit("exponential").params["mean"], 2400.0),
        (m2.time_to_repair.fit("exponential").params["mean"], 240.0),
    ]
    for est, x in truth:
        assert est.covers(x), (est, x)
    # with ~14000 cycles the gamma shape is unmistakable
    assert m1.process_time.best.family == "gamma"
    assert m1.process_time.n >= 10_000 and m1.time_to_failure.n >= 200
    # power per state is constant in the simulation: recovered exactly
    for cal, power in ((m1, POWER1), (m2, POWER2)):
        for state, est in cal.power.items():
            assert est.mean_kw.value == pytest.approx(power[state], rel=1e-12)


def test_report_prints_and_serialises(calibrated):
    _, report = calibrated
    text = str(report)
    assert "station m1" in text and "process_time" in text and "power busy" in text
    doc = json.loads(json.dumps(report.to_dict()))
    assert doc["stations"][0]["element"] == "m1"
    assert doc["stations"][0]["assets"] == ["m1"] and doc["stations"][0]["servers"] == [None]
    # the buffer's level channel is recorded but is no calibration input: skipped, said so
    assert [s["element"] for s in doc["stations"]] == ["m1", "m2"]
    assert "level channels skipped: 'b1' (buffer 'b1')" in text


def test_scenario_is_added_not_applied(calibrated):
    wrong, report = calibrated
    project = project_from_json(copy.deepcopy(project_to_json(wrong)))
    before = project_to_json(project)["elements"]
    sc = add_calibrated_scenario(project, report, "calibrated")
    assert project_to_json(project)["elements"] == before
    assert [o.element for o in sc.overrides] == ["m1", "m1", "m1", "m2", "m2", "m2"]
    variant = with_scenario(project, "calibrated")
    assert variant.element("m1").process_time.dist == "gamma"
    # m2 feeds the sink and is never blocked: that state has no data and no override
    assert variant.element("m2").power_kw == {k: POWER2[k] for k in ("busy", "starved", "down")}
    with pytest.raises(CalibrationError, match="already"):
        add_calibrated_scenario(project, report, "calibrated")
    # the project still round-trips through its JSON form with the new scenario
    assert project_from_json(project_to_json(project)).scenario("calibrated") == sc


def test_validation_flags_the_wrong_model_only(recorded, calibrated):
    path, _ = recorded
    wrong, report = calibrated
    project = project_from_json(project_to_json(wrong))
    project.scenarios.append(calibration_scenario(report, "calibrated", project))
    with Recording.open(path) as r:
        good = validate(project, r, "calibrated", replications=20, seed=5)
        level = 1 - 0.05 / len(good.checks)
        good = validate(project, r, "calibrated", replications=20, seed=5, level=level)
        bad = validate(project, r, None, replications=20, seed=5, level=level)
    assert good.flagged == [], str(good)
    assert {c.station for c in good.checks} == {"m1", "m2"}
    assert any(n.startswith("level channels skipped: 'b1'") for n in good.notes)
    flagged = {(c.station, c.kpi) for c in bad.flagged}
    assert ("m1", "parts_out") in flagged and ("m2", "energy_kwh") in flagged
    assert all(c.deviation > 0 for c in bad.flagged)
    assert "OUTSIDE" in str(bad)


def test_bad_inputs(recorded):
    path, _ = recorded
    project = project_from_json(line_doc())
    with Recording.open(path) as r:
        with pytest.raises(CalibrationError, match="not a station"):
            calibrate(project, r, assets={"m1": "b1"})
        with pytest.raises(CalibrationError, match="no asset"):
            calibrate(project, r, assets={"m9": "m1"})
        with pytest.raises(CalibrationError, match="level"):
            calibrate(project, r, level=95)
    with pytest.raises(FitError, match="too few"):
        fit_family("gamma", [1.0, 2.0])


def test_censored_exponential_mean_uses_exposure():
    x = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    fit = fit_family("exponential", x, censored=[100.0])
    assert fit.params["mean"].value == pytest.approx(250.0 / 5)
    assert fit.n_censored == 1


@pytest.mark.skipif(not SME_CSV.exists(), reason=f"SME retrofit data not found at {SME_CSV}")
def test_sme_recording_calibrates_plausibly(tmp_path):
    import csv
    from datetime import datetime

    out = tmp_path / "sme.h5"
    import_recording(SME_CSV, SME_MAPPING, out)
    doc = {"schema_version": 1, "name": "sme", "elements": [
        {"id": "src", "kind": "source"},
        *({"id": f"m{k}", "kind": "station", "process_time": 60.0} for k in range(3)),
        {"id": "sink", "kind": "sink"}],
        "connections": [*(["src", f"m{k}"] for k in range(3)), *([f"m{k}", "sink"]
                                                                  for k in range(3))]}
    project = project_from_json(doc)
    with Recording.open(out) as r:
        report = calibrate(project, r, assets={str(k): f"m{k}" for k in range(3)})
    # independent computation straight from the CSV
    rows = list(csv.DictReader(SME_CSV.open()))
    for k in range(3):
        cal = report.station(f"m{k}")
        mine = [row for row in rows if row["asset"] == str(k)]
        busy = [float(row["power_avg"]) for row in mine
                if row["status"] in ("1", "1.0", "2", "2.0") and row["power_avg"] != ""]
        p_busy = cal.power["busy"].mean_kw
        # buckets off the 5-minute grid are cut short in replay, so the time weights differ
        # slightly from a plain mean of the CSV rows
        assert p_busy.value == pytest.approx(np.mean(busy), rel=0.05)
        assert p_busy.ci_low <= p_busy.value <= p_busy.ci_high
        pt = cal.process_time
        assert pt.n > 20 and pt.best is not None
        assert 1.0 < pt.best.mean.value < 3600.0  # seconds per item: plausible for machining
        # whole busy buckets (the asset's next bucket starts >= 300 s later) with items:
        # 300 s / items each, as the calibration defines bucket cycle times
        mine.sort(key=lambda row: datetime.fromisoformat(row["ts"]))
        ts = [datetime.fromisoformat(row["ts"]).timestamp() for row in mine] + [math.inf]
        cycles = [300.0 / float(row["items"]) for i, row in enumerate(mine)
                  if row["status"] in ("1", "1.0", "2", "2.0")
                  and row["items"] not in ("", "0", "0.0") and ts[i + 1] - ts[i] >= 300.0]
        assert pt.n == len(cycles)
        assert pt.sample_mean == pytest.approx(np.mean(cycles), rel=1e-9)
    assert "bucket" in str(report)
