"""``twinbench open`` (and ``twinbench`` with no command): the workbench.

The only module of ``app.cli`` that reaches Qt, and only when the command runs, so that the
headless commands start without it (an import-linter contract in ``pyproject.toml`` holds
the rest of ``app.cli`` to that).
"""

from __future__ import annotations

import argparse


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``open`` to the main parser's subparsers."""
    o = sub.add_parser("open", help="open a project in the workbench")
    o.add_argument("project", nargs="?")
    o.set_defaults(func=cmd_open)


def cmd_open(args: argparse.Namespace) -> int:
    """Handle ``twinbench open``: run the workbench until its window closes."""
    from app.main import main as workbench

    return workbench(args.project)
