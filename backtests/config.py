"""Run configuration: frozen pydantic models read from TOML, validated once, passed as plain data.

A config file only needs the parts it changes; everything else takes the defaults below, which follow the
thesis (growth when liquidity is abundant, value + short bonds as it tightens, short bonds + a little gold
in a crunch) and keep costs and execution delay ON.
"""
from __future__ import annotations

import datetime
import functools
import hashlib
import json
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import tomli_w
from pydantic import (
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    StrictFloat,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)
from regimeshift.core.constants import CASH  # noqa: F401  (re-exported: configs name the cash sleeve)
from regimeshift.core.constants import DEFAULT_MAX_DAILY_MOVE, DEFAULT_SHOCK_DATE, TRADING_DAYS
from regimeshift.core.errors import ConfigError
from regimeshift.core.toml_files import parse_toml, read_toml
from regimeshift.core.strict import Array, DateText, Name, Pair, StrictSettings
from regimeshift.regimes.spec import DEFAULT_NAMES, HMM_ONLY, RegimeSettings, RegimeSpec

DEFAULT_REGIMES: tuple[str, ...] = DEFAULT_NAMES


class _Frozen(StrictSettings):
    """Strict (core/strict.py): a string is never a number or a flag, a bool never a number; no inf or nan."""


class DataConfig(_Frozen):
    # "store": ``dir`` is a data store (``regimeshift data update/import``), read exactly like a CSV folder
    source: Literal["csv", "synthetic", "store"] = "csv"
    dir: str | None = None
    # Folder of the price files when they are not beside the macro files (e.g. an OHLC sub-folder); a
    # relative path is read from the data dir, so `--data-dir` moves both. None: the data dir itself.
    price_dir: str | None = None
    start: DateText | None = None
    end: DateText | None = None
    benchmark: Name = "SPY"
    macro: Array[str] = ()
    macro_lags: dict[str, StrictInt] = Field(default_factory=dict)
    min_rows: int = Field(strict=True, default=TRADING_DAYS, ge=2)
    synthetic_years: float = Field(strict=True, default=20.0, ge=1, le=200)
    # Cash earns this rate when set: a macro series in % p.a. (e.g. "IRX", the 13-week T-bill yield), lagged
    # like every macro series; it is added to ``macro`` so the loader reads it. None: cash earns nothing.
    cash_rate: str | None = None
    # Largest close-to-close move (a fraction, either way) a price file may show; a larger one is a bad tick
    # or an unadjusted split and stops the run (data/checks.py: measured on real ETF history).
    max_daily_move: float = Field(strict=True, default=DEFAULT_MAX_DAILY_MOVE, gt=0)
    # Longest stretch of the run's trading calendar (NYSE sessions and every date another price file has) a price
    # file may miss; a longer hole stops the run naming the file and the days (data/calendar_check.py).
    # allow_gaps fills such holes forward instead and lists them in metrics.json (data_gaps) and the tearsheet.
    max_gap_days: int = Field(strict=True, default=5, ge=0)
    allow_gaps: bool = Field(strict=True, default=False)
    # The bonds sleeve of the 60/40 benchmark reported beside every backtest (60% ``benchmark``, 40% this).
    bond_sleeve: str = "bonds"
    # Where `regimeshift data update` fetches each series: NAME -> "yahoo:TICKER" or "fred:SERIES_ID". Unnamed
    # series: prices from Yahoo under their own name, macro series from FRED under theirs (VIX -> fred:VIXCLS,
    # MOVE -> yahoo:^MOVE, ...: see regimeshift.data.store.update.DEFAULT_VENDORS). Not part of the
    # config's digest: where numbers came from is recorded by the store's content hashes.
    vendors: dict[str, str] = Field(default_factory=dict)

    @field_validator("vendors")
    @classmethod
    def _vendor_form(cls, v: dict[str, str]) -> dict[str, str]:
        for name, where in v.items():
            vendor, _, ticker = where.partition(":")
            if vendor not in ("yahoo", "fred") or not ticker.strip():
                raise ValueError(f"{name} = {where!r}: expected 'yahoo:TICKER' or 'fred:SERIES_ID'")
        return v

    @model_validator(mode="before")
    @classmethod
    def _cash_rate_is_loaded(cls, raw: Any) -> Any:
        # a malformed macro list is left for its own field check, which names it
        if isinstance(raw, dict) and isinstance(raw.get("cash_rate"), str) and isinstance(raw.get("macro", []), list):
            macro = tuple(raw.get("macro") or ())
            if raw["cash_rate"] not in macro:
                raw = {**raw, "macro": (*macro, raw["cash_rate"])}
        return raw

    @field_validator("price_dir")
    @classmethod
    def _price_dir_named(cls, v: str | None) -> str | None:
        # "" would silently mean the data dir itself; leave the key out for that
        if v is not None and not v.strip():
            raise ValueError("must name a folder (leave it out to read prices from the data dir)")
        return v


class RegimeConfig(RegimeSettings):
    """``[regimes]``: the regime model's settings, declared once in ``regimes/spec.py`` (``RegimeSettings``), plus
    the one setting about the run's data rather than the model."""

    # First date the regime model may learn from (YYYY-MM-DD). The features are then computed on their own
    # inputs' calendar (benchmark + feature symbols + macro) from this date, so the model has seen earlier
    # crises before the first trade; the backtest still starts at data.start. None: the backtest's data.
    history_start: str | None = None

    @field_validator("history_start")
    @classmethod
    def _history_start_is_a_date(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                ts = datetime.date.fromisoformat(v)
            except (TypeError, ValueError):
                raise ValueError(f"{v!r} is not a date (expected YYYY-MM-DD)") from None
            v = ts.isoformat()
        return v

    def spec(self, stress_signs: Sequence[float] | None, seed: int) -> RegimeSpec:
        """The regime model's one settings object (regimes/spec.py) for features with these stress signs."""
        return RegimeSpec(**self.model_dump(exclude={"history_start"}), seed=seed,
                          stress_signs=None if stress_signs is None else tuple(stress_signs))


class StrategyConfig(_Frozen):
    name: str = "liquidity_rotation"
    # A folder of the user's strategy modules, searched first for ``name`` (name = "momentum_tilt" ->
    # <path>/momentum_tilt.py) without touching sys.path; relative to the config file's folder (load_config
    # makes it absolute, so a sweep's workers find it from anywhere). None: built-ins, entry points, sys.path.
    path: Name | None = None
    # regime -> sleeve -> weight; cash is whatever is left
    weights: dict[str, dict[str, StrictFloat]] = Field(
        default_factory=lambda: {
            "abundant": {"growth": 0.80, "value": 0.10, "bonds": 0.10},
            "tightening": {"growth": 0.10, "value": 0.40, "bonds": 0.45, "gold": 0.05},
            "crunch": {"bonds": 0.80, "gold": 0.10, "cash": 0.10},
        }
    )
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name_is_a_module_path(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", v):
            raise ValueError(
                f"{v!r} is not a strategy name (expected a built-in such as liquidity_rotation, a module name or an "
                "absolute dotted path like package.module; no leading dots)"
            )
        return v

    @field_validator("weights")
    @classmethod
    def _valid_weights(cls, v: dict[str, dict[str, StrictFloat]]) -> dict[str, dict[str, StrictFloat]]:
        for regime, row in v.items():
            for sleeve, w in row.items():
                if not w >= 0:
                    raise ValueError(f"weight {regime}.{sleeve} = {w} must be >= 0")
            total = sum(w for s, w in row.items() if s != CASH)
            if total > 1 + 1e-9:
                raise ValueError(f"weights for {regime} sum to {total:.4g} (must be <= 1; cash is the rest)")
            if total + row.get(CASH, 0.0) > 1 + 1e-9:
                raise ValueError(f"weights for {regime} sum to {total + row[CASH]:.4g} with cash (must be <= 1)")
        return v


class ExecutionConfig(_Frozen):
    initial_cash: float = Field(strict=True, default=1_000_000.0, gt=0)
    commission_bps: float = Field(strict=True, default=5.0, ge=0)
    min_commission: float = Field(strict=True, default=0.0, ge=0)
    slippage_bps: float = Field(strict=True, default=5.0, ge=0)
    # Calendar checks: the first trading day of each period ("never": only the first day). With a drift band
    # a calendar check trades only if some weight is more than drift_band away from target (held weights
    # marked at the check day's close; the first decision always trades); "daily" + drift_band is the pure
    # band rule. on_regime_change adds a rebalance (never band-filtered) whenever the most probable regime
    # differs from the one at the last rebalance. Orders fill on the next bar: at its open when the price file
    # of every traded symbol has an open column, else at its close; timing = "same_bar" fills at the decision
    # bar's close (optimistic; the report says so). Sizing is commission-aware: no order is rejected for cash.
    rebalance: Literal["daily", "weekly", "monthly", "quarterly", "never"] = "monthly"
    on_regime_change: bool = Field(strict=True, default=False)
    drift_band: float | None = Field(strict=True, default=None, gt=0, lt=1)
    timing: Literal["next_bar", "same_bar"] = "next_bar"
    cash_buffer: float = Field(strict=True, default=0.005, ge=0, lt=0.5)
    fractional: bool = Field(strict=True, default=False)


class ReportConfig(_Frozen):
    enabled: bool = Field(strict=True, default=True)
    stress_windows: dict[str, Pair] = Field(default_factory=dict)
    # the stress scenario the tearsheet replays on the current portfolio: the day every asset class but short
    # Treasuries fell at once (the thesis' liquidity squeeze); "" leaves the scenario out
    shock_date: str = DEFAULT_SHOCK_DATE
    # The rate every Sharpe, Sortino and PSR is measured over (reports/metrics.py): a macro series name (% a
    # year, like data.cash_rate: it must be in data.macro), or a constant annual rate as a fraction (0.02 = 2%).
    # None: data.cash_rate where there is one (what cash earns in the replay), else a zero rate.
    risk_free: str | StrictFloat | StrictInt | None = None
    # the value of timing's bootstrap (reports/timing.py): resamples, and its interval's confidence
    timing_resamples: int = Field(strict=True, default=2000, ge=100, le=100_000)
    timing_confidence: float = Field(strict=True, default=0.9, gt=0.5, lt=1)

    @field_validator("risk_free")
    @classmethod
    def _risk_free_form(cls, v: str | float | None) -> str | float | None:
        if isinstance(v, str):
            if not v.strip():
                raise ValueError("expected a macro series name or an annual rate such as 0.02 (got \"\")")
            return v.strip()
        if v is not None and not 0 <= v < 1:
            raise ValueError(f"expected an annual rate as a fraction in [0, 1), e.g. 0.02 for 2% (got {v})")
        return float(v) if v is not None else None

    @field_validator("shock_date")
    @classmethod
    def _shock_date_is_a_date(cls, v: str) -> str:
        if v.strip():
            try:
                return datetime.date.fromisoformat(v.strip()).isoformat()
            except ValueError:
                raise ValueError(f"{v!r} is not a date (expected YYYY-MM-DD, or \"\" for none)") from None
        return ""

    @field_validator("stress_windows")
    @classmethod
    def _windows_are_dates(cls, v: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
        for name, (start, end) in v.items():
            days = []
            for which, text in (("start", start), ("end", end)):
                try:
                    days.append(datetime.date.fromisoformat(text))
                except (TypeError, ValueError):
                    raise ValueError(f"window {name!r}: {which} {text!r} is not a date (expected YYYY-MM-DD)") from None
            if days[1] < days[0]:
                raise ValueError(f"window {name!r}: end {end} is before start {start}")
        return v


class SleeveRule(_Frozen):
    """A sleeve whose members are weighed by a rule at every decision, from closes up to that decision only:
    ``[sleeves.growth] members = ["QQQ", "VUG", "IWF"]``, ``weigh = "inverse_vol"``, ``lookback = 63``.
    Until ``lookback`` days of returns exist the members are held equally (member_weights.csv says so)."""

    members: Array[Name] = Field(min_length=1)
    weigh: Literal["equal", "inverse_vol", "min_variance", "risk_parity", "momentum"] = "equal"
    lookback: int = Field(strict=True, default=63, ge=2)  # trading days of returns the rule reads
    # momentum: how many of the strongest members are held (equally); None: half of them, rounded up
    top_k: int | None = Field(strict=True, default=None, ge=1)

    @field_validator("members")
    @classmethod
    def _members_distinct(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        twice = sorted({m for m in v if v.count(m) > 1})
        if twice:
            raise ValueError(f"{', '.join(twice)} listed more than once")
        return v

    @field_validator("top_k")
    @classmethod
    def _top_k_fits(cls, v: int | None, info: ValidationInfo) -> int | None:
        members = info.data.get("members")
        if v is not None and members is not None and v > len(members):
            raise ValueError(f"top_k = {v} is above the member count ({len(members)}: {', '.join(members)})")
        if v is not None and info.data.get("weigh") != "momentum":
            raise ValueError("top_k applies to weigh = \"momentum\" only")
        return v


def _sleeve_kind(value: Any) -> str:
    # a table with a members key is a rule; any other table is today's symbol -> weight mapping
    if isinstance(value, SleeveRule) or (isinstance(value, dict) and "members" in value):
        return "rule"
    return "fixed"


#: a sleeve: a fixed symbol -> weight mapping, or a rule over its members
Sleeve = Annotated[
    Annotated[dict[str, StrictFloat], Tag("fixed")] | Annotated[SleeveRule, Tag("rule")],
    Discriminator(_sleeve_kind),
]


def sleeve_members(spec: Any) -> tuple[str, ...]:
    """The symbols a sleeve holds, fixed or rule."""
    return tuple(spec.members) if isinstance(spec, SleeveRule) else tuple(spec)


class RunConfig(_Frozen):
    name: str = "default"
    # numpy's legacy RandomState (hmmlearn, k-means) takes seeds below 2**32, and restarts use seed + i
    seed: int = Field(strict=True, default=7, ge=0, lt=2**31)
    data: DataConfig = DataConfig()
    sleeves: dict[str, Sleeve] = Field(
        default_factory=lambda: {
            "growth": {"QQQ": 1.0},
            "value": {"DVY": 1.0},
            "bonds": {"SHY": 1.0},
            "gold": {"GLD": 1.0},
        }
    )
    features: Array[str] = ("vol:SPY:21", "ret:SPY:63", "corr:SPY:GLD:63", "level:VIX")
    regimes: RegimeConfig = RegimeConfig()
    strategy: StrategyConfig = StrategyConfig()
    execution: ExecutionConfig = ExecutionConfig()
    report: ReportConfig = ReportConfig()

    @field_validator("name")
    @classmethod
    def _safe_name(cls, v: str) -> str:
        if not v or any(c in v for c in "/\\\0") or v.startswith("."):
            raise ValueError("must be a plain folder name (no slashes, not starting with '.')")
        return v

    @field_validator("sleeves")
    @classmethod
    def _valid_sleeves(cls, v: dict[str, Any]) -> dict[str, Any]:
        if CASH in v:
            raise ValueError(f"'{CASH}' is implicit and cannot be a sleeve")
        for sleeve, members in v.items():
            if isinstance(members, SleeveRule):
                continue  # checked by its own model
            if not members:
                raise ValueError(f"sleeve {sleeve} holds no symbol")
            if any(not w > 0 for w in members.values()):
                raise ValueError(f"weights inside sleeve {sleeve} must be > 0")
        return v

    @model_validator(mode="after")
    def _weights_match(self) -> RunConfig:
        known = set(self.sleeves) | {CASH}
        for regime, row in self.strategy.weights.items():
            if regime not in self.regimes.names:
                raise ValueError(
                    f"strategy.weights.{regime}: unknown regime (regimes are {', '.join(self.regimes.names)})"
                )
            for sleeve in row:
                if sleeve not in known:
                    raise ValueError(
                        f"strategy.weights.{regime}.{sleeve}: unknown sleeve (sleeves are {', '.join(sorted(known))})"
                    )
        missing = [r for r in self.regimes.names if r not in self.strategy.weights]
        if missing:
            raise ValueError(f"strategy.weights has no row for regime(s) {', '.join(missing)}")
        from regimeshift.regimes.naming import check_order_by  # numpy: loaded only once a config is checked

        check_order_by(self.regimes.order_by, [_as_the_frame_spells(f) for f in self.features])
        hist, start = self.regimes.history_start, self.data.start
        if hist is not None and start is not None and hist > str(start)[:10]:
            raise ValueError(
                f"regimes.history_start {hist} is after data.start {start} (the regime history must begin "
                "no later than the backtest)"
            )
        return self

    @model_validator(mode="after")
    def _risk_free_is_loaded(self) -> RunConfig:
        rf = self.report.risk_free
        if isinstance(rf, str) and rf not in self.data.macro:
            loaded = ", ".join(self.data.macro) or "none"
            raise ValueError(f"report.risk_free: series {rf!r} is not among data.macro (loaded: {loaded}); add it "
                             "there, or give an annual rate such as 0.02")
        return self

    @property
    def symbols(self) -> tuple[str, ...]:
        """Every price series the run needs: sleeve members, the benchmark, then feature-only symbols."""
        seen: dict[str, None] = {}
        for spec in self.sleeves.values():
            seen.update(dict.fromkeys(sleeve_members(spec)))
        seen[self.data.benchmark] = None
        return tuple(seen)

    def to_toml(self) -> str:
        dumped = self.model_dump(mode="json")
        if not dumped["data"].get("vendors"):
            dumped["data"].pop("vendors", None)  # an empty table says nothing
        return tomli_w.dumps(_drop_none(dumped))

    def digest(self) -> str:
        """Stable hash of the resolved config, for run listings and caches."""
        raw = self.model_dump(mode="json")
        raw["data"].pop("vendors", None)  # provenance, not a parameter (and old digests stay valid)
        if raw["strategy"].get("path"):
            # the folder is made absolute when the file is read: hashing that would name the same config differently
            # in every checkout, so the digest takes what the folder holds (its modules), not where it is
            raw["strategy"]["path"] = _folder_digest(Path(raw["strategy"]["path"]))
        # settings added after hashes were first recorded count only when changed, so a config that leaves
        # them at their defaults keeps the hash it always had (run listings, caches and comparisons stay valid)
        defaults = _section_defaults()
        for section, keys in _LATER_SETTINGS.items():
            for key in keys:
                if raw[section][key] == defaults[section][key]:
                    del raw[section][key]
        if self.regimes.model != "hmm":  # the HMM's own settings mean nothing to the other families
            for key in HMM_ONLY:
                raw["regimes"].pop(key, None)
        blob = json.dumps(raw, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]


def _folder_digest(folder: Path) -> str:
    """The Python modules under a user's strategy folder, by relative name and content."""
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*.py")):
        if "__pycache__" not in path.parts:
            h.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return "modules:" + h.hexdigest()[:16]


def _as_the_frame_spells(spec: str) -> str:
    """A feature spec as the feature frame will spell it (what ``regimes.order_by`` is matched against); a spec
    that does not parse is left as written (the features stage names it)."""
    from regimeshift.regimes.features import FeatureSpecError, parse_feature

    try:
        return parse_feature(spec).text
    except (FeatureSpecError, TypeError):
        return spec


#: the settings added after digests were first recorded, by section (their defaults: the sections' own)
_LATER_SETTINGS: dict[str, tuple[str, ...]] = {
    "data": ("max_daily_move", "max_gap_days", "allow_gaps"),
    "strategy": ("path",),
    "regimes": ("model", "jump_penalty", "jump_continuous", "max_feats", "penalty_grid", "n_mix", "emission", "t_dof",
                "penalty_cv", "cv_validation_days", "smooth_days", "smooth_grid"),
}


#: later settings whose default changed after digests were recorded with them: the value the old digests mean.
#: A config at that value keeps its digest (it behaves as it always did); one at the new default gets a new one
#: (its behaviour changed), so no run listing, cache or comparison mixes the two
_DIGESTED_DEFAULTS: dict[str, dict[str, Any]] = {
    "regimes": {"emission": "gaussian"},  # the default became "auto" (issue 24)
}


@functools.cache
def _section_defaults() -> dict[str, dict[str, Any]]:
    # read from the models, where each default is declared (not typed again here)
    out = {name: RunConfig.model_fields[name].annotation().model_dump(mode="json") for name in _LATER_SETTINGS}
    for section, values in _DIGESTED_DEFAULTS.items():
        out[section].update(values)
    return out


def _drop_none(obj: Any) -> Any:
    # TOML has no null: an unset optional is simply absent
    if isinstance(obj, dict):
        return {k: _drop_none(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [_drop_none(v) for v in obj]
    return obj


#: the loc entry pydantic adds for each branch of a union ('literal[...]', 'constrained-int', 'float', ...): not a
#: field the user wrote, so errors that differ only in it are one field's alternatives
_UNION_BRANCH = re.compile(r"^(?:int|float|str|bool|constrained-\w+|strict-\w+|[a-z][a-z-]*\[.*\])$")


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = list(loc)
    if len(parts) > 2 and parts[0] == "sleeves" and parts[2] in ("fixed", "rule"):
        del parts[2]  # the tag of the sleeve's kind (fixed mapping or rule): not a field the user wrote
    while parts and isinstance(parts[-1], str) and _UNION_BRANCH.match(parts[-1]):
        parts.pop()
    return ".".join(str(p) for p in parts) or "(top level)"


def _format_validation_error(source: str, err: ValidationError) -> str:
    errors = err.errors()
    first = errors[0]
    where = _field_path(first["loc"])
    same = [e for e in errors if _field_path(e["loc"]) == where]
    # items of one array are one field: ["5", "10"] is one mistake in penalty_grid, not two fields
    fields = {re.sub(r"(\.\d+)+$", "", _field_path(e["loc"])) for e in errors}
    if len(same) > 1:  # a union: say every alternative, and what was given
        options = []
        for e in same:
            text = e["msg"].removeprefix("Value error, ").removeprefix("Input should be ").split(", unable to")[0]
            if text not in options:
                options.append(text)
        sep = ", or " if any(" or " in o for o in options) else " or "
        msg = f"expected {sep.join(options)} (got {first.get('input')!r})"
    else:
        msg = first["msg"].removeprefix("Value error, ")
        if first["type"] == "tuple_type":  # TOML has arrays, not tuples
            msg = "Input should be an array like [\"a\", \"b\"]"
        # a check across sections (run level) names the field it is about first: report it as that field's
        named = re.match(r"^([a-z_]+(?:\.[a-z_]+)+): (.*)$", msg, re.S)
        if where == "(top level)" and named:
            where, msg = named.group(1), named.group(2)
    more = f" (+{len(fields) - 1} more)" if len(fields) > 1 else ""
    return f"{source}: field '{where}': {msg}{more}"


def config_from_dict(raw: dict[str, Any], source: str = "config") -> RunConfig:
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(_format_validation_error(source, err)) from None


def load_config(path: str | Path | None = None) -> RunConfig:
    """Read a TOML config; ``None`` gives the embedded default (synthetic market, no files needed)."""
    if path is None:
        text = resources.files("regimeshift.backtests.configs").joinpath("default.toml").read_text(encoding="utf-8")
        return config_from_dict(parse_toml(text, "default.toml"), "default.toml")
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: config file not found")
    raw = read_toml(p)
    raw.setdefault("name", p.stem)
    _strategy_folder_from(raw, p)
    return config_from_dict(raw, p.name)


def _strategy_folder_from(raw: dict[str, Any], config_file: Path) -> None:
    """``strategy.path`` read from the config file's folder (not the working directory), made absolute so the
    resolved config means the same folder wherever it travels; a folder that is not there fails now, by name."""
    strategy = raw.get("strategy")
    folder = strategy.get("path") if isinstance(strategy, dict) else None
    if not isinstance(folder, str) or not folder.strip():
        return  # absent, or not text: the model says what was expected
    resolved = Path(folder).expanduser()
    if not resolved.is_absolute():
        resolved = (config_file.resolve().parent / resolved).resolve()
    if not resolved.is_dir():
        raise ConfigError(f"{config_file.name}: field 'strategy.path': folder {resolved} does not exist (expected "
                          "a folder of strategy modules, relative to the config file)")
    strategy["path"] = str(resolved)


def with_overrides(cfg: RunConfig, **data_overrides: Any) -> RunConfig:
    """Apply CLI overrides (data dir, start, end, seed...) and re-validate."""
    raw = cfg.model_dump()
    seed = data_overrides.pop("seed", None)
    if seed is not None:
        raw["seed"] = seed
    for key, value in data_overrides.items():
        if value is not None:
            raw["data"][key] = value
    return config_from_dict(raw, "command line")
