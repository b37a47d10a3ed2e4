"""One writer at a time per folder (a data store, a live folder): an advisory ``fcntl`` lock on ``<folder>/.lock``.

The kernel drops the lock when its holder dies (even by kill -9), so a crash never leaves a folder locked.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from regimeshift.core.errors import EnvironmentFailure


class LockedError(EnvironmentFailure):
    """Another process holds the folder's lock (exit 3: retry later, or pass --wait)."""


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike[str], what: str, *, wait: float | None = None,
                shared: bool = False) -> Iterator[Path]:
    """Hold ``<folder>/.lock`` for the block. ``wait``: seconds to wait for another holder (None or 0: do not
    wait, raise :class:`LockedError` naming the holder's pid at once; ``float('inf')``: wait for ever).
    ``shared``: a reader's lock -- any number of readers at once, but never beside a writer."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ".lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        deadline = time.monotonic() + (wait or 0.0)
        while True:
            try:
                fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
                break
            except BlockingIOError:
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
