"""The one exception family users see: each carries a single-line, actionable message."""
from __future__ import annotations


class RegimeshiftError(Exception):
    """Bad input or configuration; the CLI prints ``error: <message>`` and exits ``exit_code`` (2)."""

    exit_code = 2  # core.exit_codes.BAD_INPUT (kept literal: errors is the bottom of the stack)


class DataError(RegimeshiftError):
    """A data file is missing, malformed or too short."""


class ConfigError(RegimeshiftError):
    """A configuration file or value is invalid."""


class EnvironmentFailure(RegimeshiftError):
    """The input is fine but the world is not (disk full, permission, read-only file system, network down, vendor
    error, folder locked, data stale): the CLI prints ``error: <message>`` and exits 3."""

    exit_code = 3  # core.exit_codes.ENVIRONMENT


class FetchError(EnvironmentFailure):
    """A vendor download failed (network, HTTP status, empty or truncated body, unknown symbol)."""
