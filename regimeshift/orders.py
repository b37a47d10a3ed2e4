"""Orders for a real account: the signal's targets applied to the holdings the account actually has.

``holdings.csv`` has the columns ``symbol,quantity``; a ``CASH`` row holds the cash balance (in the account's
currency). The plan sizes orders at the last close:

* whole shares unless ``fractional``; a sale never exceeds the position, a buy never the cash at hand;
* no order for a symbol whose weight is within ``band`` of its target (the drift band) or whose value is below
  ``min_trade``;
* sells first (they fund the buys), then buys, scaled down together if the cash (net of commission) falls short;
* a preview of the account's weights after the orders.
"""
from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

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


def plan_account(holdings: Holdings, prices: Mapping[str, float], targets: Mapping[str, float], *,
                 fractional: bool = False, min_trade: float = 0.0, band: float = 0.0,
                 commission_bps: float = 0.0) -> AccountPlan:
    """Orders taking ``holdings`` to ``targets`` (symbol -> weight of the account; the rest is cash)."""
    symbols = list(dict.fromkeys([*targets, *holdings.quantities]))
    qty = {s: float(holdings.quantities.get(s, 0.0)) for s in symbols}
    value = holdings.cash + sum(qty[s] * prices[s] for s in symbols)
    if not value > 0:
        raise DataError(f"holdings: the account is worth {value:,.2f} at the last close (expected > 0)")
    before = {s: qty[s] * prices[s] / value for s in symbols}
    want = {s: float(targets.get(s, 0.0)) for s in symbols}
    fee = commission_bps / 1e4
    skipped: dict[str, str] = {}

    def size(shares: float) -> float:
        return shares if fractional else float(math.floor(shares + 1e-9))

    sells: list[AccountOrder] = []
    buys: list[tuple[str, float]] = []
    for s in symbols:
        drift = want[s] - before[s]
        if abs(drift) <= band:
            if drift:
                skipped[s] = f"drift {100 * drift:+.2f}% is inside the band"
            continue
        delta = drift * value / prices[s]
        if delta < 0:
            shares = qty[s] if want[s] == 0 else min(size(-delta), qty[s])
            if shares * prices[s] < min_trade or shares <= 0:
                skipped[s] = "sale below the minimum trade size" if shares > 0 else "less than one share"
                continue
            sells.append(AccountOrder(s, "sell", shares, prices[s], shares * prices[s]))
        else:
            buys.append((s, delta))
    cash = holdings.cash + sum(o.notional * (1 - fee) for o in sells)
    need = sum(d * prices[s] * (1 + fee) for s, d in buys)
    scale = min(1.0, cash / need) if need > 0 else 1.0
    bought: list[AccountOrder] = []
    for s, d in buys:
        shares = size(d * scale)
        if shares <= 0 or shares * prices[s] < min_trade:
            skipped[s] = "less than one share" if shares <= 0 else "purchase below the minimum trade size"
            continue
        bought.append(AccountOrder(s, "buy", shares, prices[s], shares * prices[s]))
    cash -= sum(o.notional * (1 + fee) for o in bought)
    after_qty = dict(qty)
    for o in sells:
        after_qty[o.symbol] -= o.shares
    for o in bought:
        after_qty[o.symbol] += o.shares
    after_value = cash + sum(after_qty[s] * prices[s] for s in symbols)
    after = {s: after_qty[s] * prices[s] / after_value for s in symbols}
    after["cash"] = cash / after_value
    before["cash"] = holdings.cash / value
    return AccountPlan(value, (*sorted(sells, key=lambda o: o.symbol), *sorted(bought, key=lambda o: o.symbol)),
                       before, {**want, "cash": 1 - sum(want.values())}, after, cash, skipped)


def format_plan(plan: AccountPlan) -> str:
    lines = [f"account orders (worth {plan.value:,.2f} at the last close; sells first):"]
    if not plan.orders:
        lines.append("  none: every weight is within the band of its target")
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
