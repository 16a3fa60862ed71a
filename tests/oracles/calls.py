"""Python-callable copies of kernel functions that the kernel itself only calls when compiled.

``kernels.rng.sample`` is compiled without a Python wrapper (it would only add to the cold
compile a user waits for); the tests draw from it through this one.
"""

from kernels.jit import entry
from kernels.rng import sample as _sample


@entry
def sample(dist_kind, dist_par, emp, d, st, i):
    """``kernels.rng.sample``, callable from Python."""
    return _sample(dist_kind, dist_par, emp, d, st, i)
