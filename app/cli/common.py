"""What every ``twinbench`` command shares: the progress bar, the table writer, number
formatting, and the one policy for errors and exit codes.

Exit codes (also in ``twinbench --help`` and the README):

- 0: done.
- 2: a user error: a ``twin.errors.InputError`` (a bad project, recording, mapping or data
  file, a bad option value, an output path that cannot be written) or a command line
  argparse refuses. One message on stderr, no traceback.
- 130: interrupted (Ctrl-C, or a task cancelled).
- 1: anything else, which is a bug in twinbench: the traceback and "please report it". Also
  a reader that went away (``twinbench run --json | head``), quietly, as Unix tools do.

The command modules (``run``, ``recording``, ``whatif``, ``open``) import this module and
never each other; ``app.cli`` imports them. No Qt here.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import io
import math
import os
import re
import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path

from twin.errors import InputError, printable
from twin.tasks import Cancelled

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USER = 2
EXIT_INTERRUPTED = 130

#: The epilog of ``twinbench --help``.
EXIT_CODES = """\
exit codes:
  0    done
  1    internal error: a bug in twinbench, printed with its traceback; please report it.
       Also when the reader of the output goes away (twinbench run --json | head)
  2    user error: a bad project, recording, mapping or data file, option value or
       output path; one message says what is wrong and how to fix it
  130  interrupted (Ctrl-C)
"""


class Parser(argparse.ArgumentParser):
    """The parser of ``twinbench`` and, as argparse makes subparsers of the parent's class,
    of each command: a value that begins with a minus and a digit (``--horizon -1h``,
    ``--warmup -5m``, ``--seed -3``) is the option's value, which its type then refuses
    with the range it expects. argparse's own rule takes only plain numbers (``-1``,
    ``-0.5``) as values and anything else starting with ``-`` as an unknown option, and
    said "expected one argument". No twinbench option is spelled like a negative number.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # argparse keeps the rule in this attribute (CPython 3.8 to 3.13)
        self._negative_number_matcher = re.compile(r"^-\.?\d")


class UsageError(InputError):
    """A command-line value that is wrong in a way argparse cannot see (``--asset``'s form,
    ``--to`` before ``--from``); the message names the option, the value and the form."""


class UserFileError(InputError):
    """A file the user named (or one written beside it) that the system would not read or
    write: missing, permission denied, disk full. The message names the path and the fix."""


_FIX = {
    errno.ENOENT: "check the path",
    errno.ENOTDIR: "check the path",
    errno.EISDIR: "give the path of a file, not a folder",
    errno.EACCES: "check its permissions or choose another path",
    errno.EPERM: "check its permissions or choose another path",
    errno.EROFS: "the disk is read-only; choose another path",
    errno.ENOSPC: "the disk is full; free some space or choose another disk",
    errno.EDQUOT: "the disk quota is used up; free some space or choose another disk",
}


def _is_users(filename: object, named: list[Path]) -> bool:
    """Whether ``filename`` is one of the ``named`` paths, lies inside one (a project
    folder), or beside one (the temporary file of an output written by rename)."""
    if not isinstance(filename, str | bytes | os.PathLike):
        return False
    file = Path(os.fsdecode(filename)).absolute()
    return any(file == p or p in file.parents or file.parent == p.parent for p in named)


@contextlib.contextmanager
def user_files(*paths: str | os.PathLike | None) -> Iterator[None]:
    """Turn an ``OSError`` about one of the files the user named into a
    :class:`UserFileError` naming the path; any other ``OSError`` is not the user's and goes
    on (to be reported as the bug it is).

    Parameters
    ----------
    *paths : path-like or None
        The files and folders the command was given (``None``: an option not given).
    """
    named = [Path(p).absolute() for p in paths if p is not None]
    try:
        yield
    except OSError as exc:
        culprit = next((f for f in (exc.filename, exc.filename2) if _is_users(f, named)), None)
        if culprit is None:
            raise
        fix = _FIX.get(exc.errno, "check the path")
        raise UserFileError(f"{os.fsdecode(culprit)}: {exc.strerror or exc}; {fix}") from exc


class ProgressBar:
    """The one progress bar: a line on stderr, redrawn in place on a terminal, one line per
    10 % otherwise. Nothing is shown for work that ends within ``GRACE_S``.

    A callable taking the percent done, as ``twin.tasks.TaskState`` expects; use it as a
    context manager so that the line is ended however the work ends (an error message then
    starts on a line of its own).
    """

    #: Seconds before the first draw: a fast command prints no bar at all.
    GRACE_S = 0.5

    def __init__(self, label: str, stream=None, enabled: bool = True):
        self.label, self.enabled = label, enabled
        self.stream = sys.stderr if stream is None else stream
        self.tty = self.stream.isatty()
        self.last = -1.0
        self.t0 = time.perf_counter()

    def __call__(self, value: float) -> None:
        if not self.enabled or time.perf_counter() - self.t0 < self.GRACE_S:
            return
        step = 1.0 if self.tty else 10.0
        if value - self.last < step and value < 100:
            return
        self.last = value
        width = 30
        fill = int(width * value / 100)
        line = f"{self.label} [{'#' * fill}{'.' * (width - fill)}] {value:5.1f}%"
        self.stream.write(("\r" + line) if self.tty else line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.tty and self.last >= 0:
            self.stream.write("\n")
            self.last = -1.0

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, left: int = 1,
                 widths: Sequence[int] = (), indent: str = "", rule: bool = False) -> str:
    """The one table writer: columns two spaces apart, each as wide as its widest cell (and
    at least ``widths[i]``), so that a long number never runs into its neighbour.

    Parameters
    ----------
    header, rows : sequences of str
        The cells, already formatted (and escaped with ``printable`` where they come from a
        file).
    left : int
        How many columns, from the first, are left-aligned; the others are right-aligned.
    widths : sequence of int
        Least width of each column.
    indent : str
        Put before every line.
    rule : bool
        A line of dashes under the header.

    Returns
    -------
    str
        The lines, without a final newline.
    """
    least = list(widths) + [0] * (len(header) - len(widths))
    cols = [max(least[i], len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        return (indent + "  ".join(c.ljust(w) if i < left else c.rjust(w)
                                   for i, (c, w) in enumerate(zip(cells, cols, strict=True)))
                ).rstrip()

    head = line(header)
    body = [line(r) for r in rows]
    return "\n".join([head, *(["-" * len(head)] if rule else []), *body])


def number(value: float | None, scale: float = 1.0, digits: int = 1) -> str:
    """``value / scale`` with thousands separators, ``-`` for no value."""
    return "-" if value is None else f"{value / scale:,.{digits}f}"


def percent(value: float | None) -> str:
    """A fraction as a percentage with one decimal, ``-`` for no value."""
    return "-" if value is None else f"{100 * value:.1f}%"


def count(n: int, word: str) -> str:
    """``1 station``, ``3 stations``."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def json_safe(obj):
    """``obj`` with NaN and infinities as ``None`` (JSON has neither; ``--json`` prints
    ``null``)."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def run_command(args) -> int:
    """Run the parsed command ``args.func(args)`` under the one error policy; return the
    exit code (see the module's docstring).

    A command may set ``if_interrupted`` (a function of ``args``) to say what an interrupt
    left undone ("out.h5 was not written").
    """
    who = f"twinbench {args.command or 'open'}"
    try:
        return args.func(args)
    except InputError as exc:  # names ids from files: escaped (twin.errors.printable)
        _tell(f"{who}: error: {printable(exc, newlines=True)}")
        return EXIT_USER
    except (Cancelled, KeyboardInterrupt):
        note = getattr(args, "if_interrupted", None)
        _tell(f"{who}: interrupted" + (f"; {printable(note(args))}" if note else ""))
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader went away (`| head`): stop quietly, and keep Python from complaining
        # when it flushes standard output at exit
        with contextlib.suppress(io.UnsupportedOperation):  # not a real file (a test's)
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_INTERNAL
    except Exception:
        _tell(printable(traceback.format_exc(), newlines=True).rstrip())
        _tell(f"{who}: internal error, please report it with the traceback above")
        return EXIT_INTERNAL


def _tell(text: str) -> None:
    sys.stdout.flush()  # what the command printed comes first
    print(text, file=sys.stderr)


def output_file(path: str | os.PathLike, force: bool, reads: Sequence[str | os.PathLike] = (),
                option: str = "--out") -> None:
    """Refuse an output ``path`` that is one of the files the command ``reads`` (even with
    ``--force``: writing the results over the project or the data being read loses it), or
    that exists while ``force`` is off."""
    out = Path(path)
    for source in reads:
        with contextlib.suppress(OSError):  # a source that is not there is named elsewhere
            if out.exists() and out.samefile(source):
                raise InputError(f"{path}: is the file this command reads; choose another "
                                 f"{option}")
    if os.path.lexists(out) and not out.is_dir() and not force:  # a folder: named elsewhere
        raise InputError(f"{path}: exists; choose another {option}, or add --force to "
                         "overwrite it")


# --- option values (argparse types shared by the commands) ----------------------------------
def duration_arg(text: str, lo: float = 0.0, lo_open: bool = False,
              hi: float | None = None) -> float:
    """A duration in seconds within ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``); the
    default ``hi`` is the longest horizon (``twin.limits.MAX_HORIZON_S``)."""
    from twin.limits import MAX_HORIZON_S
    from twin.units import format_duration, parse_duration

    hi = MAX_HORIZON_S if hi is None else hi
    bounds = (f"a duration {'>' if lo_open else '>='} {format_duration(lo)} and at most "
              f"{format_duration(hi)} ({hi:g} s)")
    try:
        v = parse_duration(text)
    except ValueError as e:
        if text.strip().startswith("-"):  # "-1h": the unit's form is fine, the sign is not
            with contextlib.suppress(ValueError):
                parse_duration(text.strip()[1:])
                raise argparse.ArgumentTypeError(
                    f"a duration cannot be negative: expected {bounds}, got {text!r}") from None
        raise argparse.ArgumentTypeError(str(e)) from None
    if v < lo or (lo_open and v == lo) or v > hi:
        raise argparse.ArgumentTypeError(f"expected {bounds}, got {text!r}")
    return v


def horizon_arg(text: str) -> float:
    return duration_arg(text, lo_open=True)


def whole_arg(text: str, lo: int, hi: int) -> int:
    try:
        v = int(text)
    except ValueError:
        v = None
    if v is None or not lo <= v <= hi:
        raise argparse.ArgumentTypeError(f"expected a whole number >= {lo:,} and <= {hi:,}, "
                                         f"got {text!r}")
    return v


def replications_arg(text: str) -> int:
    from twin.limits import MAX_REPLICATIONS

    return whole_arg(text, 1, MAX_REPLICATIONS)


def seed_arg(text: str) -> int:
    from twin.limits import MAX_SEED

    return whole_arg(text, 0, MAX_SEED)
