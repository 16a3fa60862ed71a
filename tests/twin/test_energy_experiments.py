"""Experiments over the energy context (issue 19 §3): factors without an element vary
``tariff.pv.scale`` and the battery, responses are the grid's bill, CO2 and peak. The line's
load is the same at every point (common random numbers; the tariff does not touch the
line), so each point's grid figures must equal the dispatch computed directly from one run
of the base project under that point's PV and battery."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from oracles.lines import exp, serial_line, station

from twin.energy import Clock
from twin.energy_site import site_kpis
from twin.errors import ProjectError
from twin.experiments.study import run_study
from twin.projectfile.reader import project_from_json, project_to_json
from twin.sim.runner import RunSpec, run_project

H = 3600.0
HORIZON = 2 * 86400.0
PV = [0.0] * 7 + [6.0, 10.0, 12.0, 12.0, 12.0, 12.0, 10.0, 6.0] + [0.0] * 9


def _doc(experiment=None):
    doc = serial_line([station("m1", exp(300.0), power_kw={"busy": 12.0, "starved": 1.0}),
                       station("m2", exp(250.0), power_kw={"busy": 9.0, "blocked": 2.0})],
                      [3])
    doc["tariff"] = {"price_per_kwh": 0.2, "co2_g_per_kwh": 300.0,
                     "demand_charge": {"per_kw": 12.0, "billing_period": "1d"},
                     "pv": {"profile_kw": PV, "feed_in_per_kwh": 0.05},
                     "battery": {"capacity_kwh": 20, "power_kw": 6, "threshold_kw": 14}}
    doc["experiments"] = [experiment or {
        "name": "site", "design": "full_factorial", "replications": 2, "seed": 4,
        "horizon": "2d", "warmup": "0s",
        "factors": [{"path": "tariff.pv.scale", "levels": [0, 1, 2]},
                    {"path": "tariff.battery.capacity_kwh", "levels": [5, 40],
                     "cost_per_unit": 300}],
        "responses": ["line.grid_cost", "line.grid_co2_kg", "line.grid_peak_kw_15min",
                      "cost"]}]
    return doc


def test_a_study_over_pv_and_battery_equals_the_dispatch_of_each_point(kernel):
    project = project_from_json(_doc())
    exp_ = project.experiments[0]
    assert [f.name for f in exp_.factors] == ["tariff.pv.scale", "tariff.battery.capacity_kwh"]
    res = run_study(project, "site", executor="serial")
    base = run_project(project, None, RunSpec(horizon=HORIZON, warmup=0.0, replications=2,
                                              seed=4)).scenarios["base"]
    st = [e for e, k in enumerate(base.lowered.element_kinds) if k == "station"]
    grid = res.values["line.grid_cost"]
    for i, point in enumerate(res.points):
        t = project.tariff
        tariff = dataclasses.replace(
            t, pv=dataclasses.replace(t.pv, scale=point["tariff.pv.scale"]),
            battery=dataclasses.replace(t.battery,
                                        capacity_kwh=point["tariff.battery.capacity_kwh"]))
        for r, rep in enumerate(base.replications):
            k = site_kpis(tariff, Clock.simulation(), base.ts_t,
                          rep.ts_energy[:, st].sum(axis=1), 0.0, HORIZON,
                          float(rep.line_out[0]))
            assert grid[i, r] == pytest.approx(k["grid_cost"], rel=1e-9)
            assert res.values["line.grid_co2_kg"][i, r] == pytest.approx(k["grid_co2_kg"],
                                                                          rel=1e-9)
            assert res.values["line.grid_peak_kw_15min"][i, r] == pytest.approx(
                k["grid_peak_kw_15min"], rel=1e-9)
            budget = 300.0 * point["tariff.battery.capacity_kwh"]
            assert res.values["cost"][i, r] == pytest.approx(
                res.values["line.energy_cost"][i, r] + budget)
    # more PV, a lower bill; the line's own cost does not see the site
    by = {(p["tariff.pv.scale"], p["tariff.battery.capacity_kwh"]): i
          for i, p in enumerate(res.points)}
    assert (grid[by[2.0, 40.0]] < grid[by[1.0, 40.0]]).all()
    assert (grid[by[1.0, 40.0]] < grid[by[0.0, 40.0]]).all()
    np.testing.assert_array_equal(res.values["line.energy_cost"][by[0.0, 5.0]],
                                  res.values["line.energy_cost"][by[2.0, 40.0]])


def test_tariff_factors_round_trip_through_the_writer():
    project = project_from_json(_doc())
    doc = project_to_json(project)
    f = doc["experiments"][0]["factors"]
    assert f[0] == {"path": "tariff.pv.scale", "levels": [0.0, 1.0, 2.0]}
    assert "element" not in f[1]
    again = project_from_json(doc)
    assert again.experiments == project.experiments
    doc["tariff"]["pv"]["scale"] = 1.5
    assert project_from_json(doc).tariff.pv.scale == 1.5
    assert project_to_json(project_from_json(doc))["tariff"]["pv"]["scale"] == 1.5
    from tests.test_schema import schema_errors

    assert schema_errors(doc) == [] and schema_errors(_doc()) == []
    doc["tariff"]["pv"]["scale"] = -1
    assert schema_errors(doc)


def _problems(experiment=None, **tariff):
    doc = _doc(experiment)
    doc["tariff"].update(tariff)
    with pytest.raises(ProjectError) as e:
        project_from_json(doc)
    return {p.path: p.message for p in e.value.problems}


def _range_warnings(experiment):
    """A factor's range that gives an invalid energy context: the project loads, with a
    warning per factor (a stored study must not stop the project loading, as an element
    factor's does not), and a study of it refuses it with the same message."""
    from twin.experiments.spec import check_responses

    project = project_from_json(_doc(experiment))
    warned = {p.path: p.message for p in project.warnings}
    with pytest.raises(ProjectError) as e:
        check_responses(project)
    assert {p.path: p.message for p in e.value.problems} == warned
    return warned


def _exp(*factors):
    return {"name": "bad", "factors": list(factors), "responses": ["line.grid_cost"]}


def test_bad_energy_factors_name_their_json_path():
    got = _range_warnings(_exp({"path": "tariff.battery.capacity_kwh", "low": -5,
                                "high": 10}))
    msg = got["$.experiments[0].factors[0]"]
    assert "tariff.battery.capacity_kwh = -5" in msg
    assert "$.tariff.battery.capacity_kwh" in msg and ">= 0" in msg
    got = _problems(_exp({"path": "tariff.battery.size", "low": 1, "high": 2}))
    msg = got["$.experiments[0].factors[0].path"]
    assert "not a number of the energy context" in msg and "tariff.battery.capacity_kwh" in msg
    assert "tariff.pv.scale" in msg
    got = _problems(_exp({"path": "capacity", "low": 1, "high": 2}))
    assert "vary the energy context with a path under tariff" in \
        got["$.experiments[0].factors[0].element"]
    got = _range_warnings(_exp({"path": "tariff.pv.scale", "low": 0, "high": 2000}))
    assert "<= 1000" in got["$.experiments[0].factors[0]"]
    got = _problems(pv={"profile_kw": PV, "scale": -1})
    assert "$.tariff.pv.scale" in got


def test_a_field_at_its_default_can_vary():
    doc = _doc(_exp({"path": "tariff.battery.efficiency", "levels": [0.8, 0.95]}))
    assert "efficiency" not in doc["tariff"]["battery"]
    f = project_from_json(doc).experiments[0].factors[0]
    assert (f.element, f.name) == (None, "tariff.battery.efficiency")
    got = _range_warnings(_exp({"path": "tariff.battery.efficiency", "levels": [0.8, 1.5]}))
    assert "tariff.battery.efficiency = 1.5" in got["$.experiments[0].factors[0]"]


def test_a_tariff_factor_without_a_tariff_is_refused():
    doc = _doc(_exp({"path": "tariff.battery.power_kw", "low": 1, "high": 2}))
    del doc["tariff"]
    with pytest.raises(ProjectError) as e:
        project_from_json(doc)
    msgs = {p.path: p.message for p in e.value.problems}
    assert "has no energy context" in msgs["$.experiments[0].factors[0].path"]
