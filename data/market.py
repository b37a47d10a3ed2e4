"""Assemble the market a run sees: price files on one calendar, macro series with their publication lags.

Look-ahead rule for macro series: an observation dated ``d`` becomes visible ``lag`` business days after
``d`` (its publication lag) and is then carried forward as-of, never backwards. With ``lag >= 1`` nothing
dated ``d`` is visible on ``d`` itself.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd
from regimeshift.data.calendar_check import (
    DEFAULT_MAX_GAP_DAYS,
    Gap,
    check_gaps,
    fill_forward,
    find_gaps,
    late_start,
)
from regimeshift.data.checks import DEFAULT_MAX_DAILY_MOVE, check_daily_moves, check_not_constant
from regimeshift.core.constants import TRADING_DAYS
from regimeshift.core.errors import DataError
from regimeshift.data.csv_files import one_line
from regimeshift.data.files import data_folder
from regimeshift.data.sources import CsvSource, SeriesSource, csv_source


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


_DAILY_STALENESS = 10  # business days a daily value may be carried forward before it counts as gone


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
    # what was read: series name -> {rows, last, sha256} (see data.store.store.provenance); None when the
    # data did not come from files (synthetic, built in memory)
    provenance: Mapping[str, Mapping[str, object]] | None = None
    # stretches of the calendar a price series missed and the loader filled forward (only with allow_gaps;
    # without it a long one is an error): data/calendar_check.py
    gaps: tuple[Gap, ...] = ()
    # what the loader changed that the user did not ask for, one sentence each (a start moved by a late series)
    notices: tuple[str, ...] = ()


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
    series must cover the run's calendar to within ``max_gap_days`` (data/calendar_check.py); with
    ``allow_gaps`` the calendar is every day any series has and missing days are filled forward. ``notes``
    collects the filled :class:`Gap` s and the notice of a start moved by a late series (named by
    ``start_setting``)."""
    source = data_dir if isinstance(data_dir, SeriesSource) else CsvSource(data_folder(data_dir))
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
        raise DataError(f"macro calendar: not a DatetimeIndex ({one_line(str(exc))})") from None
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
        raise DataError(f"macro series {name}: needs dated numeric values ({one_line(str(exc))})") from None
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
