"""The files a project refers to, beside its ``project.json``, and carrying them along.

A project folder is self-contained: its stations' meshes (``mesh``), its order sources'
order lists (``"orders": "orders.csv"``) and its tariff's series (``price_series``, a
``co2_g_per_kwh`` series, ``pv.series``) are files inside it, named relative to it. This
module lists them (:func:`referenced_files`), judges whether a name may be read
(:func:`link_problem`: no symbolic link, nothing outside the folder; issue 12) and copies
them when the project is saved into another folder (:func:`copy_project_files`, which
Save As and every ``twinbench`` command that writes a project reach through
``save_project``).
"""

from __future__ import annotations

import filecmp
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from twin import safeio
from twin.errors import Problem, ProjectError
from twin.model import elements as m


@dataclass(frozen=True)
class Referenced:
    """A file the project names: at JSON ``path``, the name ``file`` as written, ``who``
    names it for a message ("station 'press': its mesh file"), ``fix`` says what to do
    when it cannot be read or copied, and ``optional`` files (meshes: a station whose mesh
    is missing is drawn as a box) may be missing without stopping a Save As."""

    path: str
    file: str
    who: str
    fix: str
    optional: bool = False


MESH_FIX = ("replace the link with a copy of the file (select the station, Import mesh… in "
            "the inspector copies the file in) or remove the mesh field")
ORDERS_FIX = ("put the CSV file itself into the project's folder and name it there "
              "(\"orders.csv\"), or list the orders inline")
SERIES_FIX = "put the CSV file itself into the project's folder and name it there"


def relative_problem(file: str, fix: str) -> str | None:
    """Why ``file`` cannot name a file inside the project folder (an absolute name, or one
    that leaves it with ``..``), or None; ``fix`` ends the message."""
    win = PureWindowsPath(file)
    if PurePosixPath(file).is_absolute() or win.drive or win.root:
        return f"must be relative to the project folder; {fix}"
    if ".." in PurePosixPath(file.replace("\\", "/")).parts:
        return f"must stay inside the project folder (no '..'); {fix}"
    return None


def first_link(root: Path, file: str) -> Path | None:
    """The first symbolic link on the way from folder ``root`` to its ``file``, or None."""
    p = root
    for part in PurePosixPath(file.replace("\\", "/")).parts:
        p = p / part
        if p.is_symlink():
            return p
    return None


def link_problem(folder: str | os.PathLike, file: str, who: str, fix: str) -> str | None:
    """Why ``file`` of the project ``folder`` is refused, or None.

    twinbench reads and copies only plain files inside the project folder: a symbolic link
    (the file, or a folder on the way to it) could make opening a project, or saving it
    into another folder, read any file of the user's, and copy it along. A missing file is
    no concern of this check. ``who`` names the file's owner ("station 'press': its mesh
    file"), ``fix`` what to do.
    """
    root = Path(folder)
    link = first_link(root, file)
    if link is not None:
        try:
            to = f" to {os.readlink(link)!r}"
        except OSError:
            to = ""
        return (f"{who} {file!r} is a symbolic link ({link}{to}); twinbench reads only "
                f"files inside the project folder: {fix}")
    path = root / file
    if path.exists() and not path.resolve().is_relative_to(root.resolve()):
        return (f"{who} {file!r} lies outside the project folder ({path.resolve()}); "
                f"twinbench reads only files inside it: {fix}")
    return None


def referenced_files(project: m.Project) -> list[Referenced]:
    """Every file ``project`` names relative to its folder, in the order of the document.
    A tariff series named by an absolute path (a copy of the project read away from its
    folder, ``twin.projectfile.energy.absolute_files``) is no file of the folder."""
    out = []
    for i, el in enumerate(project.elements):
        if isinstance(el, m.Station) and el.mesh is not None:
            out.append(Referenced(f"$.elements[{i}].mesh.file", el.mesh.file,
                                  f"station {el.id!r}: its mesh file", MESH_FIX, True))
        if isinstance(el, m.Source) and el.orders is not None and el.orders_file:
            out.append(Referenced(f"$.elements[{i}].orders", el.orders_file,
                                  f"source {el.id!r}: its orders file", ORDERS_FIX))
    t = project.tariff
    if t is not None:
        for key, series in (("price_series", t.price_series), ("co2_g_per_kwh", t.co2_series),
                            ("pv.series", t.pv.series if t.pv is not None else None)):
            if series is not None and not Path(series.file).is_absolute():
                out.append(Referenced(f"$.tariff.{key}", series.file,
                                      f"the tariff's {key} file", SERIES_FIX))
    return out


def copy_project_files(project: m.Project, old: str | os.PathLike | None,
                       new: str | os.PathLike) -> list[str]:
    """Copy the files ``project`` refers to (:func:`referenced_files`) from its folder
    ``old`` into ``new`` (Save As into another folder); returns the files copied.

    Raises ``ProjectError``, before anything is copied, for a file that is a symbolic link
    or lies outside ``old`` (:func:`link_problem`), whose place in ``new`` is reached
    through a link, or that is missing from ``old`` (the saved project would not load);
    a missing mesh is left for the reader to report (the station is drawn as a box).
    """
    if old is None or Path(old).resolve() == Path(new).resolve():
        return []
    files, refused = [], []
    for ref in referenced_files(project):
        why = (relative_problem(ref.file, ref.fix)
               or link_problem(old, ref.file, ref.who, ref.fix))
        into = first_link(Path(new), str(PurePosixPath(ref.file.replace("\\", "/")).parent))
        if why is None and into is not None:
            why = (f"{ref.who} cannot be copied to {new}: {into} is a symbolic link; save "
                   "into a folder without links, or replace the link with a folder")
        if why is None and not ref.optional and not (Path(old) / ref.file).is_file():
            why = (f"{ref.who} {ref.file!r} is missing from {old}, and the project saved "
                   f"in {new} would not load without it: put the file back ({ref.fix})")
        if why is not None:
            refused.append(Problem(ref.path, why, ref.file))
        files.append(ref.file)
    if refused:
        raise ProjectError(refused, str(old))
    copied = []
    for file in dict.fromkeys(files):
        src, dst = Path(old) / file, Path(new) / file
        if not src.is_file() or (dst.is_file() and not dst.is_symlink()
                                 and filecmp.cmp(src, dst, shallow=False)):
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        safeio.copy_file(src, dst)  # never follows a link, at either end
        copied.append(file)
    return copied
