"""Last stage: hand a finished run to the report as plain data (``reports.inputs.ReportData``)."""
from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from regimeshift.backtests.config import RegimeConfig
from regimeshift.pipeline import PipelineResult, data_warnings
from regimeshift.regimes.occupancy import occupancy_warnings
from regimeshift.reports.inputs import ReportData
from regimeshift.strategies.member_weights import default_top_k
from regimeshift.strategies.sleeves import MemberBook, has_rules, is_rule, sleeve_returns


def run_warnings(result: PipelineResult) -> tuple[str, ...]:
    ex = result.config.execution
    out = [w[0].upper() + w[1:] + "." for w in data_warnings(getattr(result, "market", None))]
    if ex.commission_bps == 0 and ex.slippage_bps == 0 and ex.min_commission == 0:
        out.append("Costs are OFF: commission and slippage are zero, so these returns are optimistic.")
    if ex.timing == "same_bar":
        out.append("Same-bar execution: orders fill at the close that produced the signal (optimistic).")
    if result.regimes.n_nonconverged:
        out.append(f"{result.regimes.n_nonconverged} of {result.regimes.n_refits} refits did not converge.")
    ambiguous = ((getattr(result, "metrics", None) or {}).get("regime_naming") or {}).get("ambiguous")
    if ambiguous:
        out.append(f"Regime names: the order of {', '.join(ambiguous)} is ambiguous (their stress scores are within "
                   "noise of each other in the last fit), so which of them is the more stressed is not established.")
    if result.replay.n_rejected:
        out.append(f"{_orders(result.replay.n_rejected)} rejected.")
    if result.replay.n_partial:
        out.append(f"{_orders(result.replay.n_partial)} partially filled (in more than one piece).")
    out.extend(w[0].upper() + w[1:] + "." for w in regime_occupancy_warnings(result))
    return tuple(out)


def regime_occupancy_warnings(result: PipelineResult) -> tuple[str, ...]:
    """Regimes with a share of 0 or never the most probable over the backtest's days."""
    probs = getattr(result.regimes, "probabilities", None)
    if probs is None:
        return ()
    return tuple(occupancy_warnings(probs.reindex(result.returns.index), result.config.regimes.names))


def _orders(n: int) -> str:
    return f"{n} order was" if n == 1 else f"{n} orders were"


# ReplayResult.fill_price -> what the tearsheet's Execution row says the orders filled at
FILL_PRICE_LABELS = {
    "next_open": "next bar's open (OHLC data)",
    "next_close": "next bar's close (close-only data)",
    "same_bar_close": "same bar's close (optimistic)",
}


def _refits_summary(result: PipelineResult) -> str:
    """Refit count, split at the backtest's start when the model also learned from an earlier history."""
    reg, idx = result.regimes, result.returns.index
    text = f"{reg.n_refits} ({reg.n_nonconverged} not converged)"
    before = int((reg.refits.index < idx[0]).sum())
    if before:
        text = f"{reg.n_refits}: {before} on the history before {idx[0].date()}, {reg.n_refits - before} during the backtest ({reg.n_nonconverged} not converged)"
    if "emission" in reg.refits:  # emission "auto": the family each refit used
        fams = reg.refits["emission"].astype(str)
        words = {"gaussian": "Gaussian", "student_t": "Student-t"}
        text += "; " + ", ".join(f"{words.get(k, k)} {v}" for k, v in fams.value_counts().sort_index().items())
        text += f", {words.get(fams.iloc[-1], fams.iloc[-1])} at the last"
    return text


def _naming_text(result: PipelineResult) -> str:
    model = getattr(result.regimes, "model", None)
    text = model.naming_report().describe() if hasattr(model, "naming_report") else "n/a"
    per_year = (getattr(result, "metrics", None) or {}).get("regime_switches_per_year")
    return text if per_year is None else f"{text}; {per_year:.1f} regime switches per year"


def model_family_text(rg: RegimeConfig) -> str:
    """The regime model as the config sets it up (family, emissions or penalty), for the page's config table."""
    if rg.model == "jump":
        kind = "continuous" if rg.jump_continuous else "discrete"
        sparse = f", sparse ({rg.max_feats:g} features)" if rg.max_feats is not None else ""
        if rg.jump_penalty == "cv":
            how = "each month by the 0/1 rule's validation Sharpe" if rg.penalty_cv == "walk" else (
                "by cross-validation on each training window")
            grid = ", ".join(f"{g:g}" for g in rg.penalty_grid)
            penalty = f"penalty chosen {how} from {grid}"
        else:
            penalty = f"penalty {float(rg.jump_penalty):g}"
        return f"statistical jump model ({kind}{sparse}), {penalty}"
    if rg.model == "gmmhmm":
        return f"GMM-HMM ({rg.n_mix} Gaussians per state, {rg.covariance_type} covariance)"
    if rg.emission == "student_t":
        words = {"auto": "estimated", "per_state": "per state, estimated"}
        dof = words[rg.t_dof] if rg.t_dof in words else f"{float(rg.t_dof):g}"
        return f"Student-t HMM ({dof} degrees of freedom), {rg.covariance_type} scatter"
    if rg.emission == "auto":
        return (f"HMM, Gaussian or Student-t (degrees of freedom per state) chosen at each cold fit by held-out "
                f"likelihood, {rg.covariance_type} covariance")
    return f"GaussianHMM, {rg.covariance_type} covariance"


def smoothing_text(rg: RegimeConfig) -> str:
    if rg.smooth_days == "cv":
        grid = ", ".join(str(k) for k in rg.smooth_grid)
        return f"; signal smoothed over k days, k chosen each month by the 0/1 rule's validation Sharpe from {grid}"
    return f"; signal smoothed over {rg.smooth_days} days" if int(rg.smooth_days) > 1 else ""


def sleeve_text(spec: Any) -> str:
    """One sleeve in the config table: its mapping, or its rule (a long member list is left to the members
    table, so the header stays readable with a universe of any size)."""
    if not is_rule(spec):
        if len(spec) > 6:
            return f"{len(spec)} members, fixed weights (members table below)"
        return ", ".join(f"{s} {w:g}" for s, w in spec.items())
    if spec.weigh == "equal":
        how = "weighed equally"
    else:
        top = f", top {spec.top_k or default_top_k(len(spec.members))}" if spec.weigh == "momentum" else ""
        how = f"weighed by {spec.weigh} over {spec.lookback} days{top} at each decision"
    members = ", ".join(spec.members) if len(spec.members) <= 6 else f"{len(spec.members)} members"
    return f"{members} ({how})"


def members_table(result: PipelineResult) -> pd.DataFrame | None:
    """The tearsheet's members table: per sleeve its rule and each member's weight at the last decision (and how
    many decisions fell back to equal weights); None when every sleeve holds one symbol at a fixed weight."""
    cfg = result.config
    if not has_rules(cfg.sleeves) and all(len(spec) == 1 for spec in cfg.sleeves.values()):
        return None
    table = result.member_weights
    rules = (result.metrics or {}).get("sleeve_rules", {})
    rows = []
    for name, spec in cfg.sleeves.items():
        if is_rule(spec) and table is not None and len(table):
            last = table[table["sleeve"] == name]
            last = last[last["date"] == last["date"].max()]
            weights = dict(zip(last["symbol"], last["weight"]))
            fallback = rules.get(name, {}).get("equal_fallback_decisions", 0)
            rule = spec.weigh + (f" ({fallback} early decisions equal: lookback not filled)" if fallback else "")
        else:
            total = sum(spec.values())
            weights = {s: w / total for s, w in spec.items()}
            rule = "fixed"
        members = ", ".join(f"{s} {100 * w:.1f}%" for s, w in weights.items())
        rows.append({"Sleeve": name, "Rule": rule, "Members (weight in the sleeve, last decision)": members})
    return pd.DataFrame(rows)


def config_summary(result: PipelineResult) -> dict[str, str]:
    cfg = result.config
    ex, rg = cfg.execution, cfg.regimes
    sleeves = "; ".join(f"{name}: {sleeve_text(spec)}" for name, spec in cfg.sleeves.items())
    data = "synthetic (seeded)" if cfg.data.source == "synthetic" else str(cfg.data.dir)
    if cfg.data.source != "synthetic" and cfg.data.price_dir is not None:
        data += f" (prices from {cfg.data.price_dir})"
    return {
        # a strategy of one's own says which file it was (the folder the config named)
        "Strategy": cfg.strategy.name + (f" (from {cfg.strategy.path})" if cfg.strategy.path else ""),
        "Sleeves": sleeves,
        "Benchmark": cfg.data.benchmark,
        "Data": f"{data}; {result.returns.index[0].date()} .. {result.returns.index[-1].date()}",
        "Features": ", ".join(cfg.features),
        "Regime model": (
            f"{model_family_text(rg)}, {rg.n_states} states ({', '.join(rg.names)}), "
            f"{rg.n_init} starts, refit {rg.refit} on {rg.window} window after {rg.min_train_days} days"
            + (f", learning from {rg.history_start}" if rg.history_start else "")
            + smoothing_text(rg)
        ),
        "Refits": _refits_summary(result),
        "Regime names": _naming_text(result),
        "Execution": (
            f"fills at {FILL_PRICE_LABELS.get(result.replay.fill_price, result.replay.fill_price)}, "
            f"rebalance {ex.rebalance}, commission {ex.commission_bps:g} bp "
            f"(min {ex.min_commission:g}), slippage {ex.slippage_bps:g} bp, cash buffer {100 * ex.cash_buffer:g}%"
        ),
        "Seed / config hash": f"{cfg.seed} / {cfg.digest()}",
        **({"Seed agreement": seed_agreement_text(seeds)} if (seeds := _metrics(result).get("seed_agreement")) else {}),
    }


def _metrics(result: PipelineResult) -> Mapping[str, Any]:
    return getattr(result, "metrics", None) or {}


def seed_agreement_text(a: Mapping[str, Any]) -> str:
    """``run --seeds N``'s finding, one line: how often the seeds name the same regime and how far their Sharpe
    ratios lie apart (seed_agreement.SeedAgreement.as_dict)."""
    seeds = a["seeds"]
    return (f"seeds {seeds[0]}-{seeds[-1]} name the same regime on {100 * a['agreement_overall']:.1f}% of "
            f"{a['n_days']} days; Sharpe spread {a['spread']['sharpe']:.3f}, regime switches/yr spread "
            f"{a['spread']['switches_per_year']:.2f} ({a['basis']})" + (f"; {a['note']}" if a.get("note") else ""))


def _sleeve_returns(result: PipelineResult) -> pd.DataFrame:
    cfg = result.config
    if not has_rules(cfg.sleeves):
        return sleeve_returns(result.market.prices, cfg.sleeves)
    decisions = pd.DatetimeIndex(pd.to_datetime(result.member_weights["date"]).unique()) \
        if result.member_weights is not None else result.returns.index[:1]
    return MemberBook(result.market.prices, cfg.sleeves).sleeve_returns(decisions)


def report_data(result: PipelineResult) -> ReportData:
    idx = result.returns.index
    model = result.regimes.model
    names = list(result.config.regimes.names)
    return ReportData(
        title=result.config.name,
        returns=result.returns["strategy"],
        benchmark=result.returns["benchmark"],
        benchmark_name=result.config.data.benchmark,
        probabilities=result.regimes.probabilities.loc[idx],
        weights=result.weights.loc[idx],
        # refits before the backtest (a longer regime history) are not part of the story the page tells
        refit_dates=tuple(d for d in result.regimes.refits.index if idx[0] <= d <= idx[-1]),
        transmat=pd.DataFrame(model.transmat_, index=names, columns=names),
        metrics=result.metrics,
        config_summary=config_summary(result),
        warnings=run_warnings(result),
        stress_windows=dict(result.config.report.stress_windows) or None,
        shock_date=result.config.report.shock_date or None,
        # the built-in windows (2008, Covid, 2022) are dates of the real market: meaningless on a synthetic one
        default_stress_windows=result.config.data.source != "synthetic",
        sleeve_returns=_sleeve_returns(result).loc[idx],
        members=members_table(result),
        risk_free=result.risk_free,
    )


@contextmanager
def reproducible_svg() -> Iterator[None]:
    """Same run, same bytes: matplotlib stamps SVGs with the wall-clock date and random element ids unless
    told otherwise (SOURCE_DATE_EPOCH and ``svg.hashsalt``)."""
    import matplotlib  # only when a page is drawn: the console's warnings import this module too (--no-report)

    old = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = "0"
    try:
        with matplotlib.rc_context({"svg.hashsalt": "regimeshift"}):
            yield
    finally:
        if old is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = old


def render_run(result: PipelineResult, path: Path) -> Path:
    from regimeshift.reports.tearsheet import write_tearsheet  # the page's modules: only when a page is drawn

    with reproducible_svg():
        return write_tearsheet(report_data(result), path)
