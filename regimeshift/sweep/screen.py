"""Screen one variant (or a chunk of them) with the pipeline's own stages and the array engine.

Per process, the market of each data setting and the walk-forward fit of each regime setting are computed
once and kept (``_MEMO``); the fit itself goes through ``pipeline.regime_stage`` and so through the regime
cache, so a rerun, a resumed sweep or another worker finds it there.
"""
from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from regimeshift.backtests.config import RunConfig
from regimeshift.backtests.replay import decision_dates
from regimeshift.backtests.screen import ScreenResult, path_metrics, screen_frames
from regimeshift.pipeline import allocation_stage, feature_stage, load_stage, regime_stage, traded_opens
from regimeshift.reports.overfitting import moments
from regimeshift.strategies.sleeves import symbol_weights

_MEMO: dict[str, Any] = {}
_MEMO_LIMIT = 8  # distinct market/regime settings kept per process


def _remember(key: str, make: Any) -> Any:
    if key not in _MEMO:
        if len(_MEMO) >= _MEMO_LIMIT:
            _MEMO.pop(next(iter(_MEMO)))
        _MEMO[key] = make()
    return _MEMO[key]


def market_and_regimes(cfg: RunConfig) -> tuple[Any, Any]:
    dump = cfg.model_dump(mode="json")
    data_key = json.dumps({"data": dump["data"], "sleeves": dump["sleeves"], "features": dump["features"],
                           "seed": dump["seed"]}, sort_keys=True)
    market = _remember("market:" + data_key, lambda: load_stage(cfg))
    regime_key = json.dumps({k: dump[k] for k in ("seed", "data", "features", "regimes", "sleeves")}, sort_keys=True)

    def fit() -> Any:
        return regime_stage(cfg, feature_stage(cfg, market))

    return market, _remember("regimes:" + regime_key, fit)


def fit_regimes(cfg: RunConfig) -> bool:
    """Fit (or find in the cache) the walk-forward of one regime setting; True when it was cached."""
    _, regimes = market_and_regimes(cfg)
    return bool(regimes.cached)


def screen_config(cfg: RunConfig) -> tuple[pd.DatetimeIndex, ScreenResult]:
    """The run's allocation and execution, replayed by the screening engine (no benchmarks, no report)."""
    market, regimes = market_and_regimes(cfg)
    weights = allocation_stage(cfg, market, regimes)
    ex = cfg.execution
    prices = market.prices.loc[weights.index]
    opens = traded_opens(cfg, market, weights.index)
    regime = regimes.regime.reindex(weights.index) if ex.on_regime_change else None
    rate = None
    if cfg.data.cash_rate is not None:
        rate = market.macro[cfg.data.cash_rate].reindex(weights.index).ffill().fillna(0.0) / 100.0 / 252.0
    candidates, forced = decision_dates(weights.index, ex.rebalance, regime)
    targets = symbol_weights(weights.loc[candidates], cfg.sleeves)
    return weights.index, screen_frames(prices, targets, ex, opens, cash_rate=rate, forced=forced)


def variant_row(key: str, cfg: RunConfig) -> dict[str, Any]:
    """Screen one variant: its headline metrics, cost figures, return moments and monthly returns."""
    index, res = screen_config(cfg)
    value = res.value
    cash0 = cfg.execution.initial_cash
    metrics: dict[str, Any] = path_metrics(value, cash0)
    mdd = metrics["max_drawdown"]
    metrics["calmar"] = metrics["cagr"] / -mdd if mdd < 0 else math.nan
    years = len(value) / 252.0
    mean_value = float(np.mean(value))
    metrics.update(
        n_orders=res.n_orders,
        n_rebalances=res.n_rebalances,
        turnover=res.traded_value / mean_value / years if years > 0 else math.nan,
        costs=res.commission + res.slippage,
        final_value=float(value[-1]),
    )
    daily = np.r_[0.0, value[1:] / value[:-1] - 1.0]
    metrics.update({f"daily_{k}": v for k, v in moments(daily).items()})
    month_end = pd.Series(value, index=index).resample("ME").last()
    monthly = np.array(month_end.pct_change().to_numpy(), dtype=float)
    monthly[0] = month_end.iloc[0] / cash0 - 1.0
    metrics["start"] = str(index[0].date())
    metrics["end"] = str(index[-1].date())
    return {"key": key, "status": "ok", "metrics": metrics, "monthly": monthly}


def screen_chunk(items: list[tuple[str, RunConfig]]) -> list[dict[str, Any]]:
    """Screen a chunk; a variant that fails at run time is recorded as failed with its one-line reason."""
    from regimeshift.core.errors import RegimeshiftError

    out = []
    for key, cfg in items:
        try:
            out.append(variant_row(key, cfg))
        except (RegimeshiftError, ValueError, KeyError) as err:
            out.append({"key": key, "status": "failed", "reason": str(err).splitlines()[0] if str(err) else
                        type(err).__name__, "metrics": {}})
    return out
