#!/usr/bin/env bash
# Install twinbench with its test tools and run every check CI runs:
# ruff, the import contracts, the model tests without Qt (and the exact-trace tests without
# JIT), then the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --dev

echo "== ruff"
.venv/bin/ruff check .
echo "== import contracts (app -> twin -> kernels; no Qt/VTK in twin or kernels)"
.venv/bin/lint-imports

echo "== model tests in an environment without Qt, VTK or pyqtgraph"
if [[ ! -x .venv-noqt/bin/python ]]; then
  ${PYTHON:-python3} -m venv .venv-noqt
fi
.venv-noqt/bin/python -m pip install -q --upgrade pip
# twinbench's own dependencies without the GUI ones (PySide6, VTK, pyqtgraph), as pinned in
# pyproject.toml (numba's pin matters: kernels/jit.py patches its internals, tests/kernels/test_jit.py)
mapfile -t deps < <(.venv-noqt/bin/python -c 'import tomllib
gui = ("pyside6", "vtk", "pyqtgraph")
deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]
print("\n".join(d for d in deps if not d.lower().startswith(gui)))')
.venv-noqt/bin/python -m pip install -q "${deps[@]}" pytest pytest-timeout jsonschema
.venv-noqt/bin/python -m pip install -q --no-deps -e .
.venv-noqt/bin/python - <<'PY'
import importlib.util, sys
leaked = [m for m in ("PySide6", "vtk", "pyqtgraph") if importlib.util.find_spec(m)]
sys.exit(f"Qt-free environment has {leaked}" if leaked else 0)
PY
.venv-noqt/bin/python -m pytest -q -p no:cacheprovider tests/kernels tests/twin -m "not slow"

echo "== exact event traces with the kernels run as plain Python (NUMBA_DISABLE_JIT=1)"
NUMBA_DISABLE_JIT=1 .venv-noqt/bin/python -m pytest -q -p no:cacheprovider tests/twin/test_traces.py

echo "== full test suite (the 25 slowest tests listed at the end: where the CI's time goes)"
.venv/bin/python -m pytest -q --durations=25
