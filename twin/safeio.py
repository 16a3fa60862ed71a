"""Writing whole files safely: a new file is complete or absent, and never lands elsewhere.

Every file twinbench writes whole (a project, an autosave, a results file, a recording, a
copied mesh) goes through this module, as Qt's ``QSaveFile`` does for Qt programs:

* the new content goes to a temporary file *in the target's folder* (so that the rename
  stays on one file system), named ``.<target>.<pid>.<random>.twinbench-tmp`` so that a
  left-over one is recognisable, hidden, and tells which process made it;
* the temporary file is created with ``O_CREAT | O_EXCL | O_NOFOLLOW``: a file or link
  planted under that name makes the creation fail instead of being followed, so twinbench
  never writes through a symbolic link into another file;
* it gets the user's normal permissions (mode 0666 less the umask, as any file the user
  makes; ``tempfile.mkstemp`` would make it 0600);
* it is flushed to disk (``fsync``) and renamed over the target with ``os.replace``, which
  replaces a link at the target, never the file the link points to;
* it is removed on every failure path: an exception, ``KeyboardInterrupt``, and ``SIGTERM``
  once :func:`exit_on_sigterm` is installed (the ``twinbench`` command does);
* temporary files whose process is gone (``kill -9``, a power cut) are removed by the next
  write into the same folder.

For HDF5 files, which h5py opens by name, :func:`open_hdf5` creates the file itself with
``O_EXCL | O_NOFOLLOW`` and checks that h5py opened that very file.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import stat
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

#: How every temporary file of twinbench ends.
TEMP_SUFFIX = ".twinbench-tmp"
_TEMP_NAME = re.compile(r"\..+\.(\d+)\.[0-9a-f]{8}" + re.escape(TEMP_SUFFIX), re.S)
# a file name may hold 255 bytes: the target's part of a temporary name stays well below
_NAME_BYTES = 150
_NEW = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
_READ = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0) \
    | getattr(os, "O_BINARY", 0)
_MODE = 0o666  # less the umask, applied by the system as for any new file


def temp_name(target: str | os.PathLike) -> str:
    """A fresh temporary name for ``target``: ``.<name>.<pid>.<8 hex>.twinbench-tmp``."""
    name = Path(target).name.encode("utf-8", "surrogateescape")[:_NAME_BYTES]
    short = name.decode("utf-8", "ignore")  # not half a character at the cut
    return f".{short}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}"


def _owner_alive(pid: int) -> bool | None:
    """Whether process ``pid`` runs (None: cannot tell on this system)."""
    if sys.platform == "win32":  # os.kill(pid, 0) would send CTRL_C_EVENT there
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it runs, as another user
        return True
    return True


def clean_stale(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporary files in ``folder`` whose process is gone; return those left.

    A temporary file names the process that made it. One whose process no longer runs was
    left by a process that was killed (``kill -9``, a crash, a power cut) and is removed.
    The files returned are kept: their process still runs (it may be writing them), or
    this system cannot tell (Windows), and the caller may report them.
    """
    kept = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return kept
    for entry in entries:
        found = _TEMP_NAME.fullmatch(entry.name)
        if found is None or entry.is_dir(follow_symlinks=False):
            continue
        pid = int(found.group(1))
        if pid != os.getpid() and _owner_alive(pid) is False:
            # a link is removed, not what it points to; another process may clean it first
            Path(entry.path).unlink(missing_ok=True)
        else:
            kept.append(Path(entry.path))
    return kept


def new_temp(target: str | os.PathLike) -> Path:
    """Create an empty temporary file for ``target`` in its folder and return its path.

    Removes stale temporary files of that folder first (:func:`clean_stale`). Finish with
    :func:`commit` or :func:`discard`; :func:`replacing` and :func:`replacing_path` do both.
    """
    fd, tmp = _create_temp(Path(target))
    os.close(fd)
    return tmp


def probe(target: str | os.PathLike) -> None:
    """Make and remove an empty temporary file beside ``target``, as a writer will; raise
    the system's own ``OSError`` when the folder refuses one. The probe is named like every
    temporary file (:func:`temp_name`), so one left by a process killed between making and
    removing it is cleaned up by the next write there (:func:`clean_stale`)."""
    fd, tmp = _create_temp(Path(target), said=False)
    os.close(fd)
    with suppress(OSError):  # made but not removable: the next write's clean_stale removes it
        os.unlink(tmp)


_SAID: dict[type, type] = {}


def _said_type(kind: type) -> type:
    """``kind`` (an ``OSError`` subclass) read as "<file>: <reason>", without "[Errno N]"."""
    if kind not in _SAID:
        _SAID[kind] = type(kind.__name__, (kind,), {
            "__str__": lambda self: f"{self.filename}: {self.strerror}",
            # made at run time, so pickled as how to make it again (a process pool's job)
            "__reduce__": lambda self: (_said, (kind, self.errno, self.strerror,
                                                self.filename)),
            "__module__": __name__})
    return _SAID[kind]


def _said(kind: type, errno: int, reason: str, filename: str) -> OSError:
    return _said_type(kind)(errno, reason, filename)


def said_of(error: OSError, target: str | os.PathLike) -> OSError:
    """``error``, met writing the temporary file of ``target`` or renaming it, said of
    ``target`` alone, with the fix, as the CLI says it: the GUI showed "[Errno 2] No such
    file or directory: '/nonexistent/dir/.kpis.csv.5398….twinbench-tmp'", a name the user
    never gave. Same type, errno and a ``filename`` (the target's), so a caller's ``except
    OSError`` and the CLI's ``user_files`` still hold."""
    target = Path(target)
    folder = target.parent
    if isinstance(error, IsADirectoryError) or target.is_dir():
        reason = "is a folder; give the path of a file in it"
    elif not folder.exists():
        reason = f"the folder {folder} does not exist; create it or choose another path"
    elif not folder.is_dir():
        reason = f"{folder} is not a folder; choose another path"
    elif isinstance(error, PermissionError):
        reason = f"the folder {folder} is not writable; choose another path"
    else:  # a full disk, a read-only file system, a quota
        reason = f"cannot be written ({error.strerror or error})"
    return _said_type(type(error))(error.errno, reason, str(target))


def _create_temp(target: Path, said: bool = True) -> tuple[int, Path]:
    folder = target.parent
    clean_stale(folder)
    for _ in range(100):
        tmp = folder / temp_name(target)
        try:
            return os.open(tmp, _NEW, _MODE), tmp
        except FileExistsError:  # taken (or planted): another random name
            continue
        except OSError as e:
            if not said:
                raise
            raise said_of(e, target) from None
    raise FileExistsError(f"{folder}: cannot create a temporary file for {target.name} "
                          f"(100 names taken); remove the *{TEMP_SUFFIX} files there")


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a system without folder fsync skips it."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on folders: the data itself is synced
    finally:
        os.close(fd)


def commit(tmp: str | os.PathLike, target: str | os.PathLike) -> None:
    """Flush the finished temporary file ``tmp`` to disk and rename it over ``target``.

    The temporary file is opened without following links, so a link put in its place is
    refused rather than synced. On failure ``tmp`` is left for the caller to
    :func:`discard`.
    """
    fd = os.open(tmp, _READ)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.replace(tmp, target)
    except OSError as e:
        raise said_of(e, target) from None
    _sync_folder(Path(target).parent)


def discard(tmp: str | os.PathLike | None) -> None:
    """Remove a temporary file after a failure (nothing if it is gone or None)."""
    if tmp is not None:
        Path(tmp).unlink(missing_ok=True)


@contextmanager
def replacing(target: str | os.PathLike, mode: str = "wb",
              encoding: str | None = None) -> Iterator[IO]:
    """Write ``target`` whole: yield an open temporary file that replaces it on success.

    Parameters
    ----------
    target : path-like
        The file to write; its folder must exist.
    mode : {"wb", "w"}
        Binary or text.
    encoding : str, optional
        For text mode.

    On any exception (``KeyboardInterrupt`` too) the temporary file is removed and
    ``target`` is left as it was.
    """
    target = Path(target)
    fd, tmp = _create_temp(target)
    try:
        with os.fdopen(fd, mode, encoding=encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        try:
            os.replace(tmp, target)
        except OSError as e:
            raise said_of(e, target) from None
    except BaseException:
        discard(tmp)
        raise
    _sync_folder(target.parent)


@contextmanager
def replacing_path(target: str | os.PathLike) -> Iterator[Path]:
    """Like :func:`replacing`, for writers that open a file by name (h5py): yield the path
    of a new temporary file in ``target``'s folder, to be written and closed inside the
    ``with`` block (open it with :func:`open_hdf5`)."""
    tmp = new_temp(target)
    try:
        yield tmp
        commit(tmp, target)
    except BaseException:
        discard(tmp)
        raise


def write_bytes(target: str | os.PathLike, data: bytes) -> None:
    """Replace ``target`` with ``data`` safely (module docstring)."""
    with replacing(target, "wb") as f:
        f.write(data)


def write_text(target: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    """Replace ``target`` with ``text`` safely (module docstring)."""
    write_bytes(target, text.encode(encoding))


def copy_file(source: str | os.PathLike, target: str | os.PathLike,
              follow: bool = False) -> None:
    """Copy ``source`` to ``target`` safely (module docstring).

    ``source`` is opened without following a link, unless ``follow`` (a file the user
    picked by hand): a link is refused with ``OSError`` (``ELOOP``).
    """
    flags = _READ & ~getattr(os, "O_NOFOLLOW", 0) if follow else _READ
    with open(os.open(source, flags), "rb") as src, replacing(target, "wb") as out:
        while chunk := src.read(1 << 20):
            out.write(chunk)


def create_new(path: str | os.PathLike, replace: bool = False) -> os.stat_result:
    """Create an empty file at ``path`` that no link can redirect; return its ``stat``.

    With ``replace`` an existing file or link at ``path`` is removed first (a link itself,
    never what it points to). Raises ``FileExistsError`` when ``path`` exists otherwise.
    """
    if replace:
        discard(path)
    fd = os.open(path, _NEW, _MODE)
    try:
        return os.fstat(fd)
    finally:
        os.close(fd)


def open_hdf5(path: str | os.PathLike, replace: bool = False, **kwargs):
    """Create a new HDF5 file at ``path`` and return it open for writing (``h5py.File``).

    h5py opens files by name and would follow a link planted there; so the file is
    created first by :func:`create_new` (``O_EXCL | O_NOFOLLOW``), then opened by h5py in
    ``"w"`` mode (which truncates that empty file), and the file h5py holds is checked to
    be the one created. ``kwargs`` go to ``h5py.File``.
    """
    import h5py  # only the HDF5 writers need it

    made = create_new(path, replace)
    f = h5py.File(path, "w", **kwargs)
    try:
        held = os.fstat(f.id.get_vfd_handle())
    except (AttributeError, TypeError, ValueError, OSError):  # a driver without a descriptor
        held = None
    if held is not None and (held.st_dev, held.st_ino) != (made.st_dev, made.st_ino):
        f.close()
        raise OSError(f"{path}: was replaced by another file while it was being opened; "
                      "check who else writes into that folder and try again")
    return f


def is_link_or_special(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a symbolic link or not a regular file (a device, a pipe)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return False
    return stat.S_ISLNK(mode) or not stat.S_ISREG(mode)


def exit_on_sigterm() -> None:
    """Turn ``SIGTERM`` into ``SystemExit`` (status 143), so that a terminated command
    unwinds and removes its temporary files; only from the main thread, and only when
    nobody else handles ``SIGTERM``."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminated)


def _terminated(signum, _frame):
    raise SystemExit(128 + signum)
