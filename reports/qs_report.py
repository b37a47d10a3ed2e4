"""QuantStats' HTML tearsheet, assembled from QuantStats' own pieces and rendered on every core.

``quantstats.reports.html()`` computes one metrics table, two more tables and 14 figures one after another
(~6 s for 20 years of daily data on one core) after a ~2.5 s import. Here every piece is the very QuantStats
call html() makes, with the same arguments (quantstats 0.0.8x; Series strategy and Series benchmark, rf=0,
compounded, match_dates=False), and the pieces go into QuantStats' own template (``quantstats/report.html``)
the way html() puts them there. Only the scheduling changes:

- the pieces run in a small pool of forked worker processes, longest first, while the caller builds its own
  section; the workers inherit quantstats when the caller already imported it, else import it in parallel;
- figures are drawn on matplotlib's SVG canvas minus the redraw pyplot.savefig() requests after saving
  (``reports._svg_backend``), instead of being rasterised once more by Agg and thrown away.

With one worker (``REGIMESHIFT_REPORT_WORKERS=1``, no ``fork`` on the platform, or inside a daemon process)
the same pieces run in-process, giving the same bytes. If the installed QuantStats does not look like the one
this was written against (template placeholders, helper functions), ``quantstats.reports.html`` itself is
called instead, so a QuantStats upgrade can cost speed but not content.

Both the assembly and the fallback draw the monthly heatmap with the months without data left blank
(``reports.qs_fixes.blank_months_without_data``); everything else QuantStats shows wrong is fixed on the
finished page (``reports.qs_fixes.fix_quantstats_page``).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import html
import logging
import multiprocessing
import os
import re
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from regimeshift.core.constants import TRADING_DAYS
from regimeshift.core.compat import quiet_matplotlib_fonts
from regimeshift.core.workers import die_with_parent
from regimeshift.core.workers import worker_count as shared_worker_count
from regimeshift.reports.qs_fixes import blank_months_without_data

log = logging.getLogger(__name__)

BACKEND = "module://regimeshift.reports._svg_backend"
WORKERS_ENV = "REGIMESHIFT_REPORT_WORKERS"
STRATEGY_NAME = "Strategy"
PERIODS_PER_YEAR = TRADING_DAYS
RF = 0.0

# Template placeholders, in the order quantstats.reports.html (0.0.8x) fills them.
HEADER_KEYS = ("date_range", "title", "v", "params", "matched_dates")
PIECE_KEYS = ("metrics", "eoy_title", "eoy_table", "dd_info", "returns", "log_returns", "vol_returns",
              "eoy_returns", "monthly_dist", "daily_returns", "rolling_beta", "rolling_vol", "rolling_sharpe",
              "rolling_sortino", "dd_periods", "dd_plot", "monthly_heatmap", "returns_dist")
TEMPLATE_KEYS = frozenset(HEADER_KEYS + PIECE_KEYS)
_RE_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}")

# Rough single-core cost (20 years daily), used only to start the longest pieces first.
COST = {"metrics": 14, "monthly_heatmap": 10, "returns_dist": 5, "monthly_dist": 4, "eoy_returns": 3.5,
        "dd_periods": 3, "rolling_vol": 2.5, "rolling_beta": 2.5, "rolling_sharpe": 2, "rolling_sortino": 2,
        "returns": 1.7, "log_returns": 1.7, "vol_returns": 1.7, "dd_plot": 1.5, "daily_returns": 1.2,
        "dd_info": 1, "eoy": 0.5, "template": 0.2}


class UnsupportedQuantStats(RuntimeError):
    """The installed QuantStats is not laid out like the one this module assembles."""


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Mute QuantStats/matplotlib/pandas chatter (warnings, numpy float noise); exceptions still propagate."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.filterwarnings("ignore", category=UserWarning, module=r"(matplotlib|seaborn|quantstats|pandas)")
        yield


@contextlib.contextmanager
def quantstats_style() -> Iterator[None]:
    """matplotlib styled as QuantStats' import styled it, for the block (see ``_qs``)."""
    import matplotlib  # noqa: PLC0415  (only where QuantStats itself draws)

    _qs()
    if not _STYLE:  # imported before this module could see it (another caller): the style is the current one
        _STYLE.update({k: v for k, v in matplotlib.rcParams.items() if k not in _NOT_STYLE})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecated rc keys round-tripped through rcParams
        with matplotlib.rc_context(_STYLE):
            yield


@contextlib.contextmanager
def svg_backend() -> Iterator[None]:
    """pyplot on the SVG canvas without the post-savefig redraw, for the duration of the block only."""
    import matplotlib  # noqa: PLC0415  (only where QuantStats itself draws)

    import matplotlib.pyplot as plt  # noqa: PLC0415

    old = matplotlib.rcParams._get("backend")  # without triggering backend resolution
    plt.switch_backend(BACKEND)
    try:
        yield
    finally:
        plt.switch_backend(old)


# ----------------------------------------------------------------------------------------------- shared work
_DD_MEMO: dict[str, pd.DataFrame] = {}
_DD_MEMO_SIZE = 8  # a page asks for 2 series (strategy, benchmark); a watch re-run keeps the benchmark's


def _series_key(s: pd.Series) -> str:
    import hashlib  # noqa: PLC0415

    h = hashlib.sha256(np.ascontiguousarray(s.to_numpy(dtype=float)).tobytes())
    h.update(np.ascontiguousarray(pd.DatetimeIndex(s.index).asi8).tobytes())
    return h.hexdigest()


@contextlib.contextmanager
def shared_drawdown_details() -> Iterator[None]:
    """QuantStats computes the table of every drawdown (start, valley, end, 99% depth: a quantile per drawdown)
    of the same series three times for one page (the metrics table, the worst-drawdowns table, the drawdown
    periods figure), and it is the most expensive step of the page. For the duration of the block its
    ``stats.drawdown_details`` answers a series it has seen, by content, with a copy of its first answer (a
    pure function of the series: the same table, the same bytes)."""
    quantstats, _ = _qs()
    stats = quantstats.stats
    original = stats.drawdown_details

    def one(dd: pd.Series) -> pd.DataFrame:
        key = _series_key(dd)
        if key not in _DD_MEMO:
            if len(_DD_MEMO) >= _DD_MEMO_SIZE:
                _DD_MEMO.pop(next(iter(_DD_MEMO)))
            _DD_MEMO[key] = original(dd)
        return _DD_MEMO[key].copy()

    def drawdown_details(drawdown):  # type: ignore[no-untyped-def]
        if isinstance(drawdown, pd.DataFrame):  # QuantStats' own DataFrame branch, column by column
            return stats.safe_concat({col: one(drawdown[col]) for col in drawdown.columns}, axis=1)
        if isinstance(drawdown, pd.Series):
            return one(drawdown)
        return original(drawdown)

    stats.drawdown_details = drawdown_details
    try:
        yield
    finally:
        stats.drawdown_details = original


# ----------------------------------------------------------------------------------------------- the pieces
@dataclass(frozen=True)
class QSInputs:
    """Aligned strategy and benchmark returns (same dates, no NaN) and the names to show."""

    returns: pd.Series
    benchmark: pd.Series
    title: str  # user string: escaped on output
    benchmark_name: str  # user string: escaped on output
    key: str = field(default_factory=lambda: uuid.uuid4().hex, compare=False)  # identifies copies in workers
    # the run's risk-free rate per day on the returns' dates: QuantStats' rolling Sharpe and Sortino get excess
    # returns over it (its own rf is a constant deannualised geometrically); None draws them over a zero rate
    risk_free: pd.Series | None = None
    risk_free_label: str | None = None


_STYLE: dict[str, object] = {}  # matplotlib's settings as QuantStats' import left them (its seaborn theme)
_NOT_STYLE = ("backend", "svg.hashsalt")  # the backend is chosen per call; the salt by reproducible_svg


def _qs():
    import matplotlib  # noqa: PLC0415  (only where QuantStats itself draws)

    first = "quantstats" not in __import__("sys").modules
    import quantstats  # noqa: PLC0415  (slow import: only where the pieces are rendered)
    from quantstats import reports  # noqa: PLC0415

    if first and not _STYLE:
        # QuantStats styles matplotlib once, when imported; an rc_context that was open then (the caller's
        # reproducible_svg) takes that style away again on exit, and the next page drawn in this process would
        # be laid out differently. The style is kept here and applied around every in-process drawing.
        _STYLE.update({k: v for k, v in matplotlib.rcParams.items() if k not in _NOT_STYLE})

    # QuantStats asks for Arial by name (fontname="Arial"), which a Linux machine rarely has; matplotlib then
    # falls back to its own DejaVu Sans and logs one "findfont" line per text (73 in a sweep). Every caller of
    # QuantStats passes here, including the sweep's walk-forward page, so the fallback is taken quietly here.
    quiet_matplotlib_fonts()

    return quantstats, reports


def _template_path() -> Path:
    quantstats, _ = _qs()
    return Path(quantstats.__file__).parent / "report.html"


def check_supported() -> None:
    """Raise UnsupportedQuantStats unless the template and helpers are the ones assembled here."""
    quantstats, reports = _qs()
    missing = [name for mod, name in ((reports, "metrics"), (reports, "_html_table"), (reports, "_embed_figure"),
                                      (reports, "_get_trading_periods"), (quantstats.utils, "_prepare_returns"),
                                      (quantstats.utils, "_prepare_benchmark"), (quantstats.utils, "_file_stream"))
               if not hasattr(mod, name)]
    if missing:
        raise UnsupportedQuantStats(f"quantstats {quantstats.__version__} lacks {', '.join(missing)}")
    keys = set(_RE_PLACEHOLDER.findall(_template_path().read_text(encoding="utf-8")))
    if keys != TEMPLATE_KEYS:
        raise UnsupportedQuantStats(f"quantstats {quantstats.__version__} template placeholders differ: "
                                    f"{sorted(keys ^ TEMPLATE_KEYS)}")


_PREPARED: dict[str, tuple[pd.Series, pd.Series, pd.Series]] = {}


def _prepared(inputs: QSInputs) -> tuple[pd.Series, pd.Series, pd.Series]:
    """What html() does to its inputs first: (returns, benchmark, benchmark as given) with their titles.

    Done once per process and inputs (the benchmark alignment alone is ~40 ms); every piece gets its own copies,
    so no piece can see another's side effects whatever the order they run in.
    """
    if inputs.key not in _PREPARED:
        _PREPARED.clear()  # one run at a time
        _PREPARED[inputs.key] = _prepare(inputs)
    return tuple(s.copy() for s in _PREPARED[inputs.key])  # type: ignore[return-value]


def _prepare(inputs: QSInputs) -> tuple[pd.Series, pd.Series, pd.Series]:
    quantstats, _ = _qs()
    utils = quantstats.utils
    returns = utils._prepare_returns(inputs.returns.rename(STRATEGY_NAME))
    original = inputs.benchmark.rename(inputs.benchmark_name)
    benchmark = utils._prepare_benchmark(original.copy(), returns.index, RF)
    benchmark.name = inputs.benchmark_name
    returns.name = STRATEGY_NAME
    return returns, benchmark, original


def _excess(returns: pd.Series, inputs: QSInputs) -> pd.Series:
    """``returns`` less the run's daily risk-free rate (unchanged without one)."""
    if inputs.risk_free is None:
        return returns
    return (returns - inputs.risk_free.reindex(returns.index).fillna(0.0)).rename(returns.name)


def _figure(plot: Callable[..., object], **kwargs: object) -> str:
    quantstats, reports = _qs()
    figfile = quantstats.utils._file_stream()
    plot(savefig={"fname": figfile, "format": "svg"}, show=False, ylabel="", grayscale=False, **kwargs)
    return reports._embed_figure(figfile, "svg")


def _template(inputs: QSInputs) -> str:
    """QuantStats' template with its header filled in (html(): date range, title, version, parameters)."""
    quantstats, _ = _qs()
    check_supported()
    returns, _, _ = _prepared(inputs)
    tpl = _template_path().read_text(encoding="utf-8")
    dates = returns.index.strftime("%e %b, %Y")
    tpl = tpl.replace("{{date_range}}", dates[0] + " - " + dates[-1])
    tpl = tpl.replace("{{title}}", f"{html.escape(inputs.title)} (Compounded)")
    tpl = tpl.replace("{{v}}", quantstats.__version__)
    rf = f"Ratios over: {inputs.risk_free_label}" if inputs.risk_free_label is not None else f"RF: {RF:.1%}"
    params = [f"Benchmark: {inputs.benchmark_name.upper()}", f"Periods/Year: {PERIODS_PER_YEAR}", rf]
    tpl = tpl.replace("{{params}}", html.escape(params[0]) + " &bull; " + " &bull; ".join(params[1:]) + " | ")
    return tpl.replace("{{matched_dates}}", "")


def render_piece(key: str, inputs: QSInputs) -> dict[str, str]:
    """One piece of the page: {placeholder: html}. Same QuantStats call and arguments as reports.html()."""
    quantstats, reports = _qs()
    stats, plots = quantstats.stats, quantstats.plots
    if key == "template":
        return {"": _template(inputs)}
    returns, benchmark, original = _prepared(inputs)
    name = inputs.benchmark_name
    year, half_year = reports._get_trading_periods(PERIODS_PER_YEAR)
    common = {"figsize": (8, 3), "subtitle": False}
    if key == "metrics":
        table = reports.metrics(returns=returns, benchmark=benchmark, rf=RF, display=False, mode="full", sep=True,
                                internal="True", compounded=True, periods_per_year=PERIODS_PER_YEAR,
                                prepare_returns=False, benchmark_title=name, strategy_title=STRATEGY_NAME,
                                match_dates=False)[2:]
        table.index.name = "Metric"
        return {"metrics": reports._html_table(table)}
    if key == "eoy":
        yoy = stats.compare(returns, original, "YE", compounded=True, prepare_returns=False)
        yoy.columns = [name, STRATEGY_NAME, "Multiplier", "Won"]
        yoy.index.name = "Year"
        return {"eoy_title": "<h3>EOY Returns vs Benchmark</h3>", "eoy_table": reports._html_table(yoy)}
    if key == "dd_info":
        dd = stats.to_drawdown_series(returns)
        info = stats.drawdown_details(dd).sort_values(by="max drawdown", ascending=True)[:10]
        info = info[["start", "end", "max drawdown", "days"]]
        info.columns = ["Started", "Recovered", "Drawdown", "Days"]
        return {"dd_info": reports._html_table(info, False)}
    both = {"returns": returns, "benchmark": benchmark}
    figures: dict[str, Callable[[], str]] = {
        "returns": lambda: _figure(plots.returns, **both, figsize=(8, 5), subtitle=False, compound=True,
                                   prepare_returns=False),
        "log_returns": lambda: _figure(plots.log_returns, **both, figsize=(8, 4), subtitle=False, compound=True,
                                       prepare_returns=False),
        "vol_returns": lambda: _figure(plots.returns, **both, match_volatility=True, figsize=(8, 4), subtitle=False,
                                       compound=True, prepare_returns=False),
        "eoy_returns": lambda: _figure(plots.yearly_returns, **both, figsize=(8, 4), subtitle=False,
                                       compounded=True, prepare_returns=False),
        "monthly_dist": lambda: _figure(plots.histogram, **both, figsize=(7, 4), subtitle=False, compounded=True,
                                        prepare_returns=False),
        "daily_returns": lambda: _figure(plots.daily_returns, **both, **common, prepare_returns=False,
                                         active=False),
        "rolling_beta": lambda: _figure(plots.rolling_beta, **both, **common, window1=half_year, window2=year,
                                        prepare_returns=False),
        "rolling_vol": lambda: _figure(plots.rolling_volatility, **both, **common, period=half_year,
                                       periods_per_year=year),
        "rolling_sharpe": lambda: _figure(plots.rolling_sharpe, returns=_excess(returns, inputs), **common,
                                          period=half_year, periods_per_year=year),
        "rolling_sortino": lambda: _figure(plots.rolling_sortino, returns=_excess(returns, inputs), **common,
                                           period=half_year, periods_per_year=year),
        "dd_periods": lambda: _figure(plots.drawdowns_periods, returns=returns, figsize=(8, 4), subtitle=False,
                                      title=returns.name, compounded=True, prepare_returns=False),
        "dd_plot": lambda: _figure(plots.drawdown, returns=returns, **common),
        "monthly_heatmap": lambda: _figure(plots.monthly_heatmap, **both, figsize=(8, 4), cbar=False,
                                           returns_label=returns.name, compounded=True, active=False),
        "returns_dist": lambda: _figure(plots.distribution, returns=returns, figsize=(8, 4), subtitle=False,
                                        title=returns.name, compounded=True, prepare_returns=False),
    }
    if key not in figures:
        raise KeyError(f"unknown QuantStats piece {key!r}")
    if key == "monthly_heatmap":  # months without data drawn blank, not 0.00 (reports.qs_fixes)
        with blank_months_without_data():
            return {key: figures[key]()}
    return {key: figures[key]()}


# The template first (cheap, and it checks the QuantStats layout: an unknown one fails fast), then longest first.
PIECES = ["template", *sorted(["metrics", "eoy", "dd_info", *(k for k in PIECE_KEYS if k not in
                                                             ("metrics", "eoy_title", "eoy_table", "dd_info"))],
                              key=lambda k: -COST[k])]


def assemble(template: str, parts: dict[str, str]) -> str:
    """Fill the template like html() does: in its order, then drop unfilled placeholders and 'white-space:pre;'."""
    tpl = template
    for key in PIECE_KEYS:
        tpl = tpl.replace("{{" + key + "}}", parts[key])
        if key == "metrics":  # html() turns the metrics table's separator rows into rules right after it
            tpl = tpl.replace("<tr><td></td><td></td><td></td></tr>", '<tr><td colspan="3"><hr></td></tr>')
            tpl = tpl.replace("<tr><td></td><td></td></tr>", '<tr><td colspan="2"><hr></td></tr>')
    tpl = _RE_PLACEHOLDER.sub("", tpl)
    return tpl.replace("white-space:pre;", "")


# ----------------------------------------------------------------------------------------------- running
def _reproducibility() -> dict[str, str | None]:
    import matplotlib  # noqa: PLC0415  (only where QuantStats itself draws)

    return {"SOURCE_DATE_EPOCH": os.environ.get("SOURCE_DATE_EPOCH"),
            "svg.hashsalt": matplotlib.rcParams["svg.hashsalt"]}


def _apply_reproducibility(settings: dict[str, str | None]) -> None:
    import matplotlib  # noqa: PLC0415  (only where QuantStats itself draws)

    epoch = settings.get("SOURCE_DATE_EPOCH")
    if epoch is None:
        os.environ.pop("SOURCE_DATE_EPOCH", None)
    else:
        os.environ["SOURCE_DATE_EPOCH"] = epoch
    matplotlib.rcParams["svg.hashsalt"] = settings.get("svg.hashsalt")


def _init_worker(settings: dict[str, str | None], parent_pid: int | None = None) -> None:
    """A report worker: same determinism settings as the caller, quiet, QuantStats' figures on the SVG canvas;
    it dies with the caller (kill -9 included)."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    if parent_pid is not None:
        die_with_parent(parent_pid)

    _apply_reproducibility(settings)
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    with quiet():
        _qs()
    plt.switch_backend(BACKEND)
    # The heap inherited from the caller is never garbage here: keep the collector off it (and off the
    # thousands of short-lived matplotlib objects a figure makes); _worker_piece collects after each piece.
    gc.freeze()
    gc.disable()


def _worker_piece(key: str, inputs: QSInputs) -> tuple[dict[str, str], float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        with quiet(), shared_drawdown_details():
            out = render_piece(key, inputs)
    finally:
        gc.collect()  # the piece's closed figures (reference cycles); the frozen heap is not scanned
    return out, time.perf_counter() - t0, time.process_time() - c0


def worker_count(workers: int | None = None) -> int:
    """Processes to use: `workers`, else $REGIMESHIFT_REPORT_WORKERS, else the cores the machine's load leaves
    idle (at most 4). Forked workers import QuantStats and draw on cores of their own: on a machine whose cores
    are busy they queue behind each other and only add their start-up, so there the page is drawn in this
    process (the same bytes either way: tests/test_reports.py)."""
    chosen = shared_worker_count(workers, WORKERS_ENV, default_cap=4)
    if workers is None and not os.environ.get(WORKERS_ENV, "").strip() and chosen > 1:
        chosen = min(chosen, idle_cores())
    return max(1, chosen)


def idle_cores() -> int:
    """Usable cores minus the one-minute load average, plus this process's own core, rounded down."""
    from regimeshift.core.workers import usable_cores  # noqa: PLC0415

    try:
        load = os.getloadavg()[0]
    except OSError:  # no load average on this platform: count every core as idle
        return usable_cores()
    return int(usable_cores() - load + 1.0)


class QuantStatsPage:
    """Start rendering QuantStats' tearsheet for `inputs` on construction; ``html()`` waits and assembles.

    Use as a context manager (the worker pool is shut down on exit)::

        with QuantStatsPage(inputs) as qs_page:
            mine = build_my_section()  # runs while the workers render
            page = qs_page.html()
    """

    def __init__(self, inputs: QSInputs, workers: int | None = None, skip: frozenset[str] = frozenset()) -> None:
        self.inputs = inputs
        self.skip = frozenset(skip)  # pieces left empty (the finished page drops them: not drawn at all)
        self.pieces = [k for k in PIECES if k not in self.skip]
        self.workers = worker_count(workers)
        self.timings: dict[str, float] = {}  # wall seconds per piece
        self.cpu_timings: dict[str, float] = {}  # CPU seconds per piece (less sensitive to a busy machine)
        self._pool: ProcessPoolExecutor | None = None
        self._futures: dict[str, Future] = {}
        if self.workers > 1:
            try:
                with warnings.catch_warnings():  # Python >= 3.12 warns about fork() in a threaded process;
                    warnings.filterwarnings("ignore", message=r".*fork\(\)", category=DeprecationWarning)
                    self._pool = ProcessPoolExecutor(max_workers=min(self.workers, len(self.pieces)),
                                                     mp_context=multiprocessing.get_context("fork"),
                                                     initializer=_init_worker,
                                                     initargs=(_reproducibility(), os.getpid()))
                    self._futures = {key: self._pool.submit(_worker_piece, key, inputs) for key in self.pieces}
            except (OSError, BrokenProcessPool) as err:  # e.g. no process slots left: render in-process
                log.warning("QuantStats workers unavailable (%s); rendering on one core", err)
                self.close()

    def __enter__(self) -> QuantStatsPage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _collect(self) -> dict[str, dict[str, str]]:
        done: dict[str, dict[str, str]] = {}
        for key, future in self._futures.items():
            try:
                done[key], self.timings[key], self.cpu_timings[key] = future.result()
            except BrokenProcessPool as err:  # a worker died (e.g. killed): finish the rest here
                log.warning("QuantStats worker failed (%s); finishing on one core", err)
                break
        todo = [k for k in self.pieces if k not in done]
        if todo:
            with quiet():
                _qs()  # imported before the first figure, as in a worker: its import restyles matplotlib
            with quiet(), quantstats_style(), svg_backend(), shared_drawdown_details():
                for key in todo:
                    t0, c0 = time.perf_counter(), time.process_time()
                    done[key] = render_piece(key, self.inputs)
                    self.timings[key] = time.perf_counter() - t0
                    self.cpu_timings[key] = time.process_time() - c0
        return done

    def html(self) -> str:
        try:
            done = self._collect()
        except UnsupportedQuantStats as err:
            log.warning("%s: using quantstats.reports.html as is (slower)", err)
            return plain_html(self.inputs)
        finally:
            self.close()
        parts: dict[str, str] = dict.fromkeys(self.skip, "")
        for piece in done.values():
            parts.update(piece)
        return assemble(parts.pop(""), parts)


def render_page(inputs: QSInputs, workers: int | None = None, skip: frozenset[str] = frozenset()) -> str:
    """QuantStats' full tearsheet page for `inputs` (see the module docstring); the pieces in `skip` empty."""
    with QuantStatsPage(inputs, workers, skip) as page:
        return page.html()


# ----------------------------------------------------------------------------------------------- native page
@functools.lru_cache(maxsize=1)
def _native_template_path() -> Path:
    """QuantStats' page template, found without importing QuantStats (its import alone is ~1.2 s)."""
    import importlib.util  # noqa: PLC0415

    spec = importlib.util.find_spec("quantstats")
    if spec is None or not spec.submodule_search_locations:
        raise UnsupportedQuantStats("quantstats is not installed")
    path = Path(list(spec.submodule_search_locations)[0]) / "report.html"
    if not path.is_file():
        raise UnsupportedQuantStats(f"no QuantStats template at {path}")
    return path


@functools.lru_cache(maxsize=1)
def _quantstats_version() -> str:  # (reading the installed packages' metadata takes ~40 ms: once per process)
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("quantstats")
    except PackageNotFoundError:  # pragma: no cover - the template was found, so the package is there
        return "?"


def native_template(inputs: QSInputs) -> str:
    """QuantStats' template with its header filled in as ``_template`` fills it, without importing QuantStats."""
    tpl = _native_template_path().read_text(encoding="utf-8")
    keys = set(_RE_PLACEHOLDER.findall(tpl))
    if keys != TEMPLATE_KEYS:
        raise UnsupportedQuantStats(f"quantstats {_quantstats_version()} template placeholders differ: "
                                    f"{sorted(keys ^ TEMPLATE_KEYS)}")
    dates = pd.DatetimeIndex(inputs.returns.index)[[0, -1]].strftime("%e %b, %Y")  # (not all 5,000 dates)
    tpl = tpl.replace("{{date_range}}", dates[0] + " - " + dates[-1])
    tpl = tpl.replace("{{title}}", f"{html.escape(inputs.title)} (Compounded)")
    tpl = tpl.replace("{{v}}", _quantstats_version())
    rf = f"Ratios over: {inputs.risk_free_label}" if inputs.risk_free_label is not None else f"RF: {RF:.1%}"
    params = [f"Benchmark: {inputs.benchmark_name.upper()}", f"Periods/Year: {PERIODS_PER_YEAR}", rf]
    tpl = tpl.replace("{{params}}", html.escape(params[0]) + " &bull; " + " &bull; ".join(params[1:]) + " | ")
    # the figures are drawn here, not by QuantStats: the credit line says what QuantStats' part is
    tpl = tpl.replace("Generated by <a", "Tables as defined by <a")
    return tpl.replace("{{matched_dates}}", "")


def native_pieces(inputs: QSInputs, skip: frozenset[str] = frozenset()) -> dict[str, str]:
    """Every piece of QuantStats' page ({placeholder: html}) computed and drawn here: its three tables with its
    definitions (``reports.qs_tables``), its figures from the same series (``reports.qs_figures``)."""
    from regimeshift.reports import qs_figures, qs_tables  # noqa: PLC0415

    returns = inputs.returns.rename(STRATEGY_NAME).astype(float)
    benchmark = inputs.benchmark.rename(inputs.benchmark_name).astype(float)
    name = inputs.benchmark_name
    dd = qs_tables.drawdown_details(qs_tables.drawdown_series(pd.DataFrame({"returns": returns}))["returns"])
    bench_dd = qs_tables.drawdown_details(qs_tables.drawdown_series(pd.DataFrame({"b": benchmark}))["b"])
    metrics = qs_tables.metrics_table(returns, benchmark, STRATEGY_NAME, name, PERIODS_PER_YEAR,
                                      drawdowns={"returns": dd, "benchmark": bench_dd})
    parts = {"metrics": qs_tables.html_table(metrics),
             "eoy_title": "<h3>EOY Returns vs Benchmark</h3>",
             "eoy_table": qs_tables.html_table(qs_tables.eoy_table(returns, benchmark, STRATEGY_NAME, name)),
             "dd_info": qs_tables.html_table(qs_tables.worst_drawdowns_table(dd), False)}
    fi = qs_figures.FigureInputs(returns, benchmark, name, STRATEGY_NAME, risk_free=inputs.risk_free,
                                 risk_free_label=inputs.risk_free_label, periods_per_year=PERIODS_PER_YEAR,
                                 drawdowns=dd)
    for key, draw in qs_figures.FIGURES.items():
        parts[key] = "" if key in skip else draw(fi)
    for key in PIECE_KEYS:
        parts.setdefault(key, "")  # pieces the page does not show (the EOY chart): not drawn at all
    return parts


def native_page(inputs: QSInputs, skip: frozenset[str] = frozenset()) -> str:
    """QuantStats' tearsheet page for `inputs` with every piece computed here (``native_pieces``), in this
    process, without importing QuantStats or drawing with matplotlib: ~0.3 s for 20 years of daily data against
    ~3.5 s (plus a 1.2 s import) through QuantStats. An installed QuantStats whose template differs from the one
    this fills raises UnsupportedQuantStats."""
    return assemble(native_template(inputs), native_pieces(inputs, skip))


def plain_html(inputs: QSInputs, backend: str | None = None) -> str:
    """``quantstats.reports.html`` as is, for the same inputs and arguments (the reference and the fallback).

    `backend`: a pyplot backend to select during the call (default: whatever is current, normally Agg).
    """
    import matplotlib.pyplot as plt  # noqa: PLC0415

    _, reports = _qs()
    before = set(plt.get_fignums())
    with tempfile.TemporaryDirectory(prefix="regimeshift-qs-") as tmp, quiet():
        ctx = svg_backend() if backend == BACKEND else contextlib.nullcontext()
        out = Path(tmp) / "qs.html"
        try:
            with ctx, blank_months_without_data():
                reports.html(
                    inputs.returns.rename(STRATEGY_NAME),
                    benchmark=inputs.benchmark.rename(inputs.benchmark_name),
                    rf=RF,
                    title=html.escape(inputs.title),
                    output=str(out),
                    compounded=True,
                    periods_per_year=PERIODS_PER_YEAR,
                    match_dates=False,  # keep the exact dates of performance_metrics / metrics.json
                    strategy_title=STRATEGY_NAME,
                    benchmark_title=inputs.benchmark_name,
                    figfmt="svg",
                )
        finally:
            for num in set(plt.get_fignums()) - before:
                plt.close(num)
        page = out.read_text(encoding="utf-8")
    # QuantStats writes the benchmark title unescaped in its subtitle line (its tables escape it).
    raw = f"Benchmark: {inputs.benchmark_name.upper()}"
    if html.escape(raw) != raw:
        page = page.replace(raw, html.escape(raw))
    return page
