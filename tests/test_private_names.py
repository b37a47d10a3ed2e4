"""A leading underscore means "this module's own": no module of the package imports or reaches for another
module's private name (issue 21). What one module needs from another is public, and so part of its contract."""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("backtests", "core", "regimes", "regimeshift", "reports", "strategies", "baselines")


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _crossings(tree: ast.AST) -> list[str]:
    ours: set[str] = set()  # local names bound to our own modules (or to anything imported from them)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("regimeshift"):
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"{node.lineno}: from {node.module} import {alias.name}")
                ours.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            ours.update((a.asname or a.name).split(".")[0] for a in node.names if a.name.startswith("regimeshift"))
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in ours
                and _private(node.attr)):
            found.append(f"{node.lineno}: {node.value.id}.{node.attr}")
    return found


def test_no_module_uses_another_module_s_private_name():
    crossings = {}
    for package in SOURCES:
        for path in sorted((REPO / package).rglob("*.py")):
            hits = _crossings(ast.parse(path.read_text(encoding="utf-8")))
            if hits:
                crossings[path.relative_to(REPO).as_posix()] = hits
    assert crossings == {}


def test_the_scan_sees_a_private_import_and_a_private_attribute():
    code = "from regimeshift.backtests.replay import _hidden\nfrom regimeshift.reports import plots\nplots._style()\n"
    assert _crossings(ast.parse(code)) == ["1: from regimeshift.backtests.replay import _hidden", "3: plots._style"]
