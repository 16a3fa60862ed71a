"""The live recorder: what it is fed is what the recording holds, record for record; gaps;
malformed readings counted and never fatal; the epoch; memory bounded over a long feed."""

from __future__ import annotations

import gc
import random
import resource
import time
from datetime import UTC, datetime

import h5py
import numpy as np
import pytest

from kernels.types import BUSY, DOWN, IDLE, STATE_NAMES
from twin.live.feed import CHANNELS, Reading
from twin.live.recorder import PROBLEMS, LiveRecorder, mapping_assets, project_assets
from twin.model.distributions import constant
from twin.model.elements import Buffer, Project, Sink, Source, Station
from twin.recording import (
    NO_DATA,
    SCHEMA_VERSION,
    UNKNOWN,
    AssetInfo,
    Recording,
    RecordingError,
    migrate_recording,
    recording_kpis,
    replay_recording,
)

#: 2026-12-02T06:00:00Z: plant time of the first reading in these tests.
T0 = 1_796_191_200.0
DAY = 1_796_169_600.0  # its UTC midnight


def plant() -> Project:
    """A line with a two-server station (assets M1#0, M1#1), a buffer and a one-server
    station, as in the recordings of simulated runs."""
    p = Project("live", elements=[
        Source("src"),
        Station("M1", process_time=constant(15.0), servers=2),
        Buffer("B1", capacity=5),
        Station("M2", process_time=constant(8.0)),
        Sink("out")])
    for a, b in (("src", "M1"), ("M1", "B1"), ("B1", "M2"), ("M2", "out")):
        p.connect(a, b)
    return p


def test_the_project_declares_every_station_server_and_level_asset():
    assets = project_assets(plant())
    assert [(a.asset_id, a.element, a.server, a.level) for a in assets] == [
        ("M1#0", "M1", 0, False), ("M1#1", "M1", 1, False), ("M2", "M2", None, False),
        ("B1", "B1", None, True)]
    extra = mapping_assets({"assets": {"M2": "M2", "oven": {"element": "oven", "name": "Oven"},
                                       "B1-front": "B1"}}, assets)
    assert [(a.asset_id, a.element, a.name, a.level) for a in extra] == [
        ("oven", "oven", "Oven", True), ("B1-front", "B1", "", True)]
    with pytest.raises(RecordingError, match=r"\$\.assets\.x"):
        mapping_assets({"assets": {"x": 3}}, assets)


def feed(seed: int, n: int):
    """Random valid readings of the plant, in time order, with their expected records."""
    rng = random.Random(seed)
    want: dict[tuple[str, str], list[tuple]] = {}
    counters: dict[str, float] = {}
    readings = []
    t = T0
    for i in range(n):
        t += rng.choice([0.0, 0.25, 1.0, 7.5])
        asset = rng.choice(["M1#0", "M1#1", "M2", "B1"])
        channel = "level" if asset == "B1" else rng.choice(CHANNELS[:-1])
        ts = t - DAY
        if channel == "state":
            value = rng.choice(STATE_NAMES)
            want.setdefault((asset, "states"), []).append((ts, STATE_NAMES.index(value), -1))
        elif channel in ("parts", "scrap"):
            value = float(rng.randint(1, 3))
            want.setdefault((asset, "parts"), []).append((ts, value, int(channel == "parts")))
        elif channel == "count":
            before = counters.get(asset)
            value = (before or 100.0) + rng.randint(0, 4)
            counters[asset] = value
            if before is not None and value > before:
                want.setdefault((asset, "parts"), []).append((ts, value - before, 1))
        elif channel == "power_kw":
            value = round(rng.uniform(0, 30), 3)
            want.setdefault((asset, "power"), []).append((ts, value))
        else:
            value = float(rng.randint(0, 5))
            want.setdefault((asset, "level"), []).append((ts, value))
        readings.append(Reading(asset, channel, t, value, key=f"msg-{i}"))
    return readings, want


def stored(rec: Recording) -> dict[tuple[str, str], list[tuple]]:
    out = {}
    for aid in rec.asset_ids:
        d = rec.asset(aid)
        for kind in ("states", "parts", "power", "level"):
            arr = getattr(d, kind)
            if len(arr):
                out[(aid, kind)] = [tuple(x.item() for x in row) for row in arr]
    return out


@pytest.mark.timeout(60)
def test_what_is_fed_is_what_is_recorded_record_for_record(tmp_path):
    readings, want = feed(1, 5000)
    path = tmp_path / "live.h5"
    rec = LiveRecorder(path, project_assets(plant()), source="unit test",
                       max_buffered=300)  # many appends between flushes
    assert not path.exists()  # created with the first reading
    rng = random.Random(2)
    i = 0
    while i < len(readings):
        k = rng.randint(1, 200)
        batch = readings[i:i + k]
        rec.readings(batch)
        if rng.random() < 0.2:  # at-least-once delivery: a batch comes again
            rec.readings(batch)
        i += k
    report = rec.close()
    assert report.received > len(readings) and report.problem_count == 0
    assert report.received - report.duplicates == len(readings)
    with Recording.open(path) as r:
        assert r.schema_version == SCHEMA_VERSION
        assert r.epoch_utc == datetime(2026, 12, 2, tzinfo=UTC)  # the first reading's day
        assert r.asset_ids == ("M1#0", "M1#1", "M2", "B1")
        assert (r.asset("M1#1").element, r.asset("M1#1").server) == ("M1", 1)
        assert r.source == "unit test" and len(r.gaps) == 0
        assert stored(r) == want
    assert sum(report.stored.values()) == report.flushed == sum(len(v) for v in want.values())


def test_an_explicit_epoch_and_states_the_plant_does_not_name(tmp_path):
    path = tmp_path / "live.h5"
    with LiveRecorder(path, ["M"], epoch_utc="2026-12-01T00:00:00+00:00") as rec:
        rec.readings([Reading("M", "state", T0, "Busy"),
                      Reading("M", "state", T0 + 5, "ALARM 17"),
                      Reading("M", "state", T0 + 9, "idle")])
        assert rec.states() == {"M": "idle"}
    with Recording.open(path) as r:
        st = r.asset("M").states
        assert st["time"].tolist() == [T0 - DAY + 86400, T0 - DAY + 86405, T0 - DAY + 86409]
        assert st["state"].tolist() == [BUSY, UNKNOWN, IDLE]
        assert [r.labels("raw_state")[i] if i >= 0 else None for i in st["raw_state"]] == [
            None, "ALARM 17", None]
    assert rec.report.problems["unknown state"].count == 1


def test_a_disconnection_is_a_gap_and_replays_as_no_data(tmp_path):
    path = tmp_path / "gap.h5"
    rec = LiveRecorder(path, ["M"])
    rec.link("connecting")
    rec.link("connected")
    rec.readings([Reading("M", "state", T0, "busy", "1"), Reading("M", "power_kw", T0, 10.0, "2"),
                  Reading("M", "parts", T0 + 50, 1, "3")])
    rec.link("reconnecting", "broker closed the connection")
    rec.link("reconnecting", "retry 2")  # still the same gap
    rec.link("connected")
    rec.readings([Reading("M", "state", T0 + 200, "down", "4"),
                  Reading("M", "parts", T0 + 150, 1, "5")])  # the earliest ends the gap
    rec.readings([Reading("M", "state", T0 + 300, "busy", "6")])
    report = rec.close()
    assert report.gaps == 1 and report.reconnects == 1  # the retry is the same outage
    with Recording.open(path) as r:
        g = r.gaps
        assert g["start"].tolist() == [T0 + 50 - DAY] and g["end"].tolist() == [T0 + 150 - DAY]
        assert r.labels("gap_reason")[g["reason"][0]] == \
            "reconnecting: broker closed the connection"
        m = replay_recording(r)["M"]
        t = np.array([10.0, 49.0, 51.0, 100.0, 149.0, 151.0, 250.0, 299.0]) + T0 - DAY
        assert m.state_at(t).tolist() == [BUSY, BUSY, NO_DATA, NO_DATA, NO_DATA, BUSY, DOWN, DOWN]
        # power holds 10 kW except over the gap: 200 s of 300
        assert m.energy_kwh_at(T0 + 300 - DAY) == pytest.approx(10.0 * 200 / 3600)
        k = recording_kpis(r)["M"]
        assert k.state_time_s["no_data"] == pytest.approx(100.0)
        assert k.observed_s == pytest.approx(200.0)
        assert k.produced == 2  # parts delivered inside the gap are kept


def test_a_gap_still_open_at_the_end_closes_at_the_latest_reading(tmp_path):
    path = tmp_path / "open.h5"
    rec = LiveRecorder(path, ["M"])
    rec.link("reconnecting", "before any reading")  # nothing recorded yet: no gap start
    rec.link("connected")
    rec.readings([Reading("M", "state", T0, "busy"), Reading("M", "state", T0 + 10, "idle")])
    rec.link("reconnecting", "lost")
    rec.close()
    with Recording.open(path) as r:
        assert r.gaps[["start", "end"]].tolist() == [(T0 + 10 - DAY, T0 + 10 - DAY)]


def test_a_version_2_file_opens_and_migrates(tmp_path):
    path = tmp_path / "v2.h5"
    with LiveRecorder(path, ["M"]) as rec:
        rec.readings([Reading("M", "state", T0, "busy"), Reading("M", "state", T0 + 60, "down")])
    with h5py.File(path, "r+") as f:  # what twinbench wrote before gaps
        f.attrs["schema_version"] = 2
        del f["gaps"], f["labels/gap_reason"]
    with Recording.open(path) as r:
        assert r.schema_version == 2 and len(r.gaps) == 0
        assert replay_recording(r)["M"].state_at(T0 + 30 - DAY) == BUSY
    assert migrate_recording(path) == 2
    with Recording.open(path) as r:
        assert r.schema_version == 3 and len(r.gaps) == 0
        assert r.asset("M").states["state"].tolist() == [BUSY, DOWN]
    with h5py.File(path, "r") as f:
        assert f["gaps"].dtype.names == ("start", "end", "reason")


@pytest.mark.timeout(60)
def test_a_thousand_malformed_readings_are_counted_and_never_stop_it(tmp_path):
    path = tmp_path / "bad.h5"
    rec = LiveRecorder(path, project_assets(plant()))
    rng = random.Random(7)
    made = dict.fromkeys(["unknown asset", "unknown channel", "bad time stamp", "bad value",
                          "counter reset", "out of order", "unknown state",
                          "level of a machine", "unparsable payload"], 0)
    rec.readings([Reading("M2", "count", T0, 500.0), Reading("M2", "parts", T0, 1.0)])
    t = T0 + 1.0
    good = 1
    for i in range(1000):
        kind = rng.choice(list(made))
        made[kind] += 1
        t += 1.0
        if kind == "unknown asset":
            r = Reading(rng.choice(["M9", "", "M1", "B1#0"]), "state", t, "busy")
        elif kind == "unknown channel":
            r = Reading("M2", rng.choice(["speed", "", "STATE"]), t, 1.0)
        elif kind == "bad time stamp":
            r = Reading("M2", "parts", rng.choice([float("nan"), -1.0, 1e12, "noon", None]), 1)
        elif kind == "bad value":
            r = Reading("M2", rng.choice(["parts", "power_kw"]), t,
                        rng.choice([float("nan"), -3.0, "lots", None, float("inf"), True]))
        elif kind == "counter reset":
            rec.readings([Reading("M2", "count", t, 500.0)])  # unchanged: no parts
            rec.readings([Reading("M2", "count", t + 0.5, 10.0)])  # the reset: a new base
            rec.readings([Reading("M2", "count", t + 0.7, 500.0)])  # up again: 490 parts
            good += 1
            continue
        elif kind == "out of order":
            r = Reading("M2", "parts", t - 100.0, 1)  # stored, replay sorts
            good += 1
        elif kind == "unknown state":
            r = Reading("M2", "state", t, rng.choice(["RUNNING", "", "7", "Störung"]))
            good += 1
        elif kind == "level of a machine":
            r = Reading("M2", "level", t, 3.0)
        else:  # what a source reports through Feed.bad
            rec.bad("unparsable payload", f"line3/M2/state: b'\\x00\\xff{i}'")
            continue
        rec.readings([r])
        if kind == "bad value":
            good += 1  # stored as recorded, as the importers do
    report = rec.close()
    counted = {k: p.count for k, p in report.problems.items()}
    assert counted == {k: v for k, v in made.items() if v}
    assert set(counted) - {"unparsable payload"} <= set(PROBLEMS)
    assert all(len(p.examples) == 5 for p in report.problems.values())
    assert "unknown asset: " in report.format() and "asset M9" in report.format()
    with Recording.open(path) as r:
        d = r.asset("M2")
        # the first part, the resets' rises, the late parts, the kept bad quantities
        assert len(d.parts) + len(d.power) + len(d.states) == good
        replay_recording(r)  # and it replays


def test_a_failure_to_write_is_raised_on_the_main_thread(tmp_path):
    path = tmp_path / "x.h5"
    rec = LiveRecorder(path, ["M"], flush_interval_s=0.0)  # every batch flushes
    rec.readings([Reading("M", "state", T0, "busy")])
    rec._writer._f.close()  # the file went away under it
    rec.readings([Reading("M", "state", T0 + 1, "idle")])  # the source's thread: no raise
    deadline = time.monotonic() + 10
    while rec.failure is None:  # the writer thread meets the closed file
        assert time.monotonic() < deadline
        time.sleep(0.01)
    with pytest.raises(type(rec.failure)):
        rec.tick()  # the main thread: raised
    rec.readings([Reading("M", "state", T0 + 2, "idle")])  # ignored from now on
    rec.close()


def test_existing_file_and_bad_epoch_are_refused(tmp_path):
    path = tmp_path / "here.h5"
    path.write_bytes(b"x")
    with pytest.raises(RecordingError, match="exists.*--force"):
        LiveRecorder(path, ["M"])
    with pytest.raises(RecordingError, match="does not exist"):
        LiveRecorder(tmp_path / "no" / "x.h5", ["M"])
    with pytest.raises(RecordingError, match="epoch_utc"):
        LiveRecorder(tmp_path / "y.h5", ["M"], epoch_utc="yesterday")
    with pytest.raises(RecordingError, match="declared twice"):
        LiveRecorder(tmp_path / "y.h5", ["M", AssetInfo("M")])


@pytest.mark.timeout(120)
def test_memory_does_not_grow_with_the_length_of_the_recording(tmp_path):
    """600,000 readings (keyed, so that de-duplication fills its window): the process's
    resident memory after the first 60,000 and after all of them differs by far less than the
    bytes a leak of one small object per reading would take (~30 MB or more): 8 MiB, which
    leaves room for the allocator's and HDF5's caches settling."""
    path = tmp_path / "long.h5"
    rec = LiveRecorder(path, project_assets(plant()), dedup_window=20_000, max_buffered=4096,
                       max_backlog=16_384)

    def run(start: int, stop: int) -> None:
        for b in range(start, stop, 1000):
            batch = []
            for i in range(b, b + 1000):
                t = T0 + i * 0.05
                a = ("M1#0", "M1#1", "M2")[i % 3]
                ch = i % 4
                if ch == 0:
                    batch.append(Reading(a, "state", t, STATE_NAMES[i % 8], f"k{i}"))
                elif ch == 1:
                    batch.append(Reading(a, "parts", t, 1, f"k{i}"))
                elif ch == 2:
                    batch.append(Reading(a, "power_kw", t, 5.0, f"k{i}"))
                else:
                    batch.append(Reading("B1", "level", t, float(i % 6), f"k{i}"))
            rec.readings(batch)
            rec.tick()

    def rss_kib() -> int:
        gc.collect()
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() // 1024

    run(0, 60_000)  # warm: buffers, the key window, HDF5's caches
    early = rss_kib()
    run(60_000, 600_000)
    rec.flush()
    late = rss_kib()
    assert len(rec._seen) == 20_000 and rec._buffered == 0
    rec.close()
    with Recording.open(path) as r:
        assert len(r.asset("B1").level) == 150_000
    print(f"RSS after 60,000 readings {early} KiB, after 600,000 {late} KiB")
    assert late - early < 8 * 1024, (early, late)  # KiB, for 540,000 more readings


def test_readings_drained_while_reconnecting_are_not_hidden_by_the_gap(tmp_path):
    """A source that still hands over what it had queued after reporting ``reconnecting``:
    the gap starts after those readings, not before them."""
    path = tmp_path / "drain.h5"
    rec = LiveRecorder(path, ["M"])
    rec.readings([Reading("M", "state", T0, "busy")])
    rec.link("reconnecting", "cut")
    rec.readings([Reading("M", "state", T0 + 20, "down")])  # queued before the cut
    rec.link("connected")
    rec.readings([Reading("M", "state", T0 + 90, "busy")])
    rec.close()
    with Recording.open(path) as r:
        assert r.gaps[["start", "end"]].tolist() == [(T0 + 20 - DAY, T0 + 90 - DAY)]
        m = replay_recording(r)["M"]
        assert m.state_at(T0 + 10 - DAY) == BUSY and m.state_at(T0 + 50 - DAY) == NO_DATA


def test_what_is_not_a_reading_is_counted_and_kinds_are_bounded(tmp_path):
    rec = LiveRecorder(tmp_path / "m.h5", ["M"])
    rec.readings([("M", "state", T0, "busy"), Reading(["M"], "state", T0, "busy"),
                  Reading("M", "state", T0, "busy", key=None)])
    for i in range(100):
        rec.bad(f"weird {i}", "x")  # a source that puts values into the kind
    rec.readings([Reading("M", "state", T0, "busy")])
    report = rec.close()
    assert report.problems["malformed reading"].count == 3
    assert len(report.problems) == 64 + 1  # and "other"
    assert report.problems["other"].count == 100 - 63
    assert report.stored["states"] == 1 and rec.failure is None


def test_readings_after_close_are_counted_not_lost_silently(tmp_path):
    rec = LiveRecorder(tmp_path / "c.h5", ["M"])
    rec.readings([Reading("M", "state", T0, "busy")])
    report = rec.close()
    rec.readings([Reading("M", "state", T0 + 1, "idle")] * 3)
    assert report.problems["after close"].count == 1 and report.received == 4
    assert report.flushed == report.stored["states"] == 1
    assert rec.close() is report  # twice is harmless


def test_a_prepared_file_is_taken_by_a_reading_of_its_day_made_anew_for_another(tmp_path):
    """``prepare`` makes the file before the first reading (the workbench, before its source
    connects): a first reading of that day writes into it, one of another day makes it anew
    with that day's epoch, and a recorder closed with no reading leaves no file."""
    readings, want = feed(1, 300)
    path = tmp_path / "live.h5"
    rec = LiveRecorder(path, project_assets(plant()), source="unit test")
    rec.prepare(now=T0 + 3600.0)  # the wall clock: the day of the readings
    assert path.exists()
    with Recording.open(path, swmr=True) as r:  # a reader sees it, still empty
        assert r.asset_ids == ("M1#0", "M1#1", "M2", "B1") and stored(r) == {}
    prepared = rec._prepared
    rec.readings(readings)
    assert rec._writer is prepared  # the same file, not made anew
    rec.close()
    with Recording.open(path) as r:
        assert r.epoch_utc == datetime(2026, 12, 2, tzinfo=UTC) and stored(r) == want

    other = tmp_path / "other.h5"
    rec = LiveRecorder(other, ["M"])
    rec.prepare(now=T0 + 3 * 86400.0)  # the plant's clock is three days behind
    rec.readings([Reading("M", "state", T0, "busy")])
    rec.close()
    with Recording.open(other) as r:
        assert r.epoch_utc == datetime(2026, 12, 2, tzinfo=UTC)
        assert r.asset("M").states["time"].tolist() == [T0 - DAY]

    nothing = tmp_path / "nothing.h5"
    rec = LiveRecorder(nothing, ["M"])
    rec.prepare()
    assert nothing.exists()
    rec.readings([Reading("M", "nonsense", T0, 1.0)])  # counted, not stored
    rec.close()
    assert not nothing.exists()


@pytest.mark.parametrize("after", ["new session", "session resumed"])
def test_messages_lost_with_a_broker_restart_are_blamed_on_it(tmp_path, after):
    """A newcomer restarted a mosquitto without persistence: 20,974 messages were lost and
    the report blamed max_queued_messages (set to 0). A reconnection to a new session (no
    session at the broker) means the queue went with it: the report says so."""
    rec = LiveRecorder(tmp_path / "r.h5", ["M"])
    rec.link("connected", "new session")  # the first connection: nothing to lose yet
    rec.readings([Reading("M", "power_kw", T0 + n, 1.0, f"plant/M/power_kw|id:{n}")
                  for n in range(1, 11)])
    rec.link("reconnecting", "connection lost")
    rec.link("connected", after)
    rec.readings([Reading("M", "power_kw", T0 + n, 1.0, f"plant/M/power_kw|id:{n}")
                  for n in range(51, 61)])
    report = rec.close()
    assert report.problems["messages never arrived"].count == 40
    text = report.format()
    if after == "new session":
        assert report.sessions_lost == 1
        assert "restarted without persistence" in text and "persistence true" in text
        assert "max_queued_messages" not in text
    else:
        assert report.sessions_lost == 0 and "max_queued_messages" in text


def test_a_second_stream_going_back_in_time_is_counted_not_blended_silently(tmp_path):
    """The newcomer's workbench was handed another session's backlog: time stamps 7 hours
    back between the new stream's. They are stored (replay sorts) but counted and shown with
    examples; the recording's latest plant time stays the new stream's."""
    rec = LiveRecorder(tmp_path / "r.h5", ["M", "N"])
    rec.readings([Reading("M", "state", T0 + k, "busy", f"a{k}") for k in range(10)])
    rec.readings([Reading("N", "state", T0 - 7 * 3600 + k, "down", f"b{k}")
                  for k in range(8)])  # the other session's backlog
    rec.readings([Reading("M", "state", T0 - 200, "idle", "late")])  # late, not a jump
    rec.readings([Reading("M", "state", T0 + 20, "idle", "c")])
    report = rec.close()
    p = report.problems["time stamps went back"]
    assert p.count == 8 and len(p.examples) == 5
    assert p.examples[0].startswith("asset N, state = down") and "25,209 s before" in \
        p.examples[0]
    assert "time stamps went back: 8" in report.format()
    assert report.last == T0 + 20  # the plant clock did not go back
    assert report.stored["states"] == 20  # all kept, as recorded
