"""Studies: the study file, resume after an interruption or a kill -9, and the command."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest
from oracles.lines import exp, serial_line, station

from app.cli import main as twinbench
from twin.experiments.store import StudyFile, StudyFileError
from twin.experiments.study import read_study, run_study
from twin.projectfile.reader import load_project, project_from_json
from twin.tasks import Cancelled, TaskState

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = {
    "name": "buffer", "design": "full_factorial",
    "factors": [{"element": "b1", "path": "capacity", "low": 1, "high": 6, "integer": True,
                 "cost_per_unit": 5},
                {"element": "m2", "path": "process_time.mean", "levels": [0.9, 1.1]}],
    "responses": ["line.throughput_per_hour", "cost", "profit"],
    "margin_per_good_part": 0.1, "replications": 3, "horizon": "1h", "seed": 4}


def doc(**changes) -> dict:
    d = serial_line([station("m1", exp(1.0)), station("m2", exp(1.0))], [2], name="study")
    d["experiments"] = [{**EXPERIMENT, **changes}]
    return d


def same(a, b):
    assert a.points == b.points
    np.testing.assert_array_equal(a.replications, b.replications)
    assert a.names == b.names
    for name in a.names:
        np.testing.assert_array_equal(a.values[name], b.values[name], err_msg=name)


def test_the_file_holds_what_the_study_returned(tmp_path, kernel):
    p = project_from_json(doc())
    mem = run_study(p, "buffer", executor="threads")
    assert mem.finished and len(mem.points) == 12 and set(mem.replications) == {3}
    filed = run_study(p, "buffer", executor="serial", out=tmp_path / "s.h5")
    same(mem, filed)
    back = read_study(tmp_path / "s.h5")
    same(mem, back)
    assert back.experiment == p.experiments[0] and back.horizon == 3600.0
    with h5py.File(tmp_path / "s.h5") as f:
        assert f.attrs["format"] == "twinbench-study" and f["kpis"].shape[0] == 12
        assert f["kpis"].chunks is None  # contiguous: writes touch no metadata
    row = mem.rows()[5]
    assert row["factors"] == {"b1.capacity": 3.0, "m2.process_time.mean": 1.1}
    vals = mem.values["line.throughput_per_hour"][5]
    assert row["responses"]["line.throughput_per_hour"]["mean"] == pytest.approx(vals.mean())


def test_existing_files_are_refused_unless_resumed_or_overwritten(tmp_path, kernel):
    p = project_from_json(doc())
    out = tmp_path / "s.h5"
    run_study(p, "buffer", executor="serial", out=out)
    with pytest.raises(StudyFileError, match="exists already; continue that study with "
                       "--resume"):
        run_study(p, "buffer", out=out)
    other = project_from_json(doc(seed=5))
    with pytest.raises(StudyFileError, match="another experiment or another version"):
        run_study(other, "buffer", out=out, resume=True)
    with pytest.raises(StudyFileError, match="no such study file to resume"):
        run_study(p, "buffer", out=tmp_path / "none.h5", resume=True)
    again = run_study(other, "buffer", out=out, overwrite=True, executor="serial")
    assert again.finished and again.resumed == 0
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    with pytest.raises(StudyFileError, match="not a readable study file"):
        read_study(tmp_path / "junk.h5")


def test_a_cancelled_study_resumes_and_equals_an_uninterrupted_one(tmp_path, kernel):
    p = project_from_json(doc())
    whole = run_study(p, "buffer", executor="serial")
    task = TaskState()
    seen = []

    def stop_after_four(i, r):
        seen.append(i)
        if len(seen) == 4:
            task.request_interruption()

    with pytest.raises(Cancelled):
        run_study(p, "buffer", executor="serial", out=tmp_path / "s.h5", task=task,
                  on_point=stop_after_four)
    with StudyFile.read(tmp_path / "s.h5") as f:
        assert f.done.sum() == 4
    ran = []
    resumed = run_study(p, "buffer", executor="threads", out=tmp_path / "s.h5", resume=True,
                        on_point=lambda i, r: ran.append(i))
    assert resumed.resumed == 4 and sorted(ran) == sorted(set(range(12)) - set(seen))
    same(whole, resumed)


CHILD = textwrap.dedent("""
    import sys
    from twin.experiments.study import run_study
    from twin.projectfile.reader import load_project

    def said(i, r):
        print("done", i, flush=True)

    run_study(load_project(sys.argv[1]), "buffer", out=sys.argv[2], executor="serial",
              on_point=said)
    print("finished", flush=True)
""")


def test_a_study_killed_with_sigkill_resumes_and_equals_an_uninterrupted_one(
        tmp_path, make_project, kernel):
    folder = make_project(doc(points=None, replications=4))
    out = tmp_path / "killed.h5"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(folder), str(out)],
                             cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                             stdout=subprocess.PIPE, text=True)
    done = 0
    for line in child.stdout:
        done += line.startswith("done")
        if done == 5:  # in the middle of point 6 (or of writing it)
            os.kill(child.pid, signal.SIGKILL)
            break
    child.wait(30)
    assert child.returncode == -signal.SIGKILL
    with StudyFile.read(out) as f:  # the file opens: its structure is whole
        assert 5 <= f.done.sum() < 12
        kept = int(f.done.sum())
    p = load_project(folder)
    resumed = run_study(p, "buffer", out=out, resume=True, executor="serial")
    assert resumed.resumed == kept and resumed.finished
    same(run_study(p, "buffer", executor="serial"), resumed)


def test_precision_is_reported_per_point(kernel):
    p = project_from_json(doc(replications=12, precision=0.02))
    r = run_study(p, "buffer", executor="threads")
    n = r.replications
    assert n.min() >= 3 and n.max() <= 12
    for i in range(len(r.points)):
        assert np.isnan(r.values["cost"][i, n[i]:]).all()
        st = r.stat("line.throughput_per_hour", i)
        assert st["ci95_halfwidth"] / st["mean"] <= 0.02 or n[i] == 12


def test_the_command_prints_a_table_json_and_exit_codes(tmp_path, make_project, kernel,
                                                        capsys):
    folder = make_project(doc())
    out = tmp_path / "cli.h5"
    assert twinbench(["study", str(folder), "buffer", "--out", str(out), "--quiet",
                      "--workers", "2"]) == 0
    text = capsys.readouterr().out
    assert "Study buffer: 12 design points (full factorial), 3 replications each" in text
    assert "b1.capacity" in text and "line.throughput_per_hour" in text
    assert f"study written to {out}" in text
    assert twinbench(["study", str(folder), "buffer", "--out", str(out), "--resume",
                      "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["resumed"] == 12 and got["done"] == 12 and len(got["points"]) == 12
    assert got["points"][0]["responses"]["cost"] == {"mean": 5.0, "ci95_halfwidth": 0.0}
    assert twinbench(["study", str(folder), "nope"]) == 2
    assert "no experiment 'nope'" in capsys.readouterr().err
    assert twinbench(["study", str(folder), "buffer", "--resume"]) == 2
    assert twinbench(["study", str(folder), "buffer", "--out", str(out)]) == 2
    assert "exists already" in capsys.readouterr().err


def test_a_study_that_fails_before_any_point_leaves_no_file(tmp_path, kernel):
    from twin.errors import ProjectError

    bad = doc(factors=[{"element": "b1", "path": "capacity", "low": 1, "high": 2,
                        "integer": True}])
    p = project_from_json(bad)
    p.experiments[0] = dataclasses.replace(
        p.experiments[0], factors=(dataclasses.replace(p.experiments[0].factors[0],
                                                       low=-2.0),))
    with pytest.raises(ProjectError, match="design point 0"):
        run_study(p, "buffer", out=tmp_path / "s.h5", executor="threads")
    assert not (tmp_path / "s.h5").exists()


def test_a_study_too_big_to_keep_is_refused_before_it_runs(tmp_path, kernel):
    from twin.experiments.study import StudyError

    p = project_from_json(doc(design="latin_hypercube", points=100_000, replications=10_000))
    with pytest.raises(StudyError, match=r"100,000 points x \d+ KPIs x up to 10,000 "
                       "replications.*give fewer points or a lower replications cap"):
        run_study(p, "buffer", out=tmp_path / "big.h5")
    assert not (tmp_path / "big.h5").exists()
