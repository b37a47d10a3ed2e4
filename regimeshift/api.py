"""The Python API a notebook uses: ``import regimeshift as rs``.

Every function here is the same code path as the CLI (``regimeshift run`` / ``regimeshift regimes``), so a figure
computed in a notebook is the figure a scheduled job writes.

    >>> import regimeshift as rs
    >>> cfg = rs.load_config({"name": "demo", "data": {"synthetic_years": 8}})
    >>> result = rs.run(cfg)
    >>> result.metrics["strategy"]["sharpe"]
    >>> result.write("runs/demo")
"""
from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from regimeshift.backtests.config import RunConfig, config_from_dict, with_overrides
from regimeshift.backtests.config import load_config as _load_toml
from regimeshift.core.errors import ConfigError
from regimeshift.pipeline import RunResult as PipelineResult
from regimeshift.pipeline import feature_stage, load_stage, regime_stage, run_pipeline
from regimeshift.regimes.result import RegimeResult


def load_config(source: str | Path | Mapping[str, Any] | RunConfig | None = None) -> RunConfig:
    """A validated run config from a TOML file, a dict shaped like one (missing keys take the embedded
    default's values), a ``RunConfig`` (returned as is), or ``None`` for the embedded default."""
    if source is None or isinstance(source, (str, Path)):
        return _load_toml(source)
    if isinstance(source, RunConfig):
        return source
    if isinstance(source, Mapping):
        return config_from_dict(_merge(_load_toml(None).model_dump(), dict(source)), "config dict")
    raise ConfigError(f"config: expected a TOML path, a dict or a RunConfig, got {type(source).__name__}")


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict) and key not in ("sleeves", "macro_lags"):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _resolved(config: Any, data_dir: str | Path | None, start: str | None, end: str | None,
              seed: int | None = None) -> RunConfig:
    cfg = with_overrides(load_config(config), start=start, end=end, seed=seed)
    return cfg if data_dir is None else with_overrides(cfg, dir=str(data_dir))


@dataclass(frozen=True)
class RunResult:
    """One finished backtest: the run folder's contents as pandas objects, and ways to write them."""

    pipeline: PipelineResult

    @property
    def config(self) -> RunConfig:
        return self.pipeline.config

    @property
    def metrics(self) -> dict[str, Any]:
        """What ``metrics.json`` holds."""
        return self.pipeline.metrics

    @property
    def returns(self) -> pd.DataFrame:
        """Daily simple returns of the strategy and its benchmark (``returns.csv``)."""
        return self.pipeline.returns

    @cached_property
    def regimes(self) -> pd.DataFrame:
        """The most probable regime and the filtered probability of each regime per trading day (``regimes.csv``)."""
        from regimeshift.outputs import regimes_table

        return regimes_table(self.pipeline)

    @property
    def benchmarks(self) -> pd.DataFrame:
        """Daily returns of what the strategy is measured against, each replayed with the run's execution and
        costs: ``static_twin`` (its average weights held), ``equal_weight``, ``sixty_forty``, ``buy_hold``."""
        beside = {k: v.returns for k, v in self.pipeline.replay.beside.items() if not isinstance(v, str)}
        return pd.DataFrame(beside)

    @property
    def risk_free(self) -> pd.Series:
        """The daily rate every ratio of the run is measured over (``metrics["risk_free"]`` names it)."""
        idx = self.pipeline.returns.index
        return pd.Series(self.pipeline.risk_free.on(idx), index=idx, name="risk_free")

    @property
    def weights(self) -> pd.DataFrame:
        """Target weight per sleeve (cash included) per trading day (``weights.csv``)."""
        return self.pipeline.weights.loc[self.pipeline.returns.index]

    @property
    def trades(self) -> pd.DataFrame:
        """Every fill: date, symbol, quantity, price, commission, slippage (``trades.csv``)."""
        return self.pipeline.replay.trades

    @property
    def regime_model(self) -> RegimeResult:
        """The walk-forward result: filtered probabilities on the features' calendar, refits, last model."""
        return self.pipeline.regimes

    def write(self, out_dir: str | Path, report: bool = True) -> Path:
        """Write the run folder (atomically, like ``regimeshift run``); returns its path."""
        from regimeshift.outputs import write_outputs
        from regimeshift.report_stage import render_run

        out = Path(out_dir)
        write_outputs(self.pipeline, out, render_run if report and self.config.report.enabled else None)
        return out

    def tearsheet(self, path: str | Path) -> Path:
        """Write the HTML tearsheet alone (atomically); returns its path."""
        from regimeshift.report_stage import render_run

        return render_run(self.pipeline, Path(path))


def run(config: str | Path | Mapping[str, Any] | RunConfig | None = None, data_dir: str | Path | None = None,
        start: str | None = None, end: str | None = None, seed: int | None = None) -> RunResult:
    """Run the whole pipeline (load, features, regimes, allocation, replay, metrics) in this process."""
    return RunResult(run_pipeline(_resolved(config, data_dir, start, end, seed)))


@dataclass(frozen=True)
class RegimeFit:
    """The regime stage alone: the features it learned from and the walk-forward result."""

    config: RunConfig
    features: pd.DataFrame
    result: RegimeResult

    @property
    def probabilities(self) -> pd.DataFrame:
        """Filtered (forward-only) probabilities, date x regime name."""
        return self.result.probabilities

    @property
    def regime(self) -> pd.Series:
        return self.result.regime

    @property
    def refits(self) -> pd.DataFrame:
        return self.result.refits


def fit_regimes(config: str | Path | Mapping[str, Any] | RunConfig | None = None, data_dir: str | Path | None = None,
                start: str | None = None, end: str | None = None, seed: int | None = None) -> RegimeFit:
    """Load, build the features and run the walk-forward regime model; no allocation, replay or report."""
    cfg = _resolved(config, data_dir, start, end, seed)
    market = load_stage(cfg)
    features = feature_stage(cfg, market)
    return RegimeFit(cfg, features, regime_stage(cfg, features, market=market))


def config_from_toml_text(text: str, name: str = "config") -> RunConfig:
    """A config from TOML text (a notebook cell), validated like a file."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{name}: not valid TOML: {err}") from None
    raw.setdefault("name", name)
    return config_from_dict(raw, name)
