"""``twin/projectfile/project.schema.json`` against the projects and the reader
(``twin.projectfile.reader``).

Every example project validates; the schema names the same vocabulary the reader accepts
(element fields, distributions and their parameter sets, states, routings, duration units);
documents in every alternative form are accepted by both; broken documents are rejected by
both, so that an editor validating with the schema and twinbench loading the file agree.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from twin.errors import ProjectError
from twin.model import elements as m
from twin.model.distributions import REGISTRY
from twin.projectfile import reader as tp
from twin.units import _UNITS

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "twin" / "projectfile" / "project.schema.json")
                    .read_text(encoding="utf-8"))
PROJECTS = sorted(p.parent for p in (ROOT / "projects").glob("*/project.json"))
VALIDATOR = Draft202012Validator(SCHEMA)
DEFS = SCHEMA["$defs"]


def schema_errors(doc) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in VALIDATOR.iter_errors(doc)]


def loader_accepts(doc) -> bool:
    try:
        tp.project_from_json(copy.deepcopy(doc))
    except ProjectError:
        return False
    return True


def test_schema_is_valid_draft_2020_12():
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_there_are_example_projects():
    names = {p.name for p in PROJECTS}
    assert {"bottling-line", "machining-cell", "assembly-line", "standard-line"} <= names


@pytest.mark.parametrize("folder", PROJECTS, ids=lambda p: p.name)
def test_every_project_validates(folder):
    doc = json.loads((folder / "project.json").read_text(encoding="utf-8"))
    assert schema_errors(doc) == []


@pytest.mark.parametrize("folder", PROJECTS, ids=lambda p: p.name)
def test_what_twinbench_writes_validates(folder):
    doc = tp.project_to_json(tp.load_project(folder))
    assert schema_errors(doc) == []


# --- the same vocabulary -----------------------------------------------------------------------
def _props(name: str) -> set[str]:
    own = set(DEFS[name].get("properties", {}))
    return own | set(DEFS["common"]["properties"]) if DEFS[name].get("$ref") else own


@pytest.mark.parametrize("kind", sorted(m.ELEMENT_TYPES))
def test_element_fields_match_the_reader(kind):
    assert _props(kind) == tp._COMMON | tp._FIELDS[kind]
    assert DEFS["common"]["properties"]["kind"]["enum"] == list(tp._FIELDS)


def _forms(name: str) -> set[frozenset[str]]:
    then = next(c["then"] for c in DEFS["distribution_object"]["allOf"]
                if c["if"]["properties"]["dist"]["const"] == name)
    out = set()
    for form in then.get("oneOf", [then]):
        required = set(form["required"]) - {"dist"}
        optional = set(form["properties"]) - required - {"dist"}
        for k in range(len(optional) + 1):
            for extra in itertools.combinations(sorted(optional), k):
                out.add(frozenset(required | set(extra)))
    return out


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_distribution_parameter_sets_match_the_registry(name):
    assert _forms(name) == {frozenset(f) for f in REGISTRY[name].forms}


def test_distribution_names_match_the_registry():
    enum = DEFS["distribution_object"]["properties"]["dist"]["enum"]
    assert sorted(enum) == sorted(REGISTRY)


def test_enumerations_match_the_model():
    assert DEFS["station"]["properties"]["power_kw"]["propertyNames"]["enum"] == list(
        m.STATION_STATES)
    assert DEFS["routing"]["enum"] == list(m.ROUTINGS)
    assert DEFS["failures"]["properties"]["basis"]["enum"] == list(m.FAILURE_BASES)
    assert DEFS["run"]["properties"]["horizon"]["$ref"] == "#/$defs/duration"
    assert SCHEMA["properties"]["schema_version"]["maximum"] == tp.SCHEMA_VERSION


@pytest.mark.parametrize("unit", sorted(_UNITS))
def test_every_duration_unit_is_in_the_pattern(unit):
    pattern = DEFS["duration"]["anyOf"][1]["pattern"]
    for text in (f"2{unit}", f"2 {unit.upper()}", f"1h 2{unit}", f".5{unit}"):
        assert re.search(pattern, text), text


# --- documents both accept -----------------------------------------------------------------
def base_doc() -> dict:
    return {
        "schema_version": 1,
        "name": "schema probe",
        "elements": [
            {"id": "src", "kind": "source"},
            {"id": "m1", "kind": "station", "process_time": {"dist": "exponential",
                                                              "mean": 60}},
            {"id": "buf", "kind": "buffer", "capacity": 5},
            {"id": "m2", "kind": "station", "process_time": 50},
            {"id": "conv", "kind": "conveyor", "speed": 0.5},
            {"id": "out", "kind": "sink"},
        ],
        "connections": [["src", "m1"], ["m1", "buf"], ["buf", "m2"], ["m2", "conv"],
                        ["conv", "out"]],
    }


def _el(doc, eid):
    return next(e for e in doc["elements"] if e["id"] == eid)


def _set_el(eid, **fields):
    def mutate(doc):
        _el(doc, eid).update(fields)
    return mutate


def _set(**fields):
    def mutate(doc):
        doc.update(fields)
    return mutate


def _split(doc):
    doc["elements"].insert(4, {"id": "m3", "kind": "station", "process_time": 40})
    doc["connections"] = [["src", "m1"], ["m1", "buf"],
                          ["buf", "m2", 3], {"from": "buf", "to": "m3", "probability": 1},
                          {"from": "m2", "to": "conv", "weight": 1.0}, ["m3", "conv"],
                          ["conv", "out"]]
    # a conveyor takes one predecessor: put a buffer before it
    doc["elements"].insert(5, {"id": "merge", "kind": "buffer", "capacity": None})
    doc["connections"][4:6] = [{"from": "m2", "to": "merge", "weight": 1.0},
                               ["m3", "merge"], ["merge", "conv"]]


DIST_FORMS = [
    7, 0, 2.5,
    {"dist": "constant", "value": 30},
    {"dist": "exponential", "mean": 60}, {"dist": "exponential", "rate": 0.02},
    {"dist": "uniform", "low": 0, "high": 10},
    {"dist": "triangular", "low": 50, "mode": 60, "high": 90},
    {"dist": "normal", "mean": 60, "sd": 5},
    {"dist": "lognormal", "mean": 60, "sd": 15}, {"dist": "lognormal", "mu": 4.0, "sigma": 0.3},
    {"dist": "gamma", "shape": 2, "scale": 30}, {"dist": "gamma", "mean": 60, "sd": 20},
    {"dist": "weibull", "shape": 1.5, "scale": 3600},
    {"dist": "empirical", "values": [58, 61, 60, 75]},
    {"dist": "empirical", "values": [58, 61.5], "interpolate": True},
]

ACCEPTED = {
    "minimal": lambda d: None,
    "connections in all three forms": _split,
    "durations as strings": _set(run={"horizon": "1h30min", "warmup": "90s", "replications": 2,
                                      "seed": 0, "sample_interval": "1 min"}),
    "durations as numbers": _set(run={"horizon": 3600, "warmup": 0.5}),
    "per-product process time with '*'": _set_el("m1", process_time={
        "part": {"dist": "normal", "mean": 60, "sd": 4}, "*": 70}),
    "per-product setup time": _set_el("m2", setup_time={"part": 20, "*": {
        "dist": "uniform", "low": 10, "high": 30}}),
    "custom x- fields everywhere": lambda d: (
        d.update({"x-owner": "plant 3"}),
        _el(d, "m1").update({"x-asset": "M-001", "failures": {
            "time_to_failure": 3600, "time_to_repair": 60, "x-source": "MES"}})),
    "nulls the reader treats as absent": lambda d: (
        d.update(calendar=None, run=None, tariff=None, meta=None, scenarios=None),
        _el(d, "m1").update(servers=None, rotation=None, setup_time=None, failures=None,
                            scrap=None, wear=None, maintenance=None),
        _el(d, "conv").update(length=None, speed=None, spacing=None)),
    "unlimited buffer": _set_el("buf", capacity=None),
    "everything on a station": _set_el(
        "m1", servers=2, scrap=0.01, power_kw={"busy": 5, "idle": 1, "off": 0},
        failures={"basis": "calendar", "time_to_failure": {"dist": "weibull", "shape": 1.2,
                                                           "scale": 36000},
                  "time_to_repair": {"dist": "lognormal", "mean": 600, "sd": 300}},
        wear={"per_operation": 0.001, "per_busy_hour": 0.01, "failure_gain": 2,
              "scrap_gain": 0.05},
        maintenance={"duration": 1800, "every_operations": 500, "every_hours": 24},
        follows_calendar=False, off_shift="standby", mesh="meshes/cnc.stl",
        name="CNC", position=[1, 2, 0], rotation=90, footprint=[3, 2]),
    "operations-basis failures": _set_el("m2", failures={
        "basis": "operations", "time_to_failure": 200, "time_to_repair": 60}),
    "maintenance by hours only": _set_el("m2", maintenance={"duration": 600,
                                                            "every_hours": 8}),
    "arrival source that loses parts": _set_el(
        "src", arrival={"dist": "exponential", "mean": 70}, when_blocked="lose",
        follows_calendar=True, product_mix={"part": 1}),
    "schedule source": _set_el("src", schedule=[[0, "part", 10], ["2h", "part", 5]],
                               schedule_period="8h"),
    "conveyor with a set length": _set_el("conv", length=12.5, spacing=0.8,
                                          routing="round_robin"),
    "calendar with breaks": _set(calendar={
        "period": "24h", "shifts": [{"start": "6h", "end": "14h", "name": "early"},
                                    {"start": 50400, "end": "22h"}],
        "breaks": [{"start": "9h", "end": "9h15min", "name": "break"}]}),
    "flat and hourly tariffs": _set(tariff={"price_per_kwh": 0.2, "currency": "CHF",
                                            "hourly": [0.1] * 24}),
    "empty hourly tariff": _set(tariff={"price_per_kwh": 0.2, "hourly": []}),
    "pv and a battery": _set(tariff={"price_per_kwh": 0.2, "pv": {
        "profile_kw": [0.0] * 6 + [5.0] * 12 + [0.0] * 6, "feed_in_per_kwh": 0.05},
        "battery": {"capacity_kwh": 20, "power_kw": 10, "efficiency": 0.9, "initial_soc": 0,
                    "threshold_kw": 15, "charge_in_cheapest": True}}),
    "scenarios": _set(scenarios=[
        {"name": "faster", "description": "d", "overrides": [
            {"element": "m1", "path": "process_time.mean", "value": 50},
            {"path": "tariff.price_per_kwh", "value": 0.3, "x-why": "new contract"}]},
        {"name": "empty"}]),
    "meta": _set(meta={"author": "someone", "nested": {"a": [1, 2]}}),
    "a batch starting with whatever waits": _set_el("m2", batch={"size": 3, "timeout": 0}),
    "a disassembly into another product": _set_el("m1", disassembly={"outputs": [
        {"to": "buf", "quantity": 2, "product": "half"}]}),
}


@pytest.mark.parametrize("dist", DIST_FORMS, ids=str)
def test_every_distribution_form_is_accepted_by_both(dist):
    doc = base_doc()
    _el(doc, "m1")["process_time"] = dist
    assert schema_errors(doc) == []
    assert loader_accepts(doc)


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_alternative_forms_are_accepted_by_both(name):
    doc = base_doc()
    ACCEPTED[name](doc)
    assert schema_errors(doc) == []
    assert loader_accepts(doc)


# --- documents both reject -----------------------------------------------------------------
def _drop(key):
    def mutate(doc):
        doc.pop(key)
    return mutate


def _drop_el(eid, key):
    def mutate(doc):
        _el(doc, eid).pop(key)
    return mutate


REJECTED = {
    "unknown top-level field": _set(colour="blue"),
    "custom field without the x- prefix": _set(x_note="typo"),
    "no elements": _drop("elements"),
    "empty element list": _set(elements=[]),
    "schema version from the future": _set(schema_version=2),
    "schema version as text": _set(schema_version="1"),
    "name is not text": _set(name=12),
    "meta is a list": _set(meta=[1, 2]),
    "element without id": _drop_el("m1", "id"),
    "element with empty id": _set_el("m1", id=""),
    "unknown element kind": _set_el("m1", kind="robot"),
    "field of another kind": _set_el("buf", process_time=5),
    "unknown station field": _set_el("m1", speed=3),
    "station without process time": _drop_el("m2", "process_time"),
    "unknown distribution": _set_el("m1", process_time={"dist": "poisson", "mean": 4}),
    "distribution without name": _set_el("m1", process_time={"mean": 4, "dist": None}),
    "wrong parameters": _set_el("m1", process_time={"dist": "exponential", "avg": 5}),
    "two parameter sets at once": _set_el("m1", process_time={"dist": "exponential",
                                                              "mean": 5, "rate": 0.2}),
    "x- field inside a distribution": _set_el("m1", process_time={
        "dist": "exponential", "mean": 5, "x-note": "no"}),
    "negative constant": _set_el("m1", process_time=-1),
    "boolean as a time": _set_el("m1", process_time=True),
    "text as a time": _set_el("m1", process_time="60s"),
    "exponential mean 0": _set_el("m1", process_time={"dist": "exponential", "mean": 0}),
    "exponential rate negative": _set_el("m1", process_time={"dist": "exponential",
                                                             "rate": -1}),
    "triangular below 0": _set_el("m1", process_time={"dist": "triangular", "low": -1,
                                                      "mode": 2, "high": 3}),
    "normal mean 0": _set_el("m1", process_time={"dist": "normal", "mean": 0, "sd": 1}),
    "normal negative sd": _set_el("m1", process_time={"dist": "normal", "mean": 5, "sd": -1}),
    "lognormal negative sigma": _set_el("m1", process_time={"dist": "lognormal", "mu": 1,
                                                            "sigma": -0.1}),
    "gamma sd 0": _set_el("m1", process_time={"dist": "gamma", "mean": 5, "sd": 0}),
    "weibull negative shape": _set_el("m1", process_time={"dist": "weibull", "shape": -1,
                                                          "scale": 5}),
    "empirical without values": _set_el("m1", process_time={"dist": "empirical",
                                                            "values": []}),
    "empirical value is text": _set_el("m1", process_time={"dist": "empirical",
                                                           "values": [1, "two"]}),
    "empirical negative value": _set_el("m1", process_time={"dist": "empirical",
                                                            "values": [1, -2]}),
    "empirical interpolate is text": _set_el("m1", process_time={
        "dist": "empirical", "values": [1, 2], "interpolate": "yes"}),
    "per-product map with a bad time": _set_el("m1", process_time={"part": -3}),
    "per-product setup with a bad distribution": _set_el("m1", setup_time={
        "part": {"dist": "exponential"}}),
    "zero servers": _set_el("m1", servers=0),
    "fractional servers": _set_el("m1", servers=1.5),
    "scrap above 1": _set_el("m1", scrap=1.5),
    "power of an unknown state": _set_el("m1", power_kw={"asleep": 3}),
    "negative power": _set_el("m1", power_kw={"busy": -3}),
    "power as a list": _set_el("m1", power_kw=[1, 2]),
    "unknown failure basis": _set_el("m1", failures={"basis": "wallclock",
                                                     "time_to_failure": 100,
                                                     "time_to_repair": 5}),
    "failures without repair time": _set_el("m1", failures={"time_to_failure": 100}),
    "unknown failures field": _set_el("m1", failures={"time_to_failure": 100,
                                                      "time_to_repair": 5, "mttr": 5}),
    "failures as a number": _set_el("m1", failures=100),
    "negative wear": _set_el("m1", wear={"per_operation": -0.1}),
    "unknown wear field": _set_el("m1", wear={"per_part": 0.1}),
    "maintenance without interval": _set_el("m1", maintenance={"duration": 600}),
    "maintenance with zero intervals": _set_el("m1", maintenance={
        "duration": 600, "every_operations": 0, "every_hours": 0}),
    "maintenance without duration": _set_el("m1", maintenance={"every_hours": 8}),
    "maintenance interval as a duration string": _set_el("m1", maintenance={
        "duration": 600, "every_hours": "8h"}),
    "unknown off-shift behaviour": _set_el("m1", off_shift="sleep"),
    "follows_calendar as text": _set_el("m1", follows_calendar="yes"),
    "unknown routing": _set_el("buf", routing="random"),
    "buffer capacity 0": _set_el("buf", capacity=0),
    "buffer capacity as text": _set_el("buf", capacity="10"),
    "conveyor speed 0": _set_el("conv", speed=0),
    "negative conveyor length": _set_el("conv", length=-4),
    "conveyor spacing as text": _set_el("conv", spacing="0.5m"),
    "arrival and schedule at once": _set_el("src", arrival=60, schedule=[[0, "part", 1]]),
    "empty schedule": _set_el("src", schedule=[]),
    "schedule quantity 0": _set_el("src", schedule=[[0, "part", 0]]),
    "schedule row too short": _set_el("src", schedule=[[0, "part"]]),
    "schedule time not a duration": _set_el("src", schedule=[["soon", "part", 3]]),
    "bad schedule period": _set_el("src", schedule=[[0, "part", 3]], schedule_period="often"),
    "empty product mix": _set_el("src", product_mix={}),
    "negative mix weight": _set_el("src", product_mix={"part": -1}),
    "unknown when_blocked": _set_el("src", when_blocked="drop"),
    "source with a process time": _set_el("src", process_time=5),
    "sink with a capacity": _set_el("out", capacity=5),
    "position with two coordinates": _set_el("m1", position=[1, 2]),
    "footprint as text": _set_el("m1", footprint=["2m", "1m"]),
    "rotation as text": _set_el("m1", rotation="90deg"),
    "mesh as a number": _set_el("m1", mesh=5),
    "connections not a list": _set(connections={"src": "m1"}),
    "connection with one end": lambda d: d["connections"].append(["m1"]),
    "connection with four items": lambda d: d["connections"].append(["m1", "m2", 1, 2]),
    "negative weight": lambda d: d["connections"].append(["buf", "out", -1]),
    "weight as text": lambda d: d["connections"].append(["buf", "out", "half"]),
    "connection as text": lambda d: d["connections"].append("m1->m2"),
    "connection object without 'to'": lambda d: d["connections"].append({"from": "m1"}),
    "connection object with an unknown field": lambda d: d["connections"].append(
        {"from": "buf", "to": "out", "prob": 0.5}),
    "connection with an empty end": lambda d: d["connections"].append(["", "out"]),
    "calendar without shifts": _set(calendar={"period": "24h"}),
    "calendar with an empty shift list": _set(calendar={"shifts": []}),
    "shift without end": _set(calendar={"shifts": [{"start": "6h"}]}),
    "shift time not a duration": _set(calendar={"shifts": [{"start": "6 o'clock",
                                                            "end": "14h"}]}),
    "unknown calendar field": _set(calendar={"shifts": [{"start": "6h", "end": "14h"}],
                                             "holidays": []}),
    "horizon not a duration": _set(run={"horizon": "forever"}),
    "negative warm-up": _set(run={"warmup": -5}),
    "duration in unknown units": _set(run={"horizon": "8 hours"}),
    "zero replications": _set(run={"replications": 0}),
    "negative seed": _set(run={"seed": -1}),
    "unknown run field": _set(run={"threads": 4}),
    "run as a list": _set(run=[1000]),
    "tariff with 23 prices": _set(tariff={"hourly": [0.2] * 23}),
    "negative price": _set(tariff={"price_per_kwh": -0.1}),
    "unknown tariff field": _set(tariff={"vat": 0.19}),
    "scenario without name": _set(scenarios=[{"overrides": []}]),
    "scenario with an empty name": _set(scenarios=[{"name": ""}]),
    "scenarios not a list": _set(scenarios={"name": "a"}),
    "override without value": _set(scenarios=[{"name": "a", "overrides": [
        {"element": "m1", "path": "servers"}]}]),
    "override without path": _set(scenarios=[{"name": "a", "overrides": [{"value": 1}]}]),
    "override with an unknown field": _set(scenarios=[{"name": "a", "overrides": [
        {"element": "m1", "path": "servers", "value": 2, "note": "x"}]}]),
    "unknown scenario field": _set(scenarios=[{"name": "a", "runs": 3}]),
    # limits (docs/limits.md)
    "too many servers": _set_el("m1", servers=3001),
    "buffer capacity beyond the limit": _set_el("buf", capacity=10**6 + 1),
    "position beyond 100 km": _set_el("m1", position=[1e6, 0, 0]),
    "footprint of 0": _set_el("m1", footprint=[0, 1]),
    "rotation beyond ten turns": _set_el("m1", rotation=4000),
    "id of 101 characters": _set_el("out", id="o" * 101),
    "constant time beyond 1e10 s": _set_el("m1", process_time=1e11),
    "conveyor speed of 1 km/s": _set_el("conv", speed=1000),
    "conveyor spacing below 1 mm": _set_el("conv", spacing=1e-4),
    "power of a GW and more": _set_el("m1", power_kw={"busy": 2e6}),
    "weight beyond 1e9": lambda d: d["connections"].append(["buf", "out", 1e10]),
    "a billion replications": _set(run={"replications": 10**9}),
    "seed of 2**63": _set(run={"seed": 2**63}),
    "price beyond 1e6": _set(tariff={"price_per_kwh": 1e7}),
    "battery without power": _set(tariff={"battery": {"capacity_kwh": 5}}),
    "battery of no capacity": _set(tariff={"battery": {"capacity_kwh": 0, "power_kw": 1}}),
    "battery efficiency above 1": _set(tariff={"battery": {"capacity_kwh": 5, "power_kw": 1,
                                                           "efficiency": 1.1}}),
    "pv of 25 hours": _set(tariff={"pv": {"profile_kw": [1.0] * 25}}),
    "pv without a profile": _set(tariff={"pv": {"feed_in_per_kwh": 0.1}}),
    "schedule quantity beyond 100,000": _set_el("src", schedule=[[0, "part", 100001]]),
    "a disassembly output of no product": _set_el("m1", disassembly={"outputs": [
        {"to": "buf", "quantity": 2, "product": ""}]}),
}


@pytest.mark.parametrize("name", list(REJECTED))
def test_broken_documents_are_rejected_by_both(name):
    doc = base_doc()
    REJECTED[name](doc)
    assert schema_errors(doc), f"the schema accepts: {name}"
    assert not loader_accepts(doc), f"twin.projectfile.reader accepts: {name}"


def test_base_document_is_valid():
    # the broken documents above differ from it by one mutation each
    assert schema_errors(base_doc()) == []
    assert loader_accepts(base_doc())
