"""The fitted parameters as a real hmmlearn ``GaussianHMM`` (``LiquidityHMM.hmm_``, tests against stock hmmlearn).

Its own module because hmmlearn's estimators import scikit-learn (``sklearn.base``, ``sklearn.cluster``) and with
it ``scipy.stats``: ~0.9 s of imports that a walk-forward, which runs ``regimes.fast_hmm`` alone, does not need
(measured on the shipped config's cold run, where they sat before the first fit with a core idle).
"""
from __future__ import annotations

import numpy as np
from hmmlearn.base import BaseHMM
from hmmlearn.hmm import GaussianHMM
from regimeshift.regimes.fast_hmm import HMMParams, log_density


class FastGaussianHMM(GaussianHMM):
    """hmmlearn's GaussianHMM with its two slowest full-covariance steps on BLAS (same numbers as stock hmmlearn
    to rounding)."""

    def _compute_log_likelihood(self, X: np.ndarray) -> np.ndarray:
        if self.covariance_type != "full":
            return super()._compute_log_likelihood(X)
        try:
            return log_density(X, self.means_, self._covars_, "full")
        except np.linalg.LinAlgError:
            return super()._compute_log_likelihood(X)  # hmmlearn's path adds min_covar and retries

    def _accumulate_sufficient_statistics(self, stats, X, lattice, posteriors, fwdlattice, bwdlattice):  # type: ignore[override]
        if self.covariance_type != "full":
            return super()._accumulate_sufficient_statistics(
                stats=stats, X=X, lattice=lattice, posteriors=posteriors, fwdlattice=fwdlattice, bwdlattice=bwdlattice
            )
        BaseHMM._accumulate_sufficient_statistics(
            self, stats=stats, X=X, lattice=lattice, posteriors=posteriors, fwdlattice=fwdlattice, bwdlattice=bwdlattice
        )
        if "m" in self.params or "c" in self.params:
            stats["post"] += posteriors.sum(axis=0)
            stats["obs"] += posteriors.T @ X
        if "c" in self.params:
            stats["obs*obs.T"] += np.stack([(X * posteriors[:, k : k + 1]).T @ X for k in range(posteriors.shape[1])])


def params_from_hmm(hmm: GaussianHMM) -> HMMParams:
    covars = np.array(hmm._covars_, dtype=float)
    return HMMParams(
        np.array(hmm.startprob_, dtype=float),
        np.array(hmm.transmat_, dtype=float),
        np.array(hmm.means_, dtype=float),
        covars,
        hmm.covariance_type,
    )


def hmm_from_params(p: HMMParams, **kwargs: object) -> FastGaussianHMM:
    """A fitted-looking ``FastGaussianHMM`` carrying ``p`` (for hmmlearn's own score/predict_proba/sample)."""
    hmm = FastGaussianHMM(n_components=p.n_states, covariance_type=p.covariance_type, **kwargs)  # type: ignore[arg-type]
    hmm.n_features = p.means.shape[1]
    hmm.startprob_ = p.startprob.copy()
    hmm.transmat_ = p.transmat.copy()
    hmm.means_ = p.means.copy()
    hmm._covars_ = p.covars.copy()  # skip the setter's eigenvalue validation: em_fit checked positive-definiteness
    return hmm
