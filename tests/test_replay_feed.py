"""The replay's list feed preloads in one step exactly what backtrader's bar-by-bar preload leaves."""
from __future__ import annotations

import numpy as np
import pandas as pd


def _preloaded(bulk: bool) -> tuple[list, dict, int, int]:
    from regimeshift.backtests.bt_engine import bt
    from regimeshift.backtests.bt_feed import day_numbers, list_feed

    index = pd.bdate_range("2020-01-01", periods=300)
    close = pd.Series(100.0 + np.cumsum(np.random.default_rng(0).normal(size=300)), index=index)
    frame = pd.DataFrame({"open": close * 0.999, "high": close * 1.01, "low": close * 0.99, "close": close,
                          "volume": 0.0})
    feed = list_feed()(dataname=frame, openinterest=None, dates=day_numbers(index))
    bt.Cerebro(stdstats=False).adddata(feed, name="X")
    feed.reset()
    feed._start()
    if bulk:
        feed.preload()
    else:  # backtrader's own preload: load() once per bar
        bt.feeds.PandasData.preload(feed)
    lines = [(np.array(line.array).tobytes(), line.idx, line.lencount, line.extension) for line in feed.lines.lines]
    scalars = {k: v for k, v in vars(feed).items() if isinstance(v, (int, str, bool, type(None)))}
    return lines, scalars, len(feed), feed.buflen()


def test_bulk_preload_leaves_every_line_and_counter_as_the_bar_by_bar_preload_does() -> None:
    assert _preloaded(bulk=True) == _preloaded(bulk=False)


def test_advancing_bar_by_bar_gives_backtraders_peeks_ticks_and_indices() -> None:
    from regimeshift.backtests.bt_engine import bt
    from regimeshift.backtests.bt_feed import day_numbers, list_feed

    index = pd.bdate_range("2021-01-01", periods=60)
    close = pd.Series(50.0 + np.arange(60.0), index=index)
    frame = pd.DataFrame({"open": close - 0.5, "high": close + 1, "low": close - 1, "close": close, "volume": 0.0})

    def walk(ours: bool) -> list[tuple]:
        feed = list_feed()(dataname=frame, openinterest=None, dates=day_numbers(index))
        bt.Cerebro(stdstats=False).adddata(feed, name="X")
        feed.reset()
        feed._start()
        feed.preload()
        base = bt.feeds.PandasData
        steps = []
        while True:
            peek = feed.advance_peek() if ours else base.advance_peek(feed)
            if peek == float("inf"):
                return steps
            feed.advance() if ours else base.advance(feed)
            ticks = tuple(getattr(feed, f"tick_{a}", None) for a in ("open", "high", "low", "close", "last"))
            steps.append((peek, ticks, tuple((line.idx, line.lencount) for line in feed.lines.lines)))

    ours = walk(ours=True)
    assert ours == walk(ours=False)
    # every bar's ticks are that bar's open, high, low and close (tick_last: the close), the last bar's none,
    # as backtrader's own tick filling leaves them
    bars = [(o, h, lo, c, c) for o, h, lo, c in frame[["open", "high", "low", "close"]].itertuples(index=False)]
    assert [ticks for _, ticks, _ in ours] == [*bars[:-1], (None,) * 5]


def test_the_long_only_broker_replays_exactly_as_backtraders_own_broker(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from regimeshift.backtests.bt_engine import LongOnlyBroker, bt
    from regimeshift.backtests.config import ExecutionConfig
    from regimeshift.backtests.replay import replay

    rng = np.random.default_rng(4)
    index = pd.bdate_range("2015-01-01", periods=400)
    prices = pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0, 0.01, (400, 3)), axis=0)), index=index,
                          columns=["A", "B", "C"])
    w = rng.dirichlet(np.ones(4), size=20)[:, :3]
    targets = pd.DataFrame(w, index=index[::20], columns=prices.columns)
    rate = pd.Series(0.02 / 252, index=index)
    ex = ExecutionConfig(commission_bps=5.0, slippage_bps=5.0, min_commission=1.0)
    ours = replay(prices, targets, ex, cash_rate=rate)
    monkeypatch.setattr(LongOnlyBroker, "next", bt.brokers.BackBroker.next)
    monkeypatch.setattr(LongOnlyBroker, "_get_value", bt.brokers.BackBroker._get_value)
    theirs = replay(prices, targets, ex, cash_rate=rate)
    assert ours.value.equals(theirs.value) and ours.cash.equals(theirs.cash)
    assert ours.trades.equals(theirs.trades) and ours.interest == theirs.interest
    assert len(ours.trades) > 40
