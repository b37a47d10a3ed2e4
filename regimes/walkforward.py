"""Walk-forward regime labelling: refit on a schedule, filter forward between refits.

At a refit date r the model is fitted on feature rows up to and including r (the close of r is known when the
decision at r is made). For every day t from r until the next refit, the probability row is the forward filter
of that model over the training window's start..t. Nothing at or before t depends on data after t.

Fits (refits table: loglik, n_iter, converged, warm_started, cold_competition, surprise, relabelled):
- warm starts: EM starts at the previous refit's parameters;
- cold competitions: ``n_init`` seeded starts compete with the warm start and the best log-likelihood wins (so a
  warm start is kept only where it is at least as good as the cold fits) -- at the first refit, every
  ``cold_every``-th refit, whenever the window has grown by ``cold_growth`` since the last competition
  (``competition_schedule``), after a period in which more than ``cold_surprise`` of the days lay outside every
  state's 99.9 % ellipsoid (a regime the model has no state for yet), and after a warm fit that hit ``n_iter``;
- names: stress order at the first fit (rule ``order_by``, see ``regimes.naming``), then each state takes the name
  of the previous fit's state it matches (``LiquidityHMM._align``).

How it is fast (benchmarks/regime_walkforward.py measures it against the naive approach in the same run):
- one ``Design`` over all rows (a fixed affine map from the FIRST training window, plus ``[Q | U | 1]``) and
  every refit fits on a view of its rows: nothing is rebuilt per refit, and EM is exactly equivariant under the
  map (the covariance prior is re-expressed in design units), so each fit is the fit hmmlearn would make on
  that window standardised by its own mean and std;
- EM without hmmlearn's per-iteration overhead (``regimes.fast_hmm.em_fit``), warm refits in a few iterations;
- the scheduled competitions depend only on their window's rows, so they run ahead in a second process while
  the warm chain runs here (``workers``); results are identical whatever the scheduling (same code, one BLAS
  thread, candidates compared in a fixed order, tests/test_walkforward.py);
- the filter is not re-run from the start of data at each refit: EM's last forward row is already the filtered
  probability at r, and the days until the next refit continue that recursion (O(days) per refit);
- an optional content-addressed cache (``regimes.cache``) returns a previous identical run's result.
"""
from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from regimeshift.core import progress
from regimeshift.core.errors import RegimeshiftError
from regimeshift.core.workers import die_with_parent, worker_count
from regimeshift.regimes import naming
from regimeshift.regimes.result import RegimeResult
from regimeshift.regimes.schedule import (  # noqa: F401  (re-exported)
    window_start,
    block_cut,
    check_windows_move,
    first_fit_failed,
    refit_positions,
    usable_block,
)
from regimeshift.regimes.spec import RegimeSpec, default

if TYPE_CHECKING:  # the fitting code (hmmlearn, scikit-learn, scipy: ~1 s of imports) loads only when a walk fits:
    # a run whose walk comes from the cache never pays for it
    from regimeshift.regimes.cold_fit import Candidate, FamilyChoice
    from regimeshift.regimes.fast_hmm import Design
    from regimeshift.regimes.model import LiquidityHMM


# -- cold competitions (pure functions of a window's rows: may run in another process) ------------------------
def _cold_candidates(
    U: np.ndarray, center: np.ndarray, scale: np.ndarray, model_params: dict[str, Any], seeds: Sequence[int]
) -> tuple[list[Candidate], FamilyChoice | None]:
    """A cold fit's candidates on one training window (rows ``U`` in design units): ``regimes.cold_fit``'s
    screened starts, and with ``emission = "auto"`` the family it chose."""
    from regimeshift.regimes.cold_fit import cold_candidates
    from regimeshift.regimes.model import LiquidityHMM
    from regimeshift.regimes.threads import single_blas_thread

    proto = LiquidityHMM(**model_params)
    data = _design_from_rows(U, proto.covariance_type, center, scale)
    with single_blas_thread():
        return cold_candidates(proto, data, seeds)


def _design_from_rows(U: np.ndarray, covariance_type: str, center: np.ndarray, scale: np.ndarray) -> Design:
    """A Design on rows already in design units (a fresh copy: the same bits in any process)."""
    from regimeshift.regimes.fast_hmm import Design

    d = Design(np.array(U, dtype=float, order="C"), covariance_type, center=np.zeros(U.shape[1]), scale=np.ones(U.shape[1]))
    d.center, d.scale = center, scale  # the rows are already mapped; keep the run's map for unit conversions
    return d


class _ColdSource:
    """Cold-start candidates for the scheduled competitions, computed here or in a worker process."""

    def __init__(
        self,
        design: Design,
        windows: dict[int, tuple[int, int]],
        model_params: dict[str, Any],
        seeds: Sequence[int],
        workers: int,
    ):
        self.design, self.windows, self.params, self.seeds = design, windows, model_params, list(seeds)
        self.futures: dict[int, Future[tuple[list[Candidate], FamilyChoice | None]]] = {}
        self.done: dict[int, tuple[list[Candidate], FamilyChoice | None]] = {}
        self.pool: ProcessPoolExecutor | None = None
        first, *later = sorted(windows)
        if workers > 1 and later:
            # the first competition (this process needs it first) runs before the workers fork: they inherit
            # the compiled kernels it loaded instead of each loading them again (numba's first call in a
            # process costs ~0.5 s of CPU, measured; the first window is the walk's shortest, ~0.1 s to fit)
            self.done[first] = self._here(first)
            try:
                self.pool = ProcessPoolExecutor(max_workers=workers - 1, mp_context=multiprocessing.get_context("fork"),
                                                initializer=die_with_parent, initargs=(os.getpid(),))
                for k in later:
                    lo, hi = windows[k]
                    self.futures[k] = self.pool.submit(
                        _cold_candidates, design.U[lo:hi], design.center, design.scale, model_params, self.seeds
                    )
            except (OSError, RuntimeError, ValueError):  # no processes on this platform/sandbox: run here
                self.close()
                self.futures.clear()

    def _here(self, k: int) -> tuple[list[Candidate], FamilyChoice | None]:
        lo, hi = self.windows[k]
        return _cold_candidates(self.design.U[lo:hi], self.design.center, self.design.scale, self.params, self.seeds)

    def get(self, k: int) -> tuple[list[Candidate], FamilyChoice | None]:
        if k in self.done:
            return self.done.pop(k)
        fut = self.futures.pop(k, None)
        if fut is not None:
            try:
                return fut.result()
            except Exception:  # a broken worker must not change results: recompute here (same function)
                pass
        return self._here(k)

    def close(self) -> None:
        if self.pool is not None:
            for f in self.futures.values():
                f.cancel()
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


def default_workers(workers: int | None = None) -> int:
    """Processes for the walk-forward, this one included: ``workers``, else ``$REGIMESHIFT_WORKERS``, else on a
    multi-core machine one competitions worker per core (up to two) besides this process. This process runs the
    warm chain and mostly waits for the competitions (1.9 of 9 CPU seconds on the shipped config), so with one
    worker a core idled: measured on 2 cores, a cold run of the shipped config took 11.4 s with one worker and
    9.9 s with two."""
    n = worker_count(workers, "REGIMESHIFT_WORKERS", default_cap=2)
    chosen = workers is not None or bool(os.environ.get("REGIMESHIFT_WORKERS", "").strip())
    return n if chosen or n < 2 else n + 1


def competition_schedule(
    positions: Sequence[int], window: str | int, warm_start: bool, cold_every: int, cold_growth: float
) -> list[int]:
    """Refit numbers at which seeded cold starts compete with the warm start: the first refit, every
    ``cold_every``-th refit, and whenever the training window has grown by ``cold_growth`` (a share) since the
    last competition -- the likelihood surface moves with the relative growth of the data, so early refits
    (short windows, several near-equal optima, cheap fits) get competitions more often. Fixed in advance (it
    depends on dates only), so the competitions can run ahead in another process."""
    due: list[int] = []
    last = 0
    for k, r in enumerate(positions):
        n = r + 1 - window_start(r, window)
        if k == 0 or not warm_start or k % max(1, cold_every) == 0 or (cold_growth > 0 and n >= last * (1 + cold_growth)):
            due.append(k)
            last = n
    return due


def unexplained_share(logf: np.ndarray, p: Any) -> float:
    """Share of rows whose Mahalanobis distance to EVERY state exceeds that state's 99.9 % quantile (``logf``:
    the rows' log emission densities under ``p``). Under the model this is at most ~0.1 %; a regime the model
    has no state for (the first crunch in the data, say) pushes it far higher."""
    from regimeshift.regimes.fast_hmm import outlier_distances

    maha, limit = outlier_distances(logf, p)
    return float(np.mean((maha > limit[None, :]).all(axis=1)))


# -- the walk-forward --------------------------------------------------------------------------------------------
def walk_forward(
    features: pd.DataFrame,
    spec: RegimeSpec | None = None,
    *,
    workers: int | None = None,
    cache: bool | str | os.PathLike[str] | None = False,
    returns: pd.Series | None = None,
    **settings: Any,
) -> RegimeResult:
    """Label every usable day out of sample. See the module docstring for the timing contract.

    ``spec``: the regime model's settings (default ``RegimeSpec()``); keyword ``settings`` replace single fields
    of it (``walk_forward(X, refit="quarterly")``; an unknown name is a TypeError). ``cache``: False (default)
    computes; True uses the default cache folder (``regimes.cache.cache_dir``); a path uses that folder.
    ``workers``: processes for the scheduled cold competitions (default: 2 on a multi-core machine); the
    result does not depend on it.
    """
    spec = spec if spec is not None else RegimeSpec()
    if settings:
        spec = spec.replace(**settings)
    if spec.feature_names is None:  # the naming rule reads which columns are returns and which are levels
        spec = spec.replace(feature_names=tuple(str(c) for c in features.columns))
    try:
        spec = spec.replace(order_by=naming.check_order_by(spec.order_by, list(spec.feature_names or ())))
    except ValueError as err:
        raise RegimeshiftError(str(err)) from None
    if spec.model != "hmm" and spec.jump_penalty == "cv" and spec.penalty_cv == "walk":
        # the monthly penalty choice smooths its candidates itself (every (penalty, k) pair can compete)
        return _dispatch_generic(features, spec, returns, cache)
    # smoothing is a cheap forward-only step after the walk: the walk is cached without it, so a run that only
    # changes the smoothing reuses the fitted walk
    raw = spec.replace(smooth_days=default("smooth_days"), smooth_grid=default("smooth_grid"))
    if spec.model != "hmm":  # another model family: the generic walk (regimes/generic_walk.py), same schedule
        result = _dispatch_generic(features, raw, returns, cache)
    elif cache:
        from regimeshift.regimes import cache as regime_cache

        result = regime_cache.cached(features, raw.cache_params(), lambda: _walk_forward(features, raw, workers), cache)
    else:
        result = _walk_forward(features, raw, workers)
    from regimeshift.regimes.smoothing import smooth_result

    return smooth_result(result, spec.smooth_days, spec.smooth_grid, returns, spec.cv_validation_days)


def _dispatch_generic(
    features: pd.DataFrame, spec: RegimeSpec, returns: pd.Series | None,
    cache: bool | str | os.PathLike[str] | None,
) -> RegimeResult:
    """``spec.model`` ("jump", "gmmhmm") through ``regimes.generic_walk``; the whole spec is the cache key (and,
    with ``jump_penalty = "cv"``, the returns the selection reads)."""
    from regimeshift.regimes.generic_walk import generic_walk_forward

    if cache:
        from regimeshift.regimes import cache as regime_cache

        key = spec.cache_params()
        if returns is not None and spec.jump_penalty == "cv":
            key["returns_digest"] = regime_cache.series_digest(returns)
        return regime_cache.cached(features, key, lambda: generic_walk_forward(features, spec, returns), cache)
    return generic_walk_forward(features, spec, returns)


def _walk_forward(features: pd.DataFrame, spec: RegimeSpec, workers: int | None) -> RegimeResult:
    from regimeshift.regimes.cold_fit import compete
    from regimeshift.regimes.fast_hmm import Design, forward
    from regimeshift.regimes.model import LiquidityHMM
    from regimeshift.regimes.threads import single_blas_thread

    t0 = time.perf_counter()
    names = spec.names
    window = spec.window
    block = usable_block(features)
    X = block.to_numpy(dtype=float)
    index = block.index
    positions = refit_positions(index, spec.min_train, spec.refit, block_cut(features, block))
    check_windows_move(block, positions, window)
    T, K = len(X), len(names)
    model_params = spec.estimator_params()
    proto = LiquidityHMM(**model_params)
    if positions[0] + 1 - window_start(positions[0], window) < 10 * K:
        raise RegimeshiftError(f"regimes: the first training window has fewer than {10 * K} rows")

    # one affine map for the whole run, from the first training window only (no look-ahead)
    first = X[window_start(positions[0], window) : positions[0] + 1]
    scale0 = first.std(axis=0)
    scale0[scale0 < 1e-12] = 1.0
    design = Design(X, spec.covariance_type, center=first.mean(axis=0), scale=scale0)
    log_jac = float(np.log(design.scale).sum())

    warm = spec.warm_start
    due = competition_schedule(positions, window, warm, spec.cold_every, spec.cold_growth)
    windows = {k: (window_start(positions[k], window), positions[k] + 1) for k in due}
    seeds = [spec.seed + i for i in range(spec.n_init)]
    n_workers = default_workers(workers)

    cold_surprise = spec.cold_surprise
    surprised = False
    probs = np.full((T, K), np.nan)
    daily = np.full(T, np.nan)
    rows = []
    model: LiquidityHMM | None = None
    # the bar first: the first competition (and numba's start-up) runs while the workers are made
    refits_bar = progress.bar(len(positions), "walk-forward refits", unit="refit", leave=False)
    source: _ColdSource | None = None
    try:
        source = _ColdSource(design, windows, model_params, seeds, n_workers)
        with single_blas_thread():
            for k, r in enumerate(positions):
                refits_bar.update(1)
                end = positions[k + 1] if k + 1 < len(positions) else T
                lo = window_start(r, window)
                data = design.window(lo, r + 1)
                cands: list[Candidate] = []
                if warm and model is not None:
                    cands.append(proto.run_start(data, None, model.params_))
                scheduled = k in windows
                choice: FamilyChoice | None = None
                if scheduled:
                    cold, choice = source.get(k)
                    cands = compete(cands, cold, choice)
                elif surprised:
                    # the last period had days no state explains: fresh starts compete now
                    cold, choice = _cold_candidates(data.U, design.center, design.scale, model_params, seeds)
                    cands = compete(cands, cold, choice)
                fit = LiquidityHMM(**model_params)
                fallback, rescued = False, surprised and not scheduled
                was_surprised = surprised
                try:
                    fit.adopt(data, cands, align_to=model)
                    if not fit.converged_ and not scheduled and not rescued:
                        # a warm fit that hit n_iter: let fresh starts compete now
                        cold, choice = _cold_candidates(data.U, design.center, design.scale, model_params, seeds)
                        cands = compete(cands, cold, choice)
                        fit.adopt(data, cands, align_to=model)
                        rescued = True
                    model = fit
                except FloatingPointError:
                    if model is None:
                        raise RegimeshiftError(first_fit_failed(block.iloc[lo : r + 1], index[r])) from None
                    fallback = True
                assert model is not None
                p = model.params_
                if fallback:
                    _, fwd = forward(p.startprob, p.transmat, data.log_density(p))
                    last = fwd[-1]
                else:
                    last = model.last_filtered_
                probs[r] = last[model.order_]
                surprised = False
                # the next refit day is out of sample for this model too: score it here, although its
                # probabilities come from the model refitted on it (the refit uses its row, known by then)
                scored_end = min(end + 1, T)
                if scored_end > r + 1:
                    pred = last @ p.transmat
                    logf = design.window(r + 1, scored_end).log_density(p)
                    ll, fwd = forward(pred / pred.sum(), p.transmat, logf)
                    n_held = end - (r + 1)
                    probs[r + 1 : end] = fwd[:n_held, model.order_]
                    daily[r + 1 : scored_end] = ll - log_jac
                    # known at the next refit (rows up to it): a share of days beyond every state's 99.9 % ellipsoid
                    if n_held > 0:
                        surprised = cold_surprise > 0 and unexplained_share(logf[:n_held], p) > cold_surprise
                cold_lls = [c for s, c in model.candidates_ if s is not None and c is not None] if not fallback else []
                rows.append(
                    {
                        "date": index[r],
                        "n_train": r + 1 - lo,
                        "loglik": model.loglik_ if not fallback else np.nan,
                        "n_iter": model.n_iter_ if not fallback else 0,
                        "converged": bool(model.converged_) if not fallback else False,
                        "warm_started": bool(model.warm_started_) if not fallback else False,
                        "fallback": fallback,
                        "cold_competition": scheduled or rescued,
                        "surprise": bool(rescued and was_surprised),
                        "relabelled": bool(k > 0 and not fallback and model.relabelled_),
                        "best_cold_loglik": max(cold_lls) if cold_lls else np.nan,
                    }
                )
                if spec.emission == "auto":  # the family in force, and what the held-out rows said at a choice
                    rows[-1]["emission"] = "student_t" if p.is_student_t else "gaussian"
                    rows[-1]["t_gain_per_day"] = choice.gain_per_day if choice is not None else np.nan
                    rows[-1]["t_evidence"] = choice.evidence if choice is not None else np.nan
                if p.is_student_t:  # the dofs each refit estimated (a Gaussian walk's refits keep their columns)
                    rows[-1]["dof"] = float(np.min(p.dofs))  # the fattest-tailed state's
                    rows[-1]["dof_max"] = float(np.max(p.dofs))
    finally:
        refits_bar.close()
        if source is not None:
            source.close()
    result = pd.DataFrame(probs, index=index, columns=list(names)).iloc[positions[0] :]
    refits = pd.DataFrame(rows).set_index("date")
    path = pd.Series(daily, index=index, name="loglik").iloc[positions[0] + 1 :]
    oos = float(np.nansum(path.to_numpy()))
    return RegimeResult(result, refits, model, oos, time.perf_counter() - t0, path)  # type: ignore[arg-type]
