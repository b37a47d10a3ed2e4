"""Each setting is declared once (issue 21): its default and its bounds live in one settings model, and everything
else -- the run's config, the spec, the estimators, the walks, the low-level EM -- reads them from there.

Two checks: a scan of the installed packages' source that fails when a setting's default is typed a second time
(as another model's field, a function's keyword default or a ``params.get(name, default)``), and an edit of the
one declaration, in a fresh interpreter, that every reader then sees."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from regimeshift.backtests.config import (
    DataConfig,
    ExecutionConfig,
    RegimeConfig,
    ReportConfig,
    RunConfig,
    StrategyConfig,
)
from regimeshift.regimes.spec import RegimeSettings, RegimeSpec

REPO = Path(__file__).resolve().parents[1]
#: the installed packages (pyproject's package-dir), except baselines/: independent reference implementations,
#: which must not read the engine's declarations (a changed default would then move both sides of a comparison)
SOURCES = ("backtests", "core", "regimes", "regimeshift", "reports", "strategies")
#: the settings models whose every field is declared once (the run's config and every section of it)
MODELS: tuple[type[BaseModel], ...] = (RunConfig, DataConfig, RegimeSpec, StrategyConfig, ExecutionConfig, ReportConfig)
#: a name with the same value that is another setting, not a second declaration of this one
OTHER_SETTINGS = {
    ("seed", "regimeshift/sweep/spec.py"): "the sweep's own sampling seed",
    ("seed", "regimeshift/sweep/variants.py"): "the sweep's own sampling seed",
    ("seed", "reports/timing.py"): "the bootstrap's seed",
    ("fractional", "regimeshift/live/signal.py"): "`signal --fractional`, the account's own option",
    ("model", "reports/compare.py"): "what a run stored before regimes.model existed was an HMM (history, not a default)",
    ("seed", "data/synthetic.py"): "the synthetic market's own seed, for a caller without a config",
    ("macro", "data/market.py"): "no macro series: the empty choice, not a setting's value",
    ("macro", "data/synthetic.py"): "no macro series: the empty choice, not a setting's value",
    ("allow_gaps", "data/market.py"): "the loader's keyword: the run passes data.allow_gaps",
    ("allow_gaps", "regimeshift/cli/options.py"): "`--allow-gaps` absent: no override of data.allow_gaps",
    ("allow_gaps", "regimeshift/resolve_config.py"): "`--allow-gaps` absent: no override of data.allow_gaps",
    ("allow_gaps", "regimeshift/sweep/spec.py"): "`--allow-gaps` absent: no override of data.allow_gaps",
}


def _literal(node: ast.AST | None) -> Any:
    try:
        return ast.literal_eval(node) if node is not None else ...
    except (ValueError, TypeError, SyntaxError):
        return ...  # not a literal: a reference to the one declaration, say


def _defaults_in(tree: ast.AST) -> list[tuple[str, Any, int]]:
    """(name, literal default, line) of every field, keyword default and ``.get(name, default)`` in a module."""
    found: list[tuple[str, Any, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            value: ast.AST | None = node.value
            if isinstance(value, ast.Call) and getattr(value.func, "id", "") == "Field":
                given = [k.value for k in value.keywords if k.arg == "default"]
                value = given[0] if given else (value.args[0] if value.args else None)
            found.append((node.target.id, _literal(value), node.lineno))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            positional = a.posonlyargs + a.args
            pairs = list(zip(positional[len(positional) - len(a.defaults):], a.defaults))
            pairs += [(arg, d) for arg, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None]
            found += [(arg.arg, _literal(d), node.lineno) for arg, d in pairs]
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", "") in ("get", "setdefault", "pop")
              and len(node.args) == 2 and isinstance(_literal(node.args[0]), str)):
            found.append((_literal(node.args[0]), _literal(node.args[1]), node.lineno))
    return found


def _declared_defaults() -> dict[str, Any]:
    out = {}
    for model in MODELS:
        for name, field in model.model_fields.items():
            if field.default is not None:  # "unset" is not a value anyone could type twice
                out[name] = field.default
    return out


def test_no_setting_s_default_is_typed_twice():
    settings = _declared_defaults()
    places: dict[str, list[str]] = {}
    for package in SOURCES:
        for path in sorted((REPO / package).rglob("*.py")):
            where = path.relative_to(REPO).as_posix()
            for name, value, line in _defaults_in(ast.parse(path.read_text(encoding="utf-8"))):
                if name in settings and type(value) is type(settings[name]) and value == settings[name]:
                    if (name, where) not in OTHER_SETTINGS:
                        places.setdefault(name, []).append(f"{where}:{line}")
    twice = {name: at for name, at in places.items() if len(at) > 1}
    assert twice == {}
    # and the scan does see the declarations (a scan that finds nothing proves nothing)
    assert places["cold_every"] == [places["cold_every"][0]] and places["cold_every"][0].startswith("regimes/spec.py")
    assert places["commission_bps"][0].startswith("backtests/config.py")


def test_the_run_config_declares_no_regime_setting_of_its_own_but_history_start():
    own = {n for n in RegimeConfig.model_fields if n not in RegimeSettings.model_fields}
    assert own == {"history_start"}
    # composed, not copied: the very same declarations (default, bounds) as the spec's
    for name, field in RegimeSettings.model_fields.items():
        assert RegimeConfig.model_fields[name].metadata == RegimeSpec.model_fields[name].metadata, name
        assert RegimeConfig.model_fields[name].default == RegimeSpec.model_fields[name].default, name


#: (the one declaration as written in regimes/spec.py, the same with another value)
EDITS = [
    ('cold_every: int = Field(strict=True, default=12, ge=1)', 'cold_every: int = Field(strict=True, default=5, ge=1)'),
    ('n_init: int = Field(strict=True, default=10, ge=1)', 'n_init: int = Field(strict=True, default=4, ge=1)'),
    ('penalty_grid: Array[float] = (0.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0)', 'penalty_grid: Array[float] = (1.0, 2.0)'),
    ('MIN_ROWS = 60', 'MIN_ROWS = 90'),
]

_PROBE = textwrap.dedent('''
    import importlib.machinery, json, sys
    from pathlib import Path

    EDITS = json.loads(sys.argv[1])

    class OneDeclarationEdited(importlib.machinery.PathFinder):
        @classmethod
        def find_spec(cls, name, path=None, target=None):
            if name != "regimeshift.regimes.spec":
                return None
            spec = importlib.machinery.PathFinder.find_spec(name, path)

            class Edited(importlib.machinery.SourceFileLoader):
                def get_code(self, fullname):
                    text = Path(self.path).read_text(encoding="utf-8")
                    for old, new in EDITS:
                        assert text.count(old) == 1, old
                        text = text.replace(old, new)
                    return compile(text, self.path, "exec")

            spec.loader = Edited(name, spec.origin)
            return spec

    sys.meta_path.insert(0, OneDeclarationEdited)
    from regimeshift.backtests.config import RunConfig, config_from_dict, load_config
    from regimeshift.core.errors import ConfigError
    from regimeshift.regimes.gmmhmm import GMMRegimeModel
    from regimeshift.regimes.jump import DEFAULT_PENALTY_GRID
    from regimeshift.regimes.model import LiquidityHMM
    from regimeshift.regimes.spec import RegimeSpec

    def refused(make):
        try:
            make()
        except ConfigError as err:
            return str(err)
        return None

    cfg = RunConfig()  # the bare model: the embedded default writes its own n_init
    spec = cfg.regimes.spec(None, seed=1)
    print(json.dumps({
        "cold_every": [RunConfig().regimes.cold_every, spec.cold_every, RegimeSpec().cold_every],
        "n_init": [cfg.regimes.n_init, spec.n_init, LiquidityHMM().n_init, GMMRegimeModel().n_init],
        "penalty_grid": [list(spec.penalty_grid), list(DEFAULT_PENALTY_GRID)],
        "window_80": [refused(lambda: config_from_dict({"regimes": {"window": 80}})),
                      refused(lambda: RegimeSpec(window=80))],
        "min_train_80": [refused(lambda: config_from_dict({"regimes": {"min_train_days": 80}})),
                         refused(lambda: RegimeSpec(min_train=80))],
    }))
''')


def test_a_default_or_bound_changed_in_its_one_declaration_is_seen_everywhere():
    ran = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(EDITS)], capture_output=True, text=True,
                         cwd=REPO, timeout=300)
    assert ran.returncode == 0, ran.stderr[-2000:]
    seen = json.loads(ran.stdout.strip().splitlines()[-1])
    assert seen["cold_every"] == [5, 5, 5]
    assert seen["n_init"] == [4, 4, 4, 4]
    assert seen["penalty_grid"] == [[1.0, 2.0], [1.0, 2.0]]
    assert seen["window_80"] == [
        "config: field 'regimes.window': a rolling window needs at least 90 rows",
        "regimes.window: 80 (a rolling window needs at least 90 rows)",
    ]
    assert seen["min_train_80"] == [
        "config: field 'regimes.min_train_days': Input should be greater than or equal to 90",
        "regimes.min_train_days: 80 (expected greater than or equal to 90)",
    ]


def test_without_the_edit_the_same_values_are_the_shipped_defaults():
    # the probe's baseline: what the edits above change away from
    assert (RunConfig().regimes.cold_every, RegimeSpec().n_init, RegimeSpec().penalty_grid[-1]) == (12, 10, 200.0)
