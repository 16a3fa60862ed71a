"""The ``experiments`` section of project.json: read, checked with JSON paths, written back."""

from __future__ import annotations

import copy

import pytest
from oracles.lines import exp, serial_line, station

from twin.errors import NotFoundError, ProjectError
from twin.experiments.spec import (
    Constraint,
    Factor,
    Objective,
    budget_of,
    experiment,
    experiments_of,
    kpi_names,
)
from twin.projectfile.reader import load_project, project_from_json, project_to_json
from twin.projectfile.writer import save_project


def line(**top) -> dict:
    doc = serial_line([station("s1", exp(1.0), servers=1), station("s2", exp(1.1))], [5],
                      **top)
    doc["tariff"] = {"price_per_kwh": 0.2}
    doc["elements"][1]["power_kw"] = {"busy": 4.0, "idle": 0.5}
    return doc


EXPERIMENT = {
    "name": "buffer and servers",
    "description": "how much buffer, how many machines",
    "factors": [
        {"element": "b1", "path": "capacity", "low": 1, "high": 8, "integer": True,
         "cost_per_unit": 500},
        {"element": "s1", "path": "servers", "levels": [1, 2], "integer": True,
         "cost_per_unit": 20000},
        {"element": "s2", "path": "process_time.mean", "low": 0.9, "high": 1.2},
    ],
    "design": "latin_hypercube", "points": 20,
    "responses": ["line.throughput_per_hour", "cost", "profit", "elements.s1.utilization"],
    "replications": 20, "precision": 0.02, "margin_per_good_part": 3.5, "seed": 9,
    "horizon": "2h", "warmup": "10min",
    "objectives": [{"response": "profit", "sense": "max"}],
    "constraints": [{"response": "budget", "max": 50000},
                    {"response": "line.throughput_per_hour", "min": 1000}],
    "trials": 40,
}


def with_experiment(**changes) -> dict:
    doc = line()
    e = copy.deepcopy(EXPERIMENT)
    e.update(changes)
    doc["experiments"] = [e]
    return doc


def problems_of(doc) -> list[tuple[str, str]]:
    with pytest.raises(ProjectError) as info:
        p = project_from_json(doc)
        experiments_of(p)
    return [(p.path, p.message) for p in info.value.problems]


def test_an_experiment_reads_as_written(kernel):
    p = project_from_json(with_experiment())
    e = experiments_of(p)["buffer and servers"]
    assert e.factors[0] == Factor("b1", "capacity", 1.0, 8.0, None, True, 500.0)
    assert e.factors[1].levels == (1.0, 2.0) and e.factors[1].name == "s1.servers"
    assert e.factors[2] == Factor("s2", "process_time.mean", 0.9, 1.2)
    assert (e.design, e.points, e.replications, e.precision, e.seed) == (
        "latin_hypercube", 20, 20, 0.02, 9)
    assert (e.margin, e.horizon, e.warmup, e.trials) == (3.5, 7200.0, 600.0, 40)
    assert e.objectives == (Objective("profit", "max"),)
    assert e.constraints == (Constraint("budget", None, 50000.0),
                             Constraint("line.throughput_per_hour", 1000.0, None))
    assert budget_of(e.factors, {"b1.capacity": 4, "s1.servers": 2,
                                 "s2.process_time.mean": 1.0}) == 4 * 500 + 2 * 20000


def test_experiments_round_trip_through_save(tmp_path, kernel):
    p = project_from_json(with_experiment())
    doc = project_to_json(p)
    assert project_from_json(doc).experiments == p.experiments
    save_project(p, tmp_path / "plant")
    again = load_project(tmp_path / "plant")
    assert again.experiments == p.experiments
    assert project_to_json(again)["experiments"] == doc["experiments"]


def test_named_lookup_lists_the_known_ones(kernel):
    p = project_from_json(with_experiment())
    assert experiment(p, "buffer and servers").points == 20
    with pytest.raises(NotFoundError, match="known: buffer and servers"):
        experiment(p, "nope")


@pytest.mark.parametrize("factor, path, words", [
    ({"element": "b9", "path": "capacity", "low": 1, "high": 3},
     "$.experiments[0].factors[0].element", "names element 'b9', which does not exist"),
    ({"element": "b1", "path": "capacty", "low": 1, "high": 3},
     "$.experiments[0].factors[0].path", "its numeric parameters are capacity"),
    ({"element": "b1", "path": "capacity", "low": 6, "high": 3, "integer": True},
     "$.experiments[0].factors[0].high", "must be >= low (6)"),
    ({"element": "s2", "path": "process_time", "low": 1, "high": 3},
     "$.experiments[0].factors[0].path", "is not a numeric parameter"),
    ({"element": "s1", "path": "name", "low": 1, "high": 3},
     "$.experiments[0].factors[0].path", "not a numeric parameter"),
    ({"element": "b1", "path": "capacity", "low": 1, "high": 4},
     "$.experiments[0].factors[0]", "set \"integer\": true"),
    ({"element": "b1", "path": "capacity", "low": -2, "high": 4, "integer": True},
     "$.experiments[0].factors[0]", "b1.capacity = -2 does not give a valid project"),
    ({"element": "b1", "path": "capacity", "low": 1.5, "high": 4, "integer": True},
     "$.experiments[0].factors[0]", "1.5 is not one"),
    ({"element": "b1", "path": "capacity", "low": 1, "high": 4, "levels": [1, 2]},
     "$.experiments[0].factors[0]", "not both"),
    ({"element": "b1", "path": "capacity"},
     "$.experiments[0].factors[0]", "give a range"),
    ({"element": "b1", "path": "capacity", "low": "1", "high": 4},
     "$.experiments[0].factors[0].low", "finite number"),
])
def test_a_bad_factor_is_named_with_its_path(factor, path, words, kernel):
    found = problems_of(with_experiment(factors=[factor], design="full_factorial"))
    assert any(p == path and words in msg for p, msg in found), found


@pytest.mark.parametrize("changes, path, words", [
    ({"responses": ["line.throughput_per_hour", "throughput"]},
     "$.experiments[0].responses[1]", "unknown response"),
    ({"responses": ["elements.s9.utilization"]},
     "$.experiments[0].responses[0]", "names element 's9', which does not exist"),
    ({"responses": ["line.throughput_per_hr"]},
     "$.experiments[0].responses[0]", "did you mean line.throughput_per_hour"),
    ({"responses": ["elements.b1.servers"]},
     "$.experiments[0].responses[0]", "no such KPI"),
    ({"margin_per_good_part": None},
     "$.experiments[0].responses[2]", "margin_per_good_part"),
    ({"objectives": [{"response": "line.wip", "sense": "up"}]},
     "$.experiments[0].objectives[0].sense", "expected one of"),
    ({"constraints": [{"response": "budget"}]},
     "$.experiments[0].constraints[0]", "give a bound"),
    ({"design": "taguchi"}, "$.experiments[0].design", "expected one of"),
    ({"points": None}, "$.experiments[0].points", "needs the number of design points"),
    ({"replications": 2}, "$.experiments[0].replications", "at least 3"),
    ({"precision": 0}, "$.experiments[0].precision", "must be > 0"),
    ({"factors": []}, "$.experiments[0].factors", "at least one factor"),
    ({"colour": "red"}, "$.experiments[0].colour", "unknown field"),
])
def test_a_bad_experiment_is_named_with_its_path(changes, path, words, kernel):
    doc = with_experiment(**changes)
    if changes.get("points", 0) is None:
        del doc["experiments"][0]["points"]
    found = problems_of(doc)
    assert any(p == path and words in msg for p, msg in found), found


def test_names_must_be_unique_and_factors_distinct(kernel):
    doc = with_experiment()
    doc["experiments"].append(copy.deepcopy(doc["experiments"][0]))
    assert ("$.experiments[1].name",
            "another experiment has this name already; names must be unique") in problems_of(doc)
    f = EXPERIMENT["factors"][0]
    found = problems_of(with_experiment(factors=[f, f]))
    assert any(p == "$.experiments[0].factors[1]" and "give each parameter once" in msg
               for p, msg in found), found


def test_kpi_names_are_what_a_run_reports(kernel):
    from twin.sim.runner import RunSpec, run_project
    from twin.sim.summary import replication_kpis

    p = project_from_json(line())
    r = run_project(p, None, RunSpec(horizon=600.0, replications=1)).scenarios["base"]
    assert kpi_names(p) == list(replication_kpis(r, r.replications[0]))
    assert "line.energy_cost" in kpi_names(p) and "elements.s1.utilization" in kpi_names(p)


def test_the_schema_and_the_reader_agree_on_experiments(kernel):
    from test_schema import loader_accepts, schema_errors

    good = with_experiment()
    assert schema_errors(good) == [] and loader_accepts(good)
    for bad in ({"design": "taguchi"}, {"factors": []}, {"replications": 0},
                {"constraints": [{"response": "budget"}]}):
        doc = with_experiment(**bad)
        assert schema_errors(doc) and not loader_accepts(doc), bad
    both = with_experiment(factors=[{"element": "b1", "path": "capacity", "low": 1,
                                     "high": 3, "levels": [1, 2]}])
    assert schema_errors(both) and not loader_accepts(both)


def test_a_layout_whose_varied_element_was_deleted_still_opens_for_editing(kernel):
    doc = with_experiment()
    doc["experiments"][0]["responses"].append("elements.b1.mean_content")
    # b1 deleted in the editor: the line is joined again, the experiment still names it
    doc["elements"] = [e for e in doc["elements"] if e["id"] != "b1"]
    doc["connections"] = [c for c in doc["connections"] if "b1" not in c] + [["s1", "s2"]]
    with pytest.raises(ProjectError, match=r"\$.experiments\[0\].factors\[0\].element"):
        project_from_json(copy.deepcopy(doc))
    p = project_from_json(doc, strict=False)
    found = {x.path: x.message for x in p.problems}
    factor = found["$.experiments[0].factors[0].element"]
    assert "experiment 'buffer and servers': factor b1.capacity names element 'b1', which " \
        "does not exist" in factor
    assert "'b1'" in found["$.experiments[0].responses[4]"]
    assert p.experiments[0].factors[0].element == "b1"  # kept, as written


def test_check_reports_a_response_that_is_no_kpi(make_project, kernel, capsys):
    from app.cli import main as twinbench

    assert twinbench(["check", str(make_project(with_experiment()))]) == 0
    assert "1 experiment" in capsys.readouterr().out
    bad = with_experiment(responses=["line.throughput_per_hour", "elements.s1.mean_content"])
    assert twinbench(["check", str(make_project(bad, name="bad"))]) == 2
    err = capsys.readouterr().err
    assert "$.experiments[0].responses[1]: this run reports no such KPI" in err
