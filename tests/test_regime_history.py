"""regimes.history_start: the regime model learns from data before the backtest starts, without look-ahead."""
from __future__ import annotations

import pandas as pd
import pytest
from regimeshift.backtests.config import config_from_dict
from regimeshift.data.market import MarketData
from regimeshift.core.errors import ConfigError

from regimeshift.pipeline import history_symbols, load_stage, run_pipeline
from tests.conftest import small_synthetic_config

BACKTEST_START = "2010-01-04"


def _config(history_start: str | None):  # type: ignore[no-untyped-def]
    raw = small_synthetic_config().model_dump()
    raw["data"]["start"] = BACKTEST_START
    raw["regimes"]["history_start"] = history_start
    return config_from_dict(raw, "test")


@pytest.fixture(scope="module")
def with_history():  # type: ignore[no-untyped-def]
    return run_pipeline(_config("2006-01-01"))


def test_without_history_the_first_decision_waits_for_the_training_window():
    result = run_pipeline(_config(None))
    first = result.weights.index[0]
    # 504 training rows after the backtest start, plus the features' warm-up
    assert first >= pd.Timestamp(BACKTEST_START) + pd.offsets.BDay(504)


def test_with_history_the_backtest_trades_from_its_first_day(with_history):
    assert with_history.weights.index[0] == with_history.market.prices.index[0]
    assert with_history.market.prices.index[0] >= pd.Timestamp(BACKTEST_START)
    assert with_history.regimes.refits.index[0] < pd.Timestamp(BACKTEST_START)


def test_the_history_runs_on_its_own_calendar_from_history_start(with_history):
    history = with_history.market.history
    assert isinstance(history, MarketData)
    assert history.prices.index[0] == pd.Timestamp("2006-01-02")  # the synthetic market's first day
    assert with_history.features.index[0] == history.prices.index[0]


def test_weights_and_outputs_cover_only_trading_days(with_history):
    assert with_history.weights.index.isin(with_history.market.prices.index).all()
    assert with_history.returns.index[0] == with_history.weights.index[0]


def test_history_start_after_the_backtest_start_is_a_config_error():
    with pytest.raises(ConfigError, match="history_start 2011-01-01 is after data.start 2010-01-04"):
        _config("2011-01-01")


def test_a_malformed_history_start_is_a_config_error():
    with pytest.raises(ConfigError, match="regimes.history_start.*not a date"):
        _config("early")


def test_history_reads_only_the_benchmark_and_the_feature_symbols():
    cfg = _config("2006-01-01")
    assert history_symbols(cfg) == ("MARKET", "GROWTH", "VALUE", "SHORTBOND", "GOLD")
    raw = cfg.model_dump()
    raw["features"] = ["vol:MARKET:21", "level:VOLINDEX"]
    assert history_symbols(config_from_dict(raw)) == ("MARKET",)


def test_the_synthetic_history_is_sliced_from_the_same_market():
    market = load_stage(_config("2007-01-01"))
    assert market.history is not None
    assert market.history.prices.index[0] >= pd.Timestamp("2007-01-01")
    shared = market.prices.index
    pd.testing.assert_frame_equal(market.history.prices.loc[shared], market.prices)


def test_the_report_splits_refits_at_the_backtest_start(with_history):
    from regimeshift.report_stage import config_summary

    refits = with_history.regimes.refits.index
    before = int((refits < with_history.returns.index[0]).sum())
    text = config_summary(with_history)["Refits"]
    assert text.startswith(f"{len(refits)}: {before} on the history before 2010-01-04, {len(refits) - before} during")
    assert "learning from 2006-01-01" in config_summary(with_history)["Regime model"]
