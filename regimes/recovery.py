"""How well the walk-forward recovers the synthetic market's true regimes, against the best any online method
can do.

The *oracle* is the forward filter run with the TRUE generating parameters (``backtests.synthetic.RegimeParams``:
start and transition probabilities, daily log-return means and covariances of ``SYMBOLS``) on the assets' daily
log returns, argmax per day. It is online (day t sees days <= t) and knows everything but the path; the
generator's Student-t shocks make it Gaussian-approximate, so a model that also sees the macro series can come
close to it or beat it. Both are scored with ``sklearn.metrics.balanced_accuracy_score`` against the true
regimes on the same out-of-sample days (from the walk-forward's first refit on).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score, confusion_matrix

from regimes.fast_hmm import HMMParams, log_density
from regimes.filtering import forward_filter


def oracle_regimes(prices: pd.DataFrame, params: Any) -> pd.DataFrame:
    """Forward-filtered probabilities under the true parameters, date x regime name (from the second day)."""
    from backtests.synthetic import SYMBOLS

    r = np.log(prices[list(SYMBOLS)]).diff().iloc[1:]
    p = HMMParams(np.asarray(params.startprob), np.asarray(params.transmat), np.asarray(params.means),
                  np.asarray(params.covs), "full")
    logf = log_density(r.to_numpy(), p.means, p.covars, "full")
    probs = forward_filter(p.startprob, p.transmat, logf)
    return pd.DataFrame(probs, index=r.index, columns=list(params.names))


@dataclass(frozen=True)
class Recovery:
    model: float  # balanced accuracy of the walk-forward's filtered argmax
    oracle: float  # balanced accuracy of the true-parameter forward filter
    n_days: int
    start: pd.Timestamp
    end: pd.Timestamp
    confusion: pd.DataFrame  # truth (rows) x walk-forward label (columns)
    oracle_confusion: pd.DataFrame

    @property
    def gap_points(self) -> float:
        """Oracle minus model, in percentage points (negative = the model beat the oracle)."""
        return 100.0 * (self.oracle - self.model)


def recovery(probabilities: pd.DataFrame, market: Any) -> Recovery:
    """Score walk-forward probabilities (date x regime) against ``market.true_regimes`` and the oracle."""
    names = list(market.params.names)
    oracle = oracle_regimes(market.prices, market.params)
    idx = probabilities.index.intersection(oracle.index)
    truth = market.true_regimes.loc[idx].astype(str).to_numpy()
    model = probabilities.loc[idx].idxmax(axis=1).astype(str).to_numpy()
    orac = oracle.loc[idx].idxmax(axis=1).astype(str).to_numpy()
    conf = pd.DataFrame(confusion_matrix(truth, model, labels=names), index=names, columns=names)
    oconf = pd.DataFrame(confusion_matrix(truth, orac, labels=names), index=names, columns=names)
    return Recovery(
        model=float(balanced_accuracy_score(truth, model)),
        oracle=float(balanced_accuracy_score(truth, orac)),
        n_days=len(idx),
        start=idx[0],
        end=idx[-1],
        confusion=conf,
        oracle_confusion=oconf,
    )


def recovery_for_config(cfg: Any, cache: bool = False) -> tuple[Recovery, Any]:
    """Run the regime stage of a synthetic config (no backtest) and score it; returns (Recovery, RegimeResult)."""
    from backtests.pipeline import feature_stage, regime_stage
    from backtests.synthetic import generate_market

    if cfg.data.source != "synthetic":
        raise ValueError("recovery needs the synthetic market (its true regimes are known)")
    market = generate_market(seed=cfg.seed, years=cfg.data.synthetic_years)
    features = feature_stage(cfg, market)  # type: ignore[arg-type]
    result = regime_stage(cfg, features, cache=cache)
    return recovery(result.probabilities, market), result
