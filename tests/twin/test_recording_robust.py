"""Damaged and hostile recordings: every bad HDF5 file is refused with a RecordingError that
names the file, the object (field, record or attribute), the value and the fix; no traceback,
no link followed out of the file, no time outside 1970-2200 (issue 12)."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from app.cli import main
from app.cli.whatif import _fork_assets, _ForkTimes
from twin.errors import InputError
from twin.recording import (
    Recording,
    RecordingError,
    RecordingWriter,
    recording_kpis,
    replay_recording,
)
from twin.recording.errors import RecordingFileError
from twin.recording.timerange import RANGE_TEXT


def make(path: Path) -> Path:
    """A small, valid bucketed recording: M1 busy, down, busy; raw states 1 and 3."""
    with RecordingWriter.create(path, shape="buckets", source="robust test",
                                epoch_utc="2024-01-01T00:00:00+00:00", bucket_length_s=300,
                                assets=["M1"], raw_state_labels=["1", "3"]) as w:
        w.append_buckets("M1", start=[0.0, 300.0, 600.0], length=300.0, parts=[5, 0, 5],
                         state=["busy", "down", "busy"], raw_state=["1", "3", "1"])
    return path


def read_all(path: Path) -> None:
    with Recording.open(path) as rec:
        replay_recording(rec)
        recording_kpis(rec)
        _ = rec.import_report, rec.shifts, rec.mapping


def edit(path: Path, change) -> Path:
    with h5py.File(path, "r+") as f:
        change(f)
    return path


def _set(field, row, value):
    def change(f):
        ds = f["assets/M1/buckets"]
        a = ds[()]
        a[field][row] = value
        ds[...] = a
    return change


def _replace(value):
    def change(f):
        del f["assets/M1/buckets"]
        f["assets/M1/buckets"] = value
    return change


def _soft(where, target):
    def change(f):
        if where in f:
            del f[where]
        f[where] = h5py.SoftLink(target)
    return change


def _attr(obj, key, value):
    def change(f):
        f[obj].attrs[key] = value
    return change


def _labels(values):
    def change(f):
        del f["labels/raw_state"]
        f["labels/raw_state"] = np.array(values, "S128")
    return change


BAD = {
    # name: (change, where the message points, a piece of the fix)
    "soft link loop on a dataset": (_soft("assets/M1/buckets", "/assets/M1/buckets"),
                                    "/assets/M1/buckets", "loop"),
    "soft link loop through two links": (
        lambda f: (_soft("assets/M1/level", "/assets/M1/power")(f),
                   _soft("assets/M1/power", "/assets/M1/level")(f)),
        "/assets/M1/level", "loop"),
    "soft link loop on an asset group": (_soft("assets/M2", "/assets/M2"), "/assets/M2", "loop"),
    "soft link out of the asset": (_soft("assets/M1/level", "/labels/raw_state"),
                                   "/assets/M1/level", "may not point elsewhere"),
    "dangling soft link": (_soft("assets/M1/level", "/assets/M1/nothing"),
                           "/assets/M1/level", "exists"),
    "scalar dataset": (_replace(5.0), "/assets/M1/buckets", "one-dimensional"),
    "2-D dataset": (_replace(np.zeros((3, 2))), "/assets/M1/buckets", "one-dimensional"),
    "missing fields": (_replace(np.zeros(3, [("start", "f8")])), "/assets/M1/buckets",
                       "fields"),
    "text field": (_replace(np.zeros(3, [(n, "S4") for n in (
        "start", "length", "parts", "scrap", "power_kw", "state", "raw_state", "product")])),
        "field start", "numbers"),
    "time of 1e18 s": (_set("start", 1, 1e18), "field start, record 1", RANGE_TEXT),
    "NaN time": (_set("start", 2, np.nan), "field start, record 2", RANGE_TEXT),
    "negative time before 1970": (_set("start", 0, -2e9), "field start, record 0", RANGE_TEXT),
    "state code 100": (_set("state", 1, 100), "field state, record 1", "state code"),
    "raw state outside the vocabulary": (_set("raw_state", 0, 1000), "field raw_state",
                                         "/labels/raw_state"),
    "label with an embedded NUL": (_labels([b"1\x00x", b"3"]), "/labels/raw_state, record 0",
                                   "NUL"),
    "label not UTF-8": (_labels([b"1", b"\xff\xfe"]), "/labels/raw_state, record 1", "UTF-8"),
    "bytes where a number is expected": (_attr("/", "bucket_length_s", np.bytes_(b"a")),
                                         "attribute bucket_length_s", "number"),
    "bytes where an integer is expected": (_attr("assets/M1", "order", np.bytes_(b"a")),
                                           "/assets/M1 attribute order", "integer"),
    "array where text is expected": (_attr("/", "time_zone", np.zeros(3)),
                                     "attribute time_zone", "text"),
    "text attribute not UTF-8": (_attr("assets/M1", "name", np.bytes_(b"\xff")),
                                 "/assets/M1 attribute name", "UTF-8"),
    "epoch in 9999": (_attr("/", "epoch_utc", "9999-12-31T00:00:00+00:00"), "epoch_utc",
                      RANGE_TEXT),
    "shifts attribute with NaN": (_attr("/", "shifts", '[{"name": "a", "start": NaN}]'),
                                  "attribute shifts", "JSON"),
    "import report of another shape": (_attr("/", "import_report", '{"issues": 3}'),
                                       "attribute import_report", "import report"),
    "format attribute as an array": (_attr("/", "format", np.array([1, 2])), "format",
                                     "text"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_damaged_recording_is_refused_naming_file_place_and_fix(tmp_path, name):
    change, where, fix = BAD[name]
    path = edit(make(tmp_path / "r.h5"), change)
    with pytest.raises(RecordingError) as err:
        read_all(path)
    msg = str(err.value)
    assert isinstance(err.value, InputError)
    assert str(path) in msg and where in msg and fix in msg, msg


def test_external_link_is_never_followed(tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as o:  # a valid level table in another file
        o["level"] = np.zeros(2, [("time", "f8"), ("level", "f8")])
    path = make(tmp_path / "r.h5")
    with h5py.File(path, "r+") as f:
        f["assets/M1/level"] = h5py.ExternalLink(str(other), "/level")
    other.unlink()  # h5py would try to open it; the reader must refuse before that
    with pytest.raises(RecordingFileError) as err:
        read_all(path)
    msg = str(err.value)
    assert "/assets/M1/level" in msg and "external link" in msg and str(other) in msg


def test_external_link_to_a_whole_asset_is_refused(tmp_path):
    other = make(tmp_path / "other.h5")
    path = make(tmp_path / "r.h5")
    with h5py.File(path, "r+") as f:
        f["assets/M9"] = h5py.ExternalLink(str(other), "/assets/M1")
    with pytest.raises(RecordingFileError, match="external link"):
        Recording.open(path)


def test_soft_link_inside_the_asset_is_followed(tmp_path):
    """A soft link to a dataset of the same asset is harmless: the reader follows it."""
    path = make(tmp_path / "r.h5")
    with h5py.File(path, "r+") as f:
        f.move("assets/M1/buckets", "assets/M1/buckets_v1")
        f["assets/M1/buckets"] = h5py.SoftLink("/assets/M1/buckets_v1")
    with Recording.open(path) as rec:
        assert rec.asset("M1").buckets["parts"].tolist() == [5.0, 0.0, 5.0]


def test_virtual_dataset_is_refused(tmp_path):
    src = tmp_path / "src.h5"
    dtype = np.dtype([("time", "f8"), ("level", "f8")])
    with h5py.File(src, "w") as s:
        s["level"] = np.zeros(2, dtype)
    path = make(tmp_path / "r.h5")
    layout = h5py.VirtualLayout(shape=(2,), dtype=dtype)
    layout[:] = h5py.VirtualSource(str(src), "level", shape=(2,))
    with h5py.File(path, "r+") as f:
        f["assets/M1"].create_virtual_dataset("level", layout)
    with pytest.raises(RecordingFileError, match="virtual dataset"):
        read_all(path)


# --- times from users ---------------------------------------------------------------------


@pytest.mark.parametrize("value", [1e300, 1e18, float("inf"), float("nan"), -1.8e9,
                                   "9999-12-31T23:59:59", "0001-01-01T00:00",
                                   np.datetime64("9999-12-31T23:59:59"), np.datetime64("NaT")])
def test_time_of_refuses_times_outside_the_range(tmp_path, value):
    with Recording.open(make(tmp_path / "r.h5")) as rec:
        with pytest.raises(RecordingError, match="outside the supported range") as err:
            rec.time_of(value)
        assert RANGE_TEXT in str(err.value)
        assert rec.time_of("2199-12-31T23:00:00Z") > 0  # the range's end is usable
        with pytest.raises(RecordingError, match="outside the supported range"):
            rec.datetime_of(1e18)


def cli(*argv: str) -> int:
    return main(list(argv))


@pytest.mark.parametrize("flags", [("--to=1e300",), ("--to=nan",), ("--to=inf",),
                                   ("--from=9999-12-31T23:59:59",), ("--from=-1e12",)])
def test_replay_window_outside_the_range_is_an_error(tmp_path, capsys, flags):
    path = make(tmp_path / "r.h5")
    assert cli("replay", str(path), *flags) == 2  # a user error (issue 13: was 1)
    err = capsys.readouterr().err
    assert flags[0].split("=")[0] in err and RANGE_TEXT in err and "Traceback" not in err


@pytest.mark.parametrize("name", ["soft link loop on a dataset", "time of 1e18 s",
                                  "bytes where a number is expected", "scalar dataset"])
def test_replay_cli_prints_the_error_not_a_traceback(tmp_path, capsys, name):
    path = edit(make(tmp_path / "r.h5"), BAD[name][0])
    assert cli("replay", str(path), "--json") == 2  # a user error (issue 13: was 1)
    err = capsys.readouterr().err
    assert err.startswith("twinbench replay: error: ") and str(path) in err


@pytest.mark.parametrize("text", ["1e300", "1e300h", "inf", "nan", "9999-12-31T23:59:59"])
def test_fork_times_outside_the_range_are_refused(tmp_path, text):
    with Recording.open(make(tmp_path / "r.h5")) as rec:
        times = _ForkTimes(rec)
        with pytest.raises(RecordingError, match="outside the supported range") as err:
            times(text, "--until")
        assert str(err.value).startswith(f"--until {text!r}")
        assert times("10min", "--at") == 600.0


def test_fork_counts_are_range_checked(tmp_path):
    from twin.whatif.fork import ForkError, fork_from_recording

    with Recording.open(make(tmp_path / "r.h5")) as rec:
        for kw in ({"replications": 10**9}, {"replications": 0}, {"seed": -1},
                   {"seed": 2**70}, {"grid": 0}, {"replications": 2.5}):
            with pytest.raises(ForkError) as err:
                fork_from_recording(None, rec, 0.0, 600.0, **kw)
            assert isinstance(err.value, InputError)
            assert next(iter(kw)) in str(err.value) and "must be an integer" in str(err.value)


def test_fork_asset_server_of_thousands_of_digits_is_a_clear_error():
    with pytest.raises(ValueError, match="not a server index") as err:
        _fork_assets(["press=m1:" + "9" * 5000])
    assert "4300" not in str(err.value)
    assert _fork_assets(["press=m1:1", "b=B1"]) == {"press": ("m1", 1), "b": "B1"}
