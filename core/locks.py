"""Advisory locks (fcntl) that serialise the short critical sections two processes may enter at once: the swap
of a finished output folder into place and the update of the ``signals.csv`` log.

The lock file sits beside what it protects (``.<name>.lock``) and is never removed (removing it would let two
processes lock two different files). The kernel drops the lock when its holder dies, kill -9 included, so a
crashed writer never blocks a later one. A process that has to wait says so once on stderr.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import sys
from collections.abc import Iterator
from pathlib import Path


def lock_path(target: str | os.PathLike[str]) -> Path:
    target = Path(target)
    return target.parent / f".{target.name}.lock"


@contextlib.contextmanager
def exclusive(target: str | os.PathLike[str], what: str = "") -> Iterator[None]:
    """Hold the lock of ``target`` (created beside it) for the block; wait, with one message, if it is held."""
    path = lock_path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
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
