"""Advisory locks (fcntl), the one home for them: ``exclusive`` serialises the short critical sections two
processes may enter at once (the swap of a finished output folder into place, the update of ``signals.csv``),
waiting with one message; ``folder_lock`` gives one writer at a time a whole folder (a data store, a live
folder) and tells a second one who holds it (or waits for ``wait`` seconds).

A lock file is never removed (removing it would let two processes lock two different files). The kernel drops a
lock when its holder dies, kill -9 included, so a crashed writer never blocks a later one.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from regimeshift.core.errors import EnvironmentFailure


def lock_path(target: str | os.PathLike[str]) -> Path:
    target = Path(target)
    return target.parent / f".{target.name}.lock"


@contextlib.contextmanager
def exclusive(target: str | os.PathLike[str], what: str = "") -> Iterator[None]:
    """Hold the lock of ``target`` (created beside it) for the block; wait, with one message, if it is held."""
    path = lock_path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for another regimeshift process {what or 'writing'} {target} (lock {path})",
                  file=sys.stderr, flush=True)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def try_lock_fd(fd: int) -> bool:
    """An exclusive lock on ``fd`` without waiting: True when taken (nobody else holds it)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class LockedError(EnvironmentFailure):
    """Another process holds the folder's lock (exit 3: retry later, or pass --wait)."""


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike[str], what: str, *, wait: float | None = None,
                shared: bool = False) -> Iterator[Path]:
    """Hold ``<folder>/.lock`` for the block. ``wait``: seconds to wait for another holder (None or 0: do not
    wait, raise :class:`LockedError` naming the holder's pid at once; ``float('inf')``: wait for ever).
    ``shared``: a reader's lock -- any number of readers at once, but never beside a writer."""
    folder = Path(folder)
    path = folder / ".lock"
    if shared and path.is_file():
        # a reader writes nothing: flock works on a read-only descriptor (and on a read-only file system)
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    else:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o666)
    try:
        deadline = time.monotonic() + (wait or 0.0)
        said = False
        while True:
            try:
                fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not said and wait:
                    print(f"waiting for another regimeshift process holding {what} ({folder}){_holder(path)}",
                          file=sys.stderr, flush=True)
                    said = True
                if time.monotonic() >= deadline:
                    holder = _holder(path)
                    raise LockedError(
                        f"{folder}: {what} is locked by another regimeshift process{holder}; it is still "
                        "running (retry when it is done, or pass --wait)"
                    ) from None
                time.sleep(0.05)
        if not shared:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        yield folder
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _holder(path: Path) -> str:
    with contextlib.suppress(OSError, ValueError):
        return f" (pid {int(path.read_text().split()[0])})"
    return ""
