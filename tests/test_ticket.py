"""`regimeshift signal`: the live end of a run -- the last close's decision, its orders, and the decision log."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from regimeshift.backtests.config import config_from_dict, load_config

from regimeshift.cli.app import main
from regimeshift.pipeline import run_pipeline
from regimeshift.live.ticket import build_ticket, planned_orders, update_log
from tests.conftest import REPO, SHARED_DATA, requires_shared, small_synthetic_toml

SMALL = small_synthetic_toml(5.0)


@pytest.fixture(autouse=True)
def _private_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("REGIMESHIFT_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def small_path(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("cfg") / "small.toml"
    p.write_text(SMALL)
    return p


def _run(small_path: Path, end: str | None = None, **execution: object):
    cfg = load_config(small_path)
    raw = cfg.model_dump()
    raw["data"]["end"] = end
    raw["execution"].update(execution)
    return run_pipeline(config_from_dict(raw))


def _month_start(small_path: Path) -> tuple[pd.Timestamp, pd.Timestamp]:
    """A monthly rebalance day late in the run and the trading day after it."""
    days = _run(small_path).returns.index
    first_of_month = days[days.to_series().dt.month.diff().fillna(0).ne(0).to_numpy()]
    d = first_of_month[-3]
    return d, days[days.get_loc(d) + 1]


def test_on_a_rebalance_day_the_ticket_lists_the_orders_the_backtest_fills_on_the_next_bar(small_path):
    day, nxt = _month_start(small_path)
    decided = _run(small_path, end=str(day.date()))
    ticket = build_ticket(decided)
    assert ticket.as_of == str(day.date()) and ticket.decision and ticket.reason == "monthly rebalance day"
    assert ticket.orders
    after = _run(small_path, end=str(nxt.date()))
    fills = after.replay.trades
    fills = fills[fills["date"] == nxt].set_index("symbol")
    # sized at the fill bar's price (close-only data: its close), the plan is the backtest's fills exactly
    exact = planned_orders(decided, after.market.prices.loc[nxt])
    assert {o.symbol: (o.shares if o.side == "buy" else -o.shares) for o in exact} == fills["size"].to_dict()
    # sized at the decision close, the ticket is the same trades up to one day's price move
    assert [(o.symbol, o.side) for o in ticket.orders] == [(o.symbol, o.side) for o in exact]
    book = ticket.value
    for est, real in zip(ticket.orders, exact):
        assert abs(est.shares - real.shares) * real.price < 0.01 * book


def test_with_same_bar_timing_the_ticket_lists_the_orders_filled_at_this_close(small_path):
    day, nxt = _month_start(small_path)
    ticket = build_ticket(_run(small_path, end=str(day.date()), timing="same_bar"))
    assert ticket.decision and ticket.fills_at == "same_bar_close" and ticket.orders
    fills = _run(small_path, end=str(nxt.date()), timing="same_bar").replay.trades
    fills = fills[fills["date"] == day].set_index("symbol")["size"].to_dict()
    assert {o.symbol: (o.shares if o.side == "buy" else -o.shares) for o in ticket.orders} == fills


def test_off_a_rebalance_day_the_ticket_has_no_orders_and_says_why(small_path):
    day, nxt = _month_start(small_path)
    ticket = build_ticket(_run(small_path, end=str(nxt.date())))
    assert not ticket.decision and ticket.orders == ()
    assert ticket.reason == "not a decision day (rebalance = 'monthly')"
    assert sum(ticket.held.values()) == pytest.approx(1.0)
    assert sum(ticket.sleeve_targets.values()) == pytest.approx(1.0)


def test_a_rebalance_day_inside_the_drift_band_trades_nothing(small_path):
    day, _ = _month_start(small_path)
    ticket = build_ticket(_run(small_path, end=str(day.date()), drift_band=0.9))
    assert not ticket.decision and ticket.orders == ()
    assert "within the drift band" in ticket.reason


def test_the_log_gains_one_row_per_day_and_a_rerun_of_the_same_day_changes_nothing(small_path, tmp_path):
    day, nxt = _month_start(small_path)
    log = tmp_path / "signals.csv"
    first = update_log(log, _run(small_path, end=str(day.date())), str(day.date()))
    assert first.added and first.revised == ()
    later = _run(small_path, end=str(nxt.date()))
    second = update_log(log, later, str(nxt.date()))
    text = log.read_bytes()
    again = update_log(log, later, str(nxt.date()))
    assert second.added and not again.added
    assert second.revised == () and again.revised == ()  # no look-ahead: a new day leaves the logged one alone
    assert log.read_bytes() == text
    rows = pd.read_csv(log, index_col="date")
    assert list(rows.index) == [str(day.date()), str(nxt.date())]
    assert list(rows.columns) == ["regime", "p_abundant", "p_tightening", "p_crunch", "w_GROWTH", "w_VALUE",
                                  "w_SHORTBOND", "w_GOLD"]


def test_a_logged_day_that_the_data_now_contradicts_is_reported(small_path, tmp_path):
    day, nxt = _month_start(small_path)
    log = tmp_path / "signals.csv"
    update_log(log, _run(small_path, end=str(day.date())), str(day.date()))
    rows = pd.read_csv(log, index_col="date")
    rows.loc[str(day.date()), "p_crunch"] += 0.01  # as if the data behind that day had been revised since
    rows.to_csv(log)
    update = update_log(log, _run(small_path, end=str(nxt.date())), str(nxt.date()))
    assert update.revised == (str(day.date()),)


def test_signal_command_prints_the_ticket_and_writes_json_and_log(small_path, tmp_path):
    out = tmp_path / "live"
    res = CliRunner().invoke(main, ["signal", str(small_path), "--out", str(out)])
    assert res.exit_code == 0, res.stderr
    assert "as of the close of" in res.stdout and "log:" in res.stdout
    ticket = json.loads((out / "signal.json").read_text())
    assert {"as_of", "regime", "probabilities", "sleeve_targets", "decision", "orders", "held"} <= set(ticket)
    assert pd.read_csv(out / "signals.csv").shape[0] == 1


def test_a_damaged_log_is_one_error_line_and_the_ticket_is_not_written(small_path, tmp_path):
    out = tmp_path / "live"
    out.mkdir()
    (out / "signals.csv").write_text("not,a\nlog\n")
    res = CliRunner().invoke(main, ["signal", str(small_path), "--out", str(out)])
    assert res.exit_code == 2
    assert res.stderr.startswith(f"error: {out / 'signals.csv'}: not a signals log") and len(res.stderr.splitlines()) == 1
    assert not (out / "signal.json").exists()


# -- as a scheduled job meets it ------------------------------------------------------------------------------
_INPUTS = ("QQQ", "DVY", "SHY", "GLD", "SPY", "VIX", "BAMLH0A0HYM2", "IRX")


def _files_as_of(dst: Path, last: str) -> None:
    """The shipped files as a data feed had them on the evening of ``last`` (quirks kept: order, BOM, CRLF)."""
    dst.mkdir(exist_ok=True)
    for name in _INPUTS:
        head, *body = (SHARED_DATA / f"{name}.csv").read_bytes().splitlines(keepends=True)
        kept = [line for line in body if line[:10].decode("ascii", "replace") <= last]
        (dst / f"{name}.csv").write_bytes(head + b"".join(kept))


@requires_shared
@pytest.mark.realdata
def test_a_nightly_job_on_growing_real_data_trades_on_the_rebalance_day_and_keeps_its_log(tmp_path):
    """Two evenings of `regimeshift signal` as cron would start it, a day of new rows arriving in between."""
    feed, out = tmp_path / "feed", tmp_path / "live"
    config = REPO / "backtests" / "configs" / "liquidity_rotation.toml"
    env = {**os.environ, "REGIMESHIFT_CACHE": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "regimeshift.cli.app", "signal", str(config), "--data-dir", str(feed), "--out", str(out)]
    days = []
    for evening in ("2026-03-02", "2026-03-03"):  # the first trading day of March, then the day after
        _files_as_of(feed, evening)
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
        assert done.returncode == 0, done.stderr
        days.append(json.loads((out / "signal.json").read_text()))
    first, second = days
    assert first["as_of"] == "2026-03-02" and first["decision"] and first["orders"]
    assert second["as_of"] == "2026-03-03" and not second["decision"] and second["orders"] == []
    assert "warning" not in done.stdout  # the new day left the logged one as it was, and nothing is stale
    log = pd.read_csv(out / "signals.csv")
    assert log["date"].tolist() == ["2026-03-02", "2026-03-03"]


def test_a_decision_older_than_the_newest_price_names_the_input_that_ran_out(small_path):
    import dataclasses

    from regimeshift.live.ticket import staleness

    result = _run(small_path)
    macro = result.market.macro.copy()
    macro.iloc[-30:, macro.columns.get_loc("CREDITSPREAD")] = float("nan")  # the spread file stopped updating
    stale = dataclasses.replace(result, market=dataclasses.replace(result.market, macro=macro))
    days = result.market.prices.index
    message = staleness(stale, days[-31])
    assert message == (
        f"the decision is as of {days[-31].date()} but prices run to {days[-1].date()}: no current value of "
        f"CREDITSPREAD (last usable on {days[-31].date()}); refresh those files before trading on it"
    )
    assert staleness(result, days[-1]) is None
    assert build_ticket(result).stale is None


@requires_shared
@pytest.mark.realdata
def test_signal_on_the_shipped_data_warns_that_the_spread_file_ended_and_can_fail_on_it(tmp_path, monkeypatch):
    monkeypatch.setenv("REGIMESHIFT_CACHE", str(tmp_path / "cache"))
    config = REPO / "backtests" / "configs" / "liquidity_rotation.toml"
    args = ["signal", str(config), "--data-dir", str(SHARED_DATA), "--out", str(tmp_path / "live"), "--no-log"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.stderr
    assert "warning: the decision is as of 2026-04-10 but prices run to 2026-07-31" in res.stdout
    assert "BAMLH0A0HYM2" in res.stdout
    strict = CliRunner().invoke(main, [*args, "--fail-stale"])
    assert strict.exit_code == 3 and json.loads((tmp_path / "live" / "signal.json").read_text())["stale"]
