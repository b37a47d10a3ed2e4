"""``regimeshift regimes CONFIG --seeds N``: does the answer depend on the optimiser's luck?

The same run (features, schedule, strategy, costs) is repeated with N model seeds (``seed``, ``seed + 1``, ...).
Reported: how often the seeds name the same regime on a day (overall, pairwise and per regime), the spread of
regime switches a year and of the strategy's Sharpe across seeds, and the dates where they disagree. A quant who
changes the seed and sees another answer can then tell signal from the fit's local optimum.
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from regimeshift.backtests.config import RunConfig
from regimeshift.data.market import MarketData
from regimeshift.core.errors import ConfigError
from regimeshift.pipeline import PipelineResult, run_pipeline
from regimeshift.regimes.diagnostics import switches_per_year
from regimeshift.regimes.spec import SEED_FREE_INITS


@dataclass(frozen=True)
class SeedAgreement:
    seeds: tuple[int, ...]
    labels: pd.DataFrame  # date x seed: the most probable regime each day (backtest days)
    per_seed: pd.DataFrame  # seed x (sharpe, cagr, max_drawdown, switches_per_year, share_<regime>)
    overall: float  # share of days on which every seed names the same regime
    pairwise: float  # mean over seed pairs of the share of days they agree on
    per_regime: dict[str, float]  # of the days whose majority regime is r, the share on which all seeds agree
    basis: str
    note: str = ""  # why the seeds agree by construction, when they do (``seed_note``)

    @property
    def disagreements(self) -> pd.DataFrame:
        """The days on which the seeds do not all name the same regime."""
        return self.labels[self.labels.nunique(axis=1) > 1]

    def as_dict(self) -> dict[str, Any]:
        spread = {c: float(self.per_seed[c].max() - self.per_seed[c].min())
                  for c in ("sharpe", "switches_per_year")}
        return {"seeds": list(self.seeds), "agreement_overall": self.overall, "agreement_pairwise": self.pairwise,
                "agreement_per_regime": self.per_regime, "spread": spread, "n_days": int(len(self.labels)),
                "n_disagreement_days": int(len(self.disagreements)), "basis": self.basis,
                **({"note": self.note} if self.note else {})}

    def describe(self) -> str:
        d = self.as_dict()
        lines = [f"seeds {', '.join(map(str, self.seeds))}: all name the same regime on {100 * self.overall:.1f}% of "
                 f"{d['n_days']} days (pairwise {100 * self.pairwise:.1f}%)",
                 "per regime (days whose majority is that regime, share where every seed agrees): "
                 + ", ".join(f"{k} {100 * v:.1f}%" for k, v in self.per_regime.items()),
                 f"spread across seeds: Sharpe {d['spread']['sharpe']:.3f}, regime switches/yr "
                 f"{d['spread']['switches_per_year']:.2f}"]
        with pd.option_context("display.width", 200, "display.float_format", "{:.3f}".format):
            lines.append(self.per_seed.to_string())
        lines.append(f"basis: {self.basis}")
        if self.note:
            lines.append(f"note: {self.note}")
        return "\n".join(lines)


def seed_note(cfg: RunConfig) -> str:
    """Why the seeds must agree, if the config's fits do not use the seed at all: an agreement of 100 % then says
    nothing about the optimiser, and the reader should know that."""
    if cfg.regimes.model == "hmm" and cfg.regimes.init in SEED_FREE_INITS:
        return (f'the HMM\'s cold starts (regimes.init = "{cfg.regimes.init}") do not draw from the seed, so the '
                'seeds agree by construction; init = "hmmlearn" shows how far a seeded start would move the answer')
    return ""


def seed_list(cfg: RunConfig, n: int) -> tuple[int, ...]:
    if n < 2:
        raise ConfigError(f"--seeds: expected at least 2 seeds to compare (got {n})")
    return tuple(cfg.seed + i for i in range(n))


def seed_agreement(cfg: RunConfig, seeds: Sequence[int], market: MarketData,
                   done: PipelineResult | None = None) -> SeedAgreement:
    """Run the whole pipeline once per seed on ``market`` (loaded once) and compare the regimes and results;
    ``done``: a finished run of one of the seeds (``run --seeds``), reused rather than run again."""
    names = list(cfg.regimes.names)
    labels: dict[int, pd.Series] = {}
    rows: dict[int, dict[str, float]] = {}
    basis = ""
    for seed in seeds:
        res = done if done is not None and done.config.seed == int(seed) else (
            run_pipeline(cfg.model_copy(update={"seed": int(seed)}), market=market))
        regime = res.regimes.regime.loc[res.returns.index]
        labels[int(seed)] = regime
        s = res.metrics["strategy"]
        shares = regime.value_counts(normalize=True).reindex(names, fill_value=0.0)
        rows[int(seed)] = {"sharpe": s["sharpe"], "cagr": s["cagr"], "max_drawdown": s["max_drawdown"],
                           "switches_per_year": switches_per_year(regime),
                           **{f"share_{k}": float(v) for k, v in shares.items()}}
        basis = res.metrics.get("basis", "")
    frame = pd.DataFrame(labels).dropna()
    frame.columns = [int(c) for c in frame.columns]
    values = frame.to_numpy(dtype=object)
    same = (values == values[:, :1]).all(axis=1) if len(frame) else np.zeros(0, dtype=bool)
    pairs = [float((frame[a] == frame[b]).mean()) for a, b in itertools.combinations(frame.columns, 2)]
    majority = frame.mode(axis=1)[0] if len(frame) else pd.Series(dtype=object)
    per_regime = {n: float(same[(majority == n).to_numpy()].mean()) if (majority == n).any() else float("nan")
                  for n in names}
    per_seed = pd.DataFrame.from_dict(rows, orient="index")
    per_seed.index.name = "seed"
    return SeedAgreement(tuple(int(s) for s in seeds), frame, per_seed,
                         float(same.mean()) if len(same) else float("nan"),
                         float(np.mean(pairs)) if pairs else float("nan"), per_regime, basis, seed_note(cfg))
