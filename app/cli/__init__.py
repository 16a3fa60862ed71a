"""The ``twinbench`` command: the workbench with no arguments, headless runs otherwise.

One module per group of commands, each adding its subcommands to the parser built here:
``run`` (``run``, ``check``), ``recording`` (``import``, ``replay``), ``whatif`` (``fork``,
``calibrate``), ``live`` (following a plant), ``emulate`` (the twin as a virtual plant),
``study`` (every design point of an experiment, issue 17), ``optimize`` (``optimize``,
``sensitivity``: the best design and which factors matter) and
``open`` (the workbench, the only one that reaches Qt). They share ``common`` (progress bar,
tables, the error policy; ``study_common``: the experiment arguments, executor and JSON
output of ``study``, ``optimize`` and ``sensitivity``) and import neither each other nor
this module. Headless commands
import no Qt, so ``twinbench run`` starts fast on a machine without a display.

Exit codes: 0 done, 2 a user error (one message, no traceback), 130 interrupted, 1 an
internal error (with its traceback); see ``app.cli.common``.
"""

from __future__ import annotations

import argparse

from app.cli import common, emulate, live, optimize, recording, run, study, whatif
from app.cli import open as workbench

__all__ = ["build_parser", "main"]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("twinbench")
    except PackageNotFoundError:  # run from a source tree that was never installed
        from kernels import __version__

        return __version__


def build_parser() -> argparse.ArgumentParser:
    """The ``twinbench`` parser with every subcommand; each sets ``func`` to its handler."""
    p = common.Parser(
        prog="twinbench",
        description="Digital-twin workbench for production lines. With no command, opens the\n"
                    "workbench on the most recent project.",
        epilog=common.EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"twinbench {_version()}")
    sub = p.add_subparsers(dest="command")
    run.add_commands(sub)
    workbench.add_commands(sub)
    recording.add_commands(sub)
    whatif.add_commands(sub)
    live.add_commands(sub)
    emulate.add_commands(sub)
    study.add_commands(sub)
    optimize.add_commands(sub)
    p.commands = sub.choices  # each command's parser, for its own usage in an error
    return p


def _parse(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """``parser.parse_args``, but an unknown argument after a command is refused by that
    command's parser: argparse refused it with the top-level usage (every command, none of
    the options) and "twinbench: error", as if the command had not been read."""
    args, extra = parser.parse_known_args(argv)
    if extra:
        command = getattr(args, "command", None)
        target = parser.commands.get(command, parser) if command else parser
        where = f"twinbench {command} --help` lists its options" if command else \
            "twinbench --help` lists the commands"
        target.error(f"unrecognized arguments: {' '.join(extra)}; `{where}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run ``twinbench`` with ``argv`` (default: the process's arguments); return the exit
    code: 0 done, 1 internal error, 2 user error, 130 interrupted."""
    from twin.safeio import exit_on_sigterm

    parser = build_parser()
    try:
        args = _parse(parser, argv)
    except SystemExit as done:  # --help, --version, or a command line argparse refused (2)
        return done.code if isinstance(done.code, int) else int(done.code is not None)
    if args.command is None:
        args.project = None
        args.func = workbench.cmd_open
    if args.func is not workbench.cmd_open:  # the workbench's Qt loop would hold it back
        exit_on_sigterm()  # a terminated run or import removes its temporary file
    return common.run_command(args)
