"""Durable sweep results: one SQLite file in WAL mode, one row per variant keyed by the variant hash.

Each finished chunk of variants is committed at once, so a Ctrl-C or kill -9 loses at most the chunks in
flight; rerunning the same sweep skips every variant whose hash is already stored. Only metrics and monthly
returns are kept (a few KB per variant), so memory stays flat however many variants run.
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY,
    status TEXT NOT NULL,          -- "ok", "impossible" or "failed"
    reason TEXT NOT NULL DEFAULT '',
    metrics TEXT NOT NULL,         -- JSON
    monthly BLOB                   -- float64 monthly returns (month ends of the backtest), or NULL
)
"""


class ResultStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=60)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(SCHEMA)
        self.db.commit()

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def done_keys(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT key FROM results")}

    def add(self, rows: Iterable[dict[str, Any]]) -> None:
        """Write finished variants in one transaction (a later result for the same key replaces it)."""
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO results (key, status, reason, metrics, monthly) VALUES (?, ?, ?, ?, ?)",
                [
                    (
                        r["key"],
                        r["status"],
                        r.get("reason", ""),
                        json.dumps(r.get("metrics", {}), sort_keys=True),
                        None if r.get("monthly") is None else np.asarray(r["monthly"], dtype="<f8").tobytes(),
                    )
                    for r in rows
                ],
            )

    def fetch(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = list(dict.fromkeys(keys))
        out: dict[str, dict[str, Any]] = {}
        for i in range(0, len(wanted), 500):
            part = wanted[i : i + 500]
            q = f"SELECT key, status, reason, metrics, monthly FROM results WHERE key IN ({','.join('?' * len(part))})"
            for key, status, reason, metrics, monthly in self.db.execute(q, part):
                out[key] = {
                    "status": status,
                    "reason": reason,
                    "metrics": json.loads(metrics),
                    "monthly": None if monthly is None else np.frombuffer(monthly, dtype="<f8"),
                }
        return out
