"""Write a run's output folder atomically.

Everything is written into a hidden temporary folder beside the target and renamed into place at the end, so a
failed or interrupted run never leaves a half-written folder (and a previous good run stays until replaced).
"""
from __future__ import annotations

import errno
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from regimeshift.core.atomic import atomic_dir, atomic_write_text  # noqa: F401  (re-exported for the commands)
from regimeshift.core.constants import CASH
from regimeshift.core.jsonsafe import json_safe
from regimeshift.backtests.trade_log import round_trips, trade_log
from regimeshift.pipeline import PipelineResult

OUTPUT_FILES = (
    "tearsheet.html",
    "metrics.json",
    "returns.csv",
    "regimes.csv",
    "weights.csv",
    "trades.csv",
    "round_trips.csv",
    "config.toml",
)


def check_out_dir(out_dir: Path) -> None:
    """Fail before the run, not after it, when ``out_dir`` cannot be written: its nearest existing ancestor must
    be a writable folder (raises the OSError the write would raise: ENOTDIR, EROFS, EACCES)."""
    probe = Path(out_dir).absolute()
    if probe.exists() and not probe.is_dir():
        raise OSError(errno.ENOTDIR, "exists and is not a folder", str(out_dir))
    while not probe.exists():
        if os.path.lexists(probe):  # a dangling symlink on the way
            raise OSError(errno.ENOENT, "is a symlink to a missing path", str(probe))
        probe = probe.parent
    if not probe.is_dir():
        raise OSError(errno.ENOTDIR, f"{probe} is a file, so {out_dir} cannot be created", str(out_dir))
    if not os.access(probe, os.W_OK | os.X_OK):
        try:  # access() does not tell a read-only file system from a permission; statvfs does
            read_only = bool(os.statvfs(probe).f_flag & os.ST_RDONLY)
        except OSError:
            read_only = False
        raise OSError(errno.EROFS if read_only else errno.EACCES, os.strerror(errno.EROFS if read_only else errno.EACCES),
                      str(probe))


def _csv(frame: pd.DataFrame, path: Path) -> None:
    index = frame.index
    if isinstance(index, pd.DatetimeIndex) and index.tz is None and not index.hasnans:
        # the dates as date_format="%Y-%m-%d" writes them, formatted by numpy at once: pandas' strftime per
        # row was half the time of writing these files
        frame = frame.set_axis(pd.Index(np.datetime_as_string(index.values, unit="D"), name=index.name,
                                        dtype=object), axis=0)
    frame.to_csv(path, float_format="%.10g", date_format="%Y-%m-%d", lineterminator="\n")


def regimes_table(result: PipelineResult) -> pd.DataFrame:
    """``regimes.csv``: per trading day the most probable regime, then each regime's filtered probability."""
    probs = result.regimes.probabilities.loc[result.returns.index]
    table = probs.copy()
    table.insert(0, "regime", probs.idxmax(axis=1))
    table.index.name = "date"
    return table


def write_outputs(
    result: PipelineResult,
    out_dir: Path,
    render_report: Callable[[PipelineResult, Path], object] | None = None,
) -> dict[str, float]:
    """Write every output file into ``out_dir`` atomically; returns timing of the report stage."""
    timings: dict[str, float] = {}
    with atomic_dir(out_dir) as tmp:
        _csv(regimes_table(result), tmp / "regimes.csv")
        weights = result.weights.loc[result.returns.index]
        weights.index.name = "date"
        _csv(weights, tmp / "weights.csv")
        returns = result.returns.copy()
        returns.index.name = "date"
        _csv(returns, tmp / "returns.csv")
        trade_log(result.replay.trades).to_csv(
            tmp / "trades.csv", index=False, float_format="%.10g", date_format="%Y-%m-%d", lineterminator="\n"
        )
        trips = result.round_trips if result.round_trips is not None else round_trips(result.replay.trades)
        trips.to_csv(
            tmp / "round_trips.csv", index=False, float_format="%.10g", date_format="%Y-%m-%d", lineterminator="\n"
        )
        if result.member_weights is not None:  # rule sleeves only: fixed-sleeve runs keep their file list
            result.member_weights.to_csv(tmp / "member_weights.csv", index=False, float_format="%.10g",
                                         date_format="%Y-%m-%d", lineterminator="\n")
        (tmp / "config.toml").write_text(result.config.to_toml(), encoding="utf-8")
        (tmp / "metrics.json").write_text(json.dumps(json_safe(result.metrics), indent=2, sort_keys=False) + "\n")
        if render_report is not None:
            t0 = time.perf_counter()
            render_report(result, tmp / "tearsheet.html")
            timings["report"] = time.perf_counter() - t0
    assert CASH in weights.columns
    return timings
