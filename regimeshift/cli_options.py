"""What the commands that run the pipeline share: the CONFIG argument, the data/date/seed options, and how they
override the config. One definition, so `regimeshift run` and `regimeshift regimes` cannot drift apart."""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click


@dataclass(frozen=True)
class ConfigSource:
    """What the command line said about the config: the file and its overrides, not yet read."""

    config: Path | None
    data_dir: Path | None
    out: Path | None
    start: str | None
    end: str | None
    seed: int | None
    store: Path | None = None
    allow_gaps: bool = False

    def resolve(self) -> Any:
        return resolve_config(self.config, self.data_dir, self.start, self.end, self.seed, self.store,
                              self.allow_gaps)


#: --allow-gaps, shared with `sweep` (which reads its config from the sweep file)
ALLOW_GAPS = click.option(
    "--allow-gaps", is_flag=True,
    help="Fill a price file's missing days forward instead of stopping (data.allow_gaps); every filled stretch "
         "is listed in metrics.json (data_gaps), the tearsheet and the console.")


def config_options(out_default: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """CONFIG, --data-dir, --store, --out, --start, --end, --seed and --allow-gaps, handed to the command as one
    ``ConfigSource`` (its first argument) so no command repeats the parameters."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def with_source(*, config: Path | None, data_dir: Path | None, out: Path | None, start: str | None,
                        end: str | None, seed: int | None, store: Path | None, allow_gaps: bool,
                        **rest: Any) -> Any:
            return fn(ConfigSource(config, data_dir, out, start, end, seed, store, allow_gaps), **rest)

        command: Callable[..., Any] = with_source
        for option in reversed(
            (
                click.argument("config", required=False, type=click.Path(dir_okay=False, path_type=Path)),
                click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
                             help="Folder of CSVs (overrides data.dir)."),
                click.option("--store", type=click.Path(file_okay=False, path_type=Path),
                             help="Read a data store instead (data.source = \"store\", data.dir = STORE)."),
                click.option("--out", type=click.Path(file_okay=False, path_type=Path),
                             help=f"Output folder (default {out_default})."),
                click.option("--start", help="First date of data to use (YYYY-MM-DD)."),
                click.option("--end", help="Last date of data to use (YYYY-MM-DD)."),
                click.option("--seed", type=int, help="Random seed (overrides the config)."),
                ALLOW_GAPS,
            )
        ):
            command = option(command)
        return command

    return decorate


def resolve_config(config: Path | None, data_dir: Path | None, start: str | None, end: str | None,
                   seed: int | None, store: Path | None = None, allow_gaps: bool = False) -> Any:
    """The config file (or the embedded default) with the command line's overrides applied and validated."""
    from regimeshift.backtests.config import load_config, with_overrides

    cfg = with_overrides(load_config(config), start=start, end=end, seed=seed,
                         allow_gaps=True if allow_gaps else None)
    if data_dir is not None:
        cfg = with_overrides(cfg, dir=str(data_dir))
    if store is not None:
        if data_dir is not None:
            from regimeshift.core.errors import ConfigError

            raise ConfigError("--store and --data-dir: give one of them (a store or a folder of CSVs)")
        cfg = with_overrides(cfg, source="store", dir=str(store))
    return cfg
