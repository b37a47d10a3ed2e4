"""The data store's tasks a command or the live evening runs: which store, which series, update, staleness.

No command-line code here: ``regimeshift data`` (:mod:`regimeshift.cli.data`) and the scheduler
(:mod:`regimeshift.live.schedule`) both call these.
"""
from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

DEFAULT_TIMEOUT = 60.0  # seconds per series (data.store.fetch.DEADLINE)

#: the Yahoo download function (``data.store.fetch.YahooDownload``); None = yfinance. Tests set it.
YAHOO_DOWNLOAD: Any = None


def store_of(cfg: Any, store: Path | None) -> Path:
    """The store a command works on: --store, else data.dir of a config whose data.source is "store"."""
    from regimeshift.core.errors import ConfigError

    if store is not None:
        return store
    if cfg is not None and cfg.data.source == "store" and cfg.data.dir:
        return Path(cfg.data.dir)
    raise ConfigError("--store: no data store given (pass --store DIR or set data.source = \"store\" and data.dir)")


def wanted_series(cfg: Any) -> list[Any]:
    """Every series the config reads: price symbols (sleeves, benchmark, feature symbols) and macro series."""
    from regimeshift.data.store.update import resolve_vendors
    from regimeshift.pipeline import feature_symbols

    return resolve_vendors(feature_symbols(cfg), cfg.data.macro, cfg.data.vendors)


def run_update(cfg: Any, store: Path, now: datetime.datetime, *, fred_url: str | None = None,
               download: Any = None, wait: float | None = None, keep_going: bool = False,
               timeout: float = DEFAULT_TIMEOUT) -> Any:
    """``data update`` without the command line (the scheduler calls this); ``timeout``: seconds per series."""
    from regimeshift.data.store.store import Store
    from regimeshift.data.store.update import update_store

    return update_store(Store(store), wanted_series(cfg), now, fred_url=fred_url,
                        download=download if download is not None else YAHOO_DOWNLOAD, lock_wait=wait,
                        keep_going=keep_going, timeout=timeout)


def stale_lines(store: Path, today: datetime.date, cfg: Any = None) -> tuple[list[str], list[str]]:
    """The manifest as a table with each series' staleness, and the names of the stale ones."""
    from regimeshift.data.store.store import Store
    from regimeshift.data.store.update import freshness

    st = Store(store)
    with st.reading(wait=60.0):  # one state of the store, and nothing written to it (a reader)
        manifest = st.manifest()["series"]
        names = None
        if cfg is not None:
            names = [w.name for w in wanted_series(cfg) if w.name in manifest]
        rows = freshness(st, today, cfg.data.macro_lags if cfg is not None else None, names)
    lines = [f"{'series':<28}{'source':<24}{'first':<12}{'last':<12}{'rows':>7}  {'fetched at':<20}"
             f"{'age':>5}  status"]
    stale = []
    for f in rows:
        e = manifest[f.name]
        status = f"STALE (allowed {f.allowed} trading days)" if f.stale else "ok"
        if f.age < 0:  # stored before the store refused rows dated after their fetch: never "ok"
            status = f"FUTURE (last date is {-f.age} trading days after {today}; runs refuse it)"
        if f.stale or f.age < 0:
            stale.append(f.name)
        lines.append(f"{f.name:<28}{e['source'] + ':' + e['ticker']:<24}{e['first']:<12}{e['last']:<12}"
                     f"{e['rows']:>7}  {e['fetched_at']:<20}{f.age:>5}  {status}")
    return lines, stale
