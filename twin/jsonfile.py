"""One reader discipline for every JSON document a user hands twinbench (project, mapping).

``json.loads`` alone accepts what no plant model means and what later code cannot survive:
``NaN`` and ``Infinity``, ``1e400`` (read as infinity), integers of thousands of digits,
arrays nested thousands deep (a ``RecursionError`` in any recursive walk, ``copy.deepcopy``
among them) and lone UTF-16 surrogates (``"\\ud800"``: valid JSON, not valid text, fails
the moment it is printed or written as UTF-8). :func:`parse` refuses each of them with a
:class:`JsonInputError` that names the file, the JSON path, the value and the fix; callers
turn it into their own error type (``ProjectError``, ``MappingError``), so a user sees one
kind of message whatever the document.

The limits are documented in ``docs/limits.md``.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from twin.errors import InputError

#: Deepest nesting of arrays and objects a document may have. Project files nest about 6
#: deep (elements -> element -> failures -> distribution -> values); 64 leaves room for
#: ``meta`` and ``x-`` fields while keeping every recursive walk far from Python's limit.
MAX_DEPTH = 64
#: Longest run of digits in an integer literal. 2**63 has 19 digits; larger integers are
#: refused by the field's own range check, so anything longer is a mistake (and Python
#: refuses integers of more than 4,300 digits with a message naming sys.set_int_max_str_digits).
MAX_INT_DIGITS = 40
#: Largest document read, in bytes (a 10,000-element project is about 4 MB).
MAX_BYTES = 64 * 1024 * 1024


class JsonInputError(InputError):
    """A JSON document that cannot be read: what, where (file and JSON path) and the fix.

    Attributes
    ----------
    file : str or None
    path : str
        JSON path of the offending value (``$`` for the whole document, or
        ``line L, column C`` for a syntax error).
    message : str
        What is wrong and what to do.
    value : object
        The offending value, ``...`` when there is none to show.
    """

    def __init__(self, path: str, message: str, value: object = ..., file: str | None = None):
        self.file, self.path, self.message, self.value = file, path, message, value
        shown = "" if value is ... else f" (found {_short(value)})"
        where = f"{file}: {path}" if file else path
        super().__init__(f"{where}: {message}{shown}")


def _short(value: object, limit: int = 60) -> str:
    text = ascii(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _constant(name: str):
    raise ValueError(f"{name} is not a number a plant model can use; write a finite number")


def _int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {digits} digits is out of any range twinbench accepts"
                         f" (at most {MAX_INT_DIGITS} digits)")
    return int(text)


def _float(text: str) -> float:
    v = float(text)
    if not math.isfinite(v):
        raise ValueError(f"{text[:40]} is too large for a number (beyond ±1.8e308); "
                         "write a finite number")
    return v


def parse(text: str, file: str | None = None) -> object:
    """Parse JSON text strictly.

    Parameters
    ----------
    text : str
        The document.
    file : str, optional
        Names the document in messages.

    Returns
    -------
    object
        The parsed document: only finite floats, integers of at most ``MAX_INT_DIGITS``
        digits, strings that are valid Unicode text, nesting at most ``MAX_DEPTH`` deep.

    Raises
    ------
    JsonInputError
        Naming the file, the place and the fix.
    """
    try:
        doc = json.loads(text, parse_constant=_constant, parse_int=_int, parse_float=_float)
    except json.JSONDecodeError as e:
        raise JsonInputError(f"line {e.lineno}, column {e.colno}", f"invalid JSON: {e.msg}",
                             file=file) from None
    except ValueError as e:  # raised by the hooks above, with their message
        raise JsonInputError("$", str(e), file=file) from None
    except RecursionError:
        raise JsonInputError("$", f"arrays or objects nested deeper than {MAX_DEPTH} levels; "
                             "flatten the document", file=file) from None
    check_tree(doc, file)
    return doc


def check_tree(doc: object, file: str | None = None, root: str = "$") -> None:
    """Check an already parsed document (from a file, the clipboard or an editor field) as
    :func:`parse` does: depth, finite numbers, valid text in keys and strings.

    The walk is iterative, so a document nested deeper than Python's recursion limit is
    reported, not crashed on. Raises :class:`JsonInputError`.
    """
    stack: list[tuple[object, str, int]] = [(doc, root, 0)]
    while stack:
        v, path, depth = stack.pop()
        if isinstance(v, dict | list):
            if depth >= MAX_DEPTH:
                raise JsonInputError(path, f"nested deeper than {MAX_DEPTH} levels; flatten "
                                     "the document", file=file)
            if isinstance(v, dict):
                for k, x in v.items():
                    if not isinstance(k, str):
                        raise JsonInputError(path, "object keys must be strings", k, file)
                    _check_text(k, f"{path}.{_key(k)}", file)
                    stack.append((x, f"{path}.{_key(k)}", depth + 1))
            else:
                stack.extend((x, f"{path}[{i}]", depth + 1) for i, x in enumerate(v))
        elif isinstance(v, str):
            _check_text(v, path, file)
        elif isinstance(v, float) and not math.isfinite(v):
            raise JsonInputError(path, "must be a finite number (NaN and Infinity are not "
                                 "numbers a plant model can use)", v, file)
        elif isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 10 ** MAX_INT_DIGITS:
            raise JsonInputError(path, f"an integer of more than {MAX_INT_DIGITS} digits is "
                                 "out of any range twinbench accepts", file=file)
        elif not (v is None or isinstance(v, bool | int | float)):
            raise JsonInputError(path, "is not a JSON value", type(v).__name__, file)


def _key(k: str) -> str:
    return k if k.isidentifier() else json.dumps(k, ensure_ascii=True)


def _check_text(s: str, path: str, file: str | None) -> None:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError as e:
        raise JsonInputError(path, f"is not valid text: a lone UTF-16 surrogate "
                             f"{s[e.start]!a} at character {e.start}; remove it or write "
                             "the whole character", file=file) from None


def read(path: str | os.PathLike, max_bytes: int = MAX_BYTES) -> object:
    """Read and :func:`parse` a JSON file (UTF-8, at most ``max_bytes``).

    Raises
    ------
    JsonInputError
        For a missing, unreadable, too large, non-UTF-8 or invalid file.
    """
    path = Path(path)
    file = str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise JsonInputError("$", f"the file is {size / 2**20:.1f} MiB, larger than the "
                                 f"{max_bytes / 2**20:.0f} MiB twinbench reads; is it the "
                                 "right file?", file=file)
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except FileNotFoundError:
        raise JsonInputError("$", "no such file; check the path", file=file) from None
    except IsADirectoryError:
        raise JsonInputError("$", "is a folder; give the path of a .json file", file=file) \
            from None
    except OSError as e:
        raise JsonInputError("$", f"cannot be read ({e.strerror or e})", file=file) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise JsonInputError("$", f"not UTF-8 text ({e.reason} at byte {e.start}); save it "
                             "as UTF-8", file=file) from None
    return parse(text, file)
