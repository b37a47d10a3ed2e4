"""Read one price or macro CSV as found (CRLF, BOM, FRED's '.' gaps, newest-first) into a checked series.

Every bad-input path ends in a :class:`~regimeshift.core.errors.DataError` whose message is one line naming the
file, the line (1-based, header = line 1) or field, and what was expected. Parsing is vectorised (pandas
reads every field as text, then masks find the offending rows), so the ~40 files in ``shared/data`` load
in a fraction of a second.

Open prices: a price file with an ``open`` column (any case) also gives the day's open, on the same basis as
the price taken from it (see :func:`_adjusted_opens`), so the replay can fill next-bar orders at the open.
"""
from __future__ import annotations

import csv
import datetime
import io
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from regimeshift.core.errors import DataError
from regimeshift.data.files import available_hint, not_a_file


_DATE_NAMES = ("date", "timestamp", "observation_date")


_ADJ_NAMES = ("adj_close", "adjusted_close")  # compared after lower-casing and ' ' -> '_'


_CLOSE_NAMES = ("close",)


_VALUE_NAMES = ("value",)  # FRED-style downloads of a macro series (never taken as a price)


_MISSING_TOKENS = ("", ".")  # FRED writes holidays as empty or '.'


# Timestamps outside this window overflow nanosecond resolution; a year outside it is a typo anyway.
_MIN_DATE, _MAX_DATE = pd.Timestamp("1678-01-01"), pd.Timestamp("2261-12-31")


# -- reading one file ----------------------------------------------------------------------------------------
def read_series(path: str | Path, *, min_rows: int = 2) -> pd.Series:
    """Read one CSV as found into a float Series named after the file stem (case kept), ascending dates.

    Accepts any of the date-column names Date/timestamp/observation_date (any case); takes the adjusted
    close if present, else the close, else the only non-date column. Tolerates CRLF, a UTF-8 BOM, FRED's
    empty or ``.`` holiday values (those rows are dropped), blank lines and newest-first order. Anything
    else malformed raises :class:`DataError` naming the file and line.
    """
    series, _, _ = read_with_lines(Path(path), min_rows=min_rows)
    return series


def read_with_lines(
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
        what = not_a_file(path)
        if what:
            raise DataError(f"{name}: {what} in {path.parent} (expected a CSV file)")
        raise DataError(f"{name}: file not found in {path.parent} ({available_hint(path.parent, path.stem)})")
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
        raise DataError(f"{name}: not a readable CSV ({one_line(str(exc))})") from None
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


def _text(column: pd.Series) -> np.ndarray:
    return column.to_numpy(dtype=object, na_value="")


def _names(columns: Sequence[str]) -> str:
    return ", ".join(_show(c) for c in columns)


def _show(token: object) -> str:
    text = str(token)
    return repr(text if len(text) <= 40 else text[:37] + "...")


def one_line(text: str) -> str:
    return " ".join(text.split())
