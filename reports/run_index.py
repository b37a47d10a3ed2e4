"""Read and list run folders (``metrics.json`` only): what ``regimeshift runs`` needs, without pandas, so the
listing starts at once."""
from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from regimeshift.core.errors import RegimeshiftError


class RunFolderError(RegimeshiftError):
    """A folder given as a run is not one (no metrics.json) or one of its files cannot be read."""


# ----------------------------------------------------------------------------------------------- reading
def read_metrics(folder: Path) -> dict[str, Any]:
    folder = Path(folder)
    if not folder.is_dir():
        raise RunFolderError(f"{folder}: not a folder")
    path = folder / "metrics.json"
    if not path.is_file():
        raise RunFolderError(f"{folder}: not a run folder (no metrics.json; make one with `regimeshift run`)")
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RunFolderError(f"{path}: not readable JSON ({one_line(err)})") from None
    if not isinstance(metrics, dict) or not isinstance(metrics.get("strategy"), dict):
        raise RunFolderError(f"{path}: not a run's metrics (expected an object with a 'strategy' object)")
    return metrics


def one_line(err: BaseException) -> str:
    return " ".join(str(err).split())


# ----------------------------------------------------------------------------------------------- listing
@dataclass(frozen=True)
class RunSummary:
    name: str
    modified: datetime
    config_hash: str
    cagr: float | None
    sharpe: float | None
    max_drawdown: float | None
    problem: str = ""  # why the numbers are missing, if they are


def as_number(x: Any) -> float | None:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) else None


def list_runs(root: Path) -> list[RunSummary]:
    """Every run folder directly under `root` (those with a metrics.json), newest first."""
    root = Path(root)
    if not root.is_dir():
        raise RunFolderError(f"{root}: no such folder (runs are written to runs/<name>/ by `regimeshift run`)")
    out = []
    for folder in root.iterdir():
        if folder.name.startswith(".") or not folder.is_dir() or not (folder / "metrics.json").is_file():
            continue  # hidden (a run being written, or a replaced one being removed) or not a run
        modified = datetime.fromtimestamp(folder.stat().st_mtime)
        try:
            m = read_metrics(folder)
        except RunFolderError as err:
            out.append(RunSummary(folder.name, modified, "?", None, None, None, problem=str(err)))
            continue
        s = m["strategy"]
        out.append(RunSummary(folder.name, modified, str(m.get("config_hash", "?")), as_number(s.get("cagr")),
                              as_number(s.get("sharpe")), as_number(s.get("max_drawdown"))))
    return sorted(out, key=lambda r: (-r.modified.timestamp(), r.name))


def format_runs(rows: Sequence[RunSummary], root: Path) -> str:
    if not rows:
        return f"no runs under {root} (make one with `regimeshift run`)"
    width = max(4, *(len(r.name) for r in rows))
    lines = [f"{'name':<{width}}  {'date':<16}  {'config':<12}  {'CAGR':>8}  {'Sharpe':>6}  {'Max DD':>8}"]
    for r in rows:
        date = r.modified.strftime("%Y-%m-%d %H:%M")
        if r.problem:
            lines.append(f"{r.name:<{width}}  {date:<16}  {r.problem}")
            continue
        lines.append(f"{r.name:<{width}}  {date:<16}  {r.config_hash:<12}  {format_cell(r.cagr, 'pct'):>8}  "
                     f"{format_cell(r.sharpe, 'ratio'):>6}  {format_cell(r.max_drawdown, 'pct'):>8}")
    return "\n".join(lines)


def format_cell(x: Any, kind: str) -> str:
    x = as_number(x)
    if x is None:
        return "–" if kind != "text" else ""
    if kind == "pct":
        text = f"{100 * x:.2f}%"
    elif kind == "count":
        text = f"{int(round(x)):,}"
    else:
        text = f"{x:.2f}"
    return text.replace("-0.00", "0.00")
