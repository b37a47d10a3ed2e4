"""Pruning a live folder's registry: old fits go, every fit a logged decision used stays.

``prune(live_dir, keep)`` removes every fit in ``registry/fits/`` except the ``keep`` most recently recorded ones
and every fit a line of ``signals.csv`` names -- so each logged decision can still be traced to its model and
reproduced -- together with the decisions that used a removed fit (they could no longer be reproduced) and the
resolved configs nothing kept refers to. ``signals.csv`` itself is the decision log and is never pruned.

The removal is one :func:`~regimeshift.core.atomic.commit_files` under the live folder's lock: a signal never
sees half a registry, and a kill leaves the registry before or after the prune.
"""
from __future__ import annotations

import contextlib
import csv
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from regimeshift.core.atomic import commit_files, recover
from regimeshift.core.errors import ConfigError, DataError
from regimeshift.core.locks import folder_lock

REGISTRY = "registry"  # the same folder as regimeshift.registry.REGISTRY (not imported: that pulls in pandas)
LIVE_WHAT = "the live folder"  # regimeshift.live.LIVE_WHAT: the lock a signal holds while it writes


@dataclass
class PruneReport:
    removed_fits: list[str] = field(default_factory=list)
    removed_decisions: list[str] = field(default_factory=list)
    removed_configs: list[str] = field(default_factory=list)
    kept_newest: list[str] = field(default_factory=list)  # the ``keep`` most recently recorded fits
    kept_logged: list[str] = field(default_factory=list)  # older fits kept because signals.csv names them

    def line(self) -> str:
        return (f"pruned {len(self.removed_fits)} fit(s), {len(self.removed_decisions)} decision(s), "
                f"{len(self.removed_configs)} config(s); kept {len(self.kept_newest)} newest fit(s) and "
                f"{len(self.kept_logged)} older one(s) that signals.csv names")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a registry file ({' '.join(str(exc).split())})") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: not a registry file (expected a JSON object)")
    return data


def logged(live_dir: Path) -> list[tuple[int, str, str, str]]:
    """(line, as of, fit id, data hash prefix) of every line of ``signals.csv`` that names a fit."""
    path = live_dir / "signals.csv"
    if not path.is_file():
        return []
    out = []
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or "date" not in reader.fieldnames:
            raise DataError(f"{path}: not a signals log (expected a 'date' column)")
        for n, row in enumerate(reader, start=2):
            fit_id = (row.get("fit_id") or "").strip()
            if fit_id:  # a line logged without the registry (signal --no-registry) names no fit
                out.append((n, row["date"], fit_id, (row.get("data_hash") or "").strip()))
    return out


def prune(live_dir: Path, keep: int, *, wait: float | None = None) -> PruneReport:
    """Remove the fits beyond the ``keep`` newest that no line of ``signals.csv`` names (see the module doc)."""
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise ConfigError(f"--keep: {keep!r} is not a whole number >= 1 (how many of the newest fits to keep)")
    root = live_dir / REGISTRY
    if not (root / "fits").is_dir():
        raise DataError(f"{live_dir}: no registry/fits here (run `regimeshift signal` first)")
    report = PruneReport()
    with folder_lock(live_dir, LIVE_WHAT, wait=wait):
        recover(live_dir)  # finish a signal killed after its commit point before reading
        fits = {p.parent.name: _read_json(p) for p in (root / "fits").glob("*/fit.json")}
        lines = logged(live_dir)
        for n, day, fit_id, _ in lines:
            if fit_id not in fits:  # pruning cannot make it worse, but the log and registry must be looked at
                raise DataError(f"{live_dir / 'signals.csv'} line {n}: {day} names fit {fit_id}, which is not in "
                                f"{root / 'fits'} (expected every logged fit to be in the registry)")
        order = sorted(fits, key=lambda f: (str(fits[f].get("recorded_at", "")), str(fits[f].get("train_last", "")), f))
        newest = set(order[-keep:])
        named = {fit_id for _, _, fit_id, _ in lines}
        report.kept_newest = [f for f in order if f in newest]
        report.kept_logged = [f for f in order if f in named and f not in newest]
        gone = {f for f in fits if f not in newest and f not in named}
        report.removed_fits = [f for f in order if f in gone]

        files: dict[str, bytes | None] = {}
        for fit_id in report.removed_fits:
            for part in sorted((root / "fits" / fit_id).iterdir()):
                files[f"{REGISTRY}/fits/{fit_id}/{part.name}"] = None
        configs_used = {str(fits[f].get("config_hash")) for f in fits if f not in gone}
        for path in sorted((root / "decisions").glob("*.json")):
            entry = _read_json(path)
            if entry.get("fit_id") in gone:
                files[f"{REGISTRY}/decisions/{path.name}"] = None
                report.removed_decisions.append(path.stem)
            else:
                configs_used.add(str(entry.get("config_hash")))
        for path in sorted((root / "configs").glob("*.toml")):
            if path.stem not in configs_used:
                files[f"{REGISTRY}/configs/{path.name}"] = None
                report.removed_configs.append(path.stem)
        if files:
            commit_files(live_dir, files)
        for fit_id in report.removed_fits:  # the emptied folders (harmless if a kill leaves one behind)
            with contextlib.suppress(OSError):
                os.rmdir(root / "fits" / fit_id)
    return report
