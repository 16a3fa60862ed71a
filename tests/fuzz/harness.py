"""The fuzz harness: run one case in a sandboxed worker process and say how it ended.

A *case* is a reader and the files it reads: a project folder, a mapping, a CSV with its
mapping, a recording (built from a base recording and a list of h5py mutations), or a
``twinbench`` command line over such files. :func:`run_case` writes the files into a fresh
folder, runs the reader in a worker process (:class:`Sandbox`) and returns an
:class:`Outcome`. The property every case must keep (:func:`check`):

* a clear **refusal**: an exception derived from ``twin.errors.InputError`` with a message,
  or, through the CLI, exit code 1 or 2 with a message on stderr and no traceback; or
* a **sane** result: exit 0 and no NaN or infinity where a number must be (a run's part and
  energy counts, a recording's KPIs);

never any other exception, a signal, a hang (a case that outlasts its time bound) or a file
written beside the case folder. The worker runs with a memory limit, so a case that tries
to allocate the machine fails with ``MemoryError`` instead of taking the machine with it;
a hang or a crash kills the worker, and the next case starts a new one.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import multiprocessing as mp
import os
import re
import resource
import shutil
import subprocess
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "corpus"
#: Seconds a case may take once the kernel is compiled: a run of a fuzzed line over its
#: short horizon takes milliseconds, reading a file a few; anything near this is a hang.
TIMEOUT_S = 5.0
#: Address space of the worker: far above what any case needs (numba + h5py: ~1 GB).
MEMORY_BYTES = 6 << 30
#: Exit code of a refused command line (every command: a user error exits 2 with its message
#: on stderr; 1 is an internal error, with a traceback).
REFUSAL_EXIT_CODES = (2,)
#: Time bound of a real subprocess (interpreter start, imports, kernel from the cache).
SUBPROCESS_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Outcome:
    """How a case ended.

    Attributes
    ----------
    kind : {"sane", "refusal", "failure", "hang", "crash"}
    detail : str
        The refusal message, the traceback of the failure, or what was found wrong.
    """

    kind: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.kind in ("sane", "refusal")

    def signature(self) -> str:
        """One line that tells failures apart: the kind, the exception type and the last
        frame in twinbench's code (or the first line of what was found, numbers and quoted
        values blanked), so that one bug reached through different inputs counts once."""
        lines = [ln.strip() for ln in self.detail.strip().splitlines() if ln.strip()]
        frames = [ln for ln in lines if ln.startswith("File ") and str(ROOT) in ln
                  and "/tests/fuzz/" not in ln]
        if frames:
            exc = next((ln for ln in reversed(lines) if re.match(r"^[\w.]+(Error|Exception"
                                                                  r"|Warning)?\b", ln)), "")
            where = frames[-1].replace(f'File "{ROOT}/', "").replace('"', "")
            return f"{self.kind}: {exc.split(':')[0]} at {where}"
        first = lines[0] if lines else ""
        first = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", first)
        return f"{self.kind}: {re.sub(r'[-+]?[0-9][0-9.e+-]*', '#', first)[:120]}"


@dataclass
class Case:
    """A reader and its input files.

    Attributes
    ----------
    reader : str
        A key of :data:`CASES` (``"project"``, ``"cli"``, ...) or ``"subprocess"``.
    args : list
        Arguments of the reader; a string starting with ``@`` is a path in the case folder.
    files : dict
        File name (may contain ``/``) to its bytes.
    recording : dict, optional
        ``{"base": "event_log" | "buckets", "mutations": [...], "name": "rec.h5"}``: a
        recording imported from a base CSV, then changed with h5py (:func:`build_recording`).
    """

    reader: str
    args: list
    files: dict = field(default_factory=dict)
    recording: dict | None = None

    def key(self) -> str:
        h = hashlib.sha256(repr((self.reader, self.args, sorted(self.files.items()),
                                 json.dumps(self.recording, sort_keys=True))).encode())
        return h.hexdigest()[:10]


# --- sanity of results ------------------------------------------------------------------------

def _strict_json(text: str):
    def refuse(name):
        raise ValueError(f"{name} in the output: not JSON")

    return json.loads(text, parse_constant=refuse)


#: Run KPIs that count or add up (parts, energy, failures): defined for every run, so a
#: ``null`` (NaN or infinity before printing) is a bug. Ratios may be ``null`` (no parts).
_COUNTS = ("good_parts", "scrap", "lost", "energy_kwh", "parts_in", "parts_out", "failures")


def check_run_json(text: str) -> str | None:
    """What is wrong with the ``--json`` document of ``twinbench run`` (None: sane)."""
    try:
        doc = _strict_json(text)
    except ValueError as e:
        return f"--json output is not strict JSON: {e}"
    for scen, sd in doc.items():
        for where, kpis in [("line", sd["line"]), *sd["elements"].items()]:
            for key, stat in kpis.items():
                if not isinstance(stat, dict) or "mean" not in stat:
                    continue
                mean = stat["mean"]
                if key in _COUNTS and not (isinstance(mean, int | float) and mean >= 0):
                    return f"{scen}: {where}.{key} = {mean!r} (NaN, infinite or negative)"
            for state, stat in kpis.get("state_fraction", {}).items():
                if not (isinstance(stat["mean"], int | float) and -1e-9 <= stat["mean"]
                        <= 1 + 1e-9):
                    return f"{scen}: {where}.state_fraction.{state} = {stat['mean']!r}"
    return None


def _non_finite(obj, path="$") -> str | None:
    if isinstance(obj, dict):
        return next((p for k, v in obj.items() if (p := _non_finite(v, f"{path}.{k}"))), None)
    if isinstance(obj, list | tuple):
        return next((p for i, v in enumerate(obj) if (p := _non_finite(v, f"{path}[{i}]"))),
                    None)
    if isinstance(obj, float | np.floating) and not math.isfinite(obj):
        return f"{path} = {obj!r}"
    return None


# --- the cases (run inside the worker) -----------------------------------------------------------

def case_project(folder: str, horizon: float, replications: int) -> Outcome:
    """Load a project folder; when it loads, run it briefly (every scenario)."""
    from twin.projectfile.reader import load_project
    from twin.sim.runner import RunSpec, run_project

    project = load_project(folder)
    names = ["base", *(s.name for s in project.scenarios)]
    spec = RunSpec(horizon=horizon, warmup=0.0, replications=replications, seed=1)
    summary = run_project(project, names, spec, workers=1).summary()
    from app.cli.run import _json_safe

    problem = check_run_json(json.dumps(_json_safe(summary)))
    return Outcome("failure", problem) if problem else Outcome("sane")


def case_cli(*argv: str) -> Outcome:
    """``twinbench ARGV`` in-process: the command's handler without ``main``'s safety net,
    so that an exception other than ``InputError`` shows as what it is."""
    from app.cli import build_parser

    argv = list(argv)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as e:  # argparse refused a value: usage and exit 2
            if e.code == 2 and err.getvalue().strip():
                return Outcome("refusal", err.getvalue().strip())
            return Outcome("failure", f"argparse exited {e.code!r}: {err.getvalue()}")
        rc = args.func(args)
    return _judge_exit(argv, rc, out.getvalue(), err.getvalue())


def _judge_exit(argv, rc, stdout: str, stderr: str) -> Outcome:
    if "Traceback" in stderr:
        return Outcome("failure", f"exit {rc} with a traceback:\n{stderr[-3000:]}")
    if rc in REFUSAL_EXIT_CODES:
        if not stderr.strip():
            return Outcome("failure", f"exit {rc} without a message on stderr")
        return Outcome("refusal", stderr.strip())
    if rc != 0:
        return Outcome("crash" if rc < 0 or rc >= 128 else "failure",
                       f"exit code {rc}\n{stderr[-3000:]}")
    if "--json" in argv and argv[0] == "run":
        problem = check_run_json(stdout)
        return Outcome("failure", problem) if problem else Outcome("sane")
    if "--json" in argv and argv[0] == "replay":
        try:
            _strict_json(stdout)
        except ValueError as e:
            return Outcome("failure", f"--json output is not strict JSON: {e}")
    return Outcome("sane")


def case_mapping(path: str) -> Outcome:
    """Read a mapping file."""
    from twin.recording import load_mapping

    load_mapping(path)
    return Outcome("sane")


def case_recording(path: str) -> Outcome:
    """Open a recording, read every asset, replay it and compute KPIs (whole, per shift)."""
    from twin.recording import Recording, recording_kpis, replay_recording, shift_kpis

    with Recording.open(path) as rec:
        for asset in rec.asset_ids:
            rec.asset(asset)
        replay_recording(rec)
        kpis = recording_kpis(rec)
        for asset, k in kpis.items():
            problem = _non_finite(k.to_dict(), f"kpis[{asset!r}]")
            if problem:
                return Outcome("failure", f"non-finite KPI: {problem}")
            for p in shift_kpis(rec, asset):
                problem = _non_finite(p.kpis.to_dict(), f"shift {p.label} of {asset!r}")
                if problem:
                    return Outcome("failure", f"non-finite KPI: {problem}")
        rec.mapping, rec.import_report, rec.shifts  # noqa: B018  (read: they may be damaged)
    return Outcome("sane")


def case_import(data: str, mapping: str, out: str) -> Outcome:
    """Import a data file through a mapping; when it imports, read the recording back."""
    from twin.recording import import_recording

    import_recording(data, mapping, out)
    return case_recording(out)


def case_warm() -> Outcome:
    """Load (or compile) the twin kernel, so that the first real case is not timed with it."""
    from kernels.warmup import warm_up

    warm_up()
    return Outcome("sane")


CASES = {"project": case_project, "cli": case_cli, "mapping": case_mapping,
         "recording": case_recording, "import": case_import, "warm": case_warm}


def _guarded(name: str, args: tuple) -> Outcome:
    from twin.errors import InputError

    try:
        return CASES[name](*args)
    except InputError as e:
        msg = str(e).strip()
        if not msg:
            return Outcome("failure", f"{type(e).__name__} without a message")
        return Outcome("refusal", msg)
    except BaseException:  # noqa: BLE001  (anything else is the bug this harness looks for)
        return Outcome("failure", traceback.format_exc(limit=12))


# --- the worker process ------------------------------------------------------------------------

def _worker(conn) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    while True:
        try:
            name, args, cwd = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        os.chdir(cwd)
        conn.send(_guarded(name, args))


class Sandbox:
    """A worker process that runs cases one at a time; restarted after a hang or a crash.

    Parameters
    ----------
    timeout : float
        Seconds a case may take (:data:`TIMEOUT_S`).
    """

    def __init__(self, timeout: float = TIMEOUT_S) -> None:
        self.timeout = timeout
        self._proc = None
        self._start()

    def _start(self) -> None:
        ctx = mp.get_context("spawn")  # fork after numba's threading layer is unsafe
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_worker, args=(child,), daemon=True,
                                 name="twinbench-fuzz-worker")
        self._proc.start()
        child.close()
        warm = self._call("warm", (), str(ROOT), 900.0)  # cached kernel: ~2 s
        if warm.kind != "sane":
            raise RuntimeError(f"the fuzz worker cannot load the kernel: {warm.detail}")

    def _stop(self) -> None:
        if self._proc is not None and self._proc.is_alive():
            self._proc.kill()
        if self._proc is not None:
            self._proc.join(10)
        self._conn.close()

    def _call(self, name: str, args: tuple, cwd: str, timeout: float) -> Outcome:
        self._conn.send((name, args, cwd))
        if self._conn.poll(timeout):
            try:
                return self._conn.recv()
            except EOFError:
                pass
            self._proc.join(10)
            code = self._proc.exitcode
            return Outcome("crash", f"the worker died with exit code {code}"
                           + (f" (signal {-code})" if code is not None and code < 0 else ""))
        return Outcome("hang", f"no answer within {timeout:g} s")

    def run(self, name: str, args: tuple, cwd: str | os.PathLike) -> Outcome:
        """Run ``CASES[name](*args)`` in the worker with ``cwd`` as working folder."""
        outcome = self._call(name, tuple(args), str(cwd), self.timeout)
        if outcome.kind in ("hang", "crash"):
            self._stop()
            self._start()
        return outcome

    def close(self) -> None:
        self._stop()


def run_subprocess(argv: list[str], cwd: str | os.PathLike) -> Outcome:
    """``twinbench ARGV`` as a user runs it, in its own interpreter."""
    try:
        proc = subprocess.run([sys.executable, "-m", "app.cli", *argv], cwd=cwd,
                              capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT_S,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    except subprocess.TimeoutExpired:
        return Outcome("hang", f"no exit within {SUBPROCESS_TIMEOUT_S:g} s")
    if proc.returncode < 0 or proc.returncode in (134, 139):
        return Outcome("crash", f"exit code {proc.returncode}\n{proc.stderr[-3000:]}")
    return _judge_exit(argv, proc.returncode, proc.stdout, proc.stderr)


# --- recordings --------------------------------------------------------------------------------

EVENT_LOG_CSV = """\
ts,asset,status,items,level
2024-05-06T06:00:00,M1-A,RUN,0,
2024-05-06T06:00:00,M1-B,WAIT,0,
2024-05-06T06:00:00,B1,,,3
2024-05-06T06:00:00,M2,RUN,0,
2024-05-06T06:05:00,M1-A,ALARM,5,
2024-05-06T06:07:00,B1,,,4
2024-05-06T06:09:00,M1-B,RUN,2,
2024-05-06T06:12:00,M1-A,RUN,0,
2024-05-06T06:20:00,M2,FULL,7,
2024-05-06T06:30:00,M2,OFF,1,
2024-05-06T06:30:00,M1-A,OFF,3,
2024-05-06T06:30:00,M1-B,OFF,3,
2024-05-06T06:30:00,B1,,,0
"""
EVENT_LOG_MAPPING = ROOT / "resources/mappings/example_line_levels_mapping.json"

BUCKETS_CSV = """\
ts,asset,status,items,power_avg,product
2022-09-01 00:00:00+00:00,A,2.0,5.0,2.0,1
2022-09-01 00:05:00+00:00,A,2.0,4.0,3.0,1
2022-09-01 00:00:00+00:00,B,1.0,1.0,1.0,2
2022-09-01 00:10:00+00:00,A,3.0,0.0,0.0,1
2022-09-01 00:05:00+00:00,B,0.0,0.0,0.5,2
"""
BUCKETS_MAPPING = {
    "shape": "buckets", "source": "fuzz base data",
    "columns": {"time": "ts", "asset": "asset", "state": "status", "parts": "items",
                "power": "power_avg", "product": "product"},
    "time": {"format": "iso", "time_zone": "UTC"},
    "bucket_length_s": 300,
    "states": {"0": "idle", "1": "busy", "2": "busy", "3": "down"},
}
#: The base data of each recording shape: (CSV text, mapping as a dict).
BASES = {
    "event_log": (EVENT_LOG_CSV, json.loads(EVENT_LOG_MAPPING.read_text(encoding="utf-8"))),
    "buckets": (BUCKETS_CSV, BUCKETS_MAPPING),
}


def build_base(shape: str, path: Path) -> Path:
    """Import the base data of ``shape`` into the recording ``path`` (as twinbench writes it)."""
    from twin.recording import import_recording, mapping_from_dict

    csv_text, mapping = BASES[shape]
    data = path.with_suffix(".base.csv")
    data.write_text(csv_text, encoding="utf-8")
    import_recording(data, mapping_from_dict(mapping), path, overwrite=True)
    data.unlink()
    return path


def base_paths(shape: str) -> tuple[list[str], list[str]]:
    """Datasets and groups (``"/assets/A/states"``, ...) of a base recording, for mutations."""
    import tempfile

    import h5py

    with tempfile.TemporaryDirectory() as tmp:
        path = build_base(shape, Path(tmp) / "base.h5")
        datasets, groups = [], ["/"]
        with h5py.File(path, "r") as f:
            f.visititems(lambda name, obj: (datasets if isinstance(obj, h5py.Dataset)
                                            else groups).append("/" + name))
    return sorted(datasets), sorted(groups)


def _value(v):
    """A mutation's JSON value as what h5py writes (``"nan"`` etc. as floats)."""
    if isinstance(v, str) and v in ("nan", "inf", "-inf"):
        return float(v)
    return v


def mutate_recording(path: Path, mutations: list[dict]) -> None:
    """Change a recording in place with h5py, one mutation at a time.

    Each mutation is a dict with ``op``:

    ``delete`` (``path``), ``scalar`` (``path``, ``value``: the dataset becomes a scalar),
    ``retype`` (``path``, ``dtype``: the dataset's data cast to another dtype),
    ``fill`` (``path``, ``field``, ``value``: every row's field set, ``"nan"``/``"inf"``
    allowed), ``resize`` (``path``, ``rows``: rows repeated or cut), ``attr`` (``path``,
    ``name``, ``value``; ``value`` null deletes the attribute), ``softlink`` (``path``,
    ``target``: the object replaced by a soft link), ``extlink`` (``path``, ``file``,
    ``target``), ``truncate`` (``size``: the file cut to ``size`` bytes) and ``flip``
    (``offset``: one byte inverted).
    """
    import h5py

    for mu in mutations:
        op = mu["op"]
        if op in ("truncate", "flip"):
            data = bytearray(path.read_bytes())
            if op == "truncate":
                data = data[:mu["size"]]
            elif data:
                data[mu["offset"] % len(data)] ^= 0xFF
            path.write_bytes(bytes(data))
            continue
        try:
            f = h5py.File(path, "r+")
        except OSError:  # an earlier mutation broke the file: the reader gets it as it is
            return
        # a link loop, a path an earlier mutation removed, a value the new dtype cannot
        # hold: this mutation is moot (the case still gets the others)
        with f, contextlib.suppress(Exception):
            _mutate(f, mu)


def _mutate(f, mu: dict) -> None:
    import h5py

    op = mu["op"]
    p = mu.get("path", "/")
    obj = f.get(p)
    if op == "delete" and p != "/" and p in f:
        del f[p]
    elif op == "scalar" and p != "/":
        if p in f:
            del f[p]
        f[p] = _value(mu["value"])
    elif op == "retype" and isinstance(obj, h5py.Dataset):
        data = obj[()]
        try:
            new = (data.astype(mu["dtype"]) if data.dtype.names is None
                   else np.asarray(data.tolist(), dtype=object).astype(mu["dtype"]))
        except (TypeError, ValueError, OverflowError):
            new = np.zeros(max(data.size, 1), mu["dtype"])
        del f[p]
        f[p] = new
    elif op == "fill" and isinstance(obj, h5py.Dataset) and obj.dtype.names:
        data = obj[()]
        name = mu["field"] if mu["field"] in obj.dtype.names else obj.dtype.names[0]
        with np.errstate(all="ignore"):
            try:
                data[name] = _value(mu["value"])
            except (TypeError, ValueError, OverflowError):
                data[name] = -1
        obj[...] = data
    elif op == "resize" and isinstance(obj, h5py.Dataset) and obj.shape:
        data = obj[()]
        new = np.resize(data, (mu["rows"],)) if data.size else data[:0]
        del f[p]
        f[p] = new
    elif op == "attr" and obj is not None:
        if mu["value"] is None:
            obj.attrs.pop(mu["name"], None)
        else:
            obj.attrs[mu["name"]] = _value(mu["value"])
    elif op == "softlink" and p != "/":
        if p in f:
            del f[p]
        f[p] = h5py.SoftLink(mu["target"])
    elif op == "extlink" and p != "/":
        if p in f:
            del f[p]
        f[p] = h5py.ExternalLink(mu["file"], mu["target"])


def build_recording(recipe: dict, folder: Path) -> Path:
    """The recording a case's ``recording`` recipe describes, in ``folder``."""
    path = folder / recipe.get("name", "rec.h5")
    build_base(recipe["base"], path)
    mutate_recording(path, recipe.get("mutations", []))
    return path


# --- running a case ----------------------------------------------------------------------------

def prepare(case: Case, folder: Path) -> list:
    """Write the case's files into ``folder``; return its arguments with paths resolved."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in case.files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    if case.recording is not None:
        build_recording(case.recording, folder)
    return [str(folder / a[1:]) if isinstance(a, str) and a.startswith("@") else a
            for a in case.args]


def run_case(sandbox: Sandbox, case: Case, where: Path) -> Outcome:
    """Run ``case`` in ``where/case`` and check that nothing was written beside that folder."""
    folder = where / "case"
    args = prepare(case, folder)
    before = sorted(os.listdir(where))
    if case.reader == "subprocess":
        outcome = run_subprocess(args, folder)
    else:
        outcome = sandbox.run(case.reader, args, folder)
    stray = sorted(set(os.listdir(where)) - set(before))
    if stray and outcome.ok:
        return Outcome("failure", f"wrote outside the case folder: {stray}")
    return outcome


def check(outcome: Outcome, case: Case) -> None:
    """Fail with what went wrong and how to replay the case (``TWINBENCH_FUZZ_SAVE=1``
    also writes it into the corpus)."""
    if outcome.ok:
        return
    note = outcome.signature()
    if os.environ.get("TWINBENCH_FUZZ_SAVE") == "1":
        save(case, note)
    shown = {k: (v[:300] + b"..." if len(v) > 300 else v) for k, v in case.files.items()}
    raise AssertionError(f"{note}\n\ncase: {case.reader} {case.args}\nfiles: {shown}\n"
                         f"recording: {case.recording}\n\n{outcome.detail[-4000:]}")


# --- the corpus --------------------------------------------------------------------------------

def save(case: Case, note: str, corpus: Path = CORPUS) -> Path:
    """Write a failing case into the corpus: its files, ``case.json`` (reader, arguments,
    recording recipe) and ``NOTE`` (one line: what it triggered)."""
    entry = corpus / f"{case.reader}-{case.key()}"
    if entry.exists():
        return entry
    entry.mkdir(parents=True)
    for name, data in case.files.items():
        target = entry / "files" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    doc = {"reader": case.reader, "args": case.args, "recording": case.recording}
    (entry / "case.json").write_text(json.dumps(doc, indent=1, ensure_ascii=True) + "\n",
                                     encoding="utf-8")
    (entry / "NOTE").write_text(note.replace("\n", " ")[:300] + "\n", encoding="utf-8")
    return entry


def load(entry: Path) -> Case:
    """The case a corpus entry holds."""
    doc = json.loads((entry / "case.json").read_text(encoding="utf-8"))
    files = {}
    root = entry / "files"
    if root.is_dir():
        for p in sorted(root.rglob("*")):
            if p.is_file():
                files[p.relative_to(root).as_posix()] = p.read_bytes()
    return Case(doc["reader"], doc["args"], files, doc.get("recording"))


def entries(corpus: Path = CORPUS) -> list[Path]:
    """Every corpus entry, in name order."""
    return sorted(p for p in corpus.iterdir() if (p / "case.json").is_file()) if (
        corpus.is_dir()) else []


def fresh_dir(base: Path) -> Path:
    """An empty folder for one case (the previous one is removed: thousands of cases)."""
    if base.exists():
        shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    return base
