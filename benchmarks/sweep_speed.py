"""Sweep speed and memory on the shipped QQQ/DVY/SHY/GLD universe (backtests/configs/liquidity_rotation.toml,
../shared/data), or on the embedded synthetic market when that data is absent.

Prints, from one run:
- engine: the screening engine's asset-bars per second side by side with vectorbt's
  ``Portfolio.from_orders(size_type="targetpercent")`` on the same weights and prices (optional:
  ``pip install -e ".[bench]"``; target: the screen >= 4x its orders alone), ``replay_arrays`` (the per-bar
  twin it builds on) and a per-bar Python loop that marks the same holdings with no costs, with the ratios, and
  a check that vectorbt's final equity agrees with ours on the same inputs;
- sweep: variants per minute screened by ``screen_all`` (regime fit cached, allocation and metrics included),
  with N worker processes (default 2), measured in a fresh process; also the CPU time a variant costs (driver
  and workers), which a loaded machine does not change, and the rate it would give on 2 idle cores;
- memory: the same, with the driver's peak traced memory (tracemalloc) and the peak RSS of the driver and of
  its workers, each size in a fresh process started through a small launcher (a child of this process would
  inherit its peak RSS), for a small and a large sweep (default 500 and 4000 variants): flat when the ratio
  is ~1.

    python benchmarks/sweep_speed.py [--parts engine,sweep,memory] [--variants 10000] [--memory-sizes 500,4000]
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
    print(f"  screen / vectorbt speed: {t_sim / t_screen:.2f}x against its orders alone (target >= 4x), "
          f"{t_vbt / t_screen:.2f}x with the value path (vectorbt's first call, numba compile: {t_compile:.1f}s, "
          "excluded)")
    for label, scale, tol in CHECKS:
        ex_k = ex if label.startswith("costs") else ex.model_copy(update={"commission_bps": 0.0, "slippage_bps": 0.0})
        ours = float(screen_frames(prices, targets * scale, ex_k).value[-1])
        theirs = float(vectorbt_run(prices, delayed * scale, ex_k).iloc[-1])
        rel = abs(theirs / ours - 1.0)
        print(f"  final equity, {label}: ours {ours:,.2f}, vectorbt {theirs:,.2f}, relative difference {rel:.1e} "
              f"({'within' if rel <= tol else 'OUTSIDE'} the stated {tol:.0e})")


# -- sweep speed and memory, each size in a fresh process ------------------------------------------------------------
def warm_regime_cache(tmp: Path, base: Path | None, data_dir: Path | None) -> None:
    """One variant run, so the walk-forward fit is in the regime cache (a fit is not what is measured)."""
    from regimeshift.sweep.run import run_sweep
    from regimeshift.sweep.spec import load_spec

    sweep = tmp / "WARM.toml"
    sweep.write_text(sweep_toml(base, 1))
    run_sweep(load_spec(sweep, data_dir), tmp / "warm", workers=1, top=0, progress=False, report=False)


def sweep_child(n_variants: int, workers: int, base: Path | None, data_dir: Path | None, tmp: Path,
                traced: bool) -> None:
    """In a fresh process: read the spec, screen every variant (timed: wall, and CPU of this process and its
    workers), build the leaderboard with the walk-forward; print the figures and the peak memory as JSON.

    The libraries are imported before anything is measured. With ``traced`` the driver's Python allocations
    are traced (tracemalloc, stopped in the forked workers: they would inherit it, and its copy of every trace)."""
    import resource
    import tracemalloc

    import matplotlib.figure  # noqa: F401
    import pandas  # noqa: F401
    from regimeshift.sweep import leaderboard, screen  # noqa: F401
    from regimeshift.sweep.run import build_leaderboard, screen_all
    from regimeshift.sweep.spec import load_spec
    from regimeshift.sweep.store import ResultStore

    sweep = tmp / f"SWEEP{n_variants}.toml"
    sweep.write_text(sweep_toml(base, n_variants))
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if traced:
        os.register_at_fork(after_in_child=tracemalloc.stop)
        tracemalloc.start()
    out_dir = tmp / f"out{n_variants}{'t' if traced else ''}"
    out_dir.mkdir()
    t0 = time.perf_counter()
    spec = load_spec(sweep, data_dir)
    with ResultStore(out_dir / "results.sqlite") as store:
        self0, kids0 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        t1 = time.perf_counter()
        n = screen_all(spec, store, workers=workers, progress=False)
        t_screen = time.perf_counter() - t1
        self1, kids1 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        screen_peak = tracemalloc.get_traced_memory()[1] if traced else 0
        t1 = time.perf_counter()
        _, summary, _ = build_leaderboard(spec, store, out_dir, 3, "yearly", report=False)
        t_board = time.perf_counter() - t1
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] if traced else 0
    tracemalloc.stop()

    def cpu(a: Any, b: Any) -> float:
        return (b.ru_utime - a.ru_utime) + (b.ru_stime - a.ru_stime)

    print(json.dumps({
        "variants": len(spec.variants), "screened": n, "screen_seconds": t_screen, "board_seconds": t_board,
        "seconds": seconds, "driver_cpu": cpu(self0, self1), "workers_cpu": cpu(kids0, kids1),
        "traced_peak": peak, "screen_traced_peak": screen_peak, "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "workers_maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "maxrss_start_kb": rss0,
        "pbo": summary["_pbo"]["pbo"], "load": os.getloadavg()[0],
    }))


# A child started by this process would inherit its peak RSS (Linux keeps the high-water mark of the memory
# it replaces at exec; this process has loaded pandas, the fits and perhaps vectorbt): each measured process is
# started by a small launcher instead, whose own peak is what its child inherits.
LAUNCH = "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)"


def run_fresh(n: int, workers: int, data_dir: Path | None, tmp: str, traced: bool) -> dict[str, Any]:
    cmd = [sys.executable, "-c", LAUNCH, sys.executable, __file__, "--child", str(n), "--tmp", tmp,
           "--workers", str(workers)]
    if data_dir is not None:
        cmd += ["--data-dir", str(data_dir)]
    if traced:
        cmd.append("--traced")
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        sys.exit(f"sweep child ({n} variants) failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def warmed(tmp: str, data_dir: Path | None) -> None:
    """The regime fit in the cache, from a child process (this one stays as small as it was)."""
    cmd = [sys.executable, __file__, "--warm-cache", "--tmp", tmp]
    if data_dir is not None:
        cmd += ["--data-dir", str(data_dir)]
    subprocess.run(cmd, check=True, capture_output=True)


def _rates(r: dict[str, Any]) -> str:
    n = r["screened"]
    cpu = r["driver_cpu"] + r["workers_cpu"]
    return (f"{n / r['screen_seconds'] * 60:,.0f} variants/minute screened ({r['screen_seconds']:.1f}s wall, load "
            f"{r['load']:.1f}); CPU {1000 * cpu / n:.2f} ms a variant ({1000 * r['driver_cpu'] / n:.2f} driver + "
            f"{1000 * r['workers_cpu'] / n:.2f} workers) = {n / cpu * 2 * 60:,.0f} a minute on 2 cores' CPU time")


def sweep_speed(n_variants: int, workers: int, data_dir: Path | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        warmed(tmp, data_dir)
        r = run_fresh(n_variants, workers, data_dir, tmp, traced=False)
    print(f"sweep: {r['variants']} variants in a fresh process, {workers} workers (regime fit cached; "
          f"+{r['board_seconds']:.1f}s for the leaderboard with the yearly walk-forward, PBO {r['pbo']:.3f}):")
    print(f"  {_rates(r)} (target >= 20,000 a minute on 2 workers)")


def memory_profile(sizes: list[int], workers: int, data_dir: Path | None) -> None:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        warmed(tmp, data_dir)
        results = [run_fresh(n, workers, data_dir, tmp, traced=True) for n in sizes]
    print(f"memory of a whole sweep (screen + leaderboard + walk-forward), each size in a fresh process, {workers} "
          f"workers; traced = the driver's tracemalloc peak after imports (while screening, and in all), RSS = "
          f"peak resident set:")
    for r in results:
        print(f"  {r['variants']:6d} variants: traced peak screening {r['screen_traced_peak'] / 2**20:6.1f} MiB, in all "
              f"{r['traced_peak'] / 2**20:7.1f} MiB, peak RSS driver "
              f"{r['maxrss_kb'] / 1024:7.1f} MiB (after imports {r['maxrss_start_kb'] / 1024:.1f}), workers "
              f"{r['workers_maxrss_kb'] / 1024:7.1f} MiB; {r['seconds']:.0f}s in all")
        print(f"         {_rates(r)} (driver traced)")
    a, b = results[0], results[-1]
    per = (b["traced_peak"] - a["traced_peak"]) / max(1, b["variants"] - a["variants"])
    print(f"  ratio {b['variants']} / {a['variants']} variants: traced while screening "
          f"{b['screen_traced_peak'] / a['screen_traced_peak']:.2f}x, in all {b['traced_peak'] / a['traced_peak']:.2f}x, "
          f"RSS driver {b['maxrss_kb'] / a['maxrss_kb']:.2f}x, workers "
          f"{b['workers_maxrss_kb'] / a['workers_maxrss_kb']:.2f}x; {per / 1024:.1f} KiB traced per extra variant")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parts", default="engine,sweep,memory", help="comma-separated: engine, sweep, memory")
    ap.add_argument("--variants", type=int, default=10000)
    ap.add_argument("--memory-sizes", default="500,4000")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--warm-cache", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--tmp", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    data_dir = args.data_dir if has_data(args.data_dir) else None
    base = SHIPPED if data_dir is not None else None
    if args.child:
        sweep_child(args.child, args.workers, base, data_dir, args.tmp, args.traced)
        return
    if args.warm_cache:
        warm_regime_cache(args.tmp, base, data_dir)
        return
    if data_dir is None:
        print(f"no data at {args.data_dir}: the embedded synthetic market instead")
    parts = set(args.parts.split(","))
    if "engine" in parts:
        engine_speed(data_dir)
    if "sweep" in parts:
        sweep_speed(args.variants, args.workers, data_dir)
    if "memory" in parts:
        memory_profile([int(s) for s in args.memory_sizes.split(",")], args.workers, data_dir)
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
