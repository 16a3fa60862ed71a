"""The study file: every finished design point in HDF5 as it completes, so a study resumes.

Layout (``schema_version`` 1, units as attributes)::

    /                  attrs: format "twinbench-study", schema_version, experiment (its
                       project.json form), project (the project document, for provenance),
                       fingerprint (SHA-256 of both), horizon_s, warmup_s, created
    /factors           float64 (points, factors): the design; attr names (JSON list)
    /kpis              float64 (points, responses, replications cap), NaN where not run;
                       attr names (JSON list): every KPI of a run, budget, cost, profit
    /replications      int32 (points,): replications stored per point
    /done              uint8 (points,): 1 once the point is final

Why it survives ``kill -9``: the file is made whole (every dataset allocated, contiguous,
filled) in a temporary file renamed into place, and closed; afterwards a study only writes
raw values at fixed offsets, never HDF5 metadata, so a kill mid-write cannot break the
file's structure. A point's values are written and flushed before its ``done`` flag, so a
point is either done with all its values or not done (and run again on resume). The file
is written with the default (oldest) HDF5 format, whose superblock carries no "open for
writing" flag that a killed writer would leave set.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import h5py
import numpy as np

from twin.errors import InputError, unwritable

FORMAT = "twinbench-study"
SCHEMA_VERSION = 1


class StudyFileError(InputError):
    """A study file that cannot be created, resumed or read (the message says why)."""


def fingerprint(experiment_json: dict, project_doc: dict) -> str:
    """SHA-256 of the experiment and project as JSON: a resumed study must match both."""
    text = json.dumps([experiment_json, project_doc], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


class StudyFile:
    """An open study file. Create with :meth:`create`, continue with :meth:`resume`, read
    with :meth:`read`; :meth:`write_point` stores one finished point."""

    def __init__(self, path: Path, f: h5py.File):
        self.path, self.f = path, f
        self.names: list[str] = json.loads(f["kpis"].attrs["names"])
        self.column = {n: k for k, n in enumerate(self.names)}

    # --- making and opening ---------------------------------------------------------------
    @classmethod
    def create(cls, path: str | os.PathLike, experiment_json: dict, project_doc: dict,
               factor_names: Sequence[str], points: Sequence[Mapping[str, float]],
               names: Sequence[str], cap: int, horizon: float, warmup: float,
               overwrite: bool = False) -> StudyFile:
        """Make a new study file (whole, through a temporary file) and open it to write.

        Raises
        ------
        StudyFileError
            The file exists (and not ``overwrite``), or cannot be written there.
        """
        path = Path(path)
        if path.exists() and not overwrite:
            raise StudyFileError(f"{path}: exists already; continue that study with --resume, "
                                 "or start again with --overwrite (its results are lost)")
        why = unwritable(path) if not path.exists() else None
        if why:
            raise StudyFileError(why)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        n = len(points)
        try:
            with h5py.File(tmp, "w") as f:
                f.attrs["format"] = FORMAT
                f.attrs["schema_version"] = SCHEMA_VERSION
                f.attrs["experiment"] = json.dumps(experiment_json, ensure_ascii=False)
                f.attrs["project"] = json.dumps(project_doc, ensure_ascii=False)
                f.attrs["fingerprint"] = fingerprint(experiment_json, project_doc)
                f.attrs["horizon_s"] = float(horizon)
                f.attrs["warmup_s"] = float(warmup)
                f.attrs["created"] = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
                design = np.array([[p[k] for k in factor_names] for p in points], float)
                d = f.create_dataset("factors", data=design.reshape(n, len(factor_names)))
                d.attrs["names"] = json.dumps(list(factor_names))
                k = f.create_dataset("kpis", (n, len(names), cap), float, fillvalue=np.nan)
                k.attrs["names"] = json.dumps(list(names))
                k[...] = np.nan  # allocated now: later writes touch no metadata
                f.create_dataset("replications", data=np.zeros(n, np.int32))
                f.create_dataset("done", data=np.zeros(n, np.uint8))
            os.replace(tmp, path)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise StudyFileError(f"{path}: cannot write the study file: {e}") from None
        return cls(path, h5py.File(path, "r+"))

    @classmethod
    def resume(cls, path: str | os.PathLike, experiment_json: dict, project_doc: dict,
               points: Sequence[Mapping[str, float]]) -> StudyFile:
        """Open a study file to continue it; it must be of this experiment and project.

        Raises
        ------
        StudyFileError
            No such file, not a study file, or one of another experiment or project (or an
            edited one: its design would differ).
        """
        path = Path(path)
        if not path.exists():
            raise StudyFileError(f"{path}: no such study file to resume; drop --resume to "
                                 "start the study")
        f = cls._open(path, "r+")
        if f.attrs.get("fingerprint") != fingerprint(experiment_json, project_doc):
            f.close()
            raise StudyFileError(
                f"{path}: was made for another experiment or another version of the project "
                "(a factor, a response or the plant changed since): start a new study with "
                "another --out, or --overwrite this one")
        design = f["factors"][...]
        names = json.loads(f["factors"].attrs["names"])
        want = np.array([[p[k] for k in names] for p in points], float).reshape(design.shape)
        if not np.array_equal(design, want):  # pragma: no cover - the fingerprint covers it
            f.close()
            raise StudyFileError(f"{path}: its design points differ from the experiment's")
        return cls(path, f)

    @classmethod
    def read(cls, path: str | os.PathLike) -> StudyFile:
        """Open a study file to read it."""
        return cls(Path(path), cls._open(Path(path), "r"))

    @staticmethod
    def _open(path: Path, mode: str) -> h5py.File:
        try:
            f = h5py.File(path, mode)
        except OSError as e:
            raise StudyFileError(f"{path}: not a readable study file ({e})") from None
        if f.attrs.get("format") != FORMAT:
            f.close()
            raise StudyFileError(f"{path}: not a twinbench study file")
        if int(f.attrs.get("schema_version", 0)) > SCHEMA_VERSION:
            f.close()
            raise StudyFileError(f"{path}: written by a newer twinbench; update to read it")
        return f

    # --- contents ----------------------------------------------------------------------------
    @property
    def done(self) -> np.ndarray:
        """Bool per point: final and stored."""
        return self.f["done"][...].astype(bool)

    @property
    def cap(self) -> int:
        return int(self.f["kpis"].shape[2])

    def write_point(self, i: int, responses: Mapping[str, np.ndarray]) -> None:
        """Store point ``i``'s per-replication values and mark it done (values first)."""
        n = len(next(iter(responses.values())))
        row = np.full((len(self.names), self.cap), np.nan)
        for name, values in responses.items():
            k = self.column.get(name)
            if k is not None:
                row[k, :n] = values
        self.f["kpis"][i] = row
        self.f["replications"][i] = n
        self.f.flush()
        self.f["done"][i] = 1
        self.f.flush()

    def point(self, i: int) -> dict[str, np.ndarray]:
        """Point ``i``'s values as :func:`twin.experiments.evaluate.evaluate` gave them."""
        n = int(self.f["replications"][i])
        row = self.f["kpis"][i, :, :n]
        return {name: row[k].copy() for k, name in enumerate(self.names)}

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(kpis, replications, done)`` of every point (the whole file, for a report)."""
        return (self.f["kpis"][...], self.f["replications"][...],
                self.f["done"][...].astype(bool))

    def design(self) -> tuple[list[str], np.ndarray]:
        """The factors' names and the design, ``(points, factors)``."""
        return json.loads(self.f["factors"].attrs["names"]), self.f["factors"][...]

    @property
    def experiment_json(self) -> dict:
        return json.loads(self.f.attrs["experiment"])

    def close(self) -> None:
        if self.f.id.valid:
            self.f.close()

    def __enter__(self) -> StudyFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
