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
from pathlib import Path

LEGACY_AGE = 3600.0
"""Seconds after which a temporary file of chainrule 0.1 (``.NAME.XXXXXXXX.tmp``, no process id in
its name) counts as abandoned and is removed by the next write to ``NAME``."""

_HOST = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:16] or "host"


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and durably; returns ``path`` as a ``Path``.

    The file keeps the permissions of the file it replaces (0o644 for a new one).  Stale
    temporary files of earlier interrupted writes to ``path`` are removed first
    (:func:`remove_stale_temporaries`).
    """
    path = Path(path)
    folder = path.parent
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    remove_stale_temporaries(path)
    if not _write_unnamed(path, data, mode):
        _write_named(path, data, mode)
    _sync_folder(folder)
    return path


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


def _write_unnamed(path: Path, data: bytes, mode: int) -> bool:
    """Write through a nameless ``O_TMPFILE`` file linked in once complete; False where the
    system, the file system or ``/proc`` offers no such files or links (nothing is left behind
    then: a nameless file is freed when it is closed)."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not os.path.isdir("/proc/self/fd"):
        return False
    try:
        fd = os.open(path.parent, flag | os.O_WRONLY, mode)
    except OSError:  # EOPNOTSUPP, EISDIR (old kernels), EINVAL: not supported here
        return False
    try:
        os.fchmod(fd, mode)
        _write_all(fd, data)
        os.fsync(fd)
        temporary = temporary_name(path)
        folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            # with a folder descriptor os.link calls linkat(…, AT_SYMLINK_FOLLOW), which follows
            # /proc/self/fd/N to the nameless file (plain link() would link the symlink itself)
            os.link(f"/proc/self/fd/{fd}", temporary.name, dst_dir_fd=folder)
        except OSError:
            return False
        finally:
            os.close(folder)
    finally:
        os.close(fd)
    _rename(temporary, path)
    return True


def _write_named(path: Path, data: bytes, mode: int) -> None:
    """Write through a hidden temporary file (the portable way)."""
    prefix = f".{path.name}.{_HOST}.{os.getpid()}."
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=path.parent)
    temporary = Path(name)
    try:
        os.chmod(temporary, mode)
        _write_all(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        temporary.unlink(missing_ok=True)
        raise
    os.close(fd)
    _rename(temporary, path)


def _rename(temporary: Path, path: Path) -> None:
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


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
