"""Specifications for the data layer (data/csv_files.py, data/market.py): reading CSVs as found, clear errors, look-ahead-free macro alignment."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from regimeshift.data.market import (
    DEFAULT_MACRO_LAGS,
    MarketData,
    align_macro,
    load_market,
    load_prices,
    max_staleness,
)
from regimeshift.data.csv_files import read_series
from regimeshift.core.errors import DataError

# Kept local (conftest has an equivalent fixture) so this module stands on its own.
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
needs_shared = pytest.mark.skipif(
    not (SHARED_DATA / "SPY.csv").is_file(), reason=f"real data not found at {SHARED_DATA} (../shared/data)"
)


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def bdays(start: str, n: int) -> pd.DatetimeIndex:
    return pd.bdate_range(start, periods=n, name="date")


def price_csv(tmp_path: Path, symbol: str, dates: pd.DatetimeIndex, start_price: float = 100.0) -> Path:
    rows = "".join(f"{d.date()},{start_price + i}\n" for i, d in enumerate(dates))
    return write(tmp_path, f"{symbol}.csv", "Date,Close\n" + rows)


def data_error(fn, *args, **kwargs) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(DataError) as info:
        fn(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message and "\r" not in message
    return message


# -- read_series: quirks found in the real files ---------------------------------------------------------------
def test_crlf_line_endings_are_read(tmp_path: Path) -> None:
    path = write(tmp_path, "VIX.csv", "DATE,OPEN,CLOSE\r\n2020-01-02,12.0,13.5\r\n2020-01-03,13.0,14.25\r\n")
    s = read_series(path)
    assert s.to_dict() == {pd.Timestamp("2020-01-02"): 13.5, pd.Timestamp("2020-01-03"): 14.25}


def test_utf8_bom_does_not_hide_the_date_column(tmp_path: Path) -> None:
    path = write(tmp_path, "MOVE.csv", b"\xef\xbb\xbfDate,Value\n2002-11-13,122.88\n2002-11-14,130.29\n")
    s = read_series(path)
    assert list(s) == [122.88, 130.29]
    assert s.index[0] == pd.Timestamp("2002-11-13")


def test_fred_dot_and_empty_values_are_dropped_as_holidays(tmp_path: Path) -> None:
    text = "date,value\n2020-01-01,\n2020-01-02,1.5\n2020-01-03,.\n2020-01-06,1.75\n"
    s = read_series(write(tmp_path, "DGS2.csv", text))
    assert s.index.strftime("%Y-%m-%d").tolist() == ["2020-01-02", "2020-01-06"]
    assert s.tolist() == [1.5, 1.75]


def test_newest_first_file_is_returned_ascending(tmp_path: Path) -> None:
    text = "timestamp,close\n2020-12-11,3.0\n2020-12-10,2.0\n2020-12-09,1.0\n"
    s = read_series(write(tmp_path, "SPY.csv", text))
    assert s.index.is_monotonic_increasing
    assert s.tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize(
    "date_name", ["Date", "DATE", "date", "timestamp", "observation_date", "Observation_Date"]
)
def test_each_accepted_date_column_name_is_recognised(tmp_path: Path, date_name: str) -> None:
    s = read_series(write(tmp_path, "X.csv", f"{date_name},value\n2020-01-02,1\n2020-01-03,2\n"))
    assert s.index.tolist() == [pd.Timestamp("2020-01-02"), pd.Timestamp("2020-01-03")]


@pytest.mark.parametrize("adj_name", ["Adj Close", "adjusted_close", "adj_close", "ADJ CLOSE"])
def test_adjusted_close_is_preferred_over_close(tmp_path: Path, adj_name: str) -> None:
    text = f"Date,Open,Close,{adj_name},Volume\n2020-01-02,1,10,5,100\n2020-01-03,1,11,6,100\n"
    assert read_series(write(tmp_path, "SPY.csv", text)).tolist() == [5.0, 6.0]


def test_close_is_used_when_there_is_no_adjusted_close(tmp_path: Path) -> None:
    text = "Date,Open,High,Low,Close\n2020-01-02,1,2,0.5,1.5\n2020-01-03,1.5,2,1,1.25\n"
    assert read_series(write(tmp_path, "DXY.csv", text)).tolist() == [1.5, 1.25]


@pytest.mark.parametrize("column", ["value", "dff", "bamlh0a0hym2", "TEDRATE", "Value"])
def test_a_single_non_date_column_is_the_value(tmp_path: Path, column: str) -> None:
    s = read_series(write(tmp_path, "S.csv", f"date,{column}\n2020-01-02,-0.25\n2020-01-03,0\n"))
    assert s.tolist() == [-0.25, 0.0]


def test_series_is_float_named_after_the_file_stem_with_a_date_index(tmp_path: Path) -> None:
    s = read_series(write(tmp_path, "BAMLH0A0HYM2.csv", "date,bamlh0a0hym2\n2020-01-02,3\n2020-01-03,4\n"))
    assert s.name == "BAMLH0A0HYM2"
    assert s.dtype == np.float64
    assert s.index.name == "date" and s.index.tz is None


def test_blank_lines_are_skipped_without_shifting_line_numbers(tmp_path: Path) -> None:
    text = "\nDate,Close\n2020-01-02,1\n\n   \n2020-01-03,2\n2020-01-0x,3\n"
    message = data_error(read_series, write(tmp_path, "SPY.csv", text))
    assert message.startswith("SPY.csv line 7: date '2020-01-0x'")


def test_blank_lines_alone_do_not_count_as_data(tmp_path: Path) -> None:
    text = "Date,Close\n2020-01-02,1\n\n2020-01-03,2\n\n"
    assert read_series(write(tmp_path, "SPY.csv", text)).tolist() == [1.0, 2.0]


# -- read_series: malformed input gives one-line DataErrors ----------------------------------------------------
def test_missing_file_names_the_directory_and_available_symbols(tmp_path: Path) -> None:
    write(tmp_path, "SPY.csv", "Date,Close\n2020-01-02,1\n")
    message = data_error(read_series, tmp_path / "SPX.csv")
    assert message.startswith("SPX.csv: file not found in ")
    assert str(tmp_path) in message and "available: SPY" in message


def test_empty_file_is_reported(tmp_path: Path) -> None:
    message = data_error(read_series, write(tmp_path, "E.csv", ""))
    assert message.startswith("E.csv: file is empty")


def test_header_only_file_is_reported(tmp_path: Path) -> None:
    message = data_error(read_series, write(tmp_path, "H.csv", "Date,Close\n"))
    assert message == "H.csv: no data rows after the header on line 1"


def test_missing_date_column_lists_columns_seen_and_accepted_names(tmp_path: Path) -> None:
    message = data_error(read_series, write(tmp_path, "D.csv", "Day,Close\n2020-01-02,1\n"))
    assert message.startswith("D.csv line 1 (header): no date column")
    assert "'Day', 'Close'" in message and "observation_date" in message


def test_several_candidate_value_columns_without_a_close_is_an_error(tmp_path: Path) -> None:
    message = data_error(read_series, write(tmp_path, "V.csv", "Date,Open,High\n2020-01-02,1,2\n"))
    assert message.startswith("V.csv line 1 (header): cannot choose a value column among 'Open', 'High'")


def test_unparseable_date_names_line_and_expected_format(tmp_path: Path) -> None:
    text = "Date,Close\n2020-01-02,1\n2020-13-45,2\n"
    message = data_error(read_series, write(tmp_path, "SPY.csv", text))
    assert message == "SPY.csv line 3: date '2020-13-45' is not a valid date (expected YYYY-MM-DD)"


def test_out_of_range_year_is_not_a_valid_date(tmp_path: Path) -> None:
    message = data_error(read_series, write(tmp_path, "Y.csv", "Date,Close\n0001-01-01,1\n2020-01-03,2\n"))
    assert message == "Y.csv line 2: date '0001-01-01' is not a valid date (expected YYYY-MM-DD)"


def test_unclosed_quote_names_the_line_it_opens_on(tmp_path: Path) -> None:
    text = 'Date,Close\n2020-01-02,1\n2020-01-03,"2\n2020-01-06,3\n'
    message = data_error(read_series, write(tmp_path, "Q.csv", text))
    assert message.startswith("Q.csv line 3: quote opened here is never closed")


_CSV_PIECES = ["Date", "Close", "value", "2020-01-02", "2020-01-03", ",", "\n", "\r\n", '"', ".", "1.5", "-2",
               "", " ", "abc", "nan", "\ufeff", "\x00", "timestamp", "Adj Close", "9999-99-99"]


@settings(max_examples=80, deadline=None)
@given(body=st.lists(st.sampled_from(_CSV_PIECES), max_size=25), with_header=st.booleans())
def test_arbitrary_csv_text_either_reads_or_raises_a_one_line_data_error(
    tmp_path_factory: pytest.TempPathFactory, body: list[str], with_header: bool
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "F.csv"
    path.write_text(("Date,Close\n" if with_header else "") + "".join(body), encoding="utf-8")
    try:
        s = read_series(path, min_rows=1)
    except DataError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("F.csv")
    else:
        assert s.index.is_monotonic_increasing and s.index.is_unique and not s.isna().any()


@pytest.mark.parametrize("token", ["abc", "nan", "inf", "1_000", "NA"])
def test_unparseable_number_names_line_and_column(tmp_path: Path, token: str) -> None:
    text = f"Date,Close\n2020-01-02,1\n2020-01-03,2\n2020-01-06,{token}\n"
    message = data_error(read_series, write(tmp_path, "SPY.csv", text))
    assert message.startswith(f"SPY.csv line 4: Close '{token}' is not a number")


def test_duplicate_date_names_both_lines(tmp_path: Path) -> None:
    text = "Date,Close\n2020-01-02,1\n2020-01-03,2\n2020-01-03,3\n"
    message = data_error(read_series, write(tmp_path, "SPY.csv", text))
    assert message == "SPY.csv line 4: duplicate date 2020-01-03 (also on line 3)"


def test_jumbled_dates_name_the_first_out_of_order_line(tmp_path: Path) -> None:
    text = "Date,Close\n2020-01-02,1\n2020-01-06,2\n2020-01-03,3\n2020-01-07,4\n"
    message = data_error(read_series, write(tmp_path, "SPY.csv", text))
    assert message.startswith("SPY.csv line 4: date 2020-01-03 is out of order after 2020-01-06 on line 3")


def test_too_little_history_says_found_and_needed(tmp_path: Path) -> None:
    path = write(tmp_path, "SPY.csv", "Date,Close\n2020-01-02,1\n2020-01-03,2\n2020-01-06,\n")
    message = data_error(read_series, path, min_rows=5)
    assert message == (
        "SPY.csv: only 2 rows with values (2020-01-02 to 2020-01-03); need at least 5 (too little history)"
    )


def test_non_utf8_bytes_are_a_data_error(tmp_path: Path) -> None:
    message = data_error(read_series, write(tmp_path, "B.csv", b"Date,Close\n2020-01-02,\xff\n"))
    assert message.startswith("B.csv: not UTF-8 text")


# -- load_prices -----------------------------------------------------------------------------------------------
def test_prices_are_aligned_on_the_common_calendar_in_requested_order(tmp_path: Path) -> None:
    price_csv(tmp_path, "AAA", bdays("2020-01-01", 10))
    price_csv(tmp_path, "BBB", bdays("2020-01-03", 10))
    prices = load_prices(tmp_path, ["BBB", "AAA"], min_rows=2)
    assert list(prices.columns) == ["BBB", "AAA"]
    assert prices.index.name == "date"
    assert prices.index[0] == pd.Timestamp("2020-01-03") and prices.index[-1] == pd.Timestamp("2020-01-14")
    assert prices.loc["2020-01-03"].tolist() == [100.0, 102.0]
    assert not prices.isna().any().any()


def test_start_and_end_are_inclusive(tmp_path: Path) -> None:
    price_csv(tmp_path, "AAA", bdays("2020-01-01", 20))
    prices = load_prices(tmp_path, ["AAA"], start="2020-01-06", end=pd.Timestamp("2020-01-10"), min_rows=1)
    assert prices.index.strftime("%Y-%m-%d").tolist() == [f"2020-01-{d:02d}" for d in range(6, 11)]


def test_lower_case_file_name_is_accepted(tmp_path: Path) -> None:
    price_csv(tmp_path, "spy", bdays("2020-01-01", 3))
    assert load_prices(tmp_path, ["SPY"], min_rows=3).columns.tolist() == ["SPY"]


def test_too_few_common_rows_reports_the_common_range(tmp_path: Path) -> None:
    price_csv(tmp_path, "AAA", bdays("2020-01-01", 10))
    price_csv(tmp_path, "BBB", bdays("2020-01-13", 10))
    message = data_error(load_prices, tmp_path, ["AAA", "BBB"], min_rows=5)
    assert message.startswith("prices: only 2 common trading days for AAA, BBB; need at least 5")
    assert "common range found: 2020-01-13 to 2020-01-14" in message


def test_non_positive_price_names_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, "AAA.csv", "Date,Close\n2020-01-02,1\n2020-01-03,0\n2020-01-06,2\n")
    message = data_error(load_prices, tmp_path, ["AAA"], min_rows=1)
    assert message.startswith("AAA.csv line 3: price 0.0 on 2020-01-03 is not positive")


def test_missing_symbol_lists_available_files(tmp_path: Path) -> None:
    price_csv(tmp_path, "QQQ", bdays("2020-01-01", 3))
    message = data_error(load_prices, tmp_path, ["QQQ", "GLD"], min_rows=1)
    assert message.startswith(f"GLD.csv: file not found in {tmp_path}")
    assert "available: QQQ" in message


def test_invalid_start_is_a_data_error(tmp_path: Path) -> None:
    price_csv(tmp_path, "AAA", bdays("2020-01-01", 3))
    message = data_error(load_prices, tmp_path, ["AAA"], start="2020-99-01", min_rows=1)
    assert message == "start: '2020-99-01' is not a valid date (expected YYYY-MM-DD)"


# -- align_macro: the anti-look-ahead guarantee ----------------------------------------------------------------
def test_lag_one_shows_a_friday_value_first_on_monday() -> None:
    raw = {"X": pd.Series([1.0, 2.0], index=pd.to_datetime(["2020-01-02", "2020-01-03"]))}  # Thu, Fri
    out = align_macro(raw, bdays("2020-01-02", 4), lags={"X": 1})
    assert np.isnan(out.loc["2020-01-02", "X"])  # Thursday's value is not visible on Thursday
    assert out.loc["2020-01-03", "X"] == 1.0
    assert out.loc["2020-01-06", "X"] == 2.0  # Friday's value arrives Monday
    assert out.index.name == "date"


def test_weekly_lag_delays_a_value_by_five_business_days() -> None:
    raw = {"STLFSI4": pd.Series([0.5], index=pd.to_datetime(["2020-01-03"]))}
    out = align_macro(raw, bdays("2020-01-03", 8))["STLFSI4"]
    assert DEFAULT_MACRO_LAGS["STLFSI4"] == 5
    assert out.first_valid_index() == pd.Timestamp("2020-01-10")
    assert np.isnan(out.loc["2020-01-09"]) and out.loc["2020-01-10"] == 0.5


def test_monthly_m2_is_not_visible_before_its_publication() -> None:
    # M2SL dated 2020-01-01 (January's average) was published on 2020-02-25, the 4th Tuesday of February.
    raw = {"M2SL": pd.Series([15400.0], index=pd.to_datetime(["2020-01-01"]))}
    out = align_macro(raw, pd.bdate_range("2020-01-01", "2020-03-31"))["M2SL"]
    assert out.first_valid_index() >= pd.Timestamp("2020-02-26")
    assert DEFAULT_MACRO_LAGS["VIX"] == DEFAULT_MACRO_LAGS["BAMLH0A0HYM2"] == 1


def test_values_are_never_back_filled_before_first_availability() -> None:
    raw = {"X": pd.Series([7.0], index=pd.to_datetime(["2020-01-15"]))}
    out = align_macro(raw, bdays("2020-01-01", 15))["X"]
    assert out.loc[:"2020-01-15"].isna().all()
    assert (out.loc["2020-01-16":] == 7.0).all()


def test_explicit_lag_overrides_default_lag_and_default_table() -> None:
    raw = {"VIX": pd.Series([20.0], index=pd.to_datetime(["2020-01-02"])),
           "OTHER": pd.Series([1.0], index=pd.to_datetime(["2020-01-02"]))}
    out = align_macro(raw, bdays("2020-01-02", 6), lags={"VIX": 3}, default_lag=2)
    assert out["VIX"].first_valid_index() == pd.Timestamp("2020-01-07")
    assert out["OTHER"].first_valid_index() == pd.Timestamp("2020-01-06")


def test_weekend_observations_arrive_on_the_next_business_day() -> None:
    # DFF is calendar-daily: Saturday's and Sunday's values both become visible Monday; Sunday wins.
    raw = {"DFF": pd.Series([1.0, 2.0, 3.0], index=pd.to_datetime(["2020-01-03", "2020-01-04", "2020-01-05"]))}
    out = align_macro(raw, bdays("2020-01-06", 2))["DFF"]
    assert out.tolist() == [3.0, 3.0]


def test_max_stale_blanks_values_older_than_the_limit() -> None:
    raw = {"X": pd.Series([1.0], index=pd.to_datetime(["2020-01-01"]))}  # available 2020-01-02
    out = align_macro(raw, bdays("2020-01-02", 6), max_stale=3)["X"]
    assert out.tolist()[:4] == [1.0, 1.0, 1.0, 1.0]
    assert np.isnan(out.iloc[4]) and np.isnan(out.iloc[5])


def test_negative_lag_is_a_data_error() -> None:
    raw = {"X": pd.Series([1.0], index=pd.to_datetime(["2020-01-01"]))}
    assert data_error(align_macro, raw, bdays("2020-01-01", 3), lags={"X": -1}).startswith("macro_lags.X: -1")


def test_staleness_limit_scales_with_the_series_cadence() -> None:
    daily = pd.Series(1.0, index=bdays("2020-01-01", 30))
    weekly = pd.Series(1.0, index=pd.date_range("2020-01-03", periods=30, freq="W-FRI"))
    monthly = pd.Series(1.0, index=pd.date_range("2020-01-01", periods=24, freq="MS"))
    assert (max_staleness(daily), max_staleness(weekly)) == (10, 15)
    assert 60 <= max_staleness(monthly) <= 69


@settings(max_examples=60, deadline=None)
@given(
    offsets=st.lists(st.integers(0, 120), min_size=1, max_size=40, unique=True),
    values=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=40, max_size=40),
    changed=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=40, max_size=40),
    cut=st.integers(0, 120),
    lag=st.integers(1, 25),
    stale=st.one_of(st.none(), st.integers(0, 20)),
)
def test_changing_observations_after_t_never_changes_output_up_to_t(
    offsets: list[int], values: list[float], changed: list[float], cut: int, lag: int, stale: int | None
) -> None:
    start = pd.Timestamp("2020-01-01")
    dates = pd.DatetimeIndex(sorted(start + pd.Timedelta(days=o) for o in offsets))
    t = start + pd.Timedelta(days=cut)
    original = pd.Series(values[: len(dates)], index=dates)
    # rewrite every observation dated after t, and add one more after t
    altered = original.where(original.index <= t, pd.Series(changed[: len(dates)], index=dates))
    altered.loc[t + pd.Timedelta(days=1)] = 12345.0
    calendar = pd.bdate_range(start, periods=110, name="date")
    a = align_macro({"X": original}, calendar, lags={"X": lag}, max_stale=stale)
    b = align_macro({"X": altered.sort_index()}, calendar, lags={"X": lag}, max_stale=stale)
    pd.testing.assert_frame_equal(a.loc[:t], b.loc[:t])


# -- load_market -----------------------------------------------------------------------------------------------
def test_load_market_lags_macro_and_stops_forward_filling_stale_series(tmp_path: Path) -> None:
    calendar = bdays("2020-01-01", 40)
    price_csv(tmp_path, "AAA", calendar)
    rows = "".join(f"{d.date()},{i}\n" for i, d in enumerate(calendar[:20]))  # macro ends 20 days early
    write(tmp_path, "MAC.csv", "date,value\n" + rows)
    market = load_market(tmp_path, ["AAA"], ["MAC"], min_rows=10)
    assert isinstance(market, MarketData) and market.true_regimes is None
    mac = market.macro["MAC"]
    assert market.macro.index.equals(market.prices.index)
    assert np.isnan(mac.iloc[0]) and mac.iloc[1] == 0.0  # lag 1: day 0's value shows on day 1
    last_obs_available = calendar[20]  # value dated calendar[19] is available one business day later
    assert mac.loc[last_obs_available] == 19.0
    assert mac.last_valid_index() == calendar[30]  # 10 business days of staleness tolerated, then NaN
    assert mac.loc[calendar[31]:].isna().all()


def test_load_market_names_macro_columns_as_requested(tmp_path: Path) -> None:
    price_csv(tmp_path, "AAA", bdays("2020-01-01", 5))
    write(tmp_path, "vix.csv", "DATE,CLOSE\n2019-12-30,14\n2019-12-31,15\n")
    market = load_market(tmp_path, ["AAA"], ["VIX"], min_rows=5)
    assert market.macro.columns.tolist() == ["VIX"]
    assert market.macro["VIX"].iloc[0] == 15.0


# -- opens (OHLC files) ----------------------------------------------------------------------------------------
AV_HEADER = "timestamp,open,high,low,close,adjusted_close,volume,dividend_amount,split_coefficient\n"


def av_csv(tmp_path: Path, symbol: str, rows: list[tuple[str, str, str, str]]) -> Path:
    """An Alpha Vantage daily-adjusted file, newest first: rows of (date, open, close, adjusted_close)."""
    body = "".join(f"{d},{o},0,0,{c},{a},1000,0.0000,1.0\n" for d, o, c, a in sorted(rows, reverse=True))
    return write(tmp_path, f"{symbol}.csv", AV_HEADER + body)


def test_open_is_scaled_by_the_days_adjusted_to_raw_close_ratio(tmp_path: Path) -> None:
    # a 2:1 split between the two days: raw prices halve, the adjusted close does not
    av_csv(tmp_path, "AAA", [("2020-01-02", "99", "100", "50"), ("2020-01-03", "51", "50.5", "50.5")])
    market = load_market(tmp_path, ["AAA"], min_rows=2)
    assert market.prices["AAA"].tolist() == [50.0, 50.5]
    assert market.opens["AAA"].tolist() == [99 * 50 / 100, 51.0]  # 49.5: on the adjusted basis
    assert market.opens.index.equals(market.prices.index) and market.opens.columns.tolist() == ["AAA"]


def test_open_is_used_as_is_when_the_price_is_a_plain_close(tmp_path: Path) -> None:
    write(tmp_path, "AAA.csv", "Date,Open,High,Low,Close\n2020-01-02,9.5,11,9,10\n2020-01-03,10.25,12,10,11\n")
    market = load_market(tmp_path, ["AAA"], min_rows=2)
    assert market.opens["AAA"].tolist() == [9.5, 10.25]


def test_close_only_files_give_no_opens(tmp_path: Path) -> None:
    price_csv(tmp_path, "AAA", bdays("2020-01-01", 5))
    assert load_market(tmp_path, ["AAA"], min_rows=5).opens is None


def test_one_close_only_file_among_ohlc_files_gives_no_opens(tmp_path: Path) -> None:
    av_csv(tmp_path, "AAA", [(str(d.date()), "10", str(10 + i), str(10 + i)) for i, d in enumerate(bdays("2020-01-01", 5))])
    price_csv(tmp_path, "BBB", bdays("2020-01-01", 5))
    market = load_market(tmp_path, ["AAA", "BBB"], min_rows=5)
    assert market.opens is None
    assert market.prices.columns.tolist() == ["AAA", "BBB"]


def test_an_open_beside_an_adjusted_close_without_the_raw_close_gives_no_opens(tmp_path: Path) -> None:
    # the adjustment factor is unknown, and a raw open beside an adjusted close would be on the wrong basis
    write(tmp_path, "AAA.csv", "Date,Open,Adj Close\n2020-01-02,99,50\n2020-01-03,51,50.5\n")
    assert load_market(tmp_path, ["AAA"], min_rows=2).opens is None


def test_opens_follow_the_common_calendar_and_the_start_end_window(tmp_path: Path) -> None:
    days = bdays("2020-01-01", 10)
    av_csv(tmp_path, "AAA", [(str(d.date()), str(10 + i), str(20 + 2 * i), str(10 + i)) for i, d in enumerate(days)])
    av_csv(tmp_path, "BBB", [(str(d.date()), "7", str(7 + i), str(7 + i)) for i, d in enumerate(days[2:])])
    market = load_market(tmp_path, ["AAA", "BBB"], start="2020-01-06", end="2020-01-09", min_rows=2)
    assert market.opens.index.equals(market.prices.index)
    assert market.opens.index.strftime("%m-%d").tolist() == ["01-06", "01-07", "01-08", "01-09"]
    assert market.opens["AAA"].tolist() == [6.5, 7.0, 7.5, 8.0]  # (10 + i) * (10 + i) / (20 + 2i)
    assert market.opens["BBB"].tolist() == [7.0] * 4


@pytest.mark.parametrize(
    ("open_", "expected"),
    [
        ("abc", "AAA.csv line 3: open 'abc' is not a number (expected a decimal number"),
        ("0", "AAA.csv line 3: open 0.0 on 2020-01-02 is not positive (expected > 0)"),
        ("-2.5", "AAA.csv line 3: open -2.5 on 2020-01-02 is not positive (expected > 0)"),
        ("", "AAA.csv line 3: open is empty on 2020-01-02 although the price is there (expected a number)"),
        ("inf", "AAA.csv line 3: open 'inf' is not a number (expected a decimal number"),
    ],
)
def test_bad_open_names_file_line_and_what_was_expected(tmp_path: Path, open_: str, expected: str) -> None:
    # newest first, so 2020-01-02 is on line 3
    av_csv(tmp_path, "AAA", [("2020-01-03", "10", "10", "10"), ("2020-01-02", open_, "10", "10")])
    message = data_error(load_market, tmp_path, ["AAA"], min_rows=2)
    assert message.startswith(expected), message


def test_non_positive_raw_close_beside_an_adjusted_close_names_the_line(tmp_path: Path) -> None:
    av_csv(tmp_path, "AAA", [("2020-01-03", "10", "10", "10"), ("2020-01-02", "10", "0", "10")])
    message = data_error(load_market, tmp_path, ["AAA"], min_rows=2)
    assert message == (
        "AAA.csv line 3: close 0.0 on 2020-01-02 is not positive (expected > 0; it scales the open to the "
        "adjusted basis)"
    )


def test_a_row_without_a_price_is_dropped_with_its_open(tmp_path: Path) -> None:
    write(tmp_path, "AAA.csv", "Date,Open,Close\n2020-01-02,,.\n2020-01-03,9,10\n2020-01-06,10,11\n")
    market = load_market(tmp_path, ["AAA"], min_rows=2)
    assert market.opens["AAA"].tolist() == [9.0, 10.0]


def test_read_series_ignores_the_open_column(tmp_path: Path) -> None:
    # macro files such as VIX.csv carry OHLC too; only the loader of prices reads the open
    write(tmp_path, "VIX.csv", "DATE,OPEN,CLOSE\n2020-01-02,abc,13.5\n2020-01-03,,14.25\n")
    assert read_series(tmp_path / "VIX.csv").tolist() == [13.5, 14.25]


# -- data.price_dir ----------------------------------------------------------------------------------------------
def test_prices_come_from_price_dir_and_macro_from_the_data_dir(tmp_path: Path) -> None:
    (tmp_path / "ohlc").mkdir()
    days = bdays("2020-01-01", 5)
    av_csv(tmp_path / "ohlc", "AAA", [(str(d.date()), "9", str(10 + i), str(10 + i)) for i, d in enumerate(days)])
    price_csv(tmp_path, "AAA", days, start_price=500.0)  # the close-only copy in the parent is not read
    write(tmp_path, "MAC.csv", "date,value\n2019-12-30,2\n2019-12-31,3\n")
    market = load_market(tmp_path, ["AAA"], ["MAC"], min_rows=5, price_dir="ohlc")
    assert market.prices["AAA"].tolist() == [10.0, 11.0, 12.0, 13.0, 14.0]
    assert market.opens["AAA"].tolist() == [9.0] * 5
    assert market.macro["MAC"].iloc[0] == 3.0


def test_missing_price_dir_is_one_line_naming_the_field_and_the_folder(tmp_path: Path) -> None:
    message = data_error(load_market, tmp_path, ["AAA"], min_rows=2, price_dir="nope")
    assert message.startswith(f"data.price_dir: {tmp_path / 'nope'} does not exist or is not a directory")
    assert f"relative path is read from the data directory {tmp_path}" in message


@pytest.mark.realdata
@needs_shared
def test_real_spy_open_is_put_on_the_adjusted_close_basis() -> None:
    # SPY.csv rows as found (newest first): date, open, high, low, close, adjusted_close, ...
    rows = {
        line.split(",")[0]: line.split(",")
        for line in (SHARED_DATA / "ohlcv_alphavantage_to_2020" / "SPY.csv").read_text().splitlines()[1:]
    }
    assert rows["2020-12-11"][1:6] == ["364.9", "366.7402", "363.26", "366.3", "366.3"]
    assert rows["2020-03-17"][1:6] == ["245.04", "256.17", "237.07", "252.8", "249.140110917"]
    market = load_market(SHARED_DATA, ["SPY", "GLD"], price_dir="ohlcv_alphavantage_to_2020", start="2019-06-01")
    assert market.opens.loc["2020-12-11", "SPY"] == 364.9  # adjusted_close == close: no adjustment yet
    # 2019-12-20 dividend: the March 2020 open is scaled by 249.140110917 / 252.8
    assert market.opens.loc["2020-03-17", "SPY"] == pytest.approx(241.4924556135, rel=1e-12)
    assert market.prices.loc["2020-03-17", "SPY"] == 249.140110917


# -- the real files in ../shared/data --------------------------------------------------------------------------
@pytest.mark.realdata
@needs_shared
@pytest.mark.parametrize("subdir", [".", "alt", "ohlcv_alphavantage_to_2020"])
def test_every_shared_csv_reads_without_error(subdir: str) -> None:
    files = sorted((SHARED_DATA / subdir).glob("*.csv"))
    assert files
    for path in files:
        s = read_series(path)
        assert s.index.is_monotonic_increasing and s.index.is_unique and not s.isna().any()


@pytest.fixture(scope="module")
def real_market() -> MarketData:
    return load_market(SHARED_DATA, ["QQQ", "DVY", "SHY", "GLD", "SPY"], ["VIX", "BAMLH0A0HYM2", "DGS2"])


@pytest.mark.realdata
@needs_shared
def test_real_market_starts_on_glds_first_day_and_keeps_spy_moves(real_market: MarketData) -> None:
    prices = real_market.prices
    assert prices.index[0] == pd.Timestamp("2004-11-18")
    assert prices.columns.tolist() == ["QQQ", "DVY", "SHY", "GLD", "SPY"]
    assert prices.loc["2026-02-12", "SPY"] < prices.loc["2026-02-11", "SPY"]


@pytest.mark.realdata
@needs_shared
def test_real_vix_on_a_day_is_the_previous_business_days_close(real_market: MarketData) -> None:
    with open(SHARED_DATA / "VIX.csv", newline="") as fh:
        closes = {row["DATE"]: float(row["CLOSE"]) for row in csv.DictReader(fh)}
    assert real_market.macro.loc["2008-10-27", "VIX"] == closes["2008-10-24"] == 79.13


@pytest.mark.realdata
@needs_shared
def test_real_dgs2_goes_nan_ten_business_days_after_its_last_value_arrives(real_market: MarketData) -> None:
    dgs2 = real_market.macro["DGS2"]
    assert dgs2.last_valid_index() == pd.Timestamp("2026-01-14")  # last obs 2025-12-30, available 12-31
    assert dgs2.loc["2026-01-15":].isna().all()


@pytest.mark.parametrize("header", ["Date,Close", "date,open,high,low,close,adjusted_close", "Date,Open,Close,Adj Close"])
def test_header_only_file_is_one_line_error(tmp_path: Path, header: str) -> None:
    message = data_error(read_series, write(tmp_path, "SPY.csv", header + "\r\n\r\n"))
    assert message == "SPY.csv: no data rows after the header on line 1"
