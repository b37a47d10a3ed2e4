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
