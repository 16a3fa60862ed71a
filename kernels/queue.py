"""The future event list: a binary min-heap on (time, sequence number).

Ties in time break on the order events were scheduled (SimPy's ``core.py`` does the same), so a
run is deterministic. Cancelled events stay in the heap and are recognised as stale by their
token (lazy deletion), which keeps rescheduling O(log n).
"""

from kernels.jit import entry, hot
from kernels.types import S_HEAP_N, S_SEQ


@hot
def _before(t1, seq1, t2, seq2):
    """The queue's order: earlier time first, then the earlier scheduled."""
    return t1 < t2 or (t1 == t2 and seq1 < seq2)


@hot
def _move(ht, hi, dst, src):
    ht[dst] = ht[src]
    hi[dst, 0] = hi[src, 0]
    hi[dst, 1] = hi[src, 1]
    hi[dst, 2] = hi[src, 2]
    hi[dst, 3] = hi[src, 3]


@hot
def schedule(ht, hi, si, t, kind, obj, tok):
    """Schedule event ``kind`` on ``obj`` at time ``t`` (s) carrying token ``tok``.

    ``ht`` float64 (n,) and ``hi`` int64 (n, 4) hold the heap; ``si`` the kernel scalars.
    Inlined where every event schedules the next (``flow.resume``); ``push`` is the same,
    compiled once, for everywhere else. The new event has the largest sequence number, so
    it only rises past strictly later events; those move down one place each, and it is
    written once, where it settles.
    """
    seq = si[S_SEQ]
    si[S_SEQ] = seq + 1
    n = si[S_HEAP_N]
    si[S_HEAP_N] = n + 1
    while n > 0:
        parent = (n - 1) >> 1
        if t < ht[parent]:
            _move(ht, hi, n, parent)
            n = parent
        else:
            break
    ht[n] = t
    hi[n, 0] = seq
    hi[n, 1] = kind
    hi[n, 2] = obj
    hi[n, 3] = tok


@entry
def push(ht, hi, si, t, kind, obj, tok):
    """``schedule``, compiled once."""
    schedule(ht, hi, si, t, kind, obj, tok)


@hot
def pop(ht, hi, si):
    """Remove the earliest event; returns (time, kind, obj, token).

    The last entry drops from the top into the hole the earliest left, past earlier
    children, and is written once, where it settles.
    """
    t = ht[0]
    kind = hi[0, 1]
    obj = hi[0, 2]
    tok = hi[0, 3]
    n = si[S_HEAP_N] - 1
    si[S_HEAP_N] = n
    if n > 0:
        lt = ht[n]
        lseq = hi[n, 0]
        i = 0
        while True:
            j = 2 * i + 1
            if j >= n:
                break
            r = j + 1
            if r < n and _before(ht[r], hi[r, 0], ht[j], hi[j, 0]):
                j = r
            if _before(ht[j], hi[j, 0], lt, lseq):
                _move(ht, hi, i, j)
                i = j
            else:
                break
        _move(ht, hi, i, n)
    return t, kind, obj, tok


@hot
def keep_seq(si):
    """Take the next sequence number for an event that may be scheduled later
    (``push_kept``), or never: the events scheduled after it get the numbers they would
    have had had it been scheduled now, and it, when scheduled, its place among its ties."""
    seq = si[S_SEQ]
    si[S_SEQ] = seq + 1
    return seq


@entry
def push_kept(ht, hi, si, t, seq, kind, obj, tok):
    """``push`` with the sequence number ``seq`` that ``keep_seq`` took: older than some
    events in the queue, so it rises past later ties too (issue 16: a conveyor's events,
    scheduled only when someone waits for them, in their places)."""
    n = si[S_HEAP_N]
    si[S_HEAP_N] = n + 1
    while n > 0:
        parent = (n - 1) >> 1
        if _before(t, seq, ht[parent], hi[parent, 0]):
            _move(ht, hi, n, parent)
            n = parent
        else:
            break
    ht[n] = t
    hi[n, 0] = seq
    hi[n, 1] = kind
    hi[n, 2] = obj
    hi[n, 3] = tok
