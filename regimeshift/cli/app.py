"""The ``regimeshift`` command line.

Every failure prints one line ``error: ...`` to stderr, no traceback, and leaves no output folder behind. Exit
status (``core/exit_codes.py``): 2 bad input (a malformed CSV, an invalid config, a usage error, a path that is
not what it must be), 3 environment (disk full, read-only file system, permission denied; also
``signal --fail-stale``), 1 an internal error (``REGIMESHIFT_DEBUG=1`` shows its traceback).
"""
from __future__ import annotations

import errno
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import click

from regimeshift.cli.options import ALLOW_GAPS, AMOUNT, COUNT, SECONDS, SHARE, WHOLE, ConfigSource, config_options
from regimeshift.core import exit_codes
from regimeshift.core.errors import RegimeshiftError
from regimeshift.cli.data import data as data_command
from regimeshift.cli.data import timeout_option
from regimeshift.cli.new_strategy import new as new_command
from regimeshift.cli.regimes import cache as cache_command
from regimeshift.cli.regimes import regimes as regimes_command

EXIT_BAD_INPUT = exit_codes.BAD_INPUT
EXIT_STALE = exit_codes.ENVIRONMENT  # `signal --fail-stale`: the ticket was written, but an input stopped updating


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _fail(err: RegimeshiftError) -> None:
    if err.__cause__ is not None and os.environ.get("REGIMESHIFT_DEBUG", "").strip() not in ("", "0"):
        # an error in the user's code (a strategy module): its traceback on request, still above one error line
        traceback.print_exception(err.__cause__, file=sys.stderr)
    click.echo(f"error: {_one_line(str(err))}", err=True)
    sys.exit(err.exit_code)


class OneLineGroup(click.Group):
    """Click's group with every failure turned into one ``error:`` line and the exit status of core/exit_codes:
    click's own usage errors (normally a usage block of four lines), our errors raised outside a command's own
    handler, and OS errors (a full disk, a read-only or missing folder) with the path they concern."""

    def main(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs["standalone_mode"] = False
        try:
            rv = super().main(*args, **kwargs)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(exit_codes.INTERNAL)
        except click.ClickException as exc:
            hint = ""
            ctx = getattr(exc, "ctx", None)
            if ctx is not None:
                hint = f" (see '{ctx.command_path} --help')"
            click.echo(f"error: {_one_line(exc.format_message())}{hint}", err=True)
            sys.exit(exc.exit_code)
        except RegimeshiftError as err:  # the one handler of our errors: commands let them rise to here
            _fail(err)
        except OSError as err:
            click.echo(f"error: {exit_codes.describe_os_error(err)}", err=True)
            sys.exit(exit_codes.os_error_code(err))
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as err:  # a bug: still one line, the traceback on request
            if os.environ.get("REGIMESHIFT_DEBUG", "").strip() not in ("", "0"):
                raise
            click.echo(f"error: internal error: {type(err).__name__}: {_one_line(str(err))} "
                       "(REGIMESHIFT_DEBUG=1 shows the traceback)", err=True)
            sys.exit(exit_codes.INTERNAL)
        sys.exit(rv if isinstance(rv, int) else exit_codes.OK)


def _console_warnings(result: Any) -> list[str]:
    from regimeshift.pipeline import data_warnings
    from regimeshift.report_stage import regime_occupancy_warnings

    return [*data_warnings(getattr(result, "market", None)), *regime_occupancy_warnings(result)]


def _comparison_lines(m: dict[str, Any]) -> list[str]:
    """The strategy beside its static twin, equal weight, 60/40 and the benchmark held (reports/comparison.py),
    then the basis of every ratio and the value of timing."""
    from regimeshift.reports.comparison import comparison_rows

    titles, rows = comparison_rows(m)
    width = max(13, *(len(t) + 2 for t in titles))
    lines = [f"{'':18}" + "".join(f"{t:>{width}}" for t in titles)]
    lines += [f"{label:18}" + "".join(f"{c:>{width}}" for c in cells) for label, cells in rows]
    lines.append(f"basis: {m['basis']}" if m.get("basis") else "basis: n/a")
    timing = m.get("timing")
    if isinstance(timing, dict) and timing.get("sentence"):
        lines.append(f"value of timing: {timing['sentence']}")
    return lines


def _seed_text(agreement: dict[str, Any]) -> str:
    from regimeshift.report_stage import seed_agreement_text  # the page's words, one source

    return seed_agreement_text(agreement)


def _summary(result: Any, timings: dict[str, float], out: Path, report: bool = True) -> str:
    m = result.metrics
    s = m["strategy"]
    lines = [
        f"{m['name']}: {m['start']} .. {m['end']} ({m['n_days']} days), config {m['config_hash']}",
        "",
        *_comparison_lines(m),
        "",
        "regime share of days: "
        + ", ".join(f"{k} {100 * v:.1f}%" for k, v in m["regime_shares"].items())
        + f"; {m['regime_switches_per_year']:.1f} regime switches per year",
        _naming_line(m.get("regime_naming") or {}),
        *([f"seed agreement: {_seed_text(m['seed_agreement'])}"] if "seed_agreement" in m else []),
        f"refits: {m['n_refits']} ({m['n_nonconverged']} not converged); "
        f"trades: {s['n_trades']}, rejected orders: {s['n_rejected_orders']}, turnover {s['turnover']:.2f}x/yr, "
        f"filled at {str(s.get('fill_price', 'n/a')).replace('_', ' ')}",
        "wall time: " + ", ".join(f"{k} {v:.2f}s" for k, v in timings.items()),
    ]
    lines[-2:-2] = [f"warning: {w}" for w in _console_warnings(result)]
    lines.append(f"tearsheet: {out / 'tearsheet.html'}" if report else f"outputs: {out} (--no-report: no HTML report)")
    return "\n".join(lines)


def _naming_line(naming: dict[str, Any]) -> str:
    text = f"regime names by {naming.get('order_by', 'n/a')}"
    if naming.get("ambiguous"):
        text += ": AMBIGUOUS order of " + ", ".join(naming["ambiguous"]) + " (scores within noise; see diagnostics)"
    return text


@click.group(cls=OneLineGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """regimeshift: test liquidity-regime rotation ideas honestly."""


def _progress_on(quiet: bool, forced: bool) -> bool:
    """Stage lines and progress bars on stderr, so nothing is silent for long: on a terminal by default,
    anywhere with --progress, never with --quiet. A script or scheduler reading stderr gets only the one error
    line of a failure (the contract every command keeps) unless it asks for progress."""
    return not quiet and (forced or sys.stderr.isatty())


def _execute(cfg: Any, out_dir: Path, report: bool, watch_version: str | None = None,
             market: Any = None, reuse: Any = None, seeds: int | None = None) -> tuple[Any, dict[str, float]]:
    """The pipeline (on ``market`` when given, taking from ``reuse`` what an earlier run of the watch computed
    from the same inputs), with ``seeds``: the same run with that many model seeds compared (metrics.json's
    ``seed_agreement``, a line of the tearsheet), then the run folder (and the tearsheet) written atomically; the
    stage timings."""
    from regimeshift.core import progress
    from regimeshift.outputs import check_out_dir, write_outputs
    from regimeshift.pipeline import run_pipeline

    check_out_dir(out_dir)  # a folder that cannot be written fails now, not after the fits
    t0 = time.perf_counter()
    seed_run = None
    if seeds is not None:
        from regimeshift.seed_agreement import seed_list

        seed_run = seed_list(cfg, seeds)  # fewer than two fails before any fit
    result = run_pipeline(cfg, market=market, reuse=reuse)
    timings = dict(result.timings)
    if seed_run is not None:
        from regimeshift.seed_agreement import seed_agreement

        with progress.stage("seeds", f"{len(seed_run) - 1} more whole runs, seeds {seed_run[1]}..{seed_run[-1]}",
                            timings):
            agreement = seed_agreement(cfg, seed_run, result.market, done=result)
        result.metrics["seed_agreement"] = agreement.as_dict()
    render = None
    if report:
        from regimeshift.report_stage import render_run

        render = render_run
        if watch_version is not None:
            from regimeshift.watch import with_reload

            render = with_reload(render_run, watch_version)
    words = "writing the run folder" + (" and the tearsheet" if report else "")
    with progress.stage("outputs", words):
        timings.update(write_outputs(result, out_dir, render))
    timings["total"] = time.perf_counter() - t0
    return result, timings


@main.command()
@config_options("runs/<name>/")
@click.option("--no-report", is_flag=True, help="Skip the HTML tearsheet.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines on stderr (errors still print).")
@click.option("--progress", "show_progress", is_flag=True,
              help="Progress lines on stderr even when it is not a terminal (a log file, a scheduler).")
@click.option("--watch", is_flag=True,
              help="Stay running: run again on every change to the config, the strategy module or a data file "
                   "(the open tearsheet reloads itself).")
@click.option("--max-runs", type=COUNT, hidden=True, envvar="REGIMESHIFT_WATCH_MAX_RUNS",
              help="With --watch: stop after this many runs (tests).")
@click.option("--seeds", type=COUNT, default=None, metavar="N",
              help="Also run the walk-forward and backtest with the next N-1 model seeds: metrics.json and the "
                   "tearsheet state how often the seeds name the same regime and how far their Sharpe ratios lie "
                   "apart (regimeshift regimes CONFIG --seeds N lists the days they disagree).")
def run(source: ConfigSource, no_report: bool, quiet: bool, show_progress: bool, watch: bool,
        max_runs: int | None, seeds: int | None) -> None:
    """Run a backtest: the embedded default market, or CONFIG.toml."""
    from regimeshift.core import progress

    if watch and seeds is not None:
        from regimeshift.core.errors import ConfigError

        raise ConfigError("--seeds: runs the config N times, so it does not combine with --watch")
    with progress.reporting(_progress_on(quiet, show_progress)):
        if watch:
            from regimeshift.watch import MarketMemo, watch_runs

            markets = MarketMemo()

            def execute(cfg: Any, version: str) -> tuple[Any, dict[str, float]]:
                out_dir = source.out or Path("runs") / cfg.name
                from regimeshift.outputs import check_out_dir

                check_out_dir(out_dir)
                return _execute(cfg, out_dir, not no_report and cfg.report.enabled, version, markets.load(cfg),
                                markets.stages)

            def show(result: Any, timings: dict[str, float], first: bool) -> None:
                if first:
                    out = source.out or Path("runs") / result.config.name
                    click.echo(_summary(result, timings, out, not no_report and result.config.report.enabled))

            sys.exit(watch_runs(source.config, source.resolve, execute, show, click.echo,
                                lambda line: click.echo(line, err=True), max_runs=max_runs))
        cfg = source.resolve()  # a bad config fails here, before the stages' heavy imports
        out_dir = source.out or Path("runs") / cfg.name
        report = not no_report and cfg.report.enabled
        result, timings = _execute(cfg, out_dir, report, seeds=seeds)
    click.echo(_summary(result, timings, out_dir, report))


@main.command()
@click.argument("run_dirs", nargs=-1, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=Path("compare.html"), show_default=True,
              help="HTML file to write.")
def compare(run_dirs: tuple[Path, ...], out: Path) -> None:
    """Compare finished runs (RUN_DIR RUN_DIR ...) side by side in one offline HTML page."""
    from regimeshift.reports.compare import write_compare

    path = write_compare(run_dirs, out)
    click.echo(f"compared {len(run_dirs)} runs: {path}")


@main.command()
@click.option("--root", type=click.Path(path_type=Path), default=Path("runs"), show_default=True,
              help="Folder holding one sub-folder per run.")
def runs(root: Path) -> None:
    """List finished runs: name, date, config hash, CAGR, Sharpe, max drawdown (newest first)."""
    from regimeshift.reports.run_index import format_runs, list_runs

    rows = list_runs(root)
    click.echo(format_runs(rows, root))

@main.command()
@config_options(out_default="runs/<config name>-live/")
@click.option("--log/--no-log", default=True, show_default=True,
              help="Add today's decision to signals.csv in the output folder and check the logged days.")
@click.option("--fail-stale", is_flag=True,
              help=f"Exit {EXIT_STALE} (ticket still written) when the decision is older than the newest price.")
@click.option("--holdings", type=click.Path(dir_okay=False, path_type=Path),
              help="The account's holdings (CSV symbol,quantity with a CASH row): write its orders.")
@click.option("--min-trade", type=AMOUNT, default=0.0, show_default=True,
              help="Smallest order worth placing (account currency).")
@click.option("--band", type=SHARE, help="No order while every weight is this close to target, as the replay's drift "
              "band (default execution.drift_band, else 0).")
@click.option("--fractional", is_flag=True, help="Fractional shares (default whole shares).")
@click.option("--wait", type=SECONDS, default=float("inf"), show_default="until it is free",
              help="Seconds to wait, with one message, for another signal holding the live folder's lock "
                   "(0: exit 3 at once).")
def signal(source: ConfigSource, log: bool, fail_stale: bool, holdings: Path | None, min_trade: float,
           band: float | None, fractional: bool, wait: float) -> None:
    """What to trade on the next bar: the decision of the last close, for a scheduled job.

    Runs the backtest's pipeline unchanged (regime refits on their walk-forward schedule, cached), then writes
    signal.json (regime, targets, orders), appends the day to signals.csv and records the model and data that
    produced it in registry/. With --holdings, orders.csv/orders.json hold the orders for that account. Run it
    after new data lands, e.g. from cron: 30 22 * * 1-5 cd /srv/regimeshift && .venv/bin/regimeshift signal CONFIG.toml
    """
    cfg = source.resolve()  # a bad config fails here, before the stages' heavy imports
    from regimeshift.live.signal import run_signal
    from regimeshift.live.orders import format_plan
    from regimeshift.outputs import check_out_dir

    out_dir = source.out or Path("runs") / f"{cfg.name}-live"
    check_out_dir(out_dir)
    for name in ("signals.csv", "signal.json"):
        if os.path.lexists(out_dir / name) and not (out_dir / name).is_file():
            raise OSError(errno.EISDIR, "exists and is not a file", str(out_dir / name))
    outcome = run_signal(cfg, out_dir, log=log, holdings=holdings, min_trade=min_trade, band=band,
                         fractional=fractional, wait=wait)
    from regimeshift.live.ticket import format_ticket, ticket_summary

    ticket = outcome.ticket
    click.echo(f"{cfg.name}, config {outcome.result.metrics['config_hash']}")
    from regimeshift.pipeline import data_warnings

    for line in data_warnings(outcome.result.market):
        click.echo(f"warning: {line}")
    click.echo(format_ticket(ticket))
    if outcome.log is not None:
        click.echo(ticket_summary(outcome.log))
    if outcome.entry is not None:
        click.echo(f"model: fit {outcome.entry['fit_id']} (registry/), data {outcome.entry['data_hash'][:12]}")
    if outcome.plan is not None:
        click.echo(format_plan(outcome.plan))
        click.echo(f"orders: {out_dir / 'orders.csv'}")
    click.echo(f"ticket: {out_dir / 'signal.json'}")
    if fail_stale and ticket.stale:
        sys.exit(EXIT_STALE)


@main.command()
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--cron", required=True, help='When to run, a crontab expression, e.g. "30 22 * * 1-5".')
@click.option("--timezone", default="UTC", show_default=True, help="Time zone of the cron expression.")
@click.option("--store", type=click.Path(file_okay=False, path_type=Path),
              help="Data store (default data.dir when data.source = \"store\").")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Live folder (default runs/<config name>-live/).")
@click.option("--holdings", type=click.Path(dir_okay=False, path_type=Path), help="Account holdings for orders.")
@click.option("--min-trade", type=AMOUNT, default=0.0, show_default=True, help="Smallest order worth placing.")
@click.option("--band", type=SHARE, help="Drift band for account orders (default execution.drift_band).")
@click.option("--fred-url", help="FRED CSV endpoint (default $REGIMESHIFT_FRED_URL or FRED's).")
@click.option("--fail-stale", is_flag=True, help="Record a run whose data is stale as failed (exit 3).")
@click.option("--run-now", is_flag=True, help="Run once at start, then on the schedule.")
@click.option("--keep-going", is_flag=True,
              help="Store the series that fetched when others fail (default: the evening stores nothing).")
@timeout_option
def schedule(config: Path, cron: str, timezone: str, store: Path | None, out: Path | None, holdings: Path | None,
             min_trade: float, band: float | None, fred_url: str | None, fail_stale: bool, run_now: bool,
             keep_going: bool, timeout: float) -> None:
    """Run `data update` then `signal` on a cron schedule, in this process, until interrupted.

    Every run is logged (schedule.log in the live folder); a failed run is logged with its exit status and the
    schedule goes on. The plain-cron equivalent: 30 22 * * 1-5 cd /srv/rs && .venv/bin/regimeshift data update
    CONFIG.toml && .venv/bin/regimeshift signal CONFIG.toml
    """
    from regimeshift.live.schedule import LiveJob, serve, trigger_for

    trigger_for(cron, timezone)
    from regimeshift.resolve_config import resolve_config

    from regimeshift.store_tasks import store_of

    store_of(resolve_config(config, None, None, None, None, store), None)  # fail now, not at 22:30
    job = LiveJob(config, store=store, out=out, holdings=holdings, min_trade=min_trade, band=band,
                  fred_url=fred_url, fail_stale=fail_stale, keep_going=keep_going, timeout=timeout)

    def run() -> None:
        record = job()
        click.echo(f"{record['at']} {record.get('status')} (exit {record.get('exit')})"
                   + (f": {record['error']}" if record.get("error") else f", as of {record.get('as_of')}"))

    if run_now:
        run()
    serve(run, cron, timezone=timezone, announce=click.echo)


@main.command("registry")
@click.argument("live_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--reproduce", "as_of", help="Re-run the decision of this day (YYYY-MM-DD) from the store and compare.")
@click.option("--store", type=click.Path(file_okay=False, path_type=Path),
              help="Store to reproduce from (default: the one the decision read).")
@click.option("--prune", is_flag=True,
              help="Remove the fits beyond the --keep newest that no line of signals.csv names (and their decisions).")
@click.option("--keep", type=int, help="With --prune: how many of the most recently recorded fits to keep.")
@click.option("--wait", type=SECONDS, default=0.0, show_default=True,
              help="With --prune: seconds to wait for a signal holding the live folder's lock (0: exit 3 at once).")
@click.option("--quiet", "-q", is_flag=True, help="With --reproduce: no progress lines on stderr (errors still print).")
@click.option("--progress", "show_progress", is_flag=True,
              help="With --reproduce: the refits' bar and stage lines on stderr even when it is not a terminal.")
def registry_command(live_dir: Path, as_of: str | None, store: Path | None, prune: bool, keep: int | None,
                     wait: float, quiet: bool, show_progress: bool) -> None:
    """The decisions a live folder recorded (day, regime, fit, data) or, with --reproduce, one re-run bit for bit
    (exit 1 when anything differs), or with --prune --keep N, the registry trimmed to the N newest fits plus every
    fit signals.csv names (so each logged decision stays traceable and reproducible)."""
    from regimeshift.live.registry import decisions, load_fit

    if keep is not None and not prune:
        raise RegimeshiftError("--keep: only with --prune")
    if prune:
        from regimeshift.live.registry_prune import prune as prune_registry

        if as_of is not None:
            raise RegimeshiftError("--prune and --reproduce: give one of them")
        if keep is None:
            raise RegimeshiftError("--prune: --keep N is required (how many of the newest fits to keep)")
        click.echo(prune_registry(live_dir, keep, wait=wait).line())
        return
    entries = decisions(live_dir)
    if not entries:
        raise RegimeshiftError(f"{live_dir}: no registry/decisions here (run `regimeshift signal` first)")
    if as_of is None:
        click.echo(f"{'as of':<12}{'regime':<14}{'fit':<18}{'data':<14}{'loglik':>12}  converged  recorded at")
        for e in entries:
            _, fit = load_fit(live_dir, e["fit_id"])
            click.echo(f"{e['as_of']:<12}{e['regime']:<14}{e['fit_id']:<18}{e['data_hash'][:12]:<14}"
                       f"{fit['loglik']:>12.2f}  {str(fit['converged']):<9}  {e['recorded_at']}")
        return
    from regimeshift.live.registry import reproduce

    chosen = [e for e in entries if e["as_of"] == as_of]
    if not chosen:
        raise RegimeshiftError(f"--reproduce: no decision as of {as_of} (recorded: "
                               f"{', '.join(dict.fromkeys(e['as_of'] for e in entries))})")
    from regimeshift.core import progress

    with progress.reporting(_progress_on(quiet, show_progress)):  # the refits' bar and the stages
        diffs = reproduce(live_dir, chosen[-1], store)
    if diffs:
        click.echo(f"differs: {', '.join(diffs)}")
        sys.exit(1)
    click.echo(f"{as_of}: reproduced bit for bit (fit {chosen[-1]['fit_id']}, data {chosen[-1]['data_hash'][:12]})")


@main.command()
@click.argument("sweep_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--workers", type=COUNT, help="Processes (default $REGIMESHIFT_WORKERS, else up to 2 cores).")
@click.option("--cluster", type=click.Choice(["local"]), help="Start a Dask LocalCluster on 127.0.0.1.")
@click.option("--scheduler", help="Address of a running Dask scheduler, e.g. tcp://HOST:8786.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (default sweeps/<sweep name>/); rerunning into it resumes.")
@click.option("--top", type=WHOLE, help="Replay the best N in backtrader with full run folders (default 3).")
@click.option("--walk-forward", "walk_forward", type=click.Choice(["yearly"]),
              help="Also report the out-of-sample track of picking the best variant at each year end.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), help="Folder of CSVs (overrides data.dir).")
@click.option("--no-report", is_flag=True, help="Top N run folders without tearsheets.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--max-variants", type=click.IntRange(min=1), default=10**7, show_default=True,
              help="Refuse a sweep with more variants than this (its size is known before any work).")
@ALLOW_GAPS
def sweep(sweep_file: Path, workers: int | None, cluster: str | None, scheduler: str | None, out: Path | None,
          top: int | None, walk_forward: str | None, data_dir: Path | None, no_report: bool,
          no_progress: bool, max_variants: int, allow_gaps: bool) -> None:
    """Screen every variant of SWEEP.toml, rank them with overfitting statistics, replay the top N."""
    from regimeshift.sweep.run import run_sweep
    from regimeshift.sweep.spec import load_spec

    if cluster and scheduler:
        raise RegimeshiftError("--cluster and --scheduler: give one or the other")
    from regimeshift.sweep.run import check_base

    spec = load_spec(sweep_file, data_dir, allow_gaps)
    for line in check_base(spec):
        click.echo(f"warning: {line}", err=True)
    out_dir = out or Path("sweeps") / spec.name
    outcome = run_sweep(spec, out_dir, workers=workers, cluster=cluster, scheduler=scheduler, top=top,
                        walk_forward=walk_forward, progress=not no_progress, report=not no_report,
                        max_variants=max_variants, announce=lambda line: click.echo(line, err=True))
    s = outcome.summary
    click.echo(f"{s['sweep']}: {s['variants']} variants, {s['screened']} screened "
               f"({outcome.n_screened} now, the rest resumed), {s['impossible']} impossible, {s['failed']} failed")
    for key in ("basis", "in-sample winner", "probability of backtest overfitting (CSCV)",
                "walk-forward selection (out of sample)", "in-sample winner, same days"):
        if key in s:
            click.echo(f"{key}: {s[key]}")
    bad = outcome.table[outcome.table["status"] == "impossible"]
    for row in bad.head(5).itertuples():
        click.echo(f"impossible variant {row.variant}: {row.reason}")
    if len(bad) > 5:
        click.echo(f"... {len(bad) - 5} more impossible variants in leaderboard.csv")
    click.echo(f"leaderboard: {out_dir / 'leaderboard.html'} ({outcome.seconds:.1f}s)")
    for d in outcome.top_dirs:
        click.echo(f"replayed: {d}")


main.add_command(regimes_command)  # `regimeshift regimes` (regimeshift/cli/regimes.py)
main.add_command(cache_command)  # `regimeshift cache`
main.add_command(data_command)  # `regimeshift data update/show/import` (regimeshift/cli/data.py)
main.add_command(new_command)  # `regimeshift new strategy NAME` (regimeshift/cli/new_strategy.py)


def entry() -> None:
    """The process entry point (the ``regimeshift`` console script and ``python -m regimeshift.cli.app``): the
    command, its exit handlers, then an immediate exit. Why not the interpreter's orderly shutdown: by then every
    output is written (atomically) and closed, and freeing a run's objects and tearing down its modules took
    0.2 s of a 2.5 s warm run (measured) while guarding nothing. Taken only when this process is alone (no other
    non-daemon thread, no child process); otherwise the normal exit. Daemon threads do not count: the normal exit
    does not wait for them either, and tqdm starts one (its monitor) with the first bar, even a disabled one, so
    counting it sent every run that fitted through the slow exit (0.5-0.9 s more on a cold run, measured)."""
    import atexit
    import multiprocessing
    import threading

    try:
        main()
        code: int | str | None = 0
    except SystemExit as exc:
        code = exc.code
    others = [t for t in threading.enumerate() if t is not threading.current_thread() and not t.daemon]
    if others or multiprocessing.active_children():
        sys.exit(code)
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()  # logging's flush, temporary folders' finalizers, process pools' shutdown
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code or 0)


if __name__ == "__main__":
    entry()
