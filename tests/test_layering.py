"""The folders show the flow: an AST walk over every module asserts the allowed import directions and that no
two modules import each other (directly or round a loop), so the structure stays true as the code grows."""
from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

#: folder -> installed package (pyproject.toml's package-dir)
PACKAGES = {"core": "core", "data": "data", "regimes": "regimes", "strategies": "strategies",
            "backtests": "backtests", "reports": "reports", "regimeshift": ""}

#: which layers a layer may import. The roof (regimeshift/) has three wings: the run ("": pipeline, outputs, report
#: stage, API, sweeps), the live evening ("live") above it, and the command line ("cli") at the very top.
ALLOWED = {
    "core": {"core"},
    "data": {"core", "data"},
    "regimes": {"core", "data", "regimes"},
    "strategies": {"core", "strategies"},
    "reports": {"core", "reports"},
    "backtests": {"core", "data", "regimes", "strategies", "backtests"},
    "": {"core", "data", "regimes", "strategies", "reports", "backtests", ""},
    "live": {"core", "data", "regimes", "strategies", "reports", "backtests", "", "live"},
    "cli": {"core", "data", "regimes", "strategies", "reports", "backtests", "", "live", "cli"},
}
WINGS = ("cli", "live")  # sub-packages of regimeshift/ that are layers of their own


def _modules() -> dict[str, Path]:
    found = {}
    for folder, layer in PACKAGES.items():
        for path in sorted((REPO / folder).rglob("*.py")):
            rel = path.relative_to(REPO / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            found[".".join(["regimeshift", *([layer] if layer else []), *parts])] = path
    return found


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ALLOWED and parts[1] != "" else ""


def _imports(module: str, path: Path, known: set[str]) -> set[str]:
    """Every regimeshift module ``path`` imports, at module level or inside a function."""
    out = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module and name.startswith("regimeshift"):
                out.add(name)
    return out


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    known = set(mods)
    return {m: {i for i in _imports(m, p, known) if i != "regimeshift"} for m, p in mods.items()}


def test_every_import_goes_down_the_layers() -> None:
    wrong = [f"{m} -> {i}" for m, deps in _graph().items() for i in deps if _layer(i) not in ALLOWED[_layer(m)]]
    assert wrong == []


def test_only_the_command_line_imports_click() -> None:
    """The live evening and the run are called by the scheduler and from Python: click stays in regimeshift/cli."""
    wrong = []
    for module, path in _modules().items():
        if _layer(module) == "cli":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            wrong += [f"{module} imports {n}" for n in names if n.split(".")[0] == "click"]
    assert wrong == []


def test_the_test_baselines_are_not_installed() -> None:
    """The naive references tests and benchmarks measure against live in tests/baselines, outside the wheel."""
    assert not any(m.startswith("regimeshift.baselines") for m in _modules())
    assert not (REPO / "baselines").exists()


def test_no_module_imports_itself_round_a_loop() -> None:
    graph = _graph()
    seen: dict[str, int] = {}  # 1 = on the current path, 2 = done
    loops: list[str] = []

    def visit(m: str, path: list[str]) -> None:
        seen[m] = 1
        for n in sorted(graph.get(m, ())):
            if seen.get(n) == 1:
                loops.append(" -> ".join(path[path.index(n):] + [n]))
            elif n not in seen:
                visit(n, path + [n])
        seen[m] = 2

    for m in sorted(graph):
        if m not in seen:
            visit(m, [m])
    assert loops == []


def test_the_walk_covers_every_package() -> None:
    layers = {_layer(m) for m in _modules()}
    assert layers == set(ALLOWED)


def test_importing_the_product_changes_no_global_state() -> None:
    """backtrader's collections alias, the matplotlib backend and library loggers are set by core.compat when a
    stage that needs them runs, never as a side effect of an import."""
    import subprocess
    import sys

    code = """
import collections, importlib, logging, os, pkgutil, sys
os.environ.pop("MPLBACKEND", None)
import regimeshift
for pkg in ("core", "data", "regimes", "strategies", "backtests", "reports", "cli", "live"):
    mod = importlib.import_module(f"regimeshift.{pkg}")
    for info in pkgutil.walk_packages(mod.__path__, f"regimeshift.{pkg}."):
        if not info.name.endswith((".bt_engine", ".__main__")):
            importlib.import_module(info.name)
for name in ("pipeline", "outputs", "report_stage", "api"):
    importlib.import_module(f"regimeshift.{name}")
import matplotlib
changed = []
if hasattr(collections, "Iterable"): changed.append("collections.Iterable")
if matplotlib.rcParams._get_backend_or_none() is not None: changed.append("matplotlib backend")
for logger in ("hmmlearn.base", "matplotlib.font_manager"):
    if logging.getLogger(logger).level: changed.append(logger)
print(changed)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={
        k: v for k, v in __import__("os").environ.items() if k != "MPLBACKEND"})
    assert out.stdout.strip() == "[]", out.stderr



def test_a_moved_module_keeps_its_old_import_for_one_release() -> None:
    import warnings

    from regimeshift.data.market import load_market
    from regimeshift.data.synthetic import generate_market

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from regimeshift.backtests.data import load_market as old_load
        from regimeshift.backtests.synthetic import generate_market as old_generate
    assert (old_load, old_generate) == (load_market, generate_market)
    assert [w.category for w in caught] == [DeprecationWarning, DeprecationWarning]
