"""A run's config as a command asked for it: the file (or the embedded default) with the overrides applied and
validated. The commands and the live evening share it, so both read a config the same way."""
from __future__ import annotations

from pathlib import Path
from typing import Any


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
