"""One de-duplication in the workbench's process: the recorder's. A message redelivered in the
same batch or after a reconnect is stored once and shown once; the live state takes the
readings the recorder kept instead of keeping a window of keys of its own."""

from __future__ import annotations

from app.live_session import LiveState
from twin.live.feed import Reading
from twin.live.process import _hand, _PipeFeed
from twin.live.recorder import LiveRecorder
from twin.recording import Recording
from twin.recording.writer import AssetInfo

T0 = 1_790_000_000.0
ASSETS = [AssetInfo("mill", element="mill"), AssetInfo("buf", element="buf", level=True)]


def _parts(k: int, t: float) -> Reading:
    return Reading("mill", "parts", t, 1.0, f"plant/mill/parts|id:{k}")


def test_the_recorder_hands_back_what_it_kept_dropping_repeats_in_the_batch_and_before(
        tmp_path):
    rec = LiveRecorder(tmp_path / "r.h5", ASSETS)
    a, b = _parts(1, T0), _parts(2, T0 + 1)
    junk = ("mill", "parts")  # not a Reading: counted, not handed back
    assert rec.readings([a, b, b, junk, a]) == [a, b]
    assert rec.readings([b, _parts(3, T0 + 2), a]) == [_parts(3, T0 + 2)]
    report = rec.close()
    assert report.duplicates == 4 and report.received == 8
    assert report.problems["malformed reading"].count == 1 and report.stored["parts"] == 3


def test_a_redelivery_in_the_batch_and_after_a_reconnect_is_stored_and_shown_once(tmp_path):
    path = tmp_path / "r.h5"
    rec = LiveRecorder(path, ASSETS)
    live = LiveState(rec, ASSETS)
    live.link("connected", "new session")
    first = [_parts(1, T0), _parts(2, T0 + 1), _parts(2, T0 + 1),  # twice in one batch
             Reading("mill", "state", T0 + 1, "busy", "plant/mill/state|id:3")]
    live.readings(first)
    live.link("reconnecting", "connection lost")
    live.link("connected", "session resumed")
    # the broker sends again what was not acknowledged before the cut, then what is new
    live.readings([_parts(2, T0 + 1), first[3], _parts(4, T0 + 2)])
    s = live.snapshot()
    assert s.messages == 7  # every message received is counted as received ...
    assert s.good == {"mill": 3.0} and s.states == {"mill": "busy"}  # ... and shown once
    report = rec.close()
    assert report.received == 7 and report.duplicates == 3 and report.problem_count == 0
    with Recording.open(path) as r:
        assert r.asset("mill").parts["time"].tolist() == [
            T0 - r.epoch_utc.timestamp() + x for x in (0, 1, 2)]
        assert len(r.asset("mill").states) == 1


def test_the_window_of_keys_holds_the_latest_ones_and_no_more(tmp_path):
    rec = LiveRecorder(tmp_path / "r.h5", ASSETS, dedup_window=4)
    for k in range(1, 7):
        assert rec.readings([_parts(k, T0 + k)]) == [_parts(k, T0 + k)]
    assert len(rec._seen) == len(rec._seen_order) == 4
    assert rec.readings([_parts(6, T0 + 6), _parts(3, T0 + 3)]) == []  # the latest four
    # the oldest left the window: a message that old is no redelivery a broker would make
    assert rec.readings([_parts(1, T0 + 1)]) == [_parts(1, T0 + 1)]
    rec.close()


def test_after_close_the_live_state_still_counts_and_nothing_breaks(tmp_path):
    rec = LiveRecorder(tmp_path / "r.h5", ASSETS)
    live = LiveState(rec, ASSETS)
    live.readings([_parts(1, T0)])
    rec.close()
    live.readings([_parts(2, T0 + 1), "not a reading"])  # a source still running
    s = live.snapshot()
    assert s.messages == 3 and s.good == {"mill": 2.0}
    assert rec.report.problems["after close"].count == 1


def test_readings_cross_the_process_pipe_as_plain_tuples_and_come_back_equal():
    sent = []

    class Conn:
        def send(self, msg):
            sent.append(msg)

    batch = [_parts(1, T0), Reading("mill", "state", T0, "down"),
             Reading("buf", "level", T0 + 0.5, 3.0, "k")]
    _PipeFeed(Conn()).readings(batch)
    assert all(type(r) is tuple for r in sent[0][1])  # pickled without the class

    class Feed:
        got: list = []

        def readings(self, b):
            self.got.extend(b)

    feed = Feed()
    assert _hand(sent[0], feed) == "r"
    assert feed.got == batch and all(isinstance(r, Reading) for r in feed.got)
    assert [r.key for r in feed.got] == [batch[0].key, "", "k"]
