"""Start-up of the workbench: from process start to the first paint of the main window.

Each sample is a fresh ``python`` process that starts the workbench as ``twinbench open``
does (``app.main.main``) on an example project, under a real display (run it under Xvfb:
``Xvfb :72 & DISPLAY=:72 python benchmarks/bench_startup.py``). The child reports:

* **first paint**: the first ``Paint`` event of the main window, seconds after the parent
  started the process (interpreter start-up and every import included);
* **ready**: when the window's start-up status has cleared (everything deferred after the
  first paint, such as the 3D view, the charts and the kernel, has loaded), or, for a build
  without that status, the first paint again;
* **import of app.main_window**: ``python -X importtime``'s cumulative time of that module
  in the same child.

The kernel's Numba cache is warmed once before the samples (the issue's figure is with a
warm cache). The peer is ``python -c "import PySide6.QtWidgets"`` plus an empty
``QMainWindow`` painted (the floor any PySide6 application pays), measured the same way in
the same run. Not a test: nothing here asserts a time.

Usage::

    DISPLAY=:72 .venv/bin/python benchmarks/bench_startup.py [--runs 5] [--project bottling-line]
    DISPLAY=:72 .venv/bin/python benchmarks/bench_startup.py --baseline ../main   # before/after
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The child: installs a paint probe on the application before the workbench makes its
# window, then runs app.main.main exactly as `twinbench open` does.
CHILD = r"""
import json, sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow

t_parent = float(sys.argv[1]); project = sys.argv[2]; empty = sys.argv[3] == "empty"
out = {}
app = QApplication(sys.argv[:1])

class Probe(QObject):
    def eventFilter(self, obj, ev):
        if (ev.type() == QEvent.Paint and "paint" not in out and isinstance(obj, QMainWindow)):
            out["paint"] = time.time() - t_parent
            QTimer.singleShot(0, self.poll)
        return False

    def poll(self):
        win = next((w for w in app.topLevelWidgets() if isinstance(w, QMainWindow)), None)
        loading = getattr(win, "startup", None)
        if loading is not None and loading.pending():
            QTimer.singleShot(10, self.poll)
            return
        out.setdefault("ready", time.time() - t_parent)
        print("RESULT " + json.dumps(out), flush=True)
        win.close()
        app.quit()

probe = Probe()
app.installEventFilter(probe)
if empty:
    w = QMainWindow(); w.resize(1400, 900); w.show(); app.exec()
else:
    from app.main import main
    main(project)
"""


def sample(project: str, empty: bool, env: dict, root: Path = ROOT) -> dict:
    t0 = time.time()
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", CHILD, repr(t0), project,
         "empty" if empty else "app"],
        cwd=root, env={**env, "PYTHONPATH": str(root)}, capture_output=True, text=True,
        timeout=300,
    )
    line = next((s for s in proc.stdout.splitlines() if s.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"the child did not report (exit {proc.returncode}):\n"
                         f"{proc.stdout}\n{proc.stderr[-3000:]}")
    res = json.loads(line[len("RESULT "):])
    for row in proc.stderr.splitlines():  # -X importtime: "self | cumulative | name"
        parts = row.split("|")
        if len(parts) == 3 and parts[2].strip() == "app.main_window":
            res["import_main_window"] = int(parts[1]) / 1e6
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--project", default="bottling-line")
    ap.add_argument("--baseline", type=Path, metavar="CHECKOUT",
                    help="also start the workbench of another checkout (e.g. the main branch) "
                         "in the same run, for a before/after figure")
    args = ap.parse_args()
    if not os.environ.get("DISPLAY"):
        raise SystemExit("needs a display: run under Xvfb (Xvfb :72 & DISPLAY=:72 ...)")
    # the figure is with a warm Numba cache; numba keys its cache by the source
    # file, so each checkout's kernel is warmed from that checkout
    for root in [ROOT] + ([args.baseline.resolve()] if args.baseline else []):
        subprocess.run([sys.executable, "-c", "from kernels.warmup import warm_up; warm_up()"],
                       cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, check=True,
                       timeout=600)
    with tempfile.TemporaryDirectory() as home:
        # fresh settings, no recovery prompt, no remembered window layout
        env = {**os.environ, "XDG_CONFIG_HOME": f"{home}/config",
               "XDG_DATA_HOME": f"{home}/data"}
        project = str(ROOT / "projects" / args.project)
        ours = f"twinbench open {args.project}"
        base = f"baseline {args.baseline}" if args.baseline else None
        rows = {"empty QMainWindow (peer)": [], ours: [], **({base: []} if base else {})}
        for _ in range(args.runs):  # interleaved: load changes hit every side alike
            rows["empty QMainWindow (peer)"].append(sample(project, True, env))
            rows[ours].append(sample(project, False, env))
            if base:
                rows[base].append(sample(project, False, env, args.baseline.resolve()))
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    print(f"start-up, {args.runs} runs each, median (min-max) seconds; load average {load:.1f}")
    med = {}
    for name, rs in rows.items():
        cells = []
        for key in ("paint", "ready", "import_main_window"):
            xs = [r[key] for r in rs if key in r]
            if xs:
                med[(name, key)] = statistics.median(xs)
                cells.append(f"{key} {statistics.median(xs):.2f} ({min(xs):.2f}-{max(xs):.2f})")
        print(f"  {str(name)[:40]:<40} " + "; ".join(cells))
    peer = med[("empty QMainWindow (peer)", "paint")]
    t = med[(ours, "paint")]
    print(f"first paint: {t:.2f} s, {t / peer:.1f}x the empty window's {peer:.2f} s")
    if base:
        b = med[(base, "paint")]
        print(f"first paint: {t:.2f} s against the baseline's {b:.2f} s ({b / t:.2f}x faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
