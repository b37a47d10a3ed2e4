"""What a fitted walk-forward says about its regimes: tables, a text summary, the CSV and the probability chart.

All in named (calm -> stressed) order:
- transition matrix and expected durations (days) of the last model;
- state means in original feature units (last model);
- share of days per regime and regime switches per year (of the out-of-sample argmax path);
- the out-of-sample log-likelihood path (cumulative one-step predictive log-likelihood) and the refit log;
- refits: how many, how many warm-started, how many cold competitions, how many did not converge;
- the first fit's days per free parameter of the model (how thin the first years' labels stand);
- how the states are named (``regimes.naming``): the rule, each named state's stress score with its standard
  error, and whether the named order is ambiguous (neighbouring states within noise of each other).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from regimeshift.core.constants import TRADING_DAYS
from regimeshift.core.palette import regime_colours
from regimeshift.regimes.result import RegimeResult
from regimeshift.regimes.spec import T_EVIDENCE


@dataclass(frozen=True)
class RegimeDiagnostics:
    transmat: pd.DataFrame  # from x to
    expected_durations: pd.Series  # days
    means: pd.DataFrame  # regime x feature, original units
    share: pd.Series  # share of out-of-sample days per regime (argmax)
    switches_per_year: float
    n_switches: int
    years: float
    loglik_path: pd.Series  # cumulative out-of-sample log-likelihood
    refits: pd.DataFrame
    summary: dict[str, Any]
    naming: Any = None  # regimes.naming.NamingReport of the last model (None for a model without one)


def switches_per_year(regime: pd.Series) -> float:
    """Changes of the most probable regime per year of trading days (the argmax path)."""
    if len(regime) < 2:
        return 0.0
    return float((regime != regime.shift()).iloc[1:].sum()) / max(len(regime) / TRADING_DAYS, 1e-9)


def diagnose(result: RegimeResult, feature_names: list[str] | None = None) -> RegimeDiagnostics:
    model = result.model
    names = list(model.names)
    feats = feature_names or [f"x{i}" for i in range(model.means_.shape[1])]
    regime = result.regime
    years = max(len(regime) / TRADING_DAYS, 1e-9)
    n_switches = int((regime != regime.shift()).iloc[1:].sum()) if len(regime) > 1 else 0
    share = regime.value_counts(normalize=True).reindex(names, fill_value=0.0).rename("share")
    # the first out-of-sample day has no one-step prediction (NaN): the cumulative path starts after it
    path = result.loglik_path.dropna() if result.loglik_path is not None else pd.Series(dtype=float)
    refits = result.refits
    summary = {
        "start": str(regime.index[0].date()) if len(regime) else None,
        "end": str(regime.index[-1].date()) if len(regime) else None,
        "n_days": int(len(regime)),
        "n_refits": result.n_refits,
        "n_nonconverged": result.n_nonconverged,
        "n_warm_started": int(refits["warm_started"].astype(bool).sum()) if "warm_started" in refits else 0,
        "n_cold_competitions": int(refits["cold_competition"].astype(bool).sum()) if "cold_competition" in refits else 0,
        "n_fallback": int(refits["fallback"].astype(bool).sum()) if "fallback" in refits else 0,
        "oos_loglik": result.oos_loglik,
        "oos_loglik_per_day": result.oos_loglik / max(int(path.notna().sum()), 1),
        "switches_per_year": n_switches / years,
        "seconds": result.seconds,
        "cached": result.cached,
    }
    n_params = getattr(model, "n_params_", None)
    if n_params and "n_train" in refits and len(refits):
        # how thin the first fit was: a regime the first window holds on a few dozen days gets no state of its own
        # until a later fit sees more of it, and the first years' labels pay for it (README "Where the plain
        # config stops being enough": eight assets or four regimes on a 756-day first window)
        n_first = int(refits["n_train"].iloc[0])
        # (the parameters of the last refit's model: with emission "auto" its family may differ from the first's)
        summary["first_fit"] = {"n_train": n_first, "n_params": int(n_params), "days_per_param": n_first / n_params}
    params = getattr(model, "params_", None)
    if params is not None and getattr(params, "is_student_t", False):
        order = getattr(model, "order_", np.arange(params.n_states))
        summary["emission"] = {"family": "student_t", "dof": float(np.min(params.dofs)),
                               "dofs": {str(n): float(v) for n, v in zip(names, params.dofs[order])},
                               "estimated": getattr(model, "t_dof", None) in ("auto", "per_state")}
    if "emission" in refits:  # emission "auto": the family each refit used (chosen at the cold fits)
        fam = refits["emission"].astype(str)
        at_choice = refits["t_gain_per_day"].notna() if "t_gain_per_day" in refits else pd.Series(False, refits.index)
        summary.setdefault("emission", {"family": fam.iloc[-1] if len(fam) else "gaussian"})
        summary["emission"]["auto"] = {
            "refits": {str(k): int(v) for k, v in fam.value_counts().sort_index().items()},
            "choices": int(at_choice.sum()), "t_chosen": int((fam[at_choice] == "student_t").sum()),
            "t_clear": int((refits.loc[at_choice, "t_evidence"] > T_EVIDENCE).sum()) if "t_evidence" in refits else 0,
            "last": fam.iloc[-1] if len(fam) else None,
        }
    chosen = result.meta.get("smoothing")
    if chosen is not None:  # smooth_days = "cv": how often each k won its month
        counts = chosen["smooth_days"].value_counts().sort_index()
        summary["smoothing"] = {"cv": True, "chosen": {int(k): int(v) for k, v in counts.items()},
                                "last": int(chosen["smooth_days"].iloc[-1])}
    elif "smooth_days" in result.meta:
        summary["smoothing"] = {"cv": False, "last": int(result.meta["smooth_days"])}
    report = model.naming_report() if hasattr(model, "naming_report") else None
    if report is not None:
        summary["naming"] = report.as_dict()
    return RegimeDiagnostics(
        transmat=pd.DataFrame(model.transmat_, index=names, columns=names),
        expected_durations=pd.Series(model.expected_durations_, index=names, name="expected_days"),
        means=pd.DataFrame(model.means_, index=names, columns=feats),
        share=share,
        switches_per_year=n_switches / years,
        n_switches=n_switches,
        years=years,
        loglik_path=path.cumsum().rename("cumulative_oos_loglik"),
        refits=refits,
        summary=summary,
        naming=report,
    )


def format_diagnostics(d: RegimeDiagnostics, title: str = "") -> str:
    s = d.summary
    lines = []
    if title:
        lines.append(title)
    lines.append(
        f"out of sample {s['start']} .. {s['end']} ({s['n_days']} days); refits {s['n_refits']} "
        f"({s['n_warm_started']} warm-started, {s['n_cold_competitions']} cold competitions, "
        f"{s['n_nonconverged']} not converged, {s['n_fallback']} fell back); "
        f"{s['seconds']:.2f}s{' (cached)' if s['cached'] else ''}"
    )
    lines.append(
        f"out-of-sample log-likelihood {s['oos_loglik']:.1f} ({s['oos_loglik_per_day']:.3f}/day); "
        f"regime switches {d.n_switches} ({d.switches_per_year:.1f}/year)"
    )
    if "first_fit" in s:
        f = s["first_fit"]
        lines.append(f"first fit: {f['n_train']} days for the model's {f['n_params']} free parameters ({f['days_per_param']:.1f} "
                     "days each); a regime that window holds on few days gets its own state only at a later fit")
    if d.naming is not None:
        lines.append(f"regime names: {d.naming.describe()}")
    if "emission" in s:
        e = s["emission"]
        if "dofs" in e:
            dofs = ", ".join(f"{n} {v:.1f}" for n, v in e["dofs"].items())
            lines.append(f"emissions: Student-t at the last refit, degrees of freedom {dofs}"
                         f"{' (estimated)' if e['estimated'] else ' (fixed)'}")
        else:
            lines.append("emissions: Gaussian at the last refit")
        if "auto" in e:
            a = e["auto"]
            used = ", ".join(f"{k} {v}" for k, v in a["refits"].items())
            lines.append(f"emission auto: chosen at {a['choices']} cold fits by held-out likelihood (Student-t "
                         f"{a['t_chosen']} times, by more than {T_EVIDENCE} standard errors {a['t_clear']} times); "
                         f"refits by family: {used}")
    if "smoothing" in s:
        sm = s["smoothing"]
        won = ", ".join(f"{k} days x{v}" for k, v in sm.get("chosen", {}).items())
        lines.append(f"signal smoothed over {sm['last']} days" + (f" at the end; months won: {won}" if sm["cv"] else ""))
    lines.append("")
    lines.append("transition matrix (row = from), expected duration, share of days:")
    width = max(len(n) for n in d.transmat.index) + 2
    head = "".join(f"{c:>12}" for c in d.transmat.columns)
    lines.append(f"{'':{width}}{head}{'days':>10}{'share':>9}")
    for name, row in d.transmat.iterrows():
        cells = "".join(f"{v:12.4f}" for v in row)
        lines.append(f"{name:{width}}{cells}{d.expected_durations[name]:10.1f}{100 * d.share[name]:8.1f}%")
    lines.append("")
    lines.append("state means (original units):")
    with pd.option_context("display.width", 200, "display.max_columns", 50, "display.float_format", "{:.4g}".format):
        lines.append(d.means.T.to_string())
    path = d.loglik_path
    if len(path):
        marks = path.iloc[np.unique(np.linspace(0, len(path) - 1, min(len(path), 6)).astype(int))]
        lines.append("")
        lines.append("cumulative out-of-sample log-likelihood: " + ", ".join(f"{i.date()} {v:.0f}" for i, v in marks.items()))
    return "\n".join(lines)


def regimes_frame(result: RegimeResult) -> pd.DataFrame:
    """date, regime, one probability column per regime (the regimes.csv contract)."""
    probs = result.probabilities
    out = probs.copy()
    out.insert(0, "regime", probs.idxmax(axis=1))
    out.index.name = "date"
    return out


def plot_probabilities(result: RegimeResult, path: Path, title: str = "") -> None:
    """Stacked filtered probabilities with refit ticks, as a PNG (Agg canvas, no global backend switch)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    probs = result.probabilities
    fig = Figure(figsize=(12, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    colours = regime_colours(list(probs.columns))  # the tearsheet's colours for the same regimes
    x = probs.index.to_pydatetime()
    ax.stackplot(x, probs.to_numpy().T, labels=list(probs.columns), colors=[colours[str(c)] for c in probs.columns],
                 linewidth=0)
    ax.set_ylim(0, 1)
    ax.set_xlim(x[0], x[-1])
    ax.set_ylabel("filtered probability")
    ax.set_title(title or "regime probabilities (forward-filtered, out of sample)")
    ax.legend(loc="upper left", ncol=probs.shape[1], fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path, format="png", metadata={"Software": None})
