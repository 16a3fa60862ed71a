"""The future event list: a binary min-heap on (time, sequence number).

Ties in time break on the order events were scheduled (SimPy's ``core.py`` does the same), so a
run is deterministic. Cancelled events stay in the heap and are recognised as stale by their
token (lazy deletion), which keeps rescheduling O(log n).
"""

from kernels.jit import entry, hot
from kernels.types import S_HEAP_N, S_SEQ


@hot
def _less(ht, hi, a, b):
    return ht[a] < ht[b] or (ht[a] == ht[b] and hi[a, 0] < hi[b, 0])


@hot
def _swap(ht, hi, a, b):
    t = ht[a]
    ht[a] = ht[b]
    ht[b] = t
    for c in range(4):
        x = hi[a, c]
        hi[a, c] = hi[b, c]
        hi[b, c] = x


@hot
def schedule(ht, hi, si, t, kind, obj, tok):
    """Schedule event ``kind`` on ``obj`` at time ``t`` (s) carrying token ``tok``.

    ``ht`` float64 (n,) and ``hi`` int64 (n, 4) hold the heap; ``si`` the kernel scalars.
    Inlined where every event schedules the next (``flow.resume``); ``push`` is the same,
    compiled once, for everywhere else.
    """
    n = si[S_HEAP_N]
    ht[n] = t
    hi[n, 0] = si[S_SEQ]
    hi[n, 1] = kind
    hi[n, 2] = obj
    hi[n, 3] = tok
    si[S_SEQ] += 1
    si[S_HEAP_N] = n + 1
    while n > 0:
        parent = (n - 1) >> 1
        if _less(ht, hi, n, parent):
            _swap(ht, hi, n, parent)
            n = parent
        else:
            break


@entry
def push(ht, hi, si, t, kind, obj, tok):
    """``schedule``, compiled once."""
    schedule(ht, hi, si, t, kind, obj, tok)


@hot
def pop(ht, hi, si):
    """Remove the earliest event; returns (time, kind, obj, token)."""
    t = ht[0]
    kind = hi[0, 1]
    obj = hi[0, 2]
    tok = hi[0, 3]
    n = si[S_HEAP_N] - 1
    si[S_HEAP_N] = n
    if n > 0:
        ht[0] = ht[n]
        for c in range(4):
            hi[0, c] = hi[n, c]
        i = 0
        while True:
            left = 2 * i + 1
            if left >= n:
                break
            j = left
            right = left + 1
            if right < n and _less(ht, hi, right, left):
                j = right
            if _less(ht, hi, j, i):
                _swap(ht, hi, i, j)
                i = j
            else:
                break
    return t, kind, obj, tok
