"""Our errors are turned into the one ``error:`` line in one place, the CLI group (``OneLineGroup.main``): a command
lets them rise, so the line and the exit status cannot differ from one command to the next (they did: some
handlers printed the message unsquashed, one exited 2 for an environment failure)."""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _handlers_of_our_errors(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef) or fn.name == "main":
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.ExceptHandler) and isinstance(node.type, ast.Name) and node.type.id == "RegimeshiftError":
                found.append(f"{path.name}:{node.lineno} in {fn.name}")
    return found


def test_no_command_handler_re_catches_what_the_group_catches():
    found = []
    for name in ("cli/app.py", "cli/data.py", "cli/regimes.py", "cli/new_strategy.py"):
        found += _handlers_of_our_errors(REPO / "regimeshift" / name)
    assert found == []


def test_the_group_still_catches_them():
    tree = ast.parse((REPO / "regimeshift" / "cli" / "app.py").read_text(encoding="utf-8"))
    group = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == "OneLineGroup")
    caught = {h.type.id for h in ast.walk(group) if isinstance(h, ast.ExceptHandler) and isinstance(h.type, ast.Name)}
    assert "RegimeshiftError" in caught
