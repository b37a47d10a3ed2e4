"""Orders for a real account (`regimeshift signal --holdings`): the backtest's own sizing (commission with its
minimum, slippage, cash buffer, whole shares), a minimum trade size, nothing while the drift is inside the band,
sells before buys, a preview of the weights after; an account holding the simulated book gets exactly the ticket's
orders; bad holdings are one line, exit 2."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from regimeshift.backtests.config import ExecutionConfig, config_from_dict, load_config
from regimeshift.backtests.costs import sizing_rules

from regimeshift.cli.app import main
from regimeshift.core.errors import DataError
from regimeshift.live.orders import Holdings, format_plan, plan_account, read_holdings
from regimeshift.pipeline import run_pipeline
from tests.conftest import small_synthetic_toml

SYMBOLS = ("QQQ", "DVY", "SHY", "GLD", "SPY")
PRICES = {"QQQ": 300.0, "DVY": 100.0, "SHY": 80.0, "GLD": 170.0, "SPY": 400.0}
DEFAULT = sizing_rules(ExecutionConfig())  # 5 bp commission, 5 bp slippage, 0.5 % cash buffer, whole shares
NO_COSTS = sizing_rules(ExecutionConfig(commission_bps=0.0, slippage_bps=0.0, cash_buffer=0.0))


def test_orders_take_the_account_to_its_targets_by_the_backtests_sizing_sells_first():
    account = Holdings({"QQQ": 100, "SHY": 10}, cash=5_000.0)  # worth 35,800; sized on 35,621 (0.5 % kept aside)
    plan = plan_account(account, PRICES, {"QQQ": 0.1, "DVY": 0.4, "SHY": 0.45, "GLD": 0.05}, DEFAULT)
    # floor(w * 35,621 / price) shares: QQQ 11 (of 100 held), DVY 142, SHY 200 (of 10 held), GLD 10
    assert [(o.side, o.symbol, o.shares) for o in plan.orders] == [
        ("sell", "QQQ", 89.0), ("buy", "DVY", 142.0), ("buy", "SHY", 190.0), ("buy", "GLD", 10.0)]
    assert plan.weights_after["QQQ"] == pytest.approx(11 * 300 / (plan.cash_after + 11 * 300 + 142 * 100
                                                                   + 200 * 80 + 10 * 170))


def test_the_preview_pays_slippage_and_commission_on_every_fill():
    account = Holdings({"QQQ": 100, "SHY": 10}, cash=5_000.0)
    plan = plan_account(account, PRICES, {"QQQ": 0.1, "DVY": 0.4, "SHY": 0.45, "GLD": 0.05}, DEFAULT)
    sold = 89 * 300 * 0.9995  # each fill 5 bp against the trader, then 5 bp commission on its slipped value
    bought = (142 * 100 + 190 * 80 + 10 * 170) * 1.0005
    assert plan.cash_after == pytest.approx(5_000 + sold * 0.9995 - bought * 1.0005, rel=1e-12)
    assert plan.cash_after == pytest.approx(542.1989, abs=1e-4)


def test_the_minimum_commission_drops_a_purchase_it_would_outweigh():
    rules = {**NO_COSTS, "min_commission": 20.0, "fractional": True}
    plan = plan_account(Holdings({}, cash=10_000.0), PRICES, {"DVY": 0.5, "GLD": 0.001}, rules)
    assert [(o.side, o.symbol, o.shares) for o in plan.orders] == [("buy", "DVY", 50.0)]  # GLD: 10 of value
    assert plan.cash_after == pytest.approx(10_000 - 50 * 100 - 20.0, rel=1e-12)  # the minimum, not 0


def test_no_order_inside_the_drift_band_or_below_the_minimum_trade():
    account = Holdings({"QQQ": 60, "SHY": 100}, cash=0.0)  # 18,000 + 8,000: QQQ 69.2 %, SHY 30.8 %
    plan = plan_account(account, PRICES, {"QQQ": 0.70, "SHY": 0.30}, DEFAULT, band=0.02)
    assert plan.orders == () and set(plan.skipped) == {"QQQ", "SHY"}
    small = plan_account(account, PRICES, {"QQQ": 0.70, "SHY": 0.30}, DEFAULT, min_trade=500.0)
    assert small.orders == ()  # the one trade would be 240: below the minimum
    trades = plan_account(account, PRICES, {"QQQ": 0.70, "SHY": 0.30}, DEFAULT)
    # sized on 25,870: QQQ floor(60.4) = 60 held already, SHY floor(97.01) = 97 of 100
    assert [(o.side, o.symbol, o.shares) for o in trades.orders] == [("sell", "SHY", 3.0)]


def test_a_plan_without_orders_says_why():
    account = Holdings({"QQQ": 60, "SHY": 100}, cash=0.0)
    plan = plan_account(account, PRICES, {"QQQ": 0.70, "SHY": 0.30}, DEFAULT, band=0.02)
    assert "  none: QQQ drift +0.77% is inside the band; SHY drift -0.77% is inside the band" in format_plan(plan)


def test_a_sale_below_the_minimum_trade_is_kept_and_the_buys_do_without_its_proceeds():
    account = Holdings({"SHY": 10}, cash=10_000.0)  # worth 10,800
    plan = plan_account(account, PRICES, {"QQQ": 1.0}, NO_COSTS, min_trade=1_000.0)
    # QQQ wants 36 shares (10,800); without the 800 of SHY only floor(36 * 10,000 / 10,800) = 33 are paid for
    assert [(o.side, o.symbol, o.shares) for o in plan.orders] == [("buy", "QQQ", 33.0)]
    assert plan.skipped == {"SHY": "sale below the minimum trade size"}
    assert plan.cash_after == pytest.approx(100.0)


def test_buys_never_spend_more_cash_than_the_sells_free():
    account = Holdings({"SPY": 10}, cash=100.0)
    plan = plan_account(account, PRICES, {"QQQ": 0.5, "DVY": 0.5}, {**DEFAULT, "min_commission": 5.0})
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


# -- an account holding the simulated book trades exactly as the backtest --------------------------------------
@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REGIMESHIFT_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


def _config_ending_on_a_rebalance_day(folder: Path, **execution: object) -> Path:
    """The small synthetic config, ending on a monthly rebalance day late in its run (its ticket trades)."""
    base = folder / "base.toml"
    base.write_text(small_synthetic_toml(5.0))
    days = run_pipeline(load_config(base)).returns.index
    day = days[days.to_series().dt.month.diff().fillna(0).ne(0).to_numpy()][-3]
    raw = load_config(base).model_dump()
    raw["data"]["end"] = str(day.date())
    raw["execution"].update(execution)
    path = folder / "decided.toml"
    path.write_text(config_from_dict(raw).to_toml())
    return path


@pytest.mark.parametrize("execution", [
    {},  # 5 bp commission and slippage, 0.5 % cash buffer, whole shares
    {"min_commission": 25.0, "slippage_bps": 20.0, "cash_buffer": 0.02, "drift_band": 0.001},
    {"fractional": True, "min_commission": 5.0},
], ids=["default", "min-commission-slippage-buffer-band", "fractional"])
def test_an_account_holding_the_simulated_book_gets_exactly_the_tickets_orders(tmp_path, shared_cache, execution):
    config = _config_ending_on_a_rebalance_day(tmp_path, **execution)
    runner = CliRunner()
    res = runner.invoke(main, ["signal", str(config), "--out", str(tmp_path / "sim"), "--no-log"])
    assert res.exit_code == 0, res.output
    ticket = json.loads((tmp_path / "sim" / "signal.json").read_text())
    assert ticket["decision"] and ticket["orders"]
    holdings = tmp_path / "holdings.csv"
    with holdings.open("w", newline="") as f:  # the simulated book, as an account's holdings file
        csv.writer(f).writerows([("symbol", "quantity"), *((s, repr(q)) for s, q in ticket["book"].items())])
    res = runner.invoke(main, ["signal", str(config), "--out", str(tmp_path / "account"), "--no-log",
                               "--holdings", str(holdings)])
    assert res.exit_code == 0, res.output
    account = json.loads((tmp_path / "account" / "orders.json").read_text())  # orders.csv rounds to 10 digits
    assert [(o["symbol"], o["side"], o["shares"]) for o in account["orders"]] == [
        (o["symbol"], o["side"], o["shares"]) for o in ticket["orders"]]
