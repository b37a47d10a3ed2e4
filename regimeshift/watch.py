"""``regimeshift run CONFIG --watch``: run, then run again whenever the config, the strategy module or a data
file changes, in one process (the imports, the regime cache and the data already read are paid once).

Each run rewrites the output folder (atomically, as a plain run does) and prints its headline figures and what
changed since the previous run: the settings edited and the figures they moved. A bad edit prints its one
``error:`` line and the watch goes on (the previous run's folder stays). The tearsheet of a watched run carries a
small script that reloads the open page when a newer run replaces it: it re-reads ``watch_version.js`` beside
the page every second (a script element, which a page opened from disk may load; ``fetch`` of a file may not).
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from regimeshift.core import progress
from regimeshift.core.errors import RegimeshiftError
from regimeshift.core.exit_codes import describe_os_error

VERSION_FILE = "watch_version.js"
DEBOUNCE_MS = 200  # an editor's save is often several writes (truncate, write, rename): one re-run for them all

#: headline figures compared between runs: (metrics.json path, label, format)
HEADLINE = (
    (("strategy", "cagr"), "CAGR", "{:.2%}"),
    (("strategy", "sharpe"), "Sharpe", "{:.2f}"),
    (("strategy", "max_drawdown"), "max drawdown", "{:.2%}"),
    (("strategy", "volatility"), "volatility", "{:.2%}"),
    (("strategy", "turnover"), "turnover", "{:.2f}x/yr"),
    (("strategy", "n_trades"), "trades", "{:.0f}"),
)

RELOAD_SCRIPT = """<script id="regimeshift-watch">(function(){{var v="{version}";
function poll(){{var s=document.createElement("script");s.src="{file}?t="+Date.now();
s.onload=s.onerror=function(){{s.remove();if(window.REGIMESHIFT_RUN&&window.REGIMESHIFT_RUN!==v)location.reload();}};
document.head.appendChild(s);}}setInterval(poll,1000);}})();</script>"""


@dataclass
class WatchState:
    """What the previous good run left: its settings and figures, to say what an edit changed."""

    runs: int = 0
    version: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, float] = field(default_factory=dict)


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: d}


def headline(metrics: dict[str, Any]) -> dict[str, float]:
    out = {}
    for path, label, _ in HEADLINE:
        value: Any = metrics
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, (int, float)):
            out[label] = float(value)
    return out


def _fmt(label: str, value: float) -> str:
    fmt = next(f for _, lab, f in HEADLINE if lab == label)
    return fmt.format(value)


def headline_line(figures: dict[str, float]) -> str:
    return ", ".join(f"{label} {_fmt(label, v)}" for label, v in figures.items())


def changes(before: WatchState, settings: dict[str, Any], figures: dict[str, float]) -> list[str]:
    """The settings an edit changed and the figures they moved (none on the first run)."""
    if not before.runs or not before.settings:
        return []
    edited = [f"{k}: {before.settings.get(k, '(unset)')!r} -> {settings.get(k, '(unset)')!r}"
              for k in sorted(set(before.settings) | set(settings)) if before.settings.get(k) != settings.get(k)]
    moved = [f"{label} {_fmt(label, before.figures[label])} -> {_fmt(label, v)}"
             for label, v in figures.items() if label in before.figures and before.figures[label] != v]
    lines = [f"changed settings: {'; '.join(edited) if edited else 'none (a strategy module or data file changed)'}"]
    lines.append(f"moved: {', '.join(moved)}" if moved else "moved: no headline figure")
    return lines


class MarketMemo:
    """The market a watched run read, kept for the next run while the data settings and every data file
    (name, size, modification time) are unchanged: an edited weight re-runs without reading the CSVs again.
    ``stages`` (``pipeline.StageReuse``) carries the features, the regime fits and the benchmark replays from
    one run to the next while their inputs are unchanged."""

    def __init__(self) -> None:
        from regimeshift.pipeline import StageReuse

        self.key: str | None = None
        self.market: Any = None
        self.stages = StageReuse()

    @staticmethod
    def key_of(cfg: Any) -> str:
        from regimeshift.pipeline import feature_symbols
        from regimeshift.sweep.reuse import folder_stats

        files = [] if cfg.data.source == "synthetic" else [folder_stats(cfg.data.dir), folder_stats(cfg.data.price_dir)]
        return json.dumps([cfg.data.model_dump(mode="json"), cfg.regimes.history_start, feature_symbols(cfg),
                           cfg.seed, files], default=str)

    def load(self, cfg: Any) -> Any:
        from regimeshift.pipeline import STAGE_WORDS, load_stage

        key = self.key_of(cfg)
        if key == self.key:
            progress.say("load: no data setting or file changed: the prices read before")
            return self.market
        self.key = None
        with progress.stage("load", STAGE_WORDS["load"]):
            self.market = load_stage(cfg)
        self.key = key
        return self.market


def with_reload(render: Callable[[Any, Path], object], version: str) -> Callable[[Any, Path], object]:
    """``render`` whose page reloads itself when a newer watched run replaces it (its version file beside it)."""

    def render_watched(result: Any, path: Path) -> object:
        out = render(result, path)
        page = path.read_text(encoding="utf-8")
        script = RELOAD_SCRIPT.format(version=version, file=VERSION_FILE)
        at = page.lower().rfind("</body>")
        page = page + script if at < 0 else page[:at] + script + page[at:]
        path.write_text(page, encoding="utf-8")  # inside the run's temporary folder: swapped in whole
        (path.parent / VERSION_FILE).write_text(f'window.REGIMESHIFT_RUN="{version}";\n', encoding="utf-8")
        return out

    return render_watched


def watched_paths(config: Path | None, cfg: Any) -> tuple[set[Path], set[Path]]:
    """(files, folders) whose change re-runs: the config file, the strategy module, the data files."""
    files: set[Path] = set()
    folders: set[Path] = set()
    if config is not None:
        files.add(Path(config).resolve())
    if cfg is None:
        return files, folders
    if cfg.strategy.path is not None:
        folders.add(Path(cfg.strategy.path).resolve())
    else:
        try:
            from regimeshift.strategies.registry import strategy_file

            own = strategy_file(cfg.strategy.name, None)
            if own and "site-packages" not in own:
                files.add(Path(own).resolve())
        except RegimeshiftError:
            pass
    if cfg.data.source != "synthetic" and cfg.data.dir is not None:
        folders.add(Path(str(cfg.data.dir)).resolve())
        if cfg.data.price_dir is not None:
            folders.add(Path(str(cfg.data.price_dir)).resolve())
    return files, folders


def _roots(files: Iterable[Path], folders: Iterable[Path]) -> list[Path]:
    """Folders to watch: each file's folder (editors save by renaming, which a watch on the file itself loses)."""
    roots = {f.parent for f in files if f.parent.is_dir()} | {d for d in folders if d.is_dir()}
    return sorted(roots)


def _relevant(files: set[Path], folders: set[Path]) -> Callable[[Any, str], bool]:
    def accept(change: Any, path: str) -> bool:
        p = Path(path).resolve()
        if p.name.startswith(".") or p.suffix in (".swp", ".tmp", ".pyc") or p.name.endswith("~"):
            return False
        return p in files or any(p == d or d in p.parents for d in folders)

    return accept


def watch_runs(config: Path | None, resolve: Callable[[], Any], execute: Callable[[Any, str], tuple[Any, dict[str, float]]],
               show: Callable[[Any, dict[str, float], bool], None], echo: Callable[[str], None],
               echo_err: Callable[[str], None], *, max_runs: int | None = None,
               stop: Any = None) -> int:
    """Run, then re-run on every relevant change until interrupted (or ``max_runs`` runs, for tests).

    ``execute(cfg, version)`` runs and writes the outputs; ``show(result, timings, first)`` prints them."""
    try:
        return _watch(config, resolve, execute, show, echo, echo_err, max_runs, stop)
    except KeyboardInterrupt:  # Ctrl-C during a run ends the watch as quietly as Ctrl-C while waiting
        return 0


def _watch(config: Path | None, resolve: Callable[[], Any], execute: Callable[[Any, str], tuple[Any, dict[str, float]]],
           show: Callable[[Any, dict[str, float], bool], None], echo: Callable[[str], None],
           echo_err: Callable[[str], None], max_runs: int | None, stop: Any) -> int:
    import watchfiles

    state = WatchState()
    last_cfg: Any = None
    attempts = 0
    while True:
        attempts += 1
        t0 = time.perf_counter()
        version = f"{time.time():.6f}"
        try:
            from regimeshift.strategies.registry import forget_loaded_files

            forget_loaded_files()  # an edited strategy module is read again
            cfg = resolve()
            last_cfg = cfg
            result, timings = execute(cfg, version)
            settings = _flat(json.loads(json.dumps(cfg.model_dump(mode="json"), default=str)))
            figures = headline(result.metrics)
            show(result, timings, state.runs == 0)
            echo(f"run {state.runs + 1} at {time.strftime('%H:%M:%S')} ({time.perf_counter() - t0:.2f} s): "
                 f"{headline_line(figures)}")
            for line in changes(state, settings, figures):
                echo(f"  {line}")
            state = WatchState(state.runs + 1, version, settings, figures)
        except RegimeshiftError as err:
            echo_err(f"error: {' '.join(str(err).split())}")
        except OSError as err:
            echo_err(f"error: {describe_os_error(err)}")
        if max_runs is not None and attempts >= max_runs:  # good or failed runs alike
            return 0
        files, folders = watched_paths(config, last_cfg)
        roots = _roots(files, folders)
        if not roots:
            echo_err("error: --watch: nothing to watch (no config file, strategy module or data folder)")
            return 2
        progress.say(f"watching {len(files)} file(s) and {len(folders)} folder(s) for changes (Ctrl-C stops)")
        for changed in watchfiles.watch(*roots, watch_filter=_relevant(files, folders), debounce=DEBOUNCE_MS,
                                        stop_event=stop, raise_interrupt=False, yield_on_timeout=False):
            names = sorted({Path(p).name for _, p in changed})
            echo(f"changed: {', '.join(names)}: running again")
            break
        else:
            return 0  # interrupted (Ctrl-C) or stopped

