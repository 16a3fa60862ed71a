"""``twinbench replay FILE --forecast``: each forecast printed with the shift's actual."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from twin.projectfile.reader import load_project
from twin.recording import Recording
from twin.shadow.forecast import ForecastLog, forecast_at
from twin.shadow.scoring import actual_good
from twin.sim.runner import RunSpec, run_project
from twin.whatif.simulated import write_run_as_recording

H = 16 * 3600.0  # 00:00-16:00: the whole 06:00-14:00 shift is recorded


def doc() -> dict:
    return {"schema_version": 1, "name": "cli line", "elements": [
        {"id": "src", "kind": "source"},
        {"id": "m1", "kind": "station", "process_time": {"dist": "exponential", "mean": 50.0},
         "failures": {"time_to_failure": {"dist": "exponential", "mean": 3600.0},
                      "time_to_repair": {"dist": "exponential", "mean": 300.0}},
         "power_kw": {"busy": 3.0, "starved": 0.5}},
        {"id": "sink", "kind": "sink"}],
        "connections": [["src", "m1"], ["m1", "sink"]]}


@pytest.fixture
def setup(tmp_path, make_project, kernel, capsys):
    folder = make_project(doc())
    res = run_project(load_project(folder), spec=RunSpec(horizon=H, replications=1, seed=2,
                                                         log=True))
    path = tmp_path / "rec.h5"
    write_run_as_recording(res.scenarios["base"], 0, path, seed=2)

    def run(*argv):
        code = main(["replay", str(path), *map(str, argv)])
        out, err = capsys.readouterr()
        return code, out, err

    return run, folder, path


def test_replay_forecast_json_and_table(setup):
    run, folder, path = setup
    code, out, err = run("--forecast", "--project", folder, "--from", 7 * 3600,
                         "--to", 9 * 3600, "--every", "1h", "--replications", 20,
                         "--target", 500, "--json", "--quiet", "--save-forecasts")
    assert code == 0, err
    doc = json.loads(out)
    fc = doc["forecasts"]
    assert [f["made_at"] for f in fc] == [7 * 3600.0, 8 * 3600.0, 9 * 3600.0]
    project = load_project(folder)
    with Recording.open(path) as r:
        actual = actual_good(project, r, 6 * 3600.0, 14 * 3600.0)
        again = forecast_at(project, r, 8 * 3600.0, replications=20, seed=1, target=500)
    for f in fc:
        assert (f["shift_start"], f["shift_end"]) == (6 * 3600.0, 14 * 3600.0)
        assert f["actual"] == actual and f["p10"] <= f["p50"] <= f["p90"]
    q = again.quantiles()
    assert (fc[1]["p10"], fc[1]["p50"], fc[1]["p90"]) == tuple(float(q[p][-1])
                                                               for p in (0.1, 0.5, 0.9))
    assert fc[1]["p_below_target"] == again.p_below(500)
    kept = ForecastLog.read(path.with_name("rec.h5.forecasts.jsonl"))
    assert [k.made_at for k in kept] == [f["made_at"] for f in fc]
    code, out, err = run("--forecast", "--project", folder, "--from", 7 * 3600, "--to",
                         7 * 3600, "--replications", 5)
    assert code == 2 and "--to" in err  # an empty window is refused
    code, out, err = run("--forecast", "--project", folder, "--from", 13 * 3600, "--to",
                         14 * 3600, "--every", "1h", "--replications", 5, "--quiet")
    assert code == 0, err
    assert "made at" in out and "P50" in out and f"{actual:.0f}" in out


def test_forecast_needs_a_project(setup):
    run, _, _ = setup
    code, out, err = run("--forecast")
    assert code == 2 and "--forecast needs the twin's project: add --project" in err
    code, out, err = run("--forecast", "--project", "/nonexistent/p")
    assert code == 2 and "/nonexistent/p" in err


@pytest.mark.parametrize("target, raised", [(5000, True), (10, False)])
def test_replay_alerts_judge_the_forecasts(tmp_path, make_project, kernel, capsys, target,
                                           raised):
    """``replay --alerts --forecast``: the forecasts made as the shift is replayed feed the
    shift-target rule, which fires for a target the line cannot make and stays quiet for one
    it makes anyway."""
    d = doc()
    d["alerts"] = {"shift_target": target,
                   "rules": [{"id": "target", "kind": "shift_target", "above": 0.5}]}
    folder = make_project(d)
    res = run_project(load_project(folder), spec=RunSpec(horizon=H, replications=1, seed=2,
                                                         log=True))
    path = tmp_path / "rec.h5"
    write_run_as_recording(res.scenarios["base"], 0, path, seed=2)
    code = main(["replay", str(path), "--alerts", "--forecast", "--project", str(folder),
                 "--from", str(7 * 3600), "--to", str(9 * 3600), "--every", "1h",
                 "--replications", "20", "--json", "--quiet"])
    out, err = capsys.readouterr()
    assert code == 0, err
    alerts = [json.loads(line) for line in out.splitlines() if line.strip()]
    fired = [a for a in alerts if a["rule"] == "target" and a["state"] == "raised"]
    assert bool(fired) == raised, alerts
    if raised:
        assert "Shift target of 5,000 good parts at risk" in fired[0]["message"]
    code = main(["replay", str(path), "--project", str(folder)])  # alone: its energy context
    assert code == 2 and "has no energy context" in capsys.readouterr().err
