"""Random numbers for the kernel: xoshiro256** streams and the variates of ``types.D_*``.

Each element has one stream per purpose (``types.RS_*``), seeded by ``twin`` from the run
seed, the replication and a hash of the element id, so two scenarios run with the same seed
draw the same numbers for the same element and purpose (common random numbers), however the
rest of the plant changed. Reference: Blackman and Vigna, "Scrambled linear pseudorandom
number generators", ACM TOMS 47(4), 2021.
"""

import math

import numpy as np

from kernels.jit import cold, hot
from kernels.types import (
    D_CONSTANT,
    D_EMPIRICAL,
    D_EXPONENTIAL,
    D_GAMMA,
    D_LOGNORMAL,
    D_NORMAL,
    D_TRIANGULAR,
    D_UNIFORM,
    D_WEIBULL,
)

_U5 = np.uint64(5)
_U9 = np.uint64(9)
_S7 = np.uint64(7)
_S57 = np.uint64(57)
_S17 = np.uint64(17)
_S45 = np.uint64(45)
_S19 = np.uint64(19)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0
# Tries of a rejection method before it gives up: no loop of the kernel may run forever,
# whatever parameters reach it. With the parameters a project can hold, a draw needs this
# many tries with a probability below 2**-1000.
MAX_REJECTIONS = 1000


@hot
def next_u64(st, i):
    """Next 64-bit output of stream ``i``; ``st`` is uint64 of shape (n_streams, 4)."""
    s0 = st[i, 0]
    s1 = st[i, 1]
    s2 = st[i, 2]
    s3 = st[i, 3]
    x = s1 * _U5
    result = ((x << _S7) | (x >> _S57)) * _U9
    t = s1 << _S17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = (s3 << _S45) | (s3 >> _S19)
    st[i, 0] = s0
    st[i, 1] = s1
    st[i, 2] = s2
    st[i, 3] = s3
    return result


@hot
def uniform01(st, i):
    """A uniform draw on the open interval (0, 1) from stream ``i``."""
    return (float(next_u64(st, i) >> _S11) + 0.5) * _INV53


@hot
def exponential(mean, st, i):
    return -mean * math.log(uniform01(st, i))


@cold
def draw_uniform(st, i):
    """``uniform01`` compiled once, for draws off the hot path (a scrap check): they call it
    instead of inlining the generator once more. (A second dispatcher of ``uniform01``'s own
    function would share its disk-cache entry, without the Python wrapper.)"""
    return uniform01(st, i)


@cold
def std_normal(st, i):
    """A standard normal draw (Box-Muller, two uniforms per draw, no cached twin)."""
    u1 = uniform01(st, i)
    u2 = uniform01(st, i)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


@cold
def _gamma(st, i, shape, scale):
    # Marsaglia and Tsang, "A simple method for generating gamma variables", ACM TOMS 2000.
    if shape < 1.0:
        return _gamma(st, i, shape + 1.0, scale) * uniform01(st, i) ** (1.0 / shape)
    d = shape - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    for _ in range(MAX_REJECTIONS):  # each try accepts with probability > 0.95
        z = std_normal(st, i)
        v = 1.0 + c * z
        if v <= 0.0:
            continue
        v = v * v * v
        u = uniform01(st, i)
        if math.log(u) < 0.5 * z * z + d - d * v + d * math.log(v):
            return d * v * scale
    return d * scale  # only with parameters no project can hold (NaN)


@cold
def sample(dist_kind, dist_par, emp, d, st, i):
    """Draw from distribution ``d`` with stream ``i``.

    Compiled once, without a Python wrapper (kernel code calls it); the exponential draw
    inlines the generator, the rarer ones call ``draw_uniform``.

    Parameters
    ----------
    dist_kind : int64 (n_dists,)
        ``types.D_*`` code of each distribution.
    dist_par : float64 (n_dists, 4)
        Parameters, in seconds, as listed beside the codes in ``types``.
    emp : float64 (n_values,)
        Sorted observed values of the empirical distributions.
    d : int
        Distribution index; a negative index gives 0.
    st : uint64 (n_streams, 4)
        Generator states, advanced in place.
    i : int
        Stream index.

    Returns
    -------
    float
        A draw >= 0, in seconds.
    """
    if d < 0:
        return 0.0
    k = dist_kind[d]
    a = dist_par[d, 0]
    b = dist_par[d, 1]
    if k == D_CONSTANT:
        return a
    if k == D_EXPONENTIAL:
        return exponential(a, st, i)
    if k == D_UNIFORM:
        return a + (b - a) * draw_uniform(st, i)
    if k == D_TRIANGULAR:
        c = dist_par[d, 2]
        u = draw_uniform(st, i)
        f = (b - a) / (c - a)
        if u < f:
            return a + math.sqrt(u * (c - a) * (b - a))
        return c - math.sqrt((1.0 - u) * (c - a) * (c - b))
    if k == D_NORMAL:
        if b == 0.0:
            return max(a, 0.0)
        for _ in range(MAX_REJECTIONS):  # a mean > 0 (twin checks it) accepts half or more
            x = a + b * std_normal(st, i)
            if x >= 0.0:
                return x
        return 0.0  # only for a mean far below 0, which twin refuses
    if k == D_LOGNORMAL:
        return math.exp(a + b * std_normal(st, i))
    if k == D_GAMMA:
        return _gamma(st, i, a, b)
    if k == D_WEIBULL:
        return b * (-math.log(draw_uniform(st, i))) ** (1.0 / a)
    if k == D_EMPIRICAL:
        off = int(a)
        n = int(b)
        u = draw_uniform(st, i)
        if dist_par[d, 2] > 0.0 and n > 1:
            pos = u * (n - 1)
            j = int(pos)
            if j >= n - 1:
                return emp[off + n - 1]
            return emp[off + j] + (emp[off + j + 1] - emp[off + j]) * (pos - j)
        j = int(u * n)
        if j >= n:
            j = n - 1
        return emp[off + j]
    return 0.0


@hot
def draw(dist_kind, dist_par, emp, d, st, i):
    """``sample``, with the exponential draw (every part of the standard line) inlined
    instead of a call that passes about 30 words of array descriptors."""
    if d >= 0 and dist_kind[d] == D_EXPONENTIAL:
        return exponential(dist_par[d, 0], st, i)
    return sample(dist_kind, dist_par, emp, d, st, i)
