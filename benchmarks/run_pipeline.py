"""Wall time of each pipeline stage for the shipped config on ../shared/data (a benchmark, not a test).

    python benchmarks/run_pipeline.py [--data-dir ../shared/data] [--repeat 2]

Prints one line per stage and run, then the best of the repeats. Falls back to the embedded synthetic
default, and says so, when the shared data is absent.
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
sys.path.insert(0, str(REPO))

from regimeshift.backtests.config import load_config, with_overrides  # noqa: E402

from regimeshift.outputs import write_outputs  # noqa: E402
from regimeshift.pipeline import run_pipeline  # noqa: E402
from regimeshift.report_stage import render_run  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    if (Path(args.data_dir) / "SPY.csv").is_file():
        cfg = with_overrides(load_config(REPO / "backtests/configs/liquidity_rotation.toml"), dir=args.data_dir)
        label = f"shipped config on {args.data_dir}"
    else:
        cfg = load_config(None)
        label = f"embedded synthetic default ({args.data_dir} not found)"
    print(f"run_pipeline benchmark: {label}")
    best: dict[str, float] = {}
    for i in range(args.repeat):
        t0 = time.perf_counter()
        result = run_pipeline(cfg)
        with tempfile.TemporaryDirectory() as tmp:
            timings = {**result.timings, **write_outputs(result, Path(tmp) / "run", render_run)}
        timings["total"] = time.perf_counter() - t0
        print(f"run {i + 1}: " + "  ".join(f"{k} {v:6.2f}s" for k, v in timings.items()))
        for k, v in timings.items():
            best[k] = min(best.get(k, float("inf")), v)
    print("best:  " + "  ".join(f"{k} {v:6.2f}s" for k, v in best.items()))


if __name__ == "__main__":
    main()
