"""Atomic file writes: a reader sees the old file or the new one, never half of one, and a write
killed midway (``kill -9``, a crash, a full disk) leaves no file behind.

Where the operating system allows it (Linux: ``O_TMPFILE``) the bytes go into a file with no
name in the target's folder; only once they are on disk is it given a hidden name
(``linkat``) and renamed over the target, so a process killed while writing leaves nothing (the
kernel frees the nameless file).  Elsewhere the bytes go into a hidden temporary file named
``.NAME.HOST.PID.TOKEN.tmp``.  Either way each write first removes the temporary files of earlier
writes to the same target whose process is gone (the short window between naming and renaming,
or a system without ``O_TMPFILE``), so none accumulate.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

LEGACY_AGE = 3600.0
"""Seconds after which a temporary file of chainrule 0.1 (``.NAME.XXXXXXXX.tmp``, no process id in
its name) counts as abandoned and is removed by the next write to ``NAME``."""

_HOST = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:16] or "host"


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and durably (as :func:`atomic_writer`); returns
    ``path`` as a ``Path``."""
    with _pending(Path(path)) as fd:
        _write_all(fd, data)
    return Path(path)


@contextmanager
def atomic_writer(
    path: str | os.PathLike, *, text: bool = False, encoding: str | None = None, newline: str | None = None
) -> Iterator[IO]:
    """A file to write ``path`` through, piece by piece: it appears at ``path`` (replacing what was
    there) only when the ``with`` block ends without an error, synced to disk; an error or a kill
    before that leaves the previous file as it was and no temporary file.

    The file keeps the permissions of the file it replaces (0o644 for a new one).  Stale temporary
    files of earlier interrupted writes to ``path`` are removed first
    (:func:`remove_stale_temporaries`).  ``text``, ``encoding`` and ``newline`` are ``open``'s.

    Examples
    --------
    >>> with atomic_writer("predictions.csv", text=True, encoding="utf-8", newline="") as file:
    ...     csv.writer(file).writerows(rows)
    """
    with _pending(Path(path)) as fd, os.fdopen(fd, "w" if text else "wb", encoding=encoding, newline=newline,
                                               closefd=False) as file:  # fmt: skip
        yield file


@contextmanager
def _pending(path: Path) -> Iterator[int]:
    """The descriptor of a nameless (or hidden temporary) file in ``path``'s folder; when the
    block ends without an error it is synced, named and renamed over ``path``, else dropped."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    remove_stale_temporaries(path)
    fd, temporary = _open_unnamed(path, mode), None
    if fd is None:
        fd, temporary = _open_named(path, mode)
    try:
        yield fd
        os.fsync(fd)
        if temporary is None:
            temporary = _name(fd, path, mode)
    except BaseException:
        os.close(fd)
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        raise
    os.close(fd)
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def temporary_name(path: Path) -> Path:
    """A fresh hidden sibling of ``path`` for one write: ``.NAME.HOST.PID.TOKEN.tmp``."""
    return path.with_name(f".{path.name}.{_HOST}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Remove the temporary files that interrupted writes to ``path`` left behind; returns them.

    A file ``.NAME.HOST.PID.TOKEN.tmp`` is stale when HOST is this machine and process PID no
    longer runs (checked on POSIX systems only); a file ``.NAME.XXXXXXXX.tmp`` of chainrule 0.1
    when it is older than :data:`LEGACY_AGE`.  Files of writes still in progress, of other
    machines sharing the folder, and every other file are left alone.
    """
    prefix = f".{path.name}."
    removed = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        parts = name[len(prefix) : -len(".tmp")].split(".")
        if len(parts) == 3:
            host, pid, _ = parts
            if host != _HOST or not pid.isdigit() or _running(int(pid)):
                continue
        elif len(parts) == 1 and len(parts[0]) == 8:  # tempfile.mkstemp's name, chainrule 0.1
            try:
                if time.time() - entry.stat().st_mtime < LEGACY_AGE:
                    continue
            except OSError:
                continue
        else:
            continue
        try:
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def _running(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (assumed so where that cannot be asked)."""
    if pid == os.getpid() or os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by another user
        return True
    return True


def _open_unnamed(path: Path, mode: int) -> int | None:
    """A nameless ``O_TMPFILE`` file in ``path``'s folder, or None where the system or the file
    system offers no such files (or no ``/proc`` to name one by later)."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not os.path.isdir("/proc/self/fd"):
        return None
    try:
        fd = os.open(path.parent, flag | os.O_RDWR, mode)  # readable: _name may have to copy it
    except OSError:  # EOPNOTSUPP, EISDIR (old kernels), EINVAL: not supported here
        return None
    os.fchmod(fd, mode)
    return fd


def _open_named(path: Path, mode: int) -> tuple[int, Path]:
    """A hidden temporary file ``.NAME.HOST.PID.XXXXXXXX.tmp`` beside ``path`` (the portable way)."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.{_HOST}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, mode)
    return fd, Path(name)


def _name(fd: int, path: Path, mode: int) -> Path:
    """Give the complete nameless file ``fd`` a hidden name beside ``path`` (``linkat``); where the
    link is refused, copy it into a named temporary file instead.  Returns the name."""
    temporary = temporary_name(path)
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        # with a folder descriptor os.link calls linkat(…, AT_SYMLINK_FOLLOW), which follows
        # /proc/self/fd/N to the nameless file (plain link() would link the symlink itself)
        os.link(f"/proc/self/fd/{fd}", temporary.name, dst_dir_fd=folder)
        return temporary
    except OSError:
        pass
    finally:
        os.close(folder)
    copy, temporary = _open_named(path, mode)
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        while block := os.read(fd, 1 << 20):
            _write_all(copy, block)
        os.fsync(copy)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    finally:
        os.close(copy)
    return temporary


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _sync_folder(folder: Path) -> None:
    """Flush the folder's entry for the renamed file to disk (POSIX; ignored where unsupported)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
