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
from regimeshift.backtests.replay import cash_accrual, decision_dates
from regimeshift.backtests.screen import ScreenResult, cash_growth, decision_prices, screen_arrays
from regimeshift.core.constants import CASH, TRADING_DAYS
from regimeshift.pipeline import (
    allocation_stage,
    feature_stage,
    load_stage,
    regime_stage,
    risk_free_stage,
    traded_opens,
)
from regimeshift.reports.metrics import RiskFree, cagr_of, max_drawdown_of, sharpe_ratio, sortino_ratio
from regimeshift.reports.overfitting import moments
from regimeshift.strategies.sleeves import MemberBook, has_rules, sleeve_symbols

_MEMO: dict[str, Any] = {}
_MEMO_LIMIT = 8  # distinct market/regime settings kept per process


def _remember(key: str, make: Any) -> Any:
    if key not in _MEMO:
        if len(_MEMO) >= _MEMO_LIMIT:
            _MEMO.pop(next(iter(_MEMO)))
        _MEMO[key] = make()
    return _MEMO[key]


def _setting(cfg: RunConfig, keys: tuple[str, ...]) -> str:
    """A market/regime setting's memo key: how members are weighed changes neither the market nor the fit, only
    which symbols the sleeves hold does (a sweep over ``sleeves.growth.weigh`` then loads and fits once)."""
    dump = cfg.model_dump(mode="json")
    return json.dumps({**{k: dump[k] for k in keys}, "sleeves": sleeve_symbols(cfg.sleeves)}, sort_keys=True)


def market_and_regimes(cfg: RunConfig) -> tuple[Any, Any]:
    market = _remember("market:" + _setting(cfg, ("data", "features", "seed")), lambda: load_stage(cfg))
    regime_key = _setting(cfg, ("seed", "data", "features", "regimes"))

    def fit() -> Any:
        return regime_stage(cfg, feature_stage(cfg, market), market=market)  # a "cv" choice reads its returns

    return market, _remember("regimes:" + regime_key, fit)


def prefit_regimes(cfg: RunConfig) -> bool:
    """Fit (or find in the cache) the walk-forward of one regime setting; True when it was cached."""
    _, regimes = market_and_regimes(cfg)
    return bool(regimes.cached)


class Prepared:
    """What every variant of one market/regime setting shares: arrays on the trading calendar, decision dates
    per rule, month ends. Built once per process per setting."""

    def __init__(self, cfg: RunConfig) -> None:
        self.market, self.regimes = market_and_regimes(cfg)
        self.probs = trading_probabilities(self.regimes, self.market)
        self.index = self.probs.index
        self.probs_np = self.probs.to_numpy(dtype=float)
        self.regime_names = list(self.probs.columns)
        self._memo: dict[Any, Any] = {}

    def get(self, key: Any, make: Any) -> Any:
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    def decisions(self, rule: str, on_regime_change: bool) -> tuple[np.ndarray, np.ndarray, pd.DatetimeIndex]:
        def make() -> tuple[np.ndarray, np.ndarray, pd.DatetimeIndex]:
            regime = self.regimes.regime.reindex(self.index) if on_regime_change else None
            cands, forced = decision_dates(self.index, rule, regime)
            return self.index.get_indexer(cands), cands.isin(forced), cands

        return self.get(("decisions", rule, on_regime_change), make)

    def arrays(self, cfg: RunConfig, symbols: tuple[str, ...]) -> tuple[np.ndarray, Any, Any]:
        def make() -> tuple[np.ndarray, Any, Any]:
            prices = self.market.prices.loc[self.index, list(symbols)]
            opens = traded_opens(cfg, self.market, self.index)
            op = None if opens is None else opens[list(symbols)].to_numpy(dtype=float)
            rate = None
            if cfg.data.cash_rate is not None:
                r = self.market.macro[cfg.data.cash_rate].reindex(self.index).ffill().fillna(0.0) / 100.0 / TRADING_DAYS
                rate = cash_accrual(r, self.index)
            return prices.to_numpy(dtype=float), op, rate

        return self.get(("arrays", symbols, cfg.execution.timing, cfg.data.cash_rate), make)

    def decision_prices(self, cfg: RunConfig, symbols: tuple[str, ...], rule: str,
                        on_regime_change: bool) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`arrays`' closes and fill prices on the decision rows only, sliced once for every variant of
        the setting (``backtests.screen.decision_prices``)."""
        def make() -> tuple[np.ndarray, np.ndarray]:
            close, opens, _ = self.arrays(cfg, symbols)
            rows = self.decisions(rule, on_regime_change)[0]
            return decision_prices(close, opens, rows, cfg.execution)

        return self.get(("decision_prices", symbols, cfg.execution.timing, cfg.data.cash_rate, rule,
                         on_regime_change), make)

    def cash_growth(self, cfg: RunConfig, symbols: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        """``backtests.screen.cash_growth`` of :meth:`arrays`' accrual, computed once for every variant."""
        return self.get(("cash_growth", cfg.data.cash_rate),
                        lambda: cash_growth(self.arrays(cfg, symbols)[2], len(self.index)))

    def risk_free(self, cfg: RunConfig) -> tuple[RiskFree, np.ndarray]:
        """The run's risk-free rate (pipeline.risk_free_stage: ``report.risk_free``, else ``data.cash_rate``,
        else 0, read on the run's days) and its daily values on the trading calendar."""
        def make() -> tuple[RiskFree, np.ndarray]:
            rf = risk_free_stage(cfg, self.market, self.index)
            return rf, rf.on(self.index)

        return self.get(("risk_free", cfg.report.risk_free, cfg.data.cash_rate), make)

    def month_ends(self) -> np.ndarray:
        def make() -> np.ndarray:
            s = pd.Series(np.arange(len(self.index)), index=self.index)
            return s.resample("ME").last().to_numpy()

        return self.get("month_ends", make)


def trading_probabilities(regimes: Any, market: Any) -> pd.DataFrame:
    from regimeshift.pipeline import trading_probabilities as tp

    return tp(regimes, market)


def _sleeve_targets(cfg: RunConfig, prep: Prepared, rows: np.ndarray) -> np.ndarray | None:
    """Sleeve weights (cash last) on the decision rows: the shipped blend p_t @ M computed on those rows only
    (the same numbers as ``allocation_stage``), or None for any other strategy."""
    if cfg.strategy.name != "liquidity_rotation" or cfg.strategy.params:
        return None
    sleeves = [*cfg.sleeves, CASH]
    names = prep.regime_names
    m = np.zeros((len(names), len(sleeves)))
    for r, regime in enumerate(names):
        for sleeve, w in cfg.strategy.weights.get(regime, {}).items():
            m[r, sleeves.index(sleeve)] = float(w)
    m[:, -1] = np.clip(1.0 - m[:, :-1].sum(axis=1), 0.0, None)
    return np.clip(prep.probs_np[rows] @ m, 0.0, None)


_LAST: list[Any] = []  # (setting, Prepared) of the previous call: a chunk's variants share their setting


def prepared(cfg: RunConfig) -> Prepared:
    """The shared arrays of ``cfg``'s market/regime setting, built once per process."""
    # equal models: the same setting as the previous call, without dumping the whole config again
    setting = (cfg.seed, cfg.data, cfg.features, cfg.regimes, sleeve_symbols(cfg.sleeves))
    if _LAST and _LAST[0] == setting:
        return _LAST[1]
    prep = _remember("prepared:" + _setting(cfg, ("seed", "data", "features", "regimes")), lambda: Prepared(cfg))
    _LAST[:] = [setting, prep]
    return prep


def sweep_risk_free(cfg: RunConfig) -> RiskFree:
    """The rate a sweep's figures are measured over: ``cfg``'s (the base config's), as a run of it would."""
    return prepared(cfg).risk_free(cfg)[0]


def _symbol_matrix(cfg: RunConfig) -> tuple[tuple[str, ...], np.ndarray]:
    """The traded symbols and the sleeve -> symbol weight matrix (members at their in-sleeve weights)."""
    symbols = sleeve_symbols(cfg.sleeves)
    to_symbols = np.zeros((len(cfg.sleeves), len(symbols)))
    for i, members in enumerate(cfg.sleeves.values()):
        total = sum(members.values())
        for sym, w in members.items():
            to_symbols[i, symbols.index(sym)] += w / total
    return symbols, to_symbols


def _screen(cfg: RunConfig, twin: bool) -> tuple[Prepared, ScreenResult, ScreenResult | None]:
    prep = prepared(cfg)
    ex = cfg.execution
    rows, forced, cands = prep.decisions(ex.rebalance, ex.on_regime_change)
    sleeve_w = _sleeve_targets(cfg, prep, rows)
    daily_w = None
    if sleeve_w is None:  # any strategy: the pipeline's own allocation stage
        weights = allocation_stage(cfg, prep.market, prep.regimes)
        sleeve_w = weights.loc[cands, [*cfg.sleeves, CASH]].to_numpy(dtype=float)
        daily_w = weights[list(cfg.sleeves)].to_numpy(dtype=float)
    symbols, split = _splitter(cfg, prep)
    targets = split(sleeve_w, cands)
    close, opens, accrual = prep.arrays(cfg, symbols)
    growth = prep.cash_growth(cfg, symbols)
    res = screen_arrays(close, opens, rows, targets, ex, accrual=accrual, forced=forced, growth=growth,
                        decision_prices=prep.decision_prices(cfg, symbols, ex.rebalance, ex.on_regime_change))
    if not twin:
        return prep, res, None
    # the static twin (backtests/benchmarks_beside.py): the strategy's daily sleeve weights averaged over the
    # run, held on the strategy's calendar with nothing forced, same execution -- the allocation without timing
    if daily_w is None:
        every_row = slice(None)  # the whole probability array itself, not a copy of it
        daily_w = _sleeve_targets(cfg, prep, every_row)[:, : len(cfg.sleeves)]  # type: ignore[arg-type,index]
    twin_rows, _, twin_dates = prep.decisions(ex.rebalance, False)
    mean = daily_w.mean(axis=0)
    # fixed sleeves: one row, split once (a member's weight in a rule sleeve moves with the dates)
    held = split(np.tile(mean, (len(twin_rows), 1)), twin_dates) if has_rules(cfg.sleeves) else \
        np.tile(split(mean, twin_dates), (len(twin_rows), 1))
    return prep, res, screen_arrays(close, opens, twin_rows, held, ex, accrual=accrual, growth=growth,
                                    decision_prices=prep.decision_prices(cfg, symbols, ex.rebalance, False))


def _splitter(cfg: RunConfig, prep: Prepared) -> tuple[tuple[str, ...], Any]:
    """The traded symbols and how a date x sleeve weight array becomes date x symbol targets: fixed sleeves by
    one matrix; rule sleeves by their members' weights on each row's date (strategies/sleeves.py: the same
    function on the same closes as the backtrader run and its array twin)."""
    n = len(cfg.sleeves)
    if not has_rules(cfg.sleeves):
        symbols, to_symbols = _symbol_matrix(cfg)
        return symbols, lambda w, dates: w[..., :n] @ to_symbols
    book = _member_book(cfg, prep)
    return sleeve_symbols(cfg.sleeves), book.symbol_rows


def _member_book(cfg: RunConfig, prep: Prepared) -> MemberBook:
    """The run's member weights (strategies/sleeves.py: the same function on the same closes as the backtrader
    run and its array twin), one book per distinct sleeve rules of a setting, so variants that differ elsewhere
    weigh each decision's members once."""
    # the sleeves' own repr (frozen models and plain mappings), not a dump of the whole config for every variant
    return prep.get(("member_book", repr(cfg.sleeves)), lambda: MemberBook(prep.market.prices, cfg.sleeves))


def screen_config(cfg: RunConfig) -> tuple[Prepared, ScreenResult]:
    """The run's allocation and execution, replayed by the screening engine (no benchmarks, no report)."""
    prep, res, _ = _screen(cfg, twin=False)
    return prep, res


def screen_with_twin(cfg: RunConfig) -> tuple[Prepared, ScreenResult, ScreenResult]:
    """:func:`screen_config` and the variant's own static twin, screened with the same execution."""
    prep, res, twin = _screen(cfg, twin=True)
    assert twin is not None
    return prep, res, twin


def daily_returns_of(value: np.ndarray) -> np.ndarray:
    """Daily simple returns of a value path, the first day's 0 (like ``ReplayResult.returns``)."""
    v = np.asarray(value, dtype=float)
    return np.concatenate(([0.0], v[1:] / v[:-1] - 1.0))


def path_metrics(value: np.ndarray, rf: np.ndarray | float = 0.0) -> dict[str, float]:
    """A value path's headline figures with reports.metrics' definitions (the run's): cagr, volatility and
    max_drawdown of the total daily returns, sharpe and sortino of the daily excess returns over ``rf``
    (a fraction per day, one per value), total_return from the first value."""
    r = daily_returns_of(value)
    return _return_metrics(r, r - rf, value)


def _timing_metrics(r: np.ndarray, excess: np.ndarray) -> dict[str, float]:
    """The figures a static twin is compared on (path_metrics' cagr, sharpe and max_drawdown)."""
    return {"cagr": cagr_of(r), "sharpe": sharpe_ratio(excess), "max_drawdown": max_drawdown_of(r)}


def _return_metrics(r: np.ndarray, excess: np.ndarray, value: np.ndarray) -> dict[str, float]:
    m = _timing_metrics(r, excess)
    cagr, mdd = m["cagr"], m["max_drawdown"]
    return {
        "cagr": cagr,
        "sharpe": m["sharpe"],
        "sortino": sortino_ratio(excess),
        "max_drawdown": mdd,
        "volatility": float(np.std(r, ddof=1)) * math.sqrt(TRADING_DAYS) if r.size > 1 else math.nan,
        "calmar": cagr / -mdd if mdd < 0 else math.nan,
        "total_return": float(value[-1] / value[0] - 1.0),
    }


def variant_row(key: str, cfg: RunConfig) -> dict[str, Any]:
    """Screen one variant: its headline metrics (daily, ratios over the run's risk-free rate), its value of
    timing against its own static twin, cost figures, excess-return moments and monthly returns."""
    prep, res, twin = screen_with_twin(cfg)
    index = prep.index
    value = res.value
    cash0 = cfg.execution.initial_cash
    rf, rf_daily = prep.risk_free(cfg)
    r = daily_returns_of(value)
    excess = r - rf_daily
    metrics: dict[str, Any] = _return_metrics(r, excess, value)
    metrics["total_return"] = float(value[-1] / cash0 - 1.0)
    twin_r = daily_returns_of(twin.value)
    twin_m = _timing_metrics(twin_r, twin_r - rf_daily)
    # the value of timing as a point difference (strategy minus twin); the bootstrap interval is the top N's
    metrics.update(twin_sharpe=twin_m["sharpe"], timing_sharpe=metrics["sharpe"] - twin_m["sharpe"],
                   timing_cagr=metrics["cagr"] - twin_m["cagr"],
                   timing_max_drawdown=metrics["max_drawdown"] - twin_m["max_drawdown"])
    years = len(value) / TRADING_DAYS
    mean_value = float(np.mean(value))
    metrics.update(
        n_orders=res.n_orders,
        n_rebalances=res.n_rebalances,
        turnover=res.traded_value / mean_value / years if years > 0 else math.nan,
        costs=res.commission + res.slippage,
        final_value=float(value[-1]),
        risk_free=rf.value,
    )
    # the deflated Sharpe ratio reads the same daily excess returns as the Sharpe it deflates
    metrics.update({f"daily_{k}": v for k, v in moments(excess).items()})
    month_end = value[prep.month_ends()]
    monthly = np.empty(len(month_end))
    monthly[0] = month_end[0] / cash0 - 1.0
    monthly[1:] = month_end[1:] / month_end[:-1] - 1.0
    metrics["start"] = str(index[0].date())
    metrics["end"] = str(index[-1].date())
    return {"key": key, "status": "ok", "metrics": metrics, "monthly": monthly}


def prepare_once(cfg: RunConfig) -> None:
    """Build ``cfg``'s market/regime setting in this process if it can be; a setting that fails is left for
    the screening to record, variant by variant, as it records any failure."""
    from regimeshift.core.errors import RegimeshiftError

    try:
        prepared(cfg)
    except (RegimeshiftError, ValueError, KeyError):
        pass


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
