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
from pathlib import Path
from typing import Any

import click

from regimeshift.cli_options import ConfigSource, config_options
from regimeshift.core import exit_codes
from regimeshift.core.errors import RegimeshiftError
from regimeshift.regimes_cli import cache as cache_command
from regimeshift.regimes_cli import regimes as regimes_command

EXIT_BAD_INPUT = exit_codes.BAD_INPUT
EXIT_STALE = exit_codes.ENVIRONMENT  # `signal --fail-stale`: the ticket was written, but an input stopped updating


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _fail(err: RegimeshiftError) -> None:
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
        except RegimeshiftError as err:
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


def _fmt_pct(x: Any) -> str:
    return "n/a" if x is None else f"{100 * x:7.2f}%"


def _occupancy(result: Any) -> list[str]:
    from regimeshift.report_stage import regime_occupancy_warnings

    return list(regime_occupancy_warnings(result))


def _summary(result: Any, timings: dict[str, float], out: Path, report: bool = True) -> str:
    m = result.metrics
    s, b = m["strategy"], m["benchmark"]
    lines = [
        f"{m['name']}: {m['start']} .. {m['end']} ({m['n_days']} days), config {m['config_hash']}",
        "",
        f"{'':14}{'strategy':>10}{'benchmark (' + b['symbol'] + ')':>22}",
        f"{'CAGR':14}{_fmt_pct(s['cagr']):>10}{_fmt_pct(b['cagr']):>22}",
        f"{'Sharpe':14}{s['sharpe']:>10.2f}{b['sharpe']:>22.2f}",
        f"{'Max drawdown':14}{_fmt_pct(s['max_drawdown']):>10}{_fmt_pct(b['max_drawdown']):>22}",
        f"{'Volatility':14}{_fmt_pct(s['volatility']):>10}{_fmt_pct(b['volatility']):>22}",
        "",
        "regime share of days: "
        + ", ".join(f"{k} {100 * v:.1f}%" for k, v in m["regime_shares"].items()),
        f"refits: {m['n_refits']} ({m['n_nonconverged']} not converged); "
        f"trades: {s['n_trades']}, rejected orders: {s['n_rejected_orders']}, turnover {s['turnover']:.2f}x/yr, "
        f"filled at {str(s.get('fill_price', 'n/a')).replace('_', ' ')}",
        "wall time: " + ", ".join(f"{k} {v:.2f}s" for k, v in timings.items()),
    ]
    lines[-2:-2] = [f"warning: {w}" for w in _occupancy(result)]
    lines.append(f"tearsheet: {out / 'tearsheet.html'}" if report else f"outputs: {out} (--no-report: no HTML report)")
    return "\n".join(lines)


@click.group(cls=OneLineGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """regimeshift: test liquidity-regime rotation ideas honestly."""


@main.command()
@config_options("runs/<name>/")
@click.option("--no-report", is_flag=True, help="Skip the HTML tearsheet.")
def run(source: ConfigSource, no_report: bool) -> None:
    """Run a backtest: the embedded default market, or CONFIG.toml."""
    from regimeshift.outputs import check_out_dir, write_outputs
    from regimeshift.pipeline import run_pipeline
    from regimeshift.report_stage import render_run

    try:
        cfg = source.resolve()
        out_dir = source.out or Path("runs") / cfg.name
        check_out_dir(out_dir)  # a folder that cannot be written fails now, not after the fits
        t0 = time.perf_counter()
        result = run_pipeline(cfg)
        timings = dict(result.timings)
        report = not no_report and cfg.report.enabled
        timings.update(write_outputs(result, out_dir, render_run if report else None))
        timings["total"] = time.perf_counter() - t0
    except RegimeshiftError as err:
        _fail(err)
    click.echo(_summary(result, timings, out_dir, report))


@main.command()
@click.argument("run_dirs", nargs=-1, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=Path("compare.html"), show_default=True,
              help="HTML file to write.")
def compare(run_dirs: tuple[Path, ...], out: Path) -> None:
    """Compare finished runs (RUN_DIR RUN_DIR ...) side by side in one offline HTML page."""
    from regimeshift.reports.compare import write_compare

    try:
        path = write_compare(run_dirs, out)
    except RegimeshiftError as err:
        _fail(err)
    click.echo(f"compared {len(run_dirs)} runs: {path}")


@main.command()
@click.option("--root", type=click.Path(path_type=Path), default=Path("runs"), show_default=True,
              help="Folder holding one sub-folder per run.")
def runs(root: Path) -> None:
    """List finished runs: name, date, config hash, CAGR, Sharpe, max drawdown (newest first)."""
    from regimeshift.reports.compare import format_runs, list_runs

    try:
        rows = list_runs(root)
    except RegimeshiftError as err:
        _fail(err)
    click.echo(format_runs(rows, root))

@main.command()
@config_options(out_default="runs/<config name>-live/")
@click.option("--log/--no-log", default=True, show_default=True,
              help="Add today's decision to signals.csv in the output folder and check the logged days.")
@click.option("--fail-stale", is_flag=True,
              help=f"Exit {EXIT_STALE} (ticket still written) when the decision is older than the newest price.")
def signal(source: ConfigSource, log: bool, fail_stale: bool) -> None:
    """What to trade on the next bar: the decision of the last close, for a scheduled job.

    Runs the backtest's pipeline unchanged (regime refits on their walk-forward schedule, cached), then writes
    signal.json (regime, targets, orders) and appends the day to signals.csv. Run it after new data lands,
    e.g. from cron: 30 22 * * 1-5 cd /srv/regimeshift && .venv/bin/regimeshift signal CONFIG.toml
    """
    from regimeshift.core.locks import exclusive
    from regimeshift.outputs import atomic_write_text, check_out_dir
    from regimeshift.pipeline import run_pipeline
    from regimeshift.ticket import (
        build_ticket,
        format_ticket,
        ticket_summary,
        update_log,
    )

    try:
        cfg = source.resolve()
        out_dir = source.out or Path("runs") / f"{cfg.name}-live"
        check_out_dir(out_dir)
        for name in ("signals.csv", "signal.json"):
            if os.path.lexists(out_dir / name) and not (out_dir / name).is_file():
                raise OSError(errno.EISDIR, "exists and is not a file", str(out_dir / name))
        result = run_pipeline(cfg)
        ticket = build_ticket(result)
        out_dir.mkdir(parents=True, exist_ok=True)
        # two signal runs at once would each read the log, add their day and write it back: one day lost
        with exclusive(out_dir / "signals.csv", "updating"):
            update = update_log(out_dir / "signals.csv", result, ticket.as_of) if log else None
            atomic_write_text(out_dir / "signal.json", ticket.to_json())
    except RegimeshiftError as err:
        _fail(err)
    click.echo(f"{cfg.name}, config {result.metrics['config_hash']}")
    click.echo(format_ticket(ticket))
    if update is not None:
        click.echo(ticket_summary(update))
    click.echo(f"ticket: {out_dir / 'signal.json'}")
    if fail_stale and ticket.stale:
        sys.exit(EXIT_STALE)


main.add_command(regimes_command)  # `regimeshift regimes` (regimeshift/regimes_cli.py)
main.add_command(cache_command)  # `regimeshift cache`

if __name__ == "__main__":
    main()
