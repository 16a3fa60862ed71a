"""The ``twinbench`` command as a user runs it: in a subprocess, with its JSON read strictly."""

from __future__ import annotations

import json
import subprocess
import sys

TIMEOUT = 600  # the first run may compile the kernel


def twinbench(*args, cwd=None):
    """Run ``twinbench ARGS`` (``python -m app.cli``); returns the ``CompletedProcess``."""
    return subprocess.run([sys.executable, "-m", "app.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=TIMEOUT, cwd=cwd)


def strict_json(text):
    """Parse the command's JSON output, refusing NaN and Infinity (not JSON)."""
    def no_constants(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=no_constants)
