"""One way of reporting errors in every ``twinbench`` command (issue 13): a user error
exits 2 with one message and no traceback, Ctrl-C exits 130, and anything else is a bug
reported with its traceback and exit code 1; the command is a package imported one way,
without Qt."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from oracles.lines import exp, serial_line, station

import twin.projectfile.reader
from app.cli import build_parser, common, main
from twin.safeio import TEMP_SUFFIX

ROOT = Path(__file__).resolve().parents[2]
LINE = serial_line([station("m1", exp(50.0)), station("m2", exp(55.0))], [4],
                   name="errors line", run={"horizon": "1h", "replications": 2})


def twinbench(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def files(tmp_path, make_project):
    """A good project, a file that is not a recording, a data file and a mapping."""
    fake = tmp_path / "fake.h5"
    fake.write_text("time,state\n")
    data = tmp_path / "data.csv"
    data.write_text("ts,asset,status\n2024-01-01T00:00:00Z,M1,1\n")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"shape": "buckets", "source": "t", "bucket_length_s": 300,
                                   "columns": {"time": "ts", "asset": "asset",
                                               "state": "status"},
                                   "states": {"1": "busy"}}))
    return {"project": make_project(LINE), "fake": fake, "data": data, "mapping": mapping,
            "tmp": tmp_path}


USER_ERRORS = {
    "run": (lambda f: [f["tmp"] / "nowhere"], "no such project"),
    "check": (lambda f: [f["tmp"] / "nowhere"], "no such project"),
    "import": (lambda f: [f["data"], "--mapping", f["tmp"] / "no.json", "--out",
                          f["tmp"] / "r.h5"], "existing mapping file"),
    "replay": (lambda f: [f["fake"]], "not an HDF5 file"),
    "calibrate": (lambda f: [f["project"], f["fake"]], "not an HDF5 file"),
    "fork": (lambda f: [f["project"], f["fake"], "--at", "0", "--until", "60"],
             "not an HDF5 file"),
}


@pytest.mark.parametrize("command", sorted(USER_ERRORS))
def test_a_user_error_exits_2_with_one_message_and_no_traceback(command, files, capsys):
    args, words = USER_ERRORS[command]
    code, out, err = twinbench(capsys, command, *args(files))
    assert code == 2 and out == ""
    assert err.startswith(f"twinbench {command}: error: ") and words in err
    assert "Traceback" not in err and "internal error" not in err
    assert [line for line in err.splitlines() if line.startswith("twinbench")] == \
        [err.splitlines()[0]]


@pytest.mark.parametrize("command", ["calibrate", "fork"])
def test_a_recording_of_another_line_says_how_to_map_it_on_the_command_line(
        command, files, sme_recording, capsys):
    # the SME machines map to no station of this line: the message names what was recorded,
    # what the project has and the command line's --asset (it once said "pass
    # assets={asset: station id}}", a Python argument with a stray brace)
    extra = ["--at", "1h", "--until", "2h"] if command == "fork" else []
    code, out, err = twinbench(capsys, command, files["project"], sme_recording, *extra)
    assert code == 2 and out == ""
    assert err.startswith(f"twinbench {command}: error: {sme_recording}: no recorded asset "
                          "maps to a station of project 'errors line'")
    assert "recorded assets: ['0', '1', '2']" in err and "stations: ['m1', 'm2']" in err
    assert "--asset ASSET=STATION" in err and "'element' in the mapping file's assets" in err
    assert "assets={" not in err and "}}" not in err


def test_a_bad_command_line_exits_2_and_help_and_version_0(capsys):
    assert main(["run"]) == 2  # no project: argparse refuses it
    assert "twinbench run: error: the following arguments are required: project" in \
        capsys.readouterr().err
    assert main(["fork", "p", "r.h5", "--at", "0", "--until", "1", "--replications", "x"]) == 2
    assert main(["--version"]) == 0


def test_help_documents_the_exit_codes():
    text = build_parser().format_help()
    assert "exit codes:" in text
    for code, words in (("0", "done"), ("1", "internal error"), ("2", "user error"),
                        ("130", "interrupted")):
        assert any(line.split()[:1] == [code] and words in line for line in text.splitlines())


@pytest.mark.parametrize("bug", [TypeError("boom"), KeyError("boom"), ValueError("boom"),
                                 OSError(errno.EBADF, "Bad file descriptor")])
def test_a_bug_is_an_internal_error_with_its_traceback(bug, files, capsys, monkeypatch):
    # a KeyError, ValueError or OSError of twinbench's own is a bug, not the user's input
    def broken(*args, **kwargs):
        raise bug

    monkeypatch.setattr(twin.projectfile.reader, "load_project", broken)
    code, out, err = twinbench(capsys, "check", files["project"])
    assert code == 1 and out == ""
    assert "Traceback (most recent call last)" in err and type(bug).__name__ in err
    assert err.rstrip().endswith("twinbench check: internal error, please report it with "
                                 "the traceback above")


def test_ctrl_c_exits_130(files, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(twin.projectfile.reader, "load_project", interrupted)
    assert twinbench(capsys, "check", files["project"]) == (130, "",
                                                           "twinbench check: interrupted\n")
    import app.cli.recording

    monkeypatch.setattr(app.cli.recording, "import_recording", interrupted)
    out = files["tmp"] / "r.h5"
    code, _, err = twinbench(capsys, "import", files["data"], "--mapping", files["mapping"],
                             "--out", out)
    assert code == 130 and err == f"twinbench import: interrupted; {out} was not written\n"


def test_an_import_never_writes_over_its_own_data_or_mapping(files, capsys):
    data = files["data"].read_bytes()
    for target in (files["data"], files["mapping"]):
        code, _, err = twinbench(capsys, "import", files["data"], "--mapping",
                                 files["mapping"], "--out", target, "--force")
        assert code == 2
        assert err == (f"twinbench import: error: {target}: is the file this command reads; "
                       "choose another --out\n")
    assert files["data"].read_bytes() == data
    code, _, err = twinbench(capsys, "import", files["data"], "--mapping", files["mapping"],
                             "--out", files["fake"])
    assert code == 2 and err == (f"twinbench import: error: {files['fake']}: exists; choose "
                                 "another --out, or add --force to overwrite it\n")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_a_data_file_that_cannot_be_read_is_a_user_error_naming_it(files, capsys):
    files["data"].chmod(0)
    try:
        code, _, err = twinbench(capsys, "import", files["data"], "--mapping",
                                 files["mapping"], "--out", files["tmp"] / "r.h5")
    finally:
        files["data"].chmod(0o644)
    assert code == 2 and "Traceback" not in err
    assert err.startswith(f"twinbench import: error: {files['data']}: Permission denied; "
                          "check its permissions")


def test_a_permission_error_on_the_data_file_is_a_user_error(files, capsys, monkeypatch):
    # as the test above, for a root user too: the importer's opening of the file refused
    import importlib

    importers = importlib.import_module("twin.recording.importers")  # not the function

    def refused(path, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(importers, "find_importer", refused)
    code, _, err = twinbench(capsys, "import", files["data"], "--mapping", files["mapping"],
                             "--out", files["tmp"] / "r.h5")
    assert code == 2 and "Traceback" not in err
    assert err == (f"twinbench import: error: {files['data']}: Permission denied; check its "
                   "permissions or choose another path\n")


def test_only_an_os_error_about_the_users_files_is_theirs(tmp_path):
    out = tmp_path / "results.h5"
    with pytest.raises(common.UserFileError, match=f"{out}: No space left on device; the "
                       "disk is full"), common.user_files(out):
        raise OSError(errno.ENOSPC, "No space left on device", str(out))
    beside = tmp_path / ".results.h5.tmp1234"  # the temporary file of a write by rename
    with pytest.raises(common.UserFileError, match="Permission denied"), \
            common.user_files(out):
        raise PermissionError(errno.EACCES, "Permission denied", str(beside))
    project = tmp_path / "plant"
    with pytest.raises(common.UserFileError, match="project.json"), \
            common.user_files(project):
        raise OSError(errno.EROFS, "Read-only file system", str(project / "project.json"))
    for other in (OSError(errno.ENOENT, "No such file", "/usr/lib/elsewhere.so"),
                  OSError(errno.EBADF, "Bad file descriptor")):
        with pytest.raises(OSError) as caught, common.user_files(out, None):
            raise other
        assert caught.value is other


def test_user_errors_of_the_twin_are_input_errors():
    from twin.errors import InputError, NotFoundError, OutputPathError, ProjectError
    from twin.jsonfile import JsonInputError
    from twin.projectfile.meshes import MeshError
    from twin.projectfile.reader import project_from_json
    from twin.recording.errors import MappingError, RecordingError
    from twin.whatif.calibration import CalibrationError
    from twin.whatif.fork import ForkError

    for cls in (ProjectError, JsonInputError, MeshError, RecordingError, MappingError,
                CalibrationError, ForkError, NotFoundError, OutputPathError,
                common.UsageError, common.UserFileError):
        assert issubclass(cls, InputError), cls
    with pytest.raises(NotFoundError) as err:
        project_from_json(LINE).scenario("nope")
    assert isinstance(err.value, KeyError)  # still, for callers that look names up
    assert str(err.value).startswith("no scenario 'nope' in project 'errors line'; known: ")


def python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("module", ["app.cli", "app.cli.common", "app.cli.run",
                                    "app.cli.recording", "app.cli.whatif", "app.cli.open"])
def test_each_module_imports_alone(module):
    # the three modules of old imported each other in a circle; now the package imports
    # the command modules and they import common, never each other
    done = python(f"import {module}")
    assert done.returncode == 0, done.stderr


def test_the_headless_commands_leave_qt_out(make_project):
    folder = make_project(LINE)
    done = python("import sys, app.cli; code = app.cli.main(['check', sys.argv[-1]]); "
                  "qt = sorted(m for m in sys.modules if m.split('.')[0] in "
                  "('PySide6', 'pyqtgraph', 'vtk', 'vtkmodules', 'pyvista')); "
                  "print(qt); sys.exit(code or bool(qt))".replace("sys.argv[-1]",
                                                                 repr(str(folder))))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK (5 elements" in done.stdout


@pytest.mark.parametrize("argv, option, says", [
    (["run", "p", "--horizon", "-1h"], "--horizon", "a duration cannot be negative"),
    (["run", "p", "--warmup", "-5m"], "--warmup", "a duration cannot be negative"),
    (["run", "p", "--replications", "-3"], "--replications", ">= 1 and <= 10,000"),
    (["run", "p", "--sample-interval", "-1.5h"], "--sample-interval", "cannot be negative"),
    (["study", "p", "--horizon", "-2h"], "--horizon", "a duration cannot be negative"),
    (["emulate", "p", "--duration", "-1h"], "--duration", "a duration cannot be negative"),
    (["optimize", "p", "--workers", "-2"], "--workers", ">= 1 and <= 1,024"),
])
def test_a_negative_value_is_named_as_the_options_value_not_a_missing_one(argv, option, says,
                                                                         capsys):
    # F3: argparse took "-1h" for an option and said "expected one argument"
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"argument {option}: " in err and says in err and repr(argv[-1]) in err
    assert "expected one argument" not in err


def test_an_option_word_after_an_option_is_still_a_missing_value(capsys):
    assert main(["run", "p", "--horizon", "--json"]) == 2
    assert "argument --horizon: expected one argument" in capsys.readouterr().err


@pytest.mark.parametrize("argv, command", [
    (["run", "PROJECT", "--frobnicate"], "run"),
    (["check", "PROJECT", "--horizon", "8h"], "check"),  # an option of run, not of check
    (["run", "PROJECT", "extra"], "run"),
])
def test_an_unknown_option_is_named_with_its_command(capsys, files, argv, command):
    """``twinbench run P --frobnicate`` printed the top-level usage (every command, no
    option of run) and "twinbench: error": the message names the command, its usage and
    where its options are listed."""
    argv = [files["project"] if a == "PROJECT" else a for a in argv]
    code, out, err = twinbench(capsys, *argv)
    assert code == 2 and out == ""
    assert f"usage: twinbench {command} " in err
    bad = " ".join(str(a) for a in argv[2:])
    assert (f"twinbench {command}: error: unrecognized arguments: {bad}; "
            f"`twinbench {command} --help` lists its options") in err
    assert "{run,check" not in err  # not the list of every command


def test_open_names_itself_in_its_errors(capsys, tmp_path):
    """`twinbench open` of a missing or broken project said "twinbench: 1 problem ...",
    not the "twinbench open: error: ..." every other command (and the README) uses."""
    code, out, err = twinbench(capsys, "open", tmp_path / "nowhere")
    assert code == 2 and out == ""
    assert err.startswith(f"twinbench open: error: {tmp_path / 'nowhere'}")
    assert "no such project" in err
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "project.json").write_text('{"schema_version": 1, "elements": [')
    code, out, err = twinbench(capsys, "open", broken)
    assert code == 2 and err.startswith("twinbench open: error: 1 problem in ")
    assert "invalid JSON" in err


def test_a_missing_project_is_named_once(capsys, tmp_path):
    # "1 problem in /missing/project.json:\n  - /missing/project.json: $: no such project"
    code, out, err = twinbench(capsys, "check", tmp_path / "missing")
    file = tmp_path / "missing" / "project.json"
    assert code == 2 and out == ""
    assert err == (f"twinbench check: error: {file}: no such project: give a project folder "
                   "holding project.json, or the path of a .json file\n")


def test_a_warm_up_error_gives_seconds_with_their_unit(capsys, tmp_path):
    # "(found 172800.0)": seconds, but nothing said so
    code, out, err = twinbench(capsys, "run", ROOT / "projects" / "heat-treatment",
                               "--horizon", "24h", "--warmup", "48h")
    assert code == 2
    assert ("warmup: must be >= 0 and shorter than the horizon (86400 s = 24 h) "
            "(found 172800 s = 48 h)") in err


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs a /proc file system")
def test_run_refuses_an_output_on_a_special_file_system_before_running(files, capsys):
    """`run P --out /proc/x.h5` ran the whole simulation, then refused the path: /proc
    passes a permission check (for root) but takes no new file (newfix3 §4)."""
    code, out, err = twinbench(capsys, "run", files["project"], "--out", "/proc/x.h5")
    assert code == 2 and out == ""  # refused up front: no run, so no table
    assert "/proc/x.h5: a file cannot be made in /proc" in err
    assert "ordinary, writable folder" in err
    assert not [p for p in Path("/proc").glob("*" + TEMP_SUFFIX)]


def test_a_stored_bad_tariff_factor_range_warns_and_only_the_study_refuses(capsys,
                                                                           tmp_path):
    """An energy study stored with an out-of-range factor stopped the project loading
    (every command failed); it loads with a warning naming the factor and the valid range,
    as an element factor's does: `run` runs; `study` refuses it, and `check` (which checks
    the experiments too) names it."""
    import json

    from oracles.lines import exp, serial_line, station

    doc = serial_line([station("m1", exp(300.0), power_kw={"busy": 12.0})], [])
    doc["tariff"] = {"price_per_kwh": 0.2, "battery": {"capacity_kwh": 20, "power_kw": 6}}
    doc["experiments"] = [{"name": "bigger-battery", "responses": ["line.grid_cost"],
                           "factors": [{"path": "tariff.battery.capacity_kwh", "low": -5,
                                        "high": 40}]}]
    folder = tmp_path / "plant"
    folder.mkdir()
    (folder / "project.json").write_text(json.dumps(doc))
    said = ("tariff.battery.capacity_kwh = -5 does not give a valid energy context: "
            "$.tariff.battery.capacity_kwh must be an energy in kWh >= 0 and <= 1e+07")
    code, out, err = twinbench(capsys, "run", str(folder), "--horizon", "1h",
                               "--replications", "1")
    assert code == 0, err
    assert f"warning: {folder}" in err and said in err
    code, out, err = twinbench(capsys, "check", str(folder))
    assert code == 2 and said in err
    code, out, err = twinbench(capsys, "study", str(folder), "bigger-battery",
                               "--out", str(tmp_path / "s.h5"))
    assert code == 2 and said in err
    assert not (tmp_path / "s.h5").exists()
