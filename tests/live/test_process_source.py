"""A live source in a process of its own (``twin.live.process``): what the child's source
hands over reaches the feed in order, a stop ends it, and what it raises is raised here."""

from __future__ import annotations

import os
import threading

import cli_feed  # noqa: F401 - registers testfeed:// (the child imports it by this name)
import pytest

from twin.live.feed import LiveError, Reading, open_source
from twin.live.process import ProcessSource

pytestmark = pytest.mark.timeout(120)


class Collect:
    def __init__(self, until: int) -> None:
        self.events: list = []
        self.readings_n = 0
        self.until = until
        self.enough = threading.Event()

    def readings(self, batch):
        assert all(isinstance(r, Reading) for r in batch)
        self.events.append(("r", [(r.asset, r.channel, r.t, r.value, r.key) for r in batch]))
        self.readings_n += len(batch)
        if self.readings_n >= self.until:
            self.enough.set()

    def bad(self, kind, example):
        self.events.append(("b", kind, example))

    def link(self, state, detail=""):
        self.events.append(("l", state, detail))


def test_the_child_hands_everything_over_in_order_and_stops():
    source = ProcessSource(open_source("testfeed://?batch=7&pace=0.01"))
    feed, stop = Collect(until=200), threading.Event()
    thread = threading.Thread(target=source.run, args=(feed, stop))
    thread.start()
    assert feed.enough.wait(60), feed.events[:3]
    assert source.pid is not None and source.pid != os.getpid()
    stop.set()
    thread.join(30)
    assert not thread.is_alive()
    kinds = [e[0] for e in feed.events]
    assert feed.events[0] == ("l", "connecting", "testfeed://?batch=7&pace=0.01")
    assert feed.events[1] == ("l", "connected", "")
    assert feed.events[-1] == ("l", "closed", "") and set(kinds[2:-1]) == {"r"}
    # what the test feed sends: keys 0, 1, 2, ... in batches of 7, every fifth a state
    got = [r for e in feed.events if e[0] == "r" for r in e[1]]
    assert all(len(e[1]) == 7 for e in feed.events if e[0] == "r")
    assert [r[4] for r in got] == [str(i) for i in range(len(got))]
    assert got[0] == ("saw", "state", cli_feed.T0, "busy", "0")
    assert got[1] == ("saw", "parts", cli_feed.T0 + 1.0, 1, "1")
    with pytest.raises(OSError):
        os.kill(source.pid, 0)  # the child has ended


def _nice(pid: int) -> list[int]:
    """The nice value of each thread of process ``pid`` (Linux /proc)."""
    from pathlib import Path

    return [int((t / "stat").read_text().rsplit(")", 1)[1].split()[16])
            for t in Path(f"/proc/{pid}/task").iterdir()]


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="reads Linux's /proc")
def test_the_child_runs_at_the_lower_priority_it_was_given_in_all_its_threads():
    """The workbench's source gives way to its GUI thread on a busy machine (issue 15)."""
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    source = ProcessSource(open_source("testfeed://?batch=7&pace=0.01"), nice=5)
    feed, stop = Collect(until=50), threading.Event()
    thread = threading.Thread(target=source.run, args=(feed, stop))
    thread.start()
    try:
        assert feed.enough.wait(60), feed.events[:3]
        nice = _nice(source.pid)
        assert len(nice) >= 2 and set(nice) == {min(mine + 5, 19)}  # its threads too
        assert os.getpriority(os.PRIO_PROCESS, 0) == mine  # this process keeps its own
    finally:
        stop.set()
        thread.join(30)


def test_what_the_child_raises_is_raised_here():
    source = ProcessSource(open_source("testfeed://?fail=1"))
    with pytest.raises(LiveError, match="the test feed was asked to refuse"):
        source.run(Collect(until=1), threading.Event())


def test_options_that_cannot_go_to_a_process_are_refused():
    with pytest.raises(LiveError, match="cannot be given to a process of its own"):
        ProcessSource(open_source("testfeed://", hook=lambda: None))


def test_a_child_killed_for_not_stopping_leaves_nothing_it_handed_over_behind(monkeypatch):
    """A child that does not stop is killed; the batches it had put in the pipe (which an
    MQTT source has acknowledged: the broker will not send them again) all reach the feed."""
    import time

    import twin.live.process as process

    monkeypatch.setattr(process, "STOP_GRACE_S", 0.3)

    class Slow(Collect):  # a feed behind the child: batches wait in the pipe
        def readings(self, batch):
            time.sleep(0.05)
            super().readings(batch)

    source = ProcessSource(open_source("testfeed://?batch=7&pace=0&hang=40"))
    feed, stop = Slow(until=7), threading.Event()
    thread = threading.Thread(target=source.run, args=(feed, stop))
    thread.start()
    assert feed.enough.wait(60)
    stop.set()  # the child hangs after 40 batches, and is killed 0.3 s after this
    thread.join(60)
    assert not thread.is_alive()
    assert feed.events[-1][:2] == ("l", "closed") and "did not stop" in feed.events[-1][2]
    got = [r[4] for e in feed.events if e[0] == "r" for r in e[1]]
    assert got == [str(i) for i in range(40 * 7)]  # every batch, in order, none twice
