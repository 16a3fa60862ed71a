"""Schema 2: level channels (work in process) and per-server assets, written, imported,
replayed and forked from."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from kernels.types import BUSY, DOWN, STARVED
from twin.model.distributions import constant, exponential
from twin.model.elements import Buffer, Project, Sink, Source, Station
from twin.recording import (
    SCHEMA_VERSION,
    AssetInfo,
    MappingError,
    Recording,
    RecordingError,
    RecordingWriter,
    extent,
    import_recording,
    load_mapping,
    mapping_from_dict,
    replay_recording,
    shipped_mapping,
)
from twin.whatif.fork import fork_from_recording

EXAMPLE = "example_line_levels_mapping.json"


def make(path, **kw) -> RecordingWriter:
    kw.setdefault("source", "unit test")
    kw.setdefault("epoch_utc", "2024-01-01T00:00:00+00:00")
    return RecordingWriter.create(path, **kw)


def test_level_and_server_round_trip(tmp_path):
    path = tmp_path / "r.h5"
    with make(path, assets=[AssetInfo("M1-A", element="M1", server=0),
                            AssetInfo("M1-B", element="M1", server=1)]) as w:
        w.append_states("M1-A", [0.0], ["busy"])
        w.append_level("B1", [30.0, 10.0, 20.0], [2.0, 0.0, 1.0])  # created on first append
    with Recording.open(path) as rec:
        assert [rec.asset(a).server for a in rec.asset_ids] == [0, 1, None]
        b = rec.asset("B1")
        assert b.level["time"].tolist() == [30.0, 10.0, 20.0]  # as stored
        assert len(rec.asset("M1-A").level) == 0
        r = replay_recording(rec)["B1"]
        assert r.has_level and not replay_recording(rec)["M1-A"].has_level
        assert r.level_at(np.array([5.0, 10.0, 25.0, 99.0])).tolist()[1:] == [0.0, 1.0, 2.0]
        assert np.isnan(r.level_at(5.0))
        assert (r.t_first, r.t_last) == (10.0, 30.0)  # a level-only asset spans its samples
        assert extent({"B1": r}) == (10.0, 30.0)
    with h5py.File(path) as f:
        assert f["assets/B1/level"].attrs["units.level"] == "1"
        assert f["assets/B1/level"].attrs["units.time"] == "s"


def test_writer_checks_servers_and_swmr_levels(tmp_path):
    with pytest.raises(RecordingError, match="server -1 is not a server index"):
        make(tmp_path / "a.h5", assets=[AssetInfo("x", element="M", server=-1)])
    w = make(tmp_path / "b.h5", assets=[AssetInfo("M"), AssetInfo("B", level=True)], swmr=True)
    try:
        w.append_level("B", [0.0], [3.0])  # declared up front: fine in SWMR mode
        with pytest.raises(RecordingError, match=r"asset 'M' has no 'level' dataset.*SWMR.*"
                                                 r"AssetInfo\('M', level=True\)"):
            w.append_level("M", [0.0], [1.0])
    finally:
        w.close()


EVENTS = """ts,asset,status,items,level
2024-05-06T06:00:00,M1-A,RUN,,
2024-05-06T06:00:00,M1-B,RUN,,
2024-05-06T06:00:00,M2,RUN,,
2024-05-06T06:00:00,B1,,,3
2024-05-06T06:01:10,M1-A,RUN,1,
2024-05-06T06:01:12,B1,,,4
2024-05-06T06:02:00,M1-B,ALARM,,
2024-05-06T06:02:05,M2,RUN,1,
2024-05-06T06:02:05,B1,,,3
2024-05-06T06:03:00,B1,,,-2
2024-05-06T06:04:00,B1,,,3
2024-05-06T06:20:00,M1-B,RUN,,
2024-05-06T06:30:00,M1-A,RUN,1,
2024-05-06T06:30:00,M2,RUN,1,
"""


def line() -> Project:
    p = Project("example line", elements=[
        Source("src"),
        Station("M1", servers=2, process_time=exponential(70.0)),
        Buffer("B1", capacity=6),
        Station("M2", process_time=constant(40.0)),
        Sink("out")])
    for a, b in (("src", "M1"), ("M1", "B1"), ("B1", "M2"), ("M2", "out")):
        p.connect(a, b)
    return p


def test_the_shipped_example_mapping_imports_levels_and_servers(tmp_path):
    data = tmp_path / "line.csv"
    data.write_text(EVENTS)
    out = tmp_path / "line.h5"
    report = import_recording(data, shipped_mapping(EXAMPLE), out)
    assert report.records["level"] == 5 and report.rows_stored == report.rows_read == 14
    # a negative level is an impossible value, stored as recorded
    assert report.count("impossible_values") == 1
    assert report.issues["impossible_values"].examples[0].value == "'-2'"
    assert report.count("missing_values") == 0
    with Recording.open(out) as rec:
        assert rec.schema_version == SCHEMA_VERSION
        assert [(rec.asset(a).element, rec.asset(a).server) for a in rec.asset_ids] == [
            ("M1", 0), ("M1", 1), ("M2", None), ("B1", None)]
        lv = rec.asset("B1").level
        assert lv["level"].tolist() == [3.0, 4.0, 3.0, -2.0, 3.0]
        replays = replay_recording(rec)
        assert replays["B1"].invalid_values == 1
        assert replays["M1-B"].state_at(rec.time_of("2024-05-06T06:10")) == DOWN
        # a fork at 06:10 plant time: each machine of M1 in its state (M1-B's repair ends at
        # its RUN record, the asset's last), three parts in B1
        t = rec.time_of("2024-05-06T06:10:00")
        fr = fork_from_recording(line(), rec, t, t + 600.0, replications=3, seed=1)
        assert [(s.asset, s.server, s.state) for s in fr.starts] == [
            ("M1-A", 0, BUSY), ("M1-B", 1, DOWN), ("M2", 0, BUSY)]
        assert fr.starts[1].repair_end == rec.time_of("2024-05-06T06:20:00")
        assert fr.wip == {"B1": 3} and fr.wip_unknown == []  # src is unlimited: no queue
        with pytest.raises(ValueError, match=r"asset 'B1': the level of 'B1' recorded at "
                                             r"t=\d+ s \(2024-05-06 06:03:00 CEST\)"):
            t_bad = rec.time_of("2024-05-06T06:03:30")
            fork_from_recording(line(), rec, t_bad, t_bad + 60.0, replications=1)


def test_bucket_levels_are_samples_at_the_bucket_start(tmp_path):
    data = tmp_path / "b.csv"
    data.write_text("ts,asset,status,level\n"
                    "2024-01-01T00:00:00Z,M,1,\n"
                    "2024-01-01T00:00:00Z,B,,2\n"
                    "2024-01-01T00:05:00Z,M,0,\n"
                    "2024-01-01T00:05:00Z,B,,5\n")
    mapping = mapping_from_dict({
        "shape": "buckets", "source": "t", "bucket_length_s": 300,
        "columns": {"time": "ts", "asset": "asset", "state": "status", "level": "level"},
        "states": {"0": "starved", "1": "busy"}, "assets": {"B": "B"}})
    report = import_recording(data, mapping, tmp_path / "b.h5")
    assert report.records == {"buckets": 4, "level": 2}
    # the buffer's rows have no state: counted, as every bucket without a state is
    assert report.count("missing_values") == 2
    with Recording.open(tmp_path / "b.h5") as rec:
        r = replay_recording(rec)
        assert r["B"].level_at(np.array([0.0, 299.0, 300.0, 900.0])).tolist() == [2, 2, 5, 5]
        assert not r["M"].has_level and r["M"].state_at(400.0) == STARVED


def test_mapping_checks_level_column_and_server_index():
    base = {"shape": "event_log", "source": "t", "columns": {"time": "ts", "level": "lv"},
            "asset_id": "B"}
    assert mapping_from_dict(base).columns == {"time": "ts", "level": "lv"}  # level only: ok
    with pytest.raises(MappingError, match=r"\$\.columns: found \['time'\]; expected at least "
                                           "one of the roles state, parts, power, level"):
        mapping_from_dict({**base, "columns": {"time": "ts"}})
    for server, fix in ((-1, "0-based index"), (True, "0-based index"), (1.5, "0-based index")):
        with pytest.raises(MappingError, match=rf"\$\.assets\['A'\]\.server: found "
                                               rf"{server!r}; expected the {fix}"):
            mapping_from_dict({**base, "assets": {"A": {"element": "M", "server": server}}})
    with pytest.raises(MappingError, match="no server index for an asset without an element"):
        mapping_from_dict({**base, "assets": {"A": {"server": 0}}})
    with pytest.raises(MappingError, match="did you mean 'server'"):
        mapping_from_dict({**base, "assets": {"A": {"element": "M", "sever": 0}}})
    m = load_mapping(shipped_mapping(EXAMPLE))
    assert m.asset("M1-B").server == 1 and m.asset("M2").server is None


def test_a_conveyor_is_not_counted_as_no_data(tmp_path, capsys):
    """A conveyor records a level and no state: its time is not "no data" (it showed its
    whole window so in the replay KPI table), it has no state or OEE figures, and it is shown
    with what it has, its mean level."""
    from app.cli import main
    from twin.recording import recording_kpis

    path = tmp_path / "r.h5"
    with make(path, assets=[AssetInfo("M"), AssetInfo("C", level=True)]) as w:
        w.append_states("M", [0.0, 1800.0, 3600.0], ["busy", "down", "busy"])
        w.append_level("C", [600.0, 1200.0], [4.0, 10.0])
    with Recording.open(path) as rec:
        kpis = recording_kpis(rec, (0.0, 3600.0))
    c, m = kpis["C"], kpis["M"]
    assert c.level_only and not m.level_only
    assert c.state_time_s["no_data"] == 600.0  # before its first level only
    assert c.state_time_s["busy"] == c.state_time_s["down"] == 0.0
    assert c.oee is None and c.availability is None and c.failures == 0
    assert c.mean_level == pytest.approx((600 * 4.0 + 2400 * 10.0) / 3000)
    assert m.state_time_s["no_data"] == 0.0 and m.mean_level is None
    assert main(["replay", str(path), "--to", "3600"]) == 0
    out = capsys.readouterr().out
    row = next(line.split() for line in out.splitlines() if line.strip().startswith("C "))
    # asset name parts scrap kWh kWh/part OEE avail perf qual fails MTBF MTTR busy down
    # no-data mean-WIP: the state columns are "-", no data 0.2 h, mean WIP 8.8
    assert row[-7:] == ["-", "-", "-", "-", "-", "0.2", "8.8"], out
