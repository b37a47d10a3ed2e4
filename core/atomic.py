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
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from regimeshift.core.errors import DataError
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


# -- several files at once ---------------------------------------------------------------------------------------
JOURNAL = ".journal"


def commit_files(folder: str | os.PathLike[str], files: dict[str, bytes | None]) -> None:
    """Replace several files of ``folder`` as one step: after a crash at any moment the folder holds all of the
    old files or, once :func:`recover` has run, all of the new ones -- never some of each.

    The new contents first go to a journal folder that is renamed into place (the commit point); the files are
    then written one by one (each atomically) and the journal removed. ``None`` deletes a file. Names may hold
    one level of sub-folder (``series/SPY.parquet``). Callers hold the folder's lock.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    recover(folder)
    tmp = Path(tempfile.mkdtemp(prefix=f"{JOURNAL}.tmp-", dir=folder))
    try:
        index = []
        for i, (name, data) in enumerate(files.items()):
            confined(folder, name)
            index.append({"name": name, "blob": None if data is None else f"{i}.bin"})
            if data is not None:
                with open(tmp / f"{i}.bin", "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
        with open(tmp / "index.json", "w", encoding="utf-8") as fh:
            fh.write(json.dumps(index))
            fh.flush()
            os.fsync(fh.fileno())
        _fsync_dir(tmp)
        os.replace(tmp, folder / JOURNAL)  # the commit point
        _fsync_dir(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    recover(folder)


def confined(folder: str | os.PathLike[str], name: object) -> Path:
    """``folder / name`` when ``name`` is a relative path that stays inside ``folder`` once ``..`` and symlinks
    are resolved; else :class:`DataError` saying why. A metadata file (a store's manifest, a journal's index)
    names files by such paths: a hand-edited or hostile one must never reach outside its folder."""
    if not isinstance(name, str) or not name or "\\" in name or "\0" in name:
        raise DataError(f"{name!r}: expected a relative file name inside {folder}")
    rel = Path(name)
    if rel.is_absolute() or any(part in ("", ".", "..") for part in name.split("/")):
        raise DataError(f"{name!r}: expected a relative file name inside {folder} (no '..', not absolute)")
    root = Path(folder).resolve()
    target = Path(folder) / rel
    if not target.resolve().is_relative_to(root):
        raise DataError(f"{name!r}: leads outside {folder} (through a symlink)")
    return target


def journal_index(folder: str | os.PathLike[str]) -> list[tuple[str, Path | None]]:
    """The committed journal of ``folder`` as (file name, blob path or None for a deletion), every entry checked
    before any is used: a list of ``{"name", "blob"}`` objects, names confined to the folder, each blob a file of
    the journal. [] when there is no committed journal. Anything else is one :class:`DataError` naming the
    journal and the entry, so a tampered journal is refused whole, never half-applied."""
    journal = Path(folder) / JOURNAL
    if not journal.is_dir():
        return []
    where = journal / "index.json"
    try:
        index = json.loads(where.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{where}: missing (an unfinished update left a journal without its index)") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{where}: not a journal index ({' '.join(str(exc).split())})") from None
    if not isinstance(index, list):
        raise DataError(f"{where}: not a journal index (expected a list of {{name, blob}} entries)")
    out: list[tuple[str, Path | None]] = []
    for i, entry in enumerate(index):
        label = f"{where}: entry {i + 1}"
        if not isinstance(entry, dict) or set(entry) != {"name", "blob"}:
            raise DataError(f"{label} ({json.dumps(entry)[:80]}): expected an object with 'name' and 'blob'")
        name, blob = entry["name"], entry["blob"]
        try:
            confined(folder, name)
        except DataError as err:
            raise DataError(f"{label}: name {err}") from None
        if blob is None:
            out.append((name, None))
            continue
        if not isinstance(blob, str) or not blob.endswith(".bin") or not blob[:-4].isdigit():
            raise DataError(f"{label} ({name}): blob {blob!r}: expected N.bin, a file of the journal")
        path = journal / blob
        if path.is_symlink() or not path.is_file():
            raise DataError(f"{label} ({name}): blob {blob} is missing from the journal")
        out.append((name, path))
    return out


def recover(folder: str | os.PathLike[str]) -> bool:
    """Finish a committed :func:`commit_files` (idempotent) and drop an uncommitted one. True if it did either.

    Only writers call this (under the folder's lock); a journal that fails :func:`journal_index` raises before
    anything is written."""
    folder = Path(folder)
    did = False
    for stray in folder.glob(f"{JOURNAL}.tmp-*"):
        shutil.rmtree(stray, ignore_errors=True)
        did = True
    journal = folder / JOURNAL
    if not journal.is_dir():
        return did
    for name, blob in journal_index(folder):
        target = folder / name
        if blob is None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(target)
        else:
            atomic_write_bytes(target, blob.read_bytes())
    # retire the journal in one rename, so a crash while deleting it never leaves a partial journal to replay
    done = folder / f"{JOURNAL}.tmp-done-{os.getpid()}"
    os.replace(journal, done)
    _fsync_dir(folder)
    shutil.rmtree(done, ignore_errors=True)
    # temporary files of writes a crash interrupted (the caller holds the folder's lock: no writer is active)
    for stray in folder.rglob(".*.tmp"):
        with contextlib.suppress(OSError):
            if stray.is_file():
                os.unlink(stray)
    return True
