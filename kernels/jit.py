"""The three ways a kernel function is compiled, chosen for run time *and* compile time.

Every kernel function takes the plant and the run as two named tuples of ~25 arrays each.
Numba passes a named tuple by value, as several hundred scalars, and builds a Python
wrapper for every function that unboxes them all. So:

- ``hot``: on the path of every event (a part moves, a phase ends). Inlined into its
  caller in Numba IR, so the event loop runs as one function with no calls.
- ``cold``: on rare paths (a failure, a repair, a shift change, maintenance). Compiled
  once as its own function with no Python wrapper; calling it costs a few hundred
  register moves, which rare events can afford, and keeps it out of every caller's IR
  (inlining copies a function into each call site, and nested inlining multiplies).
- ``entry``: called from Python (``start``, ``run_until``); has a wrapper.

All are cached on disk, release the GIL and run without Numba's reference counting
(which would cost several times the run time on array-heavy code).
"""

from numba import njit

_BASE = dict(cache=True, nogil=True, _nrt=False)

hot = njit(inline="always", **_BASE)
cold = njit(no_cpython_wrapper=True, no_cfunc_wrapper=True, **_BASE)
entry = njit(**_BASE)
