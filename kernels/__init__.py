"""Numba kernels of twinbench: arrays and scalars in, arrays out; numpy and numba only.

Importing this package points numba's on-disk cache at a per-user folder named after the
kernel sources (before numba is imported), so a compiled kernel is reused by every later
run, and a change anywhere in ``kernels/`` starts a new cache. Numba itself only notices a
change to the file that holds a function: a new compile option in ``jit.py`` would
otherwise load code compiled the old way.

It also turns off the colouring of Numba's error messages (when ``colorama`` is installed):
compiling the kernel formats some 27,000 messages for overloads it tries and rejects, and
colouring each set up and tore down a terminal wrapper.
"""

import hashlib
import os
import sys
from pathlib import Path

__version__ = "0.1.0"


def _cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    py = f"py{sys.version_info.major}{sys.version_info.minor}"
    sources = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        sources.update(path.name.encode() + b"\0" + path.read_bytes())
    return os.path.join(base, "twinbench", f"numba-{py}-{sources.hexdigest()[:12]}")


os.environ.setdefault("NUMBA_CACHE_DIR", _cache_dir())
os.environ.setdefault("NUMBA_DISABLE_ERROR_MESSAGE_HIGHLIGHTING", "1")
