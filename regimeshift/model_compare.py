"""``regimeshift regimes --compare hmm,jump``: regime model families side by side on the same features and schedule.

For each model family the config's run is repeated with only ``regimes.model`` changed (same features, refit
schedule, window, names, strategy and execution, costs included), and one row reports: regime switches per
year and expected durations per regime (days, from the last fit's transition matrix; a jump model's is the
empirical one of its in-sample labels) beside the mean length of each regime's runs out of sample, the
out-of-sample log-likelihood where the model has one (not for a jump
model), and the strategy's turnover and Sharpe ratio.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from regimeshift.core.constants import TRADING_DAYS
from regimeshift.backtests.config import RunConfig, config_from_dict
from regimeshift.data.market import MarketData
from regimeshift.core.errors import ConfigError
from regimeshift.pipeline import run_pipeline

KNOWN = ("hmm", "jump", "gmmhmm")


def parse_models(text: str) -> list[str]:
    models = [m.strip().lower() for m in text.split(",") if m.strip()]
    bad = [m for m in models if m not in KNOWN]
    if bad or len(models) < 1:
        raise ConfigError(f"--compare: unknown model(s) {', '.join(bad) or '(none)'} (choose from {', '.join(KNOWN)})")
    return list(dict.fromkeys(models))


def with_model(cfg: RunConfig, model: str) -> RunConfig:
    raw = cfg.model_dump()
    raw["regimes"]["model"] = model
    raw["name"] = f"{cfg.name}-{model}"
    return config_from_dict(raw, f"--compare {model}")


def mean_spells(regime: pd.Series, names: Sequence[str]) -> dict[str, float]:
    """Mean length in days of each regime's uninterrupted runs in ``regime`` (NaN if it never occurs)."""
    run_id = (regime != regime.shift()).cumsum()
    lengths = regime.groupby(run_id).agg(["first", "size"])
    means = lengths.groupby("first")["size"].mean()
    return {n: float(means.get(n, np.nan)) for n in names}


def compare_models(cfg: RunConfig, models: Sequence[str], market: MarketData) -> pd.DataFrame:
    """One row per model family: switches_per_year, days_<regime> (expected duration under the last fit; inf
    for a state it never leaves), spell_<regime> (mean run length out of sample), oos_loglik, turnover, sharpe
    (on the run's basis: ``table.attrs["basis"]``), timing_sharpe (strategy minus its static twin), cagr,
    max_drawdown."""
    rows: list[dict[str, Any]] = []
    for model in models:
        res = run_pipeline(with_model(cfg, model), market=market)
        regime = res.regimes.regime.loc[res.returns.index]
        years = len(regime) / TRADING_DAYS
        durations = dict(zip(res.regimes.model.names, res.regimes.model.expected_durations_))
        strat = res.metrics["strategy"]
        rows.append(
            {
                "model": model,
                "switches_per_year": float((regime != regime.shift()).iloc[1:].sum() / years),
                **{f"days_{k}": float(v) for k, v in durations.items()},
                # what the expected durations predict, measured: the mean length of each regime's runs out of
                # sample (NaN for a regime the run never entered)
                **{f"spell_{k}": v for k, v in mean_spells(regime, list(durations)).items()},
                "oos_loglik": res.regimes.oos_loglik,
                "turnover": strat.get("turnover"),
                "sharpe": strat.get("sharpe"),  # daily excess returns over the run's risk-free rate
                # the model's timing against the same average weights held (reports/timing.py)
                "timing_sharpe": (res.metrics.get("timing") or {}).get("sharpe_diff"),
                "cagr": strat.get("cagr"),
                "max_drawdown": strat.get("max_drawdown"),
                "regime_seconds": res.regimes.seconds,
            }
        )
    table = pd.DataFrame(rows).set_index("model")
    table.attrs["basis"] = res.metrics.get("basis", "") if models else ""
    return table
