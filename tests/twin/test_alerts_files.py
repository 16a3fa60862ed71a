"""The alerts section of project.json (read with JSON paths, written back, kept by save), a
recording played back as readings, and the alert log beside a recording."""

from __future__ import annotations

import json

import pytest
from shadow_feeds import EPOCH, line_doc, states

from twin.errors import InputError, ProjectError
from twin.live.feed import Reading
from twin.model import elements as m
from twin.projectfile.reader import load_project, project_from_json, project_to_json
from twin.projectfile.writer import save_project
from twin.shadow.alerts import AlertEngine
from twin.shadow.sinks import AlertLog, alert_log_path, read_alert_log

ALERTS = {
    "shift_target": 2400,
    "rules": [
        {"id": "long-stop", "kind": "state", "elements": ["filler"], "states": ["down"],
         "longer_than": "10min", "severity": "critical"},
        {"kind": "state", "states": ["starved", "blocked"], "longer_than": 300},
        {"kind": "shift_target", "above": 0.3, "clear_below": 0.2},
        {"kind": "peak_power", "limit_kw": 150, "within": "30min", "x-note": "contract 2026"},
        {"kind": "drift", "elements": ["filler"], "quantities": ["time_to_repair"],
         "ratio": 3, "arl": 5000, "min_change": {"time_to_repair": 0.2}},
        {"kind": "no_data", "longer_than": "2min"},
        {"id": "capper-silent", "kind": "no_data", "elements": ["capper"], "longer_than": 600},
    ],
}


def doc_with(alerts) -> dict:
    d = line_doc()
    d["alerts"] = alerts
    return d


def test_alerts_section_reads_and_round_trips(tmp_path, make_project):
    p = project_from_json(doc_with(ALERTS))
    a = p.alerts
    assert a.shift_target == 2400.0 and len(a.rules) == 7
    stop = a.rules[0]
    assert (stop.id, stop.kind, stop.elements, stop.longer_than, stop.severity) == (
        "long-stop", "state", ("filler",), 600.0, "critical")
    assert a.rules[3].within == 1800.0 and a.rules[3].extra == {"x-note": "contract 2026"}
    assert a.rules[4].ratio == 3.0 and a.rules[4].quantities == ("time_to_repair",)
    assert a.rules[4].min_change == (("time_to_repair", 0.2),)
    assert a.rules[5].scope == "source" and a.rules[6].scope == "asset"
    # what the workbench saves opens with the same rules
    folder = make_project(line_doc())
    proj = load_project(folder)
    proj.alerts = a
    save_project(proj, folder)
    again = load_project(folder)
    assert again.alerts == a
    assert json.loads((folder / "project.json").read_text())["alerts"]["rules"][0]["id"] == \
        "long-stop"
    # scenarios keep them too (a scenario's project is the file's document, overridden)
    assert project_from_json(project_to_json(again)).alerts == a


def test_a_project_without_alerts_has_none_and_saves_none():
    p = project_from_json(line_doc())
    assert p.alerts is None
    assert "alerts" not in project_to_json(p)


@pytest.mark.parametrize("alerts, path, says", [
    ([], "$.alerts", "must be an object"),
    ({"rules": {}}, "$.alerts.rules", "must be a list of rules"),
    ({"rule": []}, "$.alerts.rule", "unknown field"),
    ({"rules": [{"kind": "peak"}]}, "$.alerts.rules[0].kind", "expected one of"),
    ({"rules": [{"kind": "state"}]}, "$.alerts.rules[0].longer_than", "is required"),
    ({"rules": [{"kind": "state", "longer_than": "soon"}]}, "$.alerts.rules[0].longer_than",
     "duration"),
    ({"rules": [{"kind": "state", "longer_than": 60, "elements": ["fillr"]}]},
     "$.alerts.rules[0].elements[0]", "is not a station of this project"),
    ({"rules": [{"kind": "state", "longer_than": 60, "states": ["broken"]}]},
     "$.alerts.rules[0].states[0]", "expected one of"),
    ({"rules": [{"kind": "state", "longer_than": 60, "severity": "high"}]},
     "$.alerts.rules[0].severity", "expected one of"),
    ({"rules": [{"kind": "shift_target", "above": 0.3}]}, "$.alerts.shift_target",
     "needs the shift's target"),
    ({"shift_target": 100, "rules": [{"kind": "shift_target", "above": 1.5}]},
     "$.alerts.rules[0].above", "probability"),
    ({"shift_target": 100, "rules": [{"kind": "shift_target", "above": 0.2,
                                      "clear_below": 0.4}]},
     "$.alerts.rules[0].clear_below", "must not exceed above"),
    ({"rules": [{"kind": "peak_power"}]}, "$.alerts.rules[0].limit_kw", "is required"),
    ({"rules": [{"kind": "peak_power", "limit_kw": 100, "within": -5}]},
     "$.alerts.rules[0].within", ""),
    ({"rules": [{"kind": "drift", "ratio": 0.5}]}, "$.alerts.rules[0].ratio", "> 1"),
    ({"rules": [{"kind": "drift", "quantities": ["speed"]}]},
     "$.alerts.rules[0].quantities[0]", "expected one of"),
    ({"rules": [{"kind": "drift", "min_change": 5}]}, "$.alerts.rules[0].min_change",
     "a fraction such as 0.05 (5%)"),
    ({"rules": [{"kind": "drift", "min_change": {"cycle_time": -0.1}}]},
     "$.alerts.rules[0].min_change.cycle_time", "<= 0.5"),
    ({"rules": [{"kind": "drift", "min_change": {"speed": 0.1}}]},
     "$.alerts.rules[0].min_change.speed", "unknown quantity"),
    ({"rules": [{"kind": "drift", "limit_kw": 3}]}, "$.alerts.rules[0].limit_kw",
     "unknown field for a drift rule"),
    ({"rules": [{"kind": "no_data", "longer_than": 60, "scope": "line"}]},
     "$.alerts.rules[0].scope", "expected 'source'"),
    ({"rules": [{"id": "a", "kind": "no_data", "longer_than": 60},
                {"id": "a", "kind": "no_data", "longer_than": 90}]},
     "$.alerts.rules[1].id", "duplicate id"),
])
def test_bad_alerts_are_named_by_json_path(alerts, path, says):
    with pytest.raises(ProjectError) as err:
        project_from_json(doc_with(alerts))
    found = [p for p in err.value.problems if p.path == path]
    assert found, [p.path for p in err.value.problems]
    assert says in found[0].message


def test_a_single_min_change_applies_to_every_quantity_of_the_rule():
    from twin.shadow.drift import DriftSettings

    p = project_from_json(doc_with({"rules": [{"kind": "drift", "min_change": 0.2}]}))
    rule = p.alerts.rules[0]
    assert dict(rule.min_change) == {q: 0.2 for q in ("time_to_failure", "time_to_repair",
                                                       "cycle_time", "power")}
    engine = AlertEngine(p)
    (mon,) = engine._drift.values()
    assert mon.settings.min_change_of("cycle_time") == 0.2
    # the defaults (docs/shadow.md): 5% for cycle time and power, 10% for the times
    assert DriftSettings().min_change_of("cycle_time") == 0.05
    assert DriftSettings().min_change_of("time_to_repair") == 0.10


def test_schema_accepts_the_documented_example():
    import jsonschema

    from twin.projectfile import reader

    schema = json.loads((reader.Path(reader.__file__).parent / "project.schema.json")
                        .read_text())
    jsonschema.validate(doc_with(ALERTS), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc_with({"rules": [{"kind": "nope"}]}), schema)


def test_recording_plays_back_as_the_readings_it_was_made_of(tmp_path):
    from twin.live.recorder import LiveRecorder, project_assets
    from twin.recording import Recording
    from twin.shadow.playback import playback, recorded_readings

    p = project_from_json(line_doc())
    sent = (states("filler", [("busy", 30), ("down", 700), ("busy", 10)])
            + [Reading("filler", "parts", EPOCH + 12.5, 1), Reading("filler", "scrap",
                                                                     EPOCH + 20.0, 1),
               Reading("capper", "power_kw", EPOCH + 5.0, 6.0)])
    path = tmp_path / "r.h5"
    with LiveRecorder(path, project_assets(p), source="test") as rec:
        rec.readings(sent)
    with Recording.open(path) as r:
        _, got = recorded_readings(r)
        batches = list(playback(r, step_s=60.0))
    assert sorted([(x.asset, x.channel, x.t, x.value) for x in got], key=str) == \
        sorted([(x.asset, x.channel, x.t, x.value) for x in sent], key=str)
    assert [x.t for x in got] == sorted(x.t for x in got)
    assert sum(len(b) for _, b in batches) == len(sent)
    assert all(x.t < t_end for t_end, b in batches for x in b)
    # the same rule on the replay raises what it raised live
    rule = m.AlertRule("state", "stop", elements=("filler",), longer_than=600.0)
    live = AlertEngine(p, m.AlertSettings((rule,)))
    live_alerts = live.readings(sent) + live.advance(EPOCH + 800)
    replay = AlertEngine(p, m.AlertSettings((rule,)))
    replayed = [a for t_end, b in batches for a in replay.readings(b) + replay.advance(t_end)]
    assert [(a.state, a.time) for a in replayed] == [(a.state, a.time) for a in live_alerts]


def test_alert_log_beside_the_recording(tmp_path):
    p = project_from_json(line_doc())
    e = AlertEngine(p, m.AlertSettings((m.AlertRule("state", "stop", longer_than=600.0),)))
    path = alert_log_path(tmp_path / "shift.h5")
    assert path.name == "shift.alerts.jsonl"
    log = AlertLog(path)
    e.listeners.append(log)
    e.readings(states("filler", [("down", 900), ("busy", 1)]))
    log.close()
    rows = read_alert_log(path)
    assert [r["state"] for r in rows] == ["raised", "cleared"]
    assert rows[0]["rule"] == "stop" and rows[0]["asset"] == "filler"
    assert rows[0]["time_utc"].endswith("Z")
    with pytest.raises(InputError, match="exists"):
        AlertLog(path)
    # a line cut off by a kill is left out; a bad line before the end is an error
    with open(path, "a") as f:
        f.write('{"id": "x", "sta')
    assert len(read_alert_log(path)) == 2
    path.write_text('nope\n{"id": 1}\n')
    with pytest.raises(InputError, match="line 1"):
        read_alert_log(path)


def test_a_link_gap_plays_back_as_a_gap(tmp_path):
    """A recording's link gap comes back between the readings around it, and the engine
    forgets the drift observations under way there (no repair spans the gap)."""
    from twin.live.recorder import LiveRecorder, project_assets
    from twin.recording import Recording
    from twin.shadow.alerts import run_rules
    from twin.shadow.playback import playback

    p = project_from_json(line_doc())
    path = tmp_path / "gap.h5"
    with LiveRecorder(path, project_assets(p), source="test") as rec:
        rec.readings(states("filler", [("busy", 100), ("down", 50)]))
        rec.link("reconnecting", "cable")
        rec.link("connected")
        rec.readings(states("filler", [("busy", 10)], EPOCH + 7200))
    with Recording.open(path) as r:
        steps = list(playback(r, step_s=60.0))
        gap_at = [t for t, b in steps if b is None]
        assert gap_at == [EPOCH + 100]  # the last reading before the cut
        before = [x for t, b in steps if b is not None and t <= gap_at[0] for x in b]
        assert [x.t for x in before] == [EPOCH, EPOCH + 100]
        e = AlertEngine(p, m.AlertSettings((m.AlertRule("drift", "drift", arl=10.0,
                                                        elements=("filler",)),)))
        seen = []
        mon = next(iter(e._drift.values()))
        mon.observe = lambda *a, **k: seen.append(a)  # what the tests would be given
        run_rules(e, playback(r, step_s=60.0))
    assert seen == []  # the down stretch from 100 s did not become a 2-hour repair


def test_a_rule_naming_a_deleted_station_opens_for_editing(make_project):
    """The workbench saves a project whose rule names a station deleted since: it opens
    again for editing (the fault listed), and a strict reading refuses it, naming the path."""
    doc = doc_with({"rules": [{"kind": "state", "elements": ["capper", "filler"],
                               "longer_than": 60}]})
    doc["elements"] = [e for e in doc["elements"] if e["id"] != "capper"]
    doc["connections"] = [["src", "filler"], ["filler", "buf"], ["buf", "sink"]]
    del doc["scenarios"]
    folder = make_project(doc)
    p = load_project(folder, strict=False)
    assert p.alerts.rules[0].elements == ("capper", "filler")
    assert [x.path for x in p.problems] == ["$.alerts.rules[0].elements[0]"]
    assert "deleted?" in p.problems[0].message
    with pytest.raises(ProjectError) as err:
        load_project(folder)
    assert err.value.problems[0].path == "$.alerts.rules[0].elements[0]"


def test_the_alert_tee_hands_on_what_the_recorder_kept(tmp_path):
    """The workbench's live state shows what the recorder returns (a redelivery dropped): the
    tee between them returned nothing, so the state's feed failed on every batch and no alert
    ever cleared (tests/app/test_gui_alerts.py). The tee returns it, and its rules see it."""
    from twin.live.recorder import LiveRecorder, project_assets
    from twin.shadow.tee import AlertTee

    p = project_from_json(line_doc())
    seen = []

    class Rules:  # stands in for the engine: what reaches the rules
        def readings(self, batch):
            seen.extend(batch)
            return []

        def advance(self):
            return []

    first = Reading("filler", "state", EPOCH + 1.0, "busy", key="plant/filler/state|id:1")
    again = Reading("filler", "state", EPOCH + 1.0, "busy", key="plant/filler/state|id:1")
    other = Reading("filler", "state", EPOCH + 9.0, "down", key="plant/filler/state|id:2")
    with LiveRecorder(tmp_path / "r.h5", project_assets(p), source="test") as rec:
        tee = AlertTee(rec, Rules())
        assert tee.readings([first, again]) == [first]
        assert tee.readings([again, other]) == [other]
        tee.drain()
    assert seen == [first, other]
