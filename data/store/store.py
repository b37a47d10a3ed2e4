"""A local data store: one Parquet file per series plus a manifest, read by the loader exactly like a CSV folder.

Layout of a store folder::

    manifest.json         {"version": 1, "series": {NAME: {source, ticker, kind, fetched_at, first, last, rows,
                          sha256, columns}}}
    series/NAME.parquet   date + value (the price the loader uses: the adjusted close for prices) + open (on the
                          value's basis, NaN when unknown) + for vendor prices the raw open/high/low/close/volume,
                          dividends and splits
    changes.log           one JSON line per update that changed a series (appended, restatements say what moved)
    .lock                 held by every writer (core.lock)

A series holds what the CSV loader would have parsed from its file: ascending dates, missing observations
(FRED's ``.``) dropped, values unlagged. Publication lags are applied by the loader on reading, the same code
path as for CSVs, so a store can never leak a value a CSV run would not see.

Every change (series files, manifest, log) is one :func:`~regimeshift.core.atomic.commit_files`: after a crash the
store holds the old state or the new one, never a mix.

Nothing read from the folder is trusted: the manifest is checked against :mod:`.schema` and the journal's index by
:func:`~regimeshift.core.atomic.journal_index` before either is used, and every file they name must stay inside the
store. Only writers (``data update``, ``data import``, ``schedule``) change the folder. Readers (``run``,
``signal``, ``regimes``, ``data show``) never write to it: when a writer was killed after its commit point, they
read the committed state through the journal (its files take precedence over the folder's) and leave applying
it to the next writer, which does so first, under the lock.
"""
from __future__ import annotations

import contextlib
import datetime
import hashlib
import io
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from regimeshift.data.store.schema import HISTORY_DIR, SERIES_DIR, check_manifest, check_name
from regimeshift.core.atomic import JOURNAL, commit_files, confined, journal_index, recover
from regimeshift.core.errors import DataError
from regimeshift.core.locks import folder_lock

MANIFEST = "manifest.json"
CHANGES = "changes.log"
PRICE_COLUMNS = ("value", "open", "raw_open", "high", "low", "close", "volume", "dividends", "splits")


def content_hash(frame: pd.DataFrame) -> str:
    """sha256 of a series' dates and values (not of the Parquet bytes, which carry library versions)."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(frame.index.to_numpy(dtype="datetime64[ns]").view("int64")).tobytes())
    for col in frame.columns:
        h.update(str(col).encode() + b"\0")
        h.update(np.ascontiguousarray(frame[col].to_numpy(dtype="float64")).tobytes())
    return h.hexdigest()


def to_parquet_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    out = frame.reset_index()
    out.to_parquet(buf, engine="pyarrow", index=False)
    return buf.getvalue()


@dataclass(frozen=True)
class SeriesUpdate:
    """A new state for one series: its frame (index ``date``, float columns) and where it came from."""

    name: str
    frame: pd.DataFrame
    source: str  # "yahoo", "fred", "import"
    ticker: str  # the vendor's id (^VIX, DGS2) or the imported file name
    kind: str  # "price" or "macro"


class Store:
    """Reader and (under its lock) writer of one store folder."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser()

    # -- reading --------------------------------------------------------------------------------------------
    def exists(self) -> bool:
        return (self.root / MANIFEST).is_file() or (self.root / JOURNAL).is_dir()

    def manifest(self) -> dict[str, Any]:
        data = self._read_bytes(MANIFEST)
        path = self.root / MANIFEST
        if data is None:
            return {"version": 1, "series": {}}
        try:
            manifest = json.loads(data.decode("utf-8"))
        except ValueError as exc:
            raise DataError(f"{path}: not a store manifest ({' '.join(str(exc).split())})") from None
        return check_manifest(self.root, manifest)

    def names(self) -> list[str]:
        return sorted(self.manifest()["series"])

    def frame(self, name: str) -> pd.DataFrame:
        """The stored frame of ``name`` (index ``date``), checked against the manifest's content hash."""
        entry = self.entry(name)
        rel = f"{SERIES_DIR}/{name}.parquet"
        path = self.root / rel
        data = self._read_bytes(rel)
        if data is None:
            raise DataError(f"{path}: missing, though {self.root / MANIFEST} lists series {name!r}")
        frame = _read_frame(path, data)
        if content_hash(frame) != entry["sha256"]:
            raise DataError(f"{path}: content does not match the manifest's hash (the store was changed by hand?)")
        return frame

    def versions(self, name: str) -> list[pd.DataFrame]:
        """The current frame of ``name`` and every version a restatement replaced (newest first)."""
        out = [self.frame(name)] if name in self.manifest()["series"] else []
        check_name(self.root, name)
        prefix = f"{HISTORY_DIR}/{name}/"
        folder = self.root / prefix
        found: dict[str, Path] = {}
        for path in folder.glob("*.parquet") if confined(self.root, prefix.rstrip("/")).is_dir() else []:
            if not path.is_symlink():
                found[prefix + path.name] = path
        for rel, blob in self._pending().items():
            if rel.startswith(prefix) and rel.endswith(".parquet") and "/" not in rel[len(prefix):]:
                if blob is None:
                    found.pop(rel, None)
                else:
                    found[rel] = blob
        for rel, path in sorted(found.items(), key=lambda kv: kv[1].stat().st_mtime, reverse=True):
            frame = _read_frame(self.root / rel, path.read_bytes())
            if content_hash(frame).startswith(Path(rel).stem):
                out.append(frame)
        return out

    def entry(self, name: str) -> dict[str, Any]:
        series = self.manifest()["series"]
        if name not in series:
            have = ", ".join(sorted(series)[:8]) or "nothing yet"
            raise DataError(
                f"{name}: not in the store {self.root} (holds {have}); run `regimeshift data update` or "
                "`regimeshift data import` first"
            )
        return dict(series[name])

    def _pending(self) -> dict[str, Path | None]:
        """A committed journal a killed writer did not finish: file name -> its new content (None: deleted)."""
        try:
            return dict(journal_index(self.root))
        except DataError as err:
            raise DataError(f"data store {self.root}: {err}") from None

    def _read_bytes(self, rel: str) -> bytes | None:
        """The committed content of the store file ``rel`` (the journal's when it holds one), None if absent.
        Never writes: see the module docstring."""
        pending = self._pending()
        try:
            if rel in pending:
                blob = pending[rel]
                return None if blob is None else blob.read_bytes()
            path = confined(self.root, rel)
            return path.read_bytes() if path.is_file() else None
        except DataError as err:
            raise DataError(f"data store {self.root}: {err}") from None
        except OSError as exc:
            raise DataError(f"{self.root / rel}: cannot read it ({exc.strerror or exc})") from None

    @contextlib.contextmanager
    def reading(self, wait: float = 600.0) -> Iterator[None]:
        """A consistent view for the block: no update commits while it is held (readers share it)."""
        with folder_lock(self.root, "the data store", wait=wait, shared=True):
            yield

    # -- writing (hold the lock: ``with store.locked(): ...``) ---------------------------------------------
    @contextlib.contextmanager
    def locked(self, wait: float | None = None) -> Iterator[None]:
        """The writer's lock; a journal a killed writer left is applied first (checked whole, before any write)."""
        with folder_lock(self.root, "the data store", wait=wait):
            try:
                journal_index(self.root)
            except DataError as err:
                raise DataError(f"data store {self.root}: {err}") from None
            recover(self.root)
            yield

    def commit(self, updates: list[SeriesUpdate], log: list[dict[str, Any]], now: datetime.datetime,
               archive: list[tuple[str, pd.DataFrame]] = ()) -> None:  # type: ignore[assignment]
        """Write ``updates`` (whole series), their manifest entries and ``log`` lines as one step; ``archive``:
        versions being replaced by a restatement, kept under ``history/NAME/`` so that a decision taken on them
        can still be reproduced."""
        if not updates and not log:
            return
        manifest = self.manifest()
        files: dict[str, bytes | None] = {}
        for name, frame in archive:
            files[f"{HISTORY_DIR}/{name}/{content_hash(frame)[:16]}.parquet"] = to_parquet_bytes(frame)
        for u in updates:
            check_name(self.root, u.name)  # never write a manifest the readers would refuse
            frame = u.frame.astype("float64")
            frame.index.name = "date"
            files[f"{SERIES_DIR}/{u.name}.parquet"] = to_parquet_bytes(frame)
            manifest["series"][u.name] = {
                "source": u.source,
                "ticker": u.ticker,
                "kind": u.kind,
                "fetched_at": now.isoformat(timespec="seconds"),
                "first": str(frame.index[0].date()),
                "last": str(frame.index[-1].date()),
                "rows": int(len(frame)),
                "sha256": content_hash(frame),
                "columns": [str(c) for c in frame.columns],
            }
        manifest["series"] = dict(sorted(manifest["series"].items()))
        files[MANIFEST] = (json.dumps(manifest, indent=2) + "\n").encode()
        if log:
            old = (self.root / CHANGES).read_bytes() if (self.root / CHANGES).is_file() else b""
            files[CHANGES] = old + "".join(json.dumps(line, sort_keys=True) + "\n" for line in log).encode()
        commit_files(self.root, files)


def _read_frame(path: Path, data: bytes) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(io.BytesIO(data), engine="pyarrow")
        if "date" not in frame.columns:
            raise ValueError("no 'date' column")
    except (OSError, ValueError, TypeError) as exc:
        raise DataError(f"{path}: cannot read the stored series ({' '.join(str(exc).split())})") from None
    frame = frame.set_index("date")
    frame.index = pd.DatetimeIndex(frame.index).as_unit("ns")
    frame.index.name = "date"
    return frame.astype("float64")


class StoreSource:
    """A store as the loader's :class:`~regimeshift.data.sources.SeriesSource`: same series, same checks."""

    def __init__(self, store: Store | str | Path, price_dir: str | None = None) -> None:
        self.store = store if isinstance(store, Store) else Store(store)
        # a config's data.price_dir names an imported sub-folder: its series are stored as "<price_dir>/<NAME>"
        self.price_prefix = f"{Path(price_dir).as_posix().strip('/')}/" if price_dir else ""
        self.reads: dict[str, dict[str, Any]] = {}  # what was read: name -> rows, last date, content hash
        if not self.store.root.is_dir():
            raise DataError(f"data store {self.store.root} does not exist or is not a directory")
        if not self.store.exists():
            raise DataError(
                f"{self.store.root}: not a data store (no {MANIFEST}; create one with `regimeshift data update` "
                "or `regimeshift data import`)"
            )

    def _frame(self, name: str) -> pd.DataFrame:
        frame = self.store.frame(name)
        self.reads[name] = provenance(frame)
        return frame

    def _series(self, name: str, column: str, min_rows: int) -> pd.Series:
        frame = self._frame(name)
        s = frame[column].dropna().rename(name)
        from regimeshift.data.csv_files import latest_possible_date

        late = s.index.to_numpy(dtype="datetime64[D]") > latest_possible_date()
        if late.any():  # a store written before `data update` refused such rows
            i = int(np.argmax(late))
            raise DataError(f"{name} (store {self.store.root}) row {i + 1}: date {s.index[i].date()} is in the "
                            "future (expected dates up to today; run `regimeshift data update` to refetch)")
        if len(s) < max(min_rows, 0):
            span = f" ({s.index[0].date()} to {s.index[-1].date()})" if len(s) else ""
            raise DataError(
                f"{name} (store {self.store.root}): only {len(s)} row{'' if len(s) == 1 else 's'} with values"
                f"{span}; need at least {min_rows} (too little history)"
            )
        return s

    def price(
        self, symbol: str, *, min_rows: int, with_open: bool
    ) -> tuple[pd.Series, pd.Series | None, Callable[[int | None], str]]:
        key = self.price_prefix + symbol
        series = self._series(key, "value", min_rows).rename(symbol)
        opens = None
        if with_open:
            frame = self._frame(key)
            if "open" in frame.columns and frame["open"].notna().any():
                opens = frame["open"].reindex(series.index).rename(symbol)
                gone = opens.isna().to_numpy()
                if gone.any():
                    day = series.index[int(np.argmax(gone))].date()
                    raise DataError(
                        f"{symbol} (store {self.store.root}): open is empty on {day} although the price is there "
                        "(expected a number)"
                    )
        label = f"{symbol} (store {self.store.root})"
        return series, opens, lambda i: label if i is None else f"{label} row {i + 1}"

    def macro(self, name: str) -> pd.Series:
        return self._series(name, "value", 2)

    def describe(self, name: str) -> str:
        return f"{name} (store {self.store.root})"


def provenance(frame: pd.DataFrame) -> dict[str, Any]:
    """How a decision names the version of a series it read: its length, last date and content hash."""
    return {"rows": int(len(frame)), "last": str(frame.index[-1].date()) if len(frame) else None,
            "sha256": content_hash(frame)}


class SnapshotSource(StoreSource):
    """The series exactly as a past decision read them (``reads`` from its registry entry): each is the current
    version or a version archived by a restatement, cut to the recorded length and checked against its hash."""

    def __init__(self, store: Store | str | Path, reads: Mapping[str, Mapping[str, Any]],
                 price_dir: str | None = None) -> None:
        super().__init__(store, price_dir)
        self.wanted = {k: dict(v) for k, v in reads.items()}

    def _frame(self, name: str) -> pd.DataFrame:
        want = self.wanted.get(name)
        if want is None:
            raise DataError(f"{name}: the decision being reproduced did not read this series")
        for version in self.store.versions(name):
            cut = version.iloc[: want["rows"]]
            if len(cut) == want["rows"] and content_hash(cut) == want["sha256"]:
                self.reads[name] = provenance(cut)
                return cut
        raise DataError(
            f"{name}: the store {self.store.root} no longer holds the version read then ({want['rows']} rows to "
            f"{want['last']}, sha256 {want['sha256'][:12]}); it cannot be reproduced from this store"
        )


def frame_from_csv(series: pd.Series, opens: pd.Series | None) -> pd.DataFrame:
    """The store frame of a CSV as the loader parsed it: value and (when the file had one) the open."""
    frame = pd.DataFrame({"value": series.astype("float64")})
    frame["open"] = opens.astype("float64") if opens is not None else np.nan
    frame.index.name = "date"
    return frame


def import_csv_folder(folder: str | Path, store: Store, now: datetime.datetime,
                      names: Mapping[str, str] | None = None) -> list[str]:
    """Copy every ``*.csv`` of ``folder`` (and of its sub-folders, as ``SUB/NAME``, for ``data.price_dir``) into
    ``store`` as the CSV loader reads it; returns the series names.

    Imported series are parsed by the loader's own reader, so a run on the store sees the very numbers a run on
    the folder sees. The whole import is one commit.
    """
    from regimeshift.data.csv_files import parse_csv_bytes

    src = Path(folder).expanduser()
    if not src.is_dir():
        raise DataError(f"{src}: not a folder of CSV files")
    files = sorted(p for p in [*src.glob("*.csv"), *src.glob("*/*.csv")] if p.is_file())
    if not files:
        raise DataError(f"{src}: no .csv files to import")
    updates = []
    for path in files:
        raw = path.read_bytes()
        try:
            series, opens = parse_csv_bytes(path.name, raw, min_rows=1, with_open=True)
        except DataError as first:
            try:  # a broken open column only matters to a run that trades this series at its open
                series, _ = parse_csv_bytes(path.name, raw, min_rows=1, with_open=False)
                opens = None
            except DataError:
                raise first from None
        name = path.relative_to(src).with_suffix("").as_posix()
        updates.append(SeriesUpdate(name, frame_from_csv(series, opens), "import", path.name, "csv"))
    with store.locked(wait=60.0):
        store.commit(updates, [{"at": now.isoformat(timespec="seconds"), "event": "import", "folder": str(src),
                                "series": [u.name for u in updates]}], now)
    return [u.name for u in updates]
