"""The live end of a run: what to trade on the next bar, and a log of every day's decision.

A scheduled job (cron, a systemd timer, CI) runs ``regimeshift signal CONFIG`` after new data lands. The pipeline
is the backtest's, unchanged: the regime model is re-fitted on its walk-forward schedule (the cache makes the
unchanged past free), the strategy allocates, the replay carries the simulated book up to the last close. The
ticket is then read off the replay's end state -- the decision taken on the last close, not yet filled -- so a
live order can never differ from what the backtest would have done on that day.

``signals.csv`` keeps one row per decision day the job has seen. Each run re-derives the logged days from the
current data and reports days whose regime or targets changed since they were logged: the visible trace of a data
revision (a restated macro print, a new dividend adjustment), which a backtest alone would silently absorb.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from regimeshift.backtests.costs import plan_orders, sizing_rules
from regimeshift.backtests.replay import decision_dates
from regimeshift.core.constants import CASH
from regimeshift.core.errors import DataError
from regimeshift.outputs import atomic_write_text
from regimeshift.pipeline import PipelineResult, symbol_targets

LOG_TOLERANCE = 1e-6  # a logged probability or weight that moved by more than this counts as revised


@dataclass(frozen=True)
class Order:
    symbol: str
    side: str  # "buy" or "sell"
    shares: float
    price: float  # the last close: the fill price for same-bar timing, else an estimate of the next bar's
    notional: float


@dataclass(frozen=True)
class Ticket:
    as_of: str  # the last close the decision used (YYYY-MM-DD)
    fills_at: str  # "next_open", "next_close" or "same_bar_close"
    regime: str
    probabilities: dict[str, float]
    sleeve_targets: dict[str, float]  # the strategy's allocation on as_of (cash included)
    decision: bool  # whether the book is traded on this close
    reason: str
    value: float  # simulated book value at the as_of close
    held: dict[str, float]  # weights held at the as_of close (cash included)
    orders: tuple[Order, ...]
    # the simulated book at the as_of close: shares per symbol and the cash balance (what `signal --holdings`
    # reads back, in the holdings file's terms, to trade an account exactly as the backtest does)
    book: dict[str, float]
    stale: str | None = None  # why as_of is before the last price in the data, if it is

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"


def build_ticket(result: PipelineResult) -> Ticket:
    """The decision of the run's last close, from the replay's end state."""
    rep = result.replay
    if rep.holdings is None:
        raise ValueError("the replay has no end state (run the backtrader replay, not the array twin)")
    weights = result.weights.loc[result.returns.index]
    as_of = weights.index[-1]
    probs = result.regimes.probabilities.reindex(weights.index).loc[as_of]
    prices = result.market.prices.loc[as_of, rep.holdings.index]
    value = float(rep.value.iloc[-1])
    cash = float(rep.cash.iloc[-1])
    held = {sym: float(q * prices[sym] / value) for sym, q in rep.holdings.items() if q}
    held[CASH] = cash / value
    book = {str(sym): float(q) for sym, q in rep.holdings.items()}
    book[CASH] = cash

    decision, reason = _decision(result, as_of)
    orders: tuple[Order, ...] = ()
    if rep.pending is not None:
        orders = planned_orders(result, prices)
    if decision and rep.pending is None:
        reason += "; every weight is within the drift band, so nothing trades"
        decision = False
    return Ticket(
        as_of=str(as_of.date()),
        fills_at=rep.fill_price,
        regime=str(probs.idxmax()),
        probabilities={k: float(v) for k, v in probs.items()},
        sleeve_targets={k: float(v) for k, v in weights.loc[as_of].items()},
        decision=decision,
        reason=reason,
        value=value,
        held=held,
        orders=orders,
        book=book,
        stale=staleness(result, as_of),
    )


def staleness(result: PipelineResult, as_of: pd.Timestamp) -> str | None:
    """Why the decision is older than the newest price, naming the inputs that ran out; None when it is not.

    A scheduled job must not pass off an April decision as today's because one macro file stopped updating.
    """
    prices = result.market.prices
    newest = prices.index[-1]
    if as_of >= newest:
        return None
    macro = result.market.macro
    gone = [str(c) for c in macro.columns if pd.isna(macro[c].iloc[-1])]
    detail = []
    for name in gone:
        seen = macro[name].dropna()
        detail.append(f"{name} (last usable on {seen.index[-1].date()})" if len(seen) else name)
    why = f": no current value of {', '.join(detail)}" if detail else ""
    return (f"the decision is as of {as_of.date()} but prices run to {newest.date()}{why}; refresh those "
            "files before trading on it")


def planned_orders(result: PipelineResult, prices: pd.Series) -> tuple[Order, ...]:
    """The orders that take the replay's end book to the pending targets at ``prices`` (per symbol).

    The ticket passes the last close; the replay sizes the same plan at the fill bar's price, so given that
    price this reproduces its fills exactly.
    """
    rep = result.replay
    if rep.pending is None or rep.holdings is None:
        return ()
    px = prices.reindex(rep.holdings.index).astype(float)
    plan = plan_orders(float(rep.cash.iloc[-1]), rep.holdings.tolist(), px.tolist(), rep.pending.to_numpy(),
                       **sizing_rules(result.config.execution))
    return tuple(_order(str(rep.holdings.index[i]), q, float(px.iloc[i])) for i, q in plan)


def _order(symbol: str, shares: float, price: float) -> Order:
    return Order(symbol, "buy" if shares > 0 else "sell", abs(shares), price, abs(shares) * price)


def _decision_dates(result: PipelineResult) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    ex = result.config.execution
    index = result.returns.index
    regime = result.regimes.regime.reindex(index) if ex.on_regime_change else None
    return decision_dates(index, ex.rebalance, regime)


def band_waived(result: PipelineResult, as_of: pd.Timestamp) -> bool:
    """Whether ``as_of`` is a regime change the run trades on: the replay then ignores its drift band."""
    return as_of in _decision_dates(result)[1]


def _decision(result: PipelineResult, as_of: pd.Timestamp) -> tuple[bool, str]:
    ex = result.config.execution
    index = result.returns.index
    candidates, forced = _decision_dates(result)
    if as_of in forced:
        return True, f"the most probable regime changed to {result.regimes.regime.loc[as_of]}"
    if as_of in candidates:
        return True, f"{ex.rebalance} rebalance day" if index[0] != as_of else "first day: initial allocation"
    return False, f"not a decision day (rebalance = {ex.rebalance!r}{', on regime change' if ex.on_regime_change else ''})"


def format_ticket(t: Ticket) -> str:
    probs = ", ".join(f"{k} {100 * v:.1f}%" for k, v in t.probabilities.items())
    lines = [
        f"as of the close of {t.as_of}: regime {t.regime} ({probs})",
        "targets: " + ", ".join(f"{k} {100 * v:.1f}%" for k, v in t.sleeve_targets.items() if v >= 0.0005),
        "held:    " + ", ".join(f"{k} {100 * v:.1f}%" for k, v in t.held.items() if abs(v) >= 0.0005)
        + f"  (simulated book {t.value:,.2f})",
        f"{'trade' if t.decision else 'no trade'}: {t.reason}",
    ]
    if t.stale:
        lines.insert(0, f"warning: {t.stale}")
    if t.orders:
        when = {"next_open": "at the next open; shares sized at the last close",
                "next_close": "at the next close; shares sized at the last close",
                "same_bar_close": "at this close"}[t.fills_at]
        lines.append(f"orders ({when}):")
        for o in t.orders:
            shares = f"{o.shares:,.4f}".rstrip("0").rstrip(".")
            lines.append(f"  {o.side:4} {shares:>14} {o.symbol:<8} ~{o.notional:,.2f}")
    return "\n".join(lines)


# -- the decision log -------------------------------------------------------------------------------------------
def decision_rows(result: PipelineResult) -> pd.DataFrame:
    """One row per day of the run: most probable regime, its probabilities and the symbol targets."""
    cfg = result.config
    index = result.returns.index
    probs = result.regimes.probabilities.reindex(index)
    targets = symbol_targets(cfg, result.market, result.weights.loc[index])
    rows = pd.concat(
        [probs.idxmax(axis=1).rename("regime"), probs.add_prefix("p_"), targets.add_prefix("w_")], axis=1
    )
    rows.index.name = "date"
    return rows


@dataclass(frozen=True)
class LogUpdate:
    path: Path
    added: bool  # the as_of row is new (False: it was logged already and is unchanged or replaced)
    revised: tuple[str, ...]  # logged days whose regime or targets differ from the current data's


def update_log(path: Path, result: PipelineResult, as_of: str) -> LogUpdate:
    """Add (or refresh) the ``as_of`` row of ``signals.csv`` and compare every logged day with the current run."""
    update, text = log_update(path, result, as_of)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text)
    return update


def log_update(path: Path, result: PipelineResult, as_of: str, extra: dict[str, str] | None = None) -> tuple[LogUpdate, str]:
    """:func:`update_log` without writing: the update and the new text of ``signals.csv`` (for a caller that
    commits it together with other files). ``extra``: more columns of the ``as_of`` row (e.g. the fit id)."""
    rows = decision_rows(result)
    today = rows.loc[[pd.Timestamp(as_of)]]
    if extra:
        today = today.assign(**extra)
    old = _read_log(path) if path.exists() else None
    revised: list[str] = []
    if old is not None:
        common = old.index.intersection(rows.index)
        revised = [str(d.date()) for d in common if not _same_row(old.loc[d], rows.loc[d])]
        added = pd.Timestamp(as_of) not in old.index
        merged = pd.concat([old.drop(index=today.index, errors="ignore"), today]).sort_index()
    else:
        added, merged = True, today
    merged = merged[[c for c in rows.columns if c in merged.columns] + [c for c in merged.columns if c not in rows]]
    text = merged.to_csv(float_format="%.10g", date_format="%Y-%m-%d", lineterminator="\n")
    return LogUpdate(path=path, added=added, revised=tuple(revised)), text


def _read_log(path: Path) -> pd.DataFrame:
    try:
        log = pd.read_csv(path, index_col="date", parse_dates=["date"])
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: not a signals log ({str(exc).splitlines()[0]})") from None
    if "regime" not in log.columns or not log.index.is_unique:
        raise DataError(f"{path}: not a signals log (expected a 'date' column of unique days and a 'regime' column)")
    return log


def _same_row(logged: pd.Series, now: pd.Series) -> bool:
    if str(logged.get("regime")) != str(now["regime"]):
        return False
    for col, v in now.items():
        if col == "regime":
            continue
        a, b = float(v), float(logged.get(col, math.nan))
        if math.isnan(a) != math.isnan(b) or (not math.isnan(a) and abs(a - b) > LOG_TOLERANCE):
            return False
    return True


def ticket_summary(update: LogUpdate) -> str:
    lines = [f"log: {update.path} ({'added' if update.added else 'refreshed'} today's row)"]
    if update.revised:
        first = ", ".join(update.revised[:3]) + (" ..." if len(update.revised) > 3 else "")
        lines.append(
            f"warning: {len(update.revised)} logged day(s) now give a different regime or targets: {first} "
            "(the data for those days was revised since they were logged, or the config changed)"
        )
    return "\n".join(lines)
