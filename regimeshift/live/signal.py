"""One evening of the live loop, callable without the command line: signal (and, for the scheduler, update first).

Everything a signal writes to its live folder -- ``signal.json``, ``signals.csv``, the account's ``orders.csv`` and
``orders.json``, the registry entry -- is one :func:`~regimeshift.core.atomic.commit_files` under the folder's lock:
a crash leaves the previous evening's files or this evening's, never some of each.
"""
from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from regimeshift.core.atomic import commit_files, recover
from regimeshift.core.locks import folder_lock

LIVE_WHAT = "the live folder"


@dataclass(frozen=True)
class SignalOutcome:
    cfg: Any
    result: Any
    ticket: Any
    log: Any  # ticket.LogUpdate or None
    plan: Any  # orders.AccountPlan or None
    entry: dict[str, Any] | None  # the registry's decision entry
    out_dir: Path


def run_signal(cfg: Any, out_dir: Path, *, log: bool = True, holdings: Path | None = None, min_trade: float = 0.0,
               band: float | None = None, fractional: bool = False, registry: bool = True,
               wait: float | None = None, now: datetime.datetime | None = None) -> SignalOutcome:
    from regimeshift.live.orders import orders_csv, plan_account, read_holdings

    account = read_holdings(holdings, cfg.symbols) if holdings is not None else None  # bad holdings: exit 2 early
    from regimeshift.backtests.costs import sizing_rules
    from regimeshift.pipeline import run_pipeline, symbol_targets
    from regimeshift.live.registry import registry_files
    from regimeshift.live.ticket import band_waived, build_ticket, log_update

    stamp = (now or datetime.datetime.now(datetime.UTC).replace(tzinfo=None)).isoformat(timespec="seconds")
    with folder_lock(out_dir, LIVE_WHAT, wait=wait):
        recover(out_dir)
        result = run_pipeline(cfg)
        ticket = build_ticket(result)
        files: dict[str, bytes | None] = {}
        entry = None
        extra = None
        if registry:
            reg, entry = registry_files(result, ticket, out_dir, stamp)
            files.update(reg)
            extra = {"fit_id": entry["fit_id"], "data_hash": entry["data_hash"][:12]}
        update = None
        if log:
            update, text = log_update(out_dir / "signals.csv", result, ticket.as_of, extra)
            files["signals.csv"] = text.encode()
        plan = None
        if account is not None:
            import pandas as pd

            as_of = pd.Timestamp(ticket.as_of)
            targets = symbol_targets(cfg, result.market, result.weights.loc[[as_of]]).iloc[0]
            prices = result.market.prices.loc[as_of]
            ex = cfg.execution
            rules = sizing_rules(ex)
            rules["fractional"] = fractional or ex.fractional
            if band is None:
                band = ex.drift_band or 0.0
            if band_waived(result, as_of):  # as the replay: a regime change trades whatever the drift
                band = 0.0
            plan = plan_account(
                account, {s: float(prices[s]) for s in cfg.symbols}, {s: float(w) for s, w in targets.items()},
                rules, min_trade=min_trade, band=band,
            )
            files["orders.csv"] = orders_csv(plan).encode()
            files["orders.json"] = (json.dumps({"as_of": ticket.as_of, "holdings": str(holdings),
                                                "fit_id": entry["fit_id"] if entry else None, **plan.to_dict()},
                                               indent=2) + "\n").encode()
        files["signal.json"] = ticket.to_json().encode()
        commit_files(out_dir, files)
    return SignalOutcome(cfg, result, ticket, update, plan, entry, out_dir)
