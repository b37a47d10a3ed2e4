"""Orders for a real account (`regimeshift signal --holdings`): whole shares, a minimum trade size, nothing for a
drift inside the band, sells before buys, a preview of the weights after; bad holdings are one line, exit 2."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from regimeshift.cli import main
from regimeshift.core.errors import DataError
from regimeshift.orders import Holdings, plan_account, read_holdings
from tests.conftest import small_synthetic_toml

SYMBOLS = ("QQQ", "DVY", "SHY", "GLD", "SPY")
PRICES = {"QQQ": 300.0, "DVY": 100.0, "SHY": 80.0, "GLD": 170.0, "SPY": 400.0}


def test_orders_take_the_account_to_its_targets_in_whole_shares_sells_first():
    account = Holdings({"QQQ": 100, "SHY": 10}, cash=5_000.0)  # worth 30,000 + 800 + 5,000 = 35,800
    plan = plan_account(account, PRICES, {"QQQ": 0.1, "DVY": 0.4, "SHY": 0.45, "GLD": 0.05})
    assert [(o.side, o.symbol) for o in plan.orders] == [("sell", "QQQ"), ("buy", "DVY"), ("buy", "GLD"),
                                                        ("buy", "SHY")]
    assert all(o.shares == int(o.shares) for o in plan.orders)
    sold = {o.symbol: o.shares for o in plan.orders if o.side == "sell"}
    assert sold["QQQ"] == 88  # 100 - 0.1 * 35,800 / 300 = 88.07 -> 88 whole shares
    assert plan.cash_after >= 0
    assert sum(plan.weights_after.values()) == pytest.approx(1.0)
    for sym, w in {"QQQ": 0.1, "DVY": 0.4, "SHY": 0.45, "GLD": 0.05}.items():
        assert plan.weights_after[sym] == pytest.approx(w, abs=0.01)  # within a share of the target


def test_no_order_inside_the_drift_band_or_below_the_minimum_trade():
    account = Holdings({"QQQ": 60, "SHY": 100}, cash=0.0)  # 18,000 + 8,000: QQQ 69.2 %, SHY 30.8 %
    plan = plan_account(account, PRICES, {"QQQ": 0.70, "SHY": 0.30}, band=0.02)
    assert plan.orders == () and set(plan.skipped) == {"QQQ", "SHY"}
    small = plan_account(account, PRICES, {"QQQ": 0.70, "SHY": 0.30}, min_trade=500.0)
    assert small.orders == ()  # each trade would be ~200: below the minimum
    trades = plan_account(account, PRICES, {"QQQ": 0.70, "SHY": 0.30})
    assert [(o.side, o.symbol, o.shares) for o in trades.orders] == [("sell", "SHY", 2.0)]


def test_buys_never_spend_more_cash_than_the_sells_free():
    account = Holdings({"SPY": 10}, cash=100.0)
    plan = plan_account(account, PRICES, {"QQQ": 0.5, "DVY": 0.5}, commission_bps=5.0)
    assert plan.cash_after >= 0
    assert plan.orders[0].side == "sell" and plan.orders[0].shares == 10


@pytest.mark.parametrize("text, message", [
    ("symbol,quantity\nQQQ,10\nAAPL,5\nCASH,100\n", "line 3: symbol 'AAPL' is not traded by this config"),
    ("symbol,quantity\nQQQ,10\nCASH,-5\n", "line 3: CASH -5 is negative"),
    ("symbol,quantity\nQQQ,10\nqqq,3\nCASH,1\n", "line 3: duplicate row for qqq (also on line 2)"),
    ("symbol,quantity\nQQQ,ten\nCASH,1\n", "line 2: quantity 'ten' of QQQ is not a number"),
    ("symbol,quantity\nQQQ,-1\nCASH,1\n", "line 2: quantity -1 of QQQ is negative"),
    ("ticker,shares\nQQQ,1\n", "line 1: header 'ticker,shares' (expected 'symbol,quantity')"),
    ("symbol,quantity\nQQQ,1\n", "no CASH row"),
])
def test_bad_holdings_are_one_line_naming_file_and_line(tmp_path: Path, text: str, message: str):
    path = tmp_path / "holdings.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_holdings(path, SYMBOLS)


def test_signal_with_bad_holdings_exits_2_before_any_work(tmp_path: Path):
    config = tmp_path / "small.toml"
    config.write_text(small_synthetic_toml(5.0))
    holdings = tmp_path / "holdings.csv"
    holdings.write_text("symbol,quantity\nGROWTH,10\nCASH,-1\n")
    res = CliRunner().invoke(main, ["signal", str(config), "--holdings", str(holdings), "--out", str(tmp_path / "l")])
    assert res.exit_code == 2
    assert res.output.strip() == "error: holdings.csv line 3: CASH -1 is negative (expected a balance >= 0)"
    assert not (tmp_path / "l").exists()


def test_signal_writes_the_accounts_orders_and_the_registry(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("REGIMESHIFT_CACHE", str(tmp_path / "cache"))
    config = tmp_path / "small.toml"
    config.write_text(small_synthetic_toml(5.0))
    holdings = tmp_path / "holdings.csv"
    holdings.write_text("symbol,quantity\nMARKET,10\nCASH,50000\n")
    out = tmp_path / "live"
    res = CliRunner().invoke(main, ["signal", str(config), "--holdings", str(holdings), "--out", str(out),
                                    "--min-trade", "250"])
    assert res.exit_code == 0, res.output
    assert "account orders (worth" in res.output and "model: fit " in res.output
    assert (out / "orders.csv").read_text().startswith("symbol,side,shares,price,notional\n")
    assert len(list((out / "registry" / "decisions").glob("*.json"))) == 1
    assert not list(out.glob(".journal*"))
