"""Atomic writes: a reader (or a later run) sees the old file or folder or the new one, never half of one.

The one home for it: run folders, tearsheets, comparison pages, signal tickets and the regime cache all write
through here.

A folder is built in ``.<name>.tmp-*`` beside the target and swapped in by two renames (target ->
``.<name>.old-*``, tmp -> target) under an fcntl lock (``core.locks``), so two writers finishing at once
take turns. Whatever a killed writer leaves, a later writer of the same target repairs before its own swap:

- a ``.tmp-*`` folder whose writer is gone (each writer holds a lock on its tmp folder while it lives) is
  removed;
- a ``.old-*`` folder (only ever present inside the swap lock) is the previous good output: it is restored
  when the target is missing (killed between the two renames), else removed.
"""
from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from regimeshift.core.locks import exclusive, try_lock_fd

log = logging.getLogger(__name__)


def _umask() -> int:
    # os.umask can only be read by setting it; restore at once (single-threaded at the point of writing)
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path``, fsync it, and rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:40]}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a written file should follow the umask
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """``atomic_write_bytes`` of UTF-8 text with ``\\n`` line ends."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def _abandoned(folder: Path) -> bool:
    """True when no live writer holds ``folder`` (a tmp folder's writer keeps a lock on it while it runs)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return try_lock_fd(fd)
    finally:
        os.close(fd)  # releases the probe's lock at once


def repair(target: str | os.PathLike[str]) -> None:
    """Clean up after killed writers of ``target``; call with the swap lock held (see the module docstring)."""
    target = Path(target)
    parent = target.parent
    try:
        olds = sorted(parent.glob(f".{target.name}.old-*"), key=lambda p: p.stat().st_mtime)
        tmps = list(parent.glob(f".{target.name}.tmp-*"))
    except OSError:
        return
    if olds and not os.path.lexists(target):
        newest = olds.pop()
        os.replace(newest, target)
        log.warning("restored %s from %s (a previous run was killed while replacing it)", target, newest.name)
    for old in olds:
        shutil.rmtree(old, ignore_errors=True)
    for tmp in tmps:
        if tmp.is_dir() and _abandoned(tmp):
            shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def atomic_dir(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; on success it replaces ``target``, on failure it is removed."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # The tmp folder is made and marked alive inside the swap lock: another writer's repair (also inside it)
    # can then never take a folder that is still being set up for abandoned.
    with exclusive(target, "replacing"):
        repair(target)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
        try:
            held = os.open(tmp, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        try_lock_fd(held)  # "this tmp folder is alive": released by the kernel if this process dies
    try:
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; the finished folder should follow the umask
        yield tmp
        with exclusive(target, "replacing"):
            repair(target)
            old = None
            if os.path.lexists(target):
                old = target.parent / f".{target.name}.old-{os.getpid()}-{time.monotonic_ns()}"
                os.replace(target, old)
            os.replace(tmp, target)
            _fsync_dir(target.parent)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        os.close(held)
