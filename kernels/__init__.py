"""Numba kernels of twinbench: arrays and scalars in, arrays out; numpy and numba only.

Importing this package points numba's on-disk cache at a per-user, per-version folder
(before numba is imported), so a compiled kernel is reused by every later run.
"""

import os
import sys

__version__ = "0.1.0"


def _cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    py = f"py{sys.version_info.major}{sys.version_info.minor}"
    return os.path.join(base, "twinbench", f"numba-{__version__}-{py}")


os.environ.setdefault("NUMBA_CACHE_DIR", _cache_dir())
