"""Bring a store up to date: fetch the missing tail of each series, detect restatements, commit once.

Incremental rule: a series already in the store is re-fetched from a few observations before its last date
(:data:`OVERLAP` rows). The overlap must agree with what is stored; if it does not (a new dividend rescaled every
older adjusted close; FRED revised a print), or an observation vanished, the vendor restated history: the whole
series is fetched again and replaced, and ``changes.log`` records which days moved and by how much. Two scales
are never spliced together.

A failed fetch (HTTP error, unknown symbol, truncated body) leaves the store exactly as it was by default: an
evening's data lands whole or not at all, and :class:`IncompleteUpdate` names every series that failed. With
``keep_going`` one failing series never blocks the others: it is left as it was and every other series is
committed as usual -- in one commit, so after a crash the store holds the old state or the new one.
"""
from __future__ import annotations

import datetime
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from regimeshift.data.store.fetch import DEADLINE, YahooDownload, fetch_fred, fetch_yahoo
from regimeshift.data.store.store import SeriesUpdate, Store
from regimeshift.core.errors import FetchError

OVERLAP = 5  # stored observations re-fetched to check the vendor still agrees with them
RTOL = 1e-7  # relative change on the overlap that counts as a restatement (a dividend is ~1e-3; float noise ~1e-15)

# where a series is fetched when the config's data.vendors does not say: prices from Yahoo under their own name,
# macro series from FRED under theirs, except these
DEFAULT_VENDORS: Mapping[str, str] = {
    "VIX": "fred:VIXCLS",
    "MOVE": "yahoo:^MOVE",
    "DXY": "yahoo:DX-Y.NYB",
    "IRX": "yahoo:^IRX",
    "TNX": "yahoo:^TNX",
}


@dataclass(frozen=True)
class Wanted:
    name: str  # the name the loader asks for (the config's symbol or macro series)
    kind: str  # "price" or "macro"
    vendor: str  # "yahoo" or "fred"
    ticker: str


def resolve_vendors(prices: Sequence[str], macro: Sequence[str], overrides: Mapping[str, str]) -> list[Wanted]:
    out: dict[str, Wanted] = {}
    for kind, names in (("price", prices), ("macro", macro)):
        for name in names:
            if name in out:
                continue
            spec = overrides.get(name) or DEFAULT_VENDORS.get(name) or (
                f"yahoo:{name}" if kind == "price" else f"fred:{name}")
            vendor, _, ticker = spec.partition(":")
            out[name] = Wanted(name, kind, vendor, ticker)
    return list(out.values())


@dataclass
class UpdateReport:
    appended: dict[str, int] = field(default_factory=dict)  # name -> new rows
    restated: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> what changed
    created: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # name -> the fetch's one-line error (series untouched)
    wanted: int = 0  # how many series the update was asked for

    def lines(self) -> list[str]:
        out = [f"new     {n}: {0 if n not in self.appended else self.appended[n]} rows" for n in self.created]
        out += [f"updated {n}: +{k} row{'s' if k != 1 else ''}" for n, k in self.appended.items()
                if n not in self.created]
        for n, info in self.restated.items():
            out.append(
                f"restated {n}: {info['changed']} stored day(s) changed ({info['first_changed']} .. "
                f"{info['last_changed']}, largest relative change {info['max_rel_change']:.3g}); rewrote the series"
            )
        out += [f"failed  {n}: {why} (left as it was)" for n, why in self.failed.items()]
        return out


class IncompleteUpdate(FetchError):
    """Some series could not be fetched. ``committed``: whether the others were stored (``keep_going``) or the
    store left as it was. ``report`` says what was done; the message names the failed series (one line, exit 3)."""

    def __init__(self, report: UpdateReport, committed: bool = True) -> None:
        names = list(report.failed)
        done = report.wanted - len(names)
        if not committed:
            what = f"{names[0]} ({report.failed[names[0]]})" if len(names) == 1 else ", ".join(names)
            message = (f"data update failed: {what}; nothing was stored, the store is as it was "
                       f"(--keep-going stores the series that did fetch)")
        else:
            others = "no series was updated"
            if done:
                others = f"the other {done} series {'was' if done == 1 else 'were'} updated"
            if len(names) == 1:
                head = f"{names[0]} failed and was left as it was ({report.failed[names[0]]})"
            else:
                head = f"{len(names)} series failed and were left as they were: {', '.join(names)}"
            message = f"data update incomplete: {head}; {others}"
        super().__init__(message)
        self.report = report
        self.committed = committed


def _fetch(w: Wanted, start: str | None, *, fred_url: str | None, download: YahooDownload | None,
           deadline: float | None = None) -> pd.DataFrame:
    if w.vendor == "fred":
        return fetch_fred(w.ticker, start, base_url=fred_url, deadline=deadline)
    return fetch_yahoo(w.ticker, start, download=download, deadline=deadline)


def diff_overlap(old: pd.DataFrame, new: pd.DataFrame) -> dict[str, Any] | None:
    """What changed on the days both hold (value column), or None when they agree. A stored day the vendor no
    longer has counts as changed (new value NaN)."""
    common = old.index[old.index >= new.index[0]] if len(new) else old.index[:0]
    a = old["value"].reindex(common).to_numpy()
    b = new["value"].reindex(common).to_numpy()
    changed = ~np.isclose(a, b, rtol=RTOL, atol=0.0) | np.isnan(b)
    if not changed.any():
        return None
    days = common[changed]
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.abs(b[changed] / a[changed] - 1.0)
    return {
        "changed": int(changed.sum()),
        "first_changed": str(days[0].date()),
        "last_changed": str(days[-1].date()),
        "max_rel_change": float(np.nanmax(rel)) if np.isfinite(rel).any() else float("nan"),
        "examples": [[str(d.date()), float(x), None if np.isnan(y) else float(y)]
                     for d, x, y in list(zip(days, a[changed], b[changed], strict=True))[:5]],
    }


def update_store(
    store: Store,
    wanted: Sequence[Wanted],
    now: datetime.datetime,
    *,
    fred_url: str | None = None,
    download: YahooDownload | None = None,
    lock_wait: float | None = None,
    keep_going: bool = False,
    timeout: float | None = DEADLINE,
) -> UpdateReport:
    """Fetch what ``wanted`` lacks, then commit every series that was fetched, once. Holds the store's lock
    throughout, so two updates never interleave. If a fetch failed, nothing is committed and
    :class:`IncompleteUpdate` (a FetchError carrying the report) names the failed series; with ``keep_going`` the
    others are committed first and only the failed ones are left as they were. ``timeout``: seconds each series
    may take, all its downloads together (None: no limit); a series past it fails like any other fetch."""
    report = UpdateReport(wanted=len(wanted))
    with store.locked(wait=lock_wait):
        have = store.manifest()["series"]
        updates: list[SeriesUpdate] = []
        archive: list[tuple[str, pd.DataFrame]] = []
        log: list[dict[str, Any]] = []
        stamp = now.isoformat(timespec="seconds")
        for w in wanted:
            try:
                deadline = None if timeout is None else time.monotonic() + timeout
                step = _update_one(store, w, have.get(w.name), stamp, fred_url=fred_url, download=download,
                                   deadline=deadline)
            except FetchError as err:  # this series only: the rest of the evening's data still lands
                report.failed[w.name] = str(err)
                continue
            updates.append(step.update)
            log += [step.log] if step.log is not None else []
            if step.event == "created":
                report.created.append(w.name)
                report.appended[w.name] = len(step.update.frame)
            elif step.event == "restated":
                report.restated[w.name] = step.restated
                archive.append((w.name, step.replaced))
            else:
                report.appended[w.name] = step.new_rows
        if report.failed and not keep_going:
            raise IncompleteUpdate(UpdateReport(wanted=report.wanted, failed=report.failed), committed=False)
        store.commit(updates, log, now, archive)
    if report.failed:
        raise IncompleteUpdate(report)
    return report


@dataclass(frozen=True)
class _Step:
    """One series' new state, fetched but not yet written."""

    event: str  # "created", "restated" or "appended" (0 new rows included)
    update: SeriesUpdate
    log: dict[str, Any] | None  # its changes.log line, if anything changed
    replaced: pd.DataFrame | None = None  # restated: the stored version, archived under history/
    restated: dict[str, Any] = field(default_factory=dict)  # restated: what moved
    new_rows: int = 0  # appended: how many


def _not_after_fetch(w: Wanted, frame: pd.DataFrame, stamp: str) -> pd.DataFrame:
    """``frame`` when no row is dated after the fetch time (``stamp``, UTC; a date is allowed up to where the day
    is latest on Earth, UTC+14); FetchError naming the series, row and date otherwise: a vendor's placeholder row
    (2030-01-02) would become every run's last day, and `data show` would call the series fresh forever."""
    limit = (pd.Timestamp(stamp) + pd.Timedelta(hours=14)).normalize()
    late = frame.index > limit
    if late.any():
        i = int(np.argmax(late))
        raise FetchError(f"{w.name} ({w.vendor}:{w.ticker}) row {i + 1}: date {frame.index[i].date()} is after the "
                         f"fetch time {stamp} UTC (a vendor placeholder? refused; nothing of {w.name} was stored)")
    return frame


def _update_one(store: Store, w: Wanted, entry: Mapping[str, Any] | None, stamp: str, *, fred_url: str | None,
                download: YahooDownload | None, deadline: float | None = None) -> _Step:
    """Fetch one series (raises FetchError before anything of it is kept)."""
    source = f"{w.vendor}:{w.ticker}"

    def fetch(start: str | None) -> pd.DataFrame:
        return _not_after_fetch(w, _fetch(w, start, fred_url=fred_url, download=download, deadline=deadline), stamp)

    if entry is None:
        frame = fetch(None)
        return _Step("created", SeriesUpdate(w.name, frame, w.vendor, w.ticker, w.kind), {
            "at": stamp, "event": "created", "series": w.name, "source": source, "rows": len(frame),
            "last": str(frame.index[-1].date())})
    old = store.frame(w.name)
    start = old.index[max(len(old) - OVERLAP, 0)]
    tail = fetch(str(start.date()))
    diff = diff_overlap(old, tail) if entry.get("source") == w.vendor else {
        "changed": int(len(old)), "first_changed": str(old.index[0].date()),
        "last_changed": str(old.index[-1].date()), "max_rel_change": float("nan"),
        "examples": [], "reason": f"was from {entry.get('source')}, now {w.vendor}"}
    if diff is not None:
        frame = fetch(None)
        full = diff_overlap(old, frame) or diff
        return _Step("restated", SeriesUpdate(w.name, frame, w.vendor, w.ticker, w.kind),
                     {"at": stamp, "event": "restated", "series": w.name, "source": source, **full},
                     replaced=old, restated=full)
    extra = tail[tail.index > old.index[-1]]
    frame = pd.concat([old, extra.reindex(columns=old.columns)]) if len(extra) else old
    line = {"at": stamp, "event": "appended", "series": w.name, "rows": len(extra),
            "last": str(frame.index[-1].date())} if len(extra) else None
    return _Step("appended", SeriesUpdate(w.name, frame, w.vendor, w.ticker, w.kind), line, new_rows=len(extra))


# -- staleness ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Freshness:
    name: str
    last: str
    age: int  # NYSE trading days from the last observation to today
    allowed: int  # trading days the cadence and publication lag allow
    kind: str

    @property
    def stale(self) -> bool:
        return self.age > self.allowed


def freshness(store: Store, today: datetime.date, lags: Mapping[str, int] | None = None,
              names: Sequence[str] | None = None) -> list[Freshness]:
    """Each series' age against what its cadence allows: the usual gap between observations plus its publication
    lag (prices: 0, the close is in the evening's data) plus one day of grace -- all in NYSE trading days, so an
    exchange holiday (Good Friday, Thanksgiving) never counts as a missed update."""
    from regimeshift.data.market import DEFAULT_MACRO_LAGS
    from regimeshift.data.trading_calendar import trading_days_between

    out = []
    manifest = store.manifest()["series"]
    for name in names if names is not None else sorted(manifest):
        entry = manifest[name]
        frame = store.frame(name)
        days = frame.index[-21:].to_numpy(dtype="datetime64[D]")
        cadence = max(int(np.median(trading_days_between(days[:-1], days[1:]))), 1) if len(days) > 1 else 1
        lag = 0 if entry.get("kind") == "price" else int((lags or {}).get(name, DEFAULT_MACRO_LAGS.get(name, 1)))
        age = int(trading_days_between(np.datetime64(entry["last"], "D"), np.datetime64(today, "D")))
        out.append(Freshness(name, entry["last"], age, cadence + lag + 1, entry.get("kind", "?")))
    return out
