"""Write a run's output folder atomically.

Everything is written into a hidden temporary folder beside the target and renamed into place at the end, so a
failed or interrupted run never leaves a half-written folder (and a previous good run stays until replaced).
"""
from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from backtests.config import CASH
from backtests.pipeline import RunResult

OUTPUT_FILES = (
    "tearsheet.html",
    "metrics.json",
    "returns.csv",
    "regimes.csv",
    "weights.csv",
    "trades.csv",
    "config.toml",
)


@contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces ``target``, on failure it is removed."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield tmp
        old = None
        if target.exists():
            old = target.parent / f".{target.name}.old-{os.getpid()}-{time.monotonic_ns()}"
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _clean(obj: Any) -> Any:
    # JSON has no NaN/inf: write null so other tools can parse the file strictly
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if hasattr(obj, "item"):
        return _clean(obj.item())
    return obj


def _csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, float_format="%.10g", date_format="%Y-%m-%d", lineterminator="\n")


def write_outputs(
    result: RunResult,
    out_dir: Path,
    render_report: Callable[[RunResult, Path], object] | None = None,
) -> dict[str, float]:
    """Write every output file into ``out_dir`` atomically; returns timing of the report stage."""
    timings: dict[str, float] = {}
    with atomic_dir(out_dir) as tmp:
        probs = result.regimes.probabilities.loc[result.returns.index]
        regimes = probs.copy()
        regimes.insert(0, "regime", probs.idxmax(axis=1))
        regimes.index.name = "date"
        _csv(regimes, tmp / "regimes.csv")
        weights = result.weights.loc[result.returns.index]
        weights.index.name = "date"
        _csv(weights, tmp / "weights.csv")
        returns = result.returns.copy()
        returns.index.name = "date"
        _csv(returns, tmp / "returns.csv")
        result.replay.trades.to_csv(
            tmp / "trades.csv", index=False, float_format="%.10g", date_format="%Y-%m-%d", lineterminator="\n"
        )
        (tmp / "config.toml").write_text(result.config.to_toml(), encoding="utf-8")
        (tmp / "metrics.json").write_text(json.dumps(_clean(result.metrics), indent=2, sort_keys=False) + "\n")
        if render_report is not None:
            t0 = time.perf_counter()
            render_report(result, tmp / "tearsheet.html")
            timings["report"] = time.perf_counter() - t0
    assert CASH in weights.columns
    return timings
