"""Sweep speed and memory on the shipped QQQ/DVY/SHY/GLD universe (backtests/configs/liquidity_rotation.toml,
../shared/data), or on the embedded synthetic market when that data is absent.

Prints, from one run:
- engine: the screening engine's asset-bars per second side by side with vectorbt's
  ``Portfolio.from_orders(size_type="targetpercent")`` on the same weights and prices (optional:
  ``pip install -e ".[bench]"``), ``replay_arrays`` (the per-bar twin it builds on) and a bare numpy loop that
  marks the same holdings every bar (the practical floor), with the ratios, and a check that vectorbt's final
  equity agrees with ours on the same inputs;
- sweep: variants per minute screened by ``run_sweep`` (regime fit cached, allocation and metrics included),
  with N worker processes (default 2);
- memory: the sweep driver's peak traced memory (tracemalloc) and peak RSS, each size in a fresh process, for
  a small and a large sweep (default 500 and 4000 variants): flat when the ratio is ~1.

    python benchmarks/sweep_speed.py [--parts engine,sweep,memory] [--variants 2000] [--memory-sizes 500,4000]
                                     [--workers 2] [--data-dir ../shared/data]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "backtests/configs/liquidity_rotation.toml"

# Final equity of vectorbt and ours on the same inputs, relative difference allowed:
# - no costs: both hold value * w / price shares from the fill bar on; only float rounding differs (vectorbt's
#   order arithmetic also treats numbers within 1e-9 relative as equal, utils/math_.py), ~1e-9 over 21 years;
# - costs, a little cash left at every rebalance (weights scaled to 99%): the same, since both size on the
#   unslipped price and pay slippage and commission on the fill;
# - costs, fully invested: a rebalance whose buys cannot pay their own costs is cut differently -- ours scales
#   every buy by one factor (plan_orders), vectorbt fills buys in order and cuts the last one short (2.6e-4 over
#   21 years on the shipped universe).
CHECKS = (("no costs", 1.0, 1e-8), ("costs, 99% invested", 0.99, 1e-8), ("costs, fully invested", 1.0, 1e-3))


def has_data(data_dir: Path | None) -> bool:
    return data_dir is not None and (data_dir / "QQQ.csv").is_file()


def sweep_toml(base: Path | None, n: int) -> str:
    head = f'base = "{base}"\n' if base is not None else ""
    return head + f"""name = "speed"
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


def best_time(fn: Callable[[], Any], reps: int = 9) -> float:  # best of 9: a shared machine is noisy
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


# -- engine side by side ------------------------------------------------------------------------------------------
def engine_inputs(data_dir: Path | None) -> tuple[Any, Any, Any, str]:
    """Prices and monthly target weights of the shipped config (or the embedded default on synthetic data)."""
    from regimeshift.backtests.config import load_config, with_overrides
    from regimeshift.backtests.replay import decision_dates
    from regimeshift.pipeline import allocation_stage, feature_stage, load_stage, regime_stage
    from regimeshift.strategies.sleeves import symbol_weights

    if has_data(data_dir):
        cfg = with_overrides(load_config(SHIPPED), dir=str(data_dir))
        where = f"shipped universe ({data_dir})"
    else:
        cfg = load_config(None)
        where = "embedded synthetic market (no data at --data-dir)"
    market = load_stage(cfg)
    regimes = regime_stage(cfg, feature_stage(cfg, market))
    weights = allocation_stage(cfg, market, regimes)
    cands, _ = decision_dates(weights.index, "monthly")
    targets = symbol_weights(weights.loc[cands], cfg.sleeves)
    prices = market.prices.loc[weights.index, list(targets.columns)]
    return cfg, prices, targets, where


def bare_loop(close: Any, pos: Any, w: Any) -> Any:
    """No costs, no sizing rules: hold target shares from the bar after each decision, mark every bar."""
    import numpy as np

    held = np.zeros(close.shape[1])
    cash = 1e6
    j = 0
    out = np.empty(len(close))
    for t in range(len(close)):
        v = cash + float(held @ close[t])
        if j < len(pos) and pos[j] + 1 == t:
            new = v * w[j] / close[t]
            cash -= float((new - held) @ close[t])
            held = new
            j += 1
        out[t] = v
    return out


def vectorbt_orders(prices: Any, delayed: Any, execution: Any) -> Any:
    """vectorbt's target-percent orders on one cash-shared group, sells first (call_seq="auto"), fractional
    shares, fees and slippage as fractions: the simulated portfolio."""
    import vectorbt as vbt

    return vbt.Portfolio.from_orders(
        prices, size=delayed, size_type="targetpercent", price=prices, group_by=True, cash_sharing=True,
        call_seq="auto", fees=execution.commission_bps / 1e4, slippage=execution.slippage_bps / 1e4,
        init_cash=execution.initial_cash, freq="D",
    )


def vectorbt_run(prices: Any, delayed: Any, execution: Any) -> Any:
    """The value path, as ours returns it (vectorbt computes it from the orders on request)."""
    return vectorbt_orders(prices, delayed, execution).value()


def engine_speed(data_dir: Path | None) -> None:
    import numpy as np
    import pandas as pd
    from regimeshift.backtests.replay import replay_arrays
    from regimeshift.backtests.screen import screen_frames

    cfg, prices, targets, where = engine_inputs(data_dir)
    # like for like with vectorbt: no cash interest (vectorbt has none), fractional shares, no cash buffer;
    # the config's commission and slippage
    ex = cfg.execution.model_copy(update={"fractional": True, "cash_buffer": 0.0, "timing": "next_bar"})
    asset_bars = prices.shape[0] * prices.shape[1]
    close = prices.to_numpy()
    pos = prices.index.get_indexer(targets.index)
    w = targets.to_numpy()
    # ours decides at the close of bar d and fills at the close of d+1 (no open prices given); vectorbt fills
    # where the size is given, so it gets the weights already delayed one bar (a decision on the last bar,
    # which ours never fills, is dropped)
    delayed = pd.DataFrame(np.nan, index=prices.index, columns=prices.columns)
    keep = pos + 1 < len(prices)
    delayed.iloc[pos[keep] + 1] = w[keep]

    rows: list[tuple[str, float]] = []
    t_screen = best_time(lambda: screen_frames(prices, targets, ex))
    rows.append(("screen_frames", t_screen))
    rows.append(("replay_arrays", best_time(lambda: replay_arrays(prices, targets, ex))))
    t_bare = best_time(lambda: bare_loop(close, pos, w))
    rows.append(("bare numpy loop", t_bare))
    try:
        import vectorbt as vbt
    except ImportError:
        vbt = None
    t_vbt = None
    if vbt is not None:
        t0 = time.perf_counter()
        vectorbt_run(prices, delayed, ex)  # numba compiles on the first call: not what is measured
        t_compile = time.perf_counter() - t0
        t_sim = best_time(lambda: vectorbt_orders(prices, delayed, ex))
        rows.append((f"vectorbt {vbt.__version__} orders", t_sim))
        t_vbt = best_time(lambda: vectorbt_run(prices, delayed, ex))
        rows.append(("vectorbt + value path", t_vbt))

    print(f"engine on {prices.shape[0]} bars x {prices.shape[1]} assets, {len(targets)} monthly decisions, "
          f"{where}; commission {ex.commission_bps:g} bp, slippage {ex.slippage_bps:g} bp, fractional, no cash "
          f"buffer or interest, best of 9:")
    for name, t in rows:
        print(f"  {name:22} {1000 * t:8.2f} ms  {asset_bars / t / 1e6:6.2f} M asset-bars/s")
    print(f"  screen / bare numpy loop speed: {t_bare / t_screen:.2f}x")
    if t_vbt is None:
        print('  vectorbt: not installed, row skipped (pip install -e ".[bench]" or pip install "vectorbt>=0.26")')
        return
    print(f"  screen / vectorbt speed: {t_sim / t_screen:.2f}x against its orders alone, {t_vbt / t_screen:.2f}x with "
          f"the value path (vectorbt's first call, numba compile: {t_compile:.1f}s, excluded)")
    for label, scale, tol in CHECKS:
        ex_k = ex if label.startswith("costs") else ex.model_copy(update={"commission_bps": 0.0, "slippage_bps": 0.0})
        ours = float(screen_frames(prices, targets * scale, ex_k).value[-1])
        theirs = float(vectorbt_run(prices, delayed * scale, ex_k).iloc[-1])
        rel = abs(theirs / ours - 1.0)
        print(f"  final equity, {label}: ours {ours:,.2f}, vectorbt {theirs:,.2f}, relative difference {rel:.1e} "
              f"({'within' if rel <= tol else 'OUTSIDE'} the stated {tol:.0e})")


# -- sweep speed ----------------------------------------------------------------------------------------------------
def warm_regime_cache(tmp: Path, base: Path | None, data_dir: Path | None) -> None:
    """One variant run, so the walk-forward fit is in the regime cache (a fit is not what is measured)."""
    from regimeshift.sweep.run import run_sweep
    from regimeshift.sweep.spec import load_spec

    sweep = tmp / "WARM.toml"
    sweep.write_text(sweep_toml(base, 1))
    run_sweep(load_spec(sweep, data_dir), tmp / "warm", workers=1, top=0, progress=False, report=False)


def sweep_speed(n_variants: int, workers: int, base: Path | None, data_dir: Path | None) -> None:
    from regimeshift.sweep.run import build_leaderboard, screen_all
    from regimeshift.sweep.spec import load_spec
    from regimeshift.sweep.store import ResultStore

    with tempfile.TemporaryDirectory() as tmp:
        warm_regime_cache(Path(tmp), base, data_dir)
        sweep = Path(tmp) / "SWEEP.toml"
        sweep.write_text(sweep_toml(base, n_variants))
        t0 = time.perf_counter()
        spec = load_spec(sweep, data_dir)
        t_spec = time.perf_counter() - t0
        out_dir = Path(tmp) / "out"
        out_dir.mkdir()
        with ResultStore(out_dir / "results.sqlite") as store:
            t0 = time.perf_counter()
            n = screen_all(spec, store, workers=workers, progress=False)
            dt = time.perf_counter() - t0
            t0 = time.perf_counter()
            _, summary, _ = build_leaderboard(spec, store, out_dir, 3, "yearly")
            t_board = time.perf_counter() - t0
    print(f"sweep: {len(spec.variants)} variants ({n} screened, {summary['impossible']} impossible) "
          f"in {dt:.1f}s with {workers} workers (+{t_spec:.1f}s to read the spec, "
          f"+{t_board:.1f}s for the leaderboard: DSR, PBO over {summary['_pbo']['n_splits']} splits, pictures, page)")
    print(f"  {n / dt * 60:,.0f} variants/minute screened (target >= 2,000 on 2 cores); "
          f"{n / (dt + t_board + t_spec) * 60:,.0f} per minute including the spec and the leaderboard; "
          f"PBO {summary['_pbo']['pbo']:.3f}")


# -- memory -------------------------------------------------------------------------------------------------------
def memory_child(n_variants: int, workers: int, base: Path | None, data_dir: Path | None, tmp: Path) -> None:
    """In a fresh process: the whole sweep (spec, screening, leaderboard with walk-forward), peak memory as JSON.
    The libraries are imported before tracing starts: what is traced is what the sweep itself holds."""
    import resource
    import tracemalloc

    import matplotlib.figure  # noqa: F401
    import pandas  # noqa: F401
    from regimeshift.sweep import leaderboard, screen  # noqa: F401
    from regimeshift.sweep.run import run_sweep
    from regimeshift.sweep.spec import load_spec

    sweep = tmp / f"SWEEP{n_variants}.toml"
    sweep.write_text(sweep_toml(base, n_variants))
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    t0 = time.perf_counter()
    spec = load_spec(sweep, data_dir)
    out = run_sweep(spec, tmp / f"out{n_variants}", workers=workers, top=0, walk_forward="yearly",
                    progress=False, report=False)
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"variants": len(out.table), "traced_peak": peak, "maxrss_kb": rss, "maxrss_start_kb": rss0,
                      "seconds": seconds}))


def memory_profile(sizes: list[int], workers: int, base: Path | None, data_dir: Path | None) -> None:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        warm_regime_cache(Path(tmp), base, data_dir)
        for n in sizes:
            cmd = [sys.executable, __file__, "--memory-child", str(n), "--tmp", tmp, "--workers", str(workers)]
            if data_dir is not None:
                cmd += ["--data-dir", str(data_dir)]
            res = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if res.returncode != 0:
                sys.exit(f"memory child ({n} variants) failed:\n{res.stderr[-3000:]}")
            results.append(json.loads(res.stdout.strip().splitlines()[-1]))
    print(f"memory of the sweep driver (fresh process per size, {workers} workers; traced = tracemalloc peak "
          f"after imports, RSS = peak resident set):")
    for r in results:
        print(f"  {r['variants']:6d} variants: traced peak {r['traced_peak'] / 2**20:7.1f} MiB, peak RSS "
              f"{r['maxrss_kb'] / 1024:7.1f} MiB ({r['seconds']:.0f}s)")
    a, b = results[0], results[-1]
    per = (b["traced_peak"] - a["traced_peak"]) / max(1, b["variants"] - a["variants"])
    print(f"  ratio {b['variants']} / {a['variants']} variants: traced {b['traced_peak'] / a['traced_peak']:.2f}x, "
          f"RSS {b['maxrss_kb'] / a['maxrss_kb']:.2f}x; {per / 1024:.1f} KiB traced per extra variant")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parts", default="engine,sweep,memory", help="comma-separated: engine, sweep, memory")
    ap.add_argument("--variants", type=int, default=2000)
    ap.add_argument("--memory-sizes", default="500,4000")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--tmp", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    data_dir = args.data_dir if has_data(args.data_dir) else None
    base = SHIPPED if data_dir is not None else None
    if args.memory_child:
        memory_child(args.memory_child, args.workers, base, data_dir, args.tmp)
        return
    if data_dir is None:
        print(f"no data at {args.data_dir}: the embedded synthetic market instead")
    parts = set(args.parts.split(","))
    if "engine" in parts:
        engine_speed(data_dir)
    if "sweep" in parts:
        sweep_speed(args.variants, args.workers, base, data_dir)
    if "memory" in parts:
        memory_profile([int(s) for s in args.memory_sizes.split(",")], args.workers, base, data_dir)
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
