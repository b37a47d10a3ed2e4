"""Benchmarks replayed beside every backtest, with the same execution, and the cost metrics of a replay.

Weight schedules over the strategy's dates, each run through :func:`backtests.replay.replay_arrays`
(the exact array twin of the backtrader replay: same costs, sizing, next-bar fills, cash buffer, cash
interest and drift band; ~30 ms each instead of seconds):

- ``static_twin``: the strategy's own daily target weights averaged over the run (cash included) and held
  constant, rebalanced on the strategy's calendar (``execution.rebalance``; a regime change forces nothing):
  the same allocation without the timing, against which the value of timing is measured;
- ``buy_hold``: 100% ``data.benchmark``, bought on the first decision, never rebalanced;
- ``sixty_forty``: 60% ``data.benchmark``, 40% the bonds sleeve (``data.bond_sleeve``, its members at their
  in-sleeve weights), rebalanced monthly;
- ``equal_weight``: every sleeve 1/n (members at their in-sleeve weights), rebalanced monthly.

The tearsheet's benchmark is still the frictionless buy-and-hold of ``data.benchmark`` (the "benchmark"
column of the run's returns); these replays go to ``metrics["benchmarks"]``.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from regimeshift.core.constants import TRADING_DAYS
from regimeshift.backtests.config import RunConfig
from regimeshift.backtests.replay import ReplayResult, rebalance_dates, replay_arrays
from regimeshift.strategies.sleeves import MemberBook, sleeve_symbols

BENCHMARKS = ("static_twin", "equal_weight", "sixty_forty", "buy_hold")


def average_weights(weights: pd.DataFrame) -> pd.Series:
    """The strategy's sleeve weights (cash included) averaged over every day of the run."""
    return weights.mean(axis=0)


def benchmark_schedules(
    cfg: RunConfig, index: pd.DatetimeIndex, weights: pd.DataFrame | None = None, book: MemberBook | None = None
) -> dict[str, pd.DataFrame | str]:
    """Decision date x symbol target weights of each benchmark, or a string saying why it is skipped.

    ``weights`` (date x sleeve, the strategy's daily targets) gives the static twin; without them it is skipped.
    ``book`` (rule sleeves): the members of every sleeve are weighed on each benchmark decision by the same
    function, on the same closes, as the strategy's (the twin differs in sleeve weights only).
    """
    bench = cfg.data.benchmark
    monthly = rebalance_dates(index, "monthly")

    def mix(sleeve_weights: Mapping[str, float], extra: Mapping[str, float] | None = None) -> dict[str, float]:
        """Symbol weights of sleeve weights (members at their in-sleeve weights), plus ``extra`` symbol weights."""
        out = dict(extra or {})
        for name, weight in sleeve_weights.items():
            members = cfg.sleeves[name]
            total = sum(members.values())
            for s, w in members.items():
                out[s] = out.get(s, 0.0) + weight * w / total
        return out

    def held(weights_: dict[str, float], dates: pd.DatetimeIndex) -> pd.DataFrame:
        return pd.DataFrame([weights_] * len(dates), index=dates)

    if book is not None:
        mix, held = _ruled(cfg, book)  # type: ignore[assignment]

    out: dict[str, pd.DataFrame | str] = {}
    if weights is not None and not weights.empty:
        avg = average_weights(weights)
        twin = mix({name: float(avg.get(name, 0.0)) for name in cfg.sleeves})  # cash is what is left
        out["static_twin"] = held(twin, rebalance_dates(index, cfg.execution.rebalance))
    else:
        out["static_twin"] = "no strategy weights"
    if cfg.sleeves:
        out["equal_weight"] = held(mix(dict.fromkeys(cfg.sleeves, 1.0 / len(cfg.sleeves))), monthly)
    else:
        out["equal_weight"] = "no sleeves"
    if cfg.data.bond_sleeve in cfg.sleeves:
        out["sixty_forty"] = held(mix({cfg.data.bond_sleeve: 0.4}, {bench: 0.6}), monthly)
    else:
        out["sixty_forty"] = f"no sleeve named '{cfg.data.bond_sleeve}' (data.bond_sleeve)"
    out["buy_hold"] = pd.DataFrame({bench: 1.0}, index=index[:1])
    return out


def _ruled(cfg: RunConfig, book: MemberBook) -> tuple[Any, Any]:
    """``mix`` and ``held`` of :func:`benchmark_schedules` for rule sleeves: a mix is kept as sleeve weights
    (plus extra symbol weights) and split over the members on each decision date when it is held."""

    def mix(sleeve_weights: Mapping[str, float], extra: Mapping[str, float] | None = None) -> Any:
        return dict(sleeve_weights), dict(extra or {})

    def held(mixed: Any, dates: pd.DatetimeIndex) -> pd.DataFrame:
        sleeve_weights, extra = mixed
        w = np.array([[float(sleeve_weights.get(n, 0.0)) for n in cfg.sleeves]] * len(dates)).reshape(
            len(dates), len(cfg.sleeves))
        frame = pd.DataFrame(book.symbol_rows(w, dates), index=dates, columns=list(sleeve_symbols(cfg.sleeves)))
        for sym, x in extra.items():
            frame[sym] = (frame[sym] if sym in frame else 0.0) + x
        return frame

    return mix, held


def replay_benchmarks(
    cfg: RunConfig,
    prices: pd.DataFrame,
    opens: pd.DataFrame | None = None,
    cash_rate: pd.Series | None = None,
    weights: pd.DataFrame | None = None,
    book: MemberBook | None = None,
    memo: dict[str, Any] | None = None,
) -> dict[str, ReplayResult | str]:
    """Each benchmark replayed over ``prices`` (the strategy's dates) with ``cfg.execution``; ``weights``, the
    strategy's daily sleeve targets, give the static twin; ``book`` weighs rule sleeves' members.

    ``memo`` (kept by the caller between runs: ``run --watch``): a replay whose inputs have the same content as
    one of the previous call's is taken from it instead of replayed (an edited strategy weight moves only the
    static twin); afterwards it holds this call's replays."""
    out: dict[str, ReplayResult | str] = {}
    scheds = benchmark_schedules(cfg, prices.index, weights, book)
    common = None if memo is None else _digest_of(prices, opens, cash_rate, cfg.execution.model_dump_json())
    kept: dict[str, Any] = {}
    for name in BENCHMARKS:
        sched = scheds[name]
        if isinstance(sched, str):
            out[name] = sched
            continue
        if memo is None:
            out[name] = replay_arrays(prices, sched, cfg.execution, opens, cash_rate=cash_rate)
            continue
        key = _digest_of(common, sched)
        rep = memo.get(key)
        out[name] = kept[key] = rep if rep is not None else replay_arrays(prices, sched, cfg.execution, opens,
                                                                          cash_rate=cash_rate)
    if memo is not None:
        memo.clear()
        memo.update(kept)
    return out


def _digest_of(*parts: Any) -> str:
    """A digest of the exact content of frames, series and strings (values to the bit, index, column names)."""
    import hashlib

    h = hashlib.blake2b(digest_size=20)
    for part in parts:
        if isinstance(part, (pd.DataFrame, pd.Series)):
            names = list(part.columns) if isinstance(part, pd.DataFrame) else [part.name]
            h.update(repr((type(part).__name__, part.shape, names,
                           str(part.to_numpy().dtype), str(part.index.dtype))).encode())
            h.update(np.ascontiguousarray(part.to_numpy(dtype=float)).tobytes())
            h.update(part.index.asi8.tobytes() if isinstance(part.index, pd.DatetimeIndex) else
                     repr(list(part.index)).encode())
        else:
            h.update(repr(part).encode())
        h.update(b"\x00")
    return h.hexdigest()


def execution_metrics(rep: ReplayResult, initial_cash: float) -> dict[str, Any]:
    """Turnover, trades and costs of one replay.

    - ``turnover``: traded value (buys + sells) / average portfolio value, per year (2.0 = the whole book
      bought and sold once a year);
    - ``costs_total`` = ``commission_paid`` + ``slippage_paid`` (slippage = |size| x |fill - unslipped price|);
    - ``cost_drag`` = costs_total / (final value - initial value): the share of the profit paid away in costs
      (null when the run lost money, where the ratio means nothing);
    - ``cost_drag_annual`` = costs_total / average value / years: return given up to costs per year;
    - ``interest_earned``: cash interest credited (zero without ``data.cash_rate``);
    - ``n_rejected_orders``, ``n_partial_orders``: orders rejected, and orders filled in more than one piece;
    - ``fill_price``: what the orders filled at, ``next_open`` (OHLC data), ``next_close`` (close-only data)
      or ``same_bar_close`` (optimistic).
    """
    years = max(len(rep.value) / TRADING_DAYS, 1e-9)
    mean_value = float(rep.value.mean()) if len(rep.value) else math.nan
    commission, slippage = rep.commission, rep.slippage
    costs = commission + slippage
    gain = float(rep.value.iloc[-1]) - initial_cash if len(rep.value) else math.nan
    return {
        "turnover": rep.traded_value / mean_value / years,
        "n_trades": int(len(rep.trades)),
        "n_rebalances": int(rep.n_rebalances),
        "commission_paid": commission,
        "slippage_paid": slippage,
        "costs_total": costs,
        "cost_drag": costs / gain if gain > 0 else math.nan,
        "cost_drag_annual": costs / mean_value / years,
        "interest_earned": float(rep.interest),
        "n_orders": int(rep.n_orders),
        "n_rejected_orders": int(rep.n_rejected),
        "n_partial_orders": int(rep.n_partial),
        "fill_price": rep.fill_price,
    }


def benchmark_metrics(
    beside: Mapping[str, ReplayResult | str], initial_cash: float, performance: Any
) -> dict[str, dict[str, Any]]:
    """metrics["benchmarks"]: performance (same keys as the strategy's) plus execution metrics."""
    out: dict[str, dict[str, Any]] = {}
    for name, rep in beside.items():
        if isinstance(rep, str):
            out[name] = {"skipped": rep}
            continue
        out[name] = {**performance(rep.returns), **execution_metrics(rep, initial_cash)}
    return out
