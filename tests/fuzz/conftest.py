"""Fuzz tests: Hypothesis profiles, the sandboxed worker, and a check that no case writes
into the repository.

The ``ci`` profile (the default) is derandomized, so that CI draws the same cases on every
run, and small enough for the whole ``tests/fuzz`` folder to take about a minute and a half
on two cores with a warm kernel cache. Shrinking is off: a failing case can hang for the
whole time bound, and shrinking would replay it dozens of times; the case is printed as it
was drawn, and ``TWINBENCH_FUZZ_SAVE=1`` writes it into ``tests/fuzz/corpus``.
``TWINBENCH_FUZZ_PROFILE=dev`` draws new random cases each run; ``benchmarks/fuzz.py``
draws many more.
"""

from __future__ import annotations

import os
import subprocess

import pytest
from harness import ROOT, Sandbox, fresh_dir
from hypothesis import HealthCheck, Phase, settings

_COMMON = dict(deadline=None, database=None, print_blob=False,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                      HealthCheck.filter_too_much, HealthCheck.large_base_example,
                                      HealthCheck.function_scoped_fixture])
settings.register_profile("ci", derandomize=True, max_examples=12,
                          phases=[Phase.explicit, Phase.generate], **_COMMON)
settings.register_profile("dev", max_examples=50, phases=[Phase.explicit, Phase.generate],
                          **_COMMON)
settings.load_profile(os.environ.get("TWINBENCH_FUZZ_PROFILE", "ci"))


@pytest.fixture(scope="session")
def sandbox(kernel):
    """One worker process for the session (restarted by itself after a hang or a crash)."""
    box = Sandbox()
    yield box
    box.close()


@pytest.fixture(scope="session")
def case_dir(tmp_path_factory):
    """``case_dir()``: an empty folder for the next case."""
    base = tmp_path_factory.mktemp("fuzz")
    return lambda: fresh_dir(base / "work")


def _repo_state() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"],
                          cwd=ROOT, capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="session", autouse=True)
def repository_untouched():
    """No case may write into the repository (a mutated project's --out, a mesh path, a
    recording's external link, a temporary file)."""
    before = _repo_state()
    yield
    after = _repo_state()
    assert after == before, f"the fuzz cases changed the repository:\n{after}"
