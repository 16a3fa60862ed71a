"""Files written whole and in their place (``twin.safeio``), meshes kept inside their
project, and names from files printed so that they cannot act on a terminal."""

from __future__ import annotations

import json
import os
import pickle
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import pytest
from oracles.lines import exp, operating_failures, serial_line, station

from twin import safeio
from twin.errors import Problem, ProjectError, printable
from twin.projectfile.meshes import MeshError, import_mesh
from twin.projectfile.reader import load_project, project_from_json, save_project

ROOT = Path(__file__).resolve().parents[2]
TEMP = re.compile(r"\.(?P<target>.+)\.(?P<pid>\d+)\.[0-9a-f]{8}\.twinbench-tmp")
SECRET = b"the user's ssh key\n"
LINE = serial_line([station("m1", exp(30.0), failures=operating_failures(exp(3600.0),
                                                                         exp(300.0))),
                    station("m2", exp(35.0))], [3], name="safe line")


def listing(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


@pytest.fixture
def victim(tmp_path_factory):
    """A file outside every folder written to, that links planted by tests point at."""
    path = tmp_path_factory.mktemp("elsewhere") / "id_rsa"
    path.write_bytes(SECRET)
    return path


@pytest.fixture
def planted_name(monkeypatch):
    """The next temporary name ``twin.safeio`` draws is ``...deadbeef...``, later ones are
    random: a test plants a link under it, as an attacker who guessed it would."""
    real = safeio.secrets.token_hex
    calls = []

    def token(n):
        calls.append(n)
        return "deadbeef" if len(calls) == 1 else real(n)

    monkeypatch.setattr(safeio.secrets, "token_hex", token)
    return lambda target: target.with_name(f".{target.name}.{os.getpid()}.deadbeef"
                                           f"{safeio.TEMP_SUFFIX}")


# --- twin.safeio ---------------------------------------------------------------------------------
def test_the_temporary_file_is_beside_the_target_named_and_with_normal_permissions(tmp_path):
    target = tmp_path / "results.h5"
    old = os.umask(0o027)
    try:
        with safeio.replacing(target) as f:
            f.write(b"new")
            (name,) = listing(tmp_path)
            found = TEMP.fullmatch(name)
            assert found and found["target"] == "results.h5"
            assert int(found["pid"]) == os.getpid()
            assert (tmp_path / name).stat().st_mode & 0o777 == 0o640  # not mkstemp's 0600
    finally:
        os.umask(old)
    assert listing(tmp_path) == ["results.h5"] and target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize("failure", [OSError("disk full"), KeyboardInterrupt()])
def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path, failure):
    target = tmp_path / "project.json"
    target.write_text("old")
    with pytest.raises(type(failure)), safeio.replacing(target, "w", "utf-8") as f:
        f.write("half of the new")
        raise failure
    assert listing(tmp_path) == ["project.json"] and target.read_text() == "old"


def test_a_link_planted_under_the_temporary_name_is_not_followed(tmp_path, victim,
                                                                 planted_name):
    target = tmp_path / "project.json"
    planted_name(target).symlink_to(victim)
    safeio.write_text(target, "new")  # the name is taken: another one is drawn
    assert victim.read_bytes() == SECRET
    assert target.read_text() == "new" and not target.is_symlink()


def test_a_target_that_is_a_link_is_replaced_not_written_through(tmp_path, victim):
    target = tmp_path / "results.h5"
    target.symlink_to(victim)
    safeio.write_bytes(target, b"results")
    assert victim.read_bytes() == SECRET
    assert not target.is_symlink() and target.read_bytes() == b"results"


def test_temporary_files_of_dead_processes_go_with_the_next_write(tmp_path, victim):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead = int(gone.stdout)
    stale = tmp_path / f".results.h5.{dead}.0123abcd{safeio.TEMP_SUFFIX}"
    stale.write_bytes(b"half a file")
    stale_link = tmp_path / f".project.json.{dead}.4567cdef{safeio.TEMP_SUFFIX}"
    stale_link.symlink_to(victim)
    running = tmp_path / f".import.h5.{os.getppid()}.89abcdef{safeio.TEMP_SUFFIX}"
    running.write_bytes(b"being written")
    safeio.write_text(tmp_path / "notes.txt", "x")
    assert listing(tmp_path) == sorted([running.name, "notes.txt"])
    assert victim.read_bytes() == SECRET  # the link went, not what it points to
    assert safeio.clean_stale(tmp_path) == [running]  # kept, and told


def test_sigterm_removes_the_temporary_file(tmp_path):
    script = textwrap.dedent("""
        import sys, time
        from twin import safeio
        safeio.exit_on_sigterm()
        with safeio.replacing(sys.argv[1]) as f:
            f.write(b"half")
            print("writing", flush=True)
            time.sleep(60)
    """)
    target = tmp_path / "out.h5"
    target.write_bytes(b"old")
    proc = subprocess.Popen([sys.executable, "-c", script, str(target)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "writing\n"
    assert len(listing(tmp_path)) == 2
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    proc.stdout.close()
    assert listing(tmp_path) == ["out.h5"] and target.read_bytes() == b"old"


# --- every writer, with links planted where the old code wrote --------------------------------
@pytest.fixture(scope="module")
def run_result(kernel):
    from twin.sim.runner import RunSpec, run_project

    project = project_from_json(LINE)
    spec = RunSpec.from_project(project, horizon=3600.0, warmup=0.0, replications=2, seed=1,
                                log=True)
    return run_project(project, None, spec)


def _write_results(run_result, target):
    from twin.sim.resultsfile import read_kpis, write_results

    write_results(run_result, target)
    assert len(next(iter(read_kpis(target).values()))) == 2  # both replications


def _write_recording(run_result, target):
    from twin.whatif.simulated import write_run_as_recording

    write_run_as_recording(run_result.scenarios["base"], 0, target, seed=1, overwrite=True)
    with h5py.File(target) as f:
        assert f.attrs["format"] == "twinbench-recording"


def _import(_run_result, target):
    from twin.recording import import_recording, mapping_from_dict

    data = target.with_name("data.csv")
    data.write_text("ts,asset,status\n2022-09-01 00:00:00+00:00,A,1\n"
                    "2022-09-01 00:05:00+00:00,A,0\n")
    mapping = {"shape": "buckets", "source": "test", "bucket_length_s": 300,
               "columns": {"time": "ts", "asset": "asset", "state": "status"},
               "time": {"format": "iso", "time_zone": "UTC"},
               "states": {"0": "idle", "1": "busy"}}
    import_recording(data, mapping_from_dict(mapping), target, overwrite=True)
    with h5py.File(target) as f:
        assert "import_report" in f.attrs


def _recording_writer(_run_result, target):
    from twin.recording import RecordingWriter

    with RecordingWriter.create(target, source="test", assets=["A"], overwrite=True) as w:
        w.append_states("A", [0.0, 5.0], ["busy", "idle"])
    with h5py.File(target) as f:
        assert f.attrs["format"] == "twinbench-recording"


def _save_project(_run_result, target):
    save_project(project_from_json(LINE), target.parent)
    assert load_project(target.parent).name == "safe line"


@pytest.mark.parametrize("write, name", [
    (_write_results, "results.h5"), (_write_recording, "replay.h5"), (_import, "rec.h5"),
    (_recording_writer, "live.h5"), (_save_project, "project.json")])
def test_no_writer_follows_a_planted_link(run_result, tmp_path, victim, planted_name, write,
                                          name):
    target = tmp_path / name
    # where the old code put its temporary file, where the new one draws it, the target
    for link in (target.with_name(name + ".tmp"), target.with_name(f".{name}.tmp"),
                 planted_name(target), target):
        link.symlink_to(victim)
    write(run_result, target)
    assert victim.read_bytes() == SECRET
    assert not target.is_symlink()
    assert not [n for n in listing(tmp_path) if n.endswith(safeio.TEMP_SUFFIX)
                and "deadbeef" not in n]


def test_open_hdf5_refuses_a_file_swapped_in_while_opening(tmp_path, monkeypatch, victim):
    real = h5py.File

    def swap(path, *args, **kwargs):  # what a rival in a shared folder could do
        os.unlink(path)
        os.symlink(victim, path)
        return real(victim.with_name("scratch.h5"), *args, **kwargs)

    monkeypatch.setattr(h5py, "File", swap)
    with pytest.raises(OSError, match="was replaced by another file"):
        safeio.open_hdf5(tmp_path / "out.h5")
    assert victim.read_bytes() == SECRET


# --- kill -9 at random moments ----------------------------------------------------------------
@pytest.fixture(scope="module")
def killed(kernel, tmp_path_factory):
    """Run ``tests/twin/kill_writers.py``: 25 SIGKILLs for each writer (about 35 s)."""
    folder = tmp_path_factory.mktemp("kills")
    out = subprocess.run([sys.executable, str(ROOT / "tests" / "twin" / "kill_writers.py"),
                          str(folder), "--kills", "25"], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_a_process_killed_inside_the_output_check_leaves_a_file_the_next_write_removes(
        tmp_path):
    """``run --out`` checks its folder by making and removing a file before the run (twin.
    errors.unwritable). A kill between the two left a ``.twinbench-probe-*`` file that no
    write ever removed (the CI's kill test saw two files left at once)."""
    target = tmp_path / "results.h5"
    killed = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(ROOT)!r})
        from twin import errors
        os.unlink = lambda path: os.kill(os.getpid(), 9)  # the kill lands right there
        errors.unwritable({str(target)!r})
        """)], capture_output=True, text=True, timeout=60)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    (left,) = os.listdir(tmp_path)  # the probe, which the kill kept from being removed
    safeio.write_text(target, "next write")
    assert os.listdir(tmp_path) == ["results.h5"]


@pytest.mark.parametrize("writer", ["run", "import", "save"])
def test_a_killed_writer_leaves_a_whole_file_and_the_next_write_cleans_up(killed, writer):
    report = killed[writer]
    assert report["kills"] >= 25
    assert report["broken"] == [] and report["broken_now"] is None
    # the kills did land inside writes, where a broken file could have come from
    assert report["killed_mid_write"] >= 3, report
    # each write removed what the previous killed one left: they never pile up
    assert report["most_left_behind"] <= 1, report
    assert report["after_next_write"] == [], report


# --- meshes stay inside their project ---------------------------------------------------------
MESH_DOC = serial_line([station("press", 1.0, mesh="meshes/press.stl")], [], name="meshes")


def _mesh_project(tmp_path, name="plant") -> Path:
    folder = tmp_path / name
    (folder / "meshes").mkdir(parents=True)
    (folder / "meshes" / "press.stl").write_bytes(b"solid press\nendsolid press\n")
    (folder / "project.json").write_text(json.dumps(MESH_DOC))
    return folder


def test_a_mesh_that_is_a_link_is_refused_when_the_project_is_read(tmp_path, victim):
    folder = _mesh_project(tmp_path)
    (folder / "meshes" / "press.stl").unlink()
    (folder / "meshes" / "press.stl").symlink_to(victim)
    with pytest.raises(ProjectError) as exc:
        load_project(folder)
    (problem,) = exc.value.problems
    assert problem.path == "$.elements[1].mesh" and problem.value == "meshes/press.stl"
    for words in ("station 'press'", "'meshes/press.stl'", "symbolic link", str(victim),
                  "Import mesh"):
        assert words in problem.message


def test_a_mesh_folder_that_is_a_link_is_refused(tmp_path):
    folder = _mesh_project(tmp_path)
    (folder / "meshes").rename(tmp_path / "shared-meshes")
    (folder / "meshes").symlink_to(tmp_path / "shared-meshes")
    with pytest.raises(ProjectError, match=r"station 'press'.*meshes/press.stl.*symbolic link"):
        load_project(folder)


def test_save_as_refuses_to_copy_a_linked_mesh(tmp_path, victim):
    folder = _mesh_project(tmp_path)
    project = load_project(folder)
    (folder / "meshes" / "press.stl").unlink()  # swapped for a link after opening
    (folder / "meshes" / "press.stl").symlink_to(victim)
    with pytest.raises(ProjectError, match=r"station 'press'.*symbolic link") as exc:
        save_project(project, tmp_path / "copy")
    assert exc.value.problems[0].path == "$.elements[1].mesh.file"
    assert listing(tmp_path / "copy") == []  # nothing copied, no project file naming it


def test_save_as_does_not_write_through_links_in_the_new_folder(tmp_path, victim):
    project = load_project(_mesh_project(tmp_path))
    new = tmp_path / "copy"
    (new / "meshes").mkdir(parents=True)
    (new / "meshes" / "press.stl").symlink_to(victim)  # replaced, not written through
    (new / "meshes" / ".press.stl.tmp").symlink_to(victim)  # the old code's temporary
    save_project(project, new)
    assert victim.read_bytes() == SECRET
    assert not (new / "meshes" / "press.stl").is_symlink()
    assert load_project(new).element("press").mesh.file == "meshes/press.stl"
    # a new folder whose meshes/ is a link elsewhere is refused
    other = tmp_path / "other"
    other.mkdir()
    (other / "meshes").symlink_to(victim.parent)
    with pytest.raises(ProjectError, match="is a symbolic link; save into a folder"):
        save_project(load_project(new), other)
    assert listing(victim.parent) == ["id_rsa"]


def test_import_mesh_copies_a_file_the_user_picked_even_through_a_link(tmp_path):
    cad = tmp_path / "cad"
    cad.mkdir()
    (cad / "press-v3.stl").write_bytes(b"solid v3\n")
    (cad / "press.stl").symlink_to(cad / "press-v3.stl")
    plant = tmp_path / "plant"
    assert import_mesh(plant, cad / "press.stl") == "meshes/press.stl"
    copied = plant / "meshes" / "press.stl"
    assert not copied.is_symlink() and copied.read_bytes() == b"solid v3\n"


def test_import_mesh_never_reuses_or_writes_through_a_link(tmp_path, victim):
    plant = tmp_path / "plant"
    (plant / "meshes").mkdir(parents=True)
    src = tmp_path / "press.stl"
    src.write_bytes(SECRET)  # the same content as the link's target: still not reused
    (plant / "meshes" / "press.stl").symlink_to(victim)
    assert import_mesh(plant, src) == "meshes/press_2.stl"
    assert not (plant / "meshes" / "press_2.stl").is_symlink()
    assert victim.read_bytes() == SECRET
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "meshes").symlink_to(victim.parent)
    with pytest.raises(MeshError, match="is a symbolic link"):
        import_mesh(linked, src)
    assert listing(victim.parent) == ["id_rsa"]


# --- names printed safely ---------------------------------------------------------------------
HOSTILE = "m1\x1b[2J\r\x08\x7f\x85\u202egnp.exe\u2066x\u2069\n"
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e"
                 "\u2066-\u2069]")


def test_printable_escapes_what_a_terminal_would_obey():
    assert printable(HOSTILE) == ("m1\\x1b[2J\\x0d\\x08\\x7f\\x85\\u202egnp.exe\\u2066x"
                                  "\\u2069\\x0a")
    assert printable(HOSTILE, newlines=True).endswith("\\u2069\n")
    assert printable("Füller 3 (Halle B) — 100 %") == "Füller 3 (Halle B) — 100 %"
    once = printable(HOSTILE)
    assert printable(once) == once


def test_a_problem_prints_its_path_message_and_value_escaped():
    line = Problem(f"$.elements[0].{HOSTILE}", f"station {HOSTILE} is bad", HOSTILE).format(
        "plant\x1b]0;pwned\x07/project.json")
    assert not RAW.search(line) and "\n" not in line
    assert "plant\\x1b]0;pwned\\x07/project.json: $.elements[0].m1\\x1b[2J" in line


def test_the_cli_table_escapes_ids_and_names(run_result):
    import io

    from app.cli.run import print_table

    summary = run_result.summary()["base"]
    summary["elements"] = {HOSTILE + k: v for k, v in summary["elements"].items()}
    summary["bottleneck"] = HOSTILE
    out = io.StringIO()
    print_table({f"base{HOSTILE}": summary}, out)
    text = out.getvalue()
    assert not RAW.search(text)
    assert text.count("m1\\x1b[2J\\x0d") >= 4  # scenario, bottleneck, a station, a buffer
    assert "\\u202egnp.exe" in text


def test_the_cli_prints_hostile_ids_escaped_and_json_stays_json(tmp_path, kernel):
    doc = serial_line([station(HOSTILE, 1.0), station("m2", 1.0)], [2], name=HOSTILE)
    folder = tmp_path / "plant"
    folder.mkdir()
    (folder / "project.json").write_text(json.dumps(doc))
    for extra in ([], ["--json"]):
        out = subprocess.run([sys.executable, "-m", "app.cli", "run", str(folder), "--horizon",
                              "1h", "--replications", "2", "--quiet", *extra], cwd=ROOT,
                             capture_output=True, text=True, timeout=600)
        assert not RAW.search(out.stdout) and not RAW.search(out.stderr)
        if out.returncode == 0 and extra:  # json.dumps escapes them its own way
            assert HOSTILE in json.loads(out.stdout)["base"]["elements"]
        else:  # the table, or an error that names the id: shown, escaped
            assert "m1\\x1b[2J\\x0d" in out.stdout + out.stderr
    # a problem that names the id prints it escaped too
    doc["elements"][1]["process_time"] = -1
    (folder / "project.json").write_text(json.dumps(doc))
    out = subprocess.run([sys.executable, "-m", "app.cli", "check", str(folder)], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 2 and "$.elements[1].process_time" in out.stderr
    assert not RAW.search(out.stderr)


def test_the_import_report_prints_asset_ids_from_the_data_escaped(tmp_path, capsys):
    from app.cli import main

    data = tmp_path / "data.csv"
    data.write_text("ts,asset,status\n2022-09-01 00:00:00+00:00,A\x1b[2J\u202eB,1\n"
                    "2022-09-01 00:05:00+00:00,A\x1b[2J\u202eB,0\n")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({
        "shape": "buckets", "source": "test", "bucket_length_s": 300,
        "columns": {"time": "ts", "asset": "asset", "state": "status"},
        "time": {"format": "iso", "time_zone": "UTC"}, "states": {"0": "idle", "1": "busy"}}))
    assert main(["import", str(data), "--mapping", str(mapping), "--out",
                 str(tmp_path / "rec.h5"), "--quiet"]) == 0
    out = capsys.readouterr()
    assert not RAW.search(out.out + out.err)
    assert "A\\x1b[2J\\u202eB" in out.out


@pytest.mark.parametrize("where, says", [
    ("missing/dir/out.csv", "the folder {d}/missing/dir does not exist; create it or "
                            "choose another path"),
    ("a_file/out.csv", "{d}/a_file is not a folder; choose another path"),
    (".", "is a folder; give the path of a file in it"),
])
def test_a_write_that_cannot_be_made_names_the_target_not_the_temporary_file(
        tmp_path, where, says):
    (tmp_path / "a_file").write_text("x")
    target = tmp_path / where
    with pytest.raises(OSError) as caught:
        safeio.write_text(target, "data")
    text = str(caught.value)
    assert text.endswith(says.format(d=tmp_path)), text
    assert safeio.TEMP_SUFFIX not in text and "Errno" not in text
    assert caught.value.errno is not None  # still an OSError with its errno
    assert not list(tmp_path.rglob(f"*{safeio.TEMP_SUFFIX}"))
    again = pickle.loads(pickle.dumps(caught.value))  # it crosses a process pool whole
    assert type(again) is type(caught.value) and str(again) == text
