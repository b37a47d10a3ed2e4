"""The command line: ``regimeshift`` and its commands (the top of the house; nothing below imports it).

``main`` is loaded on first use so that importing one command's module (or ``--help``) stays cheap.
"""
from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "main":  # the console script `regimeshift = "regimeshift.cli:main"`: the command, then a fast exit
        from regimeshift.cli.app import entry

        return entry
    raise AttributeError(f"module 'regimeshift.cli' has no attribute {name!r}")
