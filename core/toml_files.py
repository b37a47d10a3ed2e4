"""TOML read one way: every config, sweep file, registry copy and run folder's config.toml goes through here, so
a file that is not UTF-8 or not TOML is always the same one-line ``ConfigError`` naming it (never a traceback)."""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from regimeshift.core.errors import ConfigError


def parse_toml(text: str, where: str) -> dict[str, Any]:
    """The tables of TOML ``text``; ``where`` names it in the error."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{where}: not valid TOML: {err}") from None


def read_toml(path: str | Path, where: str | None = None) -> dict[str, Any]:
    """The tables of the TOML file ``path`` (a leading byte-order mark is allowed, as editors on Windows write
    one); ``where`` names it in the error (default: the file's name)."""
    p = Path(path)
    where = p.name if where is None else where
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: not UTF-8 text") from None
    return parse_toml(text, where)
