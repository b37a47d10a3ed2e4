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

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from regimeshift.backtests.config import RunConfig, config_from_dict, with_overrides
from regimeshift.backtests.config import load_config as _load_toml
from regimeshift.core.errors import ConfigError
from regimeshift.core.toml_files import parse_toml
from regimeshift.pipeline import PipelineResult
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

    # -- looking at it in a notebook ------------------------------------------------------------------------------
    def summary(self) -> pd.DataFrame:
        """The strategy beside its static twin, equal weight, 60/40 and the benchmark held (numbers, not text):
        rows CAGR .. cost drag, one column each (reports/comparison.py; the basis is ``metrics["basis"]``)."""
        from regimeshift.reports.comparison import ROWS, comparison_columns

        cols = comparison_columns(self.metrics)
        data = {title: [m.get(key) for key, _ in ROWS] for title, m in cols}
        return pd.DataFrame(data, index=[label for _, label in ROWS], dtype=float)

    def plot(self, height: float = 3.8) -> Any:
        """A matplotlib Figure: cumulative return of the strategy and its benchmark, shaded by the most probable
        regime (filtered), refits ticked -- the tearsheet's first figure."""
        from regimeshift.reports.plots import cumulative_regime_figure

        idx = self.pipeline.returns.index
        return cumulative_regime_figure(
            self.returns["strategy"], self.returns["benchmark"], self.pipeline.regimes.probabilities.loc[idx],
            tuple(d for d in self.pipeline.regimes.refits.index if idx[0] <= d <= idx[-1]),
            benchmark_name=self.config.data.benchmark, height=height)

    def _headline(self) -> str:
        m = self.metrics
        s, twin = m["strategy"], (m.get("benchmarks") or {}).get("static_twin") or {}
        text = (f"{m['name']}: {m['start']} .. {m['end']} ({m['n_days']} days); CAGR {100 * s['cagr']:.2f}%, "
                f"Sharpe {s['sharpe']:.2f}, max drawdown {100 * s['max_drawdown']:.1f}%")
        if twin.get("sharpe") is not None:
            text += f" (static twin: Sharpe {twin['sharpe']:.2f}, max drawdown {100 * twin['max_drawdown']:.1f}%)"
        return text

    def __repr__(self) -> str:
        # a notebook prints this for a bare `result`: a few lines, not the price tables inside
        lines = [f"<RunResult {self._headline()}>", f"  basis: {self.metrics.get('basis', 'n/a')}"]
        timing = self.metrics.get("timing") or {}
        if timing.get("sentence"):
            lines.append(f"  {timing['sentence']}")
        lines.append("  .summary() .plot() .metrics .returns .regimes .weights .trades .benchmarks .write(dir)")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import html

        from regimeshift.reports.comparison import comparison_rows
        from regimeshift.reports.plots import plot_style, to_svg

        titles, rows = comparison_rows(self.metrics)
        head = "".join(f"<th>{html.escape(t)}</th>" for t in ["", *titles])
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in [label, *cells]) + "</tr>"
                       for label, cells in rows)
        with plot_style():
            svg = to_svg(self.plot(height=2.8))
        timing = (self.metrics.get("timing") or {}).get("sentence", "")
        return (f"<div><p><b>{html.escape(self._headline())}</b></p>"
                f'<div style="display:flex;gap:16px;align-items:flex-start;flex-wrap:wrap">'
                f'<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
                f'<div style="max-width:620px;flex:1 1 420px">{svg}</div></div>'
                f'<p style="font-size:12px;color:#555">{html.escape(str(self.metrics.get("basis", "")))}</p>'
                f"<p>{html.escape(timing)}</p></div>")

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

    def summary(self) -> pd.DataFrame:
        """Share of days, mean spell (days) and expected duration under the last fit, one row per regime."""
        from regimeshift.model_compare import mean_spells

        names = list(self.config.regimes.names)
        regime = self.regime.dropna()
        spells = pd.Series(mean_spells(regime, names))
        durations = dict(zip(names, getattr(self.result.model, "expected_durations_", [float("nan")] * len(names))))
        return pd.DataFrame({"share": regime.value_counts(normalize=True).reindex(names, fill_value=0.0),
                             "mean_spell_days": spells.reindex(names),
                             "expected_duration_days": pd.Series(durations).reindex(names)}, index=names)

    def plot(self) -> Any:
        """A matplotlib Figure of the filtered regime probabilities (stacked)."""
        from regimeshift.reports.plots import probabilities_figure

        p = self.probabilities.dropna(how="all")
        return probabilities_figure(p, p.index[0], p.index[-1])

    def __repr__(self) -> str:
        p = self.probabilities.dropna(how="all")
        span = f"{p.index[0].date()} .. {p.index[-1].date()}" if len(p) else "no fitted day"
        shares = ", ".join(f"{k} {100 * v:.1f}%" for k, v in self.summary()["share"].items())
        return (f"<RegimeFit {self.config.name}: {span}, {self.result.n_refits} refits; {shares}>\n"
                "  .summary() .plot() .probabilities .regime .refits .features")

    def _repr_html_(self) -> str:
        import html

        from regimeshift.reports.plots import plot_style, to_svg

        with plot_style():
            svg = to_svg(self.plot())
        return (f"<div><pre>{html.escape(repr(self))}</pre>{self.summary().to_html(float_format=lambda x: f'{x:.3f}')}"
                f'<div style="max-width:720px">{svg}</div></div>')


def fit_regimes(config: str | Path | Mapping[str, Any] | RunConfig | None = None, data_dir: str | Path | None = None,
                start: str | None = None, end: str | None = None, seed: int | None = None) -> RegimeFit:
    """Load, build the features and run the walk-forward regime model; no allocation, replay or report."""
    cfg = _resolved(config, data_dir, start, end, seed)
    market = load_stage(cfg)
    features = feature_stage(cfg, market)
    return RegimeFit(cfg, features, regime_stage(cfg, features, market=market))


def config_from_toml_text(text: str, name: str = "config") -> RunConfig:
    """A config from TOML text (a notebook cell), validated like a file."""
    raw = parse_toml(text, name)
    raw.setdefault("name", name)
    return config_from_dict(raw, name)
