"""Variants a minute the sweep screen gets through with rule sleeves (inverse_vol by default) against fixed sleeves
of the same members (issue 23 item 2: target >= 70%). A benchmark, not a test.

    python benchmarks/sleeve_screen_speed.py [--variants 200] [--weigh inverse_vol] [--data-dir ../shared/data]

Both sweeps screen the same variants (the regime weights of the three regimes drawn from one seeded grid) in this
process, one after the other, through ``screen_chunk`` (allocation, screening engine, static twin, metrics): the
sweep's own per-variant path. The market and the regime fit are loaded and fitted before the clock starts (a
sweep does that once per setting); the member weights of a rule are computed once per setting too, inside the
timed part. Universe: the ten ETFs of ../shared/data in four sleeves (QQQ VUG IWF, DVY VYM SCHD, SHY VGSH, GLD
IAU), or the embedded synthetic market's assets when that data is absent.
"""
from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from regimeshift.backtests.config import config_from_dict, load_config  # noqa: E402
from regimeshift.sweep.screen import prefit_regimes, screen_chunk  # noqa: E402

TEN = {"growth": ["QQQ", "VUG", "IWF"], "value": ["DVY", "VYM", "SCHD"], "bonds": ["SHY", "VGSH"],
       "gold": ["GLD", "IAU"]}
SYNTHETIC = {"growth": ["GROWTH", "MARKET"], "value": ["VALUE", "MARKET"], "bonds": ["SHORTBOND"],
             "gold": ["GOLD", "SHORTBOND"]}


def variants(base: dict, sleeves: dict, n: int) -> list[tuple[str, object]]:
    grid = itertools.product([0.6, 0.7, 0.8, 0.9], [0.1, 0.2, 0.3, 0.4, 0.5], [0.5, 0.6, 0.7, 0.8, 0.9],
                             ["monthly", "weekly"])
    out = []
    for i, (g, v, b, rebalance) in enumerate(itertools.islice(grid, n)):
        raw = {**base, "sleeves": sleeves,
               "strategy": {**base["strategy"], "weights": {
                   "abundant": {"growth": g, "value": round(1 - g, 10)},
                   "tightening": {"growth": 0.1, "value": v, "bonds": round(0.85 - v, 10), "gold": 0.05},
                   "crunch": {"bonds": b, "gold": 0.1}}},
               "execution": {**base["execution"], "rebalance": rebalance}}
        out.append((f"v{i}", config_from_dict(raw)))
    return out


def per_minute(items: list[tuple[str, object]]) -> tuple[float, int]:
    prefit_regimes(items[0][1])  # the setting's market and fit: once per sweep, outside the clock
    t0 = time.perf_counter()
    rows = screen_chunk(items)
    seconds = time.perf_counter() - t0
    return 60.0 * len(items) / seconds, sum(r["status"] == "ok" for r in rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--variants", type=int, default=200)
    ap.add_argument("--weigh", default="inverse_vol")
    ap.add_argument("--lookback", type=int, default=63)
    args = ap.parse_args()
    if (Path(args.data_dir) / "SCHD.csv").is_file():
        cfg = load_config(REPO / "backtests/configs/liquidity_rotation.toml")
        base = cfg.model_dump(mode="json")
        base["data"] = {**base["data"], "dir": args.data_dir, "start": "2012-01-03"}
        members, label = TEN, f"ten ETFs of {args.data_dir}, 2012 on"
    else:
        base, members, label = load_config(None).model_dump(mode="json"), SYNTHETIC, "embedded synthetic market"
    fixed = {name: {s: 1.0 for s in syms} for name, syms in members.items()}
    ruled = {name: {"members": syms, "weigh": args.weigh, "lookback": args.lookback} for name, syms in members.items()}
    fixed_rate, fixed_ok = per_minute(variants(base, fixed, args.variants))
    rule_rate, rule_ok = per_minute(variants(base, ruled, args.variants))
    print(f"sleeve screen speed: {args.variants} variants each, {label}, one process")
    print(f"  fixed sleeves (members equal, fixed)      {fixed_rate:9.0f} variants/min   ({fixed_ok} ok)")
    print(f"  {args.weigh} sleeves (lookback {args.lookback})".ljust(44)
          + f"{rule_rate:9.0f} variants/min   ({rule_ok} ok)")
    print(f"  ratio {rule_rate / fixed_rate:.0%} (target >= 70%)")


if __name__ == "__main__":
    main()
