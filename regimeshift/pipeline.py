"""The pipeline, one stage per function: load -> features -> regimes -> allocation -> replay -> metrics.

Each stage takes plain data and returns plain data, so any of them can be called from Python on its own.
"""
from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from regimeshift.backtests.benchmarks_beside import (
    benchmark_metrics,
    execution_metrics,
    replay_benchmarks,
)
from regimeshift.backtests.config import RunConfig
from regimeshift.data.market import MarketData, load_market
from regimeshift.data.sources import SeriesSource, csv_source
from regimeshift.backtests.replay import ReplayResult, cash_accrual, decision_dates, replay
from regimeshift.backtests.trade_log import round_trips, trade_stats
from regimeshift.core import progress as progress_lines
from regimeshift.core.constants import CASH, TRADING_DAYS
from regimeshift.core.errors import ConfigError, DataError, RegimeshiftError
from regimeshift.core.versions import library_versions
from regimeshift.regimes.diagnostics import switches_per_year
from regimeshift.regimes.features import build_features, feature_series, stress_sign
from regimeshift.regimes.result import RegimeResult
from regimeshift.reports.metrics import RiskFree, performance_metrics
from regimeshift.reports.timing import timing_value
from regimeshift.strategies.base import StrategyContext, check_weights
from regimeshift.strategies.registry import check_strategy, resolve_strategy, strategy_file, where_raised
from regimeshift.strategies.sleeves import MemberBook, has_rules, is_rule, members_of, sleeve_returns, symbol_weights

T = TypeVar("T")


@dataclass(frozen=True)
class PipelineResult:
    """Every stage's output of one run (the API's ``RunResult`` wraps it for users; the run folder is written from it)."""

    config: RunConfig
    market: MarketData
    features: pd.DataFrame
    regimes: RegimeResult
    weights: pd.DataFrame  # date x sleeve daily target weights (cash included)
    replay: ReplayResult
    returns: pd.DataFrame  # date x (strategy, benchmark) daily simple returns
    metrics: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    risk_free: RiskFree = field(default_factory=RiskFree.zero)  # what every ratio is measured over
    round_trips: pd.DataFrame | None = None  # the fills as FIFO round trips (round_trips.csv)
    # rule sleeves only: member weights on each decision date (member_weights.csv); None for fixed sleeves
    member_weights: pd.DataFrame | None = None


@dataclass
class StageReuse:
    """What a later run in the same process may take from the earlier ones (``run --watch``): the features and
    the regime fits while their inputs are unchanged, and the benchmark replays by the content of their inputs,
    so an edited weight re-runs only the allocation, the replay, the metrics and the report.

    Inputs are compared by what they are, never by a file's age: the features are reused for the same market
    object (``watch.MarketMemo`` hands the same one back only while no data setting or file changed) and the same
    ``features`` list; the regimes for the same features object and the same regime settings, seed and benchmark;
    a benchmark replay for the same digest of its prices, opens, cash rate, schedule and execution settings.
    """

    features: tuple[Any, ...] | None = None  # (market, features settings, features)
    regimes: tuple[Any, ...] | None = None  # (features, regime settings, regimes)
    replays: dict[str, Any] = field(default_factory=dict)  # input digest -> ReplayResult (the last run's only)

    def reused_features(self, cfg: RunConfig, market: MarketData) -> pd.DataFrame | None:
        hit = self.features
        return hit[2] if hit is not None and hit[0] is market and hit[1] == _features_key(cfg) else None

    def reused_regimes(self, cfg: RunConfig, features: pd.DataFrame, cache: bool) -> RegimeResult | None:
        hit = self.regimes
        return hit[2] if hit is not None and hit[0] is features and hit[1] == _regimes_key(cfg, cache) else None


def _features_key(cfg: RunConfig) -> str:
    return repr((tuple(cfg.features), cfg.regimes.history_start))


def _regimes_key(cfg: RunConfig, cache: bool) -> str:
    # everything regime_stage reads besides the features: the regime settings, the seed, the benchmark (a
    # cross-validated penalty or smoothing reads its returns) and whether the cache was used
    return repr((cfg.regimes.model_dump_json(), cfg.seed, cfg.data.benchmark, cache))


# -- stages --------------------------------------------------------------------------------------------------
def _feature_tokens(cfg: RunConfig) -> tuple[str, ...]:
    """Price symbols named by the features (the grammar's own record of what each kind reads, less macro)."""
    macro = set(cfg.data.macro)
    extra: dict[str, None] = {}
    for spec in cfg.features:
        for name in feature_series(spec):
            if name not in macro:
                extra[name] = None
    return tuple(extra)


def feature_symbols(cfg: RunConfig) -> tuple[str, ...]:
    """Price symbols a run needs: sleeves, benchmark, and any symbol a feature names that is not macro."""
    return tuple(dict.fromkeys([*cfg.symbols, *_feature_tokens(cfg)]))


def history_symbols(cfg: RunConfig) -> tuple[str, ...]:
    """Price symbols of the regime history: the benchmark (its calendar is the features' calendar) and the
    symbols the features name. Sleeve members that no feature uses are left out, so a sleeve that started
    trading late does not cut the history short."""
    return tuple(dict.fromkeys([cfg.data.benchmark, *_feature_tokens(cfg)]))


def load_stage(cfg: RunConfig, data_dir: str | Path | None = None) -> MarketData:
    """Prices and macro for the backtest window and, with ``regimes.history_start``, the features' inputs
    from that earlier date (``MarketData.history``)."""
    hist_start = cfg.regimes.history_start
    if cfg.data.source == "synthetic":
        from regimeshift.data.synthetic import generate_market

        m = generate_market(seed=cfg.seed, years=cfg.data.synthetic_years)
        _check_synthetic_names(cfg, m.prices, m.macro)
        prices, macro = m.prices, m.macro
        if cfg.data.start or cfg.data.end:
            prices = prices.loc[cfg.data.start : cfg.data.end]
            macro = macro.loc[prices.index]
        history = None
        if hist_start is not None:
            h = m.prices.loc[hist_start : cfg.data.end]
            history = MarketData(prices=h, macro=m.macro.loc[h.index])
        return MarketData(prices=prices, macro=macro, true_regimes=m.true_regimes.loc[prices.index], history=history)
    directory: Any = data_dir or cfg.data.dir
    if directory is None:
        raise ConfigError("data.dir: no data directory given (set data.dir or pass --data-dir)")
    source: Any = directory
    if isinstance(directory, SeriesSource):
        pass  # a store snapshot (registry reproduction) or any source built by the caller
    elif cfg.data.source == "store":
        from regimeshift.data.store.store import StoreSource

        source = StoreSource(directory, cfg.data.price_dir)  # the same loader, reading the store's series
    else:
        source = csv_source(directory, cfg.data.price_dir)
    store = getattr(source, "store", None)  # a store: read every series under its shared lock (one state)
    with store.reading() if store is not None else contextlib.nullcontext():
        return _load_from(cfg, source, hist_start)


def _member_named(cfg: RunConfig, err: DataError) -> DataError:
    """A rule sleeve's member without data, named by the field that lists it (the loader names the file)."""
    for name, spec in cfg.sleeves.items():
        if is_rule(spec):
            for sym in spec.members:
                if str(err).startswith((f"{sym}.csv:", f"{sym.lower()}.csv:")):
                    return DataError(f"sleeves.{name}.members: {sym} has no data ({err})")
    return err


def _load_from(cfg: RunConfig, source: Any, hist_start: str | None) -> MarketData:
    try:
        return _load(cfg, source, hist_start)
    except DataError as err:
        raise _member_named(cfg, err) from None


def _load(cfg: RunConfig, source: Any, hist_start: str | None) -> MarketData:
    market = load_market(
        source,
        feature_symbols(cfg),
        cfg.data.macro,
        start=cfg.data.start,
        end=cfg.data.end,
        macro_lags=cfg.data.macro_lags,
        min_rows=cfg.data.min_rows,
        max_daily_move=cfg.data.max_daily_move,
        max_gap_days=cfg.data.max_gap_days,
        allow_gaps=cfg.data.allow_gaps,
    )
    if hist_start is not None:
        history = load_market(
            source,
            history_symbols(cfg),
            cfg.data.macro,
            start=hist_start,
            end=cfg.data.end,
            macro_lags=cfg.data.macro_lags,
            min_rows=cfg.data.min_rows,
            max_daily_move=cfg.data.max_daily_move,
            max_gap_days=cfg.data.max_gap_days,
            allow_gaps=cfg.data.allow_gaps,
            start_setting="regimes.history_start",
        )
        # the history's gaps and notices are the run's too (its days feed every regime decision)
        market = dataclasses.replace(
            market, history=dataclasses.replace(history, opens=None),
            gaps=(*market.gaps, *(g for g in history.gaps if g not in market.gaps)),
            notices=(*market.notices, *history.notices))
    return dataclasses.replace(market, provenance=_provenance(source))


def _provenance(source: Any) -> dict[str, dict[str, Any]] | None:
    from regimeshift.data.store.store import frame_from_csv, provenance

    reads = getattr(source, "reads", None)
    if reads is None:
        return None
    out = {}
    for name, value in sorted(reads.items()):
        if isinstance(value, pd.DataFrame):  # a CSV as parsed: hashed as its import into a store would be
            value = provenance(frame_from_csv(value["value"], value["open"] if value["open"].notna().any() else None))
        out[name] = dict(value)
    return out


def _check_synthetic_names(cfg: RunConfig, prices: pd.DataFrame, macro: pd.DataFrame) -> None:
    """Every symbol a synthetic run names must be one the generator makes (a config written for real data
    would otherwise fail deep in the allocation)."""
    assets, series = ", ".join(prices.columns), ", ".join(macro.columns)
    for sleeve, spec in cfg.sleeves.items():
        for sym in members_of(spec):
            if sym not in prices.columns:
                field = f"sleeves.{sleeve}.members" if is_rule(spec) else f"sleeves.{sleeve}"
                raise ConfigError(f"{field}: {sym!r} is not in the synthetic market (its assets: {assets})")
    if cfg.data.benchmark not in prices.columns:
        raise ConfigError(f"data.benchmark: {cfg.data.benchmark!r} is not in the synthetic market (its assets: {assets})")
    for name in cfg.data.macro:
        if name not in macro.columns:
            raise ConfigError(f"data.macro: {name!r} is not in the synthetic market (its series: {series})")


def feature_stage(cfg: RunConfig, market: MarketData) -> pd.DataFrame:
    """Features on the regime history's calendar when there is one, else on the backtest's."""
    history = getattr(market, "history", None)  # any object with prices and macro will do (e.g. SyntheticMarket)
    source = market if history is None else history
    return build_features(source.prices, source.macro, cfg.features)


def regime_stage(
    cfg: RunConfig, features: pd.DataFrame, cache: bool = True, market: MarketData | None = None
) -> RegimeResult:
    """The walk-forward regime model; with ``cache`` a repeated run on the same features and regime config
    reuses the stored result ($REGIMESHIFT_CACHE, ``off`` to disable; see regimes/cache.py). ``market`` gives
    the benchmark's returns to a jump penalty or a smoothing chosen by cross-validation (``regimes.jump_penalty`` or
    ``regimes.smooth_days = "cv"``)."""
    from regimeshift.regimes.walkforward import walk_forward  # its fitting code loads only on a cache miss

    r = cfg.regimes
    spec = r.spec([stress_sign(c) for c in features.columns], cfg.seed)
    cv = (r.model != "hmm" and r.jump_penalty == "cv") or r.smooth_days == "cv"
    return walk_forward(features, spec, cache=cache,
                        returns=benchmark_returns(cfg, market, features.index) if cv else None)


def benchmark_returns(cfg: RunConfig, market: MarketData | None, index: pd.DatetimeIndex) -> pd.Series:
    """The benchmark's daily simple returns on the features' dates (the regime history's prices when there is
    one); each value at t uses closes up to t only."""
    if market is None:
        raise ConfigError("regimes.jump_penalty or smooth_days = 'cv' needs the market data (regime_stage(..., market=market))")
    source = market if getattr(market, "history", None) is None else market.history
    px = source.prices[cfg.data.benchmark]
    return px.pct_change().reindex(index)


def trading_probabilities(regimes: RegimeResult, market: MarketData) -> pd.DataFrame:
    """The filtered probabilities on the backtest's trading days (the regime history may start earlier and
    run on a calendar with more days; each row still uses only data up to its own date)."""
    probs = regimes.probabilities
    return probs.loc[probs.index.isin(market.prices.index)]


def member_book(cfg: RunConfig, market: MarketData) -> MemberBook | None:
    """The member weights of the rule sleeves (strategies/sleeves.py), computed once per decision date and
    shared by the allocation, the replay and its benchmarks; None when every sleeve is a fixed mapping."""
    return MemberBook(market.prices, cfg.sleeves) if has_rules(cfg.sleeves) else None


def symbol_targets(cfg: RunConfig, market: MarketData, sleeve_weights: pd.DataFrame) -> pd.DataFrame:
    """Date x symbol targets of date x sleeve weights: fixed sleeves split by their mapping, rule sleeves by
    their members' weights on each row's date (closes up to that date only)."""
    book = member_book(cfg, market)
    return symbol_weights(sleeve_weights, cfg.sleeves) if book is None else book.targets(sleeve_weights)


def run_decisions(cfg: RunConfig, index: pd.DatetimeIndex,
                  regimes: RegimeResult | None) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    """(decision dates, forced dates) of the replay: the calendar checks and, with on_regime_change, the days
    the most probable regime changes."""
    ex = cfg.execution
    regime = None
    if ex.on_regime_change:
        if regimes is None:
            raise ConfigError("execution.on_regime_change: replay_stage needs the regimes")
        regime = regimes.regime.reindex(index)
    return decision_dates(index, ex.rebalance, regime)


def _sleeve_returns(cfg: RunConfig, market: MarketData, regimes: RegimeResult | None, index: pd.DatetimeIndex,
                    book: MemberBook | None) -> pd.DataFrame:
    if book is None:
        return sleeve_returns(market.prices, cfg.sleeves).loc[index]
    return book.sleeve_returns(run_decisions(cfg, index, regimes)[0]).loc[index]


def allocation_stage(cfg: RunConfig, market: MarketData, regimes: RegimeResult,
                     book: MemberBook | None = None) -> pd.DataFrame:
    probs = trading_probabilities(regimes, market)
    if book is None:
        book = member_book(cfg, market)
    ctx = StrategyContext(
        probabilities=probs,
        prices=market.prices.loc[probs.index],
        sleeves=cfg.sleeves,
        regime_weights=cfg.strategy.weights,
        params=cfg.strategy.params,
        sleeve_returns=_sleeve_returns(cfg, market, regimes, probs.index, book),
        strategy_path=cfg.strategy.path,
    )
    where = f"strategy {cfg.strategy.name}"
    strategy = resolve_strategy(cfg.strategy.name, cfg.strategy.path)
    try:
        weights = strategy(ctx)
    except RegimeshiftError:
        raise
    except (Exception, SystemExit) as exc:
        # the user's line first (their file, not the pandas frame it failed in); the traceback is the cause
        own = strategy_file(cfg.strategy.name, cfg.strategy.path)
        at = where_raised(exc, (own,) if own else ())
        at = f"{at}: " if at else ""
        if isinstance(exc, SystemExit):  # a strategy must return weights; ending the whole run is not its call
            raise ConfigError(f"{at}{where}: target_weights called sys.exit({exc.code!r}) instead of returning "
                              "weights") from exc
        raise ConfigError(f"{at}{where}: target_weights raised {type(exc).__name__}: "
                          f"{' '.join(str(exc).split())}") from exc
    if not isinstance(weights, pd.DataFrame):
        raise ConfigError(f"{where}: target_weights must return a DataFrame (date x sleeve), got {type(weights).__name__}")
    missing = [c for c in (*cfg.sleeves, CASH) if c not in weights.columns]
    if missing:
        raise ConfigError(f"{where}: no weight column for {', '.join(missing)}")
    if not weights.index.equals(probs.index):
        raise ConfigError(f"{where}: weights must have one row per date of the regime probabilities")
    # a custom strategy may skip run_algos: enforce the weight contract here too
    return check_weights(weights[[*cfg.sleeves, CASH]], where)


def replay_stage(
    cfg: RunConfig, market: MarketData, weights: pd.DataFrame, regimes: RegimeResult | None = None,
    book: MemberBook | None = None, reuse: StageReuse | None = None,
) -> ReplayResult:
    """Replay the strategy (backtrader) and, beside it, the benchmarks (same execution, array replay).

    ``regimes`` is needed only for ``execution.on_regime_change``; ``reuse`` keeps the benchmark replays whose
    inputs did not change since the previous run (``run --watch``).
    """
    ex = cfg.execution
    prices = market.prices.loc[weights.index]
    check_cash_buys_a_share(cfg, prices)
    opens = traded_opens(cfg, market, weights.index)
    rate = None
    if cfg.data.cash_rate is not None:
        rate = rate_per_bar(market, cfg.data.cash_rate, weights.index, "data.cash_rate").fillna(0.0)
    candidates, forced = run_decisions(cfg, weights.index, regimes)
    if book is None:
        book = member_book(cfg, market)
    if book is None:
        targets = symbol_weights(weights.loc[candidates], cfg.sleeves)
    else:  # each rule sleeve's members weighed on each decision's close
        targets = book.targets(weights.loc[candidates])
    rep = replay(prices, targets, ex, opens, cash_rate=rate, forced=forced)
    beside = replay_benchmarks(cfg, prices, opens, rate, weights=weights, book=book,
                               memo=reuse.replays if reuse is not None else None)
    return dataclasses.replace(rep, beside=beside)


def rate_per_bar(market: MarketData, name: str, index: pd.DatetimeIndex, field: str) -> pd.Series:
    """A macro rate (% a year, lagged by the loader like every macro series) as a fraction per trading day on
    ``index``, carried forward between prints (NaN before its first print)."""
    if name not in market.macro.columns:
        raise ConfigError(f"{field}: series '{name}' is not among the loaded macro series")
    return market.macro[name].reindex(index).ffill() / 100.0 / TRADING_DAYS


def risk_free_stage(cfg: RunConfig, market: MarketData, index: pd.DatetimeIndex) -> RiskFree:
    """The rate every ratio of the run is measured over (``report.risk_free``, else ``data.cash_rate``, else 0).

    A series is read exactly as the replay credits cash: the rate known at the previous close, per trading day
    (so a portfolio held in cash has an excess return of zero). It must cover the whole run."""
    choice = cfg.report.risk_free if cfg.report.risk_free is not None else cfg.data.cash_rate
    if choice is None:
        return RiskFree.zero()
    if not isinstance(choice, str):
        return RiskFree.annual(float(choice))
    field = "report.risk_free" if cfg.report.risk_free is not None else "report.risk_free (default: data.cash_rate)"
    rate = rate_per_bar(market, choice, index, field)
    if len(rate) and rate.isna().any():
        first = rate.index[rate.isna().to_numpy()][0]
        covered = rate.first_valid_index()
        since = f"its first value is on {covered.date()}" if covered is not None else "it has no value at all"
        raise ConfigError(f"{field}: series {choice!r} does not cover the run: no rate on {first.date()} ({since}; "
                          f"the run starts {index[0].date()})")
    accrual = cash_accrual(rate, index)
    assert accrual is not None
    return RiskFree(choice, pd.Series(accrual, index=index))


def check_cash_buys_a_share(cfg: RunConfig, prices: pd.DataFrame) -> None:
    """Whole-share sizing with less cash than the cheapest traded share never trades: refuse it rather than
    report the idle cash's figures (a Sharpe of 36 on 0% volatility) as a strategy's."""
    ex = cfg.execution
    traded = [s for s in cfg.symbols if s in prices.columns]
    if ex.fractional or prices.empty or not traded:
        return
    first = prices[traded].iloc[0]
    cheapest = str(first.idxmin())
    if ex.initial_cash < float(first[cheapest]):
        raise ConfigError(
            f"execution.initial_cash: {ex.initial_cash:g} cannot buy one share of any traded symbol (cheapest: "
            f"{cheapest} at {float(first[cheapest]):.2f} on {prices.index[0].date()}); raise it or set "
            "execution.fractional = true"
        )


def traded_opens(cfg: RunConfig, market: MarketData, index: pd.DatetimeIndex) -> pd.DataFrame | None:
    """The opens of every symbol the strategy and its benchmarks trade on ``index``, or ``None`` (fill at the
    next close) when timing is same-bar or some traded symbol has no open on some of those days.

    All or nothing, so that one bar's orders never mix open and close prices.
    """
    opens = market.opens
    if cfg.execution.timing == "same_bar" or opens is None:
        return None
    traded = list(cfg.symbols)  # sleeve members and the benchmark; feature-only symbols are never traded
    if any(s not in opens.columns for s in traded):
        return None
    opens = opens[traded].reindex(index)
    return None if opens.isna().any().any() else opens


def daily_returns(cfg: RunConfig, market: MarketData, rep: ReplayResult) -> pd.DataFrame:
    bench = market.prices[cfg.data.benchmark].loc[rep.value.index].pct_change().fillna(0.0)
    return pd.DataFrame({"strategy": rep.returns, "benchmark": bench})


def metrics_stage(
    cfg: RunConfig, returns: pd.DataFrame, regimes: RegimeResult, rep: ReplayResult,
    risk_free: RiskFree | None = None, trips: pd.DataFrame | None = None,
) -> dict[str, Any]:
    regime = regimes.regime.loc[returns.index]
    shares = regime.value_counts(normalize=True).reindex(list(cfg.regimes.names), fill_value=0.0)
    rf = risk_free or RiskFree.zero()

    def performance(r: pd.Series) -> dict[str, float]:
        return performance_metrics(r, rf)

    strategy = performance(returns["strategy"])
    strategy.update(execution_metrics(rep, cfg.execution.initial_cash))
    twin = rep.beside.get("static_twin")
    timing = None
    if isinstance(twin, ReplayResult):
        timing = timing_value(returns["strategy"], twin.returns, rf, seed=cfg.seed,
                              n_boot=cfg.report.timing_resamples, confidence=cfg.report.timing_confidence).as_dict()
    return {
        "name": cfg.name,
        "config_hash": cfg.digest(),
        "start": str(returns.index[0].date()),
        "end": str(returns.index[-1].date()),
        "n_days": int(len(returns)),
        "initial_cash": cfg.execution.initial_cash,
        # what every ratio below is measured over, and how (reports/metrics.py)
        "risk_free": rf.value,
        "basis": rf.describe(),
        "strategy": strategy,
        "benchmark": {"symbol": cfg.data.benchmark, **performance(returns["benchmark"])},
        # replayed with the same costs, cash buffer, cash interest and drift band as the strategy
        "benchmarks": benchmark_metrics(rep.beside, cfg.execution.initial_cash, performance),
        # strategy minus static twin (the same average weights held): what the regime timing added
        "timing": timing,
        # the fills as FIFO round trips, profit and loss after costs (round_trips.csv; backtests/trade_log.py)
        "trades": trade_stats(trips if trips is not None else round_trips(rep.trades), rep.trades),
        "n_refits": regimes.n_refits,
        "n_nonconverged": regimes.n_nonconverged,
        "regime_shares": {k: float(v) for k, v in shares.items()},
        "regime_switches_per_year": switches_per_year(regime),
        # how the last model named its states, and which neighbouring names are within noise (regimes/naming.py)
        "regime_naming": _naming_summary(regimes.model),
        "oos_loglik": regimes.oos_loglik,
        "versions": library_versions(),  # Python and the libraries that produced these numbers (core/versions.py)
    }


def data_warnings(market: Any) -> tuple[str, ...]:
    """What the loader did that the user did not ask for, one sentence each: price gaps filled forward (with
    --allow-gaps) and a start moved by a series that begins later (console, tearsheet and the signal's output)."""
    gaps = tuple(getattr(market, "gaps", ()))
    out = [f"{g.describe()}: filled forward with the last price (--allow-gaps); no trade could have filled "
           "there at a real price" for g in gaps[:5]]
    if len(gaps) > 5:
        out.append(f"{len(gaps) - 5} more price gaps filled forward (all in metrics.json, data_gaps)")
    out.extend(getattr(market, "notices", ()))
    return tuple(out)


def _naming_summary(model: Any) -> dict[str, Any]:
    if not hasattr(model, "naming_report"):
        return {}
    d = model.naming_report().as_dict()
    return {"order_by": d["order_by"], "ambiguous": d["ambiguous"], "z_gaps": d["z_gaps"]}


# -- the whole run -------------------------------------------------------------------------------------------
#: what each stage does, as the progress lines say it
STAGE_WORDS = {
    "load": "reading prices and macro series",
    "features": "building the features",
    "regimes": "walk-forward regime fits (cached fits are reused)",
    "allocation": "the strategy's target weights",
    "replay": "replaying the strategy (backtrader) and its references",
    "metrics": "metrics, the static twin's value of timing (block bootstrap)",
}


def run_pipeline(cfg: RunConfig, data_dir: str | Path | SeriesSource | None = None,
                 market: MarketData | None = None, *, cache: bool = True,
                 progress: Callable[[str], None] | None = None, reuse: StageReuse | None = None) -> PipelineResult:
    """Run every stage; pass ``market`` to skip loading (tests and notebooks that build data themselves);
    ``cache=False`` re-fits every regime model instead of reusing the regime cache. ``progress`` receives one
    line as each stage starts and one as it ends, with its time (the CLI prints them on stderr). ``reuse``
    (kept by the caller between runs, as ``run --watch`` does) skips the stages whose inputs did not change
    since the run before (:class:`StageReuse`); the results are the same objects that run computed."""
    timings: dict[str, float] = {}
    check_strategy(cfg.strategy.name, cfg.strategy.params, cfg.strategy.path)  # a misspelt parameter fails now, not after the fits

    def timed(stage: str, fn: Callable[[], T]) -> T:
        if progress is not None:
            progress(f"{stage}: {STAGE_WORDS.get(stage, stage)} ...")
        with progress_lines.stage(stage, STAGE_WORDS.get(stage, stage), timings):  # stderr, when the CLI asks
            out = fn()
        if progress is not None:
            progress(f"{stage}: done in {timings[stage]:.2f} s")
        return out

    if market is None:
        market = timed("load", lambda: load_stage(cfg, data_dir))
    features = reuse.reused_features(cfg, market) if reuse is not None else None
    if features is None:
        features = timed("features", lambda: feature_stage(cfg, market))
    else:
        progress_lines.say("features: no feature setting or data changed: the features built before")
    regimes = reuse.reused_regimes(cfg, features, cache) if reuse is not None else None
    if regimes is None:
        regimes = timed("regimes", lambda: regime_stage(cfg, features, cache=cache, market=market))
    else:
        progress_lines.say("regimes: no regime setting or feature changed: the regimes fitted before")
    if reuse is not None:
        reuse.features = (market, _features_key(cfg), features)
        reuse.regimes = (features, _regimes_key(cfg, cache), regimes)
    book = member_book(cfg, market)
    weights = timed("allocation", lambda: allocation_stage(cfg, market, regimes, book))
    rep = timed("replay", lambda: replay_stage(cfg, market, weights, regimes, book, reuse))
    returns = daily_returns(cfg, market, rep)
    risk_free = risk_free_stage(cfg, market, returns.index)  # before the metrics: a rate that does not cover fails
    trips = round_trips(rep.trades)
    metrics = timed("metrics", lambda: metrics_stage(cfg, returns, regimes, rep, risk_free, trips))
    gaps = getattr(market, "gaps", ())
    if gaps:  # only when the run filled a gap (--allow-gaps): a run on whole data keeps its metrics as they were
        metrics["data_gaps"] = [g.as_dict() for g in gaps]
    members = None
    if book is not None:  # only with a rule sleeve: a run of fixed sleeves keeps its metrics as they were
        decisions = run_decisions(cfg, weights.index, regimes)[0]
        members = book.table(decisions)
        metrics["sleeve_rules"] = book.fallback_summary(decisions)
    return PipelineResult(cfg, market, features, regimes, weights, rep, returns, metrics, timings, risk_free, trips,
                     members)
