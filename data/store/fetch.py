"""Vendor downloads: FRED's keyless CSV (``fredgraph.csv?id=SERIES``) and Yahoo Finance through ``yfinance``.

Each fetcher returns a store frame (index ``date``; ``value`` = the number the loader uses) or raises
:class:`~regimeshift.core.errors.FetchError` with one line naming the vendor, the series and what went wrong.
Nothing here writes anything: the caller commits only when every fetch of an update succeeded.

Every fetch has an overall deadline (``deadline``, a ``time.monotonic()`` instant; ``data update --timeout``
gives each series 60 s by default): a vendor that answers slowly, or drips its body a byte at a time (each read
arriving well inside the per-read ``TIMEOUT``), is abandoned at the deadline with a FetchError naming the series.
The download runs in a daemon thread the caller stops waiting for; FRED's reader also checks the deadline between
reads, so its thread ends promptly too.

Tests never reach the network: FRED's base URL is a setting (``REGIMESHIFT_FRED_URL``, ``--fred-url``), pointed at
a loopback server; the Yahoo download function is injected (:data:`YahooDownload`).
"""
from __future__ import annotations

import http.client
import os
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import pandas as pd

from regimeshift.core.errors import DataError, FetchError

FRED_URL = "https://fred.stlouisfed.org/graph/fredgraph.csv"
TIMEOUT = 30.0  # seconds one network read may wait
DEADLINE = 60.0  # seconds a whole series may take (``data update --timeout``)
T = TypeVar("T")


class _TooSlow(Exception):
    pass


def before(deadline: float | None, what: str, fetch: Callable[[], T]) -> T:
    """``fetch()``, or a FetchError when it has not finished by ``deadline`` (``time.monotonic()``; None: no
    limit). The fetch runs in a daemon thread: a stuck vendor can delay an update to its deadline, no longer."""
    if deadline is None:
        return fetch()
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = fetch()
        except BaseException as exc:  # handed to the caller as it is
            box["error"] = exc

    worker = threading.Thread(target=target, name=f"fetch {what}", daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(max(0.0, deadline - started))
    if worker.is_alive() or isinstance(box.get("error"), _TooSlow):
        raise FetchError(f"{what}: no complete answer before the deadline (abandoned after "
                         f"{time.monotonic() - started:.0f} s; --timeout gives a slow vendor longer)")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]

#: (ticker, first date wanted as YYYY-MM-DD or None for the whole history) -> a frame like yfinance's
#: ``Ticker.history(auto_adjust=False, actions=True)``: Open, High, Low, Close, Adj Close, Volume, Dividends,
#: Stock Splits on a DatetimeIndex.
YahooDownload = Callable[[str, str | None], pd.DataFrame]


def fred_url() -> str:
    return os.environ.get("REGIMESHIFT_FRED_URL") or FRED_URL


# -- FRED ------------------------------------------------------------------------------------------------------
def fetch_fred(series_id: str, start: str | None = None, *, base_url: str | None = None,
               timeout: float = TIMEOUT, deadline: float | None = None) -> pd.DataFrame:
    """Observations of ``series_id`` from ``start`` on (``cosd``; all of them when None), whole before
    ``deadline`` (``time.monotonic()``) or a FetchError."""
    base = base_url or fred_url()
    query = {"id": series_id, **({"cosd": start} if start else {})}
    url = f"{base}?{urllib.parse.urlencode(query)}"
    what = f"FRED {series_id}"

    def download() -> bytes:
        limit = timeout if deadline is None else max(0.1, min(timeout, deadline - time.monotonic()))
        chunks: list[bytes] = []
        try:
            with urllib.request.urlopen(url, timeout=limit) as resp:  # noqa: S310 (http(s) base URL from settings)
                # read1 returns what one read brings: a body dripped a byte at a time still reaches the check
                while chunk := resp.read1(65536):
                    chunks.append(chunk)
                    if deadline is not None and time.monotonic() > deadline:
                        raise _TooSlow
                if resp.length:  # Content-Length promised more than came before the connection closed
                    raise http.client.IncompleteRead(b"".join(chunks), resp.length)
        except urllib.error.HTTPError as exc:
            hint = {404: "not found: is the series id right?", 429: "rate limited: retry later",
                    500: "server error: retry later", 503: "service unavailable: retry later"}.get(exc.code,
                                                                                                   exc.reason)
            raise FetchError(f"{what}: HTTP {exc.code} ({hint}) from {base}") from None
        except http.client.IncompleteRead as exc:
            raise FetchError(
                f"{what}: truncated response ({len(exc.partial)} bytes, connection closed early)") from None
        except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, http.client.HTTPException,
                OSError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise FetchError(f"{what}: network error ({' '.join(str(reason).split())}) reaching {base}") from None
        return b"".join(chunks)

    return parse_fred(series_id, before(deadline, what, download))


def parse_fred(series_id: str, body: bytes) -> pd.DataFrame:
    """FRED's CSV (``observation_date,ID`` or the older ``DATE,ID`` header; ``.`` or empty for no value)."""
    from regimeshift.data.csv_files import parse_csv_bytes

    what = f"FRED {series_id}"
    if not body.strip():
        raise FetchError(f"{what}: empty response (expected CSV with a header 'observation_date,{series_id}')")
    header = body.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0].decode("utf-8", "replace").strip().lower()
    fields = [f.strip() for f in header.split(",")]
    if len(fields) != 2 or fields[0] not in ("observation_date", "date") or fields[1] != series_id.lower():
        raise FetchError(
            f"{what}: not FRED CSV for this series (first line {header[:60]!r}; expected "
            f"'observation_date,{series_id}'): unknown series id?"
        )
    if not body.endswith(b"\n"):
        raise FetchError(f"{what}: truncated response (the last line is incomplete)")
    try:
        series, _ = parse_csv_bytes(f"{series_id}.csv", body, min_rows=0)
    except DataError as exc:
        raise FetchError(f"{what}: malformed response ({exc})") from None
    frame = pd.DataFrame({"value": series.astype("float64")})
    frame["open"] = np.nan
    frame.index.name = "date"
    return frame


# -- Yahoo -----------------------------------------------------------------------------------------------------
def yfinance_download(ticker: str, start: str | None) -> pd.DataFrame:  # pragma: no cover - needs the network
    """The real download: ``yfinance.Ticker(ticker).history`` with raw and adjusted closes and actions."""
    import yfinance as yf

    kwargs = {"start": start} if start else {"period": "max"}
    return yf.Ticker(ticker).history(auto_adjust=False, actions=True, raise_errors=True, **kwargs)


_YAHOO_COLUMNS = {"Adj Close": "value", "Open": "raw_open", "High": "high", "Low": "low", "Close": "close",
                  "Volume": "volume", "Dividends": "dividends", "Stock Splits": "splits"}


def fetch_yahoo(ticker: str, start: str | None = None, *, download: YahooDownload | None = None,
                deadline: float | None = None) -> pd.DataFrame:
    """Daily bars of ``ticker`` from ``start`` on: adjusted close (``value``), the open on its basis, the raw
    OHLCV, dividends and splits; whole before ``deadline`` (``time.monotonic()``) or a FetchError."""
    what = f"Yahoo {ticker}"
    try:
        raw = before(deadline, what, lambda: (download or yfinance_download)(ticker, start))
    except FetchError:
        raise
    except Exception as exc:  # yfinance raises its own, requests' and plain exceptions alike
        text = " ".join(str(exc).split()) or type(exc).__name__
        raise FetchError(f"{what}: download failed ({text[:200]})") from None
    if raw is None or len(raw) == 0:
        raise FetchError(f"{what}: no rows returned (unknown symbol, or delisted?)")
    if isinstance(raw.columns, pd.MultiIndex):  # yf.download's (field, ticker) columns
        raw = raw.droplevel(-1, axis=1) if raw.columns.nlevels > 1 else raw
    missing = [c for c in ("Adj Close", "Open", "Close") if c not in raw.columns]
    if missing:
        raise FetchError(f"{what}: response lacks {', '.join(missing)} (expected auto_adjust=False bars)")
    frame = raw.rename(columns=_YAHOO_COLUMNS)[[c for c in _YAHOO_COLUMNS.values() if c in raw.rename(
        columns=_YAHOO_COLUMNS).columns]].astype("float64")
    index = pd.DatetimeIndex(frame.index)
    if index.tz is not None:
        index = index.tz_localize(None)
    frame.index = index.normalize().as_unit("ns")
    frame.index.name = "date"
    frame = frame[frame["value"].notna()]
    if frame.index.has_duplicates:
        frame = frame[~frame.index.duplicated(keep="last")]
    frame = frame.sort_index()
    if frame.empty:
        raise FetchError(f"{what}: no rows with an adjusted close (unknown symbol, or delisted?)")
    bad = ~(frame["value"].to_numpy() > 0) | ~(frame["close"].to_numpy() > 0)
    if bad.any():
        day = frame.index[int(np.argmax(bad))].date()
        raise FetchError(f"{what}: non-positive price on {day} (expected > 0)")
    frame.insert(1, "open", frame["raw_open"] * frame["value"] / frame["close"])
    for col in ("dividends", "splits"):
        if col not in frame.columns:
            frame[col] = 0.0
    return frame
