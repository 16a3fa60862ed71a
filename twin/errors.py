"""Errors a user can cause, each naming what is wrong and how to fix it."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

# messages name times with the workbench's one formatter (re-exported: the readers' import)
from twin.units import seconds_text  # noqa: F401


class InputError(ValueError):
    """Base of every error a user's input can cause: a project, mapping, recording or data
    file, a command-line value. Its message names the file, the place, the value and the
    fix; the CLI prints it and exits 2, the workbench shows it. Anything else that escapes
    is a bug in twinbench and is reported with its traceback."""


class NotFoundError(InputError, KeyError):
    """A name the user gave (a scenario) that the project does not have; the message lists
    those it has. Still a ``KeyError`` for callers that look names up, but shown as its
    message, not as a quoted key."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class OutputPathError(InputError):
    """A file the user asked for (results, a recording) that cannot be written where they
    asked: the message names the path and why."""


# What a terminal would obey rather than show: C0 controls (escape sequences, carriage
# return, backspace), DEL, C1 controls, and the bidirectional overrides, embeddings,
# isolates and marks that reorder what follows them (CVE-2021-42574, "Trojan Source"),
# and the line and paragraph separators.
_BIDI_AND_SEPARATORS = "\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_UNSAFE_CHAR = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI_AND_SEPARATORS}]")
_UNSAFE_BUT_NEWLINE = re.compile(f"[\x00-\x09\x0b-\x1f\x7f-\x9f{_BIDI_AND_SEPARATORS}]")


def _escaped(found: re.Match) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object, newlines: bool = False) -> str:
    """``text`` as it may be printed to a terminal or log: every control character, and
    every character that reorders the text around it, is shown as an escape (``\\x1b``,
    ``\\u202e``) instead of acting.

    Ids, names, paths and values come from files anyone may have written; printed raw, an
    id holding ``\\x1b[2J`` would clear the user's screen and one holding ``\\r`` or
    ``\\u202e`` would hide or reorder a message. Every name the CLI prints and every
    :class:`Problem` goes through here. ``newlines`` keeps line breaks (a message of
    several lines whose names were escaped already). Printable text, and so what this
    function returns, comes back unchanged.

    Parameters
    ----------
    text : object
        What to show; not a string, its ``str()``.
    newlines : bool
        Keep ``\\n`` as a line break.
    """
    pattern = _UNSAFE_BUT_NEWLINE if newlines else _UNSAFE_CHAR
    return pattern.sub(_escaped, str(text))


class Seconds(float):
    """A value in seconds that a :class:`Problem` shows as ``(found 172800 s = 48 h)``."""

    def __repr__(self) -> str:
        return seconds_text(self)


def as_seconds(value):
    """``value`` as :class:`Seconds` when it is a number (as typed, a "30h" stays text)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Seconds(value)
    return value


@dataclass(frozen=True)
class Problem:
    """One problem found in a project: where it is, what was found and what was expected.

    Parameters
    ----------
    path : str
        JSON path of the offending value, for example ``$.elements[2].process_time.mean``.
    message : str
        What is wrong and what was expected.
    value : object
        The value found (``...`` when there is none to show).
    """

    path: str
    message: str
    value: object = ...

    def format(self, file: str | None = None) -> str:
        """One line: file, JSON path, message and value, with every control character
        escaped (:func:`printable`), so that a name in a file cannot act on a terminal."""
        where = f"{file}: {self.path}" if file else self.path
        shown = "" if self.value is ... else f" (found {self.value!r})"
        return printable(f"{where}: {self.message}{shown}")


class ProjectError(InputError):
    """A project that cannot be loaded or simulated; lists every problem found, not the first."""

    def __init__(self, problems: list[Problem], file: str | None = None, *,
                 what: str | None = None):
        # ``file``: a file, named on every line (``file: $.path: …``, as a compiler names
        # it, for an editor to jump to); ``what``: the source when it is no file ("the run
        # settings"), named once, in the head: "in the run settings: … - the run settings:
        # warmup: …" named it twice (polish2 §4)
        self.problems = list(problems)
        self.file = file
        lines = [p.format(file) for p in self.problems]
        if file and len(self.problems) == 1 and self.problems[0].path == "$":
            # the whole file (missing, not JSON): one line naming it once, not a list under
            # "1 problem in FILE:" whose line names FILE again
            only = self.problems[0]
            super().__init__(Problem(file, only.message, only.value).format())
            return
        if what and not file and len(self.problems) == 1:
            # one line, as the status bar shows a message's first line: "the run settings:
            # warmup: must be …", the field and its fix in sight, not under "1 problem in"
            super().__init__(f"{what}: {lines[0]}")
            return
        source = file or what or "the project"
        head = f"{len(lines)} problem{'s' if len(lines) != 1 else ''} in {source}:"
        super().__init__("\n".join([head, *("  - " + line for line in lines)]))

    def __reduce__(self):
        # raised in a worker process (a design point of a study), it crosses back by pickle:
        # rebuilt as it is, not by calling __init__ with the message as the problem list
        return _restore, (type(self), self.args, self.__dict__)


def _restore(cls: type, args: tuple, state: dict) -> Exception:
    """An exception of ``cls`` with ``args`` and ``state``, without its ``__init__``."""
    e = cls.__new__(cls)
    Exception.__init__(e, *args)
    e.__dict__.update(state)
    return e


class Problems:
    """Collects problems while a document is read, so that all of them can be reported."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, path: str, message: str, value: object = ...) -> None:
        self.items.append(Problem(path, message, value))

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self, file: str | None = None, *, what: str | None = None) -> None:
        """Raise a ``ProjectError`` of the problems: ``file`` names a file (on each line),
        ``what`` a source that is none ("the run settings", in the head alone)."""
        if self.items:
            raise ProjectError(self.items, file, what=what)


def unwritable(path: str | os.PathLike) -> str | None:
    """Why a new file cannot be written at ``path`` (a folder, a missing or read-only
    folder), or None. Output files (results, recordings) are checked before the work that
    fills them, not after it."""
    path = Path(path)
    if path.is_dir():
        return f"{path}: is a folder; give the path of a file in it"
    folder = path.parent
    if not folder.is_dir():
        return f"{path}: the folder {folder} does not exist; create it or choose another path"
    if not os.access(folder, os.W_OK):
        return f"{path}: the folder {folder} is not writable; choose another path"
    # the permission bits do not tell it all: root may "write" /proc, a read-only or special
    # file system refuses a new file only when one is made. Make one as the writer will (a
    # temporary file beside the target) and remove it: `run --out /proc/x.h5` ran the whole
    # simulation and then refused the path (newfix3 §4). The probe is one of safeio's
    # temporary files, so a kill between making and removing it leaves nothing for good
    from twin import safeio

    try:
        safeio.probe(path)
    except OSError as e:
        return (f"{path}: a file cannot be made in {folder} ({e.strerror or e}); choose a "
                "path in an ordinary, writable folder")
    return None

