"""The energy context (``$.tariff``, issue 19 §1): its shapes, old files, round trips, and a
clear error with its JSON path for every bad input (twin.projectfile.energy)."""

from __future__ import annotations

import copy
import json

import pytest
from oracles.lines import serial_line, station

from twin.errors import ProjectError
from twin.model import elements as m
from twin.projectfile.reader import load_project, project_from_json, project_to_json, read_tariff

DOC = serial_line([station("m1", 60.0, power_kw={"busy": 10.0})], [])


def _hourly_csv(folder, name, values, start="2024-01-01T00:00:00+00:00", step_h=1.0,
                header=True):
    from datetime import datetime, timedelta

    t0 = datetime.fromisoformat(start)
    rows = ["time,value"] if header else []
    rows += [f"{(t0 + timedelta(hours=step_h * i)).isoformat()},{v}"
             for i, v in enumerate(values)]
    (folder / name).write_text("\n".join(rows) + "\n")


def _with(tariff: dict) -> dict:
    doc = copy.deepcopy(DOC)
    doc["tariff"] = tariff
    return doc


def _problems(doc, folder=None) -> list:
    with pytest.raises(ProjectError) as e:
        project_from_json(doc, folder=folder)
    return [(p.path, p.message) for p in e.value.problems]


def test_an_old_flat_or_hourly_tariff_reads_as_before():
    flat = project_from_json(_with({"price_per_kwh": 0.2, "currency": "CHF"})).tariff
    assert flat == m.Tariff(0.2, (), "CHF")
    hourly = project_from_json(_with({"hourly": [0.1] * 12 + [0.3] * 12})).tariff
    assert hourly.hourly == (0.1,) * 12 + (0.3,) * 12 and not hourly.periods
    # written back in the old shape: an older twinbench still opens it
    assert project_to_json(project_from_json(_with({"price_per_kwh": 0.2})))["tariff"] == {
        "price_per_kwh": 0.2, "currency": "EUR"}


def test_the_full_context_round_trips(tmp_path):
    _hourly_csv(tmp_path, "co2.csv", [300, 400, 500])
    tariff = {"price_per_kwh": 0.3, "currency": "EUR",
              "periods": [{"name": "night", "start": "22h", "end": "6h", "price_per_kwh": 0.1,
                           "days": ["mon", "sun"]},
                          {"start": 0, "end": "24h", "price_per_kwh": 0.05, "days": ["sat"]}],
              "demand_charge": {"per_kw": 12.5, "billing_period": "30d"},
              "co2_g_per_kwh": "co2.csv", "timezone": "Europe/Berlin"}
    t = project_from_json(_with(tariff), folder=tmp_path).tariff
    assert t.periods[0] == m.TouPeriod(22 * 3600.0, 6 * 3600.0, 0.1, (0, 6), "night")
    assert t.periods[1].end == 0.0  # "24h": to midnight
    assert t.demand_charge_per_kw == 12.5 and t.billing_period == 30 * 86400.0
    assert t.co2_series.values == (300.0, 400.0, 500.0) and t.co2_series.step == 3600.0
    assert t.timezone == "Europe/Berlin"
    again = project_from_json(project_to_json(project_from_json(_with(tariff),
                                                                folder=tmp_path)),
                              folder=tmp_path).tariff
    assert again == t
    from tests.test_schema import schema_errors

    assert schema_errors(_with(tariff)) == []
    assert schema_errors(project_to_json(project_from_json(_with(tariff), folder=tmp_path))) \
        == []
    assert schema_errors(_with({**tariff, "demand_charge": {"billing_period": "1d"}}))


def test_a_price_series_beside_the_project_loads_with_the_project(make_project):
    folder = make_project(_with({"price_series": "prices.csv"}))
    _hourly_csv(folder, "prices.csv", [0.1, 0.2, 0.3, 0.4], step_h=0.25, header=False)
    t = load_project(folder).tariff
    assert t.price_series.step == 900.0 and t.price_series.values == (0.1, 0.2, 0.3, 0.4)


BAD = [
    ({"periods": [{"start": "22h", "end": "6h", "price_per_kwh": 0.1},
                  {"start": "5h", "end": "8h", "price_per_kwh": 0.2, "days": ["tue"]}]},
     "$.tariff.periods[1]", "overlaps $.tariff.periods[0] on tue at 05:00"),
    ({"periods": [{"start": "6h", "end": "6h", "price_per_kwh": 0.1}]},
     "$.tariff.periods[0].end", "equals start"),
    ({"periods": [{"start": "25h", "end": "6h", "price_per_kwh": 0.1}]},
     "$.tariff.periods[0].start", "time of day"),
    ({"periods": [{"start": "1h", "end": "6h", "price_per_kwh": -1}]},
     "$.tariff.periods[0].price_per_kwh", "a price >= 0"),
    ({"periods": [{"start": "1h", "end": "6h", "price_per_kwh": 1, "days": ["monday"]}]},
     "$.tariff.periods[0].days", "distinct days"),
    ({"periods": [{"start": "1h", "price_per_kwh": 1}]}, "$.tariff.periods[0].end",
     "is required"),
    ({"hourly": [0.1] * 24, "periods": []}, None, None),  # an empty list is no second kind
    ({"hourly": [0.1] * 24, "periods": [{"start": 0, "end": 60, "price_per_kwh": 1}]},
     "$.tariff.periods", "give one of hourly, periods or price_series"),
    ({"demand_charge": {"per_kw": 10, "billing_period": "10min"}},
     "$.tariff.demand_charge.billing_period", 'at least "15min"'),
    ({"demand_charge": {"billing_period": "30d"}}, "$.tariff.demand_charge.per_kw",
     "is required"),
    ({"demand_charge": {"per_kw": -3}}, "$.tariff.demand_charge.per_kw", ">= 0"),
    ({"co2_g_per_kwh": -5}, "$.tariff.co2_g_per_kwh", "g/kWh >= 0"),
    ({"timezone": "Mars/Olympus"}, "$.tariff.timezone", "IANA time zone"),
    ({"peak": 3}, "$.tariff.peak", "unknown field"),
    ({"price_series": "missing.csv"}, "$.tariff.price_series", "cannot read"),
]


@pytest.mark.parametrize(("tariff", "path", "words"), BAD)
def test_bad_energy_inputs_name_their_path(tmp_path, tariff, path, words):
    if path is None:
        assert project_from_json(_with(tariff), folder=tmp_path).tariff is not None
        return
    found = _problems(_with(tariff), tmp_path)
    assert any(p == path and words in msg for p, msg in found), found


@pytest.mark.parametrize(("values", "start", "words"), [
    ([0.1, "", 0.3], None, "price '' must be a number >= 0"),
    ([0.1, -0.2, 0.3], None, "line 3: price '-0.2' must be a number >= 0"),
    ([0.1], None, "needs at least two rows"),
])
def test_bad_price_series_values(tmp_path, values, start, words):
    _hourly_csv(tmp_path, "p.csv", values)
    found = _problems(_with({"price_series": "p.csv"}), tmp_path)
    assert any(p == "$.tariff.price_series" and words in msg for p, msg in found), found


def test_a_price_series_with_a_gap_names_the_row(tmp_path):
    (tmp_path / "p.csv").write_text(
        "time,price\n2024-01-01T00:00:00+00:00,0.1\n2024-01-01T01:00:00+00:00,0.2\n"
        "2024-01-01T03:00:00+00:00,0.2\n")
    (path, msg), = _problems(_with({"price_series": "p.csv"}), tmp_path)
    assert path == "$.tariff.price_series"
    assert "a gap of 7200 s" in msg and "row 3 of data" in msg and "3600 s steps" in msg


def test_a_series_without_offset_or_on_an_odd_step_is_refused(tmp_path):
    (tmp_path / "a.csv").write_text("2024-01-01T00:00:00,1\n2024-01-01T01:00:00,1\n")
    (tmp_path / "b.csv").write_text("2024-01-01T00:00:00Z,1\n2024-01-01T00:10:00Z,1\n")
    (_, msg), = _problems(_with({"price_series": "a.csv"}), tmp_path)
    assert "has no UTC offset" in msg and "line 1" in msg
    (_, msg), = _problems(_with({"co2_g_per_kwh": "b.csv"}), tmp_path)
    assert "600 s apart" in msg


def test_a_bad_first_time_is_not_taken_for_a_header(tmp_path):
    (tmp_path / "p.csv").write_text("yesterday,0.1\n2024-01-01T01:00:00+00:00,0.2\n")
    (_, msg), = _problems(_with({"price_series": "p.csv"}), tmp_path)
    assert "line 1: 'yesterday' is not an ISO 8601 time" in msg


def test_a_series_needs_the_project_folder():
    (path, msg), = _problems(_with({"price_series": "p.csv"}))
    assert path == "$.tariff.price_series" and "open the project from its folder" in msg


def test_a_series_shorter_than_the_run_is_refused_when_it_is_lowered(tmp_path, kernel):
    from twin.sim.runner import RunSpec, run_project

    _hourly_csv(tmp_path, "p.csv", [0.1] * 4)
    project = project_from_json(_with({"price_series": "p.csv"}), folder=tmp_path)
    with pytest.raises(ProjectError) as e:
        run_project(project, None, RunSpec(horizon=5 * 3600.0, replications=1))
    (p,) = e.value.problems
    assert p.path == "$.tariff.price_series"
    assert "covers 0 s to 14400 s; the span is 0 s to 18000 s: extend the series" in p.message


def test_the_editor_reads_a_tariff_part_as_the_file_reader_does():
    t, msgs = read_tariff({"demand_charge": {"per_kw": 1, "billing_period": 60}})
    assert t is None and msgs and "$.tariff.demand_charge.billing_period" in msgs[0]
    t, msgs = read_tariff(json.loads('{"price_per_kwh": 0.25}'))
    assert msgs == [] and t.price_per_kwh == 0.25


def test_copies_scenarios_and_design_points_still_find_the_csv(make_project):
    from twin.experiments.evaluate import base_document, point_project
    from twin.projectfile.reader import copy_project, with_scenario

    doc = _with({"price_series": "p.csv", "co2_g_per_kwh": "c.csv"})
    doc["scenarios"] = [{"name": "dear", "overrides": [{"path": "tariff.demand_charge",
                                                        "value": {"per_kw": 5}}]}]
    folder = make_project(doc)
    _hourly_csv(folder, "p.csv", [0.1, 0.2])
    _hourly_csv(folder, "c.csv", [100, 200])
    project = load_project(folder)
    snapshot = copy_project(project)  # what the workbench hands a worker
    assert snapshot.tariff == project.tariff and snapshot.path == folder
    assert with_scenario(snapshot, "dear").tariff.demand_charge_per_kw == 5.0
    point = point_project(base_document(project), (), {})
    assert point.tariff.price_series.values == (0.1, 0.2)
    assert point.tariff.co2_series.values == (100.0, 200.0)
    # saving writes the names beside project.json, never the absolute paths
    assert project_to_json(snapshot)["tariff"]["price_series"] == "p.csv"
