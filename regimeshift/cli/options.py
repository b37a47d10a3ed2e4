"""What the commands that run the pipeline share: the CONFIG argument, the data/date/seed options, and how they
override the config. One definition, so `regimeshift run` and `regimeshift regimes` cannot drift apart."""
from __future__ import annotations

import datetime
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from regimeshift.resolve_config import resolve_config


class _NonNegative(click.FloatRange):
    """A number >= 0 (inf allowed: no limit); nan is refused (click's FloatRange lets it through)."""

    def __init__(self, what: str) -> None:
        super().__init__(min=0)
        self.name = what

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        rv = super().convert(value, param, ctx)
        if isinstance(rv, float) and math.isnan(rv):
            self.fail(f"{value!r} is not a number", param, ctx)
        return rv


class _Date(click.ParamType):
    """A calendar date written YYYY-MM-DD, handed on as a ``datetime.date``."""

    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime.date):
            return value
        try:
            return datetime.date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a date (expected YYYY-MM-DD)", param, ctx)


# The command-line options' types, declared once: click refuses a value outside them with one line naming the
# option ("Invalid value for '--workers': 0 is not in the range x>=1."), nothing is clamped silently.
SECONDS = _NonNegative("seconds")
COUNT = click.IntRange(min=1)  # processes, variants: at least one
WHOLE = click.IntRange(min=0)  # how many (0: none)
AMOUNT = _NonNegative("amount")
SHARE = click.FloatRange(min=0, max=1, max_open=True)  # a fraction in [0, 1)
DATE = _Date()


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
        def with_source(*, config: Path | None, data_dir: Path | None, out: Path | None,
                        start: datetime.date | None, end: datetime.date | None, seed: int | None,
                        store: Path | None, allow_gaps: bool, **rest: Any) -> Any:
            return fn(ConfigSource(config, data_dir, out, _iso(start), _iso(end), seed, store, allow_gaps), **rest)

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
                click.option("--start", type=DATE, help="First date of data to use (YYYY-MM-DD)."),
                click.option("--end", type=DATE, help="Last date of data to use (YYYY-MM-DD)."),
                click.option("--seed", type=int, help="Random seed (overrides the config)."),
                ALLOW_GAPS,
            )
        ):
            command = option(command)
        return command

    return decorate


def _iso(day: datetime.date | None) -> str | None:
    return None if day is None else day.isoformat()
