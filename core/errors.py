"""The one exception family users see: each carries a single-line, actionable message."""
from __future__ import annotations


class RegimeshiftError(Exception):
    """Bad input or configuration; the CLI prints ``error: <message>`` and exits 2."""


class DataError(RegimeshiftError):
    """A data file is missing, malformed or too short."""


class ConfigError(RegimeshiftError):
    """A configuration file or value is invalid."""
