"""Round trips from the fills, first in first out, and the trade statistics a quant reads.

A round trip is a quantity of one symbol bought and later sold: each sell closes the oldest open lots first (FIFO),
splitting a lot when it sells part of it. Its profit and loss is after costs: the fill prices already carry the
slippage, and each fill's commission is shared among the lots it opened or closed in proportion to quantity.
Lots still open at the end are not round trips (they have no exit); they are counted apart.
"""
from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np
import pandas as pd

ROUND_TRIP_COLUMNS = ["symbol", "entry_date", "entry_price", "exit_date", "exit_price", "quantity", "holding_days",
                      "pnl", "return"]


#: trades.csv: the replay's fill columns first, in their order (other tools read them), then what a quant reads
#: without recomputing it: ``side`` (buy / sell) and the order's ``value`` (|size| x fill price, before commission)
TRADE_LOG_COLUMNS = ["date", "symbol", "size", "price", "commission", "side", "value"]


def trade_log(trades: pd.DataFrame) -> pd.DataFrame:
    """trades.csv: the fills (date, symbol, signed size, price, commission) with ``side`` and ``value`` appended."""
    size = trades["size"].to_numpy(dtype=float)
    out = trades.copy()
    out["side"] = np.where(size > 0, "buy", "sell")
    out["value"] = np.abs(size) * trades["price"].to_numpy(dtype=float)
    return out


def round_trips(trades: pd.DataFrame) -> pd.DataFrame:
    """FIFO round trips of ``trades`` (columns date, symbol, size signed: + buy, - sell; price; commission)."""
    rows: list[dict[str, Any]] = []
    lots: dict[str, deque[list[Any]]] = {}  # symbol -> [quantity left, price, date, commission per unit]
    for t in trades.sort_values("date", kind="stable").itertuples(index=False):
        size, price, fee = float(t.size), float(t.price), float(t.commission)
        if size == 0:
            continue
        book = lots.setdefault(str(t.symbol), deque())
        if size > 0:
            book.append([size, price, pd.Timestamp(t.date), fee / size])
            continue
        left, fee_per_unit = -size, fee / -size
        while left > 1e-12 and book:
            lot = book[0]
            q = min(lot[0], left)
            cost = q * lot[1] + q * lot[3]
            pnl = q * price - q * fee_per_unit - cost
            rows.append({"symbol": str(t.symbol), "entry_date": lot[2], "entry_price": lot[1],
                         "exit_date": pd.Timestamp(t.date), "exit_price": price, "quantity": q,
                         "holding_days": int((pd.Timestamp(t.date) - lot[2]).days), "pnl": pnl,
                         "return": pnl / cost if cost > 0 else math.nan})
            lot[0] -= q
            left -= q
            if lot[0] <= 1e-12:
                book.popleft()
    return pd.DataFrame(rows, columns=ROUND_TRIP_COLUMNS)


def trade_stats(trips: pd.DataFrame, trades: pd.DataFrame | None = None) -> dict[str, Any]:
    """count, win_rate, avg_win, avg_loss, profit_factor, avg_holding_days, largest_loss (money after costs), and
    the lots still open at the end (``open_lots``) when ``trades`` is given."""
    pnl = trips["pnl"].to_numpy(dtype=float) if len(trips) else np.zeros(0)
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    out: dict[str, Any] = {
        "count": int(len(pnl)),
        "win_rate": float(len(wins) / len(pnl)) if len(pnl) else math.nan,
        "avg_win": float(wins.mean()) if len(wins) else math.nan,
        "avg_loss": float(losses.mean()) if len(losses) else math.nan,
        "profit_factor": float(wins.sum() / -losses.sum()) if len(losses) else math.nan,
        "avg_holding_days": float(trips["holding_days"].mean()) if len(trips) else math.nan,
        "largest_loss": float(losses.min()) if len(losses) else math.nan,
    }
    if trades is not None:
        held = trades.groupby("symbol")["size"].sum()
        out["open_symbols"] = int((held.abs() > 1e-9).sum())
    return out
