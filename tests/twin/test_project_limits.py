"""Every count, size, time and rate of a project has a checked limit (``twin.limits``).

One test per finding of the fuzzing pass of issue 12: values that ended in a traceback
(``OverflowError``, ``TypeError``, ``RecursionError``, a codec error), values that were
accepted and then hung or ate all memory, values accepted and then turned into nonsense.
Each refusal is a ``ProjectError`` whose problem names the JSON path, the element by id
and name, the value found and the limit.
"""

from __future__ import annotations

import copy
import math
import re

import pytest
from oracles.lines import exp, serial_line, station

from twin import limits
from twin.errors import InputError, ProjectError
from twin.limits import RunTooLarge
from twin.projectfile.reader import project_from_json
from twin.sim.estimate import estimate_run
from twin.sim.runner import RunSpec, run_project

BASE = serial_line([station("m1", exp(60.0), name="Press"), station("m2", exp(50.0))], [5],
                   run={"horizon": "8h"})


def _el(doc, eid):
    return next(e for e in doc["elements"] if e["id"] == eid)


def _problems(doc) -> list:
    with pytest.raises(ProjectError) as exc:
        project_from_json(doc)
    return exc.value.problems


def _refused(mutate, path, *words):
    """The document ``mutate`` makes of BASE is refused with a problem at ``path`` whose
    message holds every one of ``words``; returns that problem."""
    doc = copy.deepcopy(BASE)
    mutate(doc)
    problems = _problems(doc)
    hits = [p for p in problems if p.path == path]
    assert hits, [p.format() for p in problems]
    for w in words:
        assert w in hits[0].message, hits[0].format()
    return hits[0]


PRESS = "station 'm1' (Press)"


# --- tracebacks instead of errors -----------------------------------------------------------
@pytest.mark.parametrize("mutate, path, words, value", [
    (lambda d: _el(d, "m1").update(servers=2**63), "$.elements[1].servers",
     (PRESS, "<= 3000"), 2**63),
    (lambda d: _el(d, "b1").update(capacity=2**63), "$.elements[2].capacity",
     ("buffer 'b1'", "<= 1e+06"), 2**63),
    (lambda d: _el(d, "m1").update(process_time={"dist": "lognormal", "mu": 800, "sigma": 1}),
     "$.elements[1].process_time.mu", (PRESS, "1e+10 s", "at most 23.03"), 800),
    (lambda d: _el(d, "m1").update(process_time={"dist": "lognormal", "mean": 1e-300,
                                                 "sd": 1e10}),
     "$.elements[1].process_time.sd", (PRESS, "1000 times the mean"), 1e10),
    (lambda d: _el(d, "m1").update(process_time={"dist": "gamma", "mean": 1e10, "sd": 1e-150}),
     "$.elements[1].process_time.sd", (PRESS, "from 0.001 to 1e+06"), 1e-150),
    (lambda d: _el(d, "m1").update(process_time={"dist": "weibull", "shape": 0.005,
                                                 "scale": 1}),
     "$.elements[1].process_time.shape", (PRESS, "from 0.05 to 1000"), 0.005),
    (lambda d: _el(d, "m1").update(process_time={"dist": "exponential", "mean": 1e300}),
     "$.elements[1].process_time.mean", (PRESS, "at most 1e+10 s"), 1e300),
    (lambda d: _el(d, "m1").update(position=[1e308, -1e308, 0]), "$.elements[1].position",
     (PRESS, "<= 100000 metres"), [1e308, -1e308, 0]),
    (lambda d: _el(d, "m1").update(footprint=[0, 2]), "$.elements[1].footprint",
     (PRESS, "> 0 and <= 1000"), [0, 2]),
    (lambda d: _el(d, "src").update(schedule=[[0, "part", 2**63]]),
     "$.elements[0].schedule[0]", ("source 'src'", "quantity from 1 to 100,000"),
     [0, "part", 2**63]),
])
def test_overflowing_values_are_refused_with_element_path_value_and_limit(mutate, path, words,
                                                                          value):
    assert _refused(mutate, path, *words).value == value


def test_a_conveyor_of_1e300_metres_is_refused():
    def mutate(d):
        d["elements"].insert(3, {"id": "c", "kind": "conveyor", "name": "Belt", "length": 1e300})
        d["connections"] = [["src", "m1"], ["m1", "c"], ["c", "b1"], ["b1", "m2"], ["m2", "sink"]]
    assert _refused(mutate, "$.elements[3].length", "conveyor 'c' (Belt)",
                    "<= 100000").value == 1e300


def test_a_conveyor_holding_too_many_parts_is_refused_with_its_length_and_spacing():
    def mutate(d):
        d["elements"].insert(3, {"id": "c", "kind": "conveyor", "length": 2000,
                                 "spacing": 0.001})
        d["connections"] = [["src", "m1"], ["m1", "c"], ["c", "b1"], ["b1", "m2"], ["m2", "sink"]]
    p = _refused(mutate, "$.elements[3]", "conveyor 'c'", "2 million parts", "1,000,000")
    assert p.value == 2000


def test_a_list_as_kind_is_a_problem_not_a_type_error():
    _refused(lambda d: _el(d, "m1").update(kind=["station"]), "$.elements[1].kind",
             "'m1' (Press)", "unknown element kind")


@pytest.mark.parametrize("where", ["meta", "override"])
def test_deep_nesting_given_as_a_document_is_refused_not_a_recursion_error(where):
    deep: list = []
    for _ in range(5000):  # no file: straight from a caller (the GUI, a script)
        deep = [deep]
    doc = copy.deepcopy(BASE)
    if where == "meta":
        doc["meta"] = deep
    else:
        doc["scenarios"] = [{"name": "a", "overrides": [
            {"element": "m1", "path": "x-deep", "value": deep}]}]
    problems = _problems(doc)
    assert "nested deeper than 64 levels" in problems[0].message
    assert problems[0].path.startswith("$.meta" if where == "meta" else "$.scenarios[0]")


def test_a_lone_surrogate_in_an_id_is_refused_by_the_reader_not_by_the_run():
    p = _refused(lambda d: _el(d, "m1").update(id="m\ud800"), "$.elements[1].id",
                 "lone UTF-16 surrogate")
    assert "remove it" in p.message


def test_limits_of_text():
    _refused(lambda d: _el(d, "m1").update(id="m" * 101), "$.elements[1].id",
             "101 characters: at most 100")
    _refused(lambda d: _el(d, "m1").update(name="n" * 201), "$.elements[1].name",
             "station 'm1'", "201 characters: at most 200")


# --- accepted, then hangs or eats all memory ---------------------------------------------------
@pytest.mark.parametrize("mutate, path, words, value", [
    (lambda d: _el(d, "m1").update(maintenance={"duration": 1, "every_hours": 1e-12}),
     "$.elements[1].maintenance.every_hours", (PRESS, "3.6e-09 s", "the least is 1 s"), 1e-12),
    (lambda d: _el(d, "src").update(arrival=0), "$.elements[0].arrival",
     ("source 'src'", "every 0 s", "unlimited source"), 0),
    (lambda d: _el(d, "src").update(arrival={"dist": "constant", "value": 1e-9}),
     "$.elements[0].arrival", ("source 'src'", "1e-09 s", "the least is 0.001 s"),
     1e-9),
    (lambda d: _el(d, "m1").update(failures={"time_to_failure": 1e-9, "time_to_repair": 1}),
     "$.elements[1].failures.time_to_failure", (PRESS, "1e-09 s", "the least is 0.001 s"),
     1e-9),
    (lambda d: d.update(calendar={"period": 1e-6, "shifts": [{"start": 0, "end": 1e-7}]}),
     "$.calendar.period", ("1e-06 s", "the least is 1 s"), 1e-6),
    (lambda d: d.update(run={"sample_interval": 1e-9}), "$.run.sample_interval",
     ("29 trillion samples", "at most 100,000", "at least 0.288 s"), 1e-9),
    (lambda d: d.update(run={"replications": 10**9}), "$.run.replications",
     ("from 1 to 10,000",), 10**9),
    (lambda d: d.update(run={"horizon": 1e15}), "$.run.horizon", ("at most 3.1536e+08 s",),
     1e15),
    (lambda d: d.update(run={"seed": 2**64}), "$.run.seed", ("2**63 - 1",), 2**64),
])
def test_clocks_and_settings_that_would_never_end_are_refused(mutate, path, words, value):
    assert _refused(mutate, path, *words).value == value


def test_a_clock_is_checked_against_the_horizon():
    # 1 ms between arrivals is legal for 8 hours (29 million), not for ten years
    p = _refused(lambda d: (_el(d, "src").update(arrival=0.001),
                            d.update(run={"horizon": "3650d"})),
                 "$.elements[0].arrival", "source 'src'", "320 billion times",
                 "at most 1 billion", "at least 0.315 s")
    assert p.value == 0.001


def test_too_many_elements_are_refused_before_they_are_read():
    doc = copy.deepcopy(BASE)
    doc["elements"] += [{"id": f"x{i}", "kind": "sink"} for i in range(limits.MAX_ELEMENTS)]
    problems = _problems(doc)
    assert [p.path for p in problems] == ["$.elements"]
    assert "10,005 elements: at most 10,000" in problems[0].message


# --- accepted, then nonsense ----------------------------------------------------------------
@pytest.mark.parametrize("mutate, path", [
    (lambda d: d.update(tariff={"hourly": [0.2] * 23 + [math.nan]}), "$.tariff.hourly[23]"),
    (lambda d: _el(d, "m1").update(power_kw={"busy": math.inf}), "$.elements[1].power_kw.busy"),
    (lambda d: _el(d, "m1").update(process_time={"dist": "empirical", "values": [1, math.nan]}),
     "$.elements[1].process_time.values[1]"),
    (lambda d: d["connections"].append(["b1", "sink", math.inf]), "$.connections[4][2]"),
])
def test_nan_and_infinity_handed_over_as_a_document_are_refused(mutate, path):
    _refused(mutate, path, "must be a finite number")


def test_huge_weights_prices_and_power_are_refused_with_their_limit():
    _refused(lambda d: d["connections"].append(["b1", "sink", 1e300]), "$.connections[4]",
             "<= 1e+09")
    _refused(lambda d: _el(d, "m1").update(power_kw={"busy": 1e300}), "$.elements[1].power_kw",
             PRESS, "<= 1e+06")
    _refused(lambda d: d.update(tariff={"hourly": [1e300] * 24}), "$.tariff.hourly", "<= 1e+06")


# --- the size of a run -------------------------------------------------------------------------
def test_the_estimate_says_how_big_a_state_log_would_be():
    doc = copy.deepcopy(BASE)
    project = project_from_json(doc)
    spec = RunSpec(horizon=3650 * 86400.0, replications=100, log=True)
    with pytest.raises(RunTooLarge) as exc:
        estimate_run(project, spec)
    (p,) = exc.value.problems
    assert p.path == "state_log"
    assert "this run would log about" in p.message and "billion state changes" in p.message
    assert "GB" in p.message and "switch off the state log" in p.message
    assert isinstance(exc.value, InputError)
    estimate_run(project, RunSpec(horizon=3650 * 86400.0, replications=100))  # log off: fine


def test_too_many_events_name_the_busiest_element_and_field():
    doc = copy.deepcopy(BASE)
    _el(doc, "m1")["process_time"] = 1e-6
    _el(doc, "m2")["process_time"] = 1e-6
    project = project_from_json(doc)  # legal: a fast machine for a short run
    estimate_run(project, RunSpec(horizon=60.0))
    with pytest.raises(RunTooLarge) as exc:
        estimate_run(project, RunSpec(horizon=8 * 3600.0))
    (p,) = exc.value.problems
    assert p.path == "$.elements[1].process_time"
    assert "station 'm1' (Press), operations" in p.message
    assert "at most 1 billion" in p.message and "shorten the horizon" in p.message


def test_an_unlimited_source_through_zero_times_is_an_unbounded_rate():
    doc = copy.deepcopy(BASE)
    for sid in ("m1", "m2"):
        _el(doc, sid)["process_time"] = 0  # a zero process time is legal...
    project = project_from_json(doc)
    with pytest.raises(RunTooLarge) as exc:  # ...but not with nothing else taking time
        estimate_run(project, RunSpec(horizon=60.0))
    p = exc.value.problems[0]
    assert p.path == "$.elements[1]" and "unbounded rate" in p.message and PRESS in p.message
    _el(doc, "src")["arrival"] = exp(10.0)
    estimate_run(project_from_json(doc), RunSpec(horizon=60.0))


def test_run_settings_out_of_range_are_refused_with_the_range():
    for kwargs, words in (({"replications": 10**9}, "from 1 to 10,000"),
                          ({"horizon": 1e15}, "at most 3.1536e+08 s"),
                          ({"seed": -1}, "from 0 to"),
                          ({"sample_interval": 1e-9}, "at most 100,000")):
        spec = RunSpec(**{"horizon": 3600.0, **kwargs})
        with pytest.raises(ProjectError, match=re.escape(words)):
            spec.check()


def test_the_state_log_estimate_is_the_right_size(run_doc):
    project = project_from_json(BASE)
    spec = RunSpec(horizon=8 * 3600.0, replications=1, log=True)
    rows = estimate_run(project, spec).log_rows
    got = len(run_project(project, None, spec).scenarios["base"].replications[0].log)
    assert got / 2 < rows < got * 2, (rows, got)


def test_a_project_at_the_limits_loads_and_runs_briefly(kernel):
    doc = serial_line([station("m" * limits.MAX_ID_CHARS, exp(60.0), name="n" * 200,
                               servers=limits.MAX_SERVERS, rotation=limits.MAX_ROTATION_DEG,
                               footprint=[limits.MAX_SIZE_M, limits.MAX_SIZE_M],
                               position=[limits.MAX_COORDINATE_M, -limits.MAX_COORDINATE_M, 0]),
                       station("m2", exp(1.0))], [limits.MAX_CAPACITY],
                      run={"horizon": "10min", "replications": 1, "seed": limits.MAX_SEED,
                           "sample_interval": 600 / limits.MAX_SAMPLES})
    doc["elements"].insert(-1, {"id": "belt", "kind": "conveyor", "spacing": 0.001,
                                "length": limits.MAX_CONVEYOR_PARTS * 0.001})
    doc["connections"][-1:] = [["m2", "belt"], ["belt", "sink"]]
    doc["elements"][0]["arrival"] = {"dist": "exponential", "mean": 0.01}
    project = project_from_json(doc)
    spec = RunSpec.from_project(project)
    estimate_run(project, spec)
    result = run_project(project, None, spec)
    assert result.scenarios["base"].replications[0].ts_line.shape[0] >= limits.MAX_SAMPLES
