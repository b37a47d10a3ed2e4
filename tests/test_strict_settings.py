"""Every setting is strict where it is declared (issue 20): each field of each settings model, found by walking the
pydantic models themselves (so a field added tomorrow is covered without touching this file), refuses a string, a
bool and a list of the wrong type with one ConfigError naming the field."""
from __future__ import annotations

import types
import typing
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from regimeshift.backtests.config import RunConfig, config_from_dict
from regimeshift.core.errors import ConfigError
from regimeshift.regimes.spec import RegimeSpec, settings_model
from regimeshift.sweep.spec import SweepSettings, load_spec


def _kinds(annotation: Any) -> set[str]:
    """What a field accepts, coarsely: 'text', 'word' (a Literal), 'bool', 'number', 'array', 'table', 'model'."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _kinds(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_kinds(a) for a in typing.get_args(annotation) if a is not type(None)))
    if origin is Literal:
        return {"word"}
    if origin is tuple:
        return {"array"}
    if origin is dict or annotation is dict:
        return {"table"}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {"model"}
    if annotation is Any:
        return {"any"}
    return {{str: "text", bool: "bool", int: "number", float: "number"}[annotation]}


def _array_items(annotation: Any) -> set[str]:
    while typing.get_origin(annotation) in (typing.Annotated, typing.Union, types.UnionType):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    return _kinds(typing.get_args(annotation)[0])


def _wrong_values(annotation: Any) -> dict[str, Any]:
    """A string, a bool and a list, each of a type the field does not take."""
    kinds = _kinds(annotation)
    if kinds == {"text"}:
        string = 42  # text is right: a number is the wrong "string" here
    else:
        string = "yes" if "bool" in kinds else "2"
    wrong_list: list[Any] = ["5", "10"]
    if "array" in kinds and "text" in _array_items(annotation):
        wrong_list = [1, 2]
    return {"string": string, "bool": 1 if "bool" in kinds else True, "list": wrong_list}


def _fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, Any]]:
    """(dotted path, annotation) of every field, nested models walked too (and named as fields themselves)."""
    out = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        out.append((path, info.annotation))
        for inner in (info.annotation, *typing.get_args(info.annotation)):  # a model, or an optional one
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                out += _fields(inner, f"{path}.")
    return out


def _cases(fields: list[tuple[str, Any]]) -> list[Any]:
    return [pytest.param(path, kind, value, id=f"{path}-{kind}")
            for path, annotation in fields for kind, value in _wrong_values(annotation).items()]


def _nest(path: str, value: Any) -> dict[str, Any]:
    *parents, leaf = path.split(".")
    raw: dict[str, Any] = {leaf: value}
    for parent in reversed(parents):
        raw = {parent: raw}
    return raw


def test_the_walk_finds_every_section_and_the_settings_added_later() -> None:
    paths = {p for p, _ in _fields(RunConfig)}
    assert {"data.benchmark", "regimes.cold_surprise", "regimes.n_mix", "regimes.penalty_grid", "regimes.max_feats",
            "execution.drift_band", "report.stress_windows", "strategy.weights"} <= paths
    # the config's [regimes] is the spec's own settings (regimes/spec.py) plus history_start: nothing declared twice
    config_only = set(RunConfig.model_fields["regimes"].annotation.model_fields) - set(RegimeSpec.model_fields)
    assert config_only == {"history_start"} and settings_model() is RegimeSpec


@pytest.mark.parametrize(("path", "kind", "value"), _cases(_fields(RunConfig)))
def test_every_config_field_refuses_a_value_of_the_wrong_type(path: str, kind: str, value: Any) -> None:
    with pytest.raises(ConfigError) as err:
        config_from_dict(_nest(path, value))
    assert f"field '{path}" in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(("path", "kind", "value"),
                         _cases([(n, f.annotation) for n, f in settings_model().model_fields.items()]))
def test_every_regime_spec_field_refuses_a_value_of_the_wrong_type(path: str, kind: str, value: Any) -> None:
    with pytest.raises(ConfigError, match=rf"^regimes\.{path}: "):
        RegimeSpec(**{path: value})


@pytest.mark.parametrize(("path", "kind", "value"), _cases(_fields(SweepSettings)))
def test_every_sweep_file_setting_refuses_a_value_of_the_wrong_type(tmp_path, path: str, kind: str, value: Any) -> None:
    import tomli_w

    raw: dict[str, Any] = {"grid": {"execution.commission_bps": [1.0, 2.0]}}
    if path.startswith("random."):  # a setting of [random], beside a valid rule
        raw["random"] = {"n": 2, "execution.slippage_bps": {"low": 1, "high": 2}, path.split(".", 1)[1]: value}
    else:
        raw[path] = value
    sweep = tmp_path / "SWEEP.toml"
    sweep.write_text(tomli_w.dumps(raw), encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"^SWEEP\.toml: {path}: expected "):
        load_spec(sweep)


@pytest.mark.parametrize(("section", "changes", "field"), [
    ("regimes", {"cold_surprise": "0.2"}, "regimes.cold_surprise"),
    ("regimes", {"jump_continuous": "yes"}, "regimes.jump_continuous"),
    ("regimes", {"n_mix": "2"}, "regimes.n_mix"),
    ("regimes", {"jump_penalty": "50"}, "regimes.jump_penalty"),
    ("regimes", {"smooth_days": "3"}, "regimes.smooth_days"),
    ("regimes", {"cv_validation_days": "100"}, "regimes.cv_validation_days"),
    ("regimes", {"penalty_grid": ["5", "10"]}, "regimes.penalty_grid"),
    ("regimes", {"max_feats": "2"}, "regimes.max_feats"),
    ("data", {"benchmark": ""}, "data.benchmark"),
])
def test_the_values_issue_20_found_accepted_are_refused(section: str, changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError, match=rf"field '{field}"):
        config_from_dict({section: changes})


def test_a_wrong_array_is_one_mistake_in_one_field() -> None:
    with pytest.raises(ConfigError) as err:
        config_from_dict({"regimes": {"penalty_grid": ["5", "10"]}})
    assert str(err.value) == "config: field 'regimes.penalty_grid.0': Input should be a valid number"


def test_arrays_still_arrive_as_toml_lists_and_words_still_mean_words() -> None:
    cfg = config_from_dict({"regimes": {"penalty_grid": [5, 10.5], "smooth_days": "cv", "jump_penalty": "cv"},
                            "features": ["vol:SPY:21", "level:VIX"]})
    assert cfg.regimes.penalty_grid == (5.0, 10.5) and cfg.features == ("vol:SPY:21", "level:VIX")
    assert (cfg.regimes.smooth_days, cfg.regimes.jump_penalty) == ("cv", "cv")
