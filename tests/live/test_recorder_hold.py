"""The recorder leaves the interpreter lock to a redrawing GUI thread (issue 15): its writer
rests between pieces of HDF5 work and while held, the source's next batch waits while held,
and nothing fed is lost or changed by it."""

from __future__ import annotations

import threading
import time

import pytest

from tests.live.test_recorder import feed, plant, stored
from twin.live.recorder import MAX_HOLD_S, PACE_REST_S, LiveRecorder, _Pace, project_assets
from twin.recording import Recording


class FakeTime:
    def __init__(self) -> None:
        self.now, self.slept = 0.0, []

    def clock(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.now += s


def test_the_writer_rests_after_each_stretch_of_work_and_while_held():
    t = FakeTime()
    held = [0.0]
    pace = _Pace(lambda: held[0], work_s=0.002, rest_s=0.001, clock=t.clock, sleep=t.sleep)
    for _ in range(3):  # 1 ms of work a piece: a rest after every second piece
        t.now += 0.001
        pace()
    assert t.slept == [0.001]
    held[0] = t.now + 0.030  # the GUI thread redraws for 30 ms from now
    pace()
    assert t.slept == [0.001, pytest.approx(0.030)]
    held[0] = t.now + 10.0  # a hold is never longer than MAX_HOLD_S
    pace()
    assert t.slept[-1] == MAX_HOLD_S


@pytest.mark.timeout(60)
def test_held_readings_wait_and_the_recording_still_holds_every_record(tmp_path):
    readings, want = feed(3, 3000)
    path = tmp_path / "live.h5"
    rec = LiveRecorder(path, project_assets(plant()), source="unit test", max_buffered=200)
    rests = []

    def counted():
        pace = _Pace(lambda: rec._held_until)
        rests.append(pace)
        return pace
    rec.pace = counted
    rec.readings(readings[:100])
    t0 = time.perf_counter()
    rec.hold(0.04)
    rec.readings(readings[100:200])  # waits for the hold to pass
    assert time.perf_counter() - t0 >= 0.039
    rec.hold(5.0)  # capped: never longer than MAX_HOLD_S
    t0 = time.perf_counter()
    rec.readings(readings[200:300])
    assert time.perf_counter() - t0 < MAX_HOLD_S + 0.5
    stop = threading.Event()

    def gui():  # a GUI thread redrawing every 5 ms while the source feeds the rest
        while not stop.is_set():
            rec.hold(0.003)
            time.sleep(0.005)
    g = threading.Thread(target=gui)
    g.start()
    try:
        for i in range(300, len(readings), 50):
            rec.readings(readings[i:i + 50])
        rec.flush()
    finally:
        stop.set()
        g.join()
    report = rec.close()
    assert rests and sum(p.rests for p in rests) > 0  # the writer did rest
    assert report.received == len(readings) and report.problem_count == 0
    with Recording.open(path) as r:
        assert stored(r) == want
    assert sum(report.stored.values()) == report.flushed == sum(len(v) for v in want.values())
    assert PACE_REST_S < MAX_HOLD_S
