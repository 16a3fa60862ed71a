"""The HDF5 recording format: round trip, sniffing, versions, SWMR with real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

import twin.recording.format as fmt
from kernels.types import BUSY, DOWN, IDLE, STATE_NAMES
from twin.recording import (
    FORMAT_NAME,
    SCHEMA_VERSION,
    UNKNOWN,
    Recording,
    RecordingError,
    RecordingWriter,
    is_hdf5,
    migrate_recording,
)
from twin.recording.writer import AssetInfo

ROOT = Path(__file__).resolve().parents[2]


def make(path: Path, **kw) -> RecordingWriter:
    kw.setdefault("source", "unit test")
    kw.setdefault("epoch_utc", "2024-01-01T00:00:00+00:00")
    return RecordingWriter.create(path, **kw)


def test_round_trip_event_log(tmp_path):
    path = tmp_path / "r.h5"
    with make(path, time_zone="Europe/Berlin", shifts=[{"name": "day", "start": "06:00"}],
              assets=[AssetInfo("press/1", "Press 1", "press1", 12.5)],
              raw_state_labels=["RUN"]) as w:
        w.append_states("press/1", [0.0, 10.0, 20.0], ["busy", "down", "busy"],
                        raw_state=["RUN", "ERR", "RUN"])
        w.append_states("press/1", [30.0], [IDLE], raw_state=[0])
        w.append_parts("press/1", [1.0, 2.0], count=[1, 2], good=[True, False])
        w.append_power("press/1", np.array(["2024-01-01T00:00:05"], "datetime64[s]"), [7.5])
        w.append_states("oven", [0.0], [UNKNOWN])  # created on first append (not SWMR)
    with Recording.open(path) as rec:
        assert rec.asset_ids == ("press/1", "oven")
        assert rec.shape == "event_log" and rec.schema_version == SCHEMA_VERSION
        assert rec.time_zone == "Europe/Berlin" and rec.source == "unit test"
        assert rec.shifts == [{"name": "day", "start": "06:00"}]
        d = rec.asset("press/1")
        assert (d.name, d.element, d.ideal_cycle_time_s) == ("Press 1", "press1", 12.5)
        assert d.states["time"].tolist() == [0.0, 10.0, 20.0, 30.0]
        assert d.states["state"].tolist() == [BUSY, DOWN, BUSY, IDLE]
        labels = rec.labels("raw_state")
        assert [labels[i] for i in d.states["raw_state"]] == ["RUN", "ERR", "RUN", "RUN"]
        assert d.parts["count"].tolist() == [1.0, 2.0] and d.parts["good"].tolist() == [1, 0]
        assert d.power.tolist() == [(5.0, 7.5)]
        assert len(d.buckets) == 0
        assert rec.asset("oven").ideal_cycle_time_s is None
        with pytest.raises(KeyError, match="recorded assets"):
            rec.asset("nope")
        assert rec.time_of("2024-01-01T01:00:00") == 0.0  # naive = Berlin time (UTC+1)
        assert rec.datetime_of(3600).isoformat() == "2024-01-01T02:00:00+01:00"
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == FORMAT_NAME
        assert f.attrs["epoch_utc"] == "2024-01-01T00:00:00+00:00"
        assert json.loads(f.attrs["state_names"])["maintenance"] == 7
        ds = f["assets/press%2F1/states"]
        assert ds.maxshape == (None,) and ds.chunks is not None
        assert ds.attrs["units.time"] == "s"
        assert f["assets/press%2F1/power"].attrs["units.power_kw"] == "kW"


def test_round_trip_buckets_and_bad_input(tmp_path):
    path = tmp_path / "b.h5"
    with make(path, shape="buckets", bucket_length_s=300) as w:
        w.append_buckets("M", [0.0, 300.0], 300.0, parts=[4, 5], scrap=[0, 1],
                         state=[BUSY, DOWN], power_kw=[2.0, 0.5], product=["p1", "p2"])
        with pytest.raises(RecordingError, match="not a machine state"):
            w.append_buckets("M", [600.0], 300.0, state=["runing"])
        with pytest.raises(RecordingError, match="not a machine state"):
            w.append_buckets("M", [600.0], 300.0, state=[-1])
        with pytest.raises(RecordingError, match="no 'states' records"):
            w.append_states("M", [0.0], [BUSY])
    with Recording.open(path) as rec:
        b = rec.asset("M").buckets
        assert b["parts"].tolist() == [4.0, 5.0] and b["scrap"].tolist() == [0.0, 1.0]
        assert [rec.labels("product")[i] for i in b["product"]] == ["p1", "p2"]
        assert rec.bucket_length_s == 300.0
    with pytest.raises(RecordingError, match="exists"):
        make(path)


def test_sniffing_gives_clear_errors(tmp_path):
    csv = tmp_path / "data.csv"
    csv.write_text("ts,asset\n1,2\n")
    with pytest.raises(RecordingError, match="not an HDF5 file.*text/CSV.*twinbench import"):
        Recording.open(csv)
    # a report or a project given as a recording is named for what it is, not sent to import
    page = tmp_path / "report.html"
    page.write_text("\n<!DOCTYPE html>\n<html><body>KPIs</body></html>\n")
    with pytest.raises(RecordingError, match=r"report\.html: not an HDF5 file .*; it is an "
                       r"HTML page \(an exported report\?\), not a recording; give the \.h5 "
                       r"file$"):
        Recording.open(page)
    project = tmp_path / "project.json"
    project.write_text('{"schema_version": 1}')
    with pytest.raises(RecordingError, match=r"it is a JSON file \(a project or a mapping\?\)"):
        Recording.open(project)
    blob = tmp_path / "x.h5"
    blob.write_bytes(b"\x00" * 2048)
    with pytest.raises(RecordingError, match=r"x\.h5: not an HDF5 file"):
        Recording.open(blob)
    with pytest.raises(RecordingError, match="no such recording"):
        Recording.open(tmp_path / "missing.h5")
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.attrs["format"] = "somebody-else"
    assert is_hdf5(other) and not is_hdf5(csv)
    with pytest.raises(RecordingError, match="not a twinbench recording.*'somebody-else'"):
        Recording.open(other)
    # HDF5 with a user block: the signature sits at 512
    ub = tmp_path / "ub.h5"
    with h5py.File(ub, "w", userblock_size=512) as f:
        f.attrs["format"] = FORMAT_NAME
    assert is_hdf5(ub)


def test_versions_newer_rejected_older_migrated(tmp_path, monkeypatch):
    path = tmp_path / "r.h5"
    make(path, assets=["A"]).close()
    with h5py.File(path, "r+") as f:
        f.attrs["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(RecordingError, match="newer twinbench.*upgrade twinbench"):
        Recording.open(path)

    # pretend this twinbench writes the next version and knows how to upgrade this one
    now, later = SCHEMA_VERSION, SCHEMA_VERSION + 1
    with h5py.File(path, "r+") as f:
        f.attrs["schema_version"] = now
    monkeypatch.setattr(fmt, "SCHEMA_VERSION", later)
    monkeypatch.setattr(fmt, "_MIGRATIONS", {})
    with pytest.raises(RecordingError, match=f"older than {later}.*migrate=True"):
        Recording.open(path)
    with pytest.raises(RecordingError, match=f"no migration from version {now}"):
        migrate_recording(path)

    @fmt.migration(now)
    def rename_source(f):
        f.attrs["source"] = "migrated: " + f.attrs["source"]

    with Recording.open(path, migrate=True) as rec:
        assert rec.schema_version == later
        assert rec.source == "migrated: unit test"
    assert not (tmp_path / "r.h5.tmp").exists()


def test_version_1_files_open_as_they_are_and_migrate(tmp_path):
    """Versions 2 and 3 only added optional parts: a version-1 file (no level, no server
    attribute, no gaps) opens unchanged and reads as before; migrating stamps version 2,
    then adds the empty gaps of version 3."""
    path = tmp_path / "v1.h5"
    with make(path, assets=["A"]) as w:
        w.append_states("A", [0.0, 5.0], ["busy", "down"])
        w.append_parts("A", [3.0], 1)
    with h5py.File(path, "r+") as f:  # what twinbench wrote before version 2
        f.attrs["schema_version"] = 1
        del f["assets/A"].attrs["server"]
        del f["gaps"], f["labels/gap_reason"]
    before = path.read_bytes()
    with Recording.open(path) as rec:
        assert rec.schema_version == 1
        d = rec.asset("A")
        assert d.server is None and len(d.level) == 0
        assert d.states["state"].tolist() == [BUSY, DOWN]
        assert len(rec.gaps) == 0
    assert path.read_bytes() == before  # opening did not touch the file
    assert migrate_recording(path) == 1
    with Recording.open(path) as rec:
        assert rec.schema_version == SCHEMA_VERSION == 3
        assert len(rec.gaps) == 0 and rec.labels("gap_reason") == ()
        assert rec.asset("A").parts["time"].tolist() == [3.0]


WRITER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {root!r})
    from twin.recording import RecordingWriter
    w = RecordingWriter.create({path!r}, source="live", assets=["A", "B"], swmr=True,
                               epoch_utc="2024-01-01T00:00:00+00:00")
    i = 0
    while True:
        w.append_states("A", [float(i)], [2], raw_state=["RUN"])
        w.append_power("B", [float(i)], [1.0])
        w.flush()
        print(i, flush=True)
        i += 1
        {pace}
""")


def test_swmr_reader_sees_appended_data_and_survives_a_killed_writer(tmp_path):
    path = tmp_path / "live.h5"
    code = WRITER.format(root=str(ROOT), path=str(path), pace="sys.stdin.readline()")
    writer = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "0"  # one record flushed, then it waits
        with Recording.open(path, swmr=True) as rec:
            assert rec.asset_ids == ("A", "B")
            assert rec.asset("A").states["time"].tolist() == [0.0]
            for _ in range(4):
                writer.stdin.write("\n")
                writer.stdin.flush()
                writer.stdout.readline()
            rec.refresh()
            d = rec.asset("A")
            assert d.states["time"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
            assert rec.labels("raw_state") == ("RUN",)
            assert len(rec.asset("B").power) == 5
        # kill -9 while it waits: everything flushed is still readable
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=10)
        with Recording.open(path) as rec:  # falls back to SWMR read of the 'open' file
            assert rec.asset("A").states["time"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait(timeout=10)


def test_swmr_killed_mid_write_loop(tmp_path):
    path = tmp_path / "busy.h5"
    code = WRITER.format(root=str(ROOT), path=str(path), pace="time.sleep(0.001)")
    writer = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        seen = -1
        deadline = time.monotonic() + 30
        while seen < 50 and time.monotonic() < deadline:
            seen = int(writer.stdout.readline())
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=10)
    finally:
        if writer.poll() is None:
            writer.kill()
    with Recording.open(path) as rec:
        times = rec.asset("A").states["time"]
        assert len(times) >= seen + 1  # at least every record reported as flushed
        assert np.array_equal(times, np.arange(len(times), dtype=float))


def test_swmr_writer_cannot_add_assets(tmp_path):
    with make(tmp_path / "s.h5", assets=["A"], swmr=True) as w:
        assert w.swmr
        with pytest.raises(RecordingError, match="not declared.*RecordingWriter.create"):
            w.append_states("B", [0.0], [BUSY])
        with pytest.raises(RecordingError, match="SWMR"):
            w.set_json_attr("x", 1)


def test_state_names_come_from_the_kernel():
    assert fmt.state_name(DOWN) == "down" == STATE_NAMES[DOWN]
    assert fmt.state_name(UNKNOWN) == "unknown" and fmt.state_name(-1) == "no_data"
    with pytest.raises(ValueError):
        fmt.state_name(42)
