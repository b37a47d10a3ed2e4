"""Sweep speed on the shipped QQQ/DVY/SHY/GLD universe (backtests/configs/liquidity_rotation.toml, ../shared/data).

Prints, from one run:
- variants per minute screened by `run_sweep` (regime fit cached, strategy allocation and metrics included),
  with N worker processes (default 2);
- the screening engine's asset-bars per second beside `replay_arrays` (the per-bar twin it builds on) and a bare
  numpy loop that marks the same holdings every bar (the practical floor), as ratios.

    python benchmarks/sweep_speed.py [--variants 2000] [--workers 2] [--data-dir ../shared/data]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]


def sweep_toml(base: Path, n: int) -> str:
    return f"""
base = "{base}"
name = "speed"
[random]
n = {n}
seed = 1
"strategy.weights.abundant.growth" = {{ low = 0.5, high = 0.95 }}
"strategy.weights.tightening.value" = {{ low = 0.1, high = 0.6 }}
"strategy.weights.tightening.bonds" = {{ low = 0.1, high = 0.6 }}
"strategy.weights.crunch.bonds" = {{ low = 0.4, high = 0.9 }}
"execution.rebalance" = {{ choices = ["monthly", "quarterly"] }}
"execution.commission_bps" = {{ low = 1.0, high = 10.0 }}
"""


def engine_speed(data_dir: Path) -> None:
    import numpy as np
    from regimeshift.backtests.config import load_config, with_overrides
    from regimeshift.backtests.replay import decision_dates, replay_arrays
    from regimeshift.backtests.screen import screen_frames
    from regimeshift.pipeline import allocation_stage, feature_stage, load_stage, regime_stage
    from regimeshift.strategies.sleeves import symbol_weights

    cfg = with_overrides(load_config(REPO / "backtests/configs/liquidity_rotation.toml"), dir=str(data_dir))
    market = load_stage(cfg)
    regimes = regime_stage(cfg, feature_stage(cfg, market))
    weights = allocation_stage(cfg, market, regimes)
    cands, forced = decision_dates(weights.index, "monthly")
    targets = symbol_weights(weights.loc[cands], cfg.sleeves)
    prices = market.prices.loc[weights.index, list(targets.columns)]
    rate = market.macro["IRX"].reindex(weights.index).ffill().fillna(0.0) / 100 / 252
    asset_bars = prices.shape[0] * prices.shape[1]

    def best(fn, reps: int = 5) -> float:  # type: ignore[no-untyped-def]
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    t_screen = best(lambda: screen_frames(prices, targets, cfg.execution, cash_rate=rate))
    t_arrays = best(lambda: replay_arrays(prices, targets, cfg.execution, cash_rate=rate))
    close = prices.to_numpy()
    pos = prices.index.get_indexer(targets.index)
    w = targets.to_numpy()

    def bare() -> None:  # no costs, no sizing rules: hold target shares, mark every bar in a plain loop
        held = np.zeros(close.shape[1])
        cash = 1e6
        j = 0
        out = np.empty(len(close))
        for t in range(len(close)):
            v = cash + float(held @ close[t])
            if j < len(pos) and pos[j] == t:
                new = v * w[j] / close[t]
                cash -= float((new - held) @ close[t])
                held = new
                j += 1
            out[t] = v

    t_bare = best(bare)
    print(f"engine on {prices.shape[0]} bars x {prices.shape[1]} assets, monthly decisions:")
    for name, t in (("screen_frames", t_screen), ("replay_arrays", t_arrays), ("bare numpy loop", t_bare)):
        print(f"  {name:16} {1000 * t:8.2f} ms  {asset_bars / t / 1e6:6.2f} M asset-bars/s")
    print(f"  screen / bare numpy loop speed: {t_bare / t_screen:.2f}x; screen / replay_arrays: {t_arrays / t_screen:.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--variants", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    args = ap.parse_args()
    if not (args.data_dir / "QQQ.csv").is_file():
        sys.exit(f"no data at {args.data_dir}")
    from regimeshift.sweep.run import run_sweep
    from regimeshift.sweep.spec import load_spec

    engine_speed(args.data_dir)
    with tempfile.TemporaryDirectory() as tmp:
        sweep = Path(tmp) / "SWEEP.toml"
        sweep.write_text(sweep_toml(REPO / "backtests/configs/liquidity_rotation.toml", args.variants))
        t0 = time.perf_counter()
        spec = load_spec(sweep, args.data_dir)
        t_spec = time.perf_counter() - t0
        # warm the regime cache (a fit is not what this measures)
        run_sweep(load_spec(sweep, args.data_dir).__class__(**{**spec.__dict__, "variants": spec.variants[:1]}),
                  Path(tmp) / "warm", workers=1, top=0, progress=False)
        from regimeshift.sweep.run import build_leaderboard, screen_all
        from regimeshift.sweep.store import ResultStore

        out_dir = Path(tmp) / "out"
        out_dir.mkdir()
        with ResultStore(out_dir / "results.sqlite") as store:
            t0 = time.perf_counter()
            n = screen_all(spec, store, workers=args.workers, progress=False)
            dt = time.perf_counter() - t0
            t0 = time.perf_counter()
            _, summary, _ = build_leaderboard(spec, store, out_dir, 3, "yearly")
            t_board = time.perf_counter() - t0
    print(f"sweep: {len(spec.variants)} variants ({n} screened, {summary['impossible']} impossible) "
          f"in {dt:.1f}s with {args.workers} workers (+{t_spec:.1f}s to enumerate and validate, "
          f"+{t_board:.1f}s for the leaderboard: DSR, PBO over {summary['_pbo']['n_splits']} splits, pictures, page)")
    print(f"  {n / dt * 60:,.0f} variants/minute screened (target >= 2,000 on 2 cores); "
          f"{n / (dt + t_board + t_spec) * 60:,.0f} per minute including validation and leaderboard; "
          f"PBO {summary['_pbo']['pbo']:.3f}")
    print(f"  load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
