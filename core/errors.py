"""The one exception family users see: each carries a single-line, actionable message."""
from __future__ import annotations


class RegimeshiftError(Exception):
    """Bad input or configuration; the CLI prints ``error: <message>`` and exits 2."""


class DataError(RegimeshiftError):
    """A data file is missing, malformed or too short."""


class ConfigError(RegimeshiftError):
    """A configuration file or value is invalid."""


class EnvironmentFailure(RegimeshiftError):
    """The input is fine but the world is not (network down, vendor error, folder locked, data stale): the CLI
    prints ``error: <message>`` and exits 3."""


class FetchError(EnvironmentFailure):
    """A vendor download failed (network, HTTP status, empty or truncated body, unknown symbol)."""
