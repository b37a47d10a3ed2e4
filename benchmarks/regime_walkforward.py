"""Walk-forward regime fitting: the fast engine against the naive approaches, in the same process (a benchmark).

    python benchmarks/regime_walkforward.py [--years 23] [--repeat 3] [--features SPEC,...] [--skip-cold] [--init NAME]

Data: the embedded synthetic market (default config's seed) with the default config's features and regime
settings, printed first (3 states, full covariance, monthly refits, expanding window, three local starts, the
Gaussian, the sticky prior); --years 23 gives ~5,800 rows
and ~240 monthly refits. Times, best of --repeat where cheap, all with one BLAS thread per process:

- naive cold: the former implementation (tests/baselines/reference.py: hmmlearn ``fit`` per start, hmmlearn's k-means
  start, a full forward pass per refit), n_init cold starts at every refit;
- naive warm: the same with EM warm-started from the previous fit (cold competitions every 12 refits);
- fast (1 process) and fast (default workers): regimes/walkforward.py, cache off;
- cache hit: the same call again with the content-addressed cache on (first call fills a temporary cache).

For each: seconds, ratio to naive cold and to naive warm, total out-of-sample log-likelihood
(``RegimeResult.oos_loglik``: sum of log p(x_t | x_<t) under the model in force, original feature units; higher
is better), refits, EM iterations and non-converged refits. Also checks the fast results are identical whatever
the number of worker processes.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from regimeshift.backtests.config import load_config  # noqa: E402
from regimeshift.data.synthetic import generate_market  # noqa: E402
from tests.baselines.reference import walk_forward_reference  # noqa: E402
from regimeshift.regimes.features import build_features, stress_sign  # noqa: E402
from regimeshift.regimes.walkforward import default_workers, walk_forward  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--years", type=float, default=23.0)
    ap.add_argument("--seed", type=int, default=None, help="market seed (default: the default config's)")
    ap.add_argument("--features", default=None, help="comma-separated specs (default: the default config's)")
    ap.add_argument("--repeat", type=int, default=3, help="repeats of the fast runs (best and median printed)")
    ap.add_argument("--skip-cold", action="store_true", help="skip the naive cold run (the slow one)")
    ap.add_argument("--skip-naive", action="store_true", help="skip both naive runs")
    ap.add_argument("--init", default=None, help="the fast runs' cold start (default: the config's; e.g. hmmlearn)")
    args = ap.parse_args()

    cfg = load_config(None)
    if args.init:
        cfg = cfg.model_copy(update={"regimes": cfg.regimes.model_copy(update={"init": args.init})})
    seed = cfg.seed if args.seed is None else args.seed
    specs = [s.strip() for s in args.features.split(",")] if args.features else list(cfg.features)
    m = generate_market(seed=seed, years=args.years)
    feats = build_features(m.prices, m.macro, specs)
    r = cfg.regimes
    common = dict(
        names=r.names, covariance_type=r.covariance_type, n_init=r.n_init, n_iter=r.n_iter, tol=r.tol,
        min_covar=r.min_covar, sticky=r.sticky, min_train=r.min_train_days, refit=r.refit, window=r.window,
        stress_signs=[stress_sign(c) for c in feats.columns], seed=seed,
    )
    rows = feats.dropna().shape[0]
    print(f"walk-forward benchmark: synthetic market seed {seed}, {rows} usable rows x {len(specs)} features "
          f"({', '.join(specs)})")
    print(f"{r.n_states} states, {r.covariance_type} covariance, refit {r.refit}, window {r.window}, "
          f"n_init {r.n_init}, init {r.init}, emission {r.emission}, sticky {r.sticky}, tol {r.tol}, n_iter {r.n_iter}; "
          f"default workers here: {default_workers()}, "
          f"cpus: {os.cpu_count()}, load avg: {_load()}")
    results: dict[str, tuple[float, object]] = {}

    def run(label: str, fn, repeat: int = 1):  # type: ignore[no-untyped-def]
        times, res = [], None
        for _ in range(repeat):
            t0 = time.perf_counter()
            res = fn()
            times.append(time.perf_counter() - t0)
        best = min(times)
        results[label] = (best, res)
        extra = f" (median {statistics.median(times):.2f}s of {repeat})" if repeat > 1 else ""
        print(f"  {label:<24} {best:8.2f}s{extra}", flush=True)
        return res

    if not args.skip_naive and not args.skip_cold:
        run("naive cold", lambda: walk_forward_reference(feats, warm_start=False, **common))
    if not args.skip_naive:
        run("naive warm", lambda: walk_forward_reference(feats, warm_start=True, **common))
    # the config's emission family (the default config's Gaussian, as the naive runs): left out, the walk would take
    # the estimator's default ("auto", both families at every cold fit) and time another model
    fast_kw = dict(common, cold_every=r.cold_every, cold_growth=r.cold_growth, kmeans_n_init=r.kmeans_n_init, init=r.init,
                   emission=r.emission, t_dof=r.t_dof, cache=False)
    one = run("fast, 1 process", lambda: walk_forward(feats, workers=1, **fast_kw), args.repeat)
    mine = run(f"fast, {default_workers()} processes", lambda: walk_forward(feats, **fast_kw), args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        walk_forward(feats, **{**fast_kw, "cache": tmp})  # fill
        run("fast, cache hit", lambda: walk_forward(feats, **{**fast_kw, "cache": tmp}), args.repeat)
    same = one.probabilities.equals(mine.probabilities) and one.oos_loglik == mine.oos_loglik  # type: ignore[attr-defined]

    print()
    base = {k: results[k][0] for k in ("naive cold", "naive warm") if k in results}
    head = f"{'':<26}{'seconds':>9}" + "".join(f"{'x vs ' + k:>17}" for k in base)
    print(head + f"{'OOS loglik':>14}{'vs cold':>10}{'refits':>8}{'EM iters':>10}{'not conv.':>10}")
    cold_oos = results["naive cold"][1].oos_loglik if "naive cold" in results else None  # type: ignore[attr-defined]
    for label, (secs, res) in results.items():
        ratios = "".join(f"{b / secs:>17.1f}" for b in base.values())
        oos = res.oos_loglik  # type: ignore[attr-defined]
        diff = f"{oos - cold_oos:>+10.1f}" if cold_oos is not None else f"{'':>10}"
        rf = res.refits  # type: ignore[attr-defined]
        print(f"  {label:<24}{secs:>9.2f}{ratios}{oos:>14.1f}{diff}{len(rf):>8}{int(rf['n_iter'].sum()):>10}"
              f"{int((~rf['converged'].astype(bool)).sum()):>10}")
    print(f"\nfast results identical with 1 and {default_workers()} processes: {same}")


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


if __name__ == "__main__":
    main()
