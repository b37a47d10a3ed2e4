"""Durable sweep results: one SQLite file in WAL mode, one row per variant keyed by the variant hash.

Each finished chunk of variants is committed at once, so a Ctrl-C or kill -9 loses at most the chunks in
flight; rerunning the same sweep skips every variant whose hash is already stored. Only metrics and monthly
returns are kept (a few KB per variant).

Beside the results, ``variants`` lists the current sweep (index, hash, swept values), rewritten by every run
as the variants stream past: the leaderboard is a join of the two read in chunks, so no process holds every
variant's config or result at once.
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
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
);
CREATE TABLE IF NOT EXISTS variants (
    idx INTEGER PRIMARY KEY,       -- position in the sweep (grid order, then draws)
    key TEXT NOT NULL,             -- the variant hash: results.key
    params TEXT NOT NULL,          -- JSON of the swept values
    possible INTEGER NOT NULL,     -- 0: the config rejects the combination
    normalized TEXT NOT NULL,      -- regimes whose weights were scaled to 1, comma-separated
    reason TEXT NOT NULL           -- why it is impossible
)
"""
_IN = 500  # keys per IN (...) query: under SQLite's variable limit


class ResultStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=60)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self.db.commit()

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def done_keys(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT key FROM results")}

    def n_done(self) -> int:
        """How many variants have a stored result (a resumed sweep skips them)."""
        return int(self.db.execute("SELECT COUNT(*) FROM results").fetchone()[0])

    def done_among(self, keys: Iterable[str]) -> set[str]:
        """Which of ``keys`` have a stored result (asked per block, so the whole store is never read)."""
        wanted = list(dict.fromkeys(keys))
        out: set[str] = set()
        for i in range(0, len(wanted), _IN):
            part = wanted[i : i + _IN]
            q = f"SELECT key FROM results WHERE key IN ({','.join('?' * len(part))})"
            out.update(row[0] for row in self.db.execute(q, part))
        return out

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
        for i in range(0, len(wanted), _IN):
            part = wanted[i : i + _IN]
            q = f"SELECT key, status, reason, metrics, monthly FROM results WHERE key IN ({','.join('?' * len(part))})"
            for key, status, reason, metrics, monthly in self.db.execute(q, part):
                out[key] = {
                    "status": status,
                    "reason": reason,
                    "metrics": json.loads(metrics),
                    "monthly": None if monthly is None else np.frombuffer(monthly, dtype="<f8"),
                }
        return out

    # -- the current sweep's variant list ---------------------------------------------------------------------
    def clear_variants(self) -> None:
        """Forget the variant list: the run about to stream its variants writes its own (a SWEEP.toml edited
        between runs must not leave the old list's tail behind)."""
        with self.db:
            self.db.execute("DELETE FROM variants")

    def add_variants(self, rows: Iterable[tuple[int, str, dict[str, Any], bool, tuple[str, ...], str]]) -> None:
        """(index, key, params, possible, normalized regimes, reason) per variant, in one transaction."""
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO variants (idx, key, params, possible, normalized, reason) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(i, k, json.dumps(p, default=str), int(ok), ",".join(norm), why)
                 for i, k, p, ok, norm, why in rows],
            )

    def board_rows(self, chunk: int = 1000) -> Iterator[dict[str, Any]]:
        """Every listed variant in index order with its result (None: not screened yet), read in chunks."""
        cur = self.db.execute(
            "SELECT v.idx, v.key, v.params, v.possible, v.normalized, v.reason, r.status, r.reason, r.metrics, "
            "length(r.monthly) FROM variants v LEFT JOIN results r ON r.key = v.key ORDER BY v.idx"
        )
        while rows := cur.fetchmany(chunk):
            for idx, key, params, possible, norm, why, status, r_reason, metrics, n_bytes in rows:
                yield {
                    "index": idx, "key": key, "params": json.loads(params), "possible": bool(possible),
                    "normalized": norm, "reason": why,
                    "result": None if status is None else {
                        "status": status, "reason": r_reason, "metrics": json.loads(metrics),
                        "n_months": None if n_bytes is None else n_bytes // 8,
                    },
                }

    def monthly_columns(self, indexes: set[int], chunk: int = 500) -> Iterator[tuple[int, np.ndarray]]:
        """(index, monthly returns) of the listed variants in ``indexes``, in index order, read in chunks."""
        cur = self.db.execute(
            "SELECT v.idx, r.monthly FROM variants v JOIN results r ON r.key = v.key "
            "WHERE r.monthly IS NOT NULL ORDER BY v.idx"
        )
        while rows := cur.fetchmany(chunk):
            for idx, blob in rows:
                if idx in indexes:
                    yield idx, np.frombuffer(blob, dtype="<f8")
