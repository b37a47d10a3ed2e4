"""Every price series a run trades must cover the run's trading calendar: a check across files, not within one.

Why: the loader joins the price files on the dates they all have. That is right for a holiday one file keeps and
another does not, but it turns a hole in ONE file into a hole in the whole run, silently: SHY missing March to
September 2012 made the backtest book seven months of every asset as one day (SHY +6.4% on 2012-10-01) and the
CAGR went from 18.0% to 29.1%, exit 0. Each file alone looks fine; only comparing their dates shows the hole.

The calendar a series must cover is the NYSE's sessions (data/trading_calendar.py) united with every date
any of the run's price series has inside the run. The NYSE part catches a hole that every file shares (a run
on one symbol, the regime history read from the benchmark alone); the union part makes the check work for data
on another calendar or none (synthetic business-day markets, a weekend-trading asset): a day some file has is a
day the others should have too. A file never has to cover a day outside the run's common range (before the
latest first date or after the earliest last date), so a series that starts late is not a gap; it moves the
start, and :func:`late_start` says which series did.

A missing stretch longer than ``data.max_gap_days`` trading days (default 5: a long holiday weekend in one
market is 1-2, the 2001 closure 4) is an error naming the file and the stretch. With ``data.allow_gaps`` /
``--allow-gaps`` the run fills the series forward instead and reports every stretch it filled
(``metrics.json: data_gaps``, the tearsheet's warnings, the console). Measured on ../shared/data: none of the
shipped price files misses a single NYSE session inside its own span (1993-2026), so no shipped run changes.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from regimeshift.data.trading_calendar import sessions
from regimeshift.core.errors import DataError

__all__ = ["DEFAULT_MAX_GAP_DAYS", "Gap", "check_gaps", "fill_forward", "find_gaps", "late_start", "reference_calendar"]

DEFAULT_MAX_GAP_DAYS = 5


@dataclass(frozen=True)
class Gap:
    """A stretch of the run's calendar one price series has no price for."""

    symbol: str
    series: str  # how an error names it: the file (or the store entry)
    first: pd.Timestamp  # first missing day
    last: pd.Timestamp  # last missing day
    days: int  # trading days missing (days of the reference calendar)

    def as_dict(self) -> dict[str, object]:
        return {"symbol": self.symbol, "series": self.series, "first": str(self.first.date()),
                "last": str(self.last.date()), "trading_days": self.days}

    def describe(self) -> str:
        span = str(self.first.date()) if self.days == 1 else f"from {self.first.date()} to {self.last.date()}"
        return f"{self.series}: no price for {self.days} trading day{'' if self.days == 1 else 's'} {span}"


def reference_calendar(columns: Mapping[str, pd.Series], lo: pd.Timestamp, hi: pd.Timestamp) -> pd.DatetimeIndex:
    """The days in ``[lo, hi]`` every series must have: NYSE sessions united with every date any series has."""
    days = sessions(lo, hi)
    for s in columns.values():
        idx = s.index
        days = days.union(idx[(idx >= lo) & (idx <= hi)])
    days.name = "date"
    return days


def _stretches(have: pd.DatetimeIndex, calendar: pd.DatetimeIndex) -> list[tuple[int, int]]:
    """(first, last) positions in ``calendar`` of each maximal run of days missing from ``have``."""
    missing = np.flatnonzero(~calendar.isin(have))
    if not len(missing):
        return []
    breaks = np.flatnonzero(np.diff(missing) > 1)
    starts = np.r_[missing[0], missing[breaks + 1]]
    ends = np.r_[missing[breaks], missing[-1]]
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


def find_gaps(columns: Mapping[str, pd.Series], where: Mapping[str, Callable[[int | None], str]],
              lo: pd.Timestamp, hi: pd.Timestamp) -> list[Gap]:
    """Every stretch of the reference calendar in ``[lo, hi]`` a series misses, earliest first (ties: in the
    order of ``columns``). ``where[symbol](None)`` names the series."""
    calendar = reference_calendar(columns, lo, hi)
    gaps = []
    for symbol, s in columns.items():
        for a, b in _stretches(s.index, calendar):
            gaps.append(Gap(symbol, where[symbol](None), calendar[a], calendar[b], b - a + 1))
    order = {sym: i for i, sym in enumerate(columns)}
    return sorted(gaps, key=lambda g: (g.first, order[g.symbol]))


def check_gaps(gaps: Sequence[Gap], max_gap_days: int, allow_gaps: bool, window: str) -> None:
    """DataError at the first gap longer than ``max_gap_days`` unless ``allow_gaps``; ``window`` says which span
    of the run it lies in (e.g. "the run 2005-01-03 .. 2026-07-31")."""
    if allow_gaps:
        return
    long = [g for g in gaps if g.days > max_gap_days]
    if not long:
        return
    g = long[0]
    more = f"; {len(long) - 1} more gap{'s' if len(long) > 2 else ''} like it" if len(long) > 1 else ""
    raise DataError(
        f"{g.describe()}, inside {window}, more than the {max_gap_days} data.max_gap_days allows{more} (the other "
        "series trade on those days; fix the file, start the run after the gap, or fill forward with --allow-gaps "
        "/ data.allow_gaps = true)"
    )


def late_start(columns: Mapping[str, pd.Series], where: Mapping[str, Callable[[int | None], str]],
               asked: pd.Timestamp | None, what: str, tolerance: int = DEFAULT_MAX_GAP_DAYS) -> str | None:
    """A notice naming the series whose late first date moved the start past ``asked`` by more than ``tolerance``
    trading days (the gap limit: a start asked on a holiday, or a few days before the files begin, is no news);
    None otherwise. ``what``: the setting, e.g. "data.start"."""
    if asked is None:
        return None
    symbol = max(columns, key=lambda sym: columns[sym].index[0])
    first = columns[symbol].index[0]
    if first <= asked:
        return None
    skipped = reference_calendar(columns, asked, first - pd.Timedelta(days=1))
    if len(skipped) <= tolerance:
        return None
    return (f"{what} {asked.date()} moved to {first.date()}: {where[symbol](None)} has no price before "
            f"{first.date()} ({len(skipped)} trading days later than asked)")


def fill_forward(columns: Mapping[str, pd.Series], calendar: pd.DatetimeIndex) -> dict[str, pd.Series]:
    """Each series on ``calendar``, a missing day taking the last price before it (never a later one)."""
    out = {}
    for symbol, s in columns.items():
        out[symbol] = s.reindex(s.index.union(calendar)).ffill().reindex(calendar)
    return out
