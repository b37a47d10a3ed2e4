"""The NYSE calendar behind staleness: its sessions are exactly the days SPY traded (1993 on, the real file), its
rules hold on the days that test them (Saturday New Year, Juneteenth's first years, MLK before 1998), and an
exchange holiday is never counted as a missed update."""
from __future__ import annotations

import datetime
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from regimeshift.data.store.store import Store
from regimeshift.data.store.update import freshness, update_store
from regimeshift.data.trading_calendar import sessions, trading_days_between
from tests.test_store import NOW, WANTED
from tests.vendors import RecordedYahoo


@pytest.mark.realdata
def test_sessions_are_the_days_spy_traded(shared_data: Path) -> None:
    days = pd.DatetimeIndex(pd.read_csv(shared_data / "SPY.csv", usecols=[0]).iloc[:, 0])
    calendar = sessions(days[0], days[-1])
    extra, missing = calendar.difference(days), days.difference(calendar)
    assert not len(extra) and not len(missing), (
        f"closed by the calendar but SPY traded: {[str(d.date()) for d in missing]}; "
        f"open by the calendar but SPY did not trade: {[str(d.date()) for d in extra]}")


@pytest.mark.parametrize("day, open_", [
    ("2021-12-31", True),  # New Year's Day 2022 fell on a Saturday: the NYSE does not close the Friday before
    ("2017-01-02", False),  # ... on a Sunday it closes the Monday after
    ("1997-01-20", True), ("1998-01-19", False),  # MLK Day from 1998
    ("2021-06-18", True), ("2022-06-20", False), ("2027-06-18", False),  # Juneteenth from 2022, observed
    ("2020-04-10", False), ("2020-11-26", False), ("2020-11-27", True),  # Good Friday, Thanksgiving, the day after
    ("2020-07-03", False), ("2021-12-24", False),  # Independence Day and Christmas on a Saturday: the Friday
    ("2001-09-14", False), ("2012-10-30", False), ("2025-01-09", False), ("2025-01-10", True),
])
def test_the_rules_on_the_days_that_test_them(day: str, open_: bool) -> None:
    assert (len(sessions(day, day)) == 1) is open_


def test_trading_days_between_skips_holidays() -> None:
    assert trading_days_between(datetime.date(2020, 4, 9), datetime.date(2020, 4, 13)) == 1  # over Good Friday
    assert trading_days_between(datetime.date(2020, 11, 25), datetime.date(2020, 11, 30)) == 2  # Thanksgiving
    assert trading_days_between(datetime.date(2020, 12, 2), datetime.date(2020, 12, 4)) == 2  # an ordinary week


def test_a_holiday_is_not_counted_as_a_missed_update(tmp_path: Path, fred) -> None:
    """Prices last on the Wednesday before Thanksgiving, looked at on the Monday after: the same age as Wednesday
    to Friday in an ordinary week (two sessions), not stale; by business days it would have been three, stale."""
    from regimeshift.cli.app import main

    yahoo, store = RecordedYahoo(), Store(tmp_path / "store")
    yahoo.published = fred.published = "2020-11-25"
    update_store(store, WANTED, NOW, fred_url=fred.url, download=yahoo)
    ages = {f.name: f for f in freshness(store, datetime.date(2020, 11, 30))}
    assert (ages["SPY"].age, ages["SPY"].allowed, ages["SPY"].stale) == (2, 2, False)
    assert ages["SPY"].age < int(pd.bdate_range("2020-11-25", "2020-11-29").size)  # 3 business days
    # the Monday after Good Friday, prices to the Thursday before: one session old
    yahoo.published = fred.published = "2020-04-09"
    old = Store(tmp_path / "april")
    update_store(old, WANTED, NOW, fred_url=fred.url, download=yahoo)
    assert {f.name: f.age for f in freshness(old, datetime.date(2020, 4, 13))} == {"SPY": 1, "GLD": 1, "VIX": 1}
    shown = CliRunner().invoke(main, ["data", "show", "--store", str(store.root), "--today", "2020-11-30",
                                      "--fail-stale"])
    assert shown.exit_code == 0 and "STALE" not in shown.output, shown.output
