"""Custom station meshes: the ``mesh`` field of a project file and the files it names.

A station may be drawn with its own body, an STL or OBJ file kept inside the project folder
(usually in ``meshes/``) so that the folder stays self-contained: it can be zipped, moved or
put under version control whole. This module reads and checks the field and copies a file
into the folder (the inspector's *Import mesh…*); ``twin.projectfile.files`` carries them
along, with the project's other files, when it is saved into another folder. Drawing is
the workbench's business (``app.meshes``).
"""

from __future__ import annotations

import filecmp
import math
import os
from pathlib import Path, PurePosixPath

from twin import safeio
from twin.errors import InputError, Problem, Problems
from twin.model import elements as m
from twin.projectfile import files
from twin.projectfile.files import relative_problem

MESH_FOLDER = "meshes"


class MeshError(InputError):
    """A mesh file that cannot be imported: its format, or where it would go."""

_KEYS = {"file", "scale"}


def _relative_problem(file: str) -> str | None:
    """Why ``file`` cannot name a file inside the project folder, or None."""
    return relative_problem(file, 'e.g. "meshes/press.stl": copy the file into the folder '
                            "(the inspector's Import mesh… does)")


def read_mesh(v, path: str, problems: Problems, folder: Path | None = None,
              warnings: list[Problem] | None = None, station: str = "") -> m.Mesh | None:
    """Read a station's ``mesh``: ``"meshes/a.stl"`` or ``{"file": ..., "scale": ...}``.

    Problems go to ``problems`` under ``path``. With ``folder`` (the project folder) the file
    should exist there; without one (a document in memory) only its name is checked. A file
    missing from ``folder`` is a warning when a ``warnings`` list is given: the mesh is kept
    as written (saving loses nothing) and the workbench draws the ``station`` as a box, as a
    Plant Simulation or FlexSim user expects of a model whose CAD file went astray. Without
    ``warnings`` (the inspector checking a path just typed) it is a problem.
    """
    if v is None:
        return None
    if isinstance(v, str):
        obj, fpath = {"file": v}, path
    elif isinstance(v, dict):
        obj, fpath = v, f"{path}.file"
        for key in v:
            if key not in _KEYS and not key.startswith("x-"):
                problems.add(f"{path}.{key}", f"unknown field; expected one of {sorted(_KEYS)}"
                             " (prefix custom fields with 'x-')", v[key])
    else:
        problems.add(path, 'expected a file name or {"file": "meshes/press.stl", "scale": 0.001}',
                     v)
        return None
    file, scale, ok = obj.get("file"), obj.get("scale", 1.0), True
    if not isinstance(file, str) or not file.strip():
        problems.add(fpath, "needs the mesh file, relative to the project folder, e.g. "
                     "\"meshes/press.stl\"", file)
        return None
    why = _relative_problem(file)
    if why is not None:
        problems.add(fpath, why, file)
        ok = False
    file = file.replace("\\", "/")  # written on Windows: the same file everywhere
    suffix = PurePosixPath(file).suffix.lower()
    if suffix not in m.MESH_FORMATS:
        problems.add(fpath, f"unsupported mesh format {suffix or '(no extension)'!r}; "
                     f"twinbench reads {', '.join(m.MESH_FORMATS)} files", file)
        ok = False
    if (scale is None or isinstance(scale, bool) or not isinstance(scale, int | float)
            or not math.isfinite(scale) or scale <= 0):
        problems.add(f"{path}.scale", "must be a number > 0: the size of one unit of the file "
                     "in metres (0.001 for millimetres)", scale)
        ok = False
    if ok and folder is not None and (why := link_problem(folder, file, station)):
        problems.add(fpath, why, file)
        return None
    if ok and folder is not None and not (Path(folder) / file).is_file():
        if warnings is None:
            problems.add(fpath, f"no such file in the project folder ({Path(folder) / file}); "
                         "copy it there or remove the mesh", file)
            return None
        warnings.append(Problem(fpath, _missing_message(station, file, folder), file))
    return m.Mesh(file, float(scale)) if ok else None


def _missing_message(station: str, file: str, folder: str | os.PathLike) -> str:
    """What to tell the user about a station whose mesh file is not in the project folder."""
    who = f"station {station!r}" if station else "a station"
    return (f"{who} is drawn as a box: its mesh file is not in the project folder "
            f"({Path(folder) / file}); copy the file there, import it again (select the "
            "station, Import mesh… in the inspector) or remove the mesh field")


def link_problem(folder: str | os.PathLike, file: str, station: str = "") -> str | None:
    """Why the mesh ``file`` of the project ``folder`` is refused (a symbolic link, or a
    file outside the folder: ``twin.projectfile.files.link_problem``), or None."""
    who = f"station {station!r}" if station else "a station"
    return files.link_problem(folder, file, f"{who}: its mesh file", files.MESH_FIX)


def mesh_to_json(mesh: m.Mesh) -> dict:
    return {"file": mesh.file, "scale": mesh.scale}


def import_mesh(folder: str | os.PathLike, source: str | os.PathLike) -> str:
    """Copy the mesh file ``source`` into ``folder``'s ``meshes/``; return the path to write
    in the project, relative to ``folder``.

    ``source`` is a file the user chose (the inspector's *Import mesh…*): it may lie
    anywhere, and a link is followed, since the user picked it. This is the one way a file
    from outside a project gets into it; a project's own mesh fields may name only plain
    files inside its folder (:func:`link_problem`).

    A file of the same name and content is reused; one of the same name but other content
    is kept, and the copy gets a free name (``press_2.stl``); a link of that name is never
    reused nor written through. Raises ``MeshError`` for a format twinbench cannot draw or a
    ``meshes`` folder that is a link, and ``OSError`` when the file cannot be read or copied.
    """
    src = Path(source)
    if src.suffix.lower() not in m.MESH_FORMATS:
        raise MeshError(f"cannot import {src.name}: unsupported mesh format "
                        f"{src.suffix or '(no extension)'!r}; choose an "
                        f"{' or '.join(m.MESH_FORMATS)} file")
    if not src.is_file():
        raise FileNotFoundError(f"cannot import {src}: no such file")
    target_dir = Path(folder) / MESH_FOLDER
    if target_dir.is_symlink():
        raise MeshError(f"cannot import {src.name}: {target_dir} is a symbolic link; twinbench "
                        "copies meshes only into the project folder itself: replace the link "
                        "with a folder")
    target_dir.mkdir(parents=True, exist_ok=True)
    stem, suffix = src.stem, src.suffix.lower()
    target, n = target_dir / f"{stem}{suffix}", 1
    while target.is_symlink() or (target.exists() and not (
            target.resolve() == src.resolve() or filecmp.cmp(target, src, shallow=False))):
        n += 1
        target = target_dir / f"{stem}_{n}{suffix}"
    if not target.exists():
        safeio.copy_file(src, target, follow=True)
    return f"{MESH_FOLDER}/{target.name}"
