"""A cold numba cache: compiling the kernel, in two processes, gives what the cache gives.

``kernels.warmup.warm_up`` compiles ``start`` and the rare events in a second process
while it compiles ``run_until`` (``_compile_elsewhere``). This runs a short replication in a
new process with an empty cache and compares it, number for number, with the same
replication run here on the cache the rest of the suite uses. It checks that the new
process loaded ``start`` from the cache (the other process compiled it) and that every
kernel function was compiled for one signature only (two processes compiling one function
for different argument types would leave two machine-code files).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN = """
import json, sys
from kernels.warmup import cache_is_warm, compiled_kernels
from twin.projectfile.reader import load_project
from twin.sim.runner import RunSpec, run_project
from twin.sim.lowering import lower
assert not cache_is_warm(), "the cache is not empty"
project = load_project(sys.argv[1])
compiled_kernels(lower(project, 10.0).arrays)  # the kernel for lines with its features
rep = run_project(project, ["base"], RunSpec(horizon=3000.0, warmup=100.0, replications=1,
                                              seed=7), workers=1).scenarios["base"].replications[0]
from kernels.engine import start
print(json.dumps({"line": rep.line_out.tolist(), "elements": rep.el_out.tolist(),
                  "start_from_cache": sum(start.stats.cache_hits.values())}))
"""


@pytest.mark.slow
def test_a_cold_cache_compiles_each_kernel_once_and_computes_what_a_warm_one_does(tmp_path):
    from twin.projectfile.reader import load_project
    from twin.sim.runner import RunSpec, run_project

    project = ROOT / "projects" / "machining-cell"
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", RUN, str(project)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    cold = json.loads(done.stdout)
    start_from_cache = cold.pop("start_from_cache")
    if (os.cpu_count() or 1) >= 2:  # the other process compiled start; this one loaded it
        assert start_from_cache == 1

    rep = run_project(load_project(project), ["base"],
                      RunSpec(horizon=3000.0, warmup=100.0, replications=1, seed=7),
                      workers=1).scenarios["base"].replications[0]
    assert cold == {"line": rep.line_out.tolist(), "elements": rep.el_out.tolist()}

    compiled = Counter(p.name.split(".py")[0] for p in tmp_path.rglob("*.nbc"))
    assert {"engine.start", "engine.run_until", "engine._rare_event"} <= {
        name.split("-")[0] for name in compiled}
    assert all(n == 1 for n in compiled.values()), compiled
