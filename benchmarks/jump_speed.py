"""Jump-model walk-forward time against the HMM's, same features and schedule, one run.

    python benchmarks/jump_speed.py [--data-dir ../shared/data] [--penalty 50]

The shipped config (backtests/configs/liquidity_rotation.toml: 4 features, 3 states, monthly refits on an
expanding window, history from 1997, 316 refits) walks forward once with ``regimes.model = "hmm"`` and once with
``"jump"`` (fixed penalty, the config's n_init k-means++ starts at each cold refit, warm starts between), cache
off, one worker process for both. Target (issue 14): the ratio jump / hmm within 2x.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--penalty", type=float, default=50.0)
    args = ap.parse_args()
    os.environ["REGIMESHIFT_WORKERS"] = "1"
    import regimeshift as rs
    from regimeshift.backtests.config import config_from_dict
    from regimeshift.pipeline import feature_stage, load_stage, regime_stage
    from regimeshift.regimes.jump_dp import compiled_dp, dp

    cfg = rs.load_config(REPO / "backtests" / "configs" / "liquidity_rotation.toml")
    cfg = rs.load_config({**cfg.model_dump(), "data": {**cfg.data.model_dump(), "dir": args.data_dir}})
    market = load_stage(cfg)
    features = feature_stage(cfg, market)
    import numpy as np

    with compiled_dp():  # compile the kernel before timing (numba caches it on disk after the first run)
        dp(np.zeros((3, 2)), np.zeros((2, 2)), True)
    times = {}
    for model in ("hmm", "jump"):
        raw = cfg.model_dump()
        raw["regimes"].update(model=model, jump_penalty=args.penalty)
        c = config_from_dict(raw)
        t0 = time.perf_counter()
        res = regime_stage(c, features, cache=False, market=market)
        times[model] = time.perf_counter() - t0
        reg = res.regime
        sw = (reg != reg.shift()).iloc[1:].sum() / (len(reg) / 252)
        print(f"{model:5} {times[model]:7.1f} s  {res.n_refits} refits  {sw:.2f} switches/yr")
    print(f"ratio jump / hmm: {times['jump'] / times['hmm']:.2f} (target <= 2)")


if __name__ == "__main__":
    main()
