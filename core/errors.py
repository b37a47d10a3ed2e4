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
    """The machine refused (disk full, permission, read-only file system): exit 3."""

    exit_code = 3  # core.exit_codes.ENVIRONMENT
