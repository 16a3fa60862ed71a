"""Shared fixtures: project folders on disk, one place to run a project document, and the
import path of the test oracles (``tests/oracles``).

Numba compiles the kernel on first use (tens of seconds) unless the disk cache under
``~/.cache/twinbench`` is warm; ``kernel`` compiles it once per session, so that the first
test to simulate does not carry the cost alone.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:  # ``import oracles`` from any test folder
    sys.path.insert(0, str(TESTS))


@pytest.fixture(scope="session")
def kernel():
    """Compile (or load from the disk cache) the twin kernel once per session."""
    from kernels.warmup import warm_up

    warm_up()


@pytest.fixture
def make_project(tmp_path):
    """``make_project(doc, name="plant")`` writes ``<tmp>/<name>/project.json``; returns the
    folder. ``doc`` may be a dict (dumped as JSON) or the raw text of the file."""

    def make(doc, name: str = "plant") -> Path:
        folder = tmp_path / name
        folder.mkdir(parents=True, exist_ok=True)
        text = doc if isinstance(doc, str) else json.dumps(doc, indent=2)
        (folder / "project.json").write_text(text, encoding="utf-8")
        return folder

    return make


@pytest.fixture
def run_doc(kernel):
    """``run_doc(doc, horizon, **spec)``: run a project document, return its ``ScenarioResult``
    (``scenario=`` picks a scenario, ``workers=`` the thread count)."""
    from twin.projectfile.reader import project_from_json
    from twin.sim.runner import RunSpec, run_project

    def run(doc, horizon, scenario="base", workers=None, **spec):
        result = run_project(project_from_json(doc), [scenario],
                             RunSpec(horizon=horizon, **spec), workers=workers)
        return result.scenarios[scenario]

    return run


# --- the real SME retrofit recording ------------------------------------------------------
# shared/ stands beside the repository (CI clones main with shared/ next to it)
SHARED = Path(__file__).resolve().parents[2] / "shared"
SME_CSV = SHARED / "data/sme-retrofit/company_A_labelled_subset.csv"
SME_MAPPING = Path(__file__).resolve().parents[1] / "resources/mappings/sme_retrofit_mapping.json"


@pytest.fixture(scope="session")
def sme_recording(tmp_path_factory):
    """The SME CSV imported once with the shipped mapping; skipped where shared/ is absent."""
    if not SME_CSV.is_file():
        pytest.skip(f"the SME retrofit data is not at {SME_CSV} (it lives in shared/ beside "
                    "the repository)")
    from twin.recording import import_recording

    out = tmp_path_factory.mktemp("sme") / "sme.h5"
    import_recording(SME_CSV, SME_MAPPING, out)
    return out


# --- leaving the test process -------------------------------------------------------------
# Known open bug: when the whole suite ran, the interpreter sometimes aborts while the garbage
# collector tears down Qt/VTK objects at exit ("Fatal Python error: bool_dealloc", a refcount
# fault in a C extension; bench_gui.py shows it too, beside a RecursionError in VTK's
# QVTKRenderWindowInteractor.__getattr__ during close). It happens after every test passed
# and pytest reported, and turns exit 0 into 134. Until it is found, leave without interpreter
# finalisation, keeping pytest's exit status. TWINBENCH_TEST_FINALIZE=1 keeps the normal exit
# (to reproduce the bug).
_session_status: list[int] = []


def pytest_sessionfinish(session, exitstatus):
    _session_status.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    if _session_status and os.environ.get("TWINBENCH_TEST_FINALIZE") != "1":
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_session_status[-1])
