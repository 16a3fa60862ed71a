"""One reader discipline for the HDF5 files a user hands twinbench.

h5py reads whatever a file says: an external link opens another file, a soft link may point
anywhere or at itself (``RuntimeError: too many links``), a dataset may be a scalar, a 2-D
array or a virtual dataset mapping other files, an attribute may be bytes where a number is
expected (``could not convert string to float``). :class:`H5Reader` reads only what the
recording format allows and turns everything else into a
:class:`~twin.recording.errors.RecordingFileError` naming the file, the object (and field,
record or attribute), the value and the fix:

* **links**: hard links are followed; a soft link only to an object in the expected group
  (the asset's group for its datasets, ``/assets`` for asset groups), at most
  :data:`MAX_HOPS` hops and never in a loop; external and user-defined links never (a
  recording is one self-contained file);
* **datasets**: contiguous or chunked data in this file (no virtual datasets, no external
  raw storage), one-dimensional, a compound type holding the expected fields with numeric
  types; integer fields must fit the stored type before they are cast;
* **attributes**: text is a UTF-8 string without NUL characters; numbers are numbers in
  the stated range; JSON text goes through the strict reader :mod:`twin.jsonfile`;
* **labels**: fixed or variable-length strings, valid UTF-8, no embedded NUL.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, NoReturn

import h5py
import numpy as np

from twin import jsonfile
from twin.recording.errors import RecordingFileError

#: Soft links followed in a row before the chain is refused (the writer makes none).
MAX_HOPS = 8
DAMAGED = "the file is damaged or was not written by twinbench: re-import the data"


def _parent(path: str) -> str:
    head = path.rstrip("/").rsplit("/", 1)[0]
    return head or "/"


def _join(group: str, name: str) -> str:
    return f"{group.rstrip('/')}/{name}"


class H5Reader:
    """Checked access to an open HDF5 file.

    Parameters
    ----------
    f : h5py.File
        The open file.
    path : path-like
        Its path, for messages.
    """

    def __init__(self, f: h5py.File, path: str | Path) -> None:
        self.f = f
        self.file = str(path)

    def fail(self, where: str, value: object, fix: str) -> NoReturn:
        """Raise :class:`RecordingFileError` for this file."""
        raise RecordingFileError(self.file, where, value, fix)

    # -- links ----------------------------------------------------------------------------

    def names(self, group: h5py.Group) -> list[str]:
        """Names of the links in ``group`` (no link is followed to list them)."""
        try:
            return list(group)
        except (OSError, RuntimeError, KeyError, ValueError, UnicodeDecodeError) as exc:
            self.fail(group.name, ..., f"cannot list its members ({exc}); {DAMAGED}")

    def child(self, group: h5py.Group, name: str, place: str | None = None) -> Any | None:
        """The object linked as ``name`` in ``group``, or None when there is no such link.

        Parameters
        ----------
        group : h5py.Group
        name : str
            One path component.
        place : str, optional
            The HDF5 group a soft link may point into (default: ``group`` itself).
        """
        place = place or group.name
        path = _join(group.name, name)
        seen: list[str] = []
        while True:
            try:
                link = self.f.get(path, getlink=True)
            except (OSError, RuntimeError, KeyError, ValueError) as exc:
                self.fail(path, ..., f"the link cannot be read ({exc}); {DAMAGED}")
            if link is None:
                if not seen:
                    return None
                self.fail(seen[0], path, "a soft link to an object that exists; remove the "
                                         f"link or re-import the data ({DAMAGED})")
            if isinstance(link, h5py.HardLink):
                try:
                    return self.f[path]
                except (OSError, RuntimeError, KeyError, ValueError) as exc:
                    self.fail(path, ..., f"cannot be opened ({exc}); {DAMAGED}")
            if isinstance(link, h5py.ExternalLink):
                self.fail(path, f"external link to {link.filename}:{link.path}",
                          "an object stored in this file; recordings are self-contained and "
                          "twinbench follows no link into another file: copy the data into "
                          "the recording (h5copy) or re-import it")
            if not isinstance(link, h5py.SoftLink):
                self.fail(path, type(link).__name__,
                          "a hard link; user-defined links are not followed")
            target = link.path if link.path.startswith("/") else _join(_parent(path), link.path)
            seen.append(path)
            if target in seen:
                self.fail(seen[0], " -> ".join([*seen, target]),
                          "no soft link loop: remove the link or re-import the data")
            if _parent(target) != (place.rstrip("/") or "/"):
                self.fail(seen[0], f"soft link to {target}",
                          f"an object in {place} (a soft link may not point elsewhere); "
                          "remove the link or re-import the data")
            if len(seen) > MAX_HOPS:
                self.fail(seen[0], " -> ".join(seen),
                          f"at most {MAX_HOPS} soft links in a row; remove the chain")
            path = target

    def group(self, parent: h5py.Group, name: str, place: str | None = None) -> h5py.Group | None:
        """:meth:`child`, which must be a group when it exists."""
        obj = self.child(parent, name, place)
        if obj is not None and not isinstance(obj, h5py.Group):
            self.fail(_join(parent.name, name), type(obj).__name__, f"a group; {DAMAGED}")
        return obj

    def dataset(self, parent: h5py.Group, name: str,
                place: str | None = None) -> h5py.Dataset | None:
        """:meth:`child`, which must be a dataset whose data lies in this file."""
        obj = self.child(parent, name, place)
        if obj is None:
            return None
        where = _join(parent.name, name)
        if not isinstance(obj, h5py.Dataset):
            self.fail(where, type(obj).__name__, f"a dataset; {DAMAGED}")
        if obj.is_virtual:
            self.fail(where, "a virtual dataset", "data stored in this file; twinbench reads "
                      "no data mapped from other files: re-import the data")
        if obj.external:
            self.fail(where, f"raw data in {[e[0] for e in obj.external]}",
                      "data stored in this file; re-import the data")
        return obj

    # -- attributes -----------------------------------------------------------------------

    def _attr(self, obj: h5py.HLObject, key: str) -> Any:
        try:
            value = obj.attrs[key]
        except KeyError:
            return ...
        except (OSError, RuntimeError, TypeError, ValueError, UnicodeDecodeError) as exc:
            self.fail(f"{obj.name} attribute {key}", ..., f"a readable attribute ({exc}); "
                      f"{DAMAGED}")
        if isinstance(value, np.ndarray) and value.shape == ():
            value = value[()]
        return value

    def text(self, obj: h5py.HLObject, key: str, default: str | None = None) -> str:
        """A text attribute: UTF-8, no NUL characters; ``default`` when absent (or an error
        when ``default`` is None)."""
        where = f"{obj.name} attribute {key}"
        value = self._attr(obj, key)
        if value is ...:
            if default is None:
                self.fail(where, ..., f"a text attribute, which is missing; {DAMAGED}")
            return default
        if isinstance(value, bytes):
            try:
                value = value.decode("utf-8")
            except UnicodeDecodeError:
                self.fail(where, value, "valid UTF-8 text; correct the attribute or "
                                        "re-import the data")
        if not isinstance(value, str):
            self.fail(where, value, f"text; {DAMAGED}")
        if "\x00" in value:
            self.fail(where, value, "text without NUL characters; correct the attribute or "
                                    "re-import the data")
        return value

    def number(self, obj: h5py.HLObject, key: str, default: float | None, *,
               integer: bool = False, lo: float = -math.inf, hi: float = math.inf,
               nan: bool = False, meaning: str = "") -> float | int | None:
        """A numeric attribute in ``[lo, hi]`` (NaN allowed when ``nan``); ``default`` when
        absent. ``meaning`` says what the number is, for the message."""
        where = f"{obj.name} attribute {key}"
        value = self._attr(obj, key)
        if value is ...:
            return default
        kind = "an integer" if integer else "a number"
        expected = f"{kind} from {lo:g} to {hi:g}" + (" or NaN" if nan else "")
        expected += f" ({meaning})" if meaning else ""
        if isinstance(value, bool | np.bool_) or not isinstance(
                value, int | float | np.integer | np.floating):
            self.fail(where, value, f"{expected}; {DAMAGED}")
        if integer:
            if isinstance(value, float | np.floating) and not float(value).is_integer():
                self.fail(where, value, f"{expected}; {DAMAGED}")
            if isinstance(value, float | np.floating) and not math.isfinite(value):
                self.fail(where, value, f"{expected}; {DAMAGED}")
            out = int(value)
        else:
            out = float(value)
            if math.isnan(out):
                if nan:
                    return out
                self.fail(where, value, f"{expected}; {DAMAGED}")
        if not lo <= out <= hi:
            self.fail(where, value, f"{expected}; {DAMAGED}")
        return out

    def json(self, obj: h5py.HLObject, key: str) -> Any:
        """A JSON text attribute read by the strict reader; None when absent."""
        text = self.text(obj, key, default="\x00")
        if text == "\x00":
            return None
        try:
            return jsonfile.parse(text)
        except jsonfile.JsonInputError as exc:
            self.fail(f"{obj.name} attribute {key}", ..., f"valid JSON ({exc}); {DAMAGED}")

    # -- data -----------------------------------------------------------------------------

    def records(self, ds: h5py.Dataset, dtype: np.dtype) -> np.ndarray:
        """Read a table of records as ``dtype``, checking shape, fields and integer ranges.

        Float fields are returned as stored (NaN included: each caller knows which fields
        may hold it); integer fields must be integers that fit ``dtype``.
        """
        where = ds.name
        if ds.shape is None or len(ds.shape) != 1:
            shown = "a scalar" if ds.shape == () else f"shape {ds.shape}"
            self.fail(where, shown, f"a one-dimensional table of records; {DAMAGED}")
        stored = ds.dtype  # an h5py property that builds the type each time: read it once
        names = stored.names or ()
        missing = [n for n in dtype.names if n not in names]
        if missing:
            self.fail(where, f"fields {list(names)}",
                      f"a table with the fields {list(dtype.names)}; {DAMAGED}")
        for n in dtype.names:
            kind = stored[n].kind
            allowed = "iu" if dtype[n].kind in "iu" else "iuf"
            if kind not in allowed:
                self.fail(f"{where}, field {n}", str(stored[n]),
                          f"{'integers' if allowed == 'iu' else 'numbers'}; {DAMAGED}")
        try:
            raw = ds[()]
        except (OSError, RuntimeError, TypeError, ValueError) as exc:
            self.fail(where, ..., f"readable data ({exc}); {DAMAGED}")
        out = np.empty(len(raw), dtype)
        for n in dtype.names:
            col = raw[n]
            if dtype[n].kind in "iu" and col.dtype != dtype[n]:  # the writer's type fits
                info = np.iinfo(dtype[n])
                self.check(where, n, col, (col >= info.min) & (col <= info.max),
                           f"an integer from {info.min} to {info.max}")
            out[n] = col
        return out

    def check(self, where: str, field: str, values: np.ndarray, ok: np.ndarray,
              expected: str) -> None:
        """Refuse the first record whose ``field`` is not ``ok``, naming it and its value."""
        bad = np.flatnonzero(~np.asarray(ok, bool))
        if len(bad):
            i = int(bad[0])
            value = values[i].item() if hasattr(values[i], "item") else values[i]
            more = f" ({len(bad)} such records)" if len(bad) > 1 else ""
            self.fail(f"{where}, field {field}, record {i} (counting from 0){more}", value,
                      f"{expected}; {DAMAGED}")

    def labels(self, ds: h5py.Dataset) -> tuple[str, ...]:
        """A one-dimensional dataset of strings: valid UTF-8 without NUL characters."""
        where = ds.name
        if ds.shape is None or len(ds.shape) != 1 or ds.dtype.kind not in "SOU":
            self.fail(where, f"{ds.dtype} of shape {ds.shape}",
                      f"a one-dimensional dataset of strings; {DAMAGED}")
        try:
            raw = ds[()]
        except (OSError, RuntimeError, TypeError, ValueError, UnicodeDecodeError) as exc:
            self.fail(where, ..., f"readable strings ({exc}); {DAMAGED}")
        out = []
        for i, value in enumerate(raw.tolist()):
            if isinstance(value, bytes):
                try:
                    value = value.decode("utf-8")
                except UnicodeDecodeError:
                    self.fail(f"{where}, record {i} (counting from 0)", value,
                              f"valid UTF-8 text; {DAMAGED}")
            if not isinstance(value, str) or "\x00" in value:
                self.fail(f"{where}, record {i} (counting from 0)", value,
                          f"text without NUL characters; {DAMAGED}")
            out.append(value)
        return tuple(out)
