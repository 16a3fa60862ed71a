"""``python -m app.cli``: the ``twinbench`` command."""

import sys

from app.cli import main

sys.exit(main())
