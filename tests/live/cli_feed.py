"""A live source for the ``twinbench live`` tests: ``testfeed://?step=S&pace=W&batch=N``.

A test double for the network only (the recorder and the command are what the tests
exercise): it sends ``batch`` readings of the machining cell's ``saw`` every ``pace`` wall
seconds, ``step`` plant seconds apart, from 2026-12-02T06:00:00Z, until it is stopped;
``fail=1`` refuses to start as a driver does for a bad address; ``cut=K&lost=N`` loses the
link after K batches, and N readings with it, then reconnects; ``hang=K`` stops answering
after K batches (a driver stuck in its network library). When it stops it prints
``fed N`` (readings handed over) on stderr. Importing this module registers it.
"""

from __future__ import annotations

import sys
import threading
from urllib.parse import parse_qs, urlsplit

from twin.live.feed import Feed, LiveError, Reading, Source, register

T0 = 1_796_191_200.0


@register
class FeedForTests(Source):
    schemes = ("testfeed",)

    def run(self, feed: Feed, stop: threading.Event) -> None:
        q = {k: v[-1] for k, v in parse_qs(urlsplit(self.url).query).items()}
        if q.get("fail"):
            raise LiveError(f"{self.url}: the test feed was asked to refuse; fix the address")
        step, pace, batch = float(q.get("step", 1)), float(q.get("pace", 0.01)), \
            int(q.get("batch", 10))
        feed.link("connecting", self.url)
        feed.link("connected")
        cut, lost = int(q.get("cut", -1)), int(q.get("lost", 0))
        i = n = 0
        hang = int(q.get("hang", -1))
        while not stop.is_set():
            if n == hang:
                threading.Event().wait()  # for ever: only a kill ends it
            if n == cut:
                feed.link("reconnecting", "test cut")
                i += lost
                feed.link("connected")
            n += 1
            out = []
            for _ in range(batch):
                t = T0 + i * step
                if i % 5 == 0:
                    out.append(Reading("saw", "state", t, ("busy", "down")[i // 5 % 2], str(i)))
                else:
                    out.append(Reading("saw", "parts", t, 1, str(i)))
                i += 1
            feed.readings(out)
            stop.wait(pace)
        feed.link("closed")
        print(f"fed {i}", file=sys.stderr, flush=True)
