"""A finished sweep run again reuses what it wrote: a top-N run folder or the walk-forward tearsheet is kept when
the content hash of everything that produced it equals the one recorded beside it when it was written.

The hash covers the config (its full TOML: every setting, the name included), the bytes of every data file
the config reads from (size and modification time of each file of its data folders, so an updated file is a
different hash), the source of the package and the versions of the libraries (a code change re-runs), and any
extra inputs the caller passes (the walk-forward track's returns). The record is written, atomically, only
after the output it describes is in place, in ``.reuse/`` of the sweep folder; a missing or different record
means the output is produced again.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from regimeshift.core.atomic import atomic_write_text

RECORDS = ".reuse"
_PACKAGE_DIRS = ("core", "regimes", "strategies", "backtests", "reports", "baselines", "regimeshift")


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """sha256 of the package's Python sources and the libraries' versions (once per process)."""
    from regimeshift.core.versions import library_versions

    h = hashlib.sha256(json.dumps(library_versions(), sort_keys=True).encode())
    import regimeshift

    root = Path(regimeshift.__file__).resolve().parent.parent
    for folder in _PACKAGE_DIRS:
        for path in sorted((root / folder).rglob("*.py")):
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def folder_stats(folder: Any) -> list[tuple[str, int, int]]:
    """(name, size, mtime) of every file in ``folder`` (none when it is not a folder)."""
    if folder is None or not Path(str(folder)).is_dir():
        return []
    out = []
    for entry in sorted(os.scandir(str(folder)), key=lambda e: e.name):
        if entry.is_file():
            st = entry.stat()
            out.append((entry.name, st.st_size, st.st_mtime_ns))
    return out


def config_digest(cfg: Any, *extra: Any) -> str:
    """sha256 of a run's inputs: config TOML, data files (name, size, mtime), strategy files, code, ``extra``."""
    h = hashlib.sha256(code_digest().encode())
    h.update(cfg.to_toml().encode())
    if cfg.data.source != "synthetic":
        h.update(json.dumps([folder_stats(cfg.data.dir), folder_stats(cfg.data.price_dir)]).encode())
    if cfg.strategy.path is not None:
        h.update(json.dumps(folder_stats(cfg.strategy.path)).encode())
    for part in extra:
        h.update(part if isinstance(part, bytes) else json.dumps(part, sort_keys=True, default=str).encode())
    return h.hexdigest()


def _record(out_dir: Path, name: str) -> Path:
    return out_dir / RECORDS / f"{name.replace('/', '__')}.sha256"


def is_fresh(out_dir: Path, name: str, digest: str, target: Path, needs: tuple[str, ...] = ()) -> bool:
    """``target`` (a file or folder under ``out_dir``) was written from inputs with this digest."""
    record = _record(out_dir, name)
    if not target.exists() or not record.is_file():
        return False
    if any(not (target / f).is_file() for f in needs):
        return False
    return record.read_text(encoding="utf-8").strip() == digest


def remember(out_dir: Path, name: str, digest: str) -> None:
    record = _record(out_dir, name)
    record.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(record, digest + "\n")


def forget(out_dir: Path, name: str) -> None:
    """Drop a record before its output is rewritten (a crash between the two then re-runs, never reuses)."""
    try:
        _record(out_dir, name).unlink()
    except FileNotFoundError:
        pass
