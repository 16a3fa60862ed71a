"""A line that uses none of the features of issues 18-19 runs a kernel compiled without
their hooks (``kernels.types.uses_features``, ``kernels.jit.DropAbsentFeatures``); the same
line through the kernel with every hook gives the same results, bit for bit.

The hooks are tests that are false on every event of such a line, so both kernels must
agree on every array of a replication, the state log included. A hook left out that a line
needs (``uses_features`` too narrow) shows up here as a difference, on the example lines
and on random lines of the naive oracle's generator.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from oracles.lines import exp, operating_failures, serial_line, station

from kernels import types as kt
from twin.projectfile.reader import load_project, project_from_json
from twin.sim.lowering import lower
from twin.sim.runner import run_replication

ROOT = Path(__file__).resolve().parents[2]


def _both_kernels(project, horizon: float, warmup: float = 0.0):
    low = lower(project, horizon, warmup, sample_interval=60.0, log=True)
    assert low.arrays.features is None, "this line uses none of the features"
    full = dataclasses.replace(low, arrays=low.arrays._replace(features=np.ones(1, np.int64)))
    return [run_replication(x, seed=11, replication=2) for x in (low, full)]


def _assert_identical(lean, full):
    for field in dataclasses.fields(lean):
        a, b = getattr(lean, field.name), getattr(full, field.name)
        if a is None or b is None:
            assert a is None and b is None, field.name
            continue
        assert a.dtype == b.dtype and a.shape == b.shape, field.name
        assert a.tobytes() == b.tobytes(), f"{field.name} differs between the two kernels"


@pytest.mark.parametrize("name", ["standard-line", "bottling-line"])
def test_an_example_without_features_gives_the_same_results_from_both_kernels(name):
    lean, full = _both_kernels(load_project(ROOT / "projects" / name), 4 * 3600.0, 600.0)
    assert lean.line_out[kt.L_GOOD] > 100
    _assert_identical(lean, full)


def plain_line(seed: int) -> dict:
    """A small random serial line of the kernel's features before issues 18-19: stations of
    one to three servers, failures, scrap, buffers between some of them."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 6))
    stations = []
    for i in range(n):
        fields = {"servers": int(rng.integers(1, 4))}
        if rng.random() < 0.5:
            fields["failures"] = operating_failures(exp(float(rng.uniform(10, 40))),
                                                    exp(float(rng.uniform(1, 4))))
        if rng.random() < 0.3:
            fields["scrap"] = float(rng.uniform(0.0, 0.2))
        stations.append(station(f"s{i}", exp(float(rng.uniform(0.3, 2.0))), **fields))
    return serial_line(stations, [int(b) for b in rng.integers(0, 4, n - 1)],
                       name=f"plain {seed}")


@pytest.mark.parametrize("seed", range(6))
def test_random_lines_without_features_give_the_same_results_from_both_kernels(seed):
    lean, full = _both_kernels(project_from_json(plain_line(seed)), 2000.0, 100.0)
    assert lean.line_out[kt.L_GOOD] > 0
    _assert_identical(lean, full)


@pytest.mark.parametrize("name", ["assembly-line", "machining-cell", "heat-treatment"])
def test_a_line_with_features_gets_the_kernel_with_their_hooks(name):
    assert lower(load_project(ROOT / "projects" / name), 3600.0).arrays.features is not None


_COMPILE_LEAN = """
from numba.core.dispatcher import Dispatcher
from kernels import assembly, batching, demand, engine, orders, places, standby, workers
from kernels.warmup import tiny_model
m, s = tiny_model()
engine.start(m, s)
engine.run_until(m, s, 10.0)
compiled = [f"{mod.__name__}.{name}" for mod in (assembly, batching, demand, orders, places,
                                                  standby, workers)
            for name, d in vars(mod).items()
            if isinstance(d, Dispatcher) and d.__module__ == mod.__name__ and d.signatures]
if engine._pull_assembly.signatures:
    compiled.append("engine._pull_assembly")
print("COMPILED", ",".join(compiled))
"""


@pytest.mark.slow
def test_the_kernel_of_a_line_without_features_compiles_none_of_their_code(tmp_path):
    """In a fresh process with an empty cache: compiling the kernel for such a line compiles
    no function of the features' modules (each compiles on its own when a hook calls it)."""
    done = subprocess.run([sys.executable, "-c", _COMPILE_LEAN], cwd=ROOT, capture_output=True,
                          text=True, timeout=900,
                          env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-3000:]
    compiled = done.stdout.split("COMPILED")[-1].strip()
    assert compiled == "", f"compiled for a line without features: {compiled}"
