"""Orders for a real account: the signal's targets applied to the holdings the account actually has.

``holdings.csv`` has the columns ``symbol,quantity``; a ``CASH`` row holds the cash balance (in the account's
currency). The plan sizes orders at the last close by the backtest's own rules (``backtests/costs.py``), so an
account holding the simulated book gets exactly the simulated ticket's orders:

* the run's commission (with its minimum per order), slippage and cash buffer; whole shares unless
  ``fractional``; a sale never exceeds the position, a buy never the cash at hand;
* sells first (they fund the buys), then buys, scaled down together if the cash (net of costs) falls short;
* nothing while every weight is within ``band`` of its target (the replay's drift band); no order worth less
  than ``min_trade`` (that symbol is left as it is);
* a preview of the account's weights after the orders, net of costs.
"""
from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from regimeshift.backtests.costs import SizingRules, fill_cost, plan_orders
from regimeshift.core.errors import DataError

CASH_ROW = "CASH"
#: the largest quantity (shares or cash) a holdings file may hold: 2**53, past which a float no longer counts whole
#: units (and 1e308 shares times a price is inf)
MAX_QUANTITY = float(2**53)


@dataclass(frozen=True)
class Holdings:
    quantities: dict[str, float]
    cash: float


def read_holdings(path: Path, symbols: Sequence[str]) -> Holdings:
    """Read and check ``holdings.csv``; any problem is one :class:`DataError` line naming the file and line."""
    name = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(f"{name}: holdings file not found (expected a CSV 'symbol,quantity' with a CASH row)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{name}: cannot read the holdings ({exc})") from None
    rows = list(csv.reader(io.StringIO(text)))
    while rows and not any(c.strip() for c in rows[0]):
        rows.pop(0)
    if not rows or [c.strip().lower() for c in rows[0]] != ["symbol", "quantity"]:
        head = ",".join(rows[0]) if rows else ""
        raise DataError(f"{name} line 1: header {head!r} (expected 'symbol,quantity')")
    known = {s.upper(): s for s in symbols}
    quantities: dict[str, float] = {}
    seen: dict[str, int] = {}
    cash: float | None = None
    for lineno, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != 2:
            raise DataError(f"{name} line {lineno}: expected 2 fields 'symbol,quantity', saw {len(row)}")
        sym, qty_text = row[0].strip(), row[1].strip()
        try:
            qty = float(qty_text)
        except ValueError:
            qty = math.nan
        if not math.isfinite(qty):
            raise DataError(f"{name} line {lineno}: quantity {qty_text!r} of {sym} is not a number")
        if abs(qty) > MAX_QUANTITY:
            raise DataError(f"{name} line {lineno}: quantity {qty_text!r} of {sym} is too large (expected at most "
                            f"{MAX_QUANTITY:,.0f}, the largest whole number a float holds exactly)")
        key = sym.upper()
        if key in seen:
            raise DataError(f"{name} line {lineno}: duplicate row for {sym} (also on line {seen[key]})")
        seen[key] = lineno
        if key == CASH_ROW:
            if qty < 0:
                raise DataError(f"{name} line {lineno}: CASH {qty:g} is negative (expected a balance >= 0)")
            cash = qty
            continue
        if key not in known:
            raise DataError(
                f"{name} line {lineno}: symbol {sym!r} is not traded by this config (expected one of "
                f"{', '.join(symbols)} or CASH)"
            )
        if qty < 0:
            raise DataError(f"{name} line {lineno}: quantity {qty:g} of {sym} is negative (expected >= 0; no shorts)")
        quantities[known[key]] = qty
    if cash is None:
        raise DataError(f"{name}: no CASH row (expected a row 'CASH,<balance>', 0 if none)")
    return Holdings(quantities, cash)


@dataclass(frozen=True)
class AccountOrder:
    symbol: str
    side: str
    shares: float
    price: float
    notional: float


@dataclass(frozen=True)
class AccountPlan:
    value: float  # account value at the last close
    orders: tuple[AccountOrder, ...]
    weights_before: dict[str, float]
    targets: dict[str, float]
    weights_after: dict[str, float]  # the preview: after the orders, at the last close, net of commission
    cash_after: float
    skipped: dict[str, str] = field(default_factory=dict)  # symbol -> why no order

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def plan_account(holdings: Holdings, prices: Mapping[str, float], targets: Mapping[str, float],
                 rules: SizingRules, *, min_trade: float = 0.0, band: float = 0.0) -> AccountPlan:
    """Orders taking ``holdings`` to ``targets`` (symbol -> weight of the account; the rest is cash) by the
    backtest's own sizing (:func:`costs.plan_orders` with ``rules``: its commission, minimum commission,
    slippage, cash buffer and share rounding), at the last close.

    ``targets``' order is the replay's asset order (buys cut short for cash are trimmed in that order).
    ``band``: nothing trades while every weight is within it of its target, as the replay's drift band.
    ``min_trade``: an order worth less (at the last close) is not placed and its symbol is held as it is; the
    rest is sized again without it, so a dropped sale never leaves a buy unpaid.
    """
    symbols = list(dict.fromkeys([*targets, *holdings.quantities]))
    qty = [float(holdings.quantities.get(s, 0.0)) for s in symbols]
    px = [float(prices[s]) for s in symbols]
    want = [float(targets.get(s, 0.0)) for s in symbols]
    value = holdings.cash + sum(q * p for q, p in zip(qty, px))
    if not value > 0:
        raise DataError(f"holdings: the account is worth {value:,.2f} at the last close (expected > 0)")
    before = {s: q * p / value for s, q, p in zip(symbols, qty, px)}
    skipped: dict[str, str] = {}

    plan: list[tuple[int, float]] = []
    keep: set[int] = set()  # symbols whose order would be below min_trade
    if all(abs(w - before[s]) <= band for s, w in zip(symbols, want)):
        skipped = {s: f"drift {100 * (w - before[s]):+.2f}% is inside the band"
                   for s, w in zip(symbols, want) if w != before[s]}
    else:
        while True:
            plan = plan_orders(holdings.cash, qty, px, want, **rules, keep=keep)
            small = {i for i, q in plan if abs(q) * px[i] < min_trade}
            if not small:
                break
            keep |= small
        placed = {i for i, _ in plan}
        budget = value * (1.0 - rules["buffer"])
        for i, s in enumerate(symbols):
            if i in placed:
                continue
            gap = budget * want[i] / px[i] - qty[i]
            if i in keep:
                skipped[s] = f"{'sale' if gap < 0 else 'purchase'} below the minimum trade size"
            elif not rules["fractional"] and abs(gap) < 1.0 and want[i] != before[s]:
                skipped[s] = "less than one share"
            elif abs(gap) * px[i] > 1e-9 * value:
                skipped[s] = "its commission would exceed its value, or no cash is left for it"

    cash = holdings.cash
    after_qty = dict(zip(symbols, qty))
    orders: list[AccountOrder] = []
    for i, q in plan:
        fill, comm = fill_cost(q, px[i], rules["slippage"], rules["commission_bps"], rules["min_commission"])
        cash -= q * fill + comm
        after_qty[symbols[i]] += q
        orders.append(AccountOrder(symbols[i], "buy" if q > 0 else "sell", abs(q), px[i], abs(q) * px[i]))
    after_value = cash + sum(after_qty[s] * p for s, p in zip(symbols, px))
    after = {s: after_qty[s] * p / after_value for s, p in zip(symbols, px)}
    after["cash"] = cash / after_value
    before["cash"] = holdings.cash / value
    return AccountPlan(value, tuple(orders), before, {**dict(zip(symbols, want)), "cash": 1 - sum(want)}, after,
                       cash, skipped)


def format_plan(plan: AccountPlan) -> str:
    lines = [f"account orders (worth {plan.value:,.2f} at the last close; sells first):"]
    if not plan.orders:
        why = "; ".join(f"{sym} {reason}" for sym, reason in plan.skipped.items())
        lines.append(f"  none: {why or 'the account is at its targets'}")
    for o in plan.orders:
        shares = f"{o.shares:,.4f}".rstrip("0").rstrip(".")
        lines.append(f"  {o.side:4} {shares:>12} {o.symbol:<8} ~{o.notional:,.2f}")
    lines.append(f"  {'':<8}{'now':>8}{'target':>8}{'after':>8}")
    for s in plan.weights_after:
        lines.append(f"  {s:<8}{100 * plan.weights_before.get(s, 0):7.1f}%{100 * plan.targets.get(s, 0):7.1f}%"
                     f"{100 * plan.weights_after[s]:7.1f}%")
    return "\n".join(lines)


def orders_csv(plan: AccountPlan) -> str:
    out = ["symbol,side,shares,price,notional"]
    out += [f"{o.symbol},{o.side},{o.shares:.10g},{o.price:.10g},{o.notional:.2f}" for o in plan.orders]
    return "\n".join(out) + "\n"
