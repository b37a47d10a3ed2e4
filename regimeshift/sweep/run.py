"""Run a sweep: fit each distinct regime setting once, screen every variant (resumably), rank, replay the top N.

Executors: in-process (1 worker), a fork process pool (``workers`` > 1), or Dask (``cluster="local"`` starts a
LocalCluster on 127.0.0.1; ``scheduler="tcp://host:8786"`` connects to a running cluster). All run the same
functions on the same chunks, so the leaderboard does not depend on the executor.
"""
from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from itertools import chain, islice
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from regimeshift.core import progress as progress_lines
from regimeshift.core.atomic import atomic_write_text
from regimeshift.core.errors import ConfigError
from regimeshift.core.workers import die_with_parent, worker_count
import regimeshift.sweep.leaderboard as lb
from regimeshift.backtests.screen_kernel import warm
from regimeshift.sweep.screen import prefit_regimes, prepare_once, screen_chunk
from regimeshift.backtests.config import RunConfig
from regimeshift.sweep.spec import SweepSpec, Variant
from regimeshift.sweep.store import ResultStore
from regimeshift.sweep.walk_forward import walk_forward_daily  # noqa: F401  (its home before; tests import it)

DB_NAME = "results.sqlite"
_END = object()


@dataclass
class SweepOutcome:
    out_dir: Path
    table: pd.DataFrame
    summary: dict[str, Any]
    n_screened: int  # variants screened by this call (the rest were found in the store)
    seconds: float
    walk_forward: pd.DataFrame | None = None
    top_dirs: list[Path] = field(default_factory=list)


class _Executor:
    """submit(fn, arg) -> future; results(futures) yields results as they finish."""

    def __init__(self, workers: int, cluster: str | None, scheduler: str | None) -> None:
        self.client: Any = None
        self.cluster: Any = None
        self.pool: ProcessPoolExecutor | None = None
        if cluster or scheduler:
            try:
                from dask.distributed import Client, LocalCluster
            except ImportError:  # pragma: no cover
                raise ConfigError("--cluster/--scheduler: dask[distributed] is not installed") from None
            if scheduler:
                try:
                    self.client = Client(scheduler, timeout="20s")
                except (OSError, TimeoutError, ValueError) as err:
                    raise ConfigError(f"--scheduler: cannot connect to {scheduler} ({type(err).__name__})") from None
            else:
                self.cluster = LocalCluster(host="127.0.0.1", n_workers=workers, threads_per_worker=1,
                                            processes=True, dashboard_address=None)
                self.client = Client(self.cluster)
                # the local workers are this process's children: they die with it, kill -9 included
                self.client.run(_die_with_own_parent)
        elif workers > 1:
            import multiprocessing

            # workers die with the sweep (kill -9 included), as the regime-fit and report workers do
            self.pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                            initializer=die_with_parent, initargs=(os.getpid(),))

    def slots(self, workers: int) -> int:
        """Chunks kept in flight: enough to keep every worker busy while the parent writes results, few
        enough that the variants not yet sent stay unbuilt."""
        if self.client is not None:
            try:
                return max(2, 2 * sum(self.client.nthreads().values()))
            except Exception:  # pragma: no cover - a scheduler that cannot say: assume the asked-for size
                return 2 * max(workers, 1)
        return 2 * max(workers, 1)

    def map_unordered(self, fn: Callable[[Any], Any], args: Iterable[Any], in_flight: int = 4) -> Iterator[Any]:
        """fn over args, results as they finish; at most ``in_flight`` submitted and unfinished, so ``args``
        may be a lazy stream of any length."""
        it = iter(args)
        if self.client is not None:
            from dask.distributed import as_completed as dask_completed

            queue = dask_completed([self.client.submit(fn, a, pure=False) for a in islice(it, in_flight)])
            for fut in queue:
                nxt = next(it, _END)
                if nxt is not _END:
                    queue.add(self.client.submit(fn, nxt, pure=False))
                yield fut.result()
        elif self.pool is not None:
            pool = self.pool
            pending = {pool.submit(fn, a) for a in islice(it, in_flight)}
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for _ in finished:
                    nxt = next(it, _END)
                    if nxt is not _END:
                        pending.add(pool.submit(fn, nxt))
                for fut in finished:
                    yield fut.result()
        else:
            for a in it:
                yield fn(a)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)


def _die_with_own_parent() -> None:
    """On a Dask worker: die with the process that started it (a LocalCluster's is the sweep itself)."""
    die_with_parent(os.getppid())


def _blocks(items: Iterable[Variant], size: int) -> Iterator[list[Variant]]:
    it = iter(items)
    while block := list(islice(it, size)):
        yield block


def _todo_chunks(spec: SweepSpec, store: ResultStore, size: int, bar: Any, counter: list[int],
                 max_buffered: int) -> Iterator[list[tuple[str, RunConfig]]]:
    """Stream the variants: list each in the store, record the impossible ones, skip those already done, and
    group the rest into chunks of one regime setting (a worker then reuses its prepared arrays). At most
    ``max_buffered`` variants wait in partial chunks: past that the fullest is sent as it is."""
    buffers: dict[str, list[tuple[str, RunConfig]]] = {}
    waiting = 0
    for block in _blocks(spec.variants, 256):
        keyed = [(v, v.key) for v in block]
        done = store.done_among(k for _, k in keyed)
        store.add_variants((v.index, k, v.params, v.config is not None, v.normalized, v.reason) for v, k in keyed)
        store.add({"key": k, "status": "impossible", "reason": v.reason}
                  for v, k in keyed if v.config is None and k not in done)
        bar.update(sum(1 for v, k in keyed if v.config is None or k in done))
        for v, k in keyed:
            if v.config is None or k in done:
                continue
            counter[0] += 1
            buf = buffers.setdefault(v.regime_key, [])
            buf.append((k, v.config))
            waiting += 1
            if len(buf) >= size or waiting > max_buffered:
                fullest = v.regime_key if len(buf) >= size else max(buffers, key=lambda r: len(buffers[r]))
                out = buffers.pop(fullest)
                waiting -= len(out)
                yield out
    yield from buffers.values()


def _progress(total: int, initial: int, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, disable=not enabled, unit="variant", file=sys.stderr,
                dynamic_ncols=True, smoothing=0.1, desc="screening")


PREFIT_LIMIT = 64  # distinct regime fits done up front in parallel; beyond, each is fitted when first screened
MAX_VARIANTS = 10**7  # the default --max-variants: a bigger sweep is refused (at ~1 ms each, over 3 hours)
ETA_EVERY = 300.0  # seconds between ETA lines after the first


def check_size(spec: SweepSpec, max_variants: int = MAX_VARIANTS) -> int:
    """The number of variants, or one ConfigError when it is above ``max_variants`` (from sizes alone)."""
    n = len(spec.variants)
    if n > max_variants:
        raise ConfigError(
            f"{spec.path}: {n:,} variants ({spec.variants.shape()}); more than --max-variants {max_variants:,}: "
            "narrow the grid or draw fewer random variants, or raise --max-variants"
        )
    return n


def _duration(seconds: float) -> str:
    for unit, size in (("years", 365.25 * 86400), ("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:,.0f} {unit}"
    return f"{max(seconds, 1):.0f} seconds"


class _Eta:
    """Says how far the screening is and how long the rest will take: after the first chunk, then every
    ``ETA_EVERY`` seconds (the progress bar, when shown, updates continuously)."""

    def __init__(self, total: int, announce: Callable[[str], None] | None) -> None:
        self.total, self.announce = total, announce
        self.start = time.monotonic()
        self.done_before = 0  # found in the store (resumed) or impossible: not screened by this call
        self.screened = 0
        self.next_at = 0.0

    def update(self, screened: int) -> None:
        self.screened += screened
        now = time.monotonic()
        if self.announce is None or now < self.next_at:
            return
        self.next_at = now + ETA_EVERY
        rate = self.screened / max(now - self.start, 1e-9)
        left = self.total - self.done_before - self.screened
        self.announce(f"screened {self.done_before + self.screened:,} of {self.total:,} variants "
                      f"({rate:,.1f} variants/s); about {_duration(left / rate) if rate > 0 else '?'} to go")


def screen_all(spec: SweepSpec, store: ResultStore, *, workers: int, cluster: str | None = None,
               scheduler: str | None = None, progress: bool = True, chunk_size: int | None = None,
               announce: Callable[[str], None] | None = None) -> int:
    """Screen every variant not yet in ``store``; returns how many were screened now.

    The variants stream from the spec to the workers and their results to the store: none is built before it
    is needed and none is kept after it is stored, so memory does not grow with the size of the sweep, and the
    first results arrive as soon as one chunk is screened, whatever the size. ``announce`` hears the size at
    the start and an ETA after the first chunk."""
    total = len(spec.variants)
    size = chunk_size or max(1, min(64, math.ceil(total / (4 * max(workers, 1)))))
    if announce is not None:
        done = store.n_done()
        announce(f"{spec.name}: {total:,} variants to screen ({spec.variants.shape()}), "
                 + (f"{done:,} done already (resuming)" if done else "none done yet"))
    store.clear_variants()
    counter = [0]
    bar = _progress(total, 0, progress)
    eta = _Eta(total, announce)

    class _Skips:  # the bar and the ETA both count variants that need no screening
        @staticmethod
        def update(n: int) -> None:
            bar.update(n)
            eta.done_before += n

    try:
        chunks = _todo_chunks(spec, store, size, _Skips, counter, max_buffered=8 * size)
        first = next(chunks, None)
        if first is None:
            return 0
        # before the workers fork, so that they inherit them instead of each loading them again: the compiled
        # screen, and the market and regime fit when every variant shares one (they are loaded once either way)
        warm()
        inherited = not (cluster or scheduler) and spec.variants.n_regime_settings() == 1
        if inherited:
            prepare_once(first[0][1])
        ex = _Executor(workers, cluster, scheduler)
        try:
            # the distinct regime fits in parallel before the screening needs them, when they are few; the
            # walk over them touches the regime keys only, never every variant
            parallel = workers > 1 or cluster or scheduler
            if parallel and not inherited and spec.variants.n_regime_settings() <= PREFIT_LIMIT:
                fits = progress_lines.bar(spec.variants.n_regime_settings(), "regime fits (shared by the variants)",
                                          unit="fit", leave=False)
                for _ in ex.map_unordered(prefit_regimes, spec.variants.regime_settings(), ex.slots(workers)):
                    fits.update(1)
                fits.close()
            eta.start = time.monotonic()
            for rows in ex.map_unordered(screen_chunk, chain([first], chunks), ex.slots(workers)):
                store.add(rows)  # committed: a kill after this line loses nothing of this chunk
                bar.update(len(rows))
                eta.update(len(rows))
        finally:
            ex.close()
    finally:
        bar.close()
    return counter[0]


def build_leaderboard(spec: SweepSpec, store: ResultStore, out_dir: Path, top: int,
                      walk_forward: str | None = None,
                      report: bool = True) -> tuple[pd.DataFrame, dict[str, Any], pd.DataFrame | None]:
    """leaderboard.csv/html (and walk_forward.csv, walk_forward_returns.csv) from the store. Every figure is
    on the run's basis (daily; ratios over the base config's risk-free rate), stated in ``summary["basis"]``;
    the walk-forward track's daily returns and figures are kept in ``summary["_walk_forward"]``."""
    from regimeshift.reports.tearsheet import format_probability
    import regimeshift.sweep.walk_forward as wfm

    swept = spec.swept_keys
    table, spans = lb.build_table(store.board_rows(), spec.metric, swept)
    monthly, _ = lb.monthly_matrix(spans, store.monthly_columns)
    pbo = lb.pbo_of(monthly)
    n_ok = int((table["status"] == "ok").sum())
    rates = table.attrs.get("risk_free", [])
    basis = lb.risk_free_of(rates[0] if rates else spec.base.report.risk_free).describe()
    if len(rates) > 1:  # spec.py refuses sweeps that would do this; a store from elsewhere could still
        basis += f" -- WARNING: the variants were measured over different rates: {', '.join(map(str, rates))}"
    summary: dict[str, Any] = {
        "sweep": spec.name,
        "base config": spec.base.name,
        "ranked by": spec.metric,
        "basis": basis,
        "variants": len(spec.variants),
        "screened": n_ok,
        "impossible": int((table["status"] == "impossible").sum()),
        "failed": int((table["status"] == "failed").sum()),
        "probability of backtest overfitting (CSCV)": (
            f"{format_probability(pbo['pbo'])} over {pbo['n_splits']} splits of {pbo['n_blocks']} blocks of "
            "monthly total returns (CSCV ranks the variants by their Sharpe)"
            if math.isfinite(pbo["pbo"]) else "n/a (" + pbo.get("note", "") + ")"
        ),
        "deflated Sharpe (dsr)": f"P[true Sharpe > expected best of {n_ok} unskilled trials], daily excess returns",
        "value of timing (timing_sharpe)": "each variant's Sharpe minus its static twin's (its own average weights "
                                           "held, same execution); intervals: the top N's tearsheets",
    }
    if n_ok:
        best = table.iloc[0]
        summary["in-sample winner"] = (
            f"variant {best['variant']}: Sharpe {best['sharpe']:.2f}, CAGR {100 * best['cagr']:.2f}%, "
            f"DSR {format_probability(best['dsr'])}, value of timing {best['timing_sharpe']:+.2f} Sharpe")
    wf = None
    pictures: dict[str, list[str]] = {
        "metric-vs-parameter": lb.param_plots(table, swept, spec.metric) if n_ok else [],
        "heatmap": [s for s in [lb.heatmap(table, swept, spec.metric)] if s] if n_ok else [],
        "risk": [lb.risk_scatter(table, top or 5)] if n_ok else [],
    }
    links: list[tuple[str, str]] = []
    row_links: dict[int, str] = {}
    if report and spec.base.report.enabled and top:
        for row in table[table["status"] == "ok"].head(top).itertuples():
            href = f"top/{int(row.rank):02d}-v{int(row.variant)}/tearsheet.html"
            links.append((f"#{int(row.rank)}: variant {int(row.variant)}", href))
            row_links[int(row.variant)] = href
    if walk_forward == "yearly" and monthly.shape[1] >= 1:
        with progress_lines.stage("walk-forward", "yearly selection, its daily track re-screened"):
            wf = lb.walk_forward_selection(monthly)
            track = None
            if len(wf):
                winner = int(table.iloc[0]["variant"])
                track = wfm.daily_track(spec, wf, winner if winner in monthly else None)
        if len(wf):
            assert track is not None
            oos = wfm.track_figures(track.track, track.risk_free)
            summary["walk-forward selection (out of sample)"] = (
                f"{track.track.index[0]:%Y-%m-%d} .. {track.track.index[-1]:%Y-%m-%d}: {wfm.figures_line(oos)}")
            if track.winner is not None:
                ins = wfm.track_figures(track.winner, track.risk_free)
                summary["in-sample winner, same days"] = wfm.figures_line(ins)
            pictures["walk-forward"] = [_track_svg(track.track, track.winner)]
            wf = wfm.yearly_columns(wf, track)
            summary["_walk_forward"] = track
            atomic_write_text(out_dir / "walk_forward.csv", wf.to_csv(index=False, lineterminator="\n"))
            atomic_write_text(out_dir / "walk_forward_returns.csv",
                              track.track.to_frame().to_csv(date_format="%Y-%m-%d", float_format="%.10g",
                                                            lineterminator="\n"))
            if report:
                links.append(("walk-forward selection (out of sample)", "walk_forward_tearsheet.html"))
    table.to_csv(out_dir / ".leaderboard.csv.part", index=False, float_format="%.10g", lineterminator="\n")
    atomic_write_text(out_dir / "leaderboard.csv", (out_dir / ".leaderboard.csv.part").read_text())
    (out_dir / ".leaderboard.csv.part").unlink()
    page = {"name": spec.name, "table": table, "summary": dict(summary), "pictures": pictures, "links": links,
            "row_links": row_links}
    atomic_write_text(out_dir / "leaderboard.html", lb.render_html(**page))
    summary["_page"] = page  # re-rendered once the top N's full runs give their value of timing with intervals
    summary["_pbo"] = pbo
    return table, summary, wf


def _track_svg(track: pd.Series, winner: pd.Series | None) -> str:
    fig, ax = lb.new_figure(7.0, 3.4)
    ax.plot(track.index, (1 + track).cumprod(), color="#1f77b4", label="walk-forward selection (out of sample)")
    if winner is not None:
        ax.plot(winner.index, (1 + winner).cumprod(), color="#7f7f7f", lw=1, label="in-sample winner (hindsight)")
    ax.set_ylabel("growth of 1 (daily)", fontsize=8)
    ax.legend(fontsize=7, frameon=False)
    ax.set_title("walk-forward selection vs in-sample winner", fontsize=9)
    return lb.svg_text(fig)


def replay_top(spec: SweepSpec, table: pd.DataFrame, out_dir: Path, top: int, report: bool = True) -> list[Path]:
    """Replay the top N in backtrader with full run folders (and tearsheets). A folder written before from the
    same inputs (``sweep/reuse.py``: config, data files, code) is kept as it is."""
    from regimeshift.outputs import write_outputs
    from regimeshift.pipeline import run_pipeline
    from regimeshift.report_stage import render_run
    import regimeshift.sweep.reuse as reuse

    rows = list(table[table["status"] == "ok"].head(top).itertuples())
    dirs = []
    bar = progress_lines.bar(len(rows), "top-N replays" + (" and tearsheets" if report else ""), unit="run")
    try:
        for row in rows:
            v = spec.variants[int(row.variant)]
            assert v.config is not None
            cfg = v.config.model_copy(update={"name": f"{spec.name}-{int(row.rank):02d}-v{v.index}"})
            folder = out_dir / "top" / f"{int(row.rank):02d}-v{v.index}"
            render = report and cfg.report.enabled
            name, digest = folder.relative_to(out_dir).as_posix(), reuse.config_digest(cfg, {"report": render})
            needs = ("metrics.json", "tearsheet.html") if render else ("metrics.json",)
            if not reuse.is_fresh(out_dir, name, digest, folder, needs):
                reuse.forget(out_dir, name)
                with progress_lines.muted():
                    result = run_pipeline(cfg)
                    write_outputs(result, folder, render_run if render else None)
                reuse.remember(out_dir, name, digest)
            dirs.append(folder)
            bar.update(1)
    finally:
        bar.close()
    return dirs


def _add_top_timing(page: dict[str, Any], dirs: list[Path], out_dir: Path) -> None:
    """leaderboard.html again, each top-N link saying its run's value of timing with its bootstrap interval
    (metrics.json's ``timing``: the full runs have it; the screen has only the point difference)."""
    import json

    from regimeshift.reports.timing import timing_from_metrics

    sentences: dict[str, str] = {}
    for d in dirs:
        timing = timing_from_metrics(json.loads((d / "metrics.json").read_text()))
        if timing is not None:
            sentences[f"{d.relative_to(out_dir).as_posix()}/tearsheet.html"] = str(timing["sentence"])
    page["links"] = [(f"{text}: {sentences[href]}" if href in sentences else text, href)
                     for text, href in page["links"]]
    atomic_write_text(out_dir / "leaderboard.html", lb.render_html(**page))


def check_base(spec: SweepSpec) -> list[str]:
    """The base config checked once, before any variant, and what its data load did unasked (one sentence each):
    an error in the user's strategy module, or a hole between data files, is one error line, not a sweep whose
    every variant fails; with allow_gaps each filled stretch is said (each top-N folder lists it too)."""
    from regimeshift.strategies.registry import check_strategy

    check_strategy(spec.base.strategy.name, spec.base.strategy.params, spec.base.strategy.path)
    if spec.base.data.source == "synthetic":
        return []
    from regimeshift.pipeline import data_warnings, load_stage

    return list(data_warnings(load_stage(spec.base)))


def run_sweep(spec: SweepSpec, out_dir: Path, *, workers: int | None = None, cluster: str | None = None,
              scheduler: str | None = None, top: int | None = None, walk_forward: str | None = None,
              progress: bool = True, report: bool = True, chunk_size: int | None = None,
              max_variants: int = MAX_VARIANTS, announce: Callable[[str], None] | None = None) -> SweepOutcome:
    t0 = time.perf_counter()
    check_size(spec, max_variants)  # before anything is written
    out_dir.mkdir(parents=True, exist_ok=True)
    n_workers = worker_count(workers, "REGIMESHIFT_WORKERS", 2) if not (cluster or scheduler) else (workers or 2)
    top_n = top if top is not None else (spec.top if spec.top is not None else 3)
    with progress_lines.reporting(progress or progress_lines.enabled()):
        with ResultStore(out_dir / DB_NAME) as store:
            n = screen_all(spec, store, workers=n_workers, cluster=cluster, scheduler=scheduler, progress=progress,
                           chunk_size=chunk_size, announce=announce)
            with progress_lines.stage("leaderboard", "ranking, overfitting statistics, leaderboard.html"):
                table, summary, wf = build_leaderboard(spec, store, out_dir, top_n, walk_forward, report=report)
        if "_walk_forward" in summary and report:
            _walk_forward_page(spec, summary["_walk_forward"], out_dir)
        dirs = replay_top(spec, table, out_dir, top_n, report=report) if top_n else []
    if dirs and summary.get("_page", {}).get("links"):
        _add_top_timing(summary["_page"], dirs, out_dir)
    return SweepOutcome(out_dir, table, summary, n, time.perf_counter() - t0, wf, dirs)


def _walk_forward_page(spec: SweepSpec, track: Any, out_dir: Path) -> None:
    """walk_forward_tearsheet.html, unless the one there was written from the same track (sweep/reuse.py)."""
    import regimeshift.sweep.reuse as reuse
    from regimeshift.sweep.walk_forward import write_tearsheet

    def series(s: pd.Series | None) -> list[Any]:
        return [] if s is None else [s.name, s.index.asi8.tolist(), s.to_numpy(dtype=float).tobytes().hex()]

    path = out_dir / "walk_forward_tearsheet.html"
    digest = reuse.config_digest(spec.base, spec.name, series(track.track), series(track.benchmark),
                                 series(track.winner), track.benchmark_name, track.winner_variant,
                                 track.risk_free.describe())
    if reuse.is_fresh(out_dir, path.name, digest, path):
        return
    reuse.forget(out_dir, path.name)
    with progress_lines.stage("walk-forward tearsheet", "QuantStats page of the out-of-sample track"):
        write_tearsheet(spec, track, path)
    reuse.remember(out_dir, path.name, digest)


def walk_forward_tearsheet(spec: SweepSpec, selection: pd.DataFrame, path: Path) -> Path:
    """QuantStats' tearsheet of the stitched out-of-sample selection track (daily), beside the benchmark,
    headed by the figures the console prints (sweep/walk_forward.py)."""
    from regimeshift.sweep.walk_forward import daily_track, write_tearsheet

    return write_tearsheet(spec, daily_track(spec, selection, None), path)
