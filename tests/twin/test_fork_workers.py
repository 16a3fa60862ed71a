"""Forks of a project with worker pools (issue 18), on projects/machining-cell: its one
technician follows the shift calendar and repairs the lathes and the mills.

A fork at 0 s starts as a fresh run does (the kernel's state, array for array:
tests/kernels/test_fork_kernel.py; here the output, in distribution); a fork while a lathe
is under repair keeps the technician busy on it until the recorded end of the repair.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from kernels import types as kt
from twin.projectfile.reader import load_project
from twin.recording import Recording, replay_asset
from twin.sim.runner import RunSpec, run_project
from twin.whatif.fork import fork_from_recording
from twin.whatif.simulated import write_run_as_recording

CELL = Path(__file__).resolve().parents[2] / "projects" / "machining-cell"
H = 2 * 86400.0


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, kernel):
    """machining-cell over two days, as a recording (replication 0)."""
    project = load_project(CELL)
    res = run_project(project, spec=RunSpec(horizon=H, replications=4, seed=5, log=True))
    path = tmp_path_factory.mktemp("forkw") / "cell.h5"
    write_run_as_recording(res.scenarios["base"], 0, path, seed=5)
    return project, path


def test_a_fork_at_zero_gives_the_output_of_a_fresh_run(recorded):
    project, path = recorded
    with Recording.open(path) as r:
        fr = fork_from_recording(project, r, 0.0, H, replications=16, seed=3)
    fresh = run_project(project, spec=RunSpec(horizon=H, replications=16, seed=4))
    good = np.array([rep.line_out[kt.L_GOOD] for rep in fresh.scenarios["base"].replications])
    assert good.mean() > 100  # a real two days' output, not an empty line
    assert stats.ttest_ind(fr.outputs, good, equal_var=False).pvalue > 0.01
    assert not any("technician" in n or "operator" in n for n in fr.notes)


def test_the_technician_stays_on_the_repair_under_way_until_its_recorded_end(recorded):
    project, path = recorded
    with Recording.open(path) as r:
        for asset in r.asset_ids:
            rp = replay_asset(r, asset)
            if rp.element not in ("lathes", "mill_1", "mill_2"):  # repaired by the technician
                continue
            tl = rp.timeline
            rs, re_ = tl.runs(kt.DOWN)
            inside = np.flatnonzero((re_ < H - 3600.0) & (re_ - rs > 120.0))
            if len(inside):
                break
        else:
            pytest.fail(f"no repair inside the recording (assets {list(r.asset_ids)})")
        k = inside[0]
        t = float(rs[k] + 0.5 * (re_[k] - rs[k]))
        fr = fork_from_recording(project, r, t, t + 3600.0, replications=3, seed=1, log=True)
    start = next(s for s in fr.starts if s.asset == asset)
    assert start.state == kt.DOWN and start.repair_end == pytest.approx(re_[k])
    for rep in fr.replications:
        # the one technician was busy from t at least until the repair's recorded end
        assert rep.wk_out[0, kt.WS_BUSY] >= re_[k] - t - 1e-6
        assert rep.wk_out[0, :kt.N_WS].sum() == pytest.approx(3600.0)
