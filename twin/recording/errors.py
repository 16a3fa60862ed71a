"""Errors raised by recordings, mapping files and importers.

Each names the file, the field, the value found and what to do about it, so that the CLI can
print the message as it is and the GUI can show it in a dialog.
"""

from __future__ import annotations

from twin.errors import InputError


class RecordingError(InputError):
    """A recording file that cannot be opened, read or written as a twinbench recording."""


class NeedsImportError(RecordingError):
    """Data given where a recording is wanted (a CSV or Parquet file): importing it makes
    one. The CLI and the workbench name different ways to import, so ``first`` holds the
    message up to the way (the CLI's command follows it in the message).

    Parameters
    ----------
    first : str
        The file and what it is, ending "import it first".
    how : str
        The CLI's way to import it, appended to the message.
    """

    def __init__(self, first: str, how: str):
        super().__init__(f"{first} {how}")
        self.first = first


class MappingError(RecordingError):
    """A mapping file that cannot be used.

    Parameters
    ----------
    file : str
        The mapping file (or ``"<mapping>"`` for a mapping given as a dict).
    path : str
        JSON path of the offending value, for example ``$.columns.time``.
    value : object
        The value found (``...`` when the key is missing).
    expected : str
        What was expected instead; this is the fix.
    """

    def __init__(self, file: str, path: str, value: object, expected: str) -> None:
        self.file = file
        self.path = path
        self.value = value
        self.expected = expected
        found = "missing" if value is ... else f"found {value!r}"
        super().__init__(f"{file}: {path}: {found}; expected {expected}")

    @classmethod
    def from_json(cls, exc) -> MappingError:
        """The mapping file's ``twin.jsonfile.JsonInputError`` (unreadable, invalid or
        unsafe JSON), with its own message."""
        err = cls(exc.file or "<mapping>", exc.path, exc.value, exc.message)
        err.args = (str(exc),)
        return err


class RecordingImportError(RecordingError):
    """Data that cannot be imported: a missing column, a bad row when bad rows must fail, ...

    Parameters
    ----------
    message : str
        What is wrong, naming the data file, the column, the row and the value, and the fix.
    report : ImportReport, optional
        The import report up to the point of failure.
    """

    def __init__(self, message: str, report: object | None = None) -> None:
        self.report = report
        super().__init__(message)


class RecordingFileError(RecordingError):
    """A recording whose content breaks the format: a link out of the file or in a loop, a
    dataset of the wrong shape or type, a value out of range, text that is not valid text.

    Parameters
    ----------
    file : str
        The recording file.
    where : str
        The HDF5 object (``/assets/M1/buckets``), with the field and the row when a value is
        at fault (``/assets/M1/buckets, field start, row 3``) or the attribute
        (``/assets/M1 attribute order``).
    value : object
        The value found (``...`` when there is none to show).
    fix : str
        What the value should be and what to do.
    """

    def __init__(self, file: str, where: str, value: object, fix: str) -> None:
        self.file = file
        self.where = where
        self.value = value
        self.fix = fix
        found = "" if value is ... else f": found {_short(value)}"
        super().__init__(f"{file}: {where}{found}; {fix}")


def _short(value: object, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."
