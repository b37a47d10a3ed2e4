"""A trade log quants read (issue 23 item 4): FIFO round trips with profit and loss after costs."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

import regimeshift as rs
from regimeshift.backtests.trade_log import round_trips, trade_stats
from tests.conftest import small_synthetic_config


def _trades(rows: list[tuple[str, str, float, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["date", "symbol", "size", "price", "commission"]).assign(
        date=lambda f: pd.to_datetime(f["date"]))


def test_a_sell_closes_the_oldest_lots_first_and_splits_a_lot():
    t = _trades([("2020-01-02", "A", 10, 100.0, 1.0), ("2020-02-03", "A", 10, 110.0, 1.0),
                 ("2020-03-02", "A", -15, 120.0, 1.5)])
    rt = round_trips(t)
    assert rt[["entry_date", "quantity", "entry_price"]].to_dict("records") == [
        {"entry_date": pd.Timestamp("2020-01-02"), "quantity": 10.0, "entry_price": 100.0},
        {"entry_date": pd.Timestamp("2020-02-03"), "quantity": 5.0, "entry_price": 110.0}]
    # first lot: 10 x (120 - 100) - its 1.0 buy commission - 10/15 of the 1.5 sell commission
    assert rt["pnl"].tolist() == pytest.approx([200 - 1.0 - 1.0, 50 - 0.5 - 0.5])
    assert rt["holding_days"].tolist() == [60, 28]
    assert rt["return"].iloc[0] == pytest.approx(198 / 1001)


def test_trade_statistics_count_wins_losses_and_the_profit_factor():
    t = _trades([("2020-01-02", "A", 1, 100.0, 0.0), ("2020-01-03", "A", -1, 110.0, 0.0),
                 ("2020-01-02", "B", 1, 100.0, 0.0), ("2020-01-06", "B", -1, 95.0, 0.0),
                 ("2020-01-07", "C", 2, 50.0, 0.0)])
    s = trade_stats(round_trips(t), t)
    assert s["count"] == 2 and s["win_rate"] == 0.5 and s["avg_win"] == 10 and s["avg_loss"] == -5
    assert s["profit_factor"] == 2 and s["largest_loss"] == -5 and s["avg_holding_days"] == 2.5
    assert s["open_symbols"] == 1  # C is still held: no exit, no round trip


def test_a_runs_round_trips_match_an_independent_fifo_from_its_trades_csv(tmp_path: Path):
    raw = small_synthetic_config().model_dump()
    raw["report"]["timing_resamples"] = 100
    out = rs.run(raw).write(tmp_path / "run", report=False)
    trades = pd.read_csv(out / "trades.csv", parse_dates=["date"])
    trips = pd.read_csv(out / "round_trips.csv", parse_dates=["entry_date", "exit_date"])
    # independent: realised profit per symbol = sell proceeds of the matched units - their cost, all commissions
    # of the fully closed units included; with every position still open at the end valued out, the sum of the
    # round trips' pnl plus the open lots' cost basis equals the cash the trades moved
    cash_moved = float((-(trades["size"] * trades["price"]) - trades["commission"]).sum())
    open_cost = 0.0
    for sym, g in trades.groupby("symbol"):
        held = g["size"].sum()
        units, cost = held, 0.0
        for row in g[g["size"] > 0].iloc[::-1].itertuples():  # the newest buys are the ones still open (FIFO)
            q = min(units, row.size)
            cost += q * row.price + row.commission * q / row.size
            units -= q
            if units <= 1e-9:
                break
        open_cost += cost
    assert trips["pnl"].sum() - open_cost == pytest.approx(cash_moved, rel=1e-9, abs=1e-6)
    m = json.loads((out / "metrics.json").read_text())
    assert m["trades"]["count"] == len(trips)
    assert m["trades"]["win_rate"] == pytest.approx((trips["pnl"] > 0).mean())
    assert not math.isnan(m["trades"]["profit_factor"])


@pytest.mark.parametrize("name", ["default", "liquidity_rotation", "next_open_2020"])
def test_trades_csv_gained_side_and_value_at_the_end_and_kept_every_old_column_as_it_was(name: str):
    """The golden trades.csv files were re-recorded when side and value were appended; trades_v1.csv.gz is the
    content they had before, and every old column is still there, first, with the very same text. (A behaviour
    change that re-records the goldens re-derives trades_v1 from the new trades, as issue 24's cold start did.)"""
    import gzip
    import io

    golden = Path(__file__).parent / "golden" / name

    def read(file: str) -> pd.DataFrame:
        return pd.read_csv(io.BytesIO(gzip.decompress((golden / file).read_bytes())), dtype=str)

    new, old = read("trades.csv.gz"), read("trades_v1.csv.gz")
    assert list(new.columns) == [*old.columns, "side", "value"]
    pd.testing.assert_frame_equal(new[list(old.columns)], old)
    size, price = new["size"].astype(float), new["price"].astype(float)
    assert (new["side"] == size.gt(0).map({True: "buy", False: "sell"})).all()
    pd.testing.assert_series_equal(new["value"].astype(float), size.abs() * price, rtol=1e-9, check_names=False)
