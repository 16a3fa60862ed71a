"""A recording played back as the live readings it was made of.

The alert rules and the drift tests take the plant's data as ``twin.live.feed.Reading``
batches; :func:`playback` turns an event-log recording (``docs/recording-format.md``) back
into such batches, one per ``step_s`` of plant time, in time order (stable: records of one
time keep their stored order), so that the rules run on a recorded shift exactly as they
ran live (``twinbench replay FILE --alerts``). Times become seconds since the Unix epoch, as
live readings carry them. Bucketed recordings (5-minute counters) hold no events to play:
:class:`PlaybackError` says so.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from twin.errors import InputError
from twin.live.feed import Reading
from twin.recording import Recording
from twin.recording.format import state_name

#: Channel of each stored kind (parts split into ``parts`` and ``scrap`` by ``good``).
_CHANNELS = ("state", "parts", "scrap", "power_kw", "level")


class PlaybackError(InputError):
    """A recording that cannot be played back as readings (the message names the fix)."""


def recorded_readings(recording: Recording, window: tuple[float, float] | None = None
                      ) -> tuple[np.ndarray, list[Reading]]:
    """Every record of ``recording`` as a :class:`Reading`, in time order.

    Returns the times (s since the recording's epoch) and the readings (``t`` in s since the
    Unix epoch). ``window`` keeps ``[t0, t1)`` (recording time).
    """
    if recording.shape != "event_log":
        raise PlaybackError(f"{recording.path}: a bucketed recording holds counts per bucket, "
                            "not the events the alert rules follow; import an event log "
                            "(state changes and parts) or record the plant live")
    epoch = recording.epoch_utc.timestamp()
    times, rows = [], []
    for aid in recording.asset_ids:
        d = recording.asset(aid)
        for kind, rec in (("state", d.states), ("parts", d.parts), ("power_kw", d.power),
                          ("level", d.level)):
            if not len(rec):
                continue
            times.append(np.asarray(rec["time"], float))
            if kind == "state":
                values = [state_name(int(c)) for c in rec["state"]]
                chans = ["state"] * len(rec)
            elif kind == "parts":
                values = [float(c) for c in rec["count"]]
                chans = ["parts" if g else "scrap" for g in rec["good"]]
            else:
                values = [float(v) for v in rec["power_kw" if kind == "power_kw" else "level"]]
                chans = [kind] * len(rec)
            rows.extend(zip([aid] * len(rec), chans, values, strict=True))
    if not times:
        return np.empty(0), []
    t = np.concatenate(times)
    order = np.argsort(t, kind="stable")
    t = t[order]
    keep = np.ones(len(t), bool) if window is None else (t >= window[0]) & (t < window[1])
    out = [Reading(rows[i][0], rows[i][1], float(t_ + epoch), rows[i][2])
           for i, t_, k in zip(order, t, keep, strict=True) if k]
    return t[keep], out


def playback(recording: Recording, step_s: float = 10.0,
             window: tuple[float, float] | None = None
             ) -> Iterator[tuple[float, list[Reading] | None]]:
    """Yield ``(t_end, batch)`` per ``step_s`` of plant time: the readings of ``[t_end -
    step_s, t_end)``, ``t_end`` in s since the Unix epoch (empty steps are yielded too, so
    that rules waiting for time to pass see it pass). A link gap of the recording
    (``/gaps``: the live source was cut) is yielded as ``(gap start, None)`` between the
    readings before it and those after, as a live source reports it
    (``AlertEngine.gap``)."""
    if not step_s > 0:
        raise PlaybackError(f"step {step_s!r} must be a positive number of seconds")
    t, readings = recorded_readings(recording, window)
    if not readings:
        return
    epoch = recording.epoch_utc.timestamp()
    start, end = float(t[0]), float(t[-1])
    if window is not None:  # empty steps from the window's start and to its end, if finite
        start = window[0] if np.isfinite(window[0]) else start
        end = window[1] if np.isfinite(window[1]) else end
    edges = np.arange(start + step_s, end + step_s, step_s)
    gaps = sorted(float(g) for g in recording.gaps["start"]) if len(recording.gaps) else []
    marks = [(g, None) for g in gaps if start <= g < end]
    steps = sorted([(float(e), "step") for e in edges] + marks, key=lambda x: x[0])
    lo = 0
    for edge, kind in steps:
        # a gap starts at the last reading before the cut: that reading goes before it
        hi = int(np.searchsorted(t, edge, side="left" if kind else "right"))
        if kind is None:  # the readings before the gap, then the gap
            yield float(edge + epoch), readings[lo:hi]
            yield float(edge + epoch), None
        else:
            yield float(edge + epoch), readings[lo:hi]
        lo = hi
    if lo < len(readings):
        yield float(end + epoch + step_s), readings[lo:]
