"""``regimeshift data``: fill a local data store from the vendors, show it, import a CSV folder into it.

Exit codes: 2 bad input (config, folder), 3 the environment (network, vendor error, store locked, stale data with
``--fail-stale``). Every failure ends in one line ``error: ...``. A series whose fetch fails is left as it was and
named on its own ``failed`` line; the other series are still committed, and the command exits 3.
"""
from __future__ import annotations

import datetime
import sys
from pathlib import Path
from typing import Any

import click

from regimeshift.cli.options import DATE, SECONDS
from regimeshift.core.errors import EnvironmentFailure
from regimeshift.store_tasks import DEFAULT_TIMEOUT, run_update, stale_lines, store_of

EXIT_BAD_INPUT, EXIT_ENV = 2, 3


def _fail(err: Exception) -> None:
    click.echo(f"error: {err}", err=True)
    sys.exit(EXIT_ENV if isinstance(err, EnvironmentFailure) else EXIT_BAD_INPUT)


def _today(value: datetime.date | None) -> datetime.date:
    return datetime.date.today() if value is None else value


def check_timeout(ctx: Any, param: Any, value: float) -> float:
    """--timeout: a positive number of seconds (a vendor given no time at all is a typo, not a setting)."""
    if not value > 0 or value == float("inf"):
        raise click.BadParameter(f"{value!r}: expected seconds > 0")
    return value


def timeout_option(func: Any) -> Any:
    return click.option("--timeout", type=float, default=DEFAULT_TIMEOUT, show_default=True,
                        callback=check_timeout,
                        help="Seconds each series' download may take in all; a slower vendor is abandoned "
                             "(and the update, without --keep-going, stores nothing).")(func)


@click.group("data")
def data() -> None:
    """The local data store: `update` from Yahoo/FRED, `show` it, `import` a CSV folder."""


@data.command("update")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--store", type=click.Path(file_okay=False, path_type=Path),
              help="Store folder (default: data.dir when data.source = \"store\").")
@click.option("--fred-url", help="FRED CSV endpoint (default $REGIMESHIFT_FRED_URL or FRED's fredgraph.csv).")
@click.option("--wait", type=SECONDS, default=0.0, show_default=True,
              help="Seconds to wait for another update holding the store's lock (0: exit 3 at once).")
@click.option("--fail-stale", is_flag=True, help="Exit 3 when a series is older than its cadence allows.")
@click.option("--today", type=DATE, help="The date staleness is measured to (default: today).")
@click.option("--keep-going", is_flag=True,
              help="Store the series that fetched when others fail (default: a failure stores nothing).")
@timeout_option
def update_command(config: Path, store: Path | None, fred_url: str | None, wait: float, fail_stale: bool,
                   today: datetime.date | None, keep_going: bool, timeout: float) -> None:
    """Fetch the series CONFIG.toml needs into the store: only the missing tail of each, whole on a restatement."""
    from regimeshift.data.store.update import IncompleteUpdate
    from regimeshift.resolve_config import resolve_config

    day = _today(today)
    incomplete: IncompleteUpdate | None = None
    cfg = resolve_config(config, None, None, None, None)
    folder = store_of(cfg, store)
    try:
        report = run_update(cfg, folder, datetime.datetime.now(datetime.UTC).replace(tzinfo=None),
                            fred_url=fred_url, wait=wait, keep_going=keep_going, timeout=timeout)
    except IncompleteUpdate as err:  # report what was (or, without --keep-going, was not) stored, then fail
        incomplete, report = err, err.report
    _, stale = stale_lines(folder, day, cfg)
    for line in report.lines():
        click.echo(line)
    click.echo(f"store: {folder}")
    if stale:
        click.echo(f"warning: stale series: {', '.join(stale)} (see `regimeshift data show`)", err=True)
    if incomplete is not None:
        _fail(incomplete)  # last, so the summary is the final line
    if stale and fail_stale:
        sys.exit(EXIT_ENV)


@data.command("show")
@click.argument("config", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--store", type=click.Path(file_okay=False, path_type=Path), help="Store folder.")
@click.option("--today", type=DATE, help="The date staleness is measured to (default: today).")
@click.option("--fail-stale", is_flag=True, help="Exit 3 when a series is stale.")
def show_command(config: Path | None, store: Path | None, today: datetime.date | None, fail_stale: bool) -> None:
    """The store's manifest: source, first/last date, rows, fetch time and staleness of each series (only the
    series CONFIG.toml reads, when given)."""
    from regimeshift.data.store.store import StoreSource
    from regimeshift.resolve_config import resolve_config

    day = _today(today)
    cfg = resolve_config(config, None, None, None, None) if config is not None else None
    folder = store_of(cfg, store)
    StoreSource(folder)  # a clear error for a folder that is not a store
    lines, stale = stale_lines(folder, day, cfg)
    click.echo("\n".join(lines))
    if stale:
        click.echo(f"stale: {', '.join(stale)}")
        if fail_stale:
            sys.exit(EXIT_ENV)


@data.command("import")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--store", required=True, type=click.Path(file_okay=False, path_type=Path), help="Store folder.")
def import_command(folder: Path, store: Path) -> None:
    """Copy a folder of CSVs (as the loader reads them) into a store; a run on it gives identical results."""
    from regimeshift.data.store.store import Store, import_csv_folder

    names = import_csv_folder(folder, Store(store), datetime.datetime.now(datetime.UTC).replace(tzinfo=None))
    click.echo(f"imported {len(names)} series from {folder} into {store}")
