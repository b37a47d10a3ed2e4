"""Load price and macro CSVs as found, validate them, and align them without look-ahead.

Every bad-input path ends in a :class:`~backtests.errors.DataError` whose message is one line naming the
file, the line (1-based, header = line 1) or field, and what was expected. Parsing is vectorised (pandas
reads every field as text, then masks find the offending rows), so the ~40 files in ``shared/data`` load
in a fraction of a second.

Open prices: a price file with an ``open`` column (any case) also gives the day's open, on the same basis as
the price taken from it (see :func:`_adjusted_opens`), so the replay can fill next-bar orders at the open.

Look-ahead rule for macro series: an observation dated ``d`` becomes visible ``lag`` business days after
``d`` (its publication lag) and is then carried forward as-of, never backwards. With ``lag >= 1`` nothing
dated ``d`` is visible on ``d`` itself.
"""
from __future__ import annotations

import csv
import datetime
import difflib
import errno
import io
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd
from regimeshift.core.constants import TRADING_DAYS
from regimeshift.backtests.calendar_check import (
    DEFAULT_MAX_GAP_DAYS,
    Gap,
    check_gaps,
    fill_forward,
    find_gaps,
    late_start,
)
from regimeshift.backtests.data_checks import DEFAULT_MAX_DAILY_MOVE, check_daily_moves, check_not_constant
from regimeshift.core.errors import DataError

__all__ = [
    "DEFAULT_MACRO_LAGS",
    "CsvSource",
    "MarketData",
    "SeriesSource",
    "align_macro",
    "load_market",
    "load_prices",
    "max_staleness",
    "parse_csv_bytes",
    "read_series",
]

# Business days between the date an observation describes and the first trading day a strategy could
# have known it. Daily market/FRED series: the close is known after the session, so usable next day.
_DAILY = (
    "VIX", "MOVE", "DXY", "IRX", "TNX", "DGS2", "DGS10", "T10Y2Y", "DFF", "BAMLC0A0CM", "BAMLH0A0HYM2",
    "BAA10Y", "TEDRATE", "RRPONTSYD", "DTWEXBGS",
)
DEFAULT_MACRO_LAGS: Mapping[str, int] = MappingProxyType(
    {
        **{name: 1 for name in _DAILY},
        # Weekly, published within a week of the date they describe: STLFSI4 (week to Friday, out the
        # next Thursday), ANFCI (week to Friday, out Wednesday), WALCL (Wednesday level, out Thursday).
        "STLFSI4": 5,
        "ANFCI": 5,
        "WALCL": 5,
        # H.6 money stock has been published monthly (4th Tuesday) since Feb 2021, so a weekly WM2NS
        # observation can be up to ~6 weeks old when it first appears; before 2021 it was ~8 business
        # days. A "one week" lag would leak data for most weeks after 2021, so take the safe bound.
        "WM2NS": 32,
        # M2SL is dated the 1st of the month it averages over and published on the 4th Tuesday of the
        # following month: up to ~42 business days after its date. "About a month" would leak.
        "M2SL": 42,
    }
)

_DATE_NAMES = ("date", "timestamp", "observation_date")
_ADJ_NAMES = ("adj_close", "adjusted_close")  # compared after lower-casing and ' ' -> '_'
_CLOSE_NAMES = ("close",)
_VALUE_NAMES = ("value",)  # FRED-style downloads of a macro series (never taken as a price)
_MISSING_TOKENS = ("", ".")  # FRED writes holidays as empty or '.'
_DAILY_STALENESS = 10  # business days a daily value may be carried forward before it counts as gone
# Timestamps outside this window overflow nanosecond resolution; a year outside it is a typo anyway.
_MIN_DATE, _MAX_DATE = pd.Timestamp("1678-01-01"), pd.Timestamp("2261-12-31")


@dataclass(frozen=True)
class MarketData:
    """Everything the pipeline needs from the data layer.

    ``prices``: DatetimeIndex named ``date`` (tz-naive, midnight, ascending, unique), one float column per
    symbol in requested order, no NaN. ``macro``: same index, one column per macro series, already lagged
    by its publication lag and forward-filled (up to a staleness limit); NaN before a series' first
    available value and after it has gone stale. ``true_regimes`` is set only by the synthetic market.
    ``opens``: same index and columns as ``prices``, the open of each day on the price's basis (adjusted
    when the price is an adjusted close); ``None`` unless every price file has an open column, because the
    replay fills at opens only when it can do so for every symbol it trades.
    ``history``: the regime features' inputs (benchmark and feature symbols, macro) from an earlier date on
    their own calendar (``regimes.history_start``), so the regime model can learn from crises before the
    first trade; ``None``: features are computed from ``prices``/``macro``.
    """

    prices: pd.DataFrame
    macro: pd.DataFrame
    true_regimes: pd.Series | None = None
    opens: pd.DataFrame | None = None
    history: MarketData | None = None
    # what was read: series name -> {rows, last, sha256} (see backtests.store.store.provenance); None when the
    # data did not come from files (synthetic, built in memory)
    provenance: Mapping[str, Mapping[str, object]] | None = None
    # stretches of the calendar a price series missed and the loader filled forward (only with allow_gaps;
    # without it a long one is an error): backtests/calendar_check.py
    gaps: tuple[Gap, ...] = ()
    # what the loader changed that the user did not ask for, one sentence each (a start moved by a late series)
    notices: tuple[str, ...] = ()


# -- reading one file ----------------------------------------------------------------------------------------
def read_series(path: str | Path, *, min_rows: int = 2) -> pd.Series:
    """Read one CSV as found into a float Series named after the file stem (case kept), ascending dates.

    Accepts any of the date-column names Date/timestamp/observation_date (any case); takes the adjusted
    close if present, else the close, else the only non-date column. Tolerates CRLF, a UTF-8 BOM, FRED's
    empty or ``.`` holiday values (those rows are dropped), blank lines and newest-first order. Anything
    else malformed raises :class:`DataError` naming the file and line.
    """
    series, _, _ = _read_with_lines(Path(path), min_rows=min_rows)
    return series


def _read_with_lines(
    path: Path, *, min_rows: int, with_open: bool = False, price: bool = False
) -> tuple[pd.Series, np.ndarray, pd.Series | None]:
    """read_series plus the 1-based file line of every returned value, so callers can point at rows, and,
    with ``with_open``, the opens on the value's basis (``None`` when the file has no usable open column)."""
    text, header_line = _decode(path)
    return _parse_text(path.name, path.stem, text, header_line, min_rows=min_rows, with_open=with_open, price=price)


def parse_csv_bytes(
    name: str, raw: bytes, *, min_rows: int = 2, with_open: bool = False, price: bool = False
) -> tuple[pd.Series, pd.Series | None]:
    """A CSV held in memory (a download, a store import) read exactly as :func:`read_series` reads a file:
    the value series (named after ``name``'s stem) and, with ``with_open``, the opens on its basis."""
    text, header_line = _decode_bytes(name, raw)
    series, _, opens = _parse_text(name, Path(name).stem, text, header_line, min_rows=min_rows, with_open=with_open,
                                   price=price)
    return series, opens


def _parse_text(
    name: str, stem: str, text: str, header_line: int, *, min_rows: int, with_open: bool, price: bool = False
) -> tuple[pd.Series, np.ndarray, pd.Series | None]:

    # The header is read here (not by pandas) so pandas only has to materialise the columns we use.
    first_line = _leading(r"[^\r\n]*", text)
    columns = [c.strip() for c in next(csv.reader([first_line]), [])]
    date_col, value_col = _pick_columns(name, header_line, columns, stem if price else None)
    if not text[len(first_line):].strip():
        # pandas fails with an IndexError on a header-only file read with positional dtypes
        raise DataError(f"{name}: no data rows after the header on line {header_line}")
    open_cols = _pick_open(columns, date_col, value_col) if with_open else None
    value_cols = [value_col, *(c for c in (open_cols or ()) if c is not None)]
    # Fast path: pandas' C parser converts the value columns, treating only '' and '.' as missing. If any
    # value is not a plain finite number, re-read them as text so the bad line can be found and named.
    df = _read_columns(name, text, header_line, date_col, value_cols, numeric=True)
    numeric = df is not None
    if df is None:
        df = _read_columns(name, text, header_line, date_col, value_cols, numeric=False)
        assert df is not None  # only the numeric fast path gives up with None
    date_txt = _text(df[date_col])
    raw = {c: df[c].to_numpy(dtype="float64") if numeric else _text(df[c]) for c in value_cols}
    lines = np.arange(len(df), dtype=np.int64) + header_line + 1

    dates = _parse_dates(date_txt)
    keep_rows = ~_blank_rows(text, header_line, lines, np.isnat(dates))
    if not keep_rows.any():
        raise DataError(f"{name}: no data rows after the header on line {header_line}")
    dates, date_txt, lines = (a[keep_rows] for a in (dates, date_txt, lines))
    raw = {c: v[keep_rows] for c, v in raw.items()}
    bad = np.isnat(dates)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(
            f"{name} line {lines[i]}: date {_show(date_txt[i])} is not a valid date (expected YYYY-MM-DD)"
        )

    parsed: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for c in value_cols:
        if numeric:
            values = np.array(raw[c], dtype="float64")
            parsed[c] = values, np.isnan(values)  # only '' and '.' (and absent fields) are NaN on the fast path
        else:
            parsed[c] = _parse_values(name, columns[c], raw[c], lines)
    values, missing = parsed[value_col]
    _check_not_future(name, dates, lines)
    order = _ordering(name, dates, lines)
    if price and missing.any() and _is_close(columns[value_col]):
        _check_no_empty_close(name, columns[value_col], dates[order], lines[order], missing[order])

    keep = order[~missing[order]]
    index = pd.DatetimeIndex(dates[keep], name="date")
    series = pd.Series(values[keep], index=index, name=stem, dtype="float64")
    if len(series) < max(min_rows, 0):
        span = f" ({index[0].date()} to {index[-1].date()})" if len(series) else ""
        raise DataError(
            f"{name}: only {len(series)} row{'' if len(series) == 1 else 's'} with values{span}; "
            f"need at least {min_rows} (too little history)"
        )
    opens = None
    if open_cols is not None:
        open_col, close_col = open_cols
        opens = _adjusted_opens(
            name,
            series,
            lines[keep],
            (columns[open_col], *(a[keep] for a in parsed[open_col])),
            None if close_col is None else (columns[close_col], *(a[keep] for a in parsed[close_col])),
        )
    return series, lines[keep], opens


def _adjusted_opens(
    name: str,
    prices: pd.Series,
    lines: np.ndarray,
    open_: tuple[str, np.ndarray, np.ndarray],
    close: tuple[str, np.ndarray, np.ndarray] | None,
) -> pd.Series:
    """The opens of the rows kept in ``prices``, checked and put on the basis of ``prices``.

    ``open_`` and ``close`` are (column name, values, missing) for those rows; ``close`` is given only when
    ``prices`` is an adjusted close. Alpha Vantage-style files carry an unadjusted open and close beside a
    split- and dividend-adjusted close. Filling at the raw open while marking at the adjusted close would
    book the whole adjustment (a 2:1 split, years of dividends) as a gain or loss on the fill day, so the
    open is scaled by that day's adjustment factor ``adjusted_close / close``. The factor of day t applies
    to every price of day t: splits and dividends take effect between sessions (the ex-date open is already
    ex), never within one.
    """

    def check(column: str, values: np.ndarray, missing: np.ndarray, why: str = "") -> None:
        gone = np.flatnonzero(missing)
        if len(gone):
            i = int(gone[0])
            raise DataError(
                f"{name} line {lines[i]}: {column} is empty on {prices.index[i].date()} although the price is "
                f"there (expected a number{why})"
            )
        bad = ~(values > 0)
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(
                f"{name} line {lines[i]}: {column} {float(values[i])!r} on {prices.index[i].date()} is not "
                f"positive (expected > 0{why})"
            )

    column, values, missing = open_
    check(column, values, missing)
    if close is not None:
        close_name, raw_close, close_missing = close
        check(close_name, raw_close, close_missing, "; it scales the open to the adjusted basis")
        values = values * (prices.to_numpy() / raw_close)
    return pd.Series(values, index=prices.index, name=prices.name, dtype="float64")


def _decode(path: Path) -> tuple[str, int]:
    """File text from its header line on, and that header's 1-based line number."""
    name = path.name
    if not path.is_file():
        what = _not_a_file(path)
        if what:
            raise DataError(f"{name}: {what} in {path.parent} (expected a CSV file)")
        raise DataError(f"{name}: file not found in {path.parent} ({_available_hint(path.parent, path.stem)})")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{name}: cannot read file in {path.parent} ({exc.strerror or exc})") from None
    return _decode_bytes(name, raw)


def _decode_bytes(name: str, raw: bytes) -> tuple[str, int]:
    try:
        text = raw.decode("utf-8-sig")  # -sig strips the BOM that would otherwise glue onto the first name
    except UnicodeDecodeError as exc:
        raise DataError(f"{name}: not UTF-8 text (undecodable byte at offset {exc.start})") from None
    # Leading blank lines would make pandas take an empty header; strip them but keep counting lines.
    lead = _leading(r"(?:[ \t]*(?:\r\n|\r|\n))*", text)
    header_line = 1 + lead.count("\n") + lead.count("\r") - lead.count("\r\n")
    text = text[len(lead):]
    if not text.strip():
        raise DataError(f"{name}: file is empty (expected a header such as 'Date,Close' and data rows)")
    return text, header_line


def _blank_rows(text: str, header_line: int, lines: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Rows that came from blank (or all-empty ',,') lines, which are skipped rather than rejected.

    Only rows whose date failed to parse can be blank, and there are few of them, so each is confirmed
    against its raw line (the other columns were never parsed).
    """
    blank = np.zeros(len(lines), dtype=bool)
    rows = np.flatnonzero(candidates)
    if len(rows):
        raw_lines = re.split(r"\r\n|\r|\n", text)
        for i in rows:
            k = int(lines[i]) - header_line
            blank[i] = k >= len(raw_lines) or raw_lines[k].strip(" \t,") == ""
    return blank


def _leading(pattern: str, text: str) -> str:
    """The prefix of ``text`` that ``pattern`` matches; the callers' patterns can match the empty string."""
    m = re.match(pattern, text)
    if m is None:
        raise ValueError(f"pattern {pattern!r} must match the empty string")
    return m.group()


def _read_columns(
    name: str, text: str, header_line: int, date_col: int, value_cols: Sequence[int], *, numeric: bool
) -> pd.DataFrame | None:
    """The date (as text) and value columns, labelled by their position in the header; ``None`` when
    ``numeric`` and some value is not a finite number.

    Blank lines are kept as rows so that row position maps straight onto the file line number.
    """
    wanted = [date_col, *value_cols]
    dtype: dict[int, object] = {c: "float64" if numeric else object for c in value_cols}
    dtype[date_col] = object
    try:
        df = pd.read_csv(
            io.StringIO(text),
            usecols=wanted,
            dtype=dtype,
            keep_default_na=False,
            na_values={c: list(_MISSING_TOKENS) for c in value_cols} if numeric else None,
            na_filter=numeric,
            skip_blank_lines=False,
        )
    except ValueError as exc:  # ParserError is a ValueError too
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if m:
            line = int(m.group(2)) + header_line - 1
            raise DataError(
                f"{name} line {line}: expected {m.group(1)} fields like the header, saw {m.group(3)}"
            ) from None
        m = re.search(r"EOF inside string starting at row (\d+)", str(exc))
        if m:
            line = int(m.group(1)) + header_line
            raise DataError(
                f"{name} line {line}: quote opened here is never closed (expected a closing '\"')"
            ) from None
        if numeric and not isinstance(exc, pd.errors.ParserError):
            return None
        raise DataError(f"{name}: not a readable CSV ({_one_line(str(exc))})") from None
    # usecols keeps file order (and pandas renames repeated header names), so label by header position
    df.columns = sorted(wanted)
    if numeric and np.isinf(df[list(value_cols)].to_numpy(dtype="float64")).any():
        return None
    return df


def _pick_columns(name: str, header_line: int, columns: list[str], symbol: str | None = None) -> tuple[int, int]:
    """Positions of the date and value columns, by the accepted names; DataError if ambiguous/missing.

    With ``symbol`` (a price file) the value must be named as a price: Adj Close/adjusted_close, Close or the
    symbol itself (as FRED names its column); any other lone column (``Volume``) is refused, never guessed.
    """
    where = f"{name} line {header_line} (header)"
    lowered = [c.lower() for c in columns]
    date_pos = next((i for i, c in enumerate(lowered) if c in _DATE_NAMES), None)
    if date_pos is None:
        raise DataError(
            f"{where}: no date column; columns seen: {_names(columns)}; "
            "accepted names: Date, timestamp, observation_date (any case)"
        )
    others = [i for i in range(len(columns)) if i != date_pos]
    norm = [re.sub(r"[\s_]+", "_", c) for c in lowered]
    for wanted in (_ADJ_NAMES, _CLOSE_NAMES, (symbol.lower(),) if symbol else _VALUE_NAMES):
        hit = next((i for i in others if norm[i] in wanted), None)
        if hit is not None:
            return date_pos, hit
    if symbol is not None and others:
        raise DataError(
            f"{where}: no price column; columns seen: {_names(columns)}; a price column is named "
            f"'Adj Close'/'adjusted_close', 'Close' or '{symbol}' (any case)"
        )
    if len(others) == 1:
        return date_pos, others[0]
    if not others:
        raise DataError(f"{where}: no value column besides {columns[date_pos]!r}; expected e.g. 'Date,Close'")
    raise DataError(
        f"{where}: cannot choose a value column among {_names([columns[i] for i in others])}; "
        "expected 'Adj Close'/'adjusted_close'/'adj_close', 'Close', or exactly one non-date column"
    )


def _is_close(column: str) -> bool:
    """A close or adjusted close column (a FRED-style column named after the series may skip holidays)."""
    return re.sub(r"[\s_]+", "_", column.strip().lower()) in (*_ADJ_NAMES, *_CLOSE_NAMES)


def _check_no_empty_close(name: str, column: str, dates: np.ndarray, lines: np.ndarray, missing: np.ndarray) -> None:
    """DataError at the first empty close between two prices (rows in date order). Dropping that row would merge
    the day's return into the next one's, unseen; a file that has no price for a day leaves the row out, and
    the calendar check (calendar_check.py) judges the hole. Rows before the first price or after the last
    merge nothing and are dropped, as before."""
    have = np.flatnonzero(~missing)
    if not len(have):
        return
    inside = missing.copy()
    inside[: have[0]] = False
    inside[have[-1] + 1:] = False
    if inside.any():
        i = int(np.argmax(inside))
        raise DataError(
            f"{name} line {lines[i]}: {column} is empty on {pd.Timestamp(dates[i]).date()} between two prices "
            "(expected a positive number; leave out the row of a day without a price)"
        )


def latest_possible_date() -> np.datetime64:
    """Today's date where it is latest on Earth (UTC+14): no observation can be dated after it, in any market's
    time zone, whatever the machine's own zone."""
    now = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=14)
    return np.datetime64(now.date(), "D")


def _check_not_future(name: str, dates: np.ndarray, lines: np.ndarray, limit: np.datetime64 | None = None) -> None:
    """DataError at the first row dated after ``limit`` (default: today): a vendor's placeholder or a typo
    (2030 for 2020) that would otherwise become the run's last day."""
    limit = latest_possible_date() if limit is None else limit
    late = dates.astype("datetime64[D]") > limit
    if late.any():
        i = int(np.argmax(late))
        raise DataError(
            f"{name} line {lines[i]}: date {pd.Timestamp(dates[i]).date()} is in the future (after {limit}; expected "
            "dates up to today)"
        )


def _pick_open(columns: list[str], date_col: int, value_col: int) -> tuple[int, int | None] | None:
    """(open column, raw close column or None) when the file's opens can be put on the value's basis.

    With an adjusted close as the value the raw close is needed to scale the open; a file with an open
    and an adjusted close but no raw close gives no opens rather than opens on the wrong basis.
    """
    norm = [re.sub(r"[\s_]+", "_", c.lower()) for c in columns]
    others = [i for i in range(len(columns)) if i not in (date_col, value_col)]
    open_col = next((i for i in others if norm[i] == "open"), None)
    if open_col is None:
        return None
    if norm[value_col] in _CLOSE_NAMES:
        return open_col, None
    if norm[value_col] in _ADJ_NAMES:
        close_col = next((i for i in others if norm[i] in _CLOSE_NAMES), None)
        return None if close_col is None else (open_col, close_col)
    return None


def _parse_dates(text: np.ndarray) -> np.ndarray:
    """YYYY-MM-DD strings to datetime64[ns]; NaT where a field is not such a date (or is out of range)."""

    def parse(tokens: object) -> np.ndarray:
        series = pd.to_datetime(pd.Series(tokens, dtype=object), format="%Y-%m-%d", errors="coerce")
        parsed = np.array(series.to_numpy())  # a writable copy
        # pandas may parse at second/microsecond resolution; a year like 0001 would wrap when cast to ns.
        parsed[(parsed < _MIN_DATE.to_datetime64()) | (parsed > _MAX_DATE.to_datetime64())] = np.datetime64("NaT")
        return parsed.astype("datetime64[ns]")

    parsed = parse(text)
    retry = np.flatnonzero(np.isnat(parsed))
    if len(retry):  # stray spaces are harmless; strip only where the fast path failed
        parsed[retry] = parse([str(t).strip() for t in text[retry]])
    return parsed


def _parse_values(name: str, column: str, text: np.ndarray, lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parse numbers; empty/'.' are missing (holidays), anything else non-finite raises with its line."""
    values = np.array(  # copy: to_numpy may hand back a read-only view
        pd.to_numeric(pd.Series(text, dtype=object), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    )
    missing = np.zeros(len(text), dtype=bool)
    failed = np.flatnonzero(~np.isfinite(values))
    if len(failed):  # rare path: FRED holidays ('' or '.'), stray spaces, or genuine garbage
        tokens = [str(t).strip() for t in text[failed]]
        missing[failed] = [t in _MISSING_TOKENS for t in tokens]
        values[failed] = pd.to_numeric(
            pd.Series([t if t not in _MISSING_TOKENS else "nan" for t in tokens], dtype=object), errors="coerce"
        ).to_numpy(dtype="float64", na_value=np.nan)
    bad = ~missing & ~np.isfinite(values)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(
            f"{name} line {lines[i]}: {column} {_show(text[i])} is not a number "
            "(expected a decimal number, or empty/'.' for a missing value)"
        )
    return values, missing


def _ordering(name: str, dates: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """Row order that makes dates ascending. Newest-first files are fine; duplicates or a jumble are not."""
    n = len(dates)
    if n < 2:
        return np.arange(n)
    steps = np.diff(dates.view("int64"))
    if (steps > 0).all():
        return np.arange(n)
    if (steps < 0).all():
        return np.arange(n)[::-1]
    dup = pd.Index(dates).duplicated()
    if dup.any():
        j = int(np.argmax(dup))
        i = int(np.argmax(dates == dates[j]))
        day = pd.Timestamp(dates[j]).date()
        raise DataError(f"{name} line {lines[j]}: duplicate date {day} (also on line {lines[i]})")
    # Direction is set by the first step; the first step the other way is the out-of-order line.
    descending = steps[0] < 0
    wrong = steps > 0 if descending else steps < 0
    k = int(np.argmax(wrong)) + 1
    want = "descending like the lines above it" if descending else "ascending"
    raise DataError(
        f"{name} line {lines[k]}: date {pd.Timestamp(dates[k]).date()} is out of order after "
        f"{pd.Timestamp(dates[k - 1]).date()} on line {lines[k - 1]} (expected dates {want}; "
        "files must be sorted ascending or entirely newest-first)"
    )


# -- prices ----------------------------------------------------------------------------------------------------
def load_prices(
    data_dir: str | Path,
    symbols: Sequence[str],
    *,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    min_rows: int = TRADING_DAYS,
) -> pd.DataFrame:
    """Read ``<data_dir>/<SYMBOL>.csv`` for each symbol, check prices > 0, align on the common calendar.

    Only dates where every symbol has a price are kept (a backtest cannot trade an asset with no quote).
    ``start``/``end`` are inclusive and applied after alignment; at least ``min_rows`` rows must remain.
    """
    prices, _ = _load_price_frames(data_dir, symbols, start=start, end=end, min_rows=min_rows, with_open=False)
    return prices


def _load_price_frames(
    data_dir: str | Path,
    symbols: Sequence[str],
    *,
    start: str | pd.Timestamp | None,
    end: str | pd.Timestamp | None,
    min_rows: int,
    with_open: bool,
    max_daily_move: float = DEFAULT_MAX_DAILY_MOVE,
    max_gap_days: int = DEFAULT_MAX_GAP_DAYS,
    allow_gaps: bool = False,
    start_setting: str = "start",
    notes: list[object] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """load_prices, plus (with ``with_open``) the opens on the same calendar when every file has them.

    ``data_dir`` may also be a :class:`SeriesSource` (e.g. a data store), read through the same checks. Every
    series must cover the run's calendar to within ``max_gap_days`` (backtests/calendar_check.py); with
    ``allow_gaps`` the calendar is every day any series has and missing days are filled forward. ``notes``
    collects the filled :class:`Gap` s and the notice of a start moved by a late series (named by
    ``start_setting``)."""
    source = data_dir if isinstance(data_dir, SeriesSource) else CsvSource(_data_dir(data_dir))
    wanted = _unique(symbols, "symbols")
    first, last = _bound(start, "start"), _bound(end, "end")
    if first is not None and last is not None and first > last:
        raise DataError(f"start {first.date()} is after end {last.date()}")

    columns: dict[str, pd.Series] = {}
    opens: dict[str, pd.Series | None] = {}
    wheres: dict[str, Callable[[int | None], str]] = {}
    for symbol in wanted:
        series, opens[symbol], where = source.price(symbol, min_rows=max(min_rows, 1), with_open=with_open)
        wheres[symbol] = where
        bad = ~(series.to_numpy() > 0)
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(
                f"{where(i)}: price {float(series.iloc[i])!r} on {series.index[i].date()} "
                "is not positive (expected > 0)"
            )
        check_not_constant(where(None), series, "price")
        check_daily_moves(where, series, max_daily_move)
        columns[symbol] = series

    common = columns[wanted[0]].index
    for s in columns.values():
        common = common.intersection(s.index)
    common = common.sort_values()
    common.name = "date"
    if len(common) == 0:
        raise DataError(f"prices: {', '.join(wanted)} have no trading date in common (common range: none)")
    # the run's span: what every series covers and the user asked for; gaps only count inside it
    lo = max(s.index[0] for s in columns.values())
    hi = min(s.index[-1] for s in columns.values())
    lo, hi = max(lo, first) if first is not None else lo, min(hi, last) if last is not None else hi
    gaps = find_gaps(columns, wheres, lo, hi) if lo <= hi else []
    inside = common[(common >= lo) & (common <= hi)]
    span = f"{inside[0].date()} .. {inside[-1].date()}" if len(inside) else f"{lo.date()} .. {hi.date()}"
    check_gaps(gaps, max_gap_days, allow_gaps, f"the run's span {span}")
    moved = late_start(columns, wheres, first, start_setting, max_gap_days)
    if notes is not None:
        notes.extend(gaps if allow_gaps else ())
        notes.extend([moved] if moved else ())
    if allow_gaps and gaps:
        union = columns[wanted[0]].index
        for s in columns.values():
            union = union.union(s.index)
        common = union[(union >= lo) & (union <= hi)]
        common.name = "date"
        filled = fill_forward(columns, common)
        for sym, o in opens.items():
            if o is not None:  # a filled day's open is its (filled) price: nothing traded since the last close
                opens[sym] = o.reindex(common).fillna(filled[sym])
        columns = filled
    inside = np.ones(len(common), dtype=bool)
    if first is not None:
        inside &= common >= first
    if last is not None:
        inside &= common <= last
    window = common[inside]
    if len(window) < min_rows:
        asked = ""
        if first is not None or last is not None:
            lo = first.date() if first is not None else "the start"
            hi = last.date() if last is not None else "the end"
            asked = f" from {lo} to {hi}"
        raise DataError(
            f"prices: only {len(window)} common trading days for {', '.join(wanted)}{asked}; need at least "
            f"{min_rows} (common range found: {common[0].date()} to {common[-1].date()}, {len(common)} days)"
        )
    prices = pd.DataFrame({sym: columns[sym].reindex(window) for sym in wanted}, index=window)
    prices.index.name = "date"
    open_frame = None
    # all or nothing: the replay cannot fill some symbols at the open and others at the close of a bar
    present = {sym: o for sym, o in opens.items() if o is not None}
    if with_open and len(present) == len(wanted):
        open_frame = pd.DataFrame({sym: present[sym].reindex(window) for sym in wanted}, index=window)
        open_frame.index.name = "date"
        open_frame = open_frame.astype("float64")
    return prices.astype("float64"), open_frame


# -- macro -----------------------------------------------------------------------------------------------------
def max_staleness(series: pd.Series) -> int:
    """Business days a value of ``series`` may be carried forward before it is treated as gone.

    ``max(10, 3 * cadence)`` where cadence is the median business-day gap between observations: 10 for
    daily series (two weeks), 15 for weekly, ~66 for monthly, i.e. two missed releases are tolerated and a
    series that stopped (e.g. DGS2 ending 2025-12-30) turns NaN instead of repeating its last value forever.
    Measured from when a value became available, so the publication lag does not eat into it.
    """
    idx = pd.DatetimeIndex(series.dropna().index).sort_values()
    if len(idx) < 2:
        return _DAILY_STALENESS
    days = idx.to_numpy(dtype="datetime64[D]")
    gaps = np.busday_count(days[:-1], days[1:])
    cadence = max(int(np.median(gaps)), 1)
    return max(_DAILY_STALENESS, 3 * cadence)


def align_macro(
    raw: Mapping[str, pd.Series],
    calendar: pd.DatetimeIndex,
    lags: Mapping[str, int] | None = None,
    default_lag: int = 1,
    *,
    max_stale: int | Mapping[str, int] | None = None,
) -> pd.DataFrame:
    """Put each macro series on ``calendar`` as a strategy would have seen it.

    An observation dated ``d`` becomes available on ``d + lag`` business days (``lag`` from ``lags``, then
    :data:`DEFAULT_MACRO_LAGS`, then ``default_lag``); the value at ``t`` is the latest observation
    available on or before ``t``. Nothing is back-filled. ``max_stale`` (business days since the value
    became available, per series or for all; ``None`` = no limit) blanks values that have gone stale.
    """
    try:
        cal = pd.DatetimeIndex(calendar)
    except (TypeError, ValueError) as exc:
        raise DataError(f"macro calendar: not a DatetimeIndex ({_one_line(str(exc))})") from None
    if cal.tz is not None:
        cal = cal.tz_localize(None)
    cal_ns = cal.as_unit("ns")
    out: dict[str, np.ndarray] = {}
    for name, series in raw.items():
        lag = _lag_for(name, lags, default_lag)
        limit = max_stale.get(name) if isinstance(max_stale, Mapping) else max_stale
        out[name] = _as_of(name, series, cal_ns, lag, limit)
    frame = pd.DataFrame(out, index=cal, columns=list(raw))
    frame.index.name = "date"
    return frame


def _lag_for(name: str, lags: Mapping[str, int] | None, default_lag: int) -> int:
    lag = (lags or {}).get(name, DEFAULT_MACRO_LAGS.get(name, default_lag))
    if isinstance(lag, bool) or not isinstance(lag, (int, np.integer)) or lag < 0:
        raise DataError(
            f"macro_lags.{name}: {lag!r} is not a valid lag (expected a whole number of business days >= 0)"
        )
    return int(lag)


def _as_of(name: str, series: pd.Series, cal_ns: pd.DatetimeIndex, lag: int, limit: int | None) -> np.ndarray:
    """Values of ``series`` on ``cal_ns`` after shifting availability by ``lag`` business days."""
    try:
        values = pd.to_numeric(pd.Series(series), errors="raise").to_numpy(dtype="float64", na_value=np.nan)
        s = pd.Series(values, index=pd.DatetimeIndex(series.index))
    except (TypeError, ValueError) as exc:
        raise DataError(f"macro series {name}: needs dated numeric values ({_one_line(str(exc))})") from None
    if s.index.tz is not None:
        s.index = s.index.tz_localize(None)
    s = s[np.isfinite(s.to_numpy())].sort_index(kind="stable")
    result = np.full(len(cal_ns), np.nan)
    if s.empty or len(cal_ns) == 0:
        return result
    # BDay(0) rolls a weekend date to Monday, so even lag 0 never lands on a non-trading day.
    available = (s.index.as_unit("ns") + pd.offsets.BDay(lag)).to_numpy()
    # side="right": a value available on t is visible on t; among equal availability dates the latest
    # observation (last after the stable sort) wins.
    pos = np.searchsorted(available, cal_ns.to_numpy(), side="right") - 1
    seen = pos >= 0
    result[seen] = s.to_numpy()[pos[seen]]
    if limit is not None:
        age = np.busday_count(
            available[pos[seen]].astype("datetime64[D]"), cal_ns.to_numpy()[seen].astype("datetime64[D]")
        )
        stale = np.zeros(len(cal_ns), dtype=bool)
        stale[seen] = age > limit
        result[stale] = np.nan
    return result


def load_market(
    data_dir: str | Path | SeriesSource,
    symbols: Sequence[str],
    macro: Sequence[str] = (),
    *,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    macro_lags: Mapping[str, int] | None = None,
    min_rows: int = TRADING_DAYS,
    price_dir: str | Path | None = None,
    max_daily_move: float = DEFAULT_MAX_DAILY_MOVE,
    max_gap_days: int = DEFAULT_MAX_GAP_DAYS,
    allow_gaps: bool = False,
    start_setting: str = "data.start",
) -> MarketData:
    """Prices (and opens, when every price file has them) on their common calendar, plus each macro series
    lagged, as-of aligned and staleness-limited.

    ``price_dir``: the folder of the price files (a relative path is read from ``data_dir``); macro files
    are always read from ``data_dir``. Macro history before ``start`` still feeds the first rows (as-of
    values are known then). A macro value older than :func:`max_staleness` business days is NaN rather
    than a silently repeated stale number. A price series with a hole of more than ``max_gap_days`` trading days
    inside the run is an error unless ``allow_gaps`` (then filled forward and listed in ``MarketData.gaps``); a
    start moved by a late series is a ``MarketData.notices`` line naming it (``start_setting``: the setting
    ``start`` came from).
    """
    source = data_dir if isinstance(data_dir, SeriesSource) else csv_source(data_dir, price_dir)
    notes: list[object] = []
    prices, opens = _load_price_frames(source, symbols, start=start, end=end, min_rows=min_rows, with_open=True,
                                       max_daily_move=max_daily_move, max_gap_days=max_gap_days,
                                       allow_gaps=allow_gaps, start_setting=start_setting, notes=notes)
    names = _unique(macro, "macro", allow_empty=True)
    raw: dict[str, pd.Series] = {}
    for name in names:
        raw[name] = source.macro(name).rename(name)
        check_not_constant(source.describe(name), raw[name])
    limits = {name: max_staleness(s) for name, s in raw.items()}
    frame = align_macro(raw, prices.index, macro_lags, max_stale=limits)
    return MarketData(prices=prices, macro=frame, opens=opens, gaps=tuple(n for n in notes if isinstance(n, Gap)),
                      notices=tuple(n for n in notes if isinstance(n, str)))


# -- where series come from ------------------------------------------------------------------------------------
@runtime_checkable
class SeriesSource(Protocol):
    """Where the loader reads series from: a folder of CSVs (:class:`CsvSource`) or a data store. Both hand
    back the same parsed series, so everything after reading (checks, calendar, lags) is one code path."""

    def price(
        self, symbol: str, *, min_rows: int, with_open: bool
    ) -> tuple[pd.Series, pd.Series | None, Callable[[int | None], str]]:
        """The price series (ascending, no NaN), its opens (or None) and ``where(i)``: how to name row i in an
        error (``where(None)``: the series itself)."""
        ...

    def macro(self, name: str) -> pd.Series:
        """The macro series as observed (ascending dates, missing values dropped), at least two rows."""
        ...

    def describe(self, name: str) -> str:
        """How an error names the series (its file, or its place in a store)."""
        ...


class CsvSource:
    """``<dir>/<NAME>.csv`` files as found (prices from ``price_dir`` when given)."""

    def __init__(self, directory: Path, price_dir: Path | None = None) -> None:
        self.directory = directory
        self.price_dir = price_dir or directory
        self.reads: dict[str, pd.DataFrame] = {}  # name -> value (and open) as parsed: what a decision read

    def price(
        self, symbol: str, *, min_rows: int, with_open: bool
    ) -> tuple[pd.Series, pd.Series | None, Callable[[int | None], str]]:
        path = _locate(self.price_dir, symbol)
        series, lines, opens = _read_with_lines(path, min_rows=min_rows, with_open=with_open, price=True)
        self.reads[symbol] = pd.DataFrame({"value": series, "open": opens if opens is not None else np.nan})
        return series, opens, lambda i: path.name if i is None else f"{path.name} line {lines[i]}"

    def describe(self, name: str) -> str:
        return _locate(self.directory, name).name

    def macro(self, name: str) -> pd.Series:
        series = read_series(_locate(self.directory, name), min_rows=2)
        self.reads.setdefault(name, pd.DataFrame({"value": series, "open": np.nan}))
        return series


def csv_source(data_dir: str | Path, price_dir: str | Path | None = None) -> CsvSource:
    """The CSV folder as a :class:`SeriesSource`, with the loader's checks on both folders."""
    directory = _data_dir(data_dir)
    return CsvSource(directory, _price_dir(directory, price_dir))


# -- helpers ---------------------------------------------------------------------------------------------------
def _data_dir(data_dir: str | Path) -> Path:
    directory = Path(data_dir).expanduser()
    if not directory.is_dir():
        raise DataError(f"data directory {directory} does not exist or is not a directory")
    return directory


def _price_dir(directory: Path, price_dir: str | Path | None) -> Path:
    if price_dir is None:
        return directory
    folder = Path(price_dir).expanduser()
    if not folder.is_absolute():
        folder = directory / folder
    if not folder.is_dir():
        raise DataError(
            f"data.price_dir: {folder} does not exist or is not a directory (expected a folder of price CSVs; "
            f"a relative path is read from the data directory {directory})"
        )
    return folder


def _locate(directory: Path, symbol: str) -> Path:
    """``<SYMBOL>.csv``, else a lower-case ``<symbol>.csv``; DataError listing what is there otherwise."""
    if not isinstance(symbol, str) or not symbol.strip() or any(c in symbol for c in "/\\\0"):
        raise DataError(f"symbol {symbol!r}: not a plain name (expected e.g. 'SPY')")
    tried = dict.fromkeys([f"{symbol}.csv", f"{symbol.lower()}.csv"])
    for file_name in tried:
        path = directory / file_name
        if path.is_file():
            return path
    for file_name in tried:
        path = directory / file_name
        what = _not_a_file(path)
        if what:
            raise DataError(f"{file_name}: {what} in {directory} (expected a CSV file)")
    raise DataError(
        f"{symbol}.csv: file not found in {directory} (searched {', '.join(tried)}; "
        f"{_available_hint(directory, symbol)})"
    )


def _not_a_file(path: Path) -> str | None:
    """What ``path`` is when it exists but is no readable file: a folder, a symlink loop, a dangling symlink."""
    if not os.path.lexists(path):
        return None
    if path.is_symlink():
        try:
            path.resolve(strict=True)
        except RuntimeError:
            return "is a symlink loop"
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return "is a symlink loop"
            return f"is a symlink to {os.readlink(path)}, which does not exist"
    if path.is_dir():
        return "is a folder, not a file"
    if not path.is_file():
        return "is not a regular file"
    return None


def _available_hint(directory: Path, wanted: str) -> str:
    try:
        stems = sorted(p.stem for p in directory.glob("*.csv") if p.is_file())
    except OSError:
        stems = []
    if not stems:
        return "no .csv files there"
    close = difflib.get_close_matches(wanted, stems, n=3, cutoff=0.6)
    few = list(dict.fromkeys([*close, *stems]))[:8]
    more = f" and {len(stems) - len(few)} more" if len(stems) > len(few) else ""
    return f"available: {', '.join(few)}{more}"


def _unique(names: Sequence[str], what: str, *, allow_empty: bool = False) -> list[str]:
    if isinstance(names, str):  # a bare "SPY" would otherwise iterate as 'S', 'P', 'Y'
        names = [names]
    out = list(dict.fromkeys(names))
    if not out and not allow_empty:
        raise DataError(f"{what}: no symbols requested (expected at least one, e.g. ['SPY'])")
    return out


def _bound(value: str | pd.Timestamp | None, what: str) -> pd.Timestamp | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError, OverflowError):
        ts = pd.NaT
    if ts is pd.NaT or pd.isna(ts):
        raise DataError(f"{what}: {value!r} is not a valid date (expected YYYY-MM-DD)")
    if ts.tz is not None:
        ts = ts.tz_localize(None)
    return ts.normalize()


def _text(column: pd.Series) -> np.ndarray:
    return column.to_numpy(dtype=object, na_value="")


def _names(columns: Sequence[str]) -> str:
    return ", ".join(_show(c) for c in columns)


def _show(token: object) -> str:
    text = str(token)
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _one_line(text: str) -> str:
    return " ".join(text.split())
