"""A sweep from Python (``rs.sweep``): the same run as ``regimeshift sweep``, its leaderboard as a DataFrame with
the deflated Sharpe of every variant and the sweep's probability of backtest overfitting, shown briefly in a
notebook."""
from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from regimeshift.sweep.run import SweepOutcome, check_base, run_sweep
from regimeshift.sweep.spec import SweepSpec, load_spec

#: the leaderboard's columns a notebook shows first (the swept settings go after ``variant``)
SHOWN = ("rank", "variant", "sharpe", "cagr", "max_drawdown", "dsr", "timing_sharpe")
ROWS_SHOWN = 10


@dataclass(frozen=True)
class SweepResult:
    """A finished sweep: ``leaderboard`` (every variant, ranked, with its ``dsr``), ``pbo`` (CSCV over monthly
    total returns), the summary lines ``regimeshift sweep`` prints, the walk-forward selection when asked for,
    and the folder everything was written to."""

    out_dir: Path
    leaderboard: pd.DataFrame
    pbo: float
    summary: dict[str, Any]
    swept: tuple[str, ...]
    walk_forward: pd.DataFrame | None = None
    top_dirs: tuple[Path, ...] = field(default_factory=tuple)
    warnings: tuple[str, ...] = ()

    @classmethod
    def from_outcome(cls, spec: SweepSpec, outcome: SweepOutcome, warnings: list[str]) -> SweepResult:
        public = {k: v for k, v in outcome.summary.items() if not k.startswith("_")}
        pbo = float(outcome.summary.get("_pbo", {}).get("pbo", math.nan))
        return cls(outcome.out_dir, outcome.table, pbo, public, tuple(spec.swept_keys), outcome.walk_forward,
                   tuple(outcome.top_dirs), tuple(warnings))

    def _headline(self) -> str:
        s = self.summary
        pbo = f"{self.pbo:.2f}" if math.isfinite(self.pbo) else "n/a"
        return (f"{s['sweep']}: {s['variants']} variants, {s['screened']} screened, {s['impossible']} impossible, "
                f"{s['failed']} failed; PBO {pbo}")

    def _shown(self) -> pd.DataFrame:
        cols = [c for c in ("rank", "variant", *self.swept, *SHOWN[2:]) if c in self.leaderboard.columns]
        return self.leaderboard[cols].head(ROWS_SHOWN)

    def __repr__(self) -> str:
        # a notebook prints this for a bare `result`: a few lines, not the whole table
        lines = [f"<SweepResult {self._headline()}>"]
        for key in ("in-sample winner", "walk-forward selection (out of sample)", "basis"):
            if key in self.summary:
                lines.append(f"  {key}: {self.summary[key]}")
        lines.append("  .leaderboard .pbo .summary .walk_forward .top_dirs  (folder: "
                     f"{self.out_dir})")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        shown = self._shown()
        table = shown.to_html(index=False, float_format=lambda x: f"{x:.3f}", na_rep="", border=0)
        notes = "".join(f"<li>{html.escape(k)}: {html.escape(str(self.summary[k]))}</li>"
                        for k in ("in-sample winner", "probability of backtest overfitting (CSCV)",
                                  "deflated Sharpe (dsr)", "walk-forward selection (out of sample)")
                        if k in self.summary)
        more = len(self.leaderboard) - len(shown)
        return (f"<div><p><b>{html.escape(self._headline())}</b></p><ul>{notes}</ul>{table}"
                + (f"<p>... {more} more rows in <code>.leaderboard</code></p>" if more > 0 else "")
                + f'<p style="font-size:12px;color:#555">{html.escape(str(self.summary.get("basis", "")))}</p></div>')


def sweep(spec: str | Path | SweepSpec, out: str | Path | None = None, *, data_dir: str | Path | None = None,
          workers: int | None = None, top: int | None = 0, walk_forward: str | None = None, report: bool = False,
          progress: bool = False) -> SweepResult:
    """Run SWEEP.toml (or a loaded spec) as ``regimeshift sweep`` does, into ``out`` (default
    ``sweeps/<name>``); a finished sweep in that folder is resumed, not screened again. ``top`` full runs are
    replayed (none by default: a notebook usually wants the table first); ``report`` writes the pages too."""
    if not isinstance(spec, SweepSpec):
        spec = load_spec(spec, data_dir)
    warnings = check_base(spec)
    out_dir = Path(out) if out is not None else Path("sweeps") / spec.name
    outcome = run_sweep(spec, out_dir, workers=workers, top=top, walk_forward=walk_forward, progress=progress,
                        report=report)
    return SweepResult.from_outcome(spec, outcome, warnings)
