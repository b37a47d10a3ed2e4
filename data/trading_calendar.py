"""The NYSE's trading days, without a calendar package: pandas' holiday rules plus the exchange's one-off closures.

Staleness is counted in trading days, so that a Monday after Good Friday or the Friday after Thanksgiving is not
taken for a missed update. Checked against every date of ../shared/data's SPY file (1993 on) by
tests/test_trading_calendar.py.

Rules (NYSE Rule 7.2): a holiday on a Sunday is kept on the Monday; on a Saturday, on the Friday before -- except
New Year's Day, which the exchange does not move back into the old year (31 Dec 2021 was a trading day).
"""
from __future__ import annotations

import datetime
import functools

import numpy as np
import pandas as pd
from pandas.tseries.holiday import (
    AbstractHolidayCalendar,
    GoodFriday,
    Holiday,
    USLaborDay,
    USMartinLutherKingJr,
    USMemorialDay,
    USPresidentsDay,
    USThanksgivingDay,
    nearest_workday,
    sunday_to_monday,
)

#: the first and last years the calendar is built for (before and after, weekdays are taken as trading days)
FIRST_YEAR, LAST_YEAR = 1990, 2100

#: whole days the exchange closed outside its holiday rules: national days of mourning, the attacks of 2001,
#: hurricane Sandy
SPECIAL_CLOSURES: tuple[str, ...] = (
    "1994-04-27",  # President Nixon's funeral
    "2001-09-11", "2001-09-12", "2001-09-13", "2001-09-14",  # the September 11 attacks
    "2004-06-11",  # President Reagan's funeral
    "2007-01-02",  # President Ford's day of mourning
    "2012-10-29", "2012-10-30",  # hurricane Sandy
    "2018-12-05",  # President G. H. W. Bush's day of mourning
    "2025-01-09",  # President Carter's day of mourning
)


class NYSEHolidayCalendar(AbstractHolidayCalendar):
    """The exchange's regular holidays (observed days), as pandas holiday rules."""

    rules = [
        Holiday("New Year's Day", month=1, day=1, observance=sunday_to_monday),
        # MLK Day closed the exchange from 1998; pandas' rule starts in 1986
        Holiday("Martin Luther King Jr. Day", month=1, day=1, start_date="1998-01-01",
                offset=USMartinLutherKingJr.offset),
        USPresidentsDay,
        GoodFriday,
        USMemorialDay,
        Holiday("Juneteenth", month=6, day=19, start_date="2022-01-01", observance=nearest_workday),
        Holiday("Independence Day", month=7, day=4, observance=nearest_workday),
        USLaborDay,
        USThanksgivingDay,
        Holiday("Christmas Day", month=12, day=25, observance=nearest_workday),
    ]


@functools.lru_cache(maxsize=1)
def holidays() -> np.ndarray:
    """Every weekday the NYSE was (or will be) closed, FIRST_YEAR to LAST_YEAR, as sorted ``datetime64[D]``."""
    regular = NYSEHolidayCalendar().holidays(f"{FIRST_YEAR}-01-01", f"{LAST_YEAR}-12-31")
    days = regular.union(pd.DatetimeIndex(SPECIAL_CLOSURES))
    days = days[days.day_of_week < 5]
    out = np.unique(days.to_numpy(dtype="datetime64[D]"))
    out.setflags(write=False)
    return out


Day = str | datetime.date | np.datetime64  # one date (pd.Timestamp is a datetime.date)


def sessions(start: Day, end: Day) -> pd.DatetimeIndex:
    """The trading days from ``start`` to ``end``, both included."""
    first = np.datetime64(pd.Timestamp(start).date(), "D")
    last = np.datetime64(pd.Timestamp(end).date(), "D") + 1
    days = np.arange(first, last, dtype="datetime64[D]")
    days = days[np.is_busday(days, holidays=holidays())]
    return pd.DatetimeIndex(days.astype("datetime64[ns]"))


def trading_days_between(start: Day | np.ndarray, end: Day | np.ndarray) -> np.ndarray | int:
    """Trading days in ``[start, end)`` -- numpy's ``busday_count`` with the exchange's holidays: 0 from a day to
    itself, 1 from one session to the next (Thursday before Good Friday to the Monday after: 1). Accepts dates or
    arrays of ``datetime64[D]``."""
    return np.busday_count(np.asarray(start, dtype="datetime64[D]"), np.asarray(end, dtype="datetime64[D]"),
                           holidays=holidays())
